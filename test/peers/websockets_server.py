# A python-websockets server on 127.0.0.1, an independent peer for the client and proxy tests.
# Prints "listening PORT" once bound; runs until stdin closes or it is killed. permessage-deflate
# is offered to clients that ask (websockets' default). It echoes every message, and obeys text
# commands:
#   "close CODE [REASON]"  closes the connection with that code (a server-initiated close)
#   "fragments N TEXT"     sends TEXT as one message in N frames
#   "ping DATA"            sends a ping with DATA
# Run with the system python (/usr/bin/python3: python3-websockets).
import asyncio
import sys

import websockets


async def handler(ws, path=None):
    async for message in ws:
        if isinstance(message, str):
            if message.startswith("close "):
                parts = message.split(" ", 2)
                await ws.close(int(parts[1]), parts[2] if len(parts) > 2 else "")
                return
            if message.startswith("fragments "):
                _, n, body = message.split(" ", 2)
                n = max(1, min(int(n), len(body)))
                size = -(-len(body) // n)
                await ws.send([body[i : i + size] for i in range(0, len(body), size)])
                continue
            if message.startswith("ping "):
                await ws.ping(message[5:].encode("utf-8"))
                continue
        await ws.send(message)


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, ping_interval=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening {port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
