// `framescope export` and `framescope import` as a user runs them: exit 0 on success, 1
// with one clear line for a bad file or an output that cannot be written, 2 for usage
// (missing input, bad flags). Never a stack trace.
import { frameToJson } from '../../shared/records';
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCaptureFile } from '../../main/engine/recording/capture-writer';
import { runCli } from '../peers/cli';
import { capture, connection, frame } from './build';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-cli-'));
  dirs.push(d);
  return d;
}
function small(d: string): string {
  const p = join(d, 'small.wscap.json');
  const c = capture([connection({ id: 'c1', frames: [frame({ seq: 0, time: 1_795_000_000_000, from: 'client', opcode: 1, payload: 'hi' })] })]);
  writeCaptureFile(p, c.connections, c.createdAt);
  return p;
}
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

describe('framescope export / import: exit status and messages', () => {
  it('exports every format and says what it wrote', async () => {
    const d = tmp();
    const input = small(d);
    for (const format of ['json', 'ndjson', 'har', 'pcapng']) {
      const r = await runCli(['export', input, '--format', format, '-o', join(d, `out.${format}`)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^wrote .*out\\.${format}: 1 connection, 1 frames`));
    }
    // Nothing half-written is left beside the outputs.
    expect(readdirSync(d).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('a missing input or bad flags: exit 2', async () => {
    const d = tmp();
    let r = await runCli(['export', join(d, 'nope.json'), '--format', 'har', '-o', join(d, 'x.har')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`framescope: cannot read ${join(d, 'nope.json')}: no such file\n`);
    r = await runCli(['export', small(d), '--format', 'xml', '-o', join(d, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format <format>' argument 'xml' is invalid. Allowed choices are json, ndjson, har, pcapng/);
    r = await runCli(['export', small(d), '--format', 'json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '-o, --output <file>' not specified/);
    r = await runCli(['import', d, '-o', join(d, 'x.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`framescope: ${d} is not a file\n`);
    r = await runCli(['import', small(d)]);
    expect(r.code).toBe(2);
  });

  it('a bad file: exit 1, one line naming the file, what and where', async () => {
    const d = tmp();
    const bad = join(d, 'bad.json');
    writeFileSync(bad, '{"format":"framescope.capture","version":1,"createdAt":"x","connections":[{"id":1}]}');
    const r = await runCli(['import', bad, '-o', join(d, 'x.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`framescope: ${bad}: "id" must be a string (found number 1) at connections[0]\n`);
    noStack(r.stderr);
    expect(existsSync(join(d, 'x.json'))).toBe(false);
    writeFileSync(bad, 'PK\x03\x04 not json');
    const z = await runCli(['export', bad, '--format', 'pcapng', '-o', join(d, 'x.pcapng')]);
    expect(z.code).toBe(1);
    expect(z.stderr).toBe(`framescope: ${bad}: neither JSON nor a packet capture: a capture, a journal or a HAR starts with '{', a pcap or pcapng with its magic number, but this starts with 'P' at byte 0\n`);
  });

  it('an output that cannot be written: exit 1', async () => {
    const d = tmp();
    const r = await runCli(['export', small(d), '--format', 'har', '-o', join(d, 'no-such-dir', 'x.har')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`framescope: cannot write ${join(d, 'no-such-dir', 'x.har')}: no such directory\n`);
  });

  it('a journal cut off by a crash: recovered, with a warning, exit 0', async () => {
    const d = tmp();
    const j = join(d, 'live.wscap.json.journal');
    const f = frame({ seq: 0, time: 1_795_000_000_000, from: 'server', opcode: 1, payload: 'kept' });
    writeFileSync(
      j,
      JSON.stringify({ event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://127.0.0.1:1/', client: '127.0.0.1:2', server: '127.0.0.1:1', startedAt: 1_795_000_000_000 }) +
        '\n' + JSON.stringify({ event: 'frame', connection: 'p1', ...frameToJson(f) }) + '\n{"event":"frame","connection":"p1","seq":1,"ti',
    );
    const r = await runCli(['import', j, '-o', join(d, 'live.wscap.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 connection, 1 frames \(from a journal\)/);
    expect(r.stderr).toMatch(/^framescope: warning: .*live\.wscap\.json\.journal: the last line is cut off .*\(line 3\)\n$/);
  });

  it('a journal with a damaged line in the middle: the rest recovered, the line named, exit 0', async () => {
    const d = tmp();
    const j = join(d, 'live.wscap.json.journal');
    const f = (seq: number) => JSON.stringify({ event: 'frame', connection: 'p1', ...frameToJson(frame({ seq, time: 1_795_000_000_000 + seq, from: 'server', opcode: 1, payload: `m${seq}` })) });
    const open = JSON.stringify({ event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://127.0.0.1:1/', client: '127.0.0.1:2', server: '127.0.0.1:1', startedAt: 1_795_000_000_000 });
    writeFileSync(j, [open, f(0), `${f(1).slice(0, 40)}\u0000\u0000${f(1).slice(42)}`, f(2)].join('\n') + '\n');
    const r = await runCli(['import', j, '-o', join(d, 'live.wscap.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 connection, 2 frames \(from a journal\)/);
    expect(r.stderr).toMatch(/^framescope: warning: .*live\.wscap\.json\.journal: 1 bad line was skipped \(line 3: not a JSON event .*\); everything else was read\n/);
  });
});
