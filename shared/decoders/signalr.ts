// ASP.NET Core SignalR's hub protocol (github.com/dotnet/aspnetcore docs/specs/HubProtocol.md)
// over a WebSocket. The connection opens with a JSON handshake, each record ended by 0x1E:
// the client's {"protocol":"json"|"messagepack","version":N}, the server's {} or {"error"}.
// Then records: JSON text ended by 0x1E, or MessagePack arrays each after a VarInt length.
// Types: 1 Invocation, 2 StreamItem, 3 Completion, 4 StreamInvocation, 5 CancelInvocation,
// 6 Ping, 7 Close, 8 Ack, 9 Sequence. Pairing: an Invocation with an invocationId (either side
// may invoke) → the Completion of that id; a StreamInvocation → StreamItem… → Completion;
// a CancelInvocation ends it unanswered but not flagged. A record is never split across
// messages (the protocol says so), so nothing is buffered: a partial record is `invalid`.
import type { Side } from '../model';
import { MAX_OPEN, Pairs, invalid, parseJson, q, setBounded, textOf } from './pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from './types';

export const SIGNALR_TYPES = ['', 'Invocation', 'StreamItem', 'Completion', 'StreamInvocation', 'CancelInvocation', 'Ping', 'Close', 'Ack', 'Sequence'] as const;

const RS = 0x1e;
/**
 * One MessagePack value as JSON (the engine's, main/engine/decoders/msgpack.ts: bytes, 64-bit
 * integers and timestamps as docs/contracts.md "Binary values" shows them); it throws on bytes
 * that are not one MessagePack value. shared/ parses no MessagePack itself.
 */
export type MsgpackJson = (bytes: Uint8Array) => unknown;
const SUMMARY_MAX = 120;

/** A hub message, whichever encoding carried it (the JSON protocol's field names). */
interface HubRecord {
  type: number;
  invocationId?: string;
  target?: string;
  arguments?: unknown[];
  streamIds?: string[];
  item?: unknown;
  result?: unknown;
  hasResult?: boolean;
  error?: string;
  allowReconnect?: boolean;
  sequenceId?: number;
}

type Format = 'json' | 'messagepack';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON record's fields checked; a string says what is wrong. */
function fromJson(v: unknown): HubRecord | string {
  if (!isObject(v)) return 'a record that is not a JSON object';
  const type = v['type'];
  if (typeof type !== 'number' || !Number.isInteger(type)) return 'a record without a numeric "type"';
  const r: HubRecord = { type };
  const id = v['invocationId'];
  if (id !== undefined && id !== null) {
    if (typeof id !== 'string') return '"invocationId" is not a string';
    r.invocationId = id;
  }
  switch (type) {
    case 1:
    case 4: {
      if (typeof v['target'] !== 'string') return `${SIGNALR_TYPES[type]} without a "target"`;
      r.target = v['target'];
      const args = v['arguments'] ?? [];
      if (!Array.isArray(args)) return '"arguments" is not an array';
      r.arguments = args;
      const s = v['streamIds'];
      if (Array.isArray(s) && s.length > 0) r.streamIds = s.map(String);
      break;
    }
    case 2:
      r.item = v['item'];
      break;
    case 3:
      if ('result' in v) {
        r.hasResult = true;
        r.result = v['result'];
      }
      if (typeof v['error'] === 'string') r.error = v['error'];
      break;
    case 7:
      if (typeof v['error'] === 'string') r.error = v['error'];
      if (typeof v['allowReconnect'] === 'boolean') r.allowReconnect = v['allowReconnect'];
      break;
    case 8:
    case 9:
      if (typeof v['sequenceId'] === 'number') r.sequenceId = v['sequenceId'];
      break;
  }
  if ((type === 2 || type === 3 || type === 5) && r.invocationId === undefined) return `${SIGNALR_TYPES[type]} without an "invocationId"`;
  return r;
}

