// The connections, newest first: client ones we opened and proxied ones an app opened.
import { memo, type KeyboardEvent } from 'react';
import type { ConnectionSummary } from '../../../shared/contract';
import { clearClosed } from '../store/actions';
import { useAppStore } from '../store/store';
import { formatAge, formatBytes, formatCount } from '../views/format';
import { useNow } from './hooks';

export function ConnectionList() {
  const order = useAppStore((s) => s.connectionOrder);
  const connections = useAppStore((s) => s.connections);
  const selected = useAppStore((s) => s.selectedConnection);
  const select = useAppStore((s) => s.selectConnection);
  const anyLive = [...connections.values()].some((c) => c.endedAt === null);
  const now = useNow(1000, anyLive);
  const ids = [...order].reverse();
  const anyClosed = [...connections.values()].some((c) => c.state === 'closed' || c.state === 'failed');

  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const i = selected ? ids.indexOf(selected) : -1;
    const next = ids[Math.max(0, Math.min(ids.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))];
    if (next) {
      select(next);
      document.getElementById(`conn-${next}`)?.focus();
    }
  };

  return (
    <section className="panel connections" aria-label="Connections">
      <div className="panel-head">
        <h2>Connections</h2>
        <span className="muted">{ids.length}</span>
        <div className="grow" />
        {anyClosed && (
          <button type="button" className="btn ghost small" title="Forget closed connections" onClick={() => void clearClosed()}>
            Clear closed
          </button>
        )}
      </div>
      <ul className="connection-list" data-testid="connection-list" role="listbox" aria-label="Connections" onKeyDown={onKey}>
        {ids.map((id) => {
          const c = connections.get(id);
          return c ? <ConnectionItem key={id} c={c} selected={id === selected} now={now} onSelect={select} /> : null;
        })}
        {ids.length === 0 && <li className="empty muted">No connections yet.</li>}
      </ul>
    </section>
  );
}

const STATE_LABEL: Record<ConnectionSummary['state'], string> = {
  connecting: 'connecting',
  open: 'open',
  closing: 'closing',
  closed: 'closed',
  failed: 'failed',
};

function shortUrl(url: string): { host: string; path: string } {
  try {
    const u = new URL(url);
    return { host: u.host, path: `${u.pathname}${u.search}` };
  } catch {
    return { host: url, path: '' };
  }
}

const ConnectionItem = memo(function ConnectionItem({
  c,
  selected,
  now,
  onSelect,
}: {
  c: ConnectionSummary;
  selected: boolean;
  now: number;
  onSelect: (id: string) => void;
}) {
  const { host, path } = shortUrl(c.url);
  const frames = c.frames.client + c.frames.server;
  const duration = (c.endedAt ?? Math.max(now, c.startedAt)) - c.startedAt;
  const closeText = c.close ? `${c.close.code ?? '—'}${c.close.clean ? '' : ' unclean'}` : '';
  return (
    <li role="presentation">
      <button
        type="button"
        id={`conn-${c.id}`}
        role="option"
        aria-selected={selected}
        className={`connection-item ${selected ? 'selected' : ''} state-${c.state}`}
        data-testid="connection-item"
        data-id={c.id}
        data-state={c.state}
        data-mode={c.mode}
        title={c.url}
        onClick={() => onSelect(c.id)}
      >
        <span className={`mode-icon ${c.mode}`} title={c.mode === 'client' ? 'opened by Framescope' : 'seen through the proxy'} aria-label={c.mode}>
          {c.mode === 'client' ? '⇢' : '⇄'}
        </span>
        <span className="conn-main">
          <span className="conn-url mono">
            <span className="conn-scheme">{c.url.startsWith('wss:') ? 'wss' : 'ws'}</span> {host}
            <span className="muted">{path}</span>
          </span>
          <span className="conn-meta">
            <span className={`state-dot ${c.state}`} aria-hidden="true" />
            <span className="conn-state">{STATE_LABEL[c.state]}</span>
            {closeText && <span className="muted">{closeText}</span>}
            {c.imported && <span className="tag">imported</span>}
            {c.app && (
              <span className="tag conn-app" data-testid="connection-app" title={`from ${c.app} (framescope launch)`}>
                {c.app}
              </span>
            )}
            <span className="grow" />
            <span title={`${c.frames.client} from the client, ${c.frames.server} from the server`}>
              {formatCount(frames)} fr
            </span>
            <span title={`${c.bytes.client} B from the client, ${c.bytes.server} B from the server`}>{formatBytes(c.bytes.client + c.bytes.server)}</span>
            <span className="muted">{formatAge(duration)}</span>
          </span>
        </span>
      </button>
    </li>
  );
});
