// The RFC 6455 opening handshake (§1.3, §4), sans-I/O: an incremental HTTP/1.1 head parser,
// head writers, Sec-WebSocket-Key/Accept, the client request, the response checklist and
// the server side. No sockets, no clocks, no node: SHA-1 and random bytes are handed in.
import { fromBase64, toBase64, toHex, utf8DecodeStrict, utf8Encode } from '../bytes';
import type {
  AcceptRecord,
  ExtensionRecord,
  HandshakeCheck,
  HandshakeRecord,
  HeaderList,
  HttpRequestRecord,
  HttpResponseRecord,
} from '../model';
import {
  ExtensionError,
  PERMESSAGE_DEFLATE,
  formatExtensions,
  isTchar,
  isToken,
  negotiateDeflateResponse,
  parseExtensions,
  type DeflateParams,
} from './extensions';

/** RFC 6455 §1.3: appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export type Sha1 = (data: Uint8Array) => Uint8Array;
export type RandomBytes = (n: number) => Uint8Array;

export type HandshakeErrorCode =
  /** the head grew past maxHeaderBytes before its blank line */
  | 'head-too-large'
  /** more than maxHeaders header lines */
  | 'too-many-headers'
  /** the first line of a response is not `HTTP/1.x NNN reason` */
  | 'malformed-status-line'
  /** the first line of a request is not `METHOD target HTTP/1.x` */
  | 'malformed-request-line'
  /** an HTTP version other than 1.x */
  | 'bad-version'
  /** a header line without a colon, with a bad name, or with space before the colon */
  | 'malformed-header'
  /** a header line starting with space or tab (obsolete line folding, RFC 9112 §5.2) */
  | 'obs-fold'
  /** NUL, a bare CR or another control character in the head */
  | 'invalid-character'
  /** a line ended by LF alone while the parser was asked to be strict */
  | 'bare-lf'
  /** the stream ended before the blank line that ends the head */
  | 'incomplete-head'
  /** not a ws:// or wss:// URL we can request (RFC 6455 §3) */
  | 'bad-url'
  /** a header name that is not a token, or a value with CR, LF or NUL */
  | 'bad-header'
  /** a subprotocol that is not a token, or offered twice */
  | 'bad-protocol'
  /** an extension record that cannot be written */
  | 'bad-extension';

/** A handshake that cannot go on: bad bytes from the peer, or a request we cannot build. */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    readonly code: HandshakeErrorCode,
    message: string,
    /** for parser errors: the byte offset in the head where the problem was seen */
    readonly offset?: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Incremental head parser

export type HeadKind = 'request' | 'response';
export type HeadOf<K extends HeadKind> = K extends 'request' ? HttpRequestRecord : HttpResponseRecord;

export interface HeadParserOptions {
  /** the whole head, start line to the blank line inclusive (default 16384) */
  maxHeaderBytes?: number;
  /** header lines (default 100) */
  maxHeaders?: number;
  /**
   * Refuse a line ended by LF alone ('bare-lf'). Default false: RFC 9112 §2.2 lets a
   * recipient accept a bare LF, real servers occasionally send one, and an inspector would
   * rather show such a head (with `bareLf: true`) than refuse it.
   */
  strictLineEndings?: boolean;
}

export type HeadResult<K extends HeadKind> =
  | { done: false }
  | {
      done: true;
      head: HeadOf<K>;
      /** the head exactly as received, from the first byte to the final CRLFCRLF */
      headBytes: Uint8Array;
      /** bytes after the head in the chunk that completed it (a view of that chunk):
       *  frames may follow the handshake in the same TCP segment */
      rest: Uint8Array;
      /** some line ended with LF alone (RFC 9112 §2.2 tolerance) */
      bareLf: boolean;
    };

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

/** Bytes shown in an error message: printable ASCII as is, the rest as \xNN, cut at 80. */
function show(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length && out.length < 80; i++) {
    const b = bytes[i]!;
    out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > 80 || out.length >= 80 ? `${out.slice(0, 80)}…` : out;
}

