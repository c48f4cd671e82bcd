// Packet captures made by hand for the pcap import tests: TCP conversations carrying a
// WebSocket, written as pcap or pcapng with a chosen link type, byte order and timestamp
// resolution. The IP/TCP packets come from the pcapng exporter's own writer (checksums and
// all); what is tested is the reader, not this.
import { ipTcpPacket, parseIPv4, parseIPv6, type Endpoint } from '../../main/engine/recording/export/ip-packets';
import { wireBytes } from '../../main/engine/recording/export/pcapng';
import { frame } from './build';

export interface Pkt {
  /** epoch ms; with `ns`, the nanoseconds past the ms */
  time: number;
  ns?: number;
  data: Uint8Array;
}

export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

export const requestHead = (host: string) =>
  Buffer.from(`GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
export const responseHead = () => Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`);

/** A frame's wire bytes (client frames masked with a fixed key). */
export function wsFrame(from: 'client' | 'server', opcode: number, payload: string | Uint8Array, fin = true): Buffer {
  return Buffer.from(wireBytes(frame({ seq: 0, time: 0, from, opcode, payload, fin })).bytes);
}

export function ep(ip: string, port: number): Endpoint {
  return { ip: parseIPv4(ip) ?? parseIPv6(ip)!, port };
}

/** One TCP conversation: the packets in the order written, with sequence numbers kept. */
export class Conversation {
  private seq = { client: 1000, server: 500_000 };
  readonly packets: Array<{ time: number; side: 'client' | 'server'; data: Uint8Array }> = [];
  constructor(
    readonly client: Endpoint,
    readonly server: Endpoint,
    isn?: { client: number; server: number },
  ) {
    if (isn) this.seq = { ...isn };
  }

  private seg(side: 'client' | 'server', flags: number, seq: number, payload?: Uint8Array): Uint8Array {
    const o = side === 'client' ? 'server' : 'client';
    return ipTcpPacket({ src: side === 'client' ? this.client : this.server, dst: side === 'client' ? this.server : this.client, seq, ack: this.seq[o], flags, window: 65535, payload });
  }

  open(time: number): this {
    this.packets.push({ time, side: 'client', data: this.seg('client', 0x02, this.seq.client) });
    this.seq.client = (this.seq.client + 1) >>> 0;
    this.packets.push({ time, side: 'server', data: this.seg('server', 0x12, this.seq.server) });
    this.seq.server = (this.seq.server + 1) >>> 0;
    this.packets.push({ time, side: 'client', data: this.seg('client', 0x10, this.seq.client) });
    return this;
  }

  /**
   * Data from a side, cut at `cuts` (offsets into `bytes`); `order` the segments' order on
   * the wire (indexes; repeat one for a retransmission, leave one out for a lost packet).
   */
  send(side: 'client' | 'server', bytes: Uint8Array, time: number, cuts: number[] = [], order?: number[]): this {
    const bounds = [0, ...cuts, bytes.length];
    const segs = bounds.slice(0, -1).map((start, i) => ({ seq: (this.seq[side] + start) >>> 0, payload: bytes.subarray(start, bounds[i + 1]) }));
    for (const i of order ?? segs.map((_, i) => i)) {
      const s = segs[i]!;
      this.packets.push({ time, side, data: this.seg(side, 0x18, s.seq, s.payload) });
    }
    this.seq[side] = (this.seq[side] + bytes.length) >>> 0;
    return this;
  }

  close(time: number): this {
    this.packets.push({ time, side: 'server', data: this.seg('server', 0x11, this.seq.server) });
    this.seq.server = (this.seq.server + 1) >>> 0;
    this.packets.push({ time, side: 'client', data: this.seg('client', 0x11, this.seq.client) });
    this.seq.client = (this.seq.client + 1) >>> 0;
    this.packets.push({ time, side: 'server', data: this.seg('server', 0x10, this.seq.server) });
    return this;
  }

  pkts(link: (ip: Uint8Array) => Uint8Array = (ip) => ip): Pkt[] {
    return this.packets.map((p) => ({ time: p.time, data: link(p.data) }));
  }
}

/** Link-layer wrappers around a raw IP packet. */
const ethertype = (ip: Uint8Array) => (ip[0]! >> 4 === 6 ? 0x86dd : 0x0800);
export const LINK = {
  ethernet: (ip: Uint8Array) => {
    const h = Buffer.alloc(14);
    h.writeUInt16BE(ethertype(ip), 12);
    return Buffer.concat([h, ip]);
  },
  sll: (ip: Uint8Array) => {
    const h = Buffer.alloc(16);
    h.writeUInt16BE(0, 0); // to us
    h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
    h.writeUInt16BE(6, 4);
    h.writeUInt16BE(ethertype(ip), 14);
    return Buffer.concat([h, ip]);
  },
  sll2: (ip: Uint8Array) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(ethertype(ip), 0);
    h.writeUInt32BE(1, 4); // interface index
    h.writeUInt16BE(772, 8);
    h[11] = 6;
    return Buffer.concat([h, ip]);
  },
  /** BSD loopback: the address family in the writer's byte order (little-endian here) */
  null: (ip: Uint8Array) => {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(ip[0]! >> 4 === 6 ? 30 : 2, 0);
    return Buffer.concat([h, ip]);
  },
};

