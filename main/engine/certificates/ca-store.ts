// The interception CA on disk: DIR/ca.pem (the certificate, 0644) and DIR/ca-key.pem (its private
// key, 0600, owner only). Created once, on first use, and then only ever read; the key never
// leaves this machine and is never printed or exported.
//
// Two processes starting at the same time (a proxy and `framescope ca`, two test workers) must end
// up with one CA, not two. There is no lock file to go stale: each process that finds no CA makes
// one in private temporary files and publishes it with link(2) of the key onto DIR/ca-key.pem,
// which fails with EEXIST for everyone but the first. The key file is the commit point; only its
// winner then renames its certificate into place, so a key and a certificate from two different
// CAs can never be paired. The losers throw their CA away and read the winner's. A reader that
// finds the key without the certificate is looking at the microseconds between the two steps and
// waits a moment; if the certificate never comes (a creator died there), it says so.

import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { createCa, type CreateCaOptions, type PemPair } from './certs';
import { errCode, ioReason } from '../io-errors';

export { LeafCache, type LeafCacheOptions } from './leaf-cache';
export { interceptTls, InterceptError, type InterceptErrorCode, type InterceptOptions } from '../proxy/intercept-tls';

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

/** A PEM certificate or key is a few KiB; anything past this is not ours. */
const MAX_PEM_BYTES = 64 * 1024;
/** How long a reader waits for the certificate of a CA whose key another process just published. */
const DEFAULT_SETTLE_MS = 5000;
const SETTLE_POLL_MS = 20;

export type CaStoreErrorCode =
  /** The directory cannot be created or is not a directory. */
  | 'ca-dir'
  /** Only one of ca.pem and ca-key.pem exists. */
  | 'ca-incomplete'
  /** The key file is readable or writable by group or others. */
  | 'ca-key-permissions'
  /** The key file belongs to another user. */
  | 'ca-key-owner'
  /** A file exists but cannot be read (permissions, too big, I/O). */
  | 'ca-unreadable'
  /** A file does not parse, the certificate is not a CA, or it has expired. */
  | 'ca-invalid'
  /** The key does not belong to the certificate. */
  | 'ca-mismatch'
  /** Writing the new CA failed. */
  | 'ca-write';

/** The CA on disk cannot be used or made; the message says what to do. `code` is stable. */
export class CaStoreError extends Error {
  readonly code: CaStoreErrorCode;
  /** The file or directory concerned. */
  readonly path: string;
  constructor(code: CaStoreErrorCode, path: string, message: string) {
    super(message);
    this.name = 'CaStoreError';
    this.code = code;
    this.path = path;
  }
}

export interface StoredCa extends PemPair {
  /** True if this call made the CA (nothing was on disk before). */
  created: boolean;
  certPath: string;
  keyPath: string;
}

export interface LoadOrCreateCaOptions {
  /** Passed to createCa when a CA has to be made. */
  create?: CreateCaOptions;
  /** How long to wait for a certificate whose key another process just published. Default 5000. */
  settleMs?: number;
}

/**
 * The user's config directory for Framescope: `$XDG_CONFIG_HOME/framescope` (or
 * `~/.config/framescope`) on Linux and other Unixes, `~/Library/Application Support/Framescope`
 * on macOS, `%APPDATA%\Framescope` on Windows. The parameters are for tests.
 */
export function defaultCaDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') {
    const appData = env['APPDATA'] || path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, 'Framescope');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Framescope');
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.config');
  return path.posix.join(base, 'framescope');
}

/**
 * Reads the CA in `dir`, or creates it there if neither file exists (the directory with mode
 * 0700, the key with 0600). Refuses, with a CaStoreError, a key readable by others, a key owned
 * by another user, a lone certificate or key, files that do not parse, a key that does not
 * match the certificate, and an expired CA: each needs the user's decision, not a silent fix.
 */
export async function loadOrCreateCa(dir: string, options: LoadOrCreateCaOptions = {}): Promise<StoredCa> {
  const root = path.resolve(dir);
  const certPath = path.join(root, CA_CERT_FILE);
  const keyPath = path.join(root, CA_KEY_FILE);
  await ensureDir(root);
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  let waitingSince: number | null = null;
  for (;;) {
    // The key first: its permissions are checked before its bytes are read.
    const keyPem = await readIfExists(keyPath, true);
    const certPem = await readIfExists(certPath, false);
    if (certPem !== null && keyPem !== null) {
      validatePair(certPem, keyPem, certPath, keyPath);
      return { certPem, keyPem, created: false, certPath, keyPath };
    }
    if (certPem === null && keyPem === null) {
      const made = await publishNewCa(root, certPath, keyPath, options.create);
      if (made) return { ...made, created: true, certPath, keyPath };
      continue; // another process published first: read its CA
    }
    if (keyPem !== null) {
      // Key without certificate: another process is between its two steps, or died there.
      waitingSince ??= Date.now();
      if (Date.now() - waitingSince < settleMs) {
        await sleep(SETTLE_POLL_MS);
        continue;
      }
      throw new CaStoreError(
        'ca-incomplete',
        certPath,
        `the CA key ${keyPath} exists but its certificate ${certPath} does not; ` +
          `restore the certificate, or delete ${keyPath} to create a new CA (which you will have to trust again)`,
      );
    }
    throw new CaStoreError(
      'ca-incomplete',
      keyPath,
      `the CA certificate ${certPath} exists but its key ${keyPath} does not; ` +
        `restore the key, or delete ${certPath} to create a new CA (which you will have to trust again)`,
    );
  }
}

