// JSON-RPC 2.0 between ws peers through `framescope proxy` (the human view, --capture), then
// the capture through `export --format ndjson` (decoded afresh, --decode to choose) and back
// through `import`; and `--decode` checked on every command that takes it.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { runCli, spawnCli } from '../peers/cli';
import type { EventOut } from './proxy-helpers';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-decoders-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A JSON-RPC 2.0 server: add, errors for unknown methods, batches; `slow` is never answered. */
async function rpcServer(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  cleanup.push(() => new Promise((r) => wss.close(r)));
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const answer = (req: { method: string; params?: number[]; id?: unknown }) => {
    if (!('id' in req) || req.method === 'slow') return null;
    if (req.method === 'add') return { jsonrpc: '2.0', result: req.params!.reduce((a, b) => a + b, 0), id: req.id };
    return { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: req.id };
  };
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      let msg;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return; // not JSON-RPC: no answer
      }
      if (Array.isArray(msg)) return ws.send(JSON.stringify(msg.map(answer).filter(Boolean)));
      if (msg.method === 'hello') return ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'whoami', id: 100 }));
      const a = answer(msg);
      if (a) ws.send(JSON.stringify(a));
    });
  });
  return (wss.address() as { port: number }).port;
}

describe('JSON-RPC 2.0 through the proxy, then export and import', () => {
  it('requests, notifications, responses, errors and batches; pairs both ways; the unanswered request flagged', async () => {
    const dir = scratch();
    const capture = join(dir, 'rpc.wscap.json');
    const upstream = await rpcServer();
    const proc = spawnCli(['proxy', '--listen', '127.0.0.1:0', '--target', `ws://127.0.0.1:${upstream}`, '--capture', capture]);
    cleanup.push(() => proc.stop('SIGKILL'));
    const line = await proc.waitForLine(/^framescope proxy: listening on /, { stream: 'stderr' });
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)![1]);

    // The subprotocol names it (detection from Sec-WebSocket-Protocol).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc`, 'jsonrpc', { perMessageDeflate: false });
    cleanup.push(() => ws.terminate());
    const inbox: unknown[] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.method === 'whoami') ws.send(JSON.stringify({ jsonrpc: '2.0', result: 'client', id: m.id }));
      inbox.push(m);
      waiters.splice(0).forEach((w) => w());
    });
    const next = (n: number) => new Promise<void>((r) => (inbox.length >= n ? r() : waiters.push(() => inbox.length >= n && r())));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id: 1 }));
    await next(1);
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'log', params: ['note'] }));
    ws.send(JSON.stringify([{ jsonrpc: '2.0', method: 'add', params: [3, 4], id: 2 }, { jsonrpc: '2.0', method: 'nope', id: 3 }, { jsonrpc: '2.0', method: 'log' }]));
    await next(2);
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'hello' }));
    await next(3);
    ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'slow', id: 's' }));
    ws.send('not json at all');
    await proc.waitForLine((l) => l.includes('not json'));
    ws.close(1000);
    await proc.waitForLine(/closed: 1000/);
    const r = await proc.stop('SIGINT');
    expect(r.code, r.stderr).toBe(0);

    // The human view: the decoded summary on each message's line.
    const lines = r.stdout.split('\n');
    const lineOf = (s: string) => lines.find((l) => l.includes(s)) ?? `(no line with ${s} in:\n${r.stdout})`;
    const seqOf = (s: string) => Number(/#(\d+)/.exec(lineOf(s))![1]);
    expect(lineOf('[json-rpc request "add" id 1]')).toMatch(/client →/);
    expect(lineOf('[json-rpc result id 1 →')).toMatch(new RegExp(`\\[json-rpc result id 1 → paired #${seqOf('[json-rpc request "add" id 1]')} \\d+\\.\\d ms\\]$`));
    expect(lineOf('[json-rpc notification "log"]')).toMatch(/client →/);
    expect(lineOf('[json-rpc batch of 2: result id 2, error id 3 "Method not found" → paired')).toContain(`paired #${seqOf('[json-rpc batch of 3')}`);
    expect(lineOf('[json-rpc result id 100 →')).toContain(`paired #${seqOf('[json-rpc request "whoami" id 100]')}`);
    expect(lineOf('not json at all')).toContain('[json-rpc invalid: not JSON]');
    expect(lineOf('! unanswered')).toMatch(/^\[p1\] +! unanswered #\d+ json-rpc request "slow" id s$/);

    // export --format ndjson decodes afresh: message.decoded on frames, unanswered on the close.
    const out = join(dir, 'rpc.ndjson');
    const e = await runCli(['export', capture, '--format', 'ndjson', '-o', out]);
    expect(e.code, e.stderr).toBe(0);
    const events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EventOut);
    const decoded = events.filter((x) => x.message?.decoded).map((x) => x.message!.decoded!);
    const batch = decoded.find((x) => x.type === 'batch' && x.value && (x.value as unknown[]).length === 3)!;
    expect((batch.value as Array<{ type: string; name?: string; id?: string }>).map((m) => [m.type, m.name, m.id])).toEqual([
      ['request', 'add', '2'],
      ['request', 'nope', '3'],
      ['notification', 'log', undefined],
    ]);
    const single = events.find((x) => x.message?.decoded?.name === 'add' && x.message.decoded.id === '1')!;
    // One frame: no `data` repeating the payload.
    expect(single.message).toEqual({ opcode: 1, length: Buffer.from(single.payload!, 'base64').length, decoded: expect.objectContaining({ type: 'request' }) });
    expect(decoded.find((x) => x.summary === 'invalid: not JSON')).toMatchObject({ protocol: 'json-rpc', type: 'invalid' });
    const slow = events.find((x) => x.message?.decoded?.name === 'slow')!;
    expect(events.find((x) => x.event === 'close')!.unanswered).toEqual([{ seq: slow.seq, protocol: 'json-rpc', type: 'request', name: 'slow', id: 's' }]);

    // The stream reads back as a journal: the record keeps the bytes, not what decoding added.
    const back = join(dir, 'back.wscap.json');
    const i = await runCli(['import', out, '-o', back]);
    expect(i.code, i.stderr).toBe(0);
    expect(JSON.parse(readFileSync(back, 'utf8')).connections[0].frames).toEqual(JSON.parse(readFileSync(capture, 'utf8')).connections[0].frames);

    // --decode none: nothing decoded; --decode graphql-ws: every message is a finding.
    const none = join(dir, 'none.ndjson');
    expect((await runCli(['export', capture, '--format', 'ndjson', '-o', none, '--decode', 'none'])).code).toBe(0);
    expect(readFileSync(none, 'utf8')).not.toContain('"decoded"');
    const forced = join(dir, 'forced.ndjson');
    expect((await runCli(['export', capture, '--format', 'ndjson', '-o', forced, '--decode', 'graphql-ws'])).code).toBe(0);
    const f = readFileSync(forced, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EventOut).filter((x) => x.message?.decoded);
    expect(f.length).toBe(decoded.length);
    expect(new Set(f.map((x) => x.message!.decoded!.type))).toEqual(new Set(['invalid']));
    expect(f[0]!.message!.decoded!.summary).toBe('invalid: no "type"');
  });
});

describe('--decode is checked', () => {
  for (const [args, why] of [
    [['connect', 'ws://127.0.0.1:9/', '--decode', 'bogus'], /unknown protocol; one of socket\.io, engine\.io, graphql-transport-ws, graphql-ws, json-rpc, mqtt, stomp, signalr, sockjs, msgpack, cbor, protobuf, none, auto/],
    [['decode', 'nofile', '--from', 'client', '--decode', 'Socket.IO'], /unknown protocol/],
    [['export', 'nofile', '--format', 'json', '-o', 'x', '--decode', 'socket.io'], /^framescope: --decode applies to --format ndjson/],
  ] as const) {
    it(`${args.slice(0, 1)} ${args.slice(-2).join(' ')}: one line, exit 2`, async () => {
      const r = await runCli([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
  }
});
