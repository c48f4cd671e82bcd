// The frame parser: bytes in, frames out (RFC 6455 §5). No sockets, no clock: the caller
// hands in each chunk with the time it arrived. One state machine, driven by one loop
// that stops when too few bytes are buffered, so feeding one byte at a time or a megabyte
// at a time gives the same frames.
//
// Two stances (docs/design.md "The codec is sans-I/O"):
// - endpoint: the first error-severity violation fails the parser (`failure` says with
//   which close code) and it reads nothing more, as RFC 6455 requires of an endpoint;
// - observer: violations are recorded on the frame and decoding carries on, because an
//   inspector exists to show broken traffic.
//
// Limits are checked on the header, before any payload is buffered, so a hostile length
// never allocates: an endpoint fails with 1009 past `maxPayload`; an observer keeps the
// first `maxPayload` bytes, marks the frame truncated and skips the rest as it streams by.
//
// A frame's payload is plain bytes, unmasked, there as soon as the frame is returned: a view
// of the input chunk when it lies in one chunk, else one fresh buffer joined once from the
// pieces (as `ws` does). A masked payload is always a fresh buffer: the input is never
// written to (the proxy forwards the very chunk it decodes). The parser keeps views of the
// chunks it is handed, so the caller must not reuse their memory.

import type { Side, Violation } from '../model';
import { concatBytes, utf8Decode, utf8DecodeStrict } from '../bytes';
import { NO_VIOLATIONS, addViolation, closeCodeFor, violation, type LengthEncoding, type WireFrame } from './frame';
import { applyMask, maskInPlace } from './frame-writer';
import { isControl, isKnownOpcode, isValidWireCloseCode, Opcode } from './protocol';

export type Stance = 'endpoint' | 'observer';

export interface FrameParserOptions {
  /** who sends the bytes this parser reads: client frames must be masked, server frames not */
  from: Side;
  stance: Stance;
  /** largest payload kept (endpoint: larger fails with 1009). Default 64 MiB. */
  maxPayload?: number;
  /** RSV1 is in use by a negotiated extension (permessage-deflate). Settable after the handshake. */
  rsv1Allowed?: boolean;
}

export interface ParserFailure {
  violation: Violation;
  closeCode: number;
}

const enum State {
  Header,
  Length16,
  Length64,
  MaskKey,
  Payload,
  Failed,
}

const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

export class FrameParser {
  readonly from: Side;
  readonly stance: Stance;
  readonly maxPayload: number;
  rsv1Allowed: boolean;
  /** set once an endpoint parser has failed; it reads nothing more */
  failure: ParserFailure | null = null;

  // Buffered input: a list of chunks and a running count. Bytes are copied only when a
  // field spans two chunks.
  private chunks: Uint8Array[] = [];
  /** read position in chunks[0]: reading advances it instead of re-slicing the chunk */
  private head = 0;
  private buffered = 0;
  /** the chunk view() last cut from, and its buffer and offset in it */
  private viewChunk: Uint8Array = EMPTY;
  private viewBuffer: ArrayBufferLike = EMPTY.buffer;
  private viewBase = 0;
  /** stream offset of the first buffered byte */
  private consumed = 0;

  private state = State.Header;
  // The frame being read.
  private frameOffset = 0;
  private headerParts: Uint8Array[] = [];
  /** the whole header when it arrived in one piece (the common case); else headerParts */
  private header: Uint8Array | null = null;
  /** the whole payload, unmasked, when it was read from one chunk (else payloadParts) */
  private payload: Uint8Array | null = null;
  private b0 = 0;
  private b1 = 0;
  private length = 0;
  private lengthEncoding: LengthEncoding = 7;
  private maskKey: Uint8Array | null = null;
  /** this frame's violations: NO_VIOLATIONS until the first (flag) */
  private violations: Violation[] = NO_VIOLATIONS;
  /** the payload kept so far when it did not come whole in one chunk: views of the input */
  private payloadParts: Uint8Array[] = [];
  /** payload bytes still to read from the wire */
  private remaining = 0;
  /** payload bytes still to keep (the rest is skipped) */
  private keep = 0;
  /** payload bytes kept so far */
  private payloadRead = 0;

