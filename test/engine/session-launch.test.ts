// Apps launched from the UI (the Intercept panel's `launch` command): started through the
// session's forward proxy, their connections labelled with them, their exit reported, their
// temporary folder removed, and those still running ended with the session.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractError, validateCommand, type ConnectionSummary, type LaunchedApp, type UiEvent } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { WS_APP } from '../peers/ws-app';
import { wsPage } from '../peers/ws-page';
import { startWsServer } from '../peers/ws-servers';
import { afterEachCleanup } from '../peers/cleanup';

const { cleanup, scratch } = afterEachCleanup();


async function setup() {
  const server = await startWsServer();
  cleanup.push(() => server.close());
  const session = new EngineSession({ version: 'test', batchMs: 5, caDir: scratch('ca') });
  cleanup.push(() => session.dispose());
  const batches: UiEvent[][] = [];
  session.onEvents((b) => batches.push(b));
  const events = () => batches.flat();
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise((r) => setTimeout(r, 10));
  };
  const summaries = () => {
    const last = new Map<string, ConnectionSummary>();
    for (const e of events()) if (e.type === 'connection') last.set(e.connection.id, e.connection);
    return [...last.values()];
  };
  const appEvents = () => events().flatMap((e) => (e.type === 'app' ? [e.app] : []));
  const exited = (id: number) => appEvents().find((a) => a.id === id && a.state === 'exited');
  const dir = scratch('app');
  const app = join(dir, 'app.mjs');
  writeFileSync(app, WS_APP);
  return { server, session, until, summaries, appEvents, exited, app };
}

/** The launch folders of this run (TMPDIR is the test run's own). */
const launchDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('framescope-launch-'));

describe('launch command: validation', () => {
  it('takes a browser by id, or a command as argv', () => {
    expect(validateCommand('launch', { browser: 'chromium', url: 'http://127.0.0.1/', headless: true })).toBeTruthy();
    expect(validateCommand('launch', { command: ['node', 'app.mjs', 'a b'] })).toBeTruthy();
    expect(validateCommand('stopApp', { id: 1 })).toBeTruthy();
    expect(validateCommand('launchTargets', undefined)).toBeUndefined();
  });

  it('refuses what is not one of those, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ browser: 'netscape' }, /launch\.browser must be one of chromium, chrome, edge, brave, firefox/],
      [{ command: [] }, /launch\.command must name a command to run/],
      [{ command: [''] }, /launch\.command must name a command to run/],
      [{ command: 'node app.mjs' }, /launch\.command must be a list/],
      [{ command: ['node', 3] }, /launch\.command\[1\] must be a string/],
      [{ command: Array.from({ length: 257 }, () => 'x') }, /launch\.command has more than 256 items/],
      [{ command: ['node', 'x'.repeat(8193)] }, /launch\.command\[1\] is longer than 8192/],
      [{ command: ['node', 'a\0b'] }, /launch\.command must not hold a NUL character/],
      [{ command: ['node'], browser: 'chromium' }, /launch\.browser is not expected/],
      [{ browser: 'chromium', url: 7 }, /launch\.url must be a string/],
      [{ browser: 'chromium', headless: 'yes' }, /launch\.headless must be true or false/],
      [null, /launch must be an object/],
    ];
    for (const [arg, message] of bad) expect(() => validateCommand('launch', arg), JSON.stringify(arg)?.slice(0, 60)).toThrow(message);
    expect(() => validateCommand('stopApp', { id: 0 })).toThrow(ContractError);
    expect(() => validateCommand('launchTargets', { x: 1 })).toThrow(/launchTargets\.x is not expected/);
  });
});

