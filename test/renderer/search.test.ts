// The UI's side of the whole-history search: progress that arrives before the engine's
// answer is kept for it, the first hit is shown at once (its connection and frame selected,
// a reveal asked of the list), hits wrap both ways, and an older search's answer is ignored.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SearchProgress } from '../../shared/contract';
import { bindClient, resetActions } from '../../renderer/src/store/actions';
import { applyEvents } from '../../renderer/src/store/apply-events';
import { goToHit, resetSearch, runSearch } from '../../renderer/src/store/search-actions';
import { resetStore, useAppStore } from '../../renderer/src/store/store';
import { FakeEngine } from '../../renderer/src/dev/fake-engine';
import { summary } from './helpers';

beforeEach(() => {
  resetStore();
  resetActions();
  resetSearch();
});
afterEach(() => resetActions());

const state = () => useAppStore.getState();
const flush = () => new Promise((r) => setTimeout(r, 0));

function engineAnsweringLater() {
  const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
  const asked: Array<{ query: string; resolve: (r: { search: number; total: number }) => void }> = [];
  bindClient({
    ...fake.client('demo'),
    snapshot: async () => ({ connections: [], proxy: null, version: 't' }),
    search: (req) => new Promise((resolve) => asked.push({ query: req.query, resolve })),
  });
  return asked;
}

const progress = (search: number, p: Partial<SearchProgress>): { type: 'search' } & SearchProgress => ({
  type: 'search', search, hits: [], found: 0, scanned: 0, total: 10, done: false, ...p,
});

describe('whole-history search in the store', () => {
  it('keeps progress that comes before the answer, shows the first hit, and wraps', async () => {
    const asked = engineAnsweringLater();
    await flush();
    applyEvents([{ type: 'connection', connection: summary('a', 10) }, { type: 'connection', connection: summary('b', 10) }]);
    useAppStore.setState({ searchText: 'needle', searchAll: true });
    void runSearch();
    expect(state().search).toMatchObject({ id: null, query: 'needle', connection: null });
    // the engine's events overtake its answer
    applyEvents([progress(7, { hits: [{ connection: 'b', seq: 3 }], found: 1, scanned: 5 })]);
    expect(state().searchIndex).toBe(-1);
    asked[0]!.resolve({ search: 7, total: 20 });
    await flush();
    expect(state().search).toMatchObject({ id: 7, found: 1, hits: [{ connection: 'b', seq: 3 }] });
    expect(state()).toMatchObject({ selectedConnection: 'b', selectedSeq: 3, searchIndex: 0, follow: false, inspectorTab: 'frame' });
    expect(state().reveal).toMatchObject({ connection: 'b', seq: 3 });
    // another search's events are not this one's
    applyEvents([progress(6, { hits: [{ connection: 'a', seq: 1 }], found: 1 })]);
    applyEvents([progress(7, { hits: [{ connection: 'b', seq: 8 }], found: 2, scanned: 20, total: 20, done: true })]);
    expect(state().search).toMatchObject({ found: 2, done: true, hits: [{ connection: 'b', seq: 3 }, { connection: 'b', seq: 8 }] });
    goToHit(state().searchIndex + 1);
    expect(state().selectedSeq).toBe(8);
    goToHit(state().searchIndex + 1);
    expect(state().selectedSeq).toBe(3);
    goToHit(state().searchIndex - 1);
    expect(state().selectedSeq).toBe(8);
  });

  it('ignores an older search\'s answer, and says the engine\'s error', async () => {
    const asked = engineAnsweringLater();
    await flush();
    useAppStore.setState({ searchText: 'one' });
    void runSearch();
    useAppStore.setState({ searchText: 'two' });
    void runSearch();
    asked[1]!.resolve({ search: 2, total: 0 });
    asked[0]!.resolve({ search: 1, total: 0 });
    await flush();
    expect(state().search).toMatchObject({ id: 2, query: 'two' });

    const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
    bindClient({ ...fake.client('demo'), snapshot: async () => ({ connections: [], proxy: null, version: 't' }), search: async () => Promise.reject(new Error('column 3: op: takes a number')) });
    useAppStore.setState({ searchText: 'a op:x' });
    await runSearch();
    expect(state().search).toMatchObject({ done: true, error: 'column 3: op: takes a number' });
  });
});
