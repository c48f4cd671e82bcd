// `npm run dev`: the desktop app in development. The renderer comes from Vite's dev server
// (hot module reload, no restart); main and preload are rebuilt on change by Vite in watch
// mode, and Electron is restarted after each rebuild (SIGTERM first, so the app's clean
// shutdown finishes its journals). Closing the app ends the whole thing.
//
// The window trusts the dev server's origin only because FRAMESCOPE_RENDERER_URL names it
// and the app is not packaged (see devRendererUrl in main/electron/main.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, createServer, type Rollup } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

async function main(): Promise<void> {
  const renderer = await createServer({ configFile: `${ROOT}vite.renderer.config.ts`, server: { host: '127.0.0.1', strictPort: false } });
  await renderer.listen();
  const url = renderer.resolvedUrls?.local[0];
  if (!url) throw new Error('the renderer dev server did not report its URL');
  process.stdout.write(`renderer dev server: ${url}\n`);

  let electron: ChildProcess | null = null;
  let restarting = false;
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const w of watchers) await w.close();
    await renderer.close();
    process.exit(code);
  };

  const launch = () => {
    // The electron package's main export is the binary's path (downloaded on first use).
    const binary = require('electron') as string;
    const child = spawn(binary, [`${ROOT}app`], {
      stdio: 'inherit',
      env: { ...process.env, FRAMESCOPE_RENDERER_URL: url },
    });
    child.on('exit', (code) => {
      if (electron === child) electron = null;
      if (!restarting) void stop(code ?? 0);
    });
    electron = child;
  };

  const restart = async () => {
    const old = electron;
    if (old) {
      restarting = true;
      await new Promise<void>((resolve) => {
        old.once('exit', () => resolve());
        old.kill('SIGTERM');
      });
      restarting = false;
    }
    if (!stopping) launch();
  };

  // Both bundles rebuild on change; the first round of builds starts Electron.
  const watchers: Rollup.RollupWatcher[] = [];
  let built = 0;
  let pending: NodeJS.Timeout | null = null;
  for (const mode of ['preload', 'main'] as const) {
    const w = (await build({ configFile: `${ROOT}vite.electron.config.ts`, mode, logLevel: 'warn', build: { watch: {} } })) as Rollup.RollupWatcher;
    w.on('event', (e) => {
      if (e.code === 'ERROR') process.stderr.write(`${mode}: ${e.error.message}\n`);
      if (e.code !== 'END') return;
      if (built < 2) {
        built++;
        if (built === 2) launch();
      } else {
        // A change in shared/ rebuilds both bundles: one restart for the pair.
        if (pending) clearTimeout(pending);
        pending = setTimeout(() => {
          pending = null;
          process.stdout.write('rebuilt: restarting Electron\n');
          void restart();
        }, 200);
      }
    });
    watchers.push(w);
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      electron?.kill('SIGTERM');
      void stop(0);
    });
  }
}

await main();
