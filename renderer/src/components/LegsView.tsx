// "Both legs" of an intervened message, side by side: on the left what its sender sent
// (the frames on the sender's leg), on the right what Framescope wrote in its place on the
// other leg — per frame FIN/RSV/opcode, mask key, length, compressed and inflated sizes and
// the payload — linked by the intervention id; a frame's number jumps to it.
import { useEffect, useMemo } from 'react';
import type { FrameSummary } from '../../../shared/contract';
import { fromBase64, toHex, utf8DecodeStrict } from '../../../shared/bytes';
import { opcodeName } from '../../../shared/codec/protocol';
import { ensureRows, loadPayload, payloadKey } from '../store/actions';
import { chunksOf } from '../store/frame-chunks';
import { useAppStore } from '../store/store';
import { formatCount } from '../views/format';

/** Rows around the selected one fetched to find its partners (they are written close by). */
const NEAR = 512;

/** The seqs of the rows in memory sharing intervention `id`, as a string (a primitive for the selector). */
function linkedSeqs(chunks: ReturnType<typeof useAppStore.getState>['chunks'], connection: string, id: number): string {
  const out: number[] = [];
  for (const c of chunksOf(chunks, connection)) for (const r of c.rows) if (r?.intervention?.id === id) out.push(r.seq);
  return out.join(',');
}

