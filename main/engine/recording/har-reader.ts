// Import from HAR 1.2 (docs/contracts.md "HAR export"): each WebSocket entry becomes a
// connection.
//
// - A HAR that Framescope wrote carries the whole Connection record under the entry's
//   `_framescope` key ({ connection, frames }): it is read back as is, so capture → HAR →
//   capture gives the same capture.
// - A HAR from Chrome DevTools ("Save all as HAR with content") or HTTP Toolkit has only
//   message rows (`_webSocketMessages`: type send|receive|error, time in epoch seconds,
//   opcode, data — text as text, anything else base64). Each send/receive row becomes one
//   frame marked `"reconstructed": true`: FIN, not compressed, client frames masked with
//   the key 00000000 standing in for the unknown one. Chrome's "error" rows (opcode -1) go
//   to the connection's errors. HTTP Toolkit's `_webSocketClose` ({code, reason,
//   timestamp} or "aborted") becomes the close record, marked reconstructed (a HAR does
//   not say who closed). The handshake is rebuilt from the entry's request and response
//   headers and checked like a live one (Accept, extensions, subprotocol).
//
// Streaming as the capture reader: the first pass parses entry heads and skips the message
// and frame arrays, noting where they are; frames are produced from there on demand.

import { createHash } from 'node:crypto';
import { utf8Decode, utf8Encode } from '../../../shared/bytes';
import { checkResponse, assembleHandshake, unansweredHandshake } from '../../../shared/codec/handshake';
import { encodeFrameHeader } from '../../../shared/codec/frame-writer';
import type { CloseRecord, FrameRecord, HandshakeRecord, HeaderList, HttpRequestRecord, HttpResponseRecord } from '../../../shared/model';
import { base64Bytes, checkConnectionHead, checkFrame, ShapeError, type ConnectionHead } from './capture-shape';
import { formatError, type CaptureSource } from './capture-source';
import { JsonCursor, type FileSource } from './json-cursor';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();
const ZERO_KEY = new Uint8Array(4);

interface HarConnection {
  head: ConnectionHead;
  frameCount: number;
  frames: () => Iterable<FrameRecord>;
}

export function indexHar(src: FileSource, file: string, now: string): CaptureSource {
  const cur = new JsonCursor(src, 0);
  const connections: HarConnection[] = [];
  let where = '';
  let createdAt = now;
  let creator = '';
  let entries = 0;
  try {
    cur.skipBom();
    cur.beginObject();
    for (let key = cur.nextKey(); key !== null; key = cur.nextKey()) {
      if (key !== 'log') {
        cur.skipValue();
        continue;
      }
      where = 'log';
      if (cur.peek() !== 0x7b) throw new ShapeError('"log" must be an object', '');
      cur.beginObject();
      for (let k = cur.nextKey(); k !== null; k = cur.nextKey()) {
        where = `log.${k}`;
        if (k === 'creator') {
          const c = cur.parseValue();
          if (isObj(c) && typeof c['name'] === 'string') creator = c['name'];
        } else if (k === '_framescope') {
          const f = cur.parseValue();
          if (isObj(f) && typeof f['createdAt'] === 'string') createdAt = f['createdAt'];
        } else if (k === 'entries') {
          if (cur.peek() !== 0x5b) throw new ShapeError('"entries" must be a list', 'log');
          cur.beginArray();
          for (let i = 0; cur.nextElement(); i++) {
            entries++;
            where = `log.entries[${i}]`;
            const c = readEntry(cur, src, file, i, connections.length + 1, () => creator, (w) => (where = w));
            if (c) connections.push(c);
          }
        } else cur.skipValue();
      }
      where = '';
    }
    cur.end();
  } catch (err) {
    throw formatError(file, src, err, where);
  }
  const warnings: string[] = [];
  if (connections.length === 0) warnings.push(`${file}: no WebSocket entries among its ${entries} HAR entries`);
  return {
    kind: 'har',
    file,
    createdAt,
    connections: connections.map(({ head, frameCount }) => ({ head, frameCount })),
    frames: (index) => connections[index]!.frames(),
    warnings,
    close: () => src.close(),
  };
}

