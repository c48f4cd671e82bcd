// What the capture keeps of a TLS session (docs/contracts.md Connection.tls).
import type tls from 'node:tls';
import type { TlsRecord } from '../../shared/model';

export function tlsRecord(socket: tls.TLSSocket, servername: string | null): TlsRecord {
  const cipher = socket.getCipher();
  const cert = socket.getPeerCertificate();
  const rec: TlsRecord = {
    protocol: socket.getProtocol(),
    cipher: cipher?.name ?? null,
    servername,
    authorized: socket.authorized,
  };
  if (socket.authorizationError) rec.authorizationError = String(socket.authorizationError);
  if (cert && Object.keys(cert).length > 0) {
    rec.peerCertificate = {
      subject: formatName(cert.subject),
      issuer: formatName(cert.issuer),
      validFrom: cert.valid_from,
      validTo: cert.valid_to,
      fingerprint256: cert.fingerprint256,
    };
  }
  return rec;
}

function formatName(name: tls.Certificate | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}
