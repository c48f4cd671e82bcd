// Frame-parser throughput: our FrameParser (alone, and with the MessageAssembler behind it)
// against the `ws` package's Receiver, decoding the same pre-built byte streams.
//
// Fairness, case by case:
// - ws's Receiver reassembles messages and validates UTF-8 (buffer.isUtf8 here, its JS
//   checker under 24 bytes). Ours does that in two layers: "parser" is FrameParser alone (the
//   frame layer), "parser+messages" adds the MessageAssembler our endpoint runs, which also
//   decodes each text message to a string.
// - Both get the same stream as Buffers cut to 64 KiB, the size a Node socket delivers, and
//   are fed the way they are in production: ws through Writable.write() (websocket.js does
//   `receiver.write(chunk)`), ours through receive(chunk, time).
// - ws unmasks in place, writing into the input, so masked streams are copied afresh before
//   every pass, for every implementation, outside the timed region.
// - ws's Receiver hands text messages over as bytes; an application reading them calls
//   toString(). "ws + toString()" is that: the like-for-like match for "parser+messages".
// - Each (case, implementation) runs a fixed amount of work per round; rounds alternate the
//   order of the implementations to spread machine noise, and the median round is kept. The
//   ratio is the median of the per-round ratios (each pair measured seconds apart).
// - Time is the process's CPU time (user + system), not wall time: on a shared machine, time
//   spent descheduled would otherwise count against whoever ran then. V8's own background
//   threads (concurrent GC, compiler) are in it, as their work is part of the cost.
// - No forced GC between rounds: a full GC deoptimizes the hot code of both parsers ("weak
//   objects"), so the round after it would measure recompilation. gc() runs once per case,
//   before the warm-up.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import * as wsModule from 'ws';
import type { Side } from '../shared/model';
import { FrameParser } from '../shared/codec/frame-parser';
import { MessageAssembler } from '../shared/codec/messages';
import { encodeFrame } from '../shared/codec/frame-writer';
import { Opcode } from '../shared/codec/protocol';
import type { Table } from './table';

// ws's package exports map hides lib/receiver.js, and @types/ws does not declare the class;
// the ESM wrapper does export it, so take it from there with the options this version reads.
interface WsReceiverOptions {
  allowSynchronousEvents?: boolean;
  binaryType?: 'nodebuffer' | 'arraybuffer' | 'fragments';
  extensions?: Record<string, unknown>;
  isServer?: boolean;
  maxBufferedChunks?: number;
  maxFragments?: number;
  maxPayload?: number;
  skipUTF8Validation?: boolean;
}
type WsReceiverClass = new (options: WsReceiverOptions) => Writable;
const Receiver = (wsModule as unknown as { Receiver: WsReceiverClass }).Receiver;
if (typeof Receiver !== 'function') throw new Error('this ws version does not export Receiver');

const CHUNK = 64 * 1024;
const MB = 1e6;

export type ImplId = 'ws' | 'wsText' | 'parser' | 'messages';
const IMPLS: ImplId[] = ['ws', 'wsText', 'parser', 'messages'];
const IMPL_NAMES: Record<ImplId, string> = {
  ws: 'ws Receiver',
  wsText: 'ws Receiver + toString()',
  parser: 'ours: parser',
  messages: 'ours: parser+messages',
};

interface Case {
  label: string;
  /** who sent the stream: client frames are masked */
  from: Side;
  stream: Buffer;
  masked: boolean;
  frames: number;
  /** data messages and control frames in it, and the bytes of all message payloads */
  messages: number;
  controls: number;
  messageBytes: number;
  payloadBytes: number;
  /** passes over the stream per round: a fixed amount of work, sized for ~0.1-0.3 s */
  passes: number;
}

export interface ImplResult {
  framesPerSec: number;
  mbPerSec: number;
  /** median over the rounds of (ws time / this time), measured in the same round */
  vsWs: number;
  /** (slowest - fastest) / median over the rounds */
  spread: number;
}

export interface ParserRow {
  case: string;
  chunking: string;
  rounds: number;
  wireBytes: number;
  frames: number;
  results: Record<ImplId, ImplResult>;
}

