// Socket.IO (v4 server and client: Engine.IO v4, Socket.IO protocol v5; and v2: Engine.IO v3,
// protocol v4) talking through `framescope proxy --json`: every message decoded, acks paired
// with their events, binary attachments joined to their placeholders, a request the
// connection ended without answering flagged on its close.
import { afterEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import { Manager } from 'socket.io-client';
import { closes, decodedFrames, httpServer, one, startProxy, stopProxy } from './proxy-helpers';
import type { CliProcess } from '../peers/cli';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function b64(bytes: number[]): string {
  return Buffer.from(bytes).toString('base64');
}

/** Resolves once the proxy has printed a decoded message matching `re` (a line of its NDJSON). */
function printed(proc: CliProcess, re: RegExp): Promise<string> {
  return proc.waitForLine((l) => re.test(l));
}

describe('Socket.IO v4 through the proxy', () => {
  it('decodes Engine.IO and Socket.IO packets, pairs acks, joins attachments, flags the unanswered', async () => {
    const http = await httpServer();
    cleanup.push(() => http.close());
    const io = new Server(http.server, { pingInterval: 150, pingTimeout: 10000 });
    cleanup.push(() => io.close());
    const chat = io.of('/chat');
    chat.on('connection', (socket) => {
      socket.on('hello', (msg: string, ack: (x: unknown) => void) => ack({ ok: true, got: msg }));
      socket.on('upload', (buf: Buffer, meta: unknown, ack: (x: unknown) => void) => ack(buf.length));
      socket.on('noreply', () => {});
      socket.on('ready', () => {
        socket.emit('welcome', Buffer.from([9, 8, 7]), 'hi');
        socket.emit('ask', 41, () => {});
      });
    });
    io.of('/private').use((_socket, next) => next(new Error('not allowed')));

    const { proc, port } = await startProxy(`ws://127.0.0.1:${http.port}`);
    cleanup.push(() => proc.stop('SIGKILL'));
    const manager = new Manager(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    const socket = manager.socket('/chat');
    cleanup.push(() => socket.disconnect());
    socket.on('ask', (n: number, cb: (x: number) => void) => cb(n + 1));
    const welcome = new Promise<unknown[]>((resolve) => socket.on('welcome', (...args: unknown[]) => resolve(args)));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.emit('ready');
    expect(await welcome).toEqual([Buffer.from([9, 8, 7]), 'hi']);
    expect(await socket.emitWithAck('hello', 'there')).toEqual({ ok: true, got: 'there' });
    expect(await socket.emitWithAck('upload', Buffer.from([1, 2, 3]), { name: 'x' })).toBe(3);
    socket.emit('noreply', 1, () => {});
    const denied = manager.socket('/private');
    await new Promise<void>((resolve) => denied.on('connect_error', () => resolve()));
    // The server's heartbeat and the client's answer, decoded as they pass.
    await printed(proc, /"decoded":\{"protocol":"engine.io","type":"pong"/);
    socket.disconnect();
    await closes(proc);
    const events = await stopProxy(proc);
    const d = decodedFrames(events);

    const open = one(d, (x) => x.type === 'open');
    expect(open.from).toBe('server');
    expect(open.d).toMatchObject({ protocol: 'engine.io', value: { sid: expect.any(String) } });
    expect(open.d.summary).toMatch(/^open sid /);
    expect(one(d, (x, f) => x.type === 'CONNECT' && f.from === 'client' && x.name === '/chat').d.summary).toBe('CONNECT /chat');
    expect(one(d, (x, f) => x.type === 'CONNECT' && f.from === 'server' && x.name === '/chat').d.value).toMatchObject({ sid: expect.any(String) });

    // EVENT with an ack id, and the ACK that answers it.
    const hello = one(d, (x) => x.type === 'EVENT' && x.name === 'hello');
    expect(hello.from).toBe('client');
    expect(hello.d).toMatchObject({ protocol: 'socket.io', id: expect.stringMatching(/^\d+$/), value: ['hello', 'there'] });
    expect(hello.d.summary).toBe(`EVENT /chat "hello" ack ${hello.d.id}`);
    const helloAck = one(d, (x, f) => x.type === 'ACK' && f.from === 'server' && x.pairedWith === hello.seq);
    expect(helloAck.d).toMatchObject({ id: hello.d.id, value: [{ ok: true, got: 'there' }] });
    expect(helloAck.d.latencyMs).toBeGreaterThanOrEqual(0);

    // The server's BINARY_EVENT, then its attachment as a raw binary frame: joined.
    const welcomeHead = one(d, (x) => x.type === 'BINARY_EVENT' && x.name === 'welcome');
    expect(welcomeHead.d.summary).toBe('BINARY_EVENT /chat "welcome" (1 attachment follows)');
    const welcomeAtt = one(d, (x) => x.type === 'attachment' && x.name === 'welcome');
    expect(welcomeAtt.opcode).toBe(2);
    expect(welcomeAtt.d.summary).toBe(`attachment 1/1 of #${welcomeHead.seq}, 3 B: BINARY_EVENT complete`);
    expect(welcomeAtt.d.value).toEqual(['welcome', { $binary: b64([9, 8, 7]), length: 3, seq: welcomeAtt.seq }, 'hi']);

    // The client's BINARY_EVENT with an ack: the ACK pairs with the event's first frame.
    const upload = one(d, (x) => x.type === 'BINARY_EVENT' && x.name === 'upload');
    expect(upload.d.id).toMatch(/^\d+$/);
    const uploadAtt = one(d, (x) => x.type === 'attachment' && x.name === 'upload');
    expect(uploadAtt.d.value).toEqual(['upload', { $binary: b64([1, 2, 3]), length: 3, seq: uploadAtt.seq }, { name: 'x' }]);
    expect(one(d, (x) => x.type === 'ACK' && x.pairedWith === upload.seq).d.value).toEqual([3]);

    // The server asks, the client answers: acks pair both ways.
    const ask = one(d, (x) => x.type === 'EVENT' && x.name === 'ask');
    expect(ask.from).toBe('server');
    expect(one(d, (x, f) => x.type === 'ACK' && f.from === 'client' && x.pairedWith === ask.seq).d.value).toEqual([42]);

    // Heartbeats: the server pings (Engine.IO v4), the client's pong answers it.
    const ping = d.find((f) => f.d.type === 'ping')!;
    expect(ping.from).toBe('server');
    expect(ping.d).toMatchObject({ protocol: 'engine.io', heartbeat: true });
    expect(d.find((f) => f.d.type === 'pong')!.d).toMatchObject({ heartbeat: true, pairedWith: ping.seq });

    expect(one(d, (x) => x.type === 'CONNECT_ERROR').d).toMatchObject({ name: '/private', value: { message: 'not allowed' } });
    expect(one(d, (x) => x.type === 'DISCONNECT').d.summary).toBe('DISCONNECT /chat');
    expect(d.filter((f) => f.d.type === 'invalid')).toEqual([]);

    // The event nobody acknowledged is named on the connection's close.
    const noreply = one(d, (x) => x.name === 'noreply');
    const close = events.find((e) => e.event === 'close')!;
    expect(close.unanswered).toEqual([{ seq: noreply.seq, protocol: 'socket.io', type: 'EVENT', name: 'noreply', id: noreply.d.id }]);
  });
});

describe('Socket.IO v2 (Engine.IO v3) through the proxy', () => {
  it('binary attachments come 0x04-prefixed and are joined; the client pings; ERROR is protocol 4', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const ioServer = require('socket.io-v2') as (srv: unknown, opts: object) => { of(n: string): any; close(): void };
    const ioClient = require('socket.io-client-v2') as (url: string, opts: object) => any;
    const http = await httpServer();
    cleanup.push(() => http.close());
    const io = ioServer(http.server, { pingInterval: 150, pingTimeout: 10000 });
    cleanup.push(() => io.close());
    io.of('/chat').on('connection', (socket: any) => {
      socket.on('upload', (buf: Buffer, ack: (...x: unknown[]) => void) => ack(buf.length, 'ok'));
      socket.emit('welcome', Buffer.from([5, 6]));
    });
    io.of('/private').use((_socket: unknown, next: (e: Error) => void) => next(new Error('not allowed')));

    const { proc, port } = await startProxy(`ws://127.0.0.1:${http.port}`);
    cleanup.push(() => proc.stop('SIGKILL'));
    const socket = ioClient(`http://127.0.0.1:${port}/chat`, { transports: ['websocket'], reconnection: false, forceNew: true });
    cleanup.push(() => socket.close());
    const welcome = new Promise<Buffer>((resolve) => socket.on('welcome', resolve));
    expect([...(await welcome)]).toEqual([5, 6]);
    const answer = await new Promise<unknown[]>((resolve) => socket.emit('upload', Buffer.from([1, 2, 3, 4]), (...a: unknown[]) => resolve(a)));
    expect(answer).toEqual([4, 'ok']);
    const denied = ioClient(`http://127.0.0.1:${port}/private`, { transports: ['websocket'], reconnection: false, forceNew: true });
    cleanup.push(() => denied.close());
    await new Promise<void>((resolve) => denied.on('error', () => resolve()));
    await printed(proc, /"decoded":\{"protocol":"engine.io","type":"pong"/);
    socket.close();
    denied.close();
    await closes(proc, 2);
    const events = await stopProxy(proc);
    const chat = events.find((e) => e.event === 'open' && /\/socket\.io\/\?.*EIO=3/.test((e as unknown as { url: string }).url) && events.some((x) => x.connection === e.connection && x.message?.decoded?.name === 'welcome'))!;
    const d = decodedFrames(events, chat.connection);

    const welcomeAtt = one(d, (x) => x.type === 'attachment' && x.name === 'welcome');
    const raw = Buffer.from(welcomeAtt.payload, 'base64');
    expect([...raw]).toEqual([4, 5, 6]); // Engine.IO v3's message type byte, then the data
    expect(welcomeAtt.d.value).toEqual(['welcome', { $binary: b64([5, 6]), length: 2, seq: welcomeAtt.seq }]);
    const upload = one(d, (x) => x.type === 'BINARY_EVENT' && x.name === 'upload');
    expect(one(d, (x) => x.type === 'ACK' && x.pairedWith === upload.seq).d.value).toEqual([4, 'ok']);
    // Engine.IO v3: the client pings, the server's pong answers.
    const ping = d.find((f) => f.d.type === 'ping')!;
    expect(ping.from).toBe('client');
    expect(d.find((f) => f.d.type === 'pong')!.d).toMatchObject({ heartbeat: true, pairedWith: ping.seq });
    expect(d.filter((f) => f.d.type === 'invalid')).toEqual([]);
    expect(events.find((e) => e.event === 'close' && e.connection === chat.connection)!.unanswered).toBeUndefined();

    const other = events.find((e) => e.event === 'open' && e.connection !== chat.connection)!;
    expect(one(decodedFrames(events, other.connection), (x) => x.type === 'ERROR').d).toMatchObject({ protocol: 'socket.io', name: '/private', value: 'not allowed' });
  });
});
