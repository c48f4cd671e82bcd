// The whole-history search: every frame of a connection (or of all of them) read back from
// the session's journal and tested against a query (search-query.ts). It scans in slices of
// at most SLICE_MS, yielding to the event loop between them (setImmediate), so live traffic
// keeps being recorded and relayed while a million frames are searched; each slice reports
// its new hits and the progress. One search at a time: a new one ends the one before.
import { performance } from 'node:perf_hooks';
import { SEARCH_HIT_LIMIT, type SearchHit, type SearchProgress } from '../../../shared/contract';
import { DecodeTracker } from '../../../shared/decoders/index';
import type { FrameRecord } from '../../../shared/model';
import { ENGINE_DECODERS } from '../decoders';
import type { SessionDecoding } from './session-decode';
import type { SessionStore } from './session-store';
import { Candidate, matchesQuery, parseSearch, type SearchQuery } from './search-query';

/** A slice of the scan runs at most about this long before the event loop gets a turn. */
export const SLICE_MS = 8;

interface Run {
  id: number;
  query: SearchQuery;
  plan: Array<{ connection: string; total: number }>;
  total: number;
  cancelled: boolean;
  // where the scan is
  index: number;
  seq: number;
  read: ((seq: number) => FrameRecord | undefined) | null;
  tracker: DecodeTracker | null;
  /** per direction: the data message in progress was compressed (its first frame had RSV1) */
  compressed: { client: boolean; server: boolean };
  scanned: number;
  found: number;
  kept: number;
  fresh: SearchHit[];
}

export class SessionSearch {
  private ids = 0;
  private current: Run | null = null;

  constructor(
    private readonly store: SessionStore,
    private readonly decoding: SessionDecoding,
    private readonly report: (p: SearchProgress) => void,
    private readonly sliceMs = SLICE_MS,
  ) {}

  /** Starts a search (throws a SearchQueryError for a bad query); ends the one before. */
  start(query: string, connection?: string): { search: number; total: number } {
    const q = parseSearch(query);
    this.cancel();
    const ids = connection !== undefined ? [connection] : this.store.summaries().map((s) => s.id);
    const plan = ids.map((id) => ({ connection: id, total: this.store.frameCount(id) }));
    const run: Run = {
      id: ++this.ids,
      query: q,
      plan,
      total: plan.reduce((n, p) => n + p.total, 0),
      cancelled: false,
      index: -1,
      seq: 0,
      read: null,
      tracker: null,
      compressed: { client: false, server: false },
      scanned: 0,
      found: 0,
      kept: 0,
      fresh: [],
    };
    this.current = run;
    this.next(run);
    setImmediate(() => this.slice(run));
    return { search: run.id, total: run.total };
  }

  cancel(id?: number): void {
    const run = this.current;
    if (!run || (id !== undefined && run.id !== id)) return;
    run.cancelled = true;
    this.current = null;
  }

  /** Moves to the next connection of the plan (false: none left). */
  private next(run: Run): boolean {
    run.index++;
    run.seq = 0;
    run.read = null;
    run.tracker = null;
    run.compressed = { client: false, server: false };
    const p = run.plan[run.index];
    if (!p) return false;
    run.read = this.store.scanner(p.connection);
    if (run.query.decodes) {
      // Decoded records are kept only for the newest messages: decode again, the way the
      // connection is decoded now, from its first event.
      run.tracker = new DecodeTracker(this.decoding.state(p.connection).choice, ENGINE_DECODERS);
      for (const e of this.store.headEvents(p.connection)) run.tracker.event(e);
    }
    return true;
  }

  private slice(run: Run): void {
    if (run.cancelled) return;
    const deadline = performance.now() + this.sliceMs;
    let error: string | undefined;
    let n = 0;
    try {
      while (run.index < run.plan.length) {
        const p = run.plan[run.index]!;
        if (run.seq >= p.total) {
          this.next(run);
          continue;
        }
        if ((++n & 127) === 0 && performance.now() >= deadline) break;
        const f = run.read!(run.seq);
        if (!f) {
          // the connection was cleared meanwhile: what is left of it counts as looked at
          run.scanned += p.total - run.seq;
          run.seq = p.total;
          continue;
        }
        this.test(run, p.connection, run.seq, f);
        run.seq++;
        run.scanned++;
      }
    } catch (err) {
      error = `the session journal could not be read: ${err instanceof Error ? err.message : String(err)}`;
    }
    const done = error !== undefined || run.index >= run.plan.length;
    const progress: SearchProgress = { search: run.id, hits: run.fresh, found: run.found, scanned: run.scanned, total: run.total, done };
    if (run.found > run.kept) progress.capped = true;
    if (error) progress.error = error;
    run.fresh = [];
    this.report(progress);
    if (done) {
      if (this.current === run) this.current = null;
      return;
    }
    setImmediate(() => this.slice(run));
  }

  private test(run: Run, connection: string, seq: number, f: FrameRecord): void {
    // What the frame carries of its message: the whole message on the frame that completes
    // it (inflated, reassembled), a lone frame's payload, nothing on the other parts.
    let compressed = false;
    if (f.opcode === 1 || f.opcode === 2) {
      compressed = f.rsv1;
      if (!f.fin) run.compressed[f.from] = f.rsv1;
    } else if (f.opcode === 0) compressed = run.compressed[f.from];
    const content = f.message ? f.message.data : f.opcode >= 8 || (f.fin && f.opcode !== 0 && !f.rsv1) ? f.payload : null;
    let decoded;
    if (run.tracker) {
      const d = run.tracker.event({ event: 'frame', connection, ...f });
      if (d && !Array.isArray(d)) decoded = d;
    }
    if (!matchesQuery(run.query, new Candidate(connection, f, content, compressed, decoded))) return;
    run.found++;
    if (run.kept < SEARCH_HIT_LIMIT) {
      run.kept++;
      run.fresh.push({ connection, seq });
    }
  }
}
