// Large base64 strings inside JSON, handled as bytes. A capture or a journal of large frames
// is mostly base64: a 256 KiB payload is 350 KB of text. Turned into a string and parsed
// whole, every such value made several strings of that size (V8 puts them in fresh memory,
// page by page), then a regular expression checked the base64: a proxy stopped after 800 MB
// of them took ~25 s to write its capture. So a long frame's payload and message data are
// found in the bytes, checked there, and left out of the text that is parsed; a reader then
// makes each one string (latin1, no JSON decoding) or hands the bytes to the capture writer.

import type { FrameRecord } from '../../shared/model';
import { RAW_SPANS, type RawSpans } from './capture-source';

/** Frame values at least this long have their base64 cut out before parsing. */
export const LONG_VALUE = 64 * 1024;
const PAYLOAD_KEY = Buffer.from('"payload":"');
const DATA_KEY = Buffer.from('"data":"');

/** 1 for the 64 base64 letters. */
const BASE64_LETTER = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_LETTER[c.charCodeAt(0)] = 1;

/**
 * The byte count the base64 in buf[start, end) decodes to, or -1 (what capture-shape's
 * base64Bytes says of the same text).
 */
export function base64Size(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n % 4 === 1) return -1;
  let pad = 0;
  if (n > 0 && buf[end - 1] === 0x3d) pad = n > 1 && buf[end - 2] === 0x3d ? 2 : 1;
  if (pad > 0 && n % 4 !== 0) return -1;
  return allBase64Letters(buf, start, end - pad) ? Math.floor(((n - pad) * 3) / 4) : -1;
}

/**
 * Whether buf[start, stop) holds only base64 letters. A word at a time and without a branch
 * a byte: ~210 µs over a 350 KB payload here, against ~460 µs byte by byte.
 */
function allBase64Letters(buf: Uint8Array, start: number, stop: number): boolean {
  let i = start;
  const head = Math.min(stop, i + ((4 - ((buf.byteOffset + i) & 3)) & 3));
  let ok = lettersAt(buf, i, head);
  i = head;
  const words = stop > i ? (stop - i) >>> 2 : 0;
  if (words > 0) ok &= wordsOfLetters(new Uint32Array(buf.buffer, buf.byteOffset + i, words));
  return (ok & lettersAt(buf, i + (words << 2), stop)) === 1;
}

// The loops are functions of their own, as in frame-writer's maskInPlace: inline, the word
// loop was compiled on-stack mid-call and the code after it deoptimized on every call
// (`--trace-deopt`: 1,500 times while a stopped proxy wrote a 2 GB journal's capture).
function wordsOfLetters(w32: Uint32Array): number {
  const T = BASE64_LETTER;
  let ok = 1;
  for (let j = 0; j < w32.length; j++) {
    const w = w32[j]!;
    ok &= T[w & 0xff]! & T[(w >>> 8) & 0xff]! & T[(w >>> 16) & 0xff]! & T[w >>> 24]!;
  }
  return ok;
}

function lettersAt(buf: Uint8Array, from: number, to: number): number {
  const T = BASE64_LETTER;
  let ok = 1;
  for (let i = from; i < to; i++) ok &= T[buf[i]!]!;
  return ok;
}

/** Where a cut-out base64 string was in the buffer, and the bytes it decodes to (0 unchecked). */
export interface Span {
  start: number;
  end: number;
  size: number;
}

export interface CutValue {
  /** the value's text with the payload (and message data) strings emptied */
  text: string;
  payload: Span;
  data: Span | null;
}

/**
 * A long frame value (buf[start, end): a journal line or a capture's frame object) with its
 * payload and message data strings cut out, or null when it is short or not one this can
 * cut safely (then it is parsed whole). In JSON text a quote inside a string is always
 * escaped, so the bytes `"payload":"` can only be that key, and base64 needs no escapes;
 * every writer of frames puts payload before message, and parseCut checks the parse put
 * the empty strings where they belong. `check` false skips the base64 check (a second pass
 * over bytes already checked).
 */
