// `framescope connect` against independent peers: the `ws` package as a well-behaved server,
// raw sockets as misbehaving ones. Every test runs the real built CLI as a user would.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFileJson, EngineEventJson, FrameJson } from '../../shared/model';
import { runCli, spawnCli } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import * as bad from '../peers/bad-servers';
import { testPki } from '../peers/pki';
import { ipv6LoopbackAvailable } from '../peers/loopback';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function wsServer(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

async function badServer<T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const s = await p;
  cleanup.push(() => s.close());
  return s;
}

function events(stdout: string): EngineEventJson[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EngineEventJson);
}

const framesOf = (ev: EngineEventJson[]) => ev.filter((e): e is Extract<EngineEventJson, { event: 'frame' }> => e.event === 'frame');
const tmp = () => mkdtempSync(join(tmpdir(), 'framescope-test-'));
const payloadText = (f: FrameJson) => Buffer.from(f.message?.data ?? f.payload, 'base64').toString('utf8');

describe('connect to a ws echo server', () => {
  it('sends text and binary in command-line order, expects the echoes, closes cleanly', async () => {
    const server = await wsServer();
    const r = await runCli([
      'connect', `${server.url}/chat?room=1`, '--send', 'hello', '--send-hex', '00ff10', '--send', 'three', '--expect', '3', '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    const hs = ev.find((e) => e.event === 'handshake');
    expect(hs).toMatchObject({ accept: { valid: true }, response: { status: 101 }, request: { target: '/chat?room=1' } });
    const frames = framesOf(ev);
    const data = frames.filter((f) => f.opcode === 1 || f.opcode === 2);
    expect(data.map((f) => [f.from, f.opcode])).toEqual([
      ['client', 1], ['client', 2], ['client', 1], ['server', 1], ['server', 2], ['server', 1],
    ]);
    expect(data.filter((f) => f.from === 'client').every((f) => f.masked && /^[0-9a-f]{8}$/.test(f.maskKey!))).toBe(true);
    expect(data.filter((f) => f.from === 'server').every((f) => !f.masked && f.maskKey === null)).toBe(true);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    expect(server.received.map((m) => [m.isBinary, m.data.toString('hex')])).toEqual([
      [false, Buffer.from('hello').toString('hex')], [true, '00ff10'], [false, Buffer.from('three').toString('hex')],
    ]);
    expect(ev.at(-1)).toMatchObject({ event: 'close', code: 1000, by: 'client', clean: true });
    expect(await server.waitForClose()).toMatchObject({ code: 1000 });
  });

  it('prints a human view: handshake, Accept verdict, one line a frame', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--send', 'hi there', '--expect', '1', '--no-deflate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^> GET \/ HTTP\/1\.1$/m);
    expect(r.stdout).toMatch(/^< HTTP\/1\.1 101 Switching Protocols$/m);
    expect(r.stdout).toMatch(/Accept valid/);
    expect(r.stdout).toMatch(/client → text .*FIN.*mask [0-9a-f]{8}.*len +8 +"hi there"/);
    expect(r.stdout).toMatch(/← server text .*unmasked.*"hi there"/);
    expect(r.stdout).toMatch(/closed: 1000 Normal Closure, by client, clean/);
  });

  it('fragments sent messages with --fragment', async () => {
    const server = await wsServer();
    const text = 'x'.repeat(250);
    const r = await runCli(['connect', server.url, '--send', text, '--fragment', '100', '--expect', '1', '--json', '--no-deflate']);
    expect(r.code).toBe(0);
    const client = framesOf(events(r.stdout)).filter((f) => f.from === 'client' && f.opcode !== 8);
    expect(client.map((f) => [f.opcode, f.fin, f.length])).toEqual([[1, false, 100], [0, false, 100], [0, true, 50]]);
    expect(payloadText(client[2]!)).toBe(text);
    expect(server.received[0]!.data.toString()).toBe(text);
  });

  it('pings and reports the round-trip time on the pong', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--ping', 'are you there', '--json']);
    expect(r.code).toBe(0);
    const frames = framesOf(events(r.stdout));
    const ping = frames.find((f) => f.opcode === 9)!;
    const pong = frames.find((f) => f.opcode === 10)!;
    expect(payloadText(ping)).toBe('are you there');
    expect(payloadText(pong)).toBe('are you there');
    expect(pong.rtt).toBeGreaterThanOrEqual(0);
    expect(pong.rtt).toBeCloseTo(pong.time - ping.time, 3);
    expect(server.pings.map((p) => p.data.toString())).toEqual(['are you there']);
  });

  it('closes with the code and reason given', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--close', '4001:done here', '--json']);
    expect(r.code).toBe(0);
    expect(await server.waitForClose()).toMatchObject({ code: 4001, reason: 'done here' });
    const ev = events(r.stdout);
    expect(ev.at(-1)).toMatchObject({ event: 'close', code: 4001, reason: 'done here', by: 'client', clean: true });
  });

  it('records a close the server starts, and answers it', async () => {
    const server = await wsServer({ onConnection: (ws) => ws.close(1001, 'going away') });
    const r = await runCli(['connect', server.url, '--expect', '1', '--timeout', '5000', '--json']);
    // The server went away before the expected message: that is a failure, said clearly.
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/closed with 1001 "going away" by the server after 0 of 1 expected messages/);
    const ev = events(r.stdout);
    const closes = framesOf(ev).filter((f) => f.opcode === 8);
    expect(closes.map((f) => [f.from, f.close?.code])).toEqual([['server', 1001], ['client', 1001]]);
    expect(ev.find((e) => e.event === 'close')).toMatchObject({ code: 1001, reason: 'going away', by: 'server', clean: true });
  });

  it('offers subprotocols and records the one chosen', async () => {
    const server = await wsServer({ handleProtocols: ['superchat'] });
    const r = await runCli(['connect', server.url, '-p', 'chat', '-p', 'superchat', '--close', '--json']);
    expect(r.code).toBe(0);
    const hs = events(r.stdout).find((e) => e.event === 'handshake') as Extract<EngineEventJson, { event: 'handshake' }>;
    expect(hs.protocol).toBe('superchat');
    expect(hs.request.headers).toContainEqual(['Sec-WebSocket-Protocol', 'chat, superchat']);
    expect(server.handshakes[0]!.protocol).toBe('superchat');
  });

  it('sends extra headers in order and case', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '-H', 'X-Trace: abc', '-H', 'authorization: Bearer t0k', '--close']);
    expect(r.code).toBe(0);
    const raw = server.handshakes[0]!.rawHeaders;
    const names = raw.filter((_, i) => i % 2 === 0);
    expect(names.indexOf('X-Trace')).toBeLessThan(names.indexOf('authorization'));
    expect(raw[raw.indexOf('authorization') + 1]).toBe('Bearer t0k');
  });

  it('negotiates permessage-deflate with context takeover and inflates what it receives', async () => {
    const server = await wsServer({ perMessageDeflate: true });
    const r = await runCli(['connect', server.url, '--send', 'Hello', '--send', 'Hello', '--expect', '2', '--json']);
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    const hs = ev.find((e) => e.event === 'handshake') as Extract<EngineEventJson, { event: 'handshake' }>;
    expect(hs.extensions[0]!.name).toBe('permessage-deflate');
    const fromServer = framesOf(ev).filter((f) => f.from === 'server' && f.opcode === 1);
    expect(fromServer.every((f) => f.rsv1)).toBe(true);
    expect(fromServer.map((f) => f.message && Buffer.from(f.message.data, 'base64').toString())).toEqual(['Hello', 'Hello']);
    // With context takeover the second "Hello" is a back-reference: shorter on the wire.
    expect(fromServer[1]!.length).toBeLessThan(fromServer[0]!.length);
    expect(server.received.map((m) => m.data.toString())).toEqual(['Hello', 'Hello']);
  });

  it('permessage-deflate without context takeover, and a limited window', async () => {
    const server = await wsServer({
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10 },
    });
    const r = await runCli(['connect', server.url, '--send', 'Hello', '--send', 'Hello', '--expect', '2', '--json']);
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    const hs = ev.find((e) => e.event === 'handshake') as Extract<EngineEventJson, { event: 'handshake' }>;
    expect(hs.extensions[0]!.params).toMatchObject({ server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: '10' });
    const fromServer = framesOf(ev).filter((f) => f.from === 'server' && f.opcode === 1);
    expect(fromServer[0]!.payload).toBe(fromServer[1]!.payload);
    const fromClient = framesOf(ev).filter((f) => f.from === 'client' && f.opcode === 1);
    expect(fromClient[0]!.payload).toBe(fromClient[1]!.payload);
    expect(server.received.map((m) => m.data.toString())).toEqual(['Hello', 'Hello']);
  });

  it('--no-deflate offers no extension', async () => {
    const server = await wsServer({ perMessageDeflate: true });
    const r = await runCli(['connect', server.url, '--no-deflate', '--close', '--json']);
    expect(r.code).toBe(0);
    expect(server.handshakes[0]!.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('writes a capture v1 file with every frame', async () => {
    const server = await wsServer();
    const file = join(tmp(), 'c.wscap.json');
    const r = await runCli(['connect', server.url, '--send', 'a', '--expect', '1', '--capture', file]);
    expect(r.code).toBe(0);
    const cap = JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson;
    expect(cap).toMatchObject({ format: 'framescope.capture', version: 1 });
    expect(Date.parse(cap.createdAt)).not.toBeNaN();
    const c = cap.connections[0]!;
    expect(c).toMatchObject({ mode: 'client', url: server.url, tls: null, close: { code: 1000, clean: true }, errors: [] });
    expect(c.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(c.server).toBe(`127.0.0.1:${server.port}`);
    expect(c.frames.map((f) => [f.from, f.opcode])).toEqual([['client', 1], ['server', 1], ['client', 8], ['server', 8]]);
    expect(c.endedAt).toBeGreaterThanOrEqual(c.startedAt);
    expect(c.handshake!.accept.valid).toBe(true);
  });

  it('a capture that cannot be written: the session runs, then exit 1 and one line saying why', async () => {
    const server = await wsServer();
    const file = join(tmp(), 'no-such-dir', 'c.wscap.json');
    const r = await runCli(['connect', server.url, '--send', 'a', '--expect', '1', '--capture', file]);
    expect(r.code).toBe(1);
    expect(server.received.map((m) => m.data.toString())).toEqual(['a']);
    expect(r.stderr).toBe(`framescope: cannot write the capture ${file}: no such file or directory\n`);
  });

  it('reads stdin lines as text messages when given nothing to do (like wscat)', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--json'], { stdin: 'first line\nsecond line\n' });
    expect(r.code).toBe(0);
    await server.waitForMessages(2);
    expect(server.received.map((m) => m.data.toString())).toEqual(['first line', 'second line']);
    expect(events(r.stdout).at(-1)).toMatchObject({ event: 'close', code: 1000 });
  });

  it('works over IPv6 loopback', async (ctx) => {
    if (!(await ipv6LoopbackAvailable())) ctx.skip();
    const server = await wsServer({ host: '::1' });
    const r = await runCli(['connect', server.url, '--send', 'v6', '--expect', '1', '--json']);
    expect(r.code).toBe(0);
    const hs = events(r.stdout).find((e) => e.event === 'handshake') as Extract<EngineEventJson, { event: 'handshake' }>;
    expect(hs.request.headers).toContainEqual(['Host', `[::1]:${server.port}`]);
  });
});

// README: the capture is written in every case. A reader that goes away (`| head -1`)
// stops the printing, not the recording.
describe('connect with its stdout closed early, as `| head -1` does', () => {
  for (const view of ['--json', 'the human view'] as const) {
    it(`${view}: printing stops quietly, the command goes on, the capture holds everything, exit 0`, async () => {
      const server = await wsServer({ echo: false, onConnection: (socket) => socket.send('first') });
      const capture = join(tmp(), 'piped.wscap.json');
      const proc = spawnCli(['connect', server.url, '--expect', '3', '--capture', capture, ...(view === '--json' ? ['--json'] : [])]);
      cleanup.push(async () => void (await proc.stop('SIGKILL')));
      await proc.waitForLine(view === '--json' ? /"event":"frame"/ : /"first"/);
      // The reader goes away: every later line the command prints meets a closed pipe (EPIPE).
      proc.child.stdout!.destroy();
      const index = await server.nextConnection();
      server.sockets[index]!.send('second');
      server.sockets[index]!.send('third');
      const r = await proc.exited;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const file = JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
      const conn = file.connections[0]!;
      expect(conn.frames.filter((f) => f.opcode === 1).map((f) => [f.from, payloadText(f)])).toEqual([
        ['server', 'first'],
        ['server', 'second'],
        ['server', 'third'],
      ]);
      expect(conn.close).toMatchObject({ code: 1000, by: 'client', clean: true });
    });
  }
});

describe('wss:// with certificates', () => {
  it('rejects a self-signed certificate by default', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: pki.selfSigned });
    const file = join(tmp(), 'c.json');
    const r = await runCli(['connect', server.url, '--close', '--capture', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/TLS failed with 127\.0\.0\.1:\d+: .*self[- ]signed/i);
    expect(JSON.parse(readFileSync(file, 'utf8')).connections[0].errors[0]).toMatch(/TLS/);
  });

  it('accepts it with --insecure, and records that it was not authorized', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: pki.selfSigned });
    const file = join(tmp(), 'c.json');
    const r = await runCli(['connect', server.url, '--insecure', '--send', 'x', '--expect', '1', '--capture', file]);
    expect(r.code).toBe(0);
    const tls = (JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson).connections[0]!.tls!;
    expect(tls).toMatchObject({ authorized: false, servername: null });
    expect(tls.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(tls.authorizationError).toMatch(/SELF_SIGNED/);
    expect(tls.peerCertificate?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('accepts a server whose CA is given with --ca, and sends SNI for a name', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: pki.leaf });
    const file = join(tmp(), 'c.json');
    const url = server.url.replace('127.0.0.1', 'localhost');
    const r = await runCli(['connect', url, '--ca', pki.caFile, '--send', 'x', '--expect', '1', '--capture', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const tls = (JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson).connections[0]!.tls!;
    expect(tls).toMatchObject({ authorized: true, servername: 'localhost' });
    expect(tls.peerCertificate?.issuer).toMatch(/Framescope Test CA/);
  });
});