/** A MessagePack record (as JSON), `[type, headers, invocationId, …]` by type; a string says what is wrong. */
function fromMsgpack(v: unknown): HubRecord | string {
  if (!Array.isArray(v) || v.length === 0) return 'a record that is not a MessagePack array';
  const type = v[0];
  if (typeof type !== 'number' || !Number.isInteger(type)) return 'a record without a numeric type';
  const r: HubRecord = { type };
  const need = ({ 1: 5, 2: 4, 3: 4, 4: 5, 5: 3, 6: 1, 7: 2, 8: 2, 9: 2 } as Record<number, number>)[type];
  if (need !== undefined && v.length < need) return `${SIGNALR_TYPES[type]} with ${v.length} fields (at least ${need})`;
  if (type >= 1 && type <= 5) {
    const id = v[2];
    if (id !== null && id !== undefined) {
      if (typeof id !== 'string') return 'an invocation id that is not a string';
      r.invocationId = id;
    } else if (type !== 1) return `${SIGNALR_TYPES[type]} without an invocation id`;
  }
  switch (type) {
    case 1:
    case 4: {
      if (typeof v[3] !== 'string') return `${SIGNALR_TYPES[type]} without a target`;
      r.target = v[3];
      if (!Array.isArray(v[4])) return 'arguments that are not an array';
      r.arguments = v[4] as unknown[];
      if (Array.isArray(v[5]) && v[5].length > 0) r.streamIds = v[5].map(String);
      break;
    }
    case 2:
      r.item = v[3];
      break;
    case 3: {
      const kind = v[3];
      if (kind === 1) {
        if (typeof v[4] !== 'string') return 'an error Completion without its message';
        r.error = v[4];
      } else if (kind === 3) {
        if (v.length < 5) return 'a Completion with a result kind 3 but no result';
        r.hasResult = true;
        r.result = v[4];
      } else if (kind !== 2) return `a Completion of result kind ${JSON.stringify(kind)} (1, 2 or 3)`;
      break;
    }
    case 7:
      if (typeof v[1] === 'string') r.error = v[1];
      if (typeof v[2] === 'boolean') r.allowReconnect = v[2];
      break;
    case 8:
    case 9:
      if (typeof v[1] === 'number') r.sequenceId = v[1];
      break;
  }
  return r;
}

/** The JSON records of a message's text; each must end with 0x1E. */
function jsonRecords(data: Uint8Array): Array<HubRecord | string> | string {
  if (data[data.length - 1] !== RS) return 'a record without its 0x1E terminator (a record is never split across messages)';
  const text = textOf(data);
  if (text === null) return 'not UTF-8';
  return text
    .slice(0, -1)
    .split('\x1e')
    .map((part) => {
      const v = parseJson(part);
      return v === undefined ? (part === '' ? 'an empty record' : 'a record that is not JSON') : fromJson(v);
    });
}

