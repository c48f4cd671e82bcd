// Rules without code (docs/rules.md): a JSON file of match-and-act rules, parsed and checked
// once, then applied to every intercepted message synchronously. Pure, no Node (reading and
// watching the file is rules-file.ts).
import type { Side } from '../../../shared/model';
import { bytesEqual, utf8Encode } from '../../../shared/bytes';
import { isValidWireCloseCode } from '../../../shared/codec/protocol';
import type { Decision, InterceptedMessage } from './types';
import {
  compileHex,
  compileMatch,
  compilePattern,
  getPath,
  indexOfBytes,
  isMissing,
  isPlainObject,
  matches,
  MessageView,
  onlyKeys,
  parsePath,
  SpecError,
  type JsonPath,
  type Matcher,
  type TextPattern,
} from './matcher';

/** Largest rules file, in bytes (UTF-8). */
export const MAX_RULES_FILE = 1 << 20;
export const MAX_RULES = 1000;
export const MAX_NAME = 200;
/** Longest delay: ten minutes. */
export const MAX_DELAY_MS = 600_000;
/** A close reason fits in a control frame: 125 bytes less the two of the code. */
export const MAX_CLOSE_REASON = 123;

export type { ActionSpec, RuleSpec, RulesFileSpec } from '../../../shared/rules-spec';
import type { RuleSpec } from '../../../shared/rules-spec';

export type Edit =
  | { kind: 'text'; pattern: TextPattern; with: string }
  | { kind: 'json'; path: JsonPath; value: unknown }
  | { kind: 'json-delete'; path: JsonPath }
  | { kind: 'hex'; find: Uint8Array; with: Uint8Array };

/** What a rule does: edit the message and let later rules see the result, or decide. */
export type Action = { type: 'replace'; edit: Edit } | { type: 'decide'; decision: Exclude<Decision, { action: 'forward' } | { action: 'replace' }> };

export interface Rule {
  /** 1-based position in the file */
  index: number;
  name?: string;
  enabled: boolean;
  matcher: Matcher;
  action: Action;
  /** the rule as written (a UI saves the file back from these) */
  spec: RuleSpec;
}

export interface Rules {
  /** where the rules came from (a file name), for messages */
  source: string;
  /** the file's text, when parsed from text (a watcher compares it with the next save) */
  text?: string;
  rules: readonly Rule[];
  /** whether any enabled rule looks at messages from this side: a direction with none
   * needs no interception at all */
  from: Readonly<Record<Side, boolean>>;
}

/** Who decided: a rule's 1-based index and its name. */
export interface RuleRef {
  index: number;
  name?: string;
}

export interface RulesOutcome {
  decision: Decision;
  /** the drop/delay/close/break rule that decided, if one did */
  decidedBy?: RuleRef;
  /** the replace rules that changed the message, in the order they ran */
  replacedBy: RuleRef[];
}

/** In Unicode mode a surrogate pair is one code point, so only a lone half is \p{Cs}. */
const LONE_SURROGATE = /\p{Cs}/u;

const RULE_KEYS = ['name', 'enabled', 'direction', 'match', 'action'] as const;
const ACTION_TYPES = ['replace', 'drop', 'delay', 'close', 'break'] as const;

function str(v: unknown, field: string, what: string): string {
  if (typeof v !== 'string') throw new SpecError(field, `required: ${what}`);
  return v;
}

