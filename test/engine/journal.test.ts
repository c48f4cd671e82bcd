// The proxy's journal (main/engine/journal.ts): one event a line, exactly JSON.stringify's
// bytes, however the line was put together (spliced around large base64 strings, written
// in pieces past the encoding buffer), and a capture rebuilt from it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFile, EngineEvent, FrameRecord } from '../../shared/model';
import fc from 'fast-check';
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
    message: { opcode: 1, length: 300_000, data: bytes(300_000, 4).toString('base64') },
    violations: [{ id: 'x-"quoted"', rfc: '6455 §5.2', severity: 'warning', message: 'a "payload":"" inside a string \\ ✓ 🌍' }],
  }),
  // Both large, and a payload bigger than the encoding buffer (written in pieces).
  frame(3, bytes(2 * 1024 * 1024 + 5, 5), { message: { opcode: 2, length: 70_000, data: bytes(70_000, 6).toString('base64') } }),
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
    // Written without being asked: at the turn's end, or, after whole blocks sent past the
    // page cache, as soon as that write is done.
    await vi.waitFor(() => expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(EVENTS.length + 1), { timeout: 5000 });
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    lines.pop();
    expect(lines).toHaveLength(EVENTS.length);
    EVENTS.slice(0, -1).forEach((e, i) => expect(lines[i] === JSON.stringify(e), `line ${i} (${e.event})`).toBe(true));
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
    const file = JSON.parse(readFileSync(out, 'utf8')) as CaptureFile;
    const c = file.connections[0]!;
    const want = EVENTS.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame').map(({ event: _e, connection: _c, ...f }) => f);
    expect(c.frames).toEqual(want);
    expect(c.close).toEqual({ code: 4000, reason: 'bye ✓ "now"', by: 'client', clean: true });
    expect(c.endedAt).toBeGreaterThan(0);
    expect(c.errors).toHaveLength(1);
  });
});

describe('journal: large payloads carried as bytes', () => {
  it('writes the same line as JSON.stringify without ever building the payload string', async () => {
    const { FrameParser } = await import('../../shared/codec/frame-parser');
    const { encodeFrame } = await import('../../shared/codec/frame-writer');
    const { toFrameEvent, rawPayload } = await import('../../shared/records');
    const payload = bytes(300_001, 9);
    // Fed in pieces of awkward sizes (not multiples of 3), as a socket delivers them.
    const stream = Buffer.from(encodeFrame({ fin: true, opcode: 2, payload, mask: false }));
    const parser = new FrameParser({ from: 'server', stance: 'observer' });
    const cuts = [65_537, 65_537 + 7, 65_537 + 8, 200_000, stream.length];
    const frames = cuts.flatMap((end, i) => parser.receive(stream.subarray(i ? cuts[i - 1] : 0, end), 1_700_000_000_123.5));
    const wire = frames[0];
    let encoded = 0;
    const b64 = (b: Uint8Array) => {
      encoded++;
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    };
    const event = toFrameEvent('p1', wire!, 0, { base64: b64 });
    expect(rawPayload(event)!.pieces.length).toBe(1);
    const path = join(scratch(), 'raw.journal');
    const j = new Journal(path);
    j.write(event);
    j.close();
    expect(encoded).toBe(0); // the journal encoded the bytes itself, in pieces
    const line = readFileSync(path, 'utf8');
    expect(line).toBe(JSON.stringify(event) + '\n');
    expect(encoded).toBe(1); // JSON.stringify read the lazy payload once
    expect(Buffer.from(event.payload, 'base64').equals(payload)).toBe(true);
    expect(Object.keys(event).indexOf('payload')).toBe(Object.keys(event).indexOf('header') + 1);
  });
});

