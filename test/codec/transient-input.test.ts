// Transient input (frame-parser.ts top comment, messages.ts transientFrames, observer.ts
// transientInput): the caller reads every chunk into one reused buffer, as the proxy does.
// The contract: a chunk is valid only during the receive() it is passed to; the frames (and
// messages) returned are valid until the next receive()/end(). The caller uses or copies them
// before it reads again, so these tests snapshot every frame right after receive() returns,
// then scribble over the reused buffer, and expect exactly what a durable-input parser gives
// for the same chunks handed over as fresh copies.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { concatBytes, toHex, utf8Encode } from '../../shared/bytes';
import { FrameParser, type FrameParserOptions } from '../../shared/codec/frame-parser';
import { applyMask, encodeFrame, maskInPlace, type FrameSpec } from '../../shared/codec/frame-writer';
import type { LengthEncoding, WireFrame } from '../../shared/codec/frame';
import { StreamObserver, type ObservedFrame } from '../../shared/codec/observer';
import { zlibCompression } from '../../main/engine/zlib-compression';
import { splitAt } from '../peers/split';

const KiB = 1024;
const MiB = 1024 * KiB;
/** the largest chunk a test hands in (the reused buffer's size, less room for misalignment) */
const MAX_CHUNK = 200 * KiB;

// -- helpers ------------------------------------------------------------------------------

/** Reproducible noise (xorshift32): large payloads without fast-check generating every byte. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** A copy of the bytes as a string: cheap to make, compare and keep (native, no per-byte JS). */
const bytesText = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

interface FrameSnap {
  fin: boolean;
  rsv: [boolean, boolean, boolean];
  opcode: number;
  masked: boolean;
  maskKey: string | null;
  length: number;
  lengthEncoding: LengthEncoding;
  header: string;
  payload: string;
  truncated: boolean;
  offset: number;
  time: number;
  from: string;
  violations: string[];
  close: { code: number | null; reason: string } | null;
}

/** Every field of a frame, byte arrays copied: taken right after receive() returns. */
function snapFrame(f: WireFrame): FrameSnap {
  return {
    fin: f.fin,
    rsv: [f.rsv1, f.rsv2, f.rsv3],
    opcode: f.opcode,
    masked: f.masked,
    maskKey: f.maskKey ? toHex(f.maskKey) : null,
    length: f.length,
    lengthEncoding: f.lengthEncoding,
    header: toHex(f.header),
    payload: bytesText(f.payload),
    truncated: f.truncated,
    offset: f.offset,
    time: f.time,
    from: f.from,
    violations: f.violations.map((v) => v.id),
    close: f.close ? { code: f.close.code, reason: f.close.reason } : null,
  };
}

interface ObservedSnap {
  frame: FrameSnap;
  message: {
    opcode: number;
    data: string;
    frames: number;
    compressed: boolean;
    wireLength: number;
    text: string | null;
    truncated: boolean;
  } | null;
}

function snapObserved(o: ObservedFrame): ObservedSnap {
  const m = o.message;
  return {
    // after the message: the assembler adds its violations (invalid-utf8, ...) to the frame
    frame: snapFrame(o.frame),
    message: m
      ? {
          opcode: m.opcode,
          data: bytesText(m.data),
          frames: m.frames,
          compressed: m.compressed,
          wireLength: m.wireLength,
          text: m.text ?? null,
          truncated: m.truncated,
        }
      : null,
  };
}

/** For a readable failure: long strings (payloads) become their length and a hash. */
function condense(x: unknown): unknown {
  if (typeof x === 'string' && x.length > 80) {
    let h = 0x811c9dc5;
    for (let i = 0; i < x.length; i++) h = Math.imul(h ^ x.charCodeAt(i), 0x01000193);
    return `<${x.length} chars, fnv ${(h >>> 0).toString(16)}, starts ${JSON.stringify(x.slice(0, 12))}>`;
  }
  if (Array.isArray(x)) return x.map(condense);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, condense(v)]));
  return x;
}

/** Deep equality at native speed; on a difference, a diff without megabytes of payload in it. */
function expectSame(actual: unknown, expected: unknown, where: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  expect(condense(actual), where).toEqual(condense(expected));
  expect.fail(`${where}: differs (in a way the condensed view hides)`);
}

/**
 * A failing case of a few megabytes shrinks for many minutes. After `budget` runs past the
 * first failure every candidate counts as passing, so fast-check stops shrinking and reports
 * the smallest failure found so far (a budget in runs, not in time: the verdict never
 * depends on the machine's speed).
 */
function budgeted<A extends unknown[]>(predicate: (...args: A) => void, budget = 150): (...args: A) => void {
  let failed = false;
  let after = 0;
  return (...args: A) => {
    if (failed && ++after > budget) return;
    try {
      predicate(...args);
    } catch (e) {
      failed = true;
      throw e;
    }
  };
}

/** What a receiver hands back per call, and what is left to compare between calls. */
interface Receiver<F> {
  receive(data: Uint8Array, time: number): F[];
  end(time: number): F[];
}

interface CallResult<S> {
  frames: S[];
  state: unknown;
}