function compileEdit(a: Record<string, unknown>): Edit {
  const kinds = (['text', 'json', 'hex'] as const).filter((k) => k in a);
  if (kinds.length !== 1) throw new SpecError('action', kinds.length === 0 ? 'replace needs one of text, json, hex' : `replace takes one of text, json, hex (not ${kinds.join(' and ')})`);
  const kind = kinds[0]!;
  const f = `action.${kind}`;
  const v = a[kind];
  if (!isPlainObject(v)) {
    const shape = kind === 'json' ? '{"path": "$.a", "value": …} or {"path": "$.a", "delete": true}' : '{"find": "…", "with": "…"}';
    throw new SpecError(f, `expected ${shape}`);
  }
  if (kind === 'text') {
    onlyKeys(v, ['find', 'with'], f);
    const pattern = compilePattern(str(v.find, `${f}.find`, '"/regex/flags" or a substring to find'), `${f}.find`);
    const replacement = str(v.with, `${f}.with`, 'the replacement text ($1, $<name>, $& refer to the match)');
    if (LONE_SURROGATE.test(replacement)) throw new SpecError(`${f}.with`, 'contains a lone surrogate (not valid text)');
    return { kind: 'text', pattern, with: replacement };
  }
  if (kind === 'hex') {
    onlyKeys(v, ['find', 'with'], f);
    if (!('with' in v)) throw new SpecError(`${f}.with`, 'required: the bytes to put instead, as hex ("" removes them)');
    return { kind: 'hex', find: compileHex(v.find, `${f}.find`), with: compileHex(v.with, `${f}.with`, true) };
  }
  onlyKeys(v, ['path', 'value', 'delete'], f);
  const path = parsePath(str(v.path, `${f}.path`, 'a JSON path such as $.token'), `${f}.path`);
  if (path.length === 0) throw new SpecError(`${f}.path`, 'cannot replace the whole message ($); use a text replace');
  if ('delete' in v) {
    if ('value' in v) throw new SpecError(f, 'give value or delete, not both');
    if (v.delete !== true) throw new SpecError(`${f}.delete`, 'expected true');
    return { kind: 'json-delete', path };
  }
  if (!('value' in v)) throw new SpecError(f, 'give value (any JSON) or "delete": true');
  return { kind: 'json', path, value: v.value };
}

function compileAction(spec: unknown): Action {
  if (!isPlainObject(spec)) throw new SpecError('action', 'required: an object with a type (replace, drop, delay, close, break)');
  const type = spec.type;
  if (typeof type !== 'string' || !(ACTION_TYPES as readonly string[]).includes(type)) {
    throw new SpecError('action.type', `expected one of ${ACTION_TYPES.join(', ')}`);
  }
  switch (type) {
    case 'replace':
      onlyKeys(spec, ['type', 'text', 'json', 'hex'], 'action');
      return { type: 'replace', edit: compileEdit(spec) };
    case 'drop':
      onlyKeys(spec, ['type'], 'action');
      return { type: 'decide', decision: { action: 'drop' } };
    case 'break':
      onlyKeys(spec, ['type'], 'action');
      return { type: 'decide', decision: { action: 'break' } };
    case 'delay': {
      onlyKeys(spec, ['type', 'ms'], 'action');
      const ms = spec.ms;
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_DELAY_MS) throw new SpecError('action.ms', `expected whole milliseconds from 1 to ${MAX_DELAY_MS}`);
      return { type: 'decide', decision: { action: 'delay', ms } };
    }
    default: {
      onlyKeys(spec, ['type', 'code', 'reason'], 'action');
      const code = spec.code;
      if (typeof code !== 'number' || !Number.isInteger(code)) throw new SpecError('action.code', 'required: a close code such as 1000 or 4000');
      if (!isValidWireCloseCode(code)) throw new SpecError('action.code', `${code} may not be sent in a close frame (RFC 6455 §7.4: 1000-1003, 1007-1014, 3000-4999)`);
      const reason = spec.reason ?? '';
      if (typeof reason !== 'string') throw new SpecError('action.reason', 'expected a string');
      if (LONE_SURROGATE.test(reason)) throw new SpecError('action.reason', 'contains a lone surrogate (not valid text)');
      const bytes = utf8Encode(reason).length;
      if (bytes > MAX_CLOSE_REASON) throw new SpecError('action.reason', `${bytes} bytes of UTF-8; a close reason holds at most ${MAX_CLOSE_REASON}`);
      return { type: 'decide', decision: { action: 'close', code, reason } };
    }
  }
}

