import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { concatBytes, fromHex, toHex, utf8Decode } from '../../shared/bytes';
import { StreamObserver } from '../../shared/codec/observer';
import { FrameParser, type FrameParserOptions } from '../../shared/codec/frame-parser';
import { MessageAssembler } from '../../shared/codec/messages';
import { encodeFrame, FrameEncodeError, type FrameSpec } from '../../shared/codec/frame-writer';
import type { WireFrame } from '../../shared/codec/frame';
import type { Side } from '../../shared/model';
import { splitAt } from '../peers/split';

interface VectorFrame {
  rfc: string;
  name: string;
  from: Side;
  hex?: string[];
  headerHex?: string;
  payloadLength?: number;
  maskKey?: string;
  text?: string;
  opcode?: number;
  payloadText?: string;
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/rfc-examples.json', import.meta.url), 'utf8')) as {
  frames: VectorFrame[];
};

function parse(bytes: Uint8Array | Uint8Array[], options: Partial<FrameParserOptions> & { from: Side }): WireFrame[] {
  const parser = new FrameParser({ stance: 'observer', ...options });
  const chunks = Array.isArray(bytes) ? bytes : [bytes];
  return chunks.flatMap((c) => parser.receive(c, 1));
}

const KEY = fromHex('37fa213d');
const ids = (f: WireFrame) => f.violations.map((v) => v.id);

describe('RFC 6455 §5.7 examples', () => {
  for (const v of vectors.frames) {
    it(v.name, () => {
      const bytes = v.hex ? v.hex.map(fromHex) : [fromHex(v.headerHex!), new Uint8Array(v.payloadLength!)];
      const frames = parse(bytes, { from: v.from });
      expect(frames.every((f) => f.violations.length === 0)).toBe(true);
      if (v.text !== undefined) expect(utf8Decode(Buffer.concat(frames.map((f) => f.payload)))).toBe(v.text);
      if (v.payloadText !== undefined) {
        expect(frames).toHaveLength(1);
        expect(frames[0]!.opcode).toBe(v.opcode);
        expect(utf8Decode(frames[0]!.payload)).toBe(v.payloadText);
      }
      if (v.maskKey) expect(toHex(frames[0]!.maskKey!)).toBe(v.maskKey);
      if (v.payloadLength !== undefined) {
        expect(frames[0]!.length).toBe(v.payloadLength);
        expect(frames[0]!.lengthEncoding).toBe(v.payloadLength > 0xffff ? 64 : 16);
        expect(toHex(frames[0]!.header)).toBe(v.headerHex);
      }
      // Serializing the parsed fields gives the same bytes back.
      const again = frames.map((f) =>
        encodeFrame({ ...f, mask: f.masked, maskKey: f.maskKey ?? undefined }),
      );
      expect(toHex(Buffer.concat(again))).toBe(toHex(Buffer.concat(bytes)));
    });
  }

  it('reports every field of the masked "Hello"', () => {
    const [f] = parse(fromHex('818537fa213d7f9f4d5158'), { from: 'client' });
    expect(f).toMatchObject({
      fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: true,
      length: 5, lengthEncoding: 7, offset: 0, time: 1, truncated: false,
    });
    expect(toHex(f!.header)).toBe('818537fa213d');
    expect(utf8Decode(f!.payload)).toBe('Hello');
  });
});

