// One frame, all of it: the header bit by bit with its bytes, the payload as hex (as sent,
// masked, and unmasked), as text and JSON, the whole message when it was fragmented or
// compressed, the close code, the violations with their RFC section.
import { memo, useEffect, useMemo, useState, type ReactNode } from 'react';
import { MAX_NOTE } from '../../../shared/model';
import { copyConnectionNdjson, copyPayload, copyText, setNote, toggleBookmark } from '../store/annotate-actions';
import { PAYLOAD_FORMATS, PAYLOAD_FORMAT_LABELS, rowLine } from '../views/copy';
import { MenuItem, MenuSeparator, PopupMenu } from './Menu';
import type { ConnectionSummary, FrameSummary, SendRequest } from '../../../shared/contract';
import { fromBase64, toBase64, toHex, utf8DecodeStrict } from '../../../shared/bytes';
import { applyMask } from '../../../shared/codec/frame-writer';
import { closeCodeName, isControl, isValidWireCloseCode, opcodeName } from '../../../shared/codec/protocol';
import { ensureRows, loadPayload, payloadKey, sendFrame } from '../store/actions';
import { chunkIndexOf, chunkKey, rowAt, type ChunkMap } from '../store/frame-chunks';
import { useAppStore } from '../store/store';
import { formatBytes, formatClock, formatCount, formatDuration, formatRelative } from '../views/format';
import { HeaderBits } from './HeaderBits';
import { HexView } from './HexView';
import { LegsView } from './LegsView';
import { DecodedView } from './DecodedView';

/** Redrawn when the frame, or what it needs of its connection, changes — not per pushed batch. */
export const FrameDetail = memo(
  FrameDetailView,
  (a, b) => a.seq === b.seq && a.connection.id === b.connection.id && a.connection.state === b.connection.state && a.connection.startedAt === b.connection.startedAt,
);

function FrameDetailView({ connection, seq }: { connection: ConnectionSummary; seq: number }) {
  const id = connection.id;
  const row = useAppStore((s) => rowAt(s.chunks, id, seq));
  const payload = useAppStore((s) => s.payloads.get(payloadKey(id, seq)));
  useEffect(() => {
    ensureRows(id, seq, seq + 1);
    loadPayload(id, seq);
  }, [id, seq]);

  const decoded = useMemo(() => {
    if (!payload || 'error' in payload) return null;
    try {
      return {
        bytes: fromBase64(payload.payload),
        message: payload.message !== undefined ? fromBase64(payload.message) : null,
        truncated: payload.truncated === true,
      };
    } catch {
      return null;
    }
  }, [payload]);

  if (!row) return <p className="muted pad">Loading frame #{seq}…</p>;

  return (
    <div className="frame-detail" data-testid="frame-detail" data-seq={seq}>
      <FrameSummaryLine row={row} startedAt={connection.startedAt} />
      <FrameActions row={row} connection={connection} bytes={decoded?.bytes ?? null} message={decoded?.message ?? null} />
      <NoteEditor key={`${id}\u0000${seq}`} connection={id} row={row} />
      {payload && !('error' in payload) && payload.decoded && (
        <Section title={`Decoded — ${payload.decoded.protocol}`}>
          <DecodedView payload={payload} />
        </Section>
      )}
      {(row.by || row.intervention) && (
        <Section title="Both legs">
          <LegsView connection={id} row={row} />
        </Section>
      )}
      {row.violations && row.violations.length > 0 && (
        <Section title={`Violations (${row.violations.length})`} className="violations">
          <ul>
            {row.violations.map((v, i) => (
              <li key={i} className={`violation ${v.severity}`}>
                <span className="pill">{v.severity}</span> <code>{v.id}</code> <span className="muted">RFC {v.rfc}</span>
                <div>{v.message}</div>
              </li>
            ))}
          </ul>
        </Section>
      )}
      {row.close && <CloseInfo row={row} />}
      {row.rtt !== undefined && (
        <Section title="Round trip">
          This pong answers a ping sent {formatDuration(row.rtt)} earlier.
        </Section>
      )}
      <Section title="Header (RFC 6455 §5.2)">
        <HeaderBits headerHex={row.header} />
      </Section>
      <Section title={`Payload — ${formatCount(row.length)} bytes${row.truncated ? ' (stored in part)' : ''}`}>
        {!payload ? (
          <p className="muted">Loading payload…</p>
        ) : 'error' in payload ? (
          <p className="error-text">Could not load the payload: {payload.error}</p>
        ) : decoded ? (
          <PayloadViews row={row} bytes={decoded.bytes} truncated={decoded.truncated} />
        ) : (
          <p className="error-text">The payload is not valid base64.</p>
        )}
      </Section>
      {row.message && (
        <Section title="Whole message (reassembled / inflated)">
          <MessageView row={row} message={decoded?.message ?? null} connection={id} />
        </Section>
      )}
    </div>
  );
}

