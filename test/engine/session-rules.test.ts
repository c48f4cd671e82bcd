// The rules the UI sets, behind the UI: the policy each connection gets (rules first, then
// the breakpoints, as `proxy --rules … --break …` does), a rule's break held in the UI's
// queue, watching that follows the enabled rules, mistakes refused with the parser's words,
// the file round trip; then through the session's real proxy between real `ws` peers.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { HeldMessage, RuleSpec, UiEvent } from '../../shared/contract';
import type { CaptureFileJson } from '../../shared/model';
import type { Decision, InterceptedMessage, Injector } from '../../main/engine/intervene/types';
import { parseRules } from '../../main/engine/intervene/rules';
import { Breakpoints } from '../../main/engine/session/breakpoints';
import { RulesError, SessionRules, sessionPolicy } from '../../main/engine/session/session-rules';
import { EngineSession } from '../../main/engine/session/session';
import { startWsServer } from '../peers/ws-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const text = (from: 'client' | 'server', t: string, connection = 'p1'): InterceptedMessage => ({
  connection,
  from,
  opcode: 1,
  data: new TextEncoder().encode(t),
  text: t,
});
const noCtx: Injector = { inject: () => {}, injectFrame: () => {}, close: () => {} };
const str = (d: Decision): string => Buffer.from((d as { data: Uint8Array }).data).toString();

function setup() {
  const events: UiEvent[] = [];
  const emit = (e: UiEvent) => events.push(e);
  const breaks = new Breakpoints(emit);
  const rules = new SessionRules(emit);
  const held = (): HeldMessage[] => breaks.heldMessages();
  return { events, breaks, rules, held, policy: (id = 'p1') => sessionPolicy(id, rules, breaks) };
}

const replaceSecret: RuleSpec = { name: 'hide', direction: 'client', match: { text: 'secret' }, action: { type: 'replace', text: { find: 'secret', with: 'XXXXXX' } } };

