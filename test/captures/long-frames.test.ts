// Long frames in a journal (journal-reader.ts) or a capture (capture-reader.ts) are parsed
// without their big base64 strings, which are checked as bytes (base64-spans.ts) and copied
// into a capture as bytes. The result must be byte for byte what parsing every frame whole
// gives, whatever the frames hold; and a frame this cannot cut safely must still be read
// (whole) or refused as before.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { openCapture } from '../../main/engine/capture-reader';
import { materialize, RAW_SPANS, rawSpans } from '../../main/engine/capture-source';
import { CaptureWriter, writeCaptureFile } from '../../main/engine/capture-writer';
import { EXPORTERS } from '../../main/engine/export';
import { frameEvent } from '../peers/frame-events';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-long-lines-'));
  dirs.push(d);
  return d;
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

const frame = frameEvent;

const open = (connection: string): EngineEvent => ({ event: 'open', connection, mode: 'proxy', url: `ws://127.0.0.1:1/${connection}`, client: '127.0.0.1:2', server: '127.0.0.1:1', startedAt: 1_700_000_000_000, tls: null });
const close = (connection: string): EngineEvent => ({ event: 'close', connection, code: 1000, reason: 'done "ok" ✓', by: 'client', clean: true });

function writeJournal(path: string, events: EngineEvent[], lastLine = ''): void {
  writeFileSync(path, events.map((e) => `${JSON.stringify(e)}\n`).join('') + lastLine);
}

/** The capture as `import` writes it, and as writing fully parsed records gives it. */
function bothWays(journal: string, dir: string): { fast: Buffer; slow: Buffer; warnings: readonly string[] } {
  const now = new Date('2026-01-02T03:04:05.000Z');
  const fastPath = join(dir, 'fast.wscap.json');
  const slowPath = join(dir, 'slow.wscap.json');
  const source = openCapture(journal, { now });
  try {
    EXPORTERS.json(source, fastPath);
  } finally {
    source.close();
  }
  const again = openCapture(journal, { now });
  try {
    const whole = materialize(again); // frames(i) without raw: every line parsed whole
    writeCaptureFile(slowPath, whole.connections, whole.createdAt);
    return { fast: readFileSync(fastPath), slow: readFileSync(slowPath), warnings: again.warnings };
  } finally {
    again.close();
  }
}