/** The parts of an entry the first pass keeps. */
interface EntryParts {
  fields: Obj;
  response: Obj | null;
  messagesAt: number;
  messageCount: number;
  fsConnection: unknown;
  fsFramesAt: number;
  fsFrameCount: number;
}

function readEntry(
  cur: JsonCursor,
  src: FileSource,
  file: string,
  index: number,
  ordinal: number,
  creator: () => string,
  setWhere: (w: string) => void,
): HarConnection | null {
  const path = `log.entries[${index}]`;
  if (cur.peek() !== 0x7b) throw new ShapeError('expected an entry object', path);
  const parts: EntryParts = { fields: {}, response: null, messagesAt: -1, messageCount: 0, fsConnection: undefined, fsFramesAt: -1, fsFrameCount: 0 };
  cur.beginObject();
  for (let k = cur.nextKey(); k !== null; k = cur.nextKey()) {
    setWhere(`${path}.${k}`);
    if (k === 'response' && cur.peek() === 0x7b) {
      // Skip the body: an HTTP entry's content can be megabytes we do not need.
      const res: Obj = {};
      cur.beginObject();
      for (let rk = cur.nextKey(); rk !== null; rk = cur.nextKey()) {
        if (rk === 'content') cur.skipValue();
        else res[rk] = cur.parseValue();
      }
      parts.response = res;
    } else if (k === 'request' && cur.peek() === 0x7b) {
      const req: Obj = {};
      cur.beginObject();
      for (let rk = cur.nextKey(); rk !== null; rk = cur.nextKey()) {
        if (rk === 'postData') cur.skipValue();
        else req[rk] = cur.parseValue();
      }
      parts.fields['request'] = req;
    } else if (k === '_webSocketMessages' && cur.peek() === 0x5b) {
      parts.messagesAt = cur.offset;
      parts.messageCount = countElements(cur, (j) => setWhere(`${path}._webSocketMessages[${j}]`));
    } else if (k === '_framescope' && cur.peek() === 0x7b) {
      cur.beginObject();
      for (let fk = cur.nextKey(); fk !== null; fk = cur.nextKey()) {
        setWhere(`${path}._framescope.${fk}`);
        if (fk === 'frames' && cur.peek() === 0x5b) {
          parts.fsFramesAt = cur.offset;
          parts.fsFrameCount = countElements(cur, (j) => setWhere(`${path}._framescope.frames[${j}]`));
        } else if (fk === 'connection') parts.fsConnection = cur.parseValue();
        else cur.skipValue();
      }
    } else parts.fields[k] = cur.parseValue();
  }
  setWhere(path);
  const request = parts.fields['request'];
  const url = isObj(request) && typeof request['url'] === 'string' ? request['url'] : '';
  const isWebSocket = parts.fields['_resourceType'] === 'websocket' || /^wss?:\/\//i.test(url) || parts.messagesAt >= 0 || parts.fsFramesAt >= 0;
  if (!isWebSocket) return null;

  if (parts.fsConnection !== undefined) {
    // Written by Framescope: the record itself.
    const head = checkConnectionHead(parts.fsConnection, `${path}._framescope.connection`);
    if (parts.fsFramesAt < 0) throw new ShapeError('"frames" must be a list (it is missing)', `${path}._framescope`);
    const at = parts.fsFramesAt;
    return {
      head,
      frameCount: parts.fsFrameCount,
      frames: () => framescopeFrames(src, file, at, `${path}._framescope.frames`),
    };
  }
  return reconstruct(src, file, path, ordinal, parts, creator());
}

function countElements(cur: JsonCursor, onElement: (j: number) => void): number {
  let n = 0;
  cur.beginArray();
  while (cur.nextElement()) {
    onElement(n);
    cur.skipValue();
    n++;
  }
  return n;
}

function framescopeFrames(src: FileSource, file: string, at: number, path: string): Generator<FrameRecord> {
  return checkedElements(src, file, at, path, checkFrame);
}

// ---------------------------------------------------------------------------------------
// Entries from other tools: rebuilt from what a HAR has

function harHeaders(v: unknown, key: string, path: string): HeaderList {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ShapeError(`"${key}" must be a list of {name, value}`, path);
  return v.map((h, i) => {
    if (!isObj(h) || typeof h['name'] !== 'string' || typeof h['value'] !== 'string') {
      throw new ShapeError(`"${key}[${i}]" must be {"name": string, "value": string}`, path);
    }
    return [h['name'], h['value']] as [string, string];
  });
}