  // Sequence state across frames (§5.4, §5.5.1).
  private inFragmentedMessage = false;
  /**
   * Reading resumed at a frame start found after bytes were lost (resume()): whether a
   * fragmented message was open there is unknown until the first continuation or new data frame.
   */
  private fragmentUnknown = false;
  private closeSeen = false;
  /**
   * The close frame going the other way is on the wire (set by whoever sees both
   * directions). Once this stream's own close has come too, the closing handshake is
   * complete: a frame after it is a warning, not the sender failing the protocol.
   */
  otherCloseSent = false;

  constructor(options: FrameParserOptions) {
    this.from = options.from;
    this.stance = options.stance;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.rsv1Allowed = options.rsv1Allowed ?? false;
  }

  /**
   * Reads on from a frame start at stream offset `offset` after bytes were lost (an
   * observer resyncing a capture with a gap): whatever was buffered is dropped, and a
   * continuation before the first new data frame is not flagged, since its message may
   * have begun in the lost bytes. Close state is kept (a close before the gap still counts).
   */
  resume(offset: number): void {
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    this.consumed = offset;
    this.headerParts = [];
    this.payloadParts = [];
    this.header = null;
    this.payload = null;
    this.failure = null;
    this.state = State.Header;
    this.inFragmentedMessage = false;
    this.fragmentUnknown = true;
  }

  /** Bytes of this direction's stream read so far. */
  get offset(): number {
    return this.consumed;
  }

  /** Part of a frame is buffered or being read: an end of stream now would cut it. */
  get midFrame(): boolean {
    return this.state !== State.Failed && (this.state !== State.Header || this.buffered > 0);
  }

  /**
   * Feeds a chunk; returns the frames it completed. The parser keeps no reference to frames;
   * it keeps views of `data` while a frame in it is unfinished.
   */
  receive(data: Uint8Array, time: number): WireFrame[] {
    const out: WireFrame[] = [];
    this.receiveEach(data, time, (frame) => out.push(frame));
    return out;
  }

  /**
   * Feeds a chunk; hands each frame it completes to `onFrame` as soon as it is complete, in
   * order. A caller that feeds large chunks and keeps no frame should read this way: a
   * megabyte of small frames gathered into one array outlives the young generation, and
   * the garbage collector then copies and promotes every frame (several times slower).
   */
  receiveEach(data: Uint8Array, time: number, onFrame: (frame: WireFrame) => void): void {
    if (this.state === State.Failed || data.length === 0) return;
    // A Buffer's subarray() runs Node's JS FastBuffer constructor; a plain view's is a V8
    // builtin. The parser slices each chunk a few times per frame, so view it once here.
    if (data.constructor !== Uint8Array) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.chunks.push(data);
    this.buffered += data.length;
    this.run(onFrame, time);
  }

  private run(onFrame: (frame: WireFrame) => void, time: number): void {
    for (;;) {
      switch (this.state as State) {
        case State.Header: {
          if (this.buffered < 2) return;
          // Fast path: the whole header is in the first chunk; read it in one go.
          const first = this.chunks[0]!;
          const at = this.head;
          if (first.length - at >= 2) {
            const b1 = first[at + 1]!;
            const len7 = b1 & 0x7f;
            const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
            if (first.length - at >= size) {
              this.readWholeHeader(first, at, size);
              break;
            }
          }
          this.readHeader();
          break;
        }
        case State.Length16:
          if (this.buffered < 2) return;
          this.readLength16();
          break;
        case State.Length64:
          if (this.buffered < 8) return;
          this.readLength64();
          break;
        case State.MaskKey:
          if (this.buffered < 4) return;
          this.readMaskKey();
          break;
        case State.Payload:
          if (this.remaining > 0 && this.buffered > 0 && this.payloadRead === 0 && this.keep === this.remaining) {
            // Fast path: the whole payload is in the first chunk.
            const first = this.chunks[0]!;
            const at = this.head;
            const n = this.remaining;
            if (first.length - at >= n) {
              const part = this.view(first, at, n);
              this.advance(first, n);
              this.payload = this.maskKey ? unmask(part, this.maskKey) : part;
              this.payloadRead = n;
              this.remaining = 0;
            }
          }
          if (this.remaining > 0) {
            if (this.buffered === 0) return;
            this.readPayload();
            if (this.remaining > 0) return;
          }
          onFrame(this.finishFrame(time, false));
          break;
        case State.Failed:
          return;
      }
    }
  }