describe('journal: payload pieces of any sizes', () => {
  // Every way a journal encodes: the WebAssembly encoder into direct-write buffers or into
  // the page-cache buffer, and base64 through strings (where WebAssembly cannot be had).
  it.each([
    { direct: true, encoder: true },
    { direct: false, encoder: true },
    { direct: true, encoder: false },
    { direct: false, encoder: false },
  ])('encode to the base64 of the whole, masked or not, across the staging runs (%o)', async (options) => {
    const { toFrameEvent } = await import('../../shared/records');
    const dir = scratch();
    let n = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 49_150, max: 150_000 })), { minLength: 1, maxLength: 6 }), fc.boolean(), (sizes, masked) => {
        const pieces = sizes.map((size, i) => bytes(size, i + 3));
        const whole = Buffer.concat(pieces);
        const maskKey = masked ? Uint8Array.of(0x9a, 0x01, 0xfe, 0x42) : null;
        const wire = { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked, maskKey, length: whole.length, lengthEncoding: 127, header: Uint8Array.of(0x82, 0x7f), payload: whole, truncated: false, offset: 0, time: 1.5, from: masked ? 'client' : 'server', violations: [] } as never;
        const event = toFrameEvent('p1', wire, 0, {});
        const path = join(dir, `pieces-${n++}.journal`);
        const j = new Journal(path, undefined, options);
        j.write(event);
        j.close();
        const line = JSON.parse(readFileSync(path, 'utf8'));
        return line.payload === whole.toString('base64') && line.length === whole.length;
      }),
      { numRuns: 60 },
    );
  });
});

describe('journal: large masked payloads', () => {
  it('come from the parser unmasked: the line is still JSON.stringify(event)', async () => {
    const { FrameParser } = await import('../../shared/codec/frame-parser');
    const { encodeFrame } = await import('../../shared/codec/frame-writer');
    const { toFrameEvent, rawPayload } = await import('../../shared/records');
    const payload = bytes(200_003, 11);
    const stream = Buffer.from(encodeFrame({ fin: true, opcode: 2, payload, mask: true, maskKey: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) }));
    const parser = new FrameParser({ from: 'client', stance: 'observer' });
    const cuts = [9, 65_537, 65_537 + 5, 150_001, stream.length];
    const [wire] = cuts.flatMap((end, i) => parser.receive(stream.subarray(i ? cuts[i - 1] : 0, end), 1_700_000_000_200));
    const event = toFrameEvent('p1', wire!, 0, { base64: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') });
    expect(rawPayload(event)!.maskKey).toBeNull();
    const path = join(scratch(), 'masked.journal');
    const j = new Journal(path);
    j.write(event);
    j.close();
    expect(readFileSync(path, 'utf8')).toBe(JSON.stringify(event) + '\n');
    expect(Buffer.from(event.payload, 'base64').equals(payload)).toBe(true);
  });
});

describe('journal: a write that fails', () => {
  // /dev/full takes the open and fails every write with ENOSPC, as a full disk does.
  it('stops the journal without throwing: the owner told once, every event after the last good write counted as lost', async () => {
    const failures: NodeJS.ErrnoException[] = [];
    const j = new Journal('/dev/full', (err) => failures.push(err));
    // Small lines wait for the turn's flush; the 2 MiB one drains its pieces as it goes and
    // meets the failure in the middle of its own line.
    expect(() => {
      j.write(EVENTS[0]!);
      j.write(EVENTS[1]!);
      j.write(EVENTS[5]!);
    }).not.toThrow();
    expect(j.failure).toBeNull();
    expect(failures).toEqual([]);
    expect(() => j.write(EVENTS[4]!)).not.toThrow();
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

describe('journal: whole blocks written past the page cache', () => {
  // Large flushes go to the file directly (O_DIRECT) from a buffer whose bytes lie aligned
  // as they will in the file, on libuv's thread pool, while later events wait for that
  // write; the rest through the page cache. Whatever the sizes and wherever the turns end,
  // the file must be exactly the lines, and a flush() must leave it whole.
  const line = (n: number, i: number): EngineEvent => ({ event: 'error', connection: `p${i}`, kind: 'protocol', message: 'é'.repeat(i % 3) + 'x'.repeat(n) });
  const step = fc.oneof(
    fc.record({ write: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 4000, max: 70_000 }), fc.integer({ min: 100_000, max: 2_500_000 })) }),
    fc.constant({ turn: true as const }),
    fc.constant({ flush: true as const }),
  );

  it.each([true, false])('the file is exactly the lines, with direct writes %s', async (direct) => {
    let usedDirect = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const path = join(scratch(), 'p.journal');
        const j = new Journal(path, undefined, { direct });
        const written: string[] = [];
        for (const s of steps) {
          if ('write' in s) {
            const e = line(s.write, written.length);
            j.write(e);
            written.push(JSON.stringify(e) + '\n');
          } else if ('turn' in s) await new Promise((r) => setTimeout(r, 1));
          else {
            j.flush();
            expect(readFileSync(path, 'utf8')).toBe(written.join(''));
          }
        }
        j.close();
        expect(readFileSync(path, 'utf8')).toBe(written.join(''));
        expect([j.written, j.lost, j.failure]).toEqual([written.length, 0, null]);
        usedDirect += j.directBytes;
      }),
      { numRuns: 40 },
    );
    // On a file system with direct I/O (the tests' tmpdir here) the path was taken; with
    // direct: false never.
    if (direct) expect(usedDirect).toBeGreaterThan(0);
    else expect(usedDirect).toBe(0);
  }, 60_000);
});

