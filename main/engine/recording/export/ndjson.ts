// `export --format ndjson`: the capture as the event stream of docs/contracts.md "Events", one
// JSON object a line, the same shapes `connect --json` prints and the proxy journals:
// per connection an `open`, its `handshake`, every `frame`, its `error`s and its `close`.
// Connections are interleaved by time (a k-way merge over per-connection streams, one
// pending event each), as they happened. What capture v1 does not keep is filled in:
// - error events carry `kind`, which capture v1 does not store: it is inferred from the
//   message and the handshake (tls, timeout, network, handshake, protocol); errors have no
//   time in a capture either, so they come just before the connection's close;
// - the close event carries `endedAt` (an added field) so that import of this stream as a
//   journal gets the connection's end back;
// - frames carry `message.decoded` and the close `unanswered`, decoded afresh (the capture
//   keeps the bytes only).
import type { ConnectionRecord, EngineEventJson, ErrorKind } from '../../../../shared/model';
import type { CaptureSource } from '../capture-source';
import type { ConnectionHead } from '../capture-shape';
import { mergeByTime, withSink } from './sink';
import { eventToJson } from '../../../../shared/records';
import { base64 } from '../../base64';
import type { ExportResult } from './result';
import { DecodeTracker, withDecoded, type DecodeChoice, type EngineDecoders } from '../../../../shared/decoders';
import { ENGINE_DECODERS } from '../../decoders';

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

function* connectionEvents(source: CaptureSource, index: number, frameCount: { n: number }, decode: DecodeChoice, decoders: EngineDecoders): Generator<Timed> {
  const tracker = decode === 'none' ? null : new DecodeTracker(decode, decoders);
  const head = source.connections[index]!.head;
  const id = head.id;
  const line = (e: EngineEventJson | Record<string, unknown>) => JSON.stringify(e) + '\n';
  let last = head.startedAt;
  yield {
    time: head.startedAt,
    line: line({ event: 'open', connection: id, mode: head.mode, url: head.url, client: head.client, server: head.server, startedAt: head.startedAt, tls: head.tls }),
  };
  tracker?.event({ event: 'open', connection: id, mode: head.mode, url: head.url, client: head.client, server: head.server, startedAt: head.startedAt });
  if (head.handshake) {
    tracker?.event({ event: 'handshake', connection: id, ...head.handshake });
    const t = head.handshake.responseAt ?? head.handshake.requestAt;
    last = Math.max(last, t);
    yield { time: t, line: line({ event: 'handshake', connection: id, ...head.handshake }) };
  }
  for (const frame of source.frames(index)) {
    frameCount.n++;
    last = Math.max(last, frame.time);
    const event = { event: 'frame' as const, connection: id, ...frame };
    const d = tracker?.frame(event);
    const json = eventToJson(event, base64);
    yield { time: frame.time, line: line(d ? (withDecoded(json as Parameters<typeof withDecoded>[0], frame, d) as unknown as Record<string, unknown>) : json) };
  }
  const end = head.endedAt ?? last;
  for (const message of head.errors) {
    yield { time: end, line: line({ event: 'error', connection: id, kind: errorKind(message, head), message }) };
  }
  const unanswered = tracker?.end(id);
  if (head.close) {
    yield { time: end, line: line({ event: 'close', connection: id, ...head.close, endedAt: head.endedAt, ...(unanswered ? { unanswered } : {}) }) };
  }
}

export function exportNdjson(source: CaptureSource, out: string, options: { decode?: DecodeChoice; decoders?: EngineDecoders } = {}): ExportResult {
  const frames = { n: 0 };
  withSink(out, (sink) => {
    const streams = source.connections.map((_, i) => connectionEvents(source, i, frames, options.decode ?? 'auto', options.decoders ?? ENGINE_DECODERS));
    for (const e of mergeByTime(streams, (t) => t.time)) sink.write(e.line);
  });
  return { connections: source.connections.length, frames: frames.n };
}