describe('journal import: long frame lines copied as bytes', () => {
  it('gives the same capture as parsing every line whole: payloads, message data, two connections interleaved', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    const big = bytes(300_000, 1);
    const events: EngineEvent[] = [
      open('p1'),
      open('p2'),
      frame('p1', 0, bytes(40, 2)),
      frame('p1', 1, big),
      frame('p2', 0, bytes(200_001, 3)),
      // A compressed message: a small payload, its large inflated data.
      frame('p1', 2, bytes(100, 4), { rsv1: true, message: { opcode: 2, length: 250_002, data: bytes(250_002, 5).toString('base64') } }),
      // Large payload and large data on one line (a fragmented message's last frame).
      frame('p2', 1, bytes(100_000, 6), { opcode: 0, message: { opcode: 1, length: 160_000, data: bytes(160_000, 7).toString('base64') } }),
      // Truncated, with violations and a close reason that needs escaping after the payload.
      frame('p1', 3, bytes(70_000, 8), { truncated: true, length: 80_000, stored: 70_000, violations: [{ id: 'x', rfc: '6455 §5.2', severity: 'error', message: 'a "payload":"" and \\ in text' }] }),
      // A close frame whose reason looks like the keys this looks for.
      frame('p2', 2, bytes(90_000, 9), { opcode: 8, close: { code: 4000, reason: '"data":"AAAA" "payload":"' } }),
      close('p1'),
      close('p2'),
    ];
    writeJournal(journal, events);
    const { fast, slow } = bothWays(journal, dir);
    expect(fast.equals(slow)).toBe(true);
    const capture = JSON.parse(fast.toString('utf8'));
    expect(capture.connections.map((c: { frames: unknown[] }) => c.frames.length)).toEqual([4, 3]);
    expect(Buffer.from(capture.connections[0].frames[1].payload, 'base64').equals(big)).toBe(true);
    expect(Buffer.from(capture.connections[0].frames[2].message.data, 'base64').equals(bytes(250_002, 5))).toBe(true);
  });

  it('hands the capture writer bytes, not strings, for long lines only', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    writeJournal(journal, [open('p1'), frame('p1', 0, bytes(40, 1)), frame('p1', 1, bytes(100_000, 2))]);
    const source = openCapture(journal);
    try {
      const [small, large] = [...source.frames(0, { raw: true })].map((f) => ({ payload: f.payload, raw: rawSpans(f) }));
      expect(small!.raw).toBeUndefined();
      expect(large!.payload).toBe('');
      // (Views of the reader's block; the frame is the last one read, so still valid here.)
      expect(Buffer.from(large!.raw!.payload).toString('latin1')).toBe(bytes(100_000, 2).toString('base64'));
      // Without raw (every other consumer): whole strings.
      const plain = [...source.frames(0)];
      expect(plain.map((f) => rawSpans(f))).toEqual([undefined, undefined]);
      expect(plain[1]!.payload).toBe(bytes(100_000, 2).toString('base64'));
    } finally {
      source.close();
    }
  });

  it('another key order (message before payload) still comes out the same', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    const f = frame('p1', 0, bytes(120_000, 3), { message: { opcode: 2, length: 90_000, data: bytes(90_000, 4).toString('base64') } });
    // The same fields in another order: message first, payload last.
    const { message, payload, ...rest } = f;
    const reordered = JSON.stringify({ ...rest, message, payload });
    writeJournal(journal, [open('p1')], `${reordered}\n`);
    appendFileSync(journal, `${JSON.stringify(close('p1'))}\n`);
    const { fast, slow } = bothWays(journal, dir);
    expect(fast.equals(slow)).toBe(true);
    expect(JSON.parse(fast.toString('utf8')).connections[0].frames[0].payload).toBe(payload);
  });

  it('keys named payload or data in objects a later version may add are not taken for the frame\'s own', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    // Before the frame's own payload (which is empty), an added object with a "payload"; after
    // it, one with a "data", before a message whose data is empty. Both must stay where they are.
    const f = frame('p1', 0, Buffer.alloc(0), { message: { opcode: 2, length: 0, data: '' } });
    const { payload, message, ...head } = f;
    const odd = { ...head, added: { payload: 'QUJD'.repeat(20_000) }, payload, later: { data: 'REVG'.repeat(20_000) }, message };
    writeJournal(journal, [open('p1')], `${JSON.stringify(odd)}\n`);
    const { fast, slow } = bothWays(journal, dir);
    expect(fast.equals(slow)).toBe(true);
    const got = JSON.parse(fast.toString('utf8')).connections[0].frames[0];
    expect(got.payload).toBe('');
    expect(got.message.data).toBe('');
    expect(got.added.payload).toBe('QUJD'.repeat(20_000));
    expect(got.later.data).toBe('REVG'.repeat(20_000));
  });

  it('an added object with an empty "payload" or "data" beside the long ones: the capture writer still puts them right', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    const f = frame('p1', 0, bytes(100_000, 8), { message: { opcode: 2, length: 70_000, data: bytes(70_000, 9).toString('base64') } });
    const { payload, message, ...head } = f;
    const odd = { ...head, added: { payload: '', data: '' }, payload, message, later: { data: '' } };
    writeJournal(journal, [open('p1')], `${JSON.stringify(odd)}\n`);
    const { fast, slow } = bothWays(journal, dir);
    expect(fast.equals(slow)).toBe(true);
    const got = JSON.parse(fast.toString('utf8')).connections[0].frames[0];
    expect(got.payload).toBe(payload);
    expect(got.message.data).toBe(message!.data);
    expect(got.added).toEqual({ payload: '', data: '' });
  });

  it('the capture writer, handed bytes for a frame whose text has another emptied "payload" first, writes it whole', () => {
    const dir = scratch();
    const { event: _e, connection: _c, ...record } = frame('p1', 0, bytes(100_000, 3));
    const b64 = record.payload;
    const withRaw = { added: { payload: '' }, ...record, payload: '' } as unknown as FrameRecord;
    Object.defineProperty(withRaw, RAW_SPANS, { value: { payload: Buffer.from(b64, 'latin1') }, enumerable: false });
    const path = join(dir, 'w.wscap.json');
    const w = new CaptureWriter(path, '2026-01-01T00:00:00.000Z');
    const head = { id: 'c1', mode: 'client' as const, url: 'ws://127.0.0.1:1/', client: null, server: null, tls: null, startedAt: 1, endedAt: 2, handshake: null, close: null, errors: [] };
    w.connection(head, [withRaw]);
    w.finish();
    const got = JSON.parse(readFileSync(path, 'utf8')).connections[0].frames[0];
    expect(got.added).toEqual({ payload: '' });
    expect(got.payload).toBe(b64);
  });

  it('a long line whose payload is not base64 is skipped with its line number; the frames around it are kept', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    const bad = { ...frame('p1', 1, bytes(120_000, 3)) };
    bad.payload = `${bad.payload.slice(0, 1000)}*${bad.payload.slice(1001)}`;
    writeJournal(journal, [open('p1'), frame('p1', 0, bytes(70_000, 1)), bad, frame('p1', 2, bytes(90_000, 2)), close('p1')]);
    const { fast, slow, warnings } = bothWays(journal, dir);
    expect(fast.equals(slow)).toBe(true);
    expect(warnings).toEqual([`${journal}: 1 bad line was skipped (line 3 (a "frame" event): "payload" is not valid base64); everything else was read`]);
    expect(JSON.parse(fast.toString('utf8')).connections[0].frames.map((f: { seq: number }) => f.seq)).toEqual([0, 2]);
  });

  it('a long last line cut off mid-payload is dropped with a warning; the rest is kept', () => {
    const dir = scratch();
    const journal = join(dir, 'j.journal');
    const cut = JSON.stringify(frame('p1', 1, bytes(200_000, 4))).slice(0, 150_000);
    writeJournal(journal, [open('p1'), frame('p1', 0, bytes(90_000, 5))], cut);
    const { fast, slow, warnings } = bothWays(journal, dir);
    expect(fast.equals(slow)).toBe(true);
    expect(warnings.join('\n')).toMatch(/last line is cut off/);
    expect(JSON.parse(fast.toString('utf8')).connections[0].frames).toHaveLength(1);
  });
});

