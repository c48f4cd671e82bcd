// The timeline's questions to the engine: the series to draw, and which frames of a
// connection a brushed time window holds (the list then shows exactly those).
import type { Timeline } from '../../../shared/contract';
import { engine } from './actions';
import { timeKey } from './filters';
import { useAppStore } from './store';

/** Rates are drawn over at least this long (ms): shorter, sparse traffic draws a comb of spikes. */
export const MIN_BUCKET_MS = 100;

/** A connection's timeline, or every connection's (connection absent), in at most `points` buckets. */
export async function loadTimeline(connection: string | undefined, points: number): Promise<Timeline> {
  const n = Math.max(20, Math.min(5000, Math.round(points)));
  return engine().timeline({ ...(connection === undefined ? {} : { connection }), points: n, minBucketMs: MIN_BUCKET_MS });
}

/** Asks which frames of `connection` the filter's time window holds; the answer lands in the filter. */
export async function resolveTimeRange(connection: string): Promise<void> {
  const range = useAppStore.getState().filter.timeRange;
  if (!range) return;
  try {
    const t = await engine().timeline({ connection, from: range.from, to: range.to, points: 1 });
    const now = useAppStore.getState();
    // A window changed meanwhile is answered by its own question.
    if (now.filter.timeRange !== range || !t.seqs) return;
    now.setFilter({ timeSeqs: { for: timeKey(connection, range), first: t.seqs.first, end: t.seqs.end } });
  } catch (err) {
    useAppStore.getState().notify('error', `Time range: ${err instanceof Error ? err.message : String(err)}`, connection);
  }
}

/** Shows the frames between two times (ms) in the list; null shows them all again. */
export function setTimeRange(range: { from: number; to: number } | null): void {
  useAppStore.getState().setFilter({ timeRange: range && range.to > range.from ? range : null, timeSeqs: null });
}
