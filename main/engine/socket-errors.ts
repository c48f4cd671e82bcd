// Turns socket and TLS errors into the one clear line a user reads, and its kind.
import type { ErrorKind } from '../../shared/model';

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EPIPE: 'connection closed while writing',
  EADDRNOTAVAIL: 'address not available',
  ECONNABORTED: 'connection aborted',
};

export interface DescribedError {
  kind: ErrorKind;
  message: string;
}

/** `where` names the peer, e.g. "127.0.0.1:8080". */
export function describeSocketError(err: unknown, where: string, duringTls: boolean): DescribedError {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  if (code && NETWORK_CODES[code]) return { kind: 'network', message: `${NETWORK_CODES[code]} (${where})` };
  if (duringTls || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_/.test(code)) {
    const detail = e?.reason ?? e?.message ?? String(err);
    return { kind: 'tls', message: `TLS failed with ${where}: ${detail}${code ? ` [${code}]` : ''}` };
  }
  return { kind: 'network', message: `${e?.message ?? String(err)} (${where})` };
}
