// The reverse proxy between a `ws` client and a `ws` server: byte-transparent, every frame
// decoded and recorded, failures told clearly without touching other connections.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { ProxyServer } from '../../main/engine/proxy/server';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import * as bad from '../peers/bad-servers';
import { testPki } from '../peers/pki';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function server(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

async function proxy(target: string, extra: Partial<Parameters<typeof ProxyServer.start>[0]> = {}) {
  const events: EngineEvent[] = [];
  const logs: string[] = [];
  const p = await ProxyServer.start({ host: '127.0.0.1', port: 0, target, sink: (e) => events.push(e), log: (l) => logs.push(l), ...extra });
  cleanup.push(() => p.stop());
  return { proxy: p, url: `ws://127.0.0.1:${p.address.port}`, events, logs };
}

/** A ws client whose masks are deterministic and whose socket's incoming bytes are tapped. */
function client(url: string, options: ClientOptions = {}) {
  const received: Buffer[] = [];
  let n = 0;
  const ws = new WebSocket(url, {
    generateMask: (mask: Buffer) => mask.set([n++ & 0xff, 0x5a, 0xa5, 0x3c]),
    createConnection: ((opts: net.NetConnectOpts) => {
      const s = net.connect(opts);
      s.on('data', (d: Buffer) => received.push(d));
      return s;
    }) as unknown as ClientOptions['createConnection'],
    ...options,
  });
  cleanup.push(() => ws.terminate());
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const messages: Array<{ data: Buffer; isBinary: boolean }> = [];
  ws.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const waitFor = async (count: number) => {
    while (messages.length < count) await new Promise((r) => setTimeout(r, 5));
  };
  return { ws, opened, received, messages, closed, waitFor };
}

/** The bytes after the HTTP head. */
function afterHead(chunks: Buffer[]): Buffer {
  const all = Buffer.concat(chunks);
  const end = all.indexOf('\r\n\r\n');
  return all.subarray(end + 4);
}

/** Taps the bytes the server receives on each connection (after the upgrade). */
function tapServer(s: WsTestServer): Buffer[][] {
  const taps: Buffer[][] = [];
  s.server.on('connection', (_ws, req) => {
    const chunks: Buffer[] = [];
    taps.push(chunks);
    req.socket.on('data', (d: Buffer) => chunks.push(d));
  });
  return taps;
}

async function scenario(url: string) {
  const c = client(url);
  await c.opened;
  c.ws.send('hello');
  c.ws.send(Buffer.from([0, 1, 2, 255]));
  c.ws.send(Buffer.alloc(70_000, 7));
  c.ws.send('x'.repeat(300), { fin: false });
  c.ws.send('y'.repeat(300), { fin: true });
  c.ws.ping('p1');
  await c.waitFor(4);
  c.ws.close(4002, 'bye');
  await c.closed;
  return c;
}

describe('reverse proxy: byte-transparent', () => {
  for (const deflate of [false, true, { serverNoContextTakeover: true, clientNoContextTakeover: true }] as const) {
    it(`both sides receive exactly the bytes of a direct connection (deflate: ${JSON.stringify(deflate)})`, async () => {
      const s = await server({ perMessageDeflate: deflate });
      const taps = tapServer(s);
      const direct = await scenario(s.url);
      const { url, events } = await proxy(s.url);
      const proxied = await scenario(url);
      await s.waitForClose(1);

      // The client's and the server's view of the conversation do not change.
      expect(afterHead(proxied.received).equals(afterHead(direct.received))).toBe(true);
      expect(Buffer.concat(taps[1]!).equals(Buffer.concat(taps[0]!))).toBe(true);
      expect(proxied.messages.map((m) => m.data.length)).toEqual([5, 4, 70_000, 600]);

      // And the capture holds every frame, in order, decoded.
      const frames = events.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame');
      const client2server = frames.filter((f) => f.from === 'client');
      expect(client2server.map((f) => f.opcode)).toEqual([1, 2, 2, 1, 0, 9, 8]);
      expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
      const fragmented = client2server[4]!;
      expect(Buffer.from(fragmented.message!.data).toString()).toBe('x'.repeat(300) + 'y'.repeat(300));
      if (deflate) expect(frames.some((f) => f.rsv1 && f.message)).toBe(true);
      const pong = frames.find((f) => f.opcode === 10)!;
      expect(pong.rtt).toBeGreaterThanOrEqual(0);
      expect(events.at(-1)).toMatchObject({ event: 'close', code: 4002, reason: 'bye', by: 'client', clean: true });
      const hs = events.find((e) => e.event === 'handshake') as Extract<EngineEvent, { event: 'handshake' }>;
      expect(hs.accept.valid).toBe(true);
      expect(hs.request.headers.find(([n]) => n.toLowerCase() === 'host')![1]).toBe(url.slice('ws://'.length));
    });
  }

  it('rewrites Host to the upstream and carries path and query over', async () => {
    const s = await server();
    const { url, events } = await proxy(`${s.url}/socket`);
    const c = client(`${url}/room/7?token=abc`);
    await c.opened;
    c.ws.close();
    await c.closed;
    expect(s.handshakes[0]!.url).toBe('/room/7?token=abc');
    expect(s.handshakes[0]!.headers.host).toBe(`127.0.0.1:${s.port}`);
    const root = client(`${url}/`);
    await root.opened;
    expect(s.handshakes[1]!.url).toBe('/socket');
    expect(events.find((e) => e.event === 'open')).toMatchObject({ url: `${s.url}/room/7?token=abc`, mode: 'proxy' });
  });

  it('relays 5 MB messages both ways', async () => {
    const s = await server();
    const { url, events } = await proxy(s.url);
    const c = client(url);
    await c.opened;
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    c.ws.send(big);
    await c.waitFor(1);
    expect(c.messages[0]!.data.equals(big)).toBe(true);
    const frames = events.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame');
    expect(frames.map((f) => [f.from, f.length])).toEqual([['client', big.length], ['server', big.length]]);
    expect(Buffer.from(frames[1]!.payload).equals(big)).toBe(true);
  });

  it('wss:// upstream, verified against a CA (and refused when untrusted)', async () => {
    const pki = await testPki();
    const s = await server({ tls: pki.selfSigned });
    const refused = await proxy(s.url);
    const r = await rawUpgrade(refused.url);
    expect(r).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(r).toMatch(/TLS failed with 127\.0\.0\.1:\d+: .*self[- ]signed/i);
    expect(refused.events.find((e) => e.event === 'error')).toMatchObject({ kind: 'tls' });

    const insecure = await proxy(s.url, { insecure: true });
    const c = client(insecure.url);
    await c.opened;
    c.ws.send('over tls');
    await c.waitFor(1);
    expect(c.messages[0]!.data.toString()).toBe('over tls');
    expect(insecure.events.find((e) => e.event === 'open')).toMatchObject({ tls: { authorized: false } });
  });
});

/** Sends a WebSocket upgrade by hand and returns what comes back until the server closes. */
function rawUpgrade(url: string, head?: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    s.write(
      head ??
        `GET / HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

describe('reverse proxy: failures are recorded and answered, and touch nothing else', () => {
  it('upstream refused: 502 with the reason', async () => {
    const r = await bad.refused();
    const { url, events } = await proxy(r.url);
    const answer = await rawUpgrade(url);
    expect(answer).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(answer).toMatch(/connection refused \(127\.0\.0\.1:\d+\)/);
    expect(events.map((e) => e.event)).toEqual(['open', 'handshake', 'error', 'close']);
    expect(events[2]).toMatchObject({ kind: 'network' });
  });

  it('an upstream that never answers: 502 after the deadline', async () => {
    const s = await bad.silent();
    cleanup.push(() => s.close());
    const { url, events } = await proxy(s.url, { timeoutMs: 300 });
    const answer = await rawUpgrade(url);
    expect(answer).toMatch(/502 Bad Gateway[\s\S]*no complete response head within 300 ms/);
    expect(events.find((e) => e.event === 'error')).toMatchObject({ kind: 'timeout' });
  });

  it('an upstream that answers 404: relayed as it is, recorded as a failed handshake', async () => {
    const s = await server({ path: '/only-here' });
    const { url, events } = await proxy(`${s.url}/elsewhere`);
    const answer = await rawUpgrade(url);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const hs = events.find((e) => e.event === 'handshake') as Extract<EngineEvent, { event: 'handshake' }>;
    expect(hs.response!.status).toBe(400);
    expect(hs.checks.find((c) => c.id === 'status-101')!.ok).toBe(false);
  });

  it('a client that sends garbage gets 400; one that trickles gets 408; a huge head 431', async () => {
    const s = await server();
    const { url, events, logs } = await proxy(s.url, { timeoutMs: 400 });
    expect(await rawUpgrade(url, '\x16\x03\x01\x02\x00garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(await rawUpgrade(url, 'GET / HTTP/1.1\r\nHost: x\r\n')).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(await rawUpgrade(url, `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(logs).toHaveLength(3);
    expect(events).toEqual([]); // not WebSocket connections: not recorded
  });

  it('the server drops mid-frame: the partial frame and the error are recorded; another connection is untouched', async () => {
    const s = await bad.dropMidFrame();
    cleanup.push(() => s.close());
    const good = await server();
    const drop = await proxy(s.url);
    const fine = await proxy(good.url);
    const healthy = client(fine.url);
    await healthy.opened;
    const c = client(drop.url);
    await c.opened.catch(() => {});
    const closed = await c.closed;
    expect(closed.code).toBe(1006);
    const frames = drop.events.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame');
    expect(frames[0]).toMatchObject({ from: 'server', length: 100, truncated: true, stored: 10 });
    expect(frames[0]!.violations!.map((v) => v.id)).toContain('truncated-frame');
    expect(drop.events.filter((e) => e.event === 'error').map((e) => (e as { message: string }).message).join('\n')).toMatch(
      /server (closed the connection|connection was reset) mid-frame/,
    );
    healthy.ws.send('still fine');
    await healthy.waitFor(1);
    expect(healthy.messages[0]!.data.toString()).toBe('still fine');
  });

  it('the client closes mid-frame', async () => {
    const s = await server();
    const { url, events } = await proxy(s.url);
    const sock = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await new Promise((r) => sock.once('data', r));
    sock.end(Buffer.from([0x82, 0x85, 1, 2, 3, 4, 9])); // 1 of 5 payload bytes, then FIN
    await new Promise((r) => sock.once('close', r));
    await s.waitForClose(0);
    while (!events.some((e) => e.event === 'close')) await new Promise((r) => setTimeout(r, 5));
    const f = events.find((e) => e.event === 'frame') as Extract<EngineEvent, { event: 'frame' }>;
    expect(f).toMatchObject({ from: 'client', truncated: true, length: 5 });
    expect(events.some((e) => e.event === 'error' && /client closed the connection mid-frame/.test(e.message))).toBe(true);
  });
});

