// One proxied WebSocket: open the upstream, relay the handshake, then relay bytes both ways
// exactly as they arrive while an observer decodes a copy of each direction. Nothing is
// re-framed: what the app and the server see is what they would see without Framescope.
import type net from 'node:net';
import { createHash } from 'node:crypto';
import type { HttpRequestRecord } from '../../../shared/model';
import { assembleHandshake, checkResponse, unansweredHandshake, writeRequestHead } from '../../../shared/codec/handshake';
import { StreamObserver, type ObservedFrame } from '../../../shared/codec/observer';
import { inflaterFor } from '../../../shared/codec/compression';
import { ConnectionRecorder, type EventSink } from '../recording/recorder';
import { zlibCompression } from '../zlib-compression';
import { now } from '../clock';
import { connectUpstream, hostPort, type UpstreamTarget } from './upstream';
import { isHeadFailure, readHead } from './head-reader';
import { sendHttpError } from './http-error';
import { relayIntervened } from '../intervene/relay';
import type { PolicySource } from '../intervene/lane';
import { DEFAULT_MAX_MESSAGE } from '../../../shared/codec/messages';

const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();

export interface ProxyContext {
  nextId(): string;
  sink: EventSink;
  /** do not verify upstream certificates */
  insecure: boolean;
  /** upstream connect and response-head deadline */
  timeoutMs: number;
  maxHeaderBytes: number;
  /** payload bytes recorded per frame */
  maxPayload: number;
  /** registers a live connection so a shutdown can end it and wait for its record */
  track(stop: () => Promise<void>, id: string): () => void;
  /** what may change a connection's messages; absent or null for a connection: relayed byte for byte */
  intervene?: PolicySource;
  /** one line for the user (a script's failure) */
  report?: (line: string) => void;
}

export interface WsTarget extends UpstreamTarget {
  /** the ws:// or wss:// URL recorded for the connection */
  url: string;
  /** the request head to send upstream (the client's, with Host/target rewritten as needed) */
  upstreamRequest: HttpRequestRecord;
}

function address(socket: net.Socket): string | null {
  const a = socket.remoteAddress;
  if (!a) return null;
  return `${a.includes(':') ? `[${a}]` : a}:${socket.remotePort}`;
}

/**
 * Relays one WebSocket. `request` is what the client sent (recorded as such), `requestAt`
 * when its head was complete, `early` bytes the client sent after its head.
 */
