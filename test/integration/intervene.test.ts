// Scripts that change the conversation (`proxy --script`, `connect --script`), against real
// peers: what the `ws` / python-websockets peers receive, byte for byte, and what the capture
// and the --json events record (both legs, linked).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import type { CaptureFileJson, FrameJson } from '../../shared/model';
import { spawnCli, runCli, type CliProcess } from '../peers/cli';
import { startWsServer, type WsTestServer, type WsServerOptions } from '../peers/ws-servers';
import { havePython, startPythonServer } from '../peers/python-servers';
import { testPki } from '../peers/pki';
import { legFrames } from '../../shared/legs';
import { collectingClient } from '../peers/ws-client';
import { captureFromJson } from '../../shared/records';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const dir = () => mkdtempSync(join(tmpdir(), 'framescope-iv-'));

function script(source: string): string {
  const file = join(dir(), 'script.mjs');
  writeFileSync(file, source);
  return file;
}

async function wsServer(options: WsServerOptions = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

interface Proxy {
  proc: CliProcess;
  port: number;
  capture: string;
  /** SIGTERM, then the capture and the --json frame events */
  stop(): Promise<{ capture: CaptureFileJson; events: Array<Record<string, unknown>>; stderr: string }>;
}

async function proxy(args: string[], env: Record<string, string> = {}): Promise<Proxy> {
  const capture = join(dir(), 'cap.json');
  const proc = spawnCli(['proxy', '--listen', '0', '--json', '--capture', capture, ...args], { env });
  cleanup.push(() => void proc.child.kill('SIGKILL'));
  const line = await proc.waitForLine(/listening on/, { stream: 'stderr' });
  const port = Number(/:(\d+),/.exec(line)![1]);
  return {
    proc,
    port,
    capture,
    stop: async () => {
      const r = await proc.stop('SIGTERM');
      expect(r.code, r.stderr).toBe(0);
      return {
        capture: JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson,
        events: proc.stdoutLines.map((l) => JSON.parse(l) as Record<string, unknown>),
        stderr: proc.stderr(),
      };
    },
  };
}

/** A `ws` client that keeps what it receives. */
const client = (url: string, options: WebSocket.ClientOptions = {}, socket?: net.Socket) => collectingClient(url, (t) => cleanup.push(t), options, socket);

const frames = (cap: CaptureFileJson): FrameJson[] => cap.connections[0]!.frames;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (f: FrameJson) => Buffer.from(f.message?.data ?? f.payload, 'base64').toString();

const EDITOR = `
export async function onMessage(m, ctx) {
  if (m.from === 'client') {
    if (m.text === 'drop me') return null;
    if (m.text === 'replace me') return { text: 'replaced ✓' };
    if (m.text === 'inject') { ctx.inject('server', 'to-server'); ctx.inject('client', new Uint8Array([1, 2, 3])); return undefined; }
    if (m.text === 'bye') { ctx.close(4000, 'script says bye'); return undefined; }
  } else {
    if (m.text === 'srv drop') return null;
    if (m.text === 'srv replace') return { data: new Uint8Array([9, 9]) };
  }
}
`;

/** Sends the conversation EDITOR changes and checks what each peer got. */
async function editorConversation(server: WsTestServer, c: Awaited<ReturnType<typeof client>>) {
  for (const t of ['a', 'drop me', 'replace me', 'b', 'inject', 'please send']) c.ws.send(t);
  const got = await server.waitForMessages(6);
  expect(got.map((m) => [m.data.toString(), m.isBinary])).toEqual([
    ['a', false],
    ['replaced ✓', false],
    ['b', false],
    ['to-server', false],
    ['inject', false],
    ['please send', false],
  ]);
  const toClient = await c.until(3);
  expect(toClient.map((m) => [[...m.data], m.binary])).toEqual([
    [[1, 2, 3], true],
    [[9, 9], true],
    [[...Buffer.from('srv keep')], false],
  ]);
  c.ws.send('bye');
  expect(await c.closed).toEqual({ code: 4000, reason: 'script says bye' });
  expect(await server.waitForClose(0)).toMatchObject({ code: 4000, reason: 'script says bye' });
}

function sendsOnRequest(socket: import('ws').WebSocket) {
  socket.on('message', (d: Buffer) => {
    if (d.toString() === 'please send') for (const t of ['srv drop', 'srv replace', 'srv keep']) socket.send(t);
  });
}

function checkEditorRecord(fs: FrameJson[]) {
  const byId = (id: number) => fs.filter((f) => f.intervention?.id === id);
  const original = (t: string) => fs.find((f) => !f.by && f.opcode === 1 && text(f) === t)!;
  // replaced: the original (as the client sent it) and Framescope's frame, linked
  const rep = original('replace me');
  expect(rep.intervention).toMatchObject({ decision: 'replaced' });
  const written = byId(rep.intervention!.id).filter((f) => f.by === 'framescope');
  expect(written).toHaveLength(1);
  expect(written[0]).toMatchObject({ from: 'client', masked: true, opcode: 1, payload: b64('replaced ✓') });
  expect(written[0]!.maskKey).not.toBe(rep.maskKey);
  // dropped: no frame written for it
  const drop = original('drop me');
  expect(drop.intervention).toMatchObject({ decision: 'dropped' });
  expect(byId(drop.intervention!.id).filter((f) => f.by)).toHaveLength(0);
  // untouched (the script returned undefined): not marked, nothing of Framescope's
  expect(original('a').intervention).toBeUndefined();
  // injected both ways
  const inj = fs.filter((f) => f.intervention?.injected);
  expect(inj.map((f) => [f.from, f.masked, f.by, f.payload])).toEqual([
    ['client', true, 'framescope', b64('to-server')],
    ['server', false, 'framescope', Buffer.from([1, 2, 3]).toString('base64')],
  ]);
  const srvRep = original('srv replace');
  expect(srvRep.intervention?.decision).toBe('replaced');
  expect(byId(srvRep.intervention!.id).find((f) => f.by)).toMatchObject({ from: 'server', masked: false, opcode: 2, payload: Buffer.from([9, 9]).toString('base64') });
  expect(original('srv drop').intervention?.decision).toBe('dropped');
  // Framescope's close frames toward each side
  const closes = fs.filter((f) => f.opcode === 8 && f.by === 'framescope');
  expect(closes.map((f) => [f.from, f.close])).toEqual([
    ['client', { code: 4000, reason: 'script says bye' }],
    ['server', { code: 4000, reason: 'script says bye' }],
  ]);
}

describe('proxy --script', () => {
  it('reverse: replaces, drops, injects both ways and closes; both legs recorded and linked', async () => {
    const server = await wsServer({ onConnection: sendsOnRequest });
    const p = await proxy(['--target', server.url, '--script', script(EDITOR)]);
    const c = await client(`ws://127.0.0.1:${p.port}/`);
    await editorConversation(server, c);
    const { capture, events } = await p.stop();
    checkEditorRecord(frames(capture));
    // the --json events carry the same marks as the capture
    const evFrames = events.filter((e) => e['event'] === 'frame').map(({ event: _e, connection: _c, time: _t, ...f }) => f);
    expect(evFrames).toEqual(frames(capture).map(({ time: _t, ...f }) => f));
  });

  it('a fragmented message replaced: every fragment carries the intervention, and the server leg holds only what the server got', async () => {
    const server = await wsServer();
    const px = await proxy(['--target', server.url, '--script', script(`export function onMessage(m) { if (m.text === 'fragment') return { text: 'whole' }; }`)]);
    const c = await client(`ws://127.0.0.1:${px.port}/`);
    c.ws.send('frag', { fin: false });
    c.ws.send('ment', { fin: true });
    c.ws.send('after');
    expect((await server.waitForMessages(2)).map((m) => m.data.toString())).toEqual(['whole', 'after']);
    c.ws.close(1000);
    await c.closed;
    const { capture } = await px.stop();
    const all = frames(capture);
    const id = all.find((f) => f.intervention?.decision === 'replaced')!.intervention!.id;
    const originals = all.filter((f) => f.by === undefined && f.intervention?.id === id);
    expect(originals.map((f) => [f.opcode, f.fin, f.intervention])).toEqual([
      [1, false, { id }],
      [0, true, { id, decision: 'replaced' }],
    ]);
    const written = all.filter((f) => f.by === 'framescope' && f.intervention?.id === id);
    // the sender's two fragments are kept: the replacement is cut in two as well
    expect(written.map((f) => [f.opcode, f.fin, Buffer.from(f.payload, 'base64').toString()])).toEqual([
      [1, false, 'who'],
      [0, true, 'le'],
    ]);
    const serverLeg = [...legFrames(captureFromJson(capture).connections[0]!.frames, 'server')].filter((f) => f.from === 'client' && f.opcode !== 8);
    expect(serverLeg.map((f) => [f.by ?? 'client', Buffer.from(f.payload).toString()])).toEqual([
      ['framescope', 'who'],
      ['framescope', 'le'],
      ['client', 'after'],
    ]);
  });

  it('forward, wss:// intercepted: the same script, upstream TLS verified against the test CA', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: { certPem: pki.leaf.certPem, keyPem: pki.leaf.keyPem }, onConnection: sendsOnRequest });
    const caDir = dir();
    const p = await proxy(['--ca-dir', caDir, '--script', script(EDITOR)], { NODE_EXTRA_CA_CERTS: pki.caFile });
    const ca = readFileSync(join(caDir, 'ca.pem'), 'utf8');
    const sock = net.connect(p.port, '127.0.0.1');
    sock.write(`CONNECT localhost:${server.port} HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
    await new Promise<void>((resolve) => {
      let got = '';
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        sock.off('data', onData);
        sock.pause();
        resolve();
      };
      sock.on('data', onData);
    });
    const secure = tls.connect({ socket: sock, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] });
    const c = await client(`wss://localhost:${server.port}/`, {}, secure as unknown as net.Socket);
    await editorConversation(server, c);
    const { capture } = await p.stop();
    expect(capture.connections[0]!.url).toBe(`wss://localhost:${server.port}/`);
    checkEditorRecord(frames(capture));
  });
});

