// `framescope mock CAPTURE --listen [HOST:]PORT`: a WebSocket server that plays a recorded
// connection's server side to every client that connects (docs/contracts.md "mock").
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EngineEvent } from '../../shared/model';
import { parseListen, type ListenAddress } from '../engine/listen';
import type { Recording } from '../engine/recording/recording';
import type { ScriptHost } from '../engine/intervene/scripts';
import type { MockReport } from '../engine/mock/mock-server';
import type { MockMatch } from '../engine/mock/mock-match';
import type { DecodeChoice } from '../../shared/decoders';
import { ioReason } from '../engine/io-errors';
import { scriptTimeoutOption } from './proxy-options';
import { addDecodeOptions, decodeSetup } from './decode-option';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, errorLine, eventPrinter, finishRecording, liveOutput, printLine, recordingGoesOn } from './output';

interface MockCliOptions {
  listen: ListenAddress;
  connection?: string;
  mode?: 'order' | 'match';
  match?: string;
  timing: 'recorded' | 'asap';
  script?: string;
  scriptTimeout?: number;
  capture?: string;
  json: boolean;
  quiet: boolean;
  decode?: DecodeChoice;
  proto?: string;
  protoType?: string;
}

export function registerMock(program: Command, run: (p: Promise<number>) => void): void {
  const cmd = program
    .command('mock')
    .description("a WebSocket server that plays a recorded connection's server side to every client that connects")
    .argument('<capture>', 'a capture, a proxy journal or a HAR (whatever import reads)')
    .requiredOption('--listen <[host:]port>', 'where to listen (host defaults to 127.0.0.1)', (v: string) => {
      try {
        return parseListen(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    })
    .option('--connection <id>', "which recorded connection to play (default: the first whose handshake was answered 101)")
    .addOption(new Option('--mode <mode>', "order: the server's messages in recorded order, each group once the client has sent as many messages as before it; match: answer each client message with what followed the recorded one it matches (default: order, match when --match is given)").choices(['order', 'match']))
    .option('--match <how>', 'match mode: exact (opcode and bytes), json:PATH[,PATH…] (equal values there) or regex:PATTERN (equal capture groups)')
    .addOption(new Option('--timing <timing>', 'recorded: keep the recorded gaps between a trigger and its answers; asap: send at once').choices(['recorded', 'asap']).default('recorded'))
    .option('--script <file>', "an ES module (.mjs/.js): onMessage sees the client's messages before they are matched and the recorded answers before they go out (return a replacement, null to drop); ctx.inject('client', …) and ctx.close; reloaded when it changes")
    .option('--script-timeout <ms>', 'how long a script hook may take before its message goes on unchanged (default 5000)', scriptTimeoutOption)
    .option('--capture <file>', 'write the mocked connections as a capture file on exit (Ctrl-C, SIGINT or SIGTERM); FILE.journal is kept while running')
    .option('--json', 'print NDJSON events instead of the human view', false)
    .option('--quiet', 'print nothing per event (the capture still records everything)', false);
  addDecodeOptions(cmd).action((capture: string, opts: MockCliOptions) => run(runMock(capture, opts)));
}

async function runMock(file: string, o: MockCliOptions): Promise<number> {
  const [{ MockServer }, { readMockRecording, MockCaptureError }, { parseMockMatch }, { SpecError }, { openInput, warn }, { CaptureFormatError }, { Recording }, { ScriptError }, { loadScript }, { base64 }] =
    await Promise.all([
      import('../engine/mock/mock-server'),
      import('../engine/mock/mock-capture'),
      import('../engine/mock/mock-match'),
      import('../engine/intervene/matcher'),
      import('./capture-files'),
      import('../engine/recording/capture-source'),
      import('../engine/recording/recording'),
      import('../engine/intervene/scripts'),
      import('./script'),
      import('../engine/base64'),
    ]);
  const say = (line: string) => process.stderr.write(`framescope mock: ${line}\n`);
  let match: MockMatch = { kind: 'exact' };
  if (o.match !== undefined) {
    if (o.mode === 'order') {
      errorLine('--match is for --mode match');
      return EXIT_USAGE;
    }
    try {
      match = parseMockMatch(o.match);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      errorLine(`--match ${err.message}`);
      return EXIT_USAGE;
    }
  }
  const mode = o.mode ?? (o.match !== undefined ? 'match' : 'order');

  let recording;
  const source = openInput(file);
  try {
    warn(source);
    recording = readMockRecording(source, o.connection);
  } catch (err) {
    if (err instanceof CaptureFormatError || err instanceof MockCaptureError) {
      errorLine(err.message);
      return EXIT_FAILURE;
    }
    throw err;
  } finally {
    source.close();
  }
  for (const w of recording.warnings) errorLine(`warning: ${w}`);

  let script: ScriptHost | null = null;
  if (o.script) {
    try {
      script = await loadScript(o.script, o.scriptTimeout, say);
    } catch (err) {
      if (!(err instanceof ScriptError)) throw err;
      errorLine(err.message);
      return EXIT_USAGE;
    }
  }

  if (o.capture) recordingGoesOn();
  liveOutput();
  const decoding = await decodeSetup(o);
  const print = o.quiet ? null : eventPrinter({ json: o.json, multi: true, decode: decoding.decode, decoders: decoding.decoders });
  let capture: Recording | null = null;
  if (o.capture) {
    const journalPath = `${o.capture}.journal`;
    try {
      capture = new Recording(o.capture, (err) => errorLine(`cannot write ${journalPath}: ${ioReason(err)}; recording goes on in memory`));
    } catch (err) {
      script?.stop();
      errorLine(`cannot write ${journalPath}: ${ioReason(err as NodeJS.ErrnoException)}`);
      return EXIT_FAILURE;
    }
  }
  const sink = (e: EngineEvent) => {
    capture?.append(e);
    print?.(e);
  };
  const report = (r: MockReport) => {
    if (o.quiet) return;
    const text = r.opcode === 1 ? new TextDecoder().decode(r.data) : undefined;
    if (o.json) {
      const { data, ...rest } = r;
      printLine(JSON.stringify({ event: 'mock', ...rest, data: base64(data), ...(text !== undefined ? { text } : {}) }));
      return;
    }
    const what = text !== undefined ? JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text) : `binary, ${r.data.length} bytes`;
    printLine(
      r.kind === 'unmatched'
        ? `${r.connection} ? client message ${r.index} matches no recorded one, not answered: ${what}`
        : `${r.connection} = client message ${r.index} is recorded message ${r.recorded} (${r.answers} answer${r.answers === 1 ? '' : 's'}): ${what}`,
    );
  };

  let server;
  try {
    server = await MockServer.start({
      host: o.listen.host,
      port: o.listen.port,
      recording,
      mode,
      match,
      timing: o.timing,
      sink,
      report,
      policy: script ? (id) => script.policy(id) : undefined,
      log: say,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? `${o.listen.host}:${o.listen.port} is already in use` : e.code === 'EACCES' ? `no permission to listen on ${o.listen.host}:${o.listen.port}` : e.message;
    errorLine(`cannot start the mock: ${why}`);
    script?.stop();
    capture?.close();
    return EXIT_FAILURE;
  }
  const a = server.address;
  const shown = `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  const answers = recording.groups.reduce((n, g) => n + g.filter((s) => s.kind === 'message').length, 0);
  say(`listening on ${shown}, playing ${recording.connection} of ${file} (${recording.client.length} client and ${answers} server messages, ${mode} mode); point the client at ws://${shown}/`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  script?.stop();
  if (capture) {
    const s = finishRecording(capture);
    if (!s) return EXIT_FAILURE;
    say(`wrote ${capture.capturePath} (${s.connections} connections, ${s.frames} frames)`);
    if (s.warnings.length > 0) {
      for (const w of s.warnings) errorLine(`warning: ${w}`);
      return EXIT_FAILURE;
    }
  }
  return EXIT_OK;
}
