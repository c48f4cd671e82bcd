// The whole-history search's query (docs/guide.md "Search"): terms separated by spaces, all
// of which must hold, any of them negated with a leading "-". It is the union of the two
// grammars the UI already speaks, not a third one: the frame filter box's words, /regex/,
// `proto:` `type:` `name:` `id:` and field tests (`payload.user.id = 42`), and the breakpoint
// filter's `text:` `json:` `hex:` `len` terms (compiled by intervene/filter.ts itself), plus
// the frame's own fields: `from:` `op:` `is:`.
import type { Decoded } from '../../../shared/decoders/types';
import type { FrameRecord } from '../../../shared/model';
import { looksLikeFieldQuery, matchField, parseFieldQuery } from '../../../shared/decoders/field-path';
import { compileFilter, FilterError } from '../intervene/filter';
import { compilePattern, conditionHolds, MAX_TEXT_MATCH, MessageView, SpecError, type Condition, type TextPattern } from '../intervene/matcher';

export const MAX_QUERY = 4096;
/** Case-insensitive words and phrases look at most this much of a message's text. */
export const MAX_SEARCH_TEXT = 16 * 1024 * 1024;

/** A mistake in a query; `column` is 1-based, and the message starts with it. */
export class SearchQueryError extends Error {
  constructor(
    readonly column: number,
    problem: string,
  ) {
    super(`column ${column}: ${problem}`);
  }
}

/** What a term looks at, for one frame; built lazily, once per frame however many terms ask. */
export class Candidate {
  private textValue: string | null | undefined;
  private lowerValue: string | null | undefined;
  private viewValue: MessageView | null | undefined;

  /**
   * @param content the message this frame completes (inflated, reassembled), or the frame's
   *   own payload when it is a message by itself; null for a part of a longer message (the
   *   whole message is searched on its final frame)
   * @param compressed the message was compressed on the wire (RSV1 on its first frame)
   */
  constructor(
    readonly connection: string,
    readonly frame: FrameRecord,
    readonly content: Uint8Array | null,
    readonly compressed: boolean,
    readonly decoded: Decoded | undefined,
  ) {}

  /** the content as text (UTF-8, lenient: words inside binary messages are found too) */
  get text(): string | null {
    if (this.textValue === undefined) {
      const f = this.frame;
      if (f.opcode === 8) this.textValue = f.close ? `${f.close.code ?? ''} ${f.close.reason}` : '';
      else if (!this.content) this.textValue = null;
      else {
        const c = this.content.subarray(0, MAX_SEARCH_TEXT);
        this.textValue = Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('utf8');
      }
    }
    return this.textValue;
  }

  get lower(): string | null {
    if (this.lowerValue === undefined) this.lowerValue = this.text?.toLowerCase() ?? null;
    return this.lowerValue;
  }

  /** the message as a breakpoint condition sees it (text, binary; pings and pongs too) */
  get view(): MessageView | null {
    if (this.viewValue === undefined) {
      const f = this.frame;
      const opcode = f.message ? f.message.opcode : f.opcode;
      this.viewValue =
        this.content && (opcode === 1 || opcode === 2 || opcode === 9 || opcode === 10)
          ? new MessageView({ connection: this.connection, from: f.from, opcode, data: this.content })
          : null;
    }
    return this.viewValue;
  }
}

interface Term {
  negated: boolean;
  /** needs the decoded message (the scan decodes only when some term does) */
  decoded: boolean;
  test(c: Candidate): boolean;
}

export interface SearchQuery {
  source: string;
  terms: readonly Term[];
  /** some term looks at the decoded message */
  decodes: boolean;
}

const IS_FLAGS: Record<string, (c: Candidate) => boolean> = {
  fin: (c) => c.frame.fin,
  rsv1: (c) => c.frame.rsv1,
  rsv2: (c) => c.frame.rsv2,
  rsv3: (c) => c.frame.rsv3,
  masked: (c) => c.frame.masked,
  compressed: (c) => c.compressed,
  fragment: (c) => !c.frame.fin || c.frame.opcode === 0,
  violation: (c) => (c.frame.violations?.length ?? 0) > 0,
  truncated: (c) => c.frame.truncated === true || c.frame.message?.truncated === true,
  control: (c) => c.frame.opcode >= 8,
  data: (c) => c.frame.opcode <= 2,
  framescope: (c) => c.frame.by === 'framescope',
  intervened: (c) => c.frame.intervention !== undefined,
  heartbeat: (c) => c.decoded?.heartbeat === true,
  decoded: (c) => c.decoded !== undefined,
};