export interface ParserBenchOptions {
  rounds?: number;
  /** also decode each stream handed over as one chunk */
  unchunked?: boolean;
  /** progress lines (stderr by default, so stdout stays a clean table) */
  log?: (line: string) => void;
}

// -- streams ----------------------------------------------------------------------------

/** ~40 bytes of ASCII JSON, varying like real ticks do */
export function smallText(i: number): Uint8Array {
  return new TextEncoder().encode(`{"type":"tick","seq":${10_000_000 + (i % 89_000_000)},"v":12345}`);
}

class StreamBuilder {
  private parts: Uint8Array[] = [];
  private size = 0;
  frames = 0;
  messages = 0;
  controls = 0;
  messageBytes = 0;
  payloadBytes = 0;

  constructor(private readonly masked: boolean) {}

  add(opcode: number, payload: Uint8Array): void {
    const frame = encodeFrame({
      fin: true,
      opcode,
      payload,
      mask: this.masked,
      ...(this.masked ? { maskKey: randomBytes(4) } : {}),
    });
    this.parts.push(frame);
    this.size += frame.length;
    this.frames++;
    this.payloadBytes += payload.length;
    if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      this.messages++;
      this.messageBytes += payload.length;
    } else {
      this.controls++;
    }
  }

  build(label: string, from: Side, passes: number): Case {
    const stream = Buffer.allocUnsafe(this.size);
    let at = 0;
    for (const p of this.parts) {
      stream.set(p, at);
      at += p.length;
    }
    this.parts = [];
    const { frames, messages, controls, messageBytes, payloadBytes, masked } = this;
    return { label, from, stream, masked, frames, messages, controls, messageBytes, payloadBytes, passes };
  }
}

function buildCases(): Case[] {
  // (a) a server pushing small JSON text messages to a client.
  const small = new StreamBuilder(false);
  for (let i = 0; i < 250_000; i++) small.add(Opcode.Text, smallText(i));

  // (b) a server sending 256 KiB binary messages (file transfer, video, snapshots).
  const large = new StreamBuilder(false);
  const blob = randomBytes(256 * 1024);
  for (let i = 0; i < 128; i++) large.add(Opcode.Binary, blob);

  // (c) a client's masked traffic: mostly small text, some 4 KiB binary, the odd ping.
  const mixed = new StreamBuilder(true);
  const medium = randomBytes(4 * 1024);
  const ping = new Uint8Array(8);
  for (let i = 0; i < 40_000; i++) {
    const k = i % 10;
    if (k === 3 || k === 7) mixed.add(Opcode.Binary, medium);
    else if (k === 9) {
      new DataView(ping.buffer).setFloat64(0, i);
      mixed.add(Opcode.Ping, ping);
    } else mixed.add(Opcode.Text, smallText(i));
  }

  return [
    small.build('(a) small text, 40 B, unmasked, server→client', 'server', 2),
    large.build('(b) large binary, 256 KiB, unmasked, server→client', 'server', 12),
    mixed.build('(c) masked mix: 70% 40 B text, 20% 4 KiB binary, 10% ping, client→server', 'client', 2),
  ];
}

function cut(stream: Buffer, chunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunk) out.push(stream.subarray(at, at + chunk));
  return out;
}

// -- the contenders ---------------------------------------------------------------------

interface Tally {
  frames: number;
  messages: number;
  controls: number;
  bytes: number;
  error: unknown;
}

function newTally(): Tally {
  return { frames: 0, messages: 0, controls: 0, bytes: 0, error: null };
}

function runWs(c: Case, chunks: Buffer[], t: Tally): void {
  // As websocket.js builds it (a client reads a server's frames: isServer false), with
  // ws's defaults: UTF-8 validated, synchronous events, no payload limit.
  const receiver = new Receiver({
    allowSynchronousEvents: true,
    binaryType: 'nodebuffer',
    extensions: {},
    isServer: c.from === 'client',
    maxPayload: 0,
    skipUTF8Validation: false,
  });
  receiver.on('message', (data: Buffer) => {
    t.messages++;
    t.bytes += data.length;
  });
  receiver.on('ping', () => t.controls++);
  receiver.on('pong', () => t.controls++);
  receiver.on('error', (e: unknown) => (t.error = e));
  for (let i = 0; i < chunks.length; i++) receiver.write(chunks[i]);
}

