// The frames of the selected connection: one row per frame, virtualized (only the rows in
// view exist in the DOM), live. It follows the newest row while the user is at the bottom,
// and stays exactly where it is once they scroll up. Rows not in memory are fetched as
// they come into view.
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type PointerEvent as ReactPointerEvent, type ReactNode } from 'react';
import type { FrameSummary } from '../../../shared/contract';
import { closeCodeName, isControl, isKnownOpcode, opcodeName } from '../../../shared/codec/protocol';
import { ensureRows, loadEarlier } from '../store/actions';
import { NO_FILTER } from '../store/filters';
import { rowAt } from '../store/frame-chunks';
import { useAppStore } from '../store/store';
import { formatClock, formatCount, formatDuration, formatRelative } from '../views/format';
import { localStorageOrNull } from '../store/prefs';
import { clampWidth, DEFAULT_WIDTHS, gridColumns, loadWidths, saveWidths, type ColumnId, type ColumnWidths } from '../views/columns';
import { describeRanges, indexOfSeq, seqAt, useFrameView } from './frame-view';
import { useRowWindow } from './use-row-window';
import { interventionBadge } from '../views/intervention';

export const ROW_HEIGHT = 22;

export function FrameList() {
  const connection = useAppStore((s) => s.selectedConnection)!;
  const view = useFrameView(connection);
  const chunks = useAppStore((s) => s.chunks);
  const startedAt = useAppStore((s) => s.connections.get(connection)?.startedAt ?? 0);
  const live = useAppStore((s) => {
    const st = s.connections.get(connection)?.state;
    return st === 'open' || st === 'connecting' || st === 'closing';
  });
  const selectedSeq = useAppStore((s) => s.selectedSeq);
  const selectFrame = useAppStore((s) => s.selectFrame);
  const follow = useAppStore((s) => s.follow);
  const setFollow = useAppStore((s) => s.setFollow);
  const timeMode = useAppStore((s) => s.prefs.timeMode);
  const scrollRef = useRef<HTMLDivElement>(null);
  const [widths, setWidths] = useState<ColumnWidths>(() => loadWidths(localStorageOrNull()));
  const resize = useCallback((id: ColumnId, width: number, save: boolean) => {
    setWidths((w) => {
      const next = { ...w, [id]: clampWidth(width) };
      if (save) saveWidths(localStorageOrNull(), next);
      return next;
    });
  }, []);

  const pinned = follow && !view.paused;
  const win = useRowWindow(scrollRef, view.count, ROW_HEIGHT, 12, pinned);
  const { first, last } = win;

  // Rows in view (and a little around) must be in memory: fetch what is not.
  useEffect(() => {
    if (last < first) return;
    if (view.seqs) return; // a filter looks only at rows already in memory
    ensureRows(connection, Math.max(0, view.first + first - 64), view.first + last + 65);
  }, [connection, first, last, chunks, view.seqs, view.first]);

  // Follow the tail: after every render that grew the list, if following, go to the end.
  // If the view moved up since we last put it at the end, the user did that (their scroll
  // event may not have been dispatched yet): stop following instead of yanking them back.
  const autoTop = useRef<number | null>(null);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || !follow || view.paused) {
      autoTop.current = null;
      return;
    }
    if (autoTop.current !== null && el.scrollTop < autoTop.current - 1) {
      autoTop.current = null;
      setFollow(false);
      return;
    }
    el.scrollTop = win.totalHeight;
    autoTop.current = el.scrollTop;
  }, [view.count, follow, view.paused, setFollow, win.totalHeight]);

  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT;
    setFollow(atBottom);
  }, [setFollow]);

  // A search hit to show: scroll its row into the middle of the list (its rows are fetched
  // as they are drawn). A filter that hides it is cleared: the hit is what was asked for.
  const reveal = useAppStore((s) => s.reveal);
  const revealed = useRef(0);
  const scrollToIndex = win.scrollToIndex;
  useEffect(() => {
    if (!reveal || reveal.connection !== connection || revealed.current === reveal.n) return;
    const i = indexOfSeq(view, reveal.seq);
    if (i < 0) {
      if (view.seqs) {
        useAppStore.getState().setFilter(NO_FILTER);
        useAppStore.getState().notify('info', 'The frame filter was cleared to show the search hit');
      }
      return; // the view changes: this runs again
    }
    revealed.current = reveal.n;
    scrollToIndex(i, 'center');
  }, [reveal, connection, view, scrollToIndex]);

  const selectedIndex = selectedSeq === null ? -1 : indexOfSeq(view, selectedSeq);

  const moveTo = (index: number) => {
    if (view.count === 0) return;
    const i = Math.max(0, Math.min(view.count - 1, index));
    const seq = seqAt(view, i);
    if (seq < 0) return;
    selectFrame(seq);
    setFollow(i === view.count - 1);
    win.scrollToIndex(i, 'auto');
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 400) / ROW_HEIGHT) - 1);
    const from = selectedIndex >= 0 ? selectedIndex : e.key === 'ArrowUp' || e.key === 'PageUp' ? view.count : -1;
    const to: Record<string, number> = {
      ArrowDown: from + 1,
      ArrowUp: from - 1,
      PageDown: from + page,
      PageUp: from - page,
      Home: 0,
      End: view.count - 1,
    };
    const target = to[e.key];
    if (target === undefined) {
      if (e.key === 'Escape') selectFrame(null);
      return;
    }
    e.preventDefault();
    moveTo(target);
  };

  const jumpToLatest = () => {
    const el = scrollRef.current;
    if (el) el.scrollTop = el.scrollHeight;
    autoTop.current = el ? el.scrollTop : null;
    setFollow(true);
  };

  return (
    <div className="frame-list-wrap" style={{ '--frame-cols': gridColumns(widths) } as CSSProperties}>
      {view.seqs && (
        <div className={`filter-status ${view.filterError ? 'error' : ''}`} data-testid="filter-status">
          {view.filterError ? (
            <>Filter: {view.filterError}</>
          ) : (
            <>
              {formatCount(view.count)} of {formatCount(view.scanned)} rows in memory match ({describeRanges(view.ranges)} of{' '}
              {formatCount(view.total)}); rows not in memory are not searched.
              {(view.ranges[0]?.[0] ?? 0) > 0 && (
                <button type="button" className="link" data-testid="load-earlier" onClick={() => loadEarlier(connection)}>
                  {' '}
                  Search earlier rows
                </button>
              )}
            </>
          )}
        </div>
      )}
      <div className="frame-grid frame-head" role="presentation">
        <HeadCell id="seq" className="c-seq" widths={widths} onResize={resize}>
          #
        </HeadCell>
        <HeadCell id="time" className="c-time" widths={widths} onResize={resize}>
          {timeMode === 'relative' ? 'Δt (s)' : 'time'}
        </HeadCell>
        <span className="c-dir" title="direction: ↑ client → server, ↓ server → client">⇅</span>
        <HeadCell id="op" className="c-op" widths={widths} onResize={resize}>
          opcode
        </HeadCell>
        <span className="c-fin" title="FIN">F</span>
        <span className="c-rsv" title="RSV1 RSV2 RSV3">RSV</span>
        <span className="c-mask" title="MASK">M</span>
        <HeadCell id="len" className="c-len" widths={widths} onResize={resize} title="payload length as the frame header states it (on the wire; compressed if RSV1)">
          length
        </HeadCell>
        <HeadCell id="msg" className="c-msg" widths={widths} onResize={resize} title="the message's size: reassembled and inflated, on its final frame">
          message
        </HeadCell>
        <HeadCell id="dec" className="c-dec" widths={widths} onResize={resize} title="the application protocol's message (socket.io, graphql, json-rpc…): type, name, pairing">
          decoded
        </HeadCell>
        <span className="c-preview">payload</span>
      </div>
      <div
        ref={scrollRef}
        className="frame-scroll"
        data-testid="frame-list"
        role="listbox"
        aria-label="Frames"
        tabIndex={0}
        aria-activedescendant={selectedSeq !== null && selectedIndex >= first && selectedIndex <= last ? `frame-${selectedSeq}` : undefined}
        onScroll={onScroll}
        onWheel={(e) => {
          if (e.deltaY < 0 && follow) setFollow(false);
        }}
        onKeyDown={onKeyDown}
      >
        <div className="frame-spacer" style={{ height: win.totalHeight }}>
          {rangeOf(first, last).map((index) => {
            const seq = seqAt(view, index);
            const row = rowAt(chunks, connection, seq);
            return (
              <FrameRow
                key={seq}
                seq={seq}
                row={row}
                top={win.top(index)}
                selected={seq === selectedSeq}
                timeMode={timeMode}
                startedAt={startedAt}
                onSelect={selectFrame}
              />
            );
          })}
        </div>
        {view.count === 0 && (
          <div className="frame-empty muted">
            {view.timePending ? 'Finding the frames of the time range…' : view.seqs ? 'No frame in memory matches the filter.' : view.windowed ? 'No frame in the time range.' : 'No frames yet.'}
          </div>
        )}
      </div>
      {((!follow && live) || view.paused) && view.count > 0 && (
        <div className="list-status">
          {view.paused ? (
            <span>
              Paused at {formatCount(view.count)} rows
              {view.total > view.count && !view.seqs ? ` — ${formatCount(view.total - view.count)} newer not shown` : ''}
            </span>
          ) : (
            <span>Not following new frames</span>
          )}
          {!view.paused && (
            <button type="button" className="btn small" onClick={jumpToLatest}>
              ↓ Latest
            </button>
          )}
        </div>
      )}
    </div>
  );
}