describe('journal: a direct write still queued on the thread pool', () => {
  // With libuv's four threads kept busy, a direct write waits in the queue. flush() and
  // close() redo it synchronously; when it runs at last it must write the same bytes to
  // the same file: its buffer not refilled meanwhile, its descriptor not closed and its
  // number given to another file.
  it('writes what it was given where it was meant to, after flush() and close() did it already', async () => {
    const { pbkdf2 } = await import('node:crypto');
    const busy = Array.from({ length: 4 }, () => new Promise((r) => pbkdf2('x', 'y', 400_000, 32, 'sha256', r)));
    const dir = scratch();
    const big = (i: number, n: number): EngineEvent => ({ event: 'error', connection: `q${i}`, kind: 'protocol', message: String(i).repeat(n) });
    const a = new Journal(join(dir, 'a.journal'));
    const wantA: string[] = [];
    const put = (j: Journal, want: string[], e: EngineEvent) => {
      j.write(e);
      want.push(JSON.stringify(e) + '\n');
    };
    put(a, wantA, big(1, 300_000));
    await new Promise((r) => setImmediate(r)); // the turn's end: a direct write, queued
    a.flush(); // done again, synchronously
    put(a, wantA, big(2, 900_000)); // would refill the queued write's buffer
    await new Promise((r) => setImmediate(r));
    a.close();
    // A new file that could take the closed descriptors' numbers.
    const b = new Journal(join(dir, 'b.journal'));
    const wantB: string[] = [];
    put(b, wantB, big(3, 700_000));
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(join(dir, 'a.journal'), 'utf8')).toBe(wantA.join(''));
    await Promise.all(busy);
    await new Promise((r) => setTimeout(r, 50)); // the queued writes run now
    b.close();
    expect(readFileSync(join(dir, 'a.journal'), 'utf8')).toBe(wantA.join(''));
    expect(readFileSync(join(dir, 'b.journal'), 'utf8')).toBe(wantB.join(''));
    expect(a.directBytes + b.directBytes).toBeGreaterThan(0);
  }, 30_000);
});