describe('5.2 Base framing: the serializer', () => {
  it('writes 7, 16 and 64-bit lengths minimally, and any encoding on request', () => {
    expect(toHex(encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(125), mask: false }).subarray(0, 2))).toBe('827d');
    expect(toHex(encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(126), mask: false }).subarray(0, 4))).toBe('827e007e');
    expect(toHex(encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(65536), mask: false }).subarray(0, 10))).toBe(
      '827f0000000000010000',
    );
    expect(toHex(encodeFrame({ fin: true, opcode: 1, payload: new Uint8Array(3), mask: false, lengthEncoding: 64 }).subarray(0, 10))).toBe(
      '817f0000000000000003',
    );
  });

  it('writes invalid frames on purpose: reserved opcode, RSV bits, a lying length', () => {
    const bytes = encodeFrame({ fin: false, rsv2: true, rsv3: true, opcode: 0xb, payload: fromHex('0102'), mask: false, length: 9 });
    expect(toHex(bytes)).toBe('3b090102');
  });

  it('refuses what cannot be encoded', () => {
    expect(() => encodeFrame({ fin: true, opcode: 16, payload: new Uint8Array(0), mask: false })).toThrow(FrameEncodeError);
    expect(() => encodeFrame({ fin: true, opcode: 1, payload: new Uint8Array(200), mask: false, lengthEncoding: 7 })).toThrow(FrameEncodeError);
    expect(() => encodeFrame({ fin: true, opcode: 1, payload: new Uint8Array(1), mask: true })).toThrow(/mask key/);
  });
});

// Arbitrary frames: valid and invalid, masked or not, every length encoding.
const frameSpec = fc
  .record({
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    rsv2: fc.boolean(),
    rsv3: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    payload: fc.uint8Array({ maxLength: 300 }),
    mask: fc.boolean(),
    maskKey: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    encoding: fc.constantFrom<7 | 16 | 64 | undefined>(undefined, 16, 64),
  })
  .map(({ encoding, ...s }): FrameSpec => ({ ...s, lengthEncoding: encoding === undefined ? undefined : encoding }));


function comparable(f: WireFrame) {
  return { ...f, header: toHex(f.header), payload: toHex(f.payload), maskKey: f.maskKey && toHex(f.maskKey), time: 0 };
}

describe('5.2 Base framing: properties', () => {
  it('serialize then parse gives back every field of any frame', () => {
    fc.assert(
      fc.property(frameSpec, (spec) => {
        const [f, ...rest] = parse(encodeFrame(spec), { from: spec.mask ? 'client' : 'server', rsv1Allowed: true });
        expect(rest).toHaveLength(0);
        expect(f).toMatchObject({
          fin: spec.fin, rsv1: spec.rsv1, rsv2: spec.rsv2, rsv3: spec.rsv3, opcode: spec.opcode,
          masked: spec.mask, length: spec.payload.length, truncated: false,
        });
        expect(toHex(f!.payload)).toBe(toHex(spec.payload));
        expect(f!.maskKey ? toHex(f!.maskKey) : null).toBe(spec.mask ? toHex(spec.maskKey!) : null);
      }),
    );
  });

  it('any split of a byte stream parses to the same frames', () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (specs, cuts) => {
        const stream = Buffer.concat(specs.map((s) => encodeFrame({ ...s, mask: true })));
        const whole = parse(stream, { from: 'client' }).map(comparable);
        const pieces = parse(splitAt(stream, cuts), { from: 'client' }).map(comparable);
        expect(pieces).toEqual(whole);
        expect(whole).toHaveLength(specs.length);
      }),
    );
  });

  it('receiveEach hands over the same frames as receive, in order, as each completes', () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (specs, cuts) => {
        const stream = Buffer.concat(specs.map((s) => encodeFrame({ ...s, mask: true })));
        const whole = parse(stream, { from: 'client' }).map(comparable);
        const parser = new FrameParser({ stance: 'observer', from: 'client' });
        const handed: WireFrame[] = [];
        for (const chunk of splitAt(stream, cuts)) {
          // Each frame is handed over while the parser is still inside the chunk that ends it.
          parser.receiveEach(chunk, 1, (f) => {
            expect(parser.offset).toBe(f.offset + f.header.length + f.length);
            handed.push(f);
          });
        }
        expect(handed.map(comparable)).toEqual(whole);
      }),
    );
  });

  it('one byte at a time gives the same frames as one megabyte at a time', () => {
    const frames = [
      encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(70000).fill(7), mask: true, maskKey: KEY }),
      encodeFrame({ fin: true, opcode: 9, payload: fromHex('01'), mask: true, maskKey: KEY }),
    ];
    const stream = Buffer.concat(frames);
    const bytewise = parse(Array.from(stream, (b) => Uint8Array.of(b)), { from: 'client' }).map(comparable);
    expect(bytewise).toEqual(parse(stream, { from: 'client' }).map(comparable));
    expect(bytewise[1]!.offset).toBe(frames[0]!.length);
  });
});

