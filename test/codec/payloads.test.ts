// What the frame parser hands out as a payload (frame-parser.ts top comment): plain,
// unmasked bytes there at once, never an accessor; a view of the input when an unmasked
// payload lies in one chunk, one buffer of its own otherwise; the input never written to.
// Then the limits and cut streams, where a parser that keeps views of its input could mix
// one frame's bytes into another's.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, toHex, utf8Encode } from '../../shared/bytes';
import { FrameParser } from '../../shared/codec/frame-parser';
import { applyMask, encodeFrame, maskInPlace } from '../../shared/codec/frame-writer';
import { MessageAssembler } from '../../shared/codec/messages';
import { StreamObserver } from '../../shared/codec/observer';
import type { WireFrame } from '../../shared/codec/frame';
import { splitAt } from '../peers/split';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Reproducible noise (xorshift32). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** `payload` is a plain data property holding a Uint8Array: no getter, nothing joined later. */
function expectPlain(f: WireFrame): void {
  const d = Object.getOwnPropertyDescriptor(f, 'payload');
  expect(d?.get).toBeUndefined();
  expect(d?.value).toBeInstanceOf(Uint8Array);
  expect(Object.getOwnPropertySymbols(f)).toEqual([]);
  expect(Object.keys(f)).not.toContain('payloadPieces');
}

describe('RFC 6455 §5.2, §5.3: a frame\'s payload is plain, unmasked bytes', () => {
  const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

  it('any frames, any chunking, masked or not: payload is a plain Uint8Array equal to what was sent, the input untouched', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 16 * KiB, max: 300 * KiB })), seed: fc.integer({ min: 1, max: 1e9 }), opcode: fc.constantFrom(1, 2) }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (specs, masked, cuts) => {
          const payloads = specs.map((s) => noise(s.size, s.seed));
          const stream = concatBytes(payloads.map((payload, i) => encodeFrame({ fin: true, opcode: specs[i]!.opcode, payload, mask: masked, maskKey: key })));
          const chunks = splitAt(stream, cuts).map((c) => c.slice());
          const before = chunks.map((c) => c.slice());
          const p = new FrameParser({ from: masked ? 'client' : 'server', stance: 'observer' });
          const frames = chunks.flatMap((c) => p.receive(c, 1));
          expect(frames).toHaveLength(payloads.length);
          frames.forEach((f, i) => {
            expectPlain(f);
            expect(f.truncated).toBe(false);
            expect(same(f.payload, payloads[i]!)).toBe(true);
          });
          chunks.forEach((c, i) => expect(same(c, before[i]!)).toBe(true));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('unmasked in one chunk: a view of that chunk; across chunks: one buffer of its own', () => {
    const payload = noise(100 * KiB, 7);
    const wire = encodeFrame({ fin: true, opcode: 2, payload, mask: false });
    const [whole] = new FrameParser({ from: 'server', stance: 'observer' }).receive(wire, 1);
    expect(whole!.payload.buffer).toBe(wire.buffer);
    expect(whole!.payload.byteOffset).toBe(wire.byteOffset + wire.length - payload.length);

    const p = new FrameParser({ from: 'server', stance: 'observer' });
    const parts = splitAt(wire, [30_000, 65_536]).map((c) => c.slice());
    const [spanned] = parts.flatMap((c) => p.receive(c, 1));
    expectPlain(spanned!);
    expect(parts.some((c) => c.buffer === spanned!.payload.buffer)).toBe(false);
    expect(spanned!.payload.byteLength).toBe(spanned!.payload.buffer.byteLength);
    expect(same(spanned!.payload, payload)).toBe(true);
  });

  it('masked: a buffer of its own, unmasked, whether it came in one chunk or several', () => {
    const payload = noise(200 * KiB, 9);
    const wire = encodeFrame({ fin: true, opcode: 2, payload, mask: true, maskKey: key });
    for (const cuts of [[], [100], [70_000, 140_000]]) {
      const parts = splitAt(wire, cuts).map((c) => c.slice());
      const p = new FrameParser({ from: 'client', stance: 'observer' });
      const [f] = parts.flatMap((c) => p.receive(c, 1));
      expectPlain(f!);
      expect(parts.some((c) => c.buffer === f!.payload.buffer)).toBe(false);
      expect(same(f!.payload, payload)).toBe(true);
    }
  });

  it('a one-frame message\'s data is the frame\'s payload, a plain property (binary, large, in pieces)', () => {
    const payload = noise(300 * KiB, 3);
    const wire = encodeFrame({ fin: true, opcode: 2, payload, mask: true, maskKey: key });
    const p = new FrameParser({ from: 'client', stance: 'observer' });
    const a = new MessageAssembler({ from: 'client' });
    const [f] = splitAt(wire, [65_536, 131_072, 196_608]).flatMap((c) => p.receive(c, 1));
    const m = a.push(f!)!;
    expect(Object.getOwnPropertyDescriptor(m, 'data')?.get).toBeUndefined();
    expect(m.data).toBe(f!.payload);
    expect(Object.getOwnPropertySymbols(m)).toEqual([]);
  });
});

