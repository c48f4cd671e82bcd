// From the codec's objects to the capture model's plain JSON records (docs/contracts.md).
import { concatBytes, toBase64, toHex } from './bytes';
import type { WireFrame } from './codec/frame';
import type { FrameRecord, MessageRecord } from './model';

/** The parts of an assembled message the record keeps. */
export interface MessageLike {
  opcode: 1 | 2;
  data: Uint8Array;
  truncated?: boolean;
  /** frames it took; a message in one uncompressed frame is its payload, not recorded twice */
  frames?: number;
  compressed?: boolean;
}

export interface FrameExtras {
  message?: MessageLike;
  rtt?: number;
  /** encodes bytes as base64; main passes Buffer's, which is faster than the portable one */
  base64?: (bytes: Uint8Array) => string;
  /**
   * toFrameEvent: a large payload's base64 is computed when first read, from the frame's
   * bytes (default true).
   */
  lazyPayload?: boolean;
}

export function toFrameRecord(frame: WireFrame, seq: number, extras: FrameExtras = {}): FrameRecord {
  const b64 = extras.base64 ?? toBase64;
  const record: FrameRecord = {
    seq,
    time: frame.time,
    from: frame.from,
    fin: frame.fin,
    rsv1: frame.rsv1,
    rsv2: frame.rsv2,
    rsv3: frame.rsv3,
    opcode: frame.opcode,
    masked: frame.masked,
    maskKey: frame.maskKey ? toHex(frame.maskKey) : null,
    length: frame.length,
    header: toHex(frame.header),
    payload: b64(frame.payload),
  };
  return addOptional(record, frame, extras, b64);
}

export type FrameEvent = { event: 'frame'; connection: string } & FrameRecord;

/**
 * On a frame event whose payload is large: the payload bytes themselves. The event's
 * `payload` (base64) is then computed on first read, so a consumer that can encode the
 * bytes in pieces (the journal) never builds one big string — on a machine where fresh
 * memory is slow to touch, that string cost more than everything else a frame needs.
 */
export const RAW_PAYLOAD: unique symbol = Symbol('framescope.rawPayload');
/** Payloads at least this long get a lazy `payload` and RAW_PAYLOAD. */
export const LAZY_PAYLOAD_AT = 16 * 1024;

/** A payload as bytes: pieces in order, masked with `maskKey` (from offset 0) when it is set. */
export interface RawPayload {
  pieces: readonly Uint8Array[];
  maskKey: Uint8Array | null;
}

/** What a lazy `payload` is made from, and the text once made (a symbol: spreads skip it). */
const LAZY_TEXT: unique symbol = Symbol('framescope.lazyText');
interface LazyText {
  frame: WireFrame;
  b64: (bytes: Uint8Array) => string;
  text: string | null;
}
type LazyEvent = FrameEvent & { [LAZY_TEXT]: LazyText };

// One getter and setter for every event, not a closure each (see frame-parser.ts
// lazyPayload: per-object closures kept what they held alive past young collections).
function getLazyText(this: LazyEvent): string {
  const s = this[LAZY_TEXT];
  return (s.text ??= s.b64(s.frame.payload));
}
function setLazyText(this: LazyEvent, v: string): void {
  this[LAZY_TEXT].text = v;
}

/**
 * A copy of a frame event with `replace`'s values for those keys: the other keys in the
 * same order (JSON.stringify writes them the same), a replaced key's getter never read (a
 * lazy payload would build its base64), keys the event lacks added at the end.
 */
export function frameEventWith(event: FrameEvent, replace: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(event)) out[key] = key in replace ? replace[key] : (event as unknown as Record<string, unknown>)[key];
  for (const key of Object.keys(replace)) if (!(key in out)) out[key] = replace[key];
  return out;
}

/** The raw payload behind a frame event, when it carries one. */
export function rawPayload(event: object): RawPayload | undefined {
  return (event as { [RAW_PAYLOAD]?: RawPayload })[RAW_PAYLOAD];
}

/**
 * The frame event `{ event: 'frame', connection, ...toFrameRecord(…) }`, same keys in the
 * same order, built as one literal: V8 copies a spread that follows other keys property by
 * property at runtime, which cost more than all the rest of a small frame's record, and
 * the proxy makes one event per frame. Keep the two literals' fields in step.
 */
