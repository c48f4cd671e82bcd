// Sec-WebSocket-Extensions (RFC 6455 §9.1) and permessage-deflate negotiation (RFC 7692 §7).
// Pure code: strings in, records out. Names and parameter names are compared exactly (as
// `ws` does); the records keep them as they were sent.
import type { ExtensionRecord } from '../model';

/**
 * The permessage-deflate parameters in force once the handshake is done (RFC 7692 §7.1).
 * "server" is the direction server -> client, "client" is client -> server.
 */
export interface DeflateParams {
  /** §7.1.1.1: the server resets its LZ77 window after every message it sends */
  serverNoContextTakeover: boolean;
  /** §7.1.1.2: the client resets its LZ77 window after every message it sends */
  clientNoContextTakeover: boolean;
  /** §7.1.2.1: base-2 log of the server's LZ77 window, 8..15 (15 when not negotiated) */
  serverMaxWindowBits: number;
  /** §7.1.2.2: base-2 log of the client's LZ77 window, 8..15 (15 when not negotiated) */
  clientMaxWindowBits: number;
}

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

export type ExtensionErrorCode = 'malformed-extensions' | 'duplicate-param' | 'bad-extension';

/** A Sec-WebSocket-Extensions value that does not follow RFC 6455 §9.1, or a bad record to format. */
export class ExtensionError extends Error {
  override readonly name = 'ExtensionError';
  constructor(
    readonly code: ExtensionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// §9.1 grammar
//   extension-list = 1#extension
//   extension      = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
//     (a quoted-string value, once unescaped, must itself be a token)
// Optional whitespace is allowed around the separators (the RFC's implied *LWS), and empty
// list elements ("a, , b") are skipped as RFC 9110 §5.6.1 tells recipients to do.

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

export function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** RFC 9110 §5.6.2 token: one or more tchar. */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTchar(text.charCodeAt(i))) return false;
  return true;
}

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly line: number,
  ) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && isTchar(this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(start, this.pos);
  }
  fail(what: string): never {
    const where = this.line > 0 ? ` (header line ${this.line + 1})` : '';
    const seen = this.done ? 'the end of the value' : `"${this.peek()}"`;
    throw new ExtensionError(
      'malformed-extensions',
      `Sec-WebSocket-Extensions${where}: expected ${what} at character ${this.pos + 1} but found ${seen} in "${this.text}" (RFC 6455 §9.1)`,
    );
  }
  /** quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; returns the unescaped text. */
  quoted(): string {
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      if (this.done) this.fail('a closing quote');
      const c = this.peek();
      const code = c.charCodeAt(0);
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        this.pos++;
        if (this.done) this.fail('an escaped character after "\\"');
        const e = this.peek().charCodeAt(0);
        if (e < 0x20 && e !== 0x09) this.fail('a printable escaped character');
        out += this.peek();
        this.pos++;
        continue;
      }
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) this.fail('a printable character inside quotes');
      out += c;
      this.pos++;
    }
  }
}

function parseOne(text: string, line: number, out: ExtensionRecord[]): void {
  const s = new Scanner(text, line);
  for (;;) {
    s.skipOws();
    if (s.done) return;
    if (s.peek() === ',') {
      s.pos++;
      continue;
    }
    const name = s.token();
    if (!name) s.fail('an extension name (a token)');
    const params: Record<string, string | true> = Object.create(null) as Record<string, string | true>;
    s.skipOws();
    while (s.peek() === ';') {
      s.pos++;
      s.skipOws();
      const param = s.token();
      if (!param) s.fail(`a parameter name (a token) for ${name}`);
      s.skipOws();
      let value: string | true = true;
      if (s.peek() === '=') {
        s.pos++;
        s.skipOws();
        if (s.peek() === '"') {
          const at = s.pos;
          value = s.quoted();
          if (!isToken(value)) {
            s.pos = at;
            s.fail(`a quoted value that is a token once unquoted for ${name}; ${param}`);
          }
        } else {
          value = s.token();
          if (!value) s.fail(`a value (a token or quoted string) for ${name}; ${param}`);
        }
        s.skipOws();
      }
      if (Object.prototype.hasOwnProperty.call(params, param)) {
        throw new ExtensionError(
          'duplicate-param',
          `Sec-WebSocket-Extensions: ${name} has the parameter ${param} more than once in "${text}"`,
        );
      }
      params[param] = value;
    }
    // Plain object from here on: callers compare and serialise records.
    out.push({ name, params: { ...params } });
    if (s.done) return;
    if (s.peek() !== ',') s.fail('";" or "," after an extension');
    s.pos++;
  }
}

