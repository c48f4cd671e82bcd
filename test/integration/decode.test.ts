// `framescope decode` on byte streams written by an independent encoder (ws's Sender), by
// hand from the RFC examples, and saved from a real exchange between ws's client and server.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { EngineEventJson } from '../../shared/model';
import { runCli, spawnCli } from '../peers/cli';
import { EventLog } from '../../main/engine/recording/event-log';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';

// ws exports only its public API; its Sender is reached by path, as an independent encoder.
const Sender: unknown = createRequire(import.meta.url)('../../node_modules/ws/lib/sender.js');

const dir = mkdtempSync(join(tmpdir(), 'framescope-decode-'));
function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

interface SenderFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
  maskBuffer?: Buffer;
  generateMask?: (mask: Buffer) => void;
}
const wsFrame = (data: Buffer, o: Partial<SenderFrameOptions>): Buffer =>
  Buffer.concat(
    (Sender as unknown as { frame(d: Buffer, o: SenderFrameOptions): Buffer[] }).frame(data, {
      fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false, ...o,
    }),
  );

/** The files of the built CLI that loading `entry` loads (its static imports, followed). */
function staticImports(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (path: string) => {
    if (seen.has(path)) return;
    const text = readFileSync(path, 'utf8');
    seen.set(path, text);
    for (const m of text.matchAll(/^import\s[^;]*?from\s*"(\.[^"]+)"|^import\s*"(\.[^"]+)"/gm)) walk(resolve(dirname(path), (m[1] ?? m[2])!));
  };
  walk(entry);
  return seen;
}

describe('decode: what it loads', () => {
  // The decoders' libraries are most of the CLI's code; loading them was about a tenth of
  // what `decode --stats` cost on small frames, and it decodes no message.
  it('the CLI and the decode command load no decoder library until a message is decoded', () => {
    const cli = fileURLToPath(new URL('../../app/dist/cli/', import.meta.url));
    for (const entry of ['cli.js', 'chunks/decode.js']) {
      const loaded = [...staticImports(join(cli, entry)).values()].join('\n');
      for (const lib of ['protobufjs', 'cbor-x', 'mqtt-packet', '@msgpack/msgpack']) expect(loaded.includes(`// node_modules/${lib}/`), `${entry} loads ${lib}`).toBe(false);
    }
  });
});

