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
    let connected = false;
    let done = false;
    const socket: net.Socket = target.secure
      ? tls.connect({
          host: target.host,
          port: target.port,
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
