// `framescope serve` as a process: the token guards page and bridge, the bridge checks the
// Origin and the Host, and the bridge carries the contract to a live engine session.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { WebSocket } from 'ws';
import type { BridgeMessage, ConnectionSummary, FrameSummary, UiEvent } from '../../shared/contract';
import { spawnCli, type CliProcess } from '../peers/cli';
import { startWsServer } from '../peers/ws-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function serve(): Promise<{ url: string; base: string; token: string; proc: CliProcess }> {
  const proc = spawnCli(['serve', '--forget']);
  cleanup.push(() => proc.stop());
  const line = await proc.waitForLine(/^http:\/\//);
  const url = line.trim();
  const u = new URL(url);
  return { url, base: `${u.protocol}//${u.host}`, token: u.searchParams.get('token')!, proc };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    http
      .get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

function bridgeStatus(url: string, origin: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('error', () => {});
  });
}

/** A bridge client: requests with ids, and the event batches it is pushed. */
async function bridge(base: string, token: string) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/bridge?token=${token}`, { origin: base });
  cleanup.push(() => ws.terminate());
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const events: UiEvent[] = [];
  const pending = new Map<number, (m: BridgeMessage) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as BridgeMessage;
    if ('events' in m) events.push(...m.events);
    else pending.get(m.id)?.(m);
  });
  let id = 0;
  const call = (command: string, arg: unknown) =>
    new Promise<BridgeMessage>((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, command, arg }));
    });
  return { ws, events, call };
}

describe('framescope serve', () => {
  it('prints the URL first, on loopback, with a token', async () => {
    const { url, token } = await serve();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    expect(token.length).toBe(32);
  });

  it('the page and the bridge need the token; the bridge needs its own Origin; requests need its own Host', async () => {
    const { url, base, token } = await serve();
    expect((await get(`${base}/`)).status).toBe(403);
    expect((await get(`${base}/?token=wrong${token.slice(5)}`)).status).toBe(403);
    const page = await get(url);
    expect(page.status).not.toBe(403);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await get(url, { Host: 'attacker.example:80' })).status).toBe(403);

    const bridgeUrl = `${base.replace('http', 'ws')}/bridge?token=${token}`;
    expect(await bridgeStatus(bridgeUrl, base)).toBe(101);
    expect(await bridgeStatus(`${base.replace('http', 'ws')}/bridge`, base)).toBe(403);
    expect(await bridgeStatus(`${base.replace('http', 'ws')}/bridge?token=nope`, base)).toBe(403);
    expect(await bridgeStatus(bridgeUrl, 'http://attacker.example')).toBe(403);
    expect(await bridgeStatus(bridgeUrl, undefined)).toBe(403);
  });

  it('carries commands and live events: connect, send, frames, payload, disconnect', async () => {
    const echo = await startWsServer();
    cleanup.push(() => echo.close());
    const { base, token } = await serve();
    const b = await bridge(base, token);
    const snap = await b.call('snapshot', {});
    expect(snap).toMatchObject({ ok: true, result: { connections: [], proxy: null } });

    const c = (await b.call('connect', { url: echo.url, deflate: false })) as { ok: true; result: { connection: string } };
    const id = c.result.connection;
    const waitFor = async (pred: () => boolean) => {
      while (!pred()) await new Promise((r) => setTimeout(r, 10));
    };
    const summary = () =>
      b.events.filter((e): e is { type: 'connection'; connection: ConnectionSummary } => e.type === 'connection' && e.connection.id === id).at(-1)?.connection;
    await waitFor(() => summary()?.state === 'open');
    expect(summary()!.handshake!.accept.valid).toBe(true);

    expect(await b.call('send', { connection: id, kind: 'text', text: 'hello from the UI' })).toMatchObject({ ok: true });
    const rows = () => b.events.flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
    await waitFor(() => rows().length >= 2);
    expect(rows().map((r) => [r.seq, r.from, r.opcode, r.preview])).toEqual([
      [0, 'client', 1, 'hello from the UI'],
      [1, 'server', 1, 'hello from the UI'],
    ]);
    const payload = (await b.call('framePayload', { connection: id, seq: 1 })) as { ok: true; result: { payload: string } };
    expect(Buffer.from(payload.result.payload, 'base64').toString()).toBe('hello from the UI');
    const again = (await b.call('frames', { connection: id, from: 0, to: 10 })) as { ok: true; result: FrameSummary[] };
    expect(again.result).toEqual(rows());

    // Bad arguments are refused with a reason, not a crash.
    expect(await b.call('send', { connection: id, kind: 'text', text: 5 })).toMatchObject({ ok: false, error: 'send.text must be a string' });
    expect(await b.call('send', { connection: id, kind: 'ping', data: Buffer.alloc(126).toString('base64') })).toMatchObject({ ok: false });
    expect(await b.call('rm -rf', {})).toMatchObject({ ok: false, error: 'unknown command "rm -rf"' });
    expect(await b.call('send', { connection: 'nope', kind: 'text', text: 'x' })).toMatchObject({ ok: false, error: 'no connection nope' });

    expect(await b.call('disconnect', { connection: id, code: 4000, reason: 'done' })).toMatchObject({ ok: true });
    await waitFor(() => summary()?.state === 'closed');
    expect(summary()!.close).toMatchObject({ code: 4000, by: 'client', clean: true });
    expect(await echo.waitForClose()).toMatchObject({ code: 4000, reason: 'done' });
  });

  it('starts a reverse proxy, and a proxied connection appears', async () => {
    const echo = await startWsServer();
    cleanup.push(() => echo.close());
    const { base, token } = await serve();
    const b = await bridge(base, token);
    const started = (await b.call('startProxy', { mode: 'reverse', listen: '127.0.0.1:0', target: echo.url })) as {
      ok: true;
      result: { address: string };
    };
    expect(started.result.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const app = new WebSocket(started.result.address);
    cleanup.push(() => app.terminate());
    await new Promise((r) => app.once('open', r));
    app.send('via the proxy');
    await new Promise((r) => app.once('message', r));
    while (!b.events.some((e) => e.type === 'frames' && e.frames.some((f) => f.from === 'server'))) await new Promise((r) => setTimeout(r, 10));
    const proxied = b.events.find((e) => e.type === 'connection' && e.connection.mode === 'proxy');
    expect(proxied).toBeTruthy();
    // Dropping a proxied connection ends both sides (no closing handshake: Framescope only relays).
    const id = (proxied as { connection: ConnectionSummary }).connection.id;
    const closed = new Promise<number>((r) => app.once('close', (code) => r(code)));
    expect(await b.call('disconnect', { connection: id })).toMatchObject({ ok: true });
    expect(await closed).toBe(1006);
    expect(await b.call('disconnect', { connection: id })).toMatchObject({ ok: false, error: `${id} is not a live proxied connection` });
    expect(await b.call('stopProxy', {})).toMatchObject({ ok: true });
  });
});
