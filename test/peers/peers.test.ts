// Smoke tests of the test peers themselves: each behaves as its comment says, judged by the `ws`
// client or by raw sockets. If one of these fails, integration failures mean nothing.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  DEFAULT_GARBAGE,
  answers200,
  computeAccept,
  dropMidFrame,
  endlessHeaders,
  garbageAfterHandshake,
  hugeLength,
  rawFrame,
  rawScript,
  refused,
  silent,
  upgradeWithoutUpgradeHeader,
  wrongAccept,
} from './bad-servers';
import { runCli, runNode, spawnNode } from './cli';
import { ipv6LoopbackAvailable } from './loopback';
import { testPki } from './pki';
import { startWsServer } from './ws-servers';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/rfc-examples.json', import.meta.url), 'utf8')) as {
  handshake: Array<{ key: string; accept: string }>;
  frames: Array<{ name: string; hex?: string[]; maskKey?: string; text?: string; opcode?: number; payloadText?: string }>;
};
const RFC_KEY = vectors.handshake[0]!.key;
const RFC_ACCEPT = vectors.handshake[0]!.accept;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
function later<T extends { close(): Promise<void> }>(peer: T): T {
  cleanups.push(() => peer.close());
  return peer;
}

/** A ws client that is cleaned up after the test. */
function client(url: string, protocols?: string[], options?: WebSocket.ClientOptions): WebSocket {
  const ws = new WebSocket(url, protocols, options);
  ws.on('error', () => {});
  cleanups.push(() => ws.terminate());
  return ws;
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function failed(ws: WebSocket): Promise<Error & { code?: string }> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('expected the connection to fail, but it opened')));
    ws.once('error', resolve);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

interface RawExchange {
  socket: Socket;
  /** Everything the server sent so far. */
  bytes(): Buffer;
  /** Resolves when `ready(bytes)` holds, or when the socket closes (whichever first). */
  until(ready: (bytes: Buffer) => boolean): Promise<Buffer>;
  closed: Promise<void>;
}

