// Frame filters. They apply to the rows in memory only (the engine holds the rest), and the
// view says which seq ranges that was. Results are memoized per chunk object: chunks are
// replaced when they change, so a live connection re-filters only its tail chunk per batch.
import type { FrameSummary } from '../../../shared/contract';
import { opcodeName } from '../../../shared/codec/protocol';
import { looksLikeFieldQuery, parseFieldQuery } from '../../../shared/decoders/field-path';
import { CHUNK_SIZE, chunksOf, type Chunk, type ChunkMap } from './frame-chunks';

export type OpcodeFilter = 'all' | 'data' | 'control' | 'text' | 'binary' | 'continuation' | 'close' | 'ping' | 'pong' | 'reserved';

export interface FrameFilter {
  from: 'all' | 'client' | 'server';
  opcode: OpcodeFilter;
  /** a case-insensitive substring, or /regex/flags */
  text: string;
  violationsOnly: boolean;
  /** hide decoded keep-alives (Engine.IO ping/pong, graphql ka…) */
  hideHeartbeats: boolean;
  /** only the frames the user bookmarked */
  bookmarksOnly: boolean;
  /**
   * The seqs whose decoded value passes the text's field test (`payload.user.id = 42`): the
   * engine holds the values, so it answers (matchDecoded); null until it has.
   */
  fieldSeqs: ReadonlySet<number> | null;
  /** the connection and field test fieldSeqs answers (`${connection}\0${test}`): another one matches nothing until its answer comes */
  fieldFor: string | null;
  /** which answer fieldSeqs is (it changes when the engine answers again) */
  fieldVersion: number;
  /**
   * A time window brushed on the timeline (ms, the clock of frame times): the list shows the
   * frames in it, in memory or not. Not a row test: the engine says which seqs it holds.
   */
  timeRange: { from: number; to: number } | null;
  /** the engine's answer for the window: seqs [first, end) of the connection and window in `for` (timeKey) */
  timeSeqs: { for: string; first: number; end: number } | null;
}

export const NO_FILTER: FrameFilter = {
  from: 'all',
  opcode: 'all',
  text: '',
  violationsOnly: false,
  hideHeartbeats: false,
  bookmarksOnly: false,
  fieldSeqs: null,
  fieldFor: null,
  fieldVersion: 0,
  timeRange: null,
  timeSeqs: null,
};

export const timeKey = (connection: string, range: { from: number; to: number }): string => `${connection}\u0000${range.from}\u0000${range.to}`;

/** Whether a row test applies (the time window is not one: see timeRange). */
export function isFilterActive(f: FrameFilter): boolean {
  return f.from !== 'all' || f.opcode !== 'all' || f.text.trim() !== '' || f.violationsOnly || f.hideHeartbeats || f.bookmarksOnly;
}

/** Decoded-message terms of the filter text: `proto:` `type:` `name:` `id:` (each a case-insensitive substring). */
const TERM = /(?:^|\s)(proto|protocol|type|name|id):("[^"]*"|\S+)/gi;

export interface ParsedFilterText {
  terms: Array<{ key: 'protocol' | 'type' | 'name' | 'id'; value: string }>;
  /** a field test on the decoded value, e.g. `payload.user.id = 42` */
  field: string | null;
  /** what is left: a substring or /regex/ on the preview */
  rest: string;
}

/** Splits the filter text into decoded terms, a field test, and the plain search. */
export function parseFilterText(text: string): ParsedFilterText {
  const terms: ParsedFilterText['terms'] = [];
  const trimmed = text.trim();
  // A /regex/ is one thing, whatever it holds.
  if (/^\/.*\/[a-z]*$/s.test(trimmed)) return { terms, field: null, rest: trimmed };
  const rest = trimmed
    .replace(TERM, (_m, k: string, v: string) => {
      const key = k.toLowerCase() === 'proto' ? 'protocol' : (k.toLowerCase() as 'protocol' | 'type' | 'name' | 'id');
      terms.push({ key, value: v.replace(/^"|"$/g, '').toLowerCase() });
      return ' ';
    })
    .trim();
  if (rest && looksLikeFieldQuery(rest)) return { terms, field: rest, rest: '' };
  return { terms, field: null, rest };
}

export const OPCODE_FILTERS: ReadonlyArray<{ value: OpcodeFilter; label: string }> = [
  { value: 'all', label: 'all opcodes' },
  { value: 'data', label: 'data (0-2)' },
  { value: 'control', label: 'control (8-10)' },
  { value: 'text', label: 'text' },
  { value: 'binary', label: 'binary' },
  { value: 'continuation', label: 'continuation' },
  { value: 'close', label: 'close' },
  { value: 'ping', label: 'ping' },
  { value: 'pong', label: 'pong' },
  { value: 'reserved', label: 'reserved (3-7, 11-15)' },
];

