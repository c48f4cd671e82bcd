// Packets from a pcap or pcapng file (what tcpdump, dumpcap and Wireshark write), read as a
// stream: one bounded read buffer, one packet at a time, so a capture of any size is never
// in memory. Then each packet's link layer, IPv4/IPv6 and TCP header, down to the segment.
//
// pcap: both byte orders, micro- and nanosecond magic (and the "modified" pcap of old
// patched tcpdumps). pcapng (draft-ietf-opsawg-pcapng): sections of either byte order, one
// after the other; interfaces with their own link type, if_tsresol and if_tsoffset;
// Enhanced, Simple and the obsolete Packet blocks; every other block skipped.
import { closeSync, openSync, readSync } from 'node:fs';
import { CaptureFormatError } from './capture-source';

export type PacketFileKind = 'pcap' | 'pcapng';

export interface Packet {
  /** epoch milliseconds (fractional: as fine as the file's resolution allows a double) */
  time: number;
  linktype: number;
  /** the captured bytes: a view valid until the next packet is read */
  data: Uint8Array;
  /** the packet's length on the wire (more than data.length when the snaplen cut it) */
  wireLength: number;
}

const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** A block or packet record larger than this is corruption, not data (dumpcap's own limit is 256 KiB a packet). */
const MAX_BLOCK = 64 * 1024 * 1024;

/** What the first four bytes say the file is: a pcap, a pcapng, or neither. */
export function packetFileKind(head: Uint8Array): PacketFileKind | null {
  if (head.length < 4) return null;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (be === PCAPNG_SHB) return 'pcapng';
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1].includes(be)) return 'pcap';
  return null;
}

