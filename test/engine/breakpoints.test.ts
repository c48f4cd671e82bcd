// Breakpoints behind the UI: the policy each connection gets (held queue, conditions,
// forward all, a connection's end), then through the session's real proxy between real
// `ws` peers: a held message edited or dropped as the server sees it, injection toward
// either side, the other direction flowing meanwhile, and quitting with messages held.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { HeldMessage, UiEvent } from '../../shared/contract';
import type { CaptureFileJson } from '../../shared/model';
import type { Decision, InterceptedMessage, Injector, RawFrame } from '../../main/engine/intervene/types';
import { Breakpoints, BreakpointError } from '../../main/engine/session/breakpoints';
import { EngineSession } from '../../main/engine/session/session';
import { startWsServer } from '../peers/ws-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const text = (connection: string, from: 'client' | 'server', t: string): InterceptedMessage => ({
  connection,
  from,
  opcode: 1,
  data: new TextEncoder().encode(t),
  text: t,
});
const noCtx: Injector = { inject: () => {}, injectFrame: () => {}, close: () => {} };

function breakpoints() {
  const events: UiEvent[] = [];
  const b = new Breakpoints((e) => events.push(e));
  return { b, events };
}

describe('Breakpoints (the policy)', () => {
  it('watches nothing until a breakpoint is set; tells subscribers when that changes', () => {
    const { b } = breakpoints();
    const p1 = b.policy('p1');
    const p2 = b.policy('p2');
    let told = 0;
    p1.subscribe(() => told++);
    expect(p1.watches('client')).toBe(false);
    b.set({ from: 'client', on: true });
    expect([p1.watches('client'), p1.watches('server'), p2.watches('client')]).toEqual([true, false, true]);
    b.set({ connection: 'p2', from: 'server', on: true });
    expect([p1.watches('server'), p2.watches('server')]).toEqual([false, true]);
    expect(told).toBe(1); // p2's breakpoint is not p1's business
    b.set({ from: 'client', on: false });
    expect(p1.watches('client')).toBe(false);
    expect(told).toBe(2);
  });

  it('holds matching messages in the order they came, across connections; decides one by id', async () => {
    const { b, events } = breakpoints();
    const p1 = b.policy('p1');
    const p2 = b.policy('p2');
    b.set({ from: 'client', on: true });
    const d1 = p1.decide(text('p1', 'client', 'a'), noCtx) as Promise<Decision>;
    const d2 = p2.decide(text('p2', 'client', 'b'), noCtx) as Promise<Decision>;
    const d3 = p1.decide(text('p1', 'client', 'c'), noCtx) as Promise<Decision>;
    const held = b.heldMessages();
    expect(held.map((h) => [h.id, h.connection, Buffer.from(h.data!, 'base64').toString()])).toEqual([
      [1, 'p1', 'a'],
      [2, 'p2', 'b'],
      [3, 'p1', 'c'],
    ]);
    expect(held[0]).toMatchObject({ from: 'client', opcode: 1, size: 1 });
    expect(events.filter((e) => e.type === 'held').map((e) => (e as { message: HeldMessage }).message.id)).toEqual([1, 2, 3]);

    b.decide(2, { action: 'replace', opcode: 2, data: Buffer.from('xyz').toString('base64'), fragmentSize: 1, rsv2: true });
    const r2 = await d2;
    expect(r2).toMatchObject({ action: 'replace', opcode: 2, frames: { fragmentSize: 1, rsv2: true } });
    expect(Buffer.from((r2 as { data: Uint8Array }).data).toString()).toBe('xyz');
    b.decide(1, { action: 'drop' });
    expect(await d1).toEqual({ action: 'drop' });
    b.decide(3, { action: 'close', code: 4000, reason: 'bye' });
    expect(await d3).toEqual({ action: 'close', code: 4000, reason: 'bye' });
    expect(events.filter((e) => e.type === 'released').map((e) => (e as { id: number }).id)).toEqual([2, 1, 3]);
    expect(b.heldMessages()).toEqual([]);
    expect(() => b.decide(3, { action: 'forward' })).toThrow(/no held message 3/);
  });

  it('a condition holds only what it matches; a bad one is refused with its column', () => {
    const { b } = breakpoints();
    const p = b.policy('p1');
    b.set({ from: 'server', on: true, condition: 'json:$.type=secret' });
    expect(p.decide(text('p1', 'server', '{"type":"public"}'), noCtx)).toEqual({ action: 'pass' });
    expect(p.decide(text('p1', 'server', '{"type":"secret"}'), noCtx)).toBeInstanceOf(Promise);
    expect(() => b.set({ from: 'client', on: true, condition: 'text:/(/' })).toThrow(BreakpointError);
    expect(() => b.set({ from: 'client', on: true, condition: 'len>5 bogus' })).toThrow(/^condition: column 7: unknown term "bogus"/);
    expect(() => b.set({ from: 'client', on: true, condition: 'server text:x' })).toThrow(/names the server's messages, but this breakpoint holds the client's/);
    // A refused condition leaves the breakpoints as they were.
    expect(b.state().rules).toEqual([{ connection: null, from: 'server', condition: 'json:$.type=secret' }]);
  });

  it('forward all releases every held message, of one connection or of all, oldest first', async () => {
    const { b, events } = breakpoints();
    const p1 = b.policy('p1');
    const p2 = b.policy('p2');
    b.set({ from: 'client', on: true });
    b.set({ from: 'server', on: true });
    const got: string[] = [];
    const hold = (p: ReturnType<typeof b.policy>, c: string, from: 'client' | 'server', t: string) =>
      void (p.decide(text(c, from, t), noCtx) as Promise<Decision>).then((d) => got.push(`${t}:${d.action}`));
    hold(p1, 'p1', 'client', 'a');
    hold(p2, 'p2', 'client', 'b');
    hold(p1, 'p1', 'server', 'c');
    expect(b.forwardAll('p1')).toBe(2);
    await Promise.resolve();
    expect(got).toEqual(['a:forward', 'c:forward']);
    expect(b.heldMessages().map((h) => h.connection)).toEqual(['p2']);
    expect(b.forwardAll()).toBe(1);
    await Promise.resolve();
    expect(got).toEqual(['a:forward', 'c:forward', 'b:forward']);
    expect(events.filter((e) => e.type === 'released')).toHaveLength(3);
  });

  it("a connection's end takes its held messages out of the queue and its own breakpoints away", () => {
    const { b, events } = breakpoints();
    const p1 = b.policy('p1');
    const p2 = b.policy('p2');
    b.set({ connection: 'p1', from: 'client', on: true });
    b.set({ from: 'server', on: true });
    void p1.decide(text('p1', 'client', 'a'), noCtx);
    void p2.decide(text('p2', 'server', 'b'), noCtx);
    p1.closed!({ code: 1000, reason: '', by: 'client', clean: true });
    expect(b.heldMessages().map((h) => h.connection)).toEqual(['p2']);
    expect(events.filter((e) => e.type === 'released')).toEqual([{ type: 'released', id: 1 }]);
    expect(b.state().rules).toEqual([{ connection: null, from: 'server', condition: '' }]);
    expect(events.at(-1)).toMatchObject({ type: 'intercept' });
    expect(() => b.set({ connection: 'p1', from: 'client', on: true })).toThrow(/p1 is not a live connection/);
  });

  it('injects through the connection\'s injector, raw frames included', () => {
    const { b } = breakpoints();
    const p = b.policy('p1');
    const sent: Array<[string, string | Uint8Array]> = [];
    const closes: Array<[number, string]> = [];
    const raw: Array<[string, RawFrame]> = [];
    p.opened!({} as never, {
      inject: (to, payload) => sent.push([to, payload]),
      injectFrame: (to, frame) => raw.push([to, frame]),
      close: (code, reason) => closes.push([code, reason]),
    });
    b.inject({ connection: 'p1', to: 'client', kind: 'text', text: 'hi' });
    b.inject({ connection: 'p1', to: 'server', kind: 'binary', data: Buffer.from([1, 2]).toString('base64') });
    b.inject({ connection: 'p1', kind: 'close', code: 4001, reason: 'x' });
    expect(sent[0]).toEqual(['client', 'hi']);
    expect(sent[1]![0]).toBe('server');
    expect([...(sent[1]![1] as Uint8Array)]).toEqual([1, 2]);
    expect(closes).toEqual([[4001, 'x']]);
    const frame = { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 9, payload: '' };
    b.inject({ connection: 'p1', to: 'server', kind: 'raw', frame });
    b.inject({ connection: 'p1', to: 'client', kind: 'raw', frame: { ...frame, opcode: 1, payload: Buffer.from('x').toString('base64'), maskKey: null } });
    b.inject({ connection: 'p1', to: 'server', kind: 'raw', frame: { ...frame, opcode: 2, maskKey: '01020304' } });
    expect(raw.map(([to, f]) => [to, f.opcode, f.maskKey === undefined ? 'random' : f.maskKey === null ? 'none' : [...f.maskKey], [...f.payload]])).toEqual([
      ['server', 9, 'random', []],
      ['client', 1, 'none', [0x78]],
      ['server', 2, [1, 2, 3, 4], []],
    ]);
    expect(() => b.inject({ connection: 'p9', to: 'server', kind: 'text', text: '' })).toThrow(/p9 is not a live proxied connection/);
  });
});

