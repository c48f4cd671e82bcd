// A real browser as the app (issue 3, "How it is checked"): headless Chromium, pointed at
// `framescope proxy` as its HTTP proxy, loads an https page whose script talks to a wss://
// echo server with permessage-deflate. Everything stays on loopback.
//
// Trust: Chromium trusts Framescope's CA for real — a fresh HOME per test whose NSS
// database (~/.pki/nssdb, where Chromium on Linux looks) holds the CA that the proxy made
// in its fresh --ca-dir. So the interception leaf has to pass Chromium's own verification
// (SAN, validity, key usage), which --ignore-certificate-errors would skip. Without
// `certutil` (libnss3-tools) the test falls back to --ignore-certificate-errors and still
// checks, through the page's security details, that the leaf came from Framescope's CA.
//
// Upstream: the proxy verifies the test servers' certificate (NODE_EXTRA_CA_CERTS = the test
// CA) rather than running with --insecure, so the recorded TLS says "authorized".
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { CaptureFileJson, FrameJson } from '../../shared/model';
import { spawnCli, type CliProcess } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { testPki } from '../peers/pki';
import { afterEachCleanup } from '../peers/cleanup';

const CHROMIUM = '/usr/bin/chromium';
const haveCertutil = (() => {
  try {
    execFileSync('certutil', ['-H'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // certutil -H exits 1 after printing its help: it is there.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();

const { cleanup, scratch } = afterEachCleanup();

/** What the page sends, in order; the echo server sends each back. */
const MESSAGES: Array<{ kind: 'text'; text: string } | { kind: 'binary'; bytes: number[] | { pattern: number } }> = [
  { kind: 'text', text: 'hello from chromium' },
  { kind: 'binary', bytes: [0, 1, 2, 3, 254, 255] },
  { kind: 'text', text: 'héllo ✓ 🌍' },
  // Large and repetitive: permessage-deflate shrinks it to a fraction on the wire.
  { kind: 'text', text: 'Framescope sees every frame. '.repeat(4000) },
  // 200 KiB of a byte pattern: larger than one socket read, so the observer sees it in pieces.
  { kind: 'binary', bytes: { pattern: 200 * 1024 } },
];
const CLOSE_CODE = 4001;
const CLOSE_REASON = 'done from chromium';

function expectedBytes(m: (typeof MESSAGES)[number]): Buffer {
  if (m.kind === 'text') return Buffer.from(m.text, 'utf8');
  if (Array.isArray(m.bytes)) return Buffer.from(m.bytes);
  const b = Buffer.alloc(m.bytes.pattern);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

/** The page: opens the WebSocket, sends MESSAGES, waits for every echo, closes with a code. */
function pageHtml(wsUrl: string): string {
  const script = `
const MESSAGES = ${JSON.stringify(MESSAGES)};
const status = document.getElementById('status');
const log = document.getElementById('log');
const line = (t) => { const li = document.createElement('li'); li.textContent = t; log.appendChild(li); };
function payload(m) {
  if (m.kind === 'text') return m.text;
  if (Array.isArray(m.bytes)) return new Uint8Array(m.bytes);
  const b = new Uint8Array(m.bytes.pattern);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}
const sent = MESSAGES.map(payload);
const bytesOf = (d) => (typeof d === 'string' ? new TextEncoder().encode(d) : new Uint8Array(d instanceof ArrayBuffer ? d : d.buffer));
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const received = [];
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.binaryType = 'arraybuffer';
ws.onopen = () => {
  status.textContent = 'open (' + ws.extensions + ')';
  for (const p of sent) { ws.send(p); line('sent ' + (typeof p === 'string' ? 'text ' : 'binary ') + bytesOf(p).length + ' bytes'); }
};
ws.onmessage = (e) => {
  const isText = typeof e.data === 'string';
  const bytes = bytesOf(e.data);
  const same = sameBytes(bytes, bytesOf(sent[received.length]));
  received.push({ isText, length: bytes.length, same });
  line('echo ' + (isText ? 'text ' : 'binary ') + bytes.length + ' bytes' + (same ? ', as sent' : ', DIFFERENT'));
  if (received.length === MESSAGES.length) ws.close(${CLOSE_CODE}, ${JSON.stringify(CLOSE_REASON)});
};
ws.onerror = () => { status.textContent = 'error'; };
ws.onclose = (e) => {
  status.textContent = 'closed ' + e.code + ' ' + e.reason + (e.wasClean ? ' (clean)' : '');
  window.__result = { code: e.code, reason: e.reason, wasClean: e.wasClean, extensions: ws.extensions, received };
};`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Framescope through Chromium</title>
<style>body{font:16px sans-serif;margin:2em}#status{font-weight:bold}</style></head>
<body><h1>WebSocket through Framescope</h1><p>to ${wsUrl}</p><p id="status">connecting…</p><ul id="log"></ul>
<script>${script}</script></body></html>`;
}

async function pageServer(tlsPair: { certPem: string; keyPem: string }, html: () => string): Promise<{ url: string; server: HttpsServer }> {
  const server = createHttpsServer({ cert: tlsPair.certPem, key: tlsPair.keyPem }, (req, res) => {
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html());
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not here\n');
    }
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `https://localhost:${(server.address() as AddressInfo).port}/`, server };
}

/** `framescope proxy` in forward mode on a free port; resolves once it says where it listens. */
async function startProxy(args: string[], env: Record<string, string>): Promise<{ proc: CliProcess; port: number }> {
  const proc = spawnCli(['proxy', '--listen', '127.0.0.1:0', ...args], { env });
  cleanup.push(() => proc.stop('SIGKILL'));
  const line = await proc.waitForLine(/^framescope proxy: listening on /, { stream: 'stderr' });
  const m = /listening on 127\.0\.0\.1:(\d+),/.exec(line);
  if (!m) throw new Error(`unexpected listening line: ${line}`);
  return { proc, port: Number(m[1]) };
}

/** A HOME whose NSS database trusts `caFile` as a CA for TLS servers. */
function homeTrusting(caFile: string): string {
  const home = scratch('chromium-home');
  const db = join(home, '.pki', 'nssdb');
  execFileSync('mkdir', ['-p', db]);
  execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'Framescope test interception CA', '-i', caFile]);
  return home;
}

async function launchChromium(proxyPort: number, home: string, ignoreCertErrors: boolean): Promise<BrowserContext> {
  const userDataDir = scratch('chromium-profile');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home } as Record<string, string>,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      `--proxy-server=http://127.0.0.1:${proxyPort}`,
      // Chromium sends loopback requests direct unless told not to; here they must go through.
      '--proxy-bypass-list=<-loopback>',
      // Belt and braces: no name is resolved by Chromium itself (the proxy resolves "localhost").
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ...(ignoreCertErrors ? ['--ignore-certificate-errors'] : []),
    ],
    timeout: 30_000,
  });
  cleanup.push(() => context.close());
  return context;
}

