// The queue of messages held at a breakpoint (every connection's, oldest first) and the
// editor of the one selected: its payload as text, pretty JSON or hex, the frame level
// (opcode, fragment size, RSV2/RSV3) with the frames it becomes, and what to do with it.
import { useEffect, useMemo, useState } from 'react';
import type { DecodedForm, HeldMessage } from '../../../shared/contract';
import { fromBase64, toHex, utf8DecodeStrict } from '../../../shared/bytes';
import { opcodeName } from '../../../shared/codec/protocol';
import { decideHeld, forwardAll } from '../store/intercept-actions';
import { engine } from '../store/actions';
import { EncodedPreview, FormEditor, useEncoded } from './FormEditor';
import { useAppStore } from '../store/store';
import { MAX_SEND_BYTES } from '../views/composer';
import { formatBytes, formatCount } from '../views/format';
import { composeHeld, draftOf, prettyJson, reformat, type HeldDraft, type HeldFormat } from '../views/held';

const arrow = (from: 'client' | 'server'): string => (from === 'client' ? 'client → server' : 'server → client');

function previewOf(h: HeldMessage): string {
  if (h.data === undefined) return `${formatBytes(h.size)}, too large to show`;
  const bytes = fromBase64(h.data);
  const head = bytes.subarray(0, 96);
  const text = h.opcode === 1 ? utf8DecodeStrict(head) : null;
  return text !== null ? text : toHex(head.subarray(0, 32), ' ');
}

export function HeldPanel() {
  const held = useAppStore((s) => s.held);
  const selected = useAppStore((s) => s.selectedHeld);
  const select = useAppStore((s) => s.selectHeld);
  const current = selected !== null ? held.get(selected) : undefined;
  const list = [...held.values()];
  return (
    <div className="held-panel" data-testid="held-panel">
      <div className="held-head">
        <span>
          <strong>{formatCount(held.size)}</strong> held
        </span>
        <div className="grow" />
        {current && list.some((h) => h.connection !== current.connection) && (
          <button type="button" className="btn small" data-testid="held-forward-connection" onClick={() => void forwardAll(current.connection)}>
            Forward all on {current.connection}
          </button>
        )}
        <button type="button" className="btn small" data-testid="held-forward-all" disabled={held.size === 0} onClick={() => void forwardAll()}>
          Forward all
        </button>
      </div>
      {held.size === 0 ? (
        <p className="muted pad">Nothing is held. Turn on a breakpoint (Breakpoints, on the left) and messages that match wait here for you.</p>
      ) : (
        <>
          <ul className="held-list" data-testid="held-list" role="listbox" aria-label="Held messages">
            {list.map((h) => (
              <li
                key={h.id}
                role="option"
                aria-selected={h.id === selected}
                className={`held-item ${h.id === selected ? 'selected' : ''}`}
                data-testid="held-item"
                data-id={h.id}
                data-from={h.from}
                onClick={() => select(h.id)}
              >
                <span className="mono muted">#{h.id}</span>
                <span className="mono">{h.connection}</span>
                <span className={`dir-${h.from}`}>{h.from === 'client' ? '↑' : '↓'}</span>
                <span className="mono">{opcodeName(h.opcode)}</span>
                <span className="mono muted">{formatBytes(h.size)}</span>
                <span className="mono held-preview">{previewOf(h)}</span>
              </li>
            ))}
          </ul>
          {current && <HeldEditor key={current.id} held={current} />}
        </>
      )}
    </div>
  );
}

