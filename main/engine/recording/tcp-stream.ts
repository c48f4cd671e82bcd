// One direction of a TCP connection put back in order (RFC 9293 sequence space): segments
// ahead of the next expected byte are held until the hole before them fills, a
// retransmission or overlap gives only its new bytes (the first copy wins; a copy that
// differs is noted), the 32-bit sequence number wraps. Bytes a capture never got become a
// gap: when the other side acknowledges bytes past the hole (the receiver got them, so no
// copy is coming: the capture missed them), when the bytes held past a hole exceed the
// window, or at the end of the capture.

/** Bytes held past a hole before it is declared a gap. */
export const HOLD_LIMIT = 64 * 1024 * 1024;
/** Delivered bytes kept to compare retransmissions with. */
const RECENT = 256 * 1024;

interface Held {
  at: number;
  bytes: Uint8Array;
  time: number;
}

export interface StreamSink {
  /**
   * `bytes` at stream offset `at`; `segmentStart`: they begin where a captured segment
   * began (not the new tail of a retransmission that overlapped what came before)
   */
  data(bytes: Uint8Array, time: number, at: number, segmentStart: boolean): void;
  /** `missing` bytes at stream offset `at` will never come */
  gap(at: number, missing: number, time: number): void;
}

export class TcpDirection {
  /** a SYN was seen: offset 0 is the first byte after it */
  synSeen = false;
  private started = false;
  /** stream offset of the next byte expected, and its sequence number */
  next = 0;
  private nextSeq = 0;
  private held: Held[] = [];
  private heldBytes = 0;
  /** stream offset just past the FIN, when seen */
  finAt: number | null = null;
  finTime = 0;
  /** the first offset where a retransmitted copy differed from the first */
  differedAt: number | null = null;
  private ring: Uint8Array | null = null;
  /** the ring holds delivered bytes from here (a gap starts it afresh) */
  private ringFrom = 0;
  private lastTime = -Infinity;
  /** the other side has acknowledged every byte before this offset */
  private ackedTo = 0;

  constructor(private readonly sink: StreamSink) {}

  get ended(): boolean {
    return this.finAt !== null && this.next >= this.finAt;
  }

  syn(seq: number): void {
    if (this.started) return;
    this.started = true;
    this.synSeen = true;
    this.nextSeq = (seq + 1) >>> 0;
  }

  /** Stream offset of a sequence number: the nearest one to the next expected (so wraparound works). */
  private offsetOf(seq: number): number {
    return this.next + ((seq - this.nextSeq) | 0);
  }

  segment(seq: number, payload: Uint8Array, fin: boolean, time: number): void {
    if (!this.started) {
      // No SYN seen: the stream starts at the first byte we see.
      this.started = true;
      this.nextSeq = seq;
    }
    const at = this.offsetOf(seq);
    if (fin && this.finAt === null) {
      this.finAt = at + payload.length;
      this.finTime = time;
    }
    if (payload.length === 0) return;
    if (at + payload.length <= this.next) {
      this.compare(at, payload);
      return;
    }
    if (at > this.next) {
      this.hold(at, payload, time);
      return;
    }
    this.take(at, payload, time);
    this.drain();
  }

  /**
   * The other side's acknowledgment number: it received every byte before it. A hole
   * below it will never fill in this capture (the sender will not send it again), so it
   * is a gap now rather than at the end: what follows it is decoded in its place in time.
   */
  ack(seq: number, time: number): void {
    if (!this.started) return;
    const at = this.offsetOf(seq);
    if (at <= this.ackedTo) return;
    this.ackedTo = at;
    this.skipAcked(time);
  }

  private skipAcked(time: number): void {
    while (this.held.length > 0 && this.held[0]!.at <= this.ackedTo) this.skipHole(time);
  }

  /** Bytes that begin at or before `next`: the already-delivered part compared, the rest delivered. */
  private take(at: number, payload: Uint8Array, time: number): void {
    const segmentStart = at === this.next;
    if (at < this.next) {
      this.compare(at, payload.subarray(0, this.next - at));
      payload = payload.subarray(this.next - at);
    }
    // Frames end at the packet that completed them: never earlier than what came before.
    this.lastTime = Math.max(this.lastTime, time);
    this.remember(payload);
    const from = this.next;
    this.next += payload.length;
    this.nextSeq = (this.nextSeq + payload.length) >>> 0;
    this.sink.data(payload, this.lastTime, from, segmentStart);
  }

  private drain(): void {
    while (this.held.length > 0 && this.held[0]!.at <= this.next) {
      const h = this.held.shift()!;
      this.heldBytes -= h.bytes.length;
      if (h.at + h.bytes.length <= this.next) this.compare(h.at, h.bytes);
      else this.take(h.at, h.bytes, h.time);
    }
  }

  private hold(at: number, payload: Uint8Array, time: number): void {
    // A copy: the packet's buffer is reused for the next one.
    const h: Held = { at, bytes: Uint8Array.from(payload), time };
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.at > at) i--;
    this.held.splice(i, 0, h);
    this.heldBytes += payload.length;
    while (this.heldBytes > HOLD_LIMIT) this.skipHole(time);
    this.skipAcked(time);
  }

  /** The hole before the first held segment will not fill: a gap, then what was held goes on. */
  private skipHole(time: number): void {
    const first = this.held[0];
    if (!first) return;
    const missing = first.at - this.next;
    this.sink.gap(this.next, missing, time);
    this.next = first.at;
    this.nextSeq = (this.nextSeq + missing) >>> 0;
    this.ringFrom = this.next;
    this.drain();
  }

  /** The capture ended (or the connection did): every hole left is a gap. */
  finish(time: number): void {
    while (this.held.length > 0) this.skipHole(time);
    if (this.finAt !== null && this.next < this.finAt) {
      this.sink.gap(this.next, this.finAt - this.next, time);
      this.next = this.finAt;
    }
  }

  /** Delivered bytes go into a ring (offset modulo its size), for compare(). */
  private remember(bytes: Uint8Array): void {
    const ring = (this.ring ??= new Uint8Array(RECENT));
    const from = bytes.length > RECENT ? bytes.length - RECENT : 0;
    let pos = (this.next + from) % RECENT;
    for (let i = from; i < bytes.length; ) {
      const n = Math.min(bytes.length - i, RECENT - pos);
      ring.set(bytes.subarray(i, i + n), pos);
      i += n;
      pos = 0;
    }
  }

  /** A retransmitted copy of bytes already delivered: noted when it differs (where we still have them). */
  private compare(at: number, bytes: Uint8Array): void {
    if (this.differedAt !== null) return;
    const ring = this.ring;
    if (!ring) return;
    const recentStart = Math.max(this.ringFrom, this.next - RECENT);
    for (let i = Math.max(0, recentStart - at); i < bytes.length; i++) {
      const o = at + i;
      if (o >= this.next) break;
      if (ring[o % RECENT] !== bytes[i]) {
        this.differedAt = o;
        return;
      }
    }
  }
}