function compileRule(spec: unknown, index: number): Rule {
  if (!isPlainObject(spec)) throw new SpecError('', 'expected an object with direction, match and action');
  onlyKeys(spec, RULE_KEYS, '');
  let name: string | undefined;
  if ('name' in spec) {
    if (typeof spec.name !== 'string') throw new SpecError('name', 'expected a string');
    if (spec.name.length > MAX_NAME) throw new SpecError('name', `longer than ${MAX_NAME} characters`);
    name = spec.name;
  }
  const enabled = spec.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new SpecError('enabled', 'expected true or false');
  const direction = spec.direction;
  if (direction !== 'client' && direction !== 'server' && direction !== 'both') {
    throw new SpecError('direction', 'required: "client" (messages the client sends), "server" or "both"');
  }
  const conditions = compileMatch(spec.match, 'match');
  const action = compileAction(spec.action);
  const rule: Rule = { index, enabled, matcher: { direction, conditions }, action, spec: spec as unknown as RuleSpec };
  if (name !== undefined) rule.name = name;
  return rule;
}

/** The JSON of a rules file, already parsed (a UI hands this over), checked and compiled. */
export function rulesFromJson(value: unknown, source: string): Rules {
  if (!isPlainObject(value)) throw new Error(`${source}: expected an object {"version": 1, "rules": […]}`);
  for (const k of Object.keys(value)) {
    if (k !== 'version' && k !== 'rules') throw new Error(`${source}: ${k}: unknown key (expected version, rules)`);
  }
  if ('version' in value && value.version !== 1) throw new Error(`${source}: version: ${JSON.stringify(value.version)} is not a version this Framescope reads (1)`);
  if (!Array.isArray(value.rules)) throw new Error(`${source}: rules: required: a list of rules`);
  if (value.rules.length > MAX_RULES) throw new Error(`${source}: rules: ${value.rules.length} rules; at most ${MAX_RULES}`);
  const rules = value.rules.map((spec: unknown, i) => {
    try {
      return compileRule(spec, i + 1);
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      const name = isPlainObject(spec) && typeof spec.name === 'string' ? ` (${JSON.stringify(spec.name.slice(0, 60))})` : '';
      const where = e.offset !== undefined ? ` (at character ${e.offset + 1})` : '';
      throw new Error(`${source}: rule ${i + 1}${name}: ${e.field ? `${e.field}: ` : ''}${e.message}${where}`);
    }
  });
  const from = { client: false, server: false };
  for (const r of rules) {
    if (!r.enabled) continue;
    if (r.matcher.direction !== 'server') from.client = true;
    if (r.matcher.direction !== 'client') from.server = true;
  }
  return { source, rules, from };
}

/** Parses a rules file's text. Throws an Error whose message is one line naming `source`,
 * the rule (1-based index and name) and the field. */
export function parseRules(text: string, source: string): Rules {
  const size = utf8Encode(text).length;
  if (size > MAX_RULES_FILE) throw new Error(`${source}: ${size} bytes; a rules file may be at most ${MAX_RULES_FILE}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON: ${jsonErrorWhere(text, (e as Error).message)}`);
  }
  return { ...rulesFromJson(value, source), text };
}

/** JSON.parse says "at position N"; people read lines and columns. */
function jsonErrorWhere(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  if (!m || /\(line \d+ column \d+\)/.test(message)) return message;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `${message} (line ${line} column ${column})`;
}

/** The rules file's text for these rules (what a UI saves). */
export function stringifyRules(rules: readonly RuleSpec[]): string {
  return `${JSON.stringify({ version: 1, rules }, null, 2)}\n`;
}

export const NO_RULES: Rules = { source: '', rules: [], from: { client: false, server: false } };

// ---- applying -------------------------------------------------------------------------------

function ref(r: Rule): RuleRef {
  return r.name === undefined ? { index: r.index } : { index: r.index, name: r.name };
}

