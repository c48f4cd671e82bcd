// The frame serializer (RFC 6455 §5.2). It writes any frame a debugger may want to send,
// including invalid ones on purpose: reserved opcodes, RSV bits, a length field that lies,
// a non-minimal length encoding. Validity is the caller's business (the endpoint checks
// what it sends in normal use); this function only refuses what cannot be encoded.

import type { LengthEncoding } from './frame';

export interface FrameSpec {
  fin: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** 0-15 */
  opcode: number;
  /** unmasked payload bytes */
  payload: Uint8Array;
  mask: boolean;
  /** 4 bytes; required when mask is true (tests pass a fixed one, the client a random one) */
  maskKey?: Uint8Array;
  /** the length to state in the header; defaults to payload.length (set it to lie on purpose) */
  length?: number;
  /** defaults to the minimal encoding for `length` */
  lengthEncoding?: LengthEncoding;
}

export class FrameEncodeError extends Error {
  override name = 'FrameEncodeError';
}

export function minimalLengthEncoding(length: number): LengthEncoding {
  return length < 126 ? 7 : length < 0x10000 ? 16 : 64;
}

/** Writes the header alone (2-14 bytes). */
export function encodeFrameHeader(spec: Omit<FrameSpec, 'payload'> & { length: number }): Uint8Array {
  const { length } = spec;
  if (!Number.isInteger(spec.opcode) || spec.opcode < 0 || spec.opcode > 15) {
    throw new FrameEncodeError(`opcode must be 0-15, got ${spec.opcode}`);
  }
  if (!Number.isSafeInteger(length) || length < 0) throw new FrameEncodeError(`invalid payload length ${length}`);
  const encoding = spec.lengthEncoding ?? minimalLengthEncoding(length);
  if (encoding === 7 && length > 125) throw new FrameEncodeError(`length ${length} does not fit the 7-bit field`);
  if (encoding === 16 && length > 0xffff) throw new FrameEncodeError(`length ${length} does not fit 16 bits`);
  if (spec.mask && (!spec.maskKey || spec.maskKey.length !== 4)) {
    throw new FrameEncodeError('a masked frame needs a 4-byte mask key');
  }
  const extra = encoding === 7 ? 0 : encoding === 16 ? 2 : 8;
  const header = new Uint8Array(2 + extra + (spec.mask ? 4 : 0));
  header[0] =
    (spec.fin ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) | (spec.rsv3 ? 0x10 : 0) | spec.opcode;
  header[1] = (spec.mask ? 0x80 : 0) | (encoding === 7 ? length : encoding === 16 ? 126 : 127);
  if (encoding === 16) {
    header[2] = length >>> 8;
    header[3] = length & 0xff;
  } else if (encoding === 64) {
    const view = new DataView(header.buffer);
    view.setUint32(2, Math.floor(length / 0x100000000));
    view.setUint32(6, length >>> 0);
  }
  if (spec.mask) header.set(spec.maskKey!, 2 + extra);
  return header;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs `buf` with the mask key in place (§5.3), `offset` being where `buf` starts within the
 * masked payload. Long buffers go a 32-bit word at a time, eight words a turn: about twice
 * as fast as one word a turn and four times byte by byte, and a client's large frames pass
 * through here on the proxy's hot path.
 */
export function maskInPlace(buf: Uint8Array, key: Uint8Array, offset = 0): Uint8Array {
  const n = buf.length;
  if (n < 128 || !LITTLE_ENDIAN) return applyMask(buf, key, buf, offset);
  // Bytes up to the first word boundary of the underlying memory, whole words, the rest.
  const head = (4 - (buf.byteOffset & 3)) & 3;
  const words = (n - head) >>> 2;
  const tail = head + (words << 2);
  xorBytes(buf, key, 0, head, offset);
  const r = (offset + head) & 3;
  xorWords(new Int32Array(buf.buffer, buf.byteOffset + head, words), key[r]! | (key[(r + 1) & 3]! << 8) | (key[(r + 2) & 3]! << 16) | (key[(r + 3) & 3]! << 24));
  xorBytes(buf, key, tail, n, offset);
  return buf;
}

// The loops are functions of their own so that each is optimized whole. Inline, the word
// loop was compiled on-stack mid-call (OSR) before the code after it had run, and that code
// then deoptimized at its first comparison on every call (V8 12, "insufficient type
// feedback"): a 256 KiB frame took ~1 ms instead of ~30 µs on the proxy's hot path.
function xorWords(w: Int32Array, k: number): void {
  const words = w.length;
  let j = 0;
  for (; j + 8 <= words; j += 8) {
    w[j]! ^= k;
    w[j + 1]! ^= k;
    w[j + 2]! ^= k;
    w[j + 3]! ^= k;
    w[j + 4]! ^= k;
    w[j + 5]! ^= k;
    w[j + 6]! ^= k;
    w[j + 7]! ^= k;
  }
  for (; j < words; j++) w[j]! ^= k;
}

function xorBytes(buf: Uint8Array, key: Uint8Array, from: number, to: number, offset: number): void {
  for (let i = from; i < to; i++) buf[i] = buf[i]! ^ key[(offset + i) & 3]!;
}

/** XORs `data` with the mask key into `out` (which may be `data` itself). §5.3 */
export function applyMask(data: Uint8Array, maskKey: Uint8Array, out: Uint8Array = new Uint8Array(data.length), offset = 0): Uint8Array {
  const m0 = maskKey[0]!, m1 = maskKey[1]!, m2 = maskKey[2]!, m3 = maskKey[3]!;
  const n = data.length;
  // `offset` is where `data` starts within the masked payload: the key rotates with it.
  let i = 0;
  const shift = offset & 3;
  for (; i < n && ((i + shift) & 3) !== 0; i++) out[i] = data[i]! ^ maskKey[(i + shift) & 3]!;
  for (; i + 3 < n; i += 4) {
    out[i] = data[i]! ^ m0;
    out[i + 1] = data[i + 1]! ^ m1;
    out[i + 2] = data[i + 2]! ^ m2;
    out[i + 3] = data[i + 3]! ^ m3;
  }
  for (; i < n; i++) out[i] = data[i]! ^ maskKey[(i + shift) & 3]!;
  return out;
}

/** Writes one whole frame: header followed by the (masked, if asked) payload. */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const header = encodeFrameHeader({ ...spec, length: spec.length ?? spec.payload.length });
  const out = new Uint8Array(header.length + spec.payload.length);
  out.set(header, 0);
  if (spec.mask) applyMask(spec.payload, spec.maskKey!, out.subarray(header.length));
  else out.set(spec.payload, header.length);
  return out;
}
