// The matcher shared by rules files (docs/rules.md), `proxy --break FILTER` and UI breakpoint
// conditions: a message matches when every condition holds. Pure and synchronous (it runs on
// the engine's thread for every intercepted message), no Node: it can move to shared/ when
// the renderer needs it.
import { fromHex, utf8DecodeStrict } from '../../../shared/bytes';
import type { InterceptedMessage } from './types';

/** Text and JSON conditions look only at text messages up to this size (bytes): a regex is
 * not interruptible, and this bounds how long a slow one can hold the engine's thread. */
export const MAX_TEXT_MATCH = 1 << 20;
/** Longest regex or substring pattern, in characters. */
export const MAX_PATTERN = 1000;
/** Longest byte sequence in a hex condition or replacement. */
export const MAX_HEX_BYTES = 4096;
/** Deepest JSON path, in segments. */
export const MAX_PATH_SEGMENTS = 32;

export type { Direction, JsonConditionSpec, MatchSpec } from '../../../shared/rules-spec';
import type { Direction } from '../../../shared/rules-spec';

/** A mistake in a spec: `field` names where, relative to what was being compiled. */
export class SpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** offset into the field's string value, when the mistake is at one place in it */
    readonly offset?: number,
  ) {
    super(message);
  }
}

// ---- text patterns -------------------------------------------------------------------

export type TextPattern = { kind: 'regex'; re: RegExp } | { kind: 'substring'; text: string };

const ALLOWED_FLAGS = 'gimsuv';

/**
 * "/body/flags" is a regex, anything else a plain substring. Regexes always get Unicode
 * semantics (the `u` flag unless `v` is given): a match can then never split a character,
 * so a replacement keeps text valid UTF-8.
 */
