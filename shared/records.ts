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
  /**
   * toFrameEvent: a large payload's base64 is computed when first read, from the frame's
   * bytes (default true). Only for frames whose bytes outlive every reader of the event: a
   * frame from a parser with transient input is valid only until its next chunk.
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
  if (stored >= LAZY_PAYLOAD_AT && extras.lazyPayload !== false) {
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

/**
 * JSON.stringify(event) for a frame event as toFrameEvent builds it, written out by hand:
 * about four times as fast, and the proxy, the journal and `--json` turn every frame into
 * a line. The same text, key for key (test/engine/frame-event.test.ts checks it on every
 * kind of frame): only strings that may need escaping go through JSON.stringify; hex and
 * base64 never do. An object with a key this does not know falls back to JSON.stringify.
 */
export function frameEventJson(e: FrameEvent): string {
  let keys = 15;
  let s =
    `{"event":"frame","connection":${JSON.stringify(e.connection)},"seq":${e.seq},"time":${msText(e.time)},"from":"${e.from}",` +
    `"fin":${e.fin},"rsv1":${e.rsv1},"rsv2":${e.rsv2},"rsv3":${e.rsv3},"opcode":${e.opcode},"masked":${e.masked},` +
    `"maskKey":${e.maskKey === null ? 'null' : `"${e.maskKey}"`},"length":${e.length},"header":"${e.header}","payload":"${e.payload}"`;
  if (e.truncated !== undefined) {
    s += `,"truncated":${e.truncated}`;
    keys++;
  }
  if (e.stored !== undefined) {
    s += `,"stored":${e.stored}`;
    keys++;
  }
  if (e.message !== undefined) {
    const m = e.message;
    if (Object.keys(m).length !== (m.truncated !== undefined ? 4 : 3)) return JSON.stringify(e);
    s += `,"message":{"opcode":${m.opcode},"length":${m.length},"data":"${m.data}"${m.truncated !== undefined ? `,"truncated":${m.truncated}` : ''}}`;
    keys++;
  }
  if (e.close !== undefined) {
    s += `,"close":${JSON.stringify(e.close)}`;
    keys++;
  }
  if (e.rtt !== undefined) {
    s += `,"rtt":${msText(e.rtt)}`;
    keys++;
  }
  if (e.violations !== undefined) {
    s += `,"violations":${JSON.stringify(e.violations)}`;
    keys++;
  }
  // A key this does not write means the object is not one of toFrameEvent's (whose key
  // order is the one above): say it as JSON.stringify would.
  if (Object.keys(e).length !== keys) return JSON.stringify(e);
  return `${s}}`;
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
