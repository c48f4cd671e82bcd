// The interception CA on disk, the per-host leaf cache, and TLS interception of a plain socket,
// judged by node:tls (OpenSSL) as a real client, by `openssl s_client`, and by fs.stat.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertError, createCa, createLeaf, type PemPair } from '../../main/engine/certificates/certs';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CaStoreError,
  InterceptError,
  LeafCache,
  defaultCaDir,
  interceptTls,
  loadOrCreateCa,
  type InterceptOptions,
} from '../../main/engine/certificates/ca-store';
import { REPO_ROOT, spawnNode } from '../peers/cli';

const scratch = mkdtempSync(join(tmpdir(), 'framescope-ca-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirCount = 0;
/** A path that does not exist yet, inside the scratch folder. */
function freshDir(): string {
  return join(scratch, `ca-${++dirCount}`);
}

const mode = (file: string) => statSync(file).mode & 0o777;
const posix = process.platform !== 'win32';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

describe('defaultCaDir: the user config dir per OS', () => {
  it('Linux: $XDG_CONFIG_HOME/framescope, else ~/.config/framescope; a relative XDG_CONFIG_HOME is ignored', () => {
    expect(defaultCaDir({ XDG_CONFIG_HOME: '/x/cfg' }, 'linux', '/home/u')).toBe('/x/cfg/framescope');
    expect(defaultCaDir({}, 'linux', '/home/u')).toBe('/home/u/.config/framescope');
    expect(defaultCaDir({ XDG_CONFIG_HOME: 'rel/cfg' }, 'linux', '/home/u')).toBe('/home/u/.config/framescope');
    expect(defaultCaDir({ XDG_CONFIG_HOME: '' }, 'freebsd', '/home/u')).toBe('/home/u/.config/framescope');
  });
  it('macOS: ~/Library/Application Support/Framescope', () => {
    expect(defaultCaDir({ XDG_CONFIG_HOME: '/x' }, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Framescope');
  });
  it('Windows: %APPDATA%\\Framescope', () => {
    expect(defaultCaDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\Framescope',
    );
    expect(defaultCaDir({}, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\Framescope');
  });
});

describe('loadOrCreateCa: created once, owner-only', () => {
  it('creates DIR (0700, parents too), ca.pem and ca-key.pem (0600) once; a second load returns the same CA', async () => {
    const dir = join(freshDir(), 'nested', 'framescope');
    const first = await loadOrCreateCa(dir);
    expect(first.created).toBe(true);
    expect(first.certPath).toBe(join(dir, CA_CERT_FILE));
    expect(first.keyPath).toBe(join(dir, CA_KEY_FILE));
    expect(first.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(first.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const cert = new X509Certificate(first.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain('CN=Framescope Interception CA');
    if (posix) {
      expect(mode(dir)).toBe(0o700);
      expect(mode(first.keyPath)).toBe(0o600);
      expect(mode(first.certPath)).toBe(0o644);
    }
    // Only the two files: no temporaries left behind.
    expect(readdirSync(dir).sort()).toEqual([CA_KEY_FILE, CA_CERT_FILE].sort());

    const second = await loadOrCreateCa(dir);
    expect(second.created).toBe(false);
    expect(second.certPem).toBe(first.certPem);
    expect(second.keyPem).toBe(first.keyPem);
  });

  it('uses an existing directory as it is', async () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o755 });
    const ca = await loadOrCreateCa(dir);
    expect(ca.created).toBe(true);
    if (posix) expect(mode(ca.keyPath)).toBe(0o600);
  });

  it('a key that ends up 0600 even under a umask that would allow less or more', async () => {
    const dir = freshDir();
    const old = process.umask(0o077);
    try {
      const ca = await loadOrCreateCa(dir);
      if (posix) {
        expect(mode(ca.keyPath)).toBe(0o600);
        expect(mode(ca.certPath)).toBe(0o644);
      }
    } finally {
      process.umask(old);
    }
  });

  it('concurrent loads in one process make one CA: exactly one call reports created', async () => {
    const dir = freshDir();
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateCa(dir)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.certPem)).size).toBe(1);
    expect(new Set(results.map((r) => r.keyPem)).size).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([CA_KEY_FILE, CA_CERT_FILE].sort());
  });

  it('concurrent loads from separate processes, released at once, make one CA', async () => {
    const dir = freshDir();
    const script = [
      "const { loadOrCreateCa } = await import(process.argv[1]);",
      "process.stdout.write('ready\\n');",
      // Start only when told to, so that every process races for the same empty directory.
      "await new Promise((resolve) => process.stdin.once('data', resolve));",
      "const ca = await loadOrCreateCa(process.argv[2]);",
      "const { X509Certificate } = await import('node:crypto');",
      "process.stdout.write(JSON.stringify({ created: ca.created, fp: new X509Certificate(ca.certPem).fingerprint256 }) + '\\n');",
      'process.exit(0);',
    ].join('\n');
    const storeModule = join(REPO_ROOT, 'main/engine/certificates/ca-store.ts');
    const children = Array.from({ length: 4 }, () =>
      spawnNode(['--import', 'tsx', '--input-type=module', '-e', script, storeModule, dir]),
    );
    await Promise.all(children.map((c) => c.waitForLine(/^ready$/, { timeoutMs: 60_000 })));
    for (const c of children) c.write('go\n');
    const results = await Promise.all(children.map((c) => c.exited));
    const outcomes = results.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { created: boolean; fp: string };
    });
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    expect(new Set(outcomes.map((o) => o.fp)).size).toBe(1);
    const onDisk = await loadOrCreateCa(dir);
    expect(onDisk.created).toBe(false);
    expect(new X509Certificate(onDisk.certPem).fingerprint256).toBe(outcomes[0]!.fp);
    expect(readdirSync(dir).sort()).toEqual([CA_KEY_FILE, CA_CERT_FILE].sort());
  }, 90_000);
});

describe('loadOrCreateCa: refusals that need the user', () => {
  it.skipIf(!posix)('a key readable or writable by group or others is refused, with the chmod to run; 0600 and 0400 load', async () => {
    const dir = freshDir();
    const { keyPath } = await loadOrCreateCa(dir);
    for (const loose of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660]) {
      chmodSync(keyPath, loose);
      const err = await rejection(loadOrCreateCa(dir));
      expect(err).toBeInstanceOf(CaStoreError);
      expect((err as CaStoreError).code).toBe('ca-key-permissions');
      expect((err as CaStoreError).message).toContain(`chmod 600 ${keyPath}`);
      expect((err as CaStoreError).message).toContain(loose.toString(8));
      // Refused, not silently fixed.
      expect(mode(keyPath)).toBe(loose);
    }
    chmodSync(keyPath, 0o600);
    expect((await loadOrCreateCa(dir)).created).toBe(false);
    chmodSync(keyPath, 0o400);
    expect((await loadOrCreateCa(dir)).created).toBe(false);
  });

  it.skipIf(!posix || process.getuid?.() !== 0)('a key owned by another user is refused', async () => {
    const dir = freshDir();
    const { keyPath } = await loadOrCreateCa(dir);
    chownSync(keyPath, 54_321, 54_321);
    const err = await rejection(loadOrCreateCa(dir));
    expect((err as CaStoreError).code).toBe('ca-key-owner');
    expect((err as CaStoreError).message).toContain('54321');
  });

  it('a certificate without its key is refused at once, and nothing is overwritten', async () => {
    const dir = freshDir();
    const { certPath, keyPath, certPem } = await loadOrCreateCa(dir);
    rmSync(keyPath);
    const err = await rejection(loadOrCreateCa(dir));
    expect((err as CaStoreError).code).toBe('ca-incomplete');
    expect((err as CaStoreError).message).toContain(keyPath);
    expect(readdirSync(dir)).toEqual([CA_CERT_FILE]);
    expect(readFileSync(certPath, 'utf8')).toBe(certPem);
  });

  it('a key without its certificate is waited on briefly (another process may be publishing), then refused', async () => {
    const dir = freshDir();
    const { certPath } = await loadOrCreateCa(dir);
    rmSync(certPath);
    const err = await rejection(loadOrCreateCa(dir, { settleMs: 50 }));
    expect((err as CaStoreError).code).toBe('ca-incomplete');
    expect((err as CaStoreError).message).toContain(certPath);
    expect(readdirSync(dir)).toEqual([CA_KEY_FILE]);
  });

  it('files that do not parse are refused', async () => {
    const dir = freshDir();
    const { certPath, keyPath, certPem } = await loadOrCreateCa(dir);
    writeFileSync(certPath, 'not a certificate\n');
    expect(((await rejection(loadOrCreateCa(dir))) as CaStoreError).code).toBe('ca-invalid');
    writeFileSync(certPath, certPem);
    writeFileSync(keyPath, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
    const err = (await rejection(loadOrCreateCa(dir))) as CaStoreError;
    expect(err.code).toBe('ca-invalid');
    expect(err.path).toBe(keyPath);
  });

  it('a key that does not belong to the certificate is refused', async () => {
    const dir = freshDir();
    const { keyPath } = await loadOrCreateCa(dir);
    const other = await createCa();
    writeFileSync(keyPath, other.keyPem, { mode: 0o600 });
    const err = (await rejection(loadOrCreateCa(dir))) as CaStoreError;
    expect(err.code).toBe('ca-mismatch');
    expect(err.message).toMatch(/does not belong/);
  });

  it('a certificate that is not a CA is refused', async () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    const ca = await createCa();
    const leaf = await createLeaf({ ca, hosts: ['localhost'] });
    writeFileSync(join(dir, CA_CERT_FILE), leaf.certPem);
    writeFileSync(join(dir, CA_KEY_FILE), leaf.keyPem, { mode: 0o600 });
    const err = (await rejection(loadOrCreateCa(dir))) as CaStoreError;
    expect(err.code).toBe('ca-invalid');
    expect(err.message).toMatch(/not a CA/);
  });

  it('a directory path that is a file is refused', async () => {
    const file = join(scratch, `file-${++dirCount}`);
    writeFileSync(file, 'x');
    const err = (await rejection(loadOrCreateCa(file))) as CaStoreError;
    expect(err.code).toBe('ca-dir');
  });
});

