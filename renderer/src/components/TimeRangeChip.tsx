// The time range brushed on the timeline, as a chip in the filter bar: the list shows the
// frames of that range (of whichever connection is selected) until the chip is clicked.
import { resolveTimeRange, setTimeRange } from '../store/timeline-actions';
import { useAppStore } from '../store/store';
import { formatRange } from '../views/timeline';
import { useThrottled } from './use-throttled';
import { TIMELINE_REFRESH_MS } from './Timeline';

export function TimeRangeChip({ connection }: { connection: string }) {
  const range = useAppStore((s) => s.filter.timeRange);
  const startedAt = useAppStore((s) => s.connections.get(connection)?.startedAt ?? 0);
  // A live connection may still record frames stamped inside the range: ask again as rows come.
  const tick = useAppStore((s) => {
    const c = s.connections.get(connection);
    return c && c.endedAt === null ? c : null;
  });
  useThrottled(range ? `${connection}\u0000${range.from}\u0000${range.to}` : '', range ? tick : null, TIMELINE_REFRESH_MS, () =>
    range ? resolveTimeRange(connection) : Promise.resolve(),
  );
  if (!range) return null;
  return (
    <button
      type="button"
      className="chip time-chip"
      data-testid="time-range-chip"
      data-from={((range.from - startedAt) / 1000).toFixed(6)}
      data-to={((range.to - startedAt) / 1000).toFixed(6)}
      title="The list shows the frames of this time range, brushed on the timeline (seconds since the connection began). Click to show every frame."
      aria-label={`Time range ${formatRange(range, startedAt)}: click to clear`}
      onClick={() => setTimeRange(null)}
    >
      {formatRange(range, startedAt)} <span aria-hidden="true">✕</span>
    </button>
  );
}