export async function relayWebSocket(
  ctx: ProxyContext,
  client: net.Socket,
  request: HttpRequestRecord,
  requestAt: number,
  early: Uint8Array,
  target: WsTarget,
): Promise<void> {
  const rec = new ConnectionRecorder({ id: ctx.nextId(), mode: 'proxy', url: target.url, startedAt: requestAt, keepFrames: false }, ctx.sink);
  rec.setEndpoints(address(client), null);
  const where = hostPort(target);
  let finished = false;
  let upstreamSocket: net.Socket | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const untrack = ctx.track(async () => {
    client.destroy();
    upstreamSocket?.destroy();
    await done;
  }, rec.record.id);
  const end = (close: Parameters<ConnectionRecorder['close']>[0]) => {
    if (finished) return;
    finished = true;
    rec.close(close, now());
    untrack();
    resolveDone();
  };
  client.on('error', () => {
    /* reported where it matters: on 'close' of the relay */
  });

  const failBeforeUpgrade = (kind: Parameters<ConnectionRecorder['error']>[0], message: string, opened: boolean) => {
    if (!opened) rec.open();
    rec.handshake(unansweredHandshake(request, sha1, requestAt, message));
    rec.error(kind, message);
    sendHttpError(client, 502, 'Bad Gateway', `Framescope could not complete the WebSocket handshake with ${where}: ${message}`);
    end({ code: null, reason: '', by: 'transport', clean: false });
  };

  // If the client goes away while we are still reaching the upstream, stop there.
  let clientGone = false;
  const onEarlyClose = () => (clientGone = true);
  client.once('close', onEarlyClose);

  const up = await connectUpstream(target, { insecure: ctx.insecure, timeoutMs: ctx.timeoutMs });
  if ('error' in up) return failBeforeUpgrade(up.error, up.message, false);
  const upstream = (upstreamSocket = up.socket);
  upstream.on('error', () => {
    /* as for the client */
  });
  rec.setEndpoints(address(client), address(upstream));
  rec.setTls(up.tls);
  rec.open();
  if (clientGone) {
    upstream.destroy();
    rec.handshake(unansweredHandshake(request, sha1, requestAt, 'the client closed the connection before the upstream answered'));
    rec.error('network', 'the client closed the connection before the handshake completed');
    return end({ code: null, reason: '', by: 'transport', clean: false });
  }

  upstream.write(writeRequestHead(target.upstreamRequest));
  if (early.length > 0) upstream.write(early);
  const response = await readHead(upstream, 'response', { maxHeaderBytes: ctx.maxHeaderBytes, timeoutMs: ctx.timeoutMs });
  if (isHeadFailure(response)) {
    upstream.destroy();
    const kind = response.error === 'timeout' ? 'timeout' : 'handshake';
    return failBeforeUpgrade(kind, `upstream ${where}: ${response.message}`, true);
  }
  client.off('close', onEarlyClose);
  const responseAt = now();
  // The response head goes to the client exactly as the server wrote it.
  client.write(response.headBytes);
  const verdict = checkResponse(request, response.head, sha1);
  rec.handshake(assembleHandshake(verdict, { request, response: response.head, requestAt, responseAt }));

  if (clientGone || client.destroyed) {
    upstream.destroy();
    rec.error('network', 'the client closed the connection before the handshake completed');
    return end({ code: null, reason: '', by: 'transport', clean: false });
  }

  if (response.head.status !== 101) {
    // Not an upgrade: relay the rest of the HTTP exchange untouched, record the refusal.
    rec.error('handshake', `upstream ${where} answered ${response.head.status} ${response.head.reason}, not 101 Switching Protocols`);
    if (response.rest.length > 0) client.write(response.rest);
    pipeRaw(upstream, client, () => end({ code: null, reason: '', by: 'transport', clean: false }));
    return;
  }
  if (!verdict.ok) rec.error('handshake', `the handshake fails a check: ${verdict.failure}`);

  const params = verdict.deflate;
  const policy = ctx.intervene?.(rec.record.id) ?? null;
  // Intervening, a lane forwards whole frames, so it parses them whole (up to the message limit).
  const maxPayload = policy ? Math.max(ctx.maxPayload, DEFAULT_MAX_MESSAGE) : ctx.maxPayload;
  const c2s = new StreamObserver({
    from: 'client',
    maxPayload,
    inflater: params ? inflaterFor(zlibCompression, params, 'client') : null,
  });
  const s2c = new StreamObserver({
    from: 'server',
    maxPayload,
    inflater: params ? inflaterFor(zlibCompression, params, 'server') : null,
  });
  StreamObserver.pair(c2s, s2c);

  if (policy) {
    relayIntervened({ rec, policy, deflate: params, client, upstream, c2s, s2c, early, rest: response.rest, requestAt, responseAt, recordLimit: ctx.maxPayload, report: ctx.report ?? (() => {}), handshake: rec.record.handshake!, end });
    await done;
    return;
  }

  const record = (observed: ObservedFrame[]) => {
    for (const o of observed) rec.frame(o.frame, { message: o.message, rtt: o.rtt });
  };
  if (early.length > 0) record(c2s.receive(early, requestAt));

  let clientEnded = false;
  let serverEnded = false;
  const relay = (src: net.Socket, dst: net.Socket, observer: StreamObserver, side: 'client' | 'server') => {
    dst.on('drain', () => src.resume());
    src.on('data', (chunk: Buffer) => {
      // Forward first (latency), then decode; the observer never writes to chunk. Under
      // backpressure the source pauses until dst drains: memory stays bounded.
      if (!dst.destroyed && !dst.write(chunk)) src.pause();
      record(observer.receive(chunk, now()));
    });
    src.on('end', () => {
      if (observer.midFrame) rec.error('network', `the ${side} closed the connection mid-frame`);
      record(observer.end(now()));
      if (side === 'client') clientEnded = true;
      else serverEnded = true;
      // Half-close travels on: the other side sees the same FIN it would see directly.
      if (!dst.destroyed) dst.end();
    });
  };
  relay(client, upstream, c2s, 'client');
  relay(upstream, client, s2c, 'server');
  if (response.rest.length > 0) {
    client.write(response.rest);
    record(s2c.receive(response.rest, responseAt));
  }

  let closedCount = 0;
  const onClose = (side: 'client' | 'server') => (hadError: boolean) => {
    const other = side === 'client' ? upstream : client;
    const observer = side === 'client' ? c2s : s2c;
    if (hadError || !(side === 'client' ? clientEnded : serverEnded)) {
      // Reset or destroyed without a FIN: whatever was mid-frame is cut here.
      if (observer.midFrame) rec.error('network', `the ${side} connection was reset mid-frame`);
      record(observer.end(now()));
      if (hadError) rec.error('network', `the ${side} connection was reset (${side === 'client' ? rec.record.client : rec.record.server})`);
      other.destroy();
    }
    if (++closedCount < 2) return;
    const cc = c2s.closeFrame;
    const sc = s2c.closeFrame;
    const first = cc && (!sc || cc.time <= sc.time) ? { ...cc, by: 'client' as const } : sc ? { ...sc, by: 'server' as const } : null;
    end(
      first
        ? { code: first.code, reason: first.reason, by: first.by, clean: !!cc && !!sc }
        : { code: null, reason: '', by: 'transport', clean: false },
    );
  };
  client.once('close', onClose('client'));
  upstream.once('close', onClose('server'));
  client.resume();
  upstream.resume();
  await done;
}

/** Half-closes and closes travel across; `onDone` once both sockets are closed. */
function linkEnds(a: net.Socket, b: net.Socket, onDone: () => void): void {
  let closed = 0;
  const link = (src: net.Socket, dst: net.Socket) => {
    src.on('end', () => {
      if (!dst.destroyed) dst.end();
    });
    src.on('error', () => dst.destroy());
    src.once('close', () => {
      if (!dst.destroyed && !dst.writableEnded) dst.destroy();
      if (++closed === 2) onDone();
    });
  };
  link(a, b);
  link(b, a);
  a.resume();
  b.resume();
}

/** Relays bytes both ways without looking at them (plain HTTP, blind tunnels). `onDone` once both are closed. */
export function pipeRaw(a: net.Socket, b: net.Socket, onDone: () => void): void {
  for (const [src, dst] of [
    [a, b],
    [b, a],
  ] as const) {
    src.on('data', (chunk: Buffer) => {
      if (!dst.destroyed && !dst.write(chunk)) src.pause();
    });
    dst.on('drain', () => src.resume());
  }
  linkEnds(a, b, onDone);
}
