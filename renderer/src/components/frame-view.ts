// What the frame list shows for a connection: every row (seq = index), or, with a filter,
// the matching rows in memory; cut at the pause point when paused.
import { useDeferredValue, useMemo } from 'react';
import { residentRanges } from '../store/frame-chunks';
import { filterRows, isFilterActive } from '../store/filters';
import { useAppStore } from '../store/store';

export interface FrameView {
  connection: string;
  /** rows the list has */
  count: number;
  /** rows the connection has (not cut by the pause) */
  total: number;
  /** filtered: list index -> seq; null: index = seq */
  seqs: number[] | null;
  /** filtered: the seq ranges in memory the filter looked at */
  ranges: Array<[number, number]>;
  scanned: number;
  filterError: string | null;
  paused: boolean;
}

export function useFrameView(connection: string): FrameView {
  const chunks = useAppStore((s) => s.chunks);
  const liveFilter = useAppStore((s) => s.filter);
  const filter = useDeferredValue(liveFilter);
  const paused = useAppStore((s) => (s.paused && s.paused.connection === connection ? s.paused.count : null));
  const total = useAppStore((s) => s.rowCounts.get(connection) ?? 0);
  const limit = paused === null ? total : Math.min(paused, total);
  const active = isFilterActive(filter);
  const filtered = useMemo(() => (active ? filterRows(chunks, connection, filter, limit) : null), [active, chunks, connection, filter, limit]);
  const ranges = useMemo(() => (active ? residentRanges(chunks, connection, limit) : []), [active, chunks, connection, limit]);
  return {
    connection,
    count: filtered ? filtered.seqs.length : limit,
    total,
    seqs: filtered ? filtered.seqs : null,
    ranges,
    scanned: filtered?.scanned ?? 0,
    filterError: filtered?.error ?? null,
    paused: paused !== null,
  };
}

/** The list index of a seq in the view, or -1. */
export function indexOfSeq(view: Pick<FrameView, 'seqs' | 'count'>, seq: number): number {
  if (!view.seqs) return seq < view.count ? seq : -1;
  let lo = 0;
  let hi = view.seqs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = view.seqs[mid]!;
    if (v === seq) return mid;
    if (v < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export const seqAt = (view: Pick<FrameView, 'seqs'>, index: number): number => (view.seqs ? (view.seqs[index] ?? -1) : index);

export function describeRanges(ranges: ReadonlyArray<[number, number]>, max = 3): string {
  if (ranges.length === 0) return 'no rows';
  const parts = ranges.slice(0, max).map(([a, b]) => (b - a === 1 ? `#${a}` : `#${a}–${b - 1}`));
  if (ranges.length > max) parts.push(`+${ranges.length - max} more`);
  return parts.join(', ');
}
