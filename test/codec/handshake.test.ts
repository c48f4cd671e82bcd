import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import vectors from '../fixtures/rfc-examples.json';
import { concatBytes, utf8Decode, utf8Encode } from '../../shared/bytes';
import { acceptDeflateOffer, deflateOffer, parseExtensions } from '../../shared/codec/extensions';
import {
  HandshakeError,
  HttpHeadParser,
  WEBSOCKET_GUID,
  acceptSteps,
  assembleHandshake,
  buildClientRequest,
  buildServerResponse,
  checkRequest,
  checkResponse,
  computeAccept,
  generateKey,
  headerValues,
  isValidKey,
  parseWsUrl,
  unansweredHandshake,
  writeRequestHead,
  writeResponseHead,
  type HandshakeErrorCode,
  type HeadKind,
  type HeadParserOptions,
  type HeadResult,
} from '../../shared/codec/handshake';
import type { HeaderList, HttpRequestRecord, HttpResponseRecord } from '../../shared/model';

const sha1 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(data).digest());
const randomBytes = (n: number): Uint8Array => new Uint8Array(nodeRandomBytes(n));
const bytes = (text: string): Uint8Array => utf8Encode(text);

// RFC 6455 §1.3, the example handshake, exactly as the RFC prints it (CRLF line ends).
const RFC_REQUEST = [
  'GET /chat HTTP/1.1',
  'Host: server.example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Origin: http://example.com',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Version: 13',
  '',
  '',
].join('\r\n');
const RFC_RESPONSE = [
  'HTTP/1.1 101 Switching Protocols',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
  'Sec-WebSocket-Protocol: chat',
  '',
  '',
].join('\r\n');

function parseAll<K extends HeadKind>(kind: K, data: Uint8Array | string, options?: HeadParserOptions) {
  const p = new HttpHeadParser(kind, options);
  const r = p.receive(typeof data === 'string' ? bytes(data) : data);
  if (!r.done) throw new Error('head not complete');
  return r;
}

function parseRequest(text: string): HttpRequestRecord {
  return parseAll('request', text).head;
}

function parseResponse(text: string): HttpResponseRecord {
  return parseAll('response', text).head;
}

/** The HandshakeError code thrown by fn. */
function codeOf(fn: () => unknown): HandshakeErrorCode {
  try {
    fn();
  } catch (e) {
    if (e instanceof HandshakeError) return e.code;
    throw e;
  }
  throw new Error('expected a HandshakeError');
}

function feed<K extends HeadKind>(parser: HttpHeadParser<K>, data: Uint8Array, sizes: number[]): { result: HeadResult<K>; after: Uint8Array[] } {
  let at = 0;
  let i = 0;
  const after: Uint8Array[] = [];
  let result: HeadResult<K> = { done: false };
  while (at < data.length) {
    const size = Math.max(1, sizes[i++ % Math.max(sizes.length, 1)] ?? 1);
    const chunk = data.subarray(at, at + size);
    at += chunk.length;
    if (result.done) after.push(chunk);
    else result = parser.receive(chunk);
  }
  return { result, after };
}

