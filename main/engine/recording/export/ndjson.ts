// `export --format ndjson`: the capture as the event stream of docs/contracts.md "Events", one
// JSON object a line, the same shapes `connect --json` prints and the proxy journals:
// per connection an `open`, its `handshake`, every `frame`, its `error`s and its `close`.
// Connections are interleaved by time (a k-way merge over per-connection streams, one
// pending event each), as they happened. What capture v1 does not keep is filled in:
// - error events carry `kind`, which capture v1 does not store: it is inferred from the
//   message and the handshake (tls, timeout, network, handshake, protocol); errors have no
//   time in a capture either, so they come just before the connection's close;
// - the close event carries `endedAt` (an added field) so that import of this stream as a
//   journal gets the connection's end back.
import type { ConnectionRecord, EngineEventJson, ErrorKind } from '../../../../shared/model';
import type { CaptureSource } from '../capture-source';
import type { ConnectionHead } from '../capture-shape';
import { mergeByTime, withSink } from './sink';
import { eventToJson } from '../../../../shared/records';
import { base64 } from '../../base64';
import type { ExportResult } from './result';

interface Timed {
  time: number;
  line: string;
}

/** Best guess at an error's kind from its text and how far the connection got. */
export function errorKind(message: string, head: ConnectionHead | ConnectionRecord): ErrorKind {
  if (/\bTLS\b|\bSSL\b|certificate/i.test(message)) return 'tls';
  if (/timed? ?out|timeout/i.test(message)) return 'timeout';
  if (/usage/i.test(message)) return 'usage';
  const h = head.handshake;
  if (!h) return 'network';
  if (/ECONN|EPIPE|EHOST|ENET|reset|refused|socket|network/i.test(message)) return 'network';
  if (!h.response || h.response.status !== 101 || h.checks.some((c) => !c.ok)) return 'handshake';
  return 'protocol';
}

function* connectionEvents(source: CaptureSource, index: number, frameCount: { n: number }): Generator<Timed> {
  const head = source.connections[index]!.head;
  const id = head.id;
  const line = (e: EngineEventJson | Record<string, unknown>) => JSON.stringify(e) + '\n';
  let last = head.startedAt;
  yield {
    time: head.startedAt,
    line: line({ event: 'open', connection: id, mode: head.mode, url: head.url, client: head.client, server: head.server, startedAt: head.startedAt, tls: head.tls }),
  };
  if (head.handshake) {
    const t = head.handshake.responseAt ?? head.handshake.requestAt;
    last = Math.max(last, t);
    yield { time: t, line: line({ event: 'handshake', connection: id, ...head.handshake }) };
  }
  for (const frame of source.frames(index)) {
    frameCount.n++;
    last = Math.max(last, frame.time);
    yield { time: frame.time, line: line(eventToJson({ event: 'frame', connection: id, ...frame }, base64)) };
  }
  const end = head.endedAt ?? last;
  for (const message of head.errors) {
    yield { time: end, line: line({ event: 'error', connection: id, kind: errorKind(message, head), message }) };
  }
  if (head.close) {
    yield { time: end, line: line({ event: 'close', connection: id, ...head.close, endedAt: head.endedAt }) };
  }
}

export function exportNdjson(source: CaptureSource, out: string): ExportResult {
  const frames = { n: 0 };
  withSink(out, (sink) => {
    const streams = source.connections.map((_, i) => connectionEvents(source, i, frames));
    for (const e of mergeByTime(streams, (t) => t.time)) sink.write(e.line);
  });
  return { connections: source.connections.length, frames: frames.n };
}
