// STOMP 1.0, 1.1 and 1.2 (stomp.github.io): a frame is a command line, header lines, a blank
// line and a body ended by NUL (or sized by content-length); a bare EOL is a heart-beat.
// Header values are escaped (\n \c \\, and \r in 1.2) except in CONNECT/CONNECTED. Pairing:
// CONNECT/STOMP → CONNECTED (or ERROR), a frame's `receipt` → RECEIPT `receipt-id`, and a
// SUBSCRIBE's id → the MESSAGEs of that subscription (an UNSUBSCRIBE ends it; a subscription
// with no message is no unanswered request). Several frames in one message are one batch.
import { MAX_OPEN, Pairs, invalid, q, setBounded, textOf } from './pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from './types';

const COMMANDS = new Set(['CONNECT', 'STOMP', 'CONNECTED', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'BEGIN', 'COMMIT', 'ABORT', 'ACK', 'NACK', 'DISCONNECT', 'MESSAGE', 'RECEIPT', 'ERROR']);

function unescape(v: string): string {
  return v.replace(/\\([nrc\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'c' ? ':' : '\\'));
}

interface Frame {
  command: string;
  headers: Array<[string, string]>;
  body: string;
}

/** The frames of one message, or why it is not STOMP. `escaped: false`: STOMP 1.0, whose header values are as written. */
export function parseStomp(text: string, escaped = true): Frame[] | string {
  const frames: Frame[] = [];
  let i = 0;
  const skipEols = () => {
    while (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) i += text[i] === '\r' ? 2 : 1;
  };
  skipEols();
  while (i < text.length) {
    const line = () => {
      const end = text.indexOf('\n', i);
      if (end < 0) return null;
      const s = text.slice(i, end).replace(/\r$/, '');
      i = end + 1;
      return s;
    };
    const command = line();
    if (command === null) return 'a frame without its end of line';
    if (!COMMANDS.has(command)) return `unknown command ${q(command)}`;
    const headers: Array<[string, string]> = [];
    const raw = !escaped || command === 'CONNECT' || command === 'CONNECTED';
    for (;;) {
      const h = line();
      if (h === null) return `${command} without the blank line that ends its headers`;
      if (h === '') break;
      const colon = h.indexOf(':');
      if (colon < 0) return `a header line without ":" in ${command}`;
      const k = h.slice(0, colon);
      const v = h.slice(colon + 1);
      headers.push(raw ? [k, v] : [unescape(k), unescape(v)]);
    }
    // The first of a repeated header is the one that counts (1.2 §2.6).
    const length = headers.find(([k]) => k === 'content-length')?.[1];
    let body: string;
    if (length !== undefined && /^\d+$/.test(length)) {
      // content-length counts bytes (UTF-8), not characters.
      const bytes = new TextEncoder().encode(text.slice(i));
      const n = Number(length);
      if (bytes.length < n + 1 || bytes[n] !== 0) return `${command} whose body is not ${n} bytes and a NUL`;
      body = new TextDecoder().decode(bytes.subarray(0, n));
      i += body.length + 1;
    } else {
      const nul = text.indexOf('\0', i);
      if (nul < 0) return `${command} without the NUL that ends it`;
      body = text.slice(i, nul);
      i = nul + 1;
    }
    frames.push({ command, headers, body });
    skipEols();
  }
  return frames;
}

export class StompDecoder implements ProtocolDecoder {
  readonly protocol = 'stomp' as const;
  /** CONNECT and receipts: reported when unanswered */
  private readonly pairs = new Pairs('stomp');
  /** subscriptions, answered by their MESSAGEs */
  private readonly subs = new Pairs('stomp');
  private readonly destinations = new Map<string, string>();
  /** the version the server's CONNECTED agreed (none said: 1.0); null before it (its escaping rules differ) */
  version: '1.0' | '1.1' | '1.2' | null = null;

  decode(m: InMessage): Decoded {
    const text = textOf(m.data);
    if (text === null) return invalid('stomp', 'not UTF-8');
    if (/^(\r?\n)+$/.test(text)) return { protocol: 'stomp', type: 'heartbeat', heartbeat: true, summary: 'heart-beat' };
    // STOMP 1.0 escapes nothing: its header values are shown as written.
    const frames = parseStomp(text, this.version !== '1.0');
    if (typeof frames === 'string') return invalid('stomp', frames);
    if (frames.length === 0) return invalid('stomp', 'an empty message');
    const records = frames.map((f) => this.one(f, m));
    if (records.length === 1) return records[0]!;
    const d: Decoded = { protocol: 'stomp', type: 'batch', summary: `${records.length} frames: ${records.map((x) => x.summary).join(', ')}`, value: records };
    if (d.summary.length > 120) d.summary = d.summary.slice(0, 119) + '…';
    return d;
  }

  private one(f: Frame, m: InMessage): Decoded {
    const h = (k: string) => f.headers.find(([n]) => n === k)?.[1];
    const type = f.command;
    const d: Decoded = { protocol: 'stomp', type, summary: type, value: { headers: Object.fromEntries([...f.headers].reverse()), body: f.body } };
    const subKey = (id: string) => `${m.from === 'client' ? 'client' : 'server'}\u0000${id}`;
    switch (type) {
      case 'CONNECT':
      case 'STOMP': {
        const host = h('host');
        if (host !== undefined) d.name = host;
        this.pairs.request(m.from, '\u0000connect', m.seq, m.time, d);
        break;
      }
      case 'CONNECTED': {
        const v = h('version');
        this.version = v === '1.1' || v === '1.2' ? v : '1.0';
        this.pairs.answer(m.from, '\u0000connect', m.time, d);
        break;
      }
      case 'SUBSCRIBE': {
        const id = h('id') ?? h('destination');
        const dest = h('destination');
        if (id !== undefined) {
          d.id = id;
          if (dest !== undefined) setBounded(this.destinations, subKey(id), dest, MAX_OPEN);
          this.subs.request(m.from, id, m.seq, m.time, d);
        }
        break;
      }
      case 'UNSUBSCRIBE': {
        const id = h('id') ?? h('destination');
        if (id !== undefined) {
          d.id = id;
          const dest = this.destinations.get(subKey(id));
          if (dest !== undefined) d.name = dest;
          this.destinations.delete(subKey(id));
          this.subs.forget(m.from, id);
        }
        break;
      }
      case 'MESSAGE': {
        // 1.0 servers may leave `subscription` out: the destination is the subscription then.
        const id = h('subscription') ?? h('destination');
        if (id !== undefined) {
          d.id = id;
          this.subs.answer(m.from, id, m.time, d, false);
        }
        break;
      }
      case 'RECEIPT': {
        const id = h('receipt-id');
        if (id !== undefined) {
          d.id = id;
          this.pairs.answer(m.from, `receipt:${id}`, m.time, d);
        }
        break;
      }
      case 'ERROR': {
        const id = h('receipt-id');
        if (id !== undefined) d.id = id;
        if (!(id !== undefined && this.pairs.answer(m.from, `receipt:${id}`, m.time, d))) this.pairs.answer(m.from, '\u0000connect', m.time, d);
        const message = h('message');
        if (message !== undefined) d.summary += ` ${q(message)}`;
        break;
      }
      case 'ACK':
      case 'NACK': {
        const id = h('id') ?? h('message-id');
        if (id !== undefined) d.id = id;
        break;
      }
    }
    const dest = h('destination');
    if (dest !== undefined) d.name = dest;
    const receipt = h('receipt');
    if (receipt !== undefined && type !== 'CONNECT' && type !== 'STOMP') {
      d.id ??= receipt;
      this.pairs.request(m.from, `receipt:${receipt}`, m.seq, m.time, { ...d, id: receipt });
    }
    if (d.name !== undefined) d.summary += ` ${q(d.name)}`;
    if (d.id !== undefined && type !== 'ERROR') d.summary += ` id ${d.id}`;
    if (receipt !== undefined && receipt !== d.id) d.summary += ` receipt ${receipt}`;
    return d;
  }

  unanswered(): Unanswered[] {
    return this.pairs.unanswered();
  }
}