describe('RFC 6455 §1.3 opening handshake example', () => {
  it('computes the Accept of the vector file', () => {
    for (const v of vectors.handshake) {
      expect(computeAccept(v.key, sha1)).toBe(v.accept);
    }
  });

  it('shows the Accept computation step by step', () => {
    expect(acceptSteps('dGhlIHNhbXBsZSBub25jZQ==', sha1)).toEqual({
      key: 'dGhlIHNhbXBsZSBub25jZQ==',
      guid: WEBSOCKET_GUID,
      concatenated: 'dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11',
      // the RFC's 0xb3 0x7a 0x4f 0x2c 0xc0 0x62 0x4f 0x16 0x90 0xf6 0x46 0x06 0xcf 0x38 0x59 0x45 0xb2 0xbe 0xc4 0xea
      sha1Hex: 'b37a4f2cc0624f1690f64606cf385945b2bec4ea',
      base64: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    });
  });

  it('parses the example request', () => {
    const r = parseAll('request', RFC_REQUEST);
    expect(r.head).toEqual({
      method: 'GET',
      target: '/chat',
      version: 'HTTP/1.1',
      headers: [
        ['Host', 'server.example.com'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ['Origin', 'http://example.com'],
        ['Sec-WebSocket-Protocol', 'chat, superchat'],
        ['Sec-WebSocket-Version', '13'],
      ],
    });
    expect(utf8Decode(r.headBytes)).toBe(RFC_REQUEST);
    expect(r.rest.length).toBe(0);
    expect(r.bareLf).toBe(false);
  });

  it('the example request passes the server checklist', () => {
    const c = checkRequest(parseRequest(RFC_REQUEST));
    expect(c.ok).toBe(true);
    expect(c.failure).toBeNull();
    expect(c.key).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(c.protocols).toEqual(['chat', 'superchat']);
    expect(c.extensions).toEqual([]);
    expect(c.checks.map((x) => x.id)).toEqual([
      'method-get',
      'http-version',
      'host',
      'upgrade-websocket',
      'connection-upgrade',
      'version',
      'key',
      'protocols-syntax',
      'extensions-syntax',
    ]);
  });

  it('the example response passes the client checklist', () => {
    const result = checkResponse(parseRequest(RFC_REQUEST), parseResponse(RFC_RESPONSE), sha1);
    expect(result.ok).toBe(true);
    expect(result.failure).toBeNull();
    expect(result.accept).toEqual({
      key: 'dGhlIHNhbXBsZSBub25jZQ==',
      expected: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      received: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      valid: true,
    });
    expect(result.protocol).toBe('chat');
    expect(result.extensions).toEqual([]);
    expect(result.deflate).toBeNull();
    expect(result.checks.map((c) => c.id)).toEqual([
      'status-101',
      'upgrade-websocket',
      'connection-upgrade',
      'accept-match',
      'protocol-offered',
      'extensions-offered',
      'version',
    ]);
    for (const c of result.checks) expect(c.detail.length).toBeGreaterThan(10);
  });

  it('building the example response reproduces the RFC bytes', () => {
    const res = buildServerResponse({ key: 'dGhlIHNhbXBsZSBub25jZQ==', sha1, protocol: 'chat' });
    expect(utf8Decode(writeResponseHead(res))).toBe(RFC_RESPONSE);
  });

  it('building the example request reproduces the RFC bytes (with the same headers given)', () => {
    const req = buildClientRequest({
      url: 'ws://server.example.com/chat',
      key: 'dGhlIHNhbXBsZSBub25jZQ==',
      protocols: ['chat', 'superchat'],
      headers: [['Origin', 'http://example.com']],
    });
    const head = utf8Decode(writeRequestHead(req));
    expect(head.split('\r\n').sort()).toEqual(RFC_REQUEST.split('\r\n').sort());
  });

  it('assembles the capture record', () => {
    const request = parseRequest(RFC_REQUEST);
    const response = parseResponse(RFC_RESPONSE);
    const result = checkResponse(request, response, sha1);
    const record = assembleHandshake(result, { request, response, requestAt: 1000.5, responseAt: 1002.25 });
    expect(record).toEqual({
      request,
      response,
      requestAt: 1000.5,
      responseAt: 1002.25,
      accept: result.accept,
      protocol: 'chat',
      extensions: [],
      checks: result.checks,
    });
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('records a request that got no answer', () => {
    const request = parseRequest(RFC_REQUEST);
    const record = unansweredHandshake(request, sha1, 5, 'the server closed the connection');
    expect(record.response).toBeNull();
    expect(record.responseAt).toBeNull();
    expect(record.accept).toEqual({ key: 'dGhlIHNhbXBsZSBub25jZQ==', expected: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', received: null, valid: false });
    expect(record.checks).toEqual([{ id: 'status-101', ok: false, detail: expect.stringMatching(/closed the connection/) }]);
  });
});

describe('RFC 6455 §4.1 keys', () => {
  it('generates base64 of 16 random bytes', () => {
    const key = generateKey(randomBytes);
    expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(isValidKey(key)).toBe(true);
    expect(generateKey(() => new Uint8Array(16))).toBe('AAAAAAAAAAAAAAAAAAAAAA==');
    expect(() => generateKey(() => new Uint8Array(15))).toThrow();
  });

  it('tells valid keys from invalid ones', () => {
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe(true);
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ')).toBe(false);
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ==x')).toBe(false);
    expect(isValidKey('c2hvcnQ=')).toBe(false);
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ!=')).toBe(false);
  });
});

describe('HTTP/1.1 head parser (RFC 9112 §2-§5)', () => {
  it('gives the same result fed one byte at a time', () => {
    const data = bytes(RFC_RESPONSE + 'FRAMES');
    const p = new HttpHeadParser('response');
    let result: HeadResult<'response'> = { done: false };
    let i = 0;
    for (; i < data.length && !result.done; i++) result = p.receive(data.subarray(i, i + 1));
    expect(result.done).toBe(true);
    expect(i).toBe(RFC_RESPONSE.length);
    if (result.done) {
      expect(result.head).toEqual(parseResponse(RFC_RESPONSE));
      expect(result.rest.length).toBe(0);
      expect(utf8Decode(result.headBytes)).toBe(RFC_RESPONSE);
    }
  });

  it('hands back the bytes after the head (a frame in the same chunk)', () => {
    const frame = new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    const r = parseAll('response', concatBytes([bytes(RFC_RESPONSE), frame]));
    expect([...r.rest]).toEqual([...frame]);
    expect(r.headBytes.length).toBe(RFC_RESPONSE.length);
  });

  it('keeps header order, duplicates and the case of names and values', () => {
    const head = parseResponse('HTTP/1.1 101 Switching Protocols\r\nUPGRADE: WebSocket\r\nx-A: 1\r\nX-a: Two  Words\r\nconnection: upgrade\r\n\r\n');
    expect(head.headers).toEqual([
      ['UPGRADE', 'WebSocket'],
      ['x-A', '1'],
      ['X-a', 'Two  Words'],
      ['connection', 'upgrade'],
    ]);
  });

  it('trims optional whitespace around values and allows empty values and tabs inside', () => {
    const head = parseResponse('HTTP/1.1 200 OK\r\nA:\t  x \t y \t\r\nB:\r\nC:    \r\n\r\n');
    expect(head.headers).toEqual([
      ['A', 'x \t y'],
      ['B', ''],
      ['C', ''],
    ]);
  });

  it('parses status lines with long, empty or missing reasons', () => {
    expect(parseResponse('HTTP/1.1 404 Not Found Here\r\n\r\n')).toMatchObject({ status: 404, reason: 'Not Found Here' });
    expect(parseResponse('HTTP/1.1 101 \r\n\r\n')).toMatchObject({ status: 101, reason: '' });
    expect(parseResponse('HTTP/1.1 101\r\n\r\n')).toMatchObject({ status: 101, reason: '' });
    expect(parseResponse('HTTP/1.0 200 OK\r\n\r\n')).toMatchObject({ version: 'HTTP/1.0', status: 200 });
  });

  it('decodes UTF-8 values, and bytes that are not UTF-8 as Latin-1', () => {
    const head = parseAll('response', concatBytes([bytes('HTTP/1.1 200 OK\r\nA: h\u00e9\r\nB: '), new Uint8Array([0xe9, 0x41]), bytes('\r\n\r\n')])).head;
    expect(head.headers).toEqual([
      ['A', 'h\u00e9'],
      ['B', '\u00e9A'],
    ]);
  });

  it('ignores empty lines before a request line (RFC 9112 §2.2)', () => {
    const r = parseAll('request', '\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r.head).toEqual({ method: 'GET', target: '/', version: 'HTTP/1.1', headers: [['Host', 'x']] });
    expect(r.headBytes.length).toBe(4 + 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.length);
  });

  it('accepts bare LF line ends and says so; refuses them when strict', () => {
    const text = 'HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\r\nConnection: Upgrade\n\n';
    const r = parseAll('response', text);
    expect(r.bareLf).toBe(true);
    expect(r.head.headers).toEqual([
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
    ]);
    expect(r.headBytes.length).toBe(text.length);
    // \n\r\n ends a head too
    expect(parseAll('response', 'HTTP/1.1 200 OK\nA: 1\n\r\nrest').rest).toEqual(bytes('rest'));
    expect(codeOf(() => parseAll('response', text, { strictLineEndings: true }))).toBe('bare-lf');
  });

  it('refuses to be fed after the head is complete, and end() is then a no-op', () => {
    const p = new HttpHeadParser('response');
    expect(p.receive(bytes(RFC_RESPONSE)).done).toBe(true);
    expect(p.done).toBe(true);
    expect(() => p.receive(bytes('x'))).toThrow(/already complete/);
    expect(() => p.end()).not.toThrow();
  });

  describe('errors', () => {
    it.each<[HandshakeErrorCode, HeadKind, string]>([
      ['malformed-status-line', 'response', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
      ['malformed-status-line', 'response', 'HTTP/1.1 abc OK\r\n\r\n'],
      ['malformed-status-line', 'response', 'HTTP/1.1\r\n\r\n'],
      ['malformed-status-line', 'response', 'HTTP/x.y 101 OK\r\n\r\n'],
      ['malformed-status-line', 'response', 'HTTP/1.1 1010 OK\r\n\r\n'],
      ['malformed-status-line', 'response', '\r\nHTTP/1.1 101 OK\r\n\r\n'],
      ['malformed-status-line', 'response', 'http/1.1 101 OK\r\n\r\n'],
      ['bad-version', 'response', 'HTTP/2 101 Switching Protocols\r\n\r\n'],
      ['bad-version', 'response', 'HTTP/2.0 101 Switching Protocols\r\n\r\n'],
      ['bad-version', 'response', 'HTTP/1.10 101 Switching Protocols\r\n\r\n'],
      ['malformed-request-line', 'request', 'GET /\r\n\r\n'],
      ['malformed-request-line', 'request', 'GET  / HTTP/1.1\r\n\r\n'],
      ['malformed-request-line', 'request', 'GET / HTTP/1.1 extra\r\n\r\n'],
      ['malformed-request-line', 'request', 'GET / HTTQ/1.1\r\n\r\n'],
      ['malformed-request-line', 'request', 'G(T / HTTP/1.1\r\n\r\n'],
      ['bad-version', 'request', 'GET / HTTP/2.0\r\n\r\n'],
      ['bad-version', 'request', 'GET / HTTP/0.9\r\n\r\n'],
      ['malformed-header', 'response', 'HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n'],
      ['malformed-header', 'response', 'HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n'],
      ['malformed-header', 'response', 'HTTP/1.1 101 OK\r\n: websocket\r\n\r\n'],
      ['malformed-header', 'response', 'HTTP/1.1 101 OK\r\nUp(grade): websocket\r\n\r\n'],
      ['malformed-header', 'request', 'GET / HTTP/1.1\r\nHo st: x\r\n\r\n'],
      ['obs-fold', 'response', 'HTTP/1.1 101 OK\r\nUpgrade: web\r\n socket\r\n\r\n'],
      ['obs-fold', 'request', 'GET / HTTP/1.1\r\nHost: x\r\n\tmore\r\n\r\n'],
      ['invalid-character', 'response', 'HTTP/1.1 101 OK\r\nA: x\0y\r\n\r\n'],
      ['invalid-character', 'response', 'HTTP/1.1 101 OK\r\nA: x\ry\r\n\r\n'],
      ['invalid-character', 'response', 'HTTP/1.1 101 OK\r\nA: x\r\r\n\r\n'],
      ['invalid-character', 'response', 'HTTP/1.1 101 O\x01K\r\n\r\n'],
      ['invalid-character', 'request', 'GET /\x7f HTTP/1.1\r\n\r\n'],
    ])('%s: %j', (code, kind, text) => {
      expect(codeOf(() => parseAll(kind, text))).toBe(code);
    });

    it('carries a human message and the offset', () => {
      try {
        parseAll('response', 'HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n');
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(HandshakeError);
        const err = e as HandshakeError;
        expect(err.message).toMatch(/Header line 2 "Upgrade websocket" has no colon/);
        expect(err.offset).toBe(17);
        expect(err.name).toBe('HandshakeError');
      }
    });

    it('fails a non-HTTP peer at its first byte, not at the limit', () => {
      const p = new HttpHeadParser('response');
      expect(p.receive(bytes('HTT')).done).toBe(false);
      expect(codeOf(() => p.receive(bytes('X')))).toBe('malformed-status-line');
      // A TLS ClientHello sent to a plain-text port.
      const q = new HttpHeadParser('request');
      expect(codeOf(() => q.receive(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00])))).toBe('malformed-request-line');
      expect(q.bytesReceived).toBe(1);
    });

    it('stays failed once it failed', () => {
      const p = new HttpHeadParser('response');
      expect(codeOf(() => p.receive(bytes('XYZ')))).toBe('malformed-status-line');
      expect(codeOf(() => p.receive(bytes('HTTP/1.1 101 OK\r\n\r\n')))).toBe('malformed-status-line');
      expect(codeOf(() => p.end())).toBe('malformed-status-line');
    });

    it('head-too-large: checked as bytes arrive, never holding more than the limit', () => {
      const p = new HttpHeadParser('response', { maxHeaderBytes: 64 });
      expect(p.receive(bytes('HTTP/1.1 101 OK\r\n')).done).toBe(false);
      const flood = bytes('X-Long: ' + 'a'.repeat(1_000_000));
      expect(codeOf(() => p.receive(flood))).toBe('head-too-large');
      expect(p.bytesReceived).toBe(64);
      // exactly at the limit is fine
      const exact = 'HTTP/1.1 101 OK\r\n\r\n';
      expect(parseAll('response', exact, { maxHeaderBytes: exact.length }).done).toBe(true);
      expect(codeOf(() => parseAll('response', exact, { maxHeaderBytes: exact.length - 1 }))).toBe('head-too-large');
    });

    it('head-too-large at the default 16 KiB, fed in pieces', () => {
      const p = new HttpHeadParser('request');
      p.receive(bytes('GET / HTTP/1.1\r\n'));
      const line = bytes(`X-Pad: ${'p'.repeat(1000)}\r\n`);
      let code: string | null = null;
      for (let i = 0; i < 20 && code === null; i++) {
        try {
          p.receive(line);
        } catch (e) {
          code = (e as HandshakeError).code;
        }
      }
      expect(code).toBe('head-too-large');
      expect(p.bytesReceived).toBe(16384);
    });

    it('too-many-headers', () => {
      const text = 'HTTP/1.1 101 OK\r\n' + 'A: 1\r\n'.repeat(4) + '\r\n';
      expect(parseAll('response', text, { maxHeaders: 4 }).head.headers).toHaveLength(4);
      expect(codeOf(() => parseAll('response', text, { maxHeaders: 3 }))).toBe('too-many-headers');
      expect(codeOf(() => parseAll('response', 'HTTP/1.1 101 OK\r\n' + 'A: 1\r\n'.repeat(101) + '\r\n'))).toBe('too-many-headers');
    });

    it('incomplete-head on EOF mid-head, or before anything', () => {
      const p = new HttpHeadParser('response');
      p.receive(bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'));
      expect(codeOf(() => p.end())).toBe('incomplete-head');
      const q = new HttpHeadParser('response');
      expect(() => q.end()).toThrow(/before any HTTP response/);
    });
  });
});

describe('split-anywhere property', () => {
  const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&\'*+.^`|~'.split(''));
  const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
  const valueChar = fc.constantFrom(...'abc XYZ 019 ,;=/"\\\t()<>@?{}[]é✓'.split(''));
  const value = fc
    .string({ unit: valueChar, maxLength: 30 })
    .map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''));
  const headers = fc.array(fc.tuple(token, value), { maxLength: 12 });
  const tail = fc.uint8Array({ maxLength: 40 });
  const sizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 });
  const lineEnd = fc.constantFrom('\r\n', '\n');

  it('a response parsed in arbitrary chunks equals the response parsed whole', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), value, headers, tail, sizes, (status, reason, hs, after, cut) => {
        const res: HttpResponseRecord = { version: 'HTTP/1.1', status, reason, headers: hs };
        const head = writeResponseHead(res);
        const data = concatBytes([head, after]);
        const whole = new HttpHeadParser('response').receive(data);
        expect(whole.done).toBe(true);
        if (!whole.done) return;
        expect(whole.head).toEqual(res);
        expect(whole.headBytes).toEqual(head);
        expect(whole.rest).toEqual(after);

        const { result, after: later } = feed(new HttpHeadParser('response'), data, cut);
        expect(result.done).toBe(true);
        if (!result.done) return;
        expect(result.head).toEqual(whole.head);
        expect(result.headBytes).toEqual(whole.headBytes);
        expect(concatBytes([result.rest, ...later])).toEqual(after);
      }),
      { numRuns: 300 },
    );
  });

  it('a request with mixed line ends parsed in arbitrary chunks equals the request parsed whole', () => {
    fc.assert(
      fc.property(token, headers, fc.array(lineEnd, { minLength: 14, maxLength: 14 }), tail, sizes, (method, hs, ends, after, cut) => {
        let text = `${method} /p?q=1 HTTP/1.1${ends[0]}`;
        hs.forEach(([n, v], i) => (text += `${n}: ${v}${ends[i + 1]}`));
        text += ends[13];
        const data = concatBytes([bytes(text), after]);
        const whole = new HttpHeadParser('request').receive(data);
        expect(whole.done).toBe(true);
        if (!whole.done) return;
        expect(whole.head).toEqual({ method, target: '/p?q=1', version: 'HTTP/1.1', headers: hs });
        expect(whole.rest).toEqual(after);
        const { result, after: later } = feed(new HttpHeadParser('request'), data, cut);
        expect(result.done).toBe(true);
        if (!result.done) return;
        expect(result.head).toEqual(whole.head);
        expect(result.headBytes).toEqual(bytes(text));
        expect(result.bareLf).toBe(whole.bareLf);
        expect(concatBytes([result.rest, ...later])).toEqual(after);
      }),
      { numRuns: 300 },
    );
  });
});

