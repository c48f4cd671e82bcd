// MQTT 3.1, 3.1.1 and 5 over WebSocket, parsed by mqtt-packet (the parser the mqtt client and
// aedes use). Over WebSocket MQTT is a byte stream (MQTT 5 §6, 3.1.1 §6): one message may
// carry several packets, or part of one. Each direction keeps its own parser, which holds a
// packet's start until the message that completes it; the packet is decoded (and paired) on
// that message. A message with several packets is one `batch` record listing them.
import { Buffer } from 'node:buffer';
import { parser as mqttParser, type Packet, type Parser } from 'mqtt-packet';
import { MAX_OPEN, Pairs, invalid, q, setBounded, textOf } from '../../../shared/decoders/pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from '../../../shared/decoders/types';
import type { Side } from '../../../shared/model';

/**
 * Bytes of an unfinished packet held across messages, per direction. A packet that needs
 * more is not decoded: its remaining bytes (its length header says how many) are skipped as
 * they come, and the stream is parsed again from the packet after it.
 */
export const MAX_PARTIAL = 16 * 1024 * 1024;

/** What mqtt-packet's parser keeps that the decoder reads: the bytes held, the packet begun. */
interface ParserState extends Parser {
  settings: { protocolVersion?: number };
  _list: { length: number };
  packet: { cmd?: string | null; length: number };
}

interface Direction {
  parser: ParserState;
  done: Array<Packet | Error>;
  /** bytes of an over-cap packet still to be skipped */
  skip: number;
}

/** The bytes of a begun packet's fixed header the parser has consumed (no longer in its list). */
function headerBytes(p: { cmd?: string | null; length: number }): number {
  if (!p.cmd) return 0;
  if (p.length < 0) return 1;
  return 1 + (p.length < 128 ? 1 : p.length < 16_384 ? 2 : p.length < 2_097_152 ? 3 : 4);
}

const TEXT_NAMES: Record<string, string> = { pingreq: 'PINGREQ', pingresp: 'PINGRESP' };

/** A Buffer as JSON: its text when it is UTF-8, else `{$binary: base64, length}`. */
function bytesJson(b: Uint8Array): unknown {
  const t = textOf(b);
  return t !== null ? t : { $binary: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'), length: b.byteLength };
}

function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return bytesJson(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, toJson(x)]));
  return v;
}

export class MqttDecoder implements ProtocolDecoder {
  readonly protocol = 'mqtt' as const;
  private readonly pairs = new Pairs('mqtt');
  /** topics by request key, for the answers' names */
  private readonly names = new Map<string, string>();
  private readonly dirs: Record<Side, Direction>;
  private version = 4;

  /** The MQTT version the client's CONNECT asked for (4, 3.1.1, until one is seen). */
  get protocolVersion(): 3 | 4 | 5 {
    return this.version === 3 || this.version === 5 ? this.version : 4;
  }

  constructor(private readonly maxPartial = MAX_PARTIAL) {
    this.dirs = { client: this.direction(), server: this.direction() };
  }

  private direction(): Direction {
    const dir: Direction = { parser: null as unknown as ParserState, done: [], skip: 0 };
    this.resetParser(dir);
    return dir;
  }

  private resetParser(dir: Direction): void {
    const p = mqttParser({ protocolVersion: this.version }) as ParserState;
    p.on('packet', (packet) => dir.done.push(packet));
    p.on('error', (e: unknown) => dir.done.push(e instanceof Error ? e : new Error(String(e))));
    dir.parser = p;
  }

  decode(m: InMessage): Decoded {
    if (m.opcode === 1) return invalid('mqtt', 'a text message (MQTT over WebSocket is binary)');
    const dir = this.dirs[m.from];
    let data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const records: Decoded[] = [];
    if (dir.skip > 0) {
      const n = Math.min(dir.skip, data.length);
      dir.skip -= n;
      data = data.subarray(n);
      if (data.length === 0) return { protocol: 'mqtt', type: 'partial', summary: `part of a packet over the ${this.capText()} cap, skipped${dir.skip > 0 ? ` (${dir.skip} bytes to go)` : ''}` };
    }
    if (data.length === 0) return invalid('mqtt', 'an empty message');
    dir.parser.parse(data);
    for (const p of dir.done.splice(0)) records.push(p instanceof Error ? invalid('mqtt', p.message) : this.one(p, m));
    const begun = dir.parser.packet;
    const held = dir.parser._list.length + headerBytes(begun);
    if (held > this.maxPartial && begun.length >= 0) {
      dir.skip = begun.length - dir.parser._list.length;
      records.push({ protocol: 'mqtt', type: 'truncated', summary: `${(begun.cmd ?? '?').toUpperCase()} of ${begun.length} bytes, over the ${this.capText()} cap: skipped` });
      this.resetParser(dir);
    } else if (held > 0 && records.length === 0) {
      return { protocol: 'mqtt', type: 'partial', summary: `part of a packet (${held} bytes held)` };
    }
    const tail = held > 0 && dir.skip === 0 ? ` (+ the start of the next, ${held} bytes)` : '';
    if (records.length === 1) {
      const d = records[0]!;
      d.summary += tail;
      return d;
    }
    const d: Decoded = { protocol: 'mqtt', type: 'batch', summary: `${records.length} packets: ${records.map((x) => x.summary).join(', ')}${tail}`, value: records };
    if (d.summary.length > 120) d.summary = d.summary.slice(0, 119) + '…';
    const paired = new Set(records.map((x) => x.pairedWith));
    if (paired.size === 1 && records[0]!.pairedWith !== undefined) {
      d.pairedWith = records[0]!.pairedWith;
      d.latencyMs = records[0]!.latencyMs!;
    }
    return d;
  }

