// `framescope serve [--listen HOST:PORT]`: the UI in a browser. The first stdout line is the
// URL to open (it carries the token); SIGINT/SIGTERM end it cleanly.
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { isLoopback, parseListen } from '../engine/listen';
import { EXIT_FAILURE, EXIT_OK, errorLine } from './output';

declare const __FRAMESCOPE_VERSION__: string;

export function registerServe(program: Command, run: (p: Promise<number>) => void): void {
  program
    .command('serve')
    .description('the same UI in a browser')
    .option('--listen <[host:]port>', 'where to listen (default 127.0.0.1 and a free port)', (v: string) => {
      try {
        return parseListen(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    })
    .option('--ca-dir <dir>', 'where the interception CA lives (default: the user config dir)')
    .option('--sessions-dir <dir>', 'where sessions are kept to be offered back next time (default: the user data dir)')
    .option('--forget', 'keep nothing of this session once it ends')
    .action((opts: ServeOptions) => run(runServe(opts)));
}

interface ServeOptions {
  listen?: { host: string; port: number };
  caDir?: string;
  sessionsDir?: string;
  forget?: boolean;
}

async function runServe(o: ServeOptions): Promise<number> {
  // Loaded here, not with the command line: every other command starts without them.
  const [{ EngineSession, sessionToken }, { startServe }, { defaultSessionsDir }] = await Promise.all([
    import('../engine/session/session'),
    import('../web/serve'),
    import('../engine/session/saved-sessions'),
  ]);
  let session;
  try {
    session = new EngineSession({
      version: typeof __FRAMESCOPE_VERSION__ === 'string' ? __FRAMESCOPE_VERSION__ : 'dev',
      caDir: o.caDir,
      ...(o.forget ? {} : { sessionsDir: o.sessionsDir ?? defaultSessionsDir() }),
      ...(isLoopback(o.listen?.host ?? '127.0.0.1') ? {} : { noLaunch: `launching apps is refused while serve listens beyond loopback (${o.listen?.host}): whoever has the URL's token could run commands here` }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    errorLine(`cannot use the sessions folder${e.path ? ` ${e.path}` : ''}: ${e.code ?? e.message} (choose another with --sessions-dir, or --forget)`);
    return EXIT_FAILURE;
  }
  // The renderer is built next to the CLI bundle: app/dist/cli/cli.js → app/dist/renderer/.
  const rendererDir = fileURLToPath(new URL('../renderer/', import.meta.url));
  let handle;
  try {
    handle = await startServe({
      host: o.listen?.host ?? '127.0.0.1',
      port: o.listen?.port ?? 0,
      session,
      rendererDir,
      token: sessionToken(),
      log: (line) => process.stderr.write(`framescope serve: ${line}\n`),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    errorLine(`cannot start the server: ${e.code === 'EADDRINUSE' ? `${o.listen?.host}:${o.listen?.port} is already in use` : e.message}`);
    await session.dispose();
    return EXIT_FAILURE;
  }
  process.stdout.write(`${handle.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await handle.close();
  await session.dispose();
  return EXIT_OK;
}
