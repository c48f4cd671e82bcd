// The timeline's numbers as the charts draw them: x in seconds since the connection (or the
// session) began, counts per bucket turned into rates per second. Pure: no DOM.
import type { Timeline } from '../../../shared/contract';

export type Column = Array<number | null>;

/** Bucket starts, in seconds since `origin`. */
export function xSeconds(t: Timeline): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.count; i++) out.push((t.from + i * t.bucketMs - t.origin) / 1000);
  return out;
}

const perSecond = (xs: readonly number[], bucketMs: number): number[] => xs.map((v) => (v * 1000) / bucketMs);

/** x, ↑ messages/s, ↓ messages/s, ↑ bytes/s, ↓ bytes/s */
export function trafficColumns(t: Timeline): [number[], ...Column[]] {
  return [
    xSeconds(t),
    perSecond(t.client.messages, t.bucketMs),
    perSecond(t.server.messages, t.bucketMs),
    perSecond(t.client.bytes, t.bucketMs),
    perSecond(t.server.bytes, t.bucketMs),
  ];
}

/** x, ↑ mean message size, ↓ mean message size, ping RTT (ms), request latency (ms) */
export function timingColumns(t: Timeline): [number[], ...Column[]] {
  return [xSeconds(t), t.client.avgSize, t.server.avgSize, t.rtt, t.latency];
}

/** "12.3 s – 14.0 s", seconds since `origin`, to the tenth (finer when the window is short). */
export function formatRange(range: { from: number; to: number }, origin: number): string {
  const a = (range.from - origin) / 1000;
  const b = (range.to - origin) / 1000;
  const digits = b - a < 0.1 ? 3 : b - a < 1 ? 2 : 1;
  return `${a.toFixed(digits)} s – ${b.toFixed(digits)} s`;
}

/** An axis tick: 950, 1.2k, 3.4M. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(a < 10 ? 1 : 0)}`;
}