/** Connects with a raw socket and sends an upgrade request with the RFC 6455 §1.3 example key. */
function rawUpgrade(port: number, extraHeaders: string[] = []): RawExchange {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  cleanups.push(() => void socket.destroy());
  const chunks: Buffer[] = [];
  const waiters = new Set<() => void>();
  let isClosed = false;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    for (const w of [...waiters]) w();
  });
  const closedP = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      for (const w of [...waiters]) w();
      resolve();
    }),
  );
  socket.write(
    [
      'GET /chat HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${RFC_KEY}`,
      'Sec-WebSocket-Version: 13',
      ...extraHeaders,
      '',
      '',
    ].join('\r\n'),
  );
  const bytes = () => Buffer.concat(chunks);
  return {
    socket,
    bytes,
    closed: closedP,
    until: (ready) =>
      new Promise((resolve) => {
        const check = () => {
          if (ready(bytes()) || isClosed) {
            waiters.delete(check);
            resolve(bytes());
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

function splitHead(bytes: Buffer): { head: string; rest: Buffer } {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete head in ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
  return { head: bytes.subarray(0, end).toString('latin1'), rest: bytes.subarray(end + 4) };
}

function headerValue(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

const hasHead = (b: Buffer) => b.includes('\r\n\r\n');

describe('peers: rawFrame matches RFC 6455 §5.7 examples', () => {
  it('encodes the unmasked and masked "Hello" frames, ping and pong', () => {
    const byName = (name: string) => vectors.frames.find((f) => f.name === name)!.hex![0];
    expect(rawFrame({ opcode: 1, payload: 'Hello' }).toString('hex')).toBe(byName('single-frame unmasked text'));
    const key = Buffer.from('37fa213d', 'hex');
    expect(rawFrame({ opcode: 1, payload: 'Hello', maskKey: key }).toString('hex')).toBe(byName('single-frame masked text'));
    expect(rawFrame({ opcode: 9, payload: 'Hello' }).toString('hex')).toBe(byName('unmasked ping'));
    expect(rawFrame({ opcode: 10, payload: 'Hello', maskKey: key }).toString('hex')).toBe(byName('masked pong answering it'));
    expect(rawFrame({ opcode: 2, payload: new Uint8Array(256) }).subarray(0, 4).toString('hex')).toBe('827e0100');
    expect(rawFrame({ opcode: 2, payload: new Uint8Array(65536) }).subarray(0, 10).toString('hex')).toBe('827f0000000000010000');
  });

  it('computes the RFC 6455 §1.3 Accept', () => {
    expect(computeAccept(RFC_KEY)).toBe(RFC_ACCEPT);
  });
});

describe('peers: ws servers', () => {
  it('echoes text as text and binary as binary, answers pings, and records what it got', async () => {
    const server = later(await startWsServer());
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);
    const ws = client(`${server.url}/path?q=1`, undefined, { headers: { 'X-Test': 'yes' } });
    await opened(ws);

    ws.send('hello');
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from('hello'), isBinary: false });
    ws.send(Buffer.from([0, 1, 2, 255]));
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from([0, 1, 2, 255]), isBinary: true });

    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping('are you there');
    expect((await pong).toString()).toBe('are you there');

    expect(server.received.map((m) => [m.data.toString('hex'), m.isBinary, m.connection])).toEqual([
      [Buffer.from('hello').toString('hex'), false, 0],
      ['000102ff', true, 0],
    ]);
    expect(server.pings.map((p) => p.data.toString())).toEqual(['are you there']);
    expect(server.handshakes[0]).toMatchObject({ url: '/path?q=1', protocol: '', extensions: '', remoteAddress: '127.0.0.1' });
    expect(server.handshakes[0]!.headers['x-test']).toBe('yes');
    expect(server.handshakes[0]!.rawHeaders).toContain('X-Test');

    ws.close(4000, 'done');
    expect(await server.waitForClose(0)).toEqual({ connection: 0, code: 4000, reason: 'done' });
  });

  it('negotiates permessage-deflate with the requested parameters and still echoes', async () => {
    const server = later(
      await startWsServer({ perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10 } }),
    );
    const ws = client(server.url, undefined, { perMessageDeflate: true });
    const answered = new Promise<string | string[] | undefined>((resolve) =>
      ws.once('upgrade', (res) => resolve(res.headers['sec-websocket-extensions'])),
    );
    await opened(ws);
    expect(ws.extensions).toBe('permessage-deflate');
    const header = await answered;
    expect(header).toMatch(/^permessage-deflate;/);
    expect(header).toContain('server_no_context_takeover');
    expect(header).toContain('client_no_context_takeover');
    expect(header).toContain('server_max_window_bits=10');
    expect(server.handshakes[0]!.extensions).toBe(header);
    expect(server.handshakes[0]!.responseHeaders[0]).toMatch(/^HTTP\/1\.1 101 /);
    ws.send('compress me, compress me, compress me');
    expect((await nextMessage(ws)).data.toString()).toBe('compress me, compress me, compress me');
  });

  it('compresses even short messages (threshold 0): the frame on the wire has RSV1', async () => {
    const server = later(await startWsServer({ perMessageDeflate: true, onConnection: (s) => s.send('Hello') }));
    const raw = rawUpgrade(server.port, ['Sec-WebSocket-Extensions: permessage-deflate']);
    const bytes = await raw.until((b) => hasHead(b) && splitHead(b).rest.length >= 2);
    const { head, rest } = splitHead(bytes);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(headerValue(head, 'Sec-WebSocket-Accept')).toBe(RFC_ACCEPT);
    expect(headerValue(head, 'Sec-WebSocket-Extensions')).toBe('permessage-deflate');
    expect(rest[0]).toBe(0xc1); // FIN + RSV1 + text
  });

  it('refuses permessage-deflate by default', async () => {
    const server = later(await startWsServer());
    const ws = client(server.url, undefined, { perMessageDeflate: true });
    await opened(ws);
    expect(ws.extensions).toBe('');
  });

  it('picks the first offered subprotocol it supports, or none', async () => {
    const server = later(await startWsServer({ handleProtocols: ['b', 'c'] }));
    const ws = client(server.url, ['a', 'b', 'c']);
    await opened(ws);
    expect(ws.protocol).toBe('b');
    expect(server.handshakes[0]!.protocol).toBe('b');

    // None: ws's client would refuse the answer itself, so look at the raw response.
    const raw = rawUpgrade(server.port, ['Sec-WebSocket-Protocol: x, y']);
    const { head } = splitHead(await raw.until(hasHead));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(headerValue(head, 'Sec-WebSocket-Protocol')).toBeUndefined();
    expect(server.handshakes[1]!.protocol).toBe('');
  });

  it('runs onConnection instead of echoing: N messages, then a close code', async () => {
    const server = later(
      await startWsServer({
        onConnection: (socket) => {
          for (let i = 0; i < 3; i++) socket.send(`message ${i}`);
          socket.close(4001, 'bye');
        },
      }),
    );
    const ws = client(server.url);
    const messages: string[] = [];
    ws.on('message', (d) => messages.push(String(d)));
    expect(await closed(ws)).toEqual({ code: 4001, reason: 'bye' });
    expect(messages).toEqual(['message 0', 'message 1', 'message 2']);
    expect(server.received).toEqual([]);
  });

  it('enforces maxPayload with 1009', async () => {
    const server = later(await startWsServer({ maxPayload: 10 }));
    const ws = client(server.url);
    await opened(ws);
    ws.send('x'.repeat(11));
    expect((await closed(ws)).code).toBe(1009);
  });

  it('answers a plain HTTP request with 426', async () => {
    const server = later(await startWsServer());
    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: server.port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(426);
  });

  it('hands out connections in order and waits for messages', async () => {
    const server = later(await startWsServer());
    const first = client(server.url);
    expect(await server.nextConnection()).toBe(0);
    await opened(first);
    const second = client(server.url);
    expect(await server.nextConnection()).toBe(1);
    await opened(second);
    second.send('two');
    const got = await server.waitForMessages(1);
    expect(got[0]).toMatchObject({ connection: 1 });
  });
});