describe('writers', () => {
  it('write the head exactly in the order and case given, and parse back the same', () => {
    const req: HttpRequestRecord = {
      method: 'GET',
      target: '/a/b?c=d&e',
      version: 'HTTP/1.1',
      headers: [
        ['host', 'Example.com:8080'],
        ['X-Custom', 'MiXeD Case'],
        ['UPGRADE', 'websocket'],
        ['x-custom', 'second'],
        ['Cookie', 'a=1; b="2"'],
      ],
    };
    const out = writeRequestHead(req);
    expect(utf8Decode(out)).toBe(
      'GET /a/b?c=d&e HTTP/1.1\r\nhost: Example.com:8080\r\nX-Custom: MiXeD Case\r\nUPGRADE: websocket\r\nx-custom: second\r\nCookie: a=1; b="2"\r\n\r\n',
    );
    expect(parseAll('request', out).head).toEqual(req);

    const res: HttpResponseRecord = { version: 'HTTP/1.1', status: 426, reason: 'Upgrade Required', headers: [['Sec-WebSocket-Version', '13, 8']] };
    expect(parseAll('response', writeResponseHead(res)).head).toEqual(res);
  });

  it('refuse CR, LF and NUL that would break the head', () => {
    expect(codeOf(() => writeRequestHead({ method: 'GET', target: '/', version: 'HTTP/1.1', headers: [['A', 'x\r\nB: y']] }))).toBe('bad-header');
    expect(codeOf(() => writeResponseHead({ version: 'HTTP/1.1', status: 200, reason: 'O\nK', headers: [] }))).toBe('bad-header');
  });
});

