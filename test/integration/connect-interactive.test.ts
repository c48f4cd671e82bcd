// Interactive `framescope connect` (docs/contracts.md "Command line"): stdin lines are text
// messages and "/" lines are commands, the same from a pipe as from a terminal; the prompt
// only in a terminal (a pseudo-terminal made by util-linux `script`). Real peers: the `ws`
// package, a raw socket server for the exact bytes of a crafted frame, the built CLI.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEventJson } from '../../shared/model';
import { BIN, REPO_ROOT, runCli } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import * as bad from '../peers/bad-servers';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function wsServer(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

type FrameEvent = Extract<EngineEventJson, { event: 'frame' }>;
const events = (stdout: string) => stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EngineEventJson);
const frames = (ev: EngineEventJson[]) => ev.filter((e): e is FrameEvent => e.event === 'frame');
const payload = (f: FrameEvent) => Buffer.from(f.payload, 'base64');

describe('slash commands from piped stdin', () => {
  it('sends what each line says, reports a bad line in one line and goes on, and no prompt reaches stdout', async () => {
    const server = await wsServer({ echo: true });
    const stdin = [
      'plain text',
      '//starts with a slash',
      '/ping are you there',
      '/pong unasked',
      '/binary 00 ff 10',
      '/bogus',
      '/binary zz',
      '/close 99',
      '/frame text nofin mask=0a0b0c0d text=frag ',
      '/frame cont text=ment',
      '/close 4001 done for now',
      'after the close',
    ].join('\n');
    const r = await runCli(['connect', server.url, '--json', '--no-deflate'], { stdin: `${stdin}\n` });
    expect(r.code, r.stderr).toBe(0);
    // Every stdout line is an event: no prompt, no help, no complaint.
    const ev = events(r.stdout);
    expect(server.received.map((m) => [m.isBinary, m.isBinary ? m.data.toString('hex') : m.data.toString()])).toEqual([
      [false, 'plain text'],
      [false, '/starts with a slash'],
      [true, '00ff10'],
      [false, 'frag ment'],
    ]);
    expect(server.pings.map((p) => p.data.toString())).toEqual(['are you there']);
    expect(await server.waitForClose()).toMatchObject({ code: 4001, reason: 'done for now' });
    const sent = frames(ev).filter((f) => f.from === 'client');
    expect(sent.map((f) => f.opcode)).toEqual([1, 1, 9, 10, 2, 1, 0, 8]);
    expect(payload(sent[3]!).toString()).toBe('unasked');
    expect(sent[5]).toMatchObject({ fin: false, masked: true, maskKey: '0a0b0c0d' });
    // The pong answering the ping has its round-trip time.
    expect(frames(ev).find((f) => f.from === 'server' && f.opcode === 10)?.rtt).toBeGreaterThanOrEqual(0);
    expect(ev.at(-1)).toMatchObject({ event: 'close', code: 4001, by: 'client', clean: true });
    const complaints = r.stderr.trimEnd().split('\n');
    expect(complaints).toHaveLength(4);
    expect(complaints[0]).toBe('framescope: unknown command /bogus (/help lists them; //bogus sends the line as text)');
    expect(complaints[1]).toMatch(/^framescope: \/binary: hex /);
    expect(complaints[2]).toMatch(/^framescope: \/close takes a code that may be sent .*got "99"/);
    expect(complaints[3]).toMatch(/^framescope: not sent: .*close frame has been sent/);
  });

  it('/help lists every command on stderr', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--json'], { stdin: '/help\n' });
    expect(r.code).toBe(0);
    for (const c of ['/ping', '/pong', '/close', '/binary', '/frame', '/help', '//']) expect(r.stderr).toContain(c);
    expect(events(r.stdout).map((e) => e.event)).toEqual(['handshake', 'frame', 'frame', 'close']);
  });

  it('/frame writes exactly the bytes asked for: FIN, RSV bits, a reserved opcode, a lying 64-bit length, a given mask', async () => {
    const s = await bad.rawScript([]);
    cleanup.push(() => s.close());
    const proc = runCli(['connect', s.url, '--json', '--tolerant'], { stdin: '/frame 3 nofin rsv1 rsv3 mask=01020304 len=300 enc=64 text=hi\n' });
    const conn = await s.nextConnection();
    const bytes = await conn.waitForBytes(16);
    // 0x53: FIN clear, RSV1 and RSV3 set, opcode 3; 0xff: masked, 64-bit length; 300; the key;
    // "hi" masked by it (0x68^0x01, 0x69^0x02).
    expect(bytes.subarray(0, 16).toString('hex')).toBe('53ff000000000000012c01020304696b');
    conn.socket.destroy();
    // Ended by us mid-session: it exits by itself, without a stack trace.
    const r = await proc;
    expect(r.timedOut).toBe(false);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('/frame without a mask: the ws server fails the connection with 1002, as it must', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--json'], { stdin: '/frame binary nomask hex=0102\n' });
    const ev = frames(events(r.stdout));
    expect(ev.find((f) => f.from === 'client' && f.opcode === 2)).toMatchObject({ masked: false, length: 2 });
    expect(ev.find((f) => f.from === 'server' && f.opcode === 8)?.close?.code).toBe(1002);
  });

  it('bad /frame arguments: one line each, nothing sent, the session goes on', async () => {
    const server = await wsServer();
    const lines = ['/frame', '/frame nope', '/frame 16', '/frame text mask=123', '/frame text len=x', '/frame text enc=32', '/frame text sideways', '/frame text enc=7 hex=' + '00'.repeat(200), 'still here'];
    const r = await runCli(['connect', server.url, '--json'], { stdin: `${lines.join('\n')}\n` });
    expect(r.code).toBe(0);
    const complaints = r.stderr.trimEnd().split('\n');
    expect(complaints).toHaveLength(8);
    for (const c of complaints) expect(c).toMatch(/^framescope: (\/frame|not sent)/);
    expect(complaints.at(-1)).toMatch(/does not fit the 7-bit field/);
    await server.waitForMessages(1);
    expect(server.received.map((m) => m.data.toString())).toEqual(['still here']);
  });
});

