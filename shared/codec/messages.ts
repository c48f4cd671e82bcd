// The message layer (RFC 6455 §5.4, §5.6; RFC 7692 §6-7), one direction at a time: data
// frames in, whole messages out. It reassembles fragments, checks UTF-8 across fragment
// boundaries, and inflates permessage-deflate messages with the injected inflater.
//
// It records problems on the frame where they show, as violations, and never throws on
// what a peer sent: an observer must go on decoding broken traffic, and an endpoint reads
// the violations off the frame to fail the connection. Sequence errors (a continuation with
// nothing to continue, a new message inside a fragmented one) are the frame parser's to
// flag; here they only need a sensible outcome: the stray continuation is ignored, the
// interrupted message is abandoned for the new one.

import type { Side } from '../model';
import { concatBytes } from '../bytes';
import { addViolation, violation, type WireFrame } from './frame';
import { InflateError, type MessageInflater } from './compression';
import { Opcode, isControl } from './protocol';
import { Utf8Validator, isAscii } from './utf8';

export const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;

export interface MessageAssemblerOptions {
  /** who sends the frames this assembler reads */
  from: Side;
  /** permessage-deflate in force for this direction; null or absent when not negotiated */
  compression?: { inflater: MessageInflater } | null;
  /**
   * largest message (default 64 MiB), uncompressed on the wire or once inflated; past it:
   * payload-too-big. A compressed message may take slightly more on the wire (compressedLimit).
   */
  maxMessage?: number;
}

export interface AssembledMessage {
  opcode: 1 | 2;
  /**
   * the whole decoded (inflated) message; when `truncated`, only a prefix of it (maybe
   * empty). An unfragmented, uncompressed message shares its frame's payload (no copy).
   */
  data: Uint8Array;
  /** data and continuation frames it took (control frames in between not counted) */
  frames: number;
  /** its first frame had RSV1 and it was inflated (or meant to be) */
  compressed: boolean;
  /** sum of the frames' payload lengths as their headers state them (compressed bytes if compressed) */
  wireLength: number;
  /**
   * `data` is not the whole message: a frame's payload was cut (by the parser's limit or the
   * end of the stream), the message passed maxMessage, it could not be inflated, or the
   * stream ended before its last frame (end()). A cut compressed message has empty data:
   * a DEFLATE stream cannot be inflated without its end.
   */
  truncated: boolean;
}

/** The message being assembled. */
interface Pending {
  opcode: 1 | 2;
  compressed: boolean;
  /** payload bytes kept, in order; always a prefix of the message (nothing after a gap) */
  chunks: Uint8Array[];
  kept: number;
  wireLength: number;
  frames: number;
  /** some payload is missing: later bytes are not kept, and not checked */
  truncated: boolean;
  /** payload-too-big has been recorded */
  tooBig: boolean;
  /** invalid-utf8 has been recorded */
  badUtf8: boolean;
}

const EMPTY = new Uint8Array(0);


export class MessageAssembler {
  readonly from: Side;
  readonly maxMessage: number;
  private readonly inflater: MessageInflater | null;
  private readonly utf8 = new Utf8Validator();
  private pending: Pending | null = null;
  /**
   * Compressed messages can no longer be inflated (context takeover, and bytes of this
   * direction were lost: the window they refer to is gone). They complete as truncated,
   * with no data and no violation: the caller says why once, not once a message.
   */
  inflateLost = false;

  constructor(options: MessageAssemblerOptions) {
    this.from = options.from;
    this.maxMessage = options.maxMessage ?? DEFAULT_MAX_MESSAGE;
    if (!(this.maxMessage >= 0)) throw new RangeError(`maxMessage must be >= 0, got ${options.maxMessage}`);
    this.inflater = options.compression?.inflater ?? null;
  }

  /** A fragmented message has begun and not yet ended. */
  get inMessage(): boolean {
    return this.pending !== null;
  }

