// The opening handshake of a connection: the request and response as sent (order and
// case kept), their raw HTTP text, Sec-WebSocket-Accept recomputed here step by step, what
// was negotiated, every check with pass/fail, TLS.
import { memo, useEffect, useState, type ReactNode } from 'react';
import type { ConnectionSummary } from '../../../shared/contract';
import { utf8Decode } from '../../../shared/bytes';
import type { AcceptSteps } from '../../../shared/codec/handshake';
import { writeRequestHead, writeResponseHead } from '../../../shared/codec/handshake';
import type { HandshakeRecord, HeaderList } from '../../../shared/model';
import { acceptStepsAsync, acceptVerdict } from '../views/accept';
import { formatClock, formatDate, formatDuration } from '../views/format';

/** Redrawn when what it shows changes, not with every frame the connection carries. */
export const HandshakePanel = memo(HandshakePanelView, (a, b) => {
  const x = a.connection;
  const y = b.connection;
  return (
    x.id === y.id &&
    x.handshake === y.handshake &&
    x.tls === y.tls &&
    x.errors === y.errors &&
    x.state === y.state &&
    x.endedAt === y.endedAt &&
    x.url === y.url &&
    x.client === y.client &&
    x.server === y.server
  );
});

function HandshakePanelView({ connection }: { connection: ConnectionSummary }) {
  const h = connection.handshake;
  return (
    <div className="handshake-panel" data-testid="handshake-panel">
      <ConnectionFacts c={connection} />
      {!h ? (
        <p className="muted">
          {connection.state === 'connecting' ? 'Waiting for the handshake…' : 'No handshake was recorded for this connection.'}
        </p>
      ) : (
        <>
          <AcceptSection h={h} />
          <ChecksSection h={h} />
          <NegotiatedSection h={h} />
          <HeadSection
            title="Request"
            startLine={`${h.request.method} ${h.request.target} ${h.request.version}`}
            headers={h.request.headers}
            raw={() => utf8Decode(writeRequestHead(h.request))}
            at={h.requestAt}
          />
          {h.response ? (
            <HeadSection
              title="Response"
              startLine={`${h.response.version} ${h.response.status} ${h.response.reason}`}
              headers={h.response.headers}
              raw={() => utf8Decode(writeResponseHead(h.response!))}
              at={h.responseAt}
              after={h.responseAt !== null ? `${formatDuration(h.responseAt - h.requestAt)} after the request` : undefined}
            />
          ) : (
            <Block title="Response">
              <p className="error-text">No response was received.</p>
            </Block>
          )}
        </>
      )}
      {connection.tls && <TlsSection c={connection} />}
      {connection.errors.length > 0 && (
        <Block title="Errors">
          <ul className="errors">
            {connection.errors.map((e, i) => (
              <li key={i} className="error-text">
                {e}
              </li>
            ))}
          </ul>
        </Block>
      )}
    </div>
  );
}

function Block({ title, children, right }: { title: string; children: ReactNode; right?: ReactNode }) {
  return (
    <section className="detail-section">
      <h3>
        {title}
        {right && <span className="h3-right">{right}</span>}
      </h3>
      {children}
    </section>
  );
}

function ConnectionFacts({ c }: { c: ConnectionSummary }) {
  return (
    <dl className="kv facts">
      <dt>URL</dt>
      <dd className="mono">{c.url}</dd>
      <dt>Peers</dt>
      <dd className="mono" data-testid="connection-peers">
        {c.client !== null || c.server !== null ? (
          <>
            {c.client ?? '?'} → {c.server ?? '?'}
          </>
        ) : (
          <span className="muted">{c.state === 'connecting' ? 'connecting…' : 'none: no TCP connection was made'}</span>
        )}
      </dd>
      <dt>Started</dt>
      <dd>
        {formatDate(c.startedAt)} {formatClock(c.startedAt)}
        {c.endedAt !== null && <span className="muted"> · ended after {formatDuration(c.endedAt - c.startedAt)}</span>}
      </dd>
    </dl>
  );
}