/** Sequential reads through one buffer; `need(n)` makes n bytes available at `pos`. */
class Reader {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(1 << 20);
  private start = 0; // file offset of buf[0]
  private len = 0;
  /** file offset of the next unread byte */
  offset = 0;
  private eof = false;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** n bytes from the current offset (a view valid until the next call), or fewer at the end of the file. */
  take(n: number): Buffer {
    const rel = this.offset - this.start;
    if (rel + n > this.len && !this.eof) {
      // Keep what is unread, then fill.
      if (n > this.buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
        this.buf.copy(bigger, 0, rel, this.len);
        this.buf = bigger;
      } else this.buf.copy(this.buf, 0, rel, this.len);
      this.len -= rel;
      this.start = this.offset;
      while (this.len < n && !this.eof) {
        const got = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, this.start + this.len);
        if (got === 0) this.eof = true;
        this.len += got;
      }
    }
    const at = this.offset - this.start;
    const out = this.buf.subarray(at, Math.min(at + n, this.len));
    this.offset += out.length;
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

interface Interface {
  linktype: number;
  /** timestamp units per second */
  units: bigint;
  /** seconds added to every timestamp (if_tsoffset) */
  offset: bigint;
}

/** What the reader tolerated, for the warnings. */
export interface PacketFileNotes {
  /** the file ends inside a record (a capture cut off when its writer was killed) */
  cutOff: string | null;
}

/**
 * Every packet of the file, in file order. A file that is not what its magic says (a block
 * length that cannot be, a section without its byte-order magic) is a CaptureFormatError
 * naming the byte; a file that merely ends mid-record (a capture cut off) ends there, noted.
 */
export function* readPackets(path: string, file: string, notes: PacketFileNotes): Generator<Packet> {
  const r = new Reader(path);
  try {
    const magic = r.take(4);
    const kind = packetFileKind(magic);
    r.offset = 0;
    if (kind === 'pcapng') yield* pcapng(r, file, notes);
    else if (kind === 'pcap') yield* pcap(r, file, notes);
    else throw new CaptureFormatError(file, 'not a pcap or pcapng file', 'byte 0');
  } finally {
    r.close();
  }
}

function toMs(ts: bigint, units: bigint, offsetSeconds: bigint): number {
  const sec = ts / units + offsetSeconds;
  const frac = ts % units;
  return Number(sec) * 1000 + (Number(frac) * 1000) / Number(units);
}

function* pcap(r: Reader, file: string, notes: PacketFileNotes): Generator<Packet> {
  const h = r.take(24);
  if (h.length < 24) {
    notes.cutOff = 'the file ends inside the pcap header';
    return;
  }
  const m = h.readUInt32LE(0);
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34;
  const magic = le ? m : h.readUInt32BE(0);
  const nano = magic === 0xa1b23c4d;
  const modified = magic === 0xa1b2cd34; // records carry 8 more bytes (ifindex, protocol, type, pad)
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  // The low 16 bits are the link type; the upper ones carry FCS information (pcap 2.4 "LinkType and additional information").
  const linktype = u32(h, 20) & 0xffff;
  const recordHead = modified ? 24 : 16;
  for (;;) {
    const at = r.offset;
    const rh = r.take(recordHead);
    if (rh.length === 0) return;
    if (rh.length < recordHead) {
      notes.cutOff = `the file ends inside a packet record header at byte ${at}`;
      return;
    }
    const sec = u32(rh, 0);
    const sub = u32(rh, 4);
    const incl = u32(rh, 8);
    const orig = u32(rh, 12);
    if (incl > MAX_BLOCK) throw new CaptureFormatError(file, `a packet record says it holds ${incl} bytes (corrupt pcap?)`, `byte ${at}`);
    const data = r.take(incl);
    if (data.length < incl) {
      notes.cutOff = `the file ends inside the packet record at byte ${at}`;
      return;
    }
    const time = sec * 1000 + (nano ? sub / 1e6 : sub / 1e3);
    yield { time, linktype, data, wireLength: Math.max(orig, incl) };
  }
}

function* pcapng(r: Reader, file: string, notes: PacketFileNotes): Generator<Packet> {
  let le = true;
  let interfaces: Interface[] = [];
  let sawSection = false;
  for (;;) {
    const at = r.offset;
    const bh = r.take(8);
    if (bh.length === 0) return;
    if (bh.length < 8) {
      notes.cutOff = `the file ends inside a block header at byte ${at}`;
      return;
    }
    let type = bh.readUInt32LE(0);
    if (type === PCAPNG_SHB) {
      // A new section: its byte-order magic says how everything in it is written.
      const bom = r.take(4);
      if (bom.length < 4) {
        notes.cutOff = `the file ends inside a section header at byte ${at}`;
        return;
      }
      if (bom.readUInt32LE(0) === BYTE_ORDER_MAGIC) le = true;
      else if (bom.readUInt32BE(0) === BYTE_ORDER_MAGIC) le = false;
      else throw new CaptureFormatError(file, 'a pcapng section header without the byte-order magic 1A2B3C4D (corrupt pcapng?)', `byte ${at}`);
      r.offset = at + 8;
      interfaces = [];
      sawSection = true;
    } else if (!sawSection) {
      throw new CaptureFormatError(file, 'a pcapng file must start with a section header', `byte ${at}`);
    }
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    type = u32(bh, 0);
    const total = u32(bh, 4);
    if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK) {
      throw new CaptureFormatError(file, `a pcapng block of type ${type} says it is ${total} bytes long (corrupt pcapng?)`, `byte ${at}`);
    }
    const body = r.take(total - 8);
    if (body.length < total - 8) {
      notes.cutOff = `the file ends inside a pcapng block at byte ${at}`;
      return;
    }
    const bodyLen = total - 12;
    if (u32(body, bodyLen) !== total) {
      throw new CaptureFormatError(file, `a pcapng block's trailing length (${u32(body, bodyLen)}) differs from its leading one (${total}) (corrupt pcapng?)`, `byte ${at}`);
    }
    if (type === 1) {
      // Interface Description: link type, snaplen, options (if_tsresol 9, if_tsoffset 14).
      if (bodyLen < 8) throw new CaptureFormatError(file, 'an interface description block is too short', `byte ${at}`);
      const iface: Interface = { linktype: u16(body, 0), units: 1_000_000n, offset: 0n };
      for (let o = 8; o + 4 <= bodyLen; ) {
        const code = u16(body, o);
        const len = u16(body, o + 2);
        if (code === 0) break;
        if (o + 4 + len > bodyLen) break;
        if (code === 9 && len >= 1) {
          const v = body[o + 4]!;
          const exp = BigInt(v & 0x7f);
          iface.units = v & 0x80 ? 2n ** exp : 10n ** exp;
        } else if (code === 14 && len >= 8) {
          iface.offset = le ? body.readBigInt64LE(o + 4) : body.readBigInt64BE(o + 4);
        }
        o += 4 + ((len + 3) & ~3);
      }
      interfaces.push(iface);
    } else if (type === 6 || type === 2) {
      // Enhanced Packet (6): interface u32; obsolete Packet (2): interface u16, drops u16.
      if (bodyLen < 20) throw new CaptureFormatError(file, 'a packet block is too short', `byte ${at}`);
      const id = type === 6 ? u32(body, 0) : u16(body, 0);
      const iface = interfaces[id];
      if (!iface) throw new CaptureFormatError(file, `a packet block names interface ${id}, which the section has not described`, `byte ${at}`);
      const ts = (BigInt(u32(body, 4)) << 32n) | BigInt(u32(body, 8));
      const cap = u32(body, 12);
      const orig = u32(body, 16);
      if (20 + cap > bodyLen) throw new CaptureFormatError(file, `a packet block says it holds ${cap} bytes, more than the block`, `byte ${at}`);
      yield { time: toMs(ts, iface.units, iface.offset), linktype: iface.linktype, data: body.subarray(20, 20 + cap), wireLength: Math.max(orig, cap) };
    } else if (type === 3) {
      // Simple Packet: interface 0, no timestamp (the previous packet's time stands in).
      const iface = interfaces[0];
      if (!iface) throw new CaptureFormatError(file, 'a simple packet block before any interface description', `byte ${at}`);
      if (bodyLen < 4) throw new CaptureFormatError(file, 'a simple packet block is too short', `byte ${at}`);
      const orig = u32(body, 0);
      const cap = Math.min(orig, bodyLen - 4);
      yield { time: Number.NaN, linktype: iface.linktype, data: body.subarray(4, 4 + cap), wireLength: orig };
    }
    // Every other block (name resolution, statistics, custom, decryption secrets…) is skipped.
  }
}

