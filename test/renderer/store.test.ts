// @vitest-environment happy-dom
// The store: events applied in bulk, rows in an LRU of chunks, rows fetched on demand,
// filters over the rows in memory, pause, snapshot after a reconnect, remembered prefs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FrameSummary, UiEvent } from '../../shared/contract';
import { applyEvents, applySnapshot } from '../../renderer/src/store/apply-events';
import { bindClient, ensureRows, FIELD_REFRESH_MS, loadEarlier, MAX_INFLIGHT, refreshFieldMatch, resetActions, toggleTheme } from '../../renderer/src/store/actions';
import { CHUNK_SIZE, chunkKey, rowAt, residentRanges, touchChunks } from '../../renderer/src/store/frame-chunks';
import { compileFilter, fieldKey, filterRows, NO_FILTER, parseFilterText, type FrameFilter } from '../../renderer/src/store/filters';
import { DEFAULT_PREFS, loadPrefs, MAX_RECENT, PREFS_KEY, rememberTarget, savePrefs } from '../../renderer/src/store/prefs';
import { resetStore, useAppStore } from '../../renderer/src/store/store';
import type { UiClient } from '../../renderer/src/transport/types';
import { FakeEngine } from '../../renderer/src/dev/fake-engine';
import { row, rows, summary } from './helpers';

beforeEach(() => {
  resetStore();
  resetActions();
});
afterEach(() => resetActions());

const state = () => useAppStore.getState();

describe('applyEvents: pushes in bulk', () => {
  it('applies a whole batch with one store update', () => {
    let updates = 0;
    const off = useAppStore.subscribe(() => updates++);
    const batch: UiEvent[] = [
      { type: 'connection', connection: summary('a', 3000) },
      { type: 'frames', connection: 'a', frames: rows(0, 2000) },
      { type: 'frames', connection: 'a', frames: rows(2000, 3000) },
      { type: 'connection', connection: summary('b', 1) },
      { type: 'frames', connection: 'b', frames: [row(0)] },
    ];
    applyEvents(batch);
    off();
    expect(updates).toBe(1);
    expect(state().connectionOrder).toEqual(['a', 'b']);
    expect(state().rowCounts.get('a')).toBe(3000);
    expect(rowAt(state().chunks, 'a', 2999)?.seq).toBe(2999);
    expect(rowAt(state().chunks, 'b', 0)?.seq).toBe(0);
    // the first connection seen is selected
    expect(state().selectedConnection).toBe('a');
  });

  it('replaces Maps instead of mutating them', () => {
    applyEvents([{ type: 'connection', connection: summary('a', 1) }, { type: 'frames', connection: 'a', frames: [row(0)] }]);
    const before = state();
    const { connections, chunks, rowCounts } = before;
    const chunk = chunks.get(chunkKey('a', 0))!;
    applyEvents([{ type: 'connection', connection: summary('a', 2) }, { type: 'frames', connection: 'a', frames: [row(1)] }]);
    expect(state().connections).not.toBe(connections);
    expect(state().chunks).not.toBe(chunks);
    expect(state().rowCounts).not.toBe(rowCounts);
    // the old objects are as they were
    expect(rowCounts.get('a')).toBe(1);
    expect(chunk.rows[1]).toBeUndefined();
    expect(chunk.filled).toBe(1);
    expect(state().chunks.get(chunkKey('a', 0))!.filled).toBe(2);
  });

  it('takes the row count from the summary, and from the rows when they run ahead', () => {
    applyEvents([{ type: 'connection', connection: summary('a', 10) }]);
    expect(state().rowCounts.get('a')).toBe(10);
    applyEvents([{ type: 'frames', connection: 'a', frames: rows(0, 12) }]);
    expect(state().rowCounts.get('a')).toBe(12);
  });

  it('keeps the proxy status, error notices, and forgets closed connections on cleared', () => {
    applyEvents([
      { type: 'connection', connection: summary('live', 1) },
      { type: 'connection', connection: summary('done', 2, { state: 'closed', endedAt: 1 }) },
      { type: 'frames', connection: 'done', frames: rows(0, 2) },
      { type: 'proxy', status: { running: true, mode: 'reverse', address: 'ws://127.0.0.1:8081/', target: 'ws://x/', caPath: null } },
      { type: 'error', connection: 'live', kind: 'protocol', message: 'bad frame' },
    ]);
    expect(state().proxy?.address).toBe('ws://127.0.0.1:8081/');
    expect(state().notices.at(-1)?.text).toContain('bad frame');
    state().selectConnection('done');
    applyEvents([{ type: 'cleared' }]);
    expect([...state().connections.keys()]).toEqual(['live']);
    expect(state().connectionOrder).toEqual(['live']);
    expect(state().chunks.has(chunkKey('done', 0))).toBe(false);
    expect(state().selectedConnection).toBeNull();
  });
});