describe('RFC 6455 §3/§4.1 client request', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';

  it('builds the default request', () => {
    const req = buildClientRequest({ url: 'ws://example.com/chat?room=1', key, protocols: [], extensions: [], headers: [] });
    expect(req).toEqual({
      method: 'GET',
      target: '/chat?room=1',
      version: 'HTTP/1.1',
      headers: [
        ['Host', 'example.com'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', key],
        ['Sec-WebSocket-Version', '13'],
      ],
    });
    expect(checkRequest(req).ok).toBe(true);
  });

  it('adds protocols and extensions when there are any', () => {
    const req = buildClientRequest({ url: 'wss://example.com', key, protocols: ['chat', 'v2.json'], extensions: [deflateOffer()] });
    expect(req.target).toBe('/');
    expect(headerValues(req.headers, 'Sec-WebSocket-Protocol')).toEqual(['chat, v2.json']);
    expect(headerValues(req.headers, 'Sec-WebSocket-Extensions')).toEqual(['permessage-deflate; client_max_window_bits']);
  });

  it.each([
    ['ws://example.com/', 'example.com', 80, '/'],
    ['ws://example.com:80/', 'example.com', 80, '/'],
    ['wss://example.com:443/x', 'example.com', 443, '/x'],
    ['ws://example.com:443/', 'example.com:443', 443, '/'],
    ['wss://example.com:80/', 'example.com:80', 80, '/'],
    ['ws://127.0.0.1:8080', '127.0.0.1:8080', 8080, '/'],
    ['ws://[::1]:9000/a b', '[::1]:9000', 9000, '/a%20b'],
    ['wss://[2001:db8::1]/', '[2001:db8::1]', 443, '/'],
    ['WS://Example.COM/Path?Q', 'example.com', 80, '/Path?Q'],
    ['ws://example.com?x=1', 'example.com', 80, '/?x=1'],
  ])('%s -> Host %s', (url, host, port, target) => {
    const u = parseWsUrl(url);
    expect(u).toMatchObject({ host, port, target });
    const req = buildClientRequest({ url, key });
    expect(headerValues(req.headers, 'Host')).toEqual([host]);
    expect(req.target).toBe(target);
  });

  it('gives the host to connect to without brackets', () => {
    expect(parseWsUrl('wss://[::1]:9000/')).toEqual({ secure: true, hostname: '::1', port: 9000, host: '[::1]:9000', target: '/' });
  });

  it.each([
    'http://example.com/',
    'https://example.com/',
    'ftp://example.com/',
    'ws://example.com/#frag',
    'ws://example.com/#',
    'ws://user:pass@example.com/',
    'not a url',
    'ws://',
  ])('refuses %s with bad-url', (url) => {
    expect(codeOf(() => buildClientRequest({ url, key }))).toBe('bad-url');
  });

  it('lets a user header replace a default in place, whatever its case, and appends the rest', () => {
    const req = buildClientRequest({
      url: 'ws://example.com/',
      key,
      headers: [
        ['User-Agent', 'framescope-test'],
        ['host', 'other.example:1234'],
        ['Origin', 'http://app.example'],
        ['sec-websocket-version', '8'],
      ],
    });
    expect(req.headers).toEqual([
      ['host', 'other.example:1234'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', key],
      ['sec-websocket-version', '8'],
      ['User-Agent', 'framescope-test'],
      ['Origin', 'http://app.example'],
    ]);
  });

  it('puts several user headers replacing one default together in its place', () => {
    const req = buildClientRequest({
      url: 'ws://example.com/',
      key,
      protocols: ['a'],
      headers: [
        ['Sec-WebSocket-Protocol', 'x'],
        ['X-After', '1'],
        ['Sec-WebSocket-Protocol', 'y'],
      ],
    });
    expect(req.headers.slice(5)).toEqual([
      ['Sec-WebSocket-Protocol', 'x'],
      ['Sec-WebSocket-Protocol', 'y'],
      ['X-After', '1'],
    ]);
  });

  it('refuses header names that are not tokens and values with CR/LF', () => {
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, headers: [['Bad Name', 'v']] }))).toBe('bad-header');
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, headers: [['', 'v']] }))).toBe('bad-header');
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, headers: [['X', 'a\r\nInjected: 1']] }))).toBe('bad-header');
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, headers: [['X', 'a\nb']] }))).toBe('bad-header');
  });

  it('refuses subprotocols that are not tokens or are repeated, and unwritable extensions', () => {
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, protocols: ['a b'] }))).toBe('bad-protocol');
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, protocols: ['a,b'] }))).toBe('bad-protocol');
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, protocols: ['chat', 'chat'] }))).toBe('bad-protocol');
    expect(codeOf(() => buildClientRequest({ url: 'ws://x/', key, extensions: [{ name: 'a b', params: {} }] }))).toBe('bad-extension');
  });
});