/**
 * The one reused input buffer, ArrayBuffer-backed like a socket read buffer. Each chunk is
 * copied in at a small offset (alignment), and the used bytes are scribbled over after the
 * frames are snapshotted: anything the parser kept a view of without copying shows up as 0xEE.
 */
class ReusedInput {
  private readonly arena = new Uint8Array(new ArrayBuffer(MAX_CHUNK + 8));
  private used = 0;

  load(chunk: Uint8Array, align: number): Uint8Array {
    if (chunk.length > MAX_CHUNK) throw new RangeError(`chunk of ${chunk.length} bytes`);
    const view = new Uint8Array(this.arena.buffer, align, chunk.length);
    view.set(chunk);
    this.used = Math.max(this.used, align + chunk.length);
    return view;
  }

  scribble(): void {
    this.arena.fill(0xee, 0, this.used);
  }
}

/** Feeds chunks through the reused buffer; snapshots after every call, then scribbles. */
function feedTransient<F, S>(
  r: Receiver<F>,
  chunks: readonly Uint8Array[],
  aligns: readonly number[],
  end: boolean,
  snap: (f: F) => S,
  state: () => unknown,
): CallResult<S>[] {
  const input = new ReusedInput();
  const out: CallResult<S>[] = [];
  chunks.forEach((chunk, i) => {
    const frames = r.receive(input.load(chunk, aligns[i % aligns.length]!), i);
    out.push({ frames: frames.map(snap), state: state() });
    input.scribble();
  });
  if (end) out.push({ frames: r.end(chunks.length).map(snap), state: state() });
  return out;
}

/** The reference: every chunk a fresh copy the parser may keep. */
function feedDurable<F, S>(
  r: Receiver<F>,
  chunks: readonly Uint8Array[],
  end: boolean,
  snap: (f: F) => S,
  state: () => unknown,
): CallResult<S>[] {
  const out: CallResult<S>[] = [];
  chunks.forEach((chunk, i) => {
    const frames = r.receive(chunk.slice(), i);
    out.push({ frames: frames.map(snap), state: state() });
  });
  if (end) out.push({ frames: r.end(chunks.length).map(snap), state: state() });
  return out;
}

function expectSameCalls<S>(transient: CallResult<S>[], durable: CallResult<S>[]): void {
  expect(transient.length).toBe(durable.length);
  for (let i = 0; i < durable.length; i++) {
    const t = transient[i]!;
    const d = durable[i]!;
    expectSame(t.state, d.state, `state after call ${i}`);
    expect(t.frames.length, `frames from call ${i}`).toBe(d.frames.length);
    for (let j = 0; j < d.frames.length; j++) expectSame(t.frames[j], d.frames[j], `call ${i}, frame ${j}`);
  }
}

const parserState = (p: FrameParser) => () => ({
  offset: p.offset,
  midFrame: p.midFrame,
  failure: p.failure ? { id: p.failure.violation.id, closeCode: p.failure.closeCode } : null,
});

const observerState = (o: StreamObserver) => () => ({ offset: o.offset, midFrame: o.midFrame, closeFrame: o.closeFrame });

// -- cutting a stream into chunks ---------------------------------------------------------

interface CutPlan {
  /** anywhere in the stream (taken modulo its length + 1) */
  random: number[];
  /** [frame, delta]: a cut `delta` bytes into a frame, to split headers at every byte */
  nearFrames: [number, number][];
  /** the largest chunk, before the cap on the number of calls */
  maxChunk: number;
  /** null: the whole stream then end(); else the stream is cut there (end() mid-frame) */
  endAt: number | null;
}

const cutPlanArb: fc.Arbitrary<CutPlan> = fc.record({
  random: fc.array(fc.nat(), { maxLength: 30 }),
  nearFrames: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 15 })), { maxLength: 16 }),
  maxChunk: fc.constantFrom(1, 2, 7, 100, 4 * KiB, 64 * KiB, MAX_CHUNK),
  endAt: fc.oneof(fc.constant(null), fc.nat()),
});

/**
 * Cuts `stream` (frames starting at `starts`) per the plan.
 * The number of calls stays below a few thousand: tiny chunks only for short streams.
 */
function cut(stream: Uint8Array, starts: readonly number[], plan: CutPlan): Uint8Array[] {
  const total = stream.length;
  const limit = plan.endAt === null ? total : plan.endAt % (total + 1);
  const at = new Set<number>([limit]);
  for (const r of plan.random) at.add(r % (total + 1));
  if (starts.length > 0) for (const [f, d] of plan.nearFrames) at.add(starts[f % starts.length]! + d);
  const points = [...at].filter((p) => p > 0 && p <= limit).sort((a, b) => a - b);
  const maxChunk = Math.min(MAX_CHUNK, Math.max(plan.maxChunk, Math.ceil(limit / 3000)));
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    while (p - from > maxChunk) {
      chunks.push(stream.slice(from, from + maxChunk));
      from += maxChunk;
    }
    if (p > from) chunks.push(stream.slice(from, p));
    from = p;
  }
  return chunks;
}

// -- random frames ------------------------------------------------------------------------

