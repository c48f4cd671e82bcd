// The whole-history search: a query the engine runs over every recorded frame (of the
// selected connection, or of all), its hits counted as they stream in, and ▲ ▼ (Shift+Enter,
// Enter) to go from hit to hit. The filter box below filters only the rows in memory.
import { useRef, type KeyboardEvent } from 'react';
import { clearSearch, goToHit, runSearch } from '../store/search-actions';
import { useAppStore } from '../store/store';
import { formatCount } from '../views/format';

const HELP =
  'Search every frame recorded (Enter). Words (all must occur, any case), "a phrase", /regex/flags, hex:DEADBEEF, ' +
  'from:client|server, op:text|binary|close|ping|pong|N, is:violation|fragment|compressed|rsv1|masked|heartbeat…, len>N, ' +
  'json:$.path=VALUE, proto: type: name: id:, payload.user.id = 42; -TERM excludes. Shift+Enter: previous hit.';

export function SearchBar() {
  const text = useAppStore((s) => s.searchText);
  const setText = useAppStore((s) => s.setSearchText);
  const all = useAppStore((s) => s.searchAll);
  const setAll = useAppStore((s) => s.setSearchAll);
  const search = useAppStore((s) => s.search);
  const index = useAppStore((s) => s.searchIndex);
  const input = useRef<HTMLInputElement>(null);
  const hits = search?.hits.length ?? 0;
  const connection = useAppStore((s) => s.selectedConnection);
  // the query as it stands would run the search shown again: Enter goes to its next hit instead
  const same = search !== null && search.error === null && search.query === text.trim() && search.connection === (all ? null : connection);

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      if (same && hits > 0) goToHit(index + (e.shiftKey ? -1 : 1));
      else if (!same || search?.done) void runSearch();
    } else if (e.key === 'Escape') {
      if (search) clearSearch();
      else setText('');
    }
  };
  const pct = search && search.total > 0 ? Math.floor((search.scanned / search.total) * 100) : 0;
  return (
    <div className="search-bar" role="search" aria-label="Search every frame">
      <span className="search-icon" aria-hidden="true">
        ⌕
      </span>
      <input
        ref={input}
        className="input mono search-text"
        type="search"
        spellCheck={false}
        placeholder={all ? 'Search all connections: text, /re/, hex:…, is:violation…' : 'Search this connection: text, /re/, hex:…, is:violation…'}
        title={HELP}
        aria-label="Search every recorded frame"
        data-testid="search-input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="segmented" role="radiogroup" aria-label="Search scope">
        <button type="button" role="radio" aria-checked={!all} className={!all ? 'on' : ''} data-testid="search-scope-connection" onClick={() => setAll(false)} title="Search the selected connection">
          This
        </button>
        <button type="button" role="radio" aria-checked={all} className={all ? 'on' : ''} data-testid="search-scope-all" onClick={() => setAll(true)} title="Search every connection">
          All
        </button>
      </div>
      {search && (
        <div className={`search-status ${search.error ? 'error' : ''}`} aria-live="polite" data-testid="search-status">
          {search.error ? (
            <span className="search-error" title={search.error}>
              {search.error}
            </span>
          ) : (
            <>
              {hits > 0 && index >= 0 && <span className="search-pos">{formatCount(index + 1)} of</span>}
              <span className="search-count" data-testid="search-results">
                {search.found}
              </span>
              <span className="search-word">
                {search.found === 1 ? 'hit' : 'hits'}
                {search.capped ? ` (first ${formatCount(hits)} listed)` : ''}
              </span>
              {!search.done && (
                <span className="search-progress" title={`${formatCount(search.scanned)} of ${formatCount(search.total)} frames searched`}>
                  <span className="search-progress-bar" style={{ width: `${pct}%` }} />
                </span>
              )}
              {search.done && <span className="search-word muted">in {formatCount(search.total)} frames</span>}
            </>
          )}
        </div>
      )}
      <button type="button" className="btn ghost small" data-testid="search-prev" title="Previous hit (Shift+Enter)" aria-label="Previous hit" disabled={hits === 0} onClick={() => goToHit(index - 1)}>
        ▲
      </button>
      <button type="button" className="btn ghost small" data-testid="search-next" title="Next hit (Enter)" aria-label="Next hit" disabled={hits === 0} onClick={() => goToHit(index + 1)}>
        ▼
      </button>
      {search && (
        <button type="button" className="btn ghost small" title="Clear the search (Esc)" aria-label="Clear the search" onClick={() => clearSearch()}>
          ✕
        </button>
      )}
    </div>
  );
}