/** The MessagePack records of a binary message: each a VarInt length (at most 5 bytes, under 2 GiB) and that many bytes. */
function msgpackRecords(data: Uint8Array, msgpack: MsgpackJson | undefined): Array<HubRecord | string> | string {
  if (!msgpack) return 'MessagePack is not decodable here (its parser runs in the engine)';
  const out: Array<HubRecord | string> = [];
  let i = 0;
  while (i < data.length) {
    let length = 0;
    let shift = 0;
    let b: number;
    let n = 0;
    do {
      if (i >= data.length) return 'a record length cut off (a record is never split across messages)';
      b = data[i++]!;
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (++n > 5 || length > 0x7fffffff) return 'a record length over 2 GiB';
    } while (b & 0x80);
    if (i + length > data.length) return `a record of ${length} bytes with ${data.length - i} left in the message (a record is never split across messages)`;
    const bytes = data.subarray(i, i + length);
    i += length;
    try {
      out.push(fromMsgpack(msgpack(bytes)));
    } catch (err) {
      out.push(`not MessagePack: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  if (out.length === 0) return 'an empty message';
  return out;
}

export class SignalRDecoder implements ProtocolDecoder {
  readonly protocol = 'signalr' as const;
  private readonly pairs = new Pairs('signalr');
  /** invocation targets by `${requesting side}\0${invocationId}`, for the answers' names */
  private readonly targets = new Map<string, string>();
  /** the handshake is each side's first record; past it, hub messages */
  private readonly handshaken = { client: false, server: false };
  /** the client's handshake says which encoding follows; before it (joined late), the opcode does */
  private format: Format | null = null;

  constructor(private readonly msgpack?: MsgpackJson) {}

  decode(m: InMessage): Decoded {
    const records: Decoded[] = [];
    let data = m.data;
    if (!this.handshaken[m.from]) {
      this.handshaken[m.from] = true;
      const end = data.indexOf(RS);
      const v = end >= 0 ? parseJson(textOf(data.subarray(0, end)) ?? '') : undefined;
      if (isObject(v) && !('type' in v)) {
        records.push(this.handshake(v, m));
        data = data.subarray(end + 1);
      }
    }
    if (data.length > 0) {
      const format = this.format ?? (m.opcode === 2 ? 'messagepack' : 'json');
      const parsed = format === 'json' ? jsonRecords(data) : msgpackRecords(data, this.msgpack);
      if (typeof parsed === 'string') return invalid('signalr', parsed);
      for (const r of parsed) records.push(typeof r === 'string' ? invalid('signalr', r) : this.one(r, m));
    }
    if (records.length === 1) return records[0]!;
    if (records.length === 0) return invalid('signalr', 'an empty message');
    return combine(records);
  }

  private handshake(v: Record<string, unknown>, m: InMessage): Decoded {
    const d: Decoded = { protocol: 'signalr', type: 'handshake', summary: 'handshake', value: v };
    const key = '\u0000handshake';
    if (m.from === 'client') {
      if (typeof v['protocol'] !== 'string') return invalid('signalr', 'a handshake request without "protocol"');
      const p = v['protocol'];
      d.name = p;
      d.summary = `handshake ${q(p)}${v['version'] !== undefined ? ` v${String(v['version'])}` : ''}`;
      if (p === 'json' || p === 'messagepack') this.format = p;
      this.pairs.request(m.from, key, m.seq, m.time, d);
    } else {
      d.summary = typeof v['error'] === 'string' ? `handshake error ${q(v['error'])}` : 'handshake ok';
      this.pairs.answer(m.from, key, m.time, d);
    }
    return d;
  }

  private one(r: HubRecord, m: InMessage): Decoded {
    const type = SIGNALR_TYPES[r.type];
    if (type === undefined || type === '') return invalid('signalr', `unknown message type ${r.type}`);
    const d: Decoded = { protocol: 'signalr', type, summary: type };
    const id = r.invocationId;
    if (id !== undefined) d.id = id;
    const asker: Side = m.from === 'client' ? 'server' : 'client';
    const targetKey = (side: Side) => `${side}\u0000${id}`;
    switch (r.type) {
      case 1:
      case 4:
        d.name = r.target!;
        d.value = r.arguments;
        if (id !== undefined) {
          setBounded(this.targets, targetKey(m.from), r.target!, MAX_OPEN);
          this.pairs.request(m.from, id, m.seq, m.time, d);
        }
        break;
      case 2:
      case 3: {
        const t = this.targets.get(targetKey(asker));
        if (t !== undefined) d.name = t;
        if (r.type === 2) d.value = r.item;
        else if (r.error !== undefined) d.value = { error: r.error };
        else if (r.hasResult) d.value = r.result;
        const last = r.type === 3;
        this.pairs.answer(m.from, id!, m.time, d, last);
        if (last) this.targets.delete(targetKey(asker));
        break;
      }
      case 5: {
        const t = this.targets.get(targetKey(m.from));
        if (t !== undefined) d.name = t;
        this.pairs.forget(m.from, id!);
        this.targets.delete(targetKey(m.from));
        break;
      }
      case 6:
        d.heartbeat = true;
        break;
      case 7:
        if (r.error !== undefined || r.allowReconnect !== undefined) d.value = { ...(r.error !== undefined ? { error: r.error } : {}), ...(r.allowReconnect !== undefined ? { allowReconnect: r.allowReconnect } : {}) };
        break;
      case 8:
      case 9:
        if (r.sequenceId !== undefined) d.id = String(r.sequenceId);
        break;
    }
    if (d.name !== undefined) d.summary += ` ${q(d.name)}`;
    if (d.id !== undefined) d.summary += ` id ${d.id}`;
    if (r.streamIds) d.summary += ` streams ${r.streamIds.join(',')}`;
    if (r.error !== undefined) d.summary += ` error ${q(r.error)}`;
    return d;
  }

  unanswered(): Unanswered[] {
    return this.pairs.unanswered();
  }
}

/**
 * Several records in one message are one record: `type` their distinct types joined by `+` in
 * order (`StreamItem+Completion`: a `type:Completion` filter finds it), `value` each record's
 * own decoded record, `name`/`id` when the records agree on one, `heartbeat` when all are, and
 * `pairedWith` when those that answer something all answer one message.
 */
function combine(records: Decoded[]): Decoded {
  const types = [...new Set(records.map((r) => r.type))];
  const d: Decoded = { protocol: 'signalr', type: types.join('+'), summary: `${records.length} records: ${records.map((r) => r.summary).join(', ')}`, value: records };
  if (d.summary.length > SUMMARY_MAX) d.summary = d.summary.slice(0, SUMMARY_MAX - 1) + '…';
  const agreed = (k: 'name' | 'id') => {
    const s = new Set(records.map((r) => r[k]));
    return s.size === 1 ? records[0]![k] : undefined;
  };
  const name = agreed('name');
  if (name !== undefined) d.name = name;
  const id = agreed('id');
  if (id !== undefined) d.id = id;
  if (records.every((r) => r.heartbeat)) d.heartbeat = true;
  // (records that answer nothing, such as a Ping beside a Completion, do not count)
  const answers = records.filter((r) => r.pairedWith !== undefined);
  if (answers.length > 0 && answers.every((r) => r.pairedWith === answers[0]!.pairedWith)) {
    d.pairedWith = answers[0]!.pairedWith!;
    d.latencyMs = answers[0]!.latencyMs!;
  }
  return d;
}

/** SignalR's handshake request, the first client message: `{"protocol":…,"version":N}` and 0x1E. */
export function isSignalRHandshake(data: Uint8Array): boolean {
  if (data[0] !== 0x7b || data[data.length - 1] !== RS || data.length > 4096) return false;
  const v = parseJson(textOf(data.subarray(0, data.indexOf(RS))) ?? '');
  return isObject(v) && typeof v['protocol'] === 'string' && typeof v['version'] === 'number';
}
