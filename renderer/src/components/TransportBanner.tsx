// The bridge to the engine went away: say so, and when the next try is.
import { useAppStore } from '../store/store';

export function TransportBanner() {
  const t = useAppStore((s) => s.transport);
  if (t.state === 'open' || (t.state === 'connecting' && t.attempt <= 1)) return null;
  return (
    <div className="banner warn" role="status" data-testid="transport-status" data-state={t.state}>
      {t.state === 'disconnected' ? (
        <>
          <strong>Disconnected from the engine</strong> — {t.reason}. Reconnecting in {Math.ceil(t.retryInMs / 1000)} s (attempt {t.attempt})…
        </>
      ) : (
        <>
          <strong>Reconnecting to the engine</strong> (attempt {t.attempt})…
        </>
      )}
    </div>
  );
}
