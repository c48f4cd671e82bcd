// A capture of a million frames loads and saves in streaming fashion (issue 4): the peak
// memory of import (read every frame, check it, write the capture again) stays far below
// the size of the data, and the file comes out the same. Memory is asserted with a generous
// bound, never a time (shared machine).
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameRecord } from '../../shared/model';
import { CaptureWriter } from '../../main/engine/recording/capture-writer';
import { openCapture, type CaptureSource } from '../../main/engine/recording/capture-reader';
import { exportCapture } from '../../main/engine/recording/export';
import { connection, syntheticFrames } from './build';

const FRAMES = 1_000_000;
const GiB = 1024 ** 3;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sha256(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** The source with a memory sample taken every 20,000 frames as they stream through. */
function sampled(source: CaptureSource, peak: { rss: number; heap: number }): CaptureSource {
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed + m.external + m.arrayBuffers);
  };
  function* tap(frames: Iterable<FrameRecord>): Generator<FrameRecord> {
    let n = 0;
    for (const f of frames) {
      if (++n % 20_000 === 0) sample();
      yield f;
    }
    sample();
  }
  return { ...source, frames: (i: number) => tap(source.frames(i)) };
}

describe('a capture of a million frames', () => {
  it('is imported (loaded, checked, saved) within bounded memory, and comes out the same', () => {
    const d = mkdtempSync(join(tmpdir(), 'framescope-million-'));
    dirs.push(d);
    const input = join(d, 'million.wscap.json');
    const w = new CaptureWriter(input, '2026-01-01T00:00:00.000Z');
    w.connection(connection({ id: 'big', frames: [] }), syntheticFrames(FRAMES));
    w.finish();
    const size = statSync(input).size;
    expect(size).toBeGreaterThan(200 * 1024 * 1024);

    const before = process.memoryUsage();
    const peak = { rss: before.rss, heap: 0 };
    const source = openCapture(input);
    let result;
    try {
      expect(source.connections[0]!.frameCount).toBe(FRAMES);
      result = exportCapture(sampled(source, peak), 'json', join(d, 'again.wscap.json'));
    } finally {
      source.close();
    }
    expect(result.frames).toBe(FRAMES);
    const extra = peak.rss - before.rss;
    // Holding the frames as objects would take several times the file's size; streaming
    // keeps one frame (and 1 MiB buffers) at a time.
    expect(extra, `peak RSS grew by ${(extra / 1024 ** 2).toFixed(0)} MiB for a ${(size / 1024 ** 2).toFixed(0)} MiB capture`).toBeLessThan(1 * GiB);
    expect(extra).toBeLessThan(size);
    expect(sha256(join(d, 'again.wscap.json'))).toBe(sha256(input));
  }, 600_000);
});
