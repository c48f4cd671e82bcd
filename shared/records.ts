// From the codec's frames to the model's records (bytes), and between the records and
// their JSON forms (docs/contracts.md: hex header and mask key, base64 payload and message
// data). The engine's text is made here, at the edges that need it, and nowhere else.
import { fromBase64, fromHex, toBase64, toHex } from './bytes';
import type { WireFrame } from './codec/frame';
import type {
  CaptureFile,
  CaptureFileJson,
  ConnectionJson,
  ConnectionRecord,
  EngineEvent,
  EngineEventJson,
  FrameJson,
  FrameRecord,
  MessageJson,
  InterventionMark,
  MessageRecord,
} from './model';

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
  by?: 'framescope';
  intervention?: InterventionMark;
}

export type FrameEvent = { event: 'frame'; connection: string } & FrameRecord;

/** A frame's record. Its bytes are the frame's own (views, not copies). */
export function toFrameRecord(frame: WireFrame, seq: number, extras: FrameExtras = {}): FrameRecord {
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
    maskKey: frame.maskKey,
    length: frame.length,
    header: frame.header,
    payload: frame.payload,
  };
  return addOptional(record, frame, extras);
}

/**
 * The frame event `{ event: 'frame', connection, ...toFrameRecord(…) }`, built as one
 * literal: V8 copies a spread that follows other keys property by property, and the proxy
 * makes one event per frame. Keep the two literals' fields in step.
 */
export function toFrameEvent(connection: string, frame: WireFrame, seq: number, extras: FrameExtras = {}): FrameEvent {
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
    maskKey: frame.maskKey,
    length: frame.length,
    header: frame.header,
    payload: frame.payload,
  };
  return addOptional(event, frame, extras);
}

/** The fields a frame has only sometimes, after the others, in the contract's order. */
function addOptional<T extends FrameRecord>(record: T, frame: WireFrame, extras: FrameExtras): T {
  if (frame.truncated) {
    record.truncated = true;
    record.stored = frame.payload.length;
  }
  const msg = extras.message;
  if (msg && ((msg.frames ?? 2) > 1 || msg.compressed || msg.truncated)) {
    const m: MessageRecord = { opcode: msg.opcode, length: msg.data.length, data: msg.data };
    if (msg.truncated) m.truncated = true;
    record.message = m;
  }
  if (frame.close) record.close = { code: frame.close.code, reason: frame.close.reason };
  if (extras.rtt !== undefined) record.rtt = extras.rtt;
  if (frame.violations.length > 0) record.violations = frame.violations;
  if (extras.by) record.by = extras.by;
  if (extras.intervention) record.intervention = extras.intervention;
  return record;
}

// -- the JSON forms ---------------------------------------------------------------------

/** base64 of bytes; main passes Buffer's, which is faster than the portable one. */
export type Base64 = (bytes: Uint8Array) => string;

/**
 * A frame's JSON form, keys in the record's order (JSON.stringify writes them so: a capture
 * read and written again is the same file).
 */
export function frameToJson(f: FrameRecord, b64: Base64 = toBase64): FrameJson {
  const out = {} as Record<string, unknown>;
  for (const key in f) {
    const v = (f as unknown as Record<string, unknown>)[key];
    if (key === 'maskKey') out[key] = f.maskKey ? toHex(f.maskKey) : null;
    else if (key === 'header') out[key] = toHex(f.header);
    else if (key === 'payload') out[key] = b64(f.payload);
    else if (key === 'message' && f.message) out[key] = messageToJson(f.message, b64);
    else out[key] = v;
  }
  return out as unknown as FrameJson;
}

function messageToJson(m: MessageRecord, b64: Base64): MessageJson {
  const out: MessageJson = { opcode: m.opcode, length: m.length, data: b64(m.data) };
  if (m.truncated) out.truncated = true;
  return out;
}

/** A frame's record from its JSON form, unchecked (capture-shape.ts checks what it reads). */
export function frameFromJson(j: FrameJson, unb64: (text: string) => Uint8Array = fromBase64): FrameRecord {
  const out = {} as Record<string, unknown>;
  for (const key in j) {
    const v = (j as unknown as Record<string, unknown>)[key];
    if (key === 'maskKey') out[key] = j.maskKey === null ? null : fromHex(j.maskKey);
    else if (key === 'header') out[key] = fromHex(j.header);
    else if (key === 'payload') out[key] = unb64(j.payload);
    else if (key === 'message' && j.message) {
      const m: MessageRecord = { opcode: j.message.opcode, length: j.message.length, data: unb64(j.message.data) };
      if (j.message.truncated) m.truncated = true;
      out[key] = m;
    } else out[key] = v;
  }
  return out as unknown as FrameRecord;
}

/** An event's NDJSON form: a frame's bytes as text, every other event as it is. */
export function eventToJson(e: EngineEvent, b64: Base64 = toBase64): EngineEventJson {
  return e.event === 'frame' ? (frameToJson(e, b64) as EngineEventJson) : e;
}

export function connectionToJson(c: ConnectionRecord, b64: Base64 = toBase64): ConnectionJson {
  return { ...c, frames: c.frames.map((f) => frameToJson(f, b64)) };
}

export function connectionFromJson(c: ConnectionJson): ConnectionRecord {
  return { ...c, frames: c.frames.map((f) => frameFromJson(f)) };
}

export function captureToJson(c: CaptureFile, b64: Base64 = toBase64): CaptureFileJson {
  return { ...c, connections: c.connections.map((x) => connectionToJson(x, b64)) };
}

export function captureFromJson(c: CaptureFileJson): CaptureFile {
  return { ...c, connections: c.connections.map(connectionFromJson) };
}
