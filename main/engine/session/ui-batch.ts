// Batches of UI events, bounded. A UI shows a window of rows, and every row can be fetched
// again by seq (`frames`), so a batch need not carry every row of a flood: it carries the
// newest ones, and the UI fetches a hole below them only if someone scrolls there. That
// bounds both the work of one batch in the page and what waits in a slow page's socket.
import type { ConnectionSummary, FrameSummary, UiEvent } from '../../../shared/contract';

/** Rows per connection in one batch; older rows of a flood are left for `frames` to fetch. */
export const MAX_ROWS_PER_BATCH = 1000;

/**
 * Merges batches into one: each connection's newest summary, then its newest rows (in seq
 * order, at most MAX_ROWS_PER_BATCH), then the other events in order.
 */
export function coalesce(batches: readonly UiEvent[][]): UiEvent[] {
  const summaries = new Map<string, ConnectionSummary>();
  const rows = new Map<string, FrameSummary[]>();
  const others: UiEvent[] = [];
  for (const batch of batches) {
    for (const e of batch) {
      if (e.type === 'connection') summaries.set(e.connection.id, e.connection);
      else if (e.type === 'frames') {
        const list = rows.get(e.connection);
        if (list) list.push(...e.frames);
        else rows.set(e.connection, [...e.frames]);
      } else others.push(e);
    }
  }
  const out: UiEvent[] = [];
  for (const connection of summaries.values()) out.push({ type: 'connection', connection });
  for (const [connection, frames] of rows) out.push({ type: 'frames', connection, frames: newest(frames) });
  out.push(...others);
  return out;
}

/** The newest MAX_ROWS_PER_BATCH rows. */
export function newest(frames: FrameSummary[]): FrameSummary[] {
  return frames.length > MAX_ROWS_PER_BATCH ? frames.slice(frames.length - MAX_ROWS_PER_BATCH) : frames;
}
