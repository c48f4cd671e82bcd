// Finding where WebSocket frames start again in one direction of a TCP stream after bytes
// were lost (a packet the capture missed), so that decoding goes on past the gap as
// Wireshark's does, without ever decoding a payload's bytes as frames.
//
// The bytes after a gap usually begin inside a frame, and a frame header has no marker:
// any two bytes with plausible bits "parse". So a candidate start is believed only when it
// is corroborated:
//
// - Candidates are only the offsets where a captured TCP segment began. Senders write a
//   frame (or a message) at a time, so frames usually begin a segment; inside a payload,
//   every byte offset would be a fresh chance for a lookalike header, segment starts are few.
// - Its header must be one this direction can send: client frames masked, server frames
//   not; a known opcode; RSV1 only with permessage-deflate and only on a message's first
//   frame, RSV2/RSV3 never; control frames FIN and at most 125 bytes; the shortest length
//   encoding, as every sender writes it; a close frame's code valid.
// - The frames it implies must chain: each one ends where the next valid header begins,
//   fragments in a possible order (a continuation only inside a message, a new message only
//   outside one), nothing after a close. And the chain must line up with the stream: a frame
//   ends exactly where a later segment began (and that header is valid too, three headers in
//   all), or eight headers chain, or, at the end of the stream, the last frame ends exactly
//   there (with two frames at least, or one close frame).
//
// Random payload bytes pass a header check about one time in forty, so a lookalike
// survives all this about once in tens of millions of candidates.
//
// Bytes are held from the first live candidate on; a candidate whose chain cannot be judged
// within RESYNC_HOLD bytes (or HOLD_SEGMENTS segments) is dropped, so memory stays bounded
// however long the hunt goes on.
import { isValidWireCloseCode } from '../../../shared/codec/protocol';
import type { Side } from '../../../shared/model';

/** Bytes held while judging a candidate. */
export const RESYNC_HOLD = 4 * 1024 * 1024;
/** Segments held while judging a candidate (each costs a record: tiny segments must not add up). */
const HOLD_SEGMENTS = 65_536;
/** Headers in a row that prove a start even when no frame boundary meets a segment start. */
const CHAIN_PROOF = 8;
/** Headers (a frame boundary on a segment start among them) that prove a start. */
const LANDED_PROOF = 3;

export interface ResyncChunk {
  at: number;
  bytes: Uint8Array;
  time: number;
}

type Verdict = 'accept' | 'reject' | { more: number };

export class Resync {
  /** chunks held, in stream order, contiguous (a capture of tiny segments makes many) */
  private chunks = new Queue<ResyncChunk>();
  /** stream offsets where delivered segments began, ascending, within the chunks */
  private starts = new Queue<number>();
  /** stream offset of the first held byte (and of the end, when nothing is held) */
  private from: number;
  private end: number;
  /** the first candidate's judgment needs the stream to reach this offset */
  private waitFor = 0;

  constructor(
    private readonly side: Side,
    private readonly deflate: boolean,
    /** the stream offset where bytes come again after the gap */
    at: number,
    private readonly hold = RESYNC_HOLD,
  ) {
    this.from = at;
    this.end = at;
  }

  /** Bytes after the gap (contiguous with what came before); their own copy is kept. */
  push(bytes: Uint8Array, at: number, time: number, segmentStart: boolean): void {
    if (bytes.length === 0) return;
    if (this.chunks.length === 0) this.from = at;
    this.chunks.push({ at, bytes: Uint8Array.from(bytes), time });
    if (segmentStart) this.starts.push(at);
    this.end = at + bytes.length;
  }

  /**
   * The first corroborated frame start, with the held chunks from it on (to decode), or
   * null for not yet. `final`: no more bytes will come (the stream ended).
   */
  find(final: boolean): { at: number; chunks: ResyncChunk[] } | null {
    if (!final && this.end < this.waitFor) return null;
    this.waitFor = 0;
    while (this.starts.length > 0) {
      const c = this.starts.first;
      this.dropBefore(c);
      const v = this.judge(c, final);
      if (v === 'accept') {
        const chunks = this.chunks.toArray();
        this.chunks = new Queue();
        this.starts = new Queue();
        return { at: c, chunks: cut(chunks, c) };
      }
      if (v !== 'reject' && v.more - c <= this.hold && this.chunks.length <= HOLD_SEGMENTS) {
        this.waitFor = v.more;
        return null;
      }
      this.starts.shift();
      this.dropBefore(this.starts.length > 0 ? this.starts.first : this.end);
    }
    this.dropBefore(this.end);
    return null;
  }

  /** Stream offset of the first byte not yet skipped (the hunt is at or past it). */
  get position(): number {
    return this.chunks.length > 0 ? this.from : this.end;
  }

  private dropBefore(at: number): void {
    while (this.chunks.length > 0 && this.chunks.first.at + this.chunks.first.bytes.length <= at) this.chunks.shift();
    this.from = this.chunks.length > 0 ? Math.max(at, this.chunks.first.at) : at;
  }

