// Reading captures back (issue 4): capture v1 losslessly and in any JSON layout, one clear
// error naming what and where for a bad file, and journal recovery after a crash.
import { captureFromJson, captureToJson, eventToJson } from '../../shared/records';
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFile, CaptureFileJson, EngineEvent, EngineEventJson } from '../../shared/model';
import { writeCaptureFile } from '../../main/engine/recording/capture-writer';
import { CaptureFormatError, openCapture, readCapture } from '../../main/engine/recording/capture-reader';
import { exportCapture } from '../../main/engine/recording/export';
import { materialize } from '../../main/engine/recording/capture-source';
import { bufferSource, JsonCursor } from '../../main/engine/recording/json-cursor';
import { capture, closePayload, connection, frame, u8 } from './build';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-captures-'));
  dirs.push(d);
  return d;
}

/** A capture with the odd parts of the contract: TLS, violations, a truncated payload, messages, rtt. */
function sample(): CaptureFile {
  const t = 1_795_000_000_000.125;
  return capture([
    connection({
      id: 'c1',
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', servername: 'example.test', authorized: false, authorizationError: 'SELF_SIGNED', peerCertificate: { subject: 'CN=x', issuer: 'CN=x', validTo: 'never', fingerprint256: 'AB:CD' } },
      url: 'wss://example.test:9443/ünïcode?q=1',
      frames: [
        frame({ seq: 0, time: t, from: 'client', opcode: 1, payload: 'héllo "quoted" \\ \n' }),
        frame({ seq: 1, time: t + 0.5, from: 'server', opcode: 2, payload: Buffer.from([0, 255, 1, 2]) }),
        frame({ seq: 2, time: t + 1.25, from: 'server', opcode: 1, fin: false, payload: 'frag-' }),
        frame({ seq: 3, time: t + 1.5, from: 'server', opcode: 9, payload: 'p' }),
        frame({ seq: 4, time: t + 2, from: 'server', opcode: 0, payload: 'ment', extra: { message: { opcode: 1, length: 9, data: u8(Buffer.from('frag-ment')) } } }),
        frame({ seq: 5, time: t + 2.5, from: 'client', opcode: 10, payload: 'p', extra: { rtt: 1.001 } }),
        frame({ seq: 6, time: t + 3, from: 'server', opcode: 2, payload: Buffer.alloc(300, 7), stored: 100 }),
        frame({
          seq: 7,
          time: t + 4,
          from: 'server',
          opcode: 3,
          payload: 'x',
          extra: { violations: [{ id: 'reserved-opcode', rfc: '6455 §5.2', severity: 'error', message: 'opcode 3 is reserved' }] },
        }),
        frame({ seq: 8, time: t + 5, from: 'client', opcode: 8, payload: closePayload(1000, 'bye') }),
      ],
      errors: ['something odd happened'],
    }),
    connection({ id: 'c2', frames: [], handshake: null, close: null, endedAt: null, errors: ['connect ECONNREFUSED 127.0.0.1:9'] }),
  ]);
}

describe('capture v1 round trip', () => {
  it('capture → import → export json is the same file, byte for byte', () => {
    const d = tmp();
    const original = join(d, 'original.wscap.json');
    writeCaptureFile(original, sample().connections, sample().createdAt);
    const again = join(d, 'again.wscap.json');
    const source = openCapture(original);
    try {
      expect(source.kind).toBe('capture');
      expect(source.connections.map((c) => c.frameCount)).toEqual([9, 0]);
      exportCapture(source, 'json', again);
    } finally {
      source.close();
    }
    // Byte-identical: the writer is the same, key order comes back as read, and JSON
    // numbers and strings written by JSON.stringify survive JSON.parse → stringify exactly.
    expect(readFileSync(again)).toEqual(readFileSync(original));
  });

  it('reads any JSON layout (pretty-printed, CRLF, a BOM, keys reordered) to the same records', () => {
    const d = tmp();
    const cap = sample();
    // frames before the other fields, createdAt last: still the same capture
    const reordered = {
      connections: captureToJson(cap).connections.map(({ frames, ...rest }) => ({ frames, ...rest })),
      version: 1,
      format: 'framescope.capture',
      createdAt: cap.createdAt,
    };
    const pretty = join(d, 'pretty.json');
    writeFileSync(pretty, '\ufeff' + JSON.stringify(reordered, null, 2).replace(/\n/g, '\r\n'));
    // Identical after JSON parse (not byte for byte: our writer's layout is one frame a line).
    expect(readCapture(pretty)).toEqual(cap);
    const out = join(d, 'out.json');
    const source = openCapture(pretty);
    exportCapture(source, 'json', out);
    source.close();
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(captureToJson(cap));
  });

  it('the cursor finds value boundaries across chunk edges and escaped quotes', () => {
    const doc = JSON.stringify({ a: ['x\\"y', { b: '\\\\', c: [1, 2.5e3, true, null] }], d: 'é'.repeat(50) });
    for (const chunk of [1, 2, 3, 7, 64]) {
      const cur = new JsonCursor(bufferSource(Buffer.from(doc)), 0, { chunk });
      cur.beginObject();
      const seen: Record<string, unknown> = {};
      for (let k = cur.nextKey(); k !== null; k = cur.nextKey()) seen[k] = cur.parseValue();
      cur.end();
      expect(seen).toEqual(JSON.parse(doc));
    }
  });
});

