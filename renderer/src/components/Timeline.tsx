// The timeline above the frame list: messages/s and bytes/s per direction, message sizes,
// ping RTT and decoded request latency over time, for the selected connection or for all,
// with violations and closes marked. Drawn on canvas by uPlot (a million points do not
// stall it). Drag across it to show only that time range in the list; double-click clears.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Timeline as TimelineData, TimelineMark } from '../../../shared/contract';
import { loadTimeline, setTimeRange } from '../store/timeline-actions';
import { useAppStore } from '../store/store';
import { shortNumber, timingColumns, trafficColumns } from '../views/timeline';
import { useTheme } from './hooks';
import { useThrottled } from './use-throttled';
import { TimeRangeChip } from './TimeRangeChip';
import { later } from './later';

/** A live timeline is asked for again at most this often. */
export const TIMELINE_REFRESH_MS = 500;
const CHART_HEIGHT = 88;

type Kind = 'traffic' | 'timing';

/** The timeline, or (hidden) a one-line strip to show it again that keeps the range's chip. */
let canvasOk: boolean | null = null;
function canCanvas(): boolean {
  if (canvasOk === null) {
    try {
      canvasOk = document.createElement('canvas').getContext('2d') !== null;
    } catch {
      canvasOk = false;
    }
  }
  return canvasOk;
}

export function TimelinePanel() {
  const shown = useAppStore((s) => s.prefs.timeline);
  const connection = useAppStore((s) => s.selectedConnection)!;
  const setPrefs = useAppStore((s) => s.setPrefs);
  if (shown) return <TimelineCharts />;
  return (
    <div className="timeline collapsed">
      <button type="button" className="btn ghost small" data-testid="timeline-toggle" title="Show the timeline: traffic, sizes, RTT and latency over time" onClick={() => setPrefs({ timeline: true })}>
        ▸ Timeline
      </button>
      <span className="grow" />
      <TimeRangeChip connection={connection} />
    </div>
  );
}

function TimelineCharts() {
  const theme = useTheme();
  const connection = useAppStore((s) => s.selectedConnection)!;
  const scope = useAppStore((s) => s.prefs.timelineScope);
  const setPrefs = useAppStore((s) => s.setPrefs);
  const range = useAppStore((s) => s.filter.timeRange);
  // Changes with every pushed batch of the connection (or of any, for all): ask again.
  const tick = useAppStore((s) => (scope === 'all' ? s.connections : s.connections.get(connection)));
  const [data, setData] = useState<TimelineData | { error: string } | null>(null);
  const key = scope === 'all' ? '\u0000all' : connection;
  const panel = useRef<HTMLElement>(null);
  useEffect(() => setData(null), [key]);
  useThrottled(key, tick, TIMELINE_REFRESH_MS, (current) =>
    // About one bucket per 3 pixels (and none under MIN_BUCKET_MS): finer would draw a comb.
    loadTimeline(scope === 'all' ? undefined : connection, Math.round((panel.current?.clientWidth ?? 600) / 3)).then(
      (t) => current() && setData(t),
      (err: unknown) => current() && setData({ error: err instanceof Error ? err.message : String(err) }),
    ),
  );
  const t = data && !('error' in data) ? data : null;
  const marks = t?.marks ?? [];
  return (
    <section ref={panel} className="timeline" data-testid="timeline" aria-label="Timeline" data-buckets={t?.count ?? 0}>
      <div className="timeline-head">
        <span className="timeline-title">Timeline</span>
        <div className="segmented small" role="radiogroup" aria-label="Timeline of">
          {(['connection', 'all'] as const).map((s) => (
            <button
              key={s}
              type="button"
              role="radio"
              aria-checked={scope === s}
              className={scope === s ? 'on' : ''}
              data-testid={`timeline-scope-${s}`}
              onClick={() => setPrefs({ timelineScope: s })}
            >
              {s === 'connection' ? 'This connection' : 'All'}
            </button>
          ))}
        </div>
        <MarkCounts marks={marks} />
        <span className="grow" />
        {range ? <TimeRangeChip connection={connection} /> : <span className="muted timeline-hint">drag across it to list only that time range</span>}
        <button type="button" className="btn ghost small" title="Hide the timeline" aria-label="Hide the timeline" data-testid="timeline-hide" onClick={() => setPrefs({ timeline: false })}>
          ✕
        </button>
      </div>
      {data === null ? (
        <div className="timeline-empty muted">Loading…</div>
      ) : 'error' in data ? (
        <div className="timeline-empty error-text">Could not load the timeline: {data.error}</div>
      ) : data.count === 0 ? (
        <div className="timeline-empty muted">No traffic yet.</div>
      ) : (
        <div className="timeline-charts">
          <Chart kind="traffic" data={data} theme={theme} range={range} />
          <Chart kind="timing" data={data} theme={theme} range={range} />
        </div>
      )}
    </section>
  );
}

