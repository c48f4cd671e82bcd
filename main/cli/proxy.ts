// `framescope proxy`: reverse or forward man-in-the-middle proxy, live events on stdout,
// a journal beside the capture file, the capture finished on SIGINT/SIGTERM.
import { Command, InvalidArgumentError } from 'commander';
import type { EngineEvent } from '../../shared/model';
import type { ProxyServer } from '../engine/proxy/server';
import type { ListenAddress } from '../engine/listen';
import type { Recording } from '../engine/recording/recording';
import { ioReason } from '../engine/io-errors';
import type { ScriptHost } from '../engine/intervene/scripts';
import type { RulesSource } from './intervene';
import type { Filter } from '../engine/intervene/filter';
import type { DecodeChoice } from '../../shared/decoders';
import { addDecodeOptions, decodeSetup } from './decode-option';
import { addForwardProxyOptions, listenOption } from './proxy-options';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, errorLine, eventPrinter, finishRecording, liveOutput, recordingGoesOn } from './output';

function targetOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--target is not a URL: ${value}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InvalidArgumentError(`--target must be a ws:// or wss:// URL, not ${url.protocol}//`);
  return value;
}

export function registerProxy(program: Command, run: (p: Promise<number>) => void): void {
  const cmd = program
    .command('proxy')
    .description('a man-in-the-middle proxy: reverse (--target) or forward (HTTP proxy with CONNECT and TLS interception)')
    .requiredOption('--listen <[host:]port>', 'where to listen (host defaults to 127.0.0.1)', listenOption)
    .option('--target <url>', 'reverse mode: the upstream ws:// or wss:// URL', targetOption);
  addForwardProxyOptions(cmd, {
    capture: 'write a capture file on exit (Ctrl-C, SIGINT or SIGTERM); FILE.journal is kept while running',
    scriptTimeout: 'how long a script hook may take before its message goes on unchanged (default: --timeout if given, else 5000)',
    rules: 'a rules file (docs/rules.md): match-and-replace, drop, delay, close, break; reloaded when it changes; decides before --script',
  })
    .option('--break <filter>', 'hold messages the filter matches (docs/rules.md) and ask on stdin: forward, edit in $EDITOR, drop or close');
  addDecodeOptions(cmd).action((opts) => run(runProxy(opts)));
}

/**
 * What `framescope launch` adds to the proxy: an app started once the proxy listens, whose
 * exit ends the command with its exit code.
 */
export interface ProxyRun {
  /** the command's name in its messages ("launch") */
  name: string;
  /** every connection is labelled with this (the open event's `app`) */
  app: string;
  /** starts the app once the proxy listens; resolves with its exit code when it has exited */
  until(proxy: ProxyServer, ca: { certPath: string; created: boolean } | null): Promise<number>;
}

export interface ProxyCliOptions {
  listen: ListenAddress;
  target?: string;
  capture?: string;
  json: boolean;
  quiet: boolean;
  decode?: DecodeChoice;
  proto?: string;
  protoType?: string;
  allowHosts?: string[];
  intercept?: string[] | boolean;
  caDir?: string;
  insecure: boolean;
  timeout?: number;
  script?: string;
  scriptTimeout?: number;
  rules?: string;
  break?: string;
}