// One CA for the rest of the file (generation is cheap, but the tests read better with one).
let ca: PemPair;
beforeAll(async () => {
  ca = await loadOrCreateCa(freshDir());
});

describe('LeafCache: one leaf per host, bounded', () => {
  it('returns the same context for a host, however it is spelled, and a different one for another host', async () => {
    const cache = new LeafCache(ca);
    const a = await cache.secureContextFor('localhost');
    expect(await cache.secureContextFor('localhost')).toBe(a);
    expect(await cache.secureContextFor('LocalHost.')).toBe(a);
    const b = await cache.secureContextFor('example.test');
    expect(b).not.toBe(a);
    const v6 = await cache.secureContextFor('::1');
    expect(await cache.secureContextFor('[::1]')).toBe(v6);
    expect(await cache.secureContextFor('0:0:0:0:0:0:0:1')).toBe(v6);
    expect(cache.leavesMade).toBe(3);
    expect(cache.size).toBe(3);
  });

  it('concurrent requests for one host make one key', async () => {
    const cache = new LeafCache(ca);
    const contexts = await Promise.all(Array.from({ length: 20 }, () => cache.secureContextFor('busy.test')));
    expect(new Set(contexts).size).toBe(1);
    expect(cache.leavesMade).toBe(1);
  });

  it('evicts the least recently used host past max', async () => {
    const cache = new LeafCache(ca, { max: 2 });
    const a = await cache.secureContextFor('a.test');
    await cache.secureContextFor('b.test');
    await cache.secureContextFor('a.test'); // a is now the most recent
    await cache.secureContextFor('c.test'); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.has('a.test')).toBe(true);
    expect(cache.has('b.test')).toBe(false);
    expect(cache.has('c.test')).toBe(true);
    expect(cache.leavesMade).toBe(3);
    expect(await cache.secureContextFor('a.test')).toBe(a);
    await cache.secureContextFor('b.test'); // made again
    expect(cache.leavesMade).toBe(4);
    expect(cache.has('c.test')).toBe(false);
  });

  it('rejects a name no certificate can carry, and does not cache the failure', async () => {
    const cache = new LeafCache(ca);
    const err = await rejection(cache.secureContextFor('bad host!'));
    expect(err).toBeInstanceOf(CertError);
    expect((err as CertError).code).toBe('cert-bad-host');
    expect(cache.size).toBe(0);
  });

  it('refuses a max below 1', () => {
    expect(() => new LeafCache(ca, { max: 0 })).toThrow(RangeError);
  });
});

