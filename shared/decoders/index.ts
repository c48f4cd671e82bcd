// Decoders for the application protocols over WebSocket (docs/contracts.md "Decoded
// messages"). Sans-I/O like shared/codec: the engine's events go in, a decoded record comes
// out for each frame that completes a data message. Which protocol: `--decode`, else the
// handshake's subprotocol, else the URL, else the first few messages; a connection that is
// none of them after those costs one property check per frame.
import type { EngineEvent, FrameJson, FrameRecord, InterventionDecision, Side } from '../model';
import { GraphqlDecoder } from './graphql';
import { JsonRpcDecoder } from './json-rpc';
import { MAX_OPEN, invalid, parseJson, setBounded, textOf } from './pairing';
import { SignalRDecoder, isSignalRHandshake } from './signalr';
import { SocketIoDecoder } from './socket-io';
import { SockJsDecoder, isSockJsTarget } from './sockjs';
import { StompDecoder } from './stomp';
import { DECODABLE, PROTOCOL_IDS, type DecodableId, type DecodeChoice, type Decoded, type EngineDecoders, type InMessage, type ProtocolDecoder, type Unanswered } from './types';

export * from './types';
export { parseSocketIo } from './socket-io';

/** How many data messages auto-detection looks at before it gives up on a connection. */
export const SNIFF_MESSAGES = 4;

/** The `--decode` value checked: a protocol this build decodes, `none` or `auto`; else why not. */
export function parseDecodeChoice(value: string): DecodeChoice | string {
  if (value === 'none' || value === 'auto') return value;
  if ((DECODABLE as readonly string[]).includes(value)) return value as DecodableId;
  const known = (PROTOCOL_IDS as readonly string[]).includes(value);
  return `--decode ${JSON.stringify(value)}: ${known ? 'not decoded yet; ' : 'unknown protocol; '}one of ${DECODABLE.join(', ')}, none, auto`;
}

interface Conn {
  /** nothing to decode: the per-frame fast path */
  off: boolean;
  decoder: ProtocolDecoder | null;
  /** the request target (path and query) */
  target: string | null;
  /** data messages looked at while detecting */
  sniffed: number;
  /** the decision on each held message, by intervention id (its copies are not decoded twice) */
  decisions: Map<number, InterventionDecision | undefined> | null;
}

/** The EIO version a socket.io URL asks for (EIO=3 or 4), 4 when it does not say. */
export function eioOf(target: string | null): 3 | 4 {
  return target && /[?&]EIO=3(?:&|$)/.test(target) ? 3 : 4;
}

/** A protocol whose decoder the engine did not give: each message says it is not decoded here. */
class Unavailable implements ProtocolDecoder {
  constructor(readonly protocol: DecodableId) {}
  decode(_m: InMessage): Decoded {
    return invalid(this.protocol, 'not decodable here (its parser runs in the engine)');
  }
  unanswered(): Unanswered[] {
    return [];
  }
}

/** `inner`: for SockJS, the protocol its messages carry when the handshake named it. */
export function decoderFor(id: DecodableId, target: string | null, engine: EngineDecoders = {}, inner: DecodableId | null = null): ProtocolDecoder {
  const made = engine[id];
  if (made) return made();
  switch (id) {
    case 'socket.io':
      return new SocketIoDecoder({ eio: eioOf(target), socketIo: true });
    case 'engine.io':
      return new SocketIoDecoder({ eio: eioOf(target), socketIo: false });
    case 'graphql-transport-ws':
    case 'graphql-ws':
      return new GraphqlDecoder(id);
    case 'json-rpc':
      return new JsonRpcDecoder();
    case 'stomp':
      return new StompDecoder();
    case 'signalr':
      return new SignalRDecoder();
    case 'sockjs':
      return new SockJsDecoder({ detect: detectFromMessage, make: (p) => decoderFor(p, target, engine) }, inner);
    default:
      return new Unavailable(id);
  }
}

/** The protocol a handshake names: its subprotocol (the one agreed, else those offered), its URL. */
export function detectFromHandshake(protocols: readonly string[], target: string | null): DecodableId | null {
  // SockJS's URL comes first: its framing wraps the protocol a subprotocol names (the inner one).
  if (isSockJsTarget(target)) return 'sockjs';
  for (const p of protocols) {
    const name = p.trim().toLowerCase();
    if (name === 'graphql-transport-ws') return 'graphql-transport-ws';
    if (name === 'graphql-ws') return 'graphql-ws';
    if (name === 'jsonrpc' || name === 'json-rpc' || name === 'jsonrpc-2.0' || name === 'jsonrpc2.0') return 'json-rpc';
    if (name === 'v10.stomp' || name === 'v11.stomp' || name === 'v12.stomp') return 'stomp';
    if (name === 'mqtt' || name === 'mqttv3.1' || name === 'mqttv3.1.1' || name === 'mqttv5') return 'mqtt';
    // A serialization named alone or as a suffix: `msgpack`, `v1.msgpack`, `wamp.2.cbor`.
    const format = /(?:^|[.+\-_])(msgpack|messagepack|cbor|protobuf|proto)$/.exec(name)?.[1];
    if (format) return format === 'messagepack' ? 'msgpack' : format === 'proto' ? 'protobuf' : (format as 'msgpack' | 'cbor' | 'protobuf');
  }
  if (target) {
    const path = target.replace(/^[a-z]+:\/\/[^/]*/i, '').split('?')[0] ?? '';
    if (/\/socket\.io\/?$/.test(path)) return 'socket.io';
    if (/\/engine\.io\/?$/.test(path)) return 'engine.io';
    if (/[?&]EIO=[34](?:&|$)/.test(target) && /[?&]transport=websocket(?:&|$)/.test(target)) return 'socket.io';
  }
  return null;
}

