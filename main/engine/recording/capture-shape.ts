// Shape checks for capture v1 records read from disk (docs/contracts.md "Capture file v1"). A
// file is data from outside: every field is checked before anything uses it, and the
// first problem is reported as one message naming the field, with the path of the record
// it is in, so the user can open the file at that place. Fields we do not know are kept
// as they are (the contract grows by adding fields).

import { MAX_NOTE, type CloseRecord, type ConnectionRecord, type FrameJson, type FrameRecord, type HandshakeRecord } from '../../../shared/model';
import { frameFromJson } from '../../../shared/records';
import { fromBase64 } from '../base64';

/** A record of the wrong shape: `what` names the field and the rule, `path` the record (relative). */
export class ShapeError extends Error {
  override name = 'ShapeError';
  constructor(
    readonly what: string,
    readonly path: string,
  ) {
    super(path ? `${what} at ${path}` : what);
  }
}

export type ConnectionHead = Omit<ConnectionRecord, 'frames'>;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(key: string, rule: string, path: string): never {
  throw new ShapeError(`"${key}" ${rule}`, path);
}

function obj(v: unknown, path: string, what = 'an object'): Obj {
  if (!isObj(v)) throw new ShapeError(`expected ${what}, found ${describe(v)}`, path);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string "${v.slice(0, 40)}…"` : `the string ${JSON.stringify(v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(key, `must be a string (found ${v === undefined ? 'nothing' : describe(v)})`, path);
  return v;
}

function strOrNull(o: Obj, key: string, path: string): string | null {
  const v = o[key];
  if (v !== null && typeof v !== 'string') fail(key, `must be a string or null (found ${v === undefined ? 'nothing' : describe(v)})`, path);
  return v;
}

function bool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(key, 'must be true or false', path);
  return v;
}

function num(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(key, 'must be a number', path);
  return v;
}

function numOrNull(o: Obj, key: string, path: string): number | null {
  const v = o[key];
  if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) fail(key, 'must be a number or null', path);
  return v;
}

function intIn(o: Obj, key: string, min: number, max: number, path: string, rule?: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(key, rule ?? `must be an integer ${min}-${max}`, path);
  }
  return v;
}

function optionalTrue(o: Obj, key: string, path: string): void {
  if (o[key] !== undefined && o[key] !== true) fail(key, 'may only be true when present', path);
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const MASK_RE = /^[0-9a-fA-F]{8}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes a base64 string decodes to, or -1 when it is not base64. */
export function base64Bytes(s: string): number {
  if (s.length % 4 === 1 || !BASE64_RE.test(s)) return -1;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  if (pad > 0 && s.length % 4 !== 0) return -1;
  return Math.floor(((s.length - pad) * 3) / 4);
}

function base64(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'string') fail(key, 'must be a base64 string', path);
  const n = base64Bytes(v);
  if (n < 0) fail(key, 'is not valid base64', path);
  return n;
}

function hexByte(s: string, i: number): number {
  return parseInt(s.substr(i * 2, 2), 16);
}

/** Checks a frame's JSON form and gives its record, the text turned into bytes. */
const DECISIONS = new Set(['forwarded', 'replaced', 'dropped', 'delayed', 'closed', 'undelivered']);