function Section({ title, children, className = '' }: { title: string; children: ReactNode; className?: string }) {
  return (
    <section className={`detail-section ${className}`}>
      <h3>{title}</h3>
      {children}
    </section>
  );
}

function FrameSummaryLine({ row, startedAt }: { row: FrameSummary; startedAt: number }) {
  return (
    <div className="detail-summary">
      <span className="detail-seq">#{row.seq}</span>
      <span className={`dir-${row.from}`}>{row.from === 'client' ? '↑ client → server' : '↓ server → client'}</span>
      <span className={`pill op-${opcodeName(row.opcode).replace(/-\d+$/, '')}`}>
        {opcodeName(row.opcode)} (0x{row.opcode.toString(16)})
      </span>
      <span>{row.fin ? 'FIN' : 'not final'}</span>
      {(row.rsv1 || row.rsv2 || row.rsv3) && (
        <span className="warn-text">
          RSV {row.rsv1 ? 1 : 0}
          {row.rsv2 ? 1 : 0}
          {row.rsv3 ? 1 : 0}
        </span>
      )}
      <span>{row.masked ? `masked, key ${row.maskKey}` : 'unmasked'}</span>
      <span className="muted" title="wall clock">
        {formatClock(row.time)}
      </span>
      <span className="muted" title="seconds since the connection started">
        {formatRelative(row.time, startedAt)} s
      </span>
    </div>
  );
}

/** The whole decoded message as a resend would carry it, or this frame's own. */
function resendRequest(connection: string, row: FrameSummary, bytes: Uint8Array, message: Uint8Array | null): SendRequest | null {
  const data = message ?? bytes;
  const op = row.message?.opcode ?? row.opcode;
  if (op === 1) {
    const text = utf8DecodeStrict(data);
    return text === null ? { connection, kind: 'binary', data: toBase64(data) } : { connection, kind: 'text', text };
  }
  if (op === 2) return { connection, kind: 'binary', data: toBase64(data) };
  if (op === 9 || op === 10) return { connection, kind: op === 9 ? 'ping' : 'pong', data: toBase64(bytes.subarray(0, 125)) };
  if (op === 8) return { connection, kind: 'close', ...(row.close?.code && isValidWireCloseCode(row.close.code) ? { code: row.close.code } : {}), reason: row.close?.reason.slice(0, 123) ?? '' };
  return {
    connection,
    kind: 'raw',
    frame: { fin: row.fin, rsv1: row.rsv1, rsv2: row.rsv2, rsv3: row.rsv3, opcode: row.opcode, payload: toBase64(bytes) },
  };
}

