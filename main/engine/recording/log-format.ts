// The event log's bytes (docs/recording.md "On-disk format"): an 8-byte file header, then
// records. A record is a 20-byte record header and a body. A frame's body is a fixed
// layout with its payload and message data raw at the end; any other event's body is its
// JSON text (those hold no bytes). All numbers little-endian.
//
// The record header carries a check (FNV-1a, 32 bits) over itself and the body's "checked"
// prefix: the whole JSON text of an event, a frame's fields without its payload and message
// data. Payload bytes are left out on purpose: they are most of the bytes, and hashing them
// would cost more than writing them; a damaged payload byte reads back as it is.

import type { EngineEvent, FrameRecord } from '../../../shared/model';

/** "\x89FSLOG\n" then the version byte: not text, not JSON, not NDJSON, not a HAR. */
export const FILE_MAGIC = Uint8Array.of(0x89, 0x46, 0x53, 0x4c, 0x4f, 0x47, 0x0a);
export const VERSION = 1;
export const FILE_HEADER_BYTES = 8;

/** "\xF5REC": where every record starts; the reader resyncs on it after a damaged record. */
export const RECORD_MAGIC = Uint8Array.of(0xf5, 0x52, 0x45, 0x43);
export const RECORD_HEADER_BYTES = 20;
/** A body longer than this is not a body: the length field is damaged. */
export const MAX_BODY = 0x7fff_ffff;

export const KIND_FRAME = 1;
export const KIND_EVENT = 2;

/** A frame body's fixed fields; then id, header, mask key, close reason, violations, payload, data. */
export const FRAME_FIXED = 76;

const F_FIN = 1 << 0;
const F_RSV1 = 1 << 1;
const F_RSV2 = 1 << 2;
const F_RSV3 = 1 << 3;
const F_MASKED = 1 << 4;
const F_SERVER = 1 << 5;
const F_TRUNCATED = 1 << 6;
const F_RECONSTRUCTED = 1 << 7;
const F_MESSAGE = 1 << 8;
const F_MESSAGE_TRUNCATED = 1 << 9;
const F_CLOSE = 1 << 10;
const F_CLOSE_CODE = 1 << 11;
const F_RTT = 1 << 12;
const F_STORED = 1 << 13;
const F_VIOLATIONS = 1 << 14;
const F_MASK_KEY = 1 << 15;
/** `by` and `intervention`, as JSON after the violations; their length in the u16 at 14 */
const F_INTERVENE = 1 << 16;
const KNOWN_FLAGS = (1 << 17) - 1;

export type FrameEvent = Extract<EngineEvent, { event: 'frame' }>;

export function isEventLog(firstBytes: Uint8Array): boolean {
  if (firstBytes.length < FILE_MAGIC.length) return false;
  for (let i = 0; i < FILE_MAGIC.length; i++) if (firstBytes[i] !== FILE_MAGIC[i]) return false;
  return true;
}

export function fileHeader(): Uint8Array {
  const h = new Uint8Array(FILE_HEADER_BYTES);
  h.set(FILE_MAGIC);
  h[7] = VERSION;
  return h;
}

/** FNV-1a over the record header's first 16 bytes (all but the check) and the checked body bytes. */
export function recordCheck(buf: Uint8Array, headerAt: number, body: Uint8Array, bodyAt: number, checked: number): number {
  let h = 0x811c9dc5;
  for (let i = headerAt, end = headerAt + 16; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  for (let i = bodyAt, end = bodyAt + checked; i < end; i++) h = Math.imul(h ^ body[i]!, 0x01000193);
  return h >>> 0;
}

const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });

/** What a frame's body needs besides its raw payload and data: the strings as bytes. */
export interface FrameParts {
  id: Uint8Array;
  reason: Uint8Array | null;
  violations: Uint8Array | null;
  /** `{"by":…,"intervention":…}` when the frame has either */
  intervene: Uint8Array | null;
  /** the checked part of the body: fixed fields and the variable ones before the payload */
  checked: number;
}

const idCache = new Map<string, Uint8Array>();
function idBytes(id: string): Uint8Array {
  let b = idCache.get(id);
  if (!b) {
    b = utf8.encode(id);
    if (b.length > 0xffff) throw new RangeError('a connection id longer than 65535 bytes');
    // Connections come and go; ids are short. A bounded cache of the recent ones.
    if (idCache.size > 4096) idCache.clear();
    idCache.set(id, b);
  }
  return b;
}