describe('journal: buffers that fill while a direct write is on its way', () => {
  // A proxy encodes a burst of reads faster than the device takes them: a buffer that fills
  // while the write ahead of it is on its way queues its blocks behind it (nothing written
  // past it, nothing through the page cache) until every buffer is in use (four here); only
  // then do the bytes go through the page cache. What queued goes out in one write. With
  // the thread pool kept busy, the first write (a turn's line of 70 KB, enough to go
  // direct) cannot even start, so the file stays empty while the buffers hold the lines.
  it.each(['as each write ahead is done', 'by a flush() while they wait'])('queue their blocks in file order, written %s; the page cache only once every buffer is in use', async (how) => {
    const { pbkdf2 } = await import('node:crypto');
    const busy = Array.from({ length: 4 }, () => new Promise((r) => pbkdf2('x', 'y', 1_500_000, 32, 'sha256', r)));
    const path = join(scratch(), 'q.journal');
    const j = new Journal(path, undefined, { buffers: 4 });
    const want: string[] = [];
    let encoded = 0;
    const put = (i: number) => {
      // The first line alone is enough to go direct; the others, under 64 KiB, are not, so
      // what is left after the page cache took a full buffer waits for the queue and goes
      // through the page cache too.
      const e: EngineEvent = { event: 'error', connection: `q${i}`, kind: 'protocol', message: String(i % 10).repeat(i === 0 ? 70_000 : 60_000) };
      j.write(e);
      want.push(JSON.stringify(e) + '\n');
      encoded += want.at(-1)!.length;
    };
    let held = 0; // bytes encoded while the file was still empty
    for (let i = 0; i < 200 && statSync(path).size === 0; i++) {
      held = encoded;
      put(i);
      await new Promise((r) => setImmediate(r));
    }
    // The first line's write on its way, two buffers queued behind it, one filling: ~2.5 MB
    // (two buffers, as before, went to the page cache at ~0.9 MB).
    expect(held).toBeGreaterThan(2 * 1024 * 1024);
    expect(statSync(path).size).toBeGreaterThan(0); // and then the page cache, past them
    if (how.includes('flush')) {
      j.flush(); // the three, synchronously, in order (the first one again when the pool runs it)
      expect(readFileSync(path, 'utf8')).toBe(want.join(''));
    }
    await Promise.all(busy);
    await vi.waitFor(() => expect(readFileSync(path, 'utf8')).toBe(want.join('')), { timeout: 5000 });
    // The first write alone, the two queued behind it together (one vectored write), unless
    // flush() wrote them.
    expect(j.directWrites).toBe(how.includes('flush') ? 1 : 2);
    // The buffers come back to be filled again, whichever way their writes were done.
    for (let i = 0; i < 40; i++) {
      put(1000 + i);
      if (i % 3 === 0) await new Promise((r) => setImmediate(r));
    }
    j.close();
    expect(readFileSync(path, 'utf8')).toBe(want.join(''));
    expect([j.written, j.lost, j.failure]).toEqual([want.length, 0, null]);
    expect(j.directBytes).toBeGreaterThan(1.5 * 1024 * 1024); // the three queued writes at least
  }, 30_000);
});

describe('journal: a direct write that meets the end of the disk', () => {
  // A file size limit (as a filling disk) cuts a direct write short: the rest goes through
  // the page cache, which fails with EFBIG; the lines that made it are counted written, the
  // others lost, and the file is whole up to the last written line.
  it.each(['direct', 'buffered'])('%s: the lines before the cut are in the file and counted written, the rest lost', (mode) => {
    const path = join(scratch(), 'limited.journal');
    // Turns: one line; a line that ends in the write that is cut and one cut inside it; one more.
    const turns = '300000;100000,200000;100';
    const r = spawnSync('bash', ['-c', 'ulimit -f 512 && exec "$@"', 'bash', process.execPath, '--import', 'tsx', 'test/peers/journal-writer.ts', path, turns, mode], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { written: number; lost: number; failures: string[]; directBytes: number };
    // 512 KiB holds the first two lines (~400 KB), not the third.
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.slice(0, 2).map((l) => (JSON.parse(l) as { connection: string }).connection)).toEqual(['c0', 'c1']);
    expect(lines.slice(2).join('\n').length).toBeLessThan(300_000); // at most a cut third line
    expect(summary).toMatchObject({ written: 2, lost: 2, failures: ['EFBIG'] });
    if (mode === 'direct') expect(summary.directBytes).toBeGreaterThan(0);
    else expect(summary.directBytes).toBe(0);
  });
});
