// The packaging icons in resources/ (made by `npm run icons` from resources/icon.svg):
// every size each platform needs, and well-formed ICO and ICNS containers.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ICNS_TYPES, pngSize, readIcns, readIco, writeIcns, writeIco } from '../../scripts/icon-containers';

const res = (p: string) => new URL(`../../resources/${p}`, import.meta.url);
const png = (p: string) => new Uint8Array(readFileSync(res(p)));
/** PNG colour type from IHDR: 6 is RGBA (transparent corners). */
const colourType = (b: Uint8Array) => b[25];

describe('icons', () => {
  it('icon.png is 1024 px RGBA', () => {
    const b = png('icon.png');
    expect(pngSize(b)).toEqual({ width: 1024, height: 1024 });
    expect(colourType(b)).toBe(6);
  });

  it('Linux: icons/NxN.png from 16 to 1024, each its stated size', () => {
    for (const n of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
      expect(pngSize(png(`icons/${n}x${n}.png`)), `${n}`).toEqual({ width: n, height: n });
    }
  });

  it('Windows: icon.ico holds PNG entries 16..256 whose sizes match', () => {
    const entries = readIco(new Uint8Array(readFileSync(res('icon.ico'))));
    expect(entries.map((e) => e.size)).toEqual([16, 24, 32, 48, 64, 128, 256]);
    for (const e of entries) expect(pngSize(e.png)).toEqual({ width: e.size, height: e.size });
  });

  it('macOS: icon.icns holds every type with a PNG of its size', () => {
    const elements = readIcns(new Uint8Array(readFileSync(res('icon.icns'))));
    expect(elements.map((e) => e.type)).toEqual(ICNS_TYPES.map((t) => t.type));
    for (const [i, e] of elements.entries()) {
      const size = ICNS_TYPES[i]!.size;
      expect(pngSize(e.png), e.type).toEqual({ width: size, height: size });
    }
  });

  it('the source SVG is there', () => {
    expect(existsSync(res('icon.svg'))).toBe(true);
  });
});

describe('icon containers', () => {
  // a minimal PNG header: signature + IHDR with the size (enough for the containers)
  const fakePng = (n: number) => {
    const b = new Uint8Array(33);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(b.buffer).setUint32(16, n);
    new DataView(b.buffer).setUint32(20, n);
    return b;
  };

  it('ICO: 256 is written as 0 and read back as 256; offsets point at the images', () => {
    const ico = writeIco([16, 256].map((size) => ({ size, png: fakePng(size) })));
    expect(ico[6]).toBe(16);
    expect(ico[6 + 16]).toBe(0);
    expect(readIco(ico).map((e) => [e.size, pngSize(e.png).width])).toEqual([
      [16, 16],
      [256, 256],
    ]);
    expect(() => writeIco([{ size: 512, png: fakePng(512) }])).toThrow(RangeError);
  });

  it('ICNS: big-endian lengths that add up to the file', () => {
    const icns = writeIcns(new Map(ICNS_TYPES.map((t) => [t.size, fakePng(t.size)])));
    expect(String.fromCharCode(...icns.subarray(0, 4))).toBe('icns');
    expect(new DataView(icns.buffer).getUint32(4)).toBe(icns.length);
    expect(readIcns(icns)).toHaveLength(ICNS_TYPES.length);
    expect(() => writeIcns(new Map())).toThrow('ICNS needs');
  });
});