describe('frame chunks: an LRU with a cap', () => {
  it('never holds more than the cap, dropping the least recently used chunk', () => {
    resetStore({ chunkCap: 4 });
    applyEvents([{ type: 'connection', connection: summary('a', 0) }]);
    for (let c = 0; c < 6; c++) applyEvents([{ type: 'frames', connection: 'a', frames: rows(c * CHUNK_SIZE, (c + 1) * CHUNK_SIZE) }]);
    const keys = [...state().chunks.keys()];
    expect(keys).toEqual([2, 3, 4, 5].map((i) => chunkKey('a', i)));
    expect(rowAt(state().chunks, 'a', 0)).toBeUndefined();
    expect(rowAt(state().chunks, 'a', 6 * CHUNK_SIZE - 1)?.seq).toBe(6 * CHUNK_SIZE - 1);
    expect(state().rowCounts.get('a')).toBe(6 * CHUNK_SIZE);
  });

  it('a touched chunk in the older half moves to the young end; a young one stays put (no churn)', () => {
    resetStore({ chunkCap: 4 });
    for (let c = 0; c < 4; c++) applyEvents([{ type: 'frames', connection: 'a', frames: [row(c * CHUNK_SIZE)] }]);
    const chunks = state().chunks;
    expect(touchChunks(chunks, [chunkKey('a', 3)])).toBe(chunks);
    const moved = touchChunks(chunks, [chunkKey('a', 0)]);
    expect([...moved.keys()].at(-1)).toBe(chunkKey('a', 0));
    useAppStore.setState({ chunks: moved });
    applyEvents([{ type: 'frames', connection: 'a', frames: [row(4 * CHUNK_SIZE)] }]);
    // chunk 1 was the oldest now, not chunk 0
    expect(state().chunks.has(chunkKey('a', 0))).toBe(true);
    expect(state().chunks.has(chunkKey('a', 1))).toBe(false);
  });

  it('touching the same chunks again changes nothing, whatever the LRU size (no render loop)', () => {
    for (const size of [1, 2, 3, 5, 8]) {
      resetStore({ chunkCap: 16 });
      for (let c = 0; c < size; c++) applyEvents([{ type: 'frames', connection: 'a', frames: [row(c * CHUNK_SIZE)] }]);
      for (const keys of [[0], [0, 1], [size - 2, size - 1], [0, size - 1]]) {
        const k = keys.filter((x) => x >= 0 && x < size).map((x) => chunkKey('a', x));
        const once = touchChunks(state().chunks, k);
        expect(touchChunks(once, k)).toBe(once);
      }
    }
  });

  it('residentRanges says which seqs are in memory', () => {
    applyEvents([{ type: 'frames', connection: 'a', frames: [...rows(0, 10), ...rows(CHUNK_SIZE * 2, CHUNK_SIZE * 3)] }]);
    expect(residentRanges(state().chunks, 'a', Infinity)).toEqual([
      [0, 10],
      [CHUNK_SIZE * 2, CHUNK_SIZE * 3],
    ]);
    expect(residentRanges(state().chunks, 'a', CHUNK_SIZE * 2 + 5)).toEqual([
      [0, 10],
      [CHUNK_SIZE * 2, CHUNK_SIZE * 2 + 5],
    ]);
  });
});