interface PageResult {
  code: number;
  reason: string;
  wasClean: boolean;
  extensions: string;
  received: Array<{ isText: boolean; length: number; same: boolean }>;
}

/** The whole data message a final frame completes: its `message` when recorded, else its payload. */
function messagesOf(frames: FrameJson[], from: 'client' | 'server'): Array<{ opcode: number; data: Buffer }> {
  const out: Array<{ opcode: number; data: Buffer }> = [];
  let opcode = 0;
  for (const f of frames) {
    if (f.from !== from || f.opcode >= 8) continue;
    if (f.opcode !== 0) opcode = f.opcode;
    if (!f.fin) continue;
    out.push(f.message ? { opcode: f.message.opcode, data: Buffer.from(f.message.data, 'base64') } : { opcode, data: Buffer.from(f.payload, 'base64') });
  }
  return out;
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

describe('headless Chromium through the forward proxy (RFC 6455 §4, RFC 7692)', () => {
  it('records Chromium’s real handshake and every message, inflated, over intercepted TLS', async () => {
    const pki = await testPki();
    const ws: WsTestServer = await startWsServer({ tls: pki.leaf, perMessageDeflate: true });
    cleanup.push(() => ws.close());
    const wsUrl = `wss://localhost:${ws.port}/chat?room=7`;
    const page = await pageServer(pki.leaf, () => pageHtml(wsUrl));

    const caDir = scratch('ca');
    const capture = join(scratch('capture'), 'chromium.wscap.json');
    const { proc, port } = await startProxy(['--capture', capture, '--json', '--allow-hosts', 'localhost,127.0.0.1', '--ca-dir', caDir], {
      NODE_EXTRA_CA_CERTS: pki.caFile,
    });

    const trustCa = haveCertutil;
    const home = trustCa ? homeTrusting(join(caDir, 'ca.pem')) : scratch('chromium-home');
    const context = await launchChromium(port, home, !trustCa);
    const tab = context.pages()[0] ?? (await context.newPage());
    const response = await tab.goto(page.url, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    // The page's certificate is Framescope's leaf for localhost, not the test server's.
    const security = await response!.securityDetails();
    expect(security?.issuer).toBe('Framescope Interception CA');
    expect(security?.subjectName).toBe('localhost');

    await tab.waitForFunction(() => (globalThis as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 20_000 });
    const result = (await tab.evaluate(() => (globalThis as unknown as { __result: unknown }).__result)) as PageResult;
    const shot = join(tmpdir(), `framescope-chromium-${process.pid}.png`);
    await tab.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    expect(readFileSync(shot).subarray(1, 4).toString('latin1')).toBe('PNG');

    // What the page saw: every echo, the close it asked for, deflate negotiated.
    expect(result.code).toBe(CLOSE_CODE);
    expect(result.reason).toBe(CLOSE_REASON);
    expect(result.wasClean).toBe(true);
    expect(result.extensions).toMatch(/^permessage-deflate/);
    expect(result.received.map((r) => [r.isText, r.length, r.same])).toEqual(MESSAGES.map((m) => [m.kind === 'text', expectedBytes(m).length, true]));
    await ws.waitForClose(0);

    await context.close();
    const exit = await proc.stop('SIGINT');
    expect(exit.code, exit.stderr).toBe(0);
    // Chromium's background requests (update checks, accounts…) were refused with 403 and
    // logged, and the fresh CA was announced; nothing else went wrong.
    for (const l of exit.stderr.trim().split('\n')) expect(l).toMatch(/^framescope proxy: (listening on |refused |wrote |created a new interception CA;)/);
    expect(existsSync(`${capture}.journal`)).toBe(false);

    // --json on stdout: the same connection, live.
    const events = exit.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['open', 'handshake', 'frame', 'close']));

    const file = JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
    expect(file).toMatchObject({ format: 'framescope.capture', version: 1 });
    // Only the WebSocket is recorded: the page load, a favicon, and background requests
    // (403 from --allow-hosts) are not WebSocket connections.
    expect(file.connections).toHaveLength(1);
    const conn = file.connections[0]!;
    expect(conn).toMatchObject({ mode: 'proxy', url: wsUrl, errors: [] });
    expect(conn.tls).toMatchObject({ authorized: true, servername: 'localhost' });

    // Chromium's real handshake, as it sent it.
    const hs = conn.handshake!;
    expect(hs.request.method).toBe('GET');
    expect(hs.request.target).toBe('/chat?room=7');
    expect(header(hs.request.headers, 'sec-websocket-extensions')).toBe('permessage-deflate; client_max_window_bits');
    expect(header(hs.request.headers, 'user-agent')).toMatch(/Chrome\/\d+/);
    expect(header(hs.request.headers, 'origin')).toBe(new URL(page.url).origin);
    expect(header(hs.request.headers, 'sec-websocket-version')).toBe('13');
    expect(hs.response?.status).toBe(101);
    expect(hs.accept.valid).toBe(true);
    expect(hs.accept.received).toBe(hs.accept.expected);
    expect(hs.extensions.map((x) => x.name)).toEqual(['permessage-deflate']);
    expect(hs.checks.filter((c) => !c.ok)).toEqual([]);

    // Every message both ways, inflated and whole, in order.
    const frames = conn.frames;
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    expect(frames.flatMap((f) => f.violations ?? [])).toEqual([]);
    const expected = MESSAGES.map((m) => ({ opcode: m.kind === 'text' ? 1 : 2, data: expectedBytes(m) }));
    for (const side of ['client', 'server'] as const) {
      const got = messagesOf(frames, side);
      expect(got.map((m) => m.opcode), side).toEqual(expected.map((m) => m.opcode));
      got.forEach((m, i) => expect(m.data.equals(expected[i]!.data), `${side} message ${i}`).toBe(true));
    }
    // Chromium compresses what it sends; the big text went on the wire much smaller than it is.
    const bigText = frames.find((f) => f.from === 'client' && f.message?.length === expectedBytes(MESSAGES[3]!).length)!;
    expect(bigText.rsv1).toBe(true);
    expect(frames.filter((f) => f.from === 'client').every((f) => f.masked)).toBe(true);
    expect(bigText.length).toBeLessThan(bigText.message!.length / 10);

    // The close: Chromium's code, then the server's answer; clean.
    const closes = frames.filter((f) => f.opcode === 8);
    expect(closes.map((f) => [f.from, f.close?.code])).toEqual([
      ['client', CLOSE_CODE],
      ['server', CLOSE_CODE],
    ]);
    expect(conn.close).toEqual({ code: CLOSE_CODE, reason: CLOSE_REASON, by: 'client', clean: true });
  }, 90_000);
});

