// The whole-history search (the `search` command and its `search` events): every frame read
// back from the session's journal, messages searched inflated and reassembled, frame fields
// and decoded terms, combined; one search at a time; and it scans in slices, so live traffic
// is recorded while it runs. Against real `ws` and socket.io peers.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server } from 'socket.io';
import type { CaptureFileJson, Violation } from '../../shared/model';
import type { ConnectionSummary, SearchHit, SearchProgress, UiEvent } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { httpServer } from '../decoders/proxy-helpers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

function sessionWithEvents(options: { searchSliceMs?: number } = {}) {
  const session = new EngineSession({ version: 'test', batchMs: 5, ...options });
  cleanup.push(() => session.dispose());
  const events: UiEvent[] = [];
  session.onEvents((b) => events.push(...b));
  const summary = (id: string) =>
    events.filter((e): e is { type: 'connection'; connection: ConnectionSummary } => e.type === 'connection' && e.connection.id === id).at(-1)?.connection;
  const progress = (id: number) => events.filter((e): e is { type: 'search' } & SearchProgress => e.type === 'search' && e.search === id);
  /** runs a search to its end; its hits, in order */
  const search = async (query: string, connection?: string): Promise<{ hits: SearchHit[]; found: number; total: number }> => {
    const { search: id, total } = await session.dispatch('search', { query, ...(connection ? { connection } : {}) });
    await until(() => progress(id).some((p) => p.done));
    const all = progress(id);
    expect(all.filter((p) => p.done)).toHaveLength(1);
    expect(all.at(-1)!.scanned).toBe(total);
    return { hits: all.flatMap((p) => p.hits), found: all.at(-1)!.found, total };
  };
  return { session, events, summary, progress, search };
}