function HeldEditor({ held }: { held: HeldMessage }) {
  const [draft, setDraft] = useState<HeldDraft>(() => draftOf(held));
  const [note, setNote] = useState<string | null>(null);
  const [closing, setClosing] = useState(false);
  const [closeCode, setCloseCode] = useState(1000);
  const [closeReason, setCloseReason] = useState('');
  const [busy, setBusy] = useState(false);
  const deflate = useAppStore((s) => s.connections.get(held.connection)?.handshake?.extensions.some((e) => e.name === 'permessage-deflate') ?? false);
  // Framescope's own client writes an edited message its own way: the frame level applies to proxied connections.
  const own = useAppStore((s) => s.connections.get(held.connection)?.mode === 'client');
  const ownNote = own ? "On Framescope's own connection an edited message goes as one frame: fragments and RSV bits apply to proxied connections" : undefined;
  const composed = useMemo(() => composeHeld(held, draft), [held, draft]);
  const editable = held.data !== undefined;
  // The message in its protocol's terms, when the engine decodes its connection (else why not).
  const [decoded, setDecoded] = useState<{ original: DecodedForm; form: DecodedForm } | { reason: string } | null>(null);
  const [asDecoded, setAsDecoded] = useState(false);
  useEffect(() => {
    let live = true;
    engine()
      .editForm({ connection: held.connection, held: held.id })
      .then(
        (r) => live && setDecoded('form' in r ? { original: r.form, form: r.form } : r),
        (err: unknown) => live && setDecoded({ reason: err instanceof Error ? err.message : String(err) }),
      );
    return () => {
      live = false;
    };
  }, [held.connection, held.id]);
  const form = asDecoded && decoded && 'form' in decoded ? decoded.form : null;
  const encoding = useEncoded(held.connection, form, held.id);
  const formChanged = form !== null && decoded !== null && 'original' in decoded && JSON.stringify(form) !== JSON.stringify(decoded.original);
  const patch = (p: Partial<HeldDraft>) => {
    setNote(null);
    setDraft((d) => ({ ...d, ...p }));
  };
  const switchFormat = (format: HeldFormat) => {
    const r = format === 'json' ? (draft.format === 'hex' ? reformat(draft, 'text') : { body: draft.body }) : reformat(draft, format);
    if ('error' in r) return setNote(r.error);
    patch({ format, body: r.body });
  };
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
    } finally {
      setBusy(false);
    }
  };
  const closeValid = Number.isInteger(closeCode) && closeCode >= 1000 && closeCode <= 4999 && new TextEncoder().encode(closeReason).length <= 123;

  return (
    <div className="held-editor" data-testid="held-editor" aria-label={`Held message #${held.id}`}>
      <div className="held-editor-head">
        <strong>#{held.id}</strong> <span className="mono">{held.connection}</span> <span className={`dir-${held.from}`}>{arrow(held.from)}</span>{' '}
        <span className="muted">
          {opcodeName(held.opcode)}, {formatBytes(held.size)}
        </span>
        {held.rule !== undefined && (
          <span className="held-rule" data-testid="held-rule">
            {' '}
            held by rule <strong>{held.rule}</strong>
          </span>
        )}
      </div>
      {editable ? (
        <>
          <div className="row-fields">
            <div className="segmented small" role="radiogroup" aria-label="Edit as">
              {(['text', 'json', 'hex'] as const).map((f) => (
                <button
                  key={f}
                  type="button"
                  role="radio"
                  aria-checked={!asDecoded && draft.format === f}
                  className={!asDecoded && draft.format === f ? 'on' : ''}
                  data-testid={`held-format-${f}`}
                  onClick={() => {
                    setAsDecoded(false);
                    switchFormat(f);
                  }}
                >
                  {f === 'json' ? 'JSON' : f === 'hex' ? 'Hex' : 'Text'}
                </button>
              ))}
              <button
                type="button"
                role="radio"
                aria-checked={asDecoded}
                className={asDecoded ? 'on' : ''}
                data-testid="held-format-decoded"
                disabled={!decoded || !('form' in decoded)}
                title={decoded && 'reason' in decoded ? `Not as a form: ${decoded.reason}` : `Edit it in its protocol's terms${decoded && 'form' in decoded ? ` (${decoded.form.protocol})` : ''}; Framescope encodes it`}
                onClick={() => setAsDecoded(true)}
              >
                Decoded{decoded && 'form' in decoded ? ` ${decoded.form.protocol}` : ''}
              </button>
            </div>
            {!asDecoded && draft.format === 'json' && (
              <button
                type="button"
                className="btn ghost small"
                data-testid="held-json-format"
                onClick={() => {
                  const r = prettyJson(draft.body);
                  if ('error' in r) setNote(r.error);
                  else patch({ body: r.body });
                }}
              >
                Format
              </button>
            )}
            <div className="grow" />
            <button
              type="button"
              className="btn ghost small"
              title="Back to the message as it came"
              onClick={() => {
                setDraft(draftOf(held));
                if (decoded && 'original' in decoded) setDecoded({ original: decoded.original, form: decoded.original });
              }}
            >
              Reset
            </button>
          </div>
          {form && decoded && 'original' in decoded && (
            <>
              <FormEditor form={form} held onChange={(f) => setDecoded({ original: decoded.original, form: f })} />
              {formChanged ? (
                <EncodedPreview encoding={encoding} testId="held-decoded-preview" />
              ) : (
                <p className="small muted">Unchanged: it goes on byte for byte as it came.</p>
              )}
            </>
          )}
          {!form && (<>
          <textarea
            className="input mono held-input"
            data-testid="held-input"
            rows={draft.format === 'json' ? 8 : 5}
            spellCheck={false}
            value={draft.body}
            onChange={(e) => patch({ body: e.target.value })}
          />
          <div className="row-fields held-frame-level" aria-label="Frame level">
            <label className="inline-field">
              opcode
              <select className="input mono" data-testid="held-opcode" value={draft.opcode} onChange={(e) => patch({ opcode: Number(e.target.value) === 2 ? 2 : 1 })}>
                <option value={1}>1 text</option>
                <option value={2}>2 binary</option>
              </select>
            </label>
            <label className="inline-field" title={ownNote ?? 'Split the message into frames of at most this many bytes (0: one frame); FIN is set on the last'}>
              Fragment
              <input
                className="input mono num"
                data-testid="held-fragment"
                type="number"
                min={0}
                max={MAX_SEND_BYTES}
                value={draft.fragmentSize}
                disabled={own}
                onChange={(e) => patch({ fragmentSize: Math.max(0, Math.floor(Number(e.target.value) || 0)) })}
              />
              B
            </label>
            <label className="check bit" title="RSV1 belongs to permessage-deflate: Framescope sets it when it compresses">
              <input type="checkbox" checked={false} disabled readOnly />
              RSV1
            </label>
            <label className="check bit" title={ownNote}>
              <input type="checkbox" data-testid="held-rsv2" checked={draft.rsv2} disabled={own} onChange={(e) => patch({ rsv2: e.target.checked })} />
              RSV2
            </label>
            <label className="check bit" title={ownNote}>
              <input type="checkbox" data-testid="held-rsv3" checked={draft.rsv3} disabled={own} onChange={(e) => patch({ rsv3: e.target.checked })} />
              RSV3
            </label>
          </div>
          </>)}
        </>
      ) : (
        <p className="muted small">Larger than {formatBytes(1024 * 1024)}: it can go on as it came, be dropped, or close the connection, but not be edited here.</p>
      )}

      {form ? null : composed.ok ? (
        <div className="held-plan" data-testid="held-bytes">
          <div className="small">
            {composed.changed ? 'Framescope writes ' : 'Goes on byte for byte as it came: '}
            {composed.frameCount === 1 ? '1 frame' : `${formatCount(composed.frameCount)} frames`}, {formatBytes(composed.payloadBytes)} payload
            {composed.changed && deflate ? ' before compression (permessage-deflate: Framescope compresses it and sets RSV1)' : ''}
          </div>
          {composed.changed && (
            <ul className="frame-plan mono">
              {composed.frames.map((f, i) => (
                <li key={i}>
                  {opcodeName(f.opcode)} FIN={f.fin ? 1 : 0} len={formatCount(f.length)} header {headerText(f.header)}
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : (
        <span className="error-text small" data-testid="held-error">
          {composed.error}
        </span>
      )}
      {note && <span className="error-text small">{note}</span>}

      {closing && (
        <div className="row-fields held-close-fields">
          <label className="inline-field">
            Code
            <input
              className="input mono num"
              data-testid="held-close-code"
              type="number"
              min={1000}
              max={4999}
              value={closeCode}
              onChange={(e) => setCloseCode(Math.floor(Number(e.target.value)))}
            />
          </label>
          <input
            className="input mono grow"
            data-testid="held-close-reason"
            placeholder="reason (at most 123 bytes)"
            value={closeReason}
            onChange={(e) => setCloseReason(e.target.value)}
          />
          <button
            type="button"
            className="btn danger"
            data-testid="held-close-confirm"
            disabled={!closeValid || busy}
            title="A close frame with this code toward both the client and the server; this message is not delivered"
            onClick={() => void run(() => decideHeld(held.id, { action: 'close', code: closeCode, reason: closeReason }))}
          >
            Close both sides
          </button>
        </div>
      )}
      <div className="held-actions">
        <button
          type="button"
          className="btn primary"
          data-testid="held-forward"
          disabled={(form ? formChanged && !encoding?.ok : !composed.ok) || busy}
          onClick={() => {
            if (form) void run(() => decideHeld(held.id, formChanged ? { action: 'encode', form } : { action: 'forward' }));
            else if (composed.ok) void run(() => decideHeld(held.id, composed.decision));
          }}
        >
          {form ? (formChanged ? 'Forward edited' : 'Forward') : composed.ok && composed.changed ? 'Forward edited' : 'Forward'}
        </button>
        <button type="button" className="btn" data-testid="held-drop" disabled={busy} onClick={() => void run(() => decideHeld(held.id, { action: 'drop' }))}>
          Drop
        </button>
        <button type="button" className={`btn ${closing ? 'active' : ''}`} data-testid="held-close" aria-expanded={closing} onClick={() => setClosing((v) => !v)}>
          Close…
        </button>
      </div>
    </div>
  );
}

/** Header hex with a mask key still to be chosen written as ??. */
function headerText(header: Uint8Array): string {
  const masked = (header[1]! & 0x80) !== 0;
  const hex = toHex(masked ? header.subarray(0, header.length - 4) : header, ' ');
  return masked ? `${hex} ?? ?? ?? ??` : hex;
}
