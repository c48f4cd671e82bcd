// Per-connection time series for the timeline, kept as frames are recorded: fixed-width
// buckets in one Float64Array per connection (no object per frame). When a connection
// outgrows its buckets, neighbours are merged and the width doubles, so memory stays
// bounded however long the session runs. Queries re-bucket into at most `points` buckets.
import type { Timeline, TimelineMark, TimelineSide } from '../../../shared/contract';
import type { EngineEvent } from '../../../shared/model';

/** the narrowest bucket (ms) */
export const BASE_BUCKET_MS = 10;
/** buckets a connection keeps at most before merging neighbours */
export const MAX_BUCKETS = 4096;
/** points a query returns at most (and by default) */
export const MAX_POINTS = 5000;
/** marks a connection keeps; later ones are counted only */
export const MAX_MARKS = 1000;

// The fields of a bucket, for each direction (client, server) where paired.
const FRAMES = 0; // +side
const BYTES = 2; // payload bytes of every frame, +side
const MESSAGES = 4; // data messages completed, +side
const MSG_BYTES = 6; // their sizes summed (inflated), +side
const MAX_SIZE = 8; // the largest, +side
const RTT_SUM = 10;
const RTT_N = 11;
const LAT_SUM = 12;
const LAT_N = 13;
const STRIDE = 14;
const MAXED = new Set([MAX_SIZE, MAX_SIZE + 1]);

const sideIndex = (from: 'client' | 'server'): number => (from === 'client' ? 0 : 1);

class Series {
  start = Number.NaN;
  width = BASE_BUCKET_MS;
  /** buckets in use */
  n = 0;
  data = new Float64Array(64 * STRIDE);
  marks: TimelineMark[] = [];
  marksDropped = 0;
  /** the latest time recorded */
  last = Number.NaN;

  /** The bucket of `time` (growing or merging as needed). */
  private bucket(time: number): number {
    if (Number.isNaN(this.start)) this.start = time;
    if (time > this.last || Number.isNaN(this.last)) this.last = time;
    // A time before the first one (clock skew in a capture) counts in the first bucket.
    let i = Math.max(0, Math.floor((time - this.start) / this.width));
    while (i >= MAX_BUCKETS) {
      this.merge();
      i = Math.floor((time - this.start) / this.width);
    }
    if ((i + 1) * STRIDE > this.data.length) {
      const next = new Float64Array(Math.min(MAX_BUCKETS, Math.max(i + 1, (this.data.length / STRIDE) * 2)) * STRIDE);
      next.set(this.data);
      this.data = next;
    }
    if (i >= this.n) this.n = i + 1;
    return i * STRIDE;
  }

  /** Halves the bucket count: each pair becomes one bucket twice as wide. */
  private merge(): void {
    const d = this.data;
    const half = Math.ceil(this.n / 2);
    for (let i = 0; i < half; i++) {
      const a = 2 * i * STRIDE;
      const b = a + STRIDE;
      const has = 2 * i + 1 < this.n;
      for (let f = 0; f < STRIDE; f++) {
        const va = d[a + f]!;
        const vb = has ? d[b + f]! : 0;
        d[i * STRIDE + f] = MAXED.has(f) ? Math.max(va, vb) : va + vb;
      }
    }
    d.fill(0, half * STRIDE, this.n * STRIDE);
    this.n = half;
    this.width *= 2;
  }

  add(time: number, field: number, value: number): void {
    const at = this.bucket(time) + field;
    this.data[at] = MAXED.has(field) ? Math.max(this.data[at]!, value) : this.data[at]! + value;
  }

  mark(m: TimelineMark): void {
    if (this.marks.length < MAX_MARKS) this.marks.push(m);
    else this.marksDropped++;
  }
}

export interface TimelineQuery {
  from?: number;
  to?: number;
  points?: number;
  minBucketMs?: number;
}

export class SessionTimeline {
  private readonly conns = new Map<string, Series>();

  private series(id: string): Series {
    let s = this.conns.get(id);
    if (!s) {
      s = new Series();
      this.conns.set(id, s);
    }
    return s;
  }

  /** Takes an event as it is recorded. */
  event(e: EngineEvent): void {
    switch (e.event) {
      case 'frame': {
        const s = this.series(e.connection);
        const side = sideIndex(e.from);
        s.add(e.time, FRAMES + side, 1);
        s.add(e.time, BYTES + side, e.length);
        // A data message completes on its final frame: reassembled/inflated, or one plain frame.
        const size = e.message ? e.message.length : (e.opcode === 1 || e.opcode === 2) && e.fin && !e.rsv1 ? e.length : null;
        if (size !== null) {
          s.add(e.time, MESSAGES + side, 1);
          s.add(e.time, MSG_BYTES + side, size);
          s.add(e.time, MAX_SIZE + side, size);
        }
        if (e.rtt !== undefined) {
          s.add(e.time, RTT_SUM, e.rtt);
          s.add(e.time, RTT_N, 1);
        }
        if (e.violations?.length) {
          const v = e.violations;
          s.mark({ time: e.time, connection: e.connection, seq: e.seq, kind: 'violation', text: v.map((x) => `${x.id}: ${x.message}`).join('; ') });
        }
        if (e.opcode === 8) {
          const code = e.close?.code;
          s.mark({ time: e.time, connection: e.connection, seq: e.seq, kind: 'close', text: `close from ${e.from}${code ? ` ${code}` : ''}${e.close?.reason ? ` ${e.close.reason}` : ''}` });
        }
        break;
      }
      case 'close': {
        const s = this.series(e.connection);
        const time = e.endedAt ?? s.last;
        if (Number.isNaN(time)) break;
        s.add(time, FRAMES, 0);
        s.mark({ time, connection: e.connection, seq: null, kind: 'end', text: `ended${e.code ? ` ${e.code}` : ''}${e.clean ? '' : ' (not clean)'}` });
        break;
      }
      case 'error': {
        const s = this.series(e.connection);
        // Errors carry no time: they are marked at the connection's latest.
        if (!Number.isNaN(s.last)) s.mark({ time: s.last, connection: e.connection, seq: null, kind: 'error', text: e.message.slice(0, 500) });
        break;
      }
      default:
        break;
    }
  }