describe('observer limits: several frames a call past maxPayload', () => {
  const frame = (fill: number, n: number) => encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(n).fill(fill), mask: false });

  it('three frames over maxPayload in one chunk keep their own payloads', () => {
    const p = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 1000 });
    const frames = p.receive(concatBytes([frame(1, 2000), frame(2, 2000), frame(3, 2000)]), 0);
    expect(frames.map((f) => [f.truncated, f.payload.length, f.payload[0]])).toEqual([
      [true, 1000, 1],
      [true, 1000, 2],
      [true, 1000, 3],
    ]);
  });

  it('a frame that spans chunks ends, a truncated one passes, the next begins: each payload its own', () => {
    const p = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 1000 });
    const a = frame(1, 800); // spans two calls, not truncated
    const t = frame(2, 2000); // whole in the second chunk, truncated to 1000
    const c = frame(3, 900); // begins in the second chunk
    expect(p.receive(a.slice(0, 400), 0)).toEqual([]);
    const frames = p.receive(concatBytes([a.subarray(400), t, c.subarray(0, 600)]), 1);
    frames.push(...p.receive(c.slice(600), 2));
    expect(frames.map((f) => [f.payload.length, f.payload.every((b) => b === f.payload[0]) ? f.payload[0] : 'mixed'])).toEqual([
      [800, 1],
      [1000, 2],
      [900, 3],
    ]);
  });
});

describe('regression: end() inside a header reports nothing of the previous frame', () => {
  // end()'s branches for a cut header (a lone byte; or inside the 16/64-bit length) once
  // kept the previous frame's violations and length: the violations array was the very
  // array of the frame returned before, so end() appended 'truncated-frame' to it.
  const key = Uint8Array.of(1, 2, 3, 4);

  it('after a lone header byte, end() gives masked: false, no mask key, and leaves the previous frame\'s violations alone', () => {
    const p = new FrameParser({ from: 'client', stance: 'observer' });
    const [prev] = p.receive(encodeFrame({ fin: true, rsv2: true, opcode: 1, payload: utf8Encode('hi'), mask: true, maskKey: key }), 0);
    expect(prev!.violations.map((v) => v.id)).toEqual(['rsv-without-extension']);
    p.receive(Uint8Array.of(0x81), 1); // no RSV bit, no MASK bit (the second byte never came)
    const [cut] = p.end(2);
    expect(prev!.violations.map((v) => v.id)).toEqual(['rsv-without-extension']);
    expect(cut!.violations.map((v) => v.id)).toEqual(['truncated-frame']);
    expect(cut!.masked).toBe(false);
    expect(cut!.maskKey).toBeNull();
  });

  it("cut inside the 16-bit length field, end() does not state the previous frame's length", () => {
    const p = new FrameParser({ from: 'server', stance: 'observer' });
    p.receive(encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(300), mask: false }), 0);
    p.receive(Uint8Array.of(0x82, 0x7e, 0x01), 1); // one of the two length bytes
    const [cut] = p.end(2);
    expect(toHex(cut!.header)).toBe('827e01');
    expect(cut!.length).toBe(0);
  });
});