export function toFrameEvent(connection: string, frame: WireFrame, seq: number, extras: FrameExtras = {}): FrameEvent {
  const b64 = extras.base64 ?? toBase64;
  const event: FrameEvent = {
    event: 'frame',
    connection,
    seq,
    time: frame.time,
    from: frame.from,
    fin: frame.fin,
    rsv1: frame.rsv1,
    rsv2: frame.rsv2,
    rsv3: frame.rsv3,
    opcode: frame.opcode,
    masked: frame.masked,
    maskKey: frame.maskKey ? toHex(frame.maskKey) : null,
    length: frame.length,
    header: toHex(frame.header),
    payload: '',
  };
  if (frame.payload.length >= LAZY_PAYLOAD_AT && extras.lazyPayload !== false) {
    const raw: RawPayload = { pieces: [frame.payload], maskKey: null };
    // Same key, same place in the object (so JSON.stringify writes the same text), read lazily.
    Object.defineProperty(event, LAZY_TEXT, { value: { frame, b64, text: null } satisfies LazyText });
    Object.defineProperty(event, 'payload', { enumerable: true, configurable: true, get: getLazyText, set: setLazyText });
    Object.defineProperty(event, RAW_PAYLOAD, { value: raw, enumerable: false });
  } else {
    event.payload = b64(frame.payload);
  }
  return addOptional(event, frame, extras, b64);
}

// -- a frame event's line as bytes ---------------------------------------------------------
//
// The journal writes a line per frame. Built as a string, a small frame's line was most of
// what the proxy allocates (~2 KB a frame: the template's intermediate strings, their
// flattening, then the UTF-8 copy), and the young-generation collections that follow were
// the largest single cost of small messages. These write the same bytes straight into the
// caller's buffer.

const encoder = new TextEncoder();
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const B_HEAD = ascii('{"event":"frame","connection":');
const B_SEQ = ascii(',"seq":');
const B_TIME = ascii(',"time":');
const bool = (b: boolean | number): string => (b ? 'true' : 'false');
/** From `,"from":` to `"opcode":`, for each sender and FIN/RSV bits: index 16 for the server, + 8 FIN, 4 RSV1, 2 RSV2, 1 RSV3. */
const B_FROM_BITS: Uint8Array[] = [];
for (const from of ['client', 'server']) {
  for (let bits = 0; bits < 16; bits++) {
    B_FROM_BITS.push(ascii(`,"from":"${from}","fin":${bool(bits & 8)},"rsv1":${bool(bits & 4)},"rsv2":${bool(bits & 2)},"rsv3":${bool(bits & 1)},"opcode":`));
  }
}
/** `,"masked":…,"maskKey":` then null and `,"length":`, or the opening quote of the key. */
const B_MASKED_NULL = [ascii(',"masked":false,"maskKey":null,"length":'), ascii(',"masked":true,"maskKey":null,"length":')];
const B_MASKED_KEY = [ascii(',"masked":false,"maskKey":"'), ascii(',"masked":true,"maskKey":"')];
const B_KEY_LENGTH = ascii('","length":');
const B_LENGTH = ascii(',"length":');
const B_HEADER = ascii(',"header":"');
const B_PAYLOAD = ascii('","payload":"');
const B_TRUNCATED = ascii(',"truncated":');
const B_STORED = ascii(',"stored":');
const B_MESSAGE = ascii(',"message":{"opcode":');
const B_DATA = ascii(',"data":"');
const B_CLOSE = ascii(',"close":');
const B_RTT = ascii(',"rtt":');
const B_VIOLATIONS = ascii(',"violations":');
const B_TRUE = ascii('true');
const B_FALSE = ascii('false');
const B_NULL = ascii('null');

/** Keys of a frame event with none of the optional fields. */
const FRAME_EVENT_KEYS = 15;
/** Strings at least this long are copied by the platform, shorter ones a char at a time. */
const LONG_STRING = 96;

/** The connection id last written, and the line's start up to its seq (ids repeat frame after frame). */
let lastConnection = '';
let lastHead = ascii('{"event":"frame","connection":"","seq":');

/** Two ASCII digits for each of 0-99, as one 16-bit number (first digit in the low byte). */
const DIGIT_PAIRS = Array.from({ length: 100 }, (_, i) => (0x30 + Math.floor(i / 10)) | ((0x30 + (i % 10)) << 8));

/**
 * The most bytes writeFrameEventJson can write for `e` (what the caller makes room for):
 * the fixed text (~260 bytes) and eight numbers at 24 (String(-1.2345678901234567e+308)),
 * its strings at 6 bytes a UTF-16 unit (a JSON escape).
 */
export function frameEventJsonBound(e: FrameEvent): number {
  let n = 700 + e.connection.length * 6 + e.header.length + e.payload.length + (e.maskKey?.length ?? 0);
  if (e.message !== undefined) n += 80 + e.message.data.length;
  // (Close and violations are rare, and written whole or not at all: see writeUtf8.)
  if (e.close !== undefined) n += 40 + e.close.reason.length * 6;
  if (e.violations !== undefined) for (const v of e.violations) n += 80 + (v.id.length + v.rfc.length + v.message.length) * 6;
  return n;
}

