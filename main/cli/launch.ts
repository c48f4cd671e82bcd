// `framescope launch`: a forward proxy of its own (or a running one, --via) and an app started
// through it — a browser with a fresh profile, or any command with the proxy and the CA in
// its environment. The app's exit ends the command with its exit code, the capture written.
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import type { ListenAddress } from '../engine/listen';
import type { ProxyServer } from '../engine/proxy/server';
import { addDecodeOptions } from './decode-option';
import { EXIT_FAILURE, EXIT_USAGE, errorLine } from './output';
import { addForwardProxyOptions, listenOption } from './proxy-options';
import type { ProxyCliOptions, ProxyRun } from './proxy';
import type { Browser, LaunchPlan, LaunchSetup } from '../launch/launch';

const BROWSER_NAMES = ['chromium', 'chrome', 'edge', 'brave', 'firefox'];

export function registerLaunch(program: Command, run: (p: Promise<number>) => void): void {
  const cmd = program
    .command('launch')
    .description('start an app through the proxy: `launch chromium [URL]` (chrome, edge, brave, firefox) or `launch -- COMMAND ARGS…`')
    .argument('[browser-and-url...]', 'a browser and the page to open')
    .option('--listen <[host:]port>', "where the launch's proxy listens (default 127.0.0.1 on a free port)", listenOption)
    .option('--via <[host:]port>', 'use a running `framescope proxy` there instead of starting one (its CA from --ca-dir)', listenOption)
    .option('--headless', 'start the browser without a window', false);
  addForwardProxyOptions(cmd, {
    capture: 'write a capture file when the app exits; FILE.journal is kept while it runs',
    scriptTimeout: 'how long a script hook may take before its message goes on unchanged',
    rules: 'a rules file (docs/rules.md); reloaded when it changes; decides before --script',
  });
  addDecodeOptions(cmd).action((operands: string[], opts) => run(runLaunch(operands, opts)));
}

interface LaunchCliOptions extends Omit<ProxyCliOptions, 'listen'> {
  listen?: ListenAddress;
  via?: ListenAddress;
  headless: boolean;
}

function hostPort(a: ListenAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

async function runLaunch(operands: string[], o: LaunchCliOptions): Promise<number> {
  const { findBrowser, planLaunch, LaunchError } = await import('../launch/launch');
  const { defaultCaDir, loadOrCreateCa } = await import('../engine/certificates/ca-store');
  // What follows `--` is the command, whole: commander stops reading options there (the
  // operands it gives do not say where `--` was).
  const raw = process.argv;
  const dd = raw.indexOf('--');
  const command = dd >= 0 ? raw.slice(dd + 1) : null;
  const before = command ? operands.slice(0, operands.length - command.length) : operands;
  let browser: Browser | null = null;
  let url: string | undefined;
  if (command) {
    if (before.length > 0) {
      errorLine(`launch: give a browser or a command after --, not both (${before.join(' ')})`);
      return EXIT_USAGE;
    }
    if (command.length === 0) {
      errorLine('launch: no command after --');
      return EXIT_USAGE;
    }
  } else {
    const [name, page, ...extra] = before;
    if (!name) {
      errorLine(`launch: say what to start: a browser (${BROWSER_NAMES.join(', ')}) or -- COMMAND ARGS…`);
      return EXIT_USAGE;
    }
    if (!BROWSER_NAMES.includes(name)) {
      errorLine(`launch: unknown browser ${JSON.stringify(name)} (one of ${BROWSER_NAMES.join(', ')}); to start a command, put it after --: framescope launch -- ${before.join(' ')}`);
      return EXIT_USAGE;
    }
    if (extra.length > 0) {
      errorLine(`launch: one URL after the browser, not ${extra.length + 1}`);
      return EXIT_USAGE;
    }
    browser = findBrowser(name);
    if (!browser) {
      errorLine(`launch: ${name} is not installed (not on PATH nor in the usual places)`);
      return EXIT_FAILURE;
    }
    url = page;
  }
  const label = browser ? browser.name : command!.map((a: string) => (/[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  const say = (line: string) => process.stderr.write(`framescope launch: ${line}\n`);

  /** Starts the app with the plan for this proxy; resolves with its exit code. */
  const start = async (proxyUrl: string, caCertPath: string): Promise<number> => {
    const setup: LaunchSetup = { proxyUrl, caCertPath };
    let plan: LaunchPlan;
    try {
      plan = planLaunch(browser ? { browser, options: { url, headless: o.headless } } : { command: command! }, setup);
    } catch (err) {
      if (!(err instanceof LaunchError) && !(err as NodeJS.ErrnoException).code) throw err;
      errorLine(`launch: cannot prepare the app: ${(err as Error).message}`);
      return EXIT_FAILURE;
    }
    for (const n of plan.notes) say(n);
    try {
      return await runApp(plan, say);
    } finally {
      plan.cleanup();
    }
  };

  if (o.via) {
    const refused = (['capture', 'script', 'rules', 'listen'] as const).filter((k) => o[k] !== undefined);
    if (refused.length > 0) {
      errorLine(`launch: --via uses a running proxy; ${refused.map((k) => `--${k}`).join(', ')} belong${refused.length === 1 ? 's' : ''} to that proxy`);
      return EXIT_USAGE;
    }
    let ca;
    try {
      ca = await loadOrCreateCa(o.caDir ?? defaultCaDir());
    } catch (err) {
      errorLine(`launch: ${(err as Error).message}`);
      return EXIT_FAILURE;
    }
    return start(`http://${hostPort(o.via)}`, ca.certPath);
  }

  const { runProxy } = await import('./proxy');
  const launchRun: ProxyRun = {
    name: 'launch',
    app: label,
    until: async (proxy: ProxyServer, ca) => {
      if (!ca) return EXIT_FAILURE;
      const a = proxy.address;
      say(`proxy on ${hostPort(a)} (TLS intercepted with the CA ${ca.certPath}); starting ${label}`);
      return start(`http://${hostPort(a)}`, ca.certPath);
    },
  };
  return runProxy({ ...o, listen: o.listen ?? { host: '127.0.0.1', port: 0 } }, launchRun);
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs the app; a SIGINT or SIGTERM to us goes on to it. A command has the terminal's stdio
 * and is over when it exits. A browser's output comes through pipes onto our stderr (stdout
 * is for events with --json) and it is over when every process holding them has ended:
 * Firefox's main process dies of a SIGINT at once and its helper processes (content, GPU,
 * socket, crash helper) exit after it, on their own; the launch's folder is removed and the
 * capture written only then, so nothing of the browser is left running.
 */
function runApp(plan: LaunchPlan, say: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(plan.command, plan.args, { env: plan.env, stdio: plan.browser ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    if (plan.browser) {
      child.stdout!.pipe(process.stderr, { end: false });
      child.stderr!.pipe(process.stderr, { end: false });
    }
    const forward = (signal: NodeJS.Signals) => () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    let finished = false;
    const done = (code: number) => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      say(err.code === 'ENOENT' ? `cannot start ${plan.command}: no such command` : `cannot start ${plan.command}: ${err.message}`);
      done(EXIT_FAILURE);
    });
    // 'close' comes after 'exit', once the child's stdio pipes are closed by every holder.
    child.once(plan.browser ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) => {
      if (signal) say(`${plan.label} ended by ${signal}`);
      done(code ?? 128 + (signal ? (SIGNALS[signal] ?? 1) : 1));
    });
  });
}
