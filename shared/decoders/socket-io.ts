// Engine.IO v3/v4 packets and the Socket.IO v2-v5 packets they carry (the protocols'
// specs: github.com/socketio/engine.io-protocol, github.com/socketio/socket.io-protocol).
// Engine.IO over a WebSocket: a text message is one packet, its type a digit (0 open,
// 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop); a binary message is a message
// packet's binary data — raw in v4, after a 0x04 type byte in v3. Socket.IO rides in message
// packets: `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`, and a BINARY_EVENT/BINARY_ACK
// is followed by its attachments, one binary message each, that replace its placeholders.
import { toBase64 } from '../bytes';
import type { Side } from '../model';
import { Pairs, invalid, parseJson, q, textOf } from './pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from './types';

const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'] as const;
/** Socket.IO packet types by number; 4 is ERROR in Socket.IO v2 (protocol 4), CONNECT_ERROR after. */
const SIO_TYPES = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'] as const;

export interface SocketIoOptions {
  /** Engine.IO protocol version (the URL's EIO=): 3 or 4; binary framing differs */
  eio: 3 | 4;
  /** decode message packets as Socket.IO (false: Engine.IO only) */
  socketIo: boolean;
}

/** A binary packet waiting for its attachments. */
interface Assembling {
  seq: number;
  header: Decoded;
  data: unknown;
  want: number;
  got: Array<{ bytes: Uint8Array; seq: number }>;
}

export interface SocketIoPacket {
  type: number;
  nsp: string;
  id?: number;
  attachments?: number;
  data?: unknown;
}

/** Parses a Socket.IO packet's text, as socket.io-parser's Decoder does; a string says why not. */
export function parseSocketIo(str: string): SocketIoPacket | string {
  let i = 0;
  const type = str.charCodeAt(0) - 48;
  if (!(type >= 0 && type <= 6) || str.length === 0) return `unknown packet type ${JSON.stringify(str.charAt(0))}`;
  const p: SocketIoPacket = { type, nsp: '/' };
  if (type === 5 || type === 6) {
    const start = i + 1;
    while (str.charAt(++i) !== '-' && i != str.length);
    const n = str.substring(start, i);
    if (i === str.length || !/^\d+$/.test(n)) return 'a binary packet without its attachment count';
    p.attachments = Number(n);
  }
  if (str.charAt(i + 1) === '/') {
    const start = i + 1;
    while (++i < str.length && str.charAt(i) !== ',');
    p.nsp = str.substring(start, i);
  }
  const next = str.charAt(i + 1);
  if (next >= '0' && next <= '9') {
    const start = i + 1;
    while (++i < str.length) {
      const c = str.charAt(i + 1);
      if (!(c >= '0' && c <= '9')) break;
    }
    p.id = Number(str.substring(start, i + 1));
  }
  if (str.charAt(++i)) {
    const data = parseJson(str.slice(i));
    if (data === undefined) return 'its payload is not JSON';
    p.data = data;
  }
  if ((type === 2 || type === 5) && !(Array.isArray(p.data) && p.data.length > 0)) return 'an event without an [name, ...args] array';
  if ((type === 3 || type === 6) && !Array.isArray(p.data)) return 'an ack without an array of arguments';
  if (type === 3 || type === 6) if (p.id === undefined) return 'an ack without an ack id';
  return p;
}

export class SocketIoDecoder implements ProtocolDecoder {
  private readonly pairs = new Pairs('socket.io');
  private readonly pings = new Pairs('engine.io');
  private readonly assembling = new Map<Side, Assembling>();
  /** pings sent, and pings answered, by side: the next pong answers ping number ponged[asker] */
  private readonly pingCount = { client: 0, server: 0 };
  private readonly ponged = { client: 0, server: 0 };

  readonly protocol;

  constructor(private readonly o: SocketIoOptions) {
    this.protocol = o.socketIo ? ('socket.io' as const) : ('engine.io' as const);
  }

  decode(m: InMessage): Decoded {
    if (m.opcode === 2) return this.binary(m);
    const text = textOf(m.data);
    if (text === null || text.length === 0) return invalid('engine.io', text === null ? 'not UTF-8' : 'an empty message');
    const t = text.charCodeAt(0) - 48;
    const type = EIO_TYPES[t];
    if (type === undefined) return invalid('engine.io', `unknown packet type ${JSON.stringify(text.charAt(0))}`);
    const rest = text.slice(1);
    if (type === 'message') {
      if (!this.o.socketIo) return { protocol: 'engine.io', type, summary: `message ${q(rest)}`, value: rest };
      return this.socketIo(m, rest);
    }
    const d: Decoded = { protocol: 'engine.io', type, summary: type };
    if (type === 'open') {
      const v = parseJson(rest);
      if (typeof v !== 'object' || v === null) return invalid('engine.io', 'an open packet without its JSON handshake');
      d.value = v;
      const sid = (v as { sid?: unknown }).sid;
      d.summary = `open${typeof sid === 'string' ? ` sid ${sid}` : ''}`;
    } else if (type === 'ping' || type === 'pong') {
      if (rest === 'probe') {
        d.summary = `${type} probe`;
        d.value = rest;
      } else {
        d.heartbeat = true;
        if (rest) d.value = rest;
      }
      // Heartbeats pair by order: a pong answers the other side's oldest unanswered ping.
      if (type === 'ping') this.pings.request(m.from, String(this.pingCount[m.from]++), m.seq, m.time, d);
      else {
        const asker = m.from === 'client' ? 'server' : 'client';
        if (this.pings.answer(m.from, String(this.ponged[asker]), m.time, d)) this.ponged[asker]++;
      }
    } else if (rest) {
      d.value = rest;
    }
    return d;
  }

