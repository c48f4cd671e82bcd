// `export --format pcapng`: every connection as the TCP stream that carried it, so that
// Wireshark and tshark dissect it as HTTP then WebSocket (docs/contracts.md "pcapng export").
//
// Per connection: SYN, SYN-ACK, ACK at startedAt; the HTTP upgrade request at requestAt
// and the response at responseAt, written from the handshake record (header order and
// case as recorded, CRLF line endings); every frame at its time exactly as the wire
// carried it — the recorded header bytes, then the payload masked again with its mask key
// when masked, still compressed when RSV1 (the capture stores it so); ACKs; FIN from the
// server then the client at endedAt. Sequence and acknowledgement numbers follow the
// bytes; IPv4 and TCP checksums are computed (IPv6 has no header checksum). Segments
// stay under the IP size limit (65495 bytes of TCP payload). Links are LINKTYPE_RAW: raw
// IPv4 or IPv6 packets, so no MAC addresses need inventing. Connections are interleaved by
// time. wss:// connections are written as their decrypted plaintext, on their real port.
//
// What cannot be reproduced, and what is done instead (each said in a packet comment):
// - no addresses in the record (an imported HAR, a failed connect): loopback addresses
//   and ports are invented;
// - a payload cut by the recorder's limit (`truncated`): the missing bytes are zero
//   padding (masked like the rest), so the stream keeps its framing and later frames
//   still dissect; a payload cut because the stream ended mid-frame (the
//   `truncated-frame` violation) or one missing more than 256 MiB is written as stored
//   and the stream simply ends there;
// - no handshake in the record but frames: a minimal upgrade is invented so Wireshark
//   switches to WebSocket;
// - a connection Framescope intervened in (a frame has `by` or `intervention`): a proxied
//   one is two TCP streams, its app leg (app ↔ Framescope) then its server leg (Framescope
//   ↔ server), each with the frames that leg carried (shared/legs.ts); Framescope's own
//   client is its server leg alone. The record has no address for Framescope: on the app
//   leg the server's address stands in for where the app connected, on the server leg a
//   loopback address and an invented port stand in for Framescope's outgoing side. The
//   first packet's comment of each stream says which leg it is;
// - ports: Wireshark finds HTTP on any port by its heuristic dissector; where a port
//   belongs to another protocol, decode as HTTP (`tshark -d tcp.port==PORT,http`) — the
//   section comment lists the ports.

import { createHash } from 'node:crypto';
import { applyMask } from '../../../../shared/codec/frame-writer';
import { computeAccept, writeRequestHead, writeResponseHead } from '../../../../shared/codec/handshake';
import type { FrameRecord, HttpRequestRecord, HttpResponseRecord } from '../../../../shared/model';
import { isIntervened, legFrames, type Leg } from '../../../../shared/legs';
import type { CaptureSource } from '../capture-source';
import type { ConnectionHead } from '../capture-shape';
import {
  MAX_SEGMENT,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
  mapIPv4,
  packetLength,
  writeIpTcp,
  type Segment,
  parseIPv4,
  parseIPv6,
  unmapIPv4,
  type Endpoint,
} from './ip-packets';
import { LINKTYPE_RAW, enhancedPacketSize, interfaceDescription, sectionHeader, writeEnhancedPacket } from './pcapng-blocks';
import { splitHostPort } from './har';
import { mergeByTime, withSink, type FileSink } from './sink';
import type { ExportResult } from './result';

declare const __FRAMESCOPE_VERSION__: string | undefined;
const VERSION = typeof __FRAMESCOPE_VERSION__ === 'string' ? __FRAMESCOPE_VERSION__ : 'dev';

/** Zero padding for a cut payload is written up to this many missing bytes. */
export const PAD_LIMIT = 256 * 1024 * 1024;
/** Window scale shift announced in the SYNs: a 1 GiB window, so large frames need no ACK in between. */
const WINDOW_SHIFT = 14;

/** A packet to write: the segment (payload a view of the frame's wire bytes), built in place when written. */
interface Packet {
  time: number;
  seg: Segment;
  comment?: string;
}

const encoder = new TextEncoder();

const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();

function parseAddress(text: string | null): Endpoint | null {
  if (!text) return null;
  const hp = splitHostPort(text);
  if (!hp || hp.port > 65535) return null;
  const ip = parseIPv4(hp.ip) ?? parseIPv6(hp.ip);
  return ip ? { ip: unmapIPv4(ip), port: hp.port } : null;
}

function urlPort(url: string): number {
  try {
    const u = new URL(url);
    if (u.port) return Number(u.port);
    return u.protocol === 'wss:' || u.protocol === 'https:' ? 443 : 80;
  } catch {
    return 80;
  }
}

