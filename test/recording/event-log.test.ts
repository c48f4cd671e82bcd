// The event log (main/engine/recording/): every event comes back as it went in, from the
// file or before it was written; damage costs only the damaged record; a full disk keeps
// the recording going in memory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { EventLog, type WriteFn } from '../../main/engine/recording/event-log';
import { isEventLog, openLog, scanLog, type LoggedEvent } from '../../main/engine/recording/log-reader';
import { CaptureFormatError } from '../../main/engine/recording/capture-source';
import { eventAt } from './log-events';

const dir = mkdtempSync(join(tmpdir(), 'framescope-event-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = (): string => join(dir, `log-${files++}.journal`);

/**
 * An event with its bytes as text, for comparing: vitest compares a Uint8Array element by
 * element, which takes seconds for a few 256 KiB payloads.
 */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return `${v.constructor.name}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function scan(path: string): { events: LoggedEvent[]; warnings: string[] } {
  const warnings: string[] = [];
  const events = [...scanLog(path, warnings)];
  return { events, warnings };
}

/** Bytes of any size, fast to make (fast-check's own arrays are slow at 300 KiB). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
    out[i] = x >>> 24;
  }
  return out;
}

const bytesArb = (maxSmall: number): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: maxSmall }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 8000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 * 1024 }) }), fc.integer())
    .map(([n, seed]) => bytes(n, seed));

const text = fc.string({ maxLength: 30, unit: 'grapheme' });
const id = fc.oneof(fc.constantFrom('c1', 'p2', 'connection-3'), fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }));
const num = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.double());

const violation = fc.record({ id: fc.string(), rfc: fc.string(), severity: fc.constantFrom('error', 'warning'), message: text });

const frameArb: fc.Arbitrary<EngineEvent> = fc
  .record(
    {
      event: fc.constant('frame' as const),
      connection: id,
      seq: fc.oneof(fc.nat(), fc.maxSafeNat()),
      time: num,
      from: fc.constantFrom('client' as const, 'server' as const),
      fin: fc.boolean(),
      rsv1: fc.boolean(),
      rsv2: fc.boolean(),
      rsv3: fc.boolean(),
      opcode: fc.integer({ min: 0, max: 15 }),
      masked: fc.boolean(),
      maskKey: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: null }),
      length: num,
      header: fc.uint8Array({ minLength: 2, maxLength: 14 }),
      payload: bytesArb(200),
      truncated: fc.constant(true as const),
      stored: fc.nat(),
      message: fc.record(
        { opcode: fc.constantFrom(1 as const, 2 as const), length: num, data: bytesArb(100), truncated: fc.constant(true as const) },
        { requiredKeys: ['opcode', 'length', 'data'] },
      ),
      close: fc.record({ code: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }), reason: text }),
      rtt: fc.double(),
      violations: fc.array(violation, { maxLength: 3 }),
      reconstructed: fc.constant(true as const),
      by: fc.constant('framescope' as const),
      intervention: fc.record(
        {
          id: fc.integer({ min: 1, max: 1e9 }),
          decision: fc.constantFrom('forwarded' as const, 'replaced' as const, 'dropped' as const, 'delayed' as const, 'closed' as const, 'undelivered' as const),
          injected: fc.constant(true as const),
          recompressed: fc.constant(true as const),
        },
        { requiredKeys: ['id'] },
      ),
    },
    { requiredKeys: ['event', 'connection', 'seq', 'time', 'from', 'fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'masked', 'maskKey', 'length', 'header', 'payload'] },
  )
  .map((f) => f as EngineEvent);

const safe = fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)));
const headers = fc.array(fc.tuple(fc.string(), text), { maxLength: 4 });
const otherArb: fc.Arbitrary<EngineEvent> = fc.oneof(
  fc.record({
    event: fc.constant('open' as const),
    connection: id,
    mode: fc.constantFrom('client' as const, 'proxy' as const),
    url: fc.webUrl(),
    client: fc.option(fc.string(), { nil: null }),
    server: fc.option(fc.string(), { nil: null }),
    startedAt: safe,
  }),
  fc.record({
    event: fc.constant('handshake' as const),
    connection: id,
    request: fc.record({ method: fc.constant('GET'), target: fc.string(), version: fc.constant('HTTP/1.1'), headers }),
    response: fc.option(fc.record({ version: fc.constant('HTTP/1.1'), status: fc.integer({ min: 100, max: 599 }), reason: text, headers }), { nil: null }),
    requestAt: safe,
    responseAt: fc.option(safe, { nil: null }),
    accept: fc.record({ key: fc.string(), expected: fc.string(), received: fc.option(fc.string(), { nil: null }), valid: fc.boolean() }),
    protocol: fc.option(fc.string(), { nil: null }),
    extensions: fc.array(fc.record({ name: fc.string(), params: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant(true as const))) }), { maxLength: 2 }),
    checks: fc.array(fc.record({ id: fc.string(), ok: fc.boolean(), detail: text }), { maxLength: 3 }),
  }),
  fc.record(
    {
      event: fc.constant('close' as const),
      connection: id,
      code: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
      reason: text,
      by: fc.constantFrom('client' as const, 'server' as const, 'transport' as const),
      clean: fc.boolean(),
      endedAt: safe,
      reconstructed: fc.constant(true as const),
    },
    { requiredKeys: ['event', 'connection', 'code', 'reason', 'by', 'clean'] },
  ),
  fc.record(
    {
      event: fc.constant('error' as const),
      connection: id,
      kind: fc.constantFrom('network' as const, 'tls' as const, 'handshake' as const, 'protocol' as const, 'timeout' as const, 'usage' as const),
      message: text,
      closeCode: fc.integer({ min: 0, max: 65535 }),
    },
    { requiredKeys: ['event', 'connection', 'kind', 'message'] },
  ),
);

describe('EventLog: every event comes back as it went in', () => {
  it('random frames (every flag, opcode, mask, message, close, rtt, violations, by, intervention; payloads 0 B to 300 KiB) and other events, before and after the write', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 3, arbitrary: frameArb }, { weight: 1, arbitrary: otherArb }), { minLength: 1, maxLength: 25 }), (events) => {
        const path = fresh();
        const log = new EventLog(path);
        try {
          const positions = events.map((e) => log.append(e));
          // Not written yet (this turn): read back from what is held.
          expect(log.written).toBe(0);
          positions.forEach((p, i) => expect(plain(log.read(p))).toEqual(plain(events[i])));
          log.flush();
          expect(log.written).toBe(events.length);
          positions.forEach((p, i) => expect(plain(log.read(p))).toEqual(plain(events[i])));
          const { events: back, warnings } = scan(path);
          expect(warnings).toEqual([]);
          expect(back.map((b) => b.position)).toEqual(positions);
          expect(plain(back.map((b) => b.event))).toEqual(plain(events));
        } finally {
          log.close();
          rmSync(path);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('writes once a turn by itself, and a full staging buffer early; the file is private (0600)', async () => {
    const path = fresh();
    const log = new EventLog(path);
    const events = Array.from({ length: 60 }, (_, i) => eventAt(i));
    const positions = events.map((e) => log.append(e));
    // 60 records with two 256 KiB payloads referenced, the rest staged: nothing forced a write.
    expect(log.written).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(log.written).toBe(60);
    // Enough small records to fill the 1 MiB staging buffer within one turn.
    const small = Array.from({ length: 12_000 }, (_, i) => eventAt(1 + (i % 5)));
    for (const e of small) log.append(e);
    expect(log.written).toBeGreaterThan(60);
    log.close();
    const back = new Map(scan(path).events.map((e) => [e.position, e.event]));
    positions.forEach((p, i) => expect(plain(back.get(p))).toEqual(plain(events[i])));
    expect(scan(path).events).toHaveLength(60 + small.length);
    expect(execFileSync('stat', ['-c', '%a', path], { encoding: 'utf8' }).trim()).toBe('600');
  });

  it('records that come turn after turn are written together, not with a write each turn', async () => {
    const path = fresh();
    let writes = 0;
    const write: WriteFn = (fd, pieces, position) => {
      writes++;
      return writeSync(fd, Buffer.concat(pieces), 0, undefined, position);
    };
    const log = new EventLog(path, { write });
    const headerWrites = writes;
    const events = Array.from({ length: 200 }, (_, i) => eventAt(i % 6));
    const started = performance.now();
    for (const e of events) {
      log.append(e);
      await new Promise((r) => setImmediate(r));
    }
    const elapsed = performance.now() - started;
    // A write after a quiet spell, then at most one every 16 ms (a write a turn was 200).
    expect(writes - headerWrites).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 16));
    await new Promise((r) => setTimeout(r, 20));
    expect(log.written).toBe(events.length);
    log.close();
    expect(plain(scan(path).events.map((e) => e.event))).toEqual(plain(events));
  });

  it('append continues an existing log; a file that is not a log is not appended to', () => {
    const path = fresh();
    const a = new EventLog(path);
    a.append(eventAt(0));
    a.append(eventAt(1));
    a.close();
    const b = new EventLog(path, { append: true });
    const p = b.append(eventAt(2));
    expect(plain(b.read(p))).toEqual(plain(eventAt(2)));
    b.close();
    expect(plain(scan(path).events.map((e) => e.event))).toEqual(plain([0, 1, 2].map(eventAt)));
    // A log killed while writing a large frame: its cut record would read as whole with the
    // appended records as its payload. Appending starts after the last whole record instead.
    const cut = fresh();
    const c = new EventLog(cut);
    c.append(eventAt(0));
    const large = c.append(eventAt(7));
    c.close();
    truncateSync(cut, large + 20 + 100 + 1000);
    const d = new EventLog(cut, { append: true });
    d.append(eventAt(1));
    d.append(eventAt(2));
    d.close();
    const again = scan(cut);
    expect(again.warnings).toEqual([]);
    expect(plain(again.events.map((e) => e.event))).toEqual(plain([0, 1, 2].map(eventAt)));
    const json = fresh();
    writeFileSync(json, '{"format":"framescope.capture"}');
    expect(() => new EventLog(json, { append: true })).toThrow(/not a Framescope event log, so it cannot be appended to/);
    expect(readFileSync(json, 'utf8')).toBe('{"format":"framescope.capture"}');
  });
});


describe('reading a damaged log: a damaged record costs only itself', () => {
  /** A log of an open, eight frames (one of 100 KiB) and a close; with every record's position. */
  function sample(): { path: string; events: EngineEvent[]; positions: number[] } {
    const path = fresh();
    const events: EngineEvent[] = [eventAt(0), ...Array.from({ length: 8 }, (_, i) => eventAt(i + 1))];
    (events[3] as { payload: Uint8Array }).payload = bytes(100 * 1024, 3);
    events.push({ event: 'close', connection: 'k1', code: 1000, reason: 'bye', by: 'client', clean: true, endedAt: 2000 });
    const log = new EventLog(path);
    const positions = events.map((e) => log.append(e));
    log.close();
    return { path, events, positions };
  }
  function poke(path: string, at: number, f: (b: number) => number): void {
    const buf = readFileSync(path);
    buf[at] = f(buf[at]!);
    writeFileSync(path, buf);
  }
  const flip = (b: number): number => b ^ 0x40;
  const except = <T,>(list: T[], ...gone: number[]): T[] => list.filter((_, i) => !gone.includes(i));

  it('a flipped byte in a record header, in a frame\'s fields, in an event\'s JSON, a bad magic, an impossible length: each loses that record alone, named by its offset', () => {
    const cases: Array<{ what: string; record: number; offset: number; why: RegExp }> = [
      { what: 'body length', record: 2, offset: 9, why: /the record check failed|impossible record length/ },
      { what: 'kind', record: 4, offset: 4, why: /the record check failed/ },
      { what: 'seq', record: 5, offset: 20 + 17, why: /the record check failed/ },
      { what: 'connection id', record: 6, offset: 20 + 76, why: /the record check failed/ },
      { what: 'JSON text', record: 0, offset: 20 + 3, why: /the record check failed/ },
      { what: 'magic', record: 7, offset: 1, why: /no record starts here \(bad magic\)/ },
    ];
    for (const c of cases) {
      const { path, events, positions } = sample();
      poke(path, positions[c.record]! + c.offset, flip);
      const { events: back, warnings } = scan(path);
      expect(plain(back.map((b) => b.event)), c.what).toEqual(plain(except(events, c.record)));
      expect(warnings, c.what).toHaveLength(1);
      expect(warnings[0], c.what).toMatch(new RegExp(`: 1 damaged record was skipped \\(at byte ${positions[c.record]}: (${c.why.source}), ${positions[c.record + 1]! - positions[c.record]!} bytes skipped\\); everything else was read$`));
    }
    // A length made impossible (past any body), also when it is not covered by the check.
    const { path, events, positions } = sample();
    const buf = readFileSync(path);
    buf.writeUInt32LE(0xfffffff0, positions[3]! + 8);
    writeFileSync(path, buf);
    const { events: back, warnings } = scan(path);
    expect(plain(back.map((b) => b.event))).toEqual(plain(except(events, 3)));
    expect(warnings[0]).toContain(`at byte ${positions[3]}: impossible record length`);
  });

  it('damage in several records: each named, up to three, the rest counted; all lost → an error naming the first', () => {
    const { path, events, positions } = sample();
    for (const r of [1, 3, 5, 8]) poke(path, positions[r]! + 20 + 30, flip);
    const { events: back, warnings } = scan(path);
    expect(plain(back.map((b) => b.event))).toEqual(plain(except(events, 1, 3, 5, 8)));
    expect(warnings).toEqual([
      `${path}: 4 damaged records were skipped (at byte ${positions[1]}: the record check failed, ${positions[2]! - positions[1]!} bytes skipped; at byte ${positions[3]}: the record check failed, ${positions[4]! - positions[3]!} bytes skipped; at byte ${positions[5]}: the record check failed, ${positions[6]! - positions[5]!} bytes skipped; and 1 more); everything else was read`,
    ]);
    // Damaged records in a row are one damaged stretch, named once at its start.
    const run = sample();
    for (const r of [1, 2]) poke(run.path, run.positions[r]! + 20 + 30, flip);
    const inRow = scan(run.path);
    expect(plain(inRow.events.map((b) => b.event))).toEqual(plain(except(run.events, 1, 2)));
    expect(inRow.warnings).toEqual([
      `${run.path}: 1 damaged record was skipped (at byte ${run.positions[1]}: the record check failed, ${run.positions[3]! - run.positions[1]!} bytes skipped); everything else was read`,
    ]);
    const one = fresh();
    const log = new EventLog(one);
    log.append(eventAt(1));
    log.close();
    poke(one, 8 + 30, flip);
    expect(() => scan(one)).toThrow(CaptureFormatError);
    expect(() => scan(one)).toThrow(`${one}: the record check failed; nothing readable follows at byte 8`);
  });

  it('a damaged last record that is whole is named as damage, not as a cut', () => {
    const { path, events, positions } = sample();
    poke(path, positions[9]! + 20 + 2, flip);
    const { events: back, warnings } = scan(path);
    expect(plain(back.map((b) => b.event))).toEqual(plain(events.slice(0, 9)));
    expect(warnings[0]).toContain(`at byte ${positions[9]}: the record check failed; nothing readable follows`);
  });

  it("a payload byte is not checked (it costs nothing to write): it reads back as it is, and the rest is whole", () => {
    const { path, events, positions } = sample();
    const frame = events[3] as Extract<EngineEvent, { event: 'frame' }>;
    // The payload starts after the fixed fields, id, header and mask key.
    const at = positions[3]! + 20 + 76 + 2 + 2 + (frame.maskKey ? 4 : 0) + 500;
    poke(path, at, flip);
    const { events: back, warnings } = scan(path);
    expect(warnings).toEqual([]);
    const got = back[3]!.event as Extract<EngineEvent, { event: 'frame' }>;
    expect(got.payload[500]).toBe(frame.payload[500]! ^ 0x40);
    expect(plain(back.map((b) => b.event))).toEqual(plain(events.map((e, i) => (i === 3 ? got : e))));
  });

  it('a cut last record (killed mid-write) is dropped with a warning naming where it starts; cut in its header too', () => {
    for (const keep of [1, 19, 20, 60, 20 + 76 + 5]) {
      const { path, events, positions } = sample();
      truncateSync(path, positions[9]! + keep);
      const { events: back, warnings } = scan(path);
      expect(plain(back.map((b) => b.event))).toEqual(plain(events.slice(0, 9)));
      expect(warnings).toEqual([
        `${path}: the last record is cut off (the log was being written when the process ended or the disk filled); its ${keep} bytes were dropped (at byte ${positions[9]})`,
      ]);
    }
    // Cut inside a large payload.
    const { path, events, positions } = sample();
    truncateSync(path, positions[3]! + 50_000);
    const { events: back, warnings } = scan(path);
    expect(plain(back.map((b) => b.event))).toEqual(plain(events.slice(0, 3)));
    expect(warnings[0]).toMatch(/the last record is cut off/);
  });

  it('a file that is not a log: a clear error; a log of only its file header: no events', () => {
    const p = fresh();
    writeFileSync(p, '{"event":"open","connection":"a"}\n');
    expect(() => scan(p)).toThrow(`${p}: not a Framescope event log (it does not start with the log's file header)`);
    writeFileSync(p, '');
    expect(() => scan(p)).toThrow(`${p}: the file is empty`);
    writeFileSync(p, Buffer.from([0x89, 0x46, 0x53, 0x4c, 0x4f, 0x47, 0x0a, 9]));
    expect(() => scan(p)).toThrow(`${p}: event log version 9 is newer than this Framescope reads (1)`);
    const empty = fresh();
    new EventLog(empty).close();
    expect(scan(empty)).toEqual({ events: [], warnings: [] });
    expect(openLog(empty).connections).toEqual([]);
  });

  it('isEventLog tells a log from JSON, NDJSON, HAR and pcapng by its first bytes', () => {
    const { path } = sample();
    expect(isEventLog(readFileSync(path).subarray(0, 16))).toBe(true);
    expect(isEventLog(readFileSync(path).subarray(0, 7))).toBe(true);
    for (const other of ['{"format":"framescope.capture"', '{"event":"open"}\n', '{"log":{"version":"1.2"', '\n\r\r\n', '', '\x89FSLO']) expect(isEventLog(Buffer.from(other, 'latin1'))).toBe(false);
  });
});