function MarkCounts({ marks }: { marks: readonly TimelineMark[] }) {
  const violations = marks.filter((m) => m.kind === 'violation').length;
  const closes = marks.filter((m) => m.kind === 'close' || m.kind === 'end').length;
  const errors = marks.filter((m) => m.kind === 'error').length;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return (
    <span className="timeline-marks">
      {violations > 0 && (
        <span className="tl-key tl-violation" title="frames with a protocol violation (red lines)">
          ⚠ {plural(violations, 'violation', 'violations')}
        </span>
      )}
      {errors > 0 && (
        <span className="tl-key tl-violation" title="errors (red lines)">
          {plural(errors, 'error', 'errors')}
        </span>
      )}
      {closes > 0 && (
        <span className="tl-key tl-close" title="close frames and the connection's end (grey dashed lines)">
          {plural(closes, 'close', 'closes')}
        </span>
      )}
    </span>
  );
}

interface Palette {
  client: string;
  server: string;
  bad: string;
  warn: string;
  accent: string;
  accentSoft: string;
  muted: string;
  grid: string;
  font: string;
}

/** The chart colours of a theme, read from its CSS once (a computed style read recalculates styles). */
const palettes = new Map<string, Palette>();
function palette(theme: string): Palette {
  const known = palettes.get(theme);
  if (known) return known;
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const p: Palette = {
    client: v('--client', '#e6a157'),
    server: v('--server', '#5ec79f'),
    bad: v('--bad', '#ff6d6d'),
    warn: v('--warn', '#e3bd5a'),
    accent: v('--accent', '#5ea8ff'),
    accentSoft: v('--accent-soft', 'rgba(94,168,255,0.14)'),
    muted: v('--muted', '#8590a0'),
    grid: v('--border', '#262c35'),
    font: `10px ${v('--font-ui', 'sans-serif')}`,
  };
  palettes.set(theme, p);
  return p;
}

/** What the chart's hooks read when they run (kept current without rebuilding the chart). */
interface Live {
  origin: number;
  bucketMs: number;
  range: { from: number; to: number } | null;
  marks: readonly TimelineMark[];
}

function Chart({ kind, data, theme, range }: { kind: Kind; data: TimelineData; theme: string; range: { from: number; to: number } | null }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const live = useRef<Live>({ origin: data.origin, bucketMs: data.bucketMs, range, marks: data.marks });
  live.current = { origin: data.origin, bucketMs: data.bucketMs, range, marks: data.marks };
  const columns = kind === 'traffic' ? trafficColumns(data) : timingColumns(data);

  // The newest data, for a build that runs after later data came.
  const latest = useRef(columns);
  latest.current = columns;

  // Built once per kind and theme, in a task of its own (after the pane's first draw); the
  // data and the marks change without a rebuild.
  useEffect(() => {
    const el = host.current;
    // A page without a 2D canvas (disabled, or a DOM without one) gets no chart, not an error.
    if (!el || !canCanvas()) return;
    let u: uPlot | null = null;
    let resize: ResizeObserver | null = null;
    const cancel = later(() => {
      // A child's effects run before its parents': put the theme on <html> (as useTheme will)
      // before reading its colours, or a theme switch would draw in the old one. Only if it
      // changes: any write restyles the whole page.
      if (document.documentElement.dataset.theme !== theme) document.documentElement.dataset.theme = theme;
      const chart = new uPlot(options(kind, palette(theme), live, el.clientWidth || 600), latest.current as uPlot.AlignedData, el);
      u = chart;
      plot.current = chart;
      // Only a change of width redraws (the observer also reports the size it starts with).
      resize =
        typeof ResizeObserver === 'function'
          ? new ResizeObserver((entries) => {
              const width = Math.round(entries.at(-1)?.contentRect.width ?? el.clientWidth);
              if (width !== chart.width) chart.setSize({ width, height: CHART_HEIGHT });
            })
          : null;
      resize?.observe(el);
    });
    return () => {
      cancel();
      resize?.disconnect();
      u?.destroy();
      plot.current = null;
    };
  }, [kind, theme]);

  useEffect(() => {
    plot.current?.setData(columns as uPlot.AlignedData);
  }, [data]);

  useEffect(() => {
    plot.current?.redraw(false);
  }, [range]);

  return <div ref={host} className={`timeline-chart tl-${kind}`} data-testid={`timeline-${kind}`} />;
}