/** Payload sizes: mostly small, the length-field boundaries, and some up to 300 KiB. */
const payloadSize = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 65537) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 * KiB }) },
);

interface FrameGen {
  opcode: number;
  fin: boolean;
  rsv: number;
  mask: boolean;
  maskKey: Uint8Array;
  size: number;
  bigControl: boolean;
  seed: number;
  encoding: 'minimal' | 16 | 64;
  lie: number;
  close: { kind: 'code' | 'empty' | 'one' | 'noise'; code: number; reason: string };
}

const frameArb: fc.Arbitrary<FrameGen> = fc.record({
  opcode: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(0, 1, 2) },
    { weight: 4, arbitrary: fc.constantFrom(8, 9, 10) },
    { weight: 1, arbitrary: fc.constantFrom(3, 7, 11, 15) },
  ),
  fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  mask: fc.boolean(),
  maskKey: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  size: payloadSize,
  bigControl: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  encoding: fc.oneof(
    { weight: 8, arbitrary: fc.constant('minimal' as const) },
    { weight: 1, arbitrary: fc.constantFrom(16 as const, 64 as const) },
  ),
  lie: fc.oneof({ weight: 19, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
  close: fc.record({
    kind: fc.constantFrom('code' as const, 'code' as const, 'empty' as const, 'one' as const, 'noise' as const),
    code: fc.constantFrom(1000, 1001, 1005, 1011, 3000, 4999, 999, 2999),
    reason: fc.string({ unit: 'grapheme', maxLength: 40 }),
  }),
});

/** The frame's bytes; `lie` only when the stream may desynchronise on purpose. */
function buildFrame(g: FrameGen, allowLie: boolean): Uint8Array {
  const control = g.opcode >= 8;
  const size = control && !g.bigControl ? g.size % 126 : g.size;
  let payload: Uint8Array;
  if (g.opcode === 8 && g.close.kind !== 'noise') {
    const { kind, code, reason } = g.close;
    payload =
      kind === 'empty'
        ? new Uint8Array(0)
        : kind === 'one'
          ? Uint8Array.of(code >> 8)
          : concatBytes([Uint8Array.of(code >> 8, code & 0xff), utf8Encode(reason)]).subarray(0, 125); // may cut UTF-8
  } else {
    payload = noise(size, g.seed);
  }
  const length = allowLie ? Math.max(0, payload.length + g.lie) : payload.length;
  const spec: FrameSpec = {
    fin: g.fin,
    rsv1: (g.rsv & 4) !== 0,
    rsv2: (g.rsv & 2) !== 0,
    rsv3: (g.rsv & 1) !== 0,
    opcode: g.opcode,
    payload,
    mask: g.mask,
    maskKey: g.maskKey,
    length,
  };
  if (g.encoding === 64 || (g.encoding === 16 && length <= 0xffff)) spec.lengthEncoding = g.encoding;
  return encodeFrame(spec);
}

function buildStream(frames: Uint8Array[]): { stream: Uint8Array; starts: number[]; ends: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  for (const f of frames) {
    starts.push(at);
    at += f.length;
    ends.push(at);
  }
  return { stream: concatBytes(frames, at), starts, ends };
}

const alignsArb = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 });

function compareParsers(options: FrameParserOptions, chunks: Uint8Array[], aligns: number[]): void {
  const t = new FrameParser({ ...options, transientInput: true });
  const d = new FrameParser({ ...options, transientInput: false });
  expectSameCalls(
    feedTransient(t, chunks, aligns, true, snapFrame, parserState(t)),
    feedDurable(d, chunks, true, snapFrame, parserState(d)),
  );
}

// -- 1, 2: the frame parser ---------------------------------------------------------------

describe('RFC 6455 §5.2 framing: transient input reads the frames durable input reads', () => {
  it('random frame sequences, random chunks, one reused input buffer (any stance, default maxPayload)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 10 }),
        cutPlanArb,
        alignsArb,
        fc.record({
          from: fc.constantFrom('client' as const, 'server' as const),
          stance: fc.constantFrom('observer' as const, 'observer' as const, 'endpoint' as const),
          rsv1Allowed: fc.boolean(),
        }),
        budgeted((gens, plan, aligns, options) => {
          const { stream, starts } = buildStream(gens.map((g) => buildFrame(g, true)));
          compareParsers(options, cut(stream, starts, plan), aligns);
        }),
      ),
      { numRuns: 60 },
    );
  });

  it('1-byte chunks through a few headers and payloads, the stream ended every 7 bytes', () => {
    const { stream } = buildStream([
      encodeFrame({ fin: false, opcode: 1, payload: noise(300, 1), mask: true, maskKey: Uint8Array.of(1, 2, 3, 4) }),
      encodeFrame({ fin: true, opcode: 9, payload: noise(5, 2), mask: true, maskKey: Uint8Array.of(5, 6, 7, 8) }),
      encodeFrame({ fin: true, opcode: 0, payload: noise(70_000, 3), mask: true, maskKey: Uint8Array.of(9, 9, 9, 9), lengthEncoding: 64 }),
      encodeFrame({ fin: true, opcode: 8, payload: Uint8Array.of(3, 232, 0x6f, 0x6b), mask: false }),
    ]);
    const bytes = [...stream.subarray(0, 330)].map((b) => Uint8Array.of(b));
    for (let endAt = 0; endAt <= bytes.length; endAt += 7) {
      compareParsers({ from: 'client', stance: 'observer' }, bytes.slice(0, endAt), [0, 1, 2, 3]);
    }
  });

  // Observer stance with a small limit: payloads are cut at maxPayload while they stream by
  // in pieces (truncation inside the span buffer), and several truncated frames may end in
  // one call (see the regressions below).
  it('observer with a small maxPayload: truncation mid-span and several truncated frames per call', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 10 }),
        cutPlanArb,
        alignsArb,
        fc.constantFrom(0, 1, 125, 1000, 4096, 70_000),
        fc.constantFrom('client' as const, 'server' as const),
        budgeted((gens, plan, aligns, maxPayload, from) => {
          const { stream, starts } = buildStream(gens.map((g) => buildFrame(g, false)));
          compareParsers({ from, stance: 'observer', maxPayload }, cut(stream, starts, plan), aligns);
        }),
      ),
      { numRuns: 60 },
    );
  });
});

