// The human view of events in a terminal: the handshake with its Accept check, then one
// line a frame — seq, time since the first, direction, opcode, flags, mask, length and a
// payload preview — with violations beneath the frame they belong to.
import type { EngineEvent, FrameRecord, HandshakeRecord, TlsRecord } from '../../shared/model';
import { closeCodeName, opcodeName } from '../../shared/codec/protocol';
import { hexDump } from '../../shared/hexdump';
import { toHex } from '../../shared/bytes';
import { decodedLine, unansweredLine, type Decoded, type Unanswered } from '../../shared/decoders';

export interface HumanOptions {
  color: boolean;
  hex: boolean;
  /** many connections (the proxy): prefix every line with the connection's id */
  multi?: boolean;
  /** preview this many characters of a payload */
  previewChars?: number;
  /**
   * The TLS session of a connection that has no 'open' event (the client's), printed after
   * its handshake. The proxy's comes with its 'open' event.
   */
  tlsOf?: (connection: string) => TlsRecord | null;
}

/** A fragmented message in progress, per connection and direction. */
interface Fragmented {
  text: boolean;
  compressed: boolean;
  /** the bytes of a UTF-8 sequence the previous fragment ended in the middle of */
  carry: Uint8Array;
}

type Paint = (s: string) => string;

export class HumanView {
  private readonly t0 = new Map<string, number>();
  private readonly tls = new Map<string, TlsRecord>();
  private readonly fragmented = new Map<string, Fragmented>();
  private readonly c: Record<'dim' | 'bold' | 'red' | 'green' | 'yellow' | 'cyan' | 'magenta', Paint>;
  /** a frame line's painted parts that do not change */
  private readonly parts: { client: string; server: string; opcodes: string[]; emptyLabel: string; middles: string[] };

  constructor(private readonly options: HumanOptions) {
    const wrap = (code: string): Paint => (options.color ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s);
    this.c = { dim: wrap('2'), bold: wrap('1'), red: wrap('31'), green: wrap('32'), yellow: wrap('33'), cyan: wrap('36'), magenta: wrap('35') };
    const c = this.c;
    this.parts = {
      client: c.cyan('client →'),
      server: c.magenta('← server'),
      opcodes: Array.from({ length: 16 }, (_, op) => c.bold(opcodeName(op).padEnd(12))),
      emptyLabel: c.dim(''),
      middles: new Array<string>(512),
    };
  }

  /** `decoded`: a frame's decoded message, or the requests a closing connection left unanswered */
  format(e: EngineEvent, decoded?: Decoded | Unanswered[]): string {
    let text = this.formatOne(e, decoded);
    if (Array.isArray(decoded)) text += '\n' + this.unansweredLines(decoded);
    if (!this.options.multi) return text;
    const prefix = `[${e.connection}] `;
    // (A frame is one line but for its violations and hex dump.) The prefixed line is what
    // is looked into: the search makes it one flat string, which is then written as it is
    // (searching `text` and then prefixing it copied every line twice).
    const line = prefix + text;
    if (!line.includes('\n')) return line;
    return text
      .split('\n')
      .map((l) => prefix + l)
      .join('\n');
  }

  private unansweredLines(list: Unanswered[]): string {
    return list.map((u) => this.c.yellow(`        ! ${unansweredLine(u)}`)).join('\n');
  }

  private formatOne(e: EngineEvent, decoded?: Decoded | Unanswered[]): string {
    switch (e.event) {
      case 'handshake': {
        const tls = this.tls.get(e.connection) ?? this.options.tlsOf?.(e.connection) ?? null;
        const upstream = this.tls.has(e.connection);
        return tls ? `${this.handshake(e)}\n${this.tlsLines(tls, upstream)}` : this.handshake(e);
      }
      case 'frame':
        return this.frame(e, e.connection, decoded as Decoded | undefined);
      case 'close': {
        const code = e.code === null ? 'no status code' : `${e.code} ${closeCodeName(e.code)}`;
        const reason = e.reason ? ` "${e.reason}"` : '';
        return this.c.bold(`closed: ${code}${reason}, by ${e.by}, ${e.clean ? 'clean' : 'not clean'}`);
      }
      case 'error':
        return this.c.red(`error (${e.kind}): ${e.message}`);
      case 'open':
        if (e.tls) this.tls.set(e.connection, e.tls);
        return this.c.bold(`open ${e.connection}: ${e.url} from ${e.client ?? '?'}`);
    }
  }

