// From the codec's objects to the capture model's plain JSON records (CONTRACTS.md).
import { toBase64, toHex } from './bytes';
import type { WireFrame } from './codec/frame';
import type { FrameRecord, MessageRecord } from './model';

/** The parts of an assembled message the record keeps. */
export interface MessageLike {
  opcode: 1 | 2;
  data: Uint8Array;
  truncated?: boolean;
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
  if (frame.truncated) {
    record.truncated = true;
    record.stored = frame.payload.length;
  }
  if (extras.message) {
    const m: MessageRecord = { opcode: extras.message.opcode, length: extras.message.data.length, data: b64(extras.message.data) };
    if (extras.message.truncated) m.truncated = true;
    record.message = m;
  }
  if (frame.close) record.close = { code: frame.close.code, reason: frame.close.reason };
  if (extras.rtt !== undefined) record.rtt = extras.rtt;
  if (frame.violations.length > 0) record.violations = frame.violations;
  return record;
}