// Messages that share most of their bytes: with context takeover each refers back to the one before.
const SIMILAR = Array.from({ length: 8 }, (_, i) => `{"type":"update","item":${i},"payload":"${'abcdefgh'.repeat(20)}"}`);
const DEFLATE_SCRIPT = `
export function onMessage(m, ctx) {
  if (m.from !== 'client') return undefined;
  if (m.text === ${JSON.stringify(SIMILAR[2])}) return { text: m.text.replace('update', 'edited') };
  if (m.text === ${JSON.stringify(SIMILAR[4])}) { ctx.inject('server', 'injected ' + m.text); ctx.inject('client', 'to client ' + m.text); return undefined; }
  if (m.text === ${JSON.stringify(SIMILAR[5])}) return null;
}
`;
const EXPECTED_AT_SERVER = [SIMILAR[0], SIMILAR[1], SIMILAR[2]!.replace('update', 'edited'), SIMILAR[3], `injected ${SIMILAR[4]}`, SIMILAR[4], SIMILAR[6], SIMILAR[7]];

describe('proxy --script with permessage-deflate', () => {
  async function run(serverUrl: string, clientDeflate: WebSocket.ClientOptions['perMessageDeflate']) {
    const p = await proxy(['--target', serverUrl, '--script', script(DEFLATE_SCRIPT)]);
    const c = await client(`ws://127.0.0.1:${p.port}/`, { perMessageDeflate: clientDeflate });
    // The echo server sends back what it got: the server's direction is untouched, the
    // client's is edited, so both decompressors are checked.
    for (const t of SIMILAR) c.ws.send(t);
    const got = await c.until(EXPECTED_AT_SERVER.length + 1);
    expect(got.map((m) => m.data.toString()).filter((t) => !t.startsWith('to client '))).toEqual(EXPECTED_AT_SERVER);
    expect(got.map((m) => m.data.toString())).toContain(`to client ${SIMILAR[4]}`);
    c.ws.close(1000);
    await c.closed;
    return (await p.stop()).capture;
  }

  it('ws, context takeover: after the first edit Framescope re-compresses the client direction and the server still reads every message', async () => {
    const server = await wsServer({ perMessageDeflate: true });
    const cap = await run(server.url, true);
    expect(server.received.map((m) => m.data.toString())).toEqual(EXPECTED_AT_SERVER);
    expect(server.closes[0]?.code).toBe(1000);
    const fs = frames(cap);
    const fromClient = fs.filter((f) => f.from === 'client' && f.opcode === 1 && !f.by);
    // before the edit: forwarded as they came, nothing re-compressed
    for (const f of fromClient.slice(0, 2)) expect(fs.some((g) => g.by && g.intervention?.id === f.intervention?.id)).toBe(false);
    // after it: every forwarded message has a re-compressed twin written by Framescope
    for (const f of fromClient.slice(3).filter((x) => x.intervention?.decision === 'forwarded')) {
      expect(fs.find((g) => g.by === 'framescope' && g.intervention?.id === f.intervention!.id)).toMatchObject({ rsv1: true, intervention: { recompressed: true } });
    }
  });

  it('python-websockets, context takeover: the same, against an implementation we did not write', async () => {
    if (!havePython('websockets')) throw new Error('python-websockets is missing: apt-get install python3-websockets');
    const py = await startPythonServer('websockets');
    cleanup.push(() => py.close());
    const cap = await run(py.url, true);
    expect(cap.connections[0]!.handshake!.extensions.map((e) => e.name)).toEqual(['permessage-deflate']);
    expect(cap.connections[0]!.close).toMatchObject({ code: 1000, clean: true });
    expect(cap.connections[0]!.errors).toEqual([]);
  });

  it('no_context_takeover: only the messages Framescope writes are its own; the rest go on byte-identical', async () => {
    const server = await wsServer({ perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true } });
    const cap = await run(server.url, { serverNoContextTakeover: true, clientNoContextTakeover: true });
    expect(server.received.map((m) => m.data.toString())).toEqual(EXPECTED_AT_SERVER);
    const fs = frames(cap);
    // what the script let go is not marked and went on as it came: only the edited and the
    // dropped message are interventions, and Framescope wrote only the edit and the injections
    expect(fs.filter((f) => f.intervention?.decision).map((f) => f.intervention!.decision)).toEqual(['replaced', 'dropped']);
    expect(fs.filter((f) => f.by === 'framescope' && f.opcode !== 8)).toHaveLength(3);
    expect(fs.some((f) => f.intervention?.recompressed)).toBe(false);
  });
});

