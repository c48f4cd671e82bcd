// Rules (docs/rules.md) as the Rules tab shows and edits them: a one-line summary of a
// rule's match and action, and the form's flat draft to and from a rule as written. The
// form writes what the user typed into the spec as it is (numbers as numbers where they
// parse); checking it is the engine's rules parser, whose message the form shows.
import type { ActionSpec, Direction, JsonConditionSpec, MatchSpec, RuleSpec } from '../../../shared/rules-spec';

export type JsonTest = 'exists' | 'absent' | 'equals' | 'matches';
export type ActionKind = 'replace-text' | 'replace-json' | 'delete-json' | 'replace-hex' | 'drop' | 'delay' | 'close' | 'break';

export const ACTION_KINDS: Array<{ value: ActionKind; label: string }> = [
  { value: 'replace-text', label: 'replace text' },
  { value: 'replace-json', label: 'set a JSON field' },
  { value: 'delete-json', label: 'delete a JSON field' },
  { value: 'replace-hex', label: 'replace bytes (hex)' },
  { value: 'drop', label: 'drop' },
  { value: 'delay', label: 'delay' },
  { value: 'close', label: 'close the connection' },
  { value: 'break', label: 'break (hold in Held)' },
];

/** The form's fields, all as typed (an empty string: not given). */
export interface RuleDraft {
  name: string;
  enabled: boolean;
  direction: Direction;
  /** "/regex/flags" or a substring */
  text: string;
  jsonPath: string;
  jsonTest: JsonTest;
  /** equals: JSON (or a bare word, taken as a string); matches: a pattern */
  jsonValue: string;
  hexMode: 'contains' | 'startsWith';
  hex: string;
  opcode: '' | 'text' | 'binary';
  min: string;
  max: string;
  action: ActionKind;
  /** replace text / bytes */
  find: string;
  with: string;
  /** set / delete a JSON field */
  path: string;
  /** JSON (or a bare word, taken as a string) */
  value: string;
  ms: string;
  code: string;
  reason: string;
}

export const EMPTY_DRAFT: RuleDraft = {
  name: '',
  enabled: true,
  direction: 'client',
  text: '',
  jsonPath: '',
  jsonTest: 'equals',
  jsonValue: '',
  hexMode: 'contains',
  hex: '',
  opcode: '',
  min: '',
  max: '',
  action: 'replace-text',
  find: '',
  with: '',
  path: '',
  value: '',
  ms: '1000',
  code: '1000',
  reason: '',
};