export function frameParts(f: FrameEvent): FrameParts {
  const id = idBytes(f.connection);
  const reason = f.close ? utf8.encode(f.close.reason) : null;
  if (reason && reason.length > 0xffff) throw new RangeError('a close reason longer than 65535 bytes');
  const violations = f.violations ? utf8.encode(JSON.stringify(f.violations)) : null;
  if (f.header.length > 255) throw new RangeError('a frame header longer than 255 bytes');
  const maskLen = f.maskKey ? f.maskKey.length : 0;
  if (maskLen > 255) throw new RangeError('a mask key longer than 255 bytes');
  const intervene = f.by || f.intervention ? utf8.encode(JSON.stringify({ by: f.by, intervention: f.intervention })) : null;
  if (intervene && intervene.length > 0xffff) throw new RangeError('intervention fields longer than 65535 bytes');
  const checked = FRAME_FIXED + id.length + f.header.length + maskLen + (reason?.length ?? 0) + (violations?.length ?? 0) + (intervene?.length ?? 0);
  return { id, reason, violations, intervene, checked };
}

export function frameBodyBytes(f: FrameEvent, parts: FrameParts): number {
  return parts.checked + f.payload.length + (f.message ? f.message.data.length : 0);
}

/**
 * Writes the record header and a frame body's checked part at `at` (RECORD_HEADER_BYTES +
 * parts.checked bytes); the payload and message data go after it (copied or referenced by
 * the caller). Returns the end of what was written.
 */
export function writeFrameRecord(buf: Uint8Array, view: DataView, at: number, f: FrameEvent, parts: FrameParts): number {
  const m = f.message;
  const bodyLen = frameBodyBytes(f, parts);
  const b = at + RECORD_HEADER_BYTES;
  let flags = 0;
  if (f.fin) flags |= F_FIN;
  if (f.rsv1) flags |= F_RSV1;
  if (f.rsv2) flags |= F_RSV2;
  if (f.rsv3) flags |= F_RSV3;
  if (f.masked) flags |= F_MASKED;
  if (f.from === 'server') flags |= F_SERVER;
  if (f.truncated) flags |= F_TRUNCATED;
  if (f.reconstructed) flags |= F_RECONSTRUCTED;
  if (m) flags |= F_MESSAGE;
  if (m?.truncated) flags |= F_MESSAGE_TRUNCATED;
  if (f.close) flags |= F_CLOSE;
  if (f.close && f.close.code !== null) flags |= F_CLOSE_CODE;
  if (f.rtt !== undefined) flags |= F_RTT;
  if (f.stored !== undefined) flags |= F_STORED;
  if (parts.violations) flags |= F_VIOLATIONS;
  if (f.maskKey) flags |= F_MASK_KEY;
  if (parts.intervene) flags |= F_INTERVENE;
  view.setUint32(b, flags, true);
  buf[b + 4] = f.opcode;
  buf[b + 5] = f.header.length;
  buf[b + 6] = f.maskKey ? f.maskKey.length : 0;
  buf[b + 7] = m ? m.opcode : 0;
  view.setUint16(b + 8, parts.id.length, true);
  view.setUint16(b + 10, f.close?.code ?? 0, true);
  view.setUint16(b + 12, parts.reason?.length ?? 0, true);
  view.setUint16(b + 14, parts.intervene?.length ?? 0, true);
  view.setFloat64(b + 16, f.seq, true);
  view.setFloat64(b + 24, f.time, true);
  view.setFloat64(b + 32, f.length, true);
  view.setFloat64(b + 40, f.stored ?? 0, true);
  view.setFloat64(b + 48, f.rtt ?? 0, true);
  view.setFloat64(b + 56, m ? m.length : 0, true);
  view.setUint32(b + 64, f.payload.length, true);
  view.setUint32(b + 68, m ? m.data.length : 0, true);
  view.setUint32(b + 72, parts.violations?.length ?? 0, true);
  let p = b + FRAME_FIXED;
  buf.set(parts.id, p);
  p += parts.id.length;
  buf.set(f.header, p);
  p += f.header.length;
  if (f.maskKey) {
    buf.set(f.maskKey, p);
    p += f.maskKey.length;
  }
  if (parts.reason) {
    buf.set(parts.reason, p);
    p += parts.reason.length;
  }
  if (parts.violations) {
    buf.set(parts.violations, p);
    p += parts.violations.length;
  }
  if (parts.intervene) {
    buf.set(parts.intervene, p);
    p += parts.intervene.length;
  }
  writeRecordHeader(buf, view, at, KIND_FRAME, bodyLen, parts.checked);
  return p;
}

