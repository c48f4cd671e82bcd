// `framescope mock`: a session recorded with `connect --capture` against a real `ws` server
// is played back to real clients (`ws`, python-websockets): in order, by matching, to two
// clients at once, through a script; a bad capture is one line.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import type { CaptureFileJson } from '../../shared/model';
import { runCli, spawnCli } from '../peers/cli';
import { collectingClient } from '../peers/ws-client';
import { SYSTEM_PYTHON, havePython } from '../peers/python-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const dir = () => mkdtempSync(join(tmpdir(), 'framescope-mock-'));

/** A JSON request/response server: {"type":"hello"} first, then {id, result: q upper-cased} per request. */
async function jsonServer(): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'hello' }));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id: number; q: string };
      ws.send(JSON.stringify({ id: m.id, result: m.q.toUpperCase() }));
    });
  });
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
}

let recorded = '';
beforeAll(async () => {
  const url = await jsonServer();
  recorded = join(dir(), 'session.json');
  // Typed one line at a time, each after the answer before it: a conversation, not a pipeline.
  const rec = spawnCli(['connect', url, '--capture', recorded]);
  cleanup.push(() => void rec.child.kill('SIGKILL'));
  await rec.waitForLine(/hello/);
  rec.write('{"id":1,"q":"a"}\n');
  await rec.waitForLine(/result\\":\\"A/);
  rec.write('{"id":2,"q":"b"}\n');
  await rec.waitForLine(/result\\":\\"B/);
  rec.endStdin();
  const r = await rec.exited;
  expect(r.code, r.stderr).toBe(0);
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function mock(args: string[]) {
  const capture = join(dir(), 'mocked.json');
  const proc = spawnCli(['mock', recorded, '--listen', '0', '--json', '--capture', capture, ...args]);
  cleanup.push(() => void proc.child.kill('SIGKILL'));
  const line = await proc.waitForLine(/listening on/, { stream: 'stderr' });
  const port = Number(/:(\d+),/.exec(line)![1]);
  return {
    proc,
    url: `ws://127.0.0.1:${port}/`,
    events: (kind: string) => proc.stdoutLines.filter((l) => l.includes('"event":"mock"')).map((l) => JSON.parse(l) as { kind: string; connection: string; index: number; recorded?: number; text?: string }).filter((e) => e.kind === kind),
    stop: async () => {
      const r = await proc.stop('SIGINT');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
    },
  };
}

async function client(url: string) {
  return collectingClient(url, (t) => cleanup.push(t));
}
const texts = (got: Array<{ data: Buffer }>) => got.map((m) => m.data.toString());

describe('framescope mock', () => {
  it('order mode: the greeting at once, then each recorded answer after each client message; one past the recording is reported', async () => {
    const m = await mock(['--timing', 'asap']);
    const c = await client(m.url);
    expect(texts(await c.until(1))).toEqual(['{"type":"hello"}']);
    c.ws.send('anything');
    expect(texts(await c.until(2))[1]).toBe('{"id":1,"result":"A"}');
    c.ws.send('more');
    expect(texts(await c.until(3))[2]).toBe('{"id":2,"result":"B"}');
    c.ws.send('one too many');
    await m.proc.waitForLine(/"kind":"unmatched"/);
    expect(m.events('unmatched')).toMatchObject([{ connection: 'm1', index: 3, text: 'one too many' }]);
    c.ws.close(1000, 'done');
    expect((await c.closed).code).toBe(1000);
    const cap = await m.stop();
    const conn = cap.connections[0]!;
    expect(conn.mode).toBe('mock');
    expect(conn.close).toMatchObject({ code: 1000, by: 'client', clean: true });
    expect(conn.frames.filter((f) => f.from === 'server' && f.opcode === 1)).toHaveLength(3);
  });

  it('match mode by json:$.id answers requests asked out of order; an unknown id is reported and not answered', async () => {
    const m = await mock(['--match', 'json:$.id', '--timing', 'asap']);
    const c = await client(m.url);
    await c.until(1);
    c.ws.send('{"id":2,"q":"whatever"}');
    expect(texts(await c.until(2))[1]).toBe('{"id":2,"result":"B"}');
    c.ws.send('{"id":9,"q":"x"}');
    await m.proc.waitForLine(/"kind":"unmatched"/);
    c.ws.send('{"q":"a","id":1}');
    expect(texts(await c.until(3))[2]).toBe('{"id":1,"result":"A"}');
    expect(c.got).toHaveLength(3);
    // Output is written in batches: the line may follow the answer.
    await m.proc.waitForLine(/"kind":"matched".*"recorded":1/);
    expect(m.events('matched').map((e) => e.recorded)).toEqual([2, 1]);
    expect(m.events('unmatched').map((e) => e.index)).toEqual([2]);
    await m.stop();
  });

  it('regex matching and exact matching', async () => {
    const m = await mock(['--match', 'regex:"id":(\\d+)', '--timing', 'asap']);
    const c = await client(m.url);
    await c.until(1);
    c.ws.send('{"id":1, "other":true}');
    expect(texts(await c.until(2))[1]).toBe('{"id":1,"result":"A"}');
    await m.stop();
    const e = await mock(['--mode', 'match', '--timing', 'asap']);
    const d = await client(e.url);
    await d.until(1);
    d.ws.send('{"id":2,"q":"B"}');
    await e.proc.waitForLine(/"kind":"unmatched"/);
    d.ws.send('{"id":2,"q":"b"}');
    expect(texts(await d.until(2))[1]).toBe('{"id":2,"result":"B"}');
    await e.stop();
  });

  it('two clients at once each get their own playback', async () => {
    const m = await mock(['--match', 'json:$.id', '--timing', 'asap']);
    const [a, b] = await Promise.all([client(m.url), client(m.url)]);
    await Promise.all([a.until(1), b.until(1)]);
    a.ws.send('{"id":1}');
    b.ws.send('{"id":2}');
    b.ws.send('{"id":1}');
    expect(texts(await a.until(2))).toEqual(['{"type":"hello"}', '{"id":1,"result":"A"}']);
    expect(texts(await b.until(3))).toEqual(['{"type":"hello"}', '{"id":2,"result":"B"}', '{"id":1,"result":"A"}']);
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
    const cap = await m.stop();
    expect(cap.connections.map((c) => c.id).sort()).toEqual(['m1', 'm2']);
  });

  it('a --script changes an answer and injects one of its own', async () => {
    const script = join(dir(), 'tweak.mjs');
    writeFileSync(
      script,
      `export function onMessage(m, ctx) {
  if (m.from === 'client' && m.text === 'ping?') { ctx.inject('client', 'pong!'); return null; }
  if (m.from === 'server' && m.text.includes('"A"')) return { text: m.text.replace('"A"', '"tweaked"') };
}\n`,
    );
    const m = await mock(['--match', 'json:$.id', '--timing', 'asap', '--script', script]);
    const c = await client(m.url);
    await c.until(1);
    c.ws.send('ping?');
    expect(texts(await c.until(2))[1]).toBe('pong!');
    c.ws.send('{"id":1}');
    expect(texts(await c.until(3))[2]).toBe('{"id":1,"result":"tweaked"}');
    expect(m.events('unmatched')).toEqual([]);
    const cap = await m.stop();
    const marks = cap.connections[0]!.frames.filter((f) => f.intervention).map((f) => f.intervention);
    expect(marks).toEqual([{ id: 1, injected: true }, { id: 2, decision: 'replaced' }]);
  });

  it.runIf(havePython('websockets'))('answers a python-websockets client', async () => {
    const m = await mock(['--match', 'json:$.id']);
    const py = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        print(await ws.recv(), flush=True)
        await ws.send('{"id": 2}')
        print(await ws.recv(), flush=True)
asyncio.run(main())
`;
    const r = await new Promise<ReturnType<typeof spawnSync>>((resolve) => resolve(spawnSync(SYSTEM_PYTHON, ['-c', py, m.url], { encoding: 'utf8', timeout: 20_000 })));
    expect(r.status, String(r.stderr)).toBe(0);
    expect(String(r.stdout).trim().split('\n')).toEqual(['{"type":"hello"}', '{"id":2,"result":"B"}']);
    await m.stop();
  });

  it('a bad capture, an unknown connection or a bad --match is one line, not a stack', async () => {
    const bad = join(dir(), 'bad.json');
    writeFileSync(bad, '{"format":"framescope.capture","version":1,"connections":[{"id":');
    let r = await runCli(['mock', bad, '--listen', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^framescope: .*bad\.json: /);
    r = await runCli(['mock', recorded, '--listen', '0', '--connection', 'zz']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^framescope: .*no connection zz \(it holds c1\)\n$/);
    r = await runCli(['mock', recorded, '--listen', '0', '--match', 'json:id']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^framescope: --match .*starts with \$/);
    r = await runCli(['mock', join(dir(), 'missing.json'), '--listen', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file/);
  });
});
