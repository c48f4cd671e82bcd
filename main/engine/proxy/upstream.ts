// Opening the connection to the upstream server, plain or TLS, with a deadline and the
// failure told in one line (refused, unreachable, TLS invalid…).
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorKind, TlsRecord } from '../../../shared/model';
import { describeSocketError } from '../socket-errors';
import { tlsRecord } from '../tls-record';

export interface UpstreamTarget {
  secure: boolean;
  /** host name or IP literal, without brackets */
  host: string;
  port: number;
  /**
   * A CONNECT tunnel's connection to host:port, opened before the tunnel was answered:
   * the first connectUpstream() for the target takes it (TLS on top when `secure`) instead
   * of opening another, and leaves `socket` null.
   */
  opened?: { socket: net.Socket | null };
}

export interface UpstreamOptions {
  /** do not verify the upstream's certificate */
  insecure: boolean;
  timeoutMs: number;
}

export type UpstreamResult = { socket: net.Socket; tls: TlsRecord | null } | { error: ErrorKind; message: string };

export function hostPort(t: UpstreamTarget): string {
  return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

export function connectUpstream(target: UpstreamTarget, options: UpstreamOptions): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    const where = hostPort(target);
    const opened = target.opened?.socket ?? null;
    if (target.opened) target.opened.socket = null;
    if (opened && (opened.destroyed || !opened.readable)) {
      opened.destroy();
      resolve({ error: 'network', message: `upstream ${where} closed the tunnel's connection` });
      return;
    }
    if (opened && !target.secure) {
      resolve({ socket: opened, tls: null });
      return;
    }
    let connected = opened !== null;
    let done = false;
    const socket: net.Socket = target.secure
      ? tls.connect({
          ...(opened ? { socket: opened } : { host: target.host, port: target.port }),
          servername: net.isIP(target.host) ? undefined : target.host,
          rejectUnauthorized: !options.insecure,
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host: target.host, port: target.port });
    const finish = (r: UpstreamResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('error', onError);
      if ('error' in r) socket.destroy();
      resolve(r);
    };
    const onError = (err: Error) => {
      const d = describeSocketError(err, where, connected && target.secure);
      finish({ error: d.kind, message: `upstream ${d.message}` });
    };
    const timer = setTimeout(() => finish({ error: 'timeout', message: `upstream ${where} did not accept the connection within ${options.timeoutMs} ms` }), options.timeoutMs);
    socket.on('error', onError);
    socket.once('connect', () => {
      connected = true;
      if (!target.secure) finish({ socket, tls: null });
    });
    if (target.secure) {
      socket.once('secureConnect', () => finish({ socket, tls: tlsRecord(socket as tls.TLSSocket, net.isIP(target.host) ? null : target.host) }));
    }
    socket.setNoDelay(true);
  });
}