export function compilePattern(spec: string, field: string): TextPattern {
  if (spec.length === 0) throw new SpecError(field, 'empty pattern');
  if (spec.length > MAX_PATTERN) throw new SpecError(field, `pattern longer than ${MAX_PATTERN} characters`);
  const m = /^\/([\s\S]+)\/([a-z]*)$/.exec(spec);
  if (!m) return { kind: 'substring', text: spec };
  const body = m[1]!;
  let flags = m[2]!;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (!ALLOWED_FLAGS.includes(f)) throw new SpecError(field, `regex flag "${f}" not allowed (use g, i, m, s, u, v)`);
    if (flags.indexOf(f) !== i) throw new SpecError(field, `regex flag "${f}" given twice`);
  }
  if (flags.includes('u') && flags.includes('v')) throw new SpecError(field, 'regex flags "u" and "v" together');
  if (!flags.includes('u') && !flags.includes('v')) flags += 'u';
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (e) {
    throw new SpecError(field, `invalid regex: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  const nested = nestedQuantifier(body);
  if (nested) {
    const group = body.slice(Math.max(0, nested.open), nested.close + 2);
    throw new SpecError(field, `regex repeats a group that itself repeats without bound ("${group}"), which can backtrack catastrophically; rewrite it without the nesting`, nested.open + 1);
  }
  return { kind: 'regex', re };
}

function isUnboundedQuantifier(source: string, at: number): boolean {
  const c = source[at];
  return c === '*' || c === '+' || (c === '{' && /^\{\d+,\}/.test(source.slice(at)));
}

/**
 * A group that contains an unbounded quantifier and is itself quantified without bound,
 * `(a+)+`, `(\w+\s?)*`: the classic exponential-backtracking shape. Returns the offsets
 * of that group's parentheses, or null. A heuristic: it does not catch overlapping
 * alternatives such as `(a|a)*`; the MAX_TEXT_MATCH bound is the backstop.
 */
export function nestedQuantifier(source: string): { open: number; close: number } | null {
  const stack: Array<{ open: number; unbounded: boolean }> = [{ open: -1, unbounded: false }];
  const top = () => stack[stack.length - 1]!;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      i += 2;
    } else if (c === '[') {
      i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      if (isUnboundedQuantifier(source, i)) top().unbounded = true;
    } else if (c === '(') {
      stack.push({ open: i, unbounded: false });
      i++;
    } else if (c === ')') {
      const group = stack.length > 1 ? stack.pop()! : { open: -1, unbounded: false };
      const close = i;
      i++;
      const quantified = isUnboundedQuantifier(source, i);
      if (quantified && group.unbounded) return { open: group.open, close };
      if (quantified || group.unbounded) top().unbounded = true;
    } else {
      if (isUnboundedQuantifier(source, i)) top().unbounded = true;
      i++;
    }
  }
  return null;
}

export function patternFound(p: TextPattern, text: string): boolean {
  if (p.kind === 'substring') return text.includes(p.text);
  p.re.lastIndex = 0; // a /g regex remembers where it stopped
  return p.re.test(text);
}

// ---- JSON paths -------------------------------------------------------------------------

/** `$`, then `.name`, `[3]`, `[-1]` (from the end), `["any key"]` or `['any key']`. */
export type JsonPath = ReadonlyArray<string | number>;

/** Parses a path. Throws a SpecError whose offset is where in `text` it went wrong. */
export function parsePath(text: string, field: string): JsonPath {
  if (text[0] !== '$') throw new SpecError(field, 'a JSON path starts with $ (e.g. $.type or $.items[0].id)', 0);
  const out: Array<string | number> = [];
  let i = 1;
  while (i < text.length) {
    if (out.length >= MAX_PATH_SEGMENTS) throw new SpecError(field, `path deeper than ${MAX_PATH_SEGMENTS} segments`, i);
    if (text[i] === '.') {
      const m = /^[\p{L}\p{N}_$@-]+/u.exec(text.slice(i + 1));
      if (!m) throw new SpecError(field, 'expected a name after "." (use ["…"] for other keys)', i + 1);
      out.push(m[0]);
      i += 1 + m[0].length;
    } else if (text[i] === '[') {
      const rest = text.slice(i + 1);
      const num = /^-?\d+(?=\])/.exec(rest);
      if (num) {
        const n = Number(num[0]);
        if (!Number.isSafeInteger(n)) throw new SpecError(field, 'array index too large', i + 1);
        out.push(n);
        i += 1 + num[0].length + 1;
        continue;
      }
      const q = rest[0];
      if (q !== '"' && q !== "'") throw new SpecError(field, 'expected an index or a quoted key after "["', i + 1);
      let j = 1;
      let key = '';
      for (; j < rest.length && rest[j] !== q; j++) {
        if (rest[j] === '\\') {
          j++;
          if (j >= rest.length) break;
        }
        key += rest[j];
      }
      if (j >= rest.length) throw new SpecError(field, 'unterminated quoted key', i + 1);
      if (rest[j + 1] !== ']') throw new SpecError(field, 'expected "]" after the quoted key', i + 1 + j + 1);
      out.push(key);
      i += 1 + j + 2;
    } else {
      throw new SpecError(field, 'expected "." or "[" in the path', i);
    }
  }
  return out;
}

const MISSING = Symbol('missing');

export function getPath(root: unknown, path: JsonPath): unknown {
  let at: unknown = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(at)) return MISSING;
      const idx = seg < 0 ? at.length + seg : seg;
      if (idx < 0 || idx >= at.length) return MISSING;
      at = at[idx];
    } else {
      if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, seg)) return MISSING;
      at = (at as Record<string, unknown>)[seg];
    }
  }
  return at;
}

export function isMissing(v: unknown): boolean {
  return v === MISSING;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

// ---- conditions ---------------------------------------------------------------------------

export type Condition =
  | { kind: 'text'; pattern: TextPattern }
  | { kind: 'json'; path: JsonPath; test: { exists: boolean } | { equals: unknown } | { matches: TextPattern } }
  | { kind: 'hex'; bytes: Uint8Array; at: 'contains' | 'start' }
  | { kind: 'opcode'; opcode: 1 | 2 }
  | { kind: 'length'; min: number; max: number };

/**
 * What a message looks like to the conditions, computed at most once per message however
 * many rules look: its text (text messages up to MAX_TEXT_MATCH that are valid UTF-8) and
 * its JSON (when the text parses).
 */
export class MessageView {
  private textDone = false;
  private textValue: string | null = null;
  private jsonDone = false;
  private jsonValue: unknown = MISSING;

  constructor(readonly message: InterceptedMessage) {}

  get text(): string | null {
    if (!this.textDone) {
      this.textDone = true;
      const m = this.message;
      if (m.opcode === 1 && m.data.length <= MAX_TEXT_MATCH) this.textValue = m.text ?? utf8DecodeStrict(m.data);
    }
    return this.textValue;
  }

  /** the parsed JSON, or MISSING (see isMissing) when the message is not JSON text */
  get json(): unknown {
    if (!this.jsonDone) {
      this.jsonDone = true;
      const t = this.text;
      if (t !== null) {
        try {
          this.jsonValue = JSON.parse(t);
        } catch {
          // not JSON: JSON conditions do not hold
        }
      }
    }
    return this.jsonValue;
  }
}

export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from <= hay.length ? from : -1;
  const first = needle[0]!;
  const last = hay.length - needle.length;
  outer: for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export function conditionHolds(c: Condition, view: MessageView): boolean {
  const m = view.message;
  switch (c.kind) {
    case 'opcode':
      return m.opcode === c.opcode;
    case 'length':
      return m.data.length >= c.min && m.data.length <= c.max;
    case 'hex':
      if (c.at === 'start') {
        if (m.data.length < c.bytes.length) return false;
        for (let i = 0; i < c.bytes.length; i++) if (m.data[i] !== c.bytes[i]) return false;
        return true;
      }
      return indexOfBytes(m.data, c.bytes) !== -1;
    case 'text': {
      const t = view.text;
      return t !== null && patternFound(c.pattern, t);
    }
    case 'json': {
      const root = view.json;
      if (isMissing(root)) return false;
      const v = getPath(root, c.path);
      const t = c.test;
      if ('exists' in t) return isMissing(v) !== t.exists;
      if (isMissing(v)) return false;
      if ('equals' in t) return jsonEqual(v, t.equals);
      return patternFound(t.matches, typeof v === 'string' ? v : JSON.stringify(v));
    }
  }
}

/** A compiled match: who sent the message, and conditions that must all hold. */
export interface Matcher {
  direction: Direction;
  conditions: readonly Condition[];
}

export function matches(matcher: Matcher, view: MessageView): boolean {
  if (matcher.direction !== 'both' && matcher.direction !== view.message.from) return false;
  for (const c of matcher.conditions) if (!conditionHolds(c, view)) return false;
  return true;
}

// ---- compiling a MatchSpec -----------------------------------------------------------------

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Rejects keys not in `allowed` (a typo should not silently match everything). */
export function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new SpecError(field ? `${field}.${k}` : k, `unknown key (expected ${allowed.join(', ')})`);
  }
}

export function compileHex(v: unknown, field: string, allowEmpty = false): Uint8Array {
  if (typeof v !== 'string') throw new SpecError(field, 'expected a string of hex digits (spaces allowed)');
  let bytes: Uint8Array;
  try {
    bytes = fromHex(v);
  } catch (e) {
    throw new SpecError(field, (e as Error).message);
  }
  if (bytes.length === 0 && !allowEmpty) throw new SpecError(field, 'empty byte sequence');
  if (bytes.length > MAX_HEX_BYTES) throw new SpecError(field, `longer than ${MAX_HEX_BYTES} bytes`);
  return bytes;
}

function lengthBound(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new SpecError(field, 'expected a whole number of bytes, 0 or more');
  return v;
}

function compileJsonCondition(v: unknown, field: string): Condition {
  if (!isPlainObject(v)) throw new SpecError(field, 'expected an object like {"path": "$.type", "equals": "subscribe"}');
  onlyKeys(v, ['path', 'equals', 'matches', 'exists'], field);
  if (typeof v.path !== 'string') throw new SpecError(`${field}.path`, 'required: a JSON path such as $.type');
  const path = parsePath(v.path, `${field}.path`);
  const tests = ['equals', 'matches', 'exists'].filter((k) => k in v);
  if (tests.length > 1) throw new SpecError(field, `give one of equals, matches, exists (not ${tests.join(' and ')})`);
  if ('matches' in v) {
    if (typeof v.matches !== 'string') throw new SpecError(`${field}.matches`, 'expected "/regex/flags" or a substring');
    return { kind: 'json', path, test: { matches: compilePattern(v.matches, `${field}.matches`) } };
  }
  if ('equals' in v) return { kind: 'json', path, test: { equals: v.equals } };
  if ('exists' in v && typeof v.exists !== 'boolean') throw new SpecError(`${field}.exists`, 'expected true or false');
  return { kind: 'json', path, test: { exists: v.exists !== false } };
}

/** Compiles a `match` object (absent: every message). `field` prefixes where errors point. */
export function compileMatch(spec: unknown, field: string): Condition[] {
  if (spec === undefined) return [];
  if (!isPlainObject(spec)) throw new SpecError(field, 'expected an object of conditions');
  onlyKeys(spec, ['text', 'json', 'hex', 'opcode', 'length'], field);
  const out: Condition[] = [];
  if ('opcode' in spec) {
    if (spec.opcode !== 'text' && spec.opcode !== 'binary') throw new SpecError(`${field}.opcode`, 'expected "text" or "binary"');
    out.push({ kind: 'opcode', opcode: spec.opcode === 'text' ? 1 : 2 });
  }
  if ('length' in spec) {
    const f = `${field}.length`;
    const l = spec.length;
    if (!isPlainObject(l)) throw new SpecError(f, 'expected {"min": N, "max": N} (either may be left out)');
    onlyKeys(l, ['min', 'max'], f);
    if (!('min' in l) && !('max' in l)) throw new SpecError(f, 'give min, max or both');
    const min = 'min' in l ? lengthBound(l.min, `${f}.min`) : 0;
    const max = 'max' in l ? lengthBound(l.max, `${f}.max`) : Number.MAX_SAFE_INTEGER;
    if (min > max) throw new SpecError(f, `min ${min} is more than max ${max}`);
    out.push({ kind: 'length', min, max });
  }
  if ('hex' in spec) {
    const f = `${field}.hex`;
    const h = spec.hex;
    if (!isPlainObject(h)) throw new SpecError(f, 'expected {"contains": "…"} and/or {"startsWith": "…"}');
    onlyKeys(h, ['contains', 'startsWith'], f);
    if (!('contains' in h) && !('startsWith' in h)) throw new SpecError(f, 'give contains, startsWith or both');
    if ('startsWith' in h) out.push({ kind: 'hex', bytes: compileHex(h.startsWith, `${f}.startsWith`), at: 'start' });
    if ('contains' in h) out.push({ kind: 'hex', bytes: compileHex(h.contains, `${f}.contains`), at: 'contains' });
  }
  if ('text' in spec) {
    const f = `${field}.text`;
    const list = Array.isArray(spec.text) ? spec.text : [spec.text];
    if (list.length === 0) throw new SpecError(f, 'empty list');
    list.forEach((p, i) => {
      const fi = Array.isArray(spec.text) ? `${f}[${i}]` : f;
      if (typeof p !== 'string') throw new SpecError(fi, 'expected "/regex/flags" or a substring');
      out.push({ kind: 'text', pattern: compilePattern(p, fi) });
    });
  }
  if ('json' in spec) {
    const f = `${field}.json`;
    const list = Array.isArray(spec.json) ? spec.json : [spec.json];
    if (list.length === 0) throw new SpecError(f, 'empty list');
    list.forEach((c, i) => out.push(compileJsonCondition(c, Array.isArray(spec.json) ? `${f}[${i}]` : f)));
  }
  return out;
}