describe('regression: several frames a call past maxPayload (observer) and the span buffers', () => {
  // Once (commit 79ef851): a frame longer than maxPayload never takes the fast path, and
  // readPayload copied its kept prefix into a span buffer even when the whole frame was in the
  // chunk; finishFrame handed out a view of it and swapped span/spare, so a third such frame
  // in the same receive() overwrote the first one's payload before the caller saw it.
  const frame = (fill: number, n: number) => encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(n).fill(fill), mask: false });

  it('three frames over maxPayload in one chunk keep their own payloads', () => {
    const p = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 1000, transientInput: true });
    const frames = p.receive(concatBytes([frame(1, 2000), frame(2, 2000), frame(3, 2000)]), 0);
    expect(frames.map((f) => [f.truncated, f.payload.length, f.payload[0]])).toEqual([
      [true, 1000, 1],
      [true, 1000, 2],
      [true, 1000, 3],
    ]);
  });

  it('a spanning frame ends, a truncated one passes, the next begins to span: the first is intact', () => {
    const p = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 1000, transientInput: true });
    const a = frame(1, 800); // spans two calls, not truncated
    const t = frame(2, 2000); // whole in the second chunk, truncated to 1000
    const c = frame(3, 900); // begins in the second chunk
    expect(p.receive(a.slice(0, 400), 0)).toEqual([]);
    const frames = p.receive(concatBytes([a.subarray(400), t, c.subarray(0, 600)]), 1);
    expect(frames.map((f) => [f.payload.length, f.payload.every((b) => b === f.payload[0]) ? f.payload[0] : 'mixed'])).toEqual([
      [800, 1],
      [1000, 2],
    ]);
  });
});

describe('regression: end() inside a header reports nothing of the previous frame (both input modes)', () => {
  // Once (commit 79ef851): end()'s branches for a cut header (a lone byte; or inside the
  // 16/64-bit length) kept the previous frame's maskKey, violations and (inside the length
  // field) length. With transient input the mask key was a view into a chunk the caller had
  // since overwritten; in both modes the violations array was the very array of the frame
  // returned before, so end() appended 'truncated-frame' to a frame the caller already had.
  const key = Uint8Array.of(1, 2, 3, 4);
  const hi = encodeFrame({ fin: true, opcode: 1, payload: utf8Encode('hi'), mask: true, maskKey: key });

  it('transient: after a lone header byte, end() gives masked: false and no mask key', () => {
    const p = new FrameParser({ from: 'client', stance: 'observer', transientInput: true });
    const input = new ReusedInput();
    p.receive(input.load(hi, 0), 0);
    input.scribble();
    p.receive(input.load(Uint8Array.of(0x81), 0), 1);
    input.scribble();
    const [cut] = p.end(2);
    expect(cut!.masked).toBe(false);
    expect(cut!.maskKey).toBeNull(); // was ee ee ee ee: the first chunk's memory, scribbled over
  });

  it('after a lone header byte, end() leaves the previous frame\'s violations alone', () => {
    const p = new FrameParser({ from: 'client', stance: 'observer' });
    const [prev] = p.receive(encodeFrame({ fin: true, rsv2: true, opcode: 1, payload: utf8Encode('hi'), mask: true, maskKey: key }), 0);
    expect(prev!.violations.map((v) => v.id)).toEqual(['rsv-without-extension']);
    p.receive(Uint8Array.of(0x81), 1); // no RSV bit in this byte
    const [cut] = p.end(2);
    expect(prev!.violations.map((v) => v.id)).toEqual(['rsv-without-extension']); // gained 'truncated-frame'
    expect(cut!.violations.map((v) => v.id)).toEqual(['truncated-frame']); // had 'rsv-without-extension' too
  });

  it('cut inside the 16-bit length field, end() does not state the previous frame\'s length', () => {
    const p = new FrameParser({ from: 'server', stance: 'observer' });
    p.receive(encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(300), mask: false }), 0);
    p.receive(Uint8Array.of(0x82, 0x7e, 0x01), 1); // one of the two length bytes
    const [cut] = p.end(2);
    expect(toHex(cut!.header)).toBe('827e01');
    expect(cut!.length).not.toBe(300); // the length never arrived; 300 was the frame before's
  });
});

