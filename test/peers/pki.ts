// Certificates for tests, made once per test process (key generation is fast, but not free) and
// written to a temporary folder for commands that take files (`connect --ca FILE`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createLeaf, createSelfSigned, type PemPair } from '../../main/engine/certificates/certs';

/** Every loopback name a test server may be reached by. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

export interface TestPki {
  /** A test CA (not the user's interception CA). */
  ca: PemPair;
  /** A leaf signed by `ca` for LOOPBACK_HOSTS. */
  leaf: PemPair;
  /** A self-signed certificate for LOOPBACK_HOSTS (no CA trusts it). */
  selfSigned: PemPair;
  /** A folder holding ca.pem, ca-key.pem, leaf.pem, leaf-key.pem, self-signed.pem, self-signed-key.pem. */
  dir: string;
  /** join(dir, 'ca.pem'): pass to `--ca`. */
  caFile: string;
  /** join(dir, 'self-signed.pem'): also usable as a `--ca` (a self-signed cert is its own root). */
  selfSignedFile: string;
}

let pki: Promise<TestPki> | undefined;

/** The process-wide test PKI; its folder is removed when the process exits. */
export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const ca = await createCa({ commonName: 'Framescope Test CA' });
    const leaf = await createLeaf({ ca, hosts: LOOPBACK_HOSTS });
    const selfSigned = await createSelfSigned({ hosts: LOOPBACK_HOSTS });
    const dir = mkdtempSync(join(tmpdir(), 'framescope-pki-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const files: Record<string, string> = {
      'ca.pem': ca.certPem,
      'ca-key.pem': ca.keyPem,
      'leaf.pem': leaf.certPem,
      'leaf-key.pem': leaf.keyPem,
      'self-signed.pem': selfSigned.certPem,
      'self-signed-key.pem': selfSigned.keyPem,
    };
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(dir, name), text, { mode: name.includes('key') ? 0o600 : 0o644 });
    }
    return { ca, leaf, selfSigned, dir, caFile: join(dir, 'ca.pem'), selfSignedFile: join(dir, 'self-signed.pem') };
  })();
  return pki;
}