const TRANSPORT_ONLY = new Set(['subscribe', 'next']);
const LEGACY_ONLY = new Set(['start', 'data', 'ka', 'stop', 'connection_terminate', 'connection_error']);

/** The protocol a message reveals, or null while it does not tell. */
export function detectFromMessage(opcode: 1 | 2, data: Uint8Array): DecodableId | null {
  if (opcode === 2) return isMqttConnect(data) ? 'mqtt' : null;
  if (data.length === 0) return null;
  const first = data[0]!;
  // A STOMP client's first frame: CONNECT or STOMP and its end of line.
  if ((first === 0x43 || first === 0x53) && /^(?:CONNECT|STOMP)\r?\n/.test(String.fromCharCode(...data.subarray(0, 9)))) return 'stomp';
  // Engine.IO's open packet: `0{"sid":…`
  if (first === 0x30 && data[1] === 0x7b) {
    const v = parseJson(textOf(data)?.slice(1) ?? '');
    if (typeof v === 'object' && v !== null && typeof (v as { sid?: unknown }).sid === 'string') return 'socket.io';
    return null;
  }
  // SockJS's open frame, the server's first message.
  if (first === 0x6f && data.length === 1) return 'sockjs';
  if (first === 0x7b && isSignalRHandshake(data)) return 'signalr';
  if (first !== 0x7b && first !== 0x5b) return null;
  const v = parseJson(textOf(data) ?? '');
  const o = Array.isArray(v) ? v[0] : v;
  if (typeof o !== 'object' || o === null) return null;
  const r = o as { jsonrpc?: unknown; type?: unknown };
  if (r.jsonrpc === '2.0') return 'json-rpc';
  if (typeof r.type === 'string' && !Array.isArray(v)) {
    if (TRANSPORT_ONLY.has(r.type)) return 'graphql-transport-ws';
    if (LEGACY_ONLY.has(r.type)) return 'graphql-ws';
  }
  return null;
}

/** An MQTT CONNECT's start: type 1, a remaining length, then the protocol name MQTT or MQIsdp. */
function isMqttConnect(data: Uint8Array): boolean {
  if (data[0] !== 0x10) return false;
  let i = 1;
  while (i < 5 && i < data.length && data[i]! & 0x80) i++;
  i++;
  const name = (n: string) => data[i] === 0 && data[i + 1] === n.length && [...n].every((c, k) => data[i + 2 + k] === c.charCodeAt(0));
  return name('MQTT') || name('MQIsdp');
}

type FrameEventLike = FrameRecord & { connection: string };

/** Decodes the messages of many connections, as their events come. */
export class DecodeTracker {
  private readonly conns = new Map<string, Conn>();
  private lastId = '';
  private last: Conn | null = null;

  constructor(
    private readonly choice: DecodeChoice = 'auto',
    private readonly engine: EngineDecoders = {},
  ) {}

  private conn(id: string): Conn {
    if (id === this.lastId && this.last) return this.last;
    let c = this.conns.get(id);
    if (!c) {
      c = { off: this.choice === 'none', decoder: null, target: null, sniffed: 0, decisions: null };
      this.conns.set(id, c);
    }
    this.lastId = id;
    this.last = c;
    return c;
  }

  /**
   * Takes every event in order. A frame that completes a data message gets its record; the
   * close of a connection gets the requests it left unanswered (undefined otherwise).
   */
  event(e: EngineEvent): Decoded | Unanswered[] | undefined {
    if (e.event === 'frame') return this.frame(e);
    if (e.event === 'close') return this.end(e.connection);
    const c = this.conn(e.connection);
    if (c.off || c.decoder) return undefined;
    if (e.event === 'open') c.target = e.url;
    else if (e.event === 'handshake') {
      c.target = e.request.target;
      if (this.choice !== 'auto') return undefined;
      const offered = e.protocol ? [e.protocol] : e.request.headers.filter(([n]) => n.toLowerCase() === 'sec-websocket-protocol').flatMap(([, v]) => v.split(','));
      const id = detectFromHandshake(offered, c.target);
      if (id) c.decoder = decoderFor(id, c.target, this.engine, id === 'sockjs' ? detectFromHandshake(offered, null) : null);
    }
    return undefined;
  }