function replaceBytes(data: Uint8Array, find: Uint8Array, replacement: Uint8Array): Uint8Array | null {
  let at = indexOfBytes(data, find);
  if (at === -1) return null;
  const parts: Uint8Array[] = [];
  let from = 0;
  while (at !== -1) {
    parts.push(data.subarray(from, at), replacement);
    from = at + find.length;
    at = indexOfBytes(data, find, from);
  }
  parts.push(data.subarray(from));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function setPath(root: unknown, path: JsonPath, value: unknown, remove: boolean): boolean {
  const parent = getPath(root, path.slice(0, -1));
  if (isMissing(parent)) return false;
  const last = path[path.length - 1]!;
  if (typeof last === 'number') {
    if (!Array.isArray(parent)) return false;
    const idx = last < 0 ? parent.length + last : last;
    if (remove) {
      if (idx < 0 || idx >= parent.length) return false;
      parent.splice(idx, 1);
    } else {
      if (idx < 0 || idx > parent.length) return false; // the length itself appends
      parent[idx] = structuredClone(value);
    }
    return true;
  }
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return false;
  const obj = parent as Record<string, unknown>;
  if (remove) {
    if (!Object.hasOwn(obj, last)) return false;
    delete obj[last];
  } else {
    // defineProperty: a key named __proto__ is a key like any other in JSON
    Object.defineProperty(obj, last, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
  }
  return true;
}

/** The message after one edit, or null when the edit does not apply to it. */
function applyEdit(edit: Edit, view: MessageView): Uint8Array | null {
  if (edit.kind === 'hex') return replaceBytes(view.message.data, edit.find, edit.with);
  if (edit.kind === 'text') {
    const t = view.text;
    if (t === null) return null;
    const p = edit.pattern;
    let out: string;
    if (p.kind === 'substring') {
      if (!t.includes(p.text)) return null;
      out = t.split(p.text).join(edit.with); // literal: no $ patterns in a plain replacement
    } else {
      p.re.lastIndex = 0;
      if (!p.re.test(t)) return null;
      p.re.lastIndex = 0;
      out = t.replace(p.re, edit.with);
    }
    return utf8Encode(out);
  }
  const root = view.json;
  if (isMissing(root)) return null;
  const copy = structuredClone(root);
  if (!setPath(copy, edit.path, edit.kind === 'json' ? edit.value : undefined, edit.kind === 'json-delete')) return null;
  return utf8Encode(JSON.stringify(copy));
}

/**
 * What the rules decide for a message. Enabled rules whose direction fits are read in file
 * order, twice:
 *  1. the first whose match holds on the message as it came and whose action is drop,
 *     delay, close or break decides, and nothing else applies (a delayed or held message
 *     is the original: edits are for messages that go on);
 *  2. otherwise every replace rule whose match holds applies, in file order, each to the
 *     result of the one before (its match is checked on that result too).
 * `forward` when nothing changed the bytes.
 */
export function evaluateRules(rules: Rules, message: InterceptedMessage): RulesOutcome {
  if (!rules.from[message.from]) return { decision: { action: 'forward' }, replacedBy: [] };
  const original = new MessageView(message);
  for (const r of rules.rules) {
    if (!r.enabled || r.action.type !== 'decide' || !matches(r.matcher, original)) continue;
    return { decision: r.action.decision, decidedBy: ref(r), replacedBy: [] };
  }
  let view = original;
  const replacedBy: RuleRef[] = [];
  for (const r of rules.rules) {
    if (!r.enabled || r.action.type !== 'replace' || !matches(r.matcher, view)) continue;
    const data = applyEdit(r.action.edit, view);
    if (data === null) continue;
    replacedBy.push(ref(r));
    view = new MessageView({ connection: message.connection, from: message.from, opcode: message.opcode, data });
  }
  const data = view.message.data;
  if (view === original || bytesEqual(data, message.data)) return { decision: { action: 'forward' }, replacedBy };
  return { decision: { action: 'replace', opcode: message.opcode === 2 ? 2 : 1, data }, replacedBy };
}

/** The decision alone (see evaluateRules for the order rules apply in). */
export function applyRules(rules: Rules, message: InterceptedMessage): Decision {
  return evaluateRules(rules, message).decision;
}
