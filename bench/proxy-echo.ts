// The echo server of the proxy bench, run as its own process (`node --import tsx
// bench/proxy-echo.ts`) so the load generator, the server and the proxy under test never
// share an event loop. A `ws` server without compression that sends every data message
// back as it came (text as text, binary as binary). Prints {"port":N} on stdout when ready;
// exits when stdin closes (its parent went away).
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
wss.on('error', (err) => {
  process.stderr.write(`proxy-echo: ${err.message}\n`);
  process.exit(1);
});
wss.on('connection', (ws) => {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
wss.on('listening', () => {
  const a = wss.address();
  if (!a || typeof a === 'string') throw new Error('expected a TCP address');
  process.stdout.write(`${JSON.stringify({ port: a.port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
