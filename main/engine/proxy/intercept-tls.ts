// TLS interception inside a CONNECT tunnel: after the proxy has answered 200 and seen a TLS
// handshake record (first byte 0x16, unshifted back), the client's plain socket becomes the
// server side of a TLS session that presents a leaf for the host, signed by the local CA.
// Bytes already buffered on the socket (the unshifted ones) are read by the TLSSocket first.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { LeafCache } from '../certificates/leaf-cache';

export interface InterceptOptions {
  /** Offered by us in ALPN. Default ['http/1.1']: the client then speaks WebSocket over HTTP/1.1. */
  ALPNProtocols?: string[];
  /** Give up on a client that does not finish the handshake in this long. Default 10000. */
  handshakeTimeoutMs?: number;
}

export type InterceptErrorCode =
  /** No certificate could be made for the host (or the SNI name). */
  | 'intercept-leaf-failed'
  /** The client sent something that is not TLS. */
  | 'intercept-not-tls'
  /** The client refused our certificate (a TLS alert): it does not trust the CA. */
  | 'intercept-cert-rejected'
  /** Any other handshake failure (no common protocol version, cipher or ALPN protocol, ...). */
  | 'intercept-handshake-failed'
  /** The client closed or reset the connection before the handshake finished. */
  | 'intercept-closed'
  /** The handshake did not finish within handshakeTimeoutMs. */
  | 'intercept-timeout';

/** Interception failed; the socket has been destroyed. `code` is stable, `message` one clear line. */
export class InterceptError extends Error {
  readonly code: InterceptErrorCode;
  readonly host: string;
  constructor(code: InterceptErrorCode, host: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InterceptError';
    this.code = code;
    this.host = host;
  }
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Wraps the connected plain `socket` as a TLS server socket for `host` (the CONNECT target).
 * The certificate is for the SNI name when the client sends one (what it will verify), else for
 * `host` (clients send no SNI for IP literals). Resolves once the handshake has completed; the
 * caller must attach its own 'error' listener to the result. Rejects with an InterceptError
 * after destroying the socket; never throws an unhandled 'error'.
 */
export async function interceptTls(
  socket: Socket,
  host: string,
  cache: LeafCache,
  options: InterceptOptions = {},
): Promise<TLSSocket> {
  const { ALPNProtocols = ['http/1.1'], handshakeTimeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS } = options;
  // Errors while the leaf is made (the client is waiting for our ServerHello) must not be unhandled.
  const earlyErrors: Error[] = [];
  const onEarlyError = (err: Error) => earlyErrors.push(err);
  socket.on('error', onEarlyError);
  let context: SecureContext;
  try {
    // Needed even when the client sends SNI: the TLSSocket must have a context before the
    // ClientHello is read, and the CONNECT host is nearly always the SNI name anyway.
    context = await cache.secureContextFor(host);
  } catch (err) {
    socket.destroy();
    throw new InterceptError('intercept-leaf-failed', host, `cannot make a certificate for ${host}: ${reason(err)}`, { cause: err });
  } finally {
    socket.off('error', onEarlyError);
  }
  if (earlyErrors.length > 0 || socket.destroyed) {
    socket.destroy();
    const detail = earlyErrors[0] ? `: ${reason(earlyErrors[0])}` : '';
    throw new InterceptError('intercept-closed', host, `the client closed the connection to ${host} before the TLS handshake${detail}`);
  }

  const tlsSocket = new TLSSocket(socket, {
    isServer: true,
    secureContext: context,
    ALPNProtocols,
    requestCert: false,
    rejectUnauthorized: false,
    SNICallback: (servername, callback) => {
      cache.secureContextFor(servername).then(
        (ctx) => callback(null, ctx),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });

  return new Promise<TLSSocket>((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      tlsSocket.off('secure', onSecure);
      tlsSocket.off('error', onError);
      tlsSocket.off('close', onClose);
    };
    const fail = (error: InterceptError) => {
      settle();
      // Anything the dying socket still emits is of no interest once we have said why it failed.
      tlsSocket.on('error', () => {});
      tlsSocket.destroy();
      socket.destroy();
      reject(error);
    };
    const onSecure = () => {
      settle();
      resolve(tlsSocket);
    };
    const onError = (err: Error) => fail(classify(err, host));
    const onClose = () =>
      fail(new InterceptError('intercept-closed', host, `the client closed the connection to ${host} during the TLS handshake`));
    const timer = setTimeout(
      () => fail(new InterceptError('intercept-timeout', host, `the TLS handshake for ${host} did not finish within ${handshakeTimeoutMs} ms`)),
      handshakeTimeoutMs,
    );
    tlsSocket.once('secure', onSecure);
    tlsSocket.on('error', onError);
    tlsSocket.once('close', onClose);
  });
}

/** OpenSSL's verdicts on bytes that are not a TLS record: what a plain-HTTP or garbage client causes. */
const NOT_TLS = /WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG|RECORD_LENGTH_MISMATCH|RECORD_LAYER_FAILURE|UNSUPPORTED_PROTOCOL|VERSION_TOO_LOW/;
/** Alerts a client sends when it does not accept our certificate. */
const CERT_ALERT = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|DECRYPT_ERROR)/;

function classify(err: Error, host: string): InterceptError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const detail = reason(err);
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new InterceptError('intercept-closed', host, `the client reset the connection to ${host} during the TLS handshake`, { cause: err });
  }
  if (NOT_TLS.test(code) || NOT_TLS.test(err.message.toUpperCase().replace(/ /g, '_'))) {
    return new InterceptError('intercept-not-tls', host, `the client did not speak TLS to ${host} (${detail})`, { cause: err });
  }
  if (CERT_ALERT.test(code)) {
    return new InterceptError(
      'intercept-cert-rejected',
      host,
      `the client rejected Framescope's certificate for ${host} (${detail}): trust the Framescope CA ` +
        '(`framescope ca` shows how) or do not intercept this host',
      { cause: err },
    );
  }
  return new InterceptError('intercept-handshake-failed', host, `the TLS handshake for ${host} failed: ${detail}`, { cause: err });
}

/** OpenSSL's short reason ("tlsv1 alert unknown ca") when there is one, else the message. */
function reason(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown; code?: unknown };
  const text = typeof e?.reason === 'string' ? e.reason : typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' && e.code.startsWith('ERR_SSL') ? `${text} [${e.code}]` : text;
}