// -- through the session's proxy, between real peers --------------------------------------

async function proxied(deflate: boolean) {
  const server = await startWsServer({ echo: false, perMessageDeflate: deflate });
  cleanup.push(() => server.close());
  const session = new EngineSession({ version: 'test', batchMs: 5 });
  cleanup.push(() => session.dispose());
  const events: UiEvent[] = [];
  session.onEvents((b) => events.push(...b));
  const until = async (what: string, pred: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const status = await session.dispatch('startProxy', { mode: 'reverse', listen: '127.0.0.1:0', target: server.url });
  const app = new WebSocket(status.address, { perMessageDeflate: deflate });
  cleanup.push(() => app.terminate());
  const appGot: string[] = [];
  app.on('message', (d) => appGot.push(d.toString()));
  await new Promise((r, j) => (app.once('open', r), app.once('error', j)));
  await server.nextConnection();
  await until('the connection in the UI', () => events.some((e) => e.type === 'connection'));
  const held = () => {
    const out = new Map<number, HeldMessage>();
    for (const e of events) {
      if (e.type === 'held') out.set(e.message.id, e.message);
      if (e.type === 'released') out.delete(e.id);
    }
    return [...out.values()];
  };
  // What the capture says became of each intervened message.
  const decisions = async () => {
    const blob = await session.dispatch('exportCapture', { format: 'json' });
    const file = JSON.parse(Buffer.from(blob.data, 'base64').toString()) as CaptureFileJson;
    return file.connections.flatMap((c) => c.frames.flatMap((f) => (f.intervention?.decision ? [f.intervention.decision] : [])));
  };
  const connection = (events.find((e) => e.type === 'connection') as { connection: { id: string } }).connection.id;
  return {
    server,
    session,
    app,
    appGot,
    held,
    decisions,
    until,
    connection,
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe.each([false, true])('UI breakpoints through the proxy (deflate %s)', (deflate) => {
  it('holds the client\'s messages in order; edited reaches the server as edited, dropped never; the server\'s flow meanwhile; injection both ways', async () => {
    const t = await proxied(deflate);
    await t.session.dispatch('setIntercept', { from: 'client', on: true, condition: 'text:/^secret/' });
    t.app.send('hello'); // not matched: goes on
    await t.server.waitForMessages(1);
    t.app.send('secret one');
    t.app.send('secret two');
    t.app.send('after');
    await t.until('the first held message', () => t.held().length === 1);
    // One at a time: the second waits behind the first in its lane.
    expect(Buffer.from(t.held()[0]!.data!, 'base64').toString()).toBe('secret one');
    // The other direction is not blocked by it.
    t.server.sockets[0]!.send('from server');
    await t.until('the server\'s message at the app', () => t.appGot.includes('from server'));
    // Injection toward either side.
    await t.session.dispatch('inject', { connection: t.connection, to: 'client', kind: 'text', text: 'injected to client' });
    await t.until('the injected message at the app', () => t.appGot.includes('injected to client'));
    await t.session.dispatch('inject', { connection: t.connection, to: 'server', kind: 'binary', data: b64('injected to server') });
    await t.server.waitForMessages(2);

    const first = t.held()[0]!;
    await t.session.dispatch('decideHeld', { id: first.id, decision: { action: 'replace', opcode: 1, data: b64('EDITED one'), fragmentSize: 3 } });
    await t.until('the second held message', () => t.held().length === 1 && t.held()[0]!.id !== first.id);
    expect(Buffer.from(t.held()[0]!.data!, 'base64').toString()).toBe('secret two');
    await t.session.dispatch('decideHeld', { id: t.held()[0]!.id, decision: { action: 'drop' } });
    await t.server.waitForMessages(4);
    expect(t.server.received.map((m) => m.data.toString())).toEqual(['hello', 'injected to server', 'EDITED one', 'after']);
    expect(t.server.received[1]!.isBinary).toBe(true);
    // The record says what became of each held one; messages the condition let go are not
    // marked, unless Framescope re-compressed them after taking over deflate (linked: forwarded).
    expect(await t.decisions()).toEqual(deflate ? ['replaced', 'dropped', 'forwarded'] : ['replaced', 'dropped']);
    await expect(t.session.dispatch('decideHeld', { id: first.id, decision: { action: 'forward' } })).rejects.toThrow(/no held message/);
  });

  it('stopping the proxy (as quitting does) with a message held: the server never gets it, the record says undelivered', async () => {
    const t = await proxied(deflate);
    await t.session.dispatch('setIntercept', { connection: t.connection, from: 'client', on: true });
    t.app.send('kept back');
    await t.until('the held message', () => t.held().length === 1);
    await t.session.dispatch('stopProxy', {});
    t.session.flush();
    expect(t.held()).toEqual([]);
    expect(await t.decisions()).toEqual(['undelivered']);
    expect(t.server.received).toEqual([]);
  });
});

describe('UI breakpoints on Framescope\'s own connection', () => {
  it('holds what the composer sends and what the server sends; forward all lets them go', async () => {
    const server = await startWsServer();
    cleanup.push(() => server.close());
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    const events: UiEvent[] = [];
    session.onEvents((b) => events.push(...b));
    const { connection } = await session.dispatch('connect', { url: server.url, deflate: false });
    while (!events.some((e) => e.type === 'connection' && e.connection.id === connection && e.connection.state === 'open')) await new Promise((r) => setTimeout(r, 5));
    await session.dispatch('setIntercept', { connection, from: 'client', on: true });
    await session.dispatch('setIntercept', { connection, from: 'server', on: true });
    await session.dispatch('send', { connection, kind: 'text', text: 'out' });
    while (!events.some((e) => e.type === 'held')) await new Promise((r) => setTimeout(r, 5));
    expect(server.received).toEqual([]);
    expect((await session.dispatch('forwardAll', { connection })).released).toBe(1);
    await server.waitForMessages(1);
    // The echo comes back and is held in its turn.
    while (events.filter((e) => e.type === 'held').length < 2) await new Promise((r) => setTimeout(r, 5));
    const echo = (events.filter((e) => e.type === 'held').at(-1) as { message: HeldMessage }).message;
    expect(echo).toMatchObject({ connection, from: 'server', opcode: 1, size: 3 });
    expect((await session.dispatch('forwardAll', {})).released).toBe(1);
    expect((await session.snapshot()).held).toEqual([]);
    await expect(session.dispatch('inject', { connection, to: 'client', kind: 'text', text: 'x' })).rejects.toThrow(/Framescope's own connection/);
  });

  it('validates the breakpoint commands\' arguments', async () => {
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    await expect(session.dispatch('setIntercept', { from: 'both', on: true })).rejects.toThrow(/setIntercept\.from must be one of client, server/);
    await expect(session.dispatch('setIntercept', { from: 'client', on: true, condition: 'nope' })).rejects.toThrow(/condition: column 1: unknown term "nope"/);
    await expect(session.dispatch('decideHeld', { id: 1, decision: { action: 'replace', opcode: 3, data: '' } })).rejects.toThrow(/decideHeld\.decision\.opcode/);
    await expect(session.dispatch('decideHeld', { id: 1, decision: { action: 'close', code: 999, reason: '' } })).rejects.toThrow(/decideHeld\.decision\.code/);
    await expect(session.dispatch('decideHeld', { id: 1, decision: { action: 'forward', evil: 1 } })).rejects.toThrow(/decideHeld\.decision\.evil is not expected/);
    await expect(session.dispatch('inject', { connection: 'p1', to: 'nowhere', kind: 'text', text: '' })).rejects.toThrow(/inject\.to/);
    await expect(session.dispatch('inject', { connection: 'p1', to: 'client', kind: 'ping', data: '' })).rejects.toThrow(/inject\.kind must be one of/);
    await expect(session.dispatch('forwardAll', { connection: 5 })).rejects.toThrow(/forwardAll\.connection must be a string/);
  });
});