const OPS: Record<string, (op: number) => boolean> = {
  text: (op) => op === 1,
  binary: (op) => op === 2,
  continuation: (op) => op === 0,
  close: (op) => op === 8,
  ping: (op) => op === 9,
  pong: (op) => op === 10,
  data: (op) => op <= 2,
  control: (op) => op >= 8 && op <= 10,
  reserved: (op) => (op >= 3 && op <= 7) || op >= 11,
};

const DECODED_KEYS = { proto: 'protocol', protocol: 'protocol', type: 'type', name: 'name', id: 'id' } as const;

const TERMS =
  'words, "a phrase", /regex/flags, from:client|server, op:NAME|N, is:FLAG, len>N, hex:[^]HEX, text:PATTERN, json:PATH[=VALUE|~PATTERN], proto: type: name: id:, PATH = VALUE';

/** Splits the query into tokens: whitespace-separated, with "quoted" and /regex/ tokens kept whole. */
function tokenize(q: string): Array<{ text: string; at: number }> {
  const out: Array<{ text: string; at: number }> = [];
  let i = 0;
  while (i < q.length) {
    while (i < q.length && /\s/.test(q[i]!)) i++;
    if (i >= q.length) break;
    const start = i;
    // a quoted string or a /regex/ can hold spaces, after an optional "-" or "key:"
    const head = /^-?(?:[a-z]+:!?\^?)?/i.exec(q.slice(i))![0];
    let j = i + head.length;
    const open = q[j];
    if (open === '"' || (open === '/' && /^-?$/.test(head))) {
      let k = j + 1;
      let inClass = false;
      for (; k < q.length; k++) {
        const ch = q[k];
        if (ch === '\\') k++;
        else if (open === '/' && ch === '[') inClass = true;
        else if (open === '/' && ch === ']') inClass = false;
        else if (ch === open && !inClass) break;
      }
      if (k < q.length) {
        k++;
        if (open === '/') while (k < q.length && /[a-z]/.test(q[k]!)) k++;
        // `"n":1 2}` is a word with quotes in it, not a phrase: only a token that ends with
        // its closing quote is one
        if (k >= q.length || /\s/.test(q[k]!)) {
          out.push({ text: q.slice(start, k), at: start });
          i = k;
          continue;
        }
      } else if (open === '/') throw new SearchQueryError(j + 1, 'unterminated regex (a closing / is missing)');
      else throw new SearchQueryError(j + 1, 'unterminated quoted string');
    }
    while (j < q.length && !/\s/.test(q[j]!)) j++;
    out.push({ text: q.slice(start, j), at: start });
    i = j;
  }
  return out;
}

function pattern(spec: string, at: number): TextPattern {
  try {
    return compilePattern(spec, '');
  } catch (e) {
    if (e instanceof SpecError) throw new SearchQueryError(at + 1 + (e.offset ?? 0), e.message.replace(/^: /, ''));
    throw e;
  }
}

/** A term the breakpoint filter knows (text: json: hex: len), compiled by it. */
function filterTerm(text: string, at: number): (c: Candidate) => boolean {
  let conditions: readonly Condition[];
  try {
    conditions = compileFilter(text).matcher.conditions;
  } catch (e) {
    if (e instanceof FilterError) throw new SearchQueryError(at + e.column, e.message.replace(/^column \d+: /, ''));
    throw e;
  }
  return (c) => {
    const view = c.view;
    if (view) return conditions.every((cond) => conditionHolds(cond, view));
    // a frame that is no message (a close, a part of a longer message): only its length
    return conditions.every((cond) => cond.kind === 'length' && c.frame.length >= cond.min && c.frame.length <= cond.max);
  };
}

