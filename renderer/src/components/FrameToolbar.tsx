// Filters, bookmarks, pause, the time column's mode and the row density, above the frame list.
import { useEffect } from 'react';
import { parseFieldQuery } from '../../../shared/decoders/field-path';
import { OPCODE_FILTERS, NO_FILTER, isFilterActive, parseFilterText, type OpcodeFilter } from '../store/filters';
import { refreshFieldMatch } from '../store/actions';
import { useAppStore } from '../store/store';
import { TIME_MODES } from '../store/prefs';
import { jumpToBookmark } from '../store/annotate-actions';

export function FrameToolbar() {
  const filter = useAppStore((s) => s.filter);
  const setFilter = useAppStore((s) => s.setFilter);
  const paused = useAppStore((s) => s.paused !== null);
  const setPaused = useAppStore((s) => s.setPaused);
  const timeMode = useAppStore((s) => s.prefs.timeMode);
  const setPrefs = useAppStore((s) => s.setPrefs);
  const density = useAppStore((s) => s.prefs.density);
  const isRegex = /^\/.*\/[a-z]*$/s.test(filter.text.trim());
  const connection = useAppStore((s) => s.selectedConnection);
  const rowCount = useAppStore((s) => (s.selectedConnection ? (s.rowCounts.get(s.selectedConnection) ?? 0) : 0));
  const field = parseFilterText(filter.text).field;
  // The engine holds the decoded values: it answers the field test, again as rows come.
  useEffect(() => {
    if (!connection || field === null || typeof parseFieldQuery(field) === 'string') return;
    refreshFieldMatch(connection, field);
  }, [connection, field, rowCount]);
  return (
    <div className="frame-toolbar" role="toolbar" aria-label="Frame filters">
      <div className="segmented" role="radiogroup" aria-label="Direction">
        {(['all', 'client', 'server'] as const).map((d) => (
          <button
            key={d}
            type="button"
            role="radio"
            aria-checked={filter.from === d}
            className={filter.from === d ? 'on' : ''}
            data-testid={`filter-from-${d}`}
            onClick={() => setFilter({ from: d })}
          >
            {d === 'all' ? 'All' : d === 'client' ? '↑ Client' : '↓ Server'}
          </button>
        ))}
      </div>
      <select
        className="input"
        aria-label="Opcode"
        data-testid="filter-opcode"
        value={filter.opcode}
        onChange={(e) => setFilter({ opcode: e.target.value as OpcodeFilter })}
      >
        {OPCODE_FILTERS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <input
        className={`input mono filter-text ${isRegex ? 'regex' : ''}`}
        type="search"
        spellCheck={false}
        placeholder="Filter: text, /re/, type:EVENT, a.b = 1"
        aria-label="Filter by text, /regex/, decoded type:/name:, or a field test"
        data-testid="filter-text"
        value={filter.text}
        onChange={(e) => setFilter({ text: e.target.value })}
      />
      <label className="check" title="Only frames with a protocol violation">
        <input type="checkbox" checked={filter.violationsOnly} onChange={(e) => setFilter({ violationsOnly: e.target.checked })} />
        Violations
      </label>
      <label className="check" title="Hide heartbeats: the decoded keep-alives (Engine.IO ping/pong, GraphQL ka, ping/pong…)">
        <input type="checkbox" aria-label="Hide heartbeats" data-testid="hide-heartbeats" checked={filter.hideHeartbeats} onChange={(e) => setFilter({ hideHeartbeats: e.target.checked })} />
        Hide ♥
      </label>
      <span className="bookmark-tools" role="group" aria-label="Bookmarks">
        <label className="check" title="Only the frames you bookmarked (b on a frame)">
          <input type="checkbox" data-testid="filter-bookmarks" checked={filter.bookmarksOnly} onChange={(e) => setFilter({ bookmarksOnly: e.target.checked })} />★
        </label>
        <button type="button" className="btn ghost small" data-testid="bookmark-prev" title="The previous bookmarked frame" aria-label="Previous bookmark" disabled={!connection} onClick={() => connection && void jumpToBookmark(connection, -1)}>
          ‹★
        </button>
        <button type="button" className="btn ghost small" data-testid="bookmark-next" title="The next bookmarked frame" aria-label="Next bookmark" disabled={!connection} onClick={() => connection && void jumpToBookmark(connection, 1)}>
          ★›
        </button>
      </span>
      {isFilterActive(filter) && (
        <button type="button" className="btn ghost small" title="Clear the filters" aria-label="Clear the filters" onClick={() => setFilter(NO_FILTER)}>
          ✕
        </button>
      )}
      <div className="grow" />
      <button
        type="button"
        className={`btn small ${paused ? 'active' : ''}`}
        aria-pressed={paused}
        data-testid="pause-button"
        title={paused ? 'Resume: let the list move again' : 'Pause: stop the list from moving; frames are still recorded'}
        aria-label={paused ? 'Resume' : 'Pause'}
        onClick={() => setPaused(!paused)}
      >
        {paused ? '▶' : '❚❚'}
      </button>
      <button
        type="button"
        className="btn ghost small"
        data-testid="time-mode"
        data-mode={timeMode}
        title="Time column: since the connection started (Δt), the wall clock with ms (Clock), or since the row above (+prev). Click for the next."
        onClick={() => setPrefs({ timeMode: TIME_MODES[(TIME_MODES.indexOf(timeMode) + 1) % TIME_MODES.length]! })}
      >
        {timeMode === 'relative' ? 'Δt' : timeMode === 'absolute' ? 'Clock' : '+prev'}
      </button>
      <button
        type="button"
        className={`btn ghost small ${density === 'compact' ? 'active' : ''}`}
        data-testid="density-toggle"
        aria-pressed={density === 'compact'}
        title={density === 'compact' ? 'Compact rows (on): click for comfortable ones' : 'Compact rows: more of them in view'}
        aria-label="Compact rows"
        onClick={() => setPrefs({ density: density === 'compact' ? 'comfortable' : 'compact' })}
      >
        Compact
      </button>
    </div>
  );
}
