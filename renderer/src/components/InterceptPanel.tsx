// Breakpoints: hold the client's or the server's messages (of the selected connection, or
// of every connection, those to come too), optionally only those a condition matches
// (the filter syntax of docs/rules.md). Held messages wait in the inspector's Held tab.
import { useEffect, useState } from 'react';
import type { InterceptRule } from '../../../shared/contract';
import { setIntercept } from '../store/intercept-actions';
import { useAppStore } from '../store/store';

type Side = 'client' | 'server';
const SIDES: Array<{ from: Side; label: string }> = [
  { from: 'client', label: 'client → server' },
  { from: 'server', label: 'server → client' },
];

export function InterceptPanel() {
  const rules = useAppStore((s) => s.intercept.rules);
  const heldCount = useAppStore((s) => s.held.size);
  const setTab = useAppStore((s) => s.setInspectorTab);
  const online = useAppStore((s) => s.transport.state === 'open');
  // A breakpoint of one connection needs a live one (not an opened capture).
  const live = useAppStore((s) => {
    const c = s.selectedConnection ? s.connections.get(s.selectedConnection) : undefined;
    return c && !c.imported && (c.state === 'open' || c.state === 'connecting') ? c.id : null;
  });
  const [scope, setScope] = useState<'all' | 'connection'>('all');
  const connection = scope === 'connection' ? live : null;
  const usable = online && (scope === 'all' || live !== null);
  const ruleOf = (from: Side): InterceptRule | undefined => rules.find((r) => r.from === from && r.connection === connection);

  return (
    <section className="panel intercept-panel" aria-label="Breakpoints">
      <div className="panel-head">
        <h2>Breakpoints</h2>
        <div className="grow" />
        <button
          type="button"
          className={`held-chip ${heldCount > 0 ? 'waiting' : ''}`}
          title="Messages held at a breakpoint (the inspector's Held tab)"
          onClick={() => setTab('held')}
        >
          held <span data-testid="held-count">{heldCount}</span>
        </button>
      </div>
      <div className="segmented small" role="radiogroup" aria-label="Breakpoints of">
        <button type="button" role="radio" aria-checked={scope === 'all'} className={scope === 'all' ? 'on' : ''} data-testid="intercept-scope-all" onClick={() => setScope('all')}>
          All connections
        </button>
        <button
          type="button"
          role="radio"
          aria-checked={scope === 'connection'}
          className={scope === 'connection' ? 'on' : ''}
          data-testid="intercept-scope-connection"
          onClick={() => setScope('connection')}
        >
          This connection{live && scope === 'connection' ? ` (${live})` : ''}
        </button>
      </div>
      {scope === 'connection' && live === null && <p className="muted small">Select a live connection.</p>}
      {SIDES.map(({ from, label }) => (
        <DirectionRow key={`${connection ?? '*'}:${from}`} from={from} label={label} rule={ruleOf(from)} connection={connection} disabled={!usable} />
      ))}
    </section>
  );
}

function DirectionRow(props: { from: Side; label: string; rule: InterceptRule | undefined; connection: string | null; disabled: boolean }) {
  const { from, rule, connection } = props;
  const [condition, setCondition] = useState(rule?.condition ?? '');
  const [error, setError] = useState<string | null>(null);
  // The engine's word wins when it changes (another window, a connection that ended).
  useEffect(() => setCondition(rule?.condition ?? ''), [rule?.condition]);
  const apply = async (on: boolean, text = condition) => setError(await setIntercept(from, on, text, connection ?? undefined));
  return (
    <div className="intercept-row">
      <label className="check">
        <input
          type="checkbox"
          data-testid={`intercept-${from}`}
          checked={rule !== undefined}
          disabled={props.disabled}
          onChange={(e) => void apply(e.target.checked)}
        />
        <span className={`dir-${from}`}>{props.label}</span>
      </label>
      <input
        className={`input mono grow ${error ? 'invalid' : ''}`}
        data-testid={`intercept-condition-${from}`}
        aria-label={`condition for ${props.label}`}
        spellCheck={false}
        placeholder="condition (empty: every message)"
        disabled={props.disabled}
        value={condition}
        onChange={(e) => {
          setCondition(e.target.value);
          setError(null);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') void apply(true);
        }}
        onBlur={() => {
          if (rule && condition !== rule.condition) void apply(true);
        }}
      />
      {error && (
        <span className="error-text small" data-testid="intercept-error">
          {error}
        </span>
      )}
    </div>
  );
}
