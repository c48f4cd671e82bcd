// `framescope replay` against real `ws` servers: a session recorded with `connect --capture`
// played again, to an echo server (all the same) and to servers that answer otherwise.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFileJson, EngineEventJson } from '../../shared/model';
import type { ReplayComparison } from '../../shared/replay';
import { captureToJson } from '../../shared/records';
import { runCli } from '../peers/cli';
import { startWsServer, type WsServerOptions, type WsTestServer } from '../peers/ws-servers';
import { capture, closePayload, connection, frame } from '../captures/build';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function wsServer(options: WsServerOptions = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'framescope-replay-'));
type Comparison = ReplayComparison & { event: 'comparison'; connection: string; recorded: string; url: string };
const lines = (stdout: string) => stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EngineEventJson | Comparison);
const comparisons = (stdout: string) => lines(stdout).filter((e): e is Comparison => e.event === 'comparison');

/** Records, through the real CLI, a session with a JSON message, a text one and a binary one. */
async function recordSession(dir: string): Promise<string> {
  const server = await wsServer();
  const file = join(dir, 'recorded.json');
  const r = await runCli([
    'connect', `${server.url}/feed?x=1`, '-H', 'X-Token: abc', '-p', 'chat',
    '--send', '{"user":{"name":"alice","id":7},"n":1}', '--send', 'hello', '--send-hex', '0102ff', '--expect', '3', '--capture', file, '--json',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  // The recorded server goes away: a replay must say where it goes.
  await server.close();
  return file;
}

describe('framescope replay', () => {
  it('replays a recorded session against another echo server: the same messages and headers go out, every answer is the same', async () => {
    const dir = tmp();
    const file = await recordSession(dir);
    const echo = await wsServer({ handleProtocols: ['chat'] });
    const out = join(dir, 'replayed.json');
    const r = await runCli(['replay', file, '--target', `${echo.url}/feed?x=1`, '--asap', '--capture', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('same 3 · changed 0 · missing 0 · extra 0');
    expect(echo.received.map((m) => (m.isBinary ? m.data.toString('hex') : m.data.toString()))).toEqual(['{"user":{"name":"alice","id":7},"n":1}', 'hello', '0102ff']);
    const hs = echo.handshakes[0]!;
    expect(hs.url).toBe('/feed?x=1');
    expect(hs.headers['x-token']).toBe('abc');
    expect(hs.protocol).toBe('chat');
    expect((await echo.waitForClose(0)).code).toBe(1000);
    // The new session is a capture of its own, with fresh mask keys.
    const recorded = JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson;
    const replayed = JSON.parse(readFileSync(out, 'utf8')) as CaptureFileJson;
    const keys = (c: CaptureFileJson) => c.connections[0]!.frames.filter((f) => f.from === 'client').map((f) => f.maskKey);
    expect(replayed.connections[0]!.frames.filter((f) => f.opcode === 1 || f.opcode === 2)).toHaveLength(6);
    expect(keys(replayed)).not.toEqual(keys(recorded));
  });

  it('tells a changed JSON field by path (old → new), a changed text, a missing and an extra answer; --strict exits 1', async () => {
    const dir = tmp();
    const file = await recordSession(dir);
    const other = await wsServer({
      handleProtocols: ['chat'],
      onConnection: (ws) => {
        ws.on('message', (data, isBinary) => {
          const text = data.toString();
          if (isBinary) return; // the binary message goes unanswered: missing
          if (text.startsWith('{')) ws.send(JSON.stringify({ user: { name: 'bob', id: 7 }, n: 1, extra: true }));
          else {
            ws.send('HELLO');
            ws.send('and one more');
          }
        });
      },
    });
    const json = await runCli(['replay', file, '--target', other.url, '--asap', '--json', '--quiet', '--timeout', '2000']);
    expect(json.code).toBe(0);
    const [c] = comparisons(json.stdout);
    expect(c).toMatchObject({ connection: 'c1', recorded: 'c1', url: other.url, same: 0, changed: 3, missing: 0, extra: 0 });
    expect(c!.items[0]!.diff).toEqual([
      { path: '$.user.name', old: '"alice"', new: '"bob"' },
      { path: '$.extra', new: 'true' },
    ]);
    // The binary echo was recorded third; this time the third answer is text.
    expect(c!.items[2]).toMatchObject({ status: 'changed', recorded: { opcode: 2, preview: '01 02 ff' }, replayed: { opcode: 1, preview: 'and one more' } });

    const human = await runCli(['replay', file, '--target', other.url, '--asap', '--quiet', '--strict', '--timeout', '2000']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('$.user.name: "alice" → "bob"');
    expect(human.stdout).toContain('$.extra: (absent) → true');
    expect(human.stdout).toContain('was "hello"');
  });

  it('counts answers that did not come as missing and answers the recording did not have as extra', async () => {
    const dir = tmp();
    const file = await recordSession(dir);
    const quiet = await wsServer({ handleProtocols: ['chat'], onConnection: (ws) => ws.once('message', () => ws.send('only one')) });
    const r = await runCli(['replay', file, '--target', quiet.url, '--asap', '--json', '--quiet', '--timeout', '500']);
    expect(r.code).toBe(0);
    const [c] = comparisons(r.stdout);
    expect(c).toMatchObject({ same: 0, changed: 1, missing: 2, extra: 0 });
    expect(c!.items.map((i) => i.status)).toEqual(['changed', 'missing', 'missing']);
    expect(r.stderr).toContain('waited 500 ms for 3 server messages');

    const chatty = await wsServer({ handleProtocols: ['chat'], onConnection: (ws) => ws.on('message', (d, b) => {
      ws.send(d, { binary: b });
      ws.send('again');
    }) });
    const r2 = await runCli(['replay', file, '--target', chatty.url, '--asap', '--json', '--quiet']);
    const [c2] = comparisons(r2.stdout);
    expect(c2).toMatchObject({ same: 1, changed: 2, missing: 0, extra: 3 });
    expect(c2!.items.slice(3).map((i) => [i.status, i.replayed?.preview])).toEqual([['extra', 'again'], ['extra', '01 02 ff'], ['extra', 'again']]);
  });

  it('--wait-for-server holds a client message until the server has sent what it had sent by then in the recording', async () => {
    const dir = tmp();
    // Recorded: the server says "ready", then the client says "go" and gets "ok".
    const t = 1_700_000_000_000;
    const c = connection({
      id: 'c7',
      url: 'ws://127.0.0.1:1/unused',
      frames: [
        frame({ seq: 0, time: t, from: 'server', opcode: 1, payload: 'ready' }),
        frame({ seq: 1, time: t + 1, from: 'client', opcode: 1, payload: 'go' }),
        frame({ seq: 2, time: t + 2, from: 'server', opcode: 1, payload: 'ok' }),
        frame({ seq: 3, time: t + 3, from: 'client', opcode: 8, payload: closePayload(1000) }),
        frame({ seq: 4, time: t + 4, from: 'server', opcode: 8, payload: closePayload(1000) }),
      ],
    });
    const file = join(dir, 'made.json');
    writeFileSync(file, JSON.stringify(captureToJson(capture([c]))));
    // The server says "ready" only once the test has seen the connection (so late, for any
    // client that does not wait); it answers "go" with "ok" after "ready", "early" before.
    let ready = false;
    const server = await wsServer({
      onConnection: (ws) => ws.on('message', (d) => ws.send(d.toString() === 'go' && ready ? 'ok' : 'early')),
    });
    const run = runCli(['replay', file, '--target', server.url, '--wait-for-server', '--asap', '--json', '--quiet', '--timeout', '10000']);
    await server.nextConnection();
    ready = true;
    server.sockets[0]!.send('ready');
    const r = await run;
    expect(r.code).toBe(0);
    expect(comparisons(r.stdout)[0]).toMatchObject({ recorded: 'c7', same: 2, changed: 0, missing: 0, extra: 0 });
  });

  it('scales the recorded gaps with --speed, and --asap skips them', async () => {
    const dir = tmp();
    // An hour between the two client messages: only a scaled (or skipped) gap finishes.
    const t = 1_700_000_000_000;
    const c = connection({
      id: 'c1',
      frames: [
        frame({ seq: 0, time: t, from: 'client', opcode: 1, payload: 'one' }),
        frame({ seq: 1, time: t + 1, from: 'server', opcode: 1, payload: 'one' }),
        frame({ seq: 2, time: t + 3_600_000, from: 'client', opcode: 1, payload: 'two' }),
        frame({ seq: 3, time: t + 3_600_001, from: 'server', opcode: 1, payload: 'two' }),
        frame({ seq: 4, time: t + 3_600_002, from: 'client', opcode: 8, payload: closePayload(4001, 'bye') }),
        frame({ seq: 5, time: t + 3_600_003, from: 'server', opcode: 8, payload: closePayload(4001, 'bye') }),
      ],
    });
    const file = join(dir, 'slow.json');
    writeFileSync(file, JSON.stringify(captureToJson(capture([c]))));
    for (const timing of [['--speed', '3600000'], ['--asap']]) {
      const echo = await wsServer();
      const r = await runCli(['replay', file, '--target', echo.url, ...timing, '--json', '--quiet']);
      expect(r.stderr).toBe('');
      expect(comparisons(r.stdout)[0]).toMatchObject({ same: 2, changed: 0, missing: 0, extra: 0 });
      // The recorded close (code and reason) is the client's again.
      expect(await echo.waitForClose(0)).toMatchObject({ code: 4001, reason: 'bye' });
    }
  });

  it('replays each connection of a capture in the order they began, or the one --connection names', async () => {
    const dir = tmp();
    const t = 1_700_000_000_000;
    const conn = (id: string, text: string, start: number) =>
      connection({
        id,
        frames: [
          frame({ seq: 0, time: start, from: 'client', opcode: 1, payload: text }),
          frame({ seq: 1, time: start + 1, from: 'server', opcode: 1, payload: text }),
          frame({ seq: 2, time: start + 2, from: 'client', opcode: 8, payload: closePayload(1000) }),
          frame({ seq: 3, time: start + 3, from: 'server', opcode: 8, payload: closePayload(1000) }),
        ],
      });
    const file = join(dir, 'two.json');
    writeFileSync(file, JSON.stringify(captureToJson(capture([conn('p1', 'first', t), conn('p2', 'second', t + 10)]))));
    const echo = await wsServer();
    const both = await runCli(['replay', file, '--target', echo.url, '--asap', '--json', '--quiet']);
    expect(both.code).toBe(0);
    expect(comparisons(both.stdout).map((c) => [c.connection, c.recorded, c.same])).toEqual([['c1', 'p1', 1], ['c2', 'p2', 1]]);
    expect(echo.received.map((m) => [m.connection, m.data.toString()])).toEqual([[0, 'first'], [1, 'second']]);
    const one = await runCli(['replay', file, '--target', echo.url, '--asap', '--json', '--quiet', '--connection', 'p2']);
    expect(comparisons(one.stdout).map((c) => c.recorded)).toEqual(['p2']);
    expect(echo.received.slice(2).map((m) => m.data.toString())).toEqual(['second']);
  });

  it('replays a HAR (as exported) and an NDJSON event stream, and prints the new session with the comparison', async () => {
    const dir = tmp();
    const file = await recordSession(dir);
    const har = join(dir, 'recorded.har');
    expect((await runCli(['export', file, '--format', 'har', '-o', har])).code).toBe(0);
    const ndjson = join(dir, 'recorded.ndjson');
    expect((await runCli(['export', file, '--format', 'ndjson', '-o', ndjson])).code).toBe(0);
    for (const input of [har, ndjson]) {
      const echo = await wsServer({ handleProtocols: ['chat'] });
      const r = await runCli(['replay', input, '--target', echo.url, '--asap']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('client → text');
      expect(r.stdout).toContain(`replay of c1 against ${echo.url}: 3 server messages recorded, 3 this time`);
      expect(r.stdout).toContain('same 3 · changed 0 · missing 0 · extra 0');
    }
  });

  it('bad input: one line and exit 2 (usage) or 1 (a bad file, no server)', async () => {
    const dir = tmp();
    const missing = await runCli(['replay', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^framescope: cannot read .*nope\.json: no such file\n$/);

    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"format": "framescope.capture", "version": 1, "connections": [');
    const bad = await runCli(['replay', junk]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^framescope: .*junk\.json: /);

    const file = await recordSession(dir);
    const unknown = await runCli(['replay', file, '--connection', 'c9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(`framescope: ${file} has no connection c9 (it has c1)\n`);

    const speed = await runCli(['replay', file, '--speed', 'fast']);
    expect(speed.code).toBe(2);
    expect(speed.stderr).toContain('--speed must be a positive number');

    // Nothing listens there any more: the recorded server is gone.
    const gone = await runCli(['replay', file, '--asap']);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
    expect(gone.stderr).toMatch(/^framescope: c1: .*(refused|ECONNREFUSED)/);
  });
});
