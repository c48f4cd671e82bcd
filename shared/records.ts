// From the codec's objects to the capture model's plain JSON records (CONTRACTS.md).
import { toBase64, toHex } from './bytes';
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
  // Pieces when the parser has not joined them: the journal can encode those as they are.
  const pieces = frame.payloadPieces;
  const stored = pieces ? pieces.reduce((n, p) => n + p.length, 0) : frame.payload.length;
  if (stored >= LAZY_PAYLOAD_AT) {
    const raw: RawPayload = pieces ? { pieces, maskKey: frame.payloadMaskKey ?? null } : { pieces: [frame.payload], maskKey: null };
    // Same key, same place in the object (so JSON.stringify writes the same text), read lazily.
    let text: string | null = null;
    Object.defineProperty(event, 'payload', {
      enumerable: true,
      configurable: true,
      get: () => (text ??= b64(frame.payload)),
      set: (v: string) => {
        text = v;
      },
    });
    Object.defineProperty(event, RAW_PAYLOAD, { value: raw, enumerable: false });
  } else {
    event.payload = b64(frame.payload);
  }
  return addOptional(event, frame, extras, b64);
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
