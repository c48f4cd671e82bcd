// A decoded message's form (shared/decoders/forms.ts) as fields in its protocol's terms, and
// the exact messages the engine encodes it into, shown as they change. Used by the held
// message editor ("Decoded") and the composer ("Compose as <protocol>"). The engine encodes:
// the preview is its answer (encodeForm), and its complaint is shown where Send would be.
import { useEffect, useState } from 'react';
import type { DecodedForm, EncodedForm } from '../../../shared/contract';
import { fromBase64, fromHex, toBase64, toHex, utf8DecodeStrict } from '../../../shared/bytes';
import { SIO_PACKET_TYPES, type GraphqlForm, type JsonRpcForm, type MqttForm, type SocketIoForm, type StompForm } from '../../../shared/decoders/forms';
import { engine } from '../store/actions';
import { formatBytes } from '../views/format';

type Set<F> = (patch: Partial<F>) => void;

function Field({ label, children, grow }: { label: string; children: React.ReactNode; grow?: boolean }) {
  return (
    <label className={`inline-field form-field ${grow ? 'grow' : ''}`}>
      <span className="muted">{label}</span>
      {children}
    </label>
  );
}

const text = (testId: string, value: string, onChange: (v: string) => void, placeholder = '') => (
  <input className="input mono grow" data-testid={testId} spellCheck={false} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
);
const area = (testId: string, value: string, onChange: (v: string) => void, rows = 3, placeholder = '') => (
  <textarea className="input mono form-area" data-testid={testId} rows={rows} spellCheck={false} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
);
const optNum = (v: string): number | undefined => (v.trim() === '' ? undefined : Math.max(0, Math.floor(Number(v) || 0)));