describe('proxy --script: failures and safety', () => {
  it('a script that throws: one line with its own file:line, the message goes on unchanged', async () => {
    const server = await wsServer();
    const file = script(`export function onMessage(m) {\n  if (m.text === 'boom') null.x;\n}\n`);
    const p = await proxy(['--target', server.url, '--script', file]);
    const c = await client(`ws://127.0.0.1:${p.port}/`);
    c.ws.send('boom');
    expect((await c.until(1))[0]!.data.toString()).toBe('boom');
    const line = await p.proc.waitForLine(/script onMessage failed/, { stream: 'stderr' });
    expect(line).toContain(`${file}:2:`);
    expect(line).toContain("TypeError: Cannot read properties of null (reading 'x')");
    expect(line).not.toMatch(/lane\.ts|scripts\.ts|cli\.js/);
    c.ws.close();
    await p.stop();
  });

  it('a script that never resolves holds only its direction until --script-timeout, then the message goes on, reported', async () => {
    const server = await wsServer({ onConnection: (s) => s.on('message', (d: Buffer) => d.toString() === 'stuck' || s.send(`echo ${d.toString()}`)) });
    const file = script(`export function onMessage(m) { if (m.text === 'stuck') { console.log('holding'); return new Promise(() => {}); } }`);
    const p = await proxy(['--target', server.url, '--script', file, '--script-timeout', '1500']);
    const c = await client(`ws://127.0.0.1:${p.port}/`);
    c.ws.send('stuck');
    await p.proc.waitForLine(/holding/, { stream: 'stderr' });
    // the server's direction is not held: it talks to the client meanwhile
    server.sockets[0]!.send('meanwhile');
    expect((await c.until(1))[0]!.data.toString()).toBe('meanwhile');
    expect(server.received).toHaveLength(0);
    // after the timeout the held message goes on, and the ones behind it in order
    c.ws.send('after');
    const got = await server.waitForMessages(2);
    expect(got.map((m) => m.data.toString())).toEqual(['stuck', 'after']);
    expect(p.proc.stderr()).toMatch(/script onMessage did not settle within 1500 ms; the message goes on unchanged/);
    c.ws.close();
    await p.stop();
  });

  it('reloads when the file changes; a broken edit keeps the previous script', async () => {
    const server = await wsServer();
    const file = script(`export function onMessage(m) { if (m.from === 'client') return { text: 'v1' }; }`);
    const p = await proxy(['--target', server.url, '--script', file]);
    const c = await client(`ws://127.0.0.1:${p.port}/`);
    c.ws.send('x');
    await server.waitForMessages(1);
    writeFileSync(file, `export function onMessage(m) { if (m.from === 'client') return { text: 'v2' }; }`);
    await p.proc.waitForLine(/reloaded/, { stream: 'stderr' });
    c.ws.send('x');
    await server.waitForMessages(2);
    const from = p.proc.stderrLines.length;
    writeFileSync(file, `export function onMessage(m) { return { text: ; }`);
    const bad = await p.proc.waitForLine(/the previous script stays/, { stream: 'stderr', fromLine: from });
    expect(bad).toContain(`${file}:1`);
    c.ws.send('x');
    const got = await server.waitForMessages(3);
    expect(got.map((m) => m.data.toString())).toEqual(['v1', 'v2', 'v2']);
    c.ws.close();
    await p.stop();
  });

  it('a peer that closes while a message is held: recorded as never delivered', async () => {
    const server = await wsServer();
    const file = script(`export function onMessage(m) { if (m.text === 'hold') { console.log('holding'); return new Promise(() => {}); } }`);
    const p = await proxy(['--target', server.url, '--script', file, '--script-timeout', '600000']);
    const c = await client(`ws://127.0.0.1:${p.port}/`);
    c.ws.send('hold');
    await p.proc.waitForLine(/holding/, { stream: 'stderr' });
    server.sockets[0]!.close(1001, 'going away');
    expect((await c.closed).code).toBe(1001);
    const { capture } = await p.stop();
    const held = frames(capture).find((f) => f.opcode === 1)!;
    expect(held.intervention).toMatchObject({ decision: 'undelivered' });
    expect(text(held)).toBe('hold');
    expect(server.received).toHaveLength(0);
  });

  it('SIGTERM with a held message: it is dropped, recorded undelivered, and the capture is written', async () => {
    const server = await wsServer();
    const file = script(`export function onMessage(m) { if (m.text === 'hold') { console.log('holding'); return new Promise(() => {}); } }`);
    const p = await proxy(['--target', server.url, '--script', file, '--script-timeout', '600000']);
    const c = await client(`ws://127.0.0.1:${p.port}/`);
    c.ws.send('hold');
    await p.proc.waitForLine(/holding/, { stream: 'stderr' });
    const { capture } = await p.stop();
    const fs = frames(capture);
    expect(fs.map((f) => [text(f), f.intervention?.decision])).toEqual([['hold', 'undelivered']]);
    expect(capture.connections[0]!.close).not.toBeNull();
    expect(server.received).toHaveLength(0);
  });

  it('a script that does not load: one line and exit 2', async () => {
    const file = script(`export function onMessage(m) {\n  return { text: ; }\n}\n`);
    const r = await runCli(['proxy', '--listen', '0', '--target', 'ws://127.0.0.1:9/', '--script', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`framescope: ${file}:2: SyntaxError: Unexpected token ';'`]);
    const ts = join(dir(), 's.ts');
    writeFileSync(ts, 'export const onMessage = (m: unknown) => undefined;\n');
    const r2 = await runCli(['proxy', '--listen', '0', '--target', 'ws://127.0.0.1:9/', '--script', ts]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/cannot load TypeScript without a build step/);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('connect --script', () => {
  it("sees the user's messages before they go out and the server's before they count; injects both ways", async () => {
    const server = await wsServer();
    const file = script(`
      export function onOpen(connection, handshake, ctx) { ctx.inject('client', 'hello from script'); }
      export function onMessage(m, ctx) {
        if (m.from === 'client' && m.text === 'x') return { text: 'X!' };
        if (m.from === 'client' && m.text === 'gone') { ctx.inject('server', 'instead'); return null; }
        if (m.from === 'server' && m.text === 'X!') return { text: 'seen X' };
      }`);
    const capture = join(dir(), 'c.json');
    const r = await runCli(['connect', `${server.url}/`, '--script', file, '--send', 'x', '--send', 'gone', '--send', 'y', '--expect', '4', '--json', '--capture', capture]);
    expect(r.code, r.stderr).toBe(0);
    expect(server.received.map((m) => m.data.toString())).toEqual(['X!', 'instead', 'y']);
    const fs = frames(JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson);
    const shown = fs.filter((f) => f.from === 'server' && f.opcode === 1).map((f) => [text(f), f.by ?? null, f.intervention?.decision ?? null]);
    expect(shown).toEqual([
      ['hello from script', 'framescope', null],
      ['X!', null, 'replaced'],
      ['seen X', 'framescope', null],
      ['instead', null, null],
      ['y', null, null],
    ]);
    expect(fs.find((f) => f.from === 'client' && text(f) === 'X!')!.intervention).toMatchObject({ decision: 'replaced' });
  });
});