// -- 3: the observer, messages ------------------------------------------------------------

interface MessageGen {
  kind: 'text' | 'binary' | 'badText';
  text: string;
  repeat: number;
  size: number;
  seed: number;
  cuts: number[];
  pings: number[];
  maskKey: Uint8Array;
}

const messageArb: fc.Arbitrary<MessageGen> = fc.record({
  kind: fc.constantFrom('text' as const, 'text' as const, 'binary' as const, 'badText' as const),
  // multi-byte characters, so that fragment cuts fall inside UTF-8 sequences
  text: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })),
  repeat: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3000 })),
  size: payloadSize,
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  pings: fc.array(fc.nat(), { maxLength: 2 }),
  maskKey: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});

function messageBytes(g: MessageGen): Uint8Array {
  if (g.kind === 'text') return utf8Encode(g.text.repeat(g.repeat)).subarray(0, 300 * KiB);
  return noise(g.size, g.seed);
}

/** Splits `data` at the cuts (positions modulo its length + 1; empty fragments allowed). */
const fragments = (data: Uint8Array, cuts: readonly number[]): Uint8Array[] => splitAt(data, cuts, { empty: true });

/** The frames of one message: fragments, with pings between some of them. */
function messageFrames(
  opcode: 1 | 2,
  wire: Uint8Array,
  g: { cuts: number[]; pings: number[]; maskKey: Uint8Array },
  masked: boolean,
  rsv1 = false,
): Uint8Array[] {
  const parts = fragments(wire, g.cuts);
  const pingsAfter = new Set(g.pings.map((p) => p % parts.length));
  const out: Uint8Array[] = [];
  parts.forEach((payload, i) => {
    const fin = i === parts.length - 1;
    out.push(
      encodeFrame({ fin, rsv1: rsv1 && i === 0, opcode: i === 0 ? opcode : 0, payload, mask: masked, maskKey: g.maskKey }),
    );
    if (!fin && pingsAfter.has(i)) {
      out.push(encodeFrame({ fin: true, opcode: 9, payload: noise(i + 3, i + 1), mask: masked, maskKey: g.maskKey }));
    }
  });
  return out;
}

/** The messages an observer completed, from the snapshots. */
const messagesOf = (calls: CallResult<ObservedSnap>[]) =>
  calls.flatMap((c) => c.frames.flatMap((o) => (o.message ? [o.message] : [])));

describe('RFC 6455 §5.4 fragmentation, §5.6 UTF-8: StreamObserver with transient input', () => {
  it('fragmented text (cut inside UTF-8 sequences), binary and invalid text: the same frames and messages', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 6 }),
        cutPlanArb,
        alignsArb,
        fc.constantFrom('client' as const, 'server' as const),
        budgeted((gens, plan, aligns, from) => {
          const masked = from === 'client';
          const datas = gens.map(messageBytes);
          const frames = gens.flatMap((g, i) => messageFrames(g.kind === 'binary' ? 2 : 1, datas[i]!, g, masked));
          const { stream, starts } = buildStream(frames);
          const chunks = cut(stream, starts, plan);
          const t = new StreamObserver({ from, transientInput: true });
          const d = new StreamObserver({ from, transientInput: false });
          const tc = feedTransient(t, chunks, aligns, true, snapObserved, observerState(t));
          expectSameCalls(tc, feedDurable(d, chunks, true, snapObserved, observerState(d)));
          if (plan.endAt === null) {
            // Whole stream: and the messages are the ones sent.
            const got = messagesOf(tc);
            expect(got.length).toBe(gens.length);
            got.forEach((m, i) => {
              expect(m.data === bytesText(datas[i]!), `message ${i} data`).toBe(true);
              if (gens[i]!.kind === 'text') expect(m.text).toBe(new TextDecoder().decode(datas[i]!));
            });
          }
        }),
      ),
      { numRuns: 60 },
    );
  });
});

// ws does not export its lib/ files (package.json "exports"), so load it by path (as deflate.test.ts).
const require = createRequire(import.meta.url);
type Callback = (err: Error | null, result?: Buffer) => void;
interface WsPerMessageDeflate {
  accept(configurations: Record<string, (string | true)[]>[]): Record<string, unknown>;
  compress(data: Buffer, fin: boolean, callback: Callback): void;
  cleanup(): void;
}
const PerMessageDeflate = require(join(dirname(require.resolve('ws')), 'lib/permessage-deflate.js')) as new (options: {
  isServer?: boolean;
  maxPayload?: number;
}) => WsPerMessageDeflate;