/** A `ws` server with permessage-deflate on every message; `script` runs on each connection. */
async function wsServer(script: (socket: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', script);
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  const port = (wss.address() as { port: number }).port;
  return `ws://127.0.0.1:${port}/`;
}

const TICKS = 3000;

describe('whole-history search', () => {
  it('finds text, /regex/, hex and frame fields on every frame, compressed and fragmented messages by their inflated text', async () => {
    const url = await wsServer((socket) => {
      socket.on('message', (data) => {
        if (String(data) !== 'go') return;
        for (let n = 0; n < TICKS; n++) socket.send(`{"n":${n},"kind":"tick"}`);
        socket.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2]));
        // one message in two compressed fragments: only its inflated whole says "needle-inflated"
        socket.send('needle-', { fin: false });
        socket.send('inflated-part', { fin: true });
      });
    });
    const t = sessionWithEvents();
    const { connection } = await t.session.dispatch('connect', { url });
    await until(() => t.summary(connection)?.state === 'open');
    await t.session.dispatch('send', { connection, kind: 'text', text: 'go' });
    await t.session.dispatch('send', { connection, kind: 'text', text: 'Hello From Client' });
    const frames = TICKS + 1 + 2 + 2;
    await until(() => (t.summary(connection)?.frames.server ?? 0) + (t.summary(connection)?.frames.client ?? 0) >= frames);

    const seqs = async (q: string) => (await t.search(q)).hits.map((h) => h.seq);
    // the server's ticks are compressed (RSV1): found by their inflated text
    const one = await t.search('"n":1234,');
    expect(one.total).toBe(frames);
    expect(one.found).toBe(1);
    const [hit] = one.hits;
    const payload = await t.session.dispatch('framePayload', { connection, seq: hit!.seq });
    expect(Buffer.from(payload.message!, 'base64').toString()).toBe('{"n":1234,"kind":"tick"}');
    expect(await t.search('/"n":12\\d\\d,/')).toMatchObject({ found: 100 });
    // the fragmented message: found once, on the frame that completes it
    const needle = await seqs('needle-inflated');
    expect(needle).toHaveLength(1);
    const rows = await t.session.dispatch('frames', { connection, from: needle[0]! - 1, to: needle[0]! + 1 });
    expect(rows.map((r) => [r.opcode, r.fin, r.rsv1])).toEqual([
      [1, false, true],
      [0, true, false],
    ]);
    expect(await seqs('is:fragment')).toEqual([needle[0]! - 1, needle[0]!]);
    expect(await seqs('is:compressed needle')).toEqual(needle);
    expect(await seqs('op:text needle')).toEqual(needle);
    // bytes and opcodes
    const binary = await seqs('hex:deadbeef');
    expect(binary).toHaveLength(1);
    expect(await seqs('hex:^dead op:binary')).toEqual(binary);
    expect(await seqs('op:2')).toEqual(binary);
    expect(await seqs('hex:"be ef 01"')).toEqual(binary);
    // direction, case-insensitive words, a "phrase", negation
    expect(await seqs('hello')).toHaveLength(1);
    expect(await seqs('from:client "hello from"')).toHaveLength(1);
    expect(await seqs('from:server hello')).toEqual([]);
    expect((await t.search('from:client')).found).toBe(2);
    expect((await t.search('tick -/"n":\\d,/')).found).toBe(TICKS - 10);
    expect((await t.search('TICK len>23')).found).toBe(TICKS - 1000);
    const seven = await seqs('json:$.n=7');
    expect(seven).toHaveLength(1);
    expect(Buffer.from((await t.session.dispatch('framePayload', { connection, seq: seven[0]! })).message!, 'base64').toString()).toBe('{"n":7,"kind":"tick"}');
    // a mistake names its column
    await expect(t.session.dispatch('search', { query: 'tick op:bogus' })).rejects.toThrow(/^column 9: op: takes/);
    await expect(t.session.dispatch('search', { query: 'a /(b+)+/' })).rejects.toThrow(/^column \d+: regex repeats a group/);
    await expect(t.session.dispatch('search', { query: 'len>' })).rejects.toThrow(/^column 4:/);
    await expect(t.session.dispatch('search', { query: 'bogus:x' })).rejects.toThrow(/^column 1: unknown term "bogus:"/);
    await expect(t.session.dispatch('search', { query: '   ' })).rejects.toThrow(/^column 1:/);
    await expect(t.session.dispatch('search', { query: 'x', connection: 'nope' })).rejects.toThrow(/no connection nope/);
  });

  it('finds decoded messages by type, name and field, decoded again from the journal', async () => {
    const http = await httpServer();
    const io = new Server(http.server, { pingInterval: 60_000, pingTimeout: 60_000 });
    io.on('connection', (socket) => {
      socket.on('later', () => socket.emit('news', { payload: { user: { id: 42 } } }));
    });
    cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
    const t = sessionWithEvents();
    const { connection } = await t.session.dispatch('connect', { url: `ws://127.0.0.1:${http.port}/socket.io/?EIO=4&transport=websocket`, deflate: false });
    const count = () => (t.summary(connection)?.frames.server ?? 0) + (t.summary(connection)?.frames.client ?? 0);
    await until(() => count() >= 1);
    await t.session.dispatch('send', { connection, kind: 'text', text: '40' });
    await until(() => count() >= 3);
    await t.session.dispatch('send', { connection, kind: 'text', text: '42["later"]' });
    await until(() => count() >= 5);
    const news = (await t.search('type:EVENT name:news')).hits;
    expect(news).toHaveLength(1);
    expect((await t.search('proto:socket.io type:event')).found).toBe(2);
    expect((await t.search('[1].payload.user.id = 42')).hits).toEqual(news);
    expect((await t.search('[1].payload.user.id=41')).hits).toEqual([]);
    expect((await t.search('is:decoded -type:event')).found).toBe(count() - 2);
  });

  it('finds frames with a protocol violation, and searches every connection or one', async () => {
    const frame = (seq: number, text: string, extra: { rsv2?: boolean; violations?: Violation[] } = {}) => ({
      seq, time: seq, from: 'server' as const, fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null,
      length: text.length, header: `${extra.rsv2 ? 'a1' : '81'}${text.length.toString(16).padStart(2, '0')}`, payload: Buffer.from(text).toString('base64'), ...extra,
    });
    const conn = (id: string, frames: ReturnType<typeof frame>[]) => ({
      id, mode: 'proxy' as const, url: `ws://127.0.0.1:9/${id}`, client: null, server: null, tls: null, startedAt: 0, endedAt: 10, handshake: null, frames, close: null, errors: [],
    });
    const capture: CaptureFileJson = {
      format: 'framescope.capture',
      version: 1,
      createdAt: '2020-09-13T12:26:40.000Z',
      connections: [
        conn('a', [frame(0, 'alpha'), frame(1, 'shared', { rsv2: true, violations: [{ id: 'rsv', rfc: '6455 §5.2', severity: 'error', message: 'RSV2 set' }] })]),
        conn('b', [frame(0, 'shared'), frame(1, 'beta')]),
      ],
    };
    const t = sessionWithEvents();
    const { connections } = await t.session.dispatch('importCapture', { filename: 'v.wscap.json', mime: 'application/json', data: Buffer.from(JSON.stringify(capture)).toString('base64') });
    const [a, b] = connections;
    expect((await t.search('is:violation')).hits).toEqual([{ connection: a, seq: 1 }]);
    expect((await t.search('is:rsv2')).hits).toEqual([{ connection: a, seq: 1 }]);
    expect((await t.search('shared')).hits).toEqual([
      { connection: a, seq: 1 },
      { connection: b, seq: 0 },
    ]);
    expect((await t.search('shared', b)).hits).toEqual([{ connection: b, seq: 0 }]);
    expect((await t.search('shared -is:violation')).hits).toEqual([{ connection: b, seq: 0 }]);
  });

  it('a new search ends the one before; a cancelled one says no more; live frames are recorded while it scans', async () => {
    const total = 20_000;
    let server: WebSocket | null = null;
    const url = await wsServer((socket) => {
      server = socket;
      socket.on('message', (data) => {
        if (String(data) === 'go') for (let n = 0; n < total; n++) socket.send(`m${n}`, { compress: false });
      });
    });
    // tiny slices: the scan yields to the event loop every 128 frames
    const t = sessionWithEvents({ searchSliceMs: 0 });
    const { connection } = await t.session.dispatch('connect', { url });
    await until(() => t.summary(connection)?.state === 'open');
    await t.session.dispatch('send', { connection, kind: 'text', text: 'go' });
    await until(() => (t.summary(connection)?.frames.server ?? 0) >= total);

    // A is replaced by B before its first slice: A reports nothing, B runs to its end
    const a = await t.session.dispatch('search', { query: 'm1' });
    const b = await t.search('m19999');
    expect(b.found).toBe(1);
    expect(t.progress(a.search)).toEqual([]);

    // a live message arrives while a search is under way, and is pushed before it ends
    const { search: c } = await t.session.dispatch('search', { query: '/^m\\d+$/' });
    await until(() => t.progress(c).length > 0);
    expect(t.progress(c).some((p) => p.done)).toBe(false);
    server!.send('live-during-search');
    const isLive = (e: UiEvent) => e.type === 'frames' && e.frames.some((f) => f.preview === 'live-during-search');
    await until(() => t.events.some(isLive));
    const liveAt = t.events.findIndex(isLive);
    const doneAt = t.events.findIndex((e) => e.type === 'search' && e.search === c && e.done);
    expect(doneAt === -1 || doneAt > liveAt).toBe(true);
    await until(() => t.progress(c).some((p) => p.done));
    // it searched the frames there were when it began
    expect(t.progress(c).at(-1)).toMatchObject({ found: total, scanned: total + 1, total: total + 1 });

    // cancelled: nothing more after the cancel
    const { search: d } = await t.session.dispatch('search', { query: 'm' });
    await until(() => t.progress(d).length > 0);
    await t.session.dispatch('cancelSearch', { search: d });
    const seen = t.progress(d).length;
    const after = await t.search('m5');
    expect(after.found).toBe(1111);
    expect(t.progress(d).length).toBe(seen);
    expect(t.progress(d).some((p) => p.done)).toBe(false);
  });
});
