// `export --format har`: HAR 1.2 as Chrome DevTools writes WebSocket entries (docs/contracts.md
// "HAR export"): one entry per connection, `_resourceType: "websocket"`, the handshake as
// request/response (101), `request.url` the ws(s):// URL, and `_webSocketMessages` rows
// {type, time, opcode, data} for data messages only — type "send" is what the client sent
// (also in proxy captures), time in epoch seconds, text as text and binary as base64 —
// then Chrome's "error" rows (opcode -1) for the connection's errors. The close is
// `_webSocketClose` as HTTP Toolkit writes it ({code, reason, timestamp}, plus by/clean).
//
// A connection Framescope intervened in: the rows are what the app saw, as DevTools in the
// app would show them — "send" rows the client's original messages (dropped and replaced
// ones too: the app sent them), "receive" rows what was delivered to it (the server's
// messages that went on and Framescope's toward the client) — the app leg of
// shared/legs.ts. A row of a held message or of one Framescope wrote carries
// `_framescopeIntervention`: the intervention mark, plus `by: "framescope"` on Framescope's.
//
// Nothing is lost: the entry's `_framescope` holds the Connection record as is
// ({connection, frames}: every frame with header, mask, payload, violations), and each row's
// `_framescope` lists the seq of the frames it was made of. Import reads `_framescope`
// back, so capture → HAR → capture is the identity. Viewers ignore `_` keys.
//
// Written as a stream: the entry's fixed part, then rows from one pass over the frames,
// then the frames again from a second pass (sources restart cheaply).
import { writeRequestHead, writeResponseHead } from '../../../../shared/codec/handshake';
import type { HeaderList } from '../../../../shared/model';
import type { CaptureSource } from '../capture-source';
import type { ConnectionHead } from '../capture-shape';
import { dataMessages, type DataMessage } from './messages';
import { legFrames } from '../../../../shared/legs';
import { frameToJson } from '../../../../shared/records';
import { base64 } from '../../base64';
import { withSink, type FileSink } from './sink';
import type { ExportResult } from './result';

declare const __FRAMESCOPE_VERSION__: string | undefined;
const VERSION = typeof __FRAMESCOPE_VERSION__ === 'string' ? __FRAMESCOPE_VERSION__ : 'dev';

const seconds = (ms: number) => ms / 1000;
const harHeaders = (headers: HeaderList) => headers.map(([name, value]) => ({ name, value }));

function headSize(bytes: () => Uint8Array): number {
  try {
    return bytes().length;
  } catch {
    return -1;
  }
}

