// The Rules tab: the session's rules (docs/rules.md), applied in order to every proxied and
// client connection before the breakpoints, with a form to add or edit one; saved as the
// rules file `framescope proxy --rules FILE` loads, and loaded from one. The engine checks
// every change; its message (naming the rule and the field) shows in the form.
import { useRef, useState, type ReactNode } from 'react';
import type { RuleSpec } from '../../../shared/rules-spec';
import { enableRule, exportRules, importRules, saveRules } from '../store/rules-actions';
import { hasShell } from '../store/actions';
import { useAppStore } from '../store/store';
import {
  ACTION_KINDS,
  actionSummary,
  directionLabel,
  draftFromSpec,
  EMPTY_DRAFT,
  errorField,
  matchSummary,
  specFromDraft,
  type ActionKind,
  type JsonTest,
  type RuleDraft,
} from '../views/rules';

/** Which rule the form edits (null: a new one, added last), and how. */
interface Editing {
  index: number | null;
  mode: 'form' | 'json';
  draft: RuleDraft;
  json: string;
}

export function RulesPanel() {
  const rules = useAppStore((s) => s.rules.rules);
  const from = useAppStore((s) => s.rules.from);
  const online = useAppStore((s) => s.transport.state === 'open');
  const [editing, setEditing] = useState<Editing | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const edit = (index: number | null) => {
    const spec = index === null ? null : rules[index]!;
    const draft = spec ? draftFromSpec(spec) : EMPTY_DRAFT;
    setEditing({ index, mode: draft ? 'form' : 'json', draft: draft ?? EMPTY_DRAFT, json: JSON.stringify(spec ?? specFromDraft(EMPTY_DRAFT), null, 2) });
  };
  const change = async (next: RuleSpec[]) => setListError(await saveRules(next));
  const move = (i: number, by: -1 | 1) => {
    const next = [...rules];
    [next[i], next[i + by]] = [next[i + by]!, next[i]!];
    void change(next);
  };
  const watching = from.client && from.server ? 'both directions' : from.client ? 'client → server' : from.server ? 'server → client' : 'nothing';

  return (
    <div className="rules-panel" data-testid="rules-panel">
      <div className="held-head">
        <span>
          <strong>{rules.length}</strong> rule{rules.length === 1 ? '' : 's'} <span className="muted small">· intercepting {watching}</span>
        </span>
        <div className="grow" />
        <button type="button" className="btn small" data-testid="rules-import" disabled={!online} onClick={() => (hasShell() ? void importRules() : fileInput.current?.click())}>
          Load rules…
        </button>
        <input
          ref={fileInput}
          type="file"
          hidden
          data-testid="rules-import-file"
          accept=".json,application/json"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void importRules(f);
          }}
        />
        <button type="button" className="btn small" data-testid="rules-export" disabled={!online} onClick={() => void exportRules()}>
          Save rules…
        </button>
        <button type="button" className="btn small primary" data-testid="rule-add" disabled={!online || editing !== null} onClick={() => edit(null)}>
          Add rule
        </button>
      </div>
      {rules.length === 0 && editing === null && (
        <p className="muted pad small">
          No rules. A rule matches messages (text, JSON, bytes) and replaces, drops, delays, closes or holds them, on every connection, before the
          breakpoints. Rules apply in order: the first drop, delay, close or break that matches decides; otherwise every matching replace applies.
        </p>
      )}
      {rules.length > 0 && (
        <ol className="rule-list" data-testid="rule-list" aria-label="Rules, in the order they apply">
          {rules.map((r, i) => {
            const on = r.enabled !== false;
            return (
              <li
                key={i}
                className={`rule-item ${on ? '' : 'off'} ${editing?.index === i ? 'selected' : ''}`}
                data-testid="rule-item"
                data-index={i + 1}
                data-enabled={on}
              >
                <input
                  type="checkbox"
                  data-testid="rule-enabled"
                  aria-label={`rule ${i + 1} enabled`}
                  title={on ? 'On: click to turn this rule off' : 'Off: click to turn this rule on'}
                  checked={on}
                  disabled={!online}
                  onChange={(e) => void enableRule(i + 1, e.target.checked)}
                />
                <span className="mono muted">#{i + 1}</span>
                <span className="rule-name" data-testid="rule-item-name" title={r.name}>
                  {r.name ?? <span className="muted">unnamed</span>}
                </span>
                <span className={`rule-dir ${r.direction === 'both' ? '' : `dir-${r.direction}`}`}>{directionLabel(r.direction)}</span>
                <span className="rule-buttons">
                  <button type="button" className="btn ghost small" data-testid="rule-up" aria-label={`move rule ${i + 1} up`} disabled={!online || editing !== null || i === 0} onClick={() => move(i, -1)}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="btn ghost small"
                    data-testid="rule-down"
                    aria-label={`move rule ${i + 1} down`}
                    disabled={!online || editing !== null || i === rules.length - 1}
                    onClick={() => move(i, 1)}
                  >
                    ↓
                  </button>
                  <button type="button" className="btn ghost small" data-testid="rule-edit" disabled={!online || editing !== null} onClick={() => edit(i)}>
                    Edit
                  </button>
                  <button
                    type="button"
                    className="btn ghost small"
                    data-testid="rule-delete"
                    aria-label={`delete rule ${i + 1}`}
                    disabled={!online || editing !== null}
                    onClick={() => void change(rules.filter((_, j) => j !== i))}
                  >
                    ✕
                  </button>
                </span>
                <span className="rule-summary mono" data-testid="rule-summary">
                  <span title="match">{matchSummary(r.match)}</span>
                  <span className="muted"> ⇒ </span>
                  <strong title="action">{actionSummary(r.action)}</strong>
                </span>
              </li>
            );
          })}
        </ol>
      )}
      {listError && (
        <p className="error-text small pad" data-testid="rules-error">
          {listError}
        </p>
      )}
      {editing && <RuleForm key={editing.index ?? 'new'} editing={editing} rules={rules} onDone={() => setEditing(null)} />}
    </div>
  );
}

