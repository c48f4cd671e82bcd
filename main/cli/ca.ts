// `framescope ca [--ca-dir DIR] [--export FILE] [--json]`: create the interception CA if it is
// missing, show where it is and what it is, and how to trust it. Only the certificate is ever
// printed or exported; the key stays in DIR, owner-only.
import { X509Certificate } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK, UsageError, errorLine } from './output';

export interface CaCliOptions {
  caDir?: string;
  export?: string;
  json: boolean;
}

/** What `--json` prints: one object, for scripts. */
export interface CaSummary {
  certPath: string;
  keyPath: string;
  fingerprint256: string;
  subject: string;
  validFrom: string;
  validTo: string;
  created: boolean;
  /** The --export file, or null. */
  exported: string | null;
}

export function registerCaCommand(program: Command, run: (p: Promise<number>) => void): void {
  program
    .command('ca')
    .description('create/show the interception CA certificate (and how to trust it)')
    .option('--ca-dir <dir>', "where the CA lives (default: the user's config dir)")
    .option('--export <file>', 'write the CA certificate (never its key) to FILE')
    .option('--json', 'print one JSON object instead of the human view', false)
    .action((opts: { caDir?: string; export?: string; json: boolean }) => {
      run(runCa({ caDir: opts.caDir, export: opts.export, json: opts.json }));
    });
}

export async function runCa(o: CaCliOptions): Promise<number> {
  if (o.caDir !== undefined && o.caDir.trim() === '') throw new UsageError('--ca-dir needs a directory');
  if (o.export !== undefined && o.export.trim() === '') throw new UsageError('--export needs a file name');
  // Loaded here, not with the command line (it brings the X.509 library): every other command starts without it.
  const { CaStoreError, defaultCaDir, loadOrCreateCa } = await import('../engine/certificates/ca-store');
  const dir = o.caDir ?? defaultCaDir();
  let stored;
  try {
    stored = await loadOrCreateCa(dir);
  } catch (err) {
    if (err instanceof CaStoreError) {
      errorLine(err.message);
      return EXIT_FAILURE;
    }
    throw err;
  }

  let exported: string | null = null;
  if (o.export !== undefined) {
    const target = path.resolve(o.export);
    if (samePath(target, stored.keyPath)) throw new UsageError(`--export ${o.export} is the CA key itself; choose another file`);
    try {
      await writeFile(target, stored.certPem.endsWith('\n') ? stored.certPem : stored.certPem + '\n', { mode: 0o644 });
    } catch (err) {
      errorLine(`cannot write ${target}: ${ioReason(err)}`);
      return EXIT_FAILURE;
    }
    exported = target;
  }

  const cert = new X509Certificate(stored.certPem);
  const summary: CaSummary = {
    certPath: stored.certPath,
    keyPath: stored.keyPath,
    fingerprint256: cert.fingerprint256,
    subject: cert.subject.split('\n').join(', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    created: stored.created,
    exported,
  };
  process.stdout.write(o.json ? JSON.stringify(summary) + '\n' : human(summary));
  return EXIT_OK;
}

function human(s: CaSummary): string {
  const file = s.exported ?? s.certPath;
  const q = quote(file);
  const lines = [
    s.created ? 'Created the Framescope interception CA.' : 'The Framescope interception CA:',
    `  certificate  ${s.certPath}`,
    `  private key  ${s.keyPath}  (owner-only; never leaves this machine)`,
    `  subject      ${s.subject}`,
    `  SHA-256      ${s.fingerprint256}`,
    `  valid        ${s.validFrom} to ${s.validTo}`,
    ...(s.exported ? [`  exported to  ${s.exported}  (the certificate only)`] : []),
    '',
    'Trust it so that clients accept the certificates the proxy makes for intercepted hosts:',
    '  Debian/Ubuntu (system-wide; curl, most tools):',
    `    sudo cp ${q} /usr/local/share/ca-certificates/framescope.crt && sudo update-ca-certificates`,
    '  Chrome/Chromium on Linux (its own NSS store; certutil is in libnss3-tools):',
    `    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n Framescope -i ${q}`,
    '  Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import',
    '  macOS:',
    `    security add-trusted-cert -d -r trustRoot -k ~/Library/Keychains/login.keychain-db ${q}`,
    '  Windows (current user):',
    `    certutil -user -addstore Root ${q}`,
    '  Node.js apps: NODE_EXTRA_CA_CERTS=' + q,
    '',
    'Anyone holding the key can impersonate any site to a machine that trusts this CA: keep it private,',
    'and remove the trust when you no longer intercept.',
  ];
  return lines.join('\n') + '\n';
}

/** The same file, whether or not the path is spelled through a symlink. */
function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  return a === b || real(a) === real(b);
}

function ioReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'no such directory';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}

function quote(s: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
}
