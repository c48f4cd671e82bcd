// Apps launched from the UI (the Intercept panel): a browser with a fresh profile, or a
// terminal command, started as `framescope launch` starts them (main/launch/launch.ts), through
// the session's forward proxy. Each app gets a port of that proxy of its own, so each of its
// connections is labelled with it even when several apps run at once. An app's exit is an
// `app` event; its temporary folder goes with it; the session's end ends those still running.
import { spawn, type ChildProcess } from 'node:child_process';
import type { LaunchRequest, LaunchTarget, LaunchedApp, UiEvent } from '../../../shared/contract';
import type { ProxyServer } from '../proxy/server';
import { findBrowser, findBrowsers, planLaunch, type LaunchPlan } from '../../launch/launch';

/** A failure the user reads (the session turns it into a CommandError). */
export class AppError extends Error {}

/** The stderr kept per app, for the line shown when it fails. */
const STDERR_TAIL = 4096;
/** How long an app asked to stop gets before it is killed. */
const STOP_GRACE_MS = 3000;

interface Running {
  app: LaunchedApp;
  child: ChildProcess;
  exited: Promise<void>;
}

export interface AppsOptions {
  /** the session's forward proxy, started when none runs; with the CA's certificate file */
  proxy(): Promise<{ server: ProxyServer; caCertPath: string }>;
  push(event: UiEvent): void;
  /** the environment apps start from (default process.env) */
  env?: NodeJS.ProcessEnv;
}

/** How a command line is shown: words with spaces or quotes quoted (as the CLI labels it). */
export function commandLabel(argv: string[]): string {
  return argv.map((a) => (/[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** The page a browser opens: an absolute http(s) or file URL (never something read as a flag). */
function pageUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new AppError(`the page ${JSON.stringify(url)} is not a URL (write it with http:// or https://)`);
  }
  if (!['http:', 'https:', 'file:'].includes(u.protocol)) throw new AppError(`the page must be an http://, https:// or file:// URL, not ${u.protocol}`);
  return u.href;
}

export class SessionApps {
  private readonly running = new Map<number, Running>();
  private ids = 0;

  constructor(private readonly o: AppsOptions) {}

  targets(): LaunchTarget[] {
    return findBrowsers(this.o.env).map(({ id, name, path }) => ({ id, name, path }));
  }

  list(): LaunchedApp[] {
    return [...this.running.values()].map((r) => ({ ...r.app }));
  }

  async launch(req: LaunchRequest): Promise<LaunchedApp> {
    let what: Parameters<typeof planLaunch>[0];
    let label: string;
    if ('browser' in req) {
      const browser = findBrowser(req.browser, this.o.env);
      if (!browser) throw new AppError(`${req.browser} is not installed (not on PATH nor in the usual places)`);
      const url = req.url?.trim() ? pageUrl(req.url) : undefined;
      what = { browser, options: { url, headless: req.headless } };
      label = browser.name;
    } else {
      what = { command: req.command };
      label = commandLabel(req.command);
    }
    const { server, caCertPath } = await this.o.proxy();
    const port = await server.listenFor(label);
    let plan: LaunchPlan;
    try {
      plan = planLaunch(what, { proxyUrl: `http://127.0.0.1:${port.port}`, caCertPath, baseEnv: this.o.env });
    } catch (err) {
      await port.close();
      throw new AppError(`cannot prepare ${label}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const ended = async () => {
      await port.close();
      try {
        plan.cleanup();
      } catch {
        // A browser's helper processes may still be writing into the profile as it exits;
        // the folder is in the temp dir, which the OS clears.
      }
    };
    let child: ChildProcess;
    try {
      // Its own process group (POSIX): stopping it ends what it started too (a shell, npm, a
      // browser's helpers).
      child = spawn(plan.command, plan.args, { env: plan.env, stdio: ['ignore', 'ignore', 'pipe'], detached: process.platform !== 'win32' });
    } catch (err) {
      await ended();
      throw new AppError(`cannot start ${plan.command}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const started = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err) => resolve(err));
    });
    if (started) {
      await ended();
      throw new AppError(started.code === 'ENOENT' ? `cannot start ${plan.command}: no such command` : started.code === 'EACCES' ? `cannot start ${plan.command}: not executable` : `cannot start ${plan.command}: ${started.message}`);
    }
    const app: LaunchedApp = { id: ++this.ids, label, pid: child.pid ?? null, state: 'running', startedAt: Date.now() };
    // What could not be set up (a Firefox profile without the CA) goes with its start.
    if (plan.notes.length > 0) app.notes = plan.notes.slice(0, 10);
    let tail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      tail = (tail + d).slice(-STDERR_TAIL);
    });
    child.on('error', () => {
      /* a kill that failed: the exit still comes */
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        void ended().then(() => {
          const done: LaunchedApp = { ...app, state: 'exited', code, signal };
          const last = tail.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
          if (code !== 0 && last) done.lastError = last.slice(0, 300);
          this.running.delete(app.id);
          this.o.push({ type: 'app', app: done });
          resolve();
        });
      });
    });
    this.running.set(app.id, { app, child, exited });
    this.o.push({ type: 'app', app: { ...app } });
    return { ...app };
  }

  /** Ends an app: SIGTERM to its group, SIGKILL after a grace; resolves once it has exited. */
  async stop(id: number): Promise<void> {
    const r = this.running.get(id);
    if (!r) throw new AppError(`no running app ${id} (it has exited)`);
    signal(r.child, 'SIGTERM');
    const timer = setTimeout(() => signal(r.child, 'SIGKILL'), STOP_GRACE_MS);
    await r.exited;
    clearTimeout(timer);
  }

  /** Ends every app still running (the session ends). */
  async dispose(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id).catch(() => {})));
  }
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(sig);
    else process.kill(-child.pid, sig);
  } catch {
    // The group is gone already (or was never ours): the child itself, then.
    child.kill(sig);
  }
}