describe('openLog: connections rebuilt from the events, frames read back one at a time', () => {
  const hs = (host: string): EngineEvent => ({
    event: 'handshake',
    connection: 'g1',
    request: { method: 'GET', target: '/chat', version: 'HTTP/1.1', headers: [['Host', host]] },
    response: { version: 'HTTP/1.1', status: 101, reason: 'Switching Protocols', headers: [] },
    requestAt: 5,
    responseAt: 6,
    accept: { key: 'k', expected: 'e', received: 'e', valid: true },
    protocol: null,
    extensions: [],
    checks: [],
  });
  const frame = (connection: string, seq: number, time: number): EngineEvent => ({ ...(eventAt(seq + 1) as Extract<EngineEvent, { event: 'frame' }>), connection, seq, time });
  const strip = (e: EngineEvent): FrameRecord => {
    const { event: _e, connection: _c, ...f } = e as Extract<EngineEvent, { event: 'frame' }>;
    return f;
  };

  it('interleaved connections, an error, a close, a connection that never closed, one never opened, one opened twice; a cut last record', () => {
    const path = fresh();
    const log = new EventLog(path);
    const p1Frames = [frame('p1', 0, 10), frame('p1', 1, 11), frame('p1', 6, 12)];
    const events: EngineEvent[] = [
      { event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://a/', client: '127.0.0.1:1', server: '127.0.0.1:2', startedAt: 9, tls: null },
      { event: 'open', connection: 'p2', mode: 'client', url: 'ws://b/', client: null, server: null, startedAt: 9.5 },
      p1Frames[0]!,
      frame('p2', 0, 10.5),
      hs('example.test:8080'),
      frame('g1', 0, 7),
      p1Frames[1]!,
      { event: 'error', connection: 'p1', kind: 'protocol', message: 'something odd' },
      p1Frames[2]!,
      { event: 'close', connection: 'p1', code: 1000, reason: '', by: 'client', clean: true },
      { event: 'close', connection: 'g1', code: 1001, reason: 'away', by: 'server', clean: true, endedAt: 99 },
      { event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://a/again', client: null, server: null, startedAt: 50 },
      frame('p1', 0, 51),
    ];
    for (const e of events) log.append(e);
    log.append(frame('p2', 1, 60));
    log.close();
    truncateSync(path, readFileSync(path).length - 10);

    const s = openLog(path, { createdAt: '2024-01-01T00:00:00.000Z' });
    try {
      expect(s.kind).toBe('journal');
      expect(s.createdAt).toBe('2024-01-01T00:00:00.000Z');
      expect(s.warnings).toEqual([expect.stringMatching(/the last record is cut off .* \(at byte \d+\)$/)]);
      expect(s.connections.map((c) => [c.head.id, c.head.url, c.frameCount])).toEqual([
        ['p1', 'ws://a/', 3],
        ['p2', 'ws://b/', 1],
        ['g1', 'ws://example.test:8080/chat', 1],
        ['p1', 'ws://a/again', 1],
      ]);
      const [p1, p2, g1, again] = s.connections.map((c) => c.head);
      expect(p1).toMatchObject({ mode: 'proxy', client: '127.0.0.1:1', errors: ['something odd'], close: { code: 1000, reason: '', by: 'client', clean: true }, endedAt: 12 });
      expect(p2!.close).toBeNull();
      expect(p2!.endedAt).toBeNull();
      expect(p2!.errors).toEqual([`the journal ${path} ends before this connection closed (the process ended while it was open)`]);
      expect(g1!.errors).toEqual([
        `recovered from the journal ${path}, which has no "open" event for this connection: mode and addresses are unknown, the URL is rebuilt from the handshake (ws:// assumed)`,
      ]);
      const { event: _e, connection: _c, ...handshake } = hs('example.test:8080') as Extract<EngineEvent, { event: 'handshake' }>;
      expect(g1).toMatchObject({ mode: 'client', startedAt: 5, endedAt: 99, handshake });
      expect(again!.errors).toEqual([expect.stringMatching(/ends before this connection closed/)]);
      expect(plain([...s.frames(0)])).toEqual(plain(p1Frames.map(strip)));
      expect(plain([...s.frames(1)])).toEqual(plain([strip(frame('p2', 0, 10.5))]));
      // Each call starts afresh.
      expect(plain([...s.frames(0)])).toEqual(plain(p1Frames.map(strip)));
    } finally {
      s.close();
    }
  });

  it('200,000 small frames: the index keeps positions, no payload; frames read back one at a time', () => {
    const path = fresh();
    const log = new EventLog(path);
    log.append(eventAt(0));
    const f = eventAt(1) as Extract<EngineEvent, { event: 'frame' }>;
    const n = 200_000;
    for (let i = 0; i < n; i++) log.append({ ...f, seq: i, payload: bytes(40, i) });
    log.close();
    const s = openLog(path);
    try {
      expect(s.connections[0]!.frameCount).toBe(n);
      let count = 0;
      for (const got of s.frames(0)) {
        if (count % 9973 === 0) expect(got).toEqual({ ...strip(f), seq: count, payload: bytes(40, count) });
        count++;
      }
      expect(count).toBe(n);
    } finally {
      s.close();
    }
  });
});

describe('a full disk: one policy', () => {
  /** A write to a disk that fills up after `room` bytes: the crossing write writes what fits, the next one fails. */
  function fillingDisk(room: number, code = 'ENOSPC'): WriteFn & { calls: number } {
    let used = 0;
    const fn = Object.assign(
      (fd: number, pieces: readonly Uint8Array[], position: number): number => {
        fn.calls++;
        if (used >= room) throw Object.assign(new Error(`${code}: no space left on device, write`), { code, syscall: 'write' });
        let total = 0;
        for (const p of pieces) {
          const fits = Math.min(p.length, room - used);
          if (fits > 0) writeSync(fd, p, 0, fits, position + total);
          used += fits;
          total += fits;
          if (fits < p.length) break;
        }
        return total;
      },
      { calls: 0 },
    );
    return fn;
  }

  it('keeps what is in the file, then records in memory, then frames without their bytes; read() across all; told once', () => {
    const path = fresh();
    const failures: NodeJS.ErrnoException[] = [];
    const write = fillingDisk(600 * 1024);
    const log = new EventLog(path, { write, onFailure: (e) => failures.push(e), memoryLimit: 1024 * 1024 });
    const events = Array.from({ length: 200 }, (_, i) => eventAt(i));
    events.push({ event: 'close', connection: 'k1', code: 1000, reason: '', by: 'server', clean: true });
    const positions: number[] = [];
    events.forEach((e, i) => {
      positions.push(log.append(e));
      if (i % 10 === 9) log.flush();
    });
    log.flush();
    expect(failures.map((e) => e.code)).toEqual(['ENOSPC']);
    expect(log.failure?.code).toBe('ENOSPC');
    expect(log.written).toBeGreaterThan(0);
    expect(log.written + log.inMemory).toBe(events.length);
    expect(log.stripped).toBeGreaterThan(0);
    expect(log.lost).toBe(0);
    let stripped = 0;
    positions.forEach((p, i) => {
      const got = log.read(p);
      const want = events[i]!;
      if (got.event === 'frame' && got.truncated && want.event === 'frame' && !want.truncated) {
        stripped++;
        // Fields and counts survive; the bytes are gone, and it says so.
        expect(plain(got)).toEqual(plain({ ...want, payload: new Uint8Array(0), truncated: true, stored: 0, message: { ...want.message!, data: new Uint8Array(0), truncated: true } }));
        expect(i).toBeGreaterThanOrEqual(log.written);
      } else expect(plain(got)).toEqual(plain(want));
    });
    expect(stripped).toBe(log.stripped);
    // Once failed, the disk is not tried again.
    const calls = write.calls;
    log.append(eventAt(1));
    log.flush();
    expect(write.calls).toBe(calls);
    // The file holds the records written, whole (the partly written one was cut away).
    const { events: back, warnings } = scan(path);
    expect(warnings).toEqual([]);
    expect(plain(back.map((b) => b.event))).toEqual(plain(events.slice(0, log.written)));
    log.close();
  });

  it('a disk full before the file header: everything in memory', () => {
    const path = fresh();
    const failures: string[] = [];
    const log = new EventLog(path, { write: fillingDisk(0, 'EDQUOT'), onFailure: (e) => failures.push(e.code!) });
    const p = [eventAt(0), eventAt(7)].map((e) => log.append(e));
    log.flush();
    expect(failures).toEqual(['EDQUOT']);
    expect(plain(log.read(p[0]!))).toEqual(plain(eventAt(0)));
    expect(plain(log.read(p[1]!))).toEqual(plain(eventAt(7)));
    expect(log.written).toBe(0);
    log.close();
  });

  it('a real file size limit (ulimit -f): EFBIG, the recording goes on in memory, the file reads back whole', () => {
    const path = fresh();
    const n = 120;
    const out = execFileSync('bash', ['-c', 'ulimit -f 1024 && exec "$@"', 'bash', process.execPath, '--import', 'tsx', 'test/recording/log-child.ts', 'full', path, String(n)], { encoding: 'utf8' });
    const r = JSON.parse(out) as { failures: string[]; written: number; inMemory: number; stripped: number; lost: number; same: number; strippedRead: number };
    expect(r.failures).toEqual(['EFBIG']);
    expect(r.written).toBeGreaterThan(0);
    expect(r.written + r.inMemory).toBe(n);
    expect(r.lost).toBe(0);
    // Past the 2 MiB memory limit the large frames lose their bytes, and only those.
    expect(r.stripped).toBeGreaterThan(0);
    expect(r.same + r.strippedRead).toBe(n);
    expect(r.strippedRead).toBe(r.stripped);
    const { events, warnings } = scan(path);
    expect(warnings).toEqual([]);
    expect(plain(events.map((e) => e.event))).toEqual(plain(Array.from({ length: r.written }, (_, i) => eventAt(i))));
    expect(readFileSync(path).length).toBeLessThanOrEqual(1024 * 1024);
  });
});
