// Import from a packet capture (pcap or pcapng: tcpdump, dumpcap, Wireshark, Framescope's
// own export): every WebSocket connection in it, decoded as the proxy decodes what it
// relays (the observer codec, permessage-deflate as the heads negotiated).
//
// One pass over the file: each packet's TCP segment goes to its connection (by addresses
// and ports), whose two directions are put back in order (tcp-stream.ts). A client stream
// that starts with an HTTP request with "Upgrade: websocket", on any port, is a WebSocket
// candidate; the server's 101 starts the frames of both directions. Each frame's time is
// that of the packet that completed it. A stream that starts with a TLS handshake record is
// skipped and listed (it cannot be decrypted); any other TCP stream is counted as not
// WebSocket. Bytes the capture lacks are a gap, declared as soon as the other side
// acknowledges bytes past it: a `tcp-gap:` error on the connection says how many bytes are
// missing where, and after which frame; that direction's frames resume at the next frame
// start that can be found with confidence (resync.ts), and the error says where, and how
// many captured bytes were skipped to get there.
//
// Frames go to a spool file as they are decoded (capture v1 frame JSON, a line each) with
// each connection's line offsets kept, so memory holds the connections' heads and the
// reassembly windows, not the frames; frames(i) reads them back in order.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { CloseRecord, FrameRecord, HandshakeRecord, HttpRequestRecord, HttpResponseRecord, Side } from '../../../shared/model';
import { HandshakeError, HttpHeadParser, assembleHandshake, checkResponse, headerList, headerValues, unansweredHandshake } from '../../../shared/codec/handshake';
import { StreamObserver, type ObservedFrame } from '../../../shared/codec/observer';
import { inflaterFor } from '../../../shared/codec/compression';
import { frameFromJson, frameToJson, toFrameRecord } from '../../../shared/records';
import type { FrameJson } from '../../../shared/model';
import { base64, fromBase64 } from '../base64';
import { zlibCompression } from '../zlib-compression';
import type { ConnectionHead } from './capture-shape';
import type { CaptureSource } from './capture-source';
import { ACK, FIN, LINKTYPES, RST, SYN, decodePacket, readPackets, type PacketFileKind, type PacketFileNotes, type TcpSegment } from './packets';
import { TcpDirection } from './tcp-stream';
import { Resync } from './resync';
import type { DeflateParams } from '../../../shared/codec/extensions';

const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();

/** Bytes of one side held while the handshake is not complete (the other head, deflate terms). */
const PENDING_LIMIT = 4 * 1024 * 1024;
/** Skipped TLS streams listed one by one; past this, counted. */
const LIST_LIMIT = 20;

/** One gap in a WebSocket direction, and how decoding went on after it (its error text at the end). */
interface GapNote {
  side: Side;
  at: number;
  missing: number;
  /** number of this side's last frame before the gap, or null */
  after: number | null;
  /** where frames resumed, or why not */
  outcome: { resumedAt: number; skipped: number } | { nextGap: number; skipped: number } | { skipped: number; ended: true } | null;
  /** number of this side's first frame after the resume */
  from: number | null;
  errorIndex: number;
}

type Phase = 'undecided' | 'request' | 'response' | 'websocket' | 'refused' | 'tls' | 'other';

const endpoint = (ip: string, port: number) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

/** The first bytes of an HTTP request line: a token of capitals, then a space. */
function looksLikeRequest(b: Uint8Array): boolean | null {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x20) return i > 0;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d) || i > 20) return false;
  }
  return null; // not enough bytes to tell
}

interface Spool {
  fd: number;
  dir: string;
  size: number;
  pending: string[];
  pendingLength: number;
}

class Connection {
  readonly id: string;
  head!: ConnectionHead;
  /** spool line offsets and lengths of this connection's frames */
  offsets: number[] = [];
  lengths: number[] = [];
  /** each frame's time, in the order decoded */
  times: number[] = [];
  constructor(id: string) {
    this.id = id;
  }
}