/**
 * Parses every Sec-WebSocket-Extensions header value (one per header line, in order) into
 * the extensions they list, in order. Throws an ExtensionError ('malformed-extensions' or
 * 'duplicate-param') naming the place where the value breaks the §9.1 grammar.
 */
export function parseExtensions(headerValues: readonly string[]): ExtensionRecord[] {
  const out: ExtensionRecord[] = [];
  headerValues.forEach((value, i) => parseOne(value, headerValues.length > 1 ? i : 0, out));
  return out;
}

function formatValue(ext: string, param: string, value: string): string {
  if (isToken(value)) return value;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      throw new ExtensionError('bad-extension', `${ext}; ${param}: the value has a control character`);
    }
  }
  // Legal syntax, though §9.1 wants the unquoted value to be a token: a debugger may send it.
  return `"${value.replace(/["\\]/g, (m) => `\\${m}`)}"`;
}

/** Writes extensions as one Sec-WebSocket-Extensions value: `a; x=1; y, b`. */
export function formatExtensions(list: readonly ExtensionRecord[]): string {
  return list
    .map((ext) => {
      if (!isToken(ext.name)) {
        throw new ExtensionError('bad-extension', `extension name ${JSON.stringify(ext.name)} is not a token (RFC 6455 §9.1)`);
      }
      let out = ext.name;
      for (const [param, value] of Object.entries(ext.params)) {
        if (!isToken(param)) {
          throw new ExtensionError(
            'bad-extension',
            `${ext.name}: parameter name ${JSON.stringify(param)} is not a token (RFC 6455 §9.1)`,
          );
        }
        out += value === true ? `; ${param}` : `; ${param}=${formatValue(ext.name, param, value)}`;
      }
      return out;
    })
    .join(', ');
}

// ---------------------------------------------------------------------------------------
// permessage-deflate, RFC 7692 §7.1

export const DEFAULT_DEFLATE_PARAMS: Readonly<DeflateParams> = Object.freeze({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
});

export interface DeflateOfferOptions {
  /** true: offer the parameter without a value (the default, as browsers do); a number: with
   *  that value as a hint (8..15); false: leave it out, so the server may not limit our window */
  clientMaxWindowBits?: boolean | number;
  /** ask the server to use at most this window (8..15) */
  serverMaxWindowBits?: number;
  /** hint that we will not use context takeover ourselves */
  clientNoContextTakeover?: boolean;
  /** ask the server not to use context takeover */
  serverNoContextTakeover?: boolean;
}

function checkBits(what: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < 8 || bits > 15) {
    throw new ExtensionError('bad-extension', `${what} must be an integer from 8 to 15, not ${bits} (RFC 7692 §7.1.2)`);
  }
}

/** A permessage-deflate offer. With no options: `permessage-deflate; client_max_window_bits`. */
export function deflateOffer(options: DeflateOfferOptions = {}): ExtensionRecord {
  const params: Record<string, string | true> = {};
  if (options.serverNoContextTakeover) params['server_no_context_takeover'] = true;
  if (options.clientNoContextTakeover) params['client_no_context_takeover'] = true;
  if (options.serverMaxWindowBits !== undefined) {
    checkBits('server_max_window_bits', options.serverMaxWindowBits);
    params['server_max_window_bits'] = String(options.serverMaxWindowBits);
  }
  const cmwb = options.clientMaxWindowBits ?? true;
  if (typeof cmwb === 'number') {
    checkBits('client_max_window_bits', cmwb);
    params['client_max_window_bits'] = String(cmwb);
  } else if (cmwb) {
    params['client_max_window_bits'] = true;
  }
  return { name: PERMESSAGE_DEFLATE, params };
}