/** A client whose frames() the test answers by hand. */
function manualClient() {
  const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
  const calls: Array<{ req: { connection: string; from: number; to: number }; resolve: (r: FrameSummary[]) => void }> = [];
  const client: UiClient = {
    ...fake.client('demo'),
    frames: (req) => new Promise((resolve) => calls.push({ req, resolve })),
    snapshot: async () => ({ connections: [], proxy: null, version: 't' }),
  };
  return { client, calls };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('the field filter on a live connection', () => {
  it('asks once while a question is out, once more after its answer, and a new query at once', async () => {
    const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
    const asked: Array<{ query: string; resolve: (r: { seqs: number[] }) => void }> = [];
    bindClient({ ...fake.client('demo'), snapshot: async () => ({ connections: [], proxy: null, version: 't' }), matchDecoded: (req) => new Promise((resolve) => asked.push({ query: req.query, resolve })) });
    await flush();
    // Rows keep coming: the toolbar asks again for each batch.
    for (let i = 0; i < 50; i++) refreshFieldMatch('a', 'n = 1');
    expect(asked.map((a) => a.query)).toEqual(['n = 1']);
    asked[0]!.resolve({ seqs: [3] });
    await flush();
    expect(state().filter.fieldSeqs).toEqual(new Set([3]));
    expect(asked).toHaveLength(1);
    await new Promise((r) => setTimeout(r, FIELD_REFRESH_MS + 20));
    expect(asked.map((a) => a.query)).toEqual(['n = 1', 'n = 1']);
    // A new query does not wait, and the older answer no longer lands.
    refreshFieldMatch('a', 'n = 2');
    expect(asked.map((a) => a.query)).toEqual(['n = 1', 'n = 1', 'n = 2']);
    asked[1]!.resolve({ seqs: [1] });
    asked[2]!.resolve({ seqs: [7] });
    await flush();
    expect(state().filter.fieldSeqs).toEqual(new Set([7]));
    // Nothing was asked again while idle.
    await new Promise((r) => setTimeout(r, FIELD_REFRESH_MS + 20));
    expect(asked).toHaveLength(3);
  });
});

describe('rows on demand: a million frames, a few in memory', () => {
  it('fetches the chunks in view that are not in memory, once', async () => {
    const { client, calls } = manualClient();
    bindClient(client);
    await flush();
    applyEvents([{ type: 'connection', connection: summary('big', 1_000_000, { state: 'closed', endedAt: 1 }) }]);
    expect(state().rowCounts.get('big')).toBe(1_000_000);
    ensureRows('big', 500_000, 500_040);
    ensureRows('big', 500_000, 500_040); // asked again before the answer: no second request
    expect(calls.map((c) => c.req)).toEqual([{ connection: 'big', from: 499_712, to: 500_736 }]);
    calls[0]!.resolve(rows(499_712, 500_736));
    await flush();
    expect(rowAt(state().chunks, 'big', 500_001)?.seq).toBe(500_001);
    ensureRows('big', 500_000, 500_040); // in memory now
    expect(calls).toHaveLength(1);
    // the store holds one chunk of the million
    expect(state().chunks.size).toBe(1);
  });

  it('does not fetch rows a live connection has yet to push, but fills holes below them', async () => {
    const { client, calls } = manualClient();
    bindClient(client);
    await flush();
    // After a reload: the snapshot counted 100 rows (all settled: fetchable).
    applySnapshot({ connections: [summary('live', 100)], proxy: null, version: 't' });
    // Then the summary runs ahead of the pushed rows (150 counted, none pushed yet).
    applyEvents([{ type: 'connection', connection: summary('live', 150) }]);
    ensureRows('live', 0, 150);
    expect(calls.map((c) => c.req)).toEqual([{ connection: 'live', from: 0, to: 100 }]);
    // Pushes arrive from 120 on: 100-119 were missed (a reconnect gap) and are now settled.
    applyEvents([{ type: 'frames', connection: 'live', frames: rows(120, 150) }]);
    calls[0]!.resolve(rows(0, 100));
    await flush();
    ensureRows('live', 0, 150);
    expect(calls.map((c) => c.req)[1]).toEqual({ connection: 'live', from: 0, to: 150 });
  });

  it('keeps at most MAX_INFLIGHT requests going and does not retry a failed chunk at once', async () => {
    const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
    let n = 0;
    const client: UiClient = {
      ...fake.client('demo'),
      frames: () => {
        n++;
        return Promise.reject(new Error('engine busy'));
      },
      snapshot: async () => ({ connections: [], proxy: null, version: 't' }),
    };
    bindClient(client);
    await flush();
    applyEvents([{ type: 'connection', connection: summary('big', 100_000, { state: 'closed', endedAt: 1 }) }]);
    ensureRows('big', 0, 20 * CHUNK_SIZE);
    expect(n).toBe(MAX_INFLIGHT);
    await flush();
    expect(state().notices.some((x) => x.text.includes('engine busy'))).toBe(true);
    ensureRows('big', 0, CHUNK_SIZE);
    expect(n).toBe(MAX_INFLIGHT);
  });
});

describe('filters over the rows in memory', () => {
  const f = (patch: Partial<FrameFilter>): FrameFilter => ({ ...NO_FILTER, ...patch });
  const data: FrameSummary[] = [
    row(0, { from: 'client', opcode: 1, preview: 'subscribe orders' }),
    row(1, { from: 'server', opcode: 1, preview: 'ORDER 17 filled' }),
    row(2, { from: 'client', opcode: 9, preview: 'ping-1' }),
    row(3, { from: 'server', opcode: 10, preview: 'ping-1', rtt: 1.5 }),
    row(4, { from: 'server', opcode: 2, preview: '00 01 ff', previewText: false }),
    row(5, { from: 'server', opcode: 3, preview: '', violations: [{ id: 'reserved-opcode', rfc: '6455 §5.2', severity: 'error', message: 'opcode 3' }] }),
    row(6, { from: 'client', opcode: 8, preview: 'bye', close: { code: 1000, reason: 'bye' } }),
    row(7, { from: 'server', opcode: 0, preview: 'tail' }),
  ];
  const match = (filter: FrameFilter) => filterRows(state().chunks, 'a', filter, Infinity).seqs;

  beforeEach(() => applyEvents([{ type: 'connection', connection: summary('a', data.length) }, { type: 'frames', connection: 'a', frames: data }]));

  it('by direction', () => {
    expect(match(f({ from: 'client' }))).toEqual([0, 2, 6]);
    expect(match(f({ from: 'server' }))).toEqual([1, 3, 4, 5, 7]);
  });
  it('by opcode group and name', () => {
    expect(match(f({ opcode: 'control' }))).toEqual([2, 3, 6]);
    expect(match(f({ opcode: 'data' }))).toEqual([0, 1, 4, 7]);
    expect(match(f({ opcode: 'pong' }))).toEqual([3]);
    expect(match(f({ opcode: 'continuation' }))).toEqual([7]);
    expect(match(f({ opcode: 'reserved' }))).toEqual([5]);
  });
  it('by text, case-insensitively, and by /regex/flags', () => {
    expect(match(f({ text: 'order' }))).toEqual([0, 1]);
    expect(match(f({ text: '/^ORDER \\d+/' }))).toEqual([1]);
    expect(match(f({ text: '/^order/i' }))).toEqual([1]);
    expect(match(f({ text: '1000' }))).toEqual([6]); // a close frame's code
    expect(match(f({ text: 'ff' }))).toEqual([4]); // hex previews too
  });
  it('violations only, combined with the rest', () => {
    expect(match(f({ violationsOnly: true }))).toEqual([5]);
    expect(match(f({ violationsOnly: true, from: 'client' }))).toEqual([]);
  });
  it('reports a bad regex instead of throwing', () => {
    expect(compileFilter(f({ text: '/(/' })).error).toMatch(/./);
    expect(filterRows(state().chunks, 'a', f({ text: '/(/' }), Infinity)).toMatchObject({ seqs: [], error: expect.any(String) });
  });
  it('stops at the pause point and counts what it looked at', () => {
    const v = filterRows(state().chunks, 'a', f({ from: 'server' }), 4);
    expect(v.seqs).toEqual([1, 3]);
    expect(v.scanned).toBe(4);
  });
  it('re-filters only the chunks that changed', () => {
    const filter = f({ text: 'message' });
    applyEvents([{ type: 'frames', connection: 'a', frames: rows(CHUNK_SIZE, CHUNK_SIZE + 3) }]);
    const first = filterRows(state().chunks, 'a', filter, Infinity);
    expect(first.seqs).toEqual([CHUNK_SIZE, CHUNK_SIZE + 1, CHUNK_SIZE + 2]);
    applyEvents([{ type: 'frames', connection: 'a', frames: rows(CHUNK_SIZE + 3, CHUNK_SIZE + 5) }]);
    expect(filterRows(state().chunks, 'a', filter, Infinity).seqs).toHaveLength(5);
  });
});

describe('pause: the list stops, the frames do not', () => {
  it('freezes the count the list shows while rows keep arriving', () => {
    applyEvents([{ type: 'connection', connection: summary('a', 10) }, { type: 'frames', connection: 'a', frames: rows(0, 10) }]);
    state().setPaused(true);
    expect(state().paused).toEqual({ connection: 'a', count: 10 });
    applyEvents([{ type: 'connection', connection: summary('a', 25) }, { type: 'frames', connection: 'a', frames: rows(10, 25) }]);
    expect(state().paused).toEqual({ connection: 'a', count: 10 });
    expect(state().rowCounts.get('a')).toBe(25);
    expect(rowAt(state().chunks, 'a', 24)).toBeDefined();
    state().setPaused(false);
    expect(state().paused).toBeNull();
  });
});

describe('snapshot after a reconnect', () => {
  it('replaces the connections, keeps rows in memory, drops what is gone', () => {
    applyEvents([
      { type: 'connection', connection: summary('a', 5) },
      { type: 'connection', connection: summary('gone', 1) },
      { type: 'frames', connection: 'a', frames: rows(0, 5) },
      { type: 'frames', connection: 'gone', frames: rows(0, 1) },
    ]);
    applySnapshot({ connections: [summary('a', 9), summary('new', 3)], proxy: null, version: '1.2.3' });
    expect(state().connectionOrder).toEqual(['a', 'new']);
    expect(rowAt(state().chunks, 'a', 4)).toBeDefined();
    expect(state().chunks.has(chunkKey('gone', 0))).toBe(false);
    expect(state().rowCounts.get('a')).toBe(9);
    expect(state().settledRows.get('a')).toBe(9);
    expect(state().engineVersion).toBe('1.2.3');
  });
});

describe('prefs in localStorage', () => {
  it('round-trips, and survives garbage', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const prefs = { ...DEFAULT_PREFS, theme: 'light' as const, recentTargets: ['ws://a/'] };
    savePrefs(storage, prefs);
    expect(loadPrefs(storage)).toEqual(prefs);
    store.set(PREFS_KEY, '{"theme":"neon","recentTargets":[1,"ws://b/"],"connectOptions":{"deflate":"yes"}}');
    expect(loadPrefs(storage)).toMatchObject({ theme: 'system', recentTargets: ['ws://b/'], connectOptions: { deflate: true } });
    store.set(PREFS_KEY, 'not json');
    expect(loadPrefs(storage)).toEqual(DEFAULT_PREFS);
  });
  it('remembers recent targets newest first, once each, at most MAX_RECENT', () => {
    let list: string[] = [];
    for (let i = 0; i < MAX_RECENT + 3; i++) list = rememberTarget(list, `ws://h/${i}`);
    list = rememberTarget(list, `ws://h/5`);
    expect(list[0]).toBe('ws://h/5');
    expect(list).toHaveLength(MAX_RECENT);
    expect(new Set(list).size).toBe(MAX_RECENT);
  });
});

