// pcapng blocks (draft-ietf-opsawg-pcapng): Section Header, Interface Description and
// Enhanced Packet, little-endian, with options (comments). Small and well-specified, so
// written here rather than pulled in.

const encoder = new TextEncoder();

/** LINKTYPE_RAW: packets start with an IPv4 or IPv6 header, no link layer to invent. */
export const LINKTYPE_RAW = 101;

type Option = [code: number, value: Uint8Array];

function optionsBytes(options: Option[]): Uint8Array {
  if (options.length === 0) return new Uint8Array(0);
  let size = 4; // opt_endofopt
  for (const [, v] of options) size += 4 + ((v.length + 3) & ~3);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [code, v] of options) {
    view.setUint16(at, code, true);
    view.setUint16(at + 2, v.length, true);
    out.set(v, at + 4);
    at += 4 + ((v.length + 3) & ~3);
  }
  return out; // the last 4 bytes stay zero: opt_endofopt
}

function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  out.set(body, 8);
  view.setUint32(total - 4, total, true);
  return out;
}

const text = (s: string) => encoder.encode(s);

export function sectionHeader(comment: string, application: string): Uint8Array {
  const opts = optionsBytes([
    [1, text(comment)], // opt_comment
    [4, text(application)], // shb_userappl
  ]);
  const body = new Uint8Array(16 + opts.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, 0x1a2b3c4d, true); // byte-order magic
  view.setUint16(4, 1, true); // major
  view.setUint16(6, 0, true); // minor
  view.setBigInt64(8, -1n, true); // section length: not given
  body.set(opts, 16);
  return block(0x0a0d0d0a, body);
}

export function interfaceDescription(linktype: number, name: string, description: string): Uint8Array {
  const opts = optionsBytes([
    [2, text(name)], // if_name
    [3, text(description)], // if_description
    [9, Uint8Array.of(6)], // if_tsresol: microseconds
  ]);
  const body = new Uint8Array(8 + opts.length);
  const view = new DataView(body.buffer);
  view.setUint16(0, linktype, true);
  view.setUint32(4, 0, true); // snaplen: no limit
  body.set(opts, 8);
  return block(0x00000001, body);
}

/** An Enhanced Packet Block; `timeMs` is epoch milliseconds (microseconds kept). */
export function enhancedPacket(timeMs: number, packet: Uint8Array, comment?: string): Uint8Array {
  const us = Math.max(0, Math.round(timeMs * 1000));
  const opts = comment ? optionsBytes([[1, text(comment)]]) : new Uint8Array(0);
  const padded = (packet.length + 3) & ~3;
  const body = new Uint8Array(20 + padded + opts.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, 0, true); // interface 0
  view.setUint32(4, Math.floor(us / 0x100000000), true);
  view.setUint32(8, us >>> 0, true);
  view.setUint32(12, packet.length, true);
  view.setUint32(16, packet.length, true);
  body.set(packet, 20);
  body.set(opts, 20 + padded);
  return block(0x00000006, body);
}

/** Size of an Enhanced Packet Block for a packet of `packetLength` bytes and an encoded comment. */
export function enhancedPacketSize(packetLength: number, comment: Uint8Array | null): number {
  return 28 + ((packetLength + 3) & ~3) + (comment ? 4 + ((comment.length + 3) & ~3) + 4 : 0) + 4;
}

/**
 * Writes an Enhanced Packet Block into `out` (exactly enhancedPacketSize bytes), the packet
 * itself written by `writePacket` at the offset it is given: no intermediate copies.
 */
export function writeEnhancedPacket(
  out: Uint8Array,
  timeMs: number,
  packetLength: number,
  writePacket: (target: Uint8Array, at: number) => void,
  comment: Uint8Array | null,
): void {
  const total = out.length;
  const view = new DataView(out.buffer, out.byteOffset, total);
  const us = Math.max(0, Math.round(timeMs * 1000));
  view.setUint32(0, 0x00000006, true);
  view.setUint32(4, total, true);
  view.setUint32(8, 0, true); // interface 0
  view.setUint32(12, Math.floor(us / 0x100000000), true);
  view.setUint32(16, us >>> 0, true);
  view.setUint32(20, packetLength, true);
  view.setUint32(24, packetLength, true);
  writePacket(out, 28);
  let at = 28 + packetLength;
  const padded = 28 + ((packetLength + 3) & ~3);
  while (at < padded) out[at++] = 0;
  if (comment) {
    view.setUint16(at, 1, true); // opt_comment
    view.setUint16(at + 2, comment.length, true);
    out.set(comment, at + 4);
    const end = at + 4 + ((comment.length + 3) & ~3);
    for (let k = at + 4 + comment.length; k < end; k++) out[k] = 0;
    view.setUint32(end, 0, true); // opt_endofopt
    at = end + 4;
  }
  view.setUint32(at, total, true);
}