/** The CLI in a pseudo-terminal (util-linux `script`), its terminal output as raw text. */
function inTerminal(args: string[], stdoutTo?: string) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ') + (stdoutTo ? ` > ${quote(stdoutTo)}` : '');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
  cleanup.push(() => child.kill('SIGKILL'));
  let output = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString('utf8');
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    output: () => output,
    type: (text: string) => child.stdin.write(text),
    exited,
    /** Resolves once the output from `from` on matches (the safety net is vitest's timeout). */
    waitFor(re: RegExp, from = 0): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(output.slice(from));
          if (m) return resolve(m[0]);
          waiters.push(check);
        };
        void exited.then(() => reject(new Error(`exited before ${re}:\n${JSON.stringify(output)}`)));
        check();
      });
    },
  };
}

describe('in a terminal', () => {
  it('shows a prompt, keeps what is being typed whole when a frame arrives, and ends on Ctrl-D', async () => {
    const server = await wsServer({ echo: true });
    const t = inTerminal(['connect', server.url, '--no-deflate']);
    await t.waitFor(/Accept valid[^\n]*\n[^\n]*ws> /);
    t.type('hello\r');
    await t.waitFor(/← server text[^\n]*"hello"/);
    t.type('par');
    const typed = t.output().length;
    await t.waitFor(/par/, typed - 3);
    // A message arrives while "par" is on the prompt line.
    server.sockets[0]!.send('push');
    const mark = t.output().length;
    await t.waitFor(/"push"[^\n]*\n[^\n]*ws> [^\n]*par/, mark);
    const after = t.output().slice(mark);
    // The prompt line was cleared before the frame's line, which starts at column 1.
    expect(after).toMatch(/\x1b\[2K\x1b\[1G#\d+ +\+ *[\d.]+ms ← server text +FIN[^\n]*"push"\r?\n/);
    t.type('tial\r');
    await t.waitFor(/← server text[^\n]*"partial"/, mark);
    expect(server.received.map((m) => m.data.toString())).toEqual(['hello', 'partial']);
    t.type('/nope\r');
    await t.waitFor(/framescope: unknown command \/nope/, mark);
    t.type('\x04');
    expect(await t.exited).toBe(0);
    expect(await server.waitForClose()).toMatchObject({ code: 1000 });
    // The last thing on the screen is the close, not a prompt.
    expect(t.output()).toMatch(/closed: 1000 Normal Closure, by client, clean\r?\n(\x1b\[2K)?(\x1b\[1G)?$/);
  });

  it('with stdout redirected, the prompt is on the terminal (stderr) and the file holds only events', async () => {
    const server = await wsServer({ echo: true });
    const dir = mkdtempSync(join(tmpdir(), 'framescope-tty-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'events.ndjson');
    const t = inTerminal(['connect', server.url, '--json'], file);
    await t.waitFor(/ws> /);
    t.type('one\r');
    await server.waitForMessages(1);
    // The next prompt is drawn after the line, though nothing was printed on the terminal.
    await t.waitFor(/one\r*\n[^\n]*ws> /);
    t.type('\x04');
    expect(await t.exited).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as EngineEventJson).event)).toEqual(['handshake', 'frame', 'frame', 'frame', 'frame', 'close']);
    expect(t.output()).not.toContain('"event"');
  });
});