  /**
   * The stream ended (the caller saw EOF). A frame cut off mid-way is returned as it
   * stands, with a 'truncated-frame' violation, so nothing received is lost.
   */
  end(time: number): WireFrame[] {
    if (this.state === State.Failed) return [];
    if (this.state === State.Header && this.buffered === 0) return [];
    if (this.state === State.Header) {
      // Not even two header bytes: record what there is, as a frame of its own (nothing of
      // the previous frame's: its violations, mask key or payload).
      const partial = this.take(this.buffered);
      this.frameOffset = this.consumed - partial.length;
      this.headerParts = [partial];
      this.header = null;
      this.b0 = partial[0]!;
      this.b1 = 0;
      this.length = 0;
      this.lengthEncoding = 7;
      this.violations = NO_VIOLATIONS;
      this.maskKey = null;
      this.payload = null;
      this.payloadRead = 0;
    } else if (this.state !== State.Payload) {
      // Inside the length or mask-key field: what arrived is part of the header.
      if (this.buffered > 0) this.headerParts.push(this.take(this.buffered));
      this.maskKey = null;
    } else if (this.buffered > 0) {
      this.readPayload();
    }
    const frame = this.finishFrame(time, true);
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    addViolation(
      frame,
      violation('truncated-frame', `the stream ended inside a frame (${frame.payload.length} of ${frame.length} payload bytes arrived)`),
    );
    this.state = State.Failed;
    return [frame];
  }

  // -- the states -------------------------------------------------------------------------

  /** The header is all in `first` from `at`: the same steps as readHeader, readLength*, readMaskKey. */
  private readWholeHeader(first: Uint8Array, at: number, size: number): void {
    const header = this.view(first, at, size);
    this.beginFrame(this.consumed, header[0]!, header[1]!);
    this.advance(first, size);
    this.header = header;
    const len7 = this.b1 & 0x7f;
    if (len7 === 126) {
      this.lengthEncoding = 16;
      this.length = (header[2]! << 8) | header[3]!;
      this.checkLength16();
    } else if (len7 === 127) {
      this.lengthEncoding = 64;
      const hi = ((header[2]! << 24) | (header[3]! << 16) | (header[4]! << 8) | header[5]!) >>> 0;
      const lo = ((header[6]! << 24) | (header[7]! << 16) | (header[8]! << 8) | header[9]!) >>> 0;
      this.length = hi * 0x100000000 + lo;
      this.checkLength64(hi);
    } else {
      this.lengthEncoding = 7;
      this.length = len7;
    }
    this.checkLength();
    if ((this.b1 & 0x80) !== 0) this.maskKey = header.subarray(size - 4);
    this.afterMaskKey();
  }

  private readHeader(): void {
    const head = this.take(2);
    this.beginFrame(this.consumed - 2, head[0]!, head[1]!);
    this.headerParts = [head];
    this.header = null;
    const len7 = this.b1 & 0x7f;
    // Until an extended length is read, the frame states none (a stream cut inside the
    // field ends with length 0, not the previous frame's).
    this.length = 0;
    if (len7 === 126) {
      this.lengthEncoding = 16;
      this.state = State.Length16;
    } else if (len7 === 127) {
      this.lengthEncoding = 64;
      this.state = State.Length64;
    } else {
      this.lengthEncoding = 7;
      this.length = len7;
      this.afterLength();
    }
  }