function FrameActions({
  row,
  connection,
  bytes,
  message,
}: {
  row: FrameSummary;
  connection: ConnectionSummary;
  bytes: Uint8Array | null;
  message: Uint8Array | null;
}) {
  const setComposer = useAppStore((s) => s.setComposer);
  const open = connection.state === 'open';
  // A proxied connection is relayed, not ours: the engine cannot send on it.
  const relayed = connection.mode === 'proxy';
  const canResend = open && !relayed && bytes !== null && !row.truncated;
  const resend = () => {
    if (!bytes) return;
    const req = resendRequest(connection.id, row, bytes, message);
    if (req) void sendFrame(req);
  };
  const edit = () => {
    if (!bytes) return;
    const text = utf8DecodeStrict(message ?? bytes);
    const op = row.message?.opcode ?? row.opcode;
    if (op === 1 && text !== null) setComposer({ mode: 'text', text });
    else if (op === 2) setComposer({ mode: 'binary', hex: toHex(message ?? bytes, ' ') });
    else
      setComposer({
        mode: 'raw',
        raw: {
          fin: row.fin,
          rsv1: row.rsv1,
          rsv2: row.rsv2,
          rsv3: row.rsv3,
          opcode: row.opcode,
          mask: 'key',
          maskKey: row.maskKey ?? '00000000',
          payloadFormat: 'hex',
          payload: toHex(bytes, ' '),
        },
      });
  };
  return (
    <div className="detail-actions">
      {/* A proxied connection is relayed, with no composer to send or edit into. */}
      {!relayed && (
        <>
          <button
            type="button"
            className="btn small"
            data-testid="resend-button"
            disabled={!canResend}
            title={open ? 'Send this frame (its whole message, when it has one) again' : 'The connection is not open'}
            onClick={resend}
          >
            ↻ Resend
          </button>
          <button type="button" className="btn small" disabled={bytes === null || row.truncated === true} onClick={edit}>
            ✎ Edit in composer
          </button>
        </>
      )}
      <button
        type="button"
        className="btn ghost small"
        data-testid="copy-hex"
        disabled={bytes === null}
        title="This frame's payload as spaced hex"
        onClick={() => bytes && void copyText(toHex(bytes, ' '), `the payload of #${row.seq} as hex`)}
      >
        Copy hex
      </button>
      <CopyMenuButton row={row} connection={connection} />
      <span className="grow" />
      <button
        type="button"
        className={`btn small bookmark-toggle ${row.bookmark ? 'active' : ''}`}
        data-testid="bookmark-toggle"
        aria-pressed={row.bookmark === true}
        title={row.bookmark ? 'Remove the bookmark (b in the list)' : 'Bookmark this frame (b in the list): kept in the session and in capture exports'}
        onClick={() => void toggleBookmark(connection.id, row.seq)}
      >
        {row.bookmark ? '★ Bookmarked' : '☆ Bookmark'}
      </button>
    </div>
  );
}

/** Copy this frame (its row, its payload in a format) or its whole connection. */
function CopyMenuButton({ row, connection }: { row: FrameSummary; connection: ConnectionSummary }) {
  const [at, setAt] = useState<{ x: number; y: number } | null>(null);
  const timeMode = useAppStore((s) => s.prefs.timeMode);
  const run = (fn: () => void) => () => {
    setAt(null);
    fn();
  };
  return (
    <>
      <button
        type="button"
        className="btn ghost small"
        data-testid="copy-menu-button"
        aria-haspopup="menu"
        aria-expanded={at !== null}
        onClick={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          setAt(at ? null : { x: r.left, y: r.bottom + 2 });
        }}
      >
        Copy ▾
      </button>
      {at && (
        <PopupMenu x={at.x} y={at.y} onClose={() => setAt(null)} testId="copy-menu" label="Copy">
          <MenuItem testId="copy-row" onClick={run(() => void copyText(rowLine(row, connection.startedAt, timeMode), `row #${row.seq}`))}>
            Row (one line)
          </MenuItem>
          {PAYLOAD_FORMATS.map((f) => (
            <MenuItem key={f} testId={`copy-payload-${f}`} onClick={run(() => void copyPayload(connection.id, row.seq, f))}>
              Payload {PAYLOAD_FORMAT_LABELS[f]}
            </MenuItem>
          ))}
          <MenuSeparator />
          <MenuItem testId="copy-ndjson" onClick={run(() => void copyConnectionNdjson(connection.id))}>
            Connection as NDJSON
          </MenuItem>
          <MenuItem testId="save-ndjson" onClick={run(() => void copyConnectionNdjson(connection.id, true))}>
            Save connection as NDJSON…
          </MenuItem>
        </PopupMenu>
      )}
    </>
  );
}