describe('bad capture files: one error naming what and where', () => {
  function errorOf(text: string): CaptureFormatError {
    const d = tmp();
    const p = join(d, 'bad.json');
    writeFileSync(p, text);
    try {
      const s = openCapture(p);
      try {
        s.connections.forEach((_, i) => [...s.frames(i)]);
      } finally {
        s.close();
      }
    } catch (err) {
      expect(err).toBeInstanceOf(CaptureFormatError);
      return err as CaptureFormatError;
    }
    throw new Error('no error');
  }
  const sampleJson = () => captureToJson(sample());
  const good = () => JSON.stringify(sampleJson());

  it('a frame field of the wrong kind', () => {
    const cap = sampleJson();
    (cap.connections[0]!.frames[4] as unknown as Record<string, unknown>)['opcode'] = 16;
    const e = errorOf(JSON.stringify(cap));
    expect(e.what).toBe('"opcode" must be an integer 0-15');
    expect(e.where).toBe('connections[0].frames[4]');
    expect(e.message).toMatch(/bad\.json: "opcode" must be an integer 0-15 at connections\[0\]\.frames\[4\]$/);
  });

  it('a header that disagrees with the fields, a payload of the wrong size, bad base64', () => {
    const a = sampleJson();
    a.connections[0]!.frames[1]!.fin = false;
    expect(errorOf(JSON.stringify(a)).what).toMatch(/"header" disagrees/);
    const b = sampleJson();
    b.connections[0]!.frames[0]!.payload = 'AAAA';
    expect(errorOf(JSON.stringify(b))).toMatchObject({ what: expect.stringMatching(/"payload" holds 3 bytes but "length" is/), where: 'connections[0].frames[0]' });
    const c = sampleJson();
    c.connections[0]!.frames[2]!.payload = 'not base64!';
    expect(errorOf(JSON.stringify(c)).what).toBe('"payload" is not valid base64');
  });

  it('a connection field of the wrong kind, with its path', () => {
    const cap = sampleJson() as unknown as { connections: Array<{ handshake: { request: { headers: unknown[] } } }> };
    cap.connections[0]!.handshake.request.headers[1] = ['Upgrade'];
    const e = errorOf(JSON.stringify(cap));
    expect(e.where).toBe('connections[0].handshake.request');
    expect(e.what).toBe('"headers[1]" must be a [name, value] pair of strings');
  });

  it('not JSON, truncated, wrong format or version', () => {
    expect(errorOf('hello').what).toMatch(/^neither JSON nor a packet capture: .* starts with 'h'/);
    const cut = good().slice(0, 900);
    const t = errorOf(cut);
    expect(t.what).toBe('the file ends too early (truncated?)');
    expect(t.where).toMatch(/^connections\[0\].*line 1, column \d+$/);
    const broken = good().replace('"fin":true', '"fin":tru');
    expect(errorOf(broken).what).toMatch(/^not valid JSON/);
    expect(errorOf(good().replace('"version":1', '"version":2')).what).toBe('capture version 2 is newer than this Framescope reads (1)');
    expect(errorOf('{"format":"x","connections":[]}').what).toMatch(/"format" must be "framescope.capture"/);
    expect(errorOf('{"something":1}').what).toMatch(/neither a Framescope capture/);
    expect(errorOf('').what).toBe('the file is empty');
  });
});

