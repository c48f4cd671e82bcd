// Run by test/codec/lazy-payloads.test.ts as `node --expose-gc --import tsx THIS MODE`: reads
// 1,000 large payloads the lazy way (a frame's, its message's, its event's), drops them, runs
// two young-generation collections and prints how many full collections V8 ran meanwhile
// and how many MiB of array buffers (the joined payloads) and of heap (the events' base64
// strings) are left.
import { FrameParser } from '../../shared/codec/frame-parser';
import { MessageAssembler } from '../../shared/codec/messages';
import { encodeFrame } from '../../shared/codec/frame-writer';
import { toFrameEvent } from '../../shared/records';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc!;
const mode = process.argv[2] as 'frame' | 'message' | 'event';
const SIZE = 256 * 1024;
const COUNT = 1000;
// Node's base64, as main passes it (the portable one is slow at this size).
const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const wire = encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(SIZE).fill(7), mask: true, maskKey: new Uint8Array([1, 2, 3, 4]) });
// Each frame arrives in 64 KiB pieces, so its payload is joined when read.
const chunks: Uint8Array[] = [];
for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, i + 65536));

const parser = new FrameParser({ from: 'client', stance: 'endpoint' });
const assembler = new MessageAssembler({ from: 'client' });
gc();
const before = process.memoryUsage();
// Full collections V8 needed while reading: none when every payload dies young.
let major = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
});
observer.observe({ entryTypes: ['gc'] });
let read = 0;
for (let n = 0; n < COUNT; n++) {
  for (const chunk of chunks) {
    for (const frame of parser.receive(chunk, 0)) {
      const message = assembler.push(frame);
      if (mode === 'frame') read += frame.payload.length;
      else if (mode === 'message') read += message!.data.length;
      else read += toFrameEvent('c1', frame, n, { message: message ?? undefined, base64 }).payload.length;
    }
  }
}
await new Promise((r) => setTimeout(r, 0));
observer.disconnect();
gc({ type: 'minor' });
gc({ type: 'minor' });
await new Promise((r) => setTimeout(r, 20));
const after = process.memoryUsage();
const MiB = 1048576;
process.stdout.write(`${JSON.stringify({ read, major, buffersMiB: (after.arrayBuffers - before.arrayBuffers) / MiB, heapMiB: (after.heapUsed - before.heapUsed) / MiB })}\n`);