function options(kind: Kind, p: Palette, live: { current: Live }, width: number): uPlot.Options {
  const zeroBased: uPlot.Range.Function = (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1];
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  const axis = (scale: string, side: 1 | 3, unit: string): uPlot.Axis => ({
    scale,
    side,
    stroke: p.muted,
    font: p.font,
    size: 46,
    gap: 3,
    space: 18,
    grid: { stroke: p.grid, width: 1, show: side === 3 },
    ticks: { stroke: p.grid, width: 1, size: 3 },
    values: (_u, vals) => vals.map((v) => `${shortNumber(v)}${unit}`),
  });
  const line = (label: string, stroke: string, scale: string, dash?: number[]): uPlot.Series => ({
    label,
    stroke,
    scale,
    width: 1.25,
    // a size is known only where a message was: join them across the empty buckets
    spanGaps: scale === 'size',
    ...(dash ? { dash } : {}),
    ...(stepped ? { paths: stepped } : {}),
    // a line needs two buckets: a connection shorter than one is drawn as its one point
    points: { show: (_u, _s, i0, i1) => i1 - i0 < 1, size: 5, fill: stroke, stroke },
    value: (_u, v) => (v === null || v === undefined ? '–' : shortNumber(v)),
  });
  const dots = (label: string, stroke: string, scale: string): uPlot.Series => ({
    label,
    stroke,
    scale,
    width: 0,
    paths: () => null,
    points: { show: true, size: 5, fill: stroke, stroke },
    value: (_u, v) => (v === null || v === undefined ? '–' : `${+v.toFixed(1)} ms`),
  });
  const series: uPlot.Series[] =
    kind === 'traffic'
      ? [line('↑ msg/s', p.client, 'rate'), line('↓ msg/s', p.server, 'rate'), line('↑ B/s', p.client, 'bytes', [3, 3]), line('↓ B/s', p.server, 'bytes', [3, 3])]
      : [line('↑ size B', p.client, 'size'), line('↓ size B', p.server, 'size'), dots('ping RTT', p.accent, 'ms'), dots('latency', p.warn, 'ms')];
  const left = kind === 'traffic' ? axis('rate', 3, '/s') : axis('size', 3, 'B');
  const right = kind === 'traffic' ? axis('bytes', 1, 'B/s') : axis('ms', 1, 'ms');
  return {
    width,
    height: CHART_HEIGHT,
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false, setScale: false }, sync: { key: 'framescope-timeline' }, points: { show: false } },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    // x runs to the end of the last bucket (a close at its end is still on the chart)
    scales: { x: { time: false, range: (_u, min, max) => [min, max + live.current.bucketMs / 1000] }, rate: { range: zeroBased }, bytes: { range: zeroBased }, size: { range: zeroBased }, ms: { range: zeroBased } },
    axes: [
      {
        stroke: p.muted,
        font: p.font,
        size: 22,
        gap: 2,
        grid: { stroke: p.grid, width: 1 },
        ticks: { stroke: p.grid, width: 1, size: 3 },
        values: (_u, vals) => vals.map((v) => `${+v.toFixed(3)} s`),
      },
      left,
      right,
    ],
    series: [{ label: 't', value: (_u, v) => (v === null || v === undefined ? '–' : `${v.toFixed(2)} s`) }, ...series],
    hooks: {
      ready: [
        (u) => {
          // A double click shows every frame again.
          u.over.addEventListener('dblclick', () => setTimeRange(null));
        },
      ],
      setSelect: [
        (u) => {
          const { left, width: w } = u.select;
          if (w < 2) return;
          const o = live.current.origin;
          const a = u.posToVal(left, 'x');
          const b = u.posToVal(left + w, 'x');
          // The box goes; the range stays drawn as a band (it outlives new data and redraws).
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          setTimeRange({ from: o + a * 1000, to: o + b * 1000 });
        },
      ],
      draw: [(u) => drawOverlay(u, live.current, p)],
    },
  };
}

/** The brushed range as a band, and the marks as vertical lines (over the series). */
function drawOverlay(u: uPlot, live: Live, p: Palette): void {
  const { ctx, bbox } = u;
  const x = (time: number) => u.valToPos((time - live.origin) / 1000, 'x', true);
  ctx.save();
  // the last series drawn may have left a dash set
  ctx.setLineDash([]);
  if (live.range) {
    const a = Math.max(bbox.left, x(live.range.from));
    const b = Math.min(bbox.left + bbox.width, x(live.range.to));
    if (b > a) {
      ctx.fillStyle = p.accentSoft;
      ctx.fillRect(a, bbox.top, b - a, bbox.height);
      ctx.strokeStyle = p.accent;
      ctx.lineWidth = 1 * devicePixelRatio;
      ctx.strokeRect(a, bbox.top, b - a, bbox.height);
    }
  }
  ctx.lineWidth = 1 * devicePixelRatio;
  for (const m of live.marks) {
    const at = Math.round(x(m.time)) + 0.5;
    if (at < bbox.left || at > bbox.left + bbox.width) continue;
    const bad = m.kind === 'violation' || m.kind === 'error';
    ctx.strokeStyle = bad ? p.bad : p.muted;
    ctx.setLineDash(bad ? [] : [3 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(at, bbox.top);
    ctx.lineTo(at, bbox.top + bbox.height);
    ctx.stroke();
    // a small flag at the top, so a mark on a busy line is still seen
    ctx.fillStyle = bad ? p.bad : p.muted;
    ctx.beginPath();
    ctx.moveTo(at - 3 * devicePixelRatio, bbox.top);
    ctx.lineTo(at + 3 * devicePixelRatio, bbox.top);
    ctx.lineTo(at, bbox.top + 5 * devicePixelRatio);
    ctx.fill();
  }
  ctx.restore();
}
