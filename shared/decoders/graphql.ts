// GraphQL over WebSocket, both subprotocols. graphql-transport-ws (the graphql-ws library,
// github.com/enisdenjo/graphql-ws PROTOCOL.md): connection_init/ack, ping/pong, subscribe →
// next… → complete or error, complete from the client cancels. The legacy graphql-ws
// (Apollo's subscriptions-transport-ws): connection_init → connection_ack | connection_error,
// ka keep-alives, start → data… → complete or error, stop cancels, connection_terminate.
// Every message is one JSON object with a `type`; operations carry an `id`.
import { MAX_OPEN, Pairs, invalid, parseJson, q, setBounded, textOf } from './pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from './types';

type Flavour = 'graphql-transport-ws' | 'graphql-ws';

const TYPES: Record<Flavour, ReadonlySet<string>> = {
  'graphql-transport-ws': new Set(['connection_init', 'connection_ack', 'ping', 'pong', 'subscribe', 'next', 'error', 'complete']),
  'graphql-ws': new Set(['connection_init', 'connection_ack', 'connection_error', 'ka', 'start', 'data', 'error', 'complete', 'stop', 'connection_terminate']),
};

/** The operation's name: operationName, else the name in the document, else its kind. */
export function operationName(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as { operationName?: unknown; query?: unknown };
  if (typeof p.operationName === 'string' && p.operationName) return p.operationName;
  if (typeof p.query !== 'string') return undefined;
  const m = /\b(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/.exec(p.query);
  if (m) return m[2] ?? m[1];
  return /^\s*\{/.test(p.query) ? 'query' : undefined;
}

export class GraphqlDecoder implements ProtocolDecoder {
  private readonly pairs: Pairs;
  /** operation names by id, for the answers' summaries */
  private readonly names = new Map<string, string>();

  readonly protocol: Flavour;

  constructor(private readonly flavour: Flavour) {
    this.protocol = flavour;
    this.pairs = new Pairs(flavour);
  }

  decode(m: InMessage): Decoded {
    const f = this.flavour;
    const text = m.opcode === 1 ? textOf(m.data) : null;
    if (text === null) return invalid(f, 'a binary message (the protocol is JSON text)');
    const v = parseJson(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid(f, 'not a JSON object');
    const o = v as { type?: unknown; id?: unknown; payload?: unknown };
    if (typeof o.type !== 'string') return invalid(f, 'no "type"');
    if (!TYPES[f].has(o.type)) return invalid(f, `unknown message type ${q(o.type)}`);
    const type = o.type;
    const d: Decoded = { protocol: f, type, summary: type };
    if (o.payload !== undefined) d.value = o.payload;
    const id = typeof o.id === 'string' ? o.id : typeof o.id === 'number' ? String(o.id) : undefined;
    const opTypes = f === 'graphql-transport-ws' ? ['subscribe', 'next', 'error', 'complete'] : ['start', 'data', 'error', 'complete', 'stop'];
    if (opTypes.includes(type) && id === undefined) return invalid(f, `${q(type)} without an operation id`);
    if (id !== undefined) d.id = id;
    if (type === 'ping' || type === 'pong' || type === 'ka') d.heartbeat = true;

    const session = `\u0000session`;
    if (type === 'connection_init') this.pairs.request(m.from, session, m.seq, m.time, d);
    else if (type === 'connection_ack' || type === 'connection_error') this.pairs.answer(m.from, session, m.time, d);
    else if (type === 'ping') this.pairs.request(m.from, '\u0000ping', m.seq, m.time, d);
    else if (type === 'pong') this.pairs.answer(m.from, '\u0000ping', m.time, d);
    else if (type === 'subscribe' || type === 'start') {
      const name = operationName(o.payload);
      if (name !== undefined) {
        d.name = name;
        setBounded(this.names, id!, name, MAX_OPEN);
      }
      this.pairs.request(m.from, id!, m.seq, m.time, d);
    } else if (id !== undefined) {
      const name = this.names.get(id);
      if (name !== undefined) d.name = name;
      const cancel = (type === 'complete' && f === 'graphql-transport-ws' && m.from === 'client') || type === 'stop';
      if (cancel) this.pairs.forget(m.from, id);
      else this.pairs.answer(m.from, id, m.time, d, type !== 'next' && type !== 'data');
      if (type !== 'next' && type !== 'data') this.names.delete(id);
    }
    if (id !== undefined) d.summary += ` ${q(id)}`;
    if (d.name !== undefined) d.summary += ` ${d.name}`;
    return d;
  }

  unanswered(): Unanswered[] {
    // A ping left unanswered at the end is no finding.
    return this.pairs.unanswered().filter((u) => u.type !== 'ping');
  }
}