  /** A new frame starts at stream offset `offset`, with these first two header bytes. */
  private beginFrame(offset: number, b0: number, b1: number): void {
    this.frameOffset = offset;
    this.b0 = b0;
    this.b1 = b1;
    this.violations = NO_VIOLATIONS;
    this.maskKey = null;
    this.payload = null;
    this.payloadRead = 0;
    this.checkFirstBytes();
  }

  private checkFirstBytes(): void {
    const opcode = this.b0 & 0x0f;
    const fin = (this.b0 & 0x80) !== 0;
    const rsv1 = (this.b0 & 0x40) !== 0;
    const masked = (this.b1 & 0x80) !== 0;
    const control = isControl(opcode);

    if (!isKnownOpcode(opcode)) this.flag('reserved-opcode', `opcode ${opcode} is reserved`);
    if ((this.b0 & 0x30) !== 0 || (rsv1 && !this.rsv1Allowed)) {
      const bits = ['RSV1', 'RSV2', 'RSV3'].filter((_, i) => (this.b0 & (0x40 >> i)) !== 0 && (i > 0 || !this.rsv1Allowed));
      this.flag('rsv-without-extension', `${bits.join(', ')} set but no negotiated extension defines ${bits.length > 1 ? 'them' : 'it'}`);
    } else if (rsv1 && control) {
      this.flag('rsv1-on-control-frame', 'RSV1 (compressed) set on a control frame');
    } else if (rsv1 && opcode === Opcode.Continuation) {
      this.flag('rsv1-on-continuation', 'RSV1 (compressed) set on a continuation frame; only the first frame of a message carries it');
    }
    if (control && !fin) this.flag('fragmented-control-frame', 'control frames must not be fragmented (FIN is 0)');
    if (this.from === 'client' && !masked) this.flag('unmasked-client-frame', 'a client must mask every frame it sends');
    if (this.from === 'server' && masked) this.flag('masked-server-frame', 'a server must not mask the frames it sends');

    if (this.closeSeen && this.otherCloseSent) {
      this.flag('frame-after-closing-handshake', `a ${this.from} sent a frame after the closing handshake had completed`);
    } else if (this.closeSeen) {
      this.flag('data-after-close', `a ${this.from} sent a frame after its close frame`);
    }
    if (opcode === Opcode.Continuation) {
      // After a resume the message this continues may have begun in the lost bytes.
      if (!this.inFragmentedMessage && !this.fragmentUnknown) this.flag('unexpected-continuation', 'a continuation frame with no fragmented message to continue');
    } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      if (this.inFragmentedMessage) {
        this.flag('data-frame-inside-fragmented-message', 'a new data frame began before the fragmented message finished');
      }
    }

  }

  private readLength16(): void {
    const bytes = this.take(2);
    this.headerParts.push(bytes);
    this.length = (bytes[0]! << 8) | bytes[1]!;
    this.checkLength16();
    this.afterLength();
  }

  private checkLength16(): void {
    if (this.length < 126) this.flag('non-minimal-length', `length ${this.length} sent in the 16-bit field; it fits the 7-bit one`);
  }

  private readLength64(): void {
    const bytes = this.take(8);
    this.headerParts.push(bytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
    const hi = view.getUint32(0);
    this.length = hi * 0x100000000 + view.getUint32(4);
    this.checkLength64(hi);
    this.afterLength();
  }

  private checkLength64(hi: number): void {
    if (hi & 0x80000000) {
      this.flag('length-top-bit-set', 'the most significant bit of a 64-bit length must be 0');
    } else if (this.length < 0x10000) {
      this.flag('non-minimal-length', `length ${this.length} sent in the 64-bit field; it fits a shorter one`);
    }
  }

  private afterLength(): void {
    this.checkLength();
    if ((this.b1 & 0x80) !== 0) this.state = State.MaskKey;
    else this.afterMaskKey();
  }

  private checkLength(): void {
    const opcode = this.b0 & 0x0f;
    if (isControl(opcode) && this.length > 125) {
      this.flag('control-frame-too-long', `a control frame's payload is at most 125 bytes; this one states ${this.length}`);
    }
    this.remaining = this.length;
    this.keep = Math.min(this.length, this.maxPayload);
    if (this.stance === 'endpoint' && this.length > this.maxPayload && !this.hasError()) {
      this.flag('payload-too-big', `payload of ${this.length} bytes exceeds the limit of ${this.maxPayload}`);
    }
  }

  private readMaskKey(): void {
    const key = this.take(4);
    this.headerParts.push(key);
    this.maskKey = key;
    this.afterMaskKey();
  }

  private afterMaskKey(): void {
    this.state = State.Payload;
    if (this.stance === 'endpoint' && this.hasError()) {
      // Fail now, without waiting for a payload that may never come; keep whatever of it
      // is already here so the capture shows it. finishFrame then records the failure.
      this.remaining = Math.min(this.remaining, this.buffered, this.keep);
      this.keep = this.remaining;
    }
  }

  private readPayload(): void {
    // Keep up to `keep` bytes, skip the rest as it streams by. Parts are views of the input
    // (masked bytes included): finishFrame joins and unmasks them in one copy.
    while (this.remaining > 0 && this.buffered > 0) {
      const first = this.chunks[0]!;
      const at = this.head;
      const n = Math.min(first.length - at, this.remaining);
      const keepNow = Math.min(n, this.keep - this.payloadRead);
      if (keepNow > 0) {
        this.payloadParts.push(first.subarray(at, at + keepNow));
        this.payloadRead += keepNow;
      }
      this.advance(first, n);
      this.remaining -= n;
    }
  }

  private finishFrame(time: number, cut: boolean): WireFrame {
    const opcode = this.b0 & 0x0f;
    const fin = (this.b0 & 0x80) !== 0;
    // Read whole from one chunk (run's fast path), or joined here from its parts, once.
    let payload = this.payload;
    if (!payload) {
      const parts = this.payloadParts;
      if (parts.length === 0) payload = EMPTY;
      else if (this.maskKey) payload = joinUnmasked(parts, this.payloadRead, this.maskKey);
      else payload = parts.length === 1 ? parts[0]! : concatBytes(parts, this.payloadRead);
    }
    const frame: WireFrame = {
      fin,
      rsv1: (this.b0 & 0x40) !== 0,
      rsv2: (this.b0 & 0x20) !== 0,
      rsv3: (this.b0 & 0x10) !== 0,
      opcode,
      masked: (this.b1 & 0x80) !== 0,
      maskKey: this.maskKey,
      length: this.length,
      lengthEncoding: this.lengthEncoding,
      header: this.header ?? concatBytes(this.headerParts),
      payload,
      truncated: payload.length < this.length,
      offset: this.frameOffset,
      time,
      from: this.from,
      violations: this.violations,
    };
    if (this.payloadParts.length > 0) this.payloadParts = [];
    if (this.headerParts.length > 0) this.headerParts = [];
    this.header = null;
    this.payload = null;
    this.state = State.Header;

    if (opcode === Opcode.Close) {
      frame.close = this.parseClose(frame, cut);
      // What parseClose flagged went into a new list if the frame had none before.
      frame.violations = this.violations;
      this.closeSeen = true;
    }
    // Track fragmentation (§5.4) the way a receiver would read the frames.
    if (opcode === Opcode.Text || opcode === Opcode.Binary) this.inFragmentedMessage = !fin;
    else if (opcode === Opcode.Continuation && (this.inFragmentedMessage || this.fragmentUnknown)) this.inFragmentedMessage = !fin;
    if (opcode <= Opcode.Binary) this.fragmentUnknown = false;

    if (this.stance === 'endpoint' && this.hasError()) this.fail(frame);
    return frame;
  }

  /** §5.5.1: an optional 2-byte code, then a UTF-8 reason. */
  private parseClose(frame: WireFrame, cut: boolean): { code: number | null; reason: string } {
    const p = frame.payload;
    if (p.length === 0) return { code: null, reason: '' };
    if (p.length === 1) {
      if (!cut) this.flag('close-payload-too-short', 'a close payload of 1 byte: the status code needs 2');
      return { code: null, reason: '' };
    }
    const code = (p[0]! << 8) | p[1]!;
    if (!isValidWireCloseCode(code)) this.flag('invalid-close-code', `close code ${code} may not be sent on the wire`);
    const reasonBytes = p.subarray(2);
    const reason = utf8DecodeStrict(reasonBytes);
    if (reason === null) {
      if (!cut) this.flag('invalid-close-reason-utf8', 'the close reason is not valid UTF-8');
      return { code, reason: utf8Decode(reasonBytes) };
    }
    return { code, reason };
  }

  // -- helpers ----------------------------------------------------------------------------

  private flag(id: Parameters<typeof violation>[0], message: string): void {
    if (this.violations === NO_VIOLATIONS) this.violations = [];
    this.violations.push(violation(id, message));
  }

  private hasError(): boolean {
    return this.violations.some((v) => v.severity === 'error');
  }

  private fail(frame: WireFrame): void {
    const first = frame.violations.find((v) => v.severity === 'error')!;
    this.failure = { violation: first, closeCode: closeCodeFor(first) };
    this.state = State.Failed;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
  }

  /**
   * `n` bytes of `chunk` from `at`, as a view. The constructor, not subarray(): subarray
   * looks up the species constructor on every call, and two views a frame made it a quarter
   * of what parsing small frames cost. The chunk's buffer is looked up once per chunk.
   */
  private view(chunk: Uint8Array, at: number, n: number): Uint8Array {
    if (chunk !== this.viewChunk) {
      this.viewChunk = chunk;
      this.viewBuffer = chunk.buffer;
      this.viewBase = chunk.byteOffset;
    }
    return new Uint8Array(this.viewBuffer, this.viewBase + at, n);
  }

  /** Drops `n` bytes of `first` (the first chunk) from the buffer: n <= first.length - head. */
  private advance(first: Uint8Array, n: number): void {
    this.buffered -= n;
    this.consumed += n;
    const at = this.head + n;
    if (at === first.length) {
      this.chunks.shift();
      this.head = 0;
    } else {
      this.head = at;
    }
  }

  /** Removes `n` buffered bytes (n <= buffered), copying only when they span chunks. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    const at = this.head;
    if (first.length - at >= n) {
      const out = at === 0 && first.length === n ? first : first.subarray(at, at + n);
      this.advance(first, n);
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const from = this.head;
      const want = Math.min(n - got, c.length - from);
      out.set(c.subarray(from, from + want), got);
      got += want;
      this.advance(c, want);
    }
    return out;
  }
}

/** XORs a buffer of the parser's own with the mask key (frame-writer.ts maskInPlace). */
const unmaskInPlace = (buf: Uint8Array, key: Uint8Array): Uint8Array => maskInPlace(buf, key);

/** The masked payload of one piece, unmasked into its own buffer (the input is the caller's). */
function unmask(part: Uint8Array, key: Uint8Array): Uint8Array {
  // Short payloads: one pass, byte by byte (a word view costs more than it saves).
  if (part.length < 128) return applyMask(part, key);
  const out = new Uint8Array(part.length);
  out.set(part);
  return unmaskInPlace(out, key);
}

function joinUnmasked(parts: Uint8Array[], total: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return unmaskInPlace(out, key);
}