/** Accept recomputed in this page (crypto.subtle), step by step, against what was received. */
function AcceptSection({ h }: { h: HandshakeRecord }) {
  const [steps, setSteps] = useState<AcceptSteps | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = h.accept.key;
  useEffect(() => {
    let live = true;
    setSteps(null);
    setError(null);
    acceptStepsAsync(key).then(
      (s) => live && setSteps(s),
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [key]);
  // Until our own SHA-1 is done (or where the page has none), the engine's expected value.
  const verdict = acceptVerdict(steps ?? { base64: h.accept.expected }, h.accept.received);
  const disagree = steps !== null && steps.base64 !== h.accept.expected;
  return (
    <Block title="Sec-WebSocket-Accept (RFC 6455 §4.2.2)">
      <div className={`verdict ${verdict.valid ? 'ok' : 'bad'}`} data-testid="accept-status" data-valid={verdict.valid}>
        <span className="verdict-icon" aria-hidden="true">
          {verdict.valid ? '✓' : '✗'}
        </span>
        {verdict.text}
      </div>
      <ol className="accept-steps">
        <li>
          <span className="step-label">Sec-WebSocket-Key sent</span>
          <code className="mono">{key || '(none)'}</code>
        </li>
        <li>
          <span className="step-label">key + GUID</span>
          <code className="mono wrap">
            {key}
            <span className="muted">{steps?.guid ?? '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'}</span>
          </code>
        </li>
        <li>
          <span className="step-label">SHA-1, hex</span>
          <code className="mono wrap">{steps ? steps.sha1Hex : error ? `(this page cannot compute SHA-1: ${error})` : '…'}</code>
        </li>
        <li>
          <span className="step-label">Base64 = expected</span>
          <code className="mono">{steps ? steps.base64 : h.accept.expected}</code>
        </li>
        <li>
          <span className="step-label">Received</span>
          <code className={`mono ${verdict.valid ? 'ok-text' : 'error-text'}`}>{h.accept.received ?? '(none)'}</code>
        </li>
      </ol>
      {disagree && (
        <p className="warn-text">
          The engine expected {h.accept.expected}; this page computes {steps!.base64}. The verdict above is this page's.
        </p>
      )}
    </Block>
  );
}

function ChecksSection({ h }: { h: HandshakeRecord }) {
  const failed = h.checks.filter((c) => !c.ok).length;
  return (
    <Block title="Checks" right={<span className={failed ? 'error-text' : 'ok-text'}>{failed ? `${failed} failed` : `all ${h.checks.length} passed`}</span>}>
      <ul className="checks">
        {h.checks.map((c) => (
          <li key={c.id} className={c.ok ? 'pass' : 'fail'} data-testid="handshake-check" data-ok={c.ok}>
            <span className="check-mark" aria-label={c.ok ? 'pass' : 'fail'}>
              {c.ok ? '✓' : '✗'}
            </span>
            <code>{c.id}</code>
            <span className="check-detail">{c.detail}</span>
          </li>
        ))}
      </ul>
    </Block>
  );
}

function NegotiatedSection({ h }: { h: HandshakeRecord }) {
  return (
    <Block title="Negotiated">
      <dl className="kv">
        <dt>Subprotocol</dt>
        <dd className="mono">{h.protocol ?? <span className="muted">none</span>}</dd>
        <dt>Extensions</dt>
        <dd>
          {h.extensions.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            <ul className="extensions">
              {h.extensions.map((e, i) => (
                <li key={i}>
                  <code>{e.name}</code>
                  {Object.entries(e.params).map(([k, v]) => (
                    <span key={k} className="param mono">
                      {k}
                      {v === true ? '' : `=${v}`}
                    </span>
                  ))}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </Block>
  );
}

function HeadSection({
  title,
  startLine,
  headers,
  raw,
  at,
  after,
}: {
  title: string;
  startLine: string;
  headers: HeaderList;
  raw: () => string;
  at: number | null;
  after?: string | undefined;
}) {
  const [showRaw, setShowRaw] = useState(false);
  return (
    <Block
      title={title}
      right={
        <>
          {at !== null && <span className="muted">{formatClock(at)}</span>}
          {after && <span className="muted"> · {after}</span>}
          <button type="button" className="btn ghost small" aria-pressed={showRaw} onClick={() => setShowRaw((v) => !v)}>
            {showRaw ? 'Table' : 'Raw'}
          </button>
        </>
      }
    >
      {showRaw ? (
        <pre className="mono raw-http" data-testid={`raw-${title.toLowerCase()}`}>
          {safeRaw(raw)}
        </pre>
      ) : (
        <>
          <div className="start-line mono">{startLine}</div>
          <table className="headers">
            <tbody>
              {headers.map(([name, value], i) => (
                <tr key={i}>
                  <th className="mono">{name}</th>
                  <td className="mono">{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Block>
  );
}

function safeRaw(raw: () => string): string {
  try {
    return raw().replace(/\r\n/g, '␍␊\n');
  } catch (e) {
    return `(cannot be written back as HTTP: ${e instanceof Error ? e.message : String(e)})`;
  }
}

function TlsSection({ c }: { c: ConnectionSummary }) {
  const t = c.tls!;
  return (
    <Block title="TLS">
      <dl className="kv">
        <dt>Protocol</dt>
        <dd>{t.protocol ?? '?'}</dd>
        <dt>Cipher</dt>
        <dd className="mono">{t.cipher ?? '?'}</dd>
        <dt>Server name</dt>
        <dd className="mono">{t.servername ?? '(none)'}</dd>
        <dt>Certificate</dt>
        <dd className={t.authorized ? 'ok-text' : 'error-text'}>
          {t.authorized ? 'verified' : `not verified${t.authorizationError ? `: ${t.authorizationError}` : ''}`}
        </dd>
        {t.peerCertificate && (
          <>
            <dt>Subject</dt>
            <dd className="mono">{t.peerCertificate.subject}</dd>
            <dt>Issuer</dt>
            <dd className="mono">{t.peerCertificate.issuer}</dd>
            <dt>Valid to</dt>
            <dd>{t.peerCertificate.validTo}</dd>
            <dt>SHA-256</dt>
            <dd className="mono wrap">{t.peerCertificate.fingerprint256}</dd>
          </>
        )}
      </dl>
    </Block>
  );
}