/** §7.1.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive". */
function windowBits(value: string | true): number | null {
  if (value === true || !/^(8|9|1[0-5])$/.test(value)) return null;
  return Number(value);
}

/** What an offer (or a response) says, once its parameters are checked. */
interface DeflateTerms {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null;
  /** true: offered without a value (offers only) */
  clientMaxWindowBits: number | true | null;
}

const PARAM_NAMES = new Set([
  'server_no_context_takeover',
  'client_no_context_takeover',
  'server_max_window_bits',
  'client_max_window_bits',
]);

/**
 * Checks one permessage-deflate offer or response against §7.1: only the four known
 * parameters, flags without values, window bits 8..15 (a response must give
 * client_max_window_bits a value; an offer need not). Duplicates cannot reach here:
 * parseExtensions refuses them. Returns the terms or the reason they are invalid.
 */
function readTerms(ext: ExtensionRecord, role: 'offer' | 'response'): DeflateTerms | string {
  const terms: DeflateTerms = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: null,
    clientMaxWindowBits: null,
  };
  for (const [name, value] of Object.entries(ext.params)) {
    if (!PARAM_NAMES.has(name)) return `the ${role} has the unknown parameter ${name} (RFC 7692 §7.1)`;
    if (name === 'server_no_context_takeover' || name === 'client_no_context_takeover') {
      if (value !== true) return `${name} must not have a value, but the ${role} gives it "${value}" (RFC 7692 §7.1.1)`;
      if (name === 'server_no_context_takeover') terms.serverNoContextTakeover = true;
      else terms.clientNoContextTakeover = true;
      continue;
    }
    if (name === 'client_max_window_bits' && value === true && role === 'offer') {
      terms.clientMaxWindowBits = true;
      continue;
    }
    const bits = windowBits(value);
    if (bits === null) {
      const seen = value === true ? 'no value' : `"${value}"`;
      return `${name} in the ${role} must be a number from 8 to 15 without leading zeros, but it has ${seen} (RFC 7692 §7.1.2)`;
    }
    if (name === 'server_max_window_bits') terms.serverMaxWindowBits = bits;
    else terms.clientMaxWindowBits = bits;
  }
  return terms;
}

export type DeflateNegotiation = { ok: true; params: DeflateParams } | { ok: false; reason: string };

/**
 * Client side: does this response accept this offer (RFC 7692 §7.1), and on what terms?
 * A response that violates §7.1 means the client must fail the connection (§5.1).
 */
export function negotiateDeflateResponse(offer: ExtensionRecord, response: ExtensionRecord): DeflateNegotiation {
  if (offer.name !== PERMESSAGE_DEFLATE) return { ok: false, reason: `the offer is ${offer.name}, not ${PERMESSAGE_DEFLATE}` };
  if (response.name !== PERMESSAGE_DEFLATE) {
    return { ok: false, reason: `the response is ${response.name}, not ${PERMESSAGE_DEFLATE}` };
  }
  const o = readTerms(offer, 'offer');
  if (typeof o === 'string') return { ok: false, reason: `the offer itself is invalid: ${o}` };
  const r = readTerms(response, 'response');
  if (typeof r === 'string') return { ok: false, reason: r };

  // §7.1.1.1: a server accepts an offer with server_no_context_takeover by echoing it.
  if (o.serverNoContextTakeover && !r.serverNoContextTakeover) {
    return {
      ok: false,
      reason: 'the offer asked for server_no_context_takeover, so a response accepting it must include it (RFC 7692 §7.1.1.1)',
    };
  }
  // §7.1.2.1: accepted with server_max_window_bits of the same or a smaller value.
  if (o.serverMaxWindowBits !== null) {
    if (r.serverMaxWindowBits === null) {
      return {
        ok: false,
        reason: `the offer asked for server_max_window_bits=${o.serverMaxWindowBits}, so a response accepting it must include server_max_window_bits (RFC 7692 §7.1.2.1)`,
      };
    }
    if (r.serverMaxWindowBits > o.serverMaxWindowBits) {
      return {
        ok: false,
        reason: `the response has server_max_window_bits=${r.serverMaxWindowBits}, larger than the ${o.serverMaxWindowBits} offered (RFC 7692 §7.1.2.1)`,
      };
    }
  }
  // §7.1.2.2: only when offered; when the offer had a value, not above it.
  if (r.clientMaxWindowBits !== null) {
    if (o.clientMaxWindowBits === null) {
      return {
        ok: false,
        reason: 'the response has client_max_window_bits, but the offer did not include it (RFC 7692 §7.1.2.2)',
      };
    }
    if (typeof o.clientMaxWindowBits === 'number' && (r.clientMaxWindowBits as number) > o.clientMaxWindowBits) {
      return {
        ok: false,
        reason: `the response has client_max_window_bits=${r.clientMaxWindowBits}, larger than the ${o.clientMaxWindowBits} offered (RFC 7692 §7.1.2.2)`,
      };
    }
  }
  const offeredClientBits = typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : 15;
  return {
    ok: true,
    params: {
      serverNoContextTakeover: r.serverNoContextTakeover,
      // §7.1.1.2: an offer with client_no_context_takeover promises it whatever the answer.
      clientNoContextTakeover: r.clientNoContextTakeover || o.clientNoContextTakeover,
      serverMaxWindowBits: r.serverMaxWindowBits ?? 15,
      clientMaxWindowBits: (r.clientMaxWindowBits as number | null) ?? offeredClientBits,
    },
  };
}

