// Send to the selected connection: text, JSON, binary (hex or a file), ping, pong, close,
// or a raw frame crafted bit by bit — with the bytes it becomes shown before it goes. On a
// proxied connection it injects instead, toward the server or the client.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { DecodedForm } from '../../../shared/contract';
import { FORM_PROTOCOLS } from '../../../shared/decoders/forms';
import { engine } from '../store/actions';
import { EncodedPreview, FormEditor, useEncoded } from './FormEditor';
import { toHex } from '../../../shared/bytes';
import { opcodeName } from '../../../shared/codec/protocol';
import { sendFrame } from '../store/actions';
import type { ComposerMode } from '../store/composer-state';
import { useAppStore } from '../store/store';
import { compose, controlPayloadBytes, injectRequestOf, MAX_CONTROL_BYTES, MAX_SEND_BYTES } from '../views/composer';
import { inject } from '../store/intercept-actions';
import { formatBytes, formatCount } from '../views/format';
import { HexView } from './HexView';

const MODES: Array<{ mode: ComposerMode; label: string }> = [
  { mode: 'text', label: 'Text' },
  { mode: 'json', label: 'JSON' },
  { mode: 'binary', label: 'Binary' },
  { mode: 'ping', label: 'Ping' },
  { mode: 'pong', label: 'Pong' },
  { mode: 'close', label: 'Close' },
  { mode: 'raw', label: 'Raw frame' },
];

/**
 * What can be injected into a proxied connection: whole messages, a close toward both sides,
 * raw frames where the engine writes them. Not pings and pongs (each side answers its own),
 * nor fragmenting (the relay writes an injected message in one piece).
 */
const INJECTABLE: ReadonlySet<ComposerMode> = new Set(['text', 'json', 'binary', 'close', 'decoded']);

const randomKey = (): string => toHex(crypto.getRandomValues(new Uint8Array(4)));