  private socketIo(m: InMessage, text: string): Decoded {
    const p = parseSocketIo(text);
    if (typeof p === 'string') return invalid('socket.io', p);
    const type = p.type === 4 && this.o.eio === 3 ? 'ERROR' : SIO_TYPES[p.type]!;
    const d: Decoded = { protocol: 'socket.io', type, summary: type };
    const where = p.nsp === '/' ? '' : ` ${p.nsp}`;
    if (p.id !== undefined) d.id = String(p.id);
    const args = Array.isArray(p.data) ? p.data : null;
    if (p.type === 2 || p.type === 5) {
      d.name = typeof args![0] === 'string' ? args![0] : JSON.stringify(args![0]);
      d.summary = `${type}${where} ${q(d.name)}${p.id !== undefined ? ` ack ${p.id}` : ''}`;
    } else if (p.type === 3 || p.type === 6) {
      d.summary = `${type}${where} ${p.id}`;
    } else {
      d.name = p.nsp;
      d.summary = `${type} ${p.nsp}`;
      if (p.type === 4) {
        const msg = (p.data as { message?: unknown } | undefined)?.message ?? p.data;
        if (typeof msg === 'string') d.summary += ` ${q(msg)}`;
      }
    }
    if (p.data !== undefined) d.value = p.data;
    if (p.attachments !== undefined && p.attachments > 0) {
      d.summary += ` (${p.attachments} attachment${p.attachments > 1 ? 's follow' : ' follows'})`;
      this.assembling.set(m.from, { seq: m.seq, header: d, data: p.data, want: p.attachments, got: [] });
    }
    this.pair(m, p, d);
    return d;
  }

  /** An event with an ack id asks; an ack with that id (from the other side, same namespace) answers. */
  private pair(m: InMessage, p: SocketIoPacket, d: Decoded): void {
    if (p.id === undefined) return;
    const key = `${p.nsp}\u0000${p.id}`;
    if (p.type === 2 || p.type === 5) this.pairs.request(m.from, key, m.seq, m.time, d);
    else if (p.type === 3 || p.type === 6) this.pairs.answer(m.from, key, m.time, d);
  }

  private binary(m: InMessage): Decoded {
    let bytes = m.data;
    if (this.o.eio === 3) {
      if (bytes[0] !== 4) return invalid('engine.io', `a binary packet of type ${bytes[0] ?? '(none)'}: only message (4) carries binary data`);
      bytes = bytes.subarray(1);
    }
    const a = this.assembling.get(m.from);
    if (!a || !this.o.socketIo) {
      if (this.o.socketIo) return invalid('socket.io', 'binary data no BINARY_EVENT or BINARY_ACK announced');
      return { protocol: 'engine.io', type: 'message', summary: `message binary ${bytes.length} B` };
    }
    a.got.push({ bytes, seq: m.seq });
    const n = a.got.length;
    const d: Decoded = { protocol: 'socket.io', type: 'attachment', summary: `attachment ${n}/${a.want} of #${a.seq}, ${bytes.length} B` };
    if (a.header.name !== undefined) d.name = a.header.name;
    if (a.header.id !== undefined) d.id = a.header.id;
    if (n === a.want) {
      this.assembling.delete(m.from);
      d.value = join(a.data, a.got);
      d.summary += `: ${a.header.type} complete`;
    }
    return d;
  }

  unanswered(): Unanswered[] {
    return this.pairs.unanswered();
  }
}

/** The packet's data with each `{_placeholder: true, num}` replaced by its attachment. */
function join(data: unknown, got: Array<{ bytes: Uint8Array; seq: number }>): unknown {
  if (Array.isArray(data)) return data.map((x) => join(x, got));
  if (typeof data !== 'object' || data === null) return data;
  const o = data as Record<string, unknown>;
  if (o['_placeholder'] === true && typeof o['num'] === 'number') {
    const a = got[o['num']];
    return a ? { $binary: toBase64(a.bytes), length: a.bytes.length, seq: a.seq } : data;
  }
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = join(o[k], got);
  return out;
}