/** The ws(s):// URL: the record's, or rebuilt from Host and target when the record has another kind. */
function wsUrl(head: ConnectionHead): string {
  if (/^wss?:\/\//i.test(head.url)) return head.url;
  const req = head.handshake?.request;
  const host = req?.headers.find(([n]) => n.toLowerCase() === 'host')?.[1];
  return host ? `${head.tls ? 'wss' : 'ws'}://${host}${req!.target}` : head.url;
}

/** "ip:port" with IPv6 in Node's style (no brackets) or bracketed. */
export function splitHostPort(address: string): { ip: string; port: number } | null {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(address);
  return m ? { ip: m[1]!, port: Number(m[2]) } : null;
}

function entryHead(head: ConnectionHead): Record<string, unknown> {
  const hs = head.handshake;
  const url = wsUrl(head);
  let query: Array<{ name: string; value: string }> = [];
  try {
    query = [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    /* not a URL we can split: no query list */
  }
  const req = hs?.request;
  const res = hs?.response ?? null;
  const connect = hs ? Math.max(0, hs.requestAt - head.startedAt) : -1;
  const wait = hs && hs.responseAt !== null ? Math.max(0, hs.responseAt - hs.requestAt) : -1;
  const entry: Record<string, unknown> = {
    startedDateTime: new Date(head.startedAt).toISOString(),
    time: Math.max(connect, 0) + Math.max(wait, 0),
    request: {
      method: req?.method ?? 'GET',
      url,
      httpVersion: req?.version ?? 'HTTP/1.1',
      headers: harHeaders(req?.headers ?? []),
      queryString: query,
      cookies: [],
      headersSize: req ? headSize(() => writeRequestHead(req)) : -1,
      bodySize: 0,
    },
    response: res
      ? {
          status: res.status,
          statusText: res.reason,
          httpVersion: res.version,
          headers: harHeaders(res.headers),
          cookies: [],
          content: { size: 0, mimeType: 'x-unknown' },
          redirectURL: '',
          headersSize: headSize(() => writeResponseHead(res)),
          bodySize: 0,
        }
      : {
          status: 0,
          statusText: '',
          httpVersion: '',
          headers: [],
          cookies: [],
          content: { size: 0, mimeType: 'x-unknown' },
          redirectURL: '',
          headersSize: -1,
          bodySize: -1,
          _error: head.errors[0] ?? 'no response',
        },
    cache: {},
    timings: { blocked: -1, dns: -1, ssl: -1, connect, send: 0, wait, receive: 0 },
  };
  const server = head.server ? splitHostPort(head.server) : null;
  if (server) {
    entry['serverIPAddress'] = server.ip;
    // Chrome's writer puts the remote port here (and its importer reads it back as one).
    entry['connection'] = String(server.port);
  }
  entry['_resourceType'] = 'websocket';
  return entry;
}

function row(m: DataMessage): string {
  const extra: Record<string, unknown> = { frames: m.frames };
  if (m.truncated) extra['truncated'] = true;
  if (m.incomplete) extra['incomplete'] = true;
  if (m.undecoded) extra['undecoded'] = true;
  return JSON.stringify({
    type: m.from === 'client' ? 'send' : 'receive',
    time: seconds(m.time),
    opcode: m.opcode,
    data: m.opcode === 1 ? Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('utf8') : base64(m.data),
    _framescope: extra,
    ...(m.by || m.intervention ? { _framescopeIntervention: { ...m.intervention, ...(m.by ? { by: m.by } : {}) } } : {}),
  });
}

function writeEntry(sink: FileSink, source: CaptureSource, index: number, counts: { frames: number; messages: number }): void {
  const head = source.connections[index]!.head;
  const fixed = JSON.stringify(entryHead(head));
  sink.write(fixed.slice(0, -1));
  sink.write(',"_webSocketMessages":[');
  let first = true;
  let last = head.startedAt;
  for (const m of dataMessages(legFrames(source.frames(index), 'app'))) {
    sink.write((first ? '\n' : ',\n') + row(m));
    first = false;
    counts.messages++;
    last = Math.max(last, m.time);
  }
  const end = head.endedAt ?? last;
  for (const message of head.errors) {
    sink.write((first ? '\n' : ',\n') + JSON.stringify({ type: 'error', time: seconds(end), opcode: -1, data: message }));
    first = false;
  }
  sink.write(']');
  if (head.close) {
    const c = head.close;
    sink.write(
      `,"_webSocketClose":${JSON.stringify({
        ...(c.code !== null ? { code: c.code } : {}),
        reason: c.reason,
        ...(head.endedAt !== null ? { timestamp: seconds(head.endedAt) } : {}),
        by: c.by,
        clean: c.clean,
      })}`,
    );
  }
  sink.write(`,"_framescope":{"connection":${JSON.stringify(head)},"frames":[`);
  first = true;
  for (const f of source.frames(index)) {
    sink.write((first ? '\n' : ',\n') + JSON.stringify(frameToJson(f, base64)));
    first = false;
    counts.frames++;
  }
  sink.write(']}}');
}

export function exportHar(source: CaptureSource, out: string): ExportResult {
  const counts = { frames: 0, messages: 0 };
  withSink(out, (sink) => {
    sink.write(
      `{"log":{"version":"1.2","creator":${JSON.stringify({ name: 'Framescope', version: VERSION })},"pages":[],` +
        `"_framescope":${JSON.stringify({ format: 'framescope.capture', version: 1, createdAt: source.createdAt })},"entries":[`,
    );
    source.connections.forEach((_, i) => {
      sink.write(i === 0 ? '\n' : ',\n');
      writeEntry(sink, source, i, counts);
    });
    sink.write('\n]}}\n');
  });
  return { connections: source.connections.length, frames: counts.frames, messages: counts.messages };
}
