// JSON-RPC 2.0 (jsonrpc.org/specification): a request {jsonrpc, method, params?, id}, a
// notification (no id), a response {jsonrpc, result | error, id}, and batches (arrays of
// these). Either side may call the other, so a response answers the other side's request
// with the same id. A batch is one decoded record whose `value` lists its members' records.
import type { Side } from '../model';
import { Pairs, invalid, parseJson, q, textOf } from './pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from './types';

export class JsonRpcDecoder implements ProtocolDecoder {
  readonly protocol = 'json-rpc' as const;
  private readonly pairs = new Pairs('json-rpc');

  decode(m: InMessage): Decoded {
    const text = textOf(m.data);
    if (text === null) return invalid('json-rpc', m.opcode === 2 ? 'binary, not UTF-8 JSON' : 'not UTF-8');
    const v = parseJson(text);
    if (v === undefined) return invalid('json-rpc', 'not JSON');
    if (!Array.isArray(v)) return this.one(v, m);
    if (v.length === 0) return invalid('json-rpc', 'an empty batch');
    const members = v.map((x) => this.one(x, m));
    const d: Decoded = { protocol: 'json-rpc', type: 'batch', summary: `batch of ${members.length}: ${members.map((x) => x.summary).join(', ')}`, value: members };
    if (d.summary.length > 120) d.summary = d.summary.slice(0, 119) + '…';
    // The batch answers the request(s) its responses pair with, when they were one message.
    const paired = new Set(members.map((x) => x.pairedWith));
    if (paired.size === 1 && members[0]!.pairedWith !== undefined) {
      d.pairedWith = members[0]!.pairedWith;
      d.latencyMs = members[0]!.latencyMs!;
    }
    return d;
  }

  private one(v: unknown, m: InMessage): Decoded {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid('json-rpc', 'not a JSON object');
    const o = v as Record<string, unknown>;
    if (o['jsonrpc'] !== '2.0') return invalid('json-rpc', '"jsonrpc" is not "2.0"');
    const id = o['id'];
    const hasId = 'id' in o;
    if (hasId && id !== null && typeof id !== 'string' && typeof id !== 'number') return invalid('json-rpc', 'an id that is not a string, number or null');
    const idText = hasId ? (typeof id === 'string' ? id : String(id)) : undefined;
    const key = JSON.stringify(id);
    if (typeof o['method'] === 'string') {
      const method = o['method'];
      const type = hasId ? 'request' : 'notification';
      const d: Decoded = { protocol: 'json-rpc', type, name: method, summary: `${type} ${q(method)}${hasId ? ` id ${idText}` : ''}` };
      if (idText !== undefined) d.id = idText;
      if ('params' in o) d.value = o['params'];
      if (hasId) this.pairs.request(m.from, key, m.seq, m.time, d);
      return d;
    }
    const isResult = 'result' in o;
    const isError = 'error' in o;
    if (isResult === isError || !hasId) return invalid('json-rpc', 'neither a request (method) nor a response (id and one of result, error)');
    const type = isResult ? 'result' : 'error';
    const d: Decoded = { protocol: 'json-rpc', type, summary: `${type} id ${idText}`, value: isResult ? o['result'] : o['error'] };
    d.id = idText!;
    if (isError) {
      const msg = (o['error'] as { message?: unknown } | null)?.message;
      if (typeof msg === 'string') d.summary += ` ${q(msg)}`;
    }
    if (id !== null) this.answer(m.from, key, m.time, d);
    return d;
  }

  private answer(from: Side, key: string, time: number, d: Decoded): void {
    this.pairs.answer(from, key, time, d);
  }

  unanswered(): Unanswered[] {
    return this.pairs.unanswered();
  }
}