/** One TCP connection (4-tuple) as it is read. */
class Flow {
  phase: Phase = 'undecided';
  /** the key of the client's direction (the SYN's sender, or the one that sent the request) */
  clientKey: string | null = null;
  readonly dirs = new Map<string, { dir: TcpDirection; src: string; dst: string }>();
  startedAt: number;
  lastAt: number;
  endedAt: number | null = null;
  reset: Side | null = null;
  readonly pending: Record<Side, Array<{ bytes: Uint8Array; time: number; at: number; segmentStart: boolean }>> = { client: [], server: [] };
  pendingBytes = 0;
  requestParser: HttpHeadParser<'request'> | null = null;
  responseParser: HttpHeadParser<'response'> | null = null;
  request: HttpRequestRecord | null = null;
  requestAt = 0;
  response: HttpResponseRecord | null = null;
  observers: Record<Side, StreamObserver> | null = null;
  /** a direction whose bytes are no longer decoded (held too long before the handshake, or a gap in it) */
  stopped: Record<Side, boolean> = { client: false, server: false };
  /** stream offset of each direction's first WebSocket byte (after its HTTP head) */
  wsBase: Record<Side, number> = { client: 0, server: 0 };
  deflate: DeflateParams | null = null;
  /** a direction hunting for a frame start after a gap */
  resync: Record<Side, { r: Resync; note: GapNote } | null> = { client: null, server: null };
  /** a gap whose first frame after the resume is still to come */
  awaitingFirst: Record<Side, GapNote | null> = { client: null, server: null };
  /** "messages cannot be inflated after the gap" has been said */
  inflateLostSaid: Record<Side, boolean> = { client: false, server: false };
  readonly gaps: GapNote[] = [];
  /** each side's last frame, as numbered when decoded */
  lastOf: Record<Side, number | null> = { client: null, server: null };
  /** time of each side's last bytes handed to its decoder */
  lastData: Record<Side, number> = { client: 0, server: 0 };
  conn: Connection | null = null;
  errors: string[] = [];
  seq = 0;

  constructor(readonly key: string, time: number) {
    this.startedAt = time;
    this.lastAt = time;
  }