describe('journal recovery (FILE.journal after a crash)', () => {
  function journalOf(events: Array<EngineEvent | Record<string, unknown>>): string {
    return events.map((e) => JSON.stringify('event' in e && e.event === 'frame' ? eventToJson(e as EngineEvent) : e)).join('\n') + '\n';
  }
  const cap = sample();
  const c1 = cap.connections[0]!;
  const { frames: _f, handshake, close, ...rest } = c1;

  it('rebuilds connections from interleaved events and tolerates a cut-off last line', () => {
    const d = tmp();
    const p = join(d, 'session.wscap.json.journal');
    const events = [
      { event: 'open', connection: 'p1', mode: 'proxy', url: rest.url, client: rest.client, server: rest.server, startedAt: rest.startedAt, tls: rest.tls },
      { event: 'handshake', connection: 'p1', ...handshake! },
      { event: 'open', connection: 'p2', mode: 'proxy', url: 'ws://127.0.0.1:1/two', client: '127.0.0.1:2', server: '127.0.0.1:1', startedAt: rest.startedAt + 1 },
      ...c1.frames.slice(0, 4).map((f) => ({ event: 'frame', connection: 'p1', ...f })),
      { event: 'frame', connection: 'p2', ...c1.frames[1]! },
      ...c1.frames.slice(4).map((f) => ({ event: 'frame', connection: 'p1', ...f })),
      { event: 'error', connection: 'p1', kind: 'protocol', message: 'something odd happened' },
      { event: 'close', connection: 'p1', ...close! },
    ];
    writeFileSync(p, journalOf(events));
    // The crash: half a frame event, no newline.
    appendFileSync(p, JSON.stringify({ event: 'frame', connection: 'p2', ...c1.frames[0]! }).slice(0, 70));

    const source = openCapture(p);
    try {
      expect(source.kind).toBe('journal');
      expect(source.warnings).toEqual([expect.stringMatching(/the last line is cut off .*\(line 16\)$/)]);
      const out = join(d, 'recovered.json');
      exportCapture(source, 'json', out);
      const got = captureFromJson(JSON.parse(readFileSync(out, 'utf8')) as CaptureFileJson);
      expect(got.connections.map((c) => c.id)).toEqual(['p1', 'p2']);
      const p1 = got.connections[0]!;
      expect(p1.frames).toEqual(c1.frames);
      expect(p1.handshake).toEqual(handshake);
      expect(p1.close).toEqual(close);
      expect(p1.errors).toEqual(['something odd happened']);
      expect(p1.mode).toBe('proxy');
      expect(p1.tls).toEqual(c1.tls);
      const p2 = got.connections[1]!;
      expect(p2.frames).toEqual([c1.frames[1]]);
      expect(p2.close).toBeNull();
      expect(p2.endedAt).toBeNull();
      expect(p2.errors).toEqual([expect.stringMatching(/ends before this connection closed/)]);
    } finally {
      source.close();
    }
  });

  it('ndjson export → import as a journal gives the capture back (but createdAt, which a stream has not)', () => {
    const d = tmp();
    const original = join(d, 'c.json');
    writeCaptureFile(original, cap.connections, cap.createdAt);
    const s1 = openCapture(original);
    exportCapture(s1, 'ndjson', join(d, 'c.ndjson'));
    s1.close();
    const lines = readFileSync(join(d, 'c.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EngineEventJson);
    // interleaved by time across connections, each connection's events in order
    expect(lines.map((e) => `${e.event}:${e.connection}`).slice(0, 4)).toEqual(['open:c2', 'error:c2', 'open:c1', 'handshake:c1']);
    expect(lines.filter((e) => e.event === 'error').map((e) => (e as { kind: string }).kind)).toEqual(['network', 'protocol']);
    const back = readCapture(join(d, 'c.ndjson'));
    // Connections come back in the order they opened; c2 never closed in the capture, so
    // recovery notes that; otherwise the same records.
    expect(back.connections.map((c) => c.id)).toEqual(['c2', 'c1']);
    back.connections[0]!.errors = back.connections[0]!.errors.filter((e) => !/ends before/.test(e));
    expect([back.connections[1], back.connections[0]]).toEqual(cap.connections);
  });

  it('bad lines in the middle are skipped with a warning naming them; the rest is read', () => {
    const d = tmp();
    const p = join(d, 'bad.journal');
    const openA = { event: 'open', connection: 'a', mode: 'proxy', url: 'ws://x/', client: null, server: null, startedAt: 1 };
    const closeA = { event: 'close', connection: 'a', code: 1000, reason: '', by: 'client', clean: true };
    const bad = [
      '{oops',
      JSON.stringify({ event: 'frame', connection: 'a', ...c1.frames[0]!, opcode: 99 }),
      '[1]',
      JSON.stringify({ event: 'frame', connection: 'a', ...c1.frames[0]!, seq: 'x' }),
    ];
    writeFileSync(p, journalOf([openA]) + bad[0] + '\n' + journalOf([{ event: 'frame', connection: 'a', ...c1.frames[0]! }]) + bad.slice(1).join('\n') + '\n' + journalOf([closeA]));
    const s = openCapture(p);
    try {
      const got = materialize(s);
      expect(got.connections).toHaveLength(1);
      expect(got.connections[0]!.frames).toEqual([c1.frames[0]]);
      expect(got.connections[0]!.close).toEqual({ code: 1000, reason: '', by: 'client', clean: true });
      expect(s.warnings).toHaveLength(1);
      expect(s.warnings[0]).toMatch(/bad\.journal: 4 bad lines were skipped \(line 2: not a JSON event .*; line 4 \(a "frame" event\): "opcode" must be an integer 0-15; line 5: expected an event object; and 1 more\); everything else was read$/);
    } finally {
      s.close();
    }
    // Nothing readable at all: not a journal.
    writeFileSync(p, JSON.stringify({ event: 'frame', connection: 'a', ...c1.frames[0]!, opcode: 99 }) + '\n');
    expect(() => openCapture(p)).toThrow(/"opcode" must be an integer 0-15 at line 1 \(a "frame" event\)$/);
  });
});
