// The journal's WebAssembly base64 encoder (main/engine/base64-simd.wat), against RFC 4648's
// vectors, RFC 6455's masked example and Node's own encoder; and the committed module
// against its source.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodingBuffer, keyWord, type EncodingBuffer } from '../../main/engine/base64-simd';
import { BASE64_SIMD_WASM } from '../../main/engine/base64-simd-wasm';
import { compileWat, generated } from '../../scripts/wasm';

const STAGE = 48 * 1024;
const BYTES = 70 * 1024;
const GUARD = 0xee;

/**
 * Any bytes, uniformly: `n` of them from `seed` (xorshift32). fast-check's own arrays favour
 * small values, which rarely make the 6-bit groups at the top of the alphabet ('+', '/').
 */
const anyBytes = fc.tuple(fc.nat(3000), fc.integer({ min: 1 })).map(([n, seed]) => {
  let x = seed;
  return Uint8Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
});

function encoder(): EncodingBuffer {
  const e = encodingBuffer(BYTES, STAGE);
  if (e === null) throw new Error('no WebAssembly SIMD in this Node');
  return e;
}

/** Encodes `data` (masked with `key` from payload offset `offset`) at `at`; checks nothing around it is touched. */
function encodeAt(e: EncodingBuffer, data: Uint8Array, at: number, key: Uint8Array | null = null, offset = 0): string {
  e.buffer.fill(GUARD);
  e.stage.set(data);
  const n = e.encode(data.length, at, keyWord(key, offset));
  expect(n).toBe(Math.ceil(data.length / 3) * 4);
  const before = e.buffer.subarray(0, at);
  const after = e.buffer.subarray(at + n);
  expect(before.every((b) => b === GUARD) && after.every((b) => b === GUARD)).toBe(true);
  return e.buffer.toString('latin1', at, at + n);
}

describe('base64 encoder (RFC 4648 §4, padded)', () => {
  it('encodes the RFC 4648 §10 test vectors', () => {
    const e = encoder();
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [text, b64] of vectors) expect(encodeAt(e, Buffer.from(text), 3)).toBe(b64);
  });

  it('uses all 64 letters, in order', () => {
    // 0x00 0x10 0x83 ... : the bytes whose 6-bit groups count 0 to 63.
    const groups = Array.from({ length: 64 }, (_, i) => i);
    const bytes: number[] = [];
    for (let i = 0; i < 64; i += 4) {
      const [a, b, c, d] = groups.slice(i, i + 4) as [number, number, number, number];
      bytes.push((a << 2) | (b >> 4), ((b & 15) << 4) | (c >> 2), ((c & 3) << 6) | d);
    }
    expect(encodeAt(encoder(), Uint8Array.from(bytes), 0)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  });

  it('agrees with Node at every length around its vector steps (12 and 48 bytes) and at the stage size', () => {
    const e = encoder();
    const lengths = [...Array.from({ length: 130 }, (_, i) => i), 143, 144, 145, 4095, 4096, 4097, STAGE - 1, STAGE];
    for (const n of lengths) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 0xff);
      expect(encodeAt(e, data, n % 5), `n=${n}`).toBe(Buffer.from(data).toString('base64'));
    }
  });

  it('agrees with Node on any bytes, anywhere in the buffer', () => {
    const e = encoder();
    fc.assert(
      fc.property(anyBytes, fc.nat(BYTES - 4000), (data, at) => {
        expect(encodeAt(e, data, at)).toBe(Buffer.from(data).toString('base64'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('base64 encoder: unmasking on the way (RFC 6455 §5.3)', () => {
  it('unmasks the RFC 6455 §5.7 masked "Hello"', () => {
    // 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const masked = Uint8Array.of(0x7f, 0x9f, 0x4d, 0x51, 0x58);
    expect(encodeAt(encoder(), masked, 1, key)).toBe(Buffer.from('Hello').toString('base64'));
  });

  it('unmasks any bytes with any key, from any offset in the payload', () => {
    const e = encoder();
    fc.assert(
      fc.property(anyBytes, fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(1 << 20), (plain, key, offset) => {
        const masked = plain.map((b, i) => b ^ key[(offset + i) & 3]!);
        expect(encodeAt(e, masked, 7, key, offset)).toBe(Buffer.from(plain).toString('base64'));
      }),
      { numRuns: 300 },
    );
  });

  it('takes the key as a little-endian word, rotated to the offset', () => {
    const key = Uint8Array.of(0x01, 0x02, 0x03, 0x84);
    expect(keyWord(key, 0) >>> 0).toBe(0x84030201);
    expect(keyWord(key, 1) >>> 0).toBe(0x01840302);
    expect(keyWord(key, 6) >>> 0).toBe(0x02018403);
    expect(keyWord(null, 3)).toBe(0);
  });
});

describe('base64 encoder: bounds', () => {
  it('refuses input longer than the stage, and output past the buffer, before the module writes', () => {
    const e = encoder();
    expect(() => e.encode(STAGE + 1, 0, 0)).toThrow(RangeError);
    expect(() => e.encode(3, BYTES - 3, 0)).toThrow(RangeError);
    expect(() => e.encode(3, -1, 0)).toThrow(RangeError);
    expect(e.encode(3, BYTES - 4, 0)).toBe(4);
  });

  it('hands out its buffer on a page boundary, for direct I/O', () => {
    const e = encoder();
    expect(e.buffer.byteOffset % 4096).toBe(0);
    expect(e.buffer.length).toBe(BYTES);
    expect(e.stage.length).toBe(STAGE);
    // The stage lies past the buffer: staging never touches what is being written out.
    expect(e.stage.buffer).toBe(e.buffer.buffer);
    expect(e.stage.byteOffset).toBeGreaterThanOrEqual(e.buffer.byteOffset + BYTES);
  });
});

describe('base64 encoder: the committed module', () => {
  it('is base64-simd.wat compiled (run `npm run wasm` after editing it)', async () => {
    const bytes = await compileWat();
    expect(generated(bytes)).toContain(BASE64_SIMD_WASM);
    expect(Buffer.from(BASE64_SIMD_WASM, 'base64').equals(Buffer.from(bytes))).toBe(true);
  });
});
