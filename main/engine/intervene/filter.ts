// One-line filters for `proxy --break FILTER` and UI breakpoint conditions: the matcher of
// rules files in a form that fits on a command line (grammar in docs/rules.md "Filters").
// A filter compiles to the same MatchSpec a rule's `match` holds, so a breakpoint can be
// saved as a rule with action break.
import type { InterceptedMessage } from './types';
import {
  compileHex,
  compileMatch,
  compilePattern,
  matches,
  MessageView,
  parsePath,
  SpecError,
  type Direction,
  type JsonConditionSpec,
  type MatchSpec,
  type Matcher,
} from './matcher';

export const MAX_FILTER = 4096;

export interface Filter {
  source: string;
  direction: Direction;
  /** the conditions as a rule's `match` would hold them */
  match: MatchSpec;
  matcher: Matcher;
  test(message: InterceptedMessage): boolean;
}

/** A mistake in a filter; `column` is 1-based, and the message starts with it. */
export class FilterError extends Error {
  constructor(
    readonly column: number,
    problem: string,
  ) {
    super(`column ${column}: ${problem}`);
  }
}

const TERMS = 'client, server, both, text, binary, text:PATTERN, json:PATH[=VALUE|~PATTERN], json:!PATH, hex:[^]HEX, len>N (>=, <, <=, =)';

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

class Reader {
  i = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  get atEnd(): boolean {
    return this.done || /\s/.test(this.s[this.i]!);
  }

  fail(problem: string, at = this.i): never {
    throw new FilterError(at + 1, problem);
  }

  /** "…" with JSON escapes; returns the decoded string */
  quoted(): string {
    const start = this.i;
    let j = this.i + 1;
    while (j < this.s.length && this.s[j] !== '"') j += this.s[j] === '\\' ? 2 : 1;
    if (j >= this.s.length) this.fail('unterminated quoted string', start);
    const raw = this.s.slice(start, j + 1);
    this.i = j + 1;
    try {
      return JSON.parse(raw) as string;
    } catch {
      return this.fail('invalid escape in quoted string (JSON escapes: \\" \\\\ \\n \\u00e9 …)', start);
    }
  }

  bare(): string {
    const start = this.i;
    while (!this.atEnd) this.i++;
    return this.s.slice(start, this.i);
  }

  /** /body/flags, returned as written */
  regex(): string {
    const start = this.i;
    let j = this.i + 1;
    let inClass = false;
    for (; j < this.s.length; j++) {
      const c = this.s[j];
      if (c === '\\') j++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
    }
    if (j >= this.s.length) this.fail('unterminated regex (a closing / is missing)', start);
    j++;
    while (j < this.s.length && /[a-z]/.test(this.s[j]!)) j++;
    this.i = j;
    return this.s.slice(start, j);
  }

  /** a text pattern in the rules file's form: "/re/flags", or a substring (escaped into a
   * regex when it would read as one) */
  pattern(): string {
    if (this.done || this.atEnd) this.fail('expected a pattern: /regex/flags, "quoted text" or a word');
    const start = this.i;
    let spec: string;
    if (this.s[this.i] === '/') spec = this.regex();
    else {
      const literal = this.s[this.i] === '"' ? this.quoted() : this.bare();
      spec = /^\/[\s\S]+\/[a-z]*$/.test(literal) ? `/${escapeRegex(literal)}/` : literal;
    }
    try {
      compilePattern(spec, '');
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      this.fail(e.message, start + (e.offset ?? 0));
    }
    return spec;
  }

  /** a JSON path, up to whitespace, "=" or "~" outside quoted keys */
  path(): string {
    const start = this.i;
    let j = this.i;
    while (j < this.s.length && !/[\s=~]/.test(this.s[j]!)) {
      const q = this.s[j];
      if (q === '"' || q === "'") {
        j++;
        while (j < this.s.length && this.s[j] !== q) j += this.s[j] === '\\' ? 2 : 1;
      }
      j++;
    }
    this.i = Math.min(j, this.s.length);
    const text = this.s.slice(start, this.i);
    if (text === '') this.fail('expected a JSON path such as $.type', start);
    try {
      parsePath(text, '');
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      this.fail(e.message, start + (e.offset ?? 0));
    }
    return text;
  }
}

/**
 * Compiles a filter: terms separated by spaces, all of which must hold; an empty filter
 * matches every message. Throws a FilterError that says the column.
 */
