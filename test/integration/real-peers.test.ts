// No false positives on real peers: sessions against implementations we did not write — the
// `ws` package, python-websockets and Autobahn as servers; our client, `ws` and Chromium as
// clients, the last two through `framescope proxy` — with text, binary, fragmentation,
// ping/pong, permessage-deflate and every valid close code class, closed by either side.
// Every frame recorded must carry no violation and no connection an error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';
import { WebSocketClient } from '../../main/engine/client/client';
import type { CaptureFile, ConnectionRecord, EngineEvent, FrameRecord } from '../../shared/model';
import { spawnCli } from '../peers/cli';
import { havePython, startPythonServer } from '../peers/python-servers';
import { startWsServer } from '../peers/ws-servers';
import { afterEachCleanup } from '../peers/cleanup';

const CHROMIUM = '/usr/bin/chromium';

/** Every close code class a peer may send (RFC 6455 §7.4.1, IANA registry; 3000–4999 ranges' ends). */
const CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];

interface Peer {
  name: string;
  url: string;
  close(): Promise<void>;
}

/** `ws` with the same commands as the python scripts: echo, "close CODE [REASON]", "fragments N TEXT", "ping DATA". */
async function wsPeer(): Promise<Peer> {
  const s = await startWsServer({
    perMessageDeflate: true,
    onConnection: (socket) => {
      socket.on('message', (data: Buffer, isBinary) => {
        const text = isBinary ? '' : data.toString('utf8');
        if (text.startsWith('close ')) {
          const [, code, ...reason] = text.split(' ');
          socket.close(Number(code), reason.join(' '));
        } else if (text.startsWith('fragments ')) {
          const [, n, ...words] = text.split(' ');
          const body = words.join(' ');
          const size = Math.ceil(body.length / Number(n));
          for (let i = 0; i < body.length; i += size) socket.send(body.slice(i, i + size), { fin: i + size >= body.length });
        } else if (text.startsWith('ping ')) {
          socket.ping(text.slice(5));
        } else {
          socket.send(data, { binary: isBinary });
        }
      });
    },
  });
  return { name: 'ws', url: s.url, close: () => s.close() };
}

// A peer that is not installed fails its tests with a line saying what to install: a run
// that skipped them would pass without having checked anything against it.
const pythonPeer = (name: string, module: 'websockets' | 'autobahn') => async (): Promise<Peer> => {
  if (!havePython(module)) throw new Error(`${name} is missing: apt-get install python3-${module} (bash .ci/run installs it)`);
  return { name, ...(await startPythonServer(module)) };
};

const PEERS: Array<{ name: string; start(): Promise<Peer> }> = [
  { name: 'ws', start: wsPeer },
  { name: 'python-websockets', start: pythonPeer('python-websockets', 'websockets') },
  { name: 'Autobahn', start: pythonPeer('Autobahn', 'autobahn') },
];

/** How a server answers a client's close with `code`: the close it replies with, if any. */
function answerTo(peer: string, code: number): { reply: number[]; clean: boolean } {
  if (peer !== 'Autobahn') return { reply: [code], clean: true };
  // Autobahn 22.7's table of codes a peer may send lacks 1014 (registered later): it fails
  // the connection by dropping TCP without a close frame (its failByDrop default). No
  // violation either way; the close is just not clean.
  if (code === 1014) return { reply: [], clean: false };
  // Autobahn answers with 1000 rather than echo the code (its echoCloseCodeReason default).
  return { reply: [1000], clean: true };
}

const violationsOf = (frames: FrameRecord[]) => frames.flatMap((f) => (f.violations ?? []).map((v) => `#${f.seq} ${f.from} ${v.id}`));

const { cleanup, scratch } = afterEachCleanup();

/** A varied byte pattern. */
function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

const FRAGMENTED = 'one message from the server in four frames';

async function connect(url: string, deflate: boolean) {
  const events: EngineEvent[] = [];
  const client = await WebSocketClient.connect({ url, deflate, onEvent: (e) => events.push(e) });
  cleanup.push(() => client.destroy());
  const messages: Array<{ opcode: number; data: Buffer }> = [];
  const waiters: Array<() => void> = [];
  client.on('message', (m) => {
    messages.push({ opcode: m.opcode, data: Buffer.from(m.data) });
    for (const w of waiters.splice(0)) w();
  });
  const nthMessage = async (n: number) => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
    return messages[n - 1]!;
  };
  return { client, errors: () => events.filter((e) => e.event === 'error'), nthMessage };
}