/** Messages compressed by ws in order, window 15, context takeover (later ones refer back). */
async function wsCompressed(): Promise<{ data: Uint8Array; wire: Uint8Array; compressed: boolean; text: boolean }[]> {
  const pmd = new PerMessageDeflate({ isServer: true, maxPayload: 0 });
  pmd.accept([{ server_max_window_bits: ['15'], client_max_window_bits: ['15'] }]);
  const words = ['frame', 'mask', 'opcode', 'deflate', 'window', 'takeover', '{"id":', '"type":"tick"', ', ', 'é€𝄞中', '\n'];
  let seed = 99;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const text = (n: number) => {
    let s = '';
    while (s.length < n) s += words[rand(words.length)]! + (rand(10) === 0 ? String(rand(1e6)) : '');
    return utf8Encode(s);
  };
  const plain: { data: Uint8Array; compress: boolean; text: boolean }[] = [
    { data: utf8Encode('Hello'), compress: true, text: true },
    { data: utf8Encode('Hello'), compress: true, text: true }, // f2 00 11 00 00: refers back
    { data: new Uint8Array(0), compress: true, text: false },
    { data: text(300), compress: true, text: true },
    { data: text(5000), compress: false, text: true }, // negotiated, but sent as is (RSV1 0)
    { data: noise(90_000, 5), compress: true, text: false }, // incompressible: spans chunks
    { data: text(120_000), compress: true, text: true },
    { data: text(120_000), compress: true, text: true }, // largely a back-reference
    { data: noise(3000, 6), compress: false, text: false },
    { data: text(40), compress: true, text: true },
  ];
  try {
    const out = [];
    for (const m of plain) {
      const wire = m.compress
        ? await new Promise<Uint8Array>((resolve, reject) =>
            pmd.compress(Buffer.from(m.data), true, (err, r) => (err ? reject(err) : resolve(new Uint8Array(r!)))),
          )
        : m.data;
      out.push({ data: m.data, wire, compressed: m.compress, text: m.text });
    }
    return out;
  } finally {
    pmd.cleanup();
  }
}

describe('RFC 7692 permessage-deflate: StreamObserver with transient input', () => {
  it('messages ws compressed with context takeover, fragmented or not, inflate the same both ways', async () => {
    const messages = await wsCompressed();
    const fragmentation = fc.record({
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      pings: fc.array(fc.nat(), { maxLength: 1 }),
      maskKey: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(fragmentation, { minLength: messages.length, maxLength: messages.length }),
        cutPlanArb,
        alignsArb,
        fc.constantFrom('client' as const, 'server' as const),
        budgeted((frag, plan, aligns, from) => {
          const masked = from === 'client';
          const frames = messages.flatMap((m, i) => messageFrames(m.text ? 1 : 2, m.wire, frag[i]!, masked, m.compressed));
          const { stream, starts } = buildStream(frames);
          const chunks = cut(stream, starts, plan);
          const observer = (transientInput: boolean) =>
            new StreamObserver({ from, transientInput, inflater: zlibCompression.inflater(15, false) });
          const t = observer(true);
          const d = observer(false);
          const tc = feedTransient(t, chunks, aligns, true, snapObserved, observerState(t));
          expectSameCalls(tc, feedDurable(d, chunks, true, snapObserved, observerState(d)));
          if (plan.endAt === null) {
            const got = messagesOf(tc);
            expect(got.length).toBe(messages.length);
            got.forEach((m, i) => {
              expect(m.compressed, `message ${i}`).toBe(messages[i]!.compressed);
              expect(m.truncated, `message ${i}`).toBe(false);
              expect(m.data === bytesText(messages[i]!.data), `message ${i} data`).toBe(true);
            });
          }
        }),
      ),
      { numRuns: 40 },
    );
  });
});

// -- 4: masking ---------------------------------------------------------------------------

describe('RFC 6455 §5.3 masking: maskInPlace(buf, key, offset)', () => {
  it('equals applyMask(buf, key, new, offset) and byte-by-byte XOR, at any alignment, touching nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 0, max: 2000 }) },
          { weight: 2, arbitrary: fc.constantFrom(127, 128, 129, 131, 160) },
          { weight: 1, arbitrary: fc.integer({ min: 100 * KiB - 3, max: 100 * KiB + 3 }) },
        ),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 0x7fffffff }),
        budgeted((length, byteOffset, offset, key, seed) => {
          const backing = noise(length + 8, seed); // 4 guard bytes either side at most
          const before = backing.slice();
          const view = backing.subarray(byteOffset, byteOffset + length);
          const original = before.subarray(byteOffset, byteOffset + length);
          const expected = applyMask(original, key, new Uint8Array(length), offset);
          const byHand = original.map((b, i) => b ^ key[(offset + i) & 3]!);
          expect(maskInPlace(view, key, offset)).toBe(view);
          expect(bytesText(view) === bytesText(expected), 'maskInPlace vs applyMask').toBe(true);
          expect(bytesText(expected) === bytesText(byHand), 'applyMask vs XOR by hand').toBe(true);
          expect(toHex(backing.subarray(0, byteOffset))).toBe(toHex(before.subarray(0, byteOffset)));
          expect(toHex(backing.subarray(byteOffset + length))).toBe(toHex(before.subarray(byteOffset + length)));
          // Masking twice gives the bytes back.
          maskInPlace(view, key, offset);
          expect(bytesText(view) === bytesText(original)).toBe(true);
        }),
      ),
      { numRuns: 400 },
    );
  });
});

