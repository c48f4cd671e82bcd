// The message layer: reassembly (RFC 6455 §5.4), UTF-8 across fragments (§8.1),
// permessage-deflate messages (RFC 7692 §6-7), and the message writer.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import vectors from '../fixtures/rfc-examples.json';
import { bytesEqual, concatBytes, fromHex, toHex, utf8Encode } from '../../shared/bytes';
import type { WireFrame } from '../../shared/codec/frame';
import { MessageAssembler, compressedLimit, type AssembledMessage } from '../../shared/codec/messages';
import { encodeMessage } from '../../shared/codec/message-writer';
import type { MessageInflater } from '../../shared/codec/compression';
import { zlibCompression } from '../../main/engine/zlib-compression';
import { isValidUtf8 } from '../../shared/codec/utf8';
/** A text message's text, as an application would read it: whole, valid UTF-8, BOM kept. */
const textOf = (m: AssembledMessage): string | undefined =>
  m.opcode === 1 && !m.truncated && isValidUtf8(m.data) ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(m.data) : undefined;


interface FrameFields {
  fin?: boolean;
  rsv1?: boolean;
  opcode: number;
  payload: Uint8Array | string;
  /** as the header states it; defaults to the payload's length */
  length?: number;
  truncated?: boolean;
}

/** A WireFrame as the parser would give it, built by hand. */
function frame(f: FrameFields): WireFrame {
  const payload = typeof f.payload === 'string' ? fromHex(f.payload) : f.payload;
  return {
    fin: f.fin ?? true,
    rsv1: f.rsv1 ?? false,
    rsv2: false,
    rsv3: false,
    opcode: f.opcode,
    masked: false,
    maskKey: null,
    length: f.length ?? payload.length,
    lengthEncoding: 7,
    header: new Uint8Array(2),
    payload,
    truncated: f.truncated ?? false,
    offset: 0,
    time: 0,
    from: 'server',
    violations: [],
  };
}

/**
 * Decodes whole frames from hex (the RFC examples and the writer's output): just enough of
 * §5.2 for these tests, so they do not depend on the frame parser.
 */
function decodeFrames(bytes: Uint8Array): WireFrame[] {
  const out: WireFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    let len = b1 & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = (bytes[p]! << 8) | bytes[p + 1]!;
      p += 2;
    } else if (len === 127) {
      len = new DataView(bytes.buffer, bytes.byteOffset + p).getUint32(4);
      p += 8;
    }
    const key = b1 & 0x80 ? bytes.subarray(p, p + 4) : null;
    if (key) p += 4;
    const payload = bytes.slice(p, p + len);
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    const f = frame({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, payload });
    f.masked = key !== null;
    f.maskKey = key;
    out.push(f);
    at = p + len;
  }
  return out;
}

function pushAll(assembler: MessageAssembler, frames: WireFrame[]): AssembledMessage[] {
  const out: AssembledMessage[] = [];
  for (const f of frames) {
    const m = assembler.push(f);
    if (m) out.push(m);
  }
  return out;
}

const ids = (f: WireFrame) => f.violations.map((v) => v.id);
const text = (s: string) => utf8Encode(s);
const deflating = () => ({ inflater: zlibCompression.inflater(15, false) });

