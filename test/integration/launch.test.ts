// `framescope launch` (issue 21): an app started through Framescope's proxy, unchanged, its
// WebSocket traffic recorded — a Node app using `ws` against loopback ws:// and wss:// servers
// (the wss:// one self-signed: the app trusts it through its own NODE_EXTRA_CA_CERTS, and
// Framescope's CA through the launch), and headless Chromium and Firefox opening a page whose
// script talks to a loopback wss:// server.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CaptureFileJson, FrameJson } from '../../shared/model';
import { REPO_ROOT, runCli } from '../peers/cli';
import { startWsServer } from '../peers/ws-servers';
import { testPki } from '../peers/pki';
import { wsPage } from '../peers/ws-page';
import { afterEachCleanup } from '../peers/cleanup';

const { cleanup, scratch } = afterEachCleanup();

function texts(frames: FrameJson[], from: 'client' | 'server'): string[] {
  return frames.filter((f) => f.from === from && f.opcode === 1).map((f) => Buffer.from(f.payload, 'base64').toString('utf8'));
}

/** The launch's temporary folders (TMPDIR is the run's own): none is left after it. */
function launchDirs(tmp: string): string[] {
  return readdirSync(tmp).filter((n) => n.startsWith('framescope-launch-'));
}

/**
 * Live processes whose environment names `dir` (a launch's temporary folder is in the
 * environment it gives the app, and every child the app starts inherits it).
 */
function processesMentioning(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(dir)) found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const WS_PATH = pathToFileURL(join(REPO_ROOT, 'node_modules/ws/wrapper.mjs')).href;

/** An ordinary app: `ws` clients to the two URLs, a few messages each, then its own exit code. */
function appSource(): string {
  return `import WebSocket from ${JSON.stringify(WS_PATH)};
const [plainUrl, secureUrl] = process.argv.slice(2);
async function talk(url, tag) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const got = [];
  const all = new Promise((resolve) => ws.on('message', (d) => { got.push(String(d)); if (got.length === 3) resolve(); }));
  for (const t of ['one', 'two', 'three']) ws.send(tag + ' ' + t);
  await all;
  ws.close(1000, tag + ' done');
  await new Promise((resolve) => ws.once('close', resolve));
  return got;
}
const a = await talk(plainUrl, 'plain');
const b = await talk(secureUrl, 'secure');
const env = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'no_proxy', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'NODE_EXTRA_CA_CERTS'];
process.stderr.write('APP ' + JSON.stringify({ a, b, env: Object.fromEntries(env.map((n) => [n, process.env[n] ?? null])) }) + '\\n');
process.exit(7);
`;
}