export function LegsView({ connection, row }: { connection: string; row: FrameSummary }) {
  const id = row.intervention?.id;
  useEffect(() => {
    ensureRows(connection, Math.max(0, row.seq - NEAR), row.seq + NEAR);
  }, [connection, row.seq]);
  const list = useAppStore((s) => (id === undefined ? String(row.seq) : linkedSeqs(s.chunks, connection, id)));
  const chunks = useAppStore((s) => s.chunks);
  const rows = useMemo(() => {
    const seqs = list ? list.split(',').map(Number) : [];
    const out: FrameSummary[] = [];
    for (const seq of seqs) {
      for (const c of chunksOf(chunks, connection)) {
        const r = c.rows[seq - c.index * c.rows.length];
        if (r && r.seq === seq) out.push(r);
      }
    }
    return out.length ? out : [row];
    // the rows of these seqs only change when the list does
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [list, connection]);
  const original = rows.filter((r) => !r.by);
  const written = rows.filter((r) => r.by);
  const decision = original.find((r) => r.intervention?.decision)?.intervention?.decision;
  const injected = written.some((r) => r.intervention?.injected);
  const recompressed = written.some((r) => r.intervention?.recompressed);
  // The sender: the originals' side; Framescope's frames travel on `from`'s leg toward the other side.
  const sender = original[0]?.from ?? written[0]?.from ?? row.from;
  const peer = sender === 'client' ? 'server' : 'client';

  let rightEmpty: string | null = null;
  if (written.length === 0) {
    if (decision === 'dropped') rightEmpty = 'not delivered (dropped)';
    else if (decision === 'undelivered') rightEmpty = 'not delivered (the connection ended while it was held)';
    else if (decision === 'closed') rightEmpty = 'not delivered (Framescope closed the connection)';
    else if (decision === 'forwarded' || decision === 'delayed') rightEmpty = `forwarded as sent${decision === 'delayed' ? ', after a delay' : ''}: the frames on the left went on unchanged`;
    else rightEmpty = 'still held: nothing written yet';
  }

  return (
    <div className="legs-view" data-testid="legs-view" data-intervention={id}>
      <p className="legs-caption">
        {id !== undefined ? <>Intervention #{id}</> : <>Framescope wrote this frame</>}
        {decision && (
          <>
            {' '}
            · <b data-testid="legs-decision">{decision}</b>
          </>
        )}
        {injected && (
          <>
            {' '}
            · <b>injected</b>
          </>
        )}
      </p>
      {recompressed && (
        <p className="legs-note" data-testid="legs-recompressed">
          From this message on, Framescope compresses the {sender} → {peer} direction itself (it took over permessage-deflate's context), so the frames it writes
          there differ from the {sender}'s even when the message is the same.
        </p>
      )}
      <div className="legs-grid">
        <div className="leg" data-testid="leg-original">
          <h4>
            What the {sender} sent <span className="muted">({sender} leg)</span>
          </h4>
          {original.length === 0 ? (
            <p className="leg-empty">{injected ? 'nothing: injected by Framescope' : 'nothing the ' + sender + ' sent'}</p>
          ) : (
            original.map((r) => <LegFrame key={r.seq} connection={connection} row={r} current={r.seq === row.seq} />)
          )}
        </div>
        <div className="leg" data-testid="leg-written">
          <h4>
            What Framescope wrote to the {peer} <span className="muted">({peer} leg)</span>
          </h4>
          {rightEmpty !== null ? <p className="leg-empty">{rightEmpty}</p> : written.map((r) => <LegFrame key={r.seq} connection={connection} row={r} current={r.seq === row.seq} />)}
        </div>
      </div>
    </div>
  );
}

function LegFrame({ connection, row, current }: { connection: string; row: FrameSummary; current: boolean }) {
  const selectFrame = useAppStore((s) => s.selectFrame);
  const payload = useAppStore((s) => s.payloads.get(payloadKey(connection, row.seq)));
  useEffect(() => loadPayload(connection, row.seq), [connection, row.seq]);
  const shown = useMemo(() => {
    if (!payload || 'error' in payload) return null;
    try {
      const bytes = payload.message !== undefined ? fromBase64(payload.message) : fromBase64(payload.payload);
      const whole = payload.message !== undefined || !row.rsv1;
      const text = whole && (row.message?.opcode ?? row.opcode) !== 2 ? utf8DecodeStrict(bytes.subarray(0, 2048)) : null;
      return text !== null ? { text, hex: false } : { text: toHex(bytes.subarray(0, 64), ' ') + (bytes.length > 64 ? ' …' : ''), hex: true };
    } catch {
      return null;
    }
  }, [payload, row.rsv1, row.message?.opcode, row.opcode]);
  const rsv = `${row.rsv1 ? 1 : 0}${row.rsv2 ? 1 : 0}${row.rsv3 ? 1 : 0}`;
  return (
    <div className={`leg-frame ${current ? 'current' : ''}`} data-testid="leg-frame" data-seq={row.seq}>
      <div className="leg-frame-head">
        <button
          type="button"
          className="link"
          data-testid="leg-jump"
          disabled={current}
          aria-label={`Go to frame ${row.seq}`}
          title={current ? 'this frame' : `Go to frame #${row.seq}`}
          onClick={() => selectFrame(row.seq)}
        >
          #{row.seq}
        </button>
        <span className="mono">{opcodeName(row.opcode)}</span>
      </div>
      <dl className="kv leg-kv">
        <dt>FIN / RSV</dt>
        <dd className="mono">
          {row.fin ? '1' : '0'} / {rsv}
        </dd>
        <dt>Mask key</dt>
        <dd className="mono" data-testid="leg-mask">
          {row.masked && row.maskKey ? row.maskKey : 'unmasked'}
        </dd>
        <dt>Length</dt>
        <dd>
          <span className="mono" data-testid="leg-length">
            {row.length}
          </span>{' '}
          B{row.rsv1 ? ' compressed' : ''}
          {row.message && (
            <>
              {' '}
              → {formatCount(row.message.length)} B {row.rsv1 ? 'inflated' : 'message'}
            </>
          )}
        </dd>
      </dl>
      <pre className={`mono leg-payload ${shown?.hex ? 'hex' : ''}`} data-testid="leg-payload">
        {shown ? shown.text : payload && 'error' in payload ? `(could not load: ${payload.error})` : '…'}
      </pre>
    </div>
  );
}