describe('RFC 6455 §5.4 fragmentation', () => {
  it('a single unfragmented text frame is a message of one frame', () => {
    const a = new MessageAssembler({ from: 'server' });
    const m = a.push(frame({ opcode: 1, payload: text('Hello') }))!;
    expect(m).toMatchObject({ opcode: 1, data: new TextEncoder().encode('Hello'), frames: 1, compressed: false, wireLength: 5, truncated: false });
  });

  it('§5.7 fragmented unmasked text: "Hel" + "lo"', () => {
    const v = vectors.frames.find((x) => x.name === 'fragmented unmasked text')!;
    const frames = v.hex!.flatMap((h) => decodeFrames(fromHex(h)));
    const a = new MessageAssembler({ from: 'server' });
    expect(a.push(frames[0]!)).toBeNull();
    expect(a.inMessage).toBe(true);
    const m = a.push(frames[1]!)!;
    expect(m).toMatchObject({ opcode: 1, data: new TextEncoder().encode('Hello'), frames: 2, wireLength: 5, truncated: false });
    expect(a.inMessage).toBe(false);
  });

  it('control frames in the middle of a fragmented message pass through and are not counted', () => {
    const a = new MessageAssembler({ from: 'client' });
    expect(a.push(frame({ fin: false, opcode: 2, payload: '0102' }))).toBeNull();
    expect(a.push(frame({ opcode: 9, payload: '' }))).toBeNull();
    expect(a.push(frame({ fin: false, opcode: 0, payload: '03' }))).toBeNull();
    expect(a.push(frame({ opcode: 10, payload: '' }))).toBeNull();
    const m = a.push(frame({ opcode: 0, payload: '0405' }))!;
    expect(toHex(m.data)).toBe('0102030405');
    expect(m).toMatchObject({ opcode: 2, frames: 3, wireLength: 5 });
    expect(textOf(m)).toBeUndefined();
  });

  it('empty messages and empty fragments', () => {
    const a = new MessageAssembler({ from: 'server' });
    expect(a.push(frame({ opcode: 1, payload: '' }))).toMatchObject({ data: new TextEncoder().encode(''), frames: 1, wireLength: 0 });
    expect(a.push(frame({ fin: false, opcode: 1, payload: '' }))).toBeNull();
    expect(a.push(frame({ fin: false, opcode: 0, payload: '61' }))).toBeNull();
    expect(a.push(frame({ opcode: 0, payload: '' }))).toMatchObject({ data: new TextEncoder().encode('a'), frames: 3 });
  });

  it('a continuation with nothing to continue is ignored (the parser flags it)', () => {
    const a = new MessageAssembler({ from: 'server' });
    const stray = frame({ opcode: 0, payload: '4142' });
    expect(a.push(stray)).toBeNull();
    expect(stray.violations).toEqual([]);
    expect(a.push(frame({ opcode: 1, payload: text('ok') }))).toMatchObject({ data: new TextEncoder().encode('ok'), frames: 1 });
  });

  it('a new data frame inside a fragmented message abandons the old one', () => {
    const a = new MessageAssembler({ from: 'server' });
    expect(a.push(frame({ fin: false, opcode: 1, payload: text('old') }))).toBeNull();
    expect(a.push(frame({ fin: false, opcode: 2, payload: '01' }))).toBeNull();
    const m = a.push(frame({ opcode: 0, payload: '02' }))!;
    expect(m).toMatchObject({ opcode: 2, frames: 2, wireLength: 2 });
    expect(toHex(m.data)).toBe('0102');
    // and an old text message cut mid-character does not leak into the new one's UTF-8 check
    a.push(frame({ fin: false, opcode: 1, payload: 'e282' }));
    expect(a.push(frame({ opcode: 1, payload: text('fresh') }))).toMatchObject({ data: new TextEncoder().encode('fresh') });
  });

  it('reserved data opcodes are not messages and do not disturb one in progress', () => {
    const a = new MessageAssembler({ from: 'server' });
    a.push(frame({ fin: false, opcode: 1, payload: text('He') }));
    expect(a.push(frame({ opcode: 3, payload: '00' }))).toBeNull();
    expect(a.push(frame({ opcode: 0, payload: text('llo') }))).toMatchObject({ data: new TextEncoder().encode('Hello'), frames: 2 });
  });

  it('reassembles any message cut into any fragments', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (data, cuts, binary) => {
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
        const parts: Uint8Array[] = [];
        let at = 0;
        for (const p of [...points, data.length]) {
          parts.push(data.subarray(at, p));
          at = p;
        }
        const a = new MessageAssembler({ from: 'client' });
        const frames = parts.map((p, i) => frame({ fin: i === parts.length - 1, opcode: i === 0 ? (binary ? 2 : 1) : 0, payload: p }));
        const messages = pushAll(a, frames);
        expect(messages).toHaveLength(1);
        expect(bytesEqual(messages[0]!.data, data)).toBe(true);
        expect(messages[0]!.frames).toBe(parts.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RFC 6455 §8.1 UTF-8 across fragments', () => {
  it('accepts a character split across fragment boundaries', () => {
    // "€" is e2 82 ac; "😀" is f0 9f 98 80
    const a = new MessageAssembler({ from: 'server' });
    const frames = [
      frame({ fin: false, opcode: 1, payload: '41e2' }),
      frame({ fin: false, opcode: 0, payload: '82' }),
      frame({ fin: false, opcode: 0, payload: 'acf09f' }),
      frame({ opcode: 0, payload: '9880' }),
    ];
    const [m] = pushAll(a, frames);
    expect(textOf(m!)).toBe('A€😀');
    expect(frames.flatMap(ids)).toEqual([]);
  });

  it('catches invalid bytes on the first fragment that carries them, not at the end', () => {
    const a = new MessageAssembler({ from: 'server' });
    const frames = [
      frame({ fin: false, opcode: 1, payload: text('fine so far ') }),
      frame({ fin: false, opcode: 0, payload: '41c0af42' }), // C0 AF: overlong '/'
      frame({ fin: false, opcode: 0, payload: text('more') }),
      frame({ opcode: 0, payload: text('end') }),
    ];
    expect(a.push(frames[0]!)).toBeNull();
    expect(a.push(frames[1]!)).toBeNull();
    expect(ids(frames[1]!)).toEqual(['invalid-utf8']);
    expect(frames[1]!.violations[0]).toMatchObject({ rfc: '6455 §8.1', severity: 'error' });
    pushAll(a, frames.slice(2));
    expect(ids(frames[2]!)).toEqual([]);
    expect(ids(frames[3]!)).toEqual([]);
  });

  it('catches an invalid byte in the very first fragment there (RFC 6455 §8.1 allows failing early)', () => {
    const a = new MessageAssembler({ from: 'server' });
    const first = frame({ fin: false, opcode: 1, payload: 'eda080' }); // a surrogate
    a.push(first);
    expect(ids(first)).toEqual(['invalid-utf8']);
    // a prefix that is only incomplete is not an error yet
    const b = new MessageAssembler({ from: 'server' });
    const open = frame({ fin: false, opcode: 1, payload: 'f09f' });
    b.push(open);
    expect(ids(open)).toEqual([]);
  });

  it('an invalid sequence split across fragments is caught on the fragment where it becomes invalid', () => {
    const a = new MessageAssembler({ from: 'server' });
    const frames = [frame({ fin: false, opcode: 1, payload: '41f4' }), frame({ opcode: 0, payload: '908080' })]; // > U+10FFFF
    const [m] = pushAll(a, frames);
    expect(frames.map(ids)).toEqual([[], ['invalid-utf8']]);
    expect(textOf(m!)).toBeUndefined();
    expect(toHex(m!.data)).toBe('41f4908080'); // the bytes are still there to show
    expect(m!.truncated).toBe(false);
  });

  it('a message ending inside a sequence is flagged on its last frame', () => {
    const a = new MessageAssembler({ from: 'server' });
    const frames = [frame({ fin: false, opcode: 1, payload: '41' }), frame({ opcode: 0, payload: 'e282' })];
    const [m] = pushAll(a, frames);
    expect(frames.map(ids)).toEqual([[], ['invalid-utf8']]);
    expect(textOf(m!)).toBeUndefined();
  });

  it('a whole text message in one frame: the verdict is the WHATWG decoder’s, ASCII or not, short or long', () => {
    const decoderAccepts = (bytes: Uint8Array) => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const ascii = fc.uint8Array({ max: 0x7f, maxLength: 40 });
    const any = fc.uint8Array({ maxLength: 6 });
    fc.assert(
      fc.property(ascii, any, ascii, (before, middle, after) => {
        const payload = concatBytes([before, middle, after]);
        const f = frame({ opcode: 1, payload });
        const m = new MessageAssembler({ from: 'server' }).push(f);
        expect(m!.data).toBe(payload);
        expect(ids(f)).toEqual(decoderAccepts(payload) ? [] : ['invalid-utf8']);
      }),
    );
  });

  it('binary messages are not checked', () => {
    const a = new MessageAssembler({ from: 'server' });
    const f = frame({ opcode: 2, payload: 'c0ff' });
    expect(a.push(f)).toMatchObject({ opcode: 2 });
    expect(ids(f)).toEqual([]);
  });
});

describe('RFC 7692 §7.2.3 examples through the assembler', () => {
  for (const example of vectors.permessageDeflate) {
    it(`${example.rfc} ${example.name}`, () => {
      const a = new MessageAssembler({ from: 'server', compression: deflating() });
      const frames = example.hex.flatMap((h) => decodeFrames(fromHex(h)));
      const messages = pushAll(a, frames);
      const expected = 'texts' in example ? example.texts : [example.text];
      expect(messages.map((m) => textOf(m))).toEqual(expected);
      for (const m of messages) expect(m).toMatchObject({ compressed: true, truncated: false, opcode: 1 });
      expect(frames.flatMap(ids)).toEqual([]);
    });
  }

  it('§7.2.3.1 in two fragments: wireLength counts the compressed bytes', () => {
    const a = new MessageAssembler({ from: 'server', compression: deflating() });
    const [m] = pushAll(a, decodeFrames(fromHex('4103f248cd' + '8004c9c90700')));
    expect(m).toMatchObject({ data: new TextEncoder().encode('Hello'), frames: 2, wireLength: 7, compressed: true });
  });

  it('§7.2.3.2 without context takeover the second message cannot be inflated', () => {
    const a = new MessageAssembler({ from: 'server', compression: { inflater: zlibCompression.inflater(15, true) } });
    const frames = decodeFrames(fromHex('c107f248cdc9c90700' + 'c105f200110000'));
    const [first, second] = pushAll(a, frames);
    expect(textOf(first!)).toBe('Hello');
    expect(ids(frames[1]!)).toEqual(['inflate-failed']);
    expect(frames[1]!.violations[0]).toMatchObject({ rfc: '7692 §6.2' });
    expect(second).toMatchObject({ data: new Uint8Array(0), truncated: true, compressed: true });
    expect(textOf(second!)).toBeUndefined();
  });

  it('RSV1 without permessage-deflate negotiated: the bytes are taken as they are', () => {
    const a = new MessageAssembler({ from: 'server' });
    const [m] = pushAll(a, decodeFrames(fromHex('c207f248cdc9c90700')));
    expect(m).toMatchObject({ opcode: 2, compressed: false, truncated: false });
    expect(toHex(m!.data)).toBe('f248cdc9c90700');
  });

  it('only the first frame’s RSV1 decides (RSV1 on a continuation is the parser’s to flag)', () => {
    const a = new MessageAssembler({ from: 'server', compression: deflating() });
    const frames = [frame({ fin: false, opcode: 1, payload: text('He') }), frame({ rsv1: true, opcode: 0, payload: text('llo') })];
    const [m] = pushAll(a, frames);
    expect(m).toMatchObject({ data: new TextEncoder().encode('Hello'), compressed: false });
  });

  it('invalid UTF-8 inside a compressed text message is flagged on its last frame', () => {
    const deflater = zlibCompression.deflater(15, false);
    const compressed = deflater.deflate(fromHex('41c0af'));
    const frames = [
      frame({ fin: false, rsv1: true, opcode: 1, payload: compressed.subarray(0, 2) }),
      frame({ opcode: 0, payload: compressed.subarray(2) }),
    ];
    const a = new MessageAssembler({ from: 'server', compression: deflating() });
    const [m] = pushAll(a, frames);
    expect(frames.map(ids)).toEqual([[], ['invalid-utf8']]);
    expect(m).toMatchObject({ compressed: true, truncated: false });
    expect(toHex(m!.data)).toBe('41c0af');
    expect(textOf(m!)).toBeUndefined();
  });

  it('corrupt DEFLATE data is inflate-failed and never throws', () => {
    const a = new MessageAssembler({ from: 'server', compression: deflating() });
    const f = frame({ rsv1: true, opcode: 1, payload: 'ffffffff' });
    expect(a.push(f)).toMatchObject({ truncated: true, data: new Uint8Array(0) });
    expect(ids(f)).toEqual(['inflate-failed']);
  });

  it('an inflater that throws something unexpected still gives a violation, not an exception', () => {
    const broken: MessageInflater = {
      inflate: () => {
        throw new TypeError('boom');
      },
      reset: () => {},
    };
    const a = new MessageAssembler({ from: 'server', compression: { inflater: broken } });
    const f = frame({ rsv1: true, opcode: 2, payload: '00' });
    expect(a.push(f)).toMatchObject({ truncated: true });
    expect(ids(f)).toEqual(['inflate-failed']);
  });
});

describe('RFC 6455 §10.4 message size limits', () => {
  it('a decompression bomb stops at maxMessage (payload-too-big, 1009)', () => {
    const bomb = zlibCompression.deflater(15, true).deflate(new Uint8Array(16 * 1024 * 1024));
    const a = new MessageAssembler({ from: 'server', compression: deflating(), maxMessage: 64 * 1024 });
    const f = frame({ rsv1: true, opcode: 2, payload: bomb });
    const m = a.push(f)!;
    expect(ids(f)).toEqual(['payload-too-big']);
    expect(f.violations[0]).toMatchObject({ rfc: '6455 §10.4' });
    expect(m).toMatchObject({ truncated: true, compressed: true, data: new Uint8Array(0), wireLength: bomb.length });
  });

  it('an uncompressed message past maxMessage is flagged on the frame that passes it, and keeps only the limit', () => {
    const a = new MessageAssembler({ from: 'server', maxMessage: 10 });
    const frames = [
      frame({ fin: false, opcode: 1, payload: text('012345') }),
      frame({ fin: false, opcode: 0, payload: text('6789ab') }),
      frame({ opcode: 0, payload: text('cdef') }),
    ];
    const [m] = pushAll(a, frames);
    expect(frames.map(ids)).toEqual([[], ['payload-too-big'], []]);
    expect(m).toMatchObject({ truncated: true, frames: 3, wireLength: 16 });
    expect(new TextDecoder().decode(m!.data)).toBe('0123456789');
    expect(textOf(m!)).toBeUndefined();
  });

  it('the limit is checked on the stated length, before the payload is kept', () => {
    const a = new MessageAssembler({ from: 'server', maxMessage: 100 });
    // an observer parser kept 4 bytes of a frame that says it has a million
    const f = frame({ opcode: 2, payload: '01020304', length: 1_000_000, truncated: true });
    expect(a.push(f)).toMatchObject({ truncated: true, wireLength: 1_000_000 });
    expect(ids(f)).toEqual(['payload-too-big']);
  });

  it('a compressed message too big on the wire is not inflated', () => {
    let called = false;
    const spy: MessageInflater = {
      inflate: () => ((called = true), new Uint8Array(0)),
      reset: () => {},
    };
    // a limit of 4 allows 4 + 1 + 64 = 69 compressed bytes: DEFLATE may grow tiny messages
    expect(compressedLimit(4)).toBe(69);
    const a = new MessageAssembler({ from: 'server', compression: { inflater: spy }, maxMessage: 4 });
    const frames = [
      frame({ fin: false, rsv1: true, opcode: 2, payload: new Uint8Array(69) }),
      frame({ opcode: 0, payload: '00' }), // e.g. empty stored blocks: inflate to nothing, cost memory
    ];
    const [m] = pushAll(a, frames);
    expect(frames.map(ids)).toEqual([[], ['payload-too-big']]);
    expect(m).toMatchObject({ truncated: true, data: new Uint8Array(0) });
    expect(called).toBe(false);
  });

  it('exactly maxMessage bytes is allowed', () => {
    const a = new MessageAssembler({ from: 'server', maxMessage: 5, compression: deflating() });
    const f = frame({ opcode: 1, payload: text('Hello') });
    expect(a.push(f)).toMatchObject({ data: new TextEncoder().encode('Hello'), truncated: false });
    const c = frame({ rsv1: true, opcode: 1, payload: 'f248cdc9c90700' });
    expect(a.push(c)).toMatchObject({ data: new TextEncoder().encode('Hello'), truncated: false });
    expect([...ids(f), ...ids(c)]).toEqual([]);
  });
});

describe('truncated frames and the end of the stream', () => {
  it('a cut frame makes a truncated message whose data is a true prefix, with no UTF-8 verdict past the cut', () => {
    const a = new MessageAssembler({ from: 'server' });
    const frames = [
      frame({ fin: false, opcode: 1, payload: text('abc'), length: 10, truncated: true }),
      frame({ opcode: 0, payload: '80' }), // would be a stray continuation byte, but bytes are missing before it
    ];
    const [m] = pushAll(a, frames);
    expect(m).toMatchObject({ truncated: true, frames: 2, wireLength: 11 });
    expect(new TextDecoder().decode(m!.data)).toBe('abc');
    expect(textOf(m!)).toBeUndefined();
    expect(frames.flatMap(ids)).toEqual([]);
  });

  it('a cut compressed message is not inflated', () => {
    const a = new MessageAssembler({ from: 'server', compression: deflating() });
    const f = frame({ rsv1: true, opcode: 1, payload: 'f248cd', length: 7, truncated: true });
    expect(a.push(f)).toMatchObject({ truncated: true, data: new Uint8Array(0), compressed: true });
    expect(ids(f)).toEqual([]);
  });

  it('end() hands over an unfinished message as truncated', () => {
    const a = new MessageAssembler({ from: 'server' });
    expect(a.end()).toBeNull();
    a.push(frame({ fin: false, opcode: 1, payload: text('Hel') }));
    const m = a.end()!;
    expect(m).toMatchObject({ truncated: true, frames: 1, opcode: 1 });
    expect(new TextDecoder().decode(m.data)).toBe('Hel');
    expect(a.inMessage).toBe(false);
  });
});

describe('encodeMessage (RFC 6455 §5.4, RFC 7692 §6.1)', () => {
  const hello = text('Hello');
  const fixedKey = () => fromHex('37fa213d');

  it('§5.7 single-frame masked text', () => {
    const frames = encodeMessage({ opcode: 1, data: hello, mask: true, maskKey: fixedKey });
    expect(frames.map((f) => toHex(f))).toEqual(['818537fa213d7f9f4d5158']);
  });

  it('§5.7 fragmented unmasked text', () => {
    const frames = encodeMessage({ opcode: 1, data: hello, mask: false, fragmentSize: 3 });
    expect(frames.map((f) => toHex(f))).toEqual(['010348656c', '80026c6f']);
  });

  it('RFC 7692 §7.2.3.1 compressed Hello in one frame, and fragmented with RSV1 on the first frame only', () => {
    const one = encodeMessage({ opcode: 1, data: hello, mask: false, deflater: zlibCompression.deflater(15, true) });
    expect(one.map((f) => toHex(f))).toEqual(['c107f248cdc9c90700']);
    // the RFC cuts it 3 + 4; a writer with a fixed fragment size of 4 cuts it 4 + 3
    const two = encodeMessage({ opcode: 1, data: hello, mask: false, fragmentSize: 4, deflater: zlibCompression.deflater(15, true) });
    expect(two.map((f) => toHex(f))).toEqual(['4104f248cdc9', '8003c90700']);
  });

  it('RFC 7692 §7.2.3.2 the second Hello with context takeover', () => {
    const deflater = zlibCompression.deflater(15, false);
    encodeMessage({ opcode: 1, data: hello, mask: false, deflater });
    expect(encodeMessage({ opcode: 1, data: hello, mask: false, deflater }).map((f) => toHex(f))).toEqual(['c105f200110000']);
  });

  it('an empty message is one frame (compressed: the single 00 byte of §7.2.3.6)', () => {
    expect(encodeMessage({ opcode: 2, data: new Uint8Array(0), mask: false, fragmentSize: 4 }).map((f) => toHex(f))).toEqual(['8200']);
    const compressed = encodeMessage({ opcode: 1, data: new Uint8Array(0), mask: false, deflater: zlibCompression.deflater(15, false) });
    expect(compressed.map((f) => toHex(f))).toEqual(['c10100']);
  });

  it('a fresh mask key for every frame', () => {
    let n = 0;
    const frames = encodeMessage({ opcode: 2, data: fromHex('000000'), mask: true, fragmentSize: 1, maskKey: () => Uint8Array.of(++n, 0, 0, 0) });
    expect(frames.map((f) => toHex(f))).toEqual(['0281010000000' + '1', '0081020000000' + '2', '8081030000000' + '3']);
  });

  it('refuses a mask without keys and a fragment size below 1', () => {
    expect(() => encodeMessage({ opcode: 1, data: hello, mask: true })).toThrow(/mask key/);
    expect(() => encodeMessage({ opcode: 1, data: hello, mask: false, fragmentSize: 0 })).toThrow(RangeError);
    expect(() => encodeMessage({ opcode: 1, data: hello, mask: false, fragmentSize: 1.5 })).toThrow(RangeError);
  });

  it('what it writes, the assembler reads back: any message, fragment size, compression and window', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 600 }).map((d) => [d, true] as const),
            fc.string({ maxLength: 200 }).map((s) => [text(s.repeat(3)), false] as const),
          ),
          { maxLength: 6 },
        ),
        fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
        fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }),
        fc.boolean(),
        (messages, fragmentSize, bits, noTakeover) => {
          const deflater = bits === undefined ? undefined : zlibCompression.deflater(bits, noTakeover);
          const a = new MessageAssembler({
            from: 'client',
            compression: bits === undefined ? null : { inflater: zlibCompression.inflater(bits, noTakeover) },
          });
          for (const [data, binary] of messages) {
            const wire = encodeMessage({ opcode: binary ? 2 : 1, data, fragmentSize, deflater, mask: true, maskKey: fixedKey });
            const frames = decodeFrames(concatBytes(wire));
            expect(frames.length).toBe(wire.length);
            expect(frames.map((f) => f.rsv1)).toEqual(frames.map((_, i) => i === 0 && deflater !== undefined));
            if (fragmentSize !== undefined) for (const f of frames) expect(f.payload.length).toBeLessThanOrEqual(fragmentSize);
            const got = pushAll(a, frames);
            expect(got).toHaveLength(1);
            expect(bytesEqual(got[0]!.data, data)).toBe(true);
            expect(got[0]!).toMatchObject({ opcode: binary ? 2 : 1, frames: wire.length, compressed: deflater !== undefined, truncated: false });
            expect(frames.flatMap(ids)).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
