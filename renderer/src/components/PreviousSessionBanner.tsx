// An earlier run's recording is kept on disk: offer it back, or to delete it.
import { discardSession, restoreSession } from '../store/actions';
import { useAppStore } from '../store/store';
import { formatBytes } from '../views/format';

export function PreviousSessionBanner() {
  const p = useAppStore((s) => s.previousSession);
  if (!p) return null;
  const when = new Date(p.endedAt).toLocaleString();
  const what =
    p.connections === null
      ? `${formatBytes(p.bytes)} recorded`
      : `${p.connections.toLocaleString()} connection${p.connections === 1 ? '' : 's'}, ${p.frames!.toLocaleString()} frame${p.frames === 1 ? '' : 's'}`;
  return (
    <div className="banner info" role="status" data-testid="previous-session" data-session={p.id}>
      <strong>{p.ended ? 'Your last session' : 'A session that did not end cleanly'}</strong> — {what}, {p.ended ? 'ended' : 'last written'} {when}.
      <button type="button" className="btn small" data-testid="session-restore" onClick={() => restoreSession(p.id)}>
        Restore
      </button>
      <button type="button" className="btn small ghost" data-testid="session-discard" onClick={() => discardSession(p.id)}>
        Delete it
      </button>
    </div>
  );
}