export async function runProxy(o: ProxyCliOptions, run?: ProxyRun): Promise<number> {
  // Loaded here, not with the command line: every other command starts without them.
  const [{ ProxyServer }, { defaultCaDir }, { Recording }, { ScriptError }, { loadScript }, { cliPolicies, RulesSource }, { TerminalBreaks }, { compileFilter, FilterError }] =
    await Promise.all([
      import('../engine/proxy/server'),
      import('../engine/certificates/ca-store'),
      import('../engine/recording/recording'),
      import('../engine/intervene/scripts'),
      import('./script'),
      import('./intervene'),
      import('./breakpoints'),
      import('../engine/intervene/filter'),
    ]);
  const name = run?.name ?? 'proxy';
  const say = (line: string) => process.stderr.write(`framescope ${name}: ${line}\n`);
  const decoding = await decodeSetup(o);
  let filter: Filter | null = null;
  if (o.break !== undefined) {
    try {
      filter = compileFilter(o.break);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      errorLine(`--break: ${err.message}`);
      return EXIT_USAGE;
    }
  }
  let rules: RulesSource | null = null;
  if (o.rules) {
    try {
      rules = await RulesSource.load(o.rules, say);
    } catch (err) {
      errorLine((err as Error).message);
      return EXIT_USAGE;
    }
  }
  let script: ScriptHost | null = null;
  if (o.script) {
    try {
      // Without --script-timeout, --timeout bounds a hook too.
      script = await loadScript(o.script, o.scriptTimeout ?? o.timeout, say);
    } catch (err) {
      rules?.stop();
      if (!(err instanceof ScriptError)) throw err;
      errorLine(err.message);
      return EXIT_USAGE;
    }
  }
  const breaks = filter
    ? new TerminalBreaks({ filter, input: process.stdin, tty: !!process.stdin.isTTY, say, editor: process.env['EDITOR'] || process.env['VISUAL'] || 'vi' })
    : null;
  const stopIntervening = () => {
    script?.stop();
    rules?.stop();
    breaks?.stop();
  };
  if (o.capture) recordingGoesOn();
  liveOutput();
  const print = o.quiet ? null : eventPrinter({ json: o.json, multi: true, decode: decoding.decode, decoders: decoding.decoders });
  let recording: Recording | null = null;
  if (o.capture) {
    const journalPath = `${o.capture}.journal`;
    try {
      // A full disk (or any failed write) does not stop the proxy: the app and its server
      // keep talking, the recording goes on in memory, and the user is told once, here.
      recording = new Recording(o.capture, (err) =>
        errorLine(`cannot write ${journalPath}: ${ioReason(err)}; recording goes on in memory (what came before is kept), connections are still relayed`),
      );
    } catch (err) {
      errorLine(`cannot write ${journalPath}: ${ioReason(err as NodeJS.ErrnoException)}`);
      return EXIT_FAILURE;
    }
  }
  const sink = (e: EngineEvent) => {
    recording?.append(e);
    print?.(e);
  };

  let proxy: ProxyServer;
  try {
    proxy = await ProxyServer.start({
      host: o.listen.host,
      port: o.listen.port,
      target: o.target,
      allowHosts: o.allowHosts,
      noIntercept: Array.isArray(o.intercept) ? o.intercept : undefined,
      caDir: o.target ? undefined : (o.caDir ?? defaultCaDir()),
      insecure: o.insecure,
      timeoutMs: o.timeout,
      sink,
      log: say,
      app: run?.app,
      // A line a rule's action: per event, so --quiet leaves it out like the events themselves.
      intervene: cliPolicies({ rules, script, breaks, report: o.quiet ? () => {} : say }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? `${o.listen.host}:${o.listen.port} is already in use` : e.code === 'EACCES' ? `no permission to listen on ${o.listen.host}:${o.listen.port}` : e.message;
    errorLine(`cannot start the proxy: ${why}`);
    stopIntervening();
    recording?.close();
    return EXIT_FAILURE;
  }
  const a = proxy.address;
  const shown = `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  let exitCode = EXIT_OK;
  if (run) {
    // The app's exit ends the command (a signal to us goes on to the app: run.until).
    exitCode = await run.until(proxy, proxy.ca);
  } else {
    process.stderr.write(
      o.target
        ? `framescope proxy: listening on ${shown}, reverse proxy to ${o.target}; point the app at ws://${shown}/\n`
        : `framescope proxy: listening on ${shown}, forward HTTP proxy (CONNECT and absolute-form; TLS intercepted with the CA in ${o.caDir ?? defaultCaDir()})\n`,
    );
    // A CA made just now is one no client trusts yet: say so, once, with what to trust.
    if (proxy.ca?.created) {
      process.stderr.write(`framescope proxy: created a new interception CA; clients must trust ${proxy.ca.certPath} for wss:// (see framescope ca)\n`);
    }

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  // Quitting drops what is still held (by a script, a delay, a question at the terminal):
  // the sockets end, and those messages are recorded as never delivered before each
  // connection's close.
  await proxy.stop();
  stopIntervening();
  if (recording) {
    const journalPath = recording.journalPath;
    // A long session's journal takes seconds to turn into the capture: say so first.
    const size = recording.size;
    if (size >= 64 * 1024 * 1024) process.stderr.write(`framescope ${name}: writing ${recording.capturePath} from its journal (${(size / 1024 / 1024).toFixed(0)} MiB)…\n`);
    const s = finishRecording(recording);
    if (!s) return EXIT_FAILURE;
    process.stderr.write(`framescope ${name}: wrote ${recording.capturePath} (${s.connections} connections, ${s.frames} frames)\n`);
    if (s.warnings.length > 0) {
      // Records of a journal this process wrote whole were unreadable (a disk error): keep it.
      for (const w of s.warnings) errorLine(`warning: ${w}`);
      errorLine(`${recording.capturePath} is incomplete; the journal ${journalPath} is kept`);
      return EXIT_FAILURE;
    }
    if (s.failure && s.stripped > 0) {
      errorLine(`${recording.capturePath} is incomplete: the journal stopped (${ioReason(s.failure)}) and ${s.stripped} later frames were kept without their payloads (past the memory limit)`);
      return EXIT_FAILURE;
    }
  }
  return exitCode;
}
