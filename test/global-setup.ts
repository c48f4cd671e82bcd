// Builds the CLI and the renderer once before the tests that run them (the CLI as a user
// runs it, the UI through `framescope serve`), so they always run current code.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
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
}