describe('headless Chromium through the forward proxy with a script that changes the conversation (issue 18)', () => {
  it('Chromium, wss:// intercepted, permessage-deflate: an edit and an injection reach the peers; the record links both legs', async () => {
    const pki = await testPki();
    const ws: WsTestServer = await startWsServer({ tls: pki.leaf, perMessageDeflate: true });
    cleanup.push(() => ws.close());
    const wsUrl = `wss://localhost:${ws.port}/chat`;
    // The page sends three messages of the same shape (deflate's context carries from one to
    // the next) and closes once it has four back: the three echoes and the injected one.
    const html = () => `<!doctype html><meta charset="utf-8"><title>edit</title><script>
const got = [];
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.onopen = () => { for (const t of ['{"order":1,"qty":5}', '{"order":2,"qty":6}', '{"order":3,"qty":7}']) ws.send(t); };
ws.onmessage = (e) => { got.push(e.data); if (got.length === 4) ws.close(1000, 'done'); };
ws.onclose = (e) => { window.__result = { code: e.code, got, extensions: ws.extensions }; };
</script>`;
    const page = await pageServer(pki.leaf, html);
    const dir = scratch('script');
    const script = join(dir, 'edit.mjs');
    writeFileSync(
      script,
      `export function onMessage(m, ctx) {
  if (m.from !== 'client') return undefined;
  if (m.text === '{"order":2,"qty":6}') return { text: '{"order":2,"qty":600}' };
  if (m.text === '{"order":3,"qty":7}') ctx.inject('client', 'injected by Framescope');
}
`,
    );
    const caDir = scratch('ca');
    const capture = join(scratch('capture'), 'edited.wscap.json');
    const { proc, port } = await startProxy(['--capture', capture, '--quiet', '--allow-hosts', 'localhost,127.0.0.1', '--ca-dir', caDir, '--script', script], {
      NODE_EXTRA_CA_CERTS: pki.caFile,
    });
    const home = haveCertutil ? homeTrusting(join(caDir, 'ca.pem')) : scratch('chromium-home');
    const context = await launchChromium(port, home, !haveCertutil);
    const tab = context.pages()[0] ?? (await context.newPage());
    await tab.goto(page.url, { waitUntil: 'load' });
    await tab.waitForFunction(() => (globalThis as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 20_000 });
    const result = (await tab.evaluate(() => (globalThis as unknown as { __result: unknown }).__result)) as { code: number; got: string[]; extensions: string };

    // The server read the edit (so Framescope's re-compressed stream decodes in `ws`), the
    // page read the injection and the echoes (Chromium's decompressor followed Framescope's).
    expect(result.extensions).toMatch(/^permessage-deflate/);
    expect(ws.received.map((m) => m.data.toString())).toEqual(['{"order":1,"qty":5}', '{"order":2,"qty":600}', '{"order":3,"qty":7}']);
    expect([...result.got].sort()).toEqual(['injected by Framescope', '{"order":1,"qty":5}', '{"order":2,"qty":600}', '{"order":3,"qty":7}'].sort());
    expect(result.code).toBe(1000);

    await context.close();
    const exit = await proc.stop('SIGINT');
    expect(exit.code, exit.stderr).toBe(0);
    const conn = (JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson).connections[0]!;
    expect(conn.errors).toEqual([]);
    const edited = conn.frames.find((f) => f.intervention?.decision === 'replaced')!;
    expect(edited).toMatchObject({ from: 'client', rsv1: true, masked: true });
    const written = conn.frames.filter((f) => f.by === 'framescope' && f.intervention?.id === edited.intervention!.id);
    expect(written.map((f) => Buffer.from(f.message?.data ?? f.payload, 'base64').toString())).toEqual(['{"order":2,"qty":600}']);
    // After the edit Framescope compresses the client's direction itself: the third message
    // went on as Framescope's re-compressed copy, linked to Chromium's original.
    const third = conn.frames.find((f) => f.from === 'client' && !f.by && f.message && Buffer.from(f.message.data, 'base64').toString() === '{"order":3,"qty":7}')!;
    expect(third.intervention?.decision).toBe('forwarded');
    expect(conn.frames.find((f) => f.by === 'framescope' && f.intervention?.id === third.intervention!.id)?.intervention).toMatchObject({ recompressed: true });
    expect(conn.frames.find((f) => f.intervention?.injected)).toMatchObject({ from: 'server', by: 'framescope', masked: false });
  }, 90_000);
});
