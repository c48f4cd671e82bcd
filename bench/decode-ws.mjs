// The reference of the decode bench: `node bench/decode-ws.mjs FILE client|server` reads a
// raw WebSocket byte stream with fs.createReadStream (64 KiB chunks) into `ws`'s Receiver,
// built as websocket.js builds it (UTF-8 validated, synchronous events, no payload limit),
// and prints one JSON line of counts. Plain JavaScript run by plain node, like the CLI's
// bundle, so both whole processes start the same way.
import { createReadStream } from 'node:fs';
import { Receiver } from 'ws';

const [file, from] = process.argv.slice(2);
if (!file || (from !== 'client' && from !== 'server')) {
  process.stderr.write('usage: node bench/decode-ws.mjs FILE client|server\n');
  process.exit(2);
}

const receiver = new Receiver({
  allowSynchronousEvents: true,
  binaryType: 'nodebuffer',
  extensions: {},
  isServer: from === 'client',
  maxPayload: 0,
  skipUTF8Validation: false,
});
let messages = 0;
let controls = 0;
let bytes = 0;
receiver.on('message', (data) => {
  messages++;
  bytes += data.length;
});
receiver.on('ping', () => controls++);
receiver.on('pong', () => controls++);
receiver.on('error', (err) => {
  process.stderr.write(`decode-ws: ${err.message}\n`);
  process.exit(1);
});
for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) receiver.write(chunk);
// ws finishes a write's bookkeeping on a later tick.
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(`${JSON.stringify({ messages, controls, bytes })}\n`);