function RuleForm(props: { editing: Editing; rules: readonly RuleSpec[]; onDone(): void }) {
  const [e, setE] = useState<Editing>(props.editing);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const d = e.draft;
  const bad = error ? errorField(error) : null;
  const invalid = (...fields: string[]) => (bad !== null && fields.some((f) => bad === f || bad.startsWith(`${f}.`) || bad.startsWith(`${f}[`)) ? 'invalid' : '');
  const patch = (p: Partial<RuleDraft>) => {
    setError(null);
    setE((x) => ({ ...x, draft: { ...x.draft, ...p } }));
  };
  const ruleNo = (e.index ?? props.rules.length) + 1;

  const toJson = () => setE((x) => ({ ...x, mode: 'json', json: JSON.stringify(specFromDraft(x.draft), null, 2) }));
  const toForm = () => {
    try {
      const draft = draftFromSpec(JSON.parse(e.json) as RuleSpec);
      if (!draft) return setError('This rule has more than the form shows (a list of conditions, or both hex tests): edit it as JSON');
      setError(null);
      setE((x) => ({ ...x, mode: 'form', draft }));
    } catch (err) {
      setError(`not valid JSON: ${(err as Error).message}`);
    }
  };

  const save = async () => {
    let spec: RuleSpec;
    if (e.mode === 'json') {
      try {
        spec = JSON.parse(e.json) as RuleSpec;
      } catch (err) {
        return setError(`not valid JSON: ${(err as Error).message}`);
      }
    } else spec = specFromDraft(d);
    const next = [...props.rules];
    if (e.index === null) next.push(spec);
    else next[e.index] = spec;
    setBusy(true);
    const complaint = await saveRules(next);
    setBusy(false);
    if (complaint) setError(complaint);
    else props.onDone();
  };

  return (
    <form
      className="rule-form"
      data-testid="rule-form"
      // the engine's rules parser checks every field and says what is wrong; the browser's own checks would only stop the form quietly
      noValidate
      aria-label={e.index === null ? 'New rule' : `Rule ${ruleNo}`}
      onSubmit={(ev) => {
        ev.preventDefault();
        void save();
      }}
    >
      <div className="row-fields">
        <strong>{e.index === null ? `New rule (#${ruleNo})` : `Rule #${ruleNo}`}</strong>
        <div className="grow" />
        <div className="segmented small" role="radiogroup" aria-label="Edit as">
          <button type="button" role="radio" aria-checked={e.mode === 'form'} className={e.mode === 'form' ? 'on' : ''} data-testid="rule-mode-form" onClick={toForm}>
            Form
          </button>
          <button type="button" role="radio" aria-checked={e.mode === 'json'} className={e.mode === 'json' ? 'on' : ''} data-testid="rule-mode-json" onClick={toJson}>
            JSON
          </button>
        </div>
      </div>
      {e.mode === 'json' ? (
        <textarea
          className={`input mono rule-json ${error ? 'invalid' : ''}`}
          data-testid="rule-json"
          aria-label="The rule as JSON"
          rows={12}
          spellCheck={false}
          value={e.json}
          onChange={(ev) => {
            setError(null);
            setE((x) => ({ ...x, json: ev.target.value }));
          }}
        />
      ) : (
        <>
          <div className="rule-grid">
            <Field label="Name">
              <input className={`input ${invalid('name')}`} data-testid="rule-name" placeholder="optional" value={d.name} onChange={(ev) => patch({ name: ev.target.value })} />
            </Field>
            <Field label="Messages from">
              <select className={`input ${invalid('direction')}`} data-testid="rule-direction" value={d.direction} onChange={(ev) => patch({ direction: ev.target.value as RuleDraft['direction'] })}>
                <option value="client">the client (client → server)</option>
                <option value="server">the server (server → client)</option>
                <option value="both">both</option>
              </select>
            </Field>
          </div>
          <fieldset className="rule-section">
            <legend>Match (all that are given must hold; none: every message)</legend>
            <div className="rule-grid">
              <Field label="Text" hint="a substring, or /regex/flags">
                <input
                  className={`input mono ${invalid('match.text')}`}
                  data-testid="rule-match-text"
                  spellCheck={false}
                  placeholder='e.g. "token" or /^ping/i'
                  value={d.text}
                  onChange={(ev) => patch({ text: ev.target.value })}
                />
              </Field>
              <Field label="Kind">
                <select className={`input ${invalid('match.opcode')}`} data-testid="rule-match-opcode" value={d.opcode} onChange={(ev) => patch({ opcode: ev.target.value as RuleDraft['opcode'] })}>
                  <option value="">text or binary</option>
                  <option value="text">text</option>
                  <option value="binary">binary</option>
                </select>
              </Field>
              <Field label="JSON path" hint="$.type, $.items[0].id">
                <input
                  className={`input mono ${invalid('match.json.path')}`}
                  data-testid="rule-match-json-path"
                  spellCheck={false}
                  placeholder="$.type"
                  value={d.jsonPath}
                  onChange={(ev) => patch({ jsonPath: ev.target.value })}
                />
              </Field>
              <Field label="JSON test">
                <div className="row-fields nowrap">
                  <select className="input" data-testid="rule-match-json-test" value={d.jsonTest} onChange={(ev) => patch({ jsonTest: ev.target.value as JsonTest })}>
                    <option value="equals">equals</option>
                    <option value="matches">matches</option>
                    <option value="exists">exists</option>
                    <option value="absent">does not exist</option>
                  </select>
                  {(d.jsonTest === 'equals' || d.jsonTest === 'matches') && (
                    <input
                      className={`input mono grow ${invalid('match.json.equals', 'match.json.matches')}`}
                      data-testid="rule-match-json-value"
                      aria-label="JSON value"
                      spellCheck={false}
                      placeholder={d.jsonTest === 'equals' ? 'JSON: "auth", 5, true' : '/regex/ or substring'}
                      value={d.jsonValue}
                      onChange={(ev) => patch({ jsonValue: ev.target.value })}
                    />
                  )}
                </div>
              </Field>
              <Field label="Bytes (hex)">
                <div className="row-fields nowrap">
                  <select className="input" data-testid="rule-match-hex-mode" value={d.hexMode} onChange={(ev) => patch({ hexMode: ev.target.value as RuleDraft['hexMode'] })}>
                    <option value="contains">contain</option>
                    <option value="startsWith">start with</option>
                  </select>
                  <input
                    className={`input mono grow ${invalid('match.hex')}`}
                    data-testid="rule-match-hex"
                    aria-label="hex bytes"
                    spellCheck={false}
                    placeholder="ca fe"
                    value={d.hex}
                    onChange={(ev) => patch({ hex: ev.target.value })}
                  />
                </div>
              </Field>
              <Field label="Length (bytes)">
                <div className="row-fields nowrap">
                  <input
                    className={`input mono num ${invalid('match.length.min', 'match.length')}`}
                    data-testid="rule-match-min"
                    aria-label="at least (bytes)"
                    type="number"
                    min={0}
                    placeholder="min"
                    value={d.min}
                    onChange={(ev) => patch({ min: ev.target.value })}
                  />
                  –
                  <input
                    className={`input mono num ${invalid('match.length.max', 'match.length')}`}
                    data-testid="rule-match-max"
                    aria-label="at most (bytes)"
                    type="number"
                    min={0}
                    placeholder="max"
                    value={d.max}
                    onChange={(ev) => patch({ max: ev.target.value })}
                  />
                </div>
              </Field>
            </div>
          </fieldset>
          <fieldset className="rule-section">
            <legend>Action</legend>
            <div className="rule-grid">
              <Field label="Do">
                <select className={`input ${bad === 'action' || bad === 'action.type' ? 'invalid' : ''}`} data-testid="rule-action-type" value={d.action} onChange={(ev) => patch({ action: ev.target.value as ActionKind })}>
                  {ACTION_KINDS.map((k) => (
                    <option key={k.value} value={k.value}>
                      {k.label}
                    </option>
                  ))}
                </select>
              </Field>
              <ActionFields d={d} patch={patch} invalid={invalid} />
            </div>
          </fieldset>
        </>
      )}
      {error && (
        <p className="error-text small" data-testid="rule-error" role="alert">
          {error}
        </p>
      )}
      <div className="held-actions">
        <button type="submit" className="btn primary" data-testid="rule-save" disabled={busy}>
          {e.index === null ? 'Add rule' : 'Save rule'}
        </button>
        <button type="button" className="btn" data-testid="rule-cancel" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ActionFields(props: { d: RuleDraft; patch(p: Partial<RuleDraft>): void; invalid(...fields: string[]): string }) {
  const { d, patch, invalid } = props;
  switch (d.action) {
    case 'replace-text':
    case 'replace-hex': {
      const hex = d.action === 'replace-hex';
      const kind = hex ? 'action.hex' : 'action.text';
      return (
        <>
          <Field label="Find" hint={hex ? 'hex bytes, every occurrence' : 'a substring (every one), or /regex/flags (g: every match)'}>
            <input
              className={`input mono ${invalid(`${kind}.find`, kind)}`}
              data-testid="rule-action-find"
              spellCheck={false}
              placeholder={hex ? 'ca fe' : '/"token":"[^"]*"/'}
              value={d.find}
              onChange={(ev) => patch({ find: ev.target.value })}
            />
          </Field>
          <Field label="With" hint={hex ? 'hex bytes (empty: remove them)' : 'a regex find may use $1, $<name>, $&'}>
            <input className={`input mono ${invalid(`${kind}.with`)}`} data-testid="rule-action-with" spellCheck={false} value={d.with} onChange={(ev) => patch({ with: ev.target.value })} />
          </Field>
        </>
      );
    }
    case 'replace-json':
    case 'delete-json':
      return (
        <>
          <Field label="JSON path" hint="its parent must exist">
            <input
              className={`input mono ${invalid('action.json.path', 'action.json')}`}
              data-testid="rule-action-path"
              spellCheck={false}
              placeholder="$.token"
              value={d.path}
              onChange={(ev) => patch({ path: ev.target.value })}
            />
          </Field>
          {d.action === 'replace-json' && (
            <Field label="Value" hint='JSON ("text", 5, null, {…}); a bare word is a string'>
              <input className={`input mono ${invalid('action.json.value')}`} data-testid="rule-action-value" spellCheck={false} value={d.value} onChange={(ev) => patch({ value: ev.target.value })} />
            </Field>
          )}
        </>
      );
    case 'delay':
      return (
        <Field label="Delay (ms)" hint="1 to 600000; later messages wait behind it">
          <input className={`input mono num ${invalid('action.ms')}`} data-testid="rule-action-ms" type="number" min={1} value={d.ms} onChange={(ev) => patch({ ms: ev.target.value })} />
        </Field>
      );
    case 'close':
      return (
        <>
          <Field label="Close code" hint="1000–1003, 1007–1014, 3000–4999">
            <input className={`input mono num ${invalid('action.code')}`} data-testid="rule-action-code" type="number" min={1000} max={4999} value={d.code} onChange={(ev) => patch({ code: ev.target.value })} />
          </Field>
          <Field label="Reason" hint="at most 123 bytes">
            <input className={`input ${invalid('action.reason')}`} data-testid="rule-action-reason" value={d.reason} onChange={(ev) => patch({ reason: ev.target.value })} />
          </Field>
        </>
      );
    case 'break':
      return <p className="muted small rule-note">Holds the message in the Held tab until you forward, edit, drop or close it.</p>;
    case 'drop':
      return <p className="muted small rule-note">The message is not delivered.</p>;
  }
}

function Field(props: { label: string; hint?: string; children: ReactNode }) {
  return (
    <label className="field" title={props.hint}>
      <span>
        {props.label}
        {props.hint && <em className="field-hint"> · {props.hint}</em>}
      </span>
      {props.children}
    </label>
  );
}