/** Compiles a query; throws a SearchQueryError naming the column. An empty query is an error. */
export function parseSearch(source: string): SearchQuery {
  if (source.length > MAX_QUERY) throw new SearchQueryError(MAX_QUERY + 1, `a query may be at most ${MAX_QUERY} characters`);
  const tokens = tokenize(source);
  if (tokens.length === 0) throw new SearchQueryError(1, 'type something to search for');
  const terms: Term[] = [];
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    const negated = tok.text.length > 1 && tok.text.startsWith('-');
    const text = negated ? tok.text.slice(1) : tok.text;
    const at = negated ? tok.at + 1 : tok.at;
    const push = (test: (c: Candidate) => boolean, decoded = false) => terms.push({ negated, decoded, test });

    // a field test on the decoded value, written `a.b = 1` (three tokens) or `a.b=1`
    const next = tokens[t + 1]?.text;
    if (next && /^(=|!=|~|>|<)$/.test(next) && tokens[t + 2] && looksLikeFieldQuery(`${text} ${next} ${tokens[t + 2]!.text}`)) {
      const q = parseFieldQuery(`${text} ${next} ${tokens[t + 2]!.text}`);
      if (typeof q === 'string') throw new SearchQueryError(at + 1, q);
      t += 2;
      push((c) => c.decoded?.value !== undefined && matchField(q, c.decoded.value), true);
      continue;
    }

    const key = /^([a-z]+)(:|(?=[<>=]))/i.exec(text);
    const k = key?.[1]!.toLowerCase();
    const value = key ? text.slice(key[0].length) : '';
    const valueAt = at + (key?.[0].length ?? 0);
    if (k === 'text' || k === 'json' || k === 'hex' || (k === 'len' && key![2] !== ':')) {
      push(filterTerm(text, at));
    } else if (k === 'from' || k === 'dir') {
      const side = value.toLowerCase();
      if (side !== 'client' && side !== 'server') throw new SearchQueryError(valueAt + 1, 'from: takes client or server');
      push((c) => c.frame.from === side);
    } else if (k === 'op' || k === 'opcode') {
      const v = value.toLowerCase();
      if (/^\d+$/.test(v) && Number(v) <= 15) {
        const n = Number(v);
        push((c) => c.frame.opcode === n);
      } else if (OPS[v]) {
        const ok = OPS[v]!;
        // a fragmented text message is text on its final frame (op:text finds the message)
        push((c) => ok(c.frame.opcode) || (v !== 'continuation' && c.frame.message !== undefined && ok(c.frame.message.opcode)));
      } else throw new SearchQueryError(valueAt + 1, `op: takes a number 0-15 or ${Object.keys(OPS).join(', ')}`);
    } else if (k === 'is' || k === 'has') {
      const flag = value.toLowerCase().replace(/s$/, '');
      const test = IS_FLAGS[flag === 'violations' ? 'violation' : flag];
      if (!test) throw new SearchQueryError(valueAt + 1, `is: takes ${Object.keys(IS_FLAGS).join(', ')}`);
      push(test, flag === 'heartbeat' || flag === 'decoded');
    } else if (k && k in DECODED_KEYS && key![2] === ':') {
      const field = DECODED_KEYS[k as keyof typeof DECODED_KEYS];
      const want = (value.startsWith('"') && value.endsWith('"') && value.length > 1 ? value.slice(1, -1) : value).toLowerCase();
      if (!want) throw new SearchQueryError(valueAt + 1, `${k}: needs a value, e.g. ${k}:message`);
      push((c) => {
        const v = c.decoded?.[field];
        return v !== undefined && v.toLowerCase().includes(want);
      }, true);
    } else if (/^\/.+\/[a-z]*$/s.test(text)) {
      const p = pattern(text, at);
      push((c) => {
        const s = c.text;
        if (s === null || s.length > MAX_TEXT_MATCH) return false;
        if (p.kind === 'substring') return s.includes(p.text);
        p.re.lastIndex = 0;
        return p.re.test(s);
      });
    } else if (looksLikeFieldQuery(text) && !/^[a-z]+:/i.test(text)) {
      const q = parseFieldQuery(text);
      if (typeof q === 'string') throw new SearchQueryError(at + 1, q);
      push((c) => c.decoded?.value !== undefined && matchField(q, c.decoded.value), true);
    } else if (key && key[2] === ':' && !/^[a-z]+:\/\//i.test(text) && /^[a-z]+$/.test(k!) && value !== '' && !/^\d/.test(value)) {
      throw new SearchQueryError(at + 1, `unknown term "${k}:" (terms: ${TERMS}); put it in quotes to search for it as text`);
    } else {
      let needle = text;
      if (text.length > 1 && text.startsWith('"') && text.endsWith('"')) {
        try {
          needle = JSON.parse(text) as string;
        } catch {
          needle = text.slice(1, -1);
        }
      }
      const lower = needle.toLowerCase();
      if (!lower) throw new SearchQueryError(at + 1, 'an empty phrase');
      push((c) => c.lower?.includes(lower) === true);
    }
  }
  return { source, terms, decodes: terms.some((t) => t.decoded) };
}

/** Whether a frame is a hit. */
export function matchesQuery(q: SearchQuery, c: Candidate): boolean {
  for (const t of q.terms) if (t.test(c) === t.negated) return false;
  return true;
}

