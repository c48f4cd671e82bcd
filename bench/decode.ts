// `framescope decode` as a user runs it, a whole process, against `ws`'s Receiver in a
// whole process of its own (bench/decode-ws.mjs) reading the same file.
//
// Fairness:
// - Both are plain node running plain JavaScript (the CLI's bundle, the reference script),
//   started afresh for every run, so each time includes starting node and reading the file.
// - The reference reads with fs.createReadStream in 64 KiB chunks into a Receiver built as
//   websocket.js builds it (UTF-8 validated, synchronous events) and counts messages;
//   `framescope decode FILE --from … --stats` decodes every frame and message and prints
//   counts. Both counts are checked against what was written, every run: a bench that
//   decodes wrong is worthless.
// - The stream files are written once to a temp dir before timing (they stay in the page
//   cache), each big enough that a run takes about a second.
// - Each round runs both, taking turns to go first; the ratio (ws time ÷ ours, so > 1 means
//   ours is faster) is the median of the rounds' own ratios, pairs measured back to back.
// - Wall time (what the user waits) and CPU time (user + system of the child, read from
//   this process's cutime/cstime in /proc/self/stat once the child is reaped: 10 ms ticks);
//   CPU time holds up better when the machine's other load steals the cores.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Side } from '../shared/model';
import { encodeFrame } from '../shared/codec/frame-writer';
import { Opcode } from '../shared/codec/protocol';
import { smallText } from './parser';
import { buildCli } from './proxy';
import type { Table } from './table';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'framescope.js');
const WS_SCRIPT = join(ROOT, 'bench', 'decode-ws.mjs');
const CLOCK_TICKS = 100; // USER_HZ on Linux
const MB = 1e6;

export interface DecodeBenchOptions {
  rounds?: number;
  log?: (line: string) => void;
}

interface Case {
  id: 'small' | 'large' | 'masked';
  label: string;
  from: Side;
  /** the target for ws time ÷ ours; null: none set */
  target: number | null;
  /** one block of frames, written `repeat` times */
  block: () => Block;
  repeat: number;
}

interface Block {
  bytes: Buffer;
  frames: number;
  messages: number;
  controls: number;
  messageBytes: number;
}

function block(masked: boolean, frames: Array<{ opcode: number; payload: Uint8Array }>): Block {
  const parts: Uint8Array[] = [];
  let messages = 0;
  let controls = 0;
  let messageBytes = 0;
  for (const { opcode, payload } of frames) {
    parts.push(encodeFrame({ fin: true, opcode, payload, mask: masked, ...(masked ? { maskKey: randomBytes(4) } : {}) }));
    if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      messages++;
      messageBytes += payload.length;
    } else controls++;
  }
  return { bytes: Buffer.concat(parts), frames: frames.length, messages, controls, messageBytes };
}

const CASES: Case[] = [
  {
    id: 'small',
    label: 'small text, ~40 B, server→client',
    from: 'server',
    target: 1.5,
    block: () => block(false, Array.from({ length: 25_000 }, (_, i) => ({ opcode: Opcode.Text, payload: smallText(i) }))),
    repeat: 80, // ~88 MB, 2M frames
  },
  {
    id: 'large',
    label: 'large binary, 256 KiB, server→client',
    from: 'server',
    target: 3,
    block: () => {
      const blob = randomBytes(256 * 1024);
      return block(false, Array.from({ length: 16 }, () => ({ opcode: Opcode.Binary, payload: blob })));
    },
    repeat: 48, // ~200 MB
  },
  {
    id: 'masked',
    label: 'masked client mix: 70% 40 B text, 20% 4 KiB binary, 10% ping, client→server',
    from: 'client',
    target: null,
    block: () => {
      const medium = randomBytes(4 * 1024);
      return block(
        true,
        Array.from({ length: 10_000 }, (_, i) => {
          const k = i % 10;
          if (k === 3 || k === 7) return { opcode: Opcode.Binary, payload: medium };
          if (k === 9) return { opcode: Opcode.Ping, payload: randomBytes(8) };
          return { opcode: Opcode.Text, payload: smallText(i) };
        }),
      );
    },
    repeat: 12, // ~100 MB
  },
];

interface Written {
  path: string;
  size: number;
  frames: number;
  messages: number;
  controls: number;
  messageBytes: number;
}

function writeCase(c: Case, dir: string): Written {
  const b = c.block();
  const path = join(dir, `${c.id}.bin`);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < c.repeat; i++) writeSync(fd, b.bytes);
  } finally {
    closeSync(fd);
  }
  const n = c.repeat;
  return { path, size: b.bytes.length * n, frames: b.frames * n, messages: b.messages * n, controls: b.controls * n, messageBytes: b.messageBytes * n };
}

// -- running a whole process ------------------------------------------------------------

/** CPU ticks (user + system) of this process's reaped children, from /proc/self/stat. */
function childTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]); // cutime, cstime
}

interface Timed {
  wall: number;
  cpu: number;
  stdout: string;
}

/** Runs `node ...args` to its end; wall and CPU seconds, and what it printed. */
function timeProcess(args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const ticks0 = childTicks();
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      // libuv has reaped the child before 'exit', so its rusage is in cutime/cstime now.
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = (childTicks() - ticks0) / CLOCK_TICKS;
      child.once('close', (code) => {
        if (code !== 0) reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
        else resolve({ wall, cpu, stdout });
      });
    });
  });
}

