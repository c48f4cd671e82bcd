// `framescope ca`, run as a user would (the built bin), on throwaway directories: never the
// user's real config dir.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../peers/cli';

const scratch = mkdtempSync(join(tmpdir(), 'framescope-ca-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let count = 0;
const fresh = (name = 'ca') => join(scratch, `${name}-${++count}`);
const posix = process.platform !== 'win32';

interface Summary {
  certPath: string;
  keyPath: string;
  fingerprint256: string;
  subject: string;
  validFrom: string;
  validTo: string;
  created: boolean;
  exported: string | null;
}

function fingerprintOf(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256;
}

describe('framescope ca', () => {
  it('creates the CA in --ca-dir and prints path, subject, SHA-256 fingerprint, validity and how to trust it', async () => {
    const dir = fresh();
    const r = await runCli(['ca', '--ca-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const certPath = join(dir, 'ca.pem');
    const keyPath = join(dir, 'ca-key.pem');
    expect(existsSync(certPath)).toBe(true);
    expect(existsSync(keyPath)).toBe(true);
    if (posix) {
      expect(statSync(keyPath).mode & 0o777).toBe(0o600);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
    const cert = new X509Certificate(readFileSync(certPath));
    expect(r.stdout).toMatch(/^Created the Framescope interception CA\./);
    expect(r.stdout).toContain(certPath);
    expect(r.stdout).toContain(keyPath);
    expect(r.stdout).toContain('CN=Framescope Interception CA');
    expect(r.stdout).toContain(`SHA-256      ${cert.fingerprint256}`);
    expect(r.stdout).toContain(new Date(cert.validTo).toISOString());
    // Per-OS instructions, each naming the certificate file.
    expect(r.stdout).toContain(`sudo cp ${certPath} /usr/local/share/ca-certificates/framescope.crt && sudo update-ca-certificates`);
    expect(r.stdout).toContain(`certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n Framescope -i ${certPath}`);
    expect(r.stdout).toContain('Firefox');
    expect(r.stdout).toContain(`security add-trusted-cert -d -r trustRoot -k ~/Library/Keychains/login.keychain-db ${certPath}`);
    expect(r.stdout).toContain(`certutil -user -addstore Root ${certPath}`);
    // The key is never printed.
    expect(r.stdout).not.toContain('PRIVATE KEY');

    const again = await runCli(['ca', '--ca-dir', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^The Framescope interception CA:/);
    expect(again.stdout).toContain(cert.fingerprint256);
    expect(fingerprintOf(certPath)).toBe(cert.fingerprint256);
  });

  it('--json prints one object for scripts', async () => {
    const dir = fresh();
    const first = await runCli(['ca', '--ca-dir', dir, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!) as Summary;
    expect(s).toMatchObject({ certPath: join(dir, 'ca.pem'), keyPath: join(dir, 'ca-key.pem'), created: true, exported: null });
    expect(s.fingerprint256).toBe(fingerprintOf(s.certPath));
    expect(s.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(s.subject).toContain('CN=Framescope Interception CA');
    expect(Date.parse(s.validTo)).toBeGreaterThan(Date.now());
    const second = JSON.parse((await runCli(['ca', '--ca-dir', dir, '--json'])).stdout) as Summary;
    expect(second.created).toBe(false);
    expect(second.fingerprint256).toBe(s.fingerprint256);
  });

  it('--export FILE writes the certificate only, never the key', async () => {
    const dir = fresh();
    const out = join(scratch, `exported-${++count}.crt`);
    const r = await runCli(['ca', '--ca-dir', dir, '--export', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.exported).toBe(out);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).toBe(readFileSync(join(dir, 'ca.pem'), 'utf8'));
    expect(text).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(fingerprintOf(out)).toBe(s.fingerprint256);

    const human = await runCli(['ca', '--ca-dir', dir, '--export', out]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`exported to  ${out}`);
    // The instructions then name the exported file.
    expect(human.stdout).toContain(`certutil -user -addstore Root ${out}`);
  });

  it('without --ca-dir: the user config dir ($XDG_CONFIG_HOME/framescope on Linux)', async () => {
    if (process.platform !== 'linux') return;
    const config = fresh('xdg');
    const r = await runCli(['ca', '--json'], { env: { XDG_CONFIG_HOME: config, HOME: fresh('home') } });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Summary).certPath).toBe(join(config, 'framescope', 'ca.pem'));
  });

  it('several at once on a fresh directory make one CA', async () => {
    const dir = fresh();
    const results = await Promise.all([1, 2, 3].map(() => runCli(['ca', '--ca-dir', dir, '--json'])));
    const summaries = results.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Summary;
    });
    expect(summaries.filter((s) => s.created)).toHaveLength(1);
    expect(new Set(summaries.map((s) => s.fingerprint256)).size).toBe(1);
  });

  it.skipIf(!posix)('a key readable by others: exit 1, one line saying to chmod, the key left as it was', async () => {
    const dir = fresh();
    expect((await runCli(['ca', '--ca-dir', dir])).code).toBe(0);
    const keyPath = join(dir, 'ca-key.pem');
    chmodSync(keyPath, 0o644);
    const r = await runCli(['ca', '--ca-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^framescope: the CA key .* is accessible to other users \(mode 0644\)/);
    expect(lines[0]).toContain(`chmod 600 ${keyPath}`);
    expect(statSync(keyPath).mode & 0o777).toBe(0o644);
  });

  it('--export into a missing directory: exit 1, one line', async () => {
    const dir = fresh();
    const r = await runCli(['ca', '--ca-dir', dir, '--export', join(scratch, 'no-such-dir', 'ca.crt')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^framescope: cannot write .*no-such-dir.*: no such directory/);
  });

  it('--export onto the key itself is refused as bad usage (exit 2) and the key is kept', async () => {
    const dir = fresh();
    expect((await runCli(['ca', '--ca-dir', dir])).code).toBe(0);
    const keyPath = join(dir, 'ca-key.pem');
    const key = readFileSync(keyPath, 'utf8');
    const r = await runCli(['ca', '--ca-dir', dir, '--export', keyPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^framescope: --export .* is the CA key itself/);
    expect(readFileSync(keyPath, 'utf8')).toBe(key);
  });

  it('bad usage: exit 2', async () => {
    expect((await runCli(['ca', '--bogus'])).code).toBe(2);
    expect((await runCli(['ca', '--ca-dir'])).code).toBe(2);
    expect((await runCli(['ca', '--ca-dir', ''])).code).toBe(2);
  });

  it('the printed Chrome/Chromium NSS command imports the certificate (when certutil is installed)', async () => {
    if (spawnSync('certutil', ['-H'], { stdio: 'ignore' }).error) return;
    const dir = fresh();
    const s = JSON.parse((await runCli(['ca', '--ca-dir', dir, '--json'])).stdout) as Summary;
    const nss = fresh('nssdb');
    mkdirSync(nss, { recursive: true });
    execFileSync('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']);
    execFileSync('certutil', ['-d', `sql:${nss}`, '-A', '-t', 'C,,', '-n', 'Framescope', '-i', s.certPath]);
    const listed = execFileSync('certutil', ['-d', `sql:${nss}`, '-L', '-n', 'Framescope'], { encoding: 'utf8' });
    expect(listed).toContain('Framescope Interception CA');
  });
});