  private capText(): string {
    return this.maxPartial >= 1 << 20 ? `${this.maxPartial / (1 << 20)} MiB` : `${this.maxPartial} byte`;
  }

  private one(p: Packet, m: InMessage): Decoded {
    const type = TEXT_NAMES[p.cmd] ?? p.cmd.toUpperCase();
    const d: Decoded = { protocol: 'mqtt', type, summary: type };
    const pid = (p as { messageId?: number }).messageId;
    const id = pid !== undefined ? String(pid) : undefined;
    if (id !== undefined) d.id = id;
    const { cmd: _c, length: _l, messageId: _m, ...fields } = p as Packet & { messageId?: number };
    const rest = fields as Record<string, unknown>;
    // Flags that mean something only on PUBLISH.
    if (p.cmd !== 'publish') for (const k of ['retain', 'qos', 'dup']) delete rest[k];
    let extra = '';
    const named = (key: string) => {
      const n = this.names.get(`${m.from === 'client' ? 'server' : 'client'}\u0000${key}`);
      if (n !== undefined) d.name = n;
    };
    const remember = (key: string, name: string) => setBounded(this.names, `${m.from}\u0000${key}`, name, MAX_OPEN);
    switch (p.cmd) {
      case 'connect': {
        if (p.protocolVersion) {
          this.version = p.protocolVersion;
          // The server's packets are read as the version the client asked for.
          this.dirs.server.parser.settings.protocolVersion = p.protocolVersion;
          this.dirs.client.parser.settings.protocolVersion = p.protocolVersion;
        }
        if (p.clientId) d.name = p.clientId;
        extra = ` v${p.protocolVersion ?? '?'}`;
        d.value = toJson(rest);
        this.pairs.request(m.from, 'connect', m.seq, m.time, d);
        break;
      }
      case 'connack': {
        const code = p.reasonCode ?? p.returnCode;
        if (code !== undefined) extra = ` ${p.reasonCode !== undefined ? 'reason' : 'rc'} ${code}`;
        d.value = toJson(rest);
        this.pairs.answer(m.from, 'connect', m.time, d);
        break;
      }
      case 'publish': {
        d.name = p.topic;
        extra = ` qos${p.qos}${p.retain ? ' retain' : ''}${p.dup ? ' dup' : ''}`;
        d.value = bytesJson(typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload);
        if (p.qos > 0 && id !== undefined) {
          remember(`pub:${id}`, p.topic);
          this.pairs.request(m.from, `pub:${id}`, m.seq, m.time, d);
        }
        break;
      }
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp': {
        // QoS 2 is a chain: PUBLISH → PUBREC → PUBREL → PUBCOMP, each step answering the last.
        const asks = p.cmd === 'puback' || p.cmd === 'pubrec' ? 'pub' : p.cmd === 'pubrel' ? 'rec' : 'rel';
        named(`${asks}:${id}`);
        if (p.reasonCode !== undefined && p.reasonCode !== 0) extra = ` reason ${p.reasonCode}`;
        if (Object.keys(rest).length > 0) d.value = toJson(rest);
        this.pairs.answer(m.from, `${asks}:${id}`, m.time, d);
        if (p.cmd === 'pubrec' || p.cmd === 'pubrel') {
          const next = p.cmd === 'pubrec' ? 'rec' : 'rel';
          if (d.name !== undefined) remember(`${next}:${id}`, d.name);
          this.pairs.request(m.from, `${next}:${id}`, m.seq, m.time, d);
        }
        break;
      }
      case 'subscribe':
      case 'unsubscribe': {
        const topics = p.cmd === 'subscribe' ? p.subscriptions.map((s) => s.topic) : p.unsubscriptions;
        d.name = topics.join(', ');
        d.value = toJson(rest);
        const key = `${p.cmd === 'subscribe' ? 'sub' : 'unsub'}:${id}`;
        remember(key, d.name);
        this.pairs.request(m.from, key, m.seq, m.time, d);
        break;
      }
      case 'suback':
      case 'unsuback': {
        const key = `${p.cmd === 'suback' ? 'sub' : 'unsub'}:${id}`;
        named(key);
        if (p.cmd === 'suback') extra = ` granted [${p.granted.map((g) => (typeof g === 'number' ? g : (g as { qos?: number }).qos)).join(', ')}]`;
        d.value = toJson(rest);
        this.pairs.answer(m.from, key, m.time, d);
        break;
      }
      case 'pingreq':
        d.heartbeat = true;
        this.pairs.request(m.from, 'ping', m.seq, m.time, d);
        break;
      case 'pingresp':
        d.heartbeat = true;
        this.pairs.answer(m.from, 'ping', m.time, d);
        break;
      default:
        // DISCONNECT, AUTH: their reason code and properties, when they have any.
        if (Object.keys(rest).length > 0) d.value = toJson(rest);
    }
    if (d.name !== undefined) d.summary += ` ${q(d.name)}`;
    d.summary += extra;
    if (id !== undefined) d.summary += ` id ${id}`;
    return d;
  }

  unanswered(): Unanswered[] {
    // A ping left unanswered at the end is no finding.
    return this.pairs.unanswered().filter((u) => u.type !== 'PINGREQ');
  }
}
