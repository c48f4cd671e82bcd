// The frame event the proxy emits is built as one literal (shared/records.ts toFrameEvent)
// rather than `{ event, connection, ...record }`: it must be that object exactly, with the
// same keys in the same order, so the NDJSON and journal bytes do not change.
import { describe, expect, it } from 'vitest';
import type { WireFrame } from '../../shared/codec/frame';
import { frameEventJsonBound, toFrameEvent, toFrameRecord, writeFrameEventJson, type FrameExtras, type FrameEvent } from '../../shared/records';
import { ConnectionRecorder } from '../../main/engine/recorder';
import type { EngineEvent } from '../../shared/model';

function wire(extra: Partial<WireFrame> = {}): WireFrame {
  const payload = extra.payload ?? new Uint8Array([104, 105]);
  return {
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: 1,
    masked: true,
    maskKey: new Uint8Array([1, 2, 3, 4]),
    length: payload.length,
    lengthEncoding: 7,
    header: new Uint8Array([0x81, 0x82, 1, 2, 3, 4]),
    payload,
    truncated: false,
    offset: 0,
    time: 1_700_000_000_000.125,
    from: 'client',
    violations: [],
    ...extra,
  };
}

const CASES: Array<[string, WireFrame, FrameExtras]> = [
  ['plain text', wire(), {}],
  ['server, unmasked, empty', wire({ from: 'server', masked: false, maskKey: null, payload: new Uint8Array(0), header: new Uint8Array([0x81, 0]) }), {}],
  ['truncated, with violations', wire({ truncated: true, length: 100, violations: [{ id: 'truncated-frame', rfc: '6455 §5.2', severity: 'error', message: 'cut' }] }), {}],
  ['compressed message', wire({ rsv1: true }), { message: { opcode: 1, data: new TextEncoder().encode('hello ✓'), frames: 1, compressed: true } }],
  ['fragmented, truncated message', wire({ opcode: 0 }), { message: { opcode: 2, data: new Uint8Array([1, 2, 3]), frames: 3, truncated: true } }],
  ['single-frame message (not repeated)', wire(), { message: { opcode: 1, data: new Uint8Array([104, 105]), frames: 1 } }],
  ['close', wire({ opcode: 8, close: { code: 4000, reason: 'bye "now"' } }), {}],
  ['pong with rtt', wire({ opcode: 10, from: 'server', masked: false, maskKey: null }), { rtt: 0.25 }],
  ['everything at once', wire({ opcode: 0, truncated: true, length: 9, close: { code: null, reason: '' }, violations: [{ id: 'x', rfc: '6455 §5.5', severity: 'warning', message: 'a "quoted"\nline' }] }), { message: { opcode: 2, data: new Uint8Array([9]), frames: 2 }, rtt: 12.5 }],
  ['large (lazy payload)', wire({ payload: new Uint8Array(70_000).fill(7), length: 70_000 }), {}],
];

describe('frame events (docs/contracts.md "Events")', () => {
  for (const [name, frame, extras] of CASES) {
    it(`toFrameEvent is { event, connection, ...toFrameRecord }: ${name}`, () => {
      const viaSpread = { event: 'frame', connection: 'p7', ...toFrameRecord(frame, 3, extras) };
      const literal = toFrameEvent('p7', frame, 3, extras);
      expect(literal).toEqual(viaSpread);
      expect(Object.keys(literal)).toEqual(Object.keys(viaSpread));
      expect(JSON.stringify(literal)).toBe(JSON.stringify(viaSpread));
    });
  }

  it('a recorder emits the same events whether it keeps frames or not', () => {
    const kept: EngineEvent[] = [];
    const streamed: EngineEvent[] = [];
    const a = new ConnectionRecorder({ id: 'p1', mode: 'proxy', url: 'ws://x/', startedAt: 0, keepFrames: true }, (e) => kept.push(e));
    const b = new ConnectionRecorder({ id: 'p1', mode: 'proxy', url: 'ws://x/', startedAt: 0, keepFrames: false }, (e) => streamed.push(e));
    for (const [, frame, extras] of CASES) {
      a.frame(frame, { message: extras.message, rtt: extras.rtt });
      b.frame(frame, { message: extras.message, rtt: extras.rtt });
    }
    expect(streamed.map((e) => JSON.stringify(e))).toEqual(kept.map((e) => JSON.stringify(e)));
    expect(a.record.frames).toHaveLength(CASES.length);
    expect(b.record.frames).toHaveLength(0);
    expect(b.frameCount).toBe(CASES.length);
  });
});

/** writeFrameEventJson into a scribbled buffer of exactly the bound, as text (null for -1). */
function written(e: FrameEvent, at = 5): string | null {
  const out = new Uint8Array(at + frameEventJsonBound(e)).fill(0xee);
  const end = writeFrameEventJson(e, out, at);
  return end < 0 ? null : new TextDecoder().decode(out.subarray(at, end));
}

