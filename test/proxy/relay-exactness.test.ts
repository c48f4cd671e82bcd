// The reverse proxy end to end between a `ws` client and a `ws` echo server: every message
// arrives byte-identical at both ends, and the recording holds every frame's payload
// exactly — whether the sink encodes each event during its call (as the CLI's journal
// does) or keeps the event objects and reads them afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { WebSocket, type ClientOptions } from 'ws';
import type { EngineEvent, EngineEventJson, FrameJson } from '../../shared/model';
import { eventToJson } from '../../shared/records';
import { ProxyServer, type ProxyOptions } from '../../main/engine/proxy/server';
import { startWsServer, type WsServerOptions } from '../peers/ws-servers';
import { testPki } from '../peers/pki';
import { prng, randomBytes } from '../peers/random';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

// -- test data --------------------------------------------------------------------------

/** Sizes from 1 B to `max`, spread evenly on a log scale (many small, some near the max). */
function logSize(rand: () => number, max: number): number {
  return Math.max(1, Math.min(max, Math.round(Math.exp(rand() * Math.log(max)))));
}

/** Text mixing 1-, 2-, 3- and 4-byte UTF-8 sequences. */
function randomText(chars: number, rand: () => number): string {
  let s = '';
  for (let i = 0; i < chars; i++) {
    const kind = rand();
    let cp: number;
    if (kind < 0.3) cp = 0x20 + Math.floor(rand() * 0x5f);
    else if (kind < 0.55) cp = 0x80 + Math.floor(rand() * (0x800 - 0x80));
    else if (kind < 0.85) {
      cp = 0x800 + Math.floor(rand() * (0x10000 - 0x800));
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x20ac; // no lone surrogates
    } else cp = 0x10000 + Math.floor(rand() * (0x110000 - 0x10000));
    s += String.fromCodePoint(cp);
  }
  return s;
}

interface Outgoing {
  /** the message's bytes (text: its UTF-8) */
  data: Buffer;
  text: boolean;
  /** sent as these fragments (`send(piece, { fin: false })` …), else in one send */
  pieces?: Buffer[];
}

const MAX_BINARY = 400 * 1024;

/**
 * 200 distinct random binary messages of 1 B..400 KiB, 20 text messages with multi-byte
 * UTF-8, and 12 fragmented ones (text cut inside characters, binary, an empty fragment),
 * shuffled together.
 */
function messages(seed: number): Outgoing[] {
  const rand = prng(seed);
  const out: Outgoing[] = [];
  const seen = new Set<string>();
  const distinct = (b: Buffer) => {
    const k = createHash('sha256').update(b).digest('hex');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  };
  while (out.length < 200) {
    // The extremes for sure, then random sizes.
    const size = out.length === 0 ? 1 : out.length === 1 ? MAX_BINARY : logSize(rand, MAX_BINARY);
    const data = randomBytes(size, rand);
    if (distinct(data)) out.push({ data, text: false });
  }
  for (let i = 0; i < 20; i++) {
    const data = Buffer.from(randomText(i === 0 ? 1 : logSize(rand, 60_000), rand), 'utf8');
    if (distinct(data)) out.push({ data, text: true });
  }
  for (let i = 0; i < 12; i++) {
    const text = i % 2 === 0;
    const data = text ? Buffer.from(randomText(1 + logSize(rand, 40_000), rand), 'utf8') : randomBytes(2 + logSize(rand, 200_000), rand);
    if (!distinct(data)) continue;
    // Cut at random byte offsets: text fragments then end inside characters.
    const cuts = new Set<number>();
    const n = Math.min(data.length - 1, 1 + Math.floor(rand() * 4));
    while (cuts.size < n) cuts.add(1 + Math.floor(rand() * (data.length - 1)));
    const at = [0, ...[...cuts].sort((a, b) => a - b), data.length];
    const pieces = at.slice(1).map((end, j) => data.subarray(at[j]!, end));
    if (i === 1) pieces.splice(1, 0, Buffer.alloc(0)); // an empty fragment in the middle
    out.push({ data, text, pieces });
  }
  // Fisher–Yates with the same generator.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// -- the wire, decoded independently of the code under test -----------------------------

interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  maskKey: string | null;
  header: string;
  /** unmasked */
  payload: Buffer;
}

