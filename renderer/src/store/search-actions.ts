// The whole-history search: the engine scans every recorded frame and pushes its hits as
// `search` events; the UI keeps them (bounded by the engine's SEARCH_HIT_LIMIT), shows the
// count and the progress, and goes from hit to hit, scrolling the list to rows that are
// nowhere near what it holds in memory (they are fetched as the list draws them).
import type { SearchProgress } from '../../../shared/contract';
import { engine } from './actions';
import { useAppStore, type SearchRun } from './store';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Which runSearch is the latest (an older one's answer is ignored). */
let ask = 0;
/** Progress of searches the engine has reported before answering which id is ours. */
let early: SearchProgress[] = [];
let revealN = 0;

/** Runs the search box's query (over the selected connection, or all). */
export async function runSearch(): Promise<void> {
  const s = useAppStore.getState();
  const query = s.searchText.trim();
  const mine = ++ask;
  const previous = s.search?.id;
  if (!query) {
    useAppStore.setState({ search: null, searchIndex: -1 });
    if (previous != null) void engine().cancelSearch({ search: previous }).catch(() => {});
    return;
  }
  const connection = s.searchAll ? null : s.selectedConnection;
  const run: SearchRun = { id: null, query, connection, hits: [], found: 0, scanned: 0, total: 0, done: false, capped: false, error: null };
  early = [];
  useAppStore.setState({ search: run, searchIndex: -1 });
  try {
    const { search, total } = await engine().search({ query, ...(connection !== null ? { connection } : {}) });
    if (mine !== ask) return;
    const now = useAppStore.getState().search;
    if (!now) return;
    const pending = early.filter((p) => p.search === search);
    early = [];
    useAppStore.setState({ search: { ...now, id: search, total } });
    if (pending.length) applySearchProgress(pending);
  } catch (err) {
    if (mine !== ask) return;
    const now = useAppStore.getState().search;
    if (now) useAppStore.setState({ search: { ...now, done: true, error: message(err) } });
  }
}

/** Stops the search under way and forgets its hits. */
export function clearSearch(): void {
  const id = useAppStore.getState().search?.id;
  ask++;
  early = [];
  useAppStore.setState({ search: null, searchIndex: -1 });
  if (id != null) void engine().cancelSearch({ search: id }).catch(() => {});
}

/** Pushed progress into the search shown (a batch's worth, in order). */
export function applySearchProgress(list: readonly SearchProgress[]): void {
  const s = useAppStore.getState();
  let run = s.search;
  if (!run) return;
  if (run.id === null) {
    // the engine's answer is still on its way: keep these for it (a bounded few)
    early.push(...list);
    if (early.length > 1000) early = early.slice(-1000);
    return;
  }
  let hits: SearchRun['hits'] | null = null;
  for (const p of list) {
    if (p.search !== run.id) continue;
    if (p.hits.length) hits = (hits ?? [...run.hits]).concat(p.hits);
    run = { ...run, found: p.found, scanned: p.scanned, total: p.total, done: p.done, capped: p.capped === true, error: p.error ?? null };
  }
  if (run === s.search) return;
  if (hits) run = { ...run, hits };
  useAppStore.setState({ search: run });
  // The first hit is shown as soon as it is found.
  if (s.searchIndex < 0 && run.hits.length > 0) goToHit(0);
}

/** Shows hit `index` (wrapping): selects its connection and frame, scrolls the list to it. */
export function goToHit(index: number): void {
  const s = useAppStore.getState();
  const hits = s.search?.hits ?? [];
  if (hits.length === 0) return;
  const i = ((index % hits.length) + hits.length) % hits.length;
  const hit = hits[i]!;
  if (!s.connections.has(hit.connection)) {
    s.notify('info', `Hit ${i + 1} is on ${hit.connection}, which has been cleared`);
    useAppStore.setState({ searchIndex: i });
    return;
  }
  if (s.selectedConnection !== hit.connection) s.selectConnection(hit.connection);
  const now = useAppStore.getState();
  // a paused list that stops before the hit is let go: the hit must be in the list
  if (now.paused && now.paused.connection === hit.connection && hit.seq >= now.paused.count) now.setPaused(false);
  useAppStore.setState({ selectedSeq: hit.seq, inspectorTab: 'frame', follow: false, searchIndex: i, reveal: { connection: hit.connection, seq: hit.seq, n: ++revealN } });
}

/** For tests: forget what is in flight. */
export function resetSearch(): void {
  ask++;
  early = [];
}
