// The frames of the selected connection: one row per frame, virtualized (only the rows in
// view exist in the DOM), live. It follows the newest row while the user is at the bottom,
// and stays exactly where it is once they scroll up. Rows not in memory are fetched as
// they come into view.
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent, type PointerEvent as ReactPointerEvent } from 'react';
import type { FrameSummary } from '../../../shared/contract';
import { closeCodeName, isControl, isKnownOpcode, opcodeName } from '../../../shared/codec/protocol';
import { ensureRows, loadEarlier } from '../store/actions';
import { NO_FILTER } from '../store/filters';
import { rowAt } from '../store/frame-chunks';
import { useAppStore } from '../store/store';
import { formatClock, formatCount, formatDuration, formatRelative } from '../views/format';
import { localStorageOrNull, type TimeMode } from '../store/prefs';
import {
  clampWidth,
  COLUMN_LABELS,
  DEFAULT_LAYOUT,
  DEFAULT_WIDTHS,
  gridColumns,
  isResizable,
  loadLayout,
  moveColumn,
  saveLayout,
  toggleColumn,
  visibleColumns,
  type ColumnId,
  type ColumnLayout,
  type ResizableId,
} from '../views/columns';
import { copyConnectionNdjson, copyPayload, copyText, toggleBookmark } from '../store/annotate-actions';
import { PAYLOAD_FORMATS, PAYLOAD_FORMAT_LABELS, rowLine } from '../views/copy';
import { MenuItem, MenuSeparator, PopupMenu } from './Menu';
import { describeRanges, indexOfSeq, seqAt, useFrameView } from './frame-view';
import { useLater } from './later';
import { useRowWindow } from './use-row-window';
import { interventionBadge } from '../views/intervention';

export const ROW_HEIGHT = 22;
/** The compact density's row height (the list's --row follows it). */
export const COMPACT_ROW_HEIGHT = 18;
export const rowHeightOf = (density: 'comfortable' | 'compact'): number => (density === 'compact' ? COMPACT_ROW_HEIGHT : ROW_HEIGHT);

/** Where the list last put the view, at the end (following the tail): its top and bottom edges. */
interface Pin {
  top: number;
  bottom: number;
}

/**
 * The user left the tail: both edges of the view are above where the list put them. A box
 * that changes size never reads so (one that shrinks keeps its top, one that grows keeps or
 * lowers its bottom: the browser clamps the top down to the end), nor does a list that grows.
 */
const leftTail = (el: HTMLElement, pin: Pin): boolean => el.scrollTop < pin.top - 1 && el.scrollTop + el.clientHeight < pin.bottom - 1;