export function cutLongBase64(buf: Buffer, start: number, end: number, check = true): CutValue | null {
  if (end - start < LONG_VALUE) return null;
  // Searches stay within the value (the buffer holds what follows it too).
  const value = buf.subarray(start, end);
  const pk = value.indexOf(PAYLOAD_KEY);
  // The frame's own key, not one of an object nested in it (a field added later may hold one).
  if (pk < 0 || walk(value, 0, pk, 0) !== TOP) return null;
  const ps = pk + PAYLOAD_KEY.length;
  const pe = value.indexOf(0x22, ps);
  if (pe < 0) return null;
  const payloadSize = check ? base64Size(value, ps, pe) : 0;
  if (payloadSize < 0) return null;
  let data: Span | null = null;
  const dk = value.indexOf(DATA_KEY, pe);
  // Cut only the message's own data: a "data" elsewhere is left to the parser.
  if (dk >= 0 && walk(value, pe + 1, dk, 1) === IN_MESSAGE) {
    const ds = dk + DATA_KEY.length;
    const de = value.indexOf(0x22, ds);
    if (de < 0) return null;
    const size = check ? base64Size(value, ds, de) : 0;
    if (size < 0) return null;
    data = { start: start + ds, end: start + de, size };
  }
  const text = data
    ? value.toString('utf8', 0, ps) + value.toString('utf8', pe, data.start - start) + value.toString('utf8', data.end - start)
    : value.toString('utf8', 0, ps) + value.toString('utf8', pe);
  return { text, payload: { start: start + ps, end: start + pe, size: payloadSize }, data };
}

type Obj = Record<string, unknown>;

/** walk(): at the top level of the frame object, inside its "message" object, elsewhere. */
const TOP = 1;
const IN_MESSAGE = 2;
const ELSEWHERE = 0;
const MESSAGE_KEY = Buffer.from('"message":');

/**
 * Where JSON text at buf[to] is, walking from buf[from] at `depth` (1: inside the frame
 * object) and stepping over strings: TOP, IN_MESSAGE (directly inside the object that is the
 * frame's "message"), or ELSEWHERE. The walk covers only the few hundred bytes of fields
 * before the payload (or between it and the message's data), which writers put first.
 */
function walk(buf: Buffer, from: number, to: number, depth: number): number {
  let inMessage = false;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      // A string: on to its closing quote, over escapes.
      for (i++; i < to && buf[i] !== 0x22; i++) if (buf[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      inMessage = c === 0x7b && depth === 2 && i >= MESSAGE_KEY.length && buf.compare(MESSAGE_KEY, 0, MESSAGE_KEY.length, i - MESSAGE_KEY.length, i) === 0;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth < 2) inMessage = false;
    }
  }
  if (depth === 1) return TOP;
  return depth === 2 && inMessage ? IN_MESSAGE : ELSEWHERE;
}

/**
 * Where a string goes back into JSON text that holds it emptied, as `"key":""`: the index
 * just inside the quotes (searching from `from`), or -1. A quote inside a JSON string is
 * always escaped, so these bytes can only be the key itself. (The journal writes large
 * base64 around lines stringified with it emptied; the capture writer copies it there.)
 */
export function emptiedAt(text: string, key: string, from = 0): number {
  const found = text.indexOf(`"${key}":""`, from);
  return found < 0 ? -1 : found + key.length + 4;
}

/**
 * The object a cut value parses to, when its emptied strings are its `payload` and its
 * `message.data`; null otherwise (not JSON, another shape: the caller parses it whole).
 */
export function parseCut(cut: CutValue): Obj | null {
  let v: unknown;
  try {
    v = JSON.parse(cut.text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Obj;
  if (o['payload'] !== '') return null;
  if (cut.data) {
    const m = o['message'];
    if (typeof m !== 'object' || m === null || (m as Obj)['data'] !== '') return null;
  }
  return o;
}

/**
 * Puts the cut strings back into a frame parsed from a cut value: as one latin1 string
 * each (checked base64 needs no JSON decoding), or with `raw` as bytes for the capture
 * writer (RAW_SPANS, views of `buf` valid until the reader moves on; the strings stay empty).
 */
export function restoreCut(frame: FrameRecord, cut: CutValue, buf: Buffer, raw: boolean): FrameRecord {
  if (raw) {
    const spans: RawSpans = { payload: buf.subarray(cut.payload.start, cut.payload.end) };
    if (cut.data) spans.data = buf.subarray(cut.data.start, cut.data.end);
    Object.defineProperty(frame, RAW_SPANS, { value: spans, enumerable: false });
  } else {
    frame.payload = buf.toString('latin1', cut.payload.start, cut.payload.end);
    if (cut.data) frame.message!.data = buf.toString('latin1', cut.data.start, cut.data.end);
  }
  return frame;
}