/** A classic pcap file. */
export function pcap(pkts: Pkt[], o: { linktype: number; nano?: boolean; bigEndian?: boolean; snaplen?: number }): Buffer {
  const w32 = (b: Buffer, v: number, at: number) => (o.bigEndian ? b.writeUInt32BE(v >>> 0, at) : b.writeUInt32LE(v >>> 0, at));
  const w16 = (b: Buffer, v: number, at: number) => (o.bigEndian ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const h = Buffer.alloc(24);
  w32(h, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, o.snaplen ?? 262144, 16);
  w32(h, o.linktype, 20);
  const parts: Buffer[] = [h];
  for (const p of pkts) {
    const r = Buffer.alloc(16);
    const sec = Math.floor(p.time / 1000);
    const msIn = p.time - sec * 1000;
    w32(r, sec, 0);
    w32(r, o.nano ? Math.round(msIn * 1e6) + (p.ns ?? 0) : Math.round(msIn * 1e3), 4);
    const cap = Math.min(p.data.length, o.snaplen ?? Infinity);
    w32(r, cap, 8);
    w32(r, p.data.length, 12);
    parts.push(r, Buffer.from(p.data.subarray(0, cap)));
  }
  return Buffer.concat(parts);
}

/** A pcapng file: one section, one interface with the link type and if_tsresol 10^-`digits`. */
export function pcapng(pkts: Pkt[], o: { linktype: number; digits: number; bigEndian?: boolean }): Buffer {
  const le = !o.bigEndian;
  const block = (type: number, body: Buffer) => {
    const b = Buffer.alloc(12 + body.length);
    const w = (v: number, at: number) => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
    w(type, 0);
    w(b.length, 4);
    body.copy(b, 8);
    w(b.length, b.length - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  if (le) {
    shb.writeUInt32LE(0x1a2b3c4d, 0);
    shb.writeUInt16LE(1, 4);
  } else {
    shb.writeUInt32BE(0x1a2b3c4d, 0);
    shb.writeUInt16BE(1, 4);
  }
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8 + 8 + 4);
  if (le) {
    idb.writeUInt16LE(o.linktype, 0);
    idb.writeUInt16LE(9, 8);
    idb.writeUInt16LE(1, 10);
  } else {
    idb.writeUInt16BE(o.linktype, 0);
    idb.writeUInt16BE(9, 8);
    idb.writeUInt16BE(1, 10);
  }
  idb[12] = o.digits;
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  // An unknown block, to be skipped.
  parts.push(block(0x00000bad, Buffer.alloc(8, 7)));
  for (const p of pkts) {
    const units = 10n ** BigInt(o.digits);
    const ts = (BigInt(Math.round(p.time)) * units) / 1000n + (BigInt(p.ns ?? 0) * units) / 1_000_000_000n;
    const padded = (p.data.length + 3) & ~3;
    const body = Buffer.alloc(20 + padded);
    const w = (v: number, at: number) => (le ? body.writeUInt32LE(v >>> 0, at) : body.writeUInt32BE(v >>> 0, at));
    w(0, 0);
    w(Number(ts >> 32n), 4);
    w(Number(ts & 0xffffffffn), 8);
    w(p.data.length, 12);
    w(p.data.length, 16);
    Buffer.from(p.data).copy(body, 20);
    parts.push(block(6, body));
  }
  return Buffer.concat(parts);
}

/** A whole WebSocket conversation: handshake, client "hello", server "world", close both ways. */
export function simpleConversation(client: Endpoint, server: Endpoint, t0: number): Conversation {
  const c = new Conversation(client, server).open(t0);
  c.send('client', requestHead(`${server.ip.length === 4 ? server.ip.join('.') : 'localhost'}:${server.port}`), t0 + 1);
  c.send('server', responseHead(), t0 + 2);
  c.send('client', wsFrame('client', 1, 'hello'), t0 + 3);
  c.send('server', wsFrame('server', 1, 'world'), t0 + 4);
  c.send('client', wsFrame('client', 8, Buffer.from([0x03, 0xe8])), t0 + 5);
  c.send('server', wsFrame('server', 8, Buffer.from([0x03, 0xe8])), t0 + 6);
  return c.close(t0 + 7);
}