describe('RFC 6455 §4.1 client checklist: each check failing on purpose', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const accept = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
  const request = buildClientRequest({ url: 'ws://example.com/', key, protocols: ['chat', 'superchat'], extensions: [deflateOffer()] });
  const good: HeaderList = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', accept],
  ];
  const respond = (headers: HeaderList, status = 101, reason = 'Switching Protocols'): HttpResponseRecord => ({
    version: 'HTTP/1.1',
    status,
    reason,
    headers,
  });
  const failed = (headers: HeaderList, status?: number) => {
    const r = checkResponse(request, respond(headers, status), sha1);
    return { r, failedIds: r.checks.filter((c) => !c.ok).map((c) => c.id) };
  };

  it('passes a minimal good response', () => {
    const r = checkResponse(request, respond(good), sha1);
    expect(r.ok).toBe(true);
    expect(r.protocol).toBeNull();
    expect(r.extensions).toEqual([]);
  });

  it('status-101: a 200', () => {
    const { r, failedIds } = failed(good, 200);
    expect(failedIds).toEqual(['status-101']);
    expect(r.ok).toBe(false);
    expect(r.failure).toBe('Expected status 101 Switching Protocols, but the server answered 200 Switching Protocols.');
  });

  it('status-101: a 403 without any WebSocket headers fails several checks, the status first', () => {
    const { r, failedIds } = failed([['Content-Type', 'text/plain']], 403);
    expect(failedIds).toEqual(['status-101', 'upgrade-websocket', 'connection-upgrade', 'accept-match']);
    expect(r.failure).toMatch(/^Expected status 101 Switching Protocols, but the server answered 403/);
  });

  it('upgrade-websocket: a 101 without Upgrade, or with another protocol', () => {
    expect(failed(good.filter(([n]) => n !== 'Upgrade')).failedIds).toEqual(['upgrade-websocket']);
    const { r, failedIds } = failed([['Upgrade', 'h2c'], ...good.slice(1)]);
    expect(failedIds).toEqual(['upgrade-websocket']);
    expect(r.failure).toBe('Expected the Upgrade header to contain "websocket", but the response sent "h2c".');
    expect(failed([['upgrade', 'WebSocket'], ...good.slice(1)]).failedIds).toEqual([]);
  });

  it('connection-upgrade: missing, or without the upgrade token', () => {
    expect(failed(good.filter(([n]) => n !== 'Connection')).failedIds).toEqual(['connection-upgrade']);
    expect(failed([good[0]!, ['Connection', 'keep-alive'], good[2]!]).failedIds).toEqual(['connection-upgrade']);
    expect(failed([good[0]!, ['Connection', 'keep-alive, UPGRADE'], good[2]!]).failedIds).toEqual([]);
    expect(failed([good[0]!, ['Connection', 'keep-alive'], ['Connection', 'Upgrade'], good[2]!]).failedIds).toEqual([]);
  });

  it('accept-match: wrong, missing, or sent twice', () => {
    const wrong = failed([...good.slice(0, 2), ['Sec-WebSocket-Accept', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=']]);
    expect(wrong.failedIds).toEqual(['accept-match']);
    expect(wrong.r.accept).toEqual({ key, expected: accept, received: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=', valid: false });
    expect(wrong.r.failure).toBe(
      `Expected Sec-WebSocket-Accept: ${accept} (computed from the key "${key}"), but the server sent "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".`,
    );
    const missing = failed(good.slice(0, 2));
    expect(missing.failedIds).toEqual(['accept-match']);
    expect(missing.r.accept.received).toBeNull();
    expect(failed([...good, ['Sec-WebSocket-Accept', accept]]).failedIds).toEqual(['accept-match']);
  });

  it('protocol-offered: one that was not offered, two at once, or any when none was offered', () => {
    const unoffered = failed([...good, ['Sec-WebSocket-Protocol', 'mqtt']]);
    expect(unoffered.failedIds).toEqual(['protocol-offered']);
    expect(unoffered.r.protocol).toBe('mqtt');
    expect(unoffered.r.failure).toMatch(/"mqtt", which the client did not offer \(offered: chat, superchat\)/);
    expect(failed([...good, ['Sec-WebSocket-Protocol', 'chat, superchat']]).failedIds).toEqual(['protocol-offered']);
    expect(failed([...good, ['Sec-WebSocket-Protocol', 'chat'], ['Sec-WebSocket-Protocol', 'chat']]).failedIds).toEqual(['protocol-offered']);
    expect(failed([...good, ['Sec-WebSocket-Protocol', 'CHAT']]).failedIds).toEqual(['protocol-offered']);
    const plain = buildClientRequest({ url: 'ws://example.com/', key });
    const r = checkResponse(plain, respond([...good, ['Sec-WebSocket-Protocol', 'chat']]), sha1);
    expect(r.checks.find((c) => c.id === 'protocol-offered')).toMatchObject({ ok: false, detail: expect.stringMatching(/offered none/) });
    const ok = failed([...good, ['Sec-WebSocket-Protocol', 'superchat']]);
    expect(ok.failedIds).toEqual([]);
    expect(ok.r.protocol).toBe('superchat');
  });

  it('extensions-offered: one that was not offered', () => {
    const { r, failedIds } = failed([...good, ['Sec-WebSocket-Extensions', 'x-webkit-deflate-frame']]);
    expect(failedIds).toEqual(['extensions-offered']);
    expect(r.failure).toMatch(/x-webkit-deflate-frame, which the client did not offer/);
    expect(r.extensions).toEqual([{ name: 'x-webkit-deflate-frame', params: {} }]);
    expect(r.deflate).toBeNull();
    const plain = buildClientRequest({ url: 'ws://example.com/', key });
    expect(checkResponse(plain, respond([...good, ['Sec-WebSocket-Extensions', 'permessage-deflate']]), sha1).ok).toBe(false);
  });

  it('extensions-offered: bad permessage-deflate parameters', () => {
    for (const bad of [
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate; x=1',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate, permessage-deflate',
      'permessage-deflate; =',
    ]) {
      const { r, failedIds } = failed([...good, ['Sec-WebSocket-Extensions', bad]]);
      expect(failedIds, bad).toEqual(['extensions-offered']);
      expect(r.deflate).toBeNull();
    }
  });

  it('extensions-offered: deflate accepted gives the negotiated params', () => {
    const r = checkResponse(request, respond([...good, ['Sec-WebSocket-Extensions', 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10']]), sha1);
    expect(r.ok).toBe(true);
    expect(r.extensions).toEqual(parseExtensions(['permessage-deflate; server_no_context_takeover; client_max_window_bits=10']));
    expect(r.deflate).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10 });
  });

  it('extensions-offered: the response may answer any of several offers', () => {
    const req = buildClientRequest({
      url: 'ws://example.com/',
      key,
      extensions: [deflateOffer({ serverMaxWindowBits: 10, clientMaxWindowBits: false }), deflateOffer()],
    });
    const r = checkResponse(req, respond([...good, ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=12']]), sha1);
    expect(r.ok).toBe(true);
    expect(r.deflate?.clientMaxWindowBits).toBe(12);
  });

  it('version: a 426 naming versions other than 13', () => {
    const { r, failedIds } = failed([['Sec-WebSocket-Version', '8, 7']], 426);
    expect(failedIds).toContain('version');
    expect(r.checks.find((c) => c.id === 'version')?.detail).toBe(
      'The request asked for Sec-WebSocket-Version 13, but the server supports only 8, 7 (RFC 6455 §4.4).',
    );
    const includes = failed([['Sec-WebSocket-Version', '13, 8']], 426);
    expect(includes.failedIds).not.toContain('version');
  });
});

describe('RFC 6455 §4.2 server side', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const base = (): HttpRequestRecord => buildClientRequest({ url: 'ws://example.com/', key });
  const without = (name: string): HttpRequestRecord => {
    const r = base();
    return { ...r, headers: r.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase()) };
  };
  const withHeader = (name: string, value: string): HttpRequestRecord => {
    const r = without(name);
    return { ...r, headers: [...r.headers, [name, value]] };
  };
  const failedIds = (req: HttpRequestRecord) => checkRequest(req).checks.filter((c) => !c.ok).map((c) => c.id);

  it.each<[string, string, HttpRequestRecord]>([
    ['POST', 'method-get', { ...base(), method: 'POST' }],
    ['HTTP/1.0', 'http-version', { ...base(), version: 'HTTP/1.0' }],
    ['no Host', 'host', without('Host')],
    ['two Hosts', 'host', { ...base(), headers: [...base().headers, ['Host', 'b']] }],
    ['no Upgrade', 'upgrade-websocket', without('Upgrade')],
    ['Connection: keep-alive', 'connection-upgrade', withHeader('Connection', 'keep-alive')],
    ['version 8', 'version', withHeader('Sec-WebSocket-Version', '8')],
    ['no version', 'version', without('Sec-WebSocket-Version')],
    ['no key', 'key', without('Sec-WebSocket-Key')],
    ['short key', 'key', withHeader('Sec-WebSocket-Key', 'c2hvcnQ=')],
    ['bad protocol', 'protocols-syntax', withHeader('Sec-WebSocket-Protocol', 'a b')],
    ['repeated protocol', 'protocols-syntax', withHeader('Sec-WebSocket-Protocol', 'a, a')],
    ['bad extensions', 'extensions-syntax', withHeader('Sec-WebSocket-Extensions', 'permessage-deflate; =')],
  ])('%s fails %s', (_name, id, req) => {
    expect(failedIds(req)).toEqual([id]);
    const c = checkRequest(req);
    expect(c.ok).toBe(false);
    expect(c.failure).toBe(c.checks.find((x) => x.id === id)?.detail);
  });

  it('accepts Connection: keep-alive, Upgrade and HTTP/1.1+ minors', () => {
    expect(failedIds(withHeader('Connection', 'keep-alive, Upgrade'))).toEqual([]);
    expect(failedIds({ ...base(), version: 'HTTP/1.2' })).toEqual([]);
  });

  it('collects offered protocols and extensions', () => {
    const req = buildClientRequest({ url: 'ws://x/', key, protocols: ['a', 'b'], extensions: [deflateOffer(), { name: 'x-foo', params: { y: '1' } }] });
    const c = checkRequest(req);
    expect(c.protocols).toEqual(['a', 'b']);
    expect(c.extensions).toEqual([deflateOffer(), { name: 'x-foo', params: { y: '1' } }]);
  });

  it('builds a 101 that the client checklist accepts, with headers replaced in place', () => {
    const req = buildClientRequest({ url: 'ws://x/', key, protocols: ['a', 'b'], extensions: [deflateOffer()] });
    const deflate = acceptDeflateOffer(checkRequest(req).extensions, { clientMaxWindowBits: 11 })!;
    const res = buildServerResponse({
      key,
      sha1,
      protocol: 'b',
      extensions: [deflate.response],
      headers: [
        ['X-Server', 'framescope'],
        ['connection', 'upgrade'],
      ],
    });
    expect(res).toEqual({
      version: 'HTTP/1.1',
      status: 101,
      reason: 'Switching Protocols',
      headers: [
        ['Upgrade', 'websocket'],
        ['connection', 'upgrade'],
        ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
        ['Sec-WebSocket-Protocol', 'b'],
        ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=11'],
        ['X-Server', 'framescope'],
      ],
    });
    const r = checkResponse(req, parseAll('response', writeResponseHead(res)).head, sha1);
    expect(r.ok).toBe(true);
    expect(r.protocol).toBe('b');
    expect(r.deflate).toEqual(deflate.params);
    expect(codeOf(() => buildServerResponse({ key, sha1, protocol: 'a b' }))).toBe('bad-protocol');
  });
});

// --------------------------------------------------------------------------------------
// The `ws` package as an independent peer, over loopback.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function listen(server: net.Server | WebSocketServer): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = server as net.Server;
    const done = () => resolve((s.address() as net.AddressInfo).port);
    if (server instanceof WebSocketServer) {
      server.once('listening', () => resolve((server.address() as net.AddressInfo).port));
      server.once('error', reject);
      return;
    }
    s.once('error', reject);
    s.listen(0, '127.0.0.1', done);
  });
}

/** Sends a request head over a raw socket and reads the response head (and what follows). */
function rawHandshake(port: number, request: HttpRequestRecord, wantAfter: number) {
  return new Promise<{ head: HttpResponseRecord; after: Uint8Array }>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    const parser = new HttpHeadParser('response');
    let head: HttpResponseRecord | null = null;
    const after: Uint8Array[] = [];
    let afterBytes = 0;
    socket.on('error', reject);
    socket.on('connect', () => socket.write(writeRequestHead(request)));
    socket.on('data', (chunk: Buffer) => {
      try {
        let data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
        if (!head) {
          const r = parser.receive(data);
          if (!r.done) return;
          head = r.head;
          data = r.rest;
        }
        after.push(new Uint8Array(data));
        afterBytes += data.length;
        if (afterBytes >= wantAfter) {
          socket.destroy();
          resolve({ head, after: concatBytes(after) });
        }
      } catch (e) {
        reject(e);
      }
    });
    socket.on('end', () => {
      try {
        parser.end();
      } catch (e) {
        reject(e);
      }
    });
  });
}

describe('interop: our client handshake against a ws server', () => {
  it('negotiates the protocol and permessage-deflate params, and frames after the head are kept', async () => {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 },
      handleProtocols: (protocols) => (protocols.has('superchat') ? 'superchat' : false),
    });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on('connection', (ws) => ws.send('hi'));
    const port = await listen(wss);

    const request = buildClientRequest({
      url: `ws://127.0.0.1:${port}/chat?x=1`,
      key: generateKey(randomBytes),
      protocols: ['chat', 'superchat'],
      extensions: [deflateOffer()],
      headers: [['User-Agent', 'framescope-test']],
    });
    const { head, after } = await rawHandshake(port, request, 4);
    const result = checkResponse(request, head, sha1);
    expect(result.failure).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.protocol).toBe('superchat');
    expect(result.accept.valid).toBe(true);
    expect(result.deflate).toEqual({
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    });
    // ws does not compress messages under its 1 KiB threshold: an unmasked text frame "hi".
    expect([...after.subarray(0, 4)]).toEqual([0x81, 0x02, 0x68, 0x69]);
  });

  it('a ws server refusing an unknown version: the checklist fails on the status and names the versions', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const port = await listen(wss);
    const request = buildClientRequest({
      url: `ws://127.0.0.1:${port}/`,
      key: generateKey(randomBytes),
      headers: [['Sec-WebSocket-Version', '12']],
    });
    const { head } = await rawHandshake(port, request, 0);
    const result = checkResponse(request, head, sha1);
    expect(result.ok).toBe(false);
    expect(head.status).toBe(400);
    expect(result.checks[0]).toMatchObject({ id: 'status-101', ok: false });
    expect(result.checks.find((c) => c.id === 'version')).toEqual({
      id: 'version',
      ok: false,
      detail: 'The request asked for Sec-WebSocket-Version 12, but the server supports only 13, 8 (RFC 6455 §4.4).',
    });
  });
});