// -- 5: hostile lengths -------------------------------------------------------------------

describe('RFC 6455 §10.4 limits: a header claiming a huge payload, followed by a few bytes', () => {
  // Allocation cannot be measured reliably; what can be checked is that nothing waits for the
  // claimed bytes: the frame comes out on end(), truncated, with exactly the bytes that came.
  const cases = [
    { name: 'StreamObserver, 16 MiB claimed (its default maxPayload), masked', length: 16 * MiB, masked: true, make: 'observer' },
    { name: 'StreamObserver, 16 MiB claimed, unmasked', length: 16 * MiB, masked: false, make: 'observer' },
    { name: 'FrameParser observer, 16 MiB claimed (default maxPayload 64 MiB)', length: 16 * MiB, masked: true, make: 'parser' },
    { name: 'FrameParser observer, 2^40 claimed', length: 2 ** 40, masked: false, make: 'parser' },
  ] as const;

  it.each(cases)('$name', ({ length, masked, make }) => {
    const key = Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4);
    const sent = Uint8Array.of(10, 20, 30, 40, 50, 60, 70);
    const header = encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(0), mask: masked, maskKey: key, length });
    const onWire = masked ? applyMask(sent, key) : sent;
    const chunks = [concatBytes([header, onWire.subarray(0, 3)]), onWire.subarray(3, 4), onWire.subarray(4)];
    const from = masked ? 'client' : 'server';
    for (const transientInput of [true, false]) {
      const receiver: Receiver<WireFrame> =
        make === 'observer'
          ? (() => {
              const o = new StreamObserver({ from, transientInput });
              return { receive: (c, t) => o.receive(c, t).map((x) => x.frame), end: (t) => o.end(t).map((x) => x.frame) };
            })()
          : new FrameParser({ from, stance: 'observer', transientInput });
      const calls = transientInput
        ? feedTransient(receiver, chunks, [1, 2, 3], true, snapFrame, () => null)
        : feedDurable(receiver, chunks, true, snapFrame, () => null);
      expect(calls.slice(0, 3).map((c) => c.frames.length)).toEqual([0, 0, 0]);
      const last = calls[3]!.frames;
      expect(last.length).toBe(1);
      const f = last[0]!;
      expect(f.length).toBe(length);
      expect(f.lengthEncoding).toBe(64);
      expect(f.truncated).toBe(true);
      expect(f.violations).toContain('truncated-frame');
      expect(f.header).toBe(toHex(header));
      expect(f.payload).toBe(bytesText(sent));
    }
  });
});

// -- 6: the span buffers ------------------------------------------------------------------

