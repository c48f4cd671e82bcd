// The two icon container formats the packagers want, written by hand: both are a short
// index followed by PNG images, which every supported OS version reads.
//
// ICO (Windows): ICONDIR {reserved 0, type 1, count} then one 16-byte ICONDIRENTRY per image
// {width, height (0 means 256), colours 0, reserved 0, planes 1, bits 32, size, offset},
// then the images. PNG entries are valid since Windows Vista.
// ICNS (macOS): 'icns' + total length (big-endian), then per image a 4-character type + its
// length including this 8-byte header + the PNG. ic07..ic10 are 128..1024 px; icp4/icp5 are
// 16/32 px, ic11..ic14 the @2x variants of 16..256 (PNG payloads since OS X 10.7).

export interface SizedPng {
  size: number;
  png: Uint8Array;
}

export function writeIco(images: readonly SizedPng[]): Uint8Array {
  const header = 6 + 16 * images.length;
  const total = header + images.reduce((n, i) => n + i.png.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0, true);
  dv.setUint16(2, 1, true);
  dv.setUint16(4, images.length, true);
  let offset = header;
  images.forEach((img, i) => {
    if (img.size < 1 || img.size > 256) throw new RangeError(`an ICO image is 1..256 px, not ${img.size}`);
    const e = 6 + 16 * i;
    out[e] = img.size === 256 ? 0 : img.size;
    out[e + 1] = img.size === 256 ? 0 : img.size;
    out[e + 2] = 0;
    out[e + 3] = 0;
    dv.setUint16(e + 4, 1, true);
    dv.setUint16(e + 6, 32, true);
    dv.setUint32(e + 8, img.png.length, true);
    dv.setUint32(e + 12, offset, true);
    out.set(img.png, offset);
    offset += img.png.length;
  });
  return out;
}

/** ICNS element types and the pixel size of the PNG each holds. */
export const ICNS_TYPES: ReadonlyArray<{ type: string; size: number }> = [
  { type: 'icp4', size: 16 },
  { type: 'icp5', size: 32 },
  { type: 'ic11', size: 32 },
  { type: 'ic12', size: 64 },
  { type: 'ic07', size: 128 },
  { type: 'ic13', size: 256 },
  { type: 'ic08', size: 256 },
  { type: 'ic14', size: 512 },
  { type: 'ic09', size: 512 },
  { type: 'ic10', size: 1024 },
];

export function writeIcns(pngBySize: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const parts: Array<{ type: string; png: Uint8Array }> = ICNS_TYPES.map(({ type, size }) => {
    const png = pngBySize.get(size);
    if (!png) throw new Error(`ICNS needs a ${size} px PNG for ${type}`);
    return { type, png };
  });
  const total = 8 + parts.reduce((n, p) => n + 8 + p.png.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const ascii = (s: string, at: number) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii('icns', 0);
  dv.setUint32(4, total, false);
  let at = 8;
  for (const p of parts) {
    ascii(p.type, at);
    dv.setUint32(at + 4, 8 + p.png.length, false);
    out.set(p.png, at + 8);
    at += 8 + p.png.length;
  }
  return out;
}

/** Width and height from a PNG's IHDR (for checks). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16, false), height: dv.getUint32(20, false) };
}

/** Reads an ICO's entries back: [size, png] (for checks). */
export function readIco(ico: Uint8Array): SizedPng[] {
  const dv = new DataView(ico.buffer, ico.byteOffset, ico.byteLength);
  if (dv.getUint16(0, true) !== 0 || dv.getUint16(2, true) !== 1) throw new Error('not an ICO');
  const n = dv.getUint16(4, true);
  return Array.from({ length: n }, (_, i) => {
    const e = 6 + 16 * i;
    const size = ico[e] === 0 ? 256 : ico[e]!;
    const len = dv.getUint32(e + 8, true);
    const off = dv.getUint32(e + 12, true);
    return { size, png: ico.subarray(off, off + len) };
  });
}

/** Reads an ICNS's elements back: [type, png] (for checks). */
export function readIcns(icns: Uint8Array): Array<{ type: string; png: Uint8Array }> {
  const dv = new DataView(icns.buffer, icns.byteOffset, icns.byteLength);
  const str = (at: number) => String.fromCharCode(...icns.subarray(at, at + 4));
  if (str(0) !== 'icns' || dv.getUint32(4, false) !== icns.length) throw new Error('not an ICNS');
  const out: Array<{ type: string; png: Uint8Array }> = [];
  for (let at = 8; at < icns.length; ) {
    const len = dv.getUint32(at + 4, false);
    if (len < 8 || at + len > icns.length) throw new Error('ICNS element overruns the file');
    out.push({ type: str(at), png: icns.subarray(at + 8, at + len) });
    at += len;
  }
  return out;
}