describe('framescope launch -- COMMAND', () => {
  it('records every frame of an unchanged Node app using ws against loopback ws:// and self-signed wss://, and exits with its code', async () => {
    const pki = await testPki();
    const plain = await startWsServer();
    const secure = await startWsServer({ tls: pki.selfSigned });
    cleanup.push(() => plain.close(), () => secure.close());
    const dir = scratch('app');
    const app = join(dir, 'app.mjs');
    writeFileSync(app, appSource());
    const before = readFileSync(app, 'utf8');
    const capture = join(dir, 'app.wscap.json');
    const plainUrl = `ws://127.0.0.1:${plain.port}/plain`;
    const secureUrl = `wss://localhost:${secure.port}/secure`;
    const caDir = scratch('ca');
    const r = await runCli(['launch', '--capture', capture, '--quiet', '--ca-dir', caDir, '--', process.execPath, app, plainUrl, secureUrl], {
      // The app's own trust: the self-signed server's certificate (kept, with Framescope's CA added).
      env: { NODE_EXTRA_CA_CERTS: pki.selfSignedFile, NO_PROXY: 'localhost,127.0.0.1', HTTP_PROXY: undefined, HTTPS_PROXY: undefined },
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(7);
    const line = r.stderr.split('\n').find((l) => l.startsWith('APP '));
    expect(line, r.stderr).toBeDefined();
    const seen = JSON.parse(line!.slice(4)) as { a: string[]; b: string[]; env: Record<string, string | null> };
    expect(seen.a).toEqual(['plain one', 'plain two', 'plain three']);
    expect(seen.b).toEqual(['secure one', 'secure two', 'secure three']);
    // The proxy in every variable, loopback not excepted, the CA in every trust variable.
    expect(seen.env['HTTP_PROXY']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(seen.env['HTTPS_PROXY']).toBe(seen.env['HTTP_PROXY']);
    expect(seen.env['ALL_PROXY']).toBe(seen.env['HTTP_PROXY']);
    expect(seen.env['NO_PROXY']).toBe('');
    expect(seen.env['no_proxy']).toBe('');
    for (const n of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO']) expect(seen.env[n], n).toMatch(/framescope-launch-.*ca-bundle\.pem$/);
    expect(seen.env['NODE_EXTRA_CA_CERTS']).toMatch(/framescope-launch-.*node-extra-ca\.pem$/);

    // The app is as it was; the launch left nothing behind.
    expect(readFileSync(app, 'utf8')).toBe(before);
    expect(launchDirs(tmpdir())).toEqual([]);
    expect(existsSync(`${capture}.journal`)).toBe(false);
    expect(r.stderr).toMatch(/framescope launch: wrote .* \(2 connections, \d+ frames\)/);

    // The servers saw the app's messages; the capture holds every frame, labelled with the app.
    expect(plain.received.map((m) => m.data.toString())).toEqual(['plain one', 'plain two', 'plain three']);
    expect(secure.received.map((m) => m.data.toString())).toEqual(['secure one', 'secure two', 'secure three']);
    const file = JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
    expect(file.connections.map((c) => c.url)).toEqual([plainUrl, secureUrl]);
    for (const [i, tag] of [[0, 'plain'], [1, 'secure']] as const) {
      const c = file.connections[i]!;
      expect(c.app).toBe(`${process.execPath} ${app} ${plainUrl} ${secureUrl}`);
      expect(c.errors).toEqual([]);
      expect(texts(c.frames, 'client')).toEqual([`${tag} one`, `${tag} two`, `${tag} three`]);
      expect(texts(c.frames, 'server')).toEqual([`${tag} one`, `${tag} two`, `${tag} three`]);
      expect(c.close).toMatchObject({ code: 1000, reason: `${tag} done`, by: 'client', clean: true });
    }
    // The wss:// connection was intercepted: the upstream's certificate is the self-signed one.
    expect(file.connections[1]!.tls).toMatchObject({ authorized: true, servername: 'localhost' });
  }, 40_000);

  it('says clearly what is wrong with a command line it cannot run', async () => {
    const none = await runCli(['launch']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^framescope: launch: say what to start/);
    const unknown = await runCli(['launch', 'netscape']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown browser "netscape"/);
    const missing = await runCli(['launch', '--quiet', '--ca-dir', scratch('ca'), '--', 'framescope-no-such-command']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot start framescope-no-such-command: no such command/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('framescope launch -- node with socket.io-client and fetch', () => {
  it('sends socket.io-client (polling, then its WebSocket upgrade) and fetch through the proxy', async () => {
    const { Server } = await import('socket.io');
    const http = createHttpServer();
    const io = new Server(http);
    io.on('connection', (socket) => socket.on('ping', (text: string, ack: (t: string) => void) => ack(`pong ${text}`)));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
    const port = (http.address() as AddressInfo).port;
    const dir = scratch('app');
    const app = join(dir, 'app.mjs');
    const client = pathToFileURL(join(REPO_ROOT, 'node_modules/socket.io-client/build/esm-debug/index.js')).href;
    writeFileSync(
      app,
      `import { io } from ${JSON.stringify(client)};
const [url, refused] = process.argv.slice(2);
const socket = io(url);
await new Promise((resolve) => socket.once('connect', resolve));
if (socket.io.engine.transport.name !== 'websocket') await new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
const answer = await socket.emitWithAck('ping', 'through framescope');
socket.close();
// --allow-hosts lets only localhost through: the proxy's 403 for 127.0.0.1 says fetch went through it.
let status;
try {
  status = (await fetch(refused)).status;
} catch (err) {
  status = String(err.cause?.message);
}
process.stderr.write('APP ' + JSON.stringify({ answer, status }) + '\\n');
`,
    );
    const capture = join(dir, 'io.wscap.json');
    const r = await runCli(['launch', '--capture', capture, '--quiet', '--ca-dir', scratch('ca'), '--allow-hosts', 'localhost', '--', process.execPath, app, `http://localhost:${port}`, `http://127.0.0.1:${port}/`], {
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const line = r.stderr.split('\n').find((l) => l.startsWith('APP '));
    expect(JSON.parse(line!.slice(4))).toEqual({ answer: 'pong through framescope', status: expect.stringMatching(/^the Framescope proxy refused 127\.0\.0\.1:\d+: HTTP\/1\.1 403 Forbidden$/) });
    const file = JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
    expect(file.connections).toHaveLength(1);
    const c = file.connections[0]!;
    expect(c.url).toMatch(new RegExp(`^ws://localhost:${port}/socket\\.io/\\?EIO=4&transport=websocket&sid=`));
    expect(texts(c.frames, 'client')).toContain('420["ping","through framescope"]');
    expect(texts(c.frames, 'server')).toContain('430["pong through framescope"]');
  }, 40_000);
});

// The same page in each browser: plain http:// on loopback (also through the proxy), its
// script talking to a loopback wss:// server. Chromium quits on SIGINT; Firefox dies of it.
const BROWSERS = [
  // Chromium's updaters and sign-in call out whatever the flags say (refused by --allow-hosts);
  // Firefox's profile turns off everything it reaches for on its own.
  { id: 'chromium', name: 'Chromium', agent: /Chrome\//, exitCode: 0, silent: false },
  { id: 'firefox', name: 'Firefox', agent: /Gecko\/\d+ Firefox\//, exitCode: 130, silent: true },
] as const;

for (const b of BROWSERS) {
  describe(`framescope launch ${b.id}`, () => {
    it(`opens a page in headless ${b.name} whose script talks to a loopback wss:// server: every frame recorded, nothing left running or in the home folder`, async () => {
      const pki = await testPki();
      const ws = await startWsServer({ tls: pki.selfSigned });
      cleanup.push(() => ws.close());
      const wsUrl = `wss://localhost:${ws.port}/feed`;
      const pageUrl = await wsPage(wsUrl, `hello from a launched ${b.id}`, cleanup);
      const capture = join(scratch(b.id), `${b.id}.wscap.json`);
      // A home of its own, as a user's has it, to see that the launch leaves it as it was.
      const home = scratch(`${b.id}-home`);
      mkdirSync(join(home, 'Downloads'));
      const { spawnCli } = await import('../peers/cli');
      const proc = spawnCli(['launch', b.id, '--headless', '--json', '--capture', capture, '--ca-dir', scratch('ca'), '--allow-hosts', 'localhost,127.0.0.1', pageUrl], {
        // As CI runs it: no display (headless needs none).
        env: { NODE_EXTRA_CA_CERTS: pki.selfSignedFile, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, HOME: home, XDG_CONFIG_HOME: undefined, XDG_CACHE_HOME: undefined, XDG_DATA_HOME: undefined },
      });
      cleanup.push(() => proc.stop('SIGKILL'));
      // The close the page asked for, seen by the proxy: then the browser is asked to quit.
      await proc.waitForLine((l) => l.includes('"event":"close"'), { timeoutMs: 45_000 });
      const launchDir = launchDirs(tmpdir())[0];
      expect(launchDir, proc.stderr()).toBeDefined();
      // Looked at the moment the launch exits (its output pipes may close later, when the
      // last process holding them ends).
      const leftAtExit = new Promise<string[]>((resolve) => proc.child.once('exit', () => resolve(processesMentioning(launchDir!))));
      const exit = await proc.stop('SIGINT');
      expect(exit.code, exit.stderr).toBe(b.exitCode);
      if (b.silent) expect(exit.stderr.split('\n').filter((l) => /refused/.test(l))).toEqual([]);
      // The browser's own output goes to stderr: stdout is the events alone.
      for (const l of exit.stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(l), l).not.toThrow();
      expect(exit.stderr).toMatch(/framescope launch: wrote .* \(1 connections, \d+ frames\)/);
      expect(await leftAtExit).toEqual([]);
      const file = JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
      expect(file.connections).toHaveLength(1);
      const c = file.connections[0]!;
      expect(c).toMatchObject({ url: wsUrl, app: b.name, errors: [] });
      expect(c.handshake?.request.headers.find(([n]) => n.toLowerCase() === 'user-agent')?.[1]).toMatch(b.agent);
      expect(texts(c.frames, 'client')).toEqual([`hello from a launched ${b.id}`, 'second']);
      expect(texts(c.frames, 'server')).toEqual([`hello from a launched ${b.id}`, 'second']);
      expect(c.close).toMatchObject({ code: 4000, reason: 'page done', by: 'client' });
      expect(launchDirs(tmpdir())).toEqual([]);
      expect(readdirSync(home, { recursive: true })).toEqual(['Downloads']);
    }, 90_000);
  });
}
