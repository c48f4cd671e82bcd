// The interception CA and its leaves, judged by node:tls / node:https (OpenSSL) and node:crypto's
// X509Certificate parser: code we did not write.
import { X509Certificate } from 'node:crypto';
import { get as httpsGet, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { CertError, MAX_LEAF_DAYS, createCa, createLeaf, createSelfSigned, type PemPair } from '../../main/engine/certificates/certs';
import { ipv6LoopbackAvailable } from '../peers/loopback';

const servers: Array<{ close(cb: () => void): unknown }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function tlsServer(pair: PemPair, host = '127.0.0.1'): Promise<number> {
  const server: TlsServer = createTlsServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => {
    socket.on('error', () => {});
    socket.end('hello\n');
  });
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

interface Outcome {
  authorized: boolean;
  authorizationError: string | null;
  errorCode: string | null;
}

/** Connects with OpenSSL's verification on and reports what it concluded. */
function verify(port: number, options: { host?: string; servername?: string; ca?: string }): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket: TLSSocket = tlsConnect({
      host: options.host ?? '127.0.0.1',
      port,
      ...(options.servername ? { servername: options.servername } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
    });
    socket.once('secureConnect', () => {
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : null;
      resolve({ authorized: socket.authorized, authorizationError, errorCode: null });
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ authorized: false, authorizationError: null, errorCode: err.code ?? err.message }));
  });
}

function days(cert: X509Certificate): number {
  return (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
}

describe('certs: the interception CA', () => {
  it('is a self-signed CA with keyCertSign, valid ten years by default', async () => {
    const ca = await createCa();
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain('CN=Framescope Interception CA');
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(Math.round(days(cert))).toBe(3650);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(ca.keyPem)))).toBe(true);
  });

  it('takes a common name and a validity', async () => {
    const cert = new X509Certificate((await createCa({ commonName: 'My CA', validDays: 30 })).certPem);
    expect(cert.subject).toContain('CN=My CA');
    expect(Math.round(days(cert))).toBe(30);
  });
});