describe('violations, observer stance (recorded, decoding goes on)', () => {
  const cases: Array<[string, string, Side, Partial<FrameParserOptions>?]> = [
    ['unmasked-client-frame', '810548656c6c6f', 'client'],
    ['masked-server-frame', '818537fa213d7f9f4d5158', 'server'],
    ['rsv-without-extension', 'c10548656c6c6f', 'server'],
    ['rsv-without-extension', 'a10548656c6c6f', 'server', { rsv1Allowed: true }],
    ['rsv1-on-control-frame', 'c900', 'server', { rsv1Allowed: true }],
    ['reserved-opcode', '8300', 'server'],
    ['reserved-opcode', '8b00', 'server'],
    ['fragmented-control-frame', '0900', 'server'],
    ['control-frame-too-long', '897e0080' + '00'.repeat(128), 'server'],
    ['unexpected-continuation', '8003414243', 'server'],
    ['non-minimal-length', '827e0005' + '00'.repeat(5), 'server'],
    ['non-minimal-length', '827f0000000000000005' + '00'.repeat(5), 'server'],
    ['close-payload-too-short', '880103', 'server'],
    ['invalid-close-code', '880203ed', 'server'], // 1005
    ['invalid-close-code', '880203ee', 'server'], // 1006
    ['invalid-close-code', '880203f7', 'server'], // 1015
    ['invalid-close-code', '880203e7', 'server'], // 999
    ['invalid-close-reason-utf8', '880403e8c328', 'server'],
  ];
  for (const [id, hex, from, opts] of cases) {
    it(`${id}: ${hex.slice(0, 24)}`, () => {
      const frames = parse(fromHex(hex), { from, ...opts });
      expect(frames).toHaveLength(1);
      expect(ids(frames[0]!)).toContain(id);
      const v = frames[0]!.violations.find((x) => x.id === id)!;
      expect(v.rfc).toMatch(/^(6455|7692) §/);
      expect(v.message.length).toBeGreaterThan(10);
    });
  }

  it('non-minimal length is a warning, the rest are errors', () => {
    const [f] = parse(fromHex('827e0005' + '00'.repeat(5)), { from: 'server' });
    expect(f!.violations[0]!.severity).toBe('warning');
  });

  it('rsv1-on-continuation, when deflate is in use', () => {
    const frames = parse(fromHex('4103f248cd' + 'c004c9c90700'), { from: 'server', rsv1Allowed: true });
    expect(ids(frames[0]!)).toEqual([]);
    expect(ids(frames[1]!)).toContain('rsv1-on-continuation');
  });

  it('data-frame-inside-fragmented-message', () => {
    const frames = parse(fromHex('010148' + '810149' + '80014a'), { from: 'server' });
    expect(ids(frames[1]!)).toContain('data-frame-inside-fragmented-message');
    // A control frame in the middle is allowed (§5.4).
    const ok = parse(fromHex('010148' + '8900' + '800149'), { from: 'server' });
    expect(ok.flatMap(ids)).toEqual([]);
  });

  it('data-after-close', () => {
    const frames = parse(fromHex('880203e8' + '810141'), { from: 'server' });
    expect(frames[0]!.close).toEqual({ code: 1000, reason: '' });
    expect(ids(frames[1]!)).toContain('data-after-close');
  });

  it('frame-after-closing-handshake: once the other way’s close is out too, a frame after the close is a warning', () => {
    for (const stance of ['endpoint', 'observer'] as const) {
      const parser = new FrameParser({ from: 'server', stance });
      const [first] = parser.receive(fromHex('880203e8'), 1);
      expect(ids(first!)).toEqual([]);
      parser.otherCloseSent = true;
      const [second, text] = parser.receive(fromHex('880203e8' + '810141'), 2);
      expect(second!.violations.map((v) => [v.id, v.severity])).toEqual([['frame-after-closing-handshake', 'warning']]);
      expect(text!.violations.map((v) => [v.id, v.severity])).toEqual([['frame-after-closing-handshake', 'warning']]);
      expect(parser.failure).toBeNull();
    }
  });

  it('the observer (proxy, import) pairs the directions: a close after both crossed is a warning, one before is data-after-close', () => {
    const pair = () => {
      const c2s = new StreamObserver({ from: 'client' });
      const s2c = new StreamObserver({ from: 'server' });
      StreamObserver.pair(c2s, s2c);
      return { c2s, s2c };
    };
    const clientClose = encodeFrame({ fin: true, opcode: 8, payload: fromHex('03e8'), mask: true, maskKey: fromHex('01020304') });
    const serverClose = fromHex('880203e8');
    const verdicts = (o: Array<{ frame: WireFrame }>) => o.map(({ frame }) => frame.violations.map((v) => `${v.id}:${v.severity}`));
    // The client closes, the server answers, then closes once more.
    const a = pair();
    a.c2s.receive(clientClose, 1);
    expect(verdicts(a.s2c.receive(concatBytes([serverClose, serverClose]), 2))).toEqual([[], ['frame-after-closing-handshake:warning']]);
    // The server closes and sends a text frame before the client's answer.
    const b = pair();
    expect(verdicts(b.s2c.receive(fromHex('880203e8' + '810141'), 1))).toEqual([[], ['data-after-close:error']]);
  });

  it('length-top-bit-set: the rest of the stream is that frame, kept up to the limit', () => {
    const parser = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 16 });
    expect(parser.receive(fromHex('827f8000000000000000' + 'aa'.repeat(40)), 1)).toEqual([]);
    const [f] = parser.end(2);
    expect(ids(f!)).toEqual(expect.arrayContaining(['length-top-bit-set', 'truncated-frame']));
    expect(f!.payload).toHaveLength(16);
    expect(f!.truncated).toBe(true);
  });

  it('a payload past the limit is kept in part and skipped, and decoding goes on', () => {
    const parser = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 10 });
    const big = encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(1000).fill(1), mask: false });
    const next = encodeFrame({ fin: true, opcode: 1, payload: fromHex('41'), mask: false });
    const frames = splitAt(Buffer.concat([big, next]), [3, 500, 1003]).flatMap((c) => parser.receive(c, 1));
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ length: 1000, truncated: true, violations: [] });
    expect(frames[0]!.payload).toHaveLength(10);
    expect(toHex(frames[1]!.payload)).toBe('41');
  });

  it('a violation is on its own frame only, whether the parser or the message layer records it', () => {
    const stream = Buffer.concat([
      encodeFrame({ fin: true, opcode: 1, payload: Buffer.from('ok'), mask: false }),
      encodeFrame({ fin: true, opcode: 1, payload: fromHex('c0af'), mask: false }), // overlong: invalid UTF-8
      encodeFrame({ fin: true, opcode: 8, payload: fromHex('03ec'), mask: false }), // 1004: may not be sent
      encodeFrame({ fin: true, opcode: 1, payload: Buffer.from('late'), mask: false }),
      encodeFrame({ fin: true, opcode: 2, payload: Buffer.from('also late'), mask: false }),
    ]);
    const frames = parse(stream, { from: 'server' });
    const assembler = new MessageAssembler({ from: 'server' });
    for (const f of frames) assembler.push(f);
    expect(frames.map(ids)).toEqual([[], ['invalid-utf8'], ['invalid-close-code'], ['data-after-close'], ['data-after-close']]);
    expect(frames[3]!.violations).not.toBe(frames[4]!.violations);
  });

  it('a close frame carries its code and reason', () => {
    const [f] = parse(encodeFrame({ fin: true, opcode: 8, payload: fromHex('0fa0' + toHex(Buffer.from('bye ✓'))), mask: false }), {
      from: 'server',
    });
    expect(f!.close).toEqual({ code: 4000, reason: 'bye ✓' });
    expect(f!.violations).toEqual([]);
  });
});