for (const peerSpec of PEERS) {
  describe(`our client against ${peerSpec.name}: no violation on any frame`, () => {
    let peer: Peer;
    beforeAll(async () => {
      peer = await peerSpec.start();
    });
    afterAll(async () => peer?.close());

    for (const deflate of [false, true]) {
      it(`text, binary, fragments both ways, ping/pong${deflate ? ', permessage-deflate' : ''}`, async () => {
        const { client, errors, nthMessage } = await connect(peer.url, deflate);
        const sent: Array<{ opcode: number; data: Buffer }> = [
          { opcode: 1, data: Buffer.from('hello') },
          { opcode: 1, data: Buffer.from('héllo ✓ 🌍') },
          { opcode: 2, data: bytes(6) },
          { opcode: 2, data: bytes(70_000) },
          { opcode: 1, data: Buffer.from('fragmented by the client, '.repeat(40)) },
        ];
        let n = 0;
        for (const m of sent) {
          const opts = n === 4 ? { fragmentSize: 100 } : {};
          if (m.opcode === 1) client.sendText(m.data.toString(), opts);
          else client.sendBinary(m.data, opts);
          const echo = await nthMessage(++n);
          expect(echo.opcode).toBe(m.opcode);
          expect(echo.data.equals(m.data)).toBe(true);
        }
        client.sendText(`fragments 4 ${FRAGMENTED}`);
        expect((await nthMessage(++n)).data.toString()).toBe(FRAGMENTED);
        // The server pings; our pong goes out before the echo of the next message is asked for.
        client.sendText('ping from the server');
        client.sendText('after the ping');
        expect((await nthMessage(++n)).data.toString()).toBe('after the ping');
        expect(await client.ping(Buffer.from('from the client'))).toBeGreaterThanOrEqual(0);
        expect(await client.close(1000)).toEqual({ code: 1000, reason: '', by: 'client', clean: true });

        const frames = client.record.frames;
        expect(violationsOf(frames)).toEqual([]);
        expect(errors()).toEqual([]);
        const fromServer = frames.filter((f) => f.from === 'server');
        // The fragmented message came as a text frame and continuations (python-websockets and
        // Autobahn end it with an empty one); the ping was answered.
        const first = fromServer.findIndex((f) => f.opcode === 1 && !f.fin);
        const last = fromServer.findIndex((f, i) => i > first && f.fin);
        const fragments = fromServer.slice(first, last + 1);
        expect(fragments.length).toBeGreaterThanOrEqual(4);
        expect(fragments.map((f) => [f.opcode, f.fin])).toEqual([[1, false], ...fragments.slice(1, -1).map(() => [0, false]), [0, true]]);
        expect(fromServer.some((f) => f.opcode === 9)).toBe(true);
        expect(frames.some((f) => f.from === 'client' && f.opcode === 10)).toBe(true);
        expect(fromServer.some((f) => f.opcode === 10 && f.rtt !== undefined)).toBe(true);
        expect(client.record.handshake!.extensions.map((x) => x.name)).toEqual(deflate ? ['permessage-deflate'] : []);
        if (deflate) expect(fromServer.some((f) => f.rsv1)).toBe(true);
      });
    }

    it('the client closes with every close code class; the server answers', async () => {
      for (const code of CODES) {
        const { client, errors } = await connect(peer.url, false);
        const { reply, clean } = answerTo(peer.name, code);
        expect(await client.close(code, 'bye'), `${code}`).toEqual({ code, reason: 'bye', by: 'client', clean });
        const frames = client.record.frames;
        expect(violationsOf(frames), `${code}`).toEqual([]);
        expect(errors(), `${code}`).toEqual([]);
        expect(frames.filter((f) => f.from === 'server').map((f) => f.close?.code), `${code}`).toEqual(reply);
      }
    });

    it('the server closes with every close code class; the client echoes it', async () => {
      for (const code of CODES) {
        const { client, errors } = await connect(peer.url, false);
        client.sendText(`close ${code} bye`);
        expect(await client.closed, `${code}`).toEqual({ code, reason: 'bye', by: 'server', clean: true });
        const frames = client.record.frames;
        expect(violationsOf(frames), `${code}`).toEqual([]);
        expect(errors(), `${code}`).toEqual([]);
        expect(frames.filter((f) => f.opcode === 8).map((f) => [f.from, f.close?.code])).toEqual([
          ['server', code],
          ['client', code],
        ]);
      }
    });
  });
}

