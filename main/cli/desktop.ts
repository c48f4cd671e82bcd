// The bare `framescope` command: opens the desktop app. Electron's npm package is a dev
// dependency of the checkout; its binary is downloaded on first launch (`npm start`), not at
// install time. Requiring 'electron' would start that download, so the binary is found the
// way the package's index.js finds it (path.txt), without downloading; when it is missing,
// one line says what to do instead.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_FAILURE, EXIT_OK, errorLine } from './output';

/** The Electron executable if it is on disk, else null (never downloads). */
export function electronBinary(from: string = import.meta.url, env: NodeJS.ProcessEnv = process.env): string | null {
  let dir: string;
  try {
    dir = dirname(createRequire(from).resolve('electron/package.json'));
  } catch {
    return null;
  }
  let rel: string | null = null;
  try {
    rel = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
  } catch {
    rel = null;
  }
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  const binary = override ? join(override, rel || 'electron') : rel ? join(dir, 'dist', rel) : null;
  return binary && existsSync(binary) ? binary : null;
}

export const NO_ELECTRON =
  "the desktop app needs Electron's binary, which `npm start` downloads on first launch; meanwhile `framescope serve` opens the same UI in a browser";

/** Starts the desktop app detached (the command returns at once, like other launchers). */
export async function launchDesktop(): Promise<number> {
  // app/dist/cli/cli.js → app/ (the application root: package.json + dist/main)
  const appDir = fileURLToPath(new URL('../../', import.meta.url));
  const binary = electronBinary();
  if (!binary) {
    errorLine(NO_ELECTRON);
    return EXIT_FAILURE;
  }
  if (!existsSync(join(appDir, 'dist', 'main', 'index.js'))) {
    errorLine('the desktop app is not built: run `npm run build:desktop` in the checkout (or `framescope serve` for the UI in a browser)');
    return EXIT_FAILURE;
  }
  return new Promise<number>((resolve) => {
    const child = spawn(binary, [appDir], { detached: true, stdio: 'ignore' });
    child.once('error', (err) => {
      errorLine(`could not start Electron: ${err.message}`);
      resolve(EXIT_FAILURE);
    });
    child.once('spawn', () => {
      child.unref();
      resolve(EXIT_OK);
    });
  });
}
