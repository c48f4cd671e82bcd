// Builds the CLI and the renderer once before the tests that run them (the CLI as a user
// runs it, the UI through `framescope serve`), so they always run current code; and gives
// the run a temporary folder of its own, removed at the end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  // Every temporary file of the run (the tests' scratch folders, the CLI's and Chromium's)
  // goes under one folder: workers and the processes they start inherit TMPDIR. A test's
  // own cleanup does not run when a worker is ended early or fails, and a hook on process
  // exit does not run in a worker that is torn down: a run left ~25 folders and files behind.
  const scratch = mkdtempSync(join(tmpdir(), 'framescope-tests-'));
  process.env.TMPDIR = scratch;
  const root = fileURLToPath(new URL('..', import.meta.url));
  // Vitest sets NODE_ENV=test, and a build inherits it: React's development build would then
  // be bundled (twice the size, several times slower under load) and left in app/dist for
  // `framescope serve` after the tests. Build what `npm run build` builds.
  const env = { ...process.env, NODE_ENV: 'production' };
  for (const config of ['vite.cli.config.ts', 'vite.renderer.config.ts']) {
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', config, '--logLevel', 'warn'], {
      cwd: root,
      stdio: 'inherit',
      env,
    });
  }
  return () => rmSync(scratch, { recursive: true, force: true });
}