/** Header text: UTF-8 when it is valid UTF-8, else Latin-1 (one char a byte), as sent. */
function decodeField(bytes: Uint8Array): string {
  const utf8 = utf8DecodeStrict(bytes);
  if (utf8 !== null) return utf8;
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

/**
 * Parses one HTTP/1.1 request or response head from a byte stream, fed in chunks of any
 * size (one byte at a time gives the same result as all at once). It never holds more
 * than maxHeaderBytes: the limit is checked as each byte arrives. Each line is checked as
 * soon as it ends, and the first bytes of a response must be "HTTP/", so a peer that is
 * not speaking HTTP fails fast instead of at the limit.
 *
 * Accepted: bare LF line endings (unless strictLineEndings), empty lines before a request
 * line (RFC 9112 §2.2), a status line without the space before an empty reason.
 * Refused: obs-fold, header lines without a colon or with space before it, NUL, bare CR
 * and other control characters (tab is allowed in values), versions other than HTTP/1.x.
 */
export class HttpHeadParser<K extends HeadKind> {
  private readonly maxHeaderBytes: number;
  private readonly maxHeaders: number;
  private readonly strictLineEndings: boolean;
  private buf: Uint8Array;
  private len = 0;
  private lineStart = 0;
  /** request line: the method's bytes have ended (an SP was seen) */
  private methodEnded = false;
  private startLine: HttpRequestRecord | HttpResponseRecord | null = null;
  private readonly headers: HeaderList = [];
  private bareLf = false;
  private complete = false;
  private error: HandshakeError | null = null;

  constructor(
    readonly kind: K,
    options: HeadParserOptions = {},
  ) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16384;
    this.maxHeaders = options.maxHeaders ?? 100;
    this.strictLineEndings = options.strictLineEndings ?? false;
    if (!(this.maxHeaderBytes > 0) || !Number.isInteger(this.maxHeaderBytes)) {
      throw new RangeError('maxHeaderBytes must be a positive integer');
    }
    this.buf = new Uint8Array(Math.min(this.maxHeaderBytes, 1024));
  }

  /** Bytes of the head taken in so far. */
  get bytesReceived(): number {
    return this.len;
  }

  get done(): boolean {
    return this.complete;
  }

  receive(chunk: Uint8Array): HeadResult<K> {
    if (this.error) throw this.error;
    if (this.complete) {
      throw new Error('HttpHeadParser: the head is already complete; later bytes belong to the frame parser');
    }
    try {
      for (let i = 0; i < chunk.length; i++) {
        if (this.len >= this.maxHeaderBytes) {
          this.fail(
            'head-too-large',
            `The HTTP ${this.kind} head is larger than the ${this.maxHeaderBytes}-byte limit and has not ended yet.`,
          );
        }
        const b = chunk[i]!;
        this.push(b);
        if (this.startLine === null) this.checkStartLineByte(b);
        if (b === LF) {
          this.endLine();
          if (this.complete) {
            return {
              done: true,
              head: this.record(),
              headBytes: this.buf.slice(0, this.len),
              rest: chunk.subarray(i + 1),
              bareLf: this.bareLf,
            };
          }
        }
      }
      return { done: false };
    } catch (e) {
      if (e instanceof HandshakeError) this.error = e;
      throw e;
    }
  }

  /** The stream ended. Throws 'incomplete-head' unless the head was complete. */
  end(): void {
    if (this.error) throw this.error;
    if (this.complete) return;
    this.error = new HandshakeError(
      'incomplete-head',
      this.len === 0
        ? `The connection ended before any HTTP ${this.kind} arrived.`
        : `The connection ended ${this.len} bytes into the HTTP ${this.kind} head, before the blank line that ends it (received: "${show(this.buf.subarray(0, this.len))}").`,
      this.len,
    );
    throw this.error;
  }

  private push(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(Math.min(this.buf.length * 2, this.maxHeaderBytes));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }

  private fail(code: HandshakeErrorCode, message: string, offset = this.len): never {
    throw new HandshakeError(code, message, offset);
  }

  /** Fail fast on a peer that is not speaking HTTP, before its first line ends. */
  private checkStartLineByte(b: number): void {
    const at = this.len - 1 - this.lineStart;
    if (this.kind === 'response') {
      if (at < HTTP_SLASH.length && b !== HTTP_SLASH[at]) {
        this.fail(
          'malformed-status-line',
          `The response does not start with "HTTP/": the server sent "${show(this.buf.subarray(0, this.len))}", which is not an HTTP/1.1 status line.`,
        );
      }
    } else if (!this.methodEnded) {
      if (b === SP) this.methodEnded = true;
      else if (b !== CR && b !== LF && !isTchar(b)) {
        this.fail(
          'malformed-request-line',
          `The request does not start with an HTTP method: the client sent "${show(this.buf.subarray(this.lineStart, this.len))}".`,
        );
      }
    }
  }

  private endLine(): void {
    const from = this.lineStart;
    let to = this.len - 1; // the LF
    if (to > from && this.buf[to - 1] === CR) to--;
    else {
      if (this.strictLineEndings) {
        this.fail('bare-lf', `Line ${this.describeLine()} of the ${this.kind} head ends with LF alone, not CRLF.`);
      }
      this.bareLf = true;
    }
    this.lineStart = this.len;
    const line = this.buf.subarray(from, to);

    if (line.length === 0) {
      if (this.startLine !== null) {
        this.complete = true;
        return;
      }
      if (this.kind === 'request') {
        this.methodEnded = false;
        return; // RFC 9112 §2.2: ignore empty lines before the request line
      }
      this.fail('malformed-status-line', 'The response starts with an empty line instead of an HTTP/1.1 status line.');
    }

    for (let i = 0; i < line.length; i++) {
      const b = line[i]!;
      if ((b < 0x20 && b !== HTAB) || b === 0x7f) {
        const name = b === 0 ? 'a NUL byte' : b === CR ? 'a bare CR (not followed by LF)' : `the control character 0x${b.toString(16).padStart(2, '0')}`;
        this.fail(
          'invalid-character',
          `Line ${this.describeLine()} of the ${this.kind} head contains ${name} at column ${i + 1}: "${show(line)}".`,
          from + i,
        );
      }
    }

    if (this.startLine === null) {
      this.startLine = this.kind === 'request' ? this.parseRequestLine(line) : this.parseStatusLine(line);
    } else {
      this.parseHeaderLine(line, from);
    }
  }

  private describeLine(): string {
    return String(this.headers.length + (this.startLine === null ? 1 : 2));
  }

  private parseRequestLine(line: Uint8Array): HttpRequestRecord {
    const text = decodeField(line);
    const parts = text.split(' ');
    const bad = (why: string): never =>
      this.fail('malformed-request-line', `The request line "${show(line)}" is not "METHOD target HTTP/1.1": ${why}.`);
    if (parts.length !== 3 || parts.some((p) => p.length === 0)) bad('it needs exactly three parts separated by single spaces');
    const [method, target, version] = parts as [string, string, string];
    if (!isToken(method)) bad('the method is not a token');
    if (target.includes('\t')) bad('the target contains a tab');
    this.checkVersion(version, line, 'malformed-request-line', 'request line');
    return { method, target, version, headers: this.headers };
  }

  private parseStatusLine(line: Uint8Array): HttpResponseRecord {
    const text = decodeField(line);
    const space = text.indexOf(' ');
    const version = space < 0 ? text : text.slice(0, space);
    this.checkVersion(version, line, 'malformed-status-line', 'status line');
    const m = /^(\d{3})(?: (.*))?$/s.exec(text.slice(space + 1));
    if (space < 0 || !m) {
      this.fail(
        'malformed-status-line',
        `The status line "${show(line)}" is not "HTTP/1.1 NNN reason": it has no three-digit status code after the version.`,
      );
    }
    return { version, status: Number(m[1]), reason: m[2] ?? '', headers: this.headers };
  }

  private checkVersion(version: string, line: Uint8Array, code: HandshakeErrorCode, what: string): void {
    const m = /^HTTP\/(\d+)(?:\.(\d+))?$/.exec(version);
    if (!m) {
      this.fail(code, `The ${what} "${show(line)}" does not carry an HTTP version like HTTP/1.1 (found "${version}").`);
    }
    if (m[1] !== '1' || m[2] === undefined || m[2].length !== 1) {
      this.fail(
        'bad-version',
        `The ${what} "${show(line)}" says ${version}; the WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1).`,
      );
    }
  }

  private parseHeaderLine(line: Uint8Array, offset: number): void {
    const first = line[0]!;
    if (first === SP || first === HTAB) {
      this.fail(
        'obs-fold',
        `Header line ${this.describeLine()} "${show(line)}" starts with whitespace: obsolete line folding is not accepted (RFC 9112 §5.2).`,
        offset,
      );
    }
    const colon = line.indexOf(0x3a);
    if (colon < 0) {
      this.fail('malformed-header', `Header line ${this.describeLine()} "${show(line)}" has no colon.`, offset);
    }
    for (let i = 0; i < colon; i++) {
      const b = line[i]!;
      if (b === SP || b === HTAB) {
        this.fail(
          'malformed-header',
          `Header line ${this.describeLine()} "${show(line)}" has whitespace ${i === colon - 1 ? 'between the name and the colon' : 'inside the name'} (RFC 9112 §5.1).`,
          offset + i,
        );
      }
      if (!isTchar(b)) {
        this.fail(
          'malformed-header',
          `Header line ${this.describeLine()} "${show(line)}" has a name that is not a token (character ${i + 1}).`,
          offset + i,
        );
      }
    }
    if (colon === 0) this.fail('malformed-header', `Header line ${this.describeLine()} "${show(line)}" has an empty name.`, offset);
    if (this.headers.length >= this.maxHeaders) {
      this.fail('too-many-headers', `The ${this.kind} head has more than ${this.maxHeaders} header lines.`, offset);
    }
    let start = colon + 1;
    let end = line.length;
    while (start < end && (line[start] === SP || line[start] === HTAB)) start++;
    while (end > start && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
    this.headers.push([decodeField(line.subarray(0, colon)), decodeField(line.subarray(start, end))]);
  }

  private record(): HeadOf<K> {
    return this.startLine as HeadOf<K>;
  }
}

// ---------------------------------------------------------------------------------------
// Writers

function noLineBreak(what: string, text: string): void {
  if (/[\r\n\0]/.test(text)) {
    throw new HandshakeError('bad-header', `${what} ${JSON.stringify(text)} contains CR, LF or NUL, which would break the HTTP head.`);
  }
}

function writeHead(startLine: string, headers: HeaderList): Uint8Array {
  noLineBreak('The start line', startLine);
  let text = `${startLine}\r\n`;
  for (const [name, value] of headers) {
    noLineBreak('Header name', name);
    noLineBreak(`The value of ${name}`, value);
    text += `${name}: ${value}\r\n`;
  }
  return utf8Encode(`${text}\r\n`);
}

/**
 * The request head as bytes, headers exactly in the order and case given. Only CR, LF and
 * NUL are refused (they would change where lines end); anything else is written as is, so
 * a debugger can send an odd head on purpose. Text is written as UTF-8.
 */
export function writeRequestHead(req: HttpRequestRecord): Uint8Array {
  return writeHead(`${req.method} ${req.target} ${req.version}`, req.headers);
}

/** The response head as bytes, headers exactly in the order and case given. */
export function writeResponseHead(res: HttpResponseRecord): Uint8Array {
  return writeHead(`${res.version} ${res.status} ${res.reason}`, res.headers);
}

// ---------------------------------------------------------------------------------------
// Header helpers

/** Every value of a header (name compared case-insensitively), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of headers) if (n.toLowerCase() === lower) out.push(v);
  return out;
}

/** The comma-separated elements of every line of a header, trimmed, empty ones dropped. */
export function headerList(headers: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(headers, name)) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

function hasToken(headers: HeaderList, name: string, token: string): boolean {
  return headerList(headers, name).some((t) => t.toLowerCase() === token);
}

function quote(values: string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/**
 * Defaults, with user headers merged in: a user header named like a default (any case)
 * takes the default's place (several such headers all go there, in the user's order);
 * the others follow the defaults in the user's order.
 */
function mergeHeaders(defaults: HeaderList, user: HeaderList): HeaderList {
  const userByName = new Map<string, HeaderList>();
  for (const [name, value] of user) {
    if (!isToken(name)) {
      throw new HandshakeError('bad-header', `The header name ${JSON.stringify(name)} is not a token (RFC 9110 §5.1).`);
    }
    if (/[\r\n\0]/.test(value)) {
      throw new HandshakeError('bad-header', `The value of ${name} contains CR, LF or NUL.`);
    }
    const lower = name.toLowerCase();
    const list = userByName.get(lower) ?? [];
    list.push([name, value]);
    userByName.set(lower, list);
  }
  const out: HeaderList = [];
  const used = new Set<string>();
  for (const [name, value] of defaults) {
    const lower = name.toLowerCase();
    const replacement = userByName.get(lower);
    if (replacement) {
      if (!used.has(lower)) out.push(...replacement);
      used.add(lower);
    } else {
      out.push([name, value]);
    }
  }
  for (const [name, value] of user) if (!used.has(name.toLowerCase())) out.push([name, value]);
  return out;
}

// ---------------------------------------------------------------------------------------
// Key and Accept, RFC 6455 §4.1 / §4.2.2

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (RFC 6455 §4.1 item 7). */
export function generateKey(randomBytes: RandomBytes): string {
  const bytes = randomBytes(16);
  if (bytes.length !== 16) throw new Error(`generateKey: randomBytes(16) returned ${bytes.length} bytes`);
  return toBase64(bytes);
}

/** Is this a Sec-WebSocket-Key a server should accept: base64 of exactly 16 bytes? */
export function isValidKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(key) && fromBase64(key).length === 16;
}

export interface AcceptSteps {
  key: string;
  guid: string;
  /** key + GUID, the text that is hashed */
  concatenated: string;
  /** SHA-1 of its UTF-8 bytes, 40 hex digits */
  sha1Hex: string;
  /** base64 of the 20 SHA-1 bytes: the expected Sec-WebSocket-Accept */
  base64: string;
}

/** The Accept computation step by step, for a UI to show. */
export function acceptSteps(key: string, sha1: Sha1): AcceptSteps {
  const concatenated = key + WEBSOCKET_GUID;
  const digest = sha1(utf8Encode(concatenated));
  return { key, guid: WEBSOCKET_GUID, concatenated, sha1Hex: toHex(digest), base64: toBase64(digest) };
}

/** Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)) (RFC 6455 §1.3). */
export function computeAccept(key: string, sha1: Sha1): string {
  return acceptSteps(key, sha1).base64;
}

// ---------------------------------------------------------------------------------------
// Client request, RFC 6455 §4.1

export interface WsUrl {
  secure: boolean;
  /** host name or IP to connect to (IPv6 without brackets) */
  hostname: string;
  port: number;
  /** the Host header: host[:port], the port left out when it is the scheme's default */
  host: string;
  /** path and query, "/" when the URL has no path */
  target: string;
}

/** Splits a ws:// or wss:// URL (RFC 6455 §3); throws 'bad-url' on anything else. */
export function parseWsUrl(url: string): WsUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HandshakeError('bad-url', `"${url}" is not a valid URL.`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    const hint = u.protocol === 'http:' || u.protocol === 'https:' ? ` (did you mean ${u.protocol === 'http:' ? 'ws' : 'wss'}://?)` : '';
    throw new HandshakeError('bad-url', `"${url}" has the scheme ${u.protocol.slice(0, -1)}; a WebSocket URL starts with ws:// or wss://${hint}.`);
  }
  // A ws URI has no fragment (RFC 6455 §3); URL drops an empty one, so look at the text.
  if (url.includes('#')) {
    throw new HandshakeError('bad-url', `"${url}" has a fragment (#…); WebSocket URLs must not (RFC 6455 §3). Write # as %23 if it is data.`);
  }
  if (u.username || u.password) {
    throw new HandshakeError(
      'bad-url',
      `"${url}" has user credentials; a ws URI has none (RFC 6455 §3). Send an Authorization header instead.`,
    );
  }
  if (!u.hostname) throw new HandshakeError('bad-url', `"${url}" has no host.`);
  const secure = u.protocol === 'wss:';
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return {
    secure,
    hostname,
    port: u.port ? Number(u.port) : secure ? 443 : 80,
    host: u.host,
    target: (u.pathname || '/') + u.search,
  };
}