describe('RFC 6455 §10.4 limits: a header claiming a huge payload, followed by a few bytes', () => {
  // Allocation cannot be measured reliably; what can be checked is that nothing waits for the
  // claimed bytes: the frame comes out on end(), truncated, with exactly the bytes that came.
  const cases = [
    { name: 'StreamObserver, 16 MiB claimed (its default maxPayload), masked', length: 16 * MiB, masked: true, make: 'observer' },
    { name: 'StreamObserver, 16 MiB claimed, unmasked', length: 16 * MiB, masked: false, make: 'observer' },
    { name: 'FrameParser observer, 16 MiB claimed (default maxPayload 64 MiB)', length: 16 * MiB, masked: true, make: 'parser' },
    { name: 'FrameParser observer, 2^40 claimed', length: 2 ** 40, masked: false, make: 'parser' },
  ] as const;

  it.each(cases)('$name', ({ length, masked, make }) => {
    const key = Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4);
    const sent = Uint8Array.of(10, 20, 30, 40, 50, 60, 70);
    const header = encodeFrame({ fin: true, opcode: 2, payload: new Uint8Array(0), mask: masked, maskKey: key, length });
    const onWire = masked ? applyMask(sent, key) : sent;
    const chunks = [concatBytes([header, onWire.subarray(0, 3)]), onWire.subarray(3, 4), onWire.subarray(4)];
    const from = masked ? 'client' : 'server';
    let receive: (c: Uint8Array) => WireFrame[];
    let end: () => WireFrame[];
    if (make === 'observer') {
      const o = new StreamObserver({ from });
      receive = (c) => o.receive(c, 1).map((x) => x.frame);
      end = () => o.end(2).map((x) => x.frame);
    } else {
      const p = new FrameParser({ from, stance: 'observer' });
      receive = (c) => p.receive(c, 1);
      end = () => p.end(2);
    }
    expect(chunks.map((c) => receive(c).length)).toEqual([0, 0, 0]);
    const last = end();
    expect(last).toHaveLength(1);
    const f = last[0]!;
    expect(f.length).toBe(length);
    expect(f.lengthEncoding).toBe(64);
    expect(f.truncated).toBe(true);
    expect(f.violations.map((v) => v.id)).toContain('truncated-frame');
    expect(toHex(f.header)).toBe(toHex(header));
    expect(toHex(f.payload)).toBe(toHex(sent));
  });
});

describe('RFC 6455 §5.3 masking: maskInPlace(buf, key, offset)', () => {
  it('equals applyMask(buf, key, new, offset) and byte-by-byte XOR, at any alignment, touching nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 0, max: 2000 }) },
          { weight: 2, arbitrary: fc.constantFrom(127, 128, 129, 131, 160) },
          { weight: 1, arbitrary: fc.integer({ min: 100 * KiB - 3, max: 100 * KiB + 3 }) },
        ),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 0x7fffffff }),
        (length, byteOffset, offset, key, seed) => {
          const backing = noise(length + 8, seed); // guard bytes either side
          const before = backing.slice();
          const view = backing.subarray(byteOffset, byteOffset + length);
          const original = before.subarray(byteOffset, byteOffset + length);
          const expected = applyMask(original, key, new Uint8Array(length), offset);
          const byHand = original.map((b, i) => b ^ key[(offset + i) & 3]!);
          expect(maskInPlace(view, key, offset)).toBe(view);
          expect(same(view, expected), 'maskInPlace vs applyMask').toBe(true);
          expect(same(expected, byHand), 'applyMask vs XOR by hand').toBe(true);
          expect(toHex(backing.subarray(0, byteOffset))).toBe(toHex(before.subarray(0, byteOffset)));
          expect(toHex(backing.subarray(byteOffset + length))).toBe(toHex(before.subarray(byteOffset + length)));
          // Masking twice gives the bytes back.
          maskInPlace(view, key, offset);
          expect(same(view, original)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
