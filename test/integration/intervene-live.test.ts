// The proxy's lanes with a policy whose watching changes while connections live, against
// real `ws` peers: a direction relays bytes until something intervenes, turns framed at a
// frame boundary (never cutting a frame, never putting an injected message inside a
// fragmented one), and back; raw frames; fragmentation kept on replace; held pings; delays;
// the hold limit; and a close Framescope made recorded as its own.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { ProxyServer } from '../../main/engine/proxy/server';
import type { ConnectionPolicy } from '../../main/engine/intervene/lane';
import type { Decision, InterceptedMessage, Injector } from '../../main/engine/intervene/types';
import { encodeFrame } from '../../shared/codec/frame-writer';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { collectingClient } from '../peers/ws-client';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

type Frame = Extract<EngineEvent, { event: 'frame' }>;

/** A policy the test steers: what it watches, how it decides, and its connection's injector. */
class Steered implements ConnectionPolicy {
  watching = false;
  control = false;
  ctx: Injector | null = null;
  changed: () => void = () => {};
  decideWith: (m: InterceptedMessage) => Decision | Promise<Decision> = () => ({ action: 'forward' });
  private openWaiters: Array<() => void> = [];
  watches = (_from?: unknown) => this.watching;
  watchesControl = (_from?: unknown) => this.control;
  subscribe(changed: () => void) {
    this.changed = changed;
  }
  decide(m: InterceptedMessage): Decision | Promise<Decision> {
    return this.decideWith(m);
  }
  opened_ = (ctx: Injector) => {
    this.ctx = ctx;
    for (const w of this.openWaiters.splice(0)) w();
  };
  open(): Promise<Injector> {
    return this.ctx ? Promise.resolve(this.ctx) : new Promise((r) => this.openWaiters.push(() => r(this.ctx!)));
  }
  set(watching: boolean) {
    this.watching = watching;
    this.changed();
  }
}

async function setup(o: { holdLimit?: number; server?: Parameters<typeof startWsServer>[0] } = {}) {
  const server = await startWsServer(o.server ?? { echo: false, onConnection: () => {} });
  cleanup.push(() => server.close());
  const events: EngineEvent[] = [];
  const waiters: Array<() => void> = [];
  const policy = new Steered();
  const proxy = await ProxyServer.start({
    host: '127.0.0.1',
    port: 0,
    target: server.url,
    sink: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) w();
    },
    holdLimit: o.holdLimit,
    intervene: () => ({
      watches: (f) => policy.watches(f),
      watchesControl: (f) => policy.watchesControl(f),
      subscribe: (c) => policy.subscribe(c),
      decide: (m) => policy.decide(m),
      opened: (_h, ctx) => policy.opened_(ctx),
    }),
  });
  cleanup.push(() => proxy.stop());
  const until = async <T,>(find: () => T | undefined): Promise<T> => {
    for (;;) {
      const v = find();
      if (v !== undefined) return v;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const frames = () => events.filter((e): e is Frame => e.event === 'frame');
  return { server, proxy, policy, events, frames, until, url: `ws://127.0.0.1:${proxy.address.port}/` };
}

const wsClient = (url: string) => collectingClient(url, (t) => cleanup.push(t));

/** A client whose frames the test writes byte by byte (ws would not cut them where we want). */
async function rawClient(port: number) {
  const sock = net.connect({ host: '127.0.0.1', port });
  cleanup.push(() => void sock.destroy());
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise<void>((resolve) => {
    let head = '';
    const on = (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', on);
        resolve();
      }
    };
    sock.on('data', on);
  });
  const frame = (opcode: number, payload: Uint8Array | string, fin = true) =>
    encodeFrame({ fin, opcode, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, mask: true, maskKey: randomBytes(4) });
  return { sock, frame };
}

