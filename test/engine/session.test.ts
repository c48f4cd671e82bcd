// The engine session behind the UI, in-process: commands validated, events batched, frames
// kept on disk and read back by seq, captures exported and imported through the exporters.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionSummary, FrameSummary, UiEvent } from '../../shared/contract';
import type { CaptureFile } from '../../shared/model';
import { EngineSession } from '../../main/engine/session/session';
import { tmpdir } from 'node:os';
import { startWsServer } from '../peers/ws-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const server = await startWsServer();
  cleanup.push(() => server.close());
  const session = new EngineSession({ version: 'test', batchMs: 5 });
  cleanup.push(() => session.dispose());
  const batches: UiEvent[][] = [];
  session.onEvents((b) => batches.push(b));
  const events = () => batches.flat();
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise((r) => setTimeout(r, 5));
  };
  const summary = (id: string) =>
    events()
      .filter((e): e is { type: 'connection'; connection: ConnectionSummary } => e.type === 'connection' && e.connection.id === id)
      .at(-1)?.connection;
  const rows = (id: string) => events().flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
  return { server, session, batches, events, until, summary, rows };
}

describe('EngineSession', () => {
  it('batches many frames into few event batches, in order', async () => {
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: t.server.url, deflate: false });
    await t.until(() => t.summary(connection)?.state === 'open');
    const before = t.batches.length;
    for (let i = 0; i < 500; i++) await t.session.dispatch('send', { connection, kind: 'text', text: `m${i}` });
    await t.until(() => t.rows(connection).some((r) => r.seq === 999));
    // Pushed rows come in seq order (a flood may leave holes below the newest, which the
    // UI fetches by seq); every row is there to fetch.
    const pushed = t.rows(connection).map((r) => r.seq);
    expect(pushed).toEqual([...pushed].sort((a, b) => a - b));
    const all = [
      ...(await t.session.dispatch('frames', { connection, from: 0, to: 500 })),
      ...(await t.session.dispatch('frames', { connection, from: 500, to: 1000 })),
    ];
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // 1000 frames, far fewer pushes: one per batch interval, not one per frame.
    expect(t.batches.length - before).toBeLessThan(200);
    const s = t.summary(connection)!;
    expect(s.frames).toEqual({ client: 500, server: 500 });
  });

  it('reads rows and payloads back from disk by seq', async () => {
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: t.server.url, deflate: false });
    await t.until(() => t.summary(connection)?.state === 'open');
    const big = Buffer.alloc(300_000, 0x61);
    await t.session.dispatch('send', { connection, kind: 'binary', data: big.toString('base64') });
    await t.until(() => t.rows(connection).length >= 2);
    const rows = await t.session.dispatch('frames', { connection, from: 0, to: 10 });
    expect(rows.map((r) => [r.from, r.opcode, r.length])).toEqual([['client', 2, 300_000], ['server', 2, 300_000]]);
    expect(rows[0]!.preview.length).toBeLessThanOrEqual(120);
    const p = await t.session.dispatch('framePayload', { connection, seq: 1 });
    expect(Buffer.from(p.payload, 'base64').equals(big)).toBe(true);
    await expect(t.session.dispatch('framePayload', { connection, seq: 99 })).rejects.toThrow(/no frame 99/);
  });

  it('through its reverse proxy: large binary messages both ways, every payload read back exact', async () => {
    // The proxy lends its frame events (frames point into reused read buffers, a large
    // masked one still masked): the store must take every payload during the event.
    const t = await setup();
    const { WebSocket } = await import('ws');
    const status = await t.session.dispatch('startProxy', { mode: 'reverse', listen: '127.0.0.1:0', target: t.server.url });
    const app = new WebSocket(status.address, { perMessageDeflate: false });
    cleanup.push(() => app.terminate());
    await new Promise((r, j) => (app.once('open', r), app.once('error', j)));
    const sizes = [300_000, 16 * 1024, 200_003, 70_000, 5];
    const sent = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, k) => (k * 31 + i * 7 + (k >> 8)) & 0xff)));
    let echoed = 0;
    app.on('message', () => echoed++);
    // All at once: reads carry the end of one frame and the start of the next.
    for (const b of sent) app.send(b);
    await t.until(() => echoed === sent.length);
    const connection = t.events().find((e): e is { type: 'connection'; connection: ConnectionSummary } => e.type === 'connection' && e.connection.mode === 'proxy')!.connection.id;
    await t.until(() => (t.summary(connection)?.frames.server ?? 0) === sent.length);
    const rows = await t.session.dispatch('frames', { connection, from: 0, to: 100 });
    expect(rows.filter((r) => r.from === 'client').map((r) => r.length)).toEqual(sizes);
    expect(rows.filter((r) => r.from === 'server').map((r) => r.length)).toEqual(sizes);
    const seen = { client: 0, server: 0 };
    for (const r of rows) {
      const p = await t.session.dispatch('framePayload', { connection, seq: r.seq });
      const want = sent[seen[r.from]++]!;
      expect(Buffer.from(p.payload, 'base64').equals(want), `${r.from} frame ${r.seq}`).toBe(true);
    }
    await t.session.dispatch('stopProxy', {});
  });

  it('validates every argument before running anything', async () => {
    const t = await setup();
    await expect(t.session.dispatch('connect', { url: 'http://x' })).rejects.toThrow(/ws:\/\/ or wss:\/\//);
    await expect(t.session.dispatch('connect', { url: t.server.url, evil: true })).rejects.toThrow(/connect\.evil is not expected/);
    await expect(t.session.dispatch('send', { connection: 'c1', kind: 'raw', frame: { fin: true } })).rejects.toThrow(/send\.frame\.rsv1/);
    await expect(t.session.dispatch('frames', { connection: 'c1', from: 0, to: 1e6 })).rejects.toThrow(/at most 10000/);
  });

  it('sends crafted frames and closes with a code', async () => {
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: t.server.url, deflate: false });
    await t.until(() => t.summary(connection)?.state === 'open');
    await t.session.dispatch('send', {
      connection,
      kind: 'raw',
      frame: { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, payload: Buffer.from('Hello').toString('base64'), maskKey: '37fa213d' },
    });
    await t.until(() => t.rows(connection).length >= 2);
    expect(t.rows(connection)[0]!.header).toBe('818537fa213d');
    await t.session.dispatch('disconnect', { connection, code: 4001, reason: 'bye' });
    await t.until(() => t.summary(connection)?.state === 'closed');
    expect(t.summary(connection)!.close).toMatchObject({ code: 4001, reason: 'bye', by: 'client', clean: true });
  });

  it('exports a capture and imports it back as new connections with the same frames', async () => {
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: t.server.url });
    await t.until(() => t.summary(connection)?.state === 'open');
    await t.session.dispatch('send', { connection, kind: 'text', text: 'keep me' });
    await t.until(() => t.rows(connection).length >= 2);
    await t.session.dispatch('disconnect', { connection });
    await t.until(() => t.summary(connection)?.state === 'closed');

    const blob = await t.session.dispatch('exportCapture', { format: 'json' });
    expect(blob.filename).toMatch(/\.wscap\.json$/);
    const cap = JSON.parse(Buffer.from(blob.data, 'base64').toString()) as CaptureFile;
    expect(cap.connections[0]!.frames.map((f) => f.opcode)).toEqual([1, 1, 8, 8]);

    const { connections } = await t.session.dispatch('importCapture', blob);
    expect(connections).toHaveLength(1);
    const imported = (await t.session.dispatch('snapshot', {})).connections.find((c) => c.id === connections[0]);
    expect(imported).toMatchObject({ imported: true, state: 'closed', url: t.server.url, frames: { client: 2, server: 2 } });
    const rows = await t.session.dispatch('frames', { connection: connections[0]!, from: 0, to: 10 });
    expect(rows.map((r) => r.preview).slice(0, 2)).toEqual(['keep me', 'keep me']);

    for (const format of ['har', 'pcapng', 'ndjson'] as const) {
      const b = await t.session.dispatch('exportCapture', { format, connections: [connection] });
      expect(Buffer.from(b.data, 'base64').length).toBeGreaterThan(100);
    }
    await expect(t.session.dispatch('importCapture', { filename: 'x.json', mime: 'application/json', data: Buffer.from('{"nope":1}').toString('base64') })).rejects.toThrow(
      /x\.json/,
    );
  });

  it('a flood: one batch carries the newest rows, bounded; the rest are fetched by seq', async () => {
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: t.server.url, deflate: false });
    await t.until(() => t.summary(connection)?.state === 'open');
    const before = t.batches.length;
    // 3000 sends in one turn of the event loop: their 3000 client frames land in one batch.
    for (let i = 0; i < 3000; i++) void t.session.dispatch('send', { connection, kind: 'text', text: `f${i}` });
    await t.until(() => t.summary(connection)!.frames.server >= 3000);
    await t.until(() => t.rows(connection).some((r) => r.seq === 5999));
    for (const b of t.batches.slice(before)) {
      for (const e of b) if (e.type === 'frames') expect(e.frames.length).toBeLessThanOrEqual(1000);
    }
    const rows = await t.session.dispatch('frames', { connection, from: 0, to: 6000 });
    expect(rows).toHaveLength(6000);
    expect(rows.filter((r) => r.from === 'client').map((r) => r.preview)).toEqual(Array.from({ length: 3000 }, (_, i) => `f${i}`));
  });

  it('an opened capture keeps its times: endedAt as the file says, not when it was opened', async () => {
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: t.server.url, deflate: false });
    await t.until(() => t.summary(connection)?.state === 'open');
    await t.session.dispatch('disconnect', { connection });
    await t.until(() => t.summary(connection)?.state === 'closed');
    const live = t.summary(connection)!;
    // A live connection's start and end are on one clock: its frames lie between them.
    const rows = await t.session.dispatch('frames', { connection, from: 0, to: 10 });
    expect(live.startedAt).toBeLessThanOrEqual(rows[0]!.time);
    expect(live.endedAt!).toBeGreaterThanOrEqual(rows.at(-1)!.time);

    // A capture from long ago whose connection lasted 0.19 s.
    const blob = await t.session.dispatch('exportCapture', { format: 'json', connections: [connection] });
    const cap = JSON.parse(Buffer.from(blob.data, 'base64').toString()) as CaptureFile;
    const c = cap.connections[0]!;
    const shift = 1_600_000_000_000 - c.startedAt;
    c.startedAt += shift;
    c.endedAt = c.startedAt + 190;
    for (const f of c.frames) f.time = c.startedAt + 50;
    if (c.handshake) {
      c.handshake.requestAt = c.startedAt + 1;
      c.handshake.responseAt = c.startedAt + 2;
    }
    const data = Buffer.from(JSON.stringify(cap)).toString('base64');
    const { connections } = await t.session.dispatch('importCapture', { filename: 'old.wscap.json', mime: 'application/json', data });
    const imported = (await t.session.dispatch('snapshot', {})).connections.find((x) => x.id === connections[0])!;
    expect(imported.startedAt).toBe(1_600_000_000_000);
    expect(imported.endedAt).toBe(1_600_000_000_190);
  });

  it('a capture that cannot be opened is named as the user picked it, never by a temp path', async () => {
    const t = await setup();
    const bad = (text: string) =>
      t.session.dispatch('importCapture', { filename: 'mine.json', mime: 'application/json', data: Buffer.from(text).toString('base64') });
    for (const text of ['{"nope":1}', '{"format":"framescope.capture","version":1,"createdAt":"x","connections":[{"id":1}]}', 'not json', '']) {
      const err = await bad(text).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/^mine\.json: /);
      expect(err?.message).not.toMatch(/framescope-import|\/tmp\//);
      expect(err?.message).not.toContain(tmpdir());
    }
  });

  it('a handshake refused after TCP connected keeps the peers it had', async () => {
    // ws answers an upgrade on another path with 400: TCP was up, the handshake failed.
    const server = await startWsServer({ path: '/only-here' });
    cleanup.push(() => server.close());
    const t = await setup();
    const { connection } = await t.session.dispatch('connect', { url: `${server.url}/elsewhere`, deflate: false });
    await t.until(() => t.summary(connection)?.state === 'failed');
    const s = t.summary(connection)!;
    expect(s.handshake?.response?.status).toBe(400);
    expect(s.server).toBe(`127.0.0.1:${server.port}`);
    expect(s.client).toMatch(/^127\.0\.0\.1:\d+$/);
    // It ended when it failed (no close event comes to end it).
    expect(s.endedAt).not.toBeNull();
    expect(s.endedAt!).toBeGreaterThanOrEqual(s.startedAt);
  });

  it('connects in the observer stance (tolerant): a violation is recorded and the connection stays open', async () => {
    const violating = await startWsServer({
      onConnection: (socket) => {
        // RSV1 without an agreed extension (a violation), written under ws, then a good frame.
        (socket as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0xc1, 0x01, 0x41]));
        socket.send('B');
      },
    });
    cleanup.push(() => violating.close());
    const t = await setup();
    await expect(t.session.dispatch('connect', { url: violating.url, tolerant: 'yes' })).rejects.toThrow(/connect\.tolerant must be true or false/);

    const { connection } = await t.session.dispatch('connect', { url: violating.url, deflate: false, tolerant: true });
    await t.until(() => t.rows(connection).length >= 2);
    expect(t.rows(connection)[0]!.violations?.map((v) => v.id)).toEqual(['rsv-without-extension']);
    expect(t.rows(connection)[1]!.preview).toBe('B');
    await t.session.dispatch('send', { connection, kind: 'text', text: 'still here' });
    await violating.waitForMessages(1);
    expect(violating.received[0]!.data.toString()).toBe('still here');
    expect(t.summary(connection)!.state).toBe('open');

    // The endpoint stance (the default) fails it at the violation.
    const { connection: strict } = await t.session.dispatch('connect', { url: violating.url, deflate: false });
    await t.until(() => t.summary(strict)?.state === 'closed');
    expect(t.summary(strict)!.close).toMatchObject({ code: 1002, by: 'client' });
  });
});