export function checkFrame(v: unknown, path: string): FrameRecord {
  const f = obj(v, path, 'a frame object');
  if (typeof f['seq'] !== 'number' || !Number.isSafeInteger(f['seq']) || (f['seq'] as number) < 0) {
    fail('seq', 'must be a whole number from 0', path);
  }
  num(f, 'time', path);
  if (f['from'] !== 'client' && f['from'] !== 'server') fail('from', 'must be "client" or "server"', path);
  const fin = bool(f, 'fin', path);
  const rsv1 = bool(f, 'rsv1', path);
  const rsv2 = bool(f, 'rsv2', path);
  const rsv3 = bool(f, 'rsv3', path);
  const opcode = intIn(f, 'opcode', 0, 15, path);
  const masked = bool(f, 'masked', path);
  const maskKey = f['maskKey'];
  if (masked) {
    if (typeof maskKey !== 'string' || !MASK_RE.test(maskKey)) fail('maskKey', 'must be 8 hex digits on a masked frame', path);
  } else if (maskKey !== null) {
    fail('maskKey', 'must be null on an unmasked frame', path);
  }
  const length = f['length'];
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) fail('length', 'must be a whole number from 0', path);
  const header = f['header'];
  if (typeof header !== 'string' || !HEX_RE.test(header) || header.length < 4 || header.length > 28) {
    fail('header', 'must be the 2 to 14 header bytes as hex', path);
  }
  // The header is the wire truth and the fields are its reading: they must agree, or an
  // export (pcapng writes the header bytes) would say something the record does not.
  const b0 = hexByte(header, 0);
  const b1 = hexByte(header, 1);
  if (
    !!(b0 & 0x80) !== fin || !!(b0 & 0x40) !== rsv1 || !!(b0 & 0x20) !== rsv2 || !!(b0 & 0x10) !== rsv3 ||
    (b0 & 0x0f) !== opcode || !!(b1 & 0x80) !== masked
  ) {
    fail('header', 'disagrees with fin, rsv1-3, opcode or masked', path);
  }
  const len7 = b1 & 0x7f;
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  if (header.length !== (2 + ext + (masked ? 4 : 0)) * 2) fail('header', 'has the wrong size for its length field and mask bit', path);
  let stated = len7;
  if (ext === 2) stated = hexByte(header, 2) * 256 + hexByte(header, 3);
  else if (ext === 8) {
    stated = 0;
    for (let i = 2; i < 10; i++) stated = stated * 256 + hexByte(header, i);
  }
  if (stated !== length) fail('length', `is ${length} but the header states ${stated}`, path);
  if (masked && header.slice((2 + ext) * 2).toLowerCase() !== (maskKey as string).toLowerCase()) {
    fail('maskKey', 'differs from the key in the header', path);
  }
  const stored = base64(f, 'payload', path);
  if (f['truncated'] !== undefined) {
    optionalTrue(f, 'truncated', path);
    if (f['stored'] !== undefined && f['stored'] !== stored) fail('stored', `must be the ${stored} bytes the payload holds`, path);
    if (stored > length) fail('payload', `holds ${stored} bytes, more than the ${length} the header states`, path);
  } else if (stored !== length) {
    fail('payload', `holds ${stored} bytes but "length" is ${length} (and "truncated" is not set)`, path);
  }
  const message = f['message'];
  if (message !== undefined) {
    const m = obj(message, `${path}.message`);
    if (m['opcode'] !== 1 && m['opcode'] !== 2) fail('opcode', 'must be 1 or 2', `${path}.message`);
    intIn(m, 'length', 0, Number.MAX_SAFE_INTEGER, `${path}.message`, 'must be a whole number from 0');
    base64(m, 'data', `${path}.message`);
    optionalTrue(m, 'truncated', `${path}.message`);
  }
  const close = f['close'];
  if (close !== undefined) {
    const c = obj(close, `${path}.close`);
    if (c['code'] !== null) intIn(c, 'code', 0, 65535, `${path}.close`, 'must be an integer 0-65535 or null');
    str(c, 'reason', `${path}.close`);
  }
  if (f['rtt'] !== undefined) num(f, 'rtt', path);
  const violations = f['violations'];
  if (violations !== undefined) {
    if (!Array.isArray(violations)) fail('violations', 'must be a list', path);
    for (let i = 0; i < violations.length; i++) {
      const vp = `${path}.violations[${i}]`;
      const x = obj(violations[i], vp);
      str(x, 'id', vp);
      str(x, 'rfc', vp);
      if (x['severity'] !== 'error' && x['severity'] !== 'warning') fail('severity', 'must be "error" or "warning"', vp);
      str(x, 'message', vp);
    }
  }
  optionalTrue(f, 'reconstructed', path);
  if (f['by'] !== undefined && f['by'] !== 'framescope') fail('by', 'must be "framescope" when present', path);
  const iv = f['intervention'];
  if (iv !== undefined) {
    const ip = `${path}.intervention`;
    const x = obj(iv, ip);
    intIn(x, 'id', 1, Number.MAX_SAFE_INTEGER, ip, 'must be a whole number from 1');
    if (x['decision'] !== undefined && !DECISIONS.has(x['decision'] as string)) fail('decision', `must be one of ${[...DECISIONS].join(', ')}`, ip);
    optionalTrue(x, 'injected', ip);
    optionalTrue(x, 'recompressed', ip);
    if (x['rule'] !== undefined && typeof x['rule'] !== 'string') fail('rule', 'must be a string when present', ip);
  }
  optionalTrue(f, 'bookmark', path);
  if (f['note'] !== undefined && (typeof f['note'] !== 'string' || f['note'].length > MAX_NOTE)) fail('note', `must be a string of at most ${MAX_NOTE} characters when present`, path);
  return frameFromJson(f as unknown as FrameJson, fromBase64);
}