/**
 * The frame's note: saved when the field loses focus or on Ctrl+Enter (Escape puts the
 * saved one back). Kept by the engine, so a capture export and a restored session have it.
 */
function NoteEditor({ connection, row }: { connection: string; row: FrameSummary }) {
  const saved = row.note ?? '';
  const [text, setText] = useState(saved);
  const [open, setOpen] = useState(saved !== '');
  // Another frame, or the note changed elsewhere (another tab): show the engine's.
  useEffect(() => {
    setText(saved);
    if (saved) setOpen(true);
  }, [saved, row.seq]);
  const save = () => {
    if (text !== saved) void setNote(connection, row.seq, text);
  };
  if (!open) {
    return (
      <button type="button" className="link add-note" data-testid="add-note" onClick={() => setOpen(true)}>
        ✎ Add a note
      </button>
    );
  }
  return (
    <div className="frame-note-wrap">
      <textarea
        className="input frame-note"
        data-testid="frame-note"
        aria-label={`Note on frame #${row.seq}`}
        placeholder="A note on this frame (kept in the session and in capture exports)"
        rows={Math.min(6, Math.max(2, text.split('\n').length))}
        maxLength={MAX_NOTE}
        value={text}
        autoFocus={!saved}
        onChange={(e) => setText(e.target.value)}
        onBlur={save}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            save();
          } else if (e.key === 'Escape') {
            e.stopPropagation();
            setText(saved);
          }
        }}
      />
      <span className="muted small" data-testid="note-state">
        {text === saved ? (saved ? 'saved' : '') : 'unsaved: Ctrl+Enter or leave the field to save'}
      </span>
    </div>
  );
}

function CloseInfo({ row }: { row: FrameSummary }) {
  const code = row.close!.code;
  return (
    <Section title="Close">
      <dl className="kv">
        <dt>Code</dt>
        <dd>
          {code === null ? (
            <span className="muted">none (empty close payload: 1005 No Status Received to the application)</span>
          ) : (
            <>
              <b className="mono">{code}</b> {closeCodeName(code)}
              {!isValidWireCloseCode(code) && <span className="error-text"> — not allowed on the wire (RFC 6455 §7.4)</span>}
            </>
          )}
        </dd>
        <dt>Reason</dt>
        <dd>{row.close!.reason ? <span className="mono">{row.close!.reason}</span> : <span className="muted">(none)</span>}</dd>
      </dl>
    </Section>
  );
}

function TextBlock({ bytes, binaryNote }: { bytes: Uint8Array; binaryNote?: string }) {
  const text = useMemo(() => utf8DecodeStrict(bytes.length > 1024 * 1024 ? bytes.subarray(0, 1024 * 1024) : bytes), [bytes]);
  const json = useMemo(() => {
    if (text === null) return null;
    const t = text.trim();
    if (!(t.startsWith('{') || t.startsWith('['))) return null;
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      return null;
    }
  }, [text]);
  if (text === null) return <p className="muted">{binaryNote ?? 'Not valid UTF-8: see the hex.'}</p>;
  return (
    <div className="text-block">
      <div className="muted small">{json ? 'JSON (pretty-printed)' : 'Text (UTF-8)'}</div>
      <pre className="mono text-view" data-testid="text-view">
        {json ?? text}
      </pre>
    </div>
  );
}

