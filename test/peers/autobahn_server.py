# An Autobahn (asyncio) WebSocket server on 127.0.0.1, an independent peer for the client and
# proxy tests. Prints "listening PORT" once bound; runs until stdin closes or it is killed.
# It echoes every message, and obeys text commands:
#   "close CODE [REASON]"  closes the connection with that code (a server-initiated close)
#   "fragments N TEXT"     sends TEXT as one message in N frames
#   "ping DATA"            sends a ping with DATA (the client's pong comes back by itself)
# Run with the system python (/usr/bin/python3: python3-autobahn).
import asyncio
import sys

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept


class Peer(WebSocketServerProtocol):
    def onMessage(self, payload, isBinary):
        if not isBinary:
            text = payload.decode("utf-8")
            if text.startswith("close "):
                parts = text.split(" ", 2)
                # sendClose takes only 1000 and 3000-4999; the frame-level call takes any code.
                reason = parts[2].encode("utf-8") if len(parts) > 2 else None
                self.sendCloseFrame(code=int(parts[1]), reasonUtf8=reason, isReply=False)
                return
            if text.startswith("fragments "):
                _, n, body = text.split(" ", 2)
                data = body.encode("utf-8")
                n = max(1, min(int(n), len(data)))
                size = -(-len(data) // n)
                self.beginMessage(isBinary=False)
                for i in range(0, len(data), size):
                    self.sendMessageFrame(data[i : i + size])
                self.endMessage()
                return
            if text.startswith("ping "):
                self.sendPing(text[5:].encode("utf-8"))
                return
        self.sendMessage(payload, isBinary)


def accept_deflate(offers):
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


async def main():
    factory = WebSocketServerFactory()
    factory.protocol = Peer
    factory.setProtocolOptions(perMessageCompressionAccept=accept_deflate, autoPingInterval=0)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    # Stop when the parent closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())