describe('certs: leaves signed by the CA', () => {
  it('has the profile Chromium asks for: SAN, serverAuth, short validity, random positive serial', async () => {
    const ca = await createCa();
    const leafA = await createLeaf({ ca, hosts: ['127.0.0.1', 'localhost', '::1'] });
    const leafB = await createLeaf({ ca, hosts: ['127.0.0.1'] });
    const cert = new X509Certificate(leafA.certPem);
    const caCert = new X509Certificate(ca.certPem);

    expect(cert.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node reports extKeyUsage here: serverAuth only
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(days(cert)).toBeLessThan(398);
    expect(Math.round(days(cert))).toBe(MAX_LEAF_DAYS);
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(Date.now());

    // DER INTEGER, positive: the first content byte has its top bit clear, and two serials differ.
    const serial = Buffer.from(cert.serialNumber, 'hex');
    expect(serial.length).toBeGreaterThanOrEqual(8);
    expect(serial[0]! & 0x80).toBe(0);
    expect(new X509Certificate(leafB.certPem).serialNumber).not.toBe(cert.serialNumber);
  });

  it('is accepted by node:tls with the CA, for an IP literal and for a DNS name', async () => {
    const ca = await createCa();
    const port = await tlsServer(await createLeaf({ ca, hosts: ['127.0.0.1', 'localhost'] }));
    expect(await verify(port, { ca: ca.certPem })).toEqual({ authorized: true, authorizationError: null, errorCode: null });
    expect(await verify(port, { host: '127.0.0.1', servername: 'localhost', ca: ca.certPem })).toMatchObject({ authorized: true });
  });

  it('is refused by node:tls without the CA (not a trusted root)', async () => {
    const ca = await createCa();
    const port = await tlsServer(await createLeaf({ ca, hosts: ['127.0.0.1', 'localhost'] }));
    const outcome = await verify(port, {});
    expect(outcome.authorized).toBe(false);
    expect(outcome.errorCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('is refused for a host it does not name', async () => {
    const ca = await createCa();
    const port = await tlsServer(await createLeaf({ ca, hosts: ['localhost'] }));
    expect((await verify(port, { ca: ca.certPem })).errorCode).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('is refused when signed by another CA', async () => {
    const ca = await createCa();
    const other = await createCa();
    const port = await tlsServer(await createLeaf({ ca, hosts: ['127.0.0.1'] }));
    expect((await verify(port, { ca: other.certPem })).errorCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('serves https to node:https with the CA', async () => {
    const ca = await createCa();
    const leaf = await createLeaf({ ca, hosts: ['localhost', '127.0.0.1'] });
    const server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port, path: '/', ca: ca.certPem, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe('ok');
  });

  it('names [::1] as an iPAddress and is accepted over IPv6', async (ctx) => {
    if (!(await ipv6LoopbackAvailable())) {
      ctx.skip('::1 is not available on this machine (IPv6 loopback disabled)');
      return;
    }
    const ca = await createCa();
    const port = await tlsServer(await createLeaf({ ca, hosts: ['[::1]'] }), '::1');
    expect(await verify(port, { host: '::1', ca: ca.certPem })).toMatchObject({ authorized: true });
  });

  it('works with RSA keys too (keyEncipherment for TLS 1.2 RSA key exchange)', async () => {
    const ca = await createCa({ keyType: 'rsa' });
    const leaf = await createLeaf({ ca, hosts: ['127.0.0.1'], keyType: 'rsa' });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(await verify(await tlsServer(leaf), { ca: ca.certPem })).toMatchObject({ authorized: true });
  });

  it('can be signed by an RSA CA for an EC leaf and vice versa', async () => {
    const rsaCa = await createCa({ keyType: 'rsa' });
    const ecCa = await createCa();
    const ecLeaf = await createLeaf({ ca: rsaCa, hosts: ['127.0.0.1'] });
    const rsaLeaf = await createLeaf({ ca: ecCa, hosts: ['127.0.0.1'], keyType: 'rsa' });
    expect(await verify(await tlsServer(ecLeaf), { ca: rsaCa.certPem })).toMatchObject({ authorized: true });
    expect(await verify(await tlsServer(rsaLeaf), { ca: ecCa.certPem })).toMatchObject({ authorized: true });
  });

  it('canonicalises IPv6 (embedded IPv4) and lowercases DNS names', async () => {
    const ca = await createCa();
    const cert = new X509Certificate((await createLeaf({ ca, hosts: ['::ffff:127.0.0.1', 'Example.TEST.', '*.example.test'] })).certPem);
    expect(cert.subjectAltName).toBe('IP Address:0:0:0:0:0:FFFF:7F00:1, DNS:example.test, DNS:*.example.test');
  });
});

describe('certs: self-signed', () => {
  it('is rejected by node:tls by default, and accepted when it is itself given as the CA', async () => {
    const pair = await createSelfSigned({ hosts: ['127.0.0.1', 'localhost'] });
    const port = await tlsServer(pair);
    expect((await verify(port, {})).errorCode).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await verify(port, { ca: pair.certPem })).toMatchObject({ authorized: true });
  });
});

describe('certs: errors carry stable codes', () => {
  it('refuses what cannot make a valid certificate', async () => {
    const ca = await createCa();
    const leaf = await createLeaf({ ca, hosts: ['localhost'] });
    const other = await createCa();
    const cases: Array<[Promise<unknown>, string]> = [
      [createLeaf({ ca, hosts: [] }), 'cert-no-hosts'],
      [createLeaf({ ca, hosts: ['not a host'] }), 'cert-bad-host'],
      [createLeaf({ ca, hosts: ['fe80::1%eth0'] }), 'cert-bad-host'],
      [createLeaf({ ca, hosts: ['localhost'], validDays: 398 }), 'cert-bad-validity'],
      [createLeaf({ ca, hosts: ['localhost'], validDays: 0 }), 'cert-bad-validity'],
      [createLeaf({ ca: leaf, hosts: ['localhost'] }), 'cert-bad-ca'],
      [createLeaf({ ca: { certPem: ca.certPem, keyPem: other.keyPem }, hosts: ['localhost'] }), 'cert-bad-ca'],
      [createLeaf({ ca: { certPem: 'nope', keyPem: 'nope' }, hosts: ['localhost'] }), 'cert-bad-ca'],
    ];
    for (const [promise, code] of cases) {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CertError);
      expect((error as CertError).code).toBe(code);
    }
  });
});