  /**
   * Takes the next frame of this direction, in wire order. Returns the message its final
   * frame completes, else null. Control frames (which may come between fragments, §5.4)
   * and reserved data opcodes pass through untouched.
   */
  push(frame: WireFrame): AssembledMessage | null {
    const opcode = frame.opcode;
    if (isControl(opcode)) return null;
    if (
      frame.fin &&
      (opcode === Opcode.Text || opcode === Opcode.Binary) &&
      !(frame.rsv1 && this.inflater !== null) &&
      !frame.truncated &&
      frame.length <= this.maxMessage
    ) {
      return this.single(frame, opcode);
    }
    if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      // A message still open is abandoned: the new frame cannot continue it.
      this.pending = {
        opcode,
        // RFC 7692 §6: RSV1 on the first frame marks the message compressed. Without
        // the extension negotiated (the parser flags that) the bytes are taken as they are.
        compressed: frame.rsv1 && this.inflater !== null,
        chunks: [],
        kept: 0,
        wireLength: 0,
        frames: 0,
        truncated: false,
        tooBig: false,
        badUtf8: false,
      };
      this.utf8.reset();
    } else if (opcode !== Opcode.Continuation || !this.pending) {
      // A reserved data opcode means nothing we know; a continuation with nothing to continue.
      return null;
    }
    const m = this.pending;
    this.add(m, frame);
    if (!frame.fin) return null;
    this.pending = null;
    return this.complete(m, frame);
  }

  /**
   * The stream ended. Returns the message left unfinished, if any, as a truncated one
   * (nothing is lost), and forgets it.
   */
  end(): AssembledMessage | null {
    const m = this.pending;
    if (!m) return null;
    this.pending = null;
    return this.result(m, m.compressed ? EMPTY : concatBytes(m.chunks, m.kept), true);
  }

  /** Forgets the message being assembled. */
  reset(): void {
    this.pending = null;
    this.utf8.reset();
  }

  /**
   * Fast path: a whole, uncompressed message in one frame, within the limit (nearly every
   * message). Same result and violations as add() + complete(), without the Pending record.
   */
  private single(frame: WireFrame, opcode: 1 | 2): AssembledMessage {
    this.pending = null;
    const data = frame.payload;
    const message: AssembledMessage = { opcode, data, frames: 1, compressed: false, wireLength: frame.length, truncated: false };
    if (opcode === Opcode.Text && !isAscii(data)) {
      // Checked, never decoded: content is bytes (a decoded string a message was most of
      // what decoding small text messages allocated).
      const v = this.utf8;
      v.reset();
      if (!v.push(data)) {
        addViolation(frame, violation('invalid-utf8', `the text message is not valid UTF-8 (at byte ${v.invalidAt} of the message)`));
      } else if (v.incomplete) {
        addViolation(frame, violation('invalid-utf8', 'the text message ends inside a UTF-8 sequence'));
      }
    }
    return message;
  }

  private add(m: Pending, frame: WireFrame): void {
    m.frames++;
    m.wireLength += frame.length;
    if (m.tooBig || m.truncated) return;
    let payload = frame.payload;
    // Checked before the payload is kept: memory stays within the limit whatever the peer says.
    const limit = m.compressed ? compressedLimit(this.maxMessage) : this.maxMessage;
    if (m.wireLength > limit) {
      m.tooBig = true;
      addViolation(frame, 
        violation('payload-too-big', `the message reaches ${m.wireLength} bytes on the wire, past the limit of ${limit}`),
      );
      if (m.compressed) {
        // A DEFLATE stream cut short cannot be inflated: keep nothing.
        m.truncated = true;
        m.chunks = [];
        m.kept = 0;
        return;
      }
      payload = payload.subarray(0, Math.max(0, this.maxMessage - m.kept));
      m.truncated = true;
    }
    if (frame.truncated) {
      m.truncated = true;
      if (m.compressed) {
        m.chunks = [];
        m.kept = 0;
        return;
      }
    }
    if (payload.length > 0) {
      m.chunks.push(payload);
      m.kept += payload.length;
    }
    // Uncompressed text is checked as it arrives, so bad bytes are caught on the fragment
    // that carries them (§8.1 allows failing early). Bytes up to a cut are still a true
    // prefix of the message, so checking them is sound.
    if (m.opcode === Opcode.Text && !m.compressed && !m.badUtf8 && !this.utf8.push(payload)) {
      m.badUtf8 = true;
      addViolation(frame, 
        violation('invalid-utf8', `the text message is not valid UTF-8 (at byte ${this.utf8.invalidAt} of the message)`),
      );
    }
  }

  private complete(m: Pending, last: WireFrame): AssembledMessage {
    if (!m.compressed) {
      if (m.opcode === Opcode.Text && !m.badUtf8 && !m.truncated && !this.utf8.finish()) {
        m.badUtf8 = true;
        addViolation(last, violation('invalid-utf8', 'the text message ends inside a UTF-8 sequence'));
      }
      return this.result(m, concatBytes(m.chunks, m.kept), m.truncated);
    }
    if (m.truncated || this.inflateLost) return this.result(m, EMPTY, true);

    let data: Uint8Array;
    try {
      data = this.inflater!.inflate(concatBytes(m.chunks, m.kept), this.maxMessage);
    } catch (e) {
      // Any failure here comes from the peer's bytes; never let it escape as an exception.
      if (e instanceof InflateError && e.code === 'too-big') {
        m.tooBig = true;
        addViolation(last, 
          violation('payload-too-big', `the message inflates to more than the limit of ${this.maxMessage} bytes`),
        );
      } else {
        addViolation(last, violation('inflate-failed', `the compressed message cannot be inflated: ${errorText(e)}`));
      }
      return this.result(m, EMPTY, true);
    }
    if (m.opcode === Opcode.Text) {
      this.utf8.reset();
      if (!(this.utf8.push(data) && this.utf8.finish())) {
        m.badUtf8 = true;
        const at = this.utf8.invalidAt;
        addViolation(last, 
          violation(
            'invalid-utf8',
            at >= 0
              ? `the inflated text message is not valid UTF-8 (at byte ${at})`
              : 'the inflated text message ends inside a UTF-8 sequence',
          ),
        );
      }
    }
    return this.result(m, data, false);
  }

  private result(m: Pending, data: Uint8Array, truncated: boolean): AssembledMessage {
    const message: AssembledMessage = {
      opcode: m.opcode,
      data,
      frames: m.frames,
      compressed: m.compressed,
      wireLength: m.wireLength,
      truncated,
    };
    return message;
  }
}

/**
 * How many compressed bytes a message of at most `maxMessage` bytes may take. DEFLATE can
 * grow data a little (a 5-byte "Hello" stored is 11 bytes; stored blocks add 5 bytes per
 * 64 KiB), so the inflated size is the real limit; but empty blocks inflate to nothing,
 * and without a wire limit a peer could make us buffer compressed bytes without end.
 */
export function compressedLimit(maxMessage: number): number {
  return maxMessage + Math.ceil(maxMessage / 1024) + 64;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