  /** A decoded answer's latency, at its frame's time (heartbeats are not requests). */
  latency(connection: string, time: number, ms: number): void {
    const s = this.series(connection);
    s.add(time, LAT_SUM, ms);
    s.add(time, LAT_N, 1);
  }

  /** Forgets a connection's decoded latencies (it is being decoded again). */
  resetLatency(connection: string): void {
    const s = this.conns.get(connection);
    if (!s) return;
    for (let i = 0; i < s.n; i++) {
      s.data[i * STRIDE + LAT_SUM] = 0;
      s.data[i * STRIDE + LAT_N] = 0;
    }
  }

  forget(id: string): void {
    this.conns.delete(id);
  }

  /** The series of these connections, merged, over [from, to], in at most `points` buckets. */
  query(ids: readonly string[], q: TimelineQuery = {}): Omit<Timeline, 'connection' | 'origin' | 'live'> {
    const chosen = ids.map((id) => this.conns.get(id)).filter((s): s is Series => !!s && s.n > 0);
    const points = Math.max(1, Math.min(MAX_POINTS, q.points ?? MAX_POINTS));
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of chosen) {
      lo = Math.min(lo, s.start);
      hi = Math.max(hi, s.start + s.n * s.width);
    }
    const from = q.from ?? (Number.isFinite(lo) ? lo : 0);
    const to = Math.max(from, q.to ?? (Number.isFinite(hi) ? hi : from));
    // The output width: no finer than what the connections kept, and few enough buckets.
    let width = BASE_BUCKET_MS;
    for (const s of chosen) width = Math.max(width, s.width);
    while ((to - from) / width > points || width < (q.minBucketMs ?? 0)) width *= 2;
    const n = chosen.length === 0 ? 0 : Math.min(points, Math.max(1, Math.ceil((to - from) / width)));
    const acc = new Float64Array(n * STRIDE);
    const marks: TimelineMark[] = [];
    let dropped = 0;
    for (const s of chosen) {
      for (let i = 0; i < s.n; i++) {
        const t = s.start + i * s.width;
        // A source bucket counts where its start falls (and where it ends, if it starts earlier).
        const o = Math.floor(((t < from ? Math.min(t + s.width - 1e-9, to) : t) - from) / width);
        if (o < 0 || o >= n || t > to) continue;
        for (let f = 0; f < STRIDE; f++) {
          const v = s.data[i * STRIDE + f]!;
          if (v === 0) continue;
          const at = o * STRIDE + f;
          acc[at] = MAXED.has(f) ? Math.max(acc[at]!, v) : acc[at]! + v;
        }
      }
      for (const m of s.marks) if (m.time >= from && m.time <= to) marks.push(m);
      dropped += s.marksDropped;
    }
    marks.sort((a, b) => a.time - b.time);
    const side = (k: number): TimelineSide => {
      const out: TimelineSide = { frames: [], bytes: [], messages: [], avgSize: [], maxSize: [] };
      for (let i = 0; i < n; i++) {
        const b = i * STRIDE;
        const msgs = acc[b + MESSAGES + k]!;
        out.frames.push(acc[b + FRAMES + k]!);
        out.bytes.push(acc[b + BYTES + k]!);
        out.messages.push(msgs);
        out.avgSize.push(msgs > 0 ? Math.round(acc[b + MSG_BYTES + k]! / msgs) : null);
        out.maxSize.push(msgs > 0 ? acc[b + MAX_SIZE + k]! : null);
      }
      return out;
    };
    const mean = (sum: number, count: number): Array<number | null> => {
      const out: Array<number | null> = [];
      for (let i = 0; i < n; i++) {
        const c = acc[i * STRIDE + count]!;
        out.push(c > 0 ? Math.round((acc[i * STRIDE + sum]! / c) * 1000) / 1000 : null);
      }
      return out;
    };
    const cut = marks.length > MAX_MARKS ? marks.length - MAX_MARKS : 0;
    return {
      from,
      to,
      bucketMs: width,
      count: n,
      client: side(0),
      server: side(1),
      rtt: mean(RTT_SUM, RTT_N),
      latency: mean(LAT_SUM, LAT_N),
      marks: cut ? marks.slice(0, MAX_MARKS) : marks,
      marksDropped: dropped + cut,
    };
  }
}