describe('summaries keep the identity of what did not change', () => {
  it('so the handshake panel is not redrawn per frame', () => {
    const hs = { request: { method: 'GET', target: '/', version: 'HTTP/1.1', headers: [] }, response: null, requestAt: 1, responseAt: null, accept: { key: 'k', expected: 'e', received: null, valid: false }, protocol: null, extensions: [], checks: [] };
    applyEvents([{ type: 'connection', connection: summary('a', 1, { handshake: structuredClone(hs), errors: ['x'] }) }]);
    const first = state().connections.get('a')!;
    applyEvents([{ type: 'connection', connection: summary('a', 2, { handshake: structuredClone(hs), errors: ['x'] }) }]);
    const second = state().connections.get('a')!;
    expect(second).not.toBe(first);
    expect(second.frames.client + second.frames.server).toBe(2);
    expect(second.handshake).toBe(first.handshake);
    expect(second.errors).toBe(first.errors);
    applyEvents([{ type: 'connection', connection: summary('a', 2, { handshake: { ...structuredClone(hs), responseAt: 5 }, errors: ['x', 'y'] }) }]);
    expect(state().connections.get('a')!.handshake).not.toBe(first.handshake);
    expect(state().connections.get('a')!.errors).toEqual(['x', 'y']);
  });
});

