// One proxied WebSocket: open the upstream, relay the handshake, then relay bytes both ways
// exactly as they arrive while an observer decodes a copy of each direction (the lanes of
// ../intervene). Nothing is re-framed unless something intervenes in a direction.
import type net from 'node:net';
import { createHash } from 'node:crypto';
import type { HttpRequestRecord } from '../../../shared/model';
import { assembleHandshake, checkResponse, unansweredHandshake, writeRequestHead } from '../../../shared/codec/handshake';
import { StreamObserver } from '../../../shared/codec/observer';
import { inflaterFor } from '../../../shared/codec/compression';
import { ConnectionRecorder, type EventSink } from '../recording/recorder';
import { zlibCompression } from '../zlib-compression';
import { now } from '../clock';
import { connectUpstream, hostPort, type UpstreamTarget } from './upstream';
import { isHeadFailure, readHead } from './head-reader';
import { sendHttpError } from './http-error';
import { relayIntervened } from '../intervene/relay';
import type { ConnectionPolicy, PolicySource } from '../intervene/lane';
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
  /** the largest frame payload a lane can hold whole (default DEFAULT_MAX_MESSAGE); past it the connection closes with 1009 */
  holdLimit?: number;
  /** one line for the user (a script's failure) */
  report?: (line: string) => void;
  /** the launched app every connection through this proxy comes from (`framescope launch`) */
  app?: string;
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
  const rec = new ConnectionRecorder({ id: ctx.nextId(), mode: 'proxy', url: target.url, startedAt: requestAt, keepFrames: false, app: ctx.app }, ctx.sink);
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
  // A lane that intervenes forwards whole frames, so with a policy the observers parse them
  // whole (up to the hold limit); without one nothing ever intervenes and they keep only
  // what is recorded.
  const maxPayload = policy ? (ctx.holdLimit ?? Math.max(ctx.maxPayload, DEFAULT_MAX_MESSAGE)) : ctx.maxPayload;
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

  // Every connection gets its lanes; with nothing watching they relay bytes as they come.
  relayIntervened({ rec, policy: policy ?? IDLE, deflate: params, client, upstream, c2s, s2c, early, rest: response.rest, requestAt, responseAt, recordLimit: ctx.maxPayload, report: ctx.report ?? (() => {}), handshake: rec.record.handshake!, end });
  await done;
}

/** The policy of a connection nothing can intervene in. */
const IDLE: ConnectionPolicy = { watches: () => false, decide: () => ({ action: 'pass' }) };

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