function runWsText(c: Case, chunks: Buffer[], t: Tally): void {
  // The same, with what a ws application does with a text message: make it a string.
  const receiver = new Receiver({
    allowSynchronousEvents: true,
    binaryType: 'nodebuffer',
    extensions: {},
    isServer: c.from === 'client',
    maxPayload: 0,
    skipUTF8Validation: false,
  });
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    t.messages++;
    t.bytes += isBinary ? data.length : data.toString().length; // the test text is ASCII
  });
  receiver.on('ping', () => t.controls++);
  receiver.on('pong', () => t.controls++);
  receiver.on('error', (e: unknown) => (t.error = e));
  for (let i = 0; i < chunks.length; i++) receiver.write(chunks[i]);
}

function runParser(c: Case, chunks: Buffer[], t: Tally): void {
  const parser = new FrameParser({ from: c.from, stance: 'endpoint' });
  for (let i = 0; i < chunks.length; i++) {
    const frames = parser.receive(chunks[i]!, Date.now());
    for (let j = 0; j < frames.length; j++) {
      t.frames++;
      const f = frames[j]!;
      // The header's length when the payload is whole: reading the bytes is the consumer's choice.
      t.bytes += f.truncated ? f.payload.length : f.length;
    }
  }
  if (parser.failure) t.error = parser.failure;
}

function runMessages(c: Case, chunks: Buffer[], t: Tally): void {
  // What our endpoint does per frame: data frames to the assembler (reassembly, UTF-8
  // check, text decoded), and a look at each frame's violations to fail on an error.
  const parser = new FrameParser({ from: c.from, stance: 'endpoint' });
  const assembler = new MessageAssembler({ from: c.from });
  for (let i = 0; i < chunks.length; i++) {
    const frames = parser.receive(chunks[i]!, Date.now());
    for (let j = 0; j < frames.length; j++) {
      const frame = frames[j]!;
      if (frame.violations.length > 0) t.error ??= frame.violations[0];
      if (frame.opcode <= Opcode.Binary) {
        const message = assembler.push(frame);
        if (message) {
          t.messages++;
          t.bytes += message.data.length;
        }
      } else {
        t.controls++;
      }
    }
  }
  if (parser.failure) t.error = parser.failure;
}

const RUN: Record<ImplId, (c: Case, chunks: Buffer[], t: Tally) => void> = {
  ws: runWs,
  wsText: runWsText,
  parser: runParser,
  messages: runMessages,
};

