// The composer's form turned into the SendRequest it will send, and the bytes it will put
// on the wire, computed by shared/codec/frame-writer.ts (the encoder the engine uses).
import type { InjectRequest, SendRequest } from '../../../shared/contract';
import { fromHex, toBase64, utf8Encode } from '../../../shared/bytes';
import { encodeFrame, encodeFrameHeader } from '../../../shared/codec/frame-writer';
import type { ComposerState } from '../store/composer-state';

/** The contract's limit on one message (64 MiB). */
export const MAX_SEND_BYTES = 64 * 1024 * 1024;

/** A control frame's payload, at most (RFC 6455 §5.5). */
export const MAX_CONTROL_BYTES = 125;

/** The bytes a ping/pong payload field holds (null: not valid hex). */
export function controlPayloadBytes(c: Pick<ComposerState, 'controlHex' | 'controlText'>): number | null {
  try {
    return payloadOf(c.controlHex ? 'hex' : 'text', c.controlText).length;
  } catch {
    return null;
  }
}

export interface ComposedFrame {
  fin: boolean;
  opcode: number;
  length: number;
  /** the header's bytes; the mask key part is unknown (random at send time) unless exact */
  header: Uint8Array;
}

export type Composed =
  | {
      ok: true;
      request: SendRequest;
      /** the frames it becomes (the first few) and how many in all */
      frames: ComposedFrame[];
      frameCount: number;
      /** exact: these are the bytes on the wire (raw mode); else the mask key is chosen at send time */
      exact: Uint8Array | null;
      payloadBytes: number;
    }
  | { ok: false; error: string };

const fail = (error: string): Composed => ({ ok: false, error });

function payloadOf(format: 'text' | 'hex', text: string): Uint8Array {
  return format === 'hex' ? fromHex(text) : utf8Encode(text);
}

const PLACEHOLDER_KEY = new Uint8Array(4);

/** How the frames of a data message are written: masked (toward the server), RSV2/RSV3 on the first. */
export interface FrameBits {
  mask?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
}

/** Frames of a data message split at `size` bytes (0: one frame), as the engine splits it. */
export function dataFrames(opcode: 1 | 2, length: number, size: number, bits: FrameBits = {}): { frames: ComposedFrame[]; count: number } {
  const mask = bits.mask ?? true;
  const step = size > 0 && size < length ? size : Math.max(length, 0);
  const count = step === 0 ? 1 : Math.ceil(length / step);
  const frames: ComposedFrame[] = [];
  const header = (fin: boolean, op: number, len: number, first: boolean) =>
    encodeFrameHeader({
      fin,
      opcode: op,
      rsv2: first && !!bits.rsv2,
      rsv3: first && !!bits.rsv3,
      mask,
      ...(mask ? { maskKey: PLACEHOLDER_KEY } : {}),
      length: len,
    });
  for (let i = 0; i < Math.min(count, 4); i++) {
    const len = step === 0 ? 0 : Math.min(step, length - i * step);
    const fin = i === count - 1;
    const op = i === 0 ? opcode : 0;
    frames.push({ fin, opcode: op, length: len, header: header(fin, op, len, i === 0) });
  }
  if (count > 4) {
    const len = length - (count - 1) * step;
    frames.push({ fin: true, opcode: 0, length: len, header: header(true, 0, len, false) });
  }
  return { frames, count };
}

/**
 * @param file the bytes of a file picked for binary mode (it takes the place of the hex)
 * @param bits how data frames are written (unmasked when injected toward a client)
 */