// ---- interceptTls against real clients ----

interface Intercepted {
  tls?: TLSSocket;
  error?: unknown;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/**
 * A plain TCP server standing in for the proxy after its CONNECT 200: peeks the first byte (as the
 * proxy does, to tell TLS from plain HTTP), puts it back, intercepts, then echoes decrypted bytes.
 */
async function interceptingServer(
  host: string,
  cache: LeafCache,
  options: InterceptOptions & { peek?: boolean } = {},
): Promise<{ port: number; next(): Promise<Intercepted> }> {
  const { peek = true, ...interceptOptions } = options;
  const outcomes: Array<Promise<Intercepted>> = [];
  const waiting: Array<(p: Promise<Intercepted>) => void> = [];
  const deliver = (p: Promise<Intercepted>) => {
    const w = waiting.shift();
    if (w) w(p);
    else outcomes.push(p);
  };
  const firstByte = (socket: Socket) =>
    new Promise<void>((resolve) => {
      const tryRead = () => {
        const chunk = socket.read(1) as Buffer | null;
        if (chunk === null) return socket.once('readable', tryRead);
        socket.unshift(chunk);
        resolve();
      };
      tryRead();
    });
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    deliver(
      (async (): Promise<Intercepted> => {
        if (peek) await firstByte(socket);
        try {
          const tls = await interceptTls(socket, host, cache, interceptOptions);
          tls.on('error', () => {});
          tls.on('data', (d: Buffer) => tls.write(d));
          tls.on('end', () => tls.end());
          return { tls };
        } catch (error) {
          return { error };
        }
      })(),
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    next: () => {
      const ready = outcomes.shift();
      return ready ?? new Promise<Intercepted>((resolve) => waiting.push((p) => p.then(resolve)));
    },
  };
}

interface ClientOutcome {
  authorized: boolean;
  authorizationError: string | null;
  alpn: string | false | null;
  san: string | undefined;
  echoed: string;
}

/** A verifying TLS client: connects, sends `text`, reads it back, closes. */
function tlsClient(port: number, options: { servername?: string; ALPNProtocols?: string[]; ca?: string }, text = 'hello'): Promise<ClientOutcome> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: options.ca ?? ca.certPem,
      ...(options.servername ? { servername: options.servername } : {}),
      ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
    });
    let echoed = '';
    let san: string | undefined;
    socket.on('error', reject);
    socket.once('secureConnect', () => {
      // Read now: after close the peer certificate is gone.
      san = socket.getPeerCertificate().subjectaltname;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        echoed += d;
        if (echoed.length >= text.length) socket.end();
      });
      socket.write(text);
    });
    socket.once('close', () =>
      resolve({
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
        alpn: socket.alpnProtocol ?? null,
        san,
        echoed,
      }),
    );
  });
}

