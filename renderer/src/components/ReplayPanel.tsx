// A replaying connection's comparison: the server's answers this time against the
// recording's (same / changed / missing / extra), a changed JSON answer by path.
import { useState } from 'react';
import { useAppStore } from '../store/store';
import type { ReplayItem } from '../../../shared/replay';

/** Rows shown before "show all": a long replay's same answers would push the frames away. */
const FIRST_ROWS = 8;

export function ReplayPanel() {
  const c = useAppStore((s) => (s.selectedConnection ? s.connections.get(s.selectedConnection) : undefined));
  const select = useAppStore((s) => s.selectConnection);
  const [all, setAll] = useState(false);
  const r = c?.replay;
  if (!c || !r) return null;
  const cmp = r.comparison;
  const items = cmp ? cmp.items.filter((i) => i.status !== 'same') : [];
  const shown = all ? items : items.slice(0, FIRST_ROWS);
  return (
    <div className="replay-panel" data-testid="replay-comparison">
      <div className="replay-summary">
        <span className="pill">replay</span>
        <span>
          of{' '}
          <button type="button" className="link mono" onClick={() => select(r.of)} title="Select the replayed connection">
            {r.of}
          </button>
        </span>
        {cmp ? (
          <>
            <span className="replay-count same" data-testid="replay-same">same {cmp.same}</span>
            <span className={`replay-count ${cmp.changed ? 'changed' : ''}`} data-testid="replay-changed">changed {cmp.changed}</span>
            <span className={`replay-count ${cmp.missing ? 'missing' : ''}`} data-testid="replay-missing">missing {cmp.missing}</span>
            <span className={`replay-count ${cmp.extra ? 'extra' : ''}`} data-testid="replay-extra">extra {cmp.extra}</span>
          </>
        ) : (
          <span className="muted">{r.error ? '' : 'replaying…'}</span>
        )}
        {r.error && <span className="replay-error">{r.error}</span>}
      </div>
      {r.notes?.map((n) => (
        <div key={n} className="replay-note muted">
          {n}
        </div>
      ))}
      {shown.length > 0 && (
        <ul className="replay-items">
          {shown.map((it) => (
            <ReplayRow key={it.index} item={it} />
          ))}
        </ul>
      )}
      {items.length > shown.length && (
        <button type="button" className="btn small" onClick={() => setAll(true)}>
          show all {items.length} differences
        </button>
      )}
    </div>
  );
}

function ReplayRow({ item }: { item: ReplayItem }) {
  const m = item.replayed ?? item.recorded!;
  return (
    <li className={`replay-item ${item.status}`} data-testid="replay-item">
      <span className="replay-status">
        #{item.index} {item.status}
      </span>
      {item.diff ? (
        <span className="replay-diffs">
          {item.diff.map((d) => (
            <span key={d.path} className="replay-diff mono">
              {d.path}: <span className="old">{d.old ?? '(absent)'}</span> → <span className="new">{d.new ?? '(absent)'}</span>
            </span>
          ))}
          {item.diffTruncated && <span className="muted">… more paths differ</span>}
        </span>
      ) : item.status === 'changed' ? (
        <span className="mono">
          <span className="old">{item.recorded!.preview}</span> → <span className="new">{item.replayed!.preview}</span>
        </span>
      ) : (
        <span className="mono">{m.preview}</span>
      )}
    </li>
  );
}