describe('bad servers: exit 1, one clear line, and the capture keeps what arrived', () => {
  async function run(url: string, extra: string[] = []) {
    const file = join(tmp(), 'c.json');
    const r = await runCli(['connect', url, '--send', 'x', '--expect', '1', '--timeout', '3000', '--capture', file, ...extra]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^framescope: /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const cap = JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson;
    return { r, line: lines[0]!, conn: cap.connections[0]! };
  }

  it('a 200 answer', async () => {
    const s = await badServer(bad.answers200());
    const { line, conn } = await run(s.url);
    expect(line).toMatch(/handshake.*127\.0\.0\.1:\d+.*200/);
    expect(conn.handshake!.response!.status).toBe(200);
    expect(conn.handshake!.checks.find((c) => c.id === 'status-101')!.ok).toBe(false);
  });

  it('101 without Upgrade', async () => {
    const s = await badServer(bad.upgradeWithoutUpgradeHeader());
    const { line, conn } = await run(s.url);
    expect(line).toMatch(/Upgrade/);
    expect(conn.handshake!.checks.find((c) => c.id === 'upgrade-websocket')!.ok).toBe(false);
  });

  it('a wrong Accept', async () => {
    const s = await badServer(bad.wrongAccept());
    const { line, conn } = await run(s.url);
    expect(line).toMatch(/Accept/);
    expect(conn.handshake!.accept.valid).toBe(false);
    expect(conn.handshake!.accept.received).not.toBe(conn.handshake!.accept.expected);
  });

  it('a header block that never ends', async () => {
    const s = await badServer(bad.endlessHeaders({ intervalMs: 1, valueBytes: 1000 }));
    const { line } = await run(s.url);
    expect(line).toMatch(/handshake|head/i);
  });

  it('garbage after the handshake', async () => {
    const s = await badServer(bad.garbageAfterHandshake());
    const { line, conn } = await run(s.url);
    expect(line).toMatch(/protocol violation by the server/);
    const fromServer = conn.frames.filter((f) => f.from === 'server');
    expect(fromServer[0]!.violations!.length).toBeGreaterThan(0);
    // The client failed the connection with a close frame (1002).
    expect(conn.frames.filter((f) => f.from === 'client' && f.opcode === 8)[0]!.close!.code).toBe(1002);
  });

  it('a 2^63 length', async () => {
    const s = await badServer(bad.hugeLength());
    const { line, conn } = await run(s.url);
    expect(line).toMatch(/length-top-bit-set/);
    expect(conn.frames.find((f) => f.from === 'server')).toMatchObject({ header: '827f8000000000000000', truncated: true });
  });

  it('a connection dropped mid-frame', async () => {
    const s = await badServer(bad.dropMidFrame());
    const { line, conn } = await run(s.url);
    expect(line).toMatch(/ended|reset|closed/);
    const partial = conn.frames.find((f) => f.from === 'server')!;
    expect(partial).toMatchObject({ length: 100, truncated: true, stored: 10 });
    expect(partial.violations!.map((v) => v.id)).toContain('truncated-frame');
  });

  it('nothing at all (times out)', async () => {
    const s = await badServer(bad.silent());
    const { line, conn } = await run(s.url, ['--timeout', '500']);
    expect(line).toMatch(/timed out after 500 ms/);
    expect(conn.handshake).toBeNull();
  });

  it('a refused connection', async () => {
    const s = await bad.refused();
    const { line } = await run(s.url);
    expect(line).toMatch(/connection refused \(127\.0\.0\.1:\d+\)/);
  });
});

describe('usage errors: exit 2, one line, no stack trace', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['not a ws URL', ['connect', 'http://127.0.0.1:1/'], /ws:\/\/ or wss:\/\//],
    ['no URL', ['connect'], /missing required argument/],
    ['a bad close code', ['connect', 'ws://127.0.0.1:1/', '--close', '1005'], /--close/],
    ['bad hex', ['connect', 'ws://127.0.0.1:1/', '--send-hex', 'zz'], /hex/],
    ['a bad header', ['connect', 'ws://127.0.0.1:1/', '-H', 'nocolon'], /Name: value/],
    ['an unknown option', ['connect', 'ws://127.0.0.1:1/', '--bogus'], /unknown option/],
    ['an unknown command', ['bogus'], /unknown command/],
    ['decode of a file without an HTTP head, without --from', ['decode', 'bin/framescope.js'], /--from/],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
