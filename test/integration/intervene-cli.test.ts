// `--rules`, `--break` and `--timeout` for hooks on the command line, against real `ws` and
// python-websockets peers: what the server receives, what the terminal says, what the capture
// records.
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { CaptureFileJson, FrameJson } from '../../shared/model';
import { runCli, spawnCli, type CliProcess } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { havePython, startPythonServer } from '../peers/python-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const dir = () => mkdtempSync(join(tmpdir(), 'framescope-ivcli-'));
function file(name: string, content: string): string {
  const f = join(dir(), name);
  writeFileSync(f, content);
  return f;
}

async function wsServer(): Promise<WsTestServer> {
  const s = await startWsServer({ echo: false, onConnection: () => {} });
  cleanup.push(() => s.close());
  return s;
}

async function proxy(args: string[], env: Record<string, string> = {}, quiet = true) {
  const capture = join(dir(), 'cap.json');
  const proc: CliProcess = spawnCli(['proxy', '--listen', '0', ...(quiet ? ['--quiet'] : []), '--capture', capture, ...args], { env });
  cleanup.push(() => void proc.child.kill('SIGKILL'));
  const line = await proc.waitForLine(/listening on/, { stream: 'stderr' });
  const port = Number(/:(\d+),/.exec(line)![1]);
  return {
    proc,
    url: `ws://127.0.0.1:${port}/`,
    stop: async () => {
      const r = await proc.stop('SIGINT');
      expect(r.code, r.stderr).toBe(0);
      return { capture: JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson, stderr: r.stderr };
    },
  };
}

