// SockJS's framing over its websocket transport (sockjs-protocol 0.3): the server sends `o`
// (open), `h` (heartbeat), `a["msg",…]` (messages), `m"msg"` (one message, old servers) and
// `c[code,"reason"]` (close); the client sends a JSON array of strings (or one JSON string).
// The messages inside are another protocol's (STOMP in Spring's case): they are decoded by
// that protocol's decoder, chosen from the handshake's subprotocol or detected from the first
// inner messages, so its types, names and pairing are the inner protocol's. Such a record
// keeps the inner protocol and says `via: "sockjs"`; SockJS's own frames are `sockjs`.
import { invalid, parseJson, q, textOf } from './pairing';
import type { DecodableId, Decoded, InMessage, ProtocolDecoder, Unanswered } from './types';

const SUMMARY_MAX = 120;
/** Inner messages looked at to find their protocol before they are shown as plain text. */
const INNER_SNIFF = 4;

export interface InnerProtocols {
  /** the protocol a message reveals (the tracker's detectFromMessage) */
  detect(opcode: 1 | 2, data: Uint8Array): DecodableId | null;
  make(id: DecodableId): ProtocolDecoder;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export class SockJsDecoder implements ProtocolDecoder {
  readonly protocol = 'sockjs' as const;
  private inner: ProtocolDecoder | null = null;
  private sniffed = 0;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly protocols: InnerProtocols,
    inner: DecodableId | null = null,
  ) {
    if (inner && inner !== 'sockjs') this.inner = protocols.make(inner);
  }

  decode(m: InMessage): Decoded {
    if (m.opcode === 2) return invalid('sockjs', 'a binary message (SockJS frames are JSON text)');
    const text = textOf(m.data);
    if (text === null) return invalid('sockjs', 'not UTF-8');
    if (m.from === 'client') {
      const v = parseJson(text);
      if (typeof v === 'string') return this.messages([v], m);
      if (!isStrings(v)) return invalid('sockjs', 'a client frame that is not a JSON array of strings');
      return this.messages(v, m);
    }
    const rest = text.slice(1);
    switch (text[0]) {
      case 'o':
        return rest === '' ? { protocol: 'sockjs', type: 'open', summary: 'open' } : invalid('sockjs', 'an open frame with more than "o"');
      case 'h':
        return rest === '' ? { protocol: 'sockjs', type: 'heartbeat', heartbeat: true, summary: 'heartbeat' } : invalid('sockjs', 'a heartbeat frame with more than "h"');
      case 'a': {
        const v = parseJson(rest);
        if (!isStrings(v)) return invalid('sockjs', 'an "a" frame without a JSON array of strings');
        return this.messages(v, m);
      }
      case 'm': {
        const v = parseJson(rest);
        if (typeof v !== 'string') return invalid('sockjs', 'an "m" frame without a JSON string');
        return this.messages([v], m);
      }
      case 'c': {
        const v = parseJson(rest);
        // (sockjs-node writes the code as the text it was given: `c["3000","…"]`)
        const c = Array.isArray(v) ? (v as unknown[]) : [];
        const code = typeof c[0] === 'number' || (typeof c[0] === 'string' && /^\d+$/.test(c[0])) ? c[0] : undefined;
        if (code === undefined || typeof c[1] !== 'string') return invalid('sockjs', 'a "c" frame without [code, "reason"]');
        return { protocol: 'sockjs', type: 'close', id: String(code), summary: `close ${code} ${q(c[1])}`, value: c };
      }
      default:
        return invalid('sockjs', text.length === 0 ? 'an empty frame' : `unknown frame type ${q(text.slice(0, 1))} (o, h, a, m or c)`);
    }
  }

  /** The messages of one frame, each decoded as the inner protocol; several are a batch. */
  private messages(list: string[], m: InMessage): Decoded {
    if (list.length === 0) return { protocol: 'sockjs', type: 'message', summary: 'no messages', value: [] };
    const records = list.map((s) => this.message(s, m));
    if (records.length === 1) return records[0]!;
    const protocol = records.every((r) => r.protocol === records[0]!.protocol) ? records[0]!.protocol : 'sockjs';
    const d: Decoded = { protocol, type: 'batch', summary: `${records.length} messages: ${records.map((r) => r.summary).join(', ')}`, value: records };
    if (protocol !== 'sockjs') d.via = 'sockjs';
    if (d.summary.length > SUMMARY_MAX) d.summary = d.summary.slice(0, SUMMARY_MAX - 1) + '…';
    if (records.every((r) => r.heartbeat)) d.heartbeat = true;
    // (records that answer nothing, such as a Ping beside a Completion, do not count)
    const answers = records.filter((r) => r.pairedWith !== undefined);
    if (answers.length > 0 && answers.every((r) => r.pairedWith === answers[0]!.pairedWith)) {
      d.pairedWith = answers[0]!.pairedWith!;
      d.latencyMs = answers[0]!.latencyMs!;
    }
    return d;
  }

  private message(s: string, m: InMessage): Decoded {
    const data = this.encoder.encode(s);
    if (!this.inner && this.sniffed < INNER_SNIFF) {
      this.sniffed++;
      const id = this.protocols.detect(1, data);
      if (id && id !== 'sockjs') this.inner = this.protocols.make(id);
    }
    if (!this.inner) return { protocol: 'sockjs', type: 'message', summary: `message ${q(s)}`, value: s };
    const d = this.inner.decode({ seq: m.seq, time: m.time, from: m.from, opcode: 1, data });
    return { ...d, via: 'sockjs' };
  }

  unanswered(): Unanswered[] {
    return this.inner?.unanswered() ?? [];
  }
}

/** SockJS's websocket transport URL: `…/<server>/<session>/websocket` (the raw `…/websocket` has no framing). */
export function isSockJsTarget(target: string | null): boolean {
  if (!target) return false;
  const path = target.replace(/^[a-z]+:\/\/[^/]*/i, '').split('?')[0] ?? '';
  return /\/\d{1,3}\/[^/.]+\/websocket\/?$/.test(path);
}