describe('interceptTls: the client sees a certificate from our CA', () => {
  it('a client trusting the CA and sending SNI verifies (authorized) and gets its bytes echoed', async () => {
    const cache = new LeafCache(ca);
    const server = await interceptingServer('localhost', cache);
    const client = tlsClient(server.port, { servername: 'localhost' });
    const side = await server.next();
    expect(side.error).toBeUndefined();
    expect(side.tls!.servername).toBe('localhost');
    const c = await client;
    expect(c.authorized).toBe(true);
    expect(c.authorizationError).toBeNull();
    expect(c.san).toBe('DNS:localhost');
    expect(c.echoed).toBe('hello');
  });

  it('ALPN: offered h2 and http/1.1, http/1.1 is chosen', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca));
    const client = tlsClient(server.port, { servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    const side = await server.next();
    expect(side.tls!.alpnProtocol).toBe('http/1.1');
    const c = await client;
    expect(c.alpn).toBe('http/1.1');
    expect(c.authorized).toBe(true);
  });

  it('the SNI name wins over the CONNECT host (the client verifies the name it asked for)', async () => {
    const cache = new LeafCache(ca);
    const server = await interceptingServer('connect-host.test', cache);
    const client = tlsClient(server.port, { servername: 'sni-name.test' });
    const side = await server.next();
    expect(side.tls!.servername).toBe('sni-name.test');
    const c = await client;
    expect(c.authorized).toBe(true);
    expect(c.san).toBe('DNS:sni-name.test');
    expect(cache.has('sni-name.test')).toBe(true);
  });

  it('an IP literal host without SNI gets an iPAddress SAN and verifies', async () => {
    const server = await interceptingServer('127.0.0.1', new LeafCache(ca));
    const client = tlsClient(server.port, {}); // Node sends no SNI to an IP address
    const side = await server.next();
    expect(side.error).toBeUndefined();
    expect(side.tls!.servername).toBeFalsy();
    const c = await client;
    expect(c.authorized).toBe(true);
    expect(c.san).toBe('IP Address:127.0.0.1');
    expect(c.echoed).toBe('hello');
  });

  it('works without the peek too (no bytes buffered before wrapping)', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca), { peek: false });
    const client = tlsClient(server.port, { servername: 'localhost' });
    expect((await server.next()).error).toBeUndefined();
    expect((await client).echoed).toBe('hello');
  });

  it('simultaneous connections to one host share one leaf', async () => {
    const cache = new LeafCache(ca);
    const server = await interceptingServer('localhost', cache);
    const clients = Array.from({ length: 6 }, (_, i) => tlsClient(server.port, { servername: 'localhost' }, `m${i}`));
    const outcomes = await Promise.all(clients);
    for (const [i, c] of outcomes.entries()) expect(c.echoed).toBe(`m${i}`);
    expect(cache.leavesMade).toBe(1);
  });
});