describe('loadEarlier: a filter can search further back', () => {
  it('fetches the chunks before the earliest one in memory', async () => {
    const { client, calls } = manualClient();
    bindClient(client);
    await flush();
    applyEvents([
      { type: 'connection', connection: summary('x', 10 * CHUNK_SIZE, { state: 'closed', endedAt: 1 }) },
      { type: 'frames', connection: 'x', frames: rows(8 * CHUNK_SIZE, 10 * CHUNK_SIZE) },
    ]);
    expect(loadEarlier('x', 2)).toEqual([6 * CHUNK_SIZE, 8 * CHUNK_SIZE]);
    expect(calls.map((c) => [c.req.from, c.req.to])).toEqual([
      [6 * CHUNK_SIZE, 7 * CHUNK_SIZE],
      [7 * CHUNK_SIZE, 8 * CHUNK_SIZE],
    ]);
  });
});

describe('theme', () => {
  it('the menu’s toggle flips light and dark', () => {
    state().setPrefs({ theme: 'dark' });
    toggleTheme();
    expect(state().prefs.theme).toBe('light');
    toggleTheme();
    expect(state().prefs.theme).toBe('dark');
  });
});

describe('filters on decoded messages', () => {
  const f = (patch: Partial<FrameFilter>): FrameFilter => ({ ...NO_FILTER, ...patch });
  const dec = (seq: number, decoded?: FrameSummary['decoded']): FrameSummary =>
    ({ seq, time: 0, from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null, length: 1, header: '8101', preview: 'x', previewText: true, ...(decoded ? { decoded } : {}) }) as FrameSummary;
  const rows = [
    dec(0, { protocol: 'engine.io', type: 'ping', heartbeat: true, summary: 'ping' }),
    dec(1, { protocol: 'socket.io', type: 'EVENT', name: 'chat', summary: 'EVENT "chat"' }),
    dec(2, { protocol: 'socket.io', type: 'EVENT', name: 'news', summary: 'EVENT "news"' }),
    dec(3, { protocol: 'socket.io', type: 'ACK', id: '1', pairedWith: 1, latencyMs: 2, summary: 'ACK 1' }),
    dec(4),
  ];
  const match = (filter: FrameFilter) => rows.filter((r) => compileFilter(filter, 'c1').test!(r)).map((r) => r.seq);
  it('hides heartbeats, and finds by type:, name:, proto: and id:', () => {
    expect(match(f({ hideHeartbeats: true }))).toEqual([1, 2, 3, 4]);
    expect(match(f({ text: 'type:EVENT name:chat' }))).toEqual([1]);
    expect(match(f({ text: 'proto:engine.io' }))).toEqual([0]);
    expect(match(f({ text: 'id:1' }))).toEqual([3]);
    expect(parseFilterText('type:"EVENT" hello')).toEqual({ terms: [{ key: 'type', value: 'event' }], field: null, rest: 'hello' });
  });
  it('a field test uses the engine answer for that very test and connection only', () => {
    const answered = f({ text: '[1].user.id = 42', fieldSeqs: new Set([2]), fieldFor: fieldKey('c1', '[1].user.id = 42'), fieldVersion: 1 });
    expect(match(answered)).toEqual([2]);
    // The text changed, the answer is the old test's: nothing matches until the new one comes.
    expect(match({ ...answered, text: '[1].user.id = 7' })).toEqual([]);
    expect(rows.filter((r) => compileFilter(answered, 'c2').test!(r))).toEqual([]);
    expect(compileFilter(f({ text: 'a.b = ' }), 'c1').error).toMatch(/nothing to compare/);
  });
});