describe('violations, endpoint stance (the first error fails the connection)', () => {
  function endpoint(hex: string, from: Side = 'server', maxPayload?: number) {
    const parser = new FrameParser({ from, stance: 'endpoint', maxPayload });
    const frames = parser.receive(fromHex(hex), 5);
    return { parser, frames };
  }

  it('fails with 1002 on a protocol error and reads nothing after it', () => {
    const { parser, frames } = endpoint('8300' + '810141');
    expect(frames).toHaveLength(1);
    expect(parser.failure).toMatchObject({ closeCode: 1002, violation: { id: 'reserved-opcode' } });
    expect(parser.receive(fromHex('810141'), 6)).toEqual([]);
  });

  it('fails at once on a 2^63 length, without waiting for (or allocating) the payload', () => {
    const { parser, frames } = endpoint('827f8000000000000000');
    expect(parser.failure?.violation.id).toBe('length-top-bit-set');
    expect(frames[0]).toMatchObject({ truncated: true, length: 2 ** 63 });
  });

  it('fails with 1009 on a payload over the limit', () => {
    const { parser } = endpoint('827f0000000100000000', 'server', 1024);
    expect(parser.failure).toMatchObject({ closeCode: 1009, violation: { id: 'payload-too-big' } });
  });

  it('fails with 1007 on a close reason that is not UTF-8', () => {
    expect(endpoint('880403e8c328').parser.failure).toMatchObject({ closeCode: 1007 });
  });

  it('a warning does not fail it', () => {
    const { parser, frames } = endpoint('827e0005' + '00'.repeat(5));
    expect(parser.failure).toBeNull();
    expect(ids(frames[0]!)).toEqual(['non-minimal-length']);
  });

  it('keeps what of the failing frame had arrived', () => {
    const { frames } = endpoint('8b0548656c6c6f');
    expect(utf8Decode(frames[0]!.payload)).toBe('Hello');
  });
});

describe('the stream ends mid-frame', () => {
  it('returns the partial frame with what arrived', () => {
    const parser = new FrameParser({ from: 'server', stance: 'endpoint' });
    expect(parser.receive(fromHex('8264' + '01'.repeat(10)), 1)).toEqual([]);
    const [f] = parser.end(2);
    expect(f).toMatchObject({ opcode: 2, length: 100, truncated: true, time: 2 });
    expect(f!.payload).toHaveLength(10);
    expect(ids(f!)).toContain('truncated-frame');
  });

  it('inside the header', () => {
    const parser = new FrameParser({ from: 'server', stance: 'observer' });
    parser.receive(fromHex('827e01'), 1);
    const [f] = parser.end(2);
    expect(toHex(f!.header)).toBe('827e01');
    expect(ids(f!)).toContain('truncated-frame');
    const one = new FrameParser({ from: 'server', stance: 'observer' });
    one.receive(fromHex('81'), 1);
    expect(one.end(2)[0]).toMatchObject({ opcode: 1, fin: true });
  });

  it('nothing buffered: nothing to report', () => {
    const parser = new FrameParser({ from: 'server', stance: 'observer' });
    parser.receive(fromHex('810141'), 1);
    expect(parser.end(2)).toEqual([]);
  });
});