export function Composer() {
  // Only what the composer needs: the summary itself changes with every frame.
  const connectionId = useAppStore((s) => s.selectedConnection);
  const state = useAppStore((s) => (s.selectedConnection ? s.connections.get(s.selectedConnection)?.state : undefined));
  // A proxied connection is relayed between the app and its server: the composer injects into it.
  const relayed = useAppStore((s) => (s.selectedConnection ? s.connections.get(s.selectedConnection)?.mode === 'proxy' : false));
  const canInjectFrames = useAppStore((s) => s.intercept.canInjectFrames);
  const [toward, setToward] = useState<'server' | 'client'>('server');
  const c = useAppStore((s) => s.composer);
  const setComposer = useAppStore((s) => s.setComposer);
  const setRaw = useAppStore((s) => s.setRawDraft);
  const [file, setFile] = useState<{ name: string; bytes: Uint8Array } | null>(null);
  const [sending, setSending] = useState(false);
  const [showBytes, setShowBytes] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  // A connection decoded as a protocol with forms: compose in its terms.
  const protocol = useAppStore((s) => (s.selectedConnection ? (s.connections.get(s.selectedConnection)?.decoding?.protocol ?? null) : null));
  const formProtocol = protocol !== null && (FORM_PROTOCOLS as readonly string[]).includes(protocol) ? protocol : null;
  const [form, setForm] = useState<DecodedForm | null>(null);
  useEffect(() => {
    setForm(null);
    if (!connectionId || !formProtocol || c.mode !== 'decoded') return;
    let live = true;
    engine()
      .editForm({ connection: connectionId })
      .then((r) => live && 'form' in r && setForm(r.form), () => {});
    return () => {
      live = false;
    };
  }, [connectionId, formProtocol, c.mode === 'decoded']);
  const encoding = useEncoded(connectionId ?? '', c.mode === 'decoded' ? form : null);
  const all = formProtocol ? [...MODES, { mode: 'decoded' as const, label: `Compose as ${formProtocol}` }] : MODES;
  const modes = relayed ? all.filter((m) => INJECTABLE.has(m.mode) || (m.mode === 'raw' && canInjectFrames)) : all;
  const allowed = modes.some((m) => m.mode === c.mode);
  useEffect(() => {
    if (!allowed) setComposer({ mode: 'text' });
  }, [allowed, setComposer]);
  const composed = useMemo(
    () =>
      connectionId
        ? compose(connectionId, relayed ? { ...c, fragmentSize: 0 } : c, c.mode === 'binary' ? (file?.bytes ?? null) : null, { mask: !relayed || toward === 'server' })
        : null,
    [connectionId, c, file, relayed, toward],
  );
  if (!connectionId || !state) return null;
  const open = state === 'open';
  const decodedMode = c.mode === 'decoded';
  const canSend = open && (decodedMode ? form !== null && encoding?.ok === true : composed?.ok === true) && !sending;
  const controlBytes = c.mode === 'ping' || c.mode === 'pong' ? controlPayloadBytes(c) : null;

  const send = async () => {
    if (!canSend) return;
    const request = decodedMode ? (form ? { connection: connectionId, kind: 'decoded' as const, form } : null) : composed?.ok ? composed.request : null;
    if (!request) return;
    setSending(true);
    try {
      const injected = relayed ? injectRequestOf(request, toward) : null;
      if (relayed && !injected) return;
      const ok = injected ? await inject(injected) : await sendFrame(request);
      if (ok && c.mode === 'raw' && c.raw.mask === 'key') setRaw({ maskKey: randomKey() });
    } finally {
      setSending(false);
    }
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void send();
    }
  };
  const pickFile = async (f: File | undefined) => {
    if (!f) return;
    if (f.size > MAX_SEND_BYTES) return useAppStore.getState().notify('error', `${f.name} is larger than 64 MiB`);
    setFile({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) });
  };

  return (
    <section className="composer" aria-label="Composer" onKeyDown={onKeyDown}>
      <div className="composer-head">
        {relayed && c.mode !== 'close' && (
          <div className="composer-toward" data-testid="composer-direction">
            <span className="muted">toward</span>
            <div className="segmented" role="radiogroup" aria-label="Inject toward">
              {(['server', 'client'] as const).map((side) => (
                <button
                  key={side}
                  type="button"
                  role="radio"
                  aria-checked={toward === side}
                  className={toward === side ? 'on' : ''}
                  data-testid={`composer-toward-${side}`}
                  onClick={() => setToward(side)}
                >
                  {side}
                </button>
              ))}
            </div>
          </div>
        )}
        <div className="segmented" role="radiogroup" aria-label="What to send">
          {modes.map((m) => (
            <button
              key={m.mode}
              type="button"
              role="radio"
              aria-checked={c.mode === m.mode}
              className={c.mode === m.mode ? 'on' : ''}
              data-testid={`composer-mode-${m.mode}`}
              onClick={() => setComposer({ mode: m.mode })}
            >
              {m.label}
            </button>
          ))}
        </div>
        <div className="grow" />
        {!relayed && (c.mode === 'text' || c.mode === 'json' || c.mode === 'binary') && (
          <label className="inline-field" title="Split the message into frames of at most this many bytes (0: one frame)">
            Fragment
            <input
              className="input mono num"
              type="number"
              min={0}
              max={MAX_SEND_BYTES}
              value={c.fragmentSize}
              onChange={(e) => setComposer({ fragmentSize: Math.max(0, Math.floor(Number(e.target.value) || 0)) })}
            />
            B
          </label>
        )}
      </div>

      <div className="composer-body">
        {(c.mode === 'text' || c.mode === 'json') && (
          <textarea
            className="input mono composer-text"
            data-testid="composer-input"
            rows={3}
            spellCheck={false}
            placeholder={c.mode === 'json' ? '{"type": "hello"}' : 'A text message…  (Ctrl+Enter sends)'}
            value={c.text}
            onChange={(e) => setComposer({ text: e.target.value })}
          />
        )}
        {c.mode === 'binary' && (
          <div className="binary-input">
            {file ? (
              <div className="file-chip">
                <span className="mono">{file.name}</span> <span className="muted">{formatBytes(file.bytes.length)}</span>
                <button type="button" className="btn ghost small" onClick={() => setFile(null)}>
                  ✕
                </button>
              </div>
            ) : (
              <textarea
                className="input mono composer-text"
                data-testid="composer-input"
                rows={3}
                spellCheck={false}
                placeholder="Hex bytes: 00 01 02 ff (spaces and colons are ignored)"
                value={c.hex}
                onChange={(e) => setComposer({ hex: e.target.value })}
              />
            )}
            <input ref={fileInput} type="file" hidden onChange={(e) => void pickFile(e.target.files?.[0])} />
            <button type="button" className="btn small" onClick={() => fileInput.current?.click()}>
              From file…
            </button>
          </div>
        )}
        {(c.mode === 'ping' || c.mode === 'pong') && (
          <div className="row-fields">
            <input
              className="input mono grow"
              data-testid="composer-input"
              spellCheck={false}
              placeholder={`${c.mode} payload, at most ${MAX_CONTROL_BYTES} bytes (optional)`}
              value={c.controlText}
              onChange={(e) => setComposer({ controlText: e.target.value })}
            />
            <span
              className={`byte-limit ${controlBytes !== null && controlBytes > MAX_CONTROL_BYTES ? 'over' : ''}`}
              data-testid="composer-control-bytes"
              title={`A control frame carries at most ${MAX_CONTROL_BYTES} bytes (RFC 6455 §5.5)`}
            >
              {controlBytes ?? '?'} / {MAX_CONTROL_BYTES} B
            </span>
            <label className="check">
              <input type="checkbox" checked={c.controlHex} onChange={(e) => setComposer({ controlHex: e.target.checked })} />
              hex
            </label>
          </div>
        )}
        {c.mode === 'close' && (
          <div className="row-fields">
            <label className="inline-field">
              Code
              <input
                className="input mono num"
                type="number"
                min={1000}
                max={4999}
                value={c.closeCode}
                onChange={(e) => setComposer({ closeCode: Math.floor(Number(e.target.value)) })}
              />
            </label>
            <input
              className="input mono grow"
              data-testid="composer-input"
              placeholder="reason (at most 123 bytes)"
              value={c.closeReason}
              onChange={(e) => setComposer({ closeReason: e.target.value })}
            />
          </div>
        )}
        {c.mode === 'raw' && <RawEditor />}
        {decodedMode && form && <FormEditor key={`${connectionId}-${form.protocol}`} form={form} onChange={setForm} />}
      </div>

      <div className="composer-foot">
        {decodedMode ? (
          <EncodedPreview encoding={encoding} testId="composer-decoded-preview" />
        ) : composed && !composed.ok ? (
          <span className="error-text" data-testid="composer-error">
            {composed.error}
          </span>
        ) : composed?.ok ? (
          <button type="button" className="link preview-toggle" onClick={() => setShowBytes((v) => !v)} aria-expanded={showBytes}>
            {composed.frameCount === 1 ? '1 frame' : `${formatCount(composed.frameCount)} frames`}, {formatBytes(composed.payloadBytes)} payload
            {' · '}
            <span className="mono">
              {composed.frames
                .slice(0, 1)
                .map((f) => (composed.exact ? toHex(f.header, ' ') : maskedHeaderText(f.header)))
                .join('')}
            </span>
            {composed.exact ? ' (exact bytes)' : ' (mask key chosen when sent)'} {showBytes ? '▴' : '▾'}
          </button>
        ) : null}
        <div className="grow" />
        {!open && <span className="muted">connection {state}</span>}
        <button type="button" className="btn primary" data-testid="send-button" disabled={!canSend} onClick={() => void send()}>
          {sending
            ? 'Sending…'
            : relayed
              ? c.mode === 'close'
                ? 'Close both sides'
                : `Inject ${c.mode === 'raw' ? 'frame' : decodedMode ? (form?.protocol ?? 'message') : c.mode} → ${toward}`
              : `Send ${c.mode === 'raw' ? 'frame' : decodedMode ? (form?.protocol ?? 'message') : c.mode}`}
        </button>
      </div>
      {!decodedMode && (showBytes || c.mode === 'raw') && composed?.ok && (
        <div className="composer-bytes">
          {composed.exact ? (
            <HexView bytes={composed.exact} testId="composer-bytes" label="the exact bytes of the frame" />
          ) : (
            <ul className="frame-plan mono">
              {composed.frames.map((f, i) => (
                <li key={i}>
                  {opcodeName(f.opcode)} FIN={f.fin ? 1 : 0} len={formatCount(f.length)} header {maskedHeaderText(f.header)}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

/** Header hex with the (not yet chosen) mask key written as ??. */
function maskedHeaderText(header: Uint8Array): string {
  const masked = (header[1]! & 0x80) !== 0;
  const hex = toHex(masked ? header.subarray(0, header.length - 4) : header, ' ');
  return masked ? `${hex} ?? ?? ?? ??` : hex;
}

function RawEditor() {
  const r = useAppStore((s) => s.composer.raw);
  const setRaw = useAppStore((s) => s.setRawDraft);
  const bit = (name: 'fin' | 'rsv1' | 'rsv2' | 'rsv3', label: string) => (
    <label className="check bit">
      <input type="checkbox" checked={r[name]} onChange={(e) => setRaw({ [name]: e.target.checked })} />
      {label}
    </label>
  );
  return (
    <div className="raw-editor">
      <div className="row-fields">
        {bit('fin', 'FIN')}
        {bit('rsv1', 'RSV1')}
        {bit('rsv2', 'RSV2')}
        {bit('rsv3', 'RSV3')}
        <label className="inline-field">
          opcode
          <select className="input mono" value={r.opcode} onChange={(e) => setRaw({ opcode: Number(e.target.value) })}>
            {Array.from({ length: 16 }, (_, op) => (
              <option key={op} value={op}>
                {op.toString(16).toUpperCase()} {opcodeName(op)}
              </option>
            ))}
          </select>
        </label>
        <label className="check bit">
          <input type="checkbox" checked={r.mask === 'key'} onChange={(e) => setRaw({ mask: e.target.checked ? 'key' : 'none' })} />
          MASK
        </label>
        <input
          className="input mono key"
          aria-label="mask key, 8 hex digits"
          disabled={r.mask !== 'key'}
          maxLength={8}
          spellCheck={false}
          value={r.maskKey}
          onChange={(e) => setRaw({ maskKey: e.target.value.trim() })}
        />
        <button type="button" className="btn ghost small" disabled={r.mask !== 'key'} title="a new random key" onClick={() => setRaw({ maskKey: randomKey() })}>
          ⟳
        </button>
        <div className="segmented small" role="radiogroup" aria-label="Payload as">
          {(['text', 'hex'] as const).map((f) => (
            <button key={f} type="button" role="radio" aria-checked={r.payloadFormat === f} className={r.payloadFormat === f ? 'on' : ''} onClick={() => setRaw({ payloadFormat: f })}>
              {f}
            </button>
          ))}
        </div>
      </div>
      <textarea
        className="input mono composer-text"
        data-testid="composer-input"
        rows={2}
        spellCheck={false}
        placeholder={r.payloadFormat === 'hex' ? 'payload as hex' : 'payload as text (UTF-8)'}
        value={r.payload}
        onChange={(e) => setRaw({ payload: e.target.value })}
      />
    </div>
  );
}