async function ensureDir(root: string): Promise<void> {
  try {
    // Parents as the system makes them (~/.config is shared); our own directory owner-only.
    await mkdir(path.dirname(root), { recursive: true });
    await mkdir(root, { mode: 0o700 });
  } catch (err) {
    if (errCode(err) !== 'EEXIST') {
      throw new CaStoreError('ca-dir', root, `cannot create the CA directory ${root}: ${ioReason(err)}`);
    }
  }
  let isDir: boolean;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch (err) {
    throw new CaStoreError('ca-dir', root, `cannot use the CA directory ${root}: ${ioReason(err)}`);
  }
  if (!isDir) throw new CaStoreError('ca-dir', root, `the CA directory ${root} is not a directory`);
}

/** The file's text, or null if it does not exist. For the key, refuses loose permissions first. */
async function readIfExists(file: string, isKey: boolean): Promise<string | null> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw new CaStoreError('ca-unreadable', file, `cannot read ${file}: ${ioReason(err)}`);
  }
  if (!info.isFile()) throw new CaStoreError('ca-unreadable', file, `${file} is not a regular file`);
  // Windows has no POSIX modes or uids here (the key's protection is the profile's ACL).
  if (isKey && process.platform !== 'win32') {
    // Refused rather than fixed: the key may already have been copied while it was readable,
    // and only the user can judge whether to tighten it or make a new CA.
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw new CaStoreError(
        'ca-key-permissions',
        file,
        `the CA key ${file} is accessible to other users (mode ${mode}); make it owner-only with ` +
          `\`chmod 600 ${shellQuote(file)}\`, or delete both CA files to create a new CA`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid) {
      throw new CaStoreError(
        'ca-key-owner',
        file,
        `the CA key ${file} belongs to another user (uid ${info.uid}, you are ${uid}); ` +
          `use your own --ca-dir, or delete both CA files to create a new CA`,
      );
    }
  }
  if (info.size > MAX_PEM_BYTES) {
    throw new CaStoreError('ca-unreadable', file, `${file} is ${info.size} bytes, too big for a PEM ${isKey ? 'key' : 'certificate'}`);
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    // Deleted between stat and read: treat as absent, the caller loops.
    if (errCode(err) === 'ENOENT') return null;
    throw new CaStoreError('ca-unreadable', file, `cannot read ${file}: ${ioReason(err)}`);
  }
}

function validatePair(certPem: string, keyPem: string, certPath: string, keyPath: string): void {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new CaStoreError('ca-invalid', certPath, `${certPath} is not a PEM certificate; delete both CA files to create a new CA`);
  }
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CaStoreError('ca-invalid', keyPath, `${keyPath} is not a PEM private key; delete both CA files to create a new CA`);
  }
  if (!cert.ca) {
    throw new CaStoreError('ca-invalid', certPath, `${certPath} is not a CA certificate (basicConstraints cA is not set)`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CaStoreError(
      'ca-mismatch',
      keyPath,
      `the CA key ${keyPath} does not belong to the certificate ${certPath}; restore the matching pair, or delete both to create a new CA`,
    );
  }
  if (Date.parse(cert.validTo) <= Date.now()) {
    throw new CaStoreError(
      'ca-invalid',
      certPath,
      `the CA certificate ${certPath} expired on ${new Date(cert.validTo).toISOString()}; delete both CA files to create a new CA`,
    );
  }
}

/**
 * Makes a CA and tries to publish it. Returns it if this process won, null if another process
 * published one first (the caller then reads that one).
 */
async function publishNewCa(root: string, certPath: string, keyPath: string, create: CreateCaOptions | undefined): Promise<PemPair | null> {
  const made = await createCa(create);
  // A final newline: tools that concatenate PEM files (update-ca-certificates) need it.
  const ca: PemPair = { certPem: withNewline(made.certPem), keyPem: withNewline(made.keyPem) };
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const tmpKey = path.join(root, `.${CA_KEY_FILE}.${tag}.tmp`);
  const tmpCert = path.join(root, `.${CA_CERT_FILE}.${tag}.tmp`);
  try {
    await writeNewFile(tmpKey, ca.keyPem, 0o600);
    await writeNewFile(tmpCert, ca.certPem, 0o644);
    try {
      // Atomic and exclusive: the key file appears whole, with its 0600 mode, or not at all.
      await link(tmpKey, keyPath);
    } catch (err) {
      if (errCode(err) === 'EEXIST') return null;
      throw new CaStoreError('ca-write', keyPath, `cannot create the CA key ${keyPath}: ${ioReason(err)}`);
    }
    try {
      await rename(tmpCert, certPath);
    } catch (err) {
      // Take our key back so the next run starts clean instead of finding half a CA.
      await unlink(keyPath).catch(() => {});
      throw new CaStoreError('ca-write', certPath, `cannot create the CA certificate ${certPath}: ${ioReason(err)}`);
    }
    return ca;
  } finally {
    await unlink(tmpKey).catch(() => {});
    await unlink(tmpCert).catch(() => {});
  }
}

/** Creates `file` exclusively with `mode` from the first byte on, writes `text`, flushes it to disk. */
async function writeNewFile(file: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'wx', mode);
  } catch (err) {
    throw new CaStoreError('ca-write', file, `cannot create ${file}: ${ioReason(err)}`);
  }
  try {
    // The umask can only have narrowed the mode; set it exactly (the owner must be able to read).
    if (process.platform !== 'win32') await handle.chmod(mode);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    throw new CaStoreError('ca-write', file, `cannot write ${file}: ${ioReason(err)}`);
  } finally {
    await handle.close();
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : pem + '\n';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
