// IPv4, IPv6 and TCP headers with valid checksums (RFC 791, RFC 8200, RFC 9293), for the
// pcapng export: raw IP packets, one TCP segment each.
import { isIPv4, isIPv6 } from 'node:net';

export interface Endpoint {
  /** 4 bytes (IPv4) or 16 (IPv6) */
  ip: Uint8Array;
  port: number;
}

export function parseIPv4(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

export function parseIPv6(text: string): Uint8Array | null {
  const s = text.replace(/%.*$/, '');
  if (!isIPv6(s)) return null;
  const out = new Uint8Array(16);
  const words = (part: string): number[] => {
    if (part === '') return [];
    const groups = part.split(':');
    const result: number[] = [];
    for (const g of groups) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g)!;
        result.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else result.push(parseInt(g, 16));
    }
    return result;
  };
  const gap = s.indexOf('::');
  const head = words(gap < 0 ? s : s.slice(0, gap));
  const tail = gap < 0 ? [] : words(s.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  all.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets report) as IPv4. */
export function unmapIPv4(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return ip;
  return ip.slice(12);
}

export function mapIPv4(ip: Uint8Array): Uint8Array {
  if (ip.length === 16) return ip;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip, 12);
  return out;
}

/** One's-complement sum of 16-bit big-endian words (RFC 1071), not yet folded or inverted. */
function sum16(bytes: Uint8Array, start: number, end: number, acc: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) acc += bytes[i]! << 8;
  // Fold now and then so the sum stays an exact small integer.
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface Segment {
  src: Endpoint;
  dst: Endpoint;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** TCP options, a multiple of 4 bytes */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** IPv4 identification */
  ipId?: number;
}

/** The largest TCP payload that keeps an IPv4 packet (and an IPv6 payload) within 65535 bytes. */
export const MAX_SEGMENT = 65535 - 20 - 20;

/** Bytes of the raw IP packet carrying this segment. */
export function packetLength(s: Segment): number {
  return (s.src.ip.length === 16 ? 40 : 20) + 20 + (s.options?.length ?? 0) + (s.payload?.length ?? 0);
}

function u16(p: Uint8Array, at: number, v: number): void {
  p[at] = (v >>> 8) & 0xff;
  p[at + 1] = v & 0xff;
}

function u32(p: Uint8Array, at: number, v: number): void {
  p[at] = (v >>> 24) & 0xff;
  p[at + 1] = (v >>> 16) & 0xff;
  p[at + 2] = (v >>> 8) & 0xff;
  p[at + 3] = v & 0xff;
}

/**
 * Writes the raw IP packet (IPv4 or IPv6 by the addresses' size) carrying one TCP segment
 * into `p` at `at`, every byte of it; returns its length. Written in place, without
 * allocating: the pcapng export does this for every packet.
 */
export function writeIpTcp(p: Uint8Array, at: number, s: Segment): number {
  const v6 = s.src.ip.length === 16;
  const optLen = s.options?.length ?? 0;
  const payLen = s.payload?.length ?? 0;
  const tcpLen = 20 + optLen + payLen;
  const ipLen = v6 ? 40 : 20;
  const total = ipLen + tcpLen;
  if ((v6 ? tcpLen : total) > 65535) throw new RangeError(`a ${total}-byte packet is over the IP limit`);
  if (v6) {
    u32(p, at, 0x60000000); // version 6, traffic class 0, flow label 0
    u16(p, at + 4, tcpLen);
    p[at + 6] = 6; // next header: TCP
    p[at + 7] = 64; // hop limit
    p.set(s.src.ip, at + 8);
    p.set(s.dst.ip, at + 24);
  } else {
    p[at] = 0x45; // version 4, IHL 5
    p[at + 1] = 0;
    u16(p, at + 2, total);
    u16(p, at + 4, (s.ipId ?? 0) & 0xffff);
    u16(p, at + 6, 0x4000); // don't fragment
    p[at + 8] = 64; // TTL
    p[at + 9] = 6; // TCP
    u16(p, at + 10, 0);
    p.set(s.src.ip, at + 12);
    p.set(s.dst.ip, at + 16);
    u16(p, at + 10, ~fold(sum16(p, at, at + 20, 0)) & 0xffff);
  }
  const t = at + ipLen;
  u16(p, t, s.src.port);
  u16(p, t + 2, s.dst.port);
  u32(p, t + 4, s.seq >>> 0);
  u32(p, t + 8, s.ack >>> 0);
  p[t + 12] = ((20 + optLen) / 4) << 4;
  p[t + 13] = s.flags;
  u16(p, t + 14, s.window);
  u16(p, t + 16, 0);
  u16(p, t + 18, 0);
  if (s.options) p.set(s.options, t + 20);
  if (s.payload) p.set(s.payload, t + 20 + optLen);
  // Checksum over the pseudo-header (addresses, protocol, TCP length), header and data.
  let acc = v6 ? sum16(p, at + 8, at + 40, 0) + Math.floor(tcpLen / 0x10000) + (tcpLen & 0xffff) + 6 : sum16(p, at + 12, at + 20, 0) + 6 + tcpLen;
  acc = sum16(p, t, at + total, acc);
  u16(p, t + 16, ~fold(acc) & 0xffff);
  return total;
}

/** The packet as a new array (tests, one-offs). */
export function ipTcpPacket(s: Segment): Uint8Array {
  const p = new Uint8Array(packetLength(s));
  writeIpTcp(p, 0, s);
  return p;
}