function SocketIoFields({ f, set, held }: { f: SocketIoForm; set: Set<SocketIoForm>; held: boolean }) {
  const binary = f.type === 'BINARY_EVENT' || f.type === 'BINARY_ACK';
  const event = f.type === 'EVENT' || f.type === 'BINARY_EVENT';
  const hexes = (f.attachments ?? []).map((a) => toHex(fromBase64(a), ' ')).join('\n');
  const [attText, setAttText] = useState(hexes);
  return (
    <>
      <div className="row-fields">
        <Field label="type">
          <select className="input mono" data-testid="form-sio-type" value={f.type} disabled={held && binary} onChange={(e) => set({ type: e.target.value as SocketIoForm['type'] })}>
            {SIO_PACKET_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field label="namespace">{text('form-sio-nsp', f.nsp, (nsp) => set({ nsp }))}</Field>
        {event && <Field label="event" grow>{text('form-sio-event', f.event ?? '', (event) => set({ event }))}</Field>}
        <Field label="ack id">
          <input
            className="input mono num"
            data-testid="form-sio-id"
            type="number"
            min={0}
            placeholder="none"
            value={f.id ?? ''}
            onChange={(e) => set({ id: optNum(e.target.value) })}
          />
        </Field>
      </div>
      <Field label={event || f.type === 'ACK' || f.type === 'BINARY_ACK' ? 'args (JSON array)' : 'data (JSON)'} grow>
        {area('form-sio-args', f.args, (args) => set({ args }), 4)}
      </Field>
      {binary && held && (
        <p className="muted small" data-testid="form-sio-attachments-note">
          Its attachments follow as their own binary messages, each held in turn (edit their bytes there). Keep each placeholder {'{"_placeholder":true,"num":N}'}: an attachment cannot be added or removed here.
        </p>
      )}
      {binary && !held && (
        <Field label="attachments (hex, one per line; placeholder num = line, from 0)" grow>
          {area(
            'form-sio-attachments',
            attText,
            (v) => {
              setAttText(v);
              try {
                set({ attachments: v.split('\n').filter((l) => l.trim() !== '').map((l) => toBase64(fromHex(l))) });
              } catch {
                /* the engine is told when the text is hex again */
              }
            },
            2,
          )}
        </Field>
      )}
    </>
  );
}

function StompFields({ f, set }: { f: StompForm; set: Set<StompForm> }) {
  const setHeader = (i: number, at: 0 | 1, v: string) => set({ headers: f.headers.map((h, j) => (j === i ? ((at === 0 ? [v, h[1]] : [h[0], v]) as [string, string]) : h)) });
  return (
    <>
      <div className="row-fields">
        <Field label="command">{text('form-stomp-command', f.command, (command) => set({ command }))}</Field>
        <Field label="escaping">
          <select className="input mono" value={f.version ?? '1.2'} onChange={(e) => set({ version: e.target.value as StompForm['version'] })}>
            <option>1.2</option>
            <option>1.1</option>
            <option>1.0</option>
          </select>
        </Field>
      </div>
      <table className="form-headers" data-testid="form-stomp-headers">
        <tbody>
          {f.headers.map(([k, v], i) => (
            <tr key={i} data-testid="form-stomp-header">
              <td>
                <input className="input mono" data-testid="form-stomp-header-name" value={k} onChange={(e) => setHeader(i, 0, e.target.value)} />
              </td>
              <td className="grow">
                <input className="input mono" data-testid="form-stomp-header-value" value={v} onChange={(e) => setHeader(i, 1, e.target.value)} />
              </td>
              <td>
                <button type="button" className="btn ghost small" data-testid="form-stomp-header-remove" title="Remove this header" onClick={() => set({ headers: f.headers.filter((_, j) => j !== i) })}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="btn small" data-testid="form-stomp-header-add" onClick={() => set({ headers: [...f.headers, ['', '']] })}>
        Add header
      </button>
      <Field label="body (content-length is kept true)" grow>
        {area('form-stomp-body', f.body, (body) => set({ body }), 3)}
      </Field>
    </>
  );
}

function MqttFields({ f, set }: { f: MqttForm; set: Set<MqttForm> }) {
  return (
    <>
      <div className="row-fields">
        <Field label="topic" grow>{text('form-mqtt-topic', f.topic, (topic) => set({ topic }))}</Field>
        <Field label="qos">
          <select className="input mono" data-testid="form-mqtt-qos" value={f.qos} onChange={(e) => set({ qos: Number(e.target.value) as 0 | 1 | 2, ...(Number(e.target.value) > 0 && f.messageId === undefined ? { messageId: 1 } : {}) })}>
            <option value={0}>0</option>
            <option value={1}>1</option>
            <option value={2}>2</option>
          </select>
        </Field>
        {f.qos > 0 && (
          <Field label="packet id">
            <input className="input mono num" data-testid="form-mqtt-id" type="number" min={1} max={65535} value={f.messageId ?? ''} onChange={(e) => set({ messageId: optNum(e.target.value) })} />
          </Field>
        )}
        <label className="check">
          <input type="checkbox" data-testid="form-mqtt-retain" checked={f.retain} onChange={(e) => set({ retain: e.target.checked })} />
          retain
        </label>
        <label className="check">
          <input type="checkbox" checked={f.dup} onChange={(e) => set({ dup: e.target.checked })} />
          dup
        </label>
        <label className="check">
          <input type="checkbox" checked={f.payloadFormat === 'hex'} onChange={(e) => set({ payloadFormat: e.target.checked ? 'hex' : 'text' })} />
          hex
        </label>
        <span className="muted small">MQTT {f.version === 5 ? '5' : f.version === 4 ? '3.1.1' : '3.1'}</span>
      </div>
      <Field label="payload" grow>
        {area('form-mqtt-payload', f.payload, (payload) => set({ payload }), 3)}
      </Field>
    </>
  );
}

function GraphqlFields({ f, set }: { f: GraphqlForm; set: Set<GraphqlForm> }) {
  const op = f.query !== undefined;
  return (
    <>
      <div className="row-fields">
        <Field label="type">{text('form-gql-type', f.type, (type) => set({ type }))}</Field>
        <Field label="id">{text('form-gql-id', f.id ?? '', (id) => set({ id }))}</Field>
        {op && <Field label="operationName" grow>{text('form-gql-operation', f.operationName ?? '', (operationName) => set({ operationName }))}</Field>}
      </div>
      {op ? (
        <>
          <Field label="query" grow>{area('form-gql-query', f.query ?? '', (query) => set({ query }), 4)}</Field>
          <Field label="variables (JSON object)" grow>{area('form-gql-variables', f.variables ?? '', (variables) => set({ variables }), 2)}</Field>
        </>
      ) : (
        <Field label="payload (JSON)" grow>{area('form-gql-payload', f.payload ?? '', (payload) => set({ payload }), 4)}</Field>
      )}
    </>
  );
}

function JsonRpcFields({ f, set }: { f: JsonRpcForm; set: Set<JsonRpcForm> }) {
  const call = f.kind === 'request' || f.kind === 'notification';
  return (
    <>
      <div className="row-fields">
        <Field label="kind">
          <select className="input mono" value={f.kind} onChange={(e) => set({ kind: e.target.value as JsonRpcForm['kind'] })}>
            {(['request', 'notification', 'result', 'error'] as const).map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        {call && <Field label="method" grow>{text('form-rpc-method', f.method ?? '', (method) => set({ method }))}</Field>}
        {f.kind !== 'notification' && <Field label="id (JSON)">{text('form-rpc-id', f.id ?? '', (id) => set({ id }))}</Field>}
      </div>
      {call ? (
        <Field label="params (JSON)" grow>{area('form-rpc-params', f.params ?? '', (params) => set({ params }), 3)}</Field>
      ) : (
        <Field label={`${f.kind} (JSON)`} grow>{area('form-rpc-result', f.result ?? '', (result) => set({ result }), 3)}</Field>
      )}
    </>
  );
}

/** The fields of a form; `held`: editing a held message (a binary packet's attachments follow it). */
export function FormEditor({ form, onChange, held = false }: { form: DecodedForm; onChange: (f: DecodedForm) => void; held?: boolean }) {
  const set = <F extends DecodedForm>(patch: Partial<F>) => {
    const next = { ...form, ...patch } as Record<string, unknown>;
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    onChange(next as unknown as DecodedForm);
  };
  return (
    <div className="form-editor" data-testid="form-editor" data-protocol={form.protocol}>
      {form.protocol === 'socket.io' && <SocketIoFields f={form} set={set} held={held} />}
      {form.protocol === 'stomp' && <StompFields f={form} set={set} />}
      {form.protocol === 'mqtt' && <MqttFields f={form} set={set} />}
      {(form.protocol === 'graphql-transport-ws' || form.protocol === 'graphql-ws') && <GraphqlFields f={form} set={set} />}
      {form.protocol === 'json-rpc' && <JsonRpcFields f={form} set={set} />}
    </div>
  );
}

export type Encoding = { ok: true; encoded: EncodedForm } | { ok: false; error: string } | null;

/** The engine's encoding of a form, asked again as it changes (the latest answer wins). */
export function useEncoded(connection: string, form: DecodedForm | null, held?: number): Encoding {
  const [state, setState] = useState<Encoding>(null);
  useEffect(() => {
    if (!form) return setState(null);
    let live = true;
    engine()
      .encodeForm({ connection, form, ...(held !== undefined ? { held } : {}) })
      .then(
        (encoded) => live && setState({ ok: true, encoded }),
        (err: unknown) => live && setState({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
    return () => {
      live = false;
    };
  }, [connection, form, held]);
  return state;
}

/** The wire messages, as text when they are text, else hex. */
export function EncodedPreview({ encoding, testId }: { encoding: Encoding; testId: string }) {
  if (!encoding) return null;
  if (!encoding.ok)
    return (
      <span className="error-text small" data-testid={`${testId}-error`}>
        {encoding.error}
      </span>
    );
  const ms = encoding.encoded.messages;
  return (
    <div className="form-preview" data-testid={testId}>
      <div className="small muted">
        {ms.length === 1 ? 'The message' : `${ms.length} messages, in this order`} Framescope sends:
      </div>
      <ol className="mono">
        {ms.map((m, i) => {
          const bytes = fromBase64(m.data);
          const t = m.opcode === 1 ? utf8DecodeStrict(bytes) : null;
          return (
            <li key={i} data-testid={`${testId}-message`}>
              <span className="muted">{m.opcode === 1 ? 'text' : 'binary'} {formatBytes(bytes.length)} </span>
              {t !== null ? t.replace(/\0/g, '␀') : toHex(bytes.subarray(0, 256), ' ') + (bytes.length > 256 ? ' …' : '')}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