/** The upstream (server side) socket of the first connection: how many bytes reached it. */
function upstreamBytes(server: WsTestServer) {
  let n = 0;
  const waiters: Array<() => void> = [];
  const sock = (server.sockets[0] as unknown as { _socket: net.Socket })._socket;
  sock.on('data', (d: Buffer) => {
    n += d.length;
    for (const w of waiters.splice(0)) w();
  });
  return {
    atLeast: async (k: number) => {
      while (n < k) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

const text = (f: FrameRecord) => Buffer.from(f.message?.data ?? f.payload).toString();

describe('a lane turns framed when its policy starts watching, and back', () => {
  it('relays bytes, decides while watched (breakpoint toggled on a live connection), relays bytes again', async () => {
    const t = await setup();
    const c = await wsClient(t.url);
    t.policy.decideWith = (m) => ({ action: 'replace', opcode: 1, data: Buffer.from(m.text!.toUpperCase()) });
    c.ws.send('one');
    await t.server.waitForMessages(1);
    t.policy.set(true);
    c.ws.send('two');
    await t.server.waitForMessages(2);
    t.policy.set(false);
    c.ws.send('three');
    const got = await t.server.waitForMessages(3);
    expect(got.map((m) => m.data.toString())).toEqual(['one', 'TWO', 'three']);
    const fromClient = t.frames().filter((f) => f.from === 'client' && f.opcode === 1);
    expect(fromClient.map((f) => [text(f), f.by ?? null, f.intervention?.decision ?? null])).toEqual([
      ['one', null, null],
      ['two', null, 'replaced'],
      ['TWO', 'framescope', null],
      ['three', null, null],
    ]);
  });

  it('switches inside a frame already partly on its way: the rest of that frame goes on whole, the next message is decided', async () => {
    const t = await setup();
    const c = await rawClient(t.proxy.address.port);
    await t.server.nextConnection();
    const up = upstreamBytes(t.server);
    const big = randomBytes(20_000);
    const first = c.frame(2, big);
    const after = c.frame(1, 'after');
    t.policy.decideWith = (m) => (m.opcode === 1 ? { action: 'replace', opcode: 1, data: Buffer.from('AFTER') } : { action: 'forward' });
    c.sock.write(first.subarray(0, 10_000));
    // half of the frame has reached the server through the byte-for-byte lane
    await up.atLeast(10_000);
    t.policy.set(true);
    c.sock.write(Buffer.concat([first.subarray(10_000), after]));
    const got = await t.server.waitForMessages(2);
    expect(got[0]!.data.equals(big)).toBe(true);
    expect(got[1]!.data.toString()).toBe('AFTER');
  });

  it('an injected message waits for the end of a fragmented message begun as bytes; an injected ping goes between its fragments', async () => {
    const t = await setup();
    const c = await rawClient(t.proxy.address.port);
    const ctx = await t.policy.open();
    c.sock.write(c.frame(1, 'frag-', false));
    await t.until(() => t.frames().find((f) => f.from === 'client' && f.opcode === 1));
    ctx.inject('server', 'injected');
    ctx.injectFrame('server', { fin: true, opcode: 9, payload: Buffer.from('raw ping') });
    c.sock.write(c.frame(0, 'end'));
    const got = await t.server.waitForMessages(2);
    expect(got.map((m) => m.data.toString())).toEqual(['frag-end', 'injected']);
    expect(t.server.pings.map((p) => p.data.toString())).toEqual(['raw ping']);
    const own = t.frames().filter((f) => f.by === 'framescope');
    expect(own.map((f) => [f.opcode, f.masked, f.intervention?.injected])).toEqual([
      [9, true, true],
      [1, true, true],
    ]);
  });

  it('a raw frame toward the client is written exactly as specified (unmasked, the stated length)', async () => {
    const t = await setup();
    const c = await rawClient(t.proxy.address.port);
    const ctx = await t.policy.open();
    const seen: Buffer[] = [];
    c.sock.on('data', (d: Buffer) => seen.push(d));
    ctx.injectFrame('client', { fin: true, rsv3: true, opcode: 2, payload: Buffer.from([1, 2, 3]) });
    await t.until(() => t.frames().find((f) => f.by === 'framescope'));
    while (Buffer.concat(seen).length < 5) await new Promise((r) => c.sock.once('data', r));
    expect([...Buffer.concat(seen)]).toEqual([0x92, 0x03, 1, 2, 3]);
  });
});

describe('replace keeps the fragmentation unless the plan says otherwise', () => {
  it('as many fragments as the sender cut, sizes shared evenly; fragmentSize chooses', async () => {
    const t = await setup();
    const c = await rawClient(t.proxy.address.port);
    t.policy.set(true);
    let n = 0;
    t.policy.decideWith = () => (n++ === 0 ? { action: 'replace', opcode: 1, data: Buffer.from('xyzuvw') } : { action: 'replace', opcode: 1, data: Buffer.from('0123456789'), frames: { fragmentSize: 4 } });
    c.sock.write(Buffer.concat([c.frame(1, 'a', false), c.frame(0, 'b', false), c.frame(0, 'c')]));
    c.sock.write(c.frame(1, 'whole'));
    const got = await t.server.waitForMessages(2);
    expect(got.map((m) => m.data.toString())).toEqual(['xyzuvw', '0123456789']);
    const own = t.frames().filter((f) => f.by === 'framescope');
    expect(own.map((f) => [f.opcode, f.fin, Buffer.from(f.payload).toString()])).toEqual([
      [1, false, 'xy'],
      [0, false, 'zu'],
      [0, true, 'vw'],
      [1, false, '0123'],
      [0, false, '4567'],
      [0, true, '89'],
    ]);
  });
});

describe('pings held when the policy asks', () => {
  it('a held ping is decided in order with the data: dropped, replaced, forwarded', async () => {
    const t = await setup();
    const c = await rawClient(t.proxy.address.port);
    t.policy.control = true;
    t.policy.changed();
    t.policy.decideWith = (m) => {
      if (m.opcode !== 9) return { action: 'forward' };
      const p = Buffer.from(m.data).toString();
      return p === 'drop' ? { action: 'drop' } : p === 'edit' ? { action: 'replace', opcode: 1, data: Buffer.from('edited') } : { action: 'forward' };
    };
    c.sock.write(Buffer.concat([c.frame(9, 'drop'), c.frame(9, 'edit'), c.frame(9, 'keep'), c.frame(1, 'data')]));
    await t.server.waitForMessages(1);
    expect(t.server.pings.map((p) => p.data.toString())).toEqual(['edited', 'keep']);
    const pings = t.frames().filter((f) => f.opcode === 9);
    expect(pings.map((f) => [Buffer.from(f.payload).toString(), f.by ?? null, f.intervention?.decision ?? null])).toEqual([
      ['drop', null, 'dropped'],
      ['edit', null, 'replaced'],
      ['edited', 'framescope', null],
      ['keep', null, 'forwarded'],
    ]);
  });
});

describe('delay, the hold limit, and a close Framescope made', () => {
  it('a delayed message keeps its direction in order; the other direction flows meanwhile', async () => {
    const t = await setup();
    const c = await rawClient(t.proxy.address.port);
    await t.server.nextConnection();
    t.policy.set(true);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let deciding!: () => void;
    const slowSeen = new Promise<void>((r) => (deciding = r));
    t.policy.decideWith = (m) => {
      if (m.from !== 'client' || m.text !== 'slow') return { action: 'forward' };
      deciding();
      return held.then(() => ({ action: 'delay', ms: 20 }) as Decision);
    };
    // one write: 'fast' is in the lane behind 'slow' while 'slow' is decided
    c.sock.write(Buffer.concat([c.frame(1, 'slow'), c.frame(1, 'fast')]));
    await slowSeen;
    const fromServer = new Promise<Buffer>((r) => c.sock.once('data', r));
    t.server.sockets[0]!.send('from the server');
    expect((await fromServer).subarray(2).toString()).toBe('from the server');
    expect(t.server.received).toEqual([]);
    release();
    const got = await t.server.waitForMessages(2);
    expect(got.map((m) => m.data.toString())).toEqual(['slow', 'fast']);
    const slow = t.frames().find((f) => f.from === 'client' && text(f) === 'slow')!;
    expect(slow.intervention?.decision).toBe('delayed');
  });

  it('a message larger than the lane can hold closes the connection with 1009 toward the sender, recorded', async () => {
    const t = await setup({ holdLimit: 1024 });
    const c = await wsClient(t.url);
    t.policy.set(true);
    c.ws.send('x'.repeat(2000));
    expect(await c.closed).toMatchObject({ code: 1009 });
    const close = await t.until(() => t.events.find((e): e is Extract<EngineEvent, { event: 'close' }> => e.event === 'close'));
    expect(close).toMatchObject({ by: 'framescope', code: 1009 });
    expect(t.events.some((e) => e.event === 'error' && e.closeCode === 1009)).toBe(true);
    expect(t.frames().find((f) => f.from === 'client' && f.opcode === 1)?.intervention?.decision).toBe('closed');
    expect(t.server.received).toEqual([]);
  });

  it('ctx.close: the recorded close says Framescope closed it, with its code and reason', async () => {
    const t = await setup();
    const c = await wsClient(t.url);
    const ctx = await t.policy.open();
    await t.server.nextConnection();
    ctx.close(4001, 'framescope says bye');
    expect(await c.closed).toEqual({ code: 4001, reason: 'framescope says bye' });
    expect(await t.server.waitForClose(0)).toMatchObject({ code: 4001 });
    const close = await t.until(() => t.events.find((e): e is Extract<EngineEvent, { event: 'close' }> => e.event === 'close'));
    expect(close).toMatchObject({ by: 'framescope', code: 4001, reason: 'framescope says bye', clean: true });
  });
});

describe("Framescope's own client with a policy whose watching changes live", () => {
  it('a server message is held whole or not at all: watching that starts mid-message waits for the next one', async () => {
    const server = await startWsServer({ echo: false, onConnection: () => {} });
    cleanup.push(() => server.close());
    let watching = false;
    const decided: string[] = [];
    const { WebSocketClient } = await import('../../main/engine/client/client');
    const client = await WebSocketClient.connect({
      url: server.url,
      deflate: false,
      policy: {
        watches: () => watching,
        decide: (m) => {
          decided.push(Buffer.from(m.data).toString());
          return { action: 'replace', opcode: 1, data: Buffer.from(`changed ${Buffer.from(m.data).toString()}`) };
        },
      },
    });
    cleanup.push(() => client.destroy());
    const got: string[] = [];
    const waiters: Array<() => void> = [];
    client.on('message', (m) => {
      got.push(Buffer.from(m.data).toString());
      for (const w of waiters.splice(0)) w();
    });
    const firstFrame = new Promise<void>((r) => client.once('frame', () => r()));
    await server.nextConnection();
    const s = server.sockets[0]!;
    s.send('begun ', { fin: false });
    await firstFrame;
    watching = true;
    s.send('unwatched', { fin: true });
    s.send('next');
    while (got.length < 2) await new Promise<void>((r) => waiters.push(r));
    expect(got).toEqual(['begun unwatched', 'changed next']);
    expect(decided).toEqual(['next']);
    const fromServer = client.record.frames.filter((f) => f.from === 'server' && !f.by);
    expect(fromServer.map((f) => [f.opcode, Buffer.from(f.payload).toString(), f.intervention?.decision ?? null])).toEqual([
      [1, 'begun ', null],
      [0, 'unwatched', null],
      [1, 'next', 'replaced'],
    ]);
  });
});
