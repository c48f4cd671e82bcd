// Capture load and save speed (issue 4): a synthetic capture of a million frames written,
// read back (index pass + every frame parsed and checked), imported (read + written), and
// exported to ndjson, HAR and pcapng; frames/s and peak memory for each.
//
// Memory is sampled (process.memoryUsage) every 10,000 frames as they stream through and
// once at the end; "peak RSS" is above the RSS measured just before the step (after a GC
// when run with --expose-gc, as `npm run bench` does). "Load into memory" builds the whole
// CaptureFile of objects (readCapture) for contrast: that is what streaming avoids.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrameHeader } from '../shared/codec/frame-writer';
import type { ConnectionRecord, FrameRecord } from '../shared/model';
import { CaptureWriter } from '../main/engine/recording/capture-writer';
import { openCapture, readCapture, type CaptureSource } from '../main/engine/recording/capture-reader';
import { exportCapture, type ExportFormatName } from '../main/engine/recording/export';
import type { Table } from './table';

export interface CapturesBenchOptions {
  frames: number;
}

export interface CapturesStep {
  step: string;
  frames: number;
  seconds: number;
  /** CPU time (user + system) of the process during the step: steadier than wall time on a busy machine */
  cpuSeconds: number;
  /** bytes of the file read or written */
  bytes: number;
  peakRss: number;
  peakHeap: number;
}

export interface CapturesBenchResult {
  frames: number;
  captureBytes: number;
  steps: CapturesStep[];
}

/** The same kind of traffic the tests use: masked client text, server text/binary, ping/pong. */
function* synthetic(n: number): Generator<FrameRecord> {
  const texts = ['{"op":"tick","n":1}', 'hello', '{"price":101.25,"sym":"ABC"}'].map((t) => Buffer.from(t));
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    const client = k < 4;
    const opcode = k === 8 ? 9 : k === 9 ? 10 : k === 7 ? 2 : 1;
    const payload = opcode === 2 ? Buffer.from([i & 255, (i >> 8) & 255, 0, 1, 2, 3]) : texts[i % 3]!;
    const key = client ? Buffer.alloc(4) : null;
    if (key) key.writeUInt32BE((i * 2654435761) >>> 0);
    const header = encodeFrameHeader({ fin: true, opcode, mask: client, maskKey: key ?? undefined, length: payload.length });
    yield {
      seq: i,
      time: 1_795_000_000_000 + i * 0.25,
      from: client ? 'client' : 'server',
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode,
      masked: client,
      maskKey: key,
      length: payload.length,
      header,
      payload,
    };
  }
}

const HEAD: Omit<ConnectionRecord, 'frames'> = {
  id: 'bench',
  mode: 'client',
  url: 'ws://127.0.0.1:9001/bench',
  client: '127.0.0.1:50001',
  server: '127.0.0.1:9001',
  tls: null,
  startedAt: 1_795_000_000_000 - 5,
  endedAt: null,
  handshake: null,
  close: null,
  errors: [],
};

const gc = (globalThis as { gc?: () => void }).gc;

class Meter {
  readonly baseline: number;
  peakRss: number;
  peakHeap = 0;
  constructor() {
    gc?.();
    this.baseline = process.memoryUsage().rss;
    this.peakRss = this.baseline;
  }
  sample(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakHeap = Math.max(this.peakHeap, m.heapUsed + m.external + m.arrayBuffers);
  }
  *tap<T>(items: Iterable<T>): Generator<T> {
    let n = 0;
    for (const item of items) {
      if (++n % 10_000 === 0) this.sample();
      yield item;
    }
    this.sample();
  }
}

function measure(step: string, frames: number, bytes: () => number, run: (m: Meter) => void): CapturesStep {
  const m = new Meter();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  run(m);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  m.sample();
  process.stderr.write(`captures: ${step} ${seconds.toFixed(2)} s (cpu ${cpuSeconds.toFixed(2)} s)\n`);
  return { step, frames, seconds, cpuSeconds, bytes: bytes(), peakRss: m.peakRss - m.baseline, peakHeap: m.peakHeap };
}

function tapped(source: CaptureSource, m: Meter): CaptureSource {
  return { ...source, frames: (i: number) => m.tap(source.frames(i)) };
}

export async function runCapturesBench(options: CapturesBenchOptions): Promise<CapturesBenchResult> {
  const n = options.frames;
  const dir = mkdtempSync(join(tmpdir(), 'framescope-bench-captures-'));
  const file = join(dir, 'bench.wscap.json');
  const size = (p: string) => () => statSync(p).size;
  const steps: CapturesStep[] = [];
  try {
    steps.push(
      measure('save (capture writer, frames generated on the fly)', n, size(file), (m) => {
        const w = new CaptureWriter(file, '2026-01-01T00:00:00.000Z');
        w.connection(HEAD, m.tap(synthetic(n)));
        w.finish();
      }),
    );
    steps.push(
      measure('load (index pass, then every frame parsed and checked)', n, size(file), (m) => {
        const source = openCapture(file);
        try {
          let count = 0;
          source.connections.forEach((_, i) => {
            for (const _f of m.tap(source.frames(i))) count++;
          });
          if (count !== n) throw new Error(`read ${count} frames, expected ${n}`);
        } finally {
          source.close();
        }
      }),
    );
    const exportStep = (label: string, format: ExportFormatName, out: string) =>
      measure(label, n, size(out), (m) => {
        const source = openCapture(file);
        try {
          exportCapture(tapped(source, m), format, out);
        } finally {
          source.close();
        }
      });
    steps.push(exportStep('import: load + save as capture v1', 'json', join(dir, 'again.json')));
    steps.push(exportStep('export ndjson', 'ndjson', join(dir, 'out.ndjson')));
    steps.push(exportStep('export har', 'har', join(dir, 'out.har')));
    steps.push(exportStep('export pcapng', 'pcapng', join(dir, 'out.pcapng')));
    steps.push(
      measure('load into memory (readCapture: every frame as an object)', n, size(file), (m) => {
        const c = readCapture(file);
        m.sample();
        if (c.connections[0]!.frames.length !== n) throw new Error('wrong count');
      }),
    );
    return { frames: n, captureBytes: statSync(file).size, steps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (b: number) => (b / 1024 ** 2).toFixed(0);

export function capturesTable(r: CapturesBenchResult): Table {
  return {
    title: `Captures: ${r.frames.toLocaleString('en')} frames (${mib(r.captureBytes)} MiB of capture v1)`,
    columns: ['step', 'frames/s', 'frames/s per CPU s', 'MiB/s (file)', 'wall', 'CPU', 'peak RSS above start', 'peak JS heap + buffers'],
    rows: r.steps.map((s) => [
      s.step,
      Math.round(s.frames / s.seconds).toLocaleString('en'),
      Math.round(s.frames / s.cpuSeconds).toLocaleString('en'),
      (s.bytes / 1024 ** 2 / s.seconds).toFixed(0),
      `${s.seconds.toFixed(2)} s`,
      `${s.cpuSeconds.toFixed(2)} s`,
      `${mib(s.peakRss)} MiB`,
      `${mib(s.peakHeap)} MiB`,
    ]),
    notes: [
      'one connection, synthetic chat-like frames (6-29 byte payloads, client frames masked); MiB/s is of the file read or written',
      'frames/s is of wall time; "per CPU s" divides by the process CPU time (user + system, GC included), steadier on a shared machine',
      'memory sampled every 10,000 frames as they stream; RSS is above the RSS just before the step (after a GC with --expose-gc)',
      '"load into memory" holds every frame as an object, for contrast: the streaming steps never do',
    ],
  };
}