// ---------------------------------------------------------------------------------------
// Link layer, IP, TCP

export interface TcpSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  /** the acknowledgment number (meaningful with the ACK flag) */
  ack: number;
  flags: number;
  payload: Uint8Array;
  /** payload bytes the snaplen cut off */
  missing: number;
}

export type Decoded = { tcp: TcpSegment } | { skip: 'not-ip' | 'not-tcp' | 'fragment' | 'truncated' | 'linktype' };

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** The link types read (pcap LINKTYPE_* numbers). */
export const LINKTYPES: Record<number, string> = {
  0: 'BSD loopback',
  1: 'Ethernet',
  12: 'raw IP',
  14: 'raw IP',
  101: 'raw IP',
  108: 'OpenBSD loopback',
  113: 'Linux cooked (SLL)',
  228: 'raw IPv4',
  229: 'raw IPv6',
  276: 'Linux cooked v2 (SLL2)',
};

/** Where the IP header starts, and which IP it is expected to be (0: by its version nibble). */
function ipStart(linktype: number, d: Uint8Array): number {
  const ethertype = (at: number) => (d[at]! << 8) | d[at + 1]!;
  switch (linktype) {
    case 1: {
      let at = 12;
      // 802.1Q / 802.1ad tags
      while (d.length >= at + 2 && (ethertype(at) === 0x8100 || ethertype(at) === 0x88a8 || ethertype(at) === 0x9100)) at += 4;
      if (d.length < at + 2) return -1;
      const t = ethertype(at);
      return t === 0x0800 || t === 0x86dd ? at + 2 : -1;
    }
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return 0;
    case 0:
    case 108:
      // A 4-byte address family (host order for 0, network order for 108): the version nibble tells.
      return d.length >= 4 ? 4 : -1;
    case 113: {
      if (d.length < 16) return -1;
      const t = ethertype(14);
      return t === 0x0800 || t === 0x86dd ? 16 : -1;
    }
    case 276: {
      if (d.length < 20) return -1;
      const t = ethertype(0);
      return t === 0x0800 || t === 0x86dd ? 20 : -1;
    }
    default:
      return -2;
  }
}

