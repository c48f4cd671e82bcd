// The timeline the UI draws: per-direction counts and bytes, message sizes, ping RTT and
// decoded latency over time, with violations and closes marked, bounded however long the
// session; and the frames a time window holds. Against real peers (ws, socket.io).
import { afterEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import type { WebSocket } from 'ws';
import type { FrameSummary, Timeline, UiEvent } from '../../shared/contract';
import { ContractError } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { MAX_BUCKETS, MAX_POINTS, SessionTimeline } from '../../main/engine/session/timeline';
import { startWsServer } from '../peers/ws-servers';
import { httpServer } from '../decoders/proxy-helpers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

const sum = (xs: ReadonlyArray<number | null>): number => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
const present = (xs: ReadonlyArray<number | null>): number[] => xs.filter((x): x is number => x !== null);

function session() {
  const s = new EngineSession({ version: 'test', batchMs: 5 });
  cleanup.push(() => s.dispose());
  const batches: UiEvent[][] = [];
  s.onEvents((b) => batches.push(b));
  const rows = (id: string) => batches.flat().flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
  return { s, rows };
}

/** The socket under a `ws` server socket, to write a frame ws would never write. */
const rawSocket = (ws: WebSocket) => (ws as unknown as { _socket: { write(b: Buffer): void } })._socket;

describe('timeline', () => {
  it('counts messages and bytes per direction, sizes, ping RTT, and marks a violation and the close', async () => {
    const server = await startWsServer({
      onConnection: (ws) => {
        ws.on('message', (data) => {
          if (String(data) !== 'go') return;
          for (let i = 0; i < 3; i++) ws.send('s'.repeat(100));
          // A text frame with RSV2 set and no extension: a violation the tolerant client records.
          rawSocket(ws).write(Buffer.from([0xa1, 0x02, 0x68, 0x69]));
        });
      },
    });
    cleanup.push(() => server.close());
    const { s, rows } = session();
    const { connection } = await s.dispatch('connect', { url: server.url, deflate: false, tolerant: true });
    // Five client messages of 10 bytes and a 'go', then the server's three of 100 and the bad frame.
    await until(() => s['store'].summary(connection)?.state === 'open');
    for (let i = 0; i < 5; i++) await s.dispatch('send', { connection, kind: 'text', text: '0123456789' });
    await s.dispatch('send', { connection, kind: 'text', text: 'go' });
    await until(() => rows(connection).filter((r) => r.from === 'server').length === 4);
    await s.dispatch('send', { connection, kind: 'ping', data: Buffer.from('rtt').toString('base64') });
    await until(() => rows(connection).some((r) => r.opcode === 10));
    await s.dispatch('disconnect', { connection, code: 1000, reason: 'bye' });
    await until(() => rows(connection).filter((r) => r.opcode === 8).length === 2);
    await until(() => s['store'].summary(connection)?.state === 'closed');

    const t: Timeline = await s.dispatch('timeline', { connection });
    const all = rows(connection);
    expect(t.connection).toBe(connection);
    expect(t.count).toBeGreaterThan(0);
    expect(t.count).toBeLessThanOrEqual(MAX_POINTS);
    for (const series of [t.client.frames, t.client.bytes, t.server.messages, t.rtt, t.latency]) expect(series).toHaveLength(t.count);
    expect(sum(t.client.messages)).toBe(6);
    expect(sum(t.server.messages)).toBe(4);
    expect(sum(t.client.frames)).toBe(all.filter((r) => r.from === 'client').length);
    expect(sum(t.server.frames)).toBe(all.filter((r) => r.from === 'server').length);
    expect(sum(t.client.bytes)).toBe(all.filter((r) => r.from === 'client').reduce((a, r) => a + r.length, 0));
    expect(sum(t.server.bytes)).toBe(all.filter((r) => r.from === 'server').reduce((a, r) => a + r.length, 0));
    expect(Math.max(...present(t.server.maxSize))).toBe(100);
    expect(Math.max(...present(t.client.maxSize))).toBe(10);
    // The pong's round trip is there, in the bucket of the pong.
    const pong = all.find((r) => r.opcode === 10)!;
    const rtts = present(t.rtt);
    expect(rtts).toHaveLength(1);
    expect(rtts[0]).toBeCloseTo(pong.rtt!, 3);
    expect(t.rtt[Math.floor((pong.time - t.from) / t.bucketMs)]).not.toBeNull();
    // Marks: the violation on its frame, both close frames, the end.
    const bad = all.find((r) => r.violations?.length)!;
    expect(t.marks).toContainEqual(expect.objectContaining({ kind: 'violation', seq: bad.seq, connection, time: bad.time }));
    expect(t.marks.filter((m) => m.kind === 'close')).toHaveLength(2);
    expect(t.marks.some((m) => m.kind === 'end')).toBe(true);
    expect(t.live).toBe(false);
    // The whole span holds every frame; a window holds exactly its frames.
    expect(t.seqs).toEqual({ first: 0, end: all.length });
    const a = all[3]!;
    const b = all[7]!;
    const w = await s.dispatch('timeline', { connection, from: a.time, to: b.time });
    const inside = all.filter((r) => r.time >= a.time && r.time <= b.time).map((r) => r.seq);
    expect(w.seqs).toEqual({ first: inside[0], end: inside.at(-1)! + 1 });
    expect(w.from).toBe(a.time);

    // The same connection exported and opened again: the same timeline, at its recorded times.
    const blob = await s.dispatch('exportCapture', { format: 'json', connections: [connection] });
    const [opened] = (await s.dispatch('importCapture', blob)).connections;
    const again = await s.dispatch('timeline', { connection: opened! });
    expect(again.live).toBe(false);
    expect(again.from).toBe(t.from);
    for (const k of ['messages', 'bytes', 'frames'] as const) {
      expect(again.client[k]).toEqual(t.client[k]);
      expect(again.server[k]).toEqual(t.server[k]);
    }
    expect(present(again.rtt)).toEqual(rtts);
    expect(again.marks.map((m) => [m.kind, m.seq, m.time])).toEqual(t.marks.map((m) => [m.kind, m.seq, m.time]));
    expect(again.seqs).toEqual(t.seqs);
  });

  it('sums every connection when none is named; refuses a bad request with one line', async () => {
    const server = await startWsServer();
    cleanup.push(() => server.close());
    const { s, rows } = session();
    const one = (await s.dispatch('connect', { url: server.url, deflate: false })).connection;
    const two = (await s.dispatch('connect', { url: server.url, deflate: false })).connection;
    for (const [c, n] of [
      [one, 2],
      [two, 3],
    ] as const) {
      await until(() => s['store'].summary(c)?.state === 'open');
      for (let i = 0; i < n; i++) await s.dispatch('send', { connection: c, kind: 'text', text: 'hello' });
      await until(() => rows(c).filter((r) => r.from === 'server').length === n);
    }
    const t = await s.dispatch('timeline', {});
    expect(t.connection).toBeNull();
    expect(sum(t.client.messages)).toBe(5);
    expect(sum(t.server.messages)).toBe(5);
    expect(sum(t.client.bytes)).toBe(25);
    expect(t.seqs).toBeUndefined();
    expect(t.live).toBe(true);
    expect(t.origin).toBe(Math.min(s['store'].summary(one)!.startedAt, s['store'].summary(two)!.startedAt));
    await expect(s.dispatch('timeline', { connection: 'nope' })).rejects.toThrow(/^no connection nope$/);
    await expect(s.dispatch('timeline', { points: 0 })).rejects.toThrow(ContractError);
    await expect(s.dispatch('timeline', { from: Number.NaN })).rejects.toThrow(/timeline.from must be a number/);
    await expect(s.dispatch('timeline', { from: 10, to: 5 })).rejects.toThrow(/ends before it starts/);
  });

  it('shows decoded request latency (socket.io acks)', async () => {
    const http = await httpServer();
    const io = new Server(http.server, { pingInterval: 60_000, pingTimeout: 60_000 });
    io.on('connection', (socket) => socket.on('hello', (_arg: unknown, ack: (v: unknown) => void) => setTimeout(() => ack({ ok: true }), 20)));
    cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
    const { s, rows } = session();
    const { connection } = await s.dispatch('connect', { url: `ws://127.0.0.1:${http.port}/socket.io/?EIO=4&transport=websocket`, deflate: false });
    await until(() => rows(connection).some((r) => r.preview.startsWith('0{')));
    await s.dispatch('send', { connection, kind: 'text', text: '40' });
    await until(() => rows(connection).some((r) => r.preview.startsWith('40{')));
    await s.dispatch('send', { connection, kind: 'text', text: '421["hello",{}]' });
    await until(() => rows(connection).some((r) => r.decoded?.type === 'ACK'));
    const ack = rows(connection).find((r) => r.decoded?.type === 'ACK')!;
    const t = await s.dispatch('timeline', { connection });
    expect(present(t.latency)).toEqual([expect.closeTo(ack.decoded!.latencyMs!, 3)]);
    expect(ack.decoded!.latencyMs!).toBeGreaterThanOrEqual(20);
    // Decoded as nothing, there is no latency; decoded again, it is back.
    await s.dispatch('setDecoder', { connection, protocol: 'none' });
    expect(present((await s.dispatch('timeline', { connection })).latency)).toEqual([]);
    await s.dispatch('setDecoder', { connection, protocol: 'auto' });
    expect(present((await s.dispatch('timeline', { connection })).latency)).toHaveLength(1);
  });

  it('stays bounded over a long session: buckets merge, sums are kept, answers have at most the points asked', () => {
    const tl = new SessionTimeline();
    const start = 1_700_000_000_000;
    const n = 1_000_000;
    // A million frames over ten hours, alternating directions, each 8 bytes.
    for (let i = 0; i < n; i++) {
      tl.event({
        event: 'frame',
        connection: 'c1',
        seq: i,
        time: start + (i * 36_000_000) / n,
        from: i % 2 ? 'server' : 'client',
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: 1,
        masked: i % 2 === 0,
        maskKey: null,
        length: 8,
        header: new Uint8Array(2),
        payload: new Uint8Array(0),
        ...(i === 123_456 ? { violations: [{ id: 'x', rfc: '6455', severity: 'error' as const, message: 'bad' }] } : {}),
      });
    }
    const series = (tl as unknown as { conns: Map<string, { n: number; data: Float64Array }> }).conns.get('c1')!;
    expect(series.n).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(series.data.length).toBeLessThanOrEqual(MAX_BUCKETS * 14);
    const t = tl.query(['c1']);
    expect(t.count).toBeLessThanOrEqual(MAX_POINTS);
    expect(sum(t.client.messages) + sum(t.server.messages)).toBe(n);
    expect(sum(t.client.bytes)).toBe(4 * n);
    expect(t.marks).toHaveLength(1);
    const few = tl.query(['c1'], { points: 100 });
    expect(few.count).toBeLessThanOrEqual(100);
    expect(sum(few.server.messages)).toBe(n / 2);
    // A window: only what falls in it.
    const hour = tl.query(['c1'], { from: start, to: start + 3_600_000 - 1 });
    expect(sum(hour.client.messages) + sum(hour.server.messages)).toBeGreaterThan(n / 10 - 2000);
    expect(sum(hour.client.messages) + sum(hour.server.messages)).toBeLessThan(n / 10 + 2000);
  });
});
