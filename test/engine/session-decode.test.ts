// The UI session decodes what it records: rows carry the small decoded record, the frame
// detail the whole one, pairs are linked both ways, and a per-connection decoder choice
// decodes the connection again from its recorded bytes. Against a real socket.io server.
import { afterEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import { Aedes } from 'aedes';
import { generate } from 'mqtt-packet';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { ConnectionSummary, FrameSummary, UiEvent } from '../../shared/contract';
import { ContractError } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { httpServer } from '../decoders/proxy-helpers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

async function socketIoSession() {
  const http = await httpServer();
  const io = new Server(http.server, { pingInterval: 60_000, pingTimeout: 60_000 });
  io.on('connection', (socket) => {
    socket.on('hello', (arg: unknown, ack: (v: unknown) => void) => ack({ ok: true, echo: arg }));
    socket.on('later', () => socket.emit('news', { payload: { user: { id: 42 } } }));
  });
  cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
  const session = new EngineSession({ version: 'test', batchMs: 5 });
  cleanup.push(() => session.dispose());
  const batches: UiEvent[][] = [];
  session.onEvents((b) => batches.push(b));
  const events = () => batches.flat();
  const rows = (id: string) => events().flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
  const summary = (id: string) =>
    events()
      .filter((e): e is { type: 'connection'; connection: ConnectionSummary } => e.type === 'connection' && e.connection.id === id)
      .at(-1)?.connection;
  const { connection } = await session.dispatch('connect', { url: `ws://127.0.0.1:${http.port}/socket.io/?EIO=4&transport=websocket`, deflate: false });
  const text = (t: string) => session.dispatch('send', { connection, kind: 'text', text: t });
  // Engine.IO open, then the Socket.IO CONNECT and its answer.
  await until(() => rows(connection).some((r) => r.preview.startsWith('0{')));
  await text('40');
  await until(() => rows(connection).some((r) => r.preview.startsWith('40{')));
  await text('421["hello",{"n":1}]');
  await until(() => rows(connection).some((r) => r.preview.startsWith('431')));
  await text('42["later"]');
  await until(() => rows(connection).some((r) => r.preview.startsWith('42["news"')));
  return { session, connection, rows, summary, events, text };
}

describe('EngineSession decoding', () => {
  it('puts the small decoded record on rows and the whole one in the detail, pairs linked both ways', async () => {
    const t = await socketIoSession();
    const rows = t.rows(t.connection);
    const hello = rows.find((r) => r.decoded?.type === 'EVENT' && r.decoded.name === 'hello')!;
    const ack = rows.find((r) => r.decoded?.type === 'ACK')!;
    expect(hello.decoded).toMatchObject({ protocol: 'socket.io', id: '1' });
    expect(hello.decoded).not.toHaveProperty('value');
    expect(ack.decoded).toMatchObject({ protocol: 'socket.io', id: '1', pairedWith: hello.seq });
    expect(ack.decoded!.latencyMs).toBeGreaterThanOrEqual(0);
    // Rows fetched again from the journal are decoded the same.
    const fetched = await t.session.dispatch('frames', { connection: t.connection, from: 0, to: rows.length });
    expect(fetched.find((r) => r.seq === ack.seq)!.decoded).toEqual(ack.decoded);
    const detail = await t.session.dispatch('framePayload', { connection: t.connection, seq: hello.seq });
    expect(detail.decoded).toMatchObject({ type: 'EVENT', name: 'hello', value: ['hello', { n: 1 }] });
    expect(detail.answeredBy).toBe(ack.seq);
    expect(t.summary(t.connection)!.decoding).toEqual({ choice: 'auto', protocol: 'socket.io' });
    // The field test finds the server's event by a field of its value.
    const news = rows.find((r) => r.decoded?.name === 'news')!;
    expect(await t.session.dispatch('matchDecoded', { connection: t.connection, query: '[1].payload.user.id = 42' })).toEqual({ seqs: [news.seq] });
    await expect(t.session.dispatch('matchDecoded', { connection: t.connection, query: 'no operator' })).rejects.toThrow(/PATH OP VALUE/);
    const pairs = await t.session.dispatch('pairs', { connection: t.connection });
    expect(pairs.pairs).toContainEqual(expect.objectContaining({ request: hello.seq, answer: ack.seq, type: 'EVENT', name: 'hello', id: '1' }));
  });

  it('decodes a connection again with the decoder chosen for it, and back', async () => {
    const t = await socketIoSession();
    const n = t.rows(t.connection).length;
    const news = t.rows(t.connection).find((r) => r.decoded?.name === 'news')!;
    expect(await t.session.dispatch('setDecoder', { connection: t.connection, protocol: 'none' })).toEqual({ choice: 'none', protocol: null });
    t.session.flush();
    expect(t.events()).toContainEqual({ type: 'decoded', connection: t.connection, decoding: { choice: 'none', protocol: null } });
    const plain = await t.session.dispatch('frames', { connection: t.connection, from: 0, to: n });
    expect(plain.filter((r) => r.decoded)).toEqual([]);
    expect((await t.session.dispatch('framePayload', { connection: t.connection, seq: news.seq })).decoded).toBeUndefined();
    // As Engine.IO only: the Socket.IO packet stays the message's text.
    await t.session.dispatch('setDecoder', { connection: t.connection, protocol: 'engine.io' });
    const eio = await t.session.dispatch('frames', { connection: t.connection, from: 0, to: n });
    expect(eio.find((r) => r.seq === news.seq)!.decoded).toMatchObject({ protocol: 'engine.io', type: 'message' });
    await t.session.dispatch('setDecoder', { connection: t.connection, protocol: 'auto' });
    const again = await t.session.dispatch('frames', { connection: t.connection, from: 0, to: n });
    expect(again.find((r) => r.seq === news.seq)!.decoded).toEqual(news.decoded);
    // Frames that come after the change are decoded the new way too.
    await t.session.dispatch('setDecoder', { connection: t.connection, protocol: 'none' });
    await t.text('42["later"]');
    await until(() => t.rows(t.connection).filter((r) => r.preview.startsWith('42["news"')).length === 2);
    expect(t.rows(t.connection).filter((r) => r.seq >= n).every((r) => r.decoded === undefined)).toBe(true);
  });

  it('lists a live connection\'s requests still waiting in the pairs view, and as unanswered once it ends', async () => {
    const t = await socketIoSession();
    // No handler answers `nobody`: ack id 7 waits.
    await t.text('427["nobody",1]');
    await until(() => t.rows(t.connection).some((r) => r.decoded?.name === 'nobody'));
    const nobody = t.rows(t.connection).find((r) => r.decoded?.name === 'nobody')!;
    const live = await t.session.dispatch('pairs', { connection: t.connection });
    expect(live.ended).toBe(false);
    expect(live.pairs).toContainEqual({ request: nobody.seq, answer: null, latencyMs: null, type: 'EVENT', name: 'nobody', id: '7' });
    expect(live.pairs.find((p) => p.name === 'hello')!.answer).not.toBeNull();
    await t.session.dispatch('send', { connection: t.connection, kind: 'close', code: 1000 });
    await until(() => t.summary(t.connection)?.state === 'closed');
    const ended = await t.session.dispatch('pairs', { connection: t.connection });
    expect(ended.ended).toBe(true);
    expect(ended.pairs.filter((p) => p.answer === null).map((p) => p.request)).toEqual([nobody.seq]);
  });

  it('decodes MQTT too (its parser runs in the engine): aedes answers a CONNECT and a SUBSCRIBE', async () => {
    const aedes = await Aedes.createBroker();
    cleanup.push(() => new Promise((r) => aedes.close(() => r(undefined))));
    const http = await httpServer();
    const wss = new WebSocketServer({ server: http.server });
    wss.on('connection', (ws, req) => aedes.handle(createWebSocketStream(ws) as never, req as never));
    cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    const batches: UiEvent[][] = [];
    session.onEvents((b) => batches.push(b));
    const rows = () => batches.flat().flatMap((e) => (e.type === 'frames' ? e.frames : [])) as FrameSummary[];
    const { connection } = await session.dispatch('connect', { url: `ws://127.0.0.1:${http.port}/`, protocols: ['mqtt'], deflate: false });
    const state = () => batches.flat().flatMap((e) => (e.type === 'connection' && e.connection.id === connection ? [e.connection.state] : [])).at(-1);
    await until(() => state() === 'open');
    const send = (packet: object) => session.dispatch('send', { connection, kind: 'binary', data: generate(packet as never).toString('base64') });
    await send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'ui', keepalive: 0 });
    await until(() => rows().some((r) => r.decoded?.type === 'CONNACK'));
    await send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'news/#', qos: 1 }] });
    await until(() => rows().some((r) => r.decoded?.type === 'SUBACK'));
    const sub = rows().find((r) => r.decoded?.type === 'SUBSCRIBE')!;
    expect(sub.decoded).toMatchObject({ protocol: 'mqtt', id: '5' });
    expect(rows().find((r) => r.decoded?.type === 'SUBACK')!.decoded).toMatchObject({ protocol: 'mqtt', pairedWith: sub.seq });
  });

  it('refuses a decoder it does not know, and an unknown connection, in one line', async () => {
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    await expect(session.dispatch('setDecoder', { connection: 'c1', protocol: 'soap' })).rejects.toThrow(ContractError);
    await expect(session.dispatch('setDecoder', { connection: 'c1', protocol: 'soap' })).rejects.toThrow(/setDecoder\.protocol must be one of socket\.io/);
    await expect(session.dispatch('setDecoder', { connection: 'c9', protocol: 'auto' })).rejects.toThrow('no connection c9');
  });
});