  /** The held byte at stream offset `at` (which must be held). */
  private byte(at: number): number {
    const q = this.chunks;
    let lo = 0;
    let hi = q.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (q.get(mid).at <= at) lo = mid;
      else hi = mid - 1;
    }
    const ch = q.get(lo);
    return ch.bytes[at - ch.at] ?? 0;
  }

  private isStart(at: number): boolean {
    // starts is sorted: a binary search.
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts.get(mid) < at) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.starts.length && this.starts.get(lo) === at;
  }

  private judge(c: number, final: boolean): Verdict {
    let at = c;
    let headers = 0;
    let landed = false;
    /** inside a fragmented message: unknown until the first data frame */
    let inMessage: boolean | null = null;
    let lastClose = false;
    for (;;) {
      if (at === this.end) {
        if (!final) return { more: at + 2 };
        return headers >= 2 || (headers === 1 && lastClose) ? 'accept' : 'reject';
      }
      if (lastClose) return 'reject'; // a sender sends nothing after its close frame
      const h = this.header(at);
      if (h === null) return final ? 'reject' : { more: at + 14 };
      if (h === 'invalid') return 'reject';
      const { opcode, fin, size, length } = h;
      if (opcode === 0) {
        if (inMessage === false) return 'reject';
        inMessage = !fin;
      } else if (opcode <= 2) {
        if (inMessage === true) return 'reject';
        inMessage = !fin;
      }
      headers++;
      if (at !== c && this.isStart(at)) landed = true;
      if ((landed && headers >= LANDED_PROOF) || headers >= CHAIN_PROOF) return 'accept';
      const next = at + size + length;
      if (next > this.end) return final ? 'reject' : { more: next };
      if (opcode === 8) {
        if (length === 1) return 'reject';
        if (length >= 2) {
          const mask = h.maskAt === null ? null : [0, 1, 2, 3].map((i) => this.byte(h.maskAt! + i));
          const b0 = this.byte(at + size) ^ (mask ? mask[0]! : 0);
          const b1 = this.byte(at + size + 1) ^ (mask ? mask[1]! : 0);
          if (!isValidWireCloseCode((b0 << 8) | b1)) return 'reject';
        }
        lastClose = true;
      }
      at = next;
    }
  }

  /** The header at `at`: its fields, 'invalid' when this direction could not send it, null when not all here. */
  private header(at: number): { opcode: number; fin: boolean; rsv1: boolean; size: number; length: number; maskAt: number | null } | 'invalid' | null {
    if (this.end - at < 2) return null;
    const b0 = this.byte(at);
    const b1 = this.byte(at + 1);
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const masked = (b1 & 0x80) !== 0;
    if (!(opcode <= 2 || (opcode >= 8 && opcode <= 10))) return 'invalid';
    if (b0 & 0x30) return 'invalid';
    if (rsv1 && !(this.deflate && (opcode === 1 || opcode === 2))) return 'invalid';
    if (masked !== (this.side === 'client')) return 'invalid';
    const len7 = b1 & 0x7f;
    if (opcode >= 8 && (!fin || len7 > 125)) return 'invalid';
    const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (this.end - at < size) return null;
    let length = len7;
    if (len7 === 126) {
      length = (this.byte(at + 2) << 8) | this.byte(at + 3);
      if (length < 126) return 'invalid';
    } else if (len7 === 127) {
      const hi = ((this.byte(at + 2) << 24) | (this.byte(at + 3) << 16) | (this.byte(at + 4) << 8) | this.byte(at + 5)) >>> 0;
      const lo = ((this.byte(at + 6) << 24) | (this.byte(at + 7) << 16) | (this.byte(at + 8) << 8) | this.byte(at + 9)) >>> 0;
      // The top bit must be clear, and no sender frames 2^53 bytes; shorter fits a shorter field.
      if (hi >= 0x200000) return 'invalid';
      length = hi * 0x100000000 + lo;
      if (length < 0x10000) return 'invalid';
    }
    return { opcode, fin, rsv1, size, length, maskAt: masked ? at + size - 4 : null };
  }
}

/** The chunks from stream offset `at` on (the first one cut to start there). */
function cut(chunks: ResyncChunk[], at: number): ResyncChunk[] {
  const out: ResyncChunk[] = [];
  for (const ch of chunks) {
    const endAt = ch.at + ch.bytes.length;
    if (endAt <= at) continue;
    out.push(ch.at >= at ? ch : { at, bytes: ch.bytes.subarray(at - ch.at), time: ch.time });
  }
  return out;
}

/** A FIFO that shifts in O(1) (Array.shift copies: quadratic over millions of tiny segments). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get first(): T {
    return this.items[this.head]!;
  }

  get(i: number): T {
    return this.items[this.head + i]!;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  toArray(): T[] {
    return this.items.slice(this.head);
  }
}