/**
 * Writes JSON.stringify(e) for a frame event, as UTF-8, into `out` from `at`, which has
 * room for frameEventJsonBound(e) bytes. Returns where it ended, or -1 when `e` is not a
 * frame event this knows how to write byte for byte (an unknown key, a string that would
 * need escaping where none is expected): then nothing it wrote counts.
 */
export function writeFrameEventJson(e: FrameEvent, out: Uint8Array, at: number): number {
  // Key count without Object.keys (an array a call): a literal of toFrameEvent's shape has
  // an enumeration cache, so this allocates nothing.
  let keys = 0;
  for (const _ in e) keys++;
  let expected = FRAME_EVENT_KEYS;
  if (e.connection !== lastConnection) {
    lastHead = concatBytes([B_HEAD, encoder.encode(JSON.stringify(e.connection)), B_SEQ]);
    lastConnection = e.connection;
  }
  at = put(out, at, lastHead);
  at = writeNumber(out, at, e.seq);
  at = put(out, at, B_TIME);
  at = writeMs(out, at, e.time);
  const from = e.from === 'client' ? 0 : e.from === 'server' ? 16 : -1;
  if (from < 0) return -1;
  at = put(out, at, B_FROM_BITS[from + (e.fin ? 8 : 0) + (e.rsv1 ? 4 : 0) + (e.rsv2 ? 2 : 0) + (e.rsv3 ? 1 : 0)]!);
  at = writeNumber(out, at, e.opcode);
  if (e.maskKey === null) at = put(out, at, B_MASKED_NULL[e.masked ? 1 : 0]!);
  else {
    at = put(out, at, B_MASKED_KEY[e.masked ? 1 : 0]!);
    if ((at = writePlain(out, at, e.maskKey)) < 0) return -1;
    at = put(out, at, B_KEY_LENGTH);
  }
  at = writeNumber(out, at, e.length);
  at = put(out, at, B_HEADER);
  if ((at = writePlain(out, at, e.header)) < 0) return -1;
  at = put(out, at, B_PAYLOAD);
  if ((at = writePlain(out, at, e.payload)) < 0) return -1;
  out[at++] = 0x22;
  if (e.truncated !== undefined) {
    at = put(out, at, B_TRUNCATED);
    at = put(out, at, e.truncated ? B_TRUE : B_FALSE);
    expected++;
  }
  if (e.stored !== undefined) {
    at = put(out, at, B_STORED);
    at = writeNumber(out, at, e.stored);
    expected++;
  }
  if (e.message !== undefined) {
    const m = e.message;
    let mk = 0;
    for (const _ in m) mk++;
    if (mk !== (m.truncated !== undefined ? 4 : 3)) return -1;
    at = put(out, at, B_MESSAGE);
    at = writeNumber(out, at, m.opcode);
    at = put(out, at, B_LENGTH);
    at = writeNumber(out, at, m.length);
    at = put(out, at, B_DATA);
    if ((at = writePlain(out, at, m.data)) < 0) return -1;
    out[at++] = 0x22;
    if (m.truncated !== undefined) {
      at = put(out, at, B_TRUNCATED);
      at = put(out, at, m.truncated ? B_TRUE : B_FALSE);
    }
    out[at++] = 0x7d;
    expected++;
  }
  if (e.close !== undefined) {
    at = put(out, at, B_CLOSE);
    if ((at = writeUtf8(out, at, JSON.stringify(e.close))) < 0) return -1;
    expected++;
  }
  if (e.rtt !== undefined) {
    at = put(out, at, B_RTT);
    at = writeMs(out, at, e.rtt);
    expected++;
  }
  if (e.violations !== undefined) {
    at = put(out, at, B_VIOLATIONS);
    if ((at = writeUtf8(out, at, JSON.stringify(e.violations))) < 0) return -1;
    expected++;
  }
  if (keys !== expected) return -1;
  out[at++] = 0x7d;
  return at;
}

function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n > 16) out.set(bytes, at);
  else for (let i = 0; i < n; i++) out[at + i] = bytes[i]!;
  return at + n;
}

/**
 * A string JSON writes as it is (hex, base64: printable ASCII, no quote or backslash), or
 * -1. Short ones are checked char by char as they are copied. Long ones (a payload's base64)
 * are copied by the platform and checked for what is cheap to find: a non-ASCII char (UTF-8
 * longer than the string), a quote or a backslash. Control characters are not looked for
 * there (the string version this replaced never looked for anything): a regular expression over a 16 KiB
 * payload's base64 cost ~18 µs, ten times the copy, and these fields come from toFrameEvent.
 */
