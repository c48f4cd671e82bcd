// The proxy's relay: the sockets feed the lanes (lane.ts), which write. A lane relays bytes
// as they come (its observer decoding a copy) until something intervenes in its direction.
import type net from 'node:net';
import type { CloseRecord, HandshakeRecord, Side } from '../../../shared/model';
import type { StreamObserver } from '../../../shared/codec/observer';
import type { DeflateParams } from '../../../shared/codec/compression';
import type { ConnectionRecorder } from '../recording/recorder';
import { now } from '../clock';
import { Intervention, type ConnectionPolicy } from './lane';

export interface IntervenedRelay {
  rec: ConnectionRecorder;
  policy: ConnectionPolicy;
  deflate: DeflateParams | null;
  client: net.Socket;
  upstream: net.Socket;
  c2s: StreamObserver;
  s2c: StreamObserver;
  /** client bytes that came with its request head (already sent upstream) */
  early: Uint8Array;
  /** server bytes that came with its response head (not yet sent to the client) */
  rest: Uint8Array;
  requestAt: number;
  responseAt: number;
  recordLimit: number;
  report(line: string): void;
  handshake: HandshakeRecord;
  end(close: CloseRecord): void;
}

export function relayIntervened(r: IntervenedRelay): void {
  const { rec, client, upstream, c2s, s2c } = r;
  const sockets: Record<Side, net.Socket> = { client, server: upstream };
  const iv = new Intervention({
    rec,
    policy: r.policy,
    deflate: r.deflate,
    write: (to, bytes) => {
      const s = sockets[to];
      if (s.destroyed || s.writableEnded) return false;
      // Under backpressure the sender pauses until this side drains: memory stays bounded.
      if (!s.write(bytes)) sockets[to === 'client' ? 'server' : 'client'].pause();
      return true;
    },
    end: (to) => {
      const s = sockets[to];
      if (!s.destroyed && !s.writableEnded) s.end();
    },
    destroy: () => {
      client.destroy();
      upstream.destroy();
    },
    recordLimit: r.recordLimit,
    observers: { client: c2s, server: s2c },
    report: r.report,
  });
  // Bytes the client sent before the 101 went upstream with the request: recorded only.
  if (r.early.length > 0) iv.already('client', r.early, r.requestAt);

  let clientEnded = false;
  let serverEnded = false;
  const wire = (src: net.Socket, dst: net.Socket, observer: StreamObserver, side: Side) => {
    dst.on('drain', () => src.resume());
    src.on('data', (chunk: Buffer) => iv.chunk(side, chunk, now()));
    src.on('end', () => {
      if (observer.midFrame) rec.error('network', `the ${side} closed the connection mid-frame`);
      iv.streamEnded(side, observer.end(now()));
      if (side === 'client') clientEnded = true;
      else serverEnded = true;
      // Half-close travels on once what the lane holds has been written.
      iv.senderEnded(side);
    });
  };
  wire(client, upstream, c2s, 'client');
  wire(upstream, client, s2c, 'server');
  iv.opened(r.handshake);
  if (r.rest.length > 0) iv.chunk('server', r.rest, r.responseAt);

  let closedCount = 0;
  const onClose = (side: Side) => (hadError: boolean) => {
    const other = side === 'client' ? upstream : client;
    const observer = side === 'client' ? c2s : s2c;
    if (hadError || !(side === 'client' ? clientEnded : serverEnded)) {
      if (observer.midFrame) rec.error('network', `the ${side} connection was reset mid-frame`);
      iv.streamEnded(side, observer.end(now()));
      if (hadError) rec.error('network', `the ${side} connection was reset (${side === 'client' ? rec.record.client : rec.record.server})`);
      other.destroy();
    }
    if (++closedCount < 2) return;
    const cc = c2s.closeFrame;
    const sc = s2c.closeFrame;
    const peer = cc && (!sc || cc.time <= sc.time) ? { ...cc, by: 'client' as const } : sc ? { ...sc, by: 'server' as const } : null;
    // Framescope's close frames went first: the close is Framescope's (the peers' are answers).
    const own = iv.closedByFramescope;
    const first = own && (!peer || own.time <= peer.time) ? { ...own, by: 'framescope' as const } : peer;
    const close: CloseRecord = first
      ? { code: first.code, reason: first.reason, by: first.by, clean: !!cc && !!sc }
      : { code: null, reason: '', by: 'transport', clean: false };
    // What is still held now was never delivered: recorded so, before the close.
    iv.finish(close);
    r.end(close);
  };
  client.once('close', onClose('client'));
  upstream.once('close', onClose('server'));
  client.resume();
  upstream.resume();
}
