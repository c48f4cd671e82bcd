// Frame filters. They apply to the rows in memory only (the engine holds the rest), and the
// view says which seq ranges that was. Results are memoized per chunk object: chunks are
// replaced when they change, so a live connection re-filters only its tail chunk per batch.
import type { FrameSummary } from '../../../shared/contract';
import { opcodeName } from '../../../shared/codec/protocol';
import { CHUNK_SIZE, chunksOf, type Chunk, type ChunkMap } from './frame-chunks';

export type OpcodeFilter = 'all' | 'data' | 'control' | 'text' | 'binary' | 'continuation' | 'close' | 'ping' | 'pong' | 'reserved';

export interface FrameFilter {
  from: 'all' | 'client' | 'server';
  opcode: OpcodeFilter;
  /** a case-insensitive substring, or /regex/flags */
  text: string;
  violationsOnly: boolean;
}

export const NO_FILTER: FrameFilter = { from: 'all', opcode: 'all', text: '', violationsOnly: false };

export function isFilterActive(f: FrameFilter): boolean {
  return f.from !== 'all' || f.opcode !== 'all' || f.text.trim() !== '' || f.violationsOnly;
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

export function compileFilter(f: FrameFilter): CompiledFilter {
  const text = f.text.trim();
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
      if (match) {
        const hay = row.close ? `${row.close.code ?? ''} ${row.close.reason} ${row.preview}` : row.preview;
        if (!match(hay)) return false;
      }
      return true;
    },
  };
}

export const filterKey = (f: FrameFilter): string => JSON.stringify([f.from, f.opcode, f.text.trim(), f.violationsOnly]);

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
  const compiled = compileFilter(f);
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