describe('interop: a ws client against our server handshake', () => {
  async function serve(prefs: Parameters<typeof acceptDeflateOffer>[1], pick: (offered: string[]) => string | null) {
    const seen: Array<ReturnType<typeof checkRequest>> = [];
    const server = net.createServer((socket) => {
      const parser = new HttpHeadParser('request');
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        if (parser.done) return;
        const r = parser.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        if (!r.done) return;
        const c = checkRequest(r.head);
        seen.push(c);
        if (!c.ok || c.key === null) {
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        const deflate = acceptDeflateOffer(c.extensions, prefs);
        const protocol = pick(c.protocols);
        socket.write(writeResponseHead(buildServerResponse({ key: c.key, sha1, protocol, extensions: deflate ? [deflate.response] : [] })));
      });
    });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = await listen(server);
    return { port, seen };
  }

  function open(ws: WebSocket): Promise<void> {
    cleanups.push(() => ws.terminate());
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
  }

  it('the ws client opens, with our protocol choice and deflate response', async () => {
    const { port, seen } = await serve({ serverNoContextTakeover: true, clientMaxWindowBits: 10 }, (p) => p.find((x) => x === 'v2') ?? null);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/path?q=1`, ['v1', 'v2'], { perMessageDeflate: true });
    await open(ws);
    expect(ws.protocol).toBe('v2');
    expect(ws.extensions).toBe('permessage-deflate');
    // ws keeps the accepted parameters privately; reading them shows it took our response as is.
    const internals = ws as unknown as { _extensions: Record<string, { params: Record<string, unknown> }> };
    expect(internals._extensions['permessage-deflate']?.params).toEqual({ server_no_context_takeover: true, client_max_window_bits: 10 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.ok).toBe(true);
    expect(seen[0]!.protocols).toEqual(['v1', 'v2']);
    expect(seen[0]!.extensions).toEqual([deflateOffer()]);
  });

  it('the ws client opens without protocols or deflate', async () => {
    const { port, seen } = await serve({}, () => null);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    await open(ws);
    expect(ws.protocol).toBe('');
    expect(ws.extensions).toBe('');
    expect(seen[0]!.extensions).toEqual([]);
  });
});