describe('reverse proxy: load', () => {
  it('200 concurrent connections × 100 messages: all delivered, all recorded, nothing crossed', async () => {
    const s = await server();
    const { url, events } = await proxy(s.url);
    const N = 200;
    const M = 100;
    const clients = Array.from({ length: N }, () => client(url, { perMessageDeflate: false }));
    await Promise.all(clients.map((c) => c.opened));
    clients.forEach((c, i) => {
      for (let j = 0; j < M; j++) c.ws.send(`c${i}-m${j}`);
    });
    await Promise.all(clients.map((c) => c.waitFor(M)));
    clients.forEach((c, i) => expect(c.messages.map((m) => m.data.toString())).toEqual(Array.from({ length: M }, (_, j) => `c${i}-m${j}`)));
    await Promise.all(clients.map(async (c) => (c.ws.close(), await c.closed)));
    while (events.filter((e) => e.event === 'close').length < N) await new Promise((r) => setTimeout(r, 10));

    const byConn = new Map<string, FrameRecord[]>();
    for (const e of events) if (e.event === 'frame') byConn.set(e.connection, [...(byConn.get(e.connection) ?? []), e]);
    expect(byConn.size).toBe(N);
    for (const frames of byConn.values()) {
      const sent = frames.filter((f) => f.from === 'client' && f.opcode === 1).map((f) => Buffer.from(f.payload).toString());
      const prefix = sent[0]!.split('-')[0];
      expect(sent).toEqual(Array.from({ length: M }, (_, j) => `${prefix}-m${j}`));
      const echoed = frames.filter((f) => f.from === 'server' && f.opcode === 1).map((f) => Buffer.from(f.payload).toString());
      expect(echoed).toEqual(sent);
    }
  }, 60_000);
});