function writePlain(out: Uint8Array, at: number, s: string): number {
  const n = s.length;
  if (n >= LONG_STRING) {
    if (s.indexOf('"') >= 0 || s.indexOf('\\') >= 0) return -1;
    const r = encoder.encodeInto(s, out.subarray(at));
    return r.read === n && r.written === n ? at + n : -1;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    out[at + i] = c;
  }
  return at + n;
}

/** `s` as UTF-8, or -1 when it does not all fit. */
function writeUtf8(out: Uint8Array, at: number, s: string): number {
  const r = encoder.encodeInto(s, out.subarray(at));
  return r.read === s.length ? at + r.written : -1;
}

/** A number as JSON writes it: whole ones in the safe range digit by digit, others via String(). */
function writeNumber(out: Uint8Array, at: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return writeUtf8(out, at, Number.isFinite(n) ? String(n) : 'null');
  return writeDigits(out, at, n);
}

function writeDigits(out: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  // Two digits a step, from the right.
  let i = at + digits;
  while (n >= 100) {
    const q = Math.floor(n / 100);
    const pair = DIGIT_PAIRS[n - q * 100]!;
    out[--i] = pair >> 8;
    out[--i] = pair & 0xff;
    n = q;
  }
  if (n >= 10) {
    const pair = DIGIT_PAIRS[n]!;
    out[--i] = pair >> 8;
    out[--i] = pair & 0xff;
  } else out[--i] = 0x30 + n;
  return at + digits;
}

/** msText(t), written as bytes. */
function writeMs(out: Uint8Array, at: number, t: number): number {
  if (!(t >= 0 && t < MS_TEXT_MAX)) return writeUtf8(out, at, msText(t));
  const k = Math.round(t * 1000);
  if (k / 1000 !== t) return writeUtf8(out, at, String(t));
  const whole = Math.floor(k / 1000);
  let frac = k - whole * 1000;
  at = writeDigits(out, at, whole);
  if (frac === 0) return at;
  out[at++] = 0x2e;
  out[at++] = 0x30 + Math.floor(frac / 100);
  frac %= 100;
  if (frac === 0) return at;
  out[at++] = 0x30 + Math.floor(frac / 10);
  frac %= 10;
  if (frac === 0) return at;
  out[at++] = 0x30 + frac;
  return at;
}

/** Below 2^42 ms (the year 2109) a double tells 0.001 apart from its neighbours. */
const MS_TEXT_MAX = 2 ** 42;

/**
 * A time in milliseconds as JSON writes it. Times are kept to the microsecond (clock.ts), and
 * V8's shortest-round-trip formatting of such a fractional double costs ~400 ns, more than
 * the rest of a small frame's line: so a whole number of µs in range is written from
 * integers. It is the same text: the double nearest k/1000 has no shorter decimal that reads
 * back as it, since any other decimal of three places or fewer is at least 0.001 away and
 * the doubles here are closer together than that. Anything else goes to String().
 */
export function msText(t: number): string {
  if (!(t >= 0 && t < MS_TEXT_MAX)) return Number.isFinite(t) ? String(t) : 'null';
  const k = Math.round(t * 1000);
  if (k / 1000 !== t) return String(t);
  const whole = Math.floor(k / 1000);
  const frac = k - whole * 1000;
  if (frac === 0) return String(whole);
  if (frac % 100 === 0) return `${whole}.${frac / 100}`;
  if (frac % 10 === 0) return `${whole}.${frac < 100 ? '0' : ''}${frac / 10}`;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** The fields a frame has only sometimes, after the others, in the contract's order. */
function addOptional<T extends FrameRecord>(record: T, frame: WireFrame, extras: FrameExtras, b64: (bytes: Uint8Array) => string): T {
  if (frame.truncated) {
    record.truncated = true;
    record.stored = frame.payload.length;
  }
  const msg = extras.message;
  if (msg && ((msg.frames ?? 2) > 1 || msg.compressed || msg.truncated)) {
    const m: MessageRecord = { opcode: msg.opcode, length: msg.data.length, data: b64(msg.data) };
    if (msg.truncated) m.truncated = true;
    record.message = m;
  }
  if (frame.close) record.close = { code: frame.close.code, reason: frame.close.reason };
  if (extras.rtt !== undefined) record.rtt = extras.rtt;
  if (frame.violations.length > 0) record.violations = frame.violations;
  return record;
}
