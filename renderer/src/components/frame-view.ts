// What the frame list shows for a connection: every row (seq = index), or, with a filter,
// the matching rows in memory; cut at the pause point when paused, and to the frames of the
// time window brushed on the timeline (a seq range the engine answered).
import { useDeferredValue, useMemo } from 'react';
import { parseFieldQuery } from '../../../shared/decoders/field-path';
import { residentRanges } from '../store/frame-chunks';
import { fieldKey, filterRows, isFilterActive, parseFilterText, timeKey } from '../store/filters';
import { useAppStore } from '../store/store';

export interface FrameView {
  connection: string;
  /** rows the list has */
  count: number;
  /** rows the connection has (not cut by the pause) */
  total: number;
  /** filtered: list index -> seq; null: index = seq - first */
  seqs: number[] | null;
  /** unfiltered: the seq of the first row (a time window starts there) */
  first: number;
  /** a time window is set and the engine has not said yet which frames it holds */
  timePending: boolean;
  /** a time window cuts the list */
  windowed: boolean;
  /** filtered: the seq ranges in memory the filter looked at */
  ranges: Array<[number, number]>;
  scanned: number;
  filterError: string | null;
  paused: boolean;
  /** the rows shown answer the filter as typed: false while the deferred filter catches up,
   *  a field test waits for the engine's answer, or a time window for its seqs */
  settled: boolean;
}

export function useFrameView(connection: string): FrameView {
  const chunks = useAppStore((s) => s.chunks);
  const liveFilter = useAppStore((s) => s.filter);
  const filter = useDeferredValue(liveFilter);
  const paused = useAppStore((s) => (s.paused && s.paused.connection === connection ? s.paused.count : null));
  const total = useAppStore((s) => s.rowCounts.get(connection) ?? 0);
  const limit = paused === null ? total : Math.min(paused, total);
  const active = isFilterActive(filter);
  // The time window as seqs [lo, hi): nothing until the engine has answered for this window.
  const range = filter.timeRange;
  const span = range && filter.timeSeqs?.for === timeKey(connection, range) ? filter.timeSeqs : null;
  const timePending = range !== null && span === null;
  const lo = span ? Math.min(span.first, limit) : 0;
  const hi = timePending ? 0 : span ? Math.min(span.end, limit) : limit;
  const filtered = useMemo(() => {
    if (!active) return null;
    const f = filterRows(chunks, connection, filter, hi);
    return lo > 0 ? { ...f, seqs: f.seqs.filter((s) => s >= lo) } : f;
  }, [active, chunks, connection, filter, lo, hi]);
  const ranges = useMemo(() => (active ? residentRanges(chunks, connection, limit) : []), [active, chunks, connection, limit]);
  return {
    connection,
    count: filtered ? filtered.seqs.length : Math.max(0, hi - lo),
    total,
    seqs: filtered ? filtered.seqs : null,
    first: filtered ? 0 : lo,
    timePending,
    windowed: range !== null,
    ranges,
    scanned: filtered?.scanned ?? 0,
    filterError: filtered?.error ?? null,
    paused: paused !== null,
    settled: filter === liveFilter && !timePending && !fieldPending(filter, connection),
  };
}

function fieldPending(f: { text: string; fieldFor: string | null }, connection: string): boolean {
  const field = parseFilterText(f.text).field;
  return field !== null && typeof parseFieldQuery(field) !== 'string' && f.fieldFor !== fieldKey(connection, field);
}

/** The list index of a seq in the view, or -1. */
export function indexOfSeq(view: Pick<FrameView, 'seqs' | 'count' | 'first'>, seq: number): number {
  if (!view.seqs) return seq >= view.first && seq - view.first < view.count ? seq - view.first : -1;
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

export const seqAt = (view: Pick<FrameView, 'seqs' | 'first'>, index: number): number => (view.seqs ? (view.seqs[index] ?? -1) : view.first + index);

export function describeRanges(ranges: ReadonlyArray<[number, number]>, max = 3): string {
  if (ranges.length === 0) return 'no rows';
  const parts = ranges.slice(0, max).map(([a, b]) => (b - a === 1 ? `#${a}` : `#${a}–${b - 1}`));
  if (ranges.length > max) parts.push(`+${ranges.length - max} more`);
  return parts.join(', ');
}