describe('base64Size (the journal reader checks base64 as bytes)', () => {
  it('says what capture-shape says of the same text, at every alignment', async () => {
    const fc = (await import('fast-check')).default;
    const { base64Size } = await import('../../main/engine/base64-spans');
    const { base64Bytes } = await import('../../main/engine/capture-shape');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    // Mostly base64 (from real bytes), sometimes with a character changed or the padding off.
    const text = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, c]) => {
        const s = Buffer.from(b).toString('base64');
        const i = at % s.length;
        return s.slice(0, i) + String.fromCharCode(c) + s.slice(i + 1);
      }),
      fc.string({ unit: fc.constantFrom(...alphabet, '=', '-', '_', ' '), maxLength: 40 }),
    );
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 7 }), (s, lead) => {
        const bytes = Buffer.from(s, 'latin1');
        const buf = Buffer.alloc(lead + bytes.length + 3, 0x2a);
        bytes.copy(buf, lead);
        const expected = /^[\x00-\xff]*$/.test(s) ? base64Bytes(s) : -1;
        return base64Size(buf, lead, lead + bytes.length) === expected;
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('capture import: long frames parsed without their base64', () => {
  function capture(dir: string): { path: string; frames: FrameRecord[] } {
    const { event: _e, connection: _c, ...f0 } = frame('c1', 0, bytes(40, 1));
    const { event: _e1, connection: _c1, ...f1 } = frame('c1', 1, bytes(200_000, 2));
    const { event: _e2, connection: _c2, ...f2 } = frame('c1', 2, bytes(100, 3), { rsv1: true, message: { opcode: 2, length: 150_000, data: bytes(150_000, 4).toString('base64') } });
    const { event: _e3, connection: _c3, ...f3 } = frame('c1', 3, bytes(99_999, 5), { opcode: 8, close: { code: 4000, reason: '"payload":"x" \\ "data":""' } });
    const frames = [f0, f1, f2, f3] as FrameRecord[];
    const path = join(dir, 'big.wscap.json');
    const head = { id: 'c1', mode: 'client' as const, url: 'ws://127.0.0.1:1/', client: null, server: null, tls: null, startedAt: 1, endedAt: 2, handshake: null, close: null, errors: [] };
    writeCaptureFile(path, [{ ...head, frames }], '2026-01-02T03:04:05.000Z');
    return { path, frames };
  }

  it('every consumer gets the same records, and `import` writes the same file back byte for byte', () => {
    const dir = scratch();
    const { path, frames } = capture(dir);
    const source = openCapture(path);
    try {
      expect([...source.frames(0)]).toEqual(frames);
      expect([...source.frames(0)].map((f) => rawSpans(f))).toEqual([undefined, undefined, undefined, undefined]);
      const out = join(dir, 'again.wscap.json');
      EXPORTERS.json(source, out);
      expect(readFileSync(out).equals(readFileSync(path))).toBe(true);
    } finally {
      source.close();
    }
  });

  it('a long frame whose payload is not base64 is refused naming the frame, as before', () => {
    const dir = scratch();
    const { path } = capture(dir);
    const text = readFileSync(path, 'latin1');
    const at = text.indexOf('"payload":"', text.indexOf('"seq":1')) + 5000;
    writeFileSync(path, `${text.slice(0, at)}!${text.slice(at + 1)}`, 'latin1');
    const source = openCapture(path);
    try {
      expect(() => [...source.frames(0)]).toThrow(/not valid base64.*frames\[1\]/);
    } finally {
      source.close();
    }
  });
});
