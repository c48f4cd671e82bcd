// The renderer's frame rows, held in fixed-size chunks in an LRU, so a connection with a
// million frames costs the UI at most `cap` chunks of rows. Everything here is pure: it
// takes a Map and gives back a new one (the store replaces, never mutates).
import type { FrameSummary } from '../../../shared/contract';

/** Rows per chunk. A chunk is fetched whole: [index*CHUNK_SIZE, (index+1)*CHUNK_SIZE). */
export const CHUNK_SIZE = 1024;
/** Chunks kept by default: 128 x 1024 rows (about 30-60 MB of summaries at the worst). */
export const DEFAULT_CHUNK_CAP = 128;

export interface Chunk {
  readonly key: string;
  readonly connection: string;
  readonly index: number;
  /** slot i holds seq index*CHUNK_SIZE+i, or undefined when not (yet) in memory */
  readonly rows: ReadonlyArray<FrameSummary | undefined>;
  /** defined slots */
  readonly filled: number;
}

export type ChunkMap = ReadonlyMap<string, Chunk>;

export const chunkKey = (connection: string, index: number): string => `${connection}\u0000${index}`;
export const chunkIndexOf = (seq: number): number => Math.floor(seq / CHUNK_SIZE);

export function rowAt(chunks: ChunkMap, connection: string, seq: number): FrameSummary | undefined {
  return chunks.get(chunkKey(connection, chunkIndexOf(seq)))?.rows[seq % CHUNK_SIZE];
}

/**
 * Writes rows into chunks within one update. Chunks touched here are copied once per
 * writer (copy-on-write), moved to the young end of the LRU by `finish()`, and the oldest
 * chunks beyond `cap` are dropped.
 */
export class ChunkWriter {
  private readonly work: Map<string, Chunk>;
  private readonly copied = new Map<string, { rows: Array<FrameSummary | undefined>; filled: number }>();
  private changed = false;

  constructor(
    private readonly base: ChunkMap,
    private readonly cap: number,
  ) {
    this.work = new Map(base);
  }

  write(connection: string, rows: readonly FrameSummary[]): void {
    for (const row of rows) {
      if (!Number.isSafeInteger(row.seq) || row.seq < 0) continue;
      const index = chunkIndexOf(row.seq);
      const key = chunkKey(connection, index);
      let c = this.copied.get(key);
      if (!c) {
        const old = this.work.get(key);
        const copy = old ? old.rows.slice() : new Array<FrameSummary | undefined>(CHUNK_SIZE);
        c = { rows: copy, filled: old?.filled ?? 0 };
        this.copied.set(key, c);
      }
      const slot = row.seq % CHUNK_SIZE;
      if (c.rows[slot] === undefined) c.filled++;
      c.rows[slot] = row;
    }
  }

  /** Drops every chunk of these connections. */
  dropConnections(ids: ReadonlySet<string>): void {
    for (const [key, chunk] of this.work) {
      if (ids.has(chunk.connection)) {
        this.work.delete(key);
        this.changed = true;
      }
    }
    for (const [key] of this.copied) if (ids.has(key.slice(0, key.indexOf('\u0000')))) this.copied.delete(key);
  }

  /** The new map, or the base itself when nothing changed. */
  finish(): ChunkMap {
    if (this.copied.size === 0 && !this.changed) return this.base;
    for (const [key, c] of this.copied) {
      const sep = key.indexOf('\u0000');
      const chunk: Chunk = { key, connection: key.slice(0, sep), index: Number(key.slice(sep + 1)), rows: c.rows, filled: c.filled };
      this.work.delete(key); // re-insert at the young end
      this.work.set(key, chunk);
    }
    evict(this.work, this.cap);
    return this.work;
  }
}

function evict(map: Map<string, Chunk>, cap: number): void {
  if (map.size <= cap) return;
  let over = map.size - cap;
  for (const key of map.keys()) {
    if (over-- <= 0) break;
    map.delete(key);
  }
}

/**
 * Marks chunks as just used. To keep scrolling cheap it reorders only when one of them has
 * aged out of the young end of the LRU (the newest max(half, keys.length) entries), so it
 * cannot be the next evicted, and returns the same map otherwise. Touching the same keys
 * twice in a row never reorders twice (the list calls this on every render).
 */
export function touchChunks(chunks: ChunkMap, keys: readonly string[]): ChunkMap {
  const wanted = [...new Set(keys)].filter((k) => chunks.has(k));
  if (wanted.length === 0) return chunks;
  const youngFrom = chunks.size - Math.max(Math.floor(chunks.size / 2), wanted.length);
  const old = new Set<string>();
  let i = 0;
  for (const key of chunks.keys()) {
    if (i++ >= youngFrom) break;
    old.add(key);
  }
  if (!wanted.some((k) => old.has(k))) return chunks;
  const out = new Map(chunks);
  for (const k of wanted) {
    const c = out.get(k)!;
    out.delete(k);
    out.set(k, c);
  }
  return out;
}

/** Chunks of one connection in memory, by index. */
export function chunksOf(chunks: ChunkMap, connection: string): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunks.values()) if (c.connection === connection) out.push(c);
  return out.sort((a, b) => a.index - b.index);
}

/** Rows in memory of a connection below `limit`, as merged [from, to) seq ranges. */
export function residentRanges(chunks: ChunkMap, connection: string, limit: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const c of chunksOf(chunks, connection)) {
    const base = c.index * CHUNK_SIZE;
    const end = Math.min(base + CHUNK_SIZE, limit);
    if (end <= base) continue;
    if (c.filled >= end - base && (end - base === CHUNK_SIZE || c.rows.slice(0, end - base).every((r) => r !== undefined))) {
      // a full chunk: no need to look at each slot
      const last = out[out.length - 1];
      if (last && last[1] === base) last[1] = end;
      else out.push([base, end]);
      continue;
    }
    let runStart = -1;
    for (let s = base; s <= end; s++) {
      const present = s < end && c.rows[s - base] !== undefined;
      if (present && runStart < 0) runStart = s;
      if (!present && runStart >= 0) {
        const last = out[out.length - 1];
        if (last && last[1] === runStart) last[1] = s;
        else out.push([runStart, s]);
        runStart = -1;
      }
    }
  }
  return out;
}