/** `framescope proxy` with a capture; resolves once it says where it listens. */
async function startProxy(args: string[]) {
  const capture = join(scratch('capture'), 'peers.wscap.json');
  const proc = spawnCli(['proxy', '--listen', '127.0.0.1:0', '--quiet', '--capture', capture, '--ca-dir', scratch('ca'), ...args]);
  cleanup.push(() => proc.stop('SIGKILL'));
  const line = await proc.waitForLine(/^framescope proxy: listening on /, { stream: 'stderr' });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(line)![1]);
  const finish = async (): Promise<ConnectionRecord[]> => {
    const exit = await proc.stop('SIGINT');
    expect(exit.code, exit.stderr).toBe(0);
    return (JSON.parse(readFileSync(capture, 'utf8')) as CaptureFile).connections;
  };
  return { port, finish };
}

type Expected = { code: number; by: 'client' | 'server'; clean: boolean };

/** Every proxied connection: no error, no violation, closed as expected. */
function expectClean(connections: ConnectionRecord[], expected: Expected[]) {
  expect(connections.map((c) => ({ code: c.close?.code, by: c.close?.by, clean: c.close?.clean }))).toEqual(expected);
  for (const c of connections) {
    expect(c.errors, c.url).toEqual([]);
    expect(violationsOf(c.frames), c.url).toEqual([]);
  }
}

function wsClient(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const nextMessage = (ws: WebSocket) => new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)));
const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));

for (const peerSpec of PEERS) {
  describe(`the ws client through framescope proxy to ${peerSpec.name}: no violation recorded`, () => {
    it('messages, fragments, ping/pong and deflate, then closes by either side with every code class', async () => {
      const peer = await peerSpec.start();
      cleanup.push(() => peer.close());
      const proxy = await startProxy(['--target', peer.url]);
      const url = `ws://127.0.0.1:${proxy.port}/`;
      const expected: Expected[] = [];

      const ws = await wsClient(url);
      for (const m of ['hello', 'héllo ✓ 🌍', bytes(70_000)]) {
        const echo = nextMessage(ws);
        ws.send(m);
        expect((await echo).equals(Buffer.isBuffer(m) ? m : Buffer.from(m))).toBe(true);
      }
      const fragmented = nextMessage(ws);
      ws.send(`fragments 4 ${FRAGMENTED}`);
      expect((await fragmented).toString()).toBe(FRAGMENTED);
      // The client sends a fragmented message too.
      const echo = nextMessage(ws);
      ws.send('client ', { fin: false });
      ws.send('fragments', { fin: true });
      expect((await echo).toString()).toBe('client fragments');
      const pong = new Promise<void>((r) => ws.once('pong', () => r()));
      ws.ping('from the client');
      await pong;
      const serverPing = new Promise<void>((r) => ws.once('ping', () => r()));
      ws.send('ping from the server');
      await serverPing;
      const done = closed(ws);
      ws.close(1000);
      await done;
      expected.push({ code: 1000, by: 'client', clean: true });

      for (const code of CODES) {
        const c = await wsClient(url);
        const done = closed(c);
        c.close(code, 'bye');
        await done;
        expected.push({ code, by: 'client', clean: answerTo(peer.name, code).clean });
      }
      for (const code of CODES) {
        const c = await wsClient(url);
        const done = closed(c);
        c.send(`close ${code} bye`);
        expect(await done).toEqual({ code, reason: 'bye' });
        expected.push({ code, by: 'server', clean: true });
      }
      const connections = await proxy.finish();
      expectClean(connections, expected);
      // Deflate was negotiated and used both ways on the first connection.
      const first = connections[0]!;
      expect(first.handshake!.extensions.map((x) => x.name)).toEqual(['permessage-deflate']);
      expect(first.frames.some((f) => f.from === 'client' && f.rsv1)).toBe(true);
      expect(first.frames.some((f) => f.from === 'server' && f.rsv1)).toBe(true);
      expect(first.frames.some((f) => f.from === 'server' && f.opcode === 9)).toBe(true);
      expect(first.frames.some((f) => f.from === 'client' && f.opcode === 10)).toBe(true);
    }, 60_000);
  });
}

/** Chromium's side: codes a page may close with (the WebSocket API allows 1000 and 3000–4999). */
const PAGE_CLOSE_CODES = [1000, 3000, 3999, 4000, 4999];