function check(impl: ImplId, c: Case, t: Tally): void {
  const want =
    impl === 'parser'
      ? { frames: c.frames, messages: 0, controls: 0, bytes: c.payloadBytes }
      : { frames: 0, messages: c.messages, controls: c.controls, bytes: c.messageBytes };
  const got = { frames: t.frames, messages: t.messages, controls: t.controls, bytes: t.bytes };
  if (t.error || JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${impl} decoded "${c.label}" wrongly: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}, error ${String(t.error && JSON.stringify(t.error))}`);
  }
}

// -- timing -----------------------------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds spent decoding `passes` times; copying a masked stream afresh is not counted. */
async function timeOne(impl: ImplId, c: Case, chunkSize: number, passes: number): Promise<number> {
  let seconds = 0;
  let chunks = cut(c.stream, chunkSize);
  for (let pass = 0; pass < passes; pass++) {
    if (c.masked) chunks = cut(Buffer.from(c.stream), chunkSize);
    const t = newTally();
    const start = cpuSeconds();
    RUN[impl](c, chunks, t);
    seconds += cpuSeconds() - start;
    await tick(); // lets ws's deferred Writable bookkeeping and any 'error' event run
    check(impl, c, t);
  }
  return seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function runParserBench(options: ParserBenchOptions = {}): Promise<ParserRow[]> {
  const rounds = options.rounds ?? 7;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cases = buildCases();
  // The unchunked variant is a side view (no socket delivers 10 MB at once), so it gets
  // fewer rounds and single passes to keep the run short.
  const variants: Array<{ name: string; size: number; rounds: number; single: boolean }> = [
    { name: '64 KiB', size: CHUNK, rounds, single: false },
  ];
  if (options.unchunked) variants.push({ name: 'unchunked', size: Number.MAX_SAFE_INTEGER, rounds: 3, single: true });

  const rows: ParserRow[] = [];
  for (const variant of variants) {
    for (const c of cases) {
      log(`parser: ${c.label}, ${variant.name} chunks`);
      const passes = variant.single ? 1 : c.passes;
      gc?.();
      // Warm-up: every implementation on this very stream until its hot code is optimized.
      for (let w = 0; w < 3; w++) for (const impl of IMPLS) await timeOne(impl, c, variant.size, Math.ceil(passes / 2));
      const seconds: Record<ImplId, number[]> = { ws: [], wsText: [], parser: [], messages: [] };
      for (let r = 0; r < variant.rounds; r++) {
        // Rotate the order each round so no implementation always runs first (or last).
        for (let k = 0; k < IMPLS.length; k++) {
          const impl = IMPLS[(k + r) % IMPLS.length]!;
          seconds[impl].push(await timeOne(impl, c, variant.size, passes));
        }
      }
      const results = {} as Record<ImplId, ImplResult>;
      for (const impl of IMPLS) {
        const s = seconds[impl];
        const mid = median(s);
        results[impl] = {
          framesPerSec: (c.frames * passes) / mid,
          mbPerSec: (c.stream.length * passes) / mid / MB,
          vsWs: median(s.map((t, r) => seconds.ws[r]! / t)),
          spread: (Math.max(...s) - Math.min(...s)) / mid,
        };
      }
      rows.push({ case: c.label, chunking: variant.name, rounds: variant.rounds, wireBytes: c.stream.length, frames: c.frames, results });
    }
  }
  return rows;
}

// -- the table --------------------------------------------------------------------------

function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

const mbps = (n: number): string => n.toFixed(n >= 100 ? 0 : 1);

export function parserTable(rows: ParserRow[], rounds: number): Table {
  const out: string[][] = [];
  for (const row of rows) {
    const label = row.chunking === '64 KiB' ? row.case : `${row.case} (${row.chunking})`;
    IMPLS.forEach((impl, i) => {
      const r = row.results[impl];
      out.push([
        i === 0 ? label : '',
        IMPL_NAMES[impl],
        rate(r.framesPerSec),
        mbps(r.mbPerSec),
        impl === 'ws' ? '1.00x' : impl === 'wsText' ? `${r.vsWs.toFixed(2)}x` : `**${r.vsWs.toFixed(2)}x**`,
        `±${((r.spread * 100) / 2).toFixed(0)}%`,
      ]);
    });
  }
  return {
    title: 'Frame parser: ours vs ws Receiver',
    columns: ['case', 'implementation', 'frames/s', 'MB/s', 'vs ws', 'noise'],
    rows: out,
    notes: [
      `median of ${rounds} rounds after a warm-up, the implementations' order rotated each round; "vs ws" is the median of ` +
        'the per-round ratios ws time ÷ this time (above 1 = faster than ws); noise: ±half the (max - min) / median spread',
      'time is process CPU time (user + system), so other processes on the machine do not count; MB = 10^6 wire bytes, headers included',
      `ws ${wsVersion()} Receiver, fed by write(chunk) as websocket.js does: it reassembles messages and validates UTF-8 ` +
        '(buffer.isUtf8), but leaves text as bytes; "+ toString()" adds what an application reading text does',
      'ours: parser = FrameParser (endpoint stance) alone, every WireFrame field extracted; parser+messages = FrameParser + ' +
        'MessageAssembler (reassembly, incremental UTF-8 validation, text decoded to a string): compare it with "ws Receiver + toString()"',
      'each stream is fed in 64 KiB chunks (what a Node socket delivers) unless marked unchunked; masked streams are copied afresh before every pass (ws unmasks in place), outside the timed region',
      ...(rows.some((r) => r.chunking === 'unchunked')
        ? [
            'unchunked: the whole stream in one receive()/write(), 3 rounds of one pass: no socket does this, but a capture ' +
              'file read whole would; our receive() then returns every frame at once, all alive together, while ws emits as it goes',
          ]
        : []),
    ],
  };
}

function wsVersion(): string {
  const path = createRequire(import.meta.url).resolve('ws/package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