function ipv4Text(d: Uint8Array, at: number): string {
  return `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
}

function ipv6Text(d: Uint8Array, at: number): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((d[at + i]! << 8) | d[at + i + 1]!).toString(16));
  // RFC 5952: the longest run of zero words (two or more) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** The TCP segment a captured packet carries, or why it carries none this reader can use. */
export function decodePacket(p: Packet): Decoded {
  const d = p.data;
  const at = ipStart(p.linktype, d);
  if (at === -2) return { skip: 'linktype' };
  if (at < 0 || d.length < at + 1) return { skip: 'not-ip' };
  const version = d[at]! >> 4;
  let proto: number;
  let l4: number;
  let end: number;
  let src: string;
  let dst: string;
  if (version === 4) {
    if (d.length < at + 20) return { skip: 'truncated' };
    const ihl = (d[at]! & 0x0f) * 4;
    if (ihl < 20 || d.length < at + ihl) return { skip: 'truncated' };
    const total = (d[at + 2]! << 8) | d[at + 3]!;
    const frag = ((d[at + 6]! << 8) | d[at + 7]!) & 0x3fff; // MF and the offset
    if (frag !== 0) return { skip: 'fragment' };
    proto = d[at + 9]!;
    src = ipv4Text(d, at + 12);
    dst = ipv4Text(d, at + 16);
    l4 = at + ihl;
    // total 0: TCP segmentation offload left it unset; the captured length stands in.
    end = total >= ihl ? at + total : at + (p.wireLength - at);
  } else if (version === 6) {
    if (d.length < at + 40) return { skip: 'truncated' };
    const payloadLength = (d[at + 4]! << 8) | d[at + 5]!;
    proto = d[at + 6]!;
    src = ipv6Text(d, at + 8);
    dst = ipv6Text(d, at + 24);
    l4 = at + 40;
    end = payloadLength > 0 ? l4 + payloadLength : at + (p.wireLength - at);
    // Extension headers: hop-by-hop, routing, destination options, authentication are skipped; a fragment is not reassembled.
    for (let hops = 0; hops < 16; hops++) {
      if (proto === 0 || proto === 43 || proto === 60) {
        if (d.length < l4 + 2) return { skip: 'truncated' };
        const next = d[l4]!;
        l4 += (d[l4 + 1]! + 1) * 8;
        proto = next;
      } else if (proto === 51) {
        if (d.length < l4 + 2) return { skip: 'truncated' };
        const next = d[l4]!;
        l4 += (d[l4 + 1]! + 2) * 4;
        proto = next;
      } else if (proto === 44) {
        return { skip: 'fragment' };
      } else break;
    }
  } else return { skip: 'not-ip' };
  if (proto !== 6) return { skip: 'not-tcp' };
  if (d.length < l4 + 20) return { skip: 'truncated' };
  const off = (d[l4 + 12]! >> 4) * 4;
  if (off < 20 || d.length < l4 + off) return { skip: 'truncated' };
  const wireEnd = at + (p.wireLength - at);
  const segEnd = Math.min(end, wireEnd);
  const capEnd = Math.min(segEnd, d.length);
  const payload = capEnd > l4 + off ? d.subarray(l4 + off, capEnd) : new Uint8Array(0);
  return {
    tcp: {
      src,
      dst,
      srcPort: (d[l4]! << 8) | d[l4 + 1]!,
      dstPort: (d[l4 + 2]! << 8) | d[l4 + 3]!,
      seq: ((d[l4 + 4]! << 24) | (d[l4 + 5]! << 16) | (d[l4 + 6]! << 8) | d[l4 + 7]!) >>> 0,
      ack: ((d[l4 + 8]! << 24) | (d[l4 + 9]! << 16) | (d[l4 + 10]! << 8) | d[l4 + 11]!) >>> 0,
      flags: d[l4 + 13]!,
      payload,
      missing: Math.max(0, segEnd - Math.max(capEnd, l4 + off)),
    },
  };
}
