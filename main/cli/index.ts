// The command line (docs/contracts.md "Command line"). Parsing is commander's; every user
// mistake ends as one line on stderr and exit 2, never a stack trace.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseCloseSpec, parseHeader, parseHexArg, type Outgoing } from './connect-args';
import { registerCaCommand } from './ca';
import { registerProxy } from './proxy';
import { scriptTimeoutOption } from './proxy-options';
import { registerLaunch } from './launch';
import { registerServe } from './serve';
import { registerExport } from './export';
import { registerImport } from './import';
import { registerReplay } from './replay';
import { registerMock } from './mock';
import { launchDesktop } from './desktop';
import { ProtoFileError, addDecodeOptions } from './decode-option';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, errorLine, flushOutput } from './output';

function positiveInt(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return Number(value);
  };
}

function wholeNumber(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(value);
  };
}

function usage<T>(fn: (v: string, prev: T) => T) {
  return (v: string, prev: T): T => {
    try {
      return fn(v, prev);
    } catch (err) {
      if (err instanceof UsageError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

export function buildProgram(run: (p: Promise<number>) => void): Command {
  const program = new Command();
  program
    .name('framescope')
    .description('Framescope: every WebSocket handshake and frame, exactly as on the wire')
    .version(__FRAMESCOPE_VERSION__)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (s) => process.stderr.write(`framescope: ${s.replace(/^error: /, '')}`) });

  // --send and --send-hex go out in command-line order: both append to one list.
  const outgoing: Outgoing[] = [];
  const connect = program
    .command('connect')
    .description('open a WebSocket connection by hand')
    .argument('<url>', 'ws:// or wss:// URL')
    .option('-H, --header <header>', 'extra handshake header "Name: value" (repeatable)', usage(parseHeader), [])
    .option('-p, --protocol <name>', 'offer a subprotocol (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--send <text>', 'send a text message after the handshake (repeatable)', (v: string) => {
      outgoing.push({ kind: 'text', text: v });
    })
    .option('--send-hex <hex>', 'send a binary message given as hex (repeatable)', usage((v: string) => {
      outgoing.push({ kind: 'binary', data: parseHexArg(v) });
    }))
    .option('--ping [text]', "send a ping; its pong's round-trip time is reported")
    .option('--fragment <n>', 'split each sent message into frames of at most N bytes', positiveInt('--fragment'))
    .option('--expect <n>', 'wait until N data messages have been received', wholeNumber('--expect'))
    .option('--timeout <ms>', 'give up waiting after MS (exit 1)', positiveInt('--timeout'))
    .addOption(new Option('--close [code:reason]', 'close with this code (default 1000) after sending/expecting').argParser(usage((v: string) => parseCloseSpec(v))))
    .option('--tolerant', 'keep the connection open through protocol violations', false)
    .option('--no-deflate', 'do not offer permessage-deflate')
    .option('--insecure', "do not verify the server's TLS certificate", false)
    .option('--ca <file>', 'trust this CA certificate (PEM) for wss://')
    .option('--json', 'print NDJSON events instead of the human view', false)
    .option('--hex', 'show a hex dump of every payload (human view)', false)
    .option('--capture <file>', 'write the connection as a capture file on exit')
    .option('--script <file>', "an ES module (.mjs/.js) whose onMessage sees the server's messages before they count and yours before they go out; reloaded when it changes")
    .option('--script-timeout <ms>', 'how long a script hook may take before its message goes on unchanged (default: --timeout if given, else 5000)', scriptTimeoutOption)
    .option('--rules <file>', "a rules file (docs/rules.md) applied to the server's messages and yours; reloaded when it changes; decides before --script");
  addDecodeOptions(connect).action((url: string, opts) => {
      run(
        import('./connect').then((m) => m.runConnect(url, {
          header: opts.header,
          protocol: opts.protocol,
          outgoing,
          ping: opts.ping,
          fragment: opts.fragment,
          expect: opts.expect,
          timeout: opts.timeout,
          close: opts.close === true ? parseCloseSpec(true) : opts.close,
          tolerant: opts.tolerant,
          deflate: opts.deflate,
          insecure: opts.insecure,
          ca: opts.ca,
          json: opts.json,
          hex: opts.hex,
          capture: opts.capture,
          script: opts.script,
          scriptTimeout: opts.scriptTimeout,
          rules: opts.rules,
          decode: opts.decode,
          proto: opts.proto,
          protoType: opts.protoType,
        })),
      );
    });

  const decodeCmd = program
    .command('decode')
    .description("decode one direction of a connection's bytes: frames, or an HTTP upgrade head and the frames after it")
    .argument('<file>', 'the bytes one side sent: from its HTTP head on (a TCP stream saved whole) or after the handshake')
    .addOption(new Option('--from <side>', 'who sent the bytes (implied by a head at the start)').choices(['client', 'server']))
    .option('--head <file>', "the other direction's HTTP head: a file that starts with it (its frames are not read)")
    .option('--json', 'print NDJSON frame events', false)
    .option('--stats', 'print one JSON line of counts and nothing per frame', false)
    .option('--hex', 'show a hex dump of every payload (human view)', false)
    .option('--deflate', 'inflate RSV1 messages as permessage-deflate (context takeover, 15-bit window) where no response head says', false);
  addDecodeOptions(decodeCmd).action((file: string, opts) => {
    run(import('./decode').then((m) => m.runDecode(file, { from: opts.from, json: opts.json, stats: opts.stats, hex: opts.hex, deflate: opts.deflate, head: opts.head, decode: opts.decode, proto: opts.proto, protoType: opts.protoType })));
  });

  registerCaCommand(program, run);

  registerProxy(program, run);
  registerLaunch(program, run);
  registerServe(program, run);
  registerExport(program, run);
  registerImport(program, run);
  registerReplay(program, run);
  registerMock(program, run);

  return program;
}

declare const __FRAMESCOPE_VERSION__: string;

async function main(argv: string[]): Promise<void> {
  let pending: Promise<number> | null = null;
  const program = buildProgram((p) => (pending = p));
  try {
    if (argv.length <= 2) {
      // The bare command opens the desktop app (`framescope --help` lists the commands).
      process.exitCode = await launchDesktop();
      return;
    }
    await program.parseAsync(argv);
    if (pending) process.exitCode = await pending;
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (err instanceof UsageError) {
      errorLine(err.message);
      process.exitCode = EXIT_USAGE;
      return;
    }
    if (err instanceof ProtoFileError) {
      errorLine(err.message);
      process.exitCode = EXIT_FAILURE;
      return;
    }
    // Not a user error: say so plainly. The stack goes to stderr only with FRAMESCOPE_DEBUG.
    errorLine(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env['FRAMESCOPE_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

await main(process.argv);
flushOutput();
// What is written to a pipe past what the pipe holds is still queued here: exiting now
// would cut the output (`decode --json | jq` lost all but the first ~450 KB). Wait for
// stdout and stderr to take everything (a reader that went away has taken what it will).
await Promise.all(
  [process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => (s.writableLength > 0 && !s.destroyed ? s.write('', () => resolve()) : resolve()))),
);
// Open handles (a lingering socket, stdin) must not keep a finished command alive.
process.exit(process.exitCode ?? 0);