async function client(url: string) {
  const ws = new WebSocket(url);
  cleanup.push(() => ws.terminate());
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

const text = (f: FrameJson) => Buffer.from(f.message?.data ?? f.payload, 'base64').toString();

const RULES = JSON.stringify({
  version: 1,
  rules: [
    { name: 'mask the token', direction: 'client', match: { text: 'token=' }, action: { type: 'replace', text: { find: '/token=\\w+/', with: 'token=[masked]' } } },
    { name: 'drop noise', direction: 'client', match: { text: 'noise' }, action: { type: 'drop' } },
  ],
});

describe('--rules', () => {
  it('rules decide first, a message they forward (changed) goes to the script; the capture names the rule', async () => {
    const server = await wsServer();
    const script = file('s.mjs', `export function onMessage(m) { if (m.from === 'client' && m.text.includes('[masked]')) return { text: m.text + ' (seen by the script)' }; }\n`);
    const p = await proxy(['--target', server.url, '--rules', file('rules.json', RULES), '--script', script], {}, false);
    const c = await client(p.url);
    for (const t of ['token=abc123', 'noise', 'plain']) c.ws.send(t);
    const got = await server.waitForMessages(2);
    expect(got.map((m) => m.data.toString())).toEqual(['token=[masked] (seen by the script)', 'plain']);
    c.ws.close(1000);
    await c.closed;
    const { capture, stderr } = await p.stop();
    const fs = capture.connections[0]!.frames;
    const orig = (t: string) => fs.find((f) => !f.by && text(f) === t)!;
    expect(orig('noise').intervention).toMatchObject({ decision: 'dropped', rule: 'drop noise' });
    expect(orig('token=abc123').intervention).toMatchObject({ decision: 'replaced', rule: 'mask the token' });
    expect(stderr).toMatch(/p1 client → server: rule drop noise: dropped the message/);
    expect(stderr).toMatch(/p1 client → server: rule mask the token: replaced the message/);
  });

  it('--quiet: the rules act, and print no line a message (like the events)', async () => {
    const server = await wsServer();
    const p = await proxy(['--target', server.url, '--rules', file('rules.json', RULES)]);
    const c = await client(p.url);
    for (const t of ['noise', 'plain']) c.ws.send(t);
    expect((await server.waitForMessages(1)).map((m) => m.data.toString())).toEqual(['plain']);
    c.ws.close(1000);
    await c.closed;
    const { capture, stderr } = await p.stop();
    expect(capture.connections[0]!.frames.find((f) => !f.by && text(f) === 'noise')!.intervention).toMatchObject({ decision: 'dropped', rule: 'drop noise' });
    expect(stderr).not.toMatch(/rule drop noise/);
  });

  it('connect --rules: the rule changes what the user sends, against python-websockets', async () => {
    if (!havePython('websockets')) throw new Error('python-websockets is missing: apt-get install python3-websockets');
    const py = await startPythonServer('websockets');
    cleanup.push(() => py.close());
    const r = await runCli(['connect', py.url, '--rules', file('rules.json', RULES), '--send', 'token=xyz', '--expect', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    // the echo server answers what it received: the masked text
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; from?: string; message?: { data: string } });
    const echoed = events.filter((e) => e.event === 'frame' && e.from === 'server' && e.message).map((e) => Buffer.from(e.message!.data, 'base64').toString());
    expect(echoed).toContain('token=[masked]');
  });

  it('a bad rules file at start: one line naming the file and the rule, exit 2', async () => {
    const bad = file('rules.json', JSON.stringify({ rules: [{ direction: 'client', mtach: {}, action: { type: 'drop' } }] }));
    for (const args of [['proxy', '--listen', '0', '--target', 'ws://127.0.0.1:9/'], ['connect', 'ws://127.0.0.1:9/']]) {
      const r = await runCli([...args, '--rules', bad]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(bad);
      expect(lines[0]).toMatch(/mtach/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('--timeout bounds a script hook', () => {
  it('without --script-timeout, a hook that never settles holds its message only until --timeout', async () => {
    const server = await wsServer();
    const script = file('s.mjs', `export function onMessage(m) { if (m.text === 'stuck') return new Promise(() => {}); }\n`);
    const p = await proxy(['--target', server.url, '--script', script, '--timeout', '300']);
    const c = await client(p.url);
    c.ws.send('stuck');
    c.ws.send('after');
    const got = await server.waitForMessages(2);
    expect(got.map((m) => m.data.toString())).toEqual(['stuck', 'after']);
    await p.proc.waitForLine(/did not settle within 300 ms/, { stream: 'stderr' });
    c.ws.close(1000);
    await c.closed;
    await p.stop();
  });
});

describe('proxy --break: the terminal answers through a pipe', () => {
  it('forward, edit in $EDITOR, drop and close; questions across connections wait in order', async () => {
    const server = await wsServer();
    const edits = dir();
    // The editor: keeps what it was given (to check the file's mode and text), writes the edit.
    const editor = file('editor.sh', `#!/bin/sh\nstat -c %a "$1" > ${edits}/mode\ncp "$1" ${edits}/given\nprintf 'edited by the editor\\n' > "$1"\n`);
    chmodSync(editor, 0o755);
    const p = await proxy(['--target', server.url, '--break', 'client text:/^hold/'], { EDITOR: editor });
    const a = await client(p.url);
    const b = await client(p.url);
    a.ws.send('hold: edit me');
    await p.proc.waitForLine(/held p1 client → server, text, 13 bytes: "hold: edit me"/, { stream: 'stderr' });
    b.ws.send('hold: from b');
    await p.proc.waitForLine(/held p2 client → server, text, 12 bytes \(1 waiting\)/, { stream: 'stderr' });
    a.ws.send('passes');
    p.proc.write('e\n');
    await p.proc.waitForLine(/held p2 client → server, text, 12 bytes: "hold: from b"/, { stream: 'stderr' });
    p.proc.write('f\n');
    const got = await server.waitForMessages(3);
    expect(got.map((m) => m.data.toString())).toEqual(['edited by the editor', 'passes', 'hold: from b']);
    expect(readFileSync(join(edits, 'mode'), 'utf8').trim()).toBe('600');
    expect(readFileSync(join(edits, 'given'), 'utf8')).toBe('hold: edit me');
    // the temporary file is gone
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('framescope-break-'))).toEqual([]);
    b.ws.send('hold: drop me');
    await p.proc.waitForLine(/"hold: drop me"/, { stream: 'stderr' });
    p.proc.write('x\n');
    await p.proc.waitForLine(/answer f, e, d or c/, { stream: 'stderr' });
    p.proc.write('d\n');
    b.ws.send('hold: close me');
    await p.proc.waitForLine(/"hold: close me"/, { stream: 'stderr' });
    p.proc.write('c 4002 not today\n');
    expect(await b.closed).toEqual({ code: 4002, reason: 'not today' });
    expect(server.received.map((m) => m.data.toString())).not.toContain('hold: drop me');
    a.ws.close(1000);
    await a.closed;
    const { capture } = await p.stop();
    const p2 = capture.connections.find((c) => c.id === 'p2')!;
    expect(p2.close).toMatchObject({ by: 'framescope', code: 4002 });
    expect(p2.frames.find((f) => !f.by && text(f) === 'hold: drop me')!.intervention?.decision).toBe('dropped');
  });

  it('an editor that exits non-zero forwards the message unchanged; Ctrl-C while held writes the capture with it undelivered', async () => {
    const server = await wsServer();
    const editor = file('editor.sh', `#!/bin/sh\nprintf 'never used' > "$1"\nexit 3\n`);
    chmodSync(editor, 0o755);
    const p = await proxy(['--target', server.url, '--break', 'text:hold'], { EDITOR: editor });
    const c = await client(p.url);
    c.ws.send('hold 1');
    await p.proc.waitForLine(/"hold 1"/, { stream: 'stderr' });
    p.proc.write('e\n');
    await p.proc.waitForLine(/the editor exited with 3; the message goes on unchanged/, { stream: 'stderr' });
    expect((await server.waitForMessages(1)).map((m) => m.data.toString())).toEqual(['hold 1']);
    c.ws.send('hold 2');
    await p.proc.waitForLine(/"hold 2"/, { stream: 'stderr' });
    const { capture } = await p.stop();
    const held = capture.connections[0]!.frames.find((f) => text(f) === 'hold 2')!;
    expect(held.intervention?.decision).toBe('undelivered');
  });

  it('a bad filter: one line with its column, exit 2', async () => {
    const r = await runCli(['proxy', '--listen', '0', '--target', 'ws://127.0.0.1:9/', '--break', 'client tx:/a/']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--break: column 8: unknown term/);
  });
});