/** Deterministic initial sequence numbers (FNV-1a of the id), so an export is reproducible. */
function isn(id: string, side: string): number {
  let h = 0x811c9dc5;
  for (const c of `${id}/${side}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

export interface ConnectionAddresses {
  client: Endpoint;
  server: Endpoint;
  /** what was invented, for a comment ('' when nothing) */
  invented: string;
}

/** The endpoints of a connection: the record's, else plausible loopback ones (and said so). */
export function addressesOf(head: ConnectionHead, index: number): ConnectionAddresses {
  let client = parseAddress(head.client);
  let server = parseAddress(head.server);
  const notes: string[] = [];
  const v6 = (client ?? server)?.ip.length === 16;
  if (!server) {
    server = { ip: v6 ? parseIPv6('::1')! : Uint8Array.of(127, 0, 0, 1), port: urlPort(head.url) };
    notes.push(`server address unknown, ${v6 ? '[::1]' : '127.0.0.1'}:${server.port} invented`);
  }
  if (!client) {
    client = { ip: server.ip.length === 16 ? parseIPv6('::1')! : Uint8Array.of(127, 0, 0, 1), port: 49152 + (index % 16000) };
    notes.push(`client address unknown, loopback port ${client.port} invented`);
  }
  if (client.ip.length !== server.ip.length) {
    // One side seen over IPv4, the other over IPv6: write both as IPv6 (IPv4-mapped).
    client = { ip: mapIPv4(client.ip), port: client.port };
    server = { ip: mapIPv4(server.ip), port: server.port };
  }
  return { client, server, invented: notes.join('; ') };
}

/** A minimal upgrade for a connection recorded without its handshake. */
function inventedHandshake(head: ConnectionHead, deflate: boolean): { request: HttpRequestRecord; response: HttpResponseRecord } {
  let host = 'localhost';
  let target = '/';
  try {
    const u = new URL(head.url);
    host = u.host || host;
    target = (u.pathname || '/') + u.search;
  } catch {
    /* keep the defaults */
  }
  const key = 'AAAAAAAAAAAAAAAAAAAAAA==';
  const ext: Array<[string, string]> = deflate ? [['Sec-WebSocket-Extensions', 'permessage-deflate']] : [];
  return {
    request: {
      method: 'GET',
      target,
      version: 'HTTP/1.1',
      headers: [['Host', host], ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', key], ['Sec-WebSocket-Version', '13'], ...ext],
    },
    response: {
      version: 'HTTP/1.1',
      status: 101,
      reason: 'Switching Protocols',
      headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', computeAccept(key, sha1)], ...ext],
    },
  };
}

/** The bytes a frame had on the wire, and what could not be reproduced. */
export function wireBytes(f: FrameRecord): { bytes: Uint8Array; note: string } {
  const headerLen = f.header.length;
  const storedLen = f.payload.length;
  let payloadLen = storedLen;
  let note = '';
  if (f.truncated) {
    const missing = f.length - storedLen;
    const streamEnded = !!f.violations?.some((v) => v.id === 'truncated-frame');
    if (!streamEnded && missing <= PAD_LIMIT) {
      payloadLen = f.length;
      note = `frame ${f.seq}: only ${storedLen} of ${f.length} payload bytes are in the capture; the other ${missing} are zero padding${f.masked ? ' (before masking)' : ''}`;
    } else {
      note = `frame ${f.seq}: only ${storedLen} of ${f.length} payload bytes are in the capture (${streamEnded ? 'the stream ended mid-frame' : 'too many missing to pad'}); the stream is cut here`;
    }
  }
  // One buffer: header, payload, zero padding, then masked in place.
  const out = Buffer.allocUnsafe(headerLen + payloadLen);
  out.set(f.header, 0);
  out.set(f.payload, headerLen);
  out.fill(0, headerLen + storedLen);
  if (f.masked && f.maskKey) {
    const payload = out.subarray(headerLen);
    applyMask(payload, f.maskKey, payload);
  }
  return { bytes: out, note };
}

class TcpConversation {
  private readonly seq: Record<'client' | 'server', number>;
  private ipId = { client: 1, server: 1 };
  private readonly ep: Record<'client' | 'server', Endpoint>;

  constructor(
    id: string,
    addr: Pick<ConnectionAddresses, 'client' | 'server'>,
  ) {
    this.ep = { client: addr.client, server: addr.server };
    this.seq = { client: isn(id, 'client'), server: isn(id, 'server') };
  }

  private other(side: 'client' | 'server'): 'client' | 'server' {
    return side === 'client' ? 'server' : 'client';
  }

  private packet(side: 'client' | 'server', flags: number, time: number, payload?: Uint8Array, options?: Uint8Array, comment?: string): Packet {
    const o = this.other(side);
    const seg: Segment = {
      src: this.ep[side],
      dst: this.ep[o],
      seq: this.seq[side],
      ack: flags & TCP_ACK ? this.seq[o] : 0,
      flags,
      window: 0xffff,
      options,
      payload,
      ipId: this.ipId[side]++,
    };
    this.seq[side] = (this.seq[side] + (payload?.length ?? 0) + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
    return comment ? { time, seg, comment } : { time, seg };
  }

  *open(time: number, comment: string): Generator<Packet> {
    // MSS, NOP, window scale: loopback-sized segments and a window large enough for any frame.
    const options = Uint8Array.of(2, 4, MAX_SEGMENT >> 8, MAX_SEGMENT & 0xff, 1, 3, 3, WINDOW_SHIFT);
    yield this.packet('client', TCP_SYN, time, undefined, options, comment);
    yield this.packet('server', TCP_SYN | TCP_ACK, time, undefined, options);
    yield this.packet('client', TCP_ACK, time);
  }

  /** Data from `side`, cut into segments, PSH on the last. */
  *send(side: 'client' | 'server', bytes: Uint8Array, time: number, comment?: string): Generator<Packet> {
    if (bytes.length === 0) return;
    for (let at = 0; at < bytes.length; at += MAX_SEGMENT) {
      const end = Math.min(bytes.length, at + MAX_SEGMENT);
      const last = end === bytes.length;
      yield this.packet(side, TCP_ACK | (last ? TCP_PSH : 0), time, bytes.subarray(at, end), undefined, last ? comment : undefined);
    }
  }

  ack(side: 'client' | 'server', time: number): Packet {
    return this.packet(side, TCP_ACK, time);
  }

  *close(time: number, comment: string): Generator<Packet> {
    // RFC 6455 §7.1.1: the server should close the TCP connection first.
    yield this.packet('server', TCP_FIN | TCP_ACK, time, undefined, undefined, comment);
    yield this.packet('client', TCP_FIN | TCP_ACK, time);
    yield this.packet('server', TCP_ACK, time);
  }
}

function describeClose(head: ConnectionHead): string {
  const c = head.close;
  const parts = [`connection ${head.id} ends`];
  if (c) {
    parts.push(`closed by ${c.by}${c.code !== null ? ` with ${c.code}${c.reason ? ` "${c.reason}"` : ''}` : ''}, ${c.clean ? 'clean' : 'not clean'}${c.reconstructed ? ' (reconstructed)' : ''}`);
  }
  if (head.errors.length) parts.push(`errors: ${head.errors.join(' | ')}`);
  return parts.join('; ');
}

/** One leg of a connection Framescope intervened in, as its own TCP stream. */
interface LegStream {
  leg: Leg;
  client: Endpoint;
  server: Endpoint;
  note: string;
}

/** The streams of a connection with interventions: a proxied one's two legs, a client's server leg. */
export function legStreams(head: ConnectionHead, addr: ConnectionAddresses): LegStream[] {
  const server: LegStream = { leg: 'server', client: addr.client, server: addr.server, note: "server leg: what went between Framescope (the client here) and the server" };
  if (head.mode !== 'proxy') return [server];
  // Framescope's outgoing side: loopback (of the server's family), a port of its own.
  const mapped = addr.server.ip.length === 16 && unmapIPv4(addr.server.ip).length === 4;
  const ip = addr.server.ip.length === 4 ? Uint8Array.of(127, 0, 0, 1) : mapped ? mapIPv4(Uint8Array.of(127, 0, 0, 1)) : parseIPv6('::1')!;
  let port = 49152 + (isn(head.id, 'leg') % 16000);
  if (port === addr.client.port) port++;
  const out: Endpoint = { ip, port };
  return [
    {
      leg: 'app',
      client: addr.client,
      server: addr.server,
      note: "app leg: what went between the app and Framescope (the app's originals, and what was delivered to it); Framescope's listening address is not in the record: the server's stands in",
    },
    {
      ...server,
      client: out,
      note: `server leg: what went between Framescope and the server (the server's originals, and what was delivered to it); Framescope's outgoing address is not in the record: ${formatEndpoint(out)} stands in`,
    },
  ];
}

function formatEndpoint(e: Endpoint): string {
  if (e.ip.length === 4) return `${e.ip.join('.')}:${e.port}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((e.ip[i]! << 8) | e.ip[i + 1]!).toString(16));
  return `[${words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${e.port}`;
}

/** Whether any frame of the connection says Framescope wrote or held it (one pass, stops at the first). */
function intervened(source: CaptureSource, index: number): boolean {
  for (const f of source.frames(index)) if (isIntervened(f)) return true;
  return false;
}

function* connectionPackets(source: CaptureSource, index: number, counts: { frames: number }, leg?: LegStream): Generator<Packet> {
  const head = source.connections[index]!.head;
  const addr = addressesOf(head, index);
  const tcp = new TcpConversation(leg?.leg === 'server' && head.mode === 'proxy' ? `${head.id}/server-leg` : head.id, leg ?? addr);
  const notes = [`Framescope connection ${head.id} (${head.mode}) ${head.url}`];
  if (leg) notes.push(leg.note);
  if (/^wss:/i.test(head.url) || head.tls) notes.push('TLS: the decrypted plaintext is shown');
  if (addr.invented) notes.push(addr.invented);

  const frames = (leg ? legFrames(source.frames(index), leg.leg) : source.frames(index))[Symbol.iterator]();
  let next = frames.next();
  if (!next.done && next.value.reconstructed) notes.push('frames reconstructed from message rows (no frame-level detail in the source)');

  let hs: { request: HttpRequestRecord; response: HttpResponseRecord | null; requestAt: number; responseAt: number | null } | null = head.handshake;
  if (!hs && !next.done) {
    // Frames without a handshake: invent the upgrade so the frames dissect as WebSocket.
    const t = next.value.time;
    hs = { ...inventedHandshake(head, next.value.rsv1), requestAt: t, responseAt: t };
    notes.push('no handshake in the record: a minimal HTTP upgrade was invented');
  }
  yield* tcp.open(head.startedAt, notes.join('; '));
  let lastTime = head.startedAt;
  if (hs) {
    yield* tcp.send('client', writeRequestHead(hs.request), hs.requestAt);
    lastTime = Math.max(lastTime, hs.requestAt);
    if (hs.response) {
      const at = hs.responseAt ?? hs.requestAt;
      yield* tcp.send('server', writeResponseHead(hs.response), at);
      lastTime = Math.max(lastTime, at);
      if (!next.done && next.value.from === 'server') yield tcp.ack('client', at);
      else if (next.done && head.endedAt === null) yield tcp.ack('client', at);
    } else if (next.done || next.value.from !== 'server') {
      yield tcp.ack('server', hs.requestAt);
    }
  }
  while (!next.done) {
    const f = next.value;
    next = frames.next();
    if (!leg) counts.frames++;
    const { bytes, note } = wireBytes(f);
    const comment = [note, f.violations?.length ? `frame ${f.seq}: ${f.violations.map((v) => v.id).join(', ')}` : ''].filter(Boolean).join('; ');
    yield* tcp.send(f.from, bytes, f.time, comment || undefined);
    lastTime = Math.max(lastTime, f.time);
    // The peer acknowledges unless its own next segment (data or the closing FIN) carries the ACK.
    const peer = f.from === 'client' ? 'server' : 'client';
    const nextSender = !next.done ? next.value.from : head.endedAt !== null ? 'server' : null;
    if (nextSender !== peer) yield tcp.ack(peer, f.time);
  }
  if (head.endedAt !== null) yield* tcp.close(Math.max(head.endedAt, lastTime), describeClose(head));
}

function writePacket(sink: FileSink, p: Packet): void {
  const length = packetLength(p.seg);
  const comment = p.comment ? encoder.encode(p.comment) : null;
  const block = sink.reserve(enhancedPacketSize(length, comment));
  writeEnhancedPacket(block, p.time, length, (target, at) => writeIpTcp(target, at, p.seg), comment);
}

export function exportPcapng(source: CaptureSource, out: string): ExportResult {
  const counts = { frames: 0 };
  let packets = 0;
  withSink(out, (sink) => {
    const ports = new Set<number>();
    source.connections.forEach((c, i) => ports.add(addressesOf(c.head, i).server.port));
    const portList = [...ports].filter((p) => p !== 80);
    sink.bytes(
      sectionHeader(
        `Written by Framescope ${VERSION} from ${source.file}: each WebSocket connection as one TCP stream ` +
          `(wss:// as decrypted plaintext); a proxied connection Framescope changed as two, its app leg then its server leg ` +
          `(each stream's first packet comment says which). Wireshark finds HTTP on most ports by heuristics; if a stream is not ` +
          `dissected as HTTP/WebSocket, decode its port as HTTP` +
          (portList.length ? ` (tshark ${portList.map((p) => `-d tcp.port==${p},http`).join(' ')}; Wireshark: Analyze > Decode As).` : '.'),
        `Framescope ${VERSION}`,
      ),
    );
    sink.bytes(interfaceDescription(LINKTYPE_RAW, 'framescope', 'WebSocket connections as recorded by Framescope'));
    const streams = source.connections.flatMap((c, i) => {
      if (!intervened(source, i)) return [connectionPackets(source, i, counts)];
      counts.frames += c.frameCount;
      return legStreams(c.head, addressesOf(c.head, i)).map((leg) => connectionPackets(source, i, counts, leg));
    });
    for (const p of mergeByTime(streams, (x) => x.time)) {
      writePacket(sink, p);
      packets++;
    }
  });
  return { connections: source.connections.length, frames: counts.frames, packets };
}