/** A JSON value as typed: JSON if it parses, else the text as a string (as filters read a value). */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** How parseValue's input writes this value (a string that would parse as other JSON is quoted). */
export function valueText(v: unknown): string {
  if (typeof v === 'string') {
    try {
      JSON.parse(v);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v);
}

/** A number field: a number when it is one, else what was typed (the parser says what is wrong). */
function num(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

const numText = (n: unknown): string => (n === undefined ? '' : String(n));

/** The rule the form describes. */
export function specFromDraft(d: RuleDraft): RuleSpec {
  const match: MatchSpec = {};
  if (d.text !== '') match.text = d.text;
  if (d.jsonPath !== '') {
    const c: JsonConditionSpec = { path: d.jsonPath };
    if (d.jsonTest === 'equals') c.equals = parseValue(d.jsonValue);
    else if (d.jsonTest === 'matches') c.matches = d.jsonValue;
    else c.exists = d.jsonTest === 'exists';
    match.json = c;
  }
  if (d.hex.trim() !== '') match.hex = { [d.hexMode]: d.hex.trim() };
  if (d.opcode !== '') match.opcode = d.opcode;
  const min = num(d.min);
  const max = num(d.max);
  if (min !== undefined || max !== undefined) {
    // what was typed goes to the parser even when it is not a number, to be named there
    match.length = { ...(min !== undefined ? { min: min as number } : {}), ...(max !== undefined ? { max: max as number } : {}) };
  }
  const spec: RuleSpec = { ...(d.name.trim() !== '' ? { name: d.name.trim() } : {}), direction: d.direction, action: actionFromDraft(d) };
  if (!d.enabled) spec.enabled = false;
  if (Object.keys(match).length > 0) spec.match = match;
  // key order as docs/rules.md writes them
  const { name, enabled, direction, action } = spec;
  return { ...(name !== undefined ? { name } : {}), ...(enabled === false ? { enabled } : {}), direction, ...(spec.match ? { match: spec.match } : {}), action };
}

function actionFromDraft(d: RuleDraft): ActionSpec {
  switch (d.action) {
    case 'replace-text':
      return { type: 'replace', text: { find: d.find, with: d.with } };
    case 'replace-hex':
      return { type: 'replace', hex: { find: d.find, with: d.with } };
    case 'replace-json':
      return { type: 'replace', json: { path: d.path, value: parseValue(d.value) } };
    case 'delete-json':
      return { type: 'replace', json: { path: d.path, delete: true } };
    case 'drop':
      return { type: 'drop' };
    case 'break':
      return { type: 'break' };
    case 'delay':
      return { type: 'delay', ms: num(d.ms) as number };
    case 'close': {
      const reason = d.reason;
      return { type: 'close', code: num(d.code) as number, ...(reason !== '' ? { reason } : {}) };
    }
  }
}

/** The form's fields for a rule; null when the rule says more than the form can (lists of conditions, both hex tests): edit it as JSON. */
export function draftFromSpec(spec: RuleSpec): RuleDraft | null {
  const d: RuleDraft = { ...EMPTY_DRAFT, name: spec.name ?? '', enabled: spec.enabled !== false, direction: spec.direction };
  const m = spec.match ?? {};
  if (m.text !== undefined) {
    const list = Array.isArray(m.text) ? m.text : [m.text];
    if (list.length !== 1 || typeof list[0] !== 'string') return null;
    d.text = list[0];
  }
  if (m.json !== undefined) {
    const list = Array.isArray(m.json) ? m.json : [m.json];
    if (list.length !== 1) return null;
    const c = list[0]!;
    d.jsonPath = c.path;
    if ('equals' in c) {
      d.jsonTest = 'equals';
      d.jsonValue = valueText(c.equals);
    } else if (c.matches !== undefined) {
      d.jsonTest = 'matches';
      d.jsonValue = c.matches;
    } else d.jsonTest = c.exists === false ? 'absent' : 'exists';
  }
  if (m.hex !== undefined) {
    if (m.hex.contains !== undefined && m.hex.startsWith !== undefined) return null;
    d.hexMode = m.hex.startsWith !== undefined ? 'startsWith' : 'contains';
    d.hex = m.hex.startsWith ?? m.hex.contains ?? '';
  }
  d.opcode = m.opcode ?? '';
  d.min = numText(m.length?.min);
  d.max = numText(m.length?.max);
  const a = spec.action;
  switch (a.type) {
    case 'replace':
      if ('text' in a) Object.assign(d, { action: 'replace-text', find: a.text.find, with: a.text.with });
      else if ('hex' in a) Object.assign(d, { action: 'replace-hex', find: a.hex.find, with: a.hex.with });
      else if ('delete' in a.json) Object.assign(d, { action: 'delete-json', path: a.json.path });
      else Object.assign(d, { action: 'replace-json', path: a.json.path, value: valueText(a.json.value) });
      break;
    case 'delay':
      Object.assign(d, { action: 'delay', ms: numText(a.ms) });
      break;
    case 'close':
      Object.assign(d, { action: 'close', code: numText(a.code), reason: a.reason ?? '' });
      break;
    default:
      d.action = a.type;
  }
  return d;
}

// -- summaries ------------------------------------------------------------------------------

const quote = (p: string): string => (/^\/[\s\S]+\/[a-z]*$/.test(p) ? p : JSON.stringify(p));

function jsonSummary(c: JsonConditionSpec): string {
  if ('equals' in c) return `${c.path} = ${JSON.stringify(c.equals)}`;
  if (c.matches !== undefined) return `${c.path} ~ ${quote(c.matches)}`;
  return c.exists === false ? `no ${c.path}` : `${c.path} exists`;
}

/** The match in one line: its conditions joined by " · " ("every message" when none). */
export function matchSummary(m: MatchSpec | undefined): string {
  if (!m) return 'every message';
  const parts: string[] = [];
  if (m.opcode) parts.push(m.opcode);
  for (const p of m.text === undefined ? [] : Array.isArray(m.text) ? m.text : [m.text]) parts.push(`text ${quote(p)}`);
  for (const c of m.json === undefined ? [] : Array.isArray(m.json) ? m.json : [m.json]) parts.push(jsonSummary(c));
  if (m.hex?.startsWith !== undefined) parts.push(`starts ${m.hex.startsWith}`);
  if (m.hex?.contains !== undefined) parts.push(`has ${m.hex.contains}`);
  if (m.length) {
    const { min, max } = m.length;
    parts.push(min !== undefined && max !== undefined ? `${min}–${max} B` : min !== undefined ? `≥ ${min} B` : `≤ ${max} B`);
  }
  return parts.length > 0 ? parts.join(' · ') : 'every message';
}

/** The action in one line. */
export function actionSummary(a: ActionSpec): string {
  switch (a.type) {
    case 'replace':
      if ('text' in a) return `replace ${quote(a.text.find)} → ${JSON.stringify(a.text.with)}`;
      if ('hex' in a) return `replace bytes ${a.hex.find} → ${a.hex.with === '' ? '(nothing)' : a.hex.with}`;
      return 'delete' in a.json ? `delete ${a.json.path}` : `set ${a.json.path} = ${JSON.stringify(a.json.value)}`;
    case 'delay':
      return `delay ${a.ms} ms`;
    case 'close':
      return `close ${a.code}${a.reason ? ` ${JSON.stringify(a.reason)}` : ''}`;
    default:
      return a.type;
  }
}

export const directionLabel = (d: Direction): string => (d === 'client' ? 'client → server' : d === 'server' ? 'server → client' : 'both ways');

/**
 * The field a parser message names ("rule 2 ("x"): match.text: …" → "match.text"), so the
 * form can mark the input; null when it names none.
 */
export function errorField(message: string): string | null {
  const m = /^rule \d+(?: \(".*?"\))?: ([A-Za-z][\w.[\]]*): /.exec(message);
  return m ? m[1]! : null;
}