function headers(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (!Array.isArray(v)) fail(key, 'must be a list of [name, value] pairs', path);
  for (let i = 0; i < v.length; i++) {
    const h = v[i];
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') {
      fail(`${key}[${i}]`, 'must be a [name, value] pair of strings', path);
    }
  }
}

export function checkHandshake(v: unknown, path: string): HandshakeRecord {
  const h = obj(v, path);
  const rp = `${path}.request`;
  const req = obj(h['request'], rp);
  str(req, 'method', rp);
  str(req, 'target', rp);
  str(req, 'version', rp);
  headers(req, 'headers', rp);
  if (h['response'] !== null) {
    const sp = `${path}.response`;
    const res = obj(h['response'], sp, 'an object or null');
    str(res, 'version', sp);
    intIn(res, 'status', 0, 999, sp);
    str(res, 'reason', sp);
    headers(res, 'headers', sp);
  }
  num(h, 'requestAt', path);
  numOrNull(h, 'responseAt', path);
  const ap = `${path}.accept`;
  const accept = obj(h['accept'], ap);
  str(accept, 'key', ap);
  str(accept, 'expected', ap);
  strOrNull(accept, 'received', ap);
  bool(accept, 'valid', ap);
  strOrNull(h, 'protocol', path);
  const exts = h['extensions'];
  if (!Array.isArray(exts)) fail('extensions', 'must be a list', path);
  exts.forEach((e, i) => {
    const ep = `${path}.extensions[${i}]`;
    const x = obj(e, ep);
    str(x, 'name', ep);
    const params = obj(x['params'], `${ep}.params`);
    for (const [k, pv] of Object.entries(params)) {
      if (pv !== true && typeof pv !== 'string') fail(k, 'must be a string or true', `${ep}.params`);
    }
  });
  const checks = h['checks'];
  if (!Array.isArray(checks)) fail('checks', 'must be a list', path);
  checks.forEach((c, i) => {
    const cp = `${path}.checks[${i}]`;
    const x = obj(c, cp);
    str(x, 'id', cp);
    bool(x, 'ok', cp);
    str(x, 'detail', cp);
  });
  return h as unknown as HandshakeRecord;
}

export function checkClose(v: unknown, path: string): CloseRecord {
  const c = obj(v, path, 'an object or null');
  if (c['code'] !== null) intIn(c, 'code', 0, 65535, path, 'must be an integer 0-65535 or null');
  str(c, 'reason', path);
  if (c['by'] !== 'client' && c['by'] !== 'server' && c['by'] !== 'transport' && c['by'] !== 'framescope') fail('by', 'must be "client", "server", "transport" or "framescope"', path);
  bool(c, 'clean', path);
  optionalTrue(c, 'reconstructed', path);
  return c as unknown as CloseRecord;
}

function checkTls(v: unknown, path: string): void {
  const t = obj(v, path, 'an object or null');
  strOrNull(t, 'protocol', path);
  strOrNull(t, 'cipher', path);
  strOrNull(t, 'servername', path);
  bool(t, 'authorized', path);
  if (t['authorizationError'] !== undefined) str(t, 'authorizationError', path);
  if (t['peerCertificate'] !== undefined) obj(t['peerCertificate'], `${path}.peerCertificate`);
}

/** Checks a Connection record without its frames (those are checked one by one as they stream). */
export function checkConnectionHead(v: unknown, path: string): ConnectionHead {
  const c = obj(v, path, 'a connection object');
  str(c, 'id', path);
  if (c['mode'] !== 'client' && c['mode'] !== 'proxy' && c['mode'] !== 'mock') fail('mode', 'must be "client", "proxy" or "mock"', path);
  str(c, 'url', path);
  strOrNull(c, 'client', path);
  strOrNull(c, 'server', path);
  if (c['tls'] !== null) checkTls(c['tls'], `${path}.tls`);
  num(c, 'startedAt', path);
  numOrNull(c, 'endedAt', path);
  if (c['handshake'] !== null) checkHandshake(c['handshake'], `${path}.handshake`);
  if (c['close'] !== null) checkClose(c['close'], `${path}.close`);
  const errors = c['errors'];
  if (!Array.isArray(errors) || errors.some((e) => typeof e !== 'string')) fail('errors', 'must be a list of strings', path);
  return c as unknown as ConnectionHead;
}

/** The fields a Connection record must have; a head missing one is reported by name. */
export const CONNECTION_FIELDS = ['id', 'mode', 'url', 'client', 'server', 'tls', 'startedAt', 'endedAt', 'handshake', 'close', 'errors'] as const;