describe('the session\'s composed policy', () => {
  it('nothing set: a message passes unmarked', async () => {
    const t = setup();
    expect(await t.policy().decide(text('client', 'a'), noCtx)).toEqual({ action: 'pass' });
  });

  it('rules first, then breakpoints: a message the rules changed is held as changed, and forwarding it sends the change, named', async () => {
    const t = setup();
    const p = t.policy();
    t.rules.set([replaceSecret, { name: 'no pings', direction: 'client', match: { text: '/^ping$/' }, action: { type: 'drop' } }]);
    t.breaks.set({ from: 'client', on: true });
    // A rule's drop decides before any breakpoint sees it.
    expect(await p.decide(text('client', 'ping'), noCtx)).toEqual({ action: 'drop', rule: 'no pings' });
    expect(t.held()).toEqual([]);
    const pending = p.decide(text('client', 'my secret'), noCtx);
    await Promise.resolve();
    const [h] = t.held();
    expect(Buffer.from(h!.data!, 'base64').toString()).toBe('my XXXXXX');
    expect(h!.rule).toBeUndefined(); // held by the breakpoint, not by a rule
    t.breaks.decide(h!.id, { action: 'forward' });
    const d = await pending;
    expect(d).toMatchObject({ action: 'replace', opcode: 1, rule: 'hide' });
    expect(str(d)).toBe('my XXXXXX');
    // A person's drop after the rules' edit still names the rule that edited.
    const second = p.decide(text('client', 'secret again'), noCtx);
    await Promise.resolve();
    t.breaks.decide(t.held()[0]!.id, { action: 'drop' });
    expect(await second).toEqual({ action: 'drop', rule: 'hide' });
  });

  it('a rule\'s break holds the message in the UI\'s queue, naming the rule, with no breakpoint set', async () => {
    const t = setup();
    t.rules.set([{ direction: 'server', match: { json: { path: '$.op', equals: 'buy' } }, action: { type: 'break' } }]);
    const p = t.policy();
    const pending = p.decide(text('server', '{"op":"buy"}'), noCtx);
    await Promise.resolve();
    expect(t.held()).toMatchObject([{ connection: 'p1', from: 'server', rule: '#1' }]);
    expect(t.events.filter((e) => e.type === 'held')).toHaveLength(1);
    t.breaks.decide(t.held()[0]!.id, { action: 'forward' });
    expect(await pending).toEqual({ action: 'forward', rule: '#1' });
    // Not matched: passes unmarked.
    expect(await p.decide(text('server', '{"op":"sell"}'), noCtx)).toEqual({ action: 'pass' });
  });

  it('a direction is watched while an enabled rule covers it; connections are told when that changes, and only then', () => {
    const t = setup();
    const p = t.policy();
    let told = 0;
    p.subscribe(() => told++);
    expect([p.watches('client'), p.watches('server')]).toEqual([false, false]);
    t.rules.set([replaceSecret]);
    expect([p.watches('client'), p.watches('server'), told]).toEqual([true, false, 1]);
    // Another client rule: the client's side was watched already.
    t.rules.set([replaceSecret, { direction: 'client', action: { type: 'drop' }, enabled: false }]);
    expect(told).toBe(1);
    t.rules.enable(1, false);
    expect([p.watches('client'), told]).toEqual([false, 2]);
    expect(t.rules.state().rules[0]).toEqual({ ...replaceSecret, enabled: false });
    t.rules.enable(2, true);
    expect([p.watches('client'), p.watches('server'), told]).toEqual([true, false, 3]);
    expect(t.rules.state().rules[1]).toEqual({ direction: 'client', action: { type: 'drop' } });
    t.rules.set([{ direction: 'both', action: { type: 'delay', ms: 5 } }]);
    expect([p.watches('client'), p.watches('server'), told]).toEqual([true, true, 4]);
    // A breakpoint counts too.
    t.rules.set([]);
    t.breaks.set({ from: 'server', on: true });
    expect([p.watches('client'), p.watches('server')]).toEqual([false, true]);
    expect(t.events.filter((e) => e.type === 'rules')).toHaveLength(6);
  });

  it('refuses a rule set with a mistake in the parser\'s words (rule, name, field), and keeps the rules it had', () => {
    const t = setup();
    t.rules.set([replaceSecret]);
    const bad = (specs: unknown[]) => {
      try {
        t.rules.set(specs);
      } catch (e) {
        expect(e).toBeInstanceOf(RulesError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad([replaceSecret, { name: 'oops', direction: 'client', match: { text: '/(/' }, action: { type: 'drop' } }])).toMatch(
      /^rule 2 \("oops"\): match\.text: invalid regex: /,
    );
    expect(bad([{ direction: 'client', action: { type: 'close', code: 1005 } }])).toMatch(/^rule 1: action\.code: 1005 may not be sent/);
    expect(bad([{ direction: 'client', mtach: {}, action: { type: 'drop' } }])).toBe('rule 1: mtach: unknown key (expected name, enabled, direction, match, action)');
    expect(() => t.rules.enable(3, true)).toThrow(/^no rule 3 \(there is 1 rule\)$/);
    expect(t.rules.state().rules).toEqual([replaceSecret]);
    expect(t.events.filter((e) => e.type === 'rules')).toHaveLength(1);
  });

  it('exports the rules file --rules loads, and imports one (its mistakes name the file)', () => {
    const t = setup();
    const specs: RuleSpec[] = [replaceSecret, { direction: 'server', match: { hex: { startsWith: 'ca fe' } }, action: { type: 'close', code: 4000, reason: 'bye' }, enabled: false }];
    t.rules.set(specs);
    const blob = t.rules.export();
    expect(blob).toMatchObject({ filename: 'rules.json', mime: 'application/json' });
    const textOf = Buffer.from(blob.data, 'base64').toString();
    expect(parseRules(textOf, 'rules.json').rules.map((r) => r.spec)).toEqual(specs);
    t.rules.set([]);
    expect(t.rules.import(blob).rules).toEqual(specs);
    const bad = { filename: 'mine.json', mime: 'application/json', data: Buffer.from('{"rules": [{"direction": "up", "action": {"type": "drop"}}]}').toString('base64') };
    expect(() => t.rules.import(bad)).toThrow(/^mine\.json: rule 1: direction: /);
    expect(() => t.rules.import({ ...bad, data: Buffer.from([0xff, 0xfe]).toString('base64') })).toThrow(/^mine\.json: not UTF-8 text$/);
    expect(t.rules.state().rules).toEqual(specs);
  });
});

// -- through the session's proxy, between real peers --------------------------------------

describe('UI rules through the session\'s proxy', () => {
  it('a replace rule changes what the server gets and the capture names it; a drop rule\'s message never arrives; a disabled rule does nothing', async () => {
    const server = await startWsServer({ echo: false });
    cleanup.push(() => server.close());
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    const events: UiEvent[] = [];
    session.onEvents((b) => events.push(...b));
    await session.dispatch('setRules', {
      rules: [
        { name: 'drop noise', direction: 'client', match: { text: 'noise' }, action: { type: 'drop' } },
        { name: 'set qty', direction: 'client', match: { json: { path: '$.qty' } }, action: { type: 'replace', json: { path: '$.qty', value: 1 } } },
        { name: 'off', enabled: false, direction: 'both', action: { type: 'drop' } },
      ],
    });
    const status = await session.dispatch('startProxy', { mode: 'reverse', listen: '127.0.0.1:0', target: server.url });
    const app = new WebSocket(status.address, { perMessageDeflate: false });
    cleanup.push(() => app.terminate());
    await new Promise((r, j) => (app.once('open', r), app.once('error', j)));
    await server.nextConnection();
    app.send('noise');
    app.send('{"qty":500}');
    app.send('plain');
    await server.waitForMessages(2);
    expect(server.received.map((m) => m.data.toString())).toEqual(['{"qty":1}', 'plain']);
    const blob = await session.dispatch('exportCapture', { format: 'json' });
    const file = JSON.parse(Buffer.from(blob.data, 'base64').toString()) as CaptureFileJson;
    const marks = file.connections.flatMap((c) => c.frames.flatMap((f) => (f.intervention?.decision && f.from === 'client' ? [[f.intervention.decision, f.intervention.rule]] : [])));
    expect(marks).toEqual([
      ['dropped', 'drop noise'],
      ['replaced', 'set qty'],
    ]);
    expect((await session.snapshot()).rules?.rules.map((r) => r.name)).toEqual(['drop noise', 'set qty', 'off']);
    expect(events.some((e) => e.type === 'rules')).toBe(true);
  });

  it('on Framescope\'s own connection, rules set while it is open act on what it sends and what it gets', async () => {
    const server = await startWsServer(); // echoes
    cleanup.push(() => server.close());
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    const events: UiEvent[] = [];
    session.onEvents((b) => events.push(...b));
    const { connection } = await session.dispatch('connect', { url: server.url, deflate: true });
    while (!events.some((e) => e.type === 'connection' && e.connection.id === connection && e.connection.state === 'open')) await new Promise((r) => setTimeout(r, 5));
    await session.dispatch('send', { connection, kind: 'text', text: 'v1 before' });
    await server.waitForMessages(1);
    await session.dispatch('setRules', {
      rules: [
        { name: 'up', direction: 'client', action: { type: 'replace', text: { find: 'v1', with: 'v2' } } },
        { name: 'down', direction: 'server', action: { type: 'replace', text: { find: 'v2', with: 'v3' } } },
      ],
    });
    await session.dispatch('send', { connection, kind: 'text', text: 'v1 after' });
    await server.waitForMessages(2);
    expect(server.received.map((m) => m.data.toString())).toEqual(['v1 before', 'v2 after']);
    // The echo of "v2 after" comes back through the server's rule.
    const marks = async () => {
      const file = JSON.parse(Buffer.from((await session.dispatch('exportCapture', { format: 'json' })).data, 'base64').toString()) as CaptureFileJson;
      return file.connections[0]!.frames.flatMap((f) => (f.intervention?.decision ? [[f.from, f.intervention.decision, f.intervention.rule]] : []));
    };
    let got: unknown[] = [];
    for (let i = 0; i < 4000 && got.length < 2; i++) {
      got = await marks();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(got).toEqual([
      ['client', 'replaced', 'up'],
      ['server', 'replaced', 'down'],
    ]);
    // A delay rule holds the message, then it goes on as it came, named, both ways.
    await session.dispatch('setRules', { rules: [{ name: 'slow', direction: 'both', match: { text: 'slow' }, action: { type: 'delay', ms: 20 } }] });
    await session.dispatch('send', { connection, kind: 'text', text: 'slow one' });
    await server.waitForMessages(3);
    expect(server.received[2]!.data.toString()).toBe('slow one');
    for (let i = 0; i < 4000 && got.length < 4; i++) {
      got = await marks();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(got.slice(2)).toEqual([
      ['client', 'delayed', 'slow'],
      ['server', 'delayed', 'slow'],
    ]);
  });

  it('validates the rules commands\' arguments, and says a parser mistake as a command error', async () => {
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    await expect(session.dispatch('setRules', { rules: 'x' })).rejects.toThrow(/setRules\.rules must be a list/);
    await expect(session.dispatch('setRules', { rules: [1] })).rejects.toThrow(/setRules\.rules\[0\] must be an object/);
    await expect(session.dispatch('setRules', { rules: [{ direction: 'client', action: { type: 'delay', ms: 0 } }] })).rejects.toThrow(/^rule 1: action\.ms: /);
    await expect(session.dispatch('enableRule', { index: 0, enabled: true })).rejects.toThrow(/enableRule\.index must be a whole number/);
    await expect(session.dispatch('enableRule', { index: 1, enabled: true })).rejects.toThrow(/no rule 1/);
    await expect(session.dispatch('importRules', { filename: 'r.json', mime: 'x', data: '!!' })).rejects.toThrow(/importRules\.data must be base64/);
  });
});