  handshake(h: HandshakeRecord): string {
    const c = this.c;
    const lines: string[] = [];
    const req = h.request;
    lines.push(c.cyan(`> ${req.method} ${req.target} ${req.version}`));
    for (const [n, v] of req.headers) lines.push(c.cyan(`> ${n}: ${v}`));
    if (h.response) {
      const r = h.response;
      lines.push(c.magenta(`< ${r.version} ${r.status} ${r.reason}`));
      for (const [n, v] of r.headers) lines.push(c.magenta(`< ${n}: ${v}`));
    } else {
      lines.push(c.red('< (no response)'));
    }
    const a = h.accept;
    const verdict = a.valid ? c.green('valid') : c.red('invalid');
    lines.push(`Accept ${verdict}: received ${a.received ?? '(none)'}, expected ${a.expected} = base64(sha1(key + GUID))`);
    if (h.protocol) lines.push(`protocol: ${h.protocol}`);
    for (const x of h.extensions) {
      const params = Object.entries(x.params).map(([k, v]) => (v === true ? k : `${k}=${v}`));
      lines.push(`extension: ${[x.name, ...params].join('; ')}`);
    }
    for (const check of h.checks) {
      if (!check.ok) lines.push(c.red(`check failed: ${check.id}: ${check.detail}`));
    }
    return lines.join('\n');
  }

  /** The TLS session, concisely: version and cipher, the verdict, the peer's certificate. */
  tlsLines(t: TlsRecord, upstream = false): string {
    const c = this.c;
    const verdict = t.authorized ? c.green('certificate verified') : c.red(`certificate not verified${t.authorizationError ? `: ${t.authorizationError}` : ''}`);
    const lines = [`${upstream ? 'upstream TLS' : 'TLS'}: ${t.protocol ?? '?'}, ${t.cipher ?? '?'}, ${verdict}${t.servername ? ` (SNI ${t.servername})` : ''}`];
    const cert = t.peerCertificate;
    if (cert) {
      lines.push(`certificate: ${cert.subject || '(no subject)'}; issuer: ${cert.issuer || '(no issuer)'}`);
      const valid = cert.validFrom ? `${cert.validFrom} to ${cert.validTo}` : `to ${cert.validTo}`;
      lines.push(`certificate valid ${valid}; SHA-256 ${cert.fingerprint256}`);
    }
    return lines.join('\n');
  }

  frame(f: FrameRecord, connection = '', decoded?: Decoded): string {
    // The proxy prints a line a frame, thousands a second: the parts that only depend on a
    // few bits (direction, opcode, flags) are made once, in frameParts.
    const c = this.c;
    const parts = this.parts;
    let t0 = this.t0.get(connection);
    if (t0 === undefined) this.t0.set(connection, (t0 = f.time));
    const rel = (f.time - t0).toFixed(3).padStart(10);
    // Direction, opcode and flags: one string of a few hundred, made the first time it is needed.
    const key = (f.from === 'client' ? 0 : 256) | (f.opcode << 4) | (f.fin ? 8 : 0) | (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0);
    const middle = (parts.middles[key] ??= `${f.from === 'client' ? parts.client : parts.server} ${parts.opcodes[f.opcode]!} ${FLAGS[key & 15]!}  `);
    const mask = f.masked && f.maskKey ? `mask ${toHex(f.maskKey)}` : 'unmasked     ';
    let line = `#${String(f.seq).padEnd(5)} +${rel}ms ${middle}${mask}  len ${String(f.length).padStart(7)}`;
    const preview = this.preview(f, connection);
    if (preview) line += `  ${preview}`;
    if (f.rtt !== undefined) line += c.green(`  rtt ${f.rtt.toFixed(3)} ms`);
    if (f.by || f.intervention) line += this.intervention(f);
    if (decoded) line += `  ${(decoded.type === 'invalid' || decoded.type === 'truncated' ? c.red : decoded.heartbeat ? c.dim : c.cyan)(`[${decodedLine(decoded)}]`)}`;
    if (!f.violations?.length && !(this.options.hex && f.payload.length > 0)) return line;
    const lines = [line];
    for (const v of f.violations ?? []) {
      const paint = v.severity === 'error' ? c.red : c.yellow;
      lines.push(paint(`        ! ${v.severity} ${v.id} (RFC ${v.rfc}): ${v.message}`));
    }
    if (this.options.hex) {
      if (f.payload.length > 0) lines.push(c.dim(indent(hexDump(f.payload), 8)));
    }
    return lines.join('\n');
  }