describe('peers: wss servers', () => {
  it('with a self-signed certificate: rejected by default, accepted with it as CA or with rejectUnauthorized false', async () => {
    const { selfSigned } = await testPki();
    const server = later(await startWsServer({ tls: selfSigned }));
    expect(server.url).toBe(`wss://127.0.0.1:${server.port}`);

    const error = await failed(client(server.url));
    expect(error.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

    const withCa = client(server.url, undefined, { ca: selfSigned.certPem });
    await opened(withCa);
    withCa.send('secure');
    expect((await nextMessage(withCa)).data.toString()).toBe('secure');

    const insecure = client(server.url, undefined, { rejectUnauthorized: false });
    await opened(insecure);
  });

  it('with a leaf of the test CA: accepted with the CA, rejected without', async () => {
    const { ca, leaf } = await testPki();
    const server = later(await startWsServer({ tls: leaf }));
    expect((await failed(client(server.url))).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const ws = client(`wss://localhost:${server.port}`, undefined, { ca: ca.certPem });
    await opened(ws);
  });
});

describe('peers: IPv6 loopback', () => {
  it('serves ws://[::1]:PORT', async (ctx) => {
    if (!(await ipv6LoopbackAvailable())) {
      ctx.skip('::1 is not available on this machine (IPv6 loopback disabled): skipping the IPv6 server check');
      return;
    }
    const server = later(await startWsServer({ host: '::1' }));
    expect(server.url).toBe(`ws://[::1]:${server.port}`);
    const ws = client(server.url);
    await opened(ws);
    ws.send('six');
    expect((await nextMessage(ws)).data.toString()).toBe('six');
    expect(server.handshakes[0]!.remoteAddress).toBe('::1');
  });
});

describe('peers: bad servers', () => {
  it('answers200 gives a plain 200 with a body, then closes', async () => {
    const server = later(await answers200());
    const raw = rawUpgrade(server.port);
    await raw.closed;
    const { head, rest } = splitHead(raw.bytes());
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(rest.toString()).toBe('hello, not a websocket\n');
    expect(server.connections[0]!.head?.key).toBe(RFC_KEY);
    expect((await failed(client(server.url))).message).toMatch(/Unexpected server response: 200/);
  });

  it('upgradeWithoutUpgradeHeader sends 101 with a correct Accept but no Upgrade', async () => {
    const server = later(await upgradeWithoutUpgradeHeader());
    const { head } = splitHead(await rawUpgrade(server.port).until(hasHead));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(headerValue(head, 'Upgrade')).toBeUndefined();
    expect(headerValue(head, 'Connection')).toBe('Upgrade');
    expect(headerValue(head, 'Sec-WebSocket-Accept')).toBe(RFC_ACCEPT);
    // Without Upgrade, Node's http client does not even see an upgrade: ws reports the bare 101.
    expect((await failed(client(server.url))).message).toMatch(/Unexpected server response: 101|Upgrade header/);
  });

  it('wrongAccept sends an Accept that differs from the computed one', async () => {
    const server = later(await wrongAccept());
    const { head } = splitHead(await rawUpgrade(server.port).until(hasHead));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(headerValue(head, 'Upgrade')).toBe('websocket');
    const accept = headerValue(head, 'Sec-WebSocket-Accept');
    expect(accept).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    expect(accept).not.toBe(RFC_ACCEPT);
    expect((await failed(client(server.url))).message).toMatch(/Sec-WebSocket-Accept/);
  });

  it('endlessHeaders keeps sending header lines, never the blank line, and stops when the client goes', async () => {
    const server = later(await endlessHeaders({ intervalMs: 2 }));
    const raw = rawUpgrade(server.port);
    const bytes = await raw.until((b) => b.toString('latin1').split('\r\n').length > 6);
    const text = bytes.toString('latin1');
    expect(text.startsWith('HTTP/1.1 101 Switching Protocols\r\nX-Filler-0: ')).toBe(true);
    expect(text).not.toContain('\r\n\r\n');
    raw.socket.destroy();
    const conn = server.connections[0]!;
    await conn.closed;
    expect(conn.socket.destroyed).toBe(true);
  });

  it('garbageAfterHandshake sends a correct 101 then non-frame bytes; the client fails it', async () => {
    const server = later(await garbageAfterHandshake());
    const raw = rawUpgrade(server.port);
    const bytes = await raw.until((b) => hasHead(b) && splitHead(b).rest.length >= DEFAULT_GARBAGE.length);
    const { head, rest } = splitHead(bytes);
    expect(headerValue(head, 'Sec-WebSocket-Accept')).toBe(RFC_ACCEPT);
    expect(rest.subarray(0, 2).toString('hex')).toBe('ffff');
    expect(rest.equals(DEFAULT_GARBAGE)).toBe(true);

    // The ws client fails the connection with a close frame (1002), which the server records.
    const ws = client(server.url);
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(error.message).toMatch(/Invalid WebSocket frame/);
    const sent = await server.connections[1]!.waitForBytes(2);
    expect(sent[0]).toBe(0x88); // FIN + close
    expect(sent[1]! & 0x80).toBe(0x80); // masked, as a client must
  });

  it('hugeLength sends 82 7f 80 00 00 00 00 00 00 00 after the head (2^63), or 2^62 on request', async () => {
    const server = later(await hugeLength());
    const raw = rawUpgrade(server.port);
    const { rest } = splitHead(await raw.until((b) => hasHead(b) && splitHead(b).rest.length >= 10));
    expect(rest.toString('hex')).toBe('827f8000000000000000');

    const big = later(await hugeLength({ length: 2n ** 62n }));
    const raw62 = rawUpgrade(big.port);
    const r62 = splitHead(await raw62.until((b) => hasHead(b) && splitHead(b).rest.length >= 10)).rest;
    expect(r62.toString('hex')).toBe('827f4000000000000000');

    // The handshake is fine, so the ws client opens, then fails on the frame header.
    const ws = client(server.url);
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(error.message).toMatch(/payload length|MSB/i);
  });

  it('dropMidFrame sends half a frame then closes the connection', async () => {
    const server = later(await dropMidFrame());
    const raw = rawUpgrade(server.port);
    await raw.closed;
    const { head, rest } = splitHead(raw.bytes());
    expect(headerValue(head, 'Sec-WebSocket-Accept')).toBe(RFC_ACCEPT);
    expect(rest.length).toBe(12);
    expect(rest.subarray(0, 2).toString('hex')).toBe('8264'); // binary, 100 bytes promised
  });

  it('silent accepts the connection and never says anything', async () => {
    const server = later(await silent());
    const raw = rawUpgrade(server.port);
    const conn = await server.nextConnection();
    await conn.waitForBytes(4); // the request reached it
    raw.socket.end();
    await raw.closed;
    expect(raw.bytes().length).toBe(0);
    expect(conn.received().toString('latin1')).toMatch(/^GET \/chat HTTP\/1\.1\r\n/);
  });

  it('refused gives a port with nothing listening', async () => {
    const { port, url } = await refused();
    expect(url).toBe(`ws://127.0.0.1:${port}`);
    const code = await new Promise<string | undefined>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
    });
    expect(code).toBe('ECONNREFUSED');
  });

  it('rawScript runs its steps after a correct handshake and lets the test read what the client sent', async () => {
    const server = later(
      await rawScript(
        [
          { write: rawFrame({ opcode: 1, payload: 'Hel', fin: false }) },
          { write: rawFrame({ opcode: 0, payload: 'lo' }), delayMs: 5 },
          { waitForBytes: 6 + 'back'.length },
          { write: rawFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }) },
          { end: true },
        ],
        { extraHeaders: ['X-Script: 1'] },
      ),
    );
    const ws = client(server.url);
    const headers = new Promise<string | string[] | undefined>((resolve) => ws.once('upgrade', (res) => resolve(res.headers['x-script'])));
    const message = nextMessage(ws);
    const closing = closed(ws);
    await opened(ws);
    expect(await headers).toBe('1');
    expect((await message).data.toString()).toBe('Hello');
    ws.send('back');
    expect((await closing).code).toBe(1000);

    // The client's frame: masked text "back"; unmask it with its key.
    const sent = server.connections[0]!.received();
    expect(sent[0]).toBe(0x81);
    expect(sent[1]).toBe(0x80 | 4);
    const key = sent.subarray(2, 6);
    const payload = Buffer.from(sent.subarray(6, 10).map((b, i) => b ^ key[i & 3]!));
    expect(payload.toString()).toBe('back');
  });

  it('rawScript can replace the handshake response entirely', async () => {
    const server = later(await rawScript([], { response: () => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n' }));
    expect((await failed(client(server.url))).message).toMatch(/Unexpected server response: 403/);
  });

  it('close() ends open connections and stops listening', async () => {
    const server = await silent();
    const raw = rawUpgrade(server.port);
    await server.nextConnection();
    await server.close();
    await raw.closed;
    const code = await new Promise<string | undefined>((resolve) => {
      const s = netConnect(server.port, '127.0.0.1');
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
    });
    expect(code).toBe('ECONNREFUSED');
  });
});

describe('peers: cli runner', () => {
  it('runs bin/framescope.js to completion', async () => {
    const result = await runCli(['--help']);
    expect(result.timedOut).toBe(false);
    expect(result.signal).toBeNull();
    expect(typeof result.code).toBe('number');
  });

  it('passes stdin and env, and reports the exit code', async () => {
    const script = `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(s.toUpperCase()+process.env.PEER_TEST);process.stderr.write('e');process.exit(3)})`;
    const result = await runNode(['-e', script], { stdin: 'abc', env: { PEER_TEST: '!' } });
    expect(result).toMatchObject({ code: 3, stdout: 'ABC!', stderr: 'e', timedOut: false, signal: null });
  });

  it('kills a child that outlives its timeout and says so', async () => {
    const result = await runNode(['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBeNull();
    expect(result.signal).toBe('SIGTERM');
  });

  it('spawnNode waits for a matching stdout line and stops the child', async () => {
    const child = spawnNode(['-e', `console.log('starting');setTimeout(()=>console.log('listening on http://127.0.0.1:1234/?token=x'),20);setInterval(()=>{},1000)`]);
    cleanups.push(async () => void (await child.stop('SIGKILL')));
    const line = await child.waitForLine(/^listening on /);
    expect(line).toBe('listening on http://127.0.0.1:1234/?token=x');
    expect(await child.waitForLine((l) => l === 'starting')).toBe('starting'); // earlier lines count too
    const result = await child.stop();
    expect(result.signal).toBe('SIGTERM');
    expect(child.stdoutLines).toEqual(['starting', 'listening on http://127.0.0.1:1234/?token=x']);
  });

  it('waitForLine rejects when the child exits without a match', async () => {
    const child = spawnNode(['-e', `console.log('nope');process.exit(1)`]);
    await expect(child.waitForLine(/never/)).rejects.toThrow(/exited before printing a matching stdout line/);
  });
});