/** Scrolls to the end; where that is. */
function pinToEnd(el: HTMLElement): Pin {
  el.scrollTop = el.scrollHeight;
  return { top: el.scrollTop, bottom: el.scrollTop + el.clientHeight };
}

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
  const density = useAppStore((s) => s.prefs.density);
  const rowHeight = rowHeightOf(density);
  const [layout, setLayout] = useState<ColumnLayout>(() => loadLayout(localStorageOrNull()));
  const changeLayout = useCallback((change: (l: ColumnLayout) => ColumnLayout, save = true) => {
    setLayout((l) => {
      const next = change(l);
      if (save && next !== l) saveLayout(localStorageOrNull(), next);
      return next;
    });
  }, []);
  const resize = useCallback(
    (id: ResizableId, width: number, save: boolean) => changeLayout((l) => ({ ...l, widths: { ...l.widths, [id]: clampWidth(width) } }), save),
    [changeLayout],
  );
  const columns = useMemo(() => visibleColumns(layout), [layout]);
  const [columnsMenu, setColumnsMenu] = useState<{ x: number; y: number } | null>(null);
  const [rowMenu, setRowMenu] = useState<{ x: number; y: number; seq: number } | null>(null);

  const pinned = follow && !view.paused;
  // Pinned to the end, no row above the view is about to be scrolled into it (a scroll up
  // ends the following first): draw just the rows in view, each draw of a live tail is then
  // a third cheaper.
  const win = useRowWindow(scrollRef, view.count, rowHeight, pinned ? 1 : 12, pinned);
  const { first, last } = win;
  // The first rows the page draws come a task after the list (with them, the pane's first
  // frame is a long task on a loaded machine), before the other pieces that wait.
  const rowsNow = useLater('frame-rows', true);

  // Rows in view (and a little around) must be in memory: fetch what is not.
  useEffect(() => {
    if (last < first) return;
    if (view.seqs) return; // a filter looks only at rows already in memory
    ensureRows(connection, Math.max(0, view.first + first - 64), view.first + last + 65);
  }, [connection, first, last, chunks, view.seqs, view.first]);

  // Follow the tail: after every render that grew the list, and whenever the list's box
  // changes size (the timeline above it draws, folds or opens; the window is resized), if
  // following, go to the end, unless the user has left it (their scroll event may not have
  // been dispatched yet: do not yank them back). Whatever order a resize, our scroll and its
  // asynchronous scroll event come in, the box's size is never taken for a user's scroll.
  const tail = useRef<Pin | null>(null);
  const keepOnTail = useCallback(
    (el: HTMLElement) => {
      if (tail.current && leftTail(el, tail.current)) {
        tail.current = null;
        setFollow(false);
      } else tail.current = pinToEnd(el);
    },
    [setFollow],
  );
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || !follow || view.paused) {
      tail.current = null;
      return;
    }
    keepOnTail(el);
  }, [view.count, follow, view.paused, keepOnTail, win.totalHeight]);

  useEffect(() => {
    const el = scrollRef.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    // After layout, before paint: the newest row is shown in the frame that resized the box.
    const ro = new ResizeObserver(() => {
      if (tail.current) keepOnTail(el);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [keepOnTail]);

  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    if (tail.current) {
      if (leftTail(el, tail.current)) {
        tail.current = null;
        setFollow(false);
      }
      return;
    }
    setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight);
  }, [setFollow, rowHeight]);

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
    if ((e.key === 'b' || e.key === 'B') && !e.ctrlKey && !e.metaKey && !e.altKey) {
      // b: bookmark the selected frame (or take its bookmark off).
      if (selectedSeq !== null) {
        e.preventDefault();
        void toggleBookmark(connection, selectedSeq);
      }
      return;
    }
    if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
      // The keyboard's way to the row menu: under the selected row.
      if (selectedSeq === null) return;
      e.preventDefault();
      const r = document.getElementById(`frame-${selectedSeq}`)?.getBoundingClientRect();
      setRowMenu({ x: (r?.left ?? 0) + 40, y: r?.bottom ?? 0, seq: selectedSeq });
      return;
    }
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 400) / rowHeight) - 1);
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

  const onRowMenu = useCallback(
    (seq: number, x: number, y: number) => {
      selectFrame(seq);
      setRowMenu({ x, y, seq });
    },
    [selectFrame],
  );

  const jumpToLatest = () => {
    const el = scrollRef.current;
    tail.current = el ? pinToEnd(el) : null;
    setFollow(true);
  };

  return (
    <div className={`frame-list-wrap density-${density}`} style={{ '--frame-cols': gridColumns(layout), '--row': `${rowHeight}px` } as CSSProperties}>
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
      <div
        className="frame-grid frame-head"
        role="presentation"
        onContextMenu={(e) => {
          e.preventDefault();
          setColumnsMenu({ x: e.clientX, y: e.clientY });
        }}
      >
        {columns.map((id) => (
          <HeadCell key={id} id={id} layout={layout} onResize={resize} onMove={(before) => changeLayout((l) => moveColumn(l, id, { before }))} timeMode={timeMode} />
        ))}
        <button
          type="button"
          className="columns-button"
          data-testid="columns-menu-button"
          aria-haspopup="menu"
          aria-expanded={columnsMenu !== null}
          title="Columns: show, hide, reorder, reset (or right-click the header)"
          aria-label="Columns"
          onClick={(e) => {
            const r = e.currentTarget.getBoundingClientRect();
            setColumnsMenu(columnsMenu ? null : { x: r.right - 220, y: r.bottom });
          }}
        >
          ⋮
        </button>
      </div>
      {columnsMenu && <ColumnsMenu at={columnsMenu} layout={layout} onChange={changeLayout} onClose={() => setColumnsMenu(null)} />}
      {rowMenu && <RowMenu at={rowMenu} connection={connection} startedAt={startedAt} timeMode={timeMode} onClose={() => setRowMenu(null)} />}
      <div
        ref={scrollRef}
        className="frame-scroll"
        data-testid="frame-list"
        role="listbox"
        aria-label="Frames"
        aria-busy={!view.settled}
        tabIndex={0}
        aria-activedescendant={selectedSeq !== null && selectedIndex >= first && selectedIndex <= last ? `frame-${selectedSeq}` : undefined}
        onScroll={onScroll}
        onWheel={(e) => {
          if (e.deltaY < 0 && follow) setFollow(false);
        }}
        onKeyDown={onKeyDown}
      >
        <div className="frame-spacer" style={{ height: win.totalHeight }}>
          {(rowsNow ? rangeOf(first, last) : []).map((index, _, drawn) => {
            const seq = seqAt(view, index);
            const row = rowAt(chunks, connection, seq);
            // Δ since the row above (in this view): its time, when it is in memory.
            const before = timeMode === 'delta' && index > 0 ? rowAt(chunks, connection, seqAt(view, index - 1))?.time : undefined;
            return (
              <FrameRow
                // Keyed by slot, not by frame: following a live tail, every draw shows rows
                // it did not show before, and a row's elements are then reused (their text
                // and place change) instead of all being removed and made anew (styled, laid
                // out), which was most of a draw's cost. In any run of drawn.length
                // consecutive indexes, index % drawn.length differs.
                key={index % drawn.length}
                seq={seq}
                row={row}
                top={win.top(index)}
                selected={seq === selectedSeq}
                timeMode={timeMode}
                startedAt={before ?? startedAt}
                columns={columns}
                onSelect={selectFrame}
                onMenu={onRowMenu}
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

const HEAD: Record<ColumnId, { label: (t: TimeMode) => string; title?: string }> = {
  seq: { label: () => '#' },
  time: { label: (t) => (t === 'relative' ? 'Δt (s)' : t === 'delta' ? '+prev (s)' : 'time'), title: 'relative: since the connection started; clock: the wall clock; +prev: since the row above' },
  dir: { label: () => '⇅', title: 'direction: ↑ client → server, ↓ server → client' },
  op: { label: () => 'opcode' },
  fin: { label: () => 'F', title: 'FIN' },
  rsv: { label: () => 'RSV', title: 'RSV1 RSV2 RSV3' },
  mask: { label: () => 'M', title: 'MASK' },
  len: { label: () => 'length', title: 'payload length as the frame header states it (on the wire; compressed if RSV1)' },
  msg: { label: () => 'message', title: "the message's size: reassembled and inflated, on its final frame" },
  dec: { label: () => 'decoded', title: "the application protocol's message (socket.io, graphql, json-rpc…): type, name, pairing" },
  preview: { label: () => 'payload' },
};

/**
 * A header cell. Drag it onto another to move the column there (the columns menu moves
 * them with the keyboard). A resizable one has a handle on its right edge: drag it (or
 * focus it and press ←/→) to set the width; a double click puts the default back.
 */
function HeadCell({
  id,
  layout,
  onResize,
  onMove,
  timeMode,
}: {
  id: ColumnId;
  layout: ColumnLayout;
  onResize: (id: ResizableId, width: number, save: boolean) => void;
  onMove: (before: ColumnId | null) => void;
  timeMode: TimeMode;
}) {
  const move = useRef<{ x: number; moved: boolean } | null>(null);
  const [dragging, setDragging] = useState(false);
  const onPointerDown = (e: ReactPointerEvent<HTMLSpanElement>) => {
    if (e.button !== 0) return;
    move.current = { x: e.clientX, moved: false };
    e.currentTarget.setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLSpanElement>) => {
    const m = move.current;
    if (!m || m.moved || Math.abs(e.clientX - m.x) < 6) return;
    m.moved = true;
    setDragging(true);
  };
  const onPointerUp = (e: ReactPointerEvent<HTMLSpanElement>) => {
    const m = move.current;
    move.current = null;
    setDragging(false);
    if (!m?.moved) return;
    // Dropped on a column: before it when on its left half, else after it.
    const target = document.elementFromPoint(e.clientX, e.clientY)?.closest<HTMLElement>('.frame-head [data-col]');
    const over = target?.dataset['col'] as ColumnId | undefined;
    if (!target || !over || over === id) return;
    const r = target.getBoundingClientRect();
    if (e.clientX < r.left + r.width / 2) onMove(over);
    else {
      const visible = visibleColumns(layout);
      onMove(visible[visible.indexOf(over) + 1] ?? null);
    }
  };
  const head = HEAD[id];
  return (
    <span
      className={`c-${id} head-cell ${dragging ? 'dragging' : ''}`}
      title={head.title ? `${head.title} — drag to move` : 'drag to move'}
      data-col={id}
      data-testid={`col-head-${id}`}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => {
        move.current = null;
        setDragging(false);
      }}
    >
      {head.label(timeMode)}
      {isResizable(id) && <ResizeHandle id={id} width={layout.widths[id]} onResize={onResize} />}
    </span>
  );
}

function ResizeHandle({ id, width, onResize }: { id: ResizableId; width: number; onResize: (id: ResizableId, width: number, save: boolean) => void }) {
  const drag = useRef<{ x: number; width: number } | null>(null);
  const onPointerDown = (e: ReactPointerEvent<HTMLSpanElement>) => {
    e.preventDefault();
    // A resize, not a move of the column.
    e.stopPropagation();
    drag.current = { x: e.clientX, width };
    e.currentTarget.setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLSpanElement>) => {
    e.stopPropagation();
    if (drag.current) onResize(id, drag.current.width + e.clientX - drag.current.x, false);
  };
  const onPointerUp = (e: ReactPointerEvent<HTMLSpanElement>) => {
    e.stopPropagation();
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
  );
}

/** Show, hide and move the columns (each with the keyboard too), or put them all back. */
function ColumnsMenu({
  at,
  layout,
  onChange,
  onClose,
}: {
  at: { x: number; y: number };
  layout: ColumnLayout;
  onChange: (change: (l: ColumnLayout) => ColumnLayout) => void;
  onClose: () => void;
}) {
  const visible = visibleColumns(layout);
  return (
    <PopupMenu x={at.x} y={at.y} onClose={onClose} testId="columns-menu" label="Columns">
      <div className="menu-title">Columns</div>
      {layout.order.map((id) => {
        const shown = !layout.hidden.includes(id);
        const i = visible.indexOf(id);
        return (
          <div key={id} className="menu-column" data-col={id}>
            <label className="check">
              <input
                type="checkbox"
                data-testid={`column-toggle-${id}`}
                checked={shown}
                disabled={shown && visible.length <= 1}
                onChange={() => onChange((l) => toggleColumn(l, id))}
              />
              {COLUMN_LABELS[id]}
            </label>
            <span className="grow" />
            <button type="button" className="btn ghost small" data-testid={`column-left-${id}`} aria-label={`Move ${COLUMN_LABELS[id]} left`} disabled={!shown || i <= 0} onClick={() => onChange((l) => moveColumn(l, id, -1))}>
              ←
            </button>
            <button type="button" className="btn ghost small" data-testid={`column-right-${id}`} aria-label={`Move ${COLUMN_LABELS[id]} right`} disabled={!shown || i < 0 || i >= visible.length - 1} onClick={() => onChange((l) => moveColumn(l, id, 1))}>
              →
            </button>
          </div>
        );
      })}
      <MenuSeparator />
      <MenuItem testId="columns-reset" onClick={() => onChange(() => ({ ...DEFAULT_LAYOUT, widths: { ...DEFAULT_WIDTHS } }))}>
        Reset columns (order, visibility, widths)
      </MenuItem>
    </PopupMenu>
  );
}

/** A row's menu: copy it, its payload in a format, its connection as NDJSON; bookmark, note. */
function RowMenu({
  at,
  connection,
  startedAt,
  timeMode,
  onClose,
}: {
  at: { x: number; y: number; seq: number };
  connection: string;
  startedAt: number;
  timeMode: TimeMode;
  onClose: () => void;
}) {
  const row = useAppStore((s) => rowAt(s.chunks, connection, at.seq));
  const run = (fn: () => void) => () => {
    onClose();
    fn();
  };
  return (
    <PopupMenu x={at.x} y={at.y} onClose={onClose} testId="row-menu" label={`Frame #${at.seq}`}>
      <MenuItem testId="copy-row" disabled={!row} onClick={run(() => row && void copyText(rowLine(row, startedAt, timeMode), `row #${at.seq}`))}>
        Copy row
      </MenuItem>
      {PAYLOAD_FORMATS.map((f) => (
        <MenuItem key={f} testId={`copy-payload-${f}`} onClick={run(() => void copyPayload(connection, at.seq, f))}>
          Copy payload {PAYLOAD_FORMAT_LABELS[f]}
        </MenuItem>
      ))}
      <MenuSeparator />
      <MenuItem testId="copy-ndjson" title="The connection's events, as `framescope export --format ndjson` writes them" onClick={run(() => void copyConnectionNdjson(connection))}>
        Copy connection as NDJSON
      </MenuItem>
      <MenuItem testId="save-ndjson" onClick={run(() => void copyConnectionNdjson(connection, true))}>
        Save connection as NDJSON…
      </MenuItem>
      <MenuSeparator />
      <MenuItem testId="menu-bookmark" onClick={run(() => void toggleBookmark(connection, at.seq))}>
        {row?.bookmark ? '☆ Remove bookmark' : '★ Bookmark'} <kbd>b</kbd>
      </MenuItem>
      <MenuItem
        testId="menu-note"
        onClick={run(() => {
          // The note is edited in the frame's detail: open it there, focused.
          useAppStore.getState().selectFrame(at.seq);
          requestAnimationFrame(() => requestAnimationFrame(() => document.querySelector<HTMLTextAreaElement>('[data-testid=frame-note]')?.focus()));
        })}
      >
        ✎ {row?.note ? 'Edit note' : 'Add a note'}
      </MenuItem>
    </PopupMenu>
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
  columns,
  onSelect,
  onMenu,
}: {
  seq: number;
  row: FrameSummary | undefined;
  top: number;
  selected: boolean;
  timeMode: TimeMode;
  /** relative and delta: the time counted from */
  startedAt: number;
  columns: readonly ColumnId[];
  onSelect: (seq: number) => void;
  onMenu: (seq: number, x: number, y: number) => void;
}) {
  const style = { transform: `translateY(${top}px)` };
  if (!row) {
    return (
      <div className="frame-grid frame-row placeholder" style={style} aria-busy="true">
        {columns.map((id) => (
          <span key={id} className={`c-${id}`}>
            {id === 'seq' ? seq : id === 'preview' ? 'loading…' : ''}
          </span>
        ))}
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
    row.bookmark ? 'bookmarked' : '',
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
      data-bookmark={row.bookmark ? 'true' : undefined}
      onClick={() => onSelect(seq)}
      onContextMenu={(e) => {
        e.preventDefault();
        onMenu(seq, e.clientX, e.clientY);
      }}
    >
      {columns.map((id) => (
        <Cell key={id} id={id} row={row} timeMode={timeMode} startedAt={startedAt} badge={badge} violations={violations} />
      ))}
    </div>
  );
});

function Cell({
  id,
  row,
  timeMode,
  startedAt,
  badge,
  violations,
}: {
  id: ColumnId;
  row: FrameSummary;
  timeMode: TimeMode;
  startedAt: number;
  badge: ReturnType<typeof interventionBadge> | null;
  violations: number;
}) {
  switch (id) {
    case 'seq':
      return (
        <span className="c-seq">
          {row.bookmark && (
            <span className="bookmark-mark" data-testid="bookmark-mark" title="bookmarked (b)">
              ★
            </span>
          )}
          {row.note && (
            <span className="note-mark" data-testid="note-mark" title={row.note}>
              ✎
            </span>
          )}
          {row.seq}
        </span>
      );
    case 'time':
      return (
        <span className="c-time" title={formatClock(row.time)}>
          {timeMode === 'absolute' ? formatClock(row.time) : formatRelative(row.time, startedAt)}
        </span>
      );
    case 'dir':
      return (
        <span className={`c-dir dir-${row.from}`} title={row.from === 'client' ? 'client → server' : 'server → client'}>
          {dirLabel(row.from)}
        </span>
      );
    case 'op':
      return (
        <span className={`c-op op-${opcodeName(row.opcode).replace(/-\d+$/, '')}`} title={`opcode ${row.opcode}: ${opcodeName(row.opcode)}`}>
          {row.opcode === 0 ? 'cont.' : isKnownOpcode(row.opcode) ? opcodeName(row.opcode) : `rsvd ${row.opcode}`}
          {row.message && !row.rsv1 && (
            <span className="msg-tag" title={`the last frame of a fragmented message of ${row.message.length} bytes`}>
              msg
            </span>
          )}
        </span>
      );
    case 'fin':
      return <span className="c-fin">{row.fin ? '1' : '0'}</span>;
    case 'rsv':
      return (
        <span className={`c-rsv ${row.rsv1 || row.rsv2 || row.rsv3 ? 'set' : ''}`}>
          {row.rsv1 ? '1' : '0'}
          {row.rsv2 ? '1' : '0'}
          {row.rsv3 ? '1' : '0'}
        </span>
      );
    case 'mask':
      return (
        <span className="c-mask" title={row.maskKey ? `mask key ${row.maskKey}` : 'not masked'}>
          {row.masked ? '1' : '0'}
        </span>
      );
    case 'len':
      return <span className="c-len">{formatCount(row.length)}</span>;
    case 'msg':
      return (
        <span className={`c-msg ${row.message && row.message.length !== row.length ? 'differs' : ''}`} data-testid="frame-message-size">
          {msgText(row)}
        </span>
      );
    case 'dec':
      return <DecodedCell row={row} />;
    case 'preview':
      return (
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
      );
  }
}

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
