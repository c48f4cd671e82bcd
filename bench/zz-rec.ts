import { ConnectionRecorder } from '../main/engine/recorder';
import { StreamObserver } from '../shared/codec/observer';
import type { WireFrame } from '../shared/codec/frame';
import { Journal } from '../main/engine/journal';
import { rmSync } from 'node:fs';
// A realistic small frame from the observer
const obs = new StreamObserver({ from: 'client' });
const payload = Buffer.from('{"type":"chat","room":7,"text":"hello!!"}'.padEnd(40));
const key = [1, 2, 3, 4];
const f = Buffer.concat([Buffer.from([0x81, 0x80 | 40, ...key]), Buffer.from(payload.map((b, i) => b ^ key[i & 3]!))]);
const observed = obs.receive(f, 1);
const frame = observed[0]!.frame as WireFrame;
const message = observed[0]!.message;
const N = 300_000;
for (const mode of ["noop","journal","noop","journal"]) {
  const j = mode === 'journal' ? new Journal('/tmp/zz-rec.journal') : null;
  const rec = new ConnectionRecorder({ id: 'p1', mode: 'proxy', url: 'ws://x/', startedAt: 0, keepFrames: false }, j ? (e) => j.write(e) : () => {});
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) { rec.frame(frame, { message, rtt: undefined }); if (j && i % 50 === 49) j.flush(); }
  j?.close();
  console.log(mode, (Number(process.hrtime.bigint() - t) / N).toFixed(0), 'ns/frame');
}
rmSync('/tmp/zz-rec.journal', { force: true });