/** Splits a byte stream into RFC 6455 frames (whole frames only: the stream must be complete). */
function decodeFrames(bytes: Buffer): WireFrame[] {
  const out: WireFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    at += 2;
    let length = b1 & 0x7f;
    if (length === 126) {
      length = bytes.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    let mask: Buffer | null = null;
    if (b1 & 0x80) {
      mask = bytes.subarray(at, at + 4);
      at += 4;
    }
    if (at + length > bytes.length) throw new Error(`the stream ends inside a frame at byte ${start}`);
    const payload = Buffer.from(bytes.subarray(at, at + length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    out.push({
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      opcode: b0 & 0x0f,
      maskKey: mask ? mask.toString('hex') : null,
      header: bytes.subarray(start, at).toString('hex'),
      payload,
    });
    at += length;
  }
  return out;
}

/** The bytes after the HTTP head. */
function afterHead(chunks: Buffer[]): Buffer {
  const all = Buffer.concat(chunks);
  return all.subarray(all.indexOf('\r\n\r\n') + 4);
}

// -- the setup --------------------------------------------------------------------------

type FrameEvent = Extract<EngineEventJson, { event: 'frame' }>;

interface Recording {
  /** the events as the sink got them (encoded during the call, or the objects themselves), as NDJSON has them */
  events(): EngineEventJson[];
  closed(): boolean;
}

/**
 * A sink as the CLI's journal is one (each event encoded during its call), or one that
 * keeps the event objects (read later).
 */
function recording(lend: boolean): { sink: (e: EngineEvent) => void; rec: Recording } {
  const lines: string[] = [];
  const kept: EngineEvent[] = [];
  let closes = 0;
  const sink = (e: EngineEvent) => {
    if (e.event === 'close') closes++;
    if (lend) lines.push(JSON.stringify(eventToJson(e)));
    else kept.push(e);
  };
  return {
    sink,
    rec: {
      // Read only now, after the exchange: objects kept are read long after their call.
      events: () => (lend ? lines : kept.map((e) => JSON.stringify(eventToJson(e)))).map((l) => JSON.parse(l) as EngineEventJson),
      closed: () => closes > 0,
    },
  };
}

interface Variant {
  /** the sink encodes each event during its call (else it keeps the objects) */
  lend: boolean;
}

async function setup(variant: Variant, serverOptions: WsServerOptions, proxyOptions: Partial<ProxyOptions> = {}) {
  const s = await startWsServer(serverOptions);
  cleanup.push(() => s.close());
  // What the server receives on the wire after the upgrade (masked client frames), per
  // connection: its HTTP server has read the request head by then. Copied, and before ws
  // sees them: ws unmasks payloads in place, in the very chunks the socket emitted.
  const serverTaps: Buffer[][] = [];
  s.server.on('connection', (_ws, req) => {
    const chunks: Buffer[] = [];
    serverTaps.push(chunks);
    req.socket.prependListener('data', (d: Buffer) => chunks.push(Buffer.from(d)));
  });
  const { sink, rec } = recording(variant.lend);
  const proxy = await ProxyServer.start({
    host: '127.0.0.1',
    port: 0,
    target: s.url,
    sink,
    ...proxyOptions,
  });
  cleanup.push(() => proxy.stop());
  return { s, proxy, url: `ws://127.0.0.1:${proxy.address.port}`, rec, serverTaps };
}

/**
 * A client through the proxy whose socket stops reading once open (the proxy's writes to
 * it back up), after it sends "go" to start the server's flood.
 */
async function pausedClient(url: string) {
  const c = client(url, { perMessageDeflate: false });
  await c.opened;
  const socket = (c.ws as unknown as { _socket: net.Socket })._socket;
  socket.pause();
  c.ws.send('go');
  return { c, socket };
}

/** A ws client with deterministic masks whose incoming wire bytes are tapped. */
function client(url: string, options: ClientOptions = {}) {
  const wire: Buffer[] = [];
  let n = 0;
  const ws = new WebSocket(url, {
    generateMask: (mask: Buffer) => mask.set([n++ & 0xff, (n >> 8) & 0xff, 0xa5, 0x3c]),
    createConnection: ((opts: net.NetConnectOpts) => {
      const socket = net.connect(opts);
      socket.on('data', (d: Buffer) => wire.push(Buffer.from(d)));
      return socket;
    }) as unknown as ClientOptions['createConnection'],
    ...options,
  });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data, isBinary) => {
    received.push({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), isBinary });
    wake?.();
  });
  let isClosed = false;
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.once('close', (code) => {
      isClosed = true;
      wake?.();
      resolve({ code });
    }),
  );
  /** Waits for `count` messages; fails if the connection closes first, or (safety net) stalls. */
  const waitFor = async (count: number) => {
    const deadline = Date.now() + 20_000;
    while (received.length < count) {
      if (isClosed) throw new Error(`the connection closed after ${received.length} of ${count} messages`);
      if (Date.now() > deadline) throw new Error(`gave up waiting: ${received.length} of ${count} messages arrived`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  return { ws, opened, wire, received, closed, waitFor };
}

/** Sends every message at once, as fast as ws takes them: no waiting for echoes. */
function sendAll(ws: WebSocket, out: Outgoing[]): void {
  for (const m of out) {
    if (!m.pieces) {
      ws.send(m.text ? m.data.toString('utf8') : m.data, { binary: !m.text });
      continue;
    }
    m.pieces.forEach((piece, i) => ws.send(piece, { binary: !m.text, fin: i === m.pieces!.length - 1 }));
  }
}

async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; !ready(); i++) {
    if (i > 3000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// -- the checks -------------------------------------------------------------------------

function frameEvents(events: EngineEventJson[]): FrameEvent[] {
  return events.filter((e): e is FrameEvent => e.event === 'frame');
}

/** The recorded frames of one direction are the frames on the wire: every field, every byte. */
function expectSameFrames(recorded: FrameJson[], wire: WireFrame[], from: string): void {
  expect(recorded.length, `${from} frames`).toBe(wire.length);
  for (let i = 0; i < wire.length; i++) {
    const r = recorded[i]!;
    const w = wire[i]!;
    const where = `${from} frame ${i} (seq ${r.seq})`;
    expect({ fin: r.fin, rsv1: r.rsv1, opcode: r.opcode, maskKey: r.maskKey, header: r.header, length: r.length }, where).toEqual({
      fin: w.fin,
      rsv1: w.rsv1,
      opcode: w.opcode,
      maskKey: w.maskKey,
      header: w.header,
      length: w.payload.length,
    });
    expect(r.truncated, where).toBeUndefined();
    // Compare bytes, not base64 text, so a failure says where they differ.
    const payload = Buffer.from(r.payload, 'base64');
    if (!payload.equals(w.payload)) {
      let at = 0;
      while (at < payload.length && payload[at] === w.payload[at]) at++;
      expect.fail(`${where}: the recorded payload differs from the wire's at byte ${at} of ${w.payload.length}`);
    }
  }
}

/** The data messages of one direction, as recorded: each final frame's message, whole. */
function recordedMessages(frames: FrameJson[], compressed: boolean): Array<{ data: Buffer; text: boolean }> {
  const out: Array<{ data: Buffer; text: boolean }> = [];
  let parts: Buffer[] = [];
  let first: FrameJson | null = null;
  for (const f of frames) {
    if (f.opcode > 2) continue;
    if (f.opcode !== 0) {
      first = f;
      parts = [];
    }
    parts.push(Buffer.from(f.payload, 'base64'));
    if (!f.fin) continue;
    const many = parts.length > 1;
    if (compressed || many) {
      // The message as the receiving app sees it: inflated, fragments joined.
      expect(f.message, `frame seq ${f.seq}`).toBeDefined();
      expect(f.message!.truncated).toBeUndefined();
      expect(f.message!.opcode).toBe(first!.opcode);
      const data = Buffer.from(f.message!.data, 'base64');
      expect(f.message!.length).toBe(data.length);
      if (!compressed) expect(data.equals(Buffer.concat(parts))).toBe(true);
      out.push({ data, text: first!.opcode === 1 });
    } else {
      // One uncompressed frame: the payload is the message, not recorded twice.
      expect(f.message).toBeUndefined();
      out.push({ data: parts[0]!, text: first!.opcode === 1 });
    }
  }
  return out;
}

function expectMessages(got: Array<{ data: Buffer; text: boolean }>, want: Outgoing[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(got[i]!.text, `${what} ${i}: text`).toBe(want[i]!.text);
    if (!got[i]!.data.equals(want[i]!.data)) expect.fail(`${what} ${i} (${want[i]!.data.length} bytes) is not the message sent`);
  }
}

/**
 * The random exchange: all messages sent at once, each echoed; then a close. Checks both
 * ends, the wire against the recording, and the recorded messages against what was sent.
 */
async function randomExchange(variant: Variant, seed: number, deflate: boolean, tls?: { certPem: string; keyPem: string }): Promise<void> {
  const { s, url, rec, serverTaps } = await setup(variant, { perMessageDeflate: deflate, tls }, { insecure: tls !== undefined });
  const out = messages(seed);
  const c = client(url, { perMessageDeflate: deflate ? { threshold: 0 } : false });
  await c.opened;
  sendAll(c.ws, out);
  await c.waitFor(out.length);

  // Both ends got every message, byte-identical, in order.
  expectMessages(
    s.received.map((m) => ({ data: m.data, text: !m.isBinary })),
    out,
    'server received message',
  );
  expectMessages(
    c.received.map((m) => ({ data: m.data, text: !m.isBinary })),
    out,
    'client received message',
  );

  c.ws.close(1000, 'done');
  await c.closed;
  await s.waitForClose(0);
  await until(() => rec.closed(), "the proxy's close event");

  const events = rec.events();
  const frames = frameEvents(events);
  expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  expect(new Set(frames.map((f) => f.connection)).size).toBe(1);
  const fromClient = frames.filter((f) => f.from === 'client');
  const fromServer = frames.filter((f) => f.from === 'server');
  // Every frame as it crossed, payload byte for byte (client frames unmasked).
  const clientWire = decodeFrames(Buffer.concat(serverTaps[0]!));
  const serverWire = decodeFrames(afterHead(c.wire));
  expectSameFrames(fromClient, clientWire, 'client');
  expectSameFrames(fromServer, serverWire, 'server');
  for (const f of fromClient) expect(f.masked).toBe(true);
  for (const f of fromServer) expect(f.masked).toBe(false);
  if (deflate) {
    expect(fromClient.filter((f) => f.opcode === 1 || f.opcode === 2).every((f) => f.rsv1)).toBe(true);
    expect(fromServer.filter((f) => f.opcode === 1 || f.opcode === 2).every((f) => f.rsv1)).toBe(true);
  }
  // And the messages: fragmented ones joined, compressed ones inflated.
  expectMessages(recordedMessages(fromClient, deflate), out, 'recorded client message');
  expectMessages(recordedMessages(fromServer, deflate), out, 'recorded server message');
  expect(fromClient.filter((f) => f.opcode === 0).length).toBeGreaterThan(0);
  expect(events.find((e) => e.event === 'error')).toBeUndefined();
  expect(events.at(-1)).toMatchObject({ event: 'close', code: 1000, reason: 'done', by: 'client', clean: true });
}

/** A 20 MB flood from the server to a client that stops reading for a while. */
async function slowReceiver(variant: Variant, seed: number): Promise<void> {
  const rand = prng(seed);
  const flood: Buffer[] = [];
  for (let total = 0; total < 20 * 1024 * 1024; ) {
    const m = randomBytes(64 * 1024 + Math.floor(rand() * 448 * 1024), rand);
    flood.push(m);
    total += m.length;
  }
  const { s, url, rec } = await setup(variant, {
    onConnection: (socket) =>
      socket.on('message', () => {
        for (const m of flood) socket.send(m);
      }),
  });
  const { c, socket } = await pausedClient(url);
  await s.waitForMessages(1);
  const server = s.sockets[0]!;
  // Not reading: the proxy's writes to the client back up, it stops reading the server, and
  // the server's own buffer stops draining. Wait (polls, not a deadline) until it has stood
  // still for a while, then read again.
  let last = -1;
  let still = 0;
  for (let i = 0; i < 400 && still < 10; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = server.bufferedAmount;
    still = now === last ? still + 1 : 0;
    last = now;
  }
  const receivedWhilePaused = c.received.length;
  // The flood did not fit in the buffers on the way: back-pressure reached the server.
  expect(server.bufferedAmount).toBeGreaterThan(0);
  expect(receivedWhilePaused).toBeLessThan(flood.length);
  socket.resume();
  await c.waitFor(flood.length);

  const hashOf = (parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
  expect(c.received.length).toBe(flood.length);
  c.received.forEach((m, i) => {
    if (!m.data.equals(flood[i]!)) expect.fail(`flood message ${i} arrived altered`);
  });
  expect(hashOf(c.received.map((m) => m.data))).toBe(hashOf(flood));

  c.ws.close(1000);
  await c.closed;
  await until(() => rec.closed(), "the proxy's close event");
  const frames = frameEvents(rec.events());
  expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  const data = frames.filter((f) => f.from === 'server' && f.opcode === 2);
  expect(data.length).toBe(flood.length);
  data.forEach((f, i) => {
    expect(f.length).toBe(flood[i]!.length);
    if (!Buffer.from(f.payload, 'base64').equals(flood[i]!)) expect.fail(`recorded flood frame ${i} differs from the message sent`);
  });
  expect(hashOf(data.map((f) => Buffer.from(f.payload, 'base64')))).toBe(hashOf(flood));
  expect(frames.filter((f) => f.from === 'client').map((f) => f.opcode)).toEqual([1, 8]);
}

/**
 * Small messages, one per turn of the server's event loop, to a client that stops reading:
 * the proxy reads them one small chunk at a time, and once the client's socket is full its
 * writes queue below the high-water mark: write() says "go on" while the chunk is still
 * queued, and the observer decodes that same chunk.
 */
async function slowReceiverSmallMessages(variant: Variant, seed: number): Promise<void> {
  const rand = prng(seed);
  const sent: Buffer[] = [];
  let stalled!: () => void;
  const serverStalled = new Promise<void>((r) => (stalled = r));
  const { s, url, rec } = await setup(variant, {
    onConnection: (socket) =>
      socket.on('message', () => {
        let after = -1;
        const next = () => {
          const m = randomBytes(200 + Math.floor(rand() * 4000), rand);
          m.writeUInt32BE(sent.length, 0); // distinct
          sent.push(m);
          socket.send(m);
          // Once the proxy stops reading (its queue to the client is full), a few more, then stop.
          if (after < 0 && socket.bufferedAmount > 0) after = sent.length;
          if ((after >= 0 && sent.length >= after + 20) || sent.length >= 60_000) return stalled();
          setImmediate(next);
        };
        next();
      }),
  });
  const { c, socket } = await pausedClient(url);
  await serverStalled;
  expect(s.sockets[0]!.bufferedAmount).toBeGreaterThan(0);
  socket.resume();
  await c.waitFor(sent.length);
  c.received.forEach((m, i) => {
    if (!m.data.equals(sent[i]!)) expect.fail(`small message ${i} of ${sent.length} arrived altered`);
  });
  c.ws.close(1000);
  await c.closed;
  await until(() => rec.closed(), "the proxy's close event");
  const data = frameEvents(rec.events()).filter((f) => f.from === 'server' && f.opcode === 2);
  expect(data.length).toBe(sent.length);
  data.forEach((f, i) => {
    if (!Buffer.from(f.payload, 'base64').equals(sent[i]!)) expect.fail(`recorded small message ${i} differs from the message sent`);
  });
}

/** One frame, built by hand: FIN, `opcode`, masked with `mask` when given. */
function frame(opcode: number, payload: Buffer, mask: Buffer | null): Buffer {
  const n = payload.length;
  const len = n < 126 ? Buffer.from([n]) : n < 65536 ? Buffer.from([126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([127]), bigLength(n)]);
  len[0]! |= mask ? 0x80 : 0;
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from([0x80 | opcode]), len, mask ?? Buffer.alloc(0), body]);
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * Bytes that reach the proxy before the relay starts: a client that sends frames right
 * after its request, before the 101 (the proxy holds them in the accepted socket while it
 * waits for the upstream), and an upstream that sends frames with its 101. Both are raw
 * peers, so the test sees every byte each side gets.
 */
async function earlyBytes(variant: Variant, seed: number): Promise<void> {
  const rand = prng(seed);
  // The upstream: answers the upgrade only when told, then sends frames at once.
  const upstreamGot: Buffer[] = [];
  let upstreamSocket: net.Socket | null = null;
  let headSeen!: () => void;
  const head = new Promise<void>((r) => (headSeen = r));
  const upstream = net.createServer((socket) => {
    upstreamSocket = socket;
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      upstreamGot.push(Buffer.from(d));
      if (Buffer.concat(upstreamGot).includes('\r\n\r\n')) headSeen();
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    upstreamSocket?.destroy();
    return new Promise<void>((r) => upstream.close(() => r()));
  });
  const { sink, rec } = recording(variant.lend);
  const proxy = await ProxyServer.start({
    host: '127.0.0.1',
    port: 0,
    target: `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
    sink,
  });
  cleanup.push(() => proxy.stop());

  const key = randomBytes(16, rand).toString('base64');
  const requestHead = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const clientGot: Buffer[] = [];
  const c = net.connect(proxy.address.port, '127.0.0.1');
  c.on('error', () => {});
  cleanup.push(() => {
    c.destroy();
  });
  c.on('data', (d: Buffer) => clientGot.push(Buffer.from(d)));
  await new Promise((r) => c.once('connect', r));
  c.write(requestHead);
  await head;

  // Client frames while the upstream has not answered: 300 KiB, more than the accepted
  // socket buffers before it stops reading, so some are read before the 101, some after.
  const clientPayloads = Array.from({ length: 12 }, (_, i) => randomBytes(i === 0 ? 5 : 1 + Math.floor(rand() * 50_000), rand));
  const clientBytes = Buffer.concat(clientPayloads.map((p, i) => frame(2, p, Buffer.from([i + 1, 0x5a, 0xa5, 0x3c]))));
  c.write(clientBytes);
  // Let the proxy read some of them into the paused accepted socket (not an assertion:
  // the bytes are relayed the same whether or not they arrived before the 101).
  await new Promise((r) => setTimeout(r, 50));

  const serverPayloads = Array.from({ length: 12 }, (_, i) => randomBytes(i === 0 ? 3 : 1 + Math.floor(rand() * 50_000), rand));
  const serverFrames = serverPayloads.map((p) => frame(2, p, null));
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  const responseHead = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
  // The 101 and the first frames in one write, the rest just after.
  upstreamSocket!.write(Buffer.concat([Buffer.from(responseHead), ...serverFrames.slice(0, 6)]));
  upstreamSocket!.write(Buffer.concat(serverFrames.slice(6)));
  const serverBytes = Buffer.concat(serverFrames);

  const clientWant = Buffer.concat([Buffer.from(responseHead), serverBytes]);
  await until(() => afterHead(upstreamGot).length >= clientBytes.length, 'the client frames at the upstream');
  await until(() => Buffer.concat(clientGot).length >= clientWant.length, 'the server frames at the client');
  // Byte-transparent both ways (the request head is the client's with Host rewritten).
  expect(afterHead(upstreamGot).equals(clientBytes)).toBe(true);
  expect(Buffer.concat(clientGot).equals(clientWant)).toBe(true);

  // Close: client close frame, echoed, then both ends go.
  c.write(frame(8, Buffer.from([0x03, 0xe8]), Buffer.from([9, 9, 9, 9])));
  upstreamSocket!.end(frame(8, Buffer.from([0x03, 0xe8]), null));
  c.end();
  await until(() => rec.closed(), "the proxy's close event");

  const frames = frameEvents(rec.events());
  expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  const fromClient = frames.filter((f) => f.from === 'client' && f.opcode === 2);
  const fromServer = frames.filter((f) => f.from === 'server' && f.opcode === 2);
  expect(fromClient.map((f) => Buffer.from(f.payload, 'base64').toString('hex'))).toEqual(clientPayloads.map((p) => p.toString('hex')));
  expect(fromServer.map((f) => Buffer.from(f.payload, 'base64').toString('hex'))).toEqual(serverPayloads.map((p) => p.toString('hex')));
  expect(fromClient.map((f) => f.maskKey)).toEqual(clientPayloads.map((_, i) => Buffer.from([i + 1, 0x5a, 0xa5, 0x3c]).toString('hex')));
}

// A fixed seed by default (reproducible); FRAMESCOPE_SEED=n runs another.
const SEED = Number(process.env.FRAMESCOPE_SEED ?? 0x20251124);

describe('reverse proxy — RFC 6455 §5 frames relayed and recorded exactly', () => {
  it(`events encoded at once: 232 random messages in flight at once, fragments and UTF-8 text, both ends and the recording exact (seed ${SEED})`, async () => {
    await randomExchange({ lend: true }, SEED, false);
  });

  it(`RFC 7692 permessage-deflate: every compressed payload and inflated message.data recorded exactly (seed ${SEED})`, async () => {
    await randomExchange({ lend: true }, SEED + 1, true);
  });

  it(`a slow receiver: the client stops reading during a 20 MB flood, then resumes; all arrives and is recorded intact (seed ${SEED})`, async () => {
    await slowReceiver({ lend: true }, SEED + 2);
  });

  it(`a slow receiver of small messages: writes queued below the high-water mark arrive and are recorded intact (seed ${SEED})`, async () => {
    await slowReceiverSmallMessages({ lend: true }, SEED + 5);
  });

  it(`events kept by the sink, read after the exchange: payloads still exact (seed ${SEED})`, async () => {
    await randomExchange({ lend: false }, SEED + 3, false);
  });

  it(`frames sent before the 101 (client) and with it (server): relayed byte for byte and recorded in order (seed ${SEED})`, async () => {
    await earlyBytes({ lend: true }, SEED + 4);
  });
});

describe('reverse proxy to a wss:// upstream — RFC 6455 §5 frames relayed and recorded exactly', () => {
  it(`a TLS upstream, a plain client (seed ${SEED})`, async () => {
    const pki = await testPki();
    await randomExchange({ lend: true }, SEED + 6, false, pki.selfSigned);
  });
});