/** A WebSocket handshake is HTTP/1.1 (RFC 6455 §4.1); DevTools sometimes writes "" or HTTP/0.9. */
const httpVersion = (v: unknown): string => (typeof v === 'string' && /^HTTP\/1\.\d$/.test(v) ? v : 'HTTP/1.1');

const positive = (v: unknown): number => (typeof v === 'number' && v > 0 ? v : 0);

/** ms with microsecond resolution from epoch seconds (HAR message times). */
const msFromSeconds = (s: number): number => Math.round(s * 1e6) / 1e3;

interface Row {
  type: 'send' | 'receive' | 'error';
  time: number;
  opcode: number;
  data: string;
}

function checkRow(v: unknown, path: string): Row {
  if (!isObj(v)) throw new ShapeError('expected a message object', path);
  const type = v['type'];
  if (type !== 'send' && type !== 'receive' && type !== 'error') throw new ShapeError('"type" must be "send", "receive" or "error"', path);
  if (typeof v['time'] !== 'number' || !Number.isFinite(v['time'])) throw new ShapeError('"time" must be a number (epoch seconds)', path);
  if (typeof v['data'] !== 'string') throw new ShapeError('"data" must be a string', path);
  const opcode = v['opcode'];
  if (type === 'error') {
    if (typeof opcode !== 'number') throw new ShapeError('"opcode" must be a number (-1 on an error row)', path);
  } else {
    if (typeof opcode !== 'number' || !Number.isInteger(opcode) || opcode < 0 || opcode > 15) {
      throw new ShapeError('"opcode" must be an integer 0-15', path);
    }
    if (opcode !== 1 && base64Bytes(v['data']) < 0) throw new ShapeError(`"data" must be base64 for opcode ${opcode} (only text, opcode 1, is written as text)`, path);
  }
  return v as unknown as Row;
}

function rows(src: FileSource, file: string, at: number, path: string): Generator<Row> {
  return checkedElements(src, file, at, path, checkRow);
}

/** Streams the elements of the JSON array at `at`, each checked, errors naming the element. */
function* checkedElements<T>(src: FileSource, file: string, at: number, path: string, check: (value: unknown, where: string) => T): Generator<T> {
  const cur = new JsonCursor(src, at, { chunk: 256 * 1024 });
  let where = path;
  try {
    cur.beginArray();
    for (let j = 0; cur.nextElement(); j++) {
      where = `${path}[${j}]`;
      yield check(cur.parseValue(), where);
    }
  } catch (err) {
    throw formatError(file, src, err, where);
  }
}