export interface ClientRequestOptions {
  /** ws:// or wss:// */
  url: string;
  /** Sec-WebSocket-Key (see generateKey) */
  key: string;
  /** subprotocols to offer, in order of preference */
  protocols?: readonly string[];
  /** extensions to offer (see deflateOffer) */
  extensions?: readonly ExtensionRecord[];
  /** extra headers; one named like a default (any case) replaces it in place */
  headers?: HeaderList;
}

/** Checks subprotocol names: tokens (RFC 6455 §4.1 item 10), each once. */
function checkProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const p of protocols) {
    if (!isToken(p)) {
      throw new HandshakeError('bad-protocol', `The subprotocol ${JSON.stringify(p)} is not a token (RFC 6455 §4.1).`);
    }
    if (seen.has(p)) throw new HandshakeError('bad-protocol', `The subprotocol "${p}" is offered twice (RFC 6455 §4.1).`);
    seen.add(p);
  }
}

function formatOrThrow(list: readonly ExtensionRecord[]): string {
  try {
    return formatExtensions(list);
  } catch (e) {
    if (e instanceof ExtensionError) throw new HandshakeError('bad-extension', e.message);
    throw e;
  }
}

/** The opening handshake request a client sends (RFC 6455 §4.1). */
export function buildClientRequest(options: ClientRequestOptions): HttpRequestRecord {
  const url = parseWsUrl(options.url);
  const protocols = options.protocols ?? [];
  const extensions = options.extensions ?? [];
  checkProtocols(protocols);
  noLineBreak('Sec-WebSocket-Key', options.key);
  const defaults: HeaderList = [
    ['Host', url.host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', options.key],
    ['Sec-WebSocket-Version', '13'],
  ];
  if (protocols.length > 0) defaults.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  if (extensions.length > 0) defaults.push(['Sec-WebSocket-Extensions', formatOrThrow(extensions)]);
  return { method: 'GET', target: url.target, version: 'HTTP/1.1', headers: mergeHeaders(defaults, options.headers ?? []) };
}

// ---------------------------------------------------------------------------------------
// Checking the response, RFC 6455 §4.1 (the client's checklist)

export interface ResponseCheck {
  accept: AcceptRecord;
  /** the subprotocol the server selected (as sent, even when the check fails), or null */
  protocol: string | null;
  /** the extensions the server's response lists ([] when they cannot be parsed) */
  extensions: ExtensionRecord[];
  /** permessage-deflate terms in force, when the server accepted it validly */
  deflate: DeflateParams | null;
  checks: HandshakeCheck[];
  ok: boolean;
  /** the first failed check's detail */
  failure: string | null;
}

function check(id: string, ok: boolean, detail: string): HandshakeCheck {
  return { id, ok, detail };
}

function tokenCheck(id: string, headers: HeaderList, name: string, token: string, who: string): HandshakeCheck {
  const values = headerValues(headers, name);
  if (values.length === 0) return check(id, false, `Expected a ${name} header containing "${token}", but the ${who} has none.`);
  const ok = hasToken(headers, name, token);
  return check(
    id,
    ok,
    ok
      ? `${name}: ${values.join(', ')} contains "${token}".`
      : `Expected the ${name} header to contain "${token}", but the ${who} sent ${quote(values)}.`,
  );
}

function acceptCheck(request: HttpRequestRecord, response: HttpResponseRecord, sha1: Sha1): { accept: AcceptRecord; check: HandshakeCheck } {
  const keys = headerValues(request.headers, 'Sec-WebSocket-Key');
  const key = keys[0] ?? '';
  const expected = computeAccept(key, sha1);
  const got = headerValues(response.headers, 'Sec-WebSocket-Accept');
  const received = got.length === 0 ? null : got.join(', ');
  const valid = got.length === 1 && got[0] === expected;
  let detail: string;
  if (keys.length === 0) detail = `The request had no Sec-WebSocket-Key, so no Sec-WebSocket-Accept can be right (received ${received === null ? 'none' : `"${received}"`}).`;
  else if (valid) detail = `Sec-WebSocket-Accept is "${expected}", base64(SHA-1(key + GUID)) for the key "${key}".`;
  else if (got.length === 0) detail = `Expected Sec-WebSocket-Accept: ${expected} (computed from the key "${key}"), but the response has none.`;
  else if (got.length > 1) detail = `Expected one Sec-WebSocket-Accept: ${expected}, but the server sent ${got.length}: ${quote(got)}.`;
  else detail = `Expected Sec-WebSocket-Accept: ${expected} (computed from the key "${key}"), but the server sent "${got[0]}".`;
  return { accept: { key, expected, received, valid: valid && keys.length > 0 }, check: check('accept-match', valid && keys.length > 0, detail) };
}

function protocolCheck(request: HttpRequestRecord, response: HttpResponseRecord): { protocol: string | null; check: HandshakeCheck } {
  const offered = headerList(request.headers, 'Sec-WebSocket-Protocol');
  const lines = headerValues(response.headers, 'Sec-WebSocket-Protocol');
  const offeredText = offered.length ? `offered: ${offered.join(', ')}` : 'none was offered';
  if (lines.length === 0) {
    return { protocol: null, check: check('protocol-offered', true, `The server selected no subprotocol (${offeredText}).`) };
  }
  const selected = lines.map((l) => l.trim()).join(', ');
  if (lines.length > 1 || selected.includes(',')) {
    return {
      protocol: selected,
      check: check('protocol-offered', false, `Expected at most one subprotocol in Sec-WebSocket-Protocol, but the server sent "${selected}" (RFC 6455 §4.1).`),
    };
  }
  if (offered.length === 0) {
    return {
      protocol: selected,
      check: check('protocol-offered', false, `The server selected the subprotocol "${selected}", but the client offered none (RFC 6455 §4.1).`),
    };
  }
  if (!offered.includes(selected)) {
    return {
      protocol: selected,
      check: check('protocol-offered', false, `The server selected the subprotocol "${selected}", which the client did not offer (${offeredText}).`),
    };
  }
  return { protocol: selected, check: check('protocol-offered', true, `The server selected the subprotocol "${selected}" (${offeredText}).`) };
}

function extensionsCheck(
  request: HttpRequestRecord,
  response: HttpResponseRecord,
): { extensions: ExtensionRecord[]; deflate: DeflateParams | null; check: HandshakeCheck } {
  const fail = (extensions: ExtensionRecord[], detail: string) => ({
    extensions,
    deflate: null,
    check: check('extensions-offered', false, detail),
  });
  let accepted: ExtensionRecord[];
  try {
    accepted = parseExtensions(headerValues(response.headers, 'Sec-WebSocket-Extensions'));
  } catch (e) {
    return fail([], `The server's Sec-WebSocket-Extensions cannot be parsed: ${(e as Error).message}`);
  }
  let offers: ExtensionRecord[];
  try {
    offers = parseExtensions(headerValues(request.headers, 'Sec-WebSocket-Extensions'));
  } catch (e) {
    return fail(accepted, `The request's own Sec-WebSocket-Extensions cannot be parsed: ${(e as Error).message}`);
  }
  if (accepted.length === 0) {
    const what = offers.length ? `offered: ${offers.map((o) => o.name).join(', ')}` : 'none was offered';
    return { extensions: [], deflate: null, check: check('extensions-offered', true, `The server accepted no extension (${what}).`) };
  }
  const seen = new Set<string>();
  let deflate: DeflateParams | null = null;
  for (const ext of accepted) {
    if (seen.has(ext.name)) return fail(accepted, `The server accepted the extension ${ext.name} more than once.`);
    seen.add(ext.name);
    const candidates = offers.filter((o) => o.name === ext.name);
    if (candidates.length === 0) {
      return fail(accepted, `The server accepted the extension ${ext.name}, which the client did not offer (RFC 6455 §9.1).`);
    }
    if (ext.name === PERMESSAGE_DEFLATE) {
      // The response answers one of the offers (a client may offer fallbacks); any will do.
      let reason = '';
      for (const offer of candidates) {
        const r = negotiateDeflateResponse(offer, ext);
        if (r.ok) {
          deflate = r.params;
          break;
        }
        reason ||= r.reason;
      }
      if (!deflate) return fail(accepted, `The server's permessage-deflate response is not acceptable: ${reason}.`);
    }
  }
  const text = formatExtensions(accepted);
  return { extensions: accepted, deflate, check: check('extensions-offered', true, `The server accepted ${text}, within what the client offered.`) };
}

function versionCheck(request: HttpRequestRecord, response: HttpResponseRecord): HandshakeCheck {
  const asked = headerValues(request.headers, 'Sec-WebSocket-Version').join(', ') || '(none)';
  const supported = headerList(response.headers, 'Sec-WebSocket-Version');
  if (response.status === 101) {
    return check('version', true, `The server switched protocols, accepting Sec-WebSocket-Version ${asked}.`);
  }
  if (supported.length === 0) {
    return check('version', true, `The server did not switch protocols and did not list the versions it supports.`);
  }
  const ok = supported.includes(asked);
  return check(
    'version',
    ok,
    ok
      ? `The server lists Sec-WebSocket-Version ${supported.join(', ')}, which includes the ${asked} asked for.`
      : `The request asked for Sec-WebSocket-Version ${asked}, but the server supports only ${supported.join(', ')} (RFC 6455 §4.4).`,
  );
}

function summarise(checks: HandshakeCheck[]): { ok: boolean; failure: string | null } {
  const failed = checks.find((c) => !c.ok);
  return { ok: !failed, failure: failed ? failed.detail : null };
}

/**
 * The client's checklist over the server's response (RFC 6455 §4.1, final steps). Every
 * check is always present, in this order, so a UI shows the same list each time:
 * status-101, upgrade-websocket, connection-upgrade, accept-match, protocol-offered,
 * extensions-offered, version.
 */
export function checkResponse(request: HttpRequestRecord, response: HttpResponseRecord, sha1: Sha1): ResponseCheck {
  const status = check(
    'status-101',
    response.status === 101,
    response.status === 101
      ? `The server answered ${response.status} ${response.reason}.`.replace(/ \.$/, '.')
      : `Expected status 101 Switching Protocols, but the server answered ${response.status}${response.reason ? ` ${response.reason}` : ''}.`,
  );
  const upgrade = tokenCheck('upgrade-websocket', response.headers, 'Upgrade', 'websocket', 'response');
  const connection = tokenCheck('connection-upgrade', response.headers, 'Connection', 'upgrade', 'response');
  const accept = acceptCheck(request, response, sha1);
  const protocol = protocolCheck(request, response);
  const extensions = extensionsCheck(request, response);
  const checks = [status, upgrade, connection, accept.check, protocol.check, extensions.check, versionCheck(request, response)];
  return {
    accept: accept.accept,
    protocol: protocol.protocol,
    extensions: extensions.extensions,
    deflate: extensions.deflate,
    checks,
    ...summarise(checks),
  };
}

/** The capture's Handshake record from a checked response and the times. */
export function assembleHandshake(
  result: ResponseCheck,
  parts: { request: HttpRequestRecord; response: HttpResponseRecord; requestAt: number; responseAt: number },
): HandshakeRecord {
  return {
    request: parts.request,
    response: parts.response,
    requestAt: parts.requestAt,
    responseAt: parts.responseAt,
    accept: result.accept,
    protocol: result.protocol,
    extensions: result.extensions,
    checks: result.checks,
  };
}

/** The Handshake record of a request that got no (parsable) response; `why` says what happened. */
export function unansweredHandshake(request: HttpRequestRecord, sha1: Sha1, requestAt: number, why: string): HandshakeRecord {
  const key = headerValues(request.headers, 'Sec-WebSocket-Key')[0] ?? '';
  return {
    request,
    response: null,
    requestAt,
    responseAt: null,
    accept: { key, expected: computeAccept(key, sha1), received: null, valid: false },
    protocol: null,
    extensions: [],
    checks: [check('status-101', false, `Expected status 101 Switching Protocols, but no response arrived: ${why}`)],
  };
}

// ---------------------------------------------------------------------------------------
// Server side, RFC 6455 §4.2

export interface RequestCheck {
  /** the first Sec-WebSocket-Key as sent (even when invalid), or null */
  key: string | null;
  checks: HandshakeCheck[];
  ok: boolean;
  failure: string | null;
  /** subprotocols offered, in order */
  protocols: string[];
  /** extensions offered, in order ([] when they cannot be parsed) */
  extensions: ExtensionRecord[];
}

/**
 * The server's checklist over a client's opening handshake (RFC 6455 §4.2.1): method-get,
 * http-version, host, upgrade-websocket, connection-upgrade, version, key,
 * protocols-syntax, extensions-syntax. A failed `version` check is answered with 426 and
 * Sec-WebSocket-Version: 13 (§4.4); the others with 400.
 */
export function checkRequest(req: HttpRequestRecord): RequestCheck {
  const checks: HandshakeCheck[] = [];
  checks.push(
    check('method-get', req.method === 'GET', req.method === 'GET' ? 'The method is GET.' : `Expected the method GET, but the client sent ${req.method} (RFC 6455 §4.1).`),
  );
  const v = /^HTTP\/1\.(\d)$/.exec(req.version);
  const versionOk = v !== null && Number(v[1]) >= 1;
  checks.push(
    check('http-version', versionOk, versionOk ? `The request is ${req.version}.` : `Expected HTTP/1.1 or later, but the request is ${req.version} (RFC 6455 §4.1).`),
  );
  const hosts = headerValues(req.headers, 'Host');
  checks.push(
    check(
      'host',
      hosts.length === 1 && hosts[0] !== '',
      hosts.length === 1 && hosts[0] !== ''
        ? `Host: ${hosts[0]}.`
        : hosts.length === 0
          ? 'Expected a Host header, but the request has none (RFC 6455 §4.1).'
          : hosts.length > 1
            ? `Expected one Host header, but the request has ${hosts.length}: ${quote(hosts)} (RFC 9112 §3.2).`
            : 'Expected a Host header with a value, but it is empty.',
    ),
  );
  checks.push(tokenCheck('upgrade-websocket', req.headers, 'Upgrade', 'websocket', 'request'));
  checks.push(tokenCheck('connection-upgrade', req.headers, 'Connection', 'upgrade', 'request'));

  const versions = headerValues(req.headers, 'Sec-WebSocket-Version');
  const versionIs13 = versions.length === 1 && versions[0] === '13';
  checks.push(
    check(
      'version',
      versionIs13,
      versionIs13
        ? 'Sec-WebSocket-Version is 13.'
        : versions.length === 0
          ? 'Expected Sec-WebSocket-Version: 13, but the request has none (RFC 6455 §4.1).'
          : `Expected Sec-WebSocket-Version: 13, but the request has ${quote(versions)} (RFC 6455 §4.4).`,
    ),
  );

  const keys = headerValues(req.headers, 'Sec-WebSocket-Key');
  const key = keys[0] ?? null;
  const keyOk = keys.length === 1 && isValidKey(keys[0]!);
  checks.push(
    check(
      'key',
      keyOk,
      keyOk
        ? `Sec-WebSocket-Key "${key}" is base64 of 16 bytes.`
        : keys.length === 0
          ? 'Expected a Sec-WebSocket-Key, but the request has none (RFC 6455 §4.1).'
          : keys.length > 1
            ? `Expected one Sec-WebSocket-Key, but the request has ${keys.length}: ${quote(keys)}.`
            : `Expected Sec-WebSocket-Key to be base64 of 16 bytes (24 characters ending in ==), but it is "${key}" (RFC 6455 §4.1).`,
    ),
  );

  const protocols = headerList(req.headers, 'Sec-WebSocket-Protocol');
  const badProtocol = protocols.find((p) => !isToken(p));
  const dupProtocol = protocols.find((p, i) => protocols.indexOf(p) !== i);
  checks.push(
    check(
      'protocols-syntax',
      !badProtocol && !dupProtocol,
      badProtocol
        ? `The offered subprotocol "${badProtocol}" is not a token (RFC 6455 §4.1).`
        : dupProtocol
          ? `The subprotocol "${dupProtocol}" is offered more than once (RFC 6455 §4.1).`
          : protocols.length
            ? `Subprotocols offered: ${protocols.join(', ')}.`
            : 'No subprotocol is offered.',
    ),
  );

  let extensions: ExtensionRecord[] = [];
  let extensionsDetail: string;
  let extensionsOk = true;
  try {
    extensions = parseExtensions(headerValues(req.headers, 'Sec-WebSocket-Extensions'));
    extensionsDetail = extensions.length ? `Extensions offered: ${formatExtensions(extensions)}.` : 'No extension is offered.';
  } catch (e) {
    extensionsOk = false;
    extensionsDetail = `The request's Sec-WebSocket-Extensions cannot be parsed: ${(e as Error).message}`;
  }
  checks.push(check('extensions-syntax', extensionsOk, extensionsDetail));

  return { key, checks, ...summarise(checks), protocols: badProtocol || dupProtocol ? [] : protocols, extensions };
}

export interface ServerResponseOptions {
  /** the client's Sec-WebSocket-Key */
  key: string;
  sha1: Sha1;
  /** the selected subprotocol, if any (must be one the client offered) */
  protocol?: string | null;
  /** the accepted extensions (see acceptDeflateOffer) */
  extensions?: readonly ExtensionRecord[];
  /** extra headers; one named like a default (any case) replaces it in place */
  headers?: HeaderList;
}

/** The 101 Switching Protocols response accepting a handshake (RFC 6455 §4.2.2). */
export function buildServerResponse(options: ServerResponseOptions): HttpResponseRecord {
  const defaults: HeaderList = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', computeAccept(options.key, options.sha1)],
  ];
  if (options.protocol != null) {
    checkProtocols([options.protocol]);
    defaults.push(['Sec-WebSocket-Protocol', options.protocol]);
  }
  if (options.extensions && options.extensions.length > 0) {
    defaults.push(['Sec-WebSocket-Extensions', formatOrThrow(options.extensions)]);
  }
  return { version: 'HTTP/1.1', status: 101, reason: 'Switching Protocols', headers: mergeHeaders(defaults, options.headers ?? []) };
}
