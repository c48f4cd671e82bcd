// The URL to connect to, with the handshake's options one click away and the recent
// targets offered as the user types. The options popover closes as a popover should: on
// Escape, on a click outside it, and when the connection is made.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { connectTo, parseHeaderLines } from '../store/actions';
import { useAppStore } from '../store/store';

export function ConnectForm() {
  const recent = useAppStore((s) => s.prefs.recentTargets);
  const options = useAppStore((s) => s.prefs.connectOptions);
  const setPrefs = useAppStore((s) => s.setPrefs);
  const online = useAppStore((s) => s.transport.state === 'open');
  const [url, setUrl] = useState(() => recent[0] ?? '');
  const [busy, setBusy] = useState(false);
  const [showOptions, setShowOptions] = useState(false);
  const headerError = parseHeaderLines(options.headers).error;
  const setOption = (patch: Partial<typeof options>) => setPrefs({ connectOptions: { ...options, ...patch } });
  const popover = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!showOptions) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setShowOptions(false);
      toggle.current?.focus();
    };
    // The toggle button handles its own clicks (a press there must not close and reopen).
    const onPointer = (e: Event) => {
      const t = e.target as Node | null;
      if (t && (popover.current?.contains(t) || toggle.current?.contains(t))) return;
      setShowOptions(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onPointer);
    };
  }, [showOptions]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!url.trim() || busy) return;
    setShowOptions(false);
    setBusy(true);
    try {
      await connectTo(url);
    } finally {
      setBusy(false);
    }
  };

  const summary = [
    options.deflate ? 'deflate' : 'no deflate',
    options.verifyTls ? null : 'TLS unverified',
    options.tolerant ? 'tolerant' : null,
    options.protocols.trim() ? `protocols: ${options.protocols.trim()}` : null,
    parseHeaderLines(options.headers).headers.length ? `${parseHeaderLines(options.headers).headers.length} header(s)` : null,
  ]
    .filter(Boolean)
    .join(' · ');

  return (
    <form className="connect-form" onSubmit={submit} aria-label="Open a WebSocket connection">
      <input
        className="input mono connect-url"
        data-testid="connect-url"
        type="text"
        inputMode="url"
        spellCheck={false}
        autoComplete="off"
        placeholder="ws://127.0.0.1:8080/socket"
        aria-label="WebSocket URL"
        list="recent-targets"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
      />
      <datalist id="recent-targets">
        {recent.map((r) => (
          <option key={r} value={r} />
        ))}
      </datalist>
      <button
        ref={toggle}
        type="button"
        className={`btn ghost ${showOptions ? 'active' : ''}`}
        data-testid="connect-options-button"
        aria-expanded={showOptions}
        title={summary}
        onClick={() => setShowOptions((v) => !v)}
      >
        Options ▾
      </button>
      <button type="submit" className="btn primary" data-testid="connect-button" disabled={busy || !online || !url.trim() || headerError !== null}>
        {busy ? 'Connecting…' : 'Connect'}
      </button>
      {showOptions && (
        <div ref={popover} className="popover connect-options" role="group" aria-label="Handshake options" data-testid="connect-options">
          <label className="field">
            <span>Extra headers, one <code>Name: value</code> a line (sent in this order and case)</span>
            <textarea
              className="input mono"
              rows={4}
              spellCheck={false}
              placeholder={'Authorization: Bearer …\nOrigin: http://localhost:3000'}
              value={options.headers}
              onChange={(e) => setOption({ headers: e.target.value })}
            />
            {headerError && <span className="error-text">{headerError}</span>}
          </label>
          <label className="field">
            <span>Subprotocols to offer (comma-separated, in order of preference)</span>
            <input
              className="input mono"
              spellCheck={false}
              placeholder="graphql-transport-ws, chat.v1"
              value={options.protocols}
              onChange={(e) => setOption({ protocols: e.target.value })}
            />
          </label>
          <label className="check">
            <input type="checkbox" checked={options.deflate} onChange={(e) => setOption({ deflate: e.target.checked })} />
            Offer permessage-deflate (RFC 7692)
          </label>
          <label className="check">
            <input type="checkbox" checked={options.verifyTls} onChange={(e) => setOption({ verifyTls: e.target.checked })} />
            Verify the server's TLS certificate (wss://)
          </label>
          <label className="check" title="Like framescope connect --tolerant">
            <input type="checkbox" data-testid="connect-tolerant" checked={options.tolerant} onChange={(e) => setOption({ tolerant: e.target.checked })} />
            <span>
              Tolerant: watch a misbehaving server — record protocol violations and keep the connection open
              <span className="muted"> (default: fail it at the first violation, as RFC 6455 requires of an endpoint)</span>
            </span>
          </label>
          {recent.length > 0 && (
            <div className="recent">
              <span className="muted">Recent targets</span>
              <ul>
                {recent.map((r) => (
                  <li key={r}>
                    <button
                      type="button"
                      className="link mono"
                      onClick={() => {
                        setUrl(r);
                        setShowOptions(false);
                      }}
                    >
                      {r}
                    </button>
                  </li>
                ))}
              </ul>
              <button type="button" className="btn ghost small" onClick={() => setPrefs({ recentTargets: [] })}>
                Forget recent targets
              </button>
            </div>
          )}
        </div>
      )}
    </form>
  );
}