function reconstruct(src: FileSource, file: string, path: string, ordinal: number, parts: EntryParts, creator: string): HarConnection {
  const f = parts.fields;
  const req = f['request'];
  if (!isObj(req)) throw new ShapeError('"request" must be an object', path);
  if (typeof req['url'] !== 'string') throw new ShapeError('"url" must be a string', `${path}.request`);
  let parsed: URL;
  try {
    parsed = new URL(req['url'].replace(/^http(s?):/i, 'ws$1:'));
  } catch {
    throw new ShapeError(`"url" is not a URL: ${JSON.stringify(req['url'])}`, `${path}.request`);
  }
  if (typeof f['startedDateTime'] !== 'string' || Number.isNaN(Date.parse(f['startedDateTime']))) {
    throw new ShapeError('"startedDateTime" must be an ISO-8601 date', path);
  }
  const startedAt = Date.parse(f['startedDateTime']);
  const request: HttpRequestRecord = {
    method: typeof req['method'] === 'string' ? req['method'] : 'GET',
    target: (parsed.pathname || '/') + parsed.search,
    version: httpVersion(req['httpVersion']),
    headers: harHeaders(req['headers'], 'headers', `${path}.request`),
  };
  const res = parts.response;
  let response: HttpResponseRecord | null = null;
  if (res && typeof res['status'] === 'number' && res['status'] > 0) {
    response = {
      version: httpVersion(res['httpVersion']),
      status: res['status'],
      reason: typeof res['statusText'] === 'string' ? res['statusText'] : '',
      headers: harHeaders(res['headers'], 'headers', `${path}.response`),
    };
  }
  const t = isObj(f['timings']) ? f['timings'] : {};
  const responseAt = startedAt + positive(t['blocked']) + positive(t['dns']) + positive(t['connect']) + positive(t['send']) + positive(t['wait']);
  let handshake: HandshakeRecord;
  if (response) {
    const checked = checkResponse(request, response, sha1);
    handshake = assembleHandshake(checked, { request, response, requestAt: startedAt, responseAt });
  } else {
    handshake = unansweredHandshake(request, sha1, startedAt, 'the HAR entry has no response.');
  }

  const source = creator || 'an unnamed tool';
  const errors: string[] = [
    `reconstructed from a HAR written by ${source}: one frame per message row; frame boundaries, mask keys (00000000 stands in), compression and control frames are not in a HAR`,
  ];
  let frameCount = 0;
  if (parts.messagesAt >= 0) {
    for (const row of rows(src, file, parts.messagesAt, `${path}._webSocketMessages`)) {
      if (row.type === 'error') errors.push(`error reported by ${source} at ${new Date(msFromSeconds(row.time)).toISOString()}: ${row.data}`);
      else frameCount++;
    }
  }

  let close: CloseRecord | null = null;
  let endedAt: number | null = null;
  const wc = f['_webSocketClose'];
  if (wc === 'aborted') {
    close = { code: null, reason: '', by: 'transport', clean: false, reconstructed: true };
  } else if (isObj(wc)) {
    const by = wc['by'] === 'client' || wc['by'] === 'server' || wc['by'] === 'transport' || wc['by'] === 'framescope' ? wc['by'] : null;
    close = {
      code: typeof wc['code'] === 'number' && Number.isInteger(wc['code']) ? wc['code'] : null,
      reason: typeof wc['reason'] === 'string' ? wc['reason'] : '',
      by: by ?? 'transport',
      clean: typeof wc['clean'] === 'boolean' ? wc['clean'] : false,
    };
    if (!by || typeof wc['clean'] !== 'boolean') close.reconstructed = true;
    if (typeof wc['timestamp'] === 'number') endedAt = msFromSeconds(wc['timestamp']);
  }

  const ip = typeof f['serverIPAddress'] === 'string' ? f['serverIPAddress'].replace(/^\[|\]$/g, '') : '';
  // Chrome writes the remote port in "connection" (Log.ts); otherwise the URL's port.
  const port = typeof f['connection'] === 'string' && /^\d+$/.test(f['connection']) ? f['connection'] : parsed.port || (parsed.protocol === 'wss:' ? '443' : '80');
  const head: ConnectionHead = {
    id: `h${ordinal}`,
    mode: /http toolkit/i.test(creator) ? 'proxy' : 'client',
    url: parsed.href,
    client: null,
    server: ip ? `${ip}:${port}` : null,
    tls: null,
    startedAt,
    endedAt,
    handshake,
    close,
    errors,
  };
  const at = parts.messagesAt;
  return {
    head,
    frameCount,
    frames: () => (at >= 0 ? framesFromRows(rows(src, file, at, `${path}._webSocketMessages`)) : []),
  };
}

function* framesFromRows(source: Iterable<Row>): Generator<FrameRecord> {
  let seq = 0;
  for (const row of source) {
    if (row.type === 'error') continue;
    const payload = row.opcode === 1 ? utf8Encode(row.data) : Buffer.from(row.data, 'base64');
    const masked = row.type === 'send';
    const header = encodeFrameHeader({ fin: true, opcode: row.opcode, mask: masked, maskKey: ZERO_KEY, length: payload.length });
    const frame: FrameRecord = {
      seq: seq++,
      time: msFromSeconds(row.time),
      from: masked ? 'client' : 'server',
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: row.opcode,
      masked,
      maskKey: masked ? ZERO_KEY : null,
      length: payload.length,
      header,
      payload,
    };
    if (row.opcode === 8) {
      frame.close =
        payload.length >= 2 ? { code: (payload[0]! << 8) | payload[1]!, reason: utf8Decode(payload.subarray(2)) } : { code: null, reason: '' };
    }
    frame.reconstructed = true;
    yield frame;
  }
}