describe('transient input: the span buffers are reused, a frame lasts until the next call', () => {
  const key = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
  const big = (seed: number, n: number) => noise(n, seed);

  it('20 masked frames of 200 KiB in 64 KiB chunks: each payload right when its call returns', () => {
    const payloads = Array.from({ length: 20 }, (_, i) => big(i + 1, 200 * KiB));
    const { stream } = buildStream(payloads.map((payload) => encodeFrame({ fin: true, opcode: 2, payload, mask: true, maskKey: key })));
    const p = new FrameParser({ from: 'client', stance: 'observer', transientInput: true });
    const input = new ReusedInput();
    let next = 0;
    for (let at = 0; at < stream.length; at += 64 * KiB) {
      for (const f of p.receive(input.load(stream.subarray(at, at + 64 * KiB), at % 3), at)) {
        expect(f.truncated).toBe(false);
        expect(bytesText(f.payload) === bytesText(payloads[next]!), `frame ${next}`).toBe(true);
        next++;
      }
      input.scribble();
      // A payload kept from frame N is not guaranteed after the call that returned it: the
      // parser unmasks the next spanning frames into the same two buffers (frame N+2 takes
      // frame N's). So nothing is asserted of old frames here; a caller copies what it keeps.
    }
    expect(next).toBe(20);
    expect(p.midFrame).toBe(false);
  });

  it('a large masked binary message that spans calls stays masked and lazy; text, fragments and small ones are unmasked', () => {
    // Which frames the journal gets as masked pieces (it unmasks while it encodes) and which
    // the parser unmasks in place because the message assembler reads them at once.
    const key2 = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const cases: Array<{ opcode: number; fin: boolean; rsv1?: boolean; size: number; lazy: boolean }> = [
      { opcode: 2, fin: true, size: 200 * KiB, lazy: true },
      { opcode: 2, fin: true, size: 16 * KiB, lazy: true },
      { opcode: 2, fin: true, size: 16 * KiB - 1, lazy: false },
      { opcode: 1, fin: true, size: 200 * KiB, lazy: false },
      { opcode: 2, fin: false, size: 200 * KiB, lazy: false },
      { opcode: 0, fin: true, size: 200 * KiB, lazy: false },
      { opcode: 2, fin: true, rsv1: true, size: 200 * KiB, lazy: false },
    ];
    for (const c of cases) {
      const payload = c.opcode === 1 ? utf8Encode('é'.repeat(c.size / 2)) : big(c.size, c.size);
      const wire = encodeFrame({ fin: c.fin, rsv1: c.rsv1, opcode: c.opcode, payload, mask: true, maskKey: key2 });
      const p = new FrameParser({ from: 'client', stance: 'observer', transientInput: true, rsv1Allowed: true });
      const input = new ReusedInput();
      // Two calls: the payload spans them, so it is finished from the span buffer.
      const half = wire.length >> 1;
      expect(p.receive(input.load(wire.subarray(0, half), 1), 0)).toEqual([]);
      input.scribble();
      const [f] = p.receive(input.load(wire.subarray(half), 2), 1);
      const label = JSON.stringify(c);
      expect(f!.payloadPieces !== undefined, label).toBe(c.lazy);
      if (c.lazy) {
        // The pieces are the wire's masked bytes and say with which key.
        expect(f!.payloadMaskKey, label).toEqual(key2);
        expect(bytesText(f!.payloadPieces![0]!) === bytesText(wire.subarray(wire.length - c.size)), label).toBe(true);
      }
      expect(bytesText(f!.payload) === bytesText(payload), label).toBe(true);
      // Read twice: the same bytes (a lazy read unmasks a copy, never the span itself).
      expect(bytesText(f!.payload) === bytesText(payload), label).toBe(true);
    }
  });

  it('frames past the 1 MiB a span buffer starts with: it grows keeping its bytes, then is let go', () => {
    // 3 MiB masked (the span grows 1 → 2 → 4 MiB), a small spanning frame (a fresh buffer
    // once the large one is dropped), 1.5 MiB unmasked; then an observer limit between sizes.
    const payloads = [big(7, 3 * MiB), big(8, 5000), big(9, 1.5 * MiB + 3)];
    const { stream, starts } = buildStream(
      payloads.map((payload, i) => encodeFrame({ fin: true, opcode: 2, payload, mask: i !== 2, maskKey: key })),
    );
    const odd = cut(stream, starts, { random: [], nearFrames: [], maxChunk: 64 * KiB - 13, endAt: null });
    for (const maxPayload of [undefined, 2 * MiB + 1]) {
      compareParsers({ from: 'client', stance: 'observer', maxPayload }, odd, [0, 3, 1]);
      const p = new FrameParser({ from: 'client', stance: 'observer', maxPayload, transientInput: true });
      const input = new ReusedInput();
      const got: string[] = [];
      for (const chunk of odd) {
        for (const f of p.receive(input.load(chunk, 1), 0)) got.push(bytesText(f.payload));
        input.scribble();
      }
      expect(got.length).toBe(3);
      got.forEach((g, i) => {
        const kept = payloads[i]!.subarray(0, maxPayload ?? Infinity);
        expect(g === bytesText(kept), `frame ${i}, maxPayload ${maxPayload}`).toBe(true);
      });
    }
  });

  it('a call that ends frame A, holds a whole small B and begins a large C: A and B intact until the next call', () => {
    // A chain: every chunk ends one large frame, carries a small one, and begins the next
    // large one, so each call both finishes a frame from a span buffer and starts one into a
    // span buffer. Masked and unmasked, the large frames longer than the one before and after
    // (each start overwrites a whole earlier payload if it picked the wrong buffer).
    for (const masked of [true, false]) {
      const sizes = [100_000, 150_000, 90_000, 180_000, 60_000, 170_000];
      const larges = sizes.map((n, i) => big(100 + i, n));
      const smalls = sizes.map((_, i) => big(200 + i, 10 + i));
      const enc = (payload: Uint8Array, opcode = 2) => encodeFrame({ fin: true, opcode, payload, mask: masked, maskKey: key });
      const large = larges.map((l) => enc(l));
      const small = smalls.map((s) => enc(s, 9));
      // chunk 0: the first half of large 0; chunk i: the rest of large i-1, small i-1, and
      // the first half of large i; the last chunk: the rest of the last large frame.
      const half = (f: Uint8Array) => Math.floor(f.length / 2);
      const chunks = [large[0]!.subarray(0, half(large[0]!))];
      for (let i = 1; i < large.length; i++) {
        chunks.push(concatBytes([large[i - 1]!.subarray(half(large[i - 1]!)), small[i - 1]!, large[i]!.subarray(0, half(large[i]!))]));
      }
      chunks.push(large[large.length - 1]!.subarray(half(large[large.length - 1]!)));

      const p = new FrameParser({ from: masked ? 'client' : 'server', stance: 'observer', transientInput: true });
      const input = new ReusedInput();
      chunks.forEach((chunk, k) => {
        const frames = p.receive(input.load(chunk, k % 4), k);
        const expected = k === 0 ? [] : k < chunks.length - 1 ? [larges[k - 1]!, smalls[k - 1]!] : [larges[k - 1]!];
        expect(frames.length, `call ${k}`).toBe(expected.length);
        // Read after the whole call: C's beginning was copied into a span buffer during it.
        frames.forEach((f, j) => expect(bytesText(f.payload) === bytesText(expected[j]!), `call ${k}, frame ${j} (masked ${masked})`).toBe(true));
        input.scribble();
      });
      expect(p.midFrame).toBe(false);
    }
  });
});