/** The record header at `at` for a body already in place right after it (its checked part at least). */
export function writeRecordHeader(buf: Uint8Array, view: DataView, at: number, kind: number, bodyLen: number, checked: number): void {
  buf.set(RECORD_MAGIC, at);
  buf[at + 4] = kind;
  buf[at + 5] = 0;
  buf[at + 6] = 0;
  buf[at + 7] = 0;
  view.setUint32(at + 8, bodyLen, true);
  view.setUint32(at + 12, checked, true);
  view.setUint32(at + 16, recordCheck(buf, at, buf, at + RECORD_HEADER_BYTES, checked), true);
}

/** A record that cannot be read: `what` says why (for the reader's warning). */
export class RecordError extends Error {
  override name = 'RecordError';
}

export interface RecordHeader {
  kind: number;
  bodyLen: number;
  checked: number;
  check: number;
}

/** The record header at buf[at, at + 20), or a reason it is not one. */
export function parseRecordHeader(buf: Uint8Array, at: number): RecordHeader | string {
  for (let i = 0; i < 4; i++) if (buf[at + i] !== RECORD_MAGIC[i]) return 'no record starts here (bad magic)';
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bodyLen = view.getUint32(at + 8, true);
  const checked = view.getUint32(at + 12, true);
  if (bodyLen > MAX_BODY || checked > bodyLen) return 'impossible record length';
  return { kind: buf[at + 4]!, bodyLen, checked, check: view.getUint32(at + 16, true) };
}

/** The fixed fields and strings of a frame body (its checked part), and where its payload and data are. */
export interface FrameMeta {
  frame: Omit<FrameRecord, 'payload'> & { payload: Uint8Array };
  connection: string;
  /** payload at body offset `checked`, then data */
  payloadBytes: number;
  dataBytes: number;
}

/**
 * Decodes a frame body's checked part (body[at, at + checked)); the payload and message
 * data are left empty for the caller to fill (payloadBytes, dataBytes after it). Throws a
 * RecordError when the fields do not add up.
 */