function pageScript(wsUrl: string): string {
  return `
const URL_ = ${JSON.stringify(wsUrl)};
const CODES = ${JSON.stringify(CODES)};
const PAGE_CODES = ${JSON.stringify(PAGE_CLOSE_CODES)};
const FRAGMENTED = ${JSON.stringify(FRAGMENTED)};
function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL_);
    ws.binaryType = 'arraybuffer';
    const inbox = [];
    let wake = null;
    ws.onmessage = (e) => { inbox.push(e.data); if (wake) { const w = wake; wake = null; w(); } };
    ws.next = async () => { while (inbox.length === 0) await new Promise((r) => (wake = r)); return inbox.shift(); };
    ws.closed = new Promise((r) => (ws.onclose = (e) => r({ code: e.code, reason: e.reason, wasClean: e.wasClean })));
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('websocket error'));
  });
}
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
async function run() {
  const results = [];
  const ws = await open();
  const big = new Uint8Array(200 * 1024).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
  const ok = [];
  for (const m of ['hello', 'héllo ✓ 🌍', new Uint8Array([0, 1, 2, 254, 255]), big, 'Framescope sees every frame. '.repeat(2000)]) {
    ws.send(m);
    const echo = await ws.next();
    ok.push(typeof m === 'string' ? echo === m : same(new Uint8Array(echo), m));
  }
  ws.send('fragments 4 ' + FRAGMENTED);
  ok.push((await ws.next()) === FRAGMENTED);
  ws.send('ping from the server');
  ws.send('after the ping');
  ok.push((await ws.next()) === 'after the ping');
  ws.close(1000);
  results.push({ by: 'client', want: 1000, ok, ...(await ws.closed) });
  for (const code of PAGE_CODES) {
    const c = await open();
    c.close(code, 'bye');
    results.push({ by: 'client', want: code, ...(await c.closed) });
  }
  for (const code of CODES) {
    const c = await open();
    c.send('close ' + code + ' bye');
    results.push({ by: 'server', want: code, ...(await c.closed) });
  }
  return results;
}
run().then((r) => (window.__result = r), (e) => (window.__result = { error: String(e) }));`;
}

describe('Chromium through the forward proxy to ws, python-websockets and Autobahn: no violation recorded', () => {
  it('messages, fragments, ping/pong, deflate; closes by either side with every code class', async () => {
    const peers: Peer[] = [];
    for (const p of PEERS) {
      const peer = await p.start();
      cleanup.push(() => peer.close());
      peers.push(peer);
    }
    let wsUrl = '';
    const page: Server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`<!doctype html><meta charset="utf-8"><title>peers</title><script>${pageScript(wsUrl)}</script>`);
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => (page.closeAllConnections(), page.close(() => r()))));
    const pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;

    const proxy = await startProxy(['--allow-hosts', '127.0.0.1']);
    const context = await chromium.launchPersistentContext(scratch('chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--proxy-server=http://127.0.0.1:${proxy.port}`,
        // Chromium sends loopback requests direct unless told not to; here they must go through.
        '--proxy-bypass-list=<-loopback>',
      ],
      timeout: 30_000,
    });
    cleanup.push(() => context.close());
    const tab = context.pages()[0] ?? (await context.newPage());

    const expected: Expected[] = [];
    for (const peer of peers) {
      wsUrl = peer.url;
      await tab.goto(pageUrl, { waitUntil: 'load' });
      await tab.waitForFunction(() => (globalThis as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 30_000 });
      const results = (await tab.evaluate(() => (globalThis as unknown as { __result: unknown }).__result)) as Array<{
        by: 'client' | 'server';
        want: number;
        code: number;
        reason: string;
        wasClean: boolean;
        ok?: boolean[];
      }>;
      expect(results, peer.name).toBeInstanceOf(Array);
      expect(results[0]!.ok, peer.name).toEqual(Array(7).fill(true));
      for (const r of results) {
        // The page's close event has the code of the server's close frame: its answer when
        // the page closed first.
        const seen = r.by === 'client' ? answerTo(peer.name, r.want).reply[0] : r.want;
        expect({ peer: peer.name, want: r.want, code: r.code, wasClean: r.wasClean }).toEqual({ peer: peer.name, want: r.want, code: seen, wasClean: true });
        expected.push({ code: r.want, by: r.by, clean: true });
      }
    }
    await context.close();
    const connections = (await proxy.finish()).filter((c) => c.handshake?.response?.status === 101);
    expectClean(connections, expected);
    // Chromium negotiated permessage-deflate with each server and compressed what it sent.
    for (const c of connections.filter((c) => c.frames.length > 4)) {
      expect(c.handshake!.extensions.map((x) => x.name), c.url).toEqual(['permessage-deflate']);
      expect(c.frames.some((f) => f.from === 'client' && f.rsv1), c.url).toBe(true);
      expect(c.frames.some((f) => f.from === 'server' && f.opcode === 9), c.url).toBe(true);
      expect(c.frames.some((f) => f.from === 'client' && f.opcode === 10), c.url).toBe(true);
    }
    expect(connections.filter((c) => c.frames.length > 4)).toHaveLength(peers.length);
  }, 120_000);
});
