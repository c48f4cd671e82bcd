// A `ws` client that keeps what it receives, for tests that check what an app got.
import type net from 'node:net';
import WebSocket from 'ws';

export interface CollectingClient {
  ws: WebSocket;
  got: Array<{ data: Buffer; binary: boolean }>;
  /** resolves once `n` messages have arrived */
  until(n: number): Promise<Array<{ data: Buffer; binary: boolean }>>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens `url` (over `socket` when given); `cleanup` is handed the teardown. */
export async function collectingClient(
  url: string,
  cleanup: (teardown: () => void) => void,
  options: WebSocket.ClientOptions = {},
  socket?: net.Socket,
): Promise<CollectingClient> {
  const ws = new WebSocket(url, { ...options, ...(socket ? { createConnection: (() => socket) as never } : {}) });
  cleanup(() => ws.terminate());
  const got: Array<{ data: Buffer; binary: boolean }> = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer, binary) => {
    got.push({ data, binary });
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const until = async (n: number) => {
    while (got.length < n) await new Promise<void>((r) => waiters.push(r));
    return got;
  };
  return { ws, got, until, closed };
}