export function compileFilter(expr: string): Filter {
  if (expr.length > MAX_FILTER) throw new FilterError(MAX_FILTER + 1, `a filter may be at most ${MAX_FILTER} characters`);
  const r: Reader = new Reader(expr); // typed, so that r.fail() narrows
  let direction: Direction | undefined;
  const match: MatchSpec = {};
  const texts: string[] = [];
  const jsons: JsonConditionSpec[] = [];
  let min = 0;
  let max = Number.MAX_SAFE_INTEGER;
  let hasLength = false;

  for (;;) {
    while (!r.done && /\s/.test(expr[r.i]!)) r.i++;
    if (r.done) break;
    const start = r.i;
    const word = /^[a-z]+/.exec(expr.slice(start))?.[0] ?? '';
    r.i += word.length;
    const next = expr[r.i];
    if (word && r.atEnd && (word === 'client' || word === 'server' || word === 'both')) {
      if (direction !== undefined) r.fail(`a second direction ("${word}"); a filter has one`, start);
      direction = word;
    } else if (word && r.atEnd && (word === 'text' || word === 'binary')) {
      if (match.opcode !== undefined) r.fail(`a second message kind ("${word}"); a filter has one`, start);
      match.opcode = word;
    } else if (word === 'text' && next === ':') {
      r.i++;
      texts.push(r.pattern());
    } else if (word === 'json' && next === ':') {
      r.i++;
      const negated = expr[r.i] === '!';
      if (negated) r.i++;
      const cond: JsonConditionSpec = { path: r.path() };
      const op = expr[r.i];
      if ((op === '=' || op === '~') && negated) r.fail(`json:!PATH tests that PATH is absent; it takes no "${op}"`);
      if (op === '=') {
        r.i++;
        if (r.atEnd) r.fail('expected a value after "=" (JSON, or a word taken as a string)');
        if (expr[r.i] === '"') cond.equals = r.quoted();
        else {
          const bare = r.bare();
          try {
            cond.equals = JSON.parse(bare);
          } catch {
            cond.equals = bare; // json:$.type=subscribe means the string
          }
        }
      } else if (op === '~') {
        r.i++;
        cond.matches = r.pattern();
      } else if (negated) cond.exists = false;
      jsons.push(cond);
    } else if (word === 'hex' && next === ':') {
      r.i++;
      const startsWith = expr[r.i] === '^';
      if (startsWith) r.i++;
      const at = r.i;
      if (r.atEnd) r.fail('expected hex digits, e.g. hex:81fe or hex:"81 fe"');
      const hex = expr[r.i] === '"' ? r.quoted() : r.bare();
      try {
        compileHex(hex, '');
      } catch (e) {
        if (!(e instanceof SpecError)) throw e;
        r.fail(e.message, at);
      }
      match.hex ??= {};
      const key = startsWith ? 'startsWith' : 'contains';
      if (match.hex[key] !== undefined) r.fail(`a second hex:${startsWith ? '^' : ''} term; a filter has one of each`, start);
      match.hex[key] = hex;
    } else if (word === 'len') {
      const m = /^(>=|<=|>|<|=)(\d+)/.exec(expr.slice(r.i));
      if (!m) r.fail('expected a comparison and a number of bytes, e.g. len>1000 or len<=125');
      r.i += m[0].length;
      const n = Number(m[2]);
      if (!Number.isSafeInteger(n)) r.fail('number too large', start + 3 + m[1]!.length);
      const op = m[1];
      if (op === '<' && n === 0) r.fail('no message is shorter than 0 bytes', start);
      const lo = op === '>' ? n + 1 : op === '>=' || op === '=' ? n : 0;
      const hi = op === '<' ? n - 1 : op === '<=' || op === '=' ? n : Number.MAX_SAFE_INTEGER;
      min = Math.max(min, lo);
      max = Math.min(max, hi);
      if (min > max) r.fail('no length satisfies this together with the len terms before it', start);
      hasLength = true;
    } else {
      r.i = start;
      const bad = r.bare();
      r.fail(`unknown term "${bad}" (terms: ${TERMS})`, start);
    }
    if (!r.atEnd) r.fail('expected a space before the next term');
  }

  if (texts.length > 0) match.text = texts.length === 1 ? texts[0]! : texts;
  if (jsons.length > 0) match.json = jsons.length === 1 ? jsons[0]! : jsons;
  if (hasLength) {
    match.length = { min };
    if (max < Number.MAX_SAFE_INTEGER) match.length.max = max;
  }
  const matcher: Matcher = { direction: direction ?? 'both', conditions: compileMatch(match, 'match') };
  return {
    source: expr,
    direction: matcher.direction,
    match,
    matcher,
    test: (message) => matches(matcher, new MessageView(message)),
  };
}