  side(dirKey: string): Side {
    return dirKey === this.clientKey ? 'client' : 'server';
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function gapHead(side: Side, at: number, missing: number): string {
  return `tcp-gap: the ${side}'s TCP stream is missing ${plural(missing, 'byte')} at byte ${at} of the stream (not in the capture)`;
}

/** A gap's error: where it is (bytes, and the frame it comes after), and where decoding resumed. */
function gapText(g: GapNote): string {
  const where = `${gapHead(g.side, g.at, g.missing)}, ${g.after === null ? `before the ${g.side}'s first frame` : `after the ${g.side}'s frame #${g.after}`}`;
  const o = g.outcome;
  if (o === null) return `${where}: its frames after it are not decoded`;
  if ('resumedAt' in o) {
    const from = g.from === null ? ' (no frame follows)' : `, from frame #${g.from}`;
    if (o.skipped === 0) return `${where}: its frames resume right after it${from}`;
    return `${where}: its frames resume at byte ${o.resumedAt} of the stream after skipping ${plural(o.skipped, 'byte')} (a frame start is found there, none before)${from}`;
  }
  if ('nextGap' in o) return `${where}: no frame start could be confirmed in the ${plural(o.skipped, 'byte')} before the next gap`;
  return `${where}: no frame start could be confirmed in the ${plural(o.skipped, 'byte')} after it: its frames after it are not decoded`;
}

/**
 * Puts a connection's frames in time order (stable), and returns the number each frame
 * decoded as gets. Frames are decoded in capture order, which is time order, except after
 * a gap: the frames after it come out once a frame start is confirmed, a few segments
 * later, when the other direction may have had frames decoded in between.
 */
function inTimeOrder(conn: Connection): (decoded: number) => number {
  const t = conn.times;
  let sorted = true;
  for (let i = 1; i < t.length && sorted; i++) if (t[i]! < t[i - 1]!) sorted = false;
  if (sorted) return (i) => i;
  const order = t.map((_, i) => i).sort((a, b) => t[a]! - t[b]! || a - b);
  const position = new Array<number>(order.length);
  order.forEach((decoded, i) => (position[decoded] = i));
  conn.offsets = order.map((i) => conn.offsets[i]!);
  conn.lengths = order.map((i) => conn.lengths[i]!);
  conn.times = order.map((i) => t[i]!);
  return (i) => position[i]!;
}

export interface PcapImportStats {
  tcpConnections: number;
}

/** Reads a pcap/pcapng file whole (one pass) into a CaptureSource; the frames stay in a spool file until close(). */
export function openPacketCapture(path: string, file: string, kind: PacketFileKind): CaptureSource {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-pcap-'));
  const spool: Spool = { fd: openSync(join(dir, 'frames.ndjson'), 'w+'), dir, size: 0, pending: [], pendingLength: 0 };
  const closeSpool = () => {
    try {
      closeSync(spool.fd);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  let result: { connections: Connection[]; warnings: string[] };
  try {
    result = readAll(path, file, spool);
    flush(spool);
  } catch (err) {
    closeSpool();
    throw err;
  }
  const { connections, warnings } = result;
  let closed = false;
  return {
    kind,
    file,
    createdAt: new Date().toISOString(),
    connections: connections.map((c) => ({ head: c.head, frameCount: c.offsets.length })),
    frames: (index) => spooledFrames(spool, connections[index]!),
    warnings,
    close: () => {
      if (closed) return;
      closed = true;
      closeSpool();
    },
  };
}

function writeLine(spool: Spool, line: string): { at: number; length: number } {
  const length = Buffer.byteLength(line);
  const at = spool.size;
  spool.size += length;
  spool.pending.push(line);
  spool.pendingLength += length;
  if (spool.pendingLength >= 1 << 20) flush(spool);
  return { at, length };
}

function flush(spool: Spool): void {
  if (spool.pending.length === 0) return;
  writeSync(spool.fd, spool.pending.join(''));
  spool.pending = [];
  spool.pendingLength = 0;
}

function* spooledFrames(spool: Spool, c: Connection): Generator<FrameRecord> {
  let buf = Buffer.alloc(64 * 1024);
  for (let i = 0; i < c.offsets.length; i++) {
    const length = c.lengths[i]!;
    if (length > buf.length) buf = Buffer.alloc(length);
    readSync(spool.fd, buf, 0, length, c.offsets[i]!);
    const f = frameFromJson(JSON.parse(buf.toString('utf8', 0, length)) as FrameJson, fromBase64);
    // Frames are numbered in time order (see inTimeOrder), not in the order decoded.
    f.seq = i;
    yield f;
  }
}

function readAll(path: string, file: string, spool: Spool): { connections: Connection[]; warnings: string[] } {
  const flows = new Map<string, Flow>();
  const done: Flow[] = [];
  const connections: Connection[] = [];
  const counts = { packets: 0, notTcp: 0, fragments: 0, truncated: 0, snapCut: 0, linktypes: new Set<number>(), noSyn: 0 };
  const notes: PacketFileNotes = { cutOff: null };
  let lastTime = 0;
  const responseAt = new Map<Flow, number>();

  const newFlow = (key: string, time: number): Flow => {
    const flow = new Flow(key, time);
    flows.set(key, flow);
    return flow;
  };

  for (const packet of readPackets(path, file, notes)) {
    counts.packets++;
    if (Number.isNaN(packet.time)) packet.time = lastTime;
    lastTime = packet.time;
    const d = decodePacket(packet);
    if ('skip' in d) {
      if (d.skip === 'fragment') counts.fragments++;
      else if (d.skip === 'truncated') counts.truncated++;
      else if (d.skip === 'linktype') counts.linktypes.add(packet.linktype);
      else counts.notTcp++;
      continue;
    }
    const s = d.tcp;
    if (s.missing > 0) counts.snapCut++;
    const a = endpoint(s.src, s.srcPort);
    const b = endpoint(s.dst, s.dstPort);
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    let flow = flows.get(key);
    const isSyn = (s.flags & SYN) !== 0 && (s.flags & ACK) === 0;
    const own = flow?.dirs.get(a)?.dir;
    if (flow && isSyn && own && (flow.endedAt !== null || own.next > 0)) {
      // A new connection on the same addresses and ports (a SYN after data): the old one is over.
      done.push(flow);
      flows.delete(key);
      flow = undefined;
    }
    flow ??= newFlow(key, packet.time);
    segment(flow, a, b, s, packet.time);
  }

  for (const flow of [...done, ...flows.values()]) finishFlow(flow, lastTime);
  const all = [...done, ...flows.values()];
  for (const flow of all) if (!flow.dirs.get(flow.clientKey ?? '')?.dir.synSeen && flow.conn) counts.noSyn++;

  // ---- per flow -------------------------------------------------------------------------

  function segment(flow: Flow, a: string, b: string, s: TcpSegment, time: number): void {
    flow.lastAt = time;
    let entry = flow.dirs.get(a);
    if (!entry) {
      const dirKey = a;
      const dir = new TcpDirection({
        data: (bytes, t, at, segmentStart) => onData(flow, dirKey, bytes, t, at, segmentStart),
        gap: (at, missing, t) => onGap(flow, dirKey, at, missing, t),
      });
      entry = { dir, src: a, dst: b };
      flow.dirs.set(a, entry);
    }
    const dir = entry.dir;
    if (s.flags & SYN) {
      if (!(s.flags & ACK) && flow.clientKey === null) {
        flow.clientKey = a;
        flow.startedAt = time;
      } else if (s.flags & ACK && flow.clientKey === null) flow.clientKey = b;
      dir.syn(s.seq);
      if (s.payload.length === 0) return;
      s = { ...s, seq: (s.seq + 1) >>> 0 };
    }
    if (s.flags & RST) {
      if (flow.reset === null && flow.endedAt === null) {
        flow.reset = a === flow.clientKey ? 'client' : 'server';
        flow.endedAt = time;
      }
    }
    // What this side acknowledges of the other's stream (before its own bytes: it had
    // received those when it sent this): a hole below it is lost for good.
    if (s.flags & ACK) flow.dirs.get(b)?.dir.ack(s.ack, time);
    if (s.payload.length > 0 || s.flags & FIN) dir.segment(s.seq, s.payload, (s.flags & FIN) !== 0, time);
    if (s.flags & FIN && flow.endedAt === null && [...flow.dirs.values()].every((e) => e.dir.finAt !== null) && flow.dirs.size === 2) {
      flow.endedAt = time;
    }
  }

  function onData(flow: Flow, dirKey: string, bytes: Uint8Array, time: number, at: number, segmentStart: boolean): void {
    if (flow.phase === 'undecided') {
      if (flow.clientKey !== null && dirKey !== flow.clientKey) {
        // The server spoke first: not HTTP (or the request was not captured).
        flow.phase = bytes[0] === 0x16 && bytes[1] === 0x03 ? 'tls' : 'other';
        return;
      }
      if (bytes[0] === 0x16 && (bytes.length < 2 || bytes[1] === 0x03)) {
        flow.phase = 'tls';
        flow.clientKey ??= dirKey;
        return;
      }
      const req = looksLikeRequest(bytes);
      if (req === false) {
        flow.phase = 'other';
        return;
      }
      flow.clientKey ??= dirKey;
      flow.phase = 'request';
      flow.requestParser = new HttpHeadParser('request');
    }
    const side = flow.side(dirKey);
    switch (flow.phase) {
      case 'request':
        if (side === 'server') return hold(flow, side, bytes, time, at, segmentStart);
        return feedRequest(flow, bytes, time, at);
      case 'response':
        if (side === 'client') return hold(flow, side, bytes, time, at, segmentStart);
        return feedResponse(flow, bytes, time, at);
      case 'websocket':
        return observe(flow, side, bytes, time, at, segmentStart);
      default:
        return;
    }
  }

  function hold(flow: Flow, side: Side, bytes: Uint8Array, time: number, at: number, segmentStart: boolean): void {
    if (flow.pendingBytes + bytes.length > PENDING_LIMIT) {
      if (flow.conn && !flow.stopped[side]) {
        flow.errors.push(`the ${side} sent more than ${PENDING_LIMIT} bytes before the handshake completed: its bytes after that are not decoded`);
      }
      flow.stopped[side] = true;
      return;
    }
    flow.pending[side].push({ bytes: Uint8Array.from(bytes), time, at, segmentStart });
    flow.pendingBytes += bytes.length;
  }

  function feedRequest(flow: Flow, bytes: Uint8Array, time: number, at: number): void {
    let r;
    try {
      r = flow.requestParser!.receive(bytes);
    } catch (err) {
      if (!(err instanceof HandshakeError)) throw err;
      flow.phase = 'other';
      return;
    }
    if (!r.done) return;
    const request = r.head;
    if (!headerList(request.headers, 'Upgrade').some((t) => t.toLowerCase() === 'websocket')) {
      flow.phase = 'other';
      return;
    }
    flow.request = request;
    flow.requestAt = time;
    flow.conn = new Connection(`p${connections.length + 1}`);
    connections.push(flow.conn);
    flow.phase = 'response';
    flow.responseParser = new HttpHeadParser('response');
    flow.wsBase.client = at + bytes.length - r.rest.length;
    if (r.rest.length > 0) hold(flow, 'client', r.rest, time, flow.wsBase.client, false);
    // The server's bytes that came before the request was complete (capture order).
    const early = flow.pending.server.splice(0);
    flow.pendingBytes = flow.pending.client.reduce((n, p) => n + p.bytes.length, 0);
    for (const p of early) if (flow.phase === 'response') feedResponse(flow, p.bytes, p.time, p.at);
  }

  function feedResponse(flow: Flow, bytes: Uint8Array, time: number, at: number): void {
    let r;
    try {
      r = flow.responseParser!.receive(bytes);
    } catch (err) {
      if (!(err instanceof HandshakeError)) throw err;
      flow.errors.push(`the server's answer is not an HTTP response: ${err.message}`);
      flow.phase = 'refused';
      return;
    }
    if (!r.done) return;
    const response = r.head;
    flow.response = response;
    const verdict = checkResponse(flow.request!, response, sha1);
    if (response.status !== 101) {
      flow.errors.push(`the server answered ${response.status} ${response.reason}, not 101 Switching Protocols`);
      flow.phase = 'refused';
      return;
    }
    if (!verdict.ok) flow.errors.push(`the handshake fails a check: ${verdict.failure}`);
    const params = verdict.deflate;
    flow.deflate = params ?? null;
    flow.wsBase.server = at + bytes.length - r.rest.length;
    const c2s = new StreamObserver({ from: 'client', inflater: params ? inflaterFor(zlibCompression, params, 'client') : null });
    const s2c = new StreamObserver({ from: 'server', inflater: params ? inflaterFor(zlibCompression, params, 'server') : null });
    StreamObserver.pair(c2s, s2c);
    flow.observers = { client: c2s, server: s2c };
    flow.phase = 'websocket';
    responseAt.set(flow, time);
    const early = flow.pending.client.splice(0);
    flow.pendingBytes = 0;
    for (const p of early) observe(flow, 'client', p.bytes, p.time, p.at, p.segmentStart);
    if (r.rest.length > 0) observe(flow, 'server', r.rest, time, flow.wsBase.server, false);
  }

  function observe(flow: Flow, side: Side, bytes: Uint8Array, time: number, at: number, segmentStart: boolean): void {
    if (flow.stopped[side]) return;
    const rs = flow.resync[side];
    if (rs) {
      rs.r.push(bytes, at, time, segmentStart);
      resume(flow, side, false);
      return;
    }
    flow.lastData[side] = time;
    record(flow, flow.observers![side].receive(bytes, time));
  }

  /** A direction hunting after a gap: when a frame start is found, decoding resumes there. */
  function resume(flow: Flow, side: Side, final: boolean): void {
    const rs = flow.resync[side]!;
    const found = rs.r.find(final);
    const note = rs.note;
    const after = note.at + note.missing;
    if (!found) {
      if (final) {
        note.outcome = { skipped: rs.r.position - after, ended: true };
        flow.resync[side] = null;
      }
      return;
    }
    flow.resync[side] = null;
    note.outcome = { resumedAt: found.at, skipped: found.at - after };
    const d = flow.deflate;
    // With context takeover a compressed message may refer to earlier messages' bytes,
    // some of which were lost: inflating would fail or, worse, give wrong text. Without it
    // each message stands alone and inflates as before.
    const takeover = d !== null && !(side === 'client' ? d.clientNoContextTakeover : d.serverNoContextTakeover);
    if (takeover && !flow.inflateLostSaid[side]) {
      flow.inflateLostSaid[side] = true;
      flow.errors.push(
        `permessage-deflate with context takeover: the ${side}'s compressed messages after the gap at byte ${note.at} cannot be inflated (they may refer to the lost bytes): their frames are kept as they are, their messages are left empty`,
      );
    }
    const o = flow.observers![side];
    o.resume(found.at - flow.wsBase[side], !takeover);
    flow.awaitingFirst[side] = note;
    for (const ch of found.chunks) {
      flow.lastData[side] = ch.time;
      record(flow, o.receive(ch.bytes, ch.time));
    }
  }

  function record(flow: Flow, frames: ObservedFrame[]): void {
    const conn = flow.conn!;
    for (const o of frames) {
      const waiting = flow.awaitingFirst[o.frame.from];
      if (waiting) {
        waiting.from = flow.seq;
        flow.awaitingFirst[o.frame.from] = null;
      }
      flow.lastOf[o.frame.from] = flow.seq;
      conn.times.push(o.frame.time);
      const rec = toFrameRecord(o.frame, flow.seq++, { message: o.message, rtt: o.rtt });
      const { at, length } = writeLine(spool, JSON.stringify(frameToJson(rec, base64)) + '\n');
      conn.offsets.push(at);
      conn.lengths.push(length);
    }
  }

  function onGap(flow: Flow, dirKey: string, at: number, missing: number, time: number): void {
    const side = flow.side(dirKey);
    if (flow.phase === 'undecided' || flow.phase === 'other' || flow.phase === 'tls') {
      if (flow.phase === 'undecided') flow.phase = 'other';
      return;
    }
    if (flow.stopped[side]) return;
    if (!flow.conn) {
      flow.stopped[side] = true;
      return;
    }
    if (flow.phase === 'websocket') {
      const hunting = flow.resync[side];
      if (hunting) {
        // Still hunting after an earlier gap: that hunt ends here, a new one starts after this gap.
        hunting.note.outcome = { nextGap: at, skipped: hunting.r.position - (hunting.note.at + hunting.note.missing) };
      } else {
        // A frame the gap cuts ends there (truncated-frame), when its last bytes came.
        record(flow, flow.observers![side].end(flow.lastData[side] || time));
      }
      flow.awaitingFirst[side] = null;
      const note: GapNote = { side, at, missing, after: flow.lastOf[side], outcome: null, from: null, errorIndex: flow.errors.length };
      flow.errors.push(''); // written at the end, when the outcome is known
      flow.gaps.push(note);
      flow.resync[side] = { r: new Resync(side, flow.deflate !== null, at + missing), note };
      return;
    }
    flow.stopped[side] = true;
    const what = flow.phase === 'request' || flow.phase === 'response' ? 'the handshake cannot be completed' : 'its frames after it are not decoded';
    flow.errors.push(`${gapHead(side, at, missing)}: ${what}`);
  }

  function finishFlow(flow: Flow, end: number): void {
    for (const { dir } of flow.dirs.values()) dir.finish(flow.endedAt ?? end);
    for (const [key, { dir }] of flow.dirs) {
      if (dir.differedAt !== null && flow.conn) {
        flow.errors.push(`a retransmission from the ${flow.side(key)} differs from the first copy at byte ${dir.differedAt} of its stream: the first copy is kept`);
      }
    }
    const conn = flow.conn;
    if (!conn) return;
    const ended = flow.endedAt ?? null;
    if (flow.observers) {
      for (const side of ['client', 'server'] as const) {
        const o = flow.observers[side];
        if (flow.stopped[side]) continue;
        if (flow.resync[side]) resume(flow, side, true);
        // A hunt that found nothing leaves the observer ended at the gap: end() gives nothing.
        const mid = o.midFrame;
        record(flow, o.end(ended ?? end));
        if (mid) flow.errors.push(ended !== null ? `the ${side}'s stream ended mid-frame` : `the capture ends in the middle of a ${side} frame`);
      }
    }
    const number = inTimeOrder(conn);
    for (const g of flow.gaps) {
      if (g.after !== null) g.after = number(g.after);
      if (g.from !== null) g.from = number(g.from);
      flow.errors[g.errorIndex] = gapText(g);
    }
    if (flow.reset) flow.errors.push(`the ${flow.reset} reset the TCP connection (RST)`);
    let close: CloseRecord | null = null;
    const cc = flow.observers?.client.closeFrame ?? null;
    const sc = flow.observers?.server.closeFrame ?? null;
    const first = cc && (!sc || cc.time <= sc.time) ? { ...cc, by: 'client' as const } : sc ? { ...sc, by: 'server' as const } : null;
    if (first) close = { code: first.code, reason: first.reason, by: first.by, clean: !!cc && !!sc && flow.reset === null };
    else if (ended !== null || flow.phase === 'refused') close = { code: null, reason: '', by: 'transport', clean: false };
    if (ended === null) flow.errors.push('the capture ends before the TCP connection does');
    const clientEntry = flow.dirs.get(flow.clientKey!)!;
    const request = flow.request!;
    const host = headerValues(request.headers, 'Host')[0] ?? clientEntry.dst;
    const url = /^wss?:\/\//i.test(request.target) ? request.target : `ws://${host}${request.target.startsWith('/') ? '' : '/'}${request.target}`;
    let handshake: HandshakeRecord;
    if (flow.response) {
      handshake = assembleHandshake(checkResponse(request, flow.response, sha1), { request, response: flow.response, requestAt: flow.requestAt, responseAt: responseAt.get(flow) ?? flow.requestAt });
    } else {
      handshake = unansweredHandshake(request, sha1, flow.requestAt, 'no response in the capture');
    }
    if (!clientEntry.dir.synSeen) flow.errors.unshift('the capture starts after the TCP handshake (no SYN seen): the connection is decoded from its first captured bytes');
    conn.head = {
      id: conn.id,
      mode: 'proxy',
      url,
      client: clientEntry.src,
      server: clientEntry.dst,
      tls: null,
      startedAt: flow.startedAt,
      endedAt: close ? (ended ?? flow.lastAt) : null,
      handshake,
      close,
      errors: flow.errors,
    };
  }

  // ---- what the user hears --------------------------------------------------------------

  const warnings: string[] = [];
  if (notes.cutOff) warnings.push(`${file}: ${notes.cutOff} (the capture was cut off?): read up to there`);
  const tls = all.filter((f) => f.phase === 'tls');
  for (const f of tls.slice(0, LIST_LIMIT)) {
    const c = f.dirs.get(f.clientKey ?? '') ?? [...f.dirs.values()][0]!;
    warnings.push(`${file}: skipped ${c.src} → ${c.dst}: TLS, cannot decrypt`);
  }
  if (tls.length > LIST_LIMIT) warnings.push(`${file}: skipped ${tls.length - LIST_LIMIT} more TLS connections: TLS, cannot decrypt`);
  const other = all.filter((f) => !f.conn && f.phase !== 'tls').length;
  if (other > 0) warnings.push(`${file}: ${other} TCP connection${other === 1 ? ' is' : 's are'} not WebSocket (no HTTP upgrade to websocket seen)`);
  if (counts.noSyn > 0) warnings.push(`${file}: ${counts.noSyn} WebSocket connection${counts.noSyn === 1 ? '' : 's'} started before the capture did (no SYN seen): decoded from their first captured bytes`);
  if (counts.fragments > 0) warnings.push(`${file}: ${counts.fragments} IP fragment${counts.fragments === 1 ? '' : 's'} not reassembled (unsupported): a stream that needed them has a gap`);
  if (counts.snapCut > 0) warnings.push(`${file}: ${counts.snapCut} packet${counts.snapCut === 1 ? ' was' : 's were'} cut short by the capture's snapshot length: their streams have gaps`);
  if (counts.truncated > 0) warnings.push(`${file}: ${counts.truncated} packet${counts.truncated === 1 ? '' : 's'} too short for their IP or TCP header, skipped`);
  for (const lt of counts.linktypes) warnings.push(`${file}: packets of link type ${lt} skipped (read: ${[...new Set(Object.values(LINKTYPES))].join(', ')})`);
  for (const c of connections) for (const e of c.head.errors) if (e.startsWith('tcp-gap:')) warnings.push(`${file}: connection ${c.id} (${c.head.client} → ${c.head.server}): ${e}`);
  if (connections.length === 0) warnings.push(`${file}: no WebSocket connections among its ${all.length} TCP connection${all.length === 1 ? '' : 's'} (${counts.packets} packets)`);
  connections.sort((x, y) => x.head.startedAt - y.head.startedAt);
  return { connections, warnings };
}