describe('decode', () => {
  // A client stream as ws writes it: masked text, fragmented binary, ping, close.
  const mask = (m: Buffer) => m.set([1, 2, 3, 4]);
  const stream = Buffer.concat([
    wsFrame(Buffer.from('hello'), { mask: true, generateMask: mask }),
    wsFrame(Buffer.alloc(300, 7), { opcode: 2, fin: false, mask: true, generateMask: mask }),
    wsFrame(Buffer.from('p'), { opcode: 9, mask: true, generateMask: mask }),
    wsFrame(Buffer.alloc(70000, 8), { opcode: 0, fin: true, mask: true, generateMask: mask }),
    wsFrame(Buffer.from([0x03, 0xe8]), { opcode: 8, mask: true, generateMask: mask }),
  ]);

  it('--stats prints one JSON line of counts', async () => {
    const r = await runCli(['decode', file('client.bin', stream), '--from', 'client', '--stats']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ frames: 5, bytes: stream.length, messages: 2, violations: 0 });
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('--json prints a frame event per frame with every field', async () => {
    const r = await runCli(['decode', file('client2.bin', stream), '--from', 'client', '--json']);
    expect(r.code).toBe(0);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEventJson, { event: 'frame' }>);
    expect(ev.map((e) => [e.event, e.opcode, e.fin, e.length, e.maskKey])).toEqual([
      ['frame', 1, true, 5, '01020304'],
      ['frame', 2, false, 300, '01020304'],
      ['frame', 9, true, 1, '01020304'],
      ['frame', 0, true, 70000, '01020304'],
      ['frame', 8, true, 2, '01020304'],
    ]);
    expect(Buffer.from(ev[0]!.payload, 'base64').toString()).toBe('hello');
    expect(ev[3]!.message).toMatchObject({ opcode: 2, length: 70300 });
    expect(ev[3]!.header).toBe('80ff0000000000011170' + '01020304');
    expect(ev[4]!.close).toEqual({ code: 1000, reason: '' });
  });

  it('the same stream read as a server stream: every client frame is a violation', async () => {
    const r = await runCli(['decode', file('client3.bin', stream), '--from', 'server', '--stats']);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 5, violations: 5 });
  });

  it('shows violations and keeps decoding after them (observer stance)', async () => {
    const bytes = Buffer.from('8300' + 'c10548656c6c6f' + '810548656c6c6f', 'hex');
    const r = await runCli(['decode', file('bad.bin', bytes), '--from', 'server']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reserved-opcode/);
    expect(r.stdout).toMatch(/rsv-without-extension/);
    expect(r.stdout.match(/"Hello"/g)).toHaveLength(1);
  });

  it('inflates permessage-deflate with --deflate (RFC 7692 §7.2.3.2, context takeover)', async () => {
    const bytes = Buffer.from('c107f248cdc9c90700' + 'c105f200110000', 'hex');
    const r = await runCli(['decode', file('deflate.bin', bytes), '--from', 'server', '--deflate', '--json']);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEventJson, { event: 'frame' }>);
    expect(ev.map((e) => Buffer.from(e.message!.data, 'base64').toString())).toEqual(['Hello', 'Hello']);
  });

  it('a stream cut mid-frame: the partial frame is reported', async () => {
    const r = await runCli(['decode', file('cut.bin', stream.subarray(0, 20)), '--from', 'client', '--json']);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEventJson, { event: 'frame' }>);
    expect(ev.at(-1)!.violations!.map((v) => v.id)).toContain('truncated-frame');
  });

  it('--json keeps lines in wire order across small frames and ones too long for the line buffer', async () => {
    // Small lines are written as bytes into the turn's buffer; a line past 1 MiB goes out on
    // its own after them. Order and every byte must hold across both.
    const sizes = [3, 70_000, 5, 900_000, 1, 2_000_000, 0, 40];
    const payloads = sizes.map((n, i) => Buffer.alloc(n, 0x41 + i));
    const stream = Buffer.concat(payloads.map((p) => wsFrame(p, { opcode: 2 })));
    const r = await runCli(['decode', file('mixed.bin', stream), '--from', 'server', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEventJson, { event: 'frame' }>);
    expect(frames.map((f) => f.seq)).toEqual(sizes.map((_, i) => i));
    frames.forEach((f, i) => expect(Buffer.from(f.payload, 'base64').equals(payloads[i]!)).toBe(true));
  });

  it('every payload byte is where it was, whatever the frame sizes: reads follow the frames (small, then large, then small)', async () => {
    // Random bytes, so a payload read from the wrong place cannot pass; sizes that cross the
    // small and large reads' boundaries, a fragmented message across them, masked frames.
    const sizes = [40, 65_536, 65_537, 3, 300_000, 17, 1_048_576 + 5, 2, 131_072, 0, 90_000, 125];
    const payloads = sizes.map((n) => randomBytes(n));
    const parts = payloads.map((p, i) =>
      i === 5 || i === 6
        ? wsFrame(p, { opcode: i === 5 ? 2 : 0, fin: i === 6, mask: true, generateMask: mask })
        : wsFrame(p, { opcode: 2, mask: true, generateMask: (m: Buffer) => m.set(randomBytes(4)) }),
    );
    const r = await runCli(['decode', file('sizes.bin', Buffer.concat(parts)), '--from', 'client', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEventJson, { event: 'frame' }>);
    expect(frames.map((f) => f.length)).toEqual(sizes);
    frames.forEach((f, i) => expect(Buffer.from(f.payload, 'base64').equals(payloads[i]!), `frame ${i}`).toBe(true));
    expect(frames[6]!.message).toMatchObject({ opcode: 2, length: sizes[5]! + sizes[6]! });
    expect(frames.flatMap((f) => f.violations ?? [])).toEqual([]);
  });

  it('a reader that goes away (`| head -1`) ends it, exit 0, however long the stream', async () => {
    // 64 GiB of zero bytes (a sparse file: no disk): empty continuation frames, each with a
    // violation, far more than could be decoded while the test waits. The command must see
    // the closed pipe while it reads, not at the end.
    const path = join(dir, 'endless.bin');
    writeFileSync(path, '');
    truncateSync(path, 64 * 1024 ** 3);
    const proc = spawnCli(['decode', path, '--from', 'server']);
    // Also if the test times out: the child would decode for hours.
    onTestFinished(async () => {
      await proc.stop('SIGKILL');
      rmSync(path, { force: true });
    });
    await proc.waitForLine(/unexpected-continuation/);
    proc.child.stdout!.destroy();
    const r = await proc.exited;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('a missing file is a usage error', async () => {
    const r = await runCli(['decode', join(dir, 'nope.bin'), '--from', 'client']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*nope\.bin: no such file/);
  });
});

/**
 * A real exchange: ws's client and ws's server (permessage-deflate, every message
 * compressed), through a TCP relay that keeps each direction's bytes as they crossed.
 */
async function recordExchange(server: WsTestServer, messages: Array<string | Buffer>): Promise<{ client: Buffer; server: Buffer }> {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  let ended = 0;
  let done!: () => void;
  const bothEnded = new Promise<void>((r) => (done = r));
  const relay = net.createServer((down) => {
    const up = net.connect(server.port, '127.0.0.1');
    down.on('data', (d) => (toServer.push(d), up.write(d)));
    up.on('data', (d) => (toClient.push(d), down.write(d)));
    for (const [a, b] of [[down, up], [up, down]] as const) {
      a.on('end', () => b.end());
      a.on('close', () => ++ended === 2 && done());
      a.on('error', () => b.destroy());
    }
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as net.AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?room=1`, { perMessageDeflate: { threshold: 0 } });
  const echoes: unknown[] = [];
  let wake = () => {};
  ws.on('message', (d) => (echoes.push(d), wake()));
  await new Promise<void>((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  for (const m of messages) ws.send(m);
  while (echoes.length < messages.length) await new Promise<void>((r) => (wake = r));
  ws.close(1000, 'done');
  await bothEnded;
  await new Promise<void>((r) => relay.close(() => r()));
  return { client: Buffer.concat(toServer), server: Buffer.concat(toClient) };
}

type FrameEvent = Extract<EngineEventJson, { event: 'frame' }>;
const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const messageText = (f: FrameEvent) => Buffer.from(f.message!.data, 'base64').toString('latin1');

describe('decode a stream saved whole, from its HTTP upgrade head on', () => {
  const sent = ['hello', 'hello again, hello', Buffer.alloc(70_000, 'ab'), 'gamma ✓'];
  const want = sent.map((m) => (typeof m === 'string' ? Buffer.from(m).toString('latin1') : m.toString('latin1')));
  let server: WsTestServer;
  let clientFile = '';
  let serverFile = '';
  beforeAll(async () => {
    server = await startWsServer({ perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 10 } });
    const bytes = await recordExchange(server, sent);
    // Real bytes: each side's head, then its frames.
    expect(bytes.client.subarray(0, 4).toString()).toBe('GET ');
    expect(bytes.server.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
    clientFile = file('exchange-client.bin', bytes.client);
    serverFile = file('exchange-server.bin', bytes.server);
  });
  afterAll(() => server.close());

  it("--json: the server's stream with the request head given: the handshake event, then the frames inflated as negotiated", async () => {
    const r = await runCli(['decode', serverFile, '--head', clientFile, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [hs, ...rest] = lines(r.stdout);
    expect(hs).toMatchObject({
      event: 'handshake',
      request: { method: 'GET', target: '/chat?room=1' },
      response: { status: 101 },
      accept: { valid: true },
      extensions: [{ name: 'permessage-deflate' }],
    });
    expect((hs!.checks as Array<{ ok: boolean }>).every((c) => c.ok)).toBe(true);
    const frames = rest as unknown as FrameEvent[];
    expect(frames.every((f) => f.event === 'frame' && f.from === 'server' && !f.masked && (f.violations ?? []).length === 0)).toBe(true);
    const data = frames.filter((f) => f.opcode === 1 || f.opcode === 2);
    expect(data.every((f) => f.rsv1)).toBe(true);
    expect(data.map(messageText)).toEqual(want);
    expect(frames.at(-1)).toMatchObject({ opcode: 8, close: { code: 1000, reason: 'done' } });
  });

  it("--json: the client's stream with the response head given: masked frames, inflated", async () => {
    const r = await runCli(['decode', clientFile, '--head', serverFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [hs, ...rest] = lines(r.stdout);
    expect(hs).toMatchObject({ event: 'handshake', accept: { valid: true }, response: { status: 101 } });
    const frames = rest as unknown as FrameEvent[];
    expect(frames.every((f) => f.from === 'client' && f.masked && (f.violations ?? []).length === 0)).toBe(true);
    expect(frames.filter((f) => f.opcode <= 2).map(messageText)).toEqual(want);
  });

  it('one head alone: the handshake event has the other side null; the response states the deflate terms by itself', async () => {
    const s = await runCli(['decode', serverFile, '--json']);
    expect(s.code, s.stderr).toBe(0);
    const [shs, ...sframes] = lines(s.stdout);
    expect(shs).toMatchObject({ event: 'handshake', request: null, accept: null, response: { status: 101 }, extensions: [{ name: 'permessage-deflate' }] });
    expect((sframes as unknown as FrameEvent[]).filter((f) => f.opcode <= 2).map(messageText)).toEqual(want);

    // The request offers deflate but does not say it was accepted: the frames' RSV1 is a
    // violation, unless --deflate says to inflate.
    const c = await runCli(['decode', clientFile, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const [chs, ...cframes] = lines(c.stdout);
    expect(chs).toMatchObject({ event: 'handshake', response: null, accept: null, request: { target: '/chat?room=1' } });
    expect((chs!.checks as Array<{ id: string; ok: boolean }>).map((x) => [x.id, x.ok])).toContainEqual(['key', true]);
    expect((cframes as unknown as FrameEvent[])[0]!.violations!.map((v) => v.id)).toContain('rsv-without-extension');
    const d = await runCli(['decode', clientFile, '--json', '--deflate']);
    expect((lines(d.stdout).slice(1) as unknown as FrameEvent[]).filter((f) => f.opcode <= 2).map(messageText)).toEqual(want);
  });

  it('the human view shows both heads as the handshake, then the frames', async () => {
    const r = await runCli(['decode', serverFile, '--head', clientFile]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split('\n');
    expect(out[0]).toBe('> GET /chat?room=1 HTTP/1.1');
    expect(out).toContain('< HTTP/1.1 101 Switching Protocols');
    expect(r.stdout).toMatch(/^Accept valid: /m);
    expect(r.stdout).toMatch(/← server .*"hello again, hello"/);
    expect(r.stdout).not.toMatch(/check failed|! error/);
  });

  it('--stats counts the frames after the head; --from agrees with the head or is a usage error', async () => {
    const r = await runCli(['decode', serverFile, '--stats', '--from', 'server']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: sent.length + 1, messages: sent.length, violations: 0 });
    const wrong = await runCli(['decode', serverFile, '--from', 'client']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^framescope: .* starts with an HTTP response, so its frames are the server's, not the client's \(--from client\)\n$/);
    const same = await runCli(['decode', serverFile, '--head', serverFile]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--head takes the other direction's/);
  });

  it('both directions in one file is refused in one line: they cannot be told apart', async () => {
    const both = file('both.bin', Buffer.concat([Buffer.from(lines0(clientFile)), Buffer.from(lines0(serverFile))]));
    const r = await runCli(['decode', both, '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^framescope: .*both\.bin holds both directions .*--head\n$/);
  });
});

/** A file's HTTP head (up to its blank line). */
function lines0(path: string): Buffer {
  const bytes = readFileSync(path);
  return bytes.subarray(0, bytes.indexOf('\r\n\r\n') + 4);
}

describe('decode refuses what is not a WebSocket byte stream, in one line, exit 1', () => {
  let server: WsTestServer;
  beforeAll(async () => {
    server = await startWsServer();
  });
  afterAll(() => server.close());

  /** One line on stderr, nothing on stdout, exit 1. */
  const refused = async (path: string, pattern: RegExp) => {
    const r = await runCli(['decode', path]);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(1);
  };

  it('a capture, a journal, a HAR (JSON): points to import and export', async () => {
    const capture = join(dir, 'session.wscap.json');
    const made = await runCli(['connect', server.url, '--send', 'hi', '--expect', '1', '--capture', capture]);
    expect(made.code, made.stderr).toBe(0);
    await refused(capture, /session\.wscap\.json is JSON .*not a WebSocket byte stream: `framescope import .*`framescope export /);
    await refused(file('session.har', Buffer.from('  {"log":{"version":"1.2","entries":[]}}')), /is JSON/);
  });

  it('a journal (the event log of --capture): points to import', async () => {
    const path = join(dir, 'left.wscap.json.journal');
    const log = new EventLog(path);
    log.append({ event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://127.0.0.1:1/', client: null, server: null, startedAt: 1, tls: null });
    log.close();
    await refused(path, /left\.wscap\.json\.journal is a Framescope journal \(an event log\), not a WebSocket byte stream: `framescope import /);
  });

  it("a pcapng written by `framescope export`: says how to get one direction's raw bytes", async () => {
    const capture = join(dir, 'for-pcap.wscap.json');
    expect((await runCli(['connect', server.url, '--send', 'hi', '--expect', '1', '--capture', capture])).code).toBe(0);
    const pcap = join(dir, 'session.pcapng');
    expect((await runCli(['export', capture, '--format', 'pcapng', '-o', pcap])).code).toBe(0);
    await refused(pcap, /is a pcapng packet capture, not a WebSocket byte stream: .*Follow › TCP Stream/);
  });

  it('an HTTP response that is not 101 (a plain request answered), and a request that is not an upgrade', async () => {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1');
      const got: Buffer[] = [];
      s.on('data', (d) => got.push(d));
      s.on('end', () => resolve(Buffer.concat(got)));
      s.on('error', reject);
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
    await refused(file('426.bin', answer), /426.bin starts with an HTTP response 426 Upgrade Required, not 101 Switching Protocols/);
    await refused(file('post.bin', Buffer.from('POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}')), /not a WebSocket upgrade/);
  });

  it('a raw stream without --from is a usage error (exit 2): nothing says who sent it', async () => {
    const r = await runCli(['decode', file('raw.bin', Buffer.from('810548656c6c6f', 'hex'))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^framescope: --from client\|server is required: .*raw\.bin does not start with an HTTP head/);
  });
});