/**
 * A header cell whose right edge is a handle: drag it (or focus it and press ←/→) to set the
 * column's width; a double click puts the default back. Widths are remembered.
 */
function HeadCell({
  id,
  className,
  widths,
  onResize,
  title,
  children,
}: {
  id: ColumnId;
  className: string;
  widths: ColumnWidths;
  onResize: (id: ColumnId, width: number, save: boolean) => void;
  title?: string;
  children: ReactNode;
}) {
  const drag = useRef<{ x: number; width: number } | null>(null);
  const width = widths[id];
  const onPointerDown = (e: ReactPointerEvent<HTMLSpanElement>) => {
    e.preventDefault();
    drag.current = { x: e.clientX, width };
    e.currentTarget.setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLSpanElement>) => {
    if (drag.current) onResize(id, drag.current.width + e.clientX - drag.current.x, false);
  };
  const onPointerUp = (e: ReactPointerEvent<HTMLSpanElement>) => {
    if (!drag.current) return;
    const start = drag.current;
    drag.current = null;
    onResize(id, start.width + e.clientX - start.x, true);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLSpanElement>) => {
    const step = e.shiftKey ? 20 : 5;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      onResize(id, width + (e.key === 'ArrowRight' ? step : -step), true);
    }
  };
  return (
    <span className={`${className} head-cell`} title={title}>
      {children}
      <span
        className="col-resize"
        role="separator"
        aria-orientation="vertical"
        aria-label={`Resize the ${id} column`}
        aria-valuenow={width}
        tabIndex={0}
        data-testid={`col-resize-${id}`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onDoubleClick={() => onResize(id, DEFAULT_WIDTHS[id], true)}
        onKeyDown={onKeyDown}
      />
    </span>
  );
}