describe('interceptTls: failures reject with a clear error and leave the server running', () => {
  it('a client that sends plain HTTP instead of TLS: intercept-not-tls', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca), { peek: false });
    const raw = netConnect(server.port, '127.0.0.1');
    raw.on('error', () => {});
    raw.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const side = await server.next();
    expect(side.error).toBeInstanceOf(InterceptError);
    expect((side.error as InterceptError).code).toBe('intercept-not-tls');
    expect((side.error as InterceptError).message).toMatch(/did not speak TLS to localhost/);
    await new Promise<void>((resolve) => raw.once('close', () => resolve()));
    // The server is unaffected.
    const client = tlsClient(server.port, { servername: 'localhost' });
    expect((await server.next()).error).toBeUndefined();
    expect((await client).authorized).toBe(true);
  });

  it('garbage that starts like a TLS record (0x16) but is not one: rejected, not a crash', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca));
    const raw = netConnect(server.port, '127.0.0.1');
    raw.on('error', () => {});
    raw.write(Buffer.from('16030100050102030405', 'hex'));
    const side = await server.next();
    expect(side.error).toBeInstanceOf(InterceptError);
    expect(['intercept-not-tls', 'intercept-handshake-failed']).toContain((side.error as InterceptError).code);
    raw.destroy();
  });

  it('a client that closes mid-handshake: intercept-closed', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca));
    const raw = netConnect(server.port, '127.0.0.1');
    raw.on('error', () => {});
    raw.end(Buffer.from('160301', 'hex')); // the start of a record header, then EOF
    const side = await server.next();
    expect(side.error).toBeInstanceOf(InterceptError);
    expect((side.error as InterceptError).code).toBe('intercept-closed');
  });

  it('a client that never finishes the handshake: intercept-timeout', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca), { peek: false, handshakeTimeoutMs: 100 });
    const raw = netConnect(server.port, '127.0.0.1');
    raw.on('error', () => {});
    const side = await server.next();
    expect((side.error as InterceptError).code).toBe('intercept-timeout');
    await new Promise<void>((resolve) => raw.once('close', () => resolve()));
  });

  it('a host no certificate can name: intercept-leaf-failed, and the client is disconnected', async () => {
    const server = await interceptingServer('bad host!', new LeafCache(ca));
    const client = tlsClient(server.port, {});
    const side = await server.next();
    expect((side.error as InterceptError).code).toBe('intercept-leaf-failed');
    expect((side.error as InterceptError).message).toMatch(/cannot make a certificate for bad host!/);
    await expect(client).rejects.toThrow();
  });

  it('a client that does not trust the CA and says so with an alert: intercept-cert-rejected', async () => {
    const server = await interceptingServer('localhost', new LeafCache(ca));
    // openssl s_client with verification on and without our CA sends an unknown_ca alert.
    const sClient = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', '-verify_return_error', '-CAfile', unrelatedCaFile],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    const spawned = await new Promise<boolean>((resolve) => {
      sClient.once('spawn', () => resolve(true));
      sClient.once('error', () => resolve(false));
    });
    if (!spawned) return; // no openssl binary here: nothing to judge with
    sClient.stdin.on('error', () => {});
    const side = await server.next();
    sClient.kill();
    expect(side.error).toBeInstanceOf(InterceptError);
    expect((side.error as InterceptError).code).toBe('intercept-cert-rejected');
    expect((side.error as InterceptError).message).toMatch(/rejected Framescope's certificate for localhost/);
  });
});

/** A CAfile holding a CA that did not sign our leaves, so openssl trusts nothing we present. */
let unrelatedCaFile = '';
beforeAll(async () => {
  unrelatedCaFile = join(scratch, 'unrelated-ca.pem');
  writeFileSync(unrelatedCaFile, (await createCa({ commonName: 'Unrelated CA' })).certPem);
});