describe('writeFrameEventJson (a frame event line as bytes, for the journal)', () => {
  for (const [name, frame, extras] of CASES.filter(([n]) => !n.startsWith('large'))) {
    it(`writes the UTF-8 of JSON.stringify: ${name}`, () => {
      // The connection id needs escaping; several ids in turn (it keeps the last one's bytes).
      for (const id of ['p"7', 'p1', 'ü\\n', 'p"7']) {
        const event = toFrameEvent(id, frame, 3, extras);
        expect(written(event)).toBe(JSON.stringify(event));
      }
    });
  }

  it('every sender, FIN/RSV combination, and masked with or without a key', () => {
    for (const from of ['client', 'server'] as const) {
      for (let bits = 0; bits < 16; bits++) {
        for (const [masked, maskKey] of [[true, new Uint8Array([9, 8, 7, 6])], [false, null], [true, null], [false, new Uint8Array([0, 0, 0, 1])]] as const) {
          const frame = wire({ from, fin: (bits & 8) !== 0, rsv1: (bits & 4) !== 0, rsv2: (bits & 2) !== 0, rsv3: (bits & 1) !== 0, masked, maskKey });
          const event = toFrameEvent('p2', frame, bits, {});
          expect(written(event)).toBe(JSON.stringify(event));
        }
      }
    }
  });

  it('any numbers: seq, length, opcode, stored, times and rtt as JSON writes them', async () => {
    const fc = (await import('fast-check')).default;
    const num = fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.double(), fc.integer({ min: 0, max: 4_398_046_511_103_000 }).map((k) => k / 1000));
    fc.assert(
      fc.property(num, num, num, num, num, num, (seq, time, length, opcode, stored, rtt) => {
        const event = toFrameEvent('p1', wire({ truncated: true, time }), 0, { rtt });
        Object.assign(event, { seq, length, opcode, stored });
        return written(event) === JSON.stringify(event);
      }),
      { numRuns: 5_000 },
    );
  });

  it('any close reason and violation text (escaped, multi-byte, lone surrogates)', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (reason, message) => {
        const event = toFrameEvent('p1', wire({ opcode: 8, close: { code: 1000, reason }, violations: [{ id: 'v', rfc: '6455 §5.5', severity: 'error', message }] }), 0, {});
        return written(event) === JSON.stringify(event);
      }),
      { numRuns: 2_000 },
    );
  });

  it('long base64 payloads and message data (copied by the platform) come out exact', () => {
    const bytes = Uint8Array.from({ length: 12_000 }, (_, i) => (i * 31) & 0xff);
    const event = toFrameEvent('p1', wire({ payload: bytes, length: bytes.length, rsv1: true }), 0, { message: { opcode: 2, data: bytes, frames: 1, compressed: true } });
    expect(written(event)).toBe(JSON.stringify(event));
  });

  it('-1 (and the caller falls back) for what it cannot write byte for byte', () => {
    const base = (): FrameEvent => toFrameEvent('p1', CASES[0]![1], 0, {});
    expect(written({ ...base(), reconstructed: true } as FrameEvent)).toBeNull(); // an unknown key
    expect(written({ ...base(), from: 'elsewhere' } as unknown as FrameEvent)).toBeNull();
    expect(written({ ...base(), header: 'a"b' })).toBeNull(); // would need escaping
    expect(written({ ...base(), payload: `${'A'.repeat(200)}"` })).toBeNull(); // long, would need escaping
    expect(written({ ...base(), payload: `${'A'.repeat(200)}\\` })).toBeNull();
    expect(written({ ...base(), payload: `${'A'.repeat(200)}ü` })).toBeNull(); // long, not ASCII
    expect(written({ ...base(), maskKey: 'ü' })).toBeNull();
    const withMessage = toFrameEvent('p1', CASES[3]![1], 0, CASES[3]![2]);
    expect(written({ ...withMessage, message: { ...withMessage.message!, extra: 1 } as never })).toBeNull();
  });
});

describe('msText (a time as JSON writes it)', () => {
  it('equals String() for times to the microsecond and for any other double', async () => {
    const { msText } = await import('../../shared/records');
    const fc = (await import('fast-check')).default;
    const micro = fc.integer({ min: 0, max: 4_398_046_511_103_000 }).map((k) => k / 1000);
    const near = fc.integer({ min: 1_600_000_000_000_000, max: 2_000_000_000_000_000 }).map((k) => k / 1000);
    const small = fc.integer({ min: 0, max: 10_000_000 }).map((k) => k / 1000);
    const any = fc.double({ noNaN: false });
    fc.assert(fc.property(fc.oneof(micro, near, small, any), (t) => msText(t) === (Number.isFinite(t) ? String(t) : 'null')), { numRuns: 20_000 });
    for (const t of [0, 0.001, 0.01, 0.1, 0.5, 1, 1.05, 10.001, 2 ** 42 - 0.001, 2 ** 42, -1.5, -0, 1e21, 1e-7]) {
      expect(msText(t)).toBe(JSON.stringify(t));
    }
  });
});
