import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Utf8Validator, isValidUtf8 } from '../../shared/codec/utf8';
import { fromHex } from '../../shared/bytes';
import { splitAt } from '../peers/split';

/** The judge: the WHATWG decoder, fatal. */
function decoderAccepts(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function validate(...chunks: string[]): boolean {
  const v = new Utf8Validator();
  for (const c of chunks) if (!v.push(fromHex(c))) return false;
  return v.finish();
}

/** Bytes near the edges of the UTF-8 tables, to make invalid and valid sequences likely. */
const edgeByte = fc.constantFrom(
  0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef,
  0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff,
);
const utf8Bytes = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }).map((s) => Array.from(new TextEncoder().encode(s))),
      fc.array(edgeByte, { maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }),
    ),
    { maxLength: 24 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

/** Bytes and arbitrary cut points. */
const splitBytes = fc
  .tuple(utf8Bytes, fc.array(fc.nat(), { maxLength: 8 }))
  .map(([bytes, cuts]) => ({ bytes, chunks: splitAt(bytes, cuts) }));

describe('RFC 3629 §4 UTF-8 validation', () => {
  it('accepts ASCII, 2-, 3- and 4-byte sequences at the edges of their ranges', () => {
    expect(validate('')).toBe(true);
    expect(validate('48656c6c6f')).toBe(true);
    expect(validate('7f')).toBe(true);
    expect(validate('c280', 'dfbf')).toBe(true); // U+0080, U+07FF
    expect(validate('e0a080', 'ed9fbf', 'ee8080', 'efbfbf')).toBe(true); // U+0800, U+D7FF, U+E000, U+FFFF
    expect(validate('f0908080', 'f48fbfbf')).toBe(true); // U+10000, U+10FFFF
    expect(validate('cebae1bdb9cf83cebcceb5')).toBe(true); // κόσμε
  });

  it('rejects overlong forms', () => {
    expect(validate('c080')).toBe(false);
    expect(validate('c1bf')).toBe(false);
    expect(validate('e08080')).toBe(false);
    expect(validate('e09fbf')).toBe(false);
    expect(validate('f0808080')).toBe(false);
    expect(validate('f08fbfbf')).toBe(false);
  });

  it('rejects surrogates D800-DFFF and code points past U+10FFFF', () => {
    expect(validate('eda080')).toBe(false);
    expect(validate('edbfbf')).toBe(false);
    expect(validate('eda0bdedb2a9')).toBe(false); // CESU-8 pair
    expect(validate('f4908080')).toBe(false);
    expect(validate('f5808080')).toBe(false);
    expect(validate('ff')).toBe(false);
  });

  it('rejects lone continuation bytes and sequences cut short', () => {
    expect(validate('80')).toBe(false);
    expect(validate('41bf')).toBe(false);
    expect(validate('c241')).toBe(false);
    expect(validate('e282')).toBe(false); // ends mid-sequence
    expect(validate('f09080')).toBe(false);
  });

  it('accepts a sequence split across pushes at every point', () => {
    expect(validate('e2', '82', 'ac')).toBe(true); // €
    expect(validate('f0', '9f98', '80')).toBe(true); // 😀
    expect(validate('41f0', '9f', '9880', '42')).toBe(true);
  });

  it('fails fast: at the first byte that no continuation could make valid', () => {
    const v = new Utf8Validator();
    expect(v.push(fromHex('4142'))).toBe(true);
    expect(v.push(fromHex('e0'))).toBe(true); // could still become U+0800..
    expect(v.push(fromHex('80'))).toBe(false); // E0 80 can only be overlong
    expect(v.invalidAt).toBe(3);
    expect(v.push(fromHex('41'))).toBe(false); // stays invalid
    expect(v.finish()).toBe(false);
    v.reset();
    expect(v.push(fromHex('ed'))).toBe(true);
    expect(v.push(fromHex('a0'))).toBe(false); // a surrogate, known at its second byte
    v.reset();
    expect(v.push(fromHex('f4'))).toBe(true);
    expect(v.push(fromHex('90'))).toBe(false); // past U+10FFFF
    v.reset();
    expect(v.push(fromHex('c2'))).toBe(true);
    expect(v.incomplete).toBe(true);
    expect(v.finish()).toBe(false);
  });

  it('takes the ASCII fast path without missing a high byte at any position', () => {
    const base = new Uint8Array(100).fill(0x61);
    expect(isValidUtf8(base)).toBe(true);
    for (let i = 0; i < base.length; i++) {
      const bad = base.slice();
      bad[i] = 0x80;
      const v = new Utf8Validator();
      expect(v.push(bad)).toBe(false);
      expect(v.invalidAt).toBe(i);
    }
  });

  it('agrees with TextDecoder(fatal) on arbitrary bytes split arbitrarily', () => {
    fc.assert(
      fc.property(splitBytes, ({ bytes, chunks }) => {
        const v = new Utf8Validator();
        let ok = true;
        for (const c of chunks) ok = v.push(c) && ok;
        expect(ok && v.finish()).toBe(decoderAccepts(bytes));
        expect(isValidUtf8(bytes)).toBe(decoderAccepts(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('is invalid after exactly the prefixes a streaming TextDecoder(fatal) rejects', () => {
    // The WHATWG decoder refuses a byte as soon as no continuation could save it, as §8.1
    // lets an endpoint do: the validator must reject at the same byte, no earlier, no later.
    fc.assert(
      fc.property(utf8Bytes, (bytes) => {
        const v = new Utf8Validator();
        const judge = new TextDecoder('utf-8', { fatal: true });
        let judged = true;
        for (let i = 0; i < bytes.length; i++) {
          const ok = v.push(bytes.subarray(i, i + 1));
          if (judged) {
            try {
              judge.decode(bytes.subarray(i, i + 1), { stream: true });
            } catch {
              judged = false;
            }
          }
          expect(ok).toBe(judged);
          if (!ok) expect(v.invalidAt).toBeLessThanOrEqual(i);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