  /** The decoded record of the message a frame completes, if there is one to decode. */
  frame(f: FrameEventLike): Decoded | undefined {
    const c = this.conn(f.connection);
    if (c.off) return undefined;
    let opcode: number;
    let data: Uint8Array;
    let truncated: boolean;
    if (f.message) {
      opcode = f.message.opcode;
      data = f.message.data;
      truncated = !!f.message.truncated;
    } else {
      // A message in one uncompressed frame is its payload (a compressed one not inflated, or a
      // fragment, is no message to decode).
      if (!f.fin || f.rsv1 || (f.opcode !== 1 && f.opcode !== 2)) return undefined;
      opcode = f.opcode;
      data = f.payload;
      truncated = !!f.truncated;
    }
    if (f.intervention && this.isCopy(c, f)) return undefined;
    let decoder = c.decoder;
    if (!decoder) {
      if (this.choice !== 'auto') decoder = c.decoder = decoderFor(this.choice as DecodableId, c.target, this.engine);
      else {
        const id = detectFromMessage(opcode as 1 | 2, data);
        if (!id) {
          if (++c.sniffed >= SNIFF_MESSAGES) c.off = true;
          return undefined;
        }
        decoder = c.decoder = decoderFor(id, c.target, this.engine);
      }
    }
    if (truncated) return { ...invalid(decoder.protocol, 'the record holds only the start of the message'), type: 'truncated' };
    return decoder.decode({ seq: f.seq, time: f.time, from: f.from as Side, opcode: opcode as 1 | 2, data });
  }

  /**
   * Framescope's re-compressed copy of a message that went on as it came is the same message
   * again: decoding it twice would pair it twice.
   */
  private isCopy(c: Conn, f: FrameEventLike): boolean {
    const iv = f.intervention!;
    c.decisions ??= new Map();
    if (!f.by) {
      if (iv.decision !== undefined || !c.decisions.has(iv.id)) setBounded(c.decisions, iv.id, iv.decision, MAX_OPEN);
      return false;
    }
    if (!iv.recompressed || iv.injected) return false;
    const d = c.decisions.get(iv.id);
    return c.decisions.has(iv.id) && (d === undefined || d === 'forwarded' || d === 'delayed');
  }

  /** The requests of a live connection still waiting for an answer (nothing changes). */
  pending(connection: string): Unanswered[] {
    return this.conns.get(connection)?.decoder?.unanswered() ?? [];
  }

  /** The decoder a connection's messages go through, once chosen or detected. */
  decoderOf(connection: string): ProtocolDecoder | null {
    return this.conns.get(connection)?.decoder ?? null;
  }

  /** The request target (path and query) of a connection's handshake, once seen. */
  targetOf(connection: string): string | null {
    return this.conns.get(connection)?.target ?? null;
  }

  /** The connection ended: the requests it left unanswered, and it is forgotten. */
  end(connection: string): Unanswered[] | undefined {
    const c = this.conns.get(connection);
    if (!c) return undefined;
    this.conns.delete(connection);
    if (this.last === c) {
      this.last = null;
      this.lastId = '';
    }
    const u = c.decoder?.unanswered() ?? [];
    return u.length > 0 ? u : undefined;
  }
}

/**
 * A frame's JSON form with its decoded record at `message.decoded`. A message in one
 * uncompressed frame has no `message` in the record (its payload is the message): it gets
 * `{opcode, length, decoded}` without `data`, which would repeat the payload.
 */
export function withDecoded(json: FrameJson, f: FrameRecord, d: Decoded): FrameJson {
  const m = (json.message as Record<string, unknown> | undefined) ?? { opcode: f.opcode, length: f.payload.length };
  (json as unknown as Record<string, unknown>)['message'] = { ...m, decoded: d };
  return json;
}

/** One line for the human view: `socket.io EVENT "chat" ack 13 → paired #12 3.2 ms`. */
export function decodedLine(d: Decoded): string {
  let s = `${d.protocol} ${d.summary}`;
  if (d.heartbeat) s += ' ♥';
  if (d.pairedWith !== undefined) s += ` → paired #${d.pairedWith}${d.latencyMs !== undefined ? ` ${d.latencyMs.toFixed(1)} ms` : ''}`;
  return s;
}

/** One line per request a connection ended without an answer to. */
export function unansweredLine(u: Unanswered): string {
  return `unanswered #${u.seq} ${u.protocol} ${u.type}${u.name !== undefined ? ` ${JSON.stringify(u.name)}` : ''}${u.id !== undefined ? ` id ${u.id}` : ''}`;
}