  /**
   * Who wrote the frame and what became of a held message, greppable: `⇢ framescope #2
   * recompressed`, `⇢ framescope #4 injected`, `replaced #2`, `dropped #3`, `held #1` (a
   * fragment whose message was not yet decided).
   */
  private intervention(f: FrameRecord): string {
    const iv = f.intervention;
    const id = iv ? ` #${iv.id}` : '';
    if (f.by) return this.c.yellow(`  ⇢ framescope${id}${iv?.injected ? ' injected' : ''}${iv?.recompressed ? ' recompressed' : ''}`);
    const decision = iv!.decision ?? 'held';
    const paint = decision === 'forwarded' || decision === 'delayed' || decision === 'held' ? this.c.yellow : this.c.red;
    return paint(`  ${decision}${id}`);
  }

  private preview(f: FrameRecord, connection: string): string {
    const max = this.options.previewChars ?? 80;
    const fragment = this.fragmentOf(f, connection);
    if (f.close) {
      return f.close.code === null ? '(no status)' : `${f.close.code} ${closeCodeName(f.close.code)}${f.close.reason ? ` "${f.close.reason}"` : ''}`;
    }
    const whole = f.message ? f.message.data : f.payload;
    const isText = f.message ? f.message.opcode === 1 : f.opcode === 1 || f.opcode === 9 || f.opcode === 10 || !!fragment?.text;
    let text: string;
    if (whole.length === 0 && !fragment?.carry.length) return '';
    if (isText && (f.message || !(f.rsv1 || fragment?.compressed))) {
      // A fragment's text starts with what the previous one cut off mid-character, and a
      // character cut off here (by the fragment or the preview) is left for later: no U+FFFD
      // that is not in the message.
      const carry = !f.message && fragment ? fragment.carry : EMPTY;
      const head = whole.length > max * 4 ? whole.subarray(0, max * 4) : whole;
      text = JSON.stringify(decodeText(carry.length ? Buffer.concat([carry, head]) : head, head.length < whole.length || (!f.message && !f.fin)));
    } else {
      text = toHex(whole.subarray(0, Math.ceil(max / 3)), ' ');
    }
    if (fragment && !f.fin) fragment.carry = incompleteTail(fragment.carry, whole);
    if (text.length > max) text = text.slice(0, max - 1) + '…';
    const label = f.message ? `message ${f.message.length} B${f.rsv1 ? ' inflated' : ''}: ` : '';
    return (label ? this.c.dim(label) : this.parts.emptyLabel) + text;
  }

  /**
   * Follows fragmented data messages (§5.4): returns the message a data frame belongs to when
   * it is a fragment of one (its first frame or a continuation), and forgets it on the last.
   */
  private fragmentOf(f: FrameRecord, connection: string): Fragmented | undefined {
    if (f.opcode !== 0 && f.opcode !== 1 && f.opcode !== 2) return undefined;
    // The usual case, whole messages only: nothing to look up.
    if (f.fin && this.fragmented.size === 0) return undefined;
    const key = `${connection}\u0000${f.from}`;
    let fragment = this.fragmented.get(key);
    if (f.opcode !== 0) {
      fragment = f.fin ? undefined : { text: f.opcode === 1, compressed: f.rsv1, carry: EMPTY };
      if (fragment) this.fragmented.set(key, fragment);
      else this.fragmented.delete(key);
      return fragment;
    }
    if (f.fin) this.fragmented.delete(key);
    return fragment;
  }
}

const EMPTY = new Uint8Array(0);

/** FIN and RSV1-3 as a frame line shows them, by (fin << 3 | rsv1 << 2 | rsv2 << 1 | rsv3). */
const FLAGS = Array.from({ length: 16 }, (_, i) => [i & 8 ? 'FIN' : '---', i & 4 ? 'R1' : '--', i & 2 ? 'R2' : '--', i & 1 ? 'R3' : '--'].join(' '));

// One decoder for whole texts; one for texts cut short, which holds back an incomplete last
// character (stream) and is reset after each use. A decoder a frame cost more than decoding.
const WHOLE = new TextDecoder();
const CUT = new TextDecoder();
const STREAM = { stream: true };

function decodeText(bytes: Uint8Array, cut: boolean): string {
  if (!cut) return WHOLE.decode(bytes);
  const text = CUT.decode(bytes, STREAM);
  CUT.decode(); // forgets the held-back bytes
  return text;
}

/**
 * The bytes of a UTF-8 sequence left incomplete at the end of `carry` + `bytes` (at most 3),
 * which the next fragment completes.
 */
export function incompleteTail(carry: Uint8Array, bytes: Uint8Array): Uint8Array {
  const tail = bytes.length >= 3 ? bytes.subarray(bytes.length - 3) : Buffer.concat([carry, bytes]).subarray(-3);
  for (let i = tail.length - 1; i >= 0; i--) {
    const b = tail[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: the sequence starts earlier
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return tail.length - i < need ? Uint8Array.from(tail.subarray(i)) : EMPTY;
  }
  return EMPTY;
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}