type Impl = 'ws' | 'ours';

async function runOnce(impl: Impl, c: Case, w: Written): Promise<Timed> {
  const args = impl === 'ws' ? [WS_SCRIPT, w.path, c.from] : [BIN, 'decode', w.path, '--from', c.from, '--stats'];
  const t = await timeProcess(args);
  const got = JSON.parse(t.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  const want: Record<string, number> =
    impl === 'ws'
      ? { messages: w.messages, controls: w.controls, bytes: w.messageBytes }
      : { frames: w.frames, bytes: w.size, messages: w.messages, violations: 0 };
  for (const [k, v] of Object.entries(want)) {
    if (got[k] !== v) throw new Error(`${impl === 'ws' ? 'ws' : 'framescope decode'} read "${c.label}" wrongly: ${k} ${got[k]}, want ${v} (printed ${t.stdout.trim()})`);
  }
  return t;
}

// -- the run ----------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface DecodeRow {
  case: Case;
  file: Written;
  /** medians over the rounds, seconds */
  ws: { wall: number; cpu: number };
  ours: { wall: number; cpu: number };
  /** ws time ÷ ours in each round */
  wallRatios: number[];
  cpuRatios: number[];
}

export interface DecodeBenchResult {
  rows: DecodeRow[];
  rounds: number;
  load: [number, number];
}

export async function runDecodeBench(options: DecodeBenchOptions = {}): Promise<DecodeBenchResult> {
  const rounds = options.rounds ?? 5;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'framescope-bench-decode-'));
  const loadBefore = loadavg()[0]!;
  const rows: DecodeRow[] = [];
  try {
    for (const c of CASES) {
      log(`decode: writing ${c.label}`);
      const file = writeCase(c, dir);
      // One untimed run of each: the file read once through, and the counts checked.
      for (const impl of ['ws', 'ours'] as const) await runOnce(impl, c, file);
      const times: Record<Impl, Timed[]> = { ws: [], ours: [] };
      for (let r = 0; r < rounds; r++) {
        log(`decode: ${c.id}, round ${r + 1}/${rounds}`);
        for (const impl of r % 2 === 0 ? (['ws', 'ours'] as const) : (['ours', 'ws'] as const)) times[impl].push(await runOnce(impl, c, file));
      }
      rmSync(file.path, { force: true });
      const med = (ts: Timed[]) => ({ wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) });
      rows.push({
        case: c,
        file,
        ws: med(times.ws),
        ours: med(times.ours),
        wallRatios: times.ws.map((t, r) => t.wall / times.ours[r]!.wall),
        cpuRatios: times.ws.map((t, r) => t.cpu / times.ours[r]!.cpu),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, rounds, load: [loadBefore, loadavg()[0]!] };
}

// -- the table --------------------------------------------------------------------------

const secs = (n: number) => n.toFixed(2);
const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)} k` : String(n));
const times = (n: number) => `${n.toFixed(2)}× ws`;
const list = (xs: number[]) => xs.map((x) => `${x.toFixed(2)}×`).join(' ');

export function decodeTable(result: DecodeBenchResult): Table {
  const rows = result.rows.map((row) => {
    const wall = median(row.wallRatios);
    const cpu = median(row.cpuRatios);
    const t = row.case.target;
    const mark = (x: number) => (t === null ? '' : x >= t ? '✓' : '✗');
    return [
      row.case.label,
      `${(row.file.size / MB).toFixed(0)} MB, ${count(row.file.frames)} frames`,
      `${secs(row.ws.wall)} / ${secs(row.ws.cpu)}`,
      `${secs(row.ours.wall)} / ${secs(row.ours.cpu)}`,
      times(wall),
      times(cpu),
      t === null ? '—' : `≥ ${t.toFixed(1)}×: wall ${mark(wall)}, CPU ${mark(cpu)}`,
    ];
  });
  return {
    title: 'decode: `framescope decode FILE --stats` against `ws`’s Receiver, whole processes',
    columns: ['stream', 'file', 'ws: wall / CPU (s)', 'Framescope: wall / CPU (s)', 'vs ws (wall)', 'vs ws (CPU)', 'target'],
    rows,
    notes: [
      `Median of ${result.rounds} rounds, ws and Framescope back to back, taking turns to go first; "vs ws" is the median of the rounds' own ws time ÷ Framescope time (> 1: Framescope is faster).`,
      'Framescope: `node bin/framescope.js decode FILE --from server|client --stats` (every frame parsed and every message assembled, UTF-8 checked). ws: `node bench/decode-ws.mjs FILE server|client` (fs.createReadStream, 64 KiB chunks, into ws’s Receiver with its defaults). Both counts are checked against what was written, every run.',
      'Wall: from spawn to exit, node’s start included. CPU: user + system of the child process (its cutime/cstime, 10 ms ticks).',
      ...result.rows.map((row) => `${row.case.id}: per round, wall ${list(row.wallRatios)}; CPU ${list(row.cpuRatios)}.`),
      'The masked mix has no target of its own; it shows the client side (unmasking) of the same work.',
      `Load average (1 min) ${result.load[0].toFixed(1)} before, ${result.load[1].toFixed(1)} after, on ${cpus().length} cores.`,
    ],
  };
}
