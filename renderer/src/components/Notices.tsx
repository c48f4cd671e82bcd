// Errors and confirmations, bottom right. Every notice goes away by itself (an error stays
// longer, and not while the pointer rests on it); the same notice again is counted, not
// stacked; at most MAX_NOTICES show, with one button to dismiss them all.
import { useEffect, useRef, useState } from 'react';
import { useAppStore } from '../store/store';

/** How long a notice stays up (ms). */
export const NOTICE_MS = { info: 4000, error: 8000 } as const;

export function Notices() {
  const notices = useAppStore((s) => s.notices);
  const dismiss = useAppStore((s) => s.dismissNotice);
  const dismissAll = useAppStore((s) => s.dismissAllNotices);
  const [hovered, setHovered] = useState(false);
  // One timer per notice id, started when it first shows: a new notice does not restart
  // the others'. Hovering holds them all; leaving starts them afresh.
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const live = timers.current;
    const ids = new Set(notices.map((n) => n.id));
    for (const [id, t] of live) {
      if (!ids.has(id) || hovered) {
        clearTimeout(t);
        live.delete(id);
      }
    }
    if (hovered) return;
    for (const n of notices) {
      if (!live.has(n.id)) live.set(n.id, setTimeout(() => dismiss(n.id), NOTICE_MS[n.level]));
    }
  }, [notices, dismiss, hovered]);
  useEffect(() => {
    const live = timers.current;
    return () => {
      for (const t of live.values()) clearTimeout(t);
      live.clear();
    };
  }, []);
  if (notices.length === 0) return null;
  return (
    <div className="notices" role="log" aria-live="polite" onMouseEnter={() => setHovered(true)} onMouseLeave={() => setHovered(false)}>
      {notices.length > 1 && (
        <button type="button" className="btn ghost small notices-clear" data-testid="notices-dismiss-all" onClick={dismissAll}>
          Dismiss all
        </button>
      )}
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.level}`} data-testid="notice" data-level={n.level}>
          <span className="notice-text" title={n.text}>
            {n.text}
          </span>
          {(n.count ?? 1) > 1 && (
            <span className="notice-count" title={`${n.count} times`}>
              ×{n.count}
            </span>
          )}
          <button type="button" className="btn ghost small" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