/** The size of the message a row carries: its decoded size on a final frame, else none. */
export function messageSize(row: FrameSummary): number | null {
  if (row.message) return row.message.length;
  // One uncompressed data frame is the whole message.
  if ((row.opcode === 1 || row.opcode === 2) && row.fin && !row.rsv1) return row.length;
  return null;
}

function rangeOf(first: number, last: number): number[] {
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(i);
  return out;
}

function msgText(row: FrameSummary): string {
  const n = messageSize(row);
  return n === null ? '' : formatCount(n);
}

function dirLabel(from: FrameSummary['from']): string {
  return from === 'client' ? '↑' : '↓';
}

export function previewText(row: FrameSummary): string {
  if (row.close) {
    const code = row.close.code;
    return `${code ?? 'no status'}${code ? ` ${closeCodeName(code)}` : ''}${row.close.reason ? ` · ${row.close.reason}` : ''}`;
  }
  if (row.rtt !== undefined) return `rtt ${formatDuration(row.rtt)}${row.preview ? ` · ${row.preview}` : ''}`;
  return row.preview;
}

const FrameRow = memo(function FrameRow({
  seq,
  row,
  top,
  selected,
  timeMode,
  startedAt,
  onSelect,
}: {
  seq: number;
  row: FrameSummary | undefined;
  top: number;
  selected: boolean;
  timeMode: 'absolute' | 'relative';
  startedAt: number;
  onSelect: (seq: number) => void;
}) {
  const style = { transform: `translateY(${top}px)` };
  if (!row) {
    return (
      <div className="frame-grid frame-row placeholder" style={style} aria-busy="true">
        <span className="c-seq">{seq}</span>
        <span className="c-preview muted">loading…</span>
      </div>
    );
  }
  const violations = row.violations?.length ?? 0;
  const control = isControl(row.opcode);
  const cls = [
    'frame-grid',
    'frame-row',
    `from-${row.from}`,
    control ? 'control' : 'data',
    violations ? 'has-violation' : '',
    row.by ? 'by-framescope' : '',
    row.decoded?.heartbeat ? 'heartbeat' : '',
    selected ? 'selected' : '',
  ].join(' ');
  const badge = row.by || row.intervention ? interventionBadge(row) : null;
  return (
    <div
      id={`frame-${seq}`}
      role="option"
      aria-selected={selected}
      className={cls}
      style={style}
      data-testid="frame-row"
      data-seq={seq}
      data-opcode={row.opcode}
      data-from={row.from}
      onClick={() => onSelect(seq)}
    >
      <span className="c-seq">{seq}</span>
      <span className="c-time" title={formatClock(row.time)}>
        {timeMode === 'relative' ? formatRelative(row.time, startedAt) : formatClock(row.time)}
      </span>
      <span className={`c-dir dir-${row.from}`} title={row.from === 'client' ? 'client → server' : 'server → client'}>
        {dirLabel(row.from)}
      </span>
      <span className={`c-op op-${opcodeName(row.opcode).replace(/-\d+$/, '')}`} title={`opcode ${row.opcode}: ${opcodeName(row.opcode)}`}>
        {row.opcode === 0 ? 'cont.' : isKnownOpcode(row.opcode) ? opcodeName(row.opcode) : `rsvd ${row.opcode}`}
        {row.message && !row.rsv1 && (
          <span className="msg-tag" title={`the last frame of a fragmented message of ${row.message.length} bytes`}>
            msg
          </span>
        )}
      </span>
      <span className="c-fin">{row.fin ? '1' : '0'}</span>
      <span className={`c-rsv ${row.rsv1 || row.rsv2 || row.rsv3 ? 'set' : ''}`}>
        {row.rsv1 ? '1' : '0'}
        {row.rsv2 ? '1' : '0'}
        {row.rsv3 ? '1' : '0'}
      </span>
      <span className="c-mask" title={row.maskKey ? `mask key ${row.maskKey}` : 'not masked'}>
        {row.masked ? '1' : '0'}
      </span>
      <span className="c-len">{formatCount(row.length)}</span>
      <span className={`c-msg ${row.message && row.message.length !== row.length ? 'differs' : ''}`} data-testid="frame-message-size">
        {msgText(row)}
      </span>
      <DecodedCell row={row} />
      <span className={`c-preview ${row.previewText ? '' : 'hex'}`}>
        {badge && (
          <span className={`iv-badge iv-${badge.tone}`} data-testid="intervention-badge" data-intervention={row.intervention?.id} title={badge.title}>
            {badge.text}
          </span>
        )}
        {violations > 0 && (
          <span className="violation-mark" title={row.violations!.map((v) => `${v.id} (RFC ${v.rfc}): ${v.message}`).join('\n')}>
            ⚠
          </span>
        )}
        {previewText(row)}
      </span>
    </div>
  );
});

/** The decoded message in one line: a keep-alive dimmed, a message the protocol rejects marked. */
function DecodedCell({ row }: { row: FrameSummary }) {
  const d = row.decoded;
  if (!d) return <span className="c-dec" />;
  const bad = d.type === 'invalid' || d.type === 'truncated';
  const pair = d.pairedWith !== undefined ? ` → #${d.pairedWith}${d.latencyMs !== undefined ? ` ${formatMs(d.latencyMs)}` : ''}` : '';
  const text = `${d.summary}${pair}`;
  return (
    <span
      className={`c-dec ${d.heartbeat ? 'dec-heartbeat' : ''} ${bad ? 'dec-invalid' : ''}`}
      data-testid="frame-decoded"
      data-protocol={d.protocol}
      data-type={d.type}
      data-heartbeat={d.heartbeat ? 'true' : undefined}
      title={`${d.protocol} ${text}`}
    >
      {bad && <span className="violation-mark">⚠</span>}
      {d.heartbeat && '♥ '}
      {text}
    </span>
  );
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