export function decodeFrameMeta(body: Uint8Array, at: number, checked: number, bodyLen: number): FrameMeta {
  if (checked < FRAME_FIXED) throw new RecordError('a frame record shorter than its fixed fields');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const flags = view.getUint32(at, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new RecordError('unknown frame flags');
  const opcode = body[at + 4]!;
  const headerLen = body[at + 5]!;
  const maskLen = body[at + 6]!;
  const messageOpcode = body[at + 7]!;
  const idLen = view.getUint16(at + 8, true);
  const closeCode = view.getUint16(at + 10, true);
  const reasonLen = view.getUint16(at + 12, true);
  const payloadBytes = view.getUint32(at + 64, true);
  const dataBytes = view.getUint32(at + 68, true);
  const violationsLen = view.getUint32(at + 72, true);
  // The u16 at 14 was always written 0 before it held this length: old logs read as before.
  const interveneLen = flags & F_INTERVENE ? view.getUint16(at + 14, true) : 0;
  if (FRAME_FIXED + idLen + headerLen + maskLen + reasonLen + violationsLen + interveneLen !== checked) throw new RecordError("a frame record's field lengths do not add up");
  if (checked + payloadBytes + dataBytes !== bodyLen) throw new RecordError("a frame record's payload lengths do not add up");
  if (opcode > 15) throw new RecordError('a frame opcode above 15');
  let p = at + FRAME_FIXED;
  const connection = text.decode(body.subarray(p, p + idLen));
  p += idLen;
  const header = copy(body, p, p + headerLen);
  p += headerLen;
  let maskKey: Uint8Array | null = null;
  if (flags & F_MASK_KEY) maskKey = copy(body, p, p + maskLen);
  else if (maskLen !== 0) throw new RecordError('a mask key without its flag');
  p += maskLen;
  const frame: FrameMeta['frame'] = {
    seq: view.getFloat64(at + 16, true),
    time: view.getFloat64(at + 24, true),
    from: flags & F_SERVER ? 'server' : 'client',
    fin: (flags & F_FIN) !== 0,
    rsv1: (flags & F_RSV1) !== 0,
    rsv2: (flags & F_RSV2) !== 0,
    rsv3: (flags & F_RSV3) !== 0,
    opcode,
    masked: (flags & F_MASKED) !== 0,
    maskKey,
    length: view.getFloat64(at + 32, true),
    header,
    payload: EMPTY,
  };
  if (flags & F_TRUNCATED) frame.truncated = true;
  if (flags & F_STORED) frame.stored = view.getFloat64(at + 40, true);
  if (flags & F_MESSAGE) {
    frame.message = { opcode: messageOpcode as 1 | 2, length: view.getFloat64(at + 56, true), data: EMPTY };
    if (flags & F_MESSAGE_TRUNCATED) frame.message.truncated = true;
  } else if (dataBytes !== 0) throw new RecordError('message data without a message');
  if (flags & F_CLOSE) {
    frame.close = { code: flags & F_CLOSE_CODE ? closeCode : null, reason: text.decode(body.subarray(p, p + reasonLen)) };
  }
  p += reasonLen;
  if (flags & F_RTT) frame.rtt = view.getFloat64(at + 48, true);
  if (flags & F_VIOLATIONS) {
    const v: unknown = JSON.parse(text.decode(body.subarray(p, p + violationsLen)));
    if (!Array.isArray(v)) throw new RecordError("a frame's violations are not a list");
    frame.violations = v as FrameRecord['violations'];
  }
  if (flags & F_RECONSTRUCTED) frame.reconstructed = true;
  p += violationsLen;
  if (flags & F_INTERVENE) {
    const x = JSON.parse(text.decode(body.subarray(p, p + interveneLen))) as Pick<FrameRecord, 'by' | 'intervention'>;
    if (typeof x !== 'object' || x === null) throw new RecordError("a frame's intervention fields are not an object");
    if (x.by === 'framescope') frame.by = 'framescope';
    if (x.intervention && typeof x.intervention === 'object') frame.intervention = x.intervention;
  }
  return { frame, connection, payloadBytes, dataBytes };
}

const EMPTY = new Uint8Array(0);

/** A plain Uint8Array copy (a Buffer's slice() would share the memory it was read into). */
const copy = (b: Uint8Array, from: number, to: number): Uint8Array => new Uint8Array(b.subarray(from, to));

/** A whole frame event from its body (body[at, at + bodyLen)); payload and data are copies. */
export function decodeFrame(body: Uint8Array, at: number, checked: number, bodyLen: number): FrameEvent {
  let meta: FrameMeta;
  try {
    meta = decodeFrameMeta(body, at, checked, bodyLen);
  } catch (err) {
    if (err instanceof RecordError) throw err;
    throw new RecordError(`a frame record that does not decode (${(err as Error).message})`);
  }
  const p = at + checked;
  const frame = meta.frame;
  frame.payload = copy(body, p, p + meta.payloadBytes);
  if (frame.message) frame.message.data = copy(body, p + meta.payloadBytes, p + meta.payloadBytes + meta.dataBytes);
  return { event: 'frame', connection: meta.connection, ...frame };
}

const EVENT_KINDS = new Set(['open', 'handshake', 'close', 'error']);

/** Any other event from its JSON body; throws a RecordError when it is not one. */
export function decodeEvent(body: Uint8Array, at: number, bodyLen: number): EngineEvent {
  let e: unknown;
  try {
    e = JSON.parse(text.decode(body.subarray(at, at + bodyLen)));
  } catch {
    throw new RecordError('an event record that is not JSON text');
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new RecordError('an event record that is not an object');
  const ev = e as Record<string, unknown>;
  if (typeof ev['event'] !== 'string' || typeof ev['connection'] !== 'string') throw new RecordError('an event record without "event" and "connection"');
  return ev as unknown as EngineEvent;
}

export const isKnownEvent = (e: EngineEvent): boolean => EVENT_KINDS.has(e.event);

export function encodeEventJson(e: EngineEvent): Uint8Array {
  return utf8.encode(JSON.stringify(e));
}