function PayloadViews({ row, bytes, truncated }: { row: FrameSummary; bytes: Uint8Array; truncated: boolean }) {
  const masked = useMemo(() => {
    if (!row.masked || !row.maskKey) return null;
    const key = new Uint8Array(4);
    for (let i = 0; i < 4; i++) key[i] = parseInt(row.maskKey.slice(i * 2, i * 2 + 2), 16);
    return applyMask(bytes, key);
  }, [bytes, row.masked, row.maskKey]);
  const showText = !row.rsv1 && (row.opcode === 1 || row.opcode === 0 || row.opcode === 9 || row.opcode === 10);
  return (
    <div className="payload-views">
      {truncated && <p className="warn-text">Only the first {formatBytes(bytes.length)} of {formatBytes(row.length)} were stored.</p>}
      {row.rsv1 && <p className="muted">RSV1 is set: this payload is compressed (permessage-deflate); the inflated message is below.</p>}
      {showText && <TextBlock bytes={bytes} />}
      {row.opcode === 8 && bytes.length > 2 && <TextBlock bytes={bytes.subarray(2)} />}
      <div className="muted small">Unmasked payload</div>
      <HexView bytes={bytes} testId="hex-view" label="unmasked payload, hex" />
      {masked && (
        <>
          <div className="muted small">As on the wire (masked with {row.maskKey})</div>
          <HexView bytes={masked} testId="hex-view-masked" label="masked payload as on the wire, hex" />
        </>
      )}
    </div>
  );
}

/** Frames of the message that ends at `row`, found in memory (null when some are not). */
function messageFrames(chunks: ChunkMap, connection: string, row: FrameSummary): FrameSummary[] | null {
  const out: FrameSummary[] = [row];
  if (row.opcode !== 0) return out;
  for (let s = row.seq - 1, steps = 0; s >= 0 && steps < 100_000; s--, steps++) {
    if (!chunks.has(chunkKey(connection, chunkIndexOf(s)))) return null;
    const r = rowAt(chunks, connection, s);
    if (!r) return null;
    if (r.from !== row.from || isControl(r.opcode)) continue;
    out.unshift(r);
    if (r.opcode !== 0) return out;
  }
  return null;
}

function MessageView({ row, message, connection }: { row: FrameSummary; message: Uint8Array | null; connection: string }) {
  // A primitive from the selector, so pushes that do not touch this message do not redraw it.
  const found = useAppStore((s) => {
    const f = messageFrames(s.chunks, connection, row);
    // RSV1 marks a compressed message on its first frame only (RFC 7692 §6).
    return f ? `${f.map((x) => x.seq).join(',')}|${f.reduce((n, x) => n + x.length, 0)}|${f[0]!.rsv1 ? 1 : 0}` : null;
  });
  const [seqList, wireText, rsv1] = found ? found.split('|') : [];
  const frames = seqList ? seqList.split(',').map(Number) : null;
  const wire = wireText !== undefined ? Number(wireText) : null;
  const compressed = found ? rsv1 === '1' : row.rsv1;
  const m = row.message!;
  return (
    <div className="message-view">
      <dl className="kv">
        <dt>Type</dt>
        <dd>{m.opcode === 1 ? 'text' : 'binary'}</dd>
        <dt>Frames</dt>
        <dd>{frames ? `${frames.length} (#${frames.join(', #')})` : 'some are not in memory'}</dd>
        <dt>Size</dt>
        <dd>
          {formatCount(m.length)} bytes
          {wire !== null && ` from ${formatCount(wire)} bytes of payload on the wire`}
        </dd>
        <dt>Compressed</dt>
        <dd>{compressed ? 'yes (permessage-deflate)' : frames ? 'no' : 'unknown'}</dd>
        {compressed && wire !== null && m.length > 0 && (
          <>
            <dt>Compression</dt>
            <dd data-testid="compression-ratio">
              {((wire / m.length) * 100).toFixed(1)}% of the original ({(m.length / Math.max(1, wire)).toFixed(2)} : 1)
            </dd>
          </>
        )}
      </dl>
      {message === null ? (
        <p className="muted">Loading message…</p>
      ) : (
        <>
          {m.opcode === 1 && <TextBlock bytes={message} />}
          <HexView bytes={message} testId="hex-view-message" label="whole message, hex" />
        </>
      )}
    </div>
  );
}
