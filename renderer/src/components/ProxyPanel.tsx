// Start and stop the proxy: reverse (listen here, forward to one upstream) or forward (an
// HTTP proxy an app or browser is pointed at, with TLS interception by the local CA).
import { useAppStore } from '../store/store';
import { buildProxyRequest, startProxy, stopProxy } from '../store/actions';

export function ProxyPanel() {
  const proxy = useAppStore((s) => s.proxy);
  const form = useAppStore((s) => s.proxyForm);
  const setForm = useAppStore((s) => s.setProxyForm);
  const setDialog = useAppStore((s) => s.setDialog);
  const online = useAppStore((s) => s.transport.state === 'open');
  const running = proxy?.running === true;
  const built = buildProxyRequest(form);
  return (
    <section className="panel proxy-panel" aria-label="Proxy">
      <div className="panel-head">
        <h2>Proxy</h2>
        <span className={`state-dot ${running ? 'open' : 'closed'}`} aria-hidden="true" />
        <span className="muted">{running ? `${proxy!.mode}, running` : 'stopped'}</span>
      </div>
      {running ? (
        <div className="proxy-running">
          <div className="muted small">{proxy!.mode === 'reverse' ? 'Point your app at' : 'Set your app’s HTTP proxy to'}</div>
          <div className="address-row">
            <code className="mono address" data-testid="proxy-address">
              {proxy!.address}
            </code>
            <button type="button" className="btn ghost small" onClick={() => void navigator.clipboard?.writeText(proxy!.address)}>
              Copy
            </button>
          </div>
          {proxy!.target && (
            <div className="small">
              <span className="muted">forwarding to</span> <code className="mono">{proxy!.target}</code>
            </div>
          )}
          <div className="row-fields">
            <button type="button" className="btn" data-testid="proxy-stop" onClick={() => void stopProxy()}>
              Stop
            </button>
            {proxy!.mode === 'forward' && (
              <button type="button" className="btn ghost small" onClick={() => setDialog('ca')}>
                CA certificate…
              </button>
            )}
          </div>
        </div>
      ) : (
        <form
          className="proxy-form"
          onSubmit={(e) => {
            e.preventDefault();
            void startProxy();
          }}
        >
          <div className="segmented" role="radiogroup" aria-label="Proxy mode">
            {(['reverse', 'forward'] as const).map((m) => (
              <button key={m} type="button" role="radio" aria-checked={form.mode === m} className={form.mode === m ? 'on' : ''} onClick={() => setForm({ mode: m })}>
                {m === 'reverse' ? 'Reverse' : 'Forward (HTTP proxy)'}
              </button>
            ))}
          </div>
          <label className="field">
            <span>Listen on</span>
            <input className="input mono" data-testid="proxy-listen" spellCheck={false} value={form.listen} onChange={(e) => setForm({ listen: e.target.value })} />
          </label>
          {form.mode === 'reverse' ? (
            <label className="field">
              <span>Upstream</span>
              <input
                className="input mono"
                data-testid="proxy-target"
                spellCheck={false}
                placeholder="ws://127.0.0.1:9000/"
                value={form.target}
                onChange={(e) => setForm({ target: e.target.value })}
              />
            </label>
          ) : (
            <label className="field">
              <span>Allow only these hosts (optional)</span>
              <input
                className="input mono"
                spellCheck={false}
                placeholder="api.example.com, localhost"
                value={form.allowHosts}
                onChange={(e) => setForm({ allowHosts: e.target.value })}
              />
            </label>
          )}
          <label className="check small">
            <input type="checkbox" checked={form.insecure} onChange={(e) => setForm({ insecure: e.target.checked })} />
            Do not verify the upstream’s TLS certificate
          </label>
          <div className="row-fields">
            <button type="submit" className="btn primary" data-testid="proxy-start" disabled={!online || 'error' in built} title={'error' in built ? built.error : ''}>
              Start proxy
            </button>
            <button type="button" className="btn ghost small" onClick={() => setDialog('ca')}>
              CA certificate…
            </button>
          </div>
          {'error' in built && (form.target || form.mode === 'forward') && <span className="error-text small">{built.error}</span>}
        </form>
      )}
    </section>
  );
}