function opcodeMatches(which: OpcodeFilter, op: number): boolean {
  switch (which) {
    case 'all':
      return true;
    case 'data':
      return op <= 2;
    case 'control':
      return op >= 8 && op <= 10;
    case 'reserved':
      return (op >= 3 && op <= 7) || op >= 11;
    default:
      return opcodeName(op) === which;
  }
}

export type CompiledFilter = { test: (row: FrameSummary) => boolean; error: null } | { test: null; error: string };

/** Longest /regex/ source accepted: a filter is typed by a person, not pasted megabytes. */
const MAX_PATTERN = 1000;

export const fieldKey = (connection: string, test: string): string => `${connection}\u0000${test}`;

export function compileFilter(f: FrameFilter, connection = ''): CompiledFilter {
  const parsed = parseFilterText(f.text);
  const text = parsed.rest;
  if (parsed.field !== null) {
    const q = parseFieldQuery(parsed.field);
    if (typeof q === 'string') return { test: null, error: q };
  }
  // An answer to an earlier test (or another connection's) is no answer to this one.
  const fieldSeqs = parsed.field !== null && f.fieldFor === fieldKey(connection, parsed.field) ? f.fieldSeqs : null;
  let match: ((s: string) => boolean) | null = null;
  const re = /^\/(.*)\/([a-z]*)$/s.exec(text);
  if (re) {
    if (re[1]!.length > MAX_PATTERN) return { test: null, error: `the pattern is longer than ${MAX_PATTERN} characters` };
    let rx: RegExp;
    try {
      rx = new RegExp(re[1]!, re[2]!.replace(/[gy]/g, ''));
    } catch (err) {
      return { test: null, error: err instanceof Error ? err.message : 'invalid regular expression' };
    }
    match = (s) => rx.test(s);
  } else if (text) {
    const needle = text.toLowerCase();
    match = (s) => s.toLowerCase().includes(needle);
  }
  return {
    error: null,
    test: (row) => {
      if (f.from !== 'all' && row.from !== f.from) return false;
      if (!opcodeMatches(f.opcode, row.opcode)) return false;
      if (f.violationsOnly && !(row.violations && row.violations.length > 0)) return false;
      if (f.bookmarksOnly && !row.bookmark) return false;
      const d = row.decoded;
      if (f.hideHeartbeats && d?.heartbeat) return false;
      for (const t of parsed.terms) {
        const v = d?.[t.key];
        if (v === undefined || !v.toLowerCase().includes(t.value)) return false;
      }
      if (parsed.field !== null && !fieldSeqs?.has(row.seq)) return false;
      if (match) {
        const hay = row.close ? `${row.close.code ?? ''} ${row.close.reason} ${row.preview}` : row.preview;
        if (!match(hay)) return false;
      }
      return true;
    },
  };
}

export const filterKey = (f: FrameFilter): string => JSON.stringify([f.from, f.opcode, f.text.trim(), f.violationsOnly, f.hideHeartbeats, f.bookmarksOnly, f.fieldFor, f.fieldVersion]);

const perChunk = new WeakMap<Chunk, { key: string; seqs: number[] }>();

export interface FilteredView {
  /** matching seqs, ascending */
  seqs: number[];
  /** rows examined */
  scanned: number;
  error: string | null;
}

/** The rows of `connection` in memory with seq < limit that pass the filter. */
export function filterRows(chunks: ChunkMap, connection: string, f: FrameFilter, limit: number): FilteredView {
  const compiled = compileFilter(f, connection);
  if (compiled.error !== null) return { seqs: [], scanned: 0, error: compiled.error };
  const key = filterKey(f);
  const seqs: number[] = [];
  let scanned = 0;
  for (const c of chunksOf(chunks, connection)) {
    const base = c.index * CHUNK_SIZE;
    if (base >= limit) break;
    let memo = perChunk.get(c);
    if (!memo || memo.key !== key) {
      const found: number[] = [];
      for (let i = 0; i < c.rows.length; i++) {
        const row = c.rows[i];
        if (row && compiled.test(row)) found.push(base + i);
      }
      memo = { key, seqs: found };
      perChunk.set(c, memo);
    }
    scanned += base + CHUNK_SIZE <= limit ? c.filled : countBelow(c, limit - base);
    for (const s of memo.seqs) {
      if (s >= limit) break;
      seqs.push(s);
    }
  }
  return { seqs, scanned, error: null };
}

function countBelow(c: Chunk, n: number): number {
  let k = 0;
  for (let i = 0; i < n && i < c.rows.length; i++) if (c.rows[i]) k++;
  return k;
}
