// The Intercept panel: start a browser (a fresh profile) or a terminal command through the
// session's forward proxy, trusting its CA in that app only; the apps running, each with a
// Stop. Connections from a launched app carry its label in the connection list.
import { useRef } from 'react';
import { launchBrowser, launchCommand, loadLaunchTargets, stopApp } from '../store/launch-actions';
import { useModal } from './use-modal';
import { useAppStore } from '../store/store';

export function InterceptButton() {
  const setDialog = useAppStore((s) => s.setDialog);
  const running = useAppStore((s) => s.apps.length);
  return (
    <button
      type="button"
      className="btn"
      data-testid="intercept-button"
      aria-haspopup="dialog"
      title="Launch a browser or a command through Framescope's proxy"
      onClick={() => setDialog('intercept')}
    >
      Intercept{running > 0 ? <span className="count-badge">{running}</span> : null}
    </button>
  );
}

export function LaunchDialog() {
  const open = useAppStore((s) => s.dialog === 'intercept');
  const setDialog = useAppStore((s) => s.setDialog);
  const browsers = useAppStore((s) => s.launchTargets);
  const apps = useAppStore((s) => s.apps);
  const proxy = useAppStore((s) => s.proxy);
  const form = useAppStore((s) => s.launchForm);
  const setForm = useAppStore((s) => s.setLaunchForm);
  const online = useAppStore((s) => s.transport.state === 'open');
  const ref = useRef<HTMLDialogElement>(null);
  const commandRef = useRef<HTMLInputElement>(null);
  useModal(ref, open, () => {
    commandRef.current?.focus();
    void loadLaunchTargets();
  });
  const reverse = proxy?.running === true && proxy.mode === 'reverse';
  const usable = online && !reverse;
  return (
    <dialog ref={ref} className="dialog launch-dialog" data-testid="intercept-panel" aria-labelledby="launch-title" onClose={() => setDialog(null)}>
      <div className="dialog-head">
        <h2 id="launch-title">Intercept an app</h2>
        <button type="button" className="btn ghost small" aria-label="Close" onClick={() => setDialog(null)}>
          ✕
        </button>
      </div>
      <p className="muted">
        What starts here goes through Framescope’s forward proxy and trusts its CA, in that app only (nothing is installed system-wide).
        Its connections are labelled with it in the list.
      </p>
      <p className="small launch-proxy" data-testid="intercept-proxy">
        {reverse ? (
          <span className="warn-text">The reverse proxy is running: stop it to launch an app (a launch goes through the forward proxy).</span>
        ) : proxy?.running ? (
          <>
            <span className="state-dot open" aria-hidden="true" /> Forward proxy on <code className="mono">{proxy.address}</code>
          </>
        ) : (
          <>
            <span className="state-dot closed" aria-hidden="true" /> The forward proxy starts on 127.0.0.1 with the first launch.
          </>
        )}
      </p>

      <section className="launch-section" aria-labelledby="launch-browsers">
        <h3 id="launch-browsers">Browser</h3>
        <div className="launch-url-row">
          <label className="field grow">
            <span>Page to open (optional)</span>
            <input
              className="input mono"
              data-testid="intercept-url"
              spellCheck={false}
              placeholder="https://example.com/"
              value={form.url}
              onChange={(e) => setForm({ url: e.target.value })}
            />
          </label>
          <label className="check small">
            <input type="checkbox" checked={form.headless} onChange={(e) => setForm({ headless: e.target.checked })} />
            Headless
          </label>
        </div>
        {browsers === null ? (
          <p className="muted small">Looking for browsers…</p>
        ) : browsers.length === 0 ? (
          <p className="muted small">No browser found (Chromium, Chrome, Edge, Brave, Firefox: on PATH or in their usual places).</p>
        ) : (
          <ul className="launch-browsers" aria-label="Browsers found">
            {browsers.map((b) => (
              <li key={b.id}>
                <button
                  type="button"
                  className="launch-browser"
                  data-testid="intercept-browser"
                  data-id={b.id}
                  disabled={!usable}
                  title={`Open ${b.name} with a fresh profile through the proxy`}
                  onClick={() => void launchBrowser(b.id)}
                >
                  <span className="launch-browser-name">{b.name}</span>
                  <span className="mono launch-browser-path">{b.path}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="launch-section" aria-labelledby="launch-terminal">
        <h3 id="launch-terminal">Terminal command</h3>
        <form
          className="launch-command-row"
          onSubmit={(e) => {
            e.preventDefault();
            void launchCommand();
          }}
        >
          <span className="launch-prompt mono" aria-hidden="true">
            $
          </span>
          <input
            ref={commandRef}
            className="input mono grow"
            data-testid="intercept-command"
            aria-label="Terminal command"
            aria-describedby="launch-command-hint"
            spellCheck={false}
            autoComplete="off"
            placeholder={`node app.mjs --port 9000   (words as in sh: 'quotes', "quotes", \\ escapes)`}
            value={form.command}
            onChange={(e) => setForm({ command: e.target.value })}
          />
          <button type="submit" className="btn primary" data-testid="intercept-run" disabled={!usable || form.command.trim() === ''}>
            Run
          </button>
        </form>
        <p id="launch-command-hint" className="muted small">
          Run directly, not by a shell: split into words like sh does, without variables, pipes or redirections (for those: <code className="mono">sh -c '…'</code>). Node
          apps get a hook that sends ws, http and fetch through the proxy; other runtimes read HTTP_PROXY and the CA variables.
        </p>
      </section>

      <section className="launch-section" aria-labelledby="launch-running">
        <h3 id="launch-running">Running</h3>
        {apps.length === 0 ? (
          <p className="muted small">Nothing launched. Apps still running end when Framescope does.</p>
        ) : (
          <ul className="launch-apps">
            {apps.map((a) => (
              <li key={a.id} className="launch-app" data-testid="intercept-app" data-id={a.id}>
                <span className="state-dot open" aria-hidden="true" />
                <span className="mono launch-app-label" title={a.label}>
                  {a.label}
                </span>
                {a.pid !== null && <span className="muted small">pid {a.pid}</span>}
                <button type="button" className="btn small" data-testid="intercept-app-stop" aria-label={`Stop ${a.label}`} onClick={() => void stopApp(a.id)}>
                  Stop
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </dialog>
  );
}
