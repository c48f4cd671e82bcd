// The proxy's journal (main/engine/journal.ts): one event a line, its NDJSON form, and a
// capture rebuilt from it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFileJson, EngineEvent, FrameRecord } from '../../shared/model';
import { eventToJson, frameToJson } from '../../shared/records';
import { Journal, captureFromJournal } from '../../main/engine/journal';
import { frameEvent } from '../peers/frame-events';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-journal-'));
  dirs.push(d);
  return d;
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

const frame = (seq: number, payload: Buffer, extra: Partial<FrameRecord> = {}) => frameEvent('p1', seq, payload, extra);

const EVENTS: EngineEvent[] = [
  { event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://127.0.0.1:1/ü', client: '127.0.0.1:2', server: '127.0.0.1:1', startedAt: 1_700_000_000_000, tls: null },
  frame(0, bytes(40, 1)),
  // Large payload: spliced around.
  frame(1, bytes(256 * 1024, 2)),
  // Large message data on a small frame, with text that needs escaping elsewhere in the line.
  frame(2, bytes(100, 3), {
    rsv1: true,
    message: { opcode: 1, length: 300_000, data: bytes(300_000, 4) },
    violations: [{ id: 'x-"quoted"', rfc: '6455 §5.2', severity: 'warning', message: 'a "payload":"" inside a string \\ ✓ 🌍' }],
  }),
  // Both large, and a payload bigger than the encoding buffer (written in pieces).
  frame(3, bytes(2 * 1024 * 1024 + 5, 5), { message: { opcode: 2, length: 70_000, data: bytes(70_000, 6) } }),
  frame(4, Buffer.alloc(0), { opcode: 8, close: { code: 4000, reason: 'bye ✓ "now"' } }),
  // A line of non-ASCII text longer than the encoding buffer: pieces never cut a surrogate pair.
  { event: 'error', connection: 'p1', kind: 'protocol', message: 'é🌍'.repeat(400_000) + '\ud800 lone' },
  { event: 'close', connection: 'p1', code: 4000, reason: 'bye ✓ "now"', by: 'client', clean: true },
];

describe('journal', () => {
  it('writes each event as JSON.stringify would, one a line, close events stamped with endedAt', async () => {
    const path = join(scratch(), 'j.journal');
    const j = new Journal(path);
    for (const e of EVENTS) j.write(e);
    // Written without being asked, at the turn's end.
    await vi.waitFor(() => expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(EVENTS.length + 1), { timeout: 5000 });
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    lines.pop();
    expect(lines).toHaveLength(EVENTS.length);
    EVENTS.slice(0, -1).forEach((e, i) => expect(lines[i] === JSON.stringify(eventToJson(e)), `line ${i} (${e.event})`).toBe(true));
    const close = JSON.parse(lines.at(-1)!) as { endedAt: number };
    expect(lines.at(-1)).toBe(JSON.stringify({ ...EVENTS.at(-1)!, endedAt: close.endedAt }));
    expect(close.endedAt).toBeGreaterThan(0);
    j.close();
    expect(j.written).toBe(EVENTS.length);
  });

  it('a capture rebuilt from it holds every frame as written, and the connection end', () => {
    const dir = scratch();
    const path = join(dir, 'j.journal');
    const j = new Journal(path);
    for (const e of EVENTS) j.write(e);
    j.close();
    const out = join(dir, 'c.wscap.json');
    expect(captureFromJournal(path, out)).toEqual({ connections: 1, frames: 5, warnings: [] });
    const file = JSON.parse(readFileSync(out, 'utf8')) as CaptureFileJson;
    const c = file.connections[0]!;
    const want = EVENTS.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame').map(({ event: _e, connection: _c, ...f }) => frameToJson(f));
    expect(c.frames).toEqual(want);
    expect(c.close).toEqual({ code: 4000, reason: 'bye ✓ "now"', by: 'client', clean: true });
    expect(c.endedAt).toBeGreaterThan(0);
    expect(c.errors).toHaveLength(1);
  });
});


describe('journal: a write that fails', () => {
  // /dev/full takes the open and fails every write with ENOSPC, as a full disk does.
  it('stops the journal without throwing: the owner told once, every event after the last good write counted as lost', async () => {
    const failures: NodeJS.ErrnoException[] = [];
    const j = new Journal('/dev/full', (err) => failures.push(err));
    // Lines wait for the turn's flush, and meet the failure there.
    expect(() => {
      j.write(EVENTS[0]!);
      j.write(EVENTS[1]!);
      j.write(EVENTS[5]!);
      j.write(EVENTS[4]!);
    }).not.toThrow();
    expect(j.failure).toBeNull();
    expect(failures).toEqual([]);
    expect(() => j.flush()).not.toThrow();
    expect(failures.map((e) => e.code)).toEqual(['ENOSPC']);
    expect(j.failure?.code).toBe('ENOSPC');
    expect(j.lost).toBe(4);
    expect(j.written).toBe(0);
    for (const e of EVENTS) expect(() => j.write(e)).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(() => j.close()).not.toThrow();
    expect(j.lost).toBe(4 + EVENTS.length);
    expect(failures).toHaveLength(1);
  });

  it('a failure at the turn’s flush: the events of that turn are the lost ones', async () => {
    const failures: string[] = [];
    const j = new Journal('/dev/full', (err) => failures.push(err.code ?? ''));
    j.write(EVENTS[0]!);
    j.write(EVENTS[1]!);
    await new Promise((r) => setImmediate(r));
    expect(failures).toEqual(['ENOSPC']);
    expect([j.written, j.lost]).toEqual([0, 2]);
    j.write(EVENTS[6]!);
    expect(j.lost).toBe(3);
    j.close();
    expect(failures).toHaveLength(1);
  });
});