/** What a server wants; every field optional. */
export interface DeflateServerPrefs {
  /** always reset our (server) window after each message */
  serverNoContextTakeover?: boolean;
  /** ask the client to reset its window after each message */
  clientNoContextTakeover?: boolean;
  /** use at most this window ourselves (8..15) */
  serverMaxWindowBits?: number;
  /** limit the client's window to this (8..15); offers without client_max_window_bits are declined */
  clientMaxWindowBits?: number;
}

/**
 * Server side: picks the first permessage-deflate offer that is valid (RFC 7692 §5: decline
 * invalid ones) and that these preferences can accept, and builds the response element.
 * null: decline permessage-deflate altogether (answer without it).
 */
export function acceptDeflateOffer(
  offers: readonly ExtensionRecord[],
  prefs: DeflateServerPrefs = {},
): { response: ExtensionRecord; params: DeflateParams } | null {
  if (prefs.serverMaxWindowBits !== undefined) checkBits('serverMaxWindowBits', prefs.serverMaxWindowBits);
  if (prefs.clientMaxWindowBits !== undefined) checkBits('clientMaxWindowBits', prefs.clientMaxWindowBits);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const o = readTerms(offer, 'offer');
    if (typeof o === 'string') continue;
    // §7.1.2.2: without client_max_window_bits in the offer we may not limit the client.
    if (prefs.clientMaxWindowBits !== undefined && o.clientMaxWindowBits === null) continue;

    const params: Record<string, string | true> = {};
    const serverNoContextTakeover = o.serverNoContextTakeover || prefs.serverNoContextTakeover === true;
    if (serverNoContextTakeover) params['server_no_context_takeover'] = true;
    if (prefs.clientNoContextTakeover) params['client_no_context_takeover'] = true;

    let serverBits = 15;
    if (o.serverMaxWindowBits !== null || prefs.serverMaxWindowBits !== undefined) {
      serverBits = Math.min(o.serverMaxWindowBits ?? 15, prefs.serverMaxWindowBits ?? 15);
      params['server_max_window_bits'] = String(serverBits);
    }
    const offeredClientBits = typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : 15;
    let clientBits = offeredClientBits;
    if (prefs.clientMaxWindowBits !== undefined) {
      clientBits = Math.min(prefs.clientMaxWindowBits, offeredClientBits);
      params['client_max_window_bits'] = String(clientBits);
    }
    return {
      response: { name: PERMESSAGE_DEFLATE, params },
      params: {
        serverNoContextTakeover,
        clientNoContextTakeover: prefs.clientNoContextTakeover === true || o.clientNoContextTakeover,
        serverMaxWindowBits: serverBits,
        clientMaxWindowBits: clientBits,
      },
    };
  }
  return null;
}
