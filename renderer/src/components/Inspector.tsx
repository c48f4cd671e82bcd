// The right-hand pane: the selected frame, the selected connection's handshake, or the
// messages held at breakpoints (of every connection).
import { useAppStore } from '../store/store';
import { FrameDetail } from './FrameDetail';
import { HandshakePanel } from './HandshakePanel';
import { Later } from './later';
import { HeldPanel } from './HeldPanel';
import { RulesPanel } from './RulesPanel';
import { PairsPanel } from './PairsPanel';

export function Inspector() {
  const tab = useAppStore((s) => s.inspectorTab);
  const setTab = useAppStore((s) => s.setInspectorTab);
  const connection = useAppStore((s) => (s.selectedConnection ? s.connections.get(s.selectedConnection) : undefined));
  const seq = useAppStore((s) => s.selectedSeq);
  const heldCount = useAppStore((s) => s.held.size);
  const rulesOn = useAppStore((s) => s.rules.rules.filter((r) => r.enabled !== false).length);
  return (
    <section className="inspector" aria-label="Inspector">
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'frame'} className={tab === 'frame' ? 'on' : ''} onClick={() => setTab('frame')}>
          Frame{seq !== null ? ` #${seq}` : ''}
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={tab === 'handshake'}
          className={tab === 'handshake' ? 'on' : ''}
          data-testid="handshake-tab"
          onClick={() => setTab('handshake')}
        >
          Handshake
          {connection?.handshake && (
            <span className={`tab-badge ${connection.handshake.accept.valid ? 'ok' : 'bad'}`}>{connection.handshake.accept.valid ? '✓' : '✗'}</span>
          )}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'pairs'} className={tab === 'pairs' ? 'on' : ''} data-testid="pairs-tab" onClick={() => setTab('pairs')}>
          Pairs
        </button>
        <button type="button" role="tab" aria-selected={tab === 'held'} className={tab === 'held' ? 'on' : ''} data-testid="held-tab" onClick={() => setTab('held')}>
          Held
          {heldCount > 0 && <span className="tab-badge held">{heldCount}</span>}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'rules'} className={tab === 'rules' ? 'on' : ''} data-testid="rules-tab" onClick={() => setTab('rules')}>
          Rules
          {rulesOn > 0 && (
            <span className="tab-badge" title="rules on">
              {rulesOn}
            </span>
          )}
        </button>
      </div>
      <div className="inspector-body">
        {tab === 'held' ? (
          <HeldPanel />
        ) : tab === 'rules' ? (
          <RulesPanel />
        ) : !connection ? (
          <p className="muted pad">Select a connection.</p>
        ) : tab === 'pairs' ? (
          <PairsPanel connection={connection} />
        ) : tab === 'handshake' ? (
          <Later id="handshake">
            <HandshakePanel connection={connection} />
          </Later>
        ) : seq === null ? (
          <p className="muted pad">Select a frame in the list (↑ ↓ to move, Home / End, Page Up / Down).</p>
        ) : (
          <FrameDetail connection={connection} seq={seq} />
        )}
      </div>
    </section>
  );
}