export function compose(connection: string, c: ComposerState, file: Uint8Array | null = null, bits: FrameBits = {}): Composed {
  const fragmentSize = Number.isInteger(c.fragmentSize) && c.fragmentSize > 0 ? c.fragmentSize : 0;
  try {
    switch (c.mode) {
      case 'decoded':
        // Its form and bytes are the engine's (FormEditor's preview).
        return fail('a decoded message is encoded by the engine');
      case 'text':
      case 'json': {
        if (c.mode === 'json') {
          try {
            JSON.parse(c.text);
          } catch (e) {
            return fail(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        const bytes = utf8Encode(c.text);
        if (bytes.length > MAX_SEND_BYTES) return fail('the message is larger than 64 MiB');
        const { frames, count } = dataFrames(1, bytes.length, fragmentSize, bits);
        return {
          ok: true,
          request: { connection, kind: 'text', text: c.text, ...(fragmentSize ? { fragmentSize } : {}) },
          frames,
          frameCount: count,
          exact: null,
          payloadBytes: bytes.length,
        };
      }
      case 'binary': {
        const bytes = file ?? fromHex(c.hex);
        if (bytes.length > MAX_SEND_BYTES) return fail('the message is larger than 64 MiB');
        const { frames, count } = dataFrames(2, bytes.length, fragmentSize, bits);
        return {
          ok: true,
          request: { connection, kind: 'binary', data: toBase64(bytes), ...(fragmentSize ? { fragmentSize } : {}) },
          frames,
          frameCount: count,
          exact: null,
          payloadBytes: bytes.length,
        };
      }
      case 'ping':
      case 'pong': {
        const bytes = payloadOf(c.controlHex ? 'hex' : 'text', c.controlText);
        if (bytes.length > MAX_CONTROL_BYTES) return fail(`a ${c.mode} carries at most ${MAX_CONTROL_BYTES} bytes (RFC 6455 §5.5); this is ${bytes.length}`);
        const opcode = c.mode === 'ping' ? 9 : 10;
        return {
          ok: true,
          request: { connection, kind: c.mode, data: toBase64(bytes) },
          frames: [{ fin: true, opcode, length: bytes.length, header: encodeFrameHeader({ fin: true, opcode, mask: true, maskKey: PLACEHOLDER_KEY, length: bytes.length }) }],
          frameCount: 1,
          exact: null,
          payloadBytes: bytes.length,
        };
      }
      case 'close': {
        if (!Number.isInteger(c.closeCode) || c.closeCode < 1000 || c.closeCode > 4999) return fail('the close code must be 1000-4999');
        const reason = utf8Encode(c.closeReason);
        if (reason.length > 123) return fail(`the reason may be at most 123 bytes of UTF-8 (RFC 6455 §5.5); this is ${reason.length}`);
        const length = 2 + reason.length;
        return {
          ok: true,
          request: { connection, kind: 'close', code: c.closeCode, ...(c.closeReason ? { reason: c.closeReason } : {}) },
          frames: [{ fin: true, opcode: 8, length, header: encodeFrameHeader({ fin: true, opcode: 8, mask: true, maskKey: PLACEHOLDER_KEY, length }) }],
          frameCount: 1,
          exact: null,
          payloadBytes: length,
        };
      }
      case 'raw': {
        const r = c.raw;
        const payload = payloadOf(r.payloadFormat, r.payload);
        if (payload.length > MAX_SEND_BYTES) return fail('the payload is larger than 64 MiB');
        if (!Number.isInteger(r.opcode) || r.opcode < 0 || r.opcode > 15) return fail('the opcode must be 0-15');
        let maskKey: Uint8Array | null = null;
        if (r.mask === 'key') {
          if (!/^[0-9a-fA-F]{8}$/.test(r.maskKey)) return fail('the mask key is 8 hex digits');
          maskKey = fromHex(r.maskKey);
        }
        const bytes = encodeFrame({
          fin: r.fin,
          rsv1: r.rsv1,
          rsv2: r.rsv2,
          rsv3: r.rsv3,
          opcode: r.opcode,
          payload,
          mask: maskKey !== null,
          ...(maskKey ? { maskKey } : {}),
        });
        const headerLength = bytes.length - payload.length;
        return {
          ok: true,
          request: {
            connection,
            kind: 'raw',
            frame: {
              fin: r.fin,
              rsv1: r.rsv1,
              rsv2: r.rsv2,
              rsv3: r.rsv3,
              opcode: r.opcode,
              payload: toBase64(payload),
              maskKey: maskKey ? r.maskKey.toLowerCase() : null,
            },
          },
          frames: [{ fin: r.fin, opcode: r.opcode, length: payload.length, header: bytes.subarray(0, headerLength) }],
          frameCount: 1,
          exact: bytes,
          payloadBytes: payload.length,
        };
      }
    }
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
}

/**
 * What the composer sends on a proxied connection: the same message injected toward one
 * side (null for what cannot be injected: ping and pong, fragmented messages).
 */
export function injectRequestOf(req: SendRequest, to: 'client' | 'server'): InjectRequest | null {
  switch (req.kind) {
    case 'text':
      return req.fragmentSize ? null : { connection: req.connection, to, kind: 'text', text: req.text };
    case 'binary':
      return req.fragmentSize ? null : { connection: req.connection, to, kind: 'binary', data: req.data };
    case 'close':
      return { connection: req.connection, kind: 'close', code: req.code ?? 1000, ...(req.reason ? { reason: req.reason } : {}) };
    case 'raw':
      return { connection: req.connection, to, kind: 'raw', frame: req.frame };
    case 'decoded':
      return { connection: req.connection, to, kind: 'decoded', form: req.form };
    default:
      return null;
  }
}
