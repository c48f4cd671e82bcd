// A connection's requests and their answers, with the latency between them; a request with
// no answer is flagged (for good once the connection has ended). A click selects the frame.
import { useEffect, useState } from 'react';
import type { ConnectionSummary, PairsView } from '../../../shared/contract';
import { loadPairs } from '../store/actions';
import { useAppStore } from '../store/store';
import { formatMs } from './FrameList';

export function PairsPanel({ connection }: { connection: ConnectionSummary }) {
  const id = connection.id;
  const count = useAppStore((s) => s.rowCounts.get(id) ?? 0);
  const decoding = connection.decoding;
  const selectFrame = useAppStore((s) => s.selectFrame);
  const [view, setView] = useState<PairsView | { error: string } | null>(null);
  useEffect(() => {
    let live = true;
    loadPairs(id).then(
      (v) => live && setView(v),
      (err: unknown) => live && setView({ error: err instanceof Error ? err.message : String(err) }),
    );
    return () => {
      live = false;
    };
  }, [id, count, decoding?.choice, decoding?.protocol]);
  if (!view) return <p className="muted pad">Loading pairs…</p>;
  if ('error' in view) return <p className="error-text pad">Could not load the pairs: {view.error}</p>;
  if (view.pairs.length === 0) return <p className="muted pad">No request and answer decoded on this connection{decoding?.protocol ? '' : ' (nothing decoded)'}.</p>;
  return (
    <div className="pad" data-testid="pairs-view">
      <table className="pairs-table">
        <thead>
          <tr>
            <th>request</th>
            <th>type</th>
            <th>name</th>
            <th>id</th>
            <th>answer</th>
            <th>latency</th>
          </tr>
        </thead>
        <tbody>
          {view.pairs.map((p) => (
            <tr key={p.request} className={p.answer === null ? 'unanswered' : ''} data-testid="pairs-row" data-request={p.request} data-answer={p.answer ?? ''}>
              <td>
                <button type="button" className="link" onClick={() => selectFrame(p.request)}>
                  #{p.request}
                </button>
              </td>
              <td>{p.type}</td>
              <td>{p.name ?? ''}</td>
              <td>{p.id ?? ''}</td>
              <td>
                {p.answer === null ? (
                  <span title={view.ended ? 'the connection ended without an answer' : 'no answer yet'}>{view.ended ? 'unanswered' : 'waiting'}</span>
                ) : (
                  <button type="button" className="link" onClick={() => selectFrame(p.answer!)}>
                    #{p.answer}
                  </button>
                )}
              </td>
              <td>{p.latencyMs === null ? '' : formatMs(p.latencyMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
