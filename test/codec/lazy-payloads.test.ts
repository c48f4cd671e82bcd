// Lazy payloads (a frame's joined pieces, a one-frame message's data, a frame event's base64)
// must die young: read and dropped, a young-generation collection frees them. An accessor
// with closures of its own per object kept every one alive until a full collection (29 of
// them over 8,000 256 KiB frames), which made large messages 4-7x slower than `ws`.
// The probe runs in a child process: it needs --expose-gc and a heap of its own.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('../peers/lazy-payload-probe.ts', import.meta.url));

describe('lazy payloads are freed by young-generation collections', () => {
  for (const mode of ['frame', 'message', 'event'] as const) {
    it(`${mode}: 1,000 payloads of 256 KiB read and dropped: no full collection needed, nothing left after two young ones`, () => {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, mode], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { read: number; major: number; buffersMiB: number; heapMiB: number };
      expect(out.read).toBeGreaterThan(0);
      // Closures per object made V8 collect in full again and again (97 times for the
      // events' base64): with nothing kept, there is no need for one.
      expect(out.major).toBeLessThanOrEqual(1);
      // What is left after two young collections: a few MiB at most, whatever V8 and Node
      // hold anyway (1,000 joined payloads are 250 MiB, their base64 333 MiB).
      expect(out.buffersMiB).toBeLessThan(4);
      expect(out.heapMiB).toBeLessThan(8);
    });
  }
});