describe('launch command: a terminal command through the session', () => {
  it("starts the forward proxy, runs a ws app through it, labels its connection, reports its exit and removes its folder", async () => {
    const t = await setup();
    expect((await t.session.dispatch('launchTargets', undefined)).proxy).toBeNull();
    const url = `ws://127.0.0.1:${t.server.port}/chat`;
    const argv = [process.execPath, t.app, url, 'hello there'];
    const app = await t.session.dispatch('launch', { command: argv });
    const label = `${process.execPath} ${t.app} ${url} "hello there"`;
    expect(app).toMatchObject({ label, state: 'running' });
    // The session's forward proxy runs now, on loopback, intercepting TLS with the session's CA.
    const targets = await t.session.dispatch('launchTargets', undefined);
    expect(targets.proxy).toMatchObject({ running: true, mode: 'forward' });
    expect(targets.proxy!.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await t.session.snapshot()).apps?.map((a) => a.id)).toEqual([app.id]);

    await t.until(() => t.exited(app.id) !== undefined);
    expect(t.exited(app.id)).toMatchObject({ label, code: 0, signal: null });
    expect((await t.session.snapshot()).apps).toBeUndefined();
    expect(launchDirs()).toEqual([]);
    await t.until(() => t.summaries().some((s) => s.state === 'closed'));
    const [c] = t.summaries();
    expect(c).toMatchObject({ mode: 'proxy', url, app: label, frames: { client: 4, server: 4 } });
    const rows = await t.session.dispatch('frames', { connection: c!.id, from: 0, to: 100 });
    expect(rows.filter((r) => r.opcode === 1 && r.from === 'client').map((r) => r.preview)).toEqual(['hello there one', 'hello there two', 'hello there three']);
    expect(t.server.received.map((m) => m.data.toString())).toEqual(['hello there one', 'hello there two', 'hello there three']);
  }, 30_000);

  it('labels each of two apps running at once with its own command', async () => {
    const t = await setup();
    const url = `ws://127.0.0.1:${t.server.port}/`;
    const [a, b] = await Promise.all([t.session.dispatch('launch', { command: [process.execPath, t.app, `${url}a`, 'A'] }), t.session.dispatch('launch', { command: [process.execPath, t.app, `${url}b`, 'B'] })]);
    await t.until(() => t.exited(a.id) !== undefined && t.exited(b.id) !== undefined);
    await t.until(() => t.summaries().filter((s) => s.state === 'closed').length === 2);
    const byUrl = new Map(t.summaries().map((s) => [s.url, s.app]));
    expect(byUrl.get(`${url}a`)).toBe(a.label);
    expect(byUrl.get(`${url}b`)).toBe(b.label);
    expect(a.label).not.toBe(b.label);
  }, 30_000);

  it('stops an app on request, and ends those still running with the session', async () => {
    const t = await setup();
    const forever = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
    const one = await t.session.dispatch('launch', { command: forever });
    await t.session.dispatch('stopApp', { id: one.id });
    await t.until(() => t.exited(one.id) !== undefined);
    expect(t.exited(one.id)).toMatchObject({ state: 'exited', signal: 'SIGTERM' });
    await expect(t.session.dispatch('stopApp', { id: one.id })).rejects.toThrow(/no running app/);
    const two: LaunchedApp = await t.session.dispatch('launch', { command: forever });
    await t.session.dispose();
    expect(t.exited(two.id)).toMatchObject({ state: 'exited', signal: 'SIGTERM' });
    expect(() => process.kill(two.pid!, 0)).toThrow();
    expect(launchDirs()).toEqual([]);
  }, 30_000);

  it('says clearly why an app could not start, and leaves nothing behind', async () => {
    const t = await setup();
    await expect(t.session.dispatch('launch', { command: ['framescope-no-such-command', '--x'] })).rejects.toThrow(/^cannot start framescope-no-such-command: no such command$/);
    await expect(t.session.dispatch('launch', { browser: 'chromium', url: '--disable-web-security' })).rejects.toThrow(/is not a URL|is not installed/);
    await expect(t.session.dispatch('launch', { browser: 'chromium', url: 'javascript:alert(1)' })).rejects.toThrow(/must be an http:\/\/, https:\/\/ or file:\/\/ URL|is not installed/);
    expect(launchDirs()).toEqual([]);
    expect((await t.session.snapshot()).apps).toBeUndefined();
    // A reverse proxy is not where an app can be pointed: the user is told to stop it.
    await t.session.stopProxy();
    await t.session.dispatch('startProxy', { mode: 'reverse', listen: '127.0.0.1:0', target: t.server.url });
    await expect(t.session.dispatch('launch', { command: [process.execPath, '-e', '0'] })).rejects.toThrow(/the proxy runs in reverse mode .*: stop it to launch an app/);
  }, 30_000);

  it('a session that must not start programs (serve beyond loopback) refuses, saying why', async () => {
    const session = new EngineSession({ version: 'test', caDir: scratch('ca'), noLaunch: 'launching apps is refused here' });
    cleanup.push(() => session.dispose());
    const marker = join(scratch('marker'), 'ran');
    await expect(session.dispatch('launch', { command: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`] })).rejects.toThrow(/^launching apps is refused here$/);
    expect(existsSync(marker)).toBe(false);
    expect(launchDirs()).toEqual([]);
  });
});

describe('launch command: a browser through the session', () => {
  it('opens a page in headless Chromium whose script talks to a loopback ws:// server: its connection labelled Chromium', async () => {
    expect(existsSync('/usr/bin/chromium'), 'Chromium is needed (apt-get install chromium)').toBe(true);
    const t = await setup();
    const wsUrl = `ws://127.0.0.1:${t.server.port}/feed`;
    const pageUrl = await wsPage(wsUrl, 'hello from the panel', cleanup);
    const targets = await t.session.dispatch('launchTargets', undefined);
    expect(targets.browsers.find((b) => b.id === 'chromium')).toMatchObject({ name: 'Chromium', path: expect.stringMatching(/chromium/) });
    const app = await t.session.dispatch('launch', { browser: 'chromium', headless: true, url: pageUrl });
    expect(app).toMatchObject({ label: 'Chromium', state: 'running' });
    await t.until(() => t.summaries().some((s) => s.url === wsUrl && s.close !== null));
    const c = t.summaries().find((s) => s.url === wsUrl)!;
    expect(c).toMatchObject({ mode: 'proxy', app: 'Chromium', close: { code: 4000, reason: 'page done', by: 'client' } });
    const rows = await t.session.dispatch('frames', { connection: c.id, from: 0, to: 100 });
    expect(rows.filter((r) => r.opcode === 1 && r.from === 'client').map((r) => r.preview)).toEqual(['hello from the panel', 'second']);
    await t.session.dispatch('stopApp', { id: app.id });
    await t.until(() => t.exited(app.id) !== undefined);
    expect(launchDirs()).toEqual([]);
  }, 60_000);
});
