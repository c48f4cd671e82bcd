// `framescope connect <url>`: open a connection by hand, send, expect, ping, close, and
// show (or print as NDJSON) everything that crossed the wire.
import { readFileSync } from 'node:fs';
import { clearLine, createInterface, cursorTo } from 'node:readline';
import { LocalProtocolError } from '../../shared/codec/endpoint';
import { FrameEncodeError } from '../../shared/codec/frame-writer';
import type { CloseRecord, EngineEvent, ErrorKind } from '../../shared/model';
import { ClientError, WebSocketClient } from '../engine/client/client';
import { Recording } from '../engine/recording/recording';
import { ioReason } from '../engine/io-errors';
import type { DecodeChoice } from '../../shared/decoders';
import { decodeSetup } from './decode-option';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, errorLine, eventPrinter, finishRecording, flushOutput, printLine, liveOutput, recordingGoesOn, setWriteGuard } from './output';
import { ScriptError, type ScriptHost } from '../engine/intervene/scripts';
import { loadScript } from './script';
import { cliPolicy, RulesSource } from './intervene';
import type { ConnectionPolicy } from '../engine/intervene/lane';
import { LineError, SLASH_HELP, parseLine, type LineCommand } from './slash';

import type { Outgoing } from './connect-args';

export interface ConnectCliOptions {
  header: Array<[string, string]>;
  protocol: string[];
  outgoing: Outgoing[];
  ping?: string | true;
  fragment?: number;
  expect?: number;
  timeout?: number;
  close?: { code: number; reason: string };
  tolerant: boolean;
  deflate: boolean;
  insecure: boolean;
  ca?: string;
  json: boolean;
  hex: boolean;
  /** --decode: the application protocol to decode messages as */
  decode?: DecodeChoice;
  /** --proto, --proto-type: protobuf with a schema */
  proto?: string;
  protoType?: string;
  capture?: string;
  script?: string;
  scriptTimeout?: number;
  rules?: string;
}

export async function runConnect(url: string, o: ConnectCliOptions): Promise<number> {
  // A bad .proto is found before anything connects.
  const decoding = await decodeSetup(o);
  let rules: RulesSource | null = null;
  if (o.rules) {
    try {
      rules = await RulesSource.load(o.rules, (line) => errorLine(line));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  let script: ScriptHost | null = null;
  if (o.script) {
    try {
      // Without --script-timeout, --timeout bounds a hook too.
      script = await loadScript(o.script, o.scriptTimeout ?? o.timeout, (line) => errorLine(line));
    } catch (err) {
      rules?.stop();
      if (err instanceof ScriptError) throw new UsageError(err.message);
      throw err;
    }
  }
  const policy = rules || script ? cliPolicy('c1', { rules, script, report: (line) => errorLine(line) }) : undefined;
  try {
    return await connectWith(url, o, policy, decoding);
  } finally {
    script?.stop();
    rules?.stop();
  }
}

async function connectWith(url: string, o: ConnectCliOptions, policy: ConnectionPolicy | undefined, decoding: Awaited<ReturnType<typeof decodeSetup>>): Promise<number> {
  if (o.capture) recordingGoesOn();
  liveOutput();
  // The client has no 'open' event: its TLS session (known by the handshake) is looked up.
  let client: WebSocketClient | undefined;
  let recording: Recording | null = null;
  // A journal that cannot be made does not stop the session: the capture's failure is told at the end.
  let cannotRecord: NodeJS.ErrnoException | null = null;
  if (o.capture) {
    const journalPath = `${o.capture}.journal`;
    try {
      recording = new Recording(o.capture, (err) => errorLine(`cannot write ${journalPath}: ${ioReason(err)}; recording goes on in memory`));
    } catch (err) {
      cannotRecord = err as NodeJS.ErrnoException;
    }
  }
  let opened = false;
  const record = (e: EngineEvent) => {
    if (!recording || !client) return;
    // The journal's reader builds the connection from its events: it gets the 'open' the
    // client's output has not (docs/contracts.md), from the record, before anything else.
    if (!opened) {
      opened = true;
      const r = client.record;
      recording.append({ event: 'open', connection: r.id, mode: r.mode, url: r.url, client: r.client, server: r.server, startedAt: r.startedAt, tls: r.tls });
    }
    recording.append(e);
  };
  const print = eventPrinter({ json: o.json, hex: o.hex, decode: decoding.decode, decoders: decoding.decoders, tlsOf: () => client?.record.tls ?? null });
  let firstError: { kind: ErrorKind; message: string } | null = null;
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = readFileSync(o.ca);
    } catch (err) {
      throw new UsageError(`cannot read --ca ${o.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  try {
    client = WebSocketClient.create({
      url,
      headers: o.header,
      protocols: o.protocol,
      deflate: o.deflate,
      insecure: o.insecure,
      ca,
      tolerant: o.tolerant,
      handshakeTimeout: o.timeout ?? 10_000,
      // Frames go to the terminal and the recording as they come; none are kept in memory.
      keepFrames: false,
      policy,
      onEvent: (e) => {
        if (e.event === 'error' && !firstError) firstError = { kind: e.kind, message: e.message };
        record(e);
        print(e);
      },
    });
  } catch (err) {
    if (err instanceof ClientError && err.kind === 'usage') throw new UsageError(err.message);
    throw err;
  }

  const finish = (code: number): number => {
    if (cannotRecord) {
      errorLine(`cannot write the capture ${o.capture}: ${ioReason(cannotRecord)}`);
      return EXIT_FAILURE;
    }
    if (recording) {
      // A connection that never got as far as an event still has its record in the capture.
      if (!opened) record({ event: 'error', connection: client!.record.id, kind: 'network', message: client!.record.errors[0] ?? 'no connection was made' });
      const r = finishRecording(recording);
      if (!r) return EXIT_FAILURE;
      for (const w of r.warnings) errorLine(`warning: ${w}`);
    }
    return code;
  };
  const fail = (kind: ErrorKind, message: string): number => {
    if (!firstError) {
      client.recorder.error(kind, message);
    }
    errorLine(firstError?.message ?? message);
    return finish(EXIT_FAILURE);
  };

  try {
    await client.open();
  } catch (err) {
    if (err instanceof ClientError) {
      if (err.kind === 'usage') {
        errorLine(err.message);
        return finish(EXIT_USAGE);
      }
      return fail(err.kind, err.message);
    }
    throw err;
  }
  client.on('error', () => {
    /* recorded through onEvent; the outcome is judged when the command ends */
  });

  const scripted = o.outgoing.length > 0 || o.expect !== undefined || o.close !== undefined || o.ping !== undefined;
  let received = 0;
  const messageWaiters: Array<() => void> = [];
  client.on('message', () => {
    received++;
    for (const w of messageWaiters.splice(0)) w();
  });
  let closedRecord: CloseRecord | null = null;
  void client.closed.then((c) => (closedRecord = c));

  const deadline = o.timeout !== undefined ? Date.now() + o.timeout : Infinity;
  /** Waits for `cond`, re-checked on every message, until the deadline or the connection ends. */
  const waitFor = async (cond: () => boolean, what: () => string): Promise<'ok' | 'timeout' | 'closed'> => {
    while (!cond()) {
      if (closedRecord) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const t = Number.isFinite(left) ? setTimeout(resolve, left) : null;
        messageWaiters.push(() => {
          if (t) clearTimeout(t);
          resolve();
        });
        void client.closed.then(() => {
          if (t) clearTimeout(t);
          resolve();
        });
      });
      void what;
    }
    return 'ok';
  };

  const protocolFailed = () => client.record.errors.length > 0 && firstError?.kind === 'protocol';

  if (!scripted) return finish(await interactive(client, o));

  try {
    for (const item of o.outgoing) {
      if (closedRecord) break;
      const options = { fragmentSize: o.fragment };
      if (item.kind === 'text') await client.send(1, new TextEncoder().encode(item.text), options);
      else await client.send(2, item.data, options);
    }
    if (o.ping !== undefined && !closedRecord) {
      const payload = Buffer.from(o.ping === true ? '' : o.ping);
      let rtt: number | null = null;
      void client.ping(payload).then((r) => {
        rtt = r;
        for (const w of messageWaiters.splice(0)) w();
      });
      const r = await waitFor(() => rtt !== null, () => 'the pong');
      if (r === 'timeout') return timeoutExit(client, o, 'the pong answering the ping', fail);
      if (r === 'closed' && rtt === null) return endedEarly(client, 'before the pong arrived', fail, firstError);
      if (!o.json) printLine(`ping round trip: ${(rtt as number | null)?.toFixed(3)} ms`);
    }
    if (o.expect !== undefined) {
      const n = o.expect;
      const r = await waitFor(() => received >= n, () => `${n} messages`);
      if (r === 'timeout') return timeoutExit(client, o, `${n} messages (got ${received})`, fail);
      if (r === 'closed' && received < n) return endedEarly(client, `after ${received} of ${n} expected messages`, fail, firstError);
    }
  } catch (err) {
    if (err instanceof LocalProtocolError) {
      // The connection closed under us (the server or a failure sent a close frame).
      if (protocolFailed() || !closedRecord) {
        await client.closed;
      }
    } else {
      throw err;
    }
  }

  const close = o.close ?? { code: 1000, reason: '' };
  if (!client.record.close && !protocolFailed()) {
    try {
      await client.close(close.code, close.reason);
    } catch (err) {
      if (!(err instanceof LocalProtocolError)) throw err;
    }
  }
  const result = await client.closed;
  if (firstError) {
    errorLine((firstError as { message: string }).message);
    return finish(EXIT_FAILURE);
  }
  return finish(result.code === null && result.by === 'transport' ? EXIT_FAILURE : EXIT_OK);
}

function timeoutExit(client: WebSocketClient, o: ConnectCliOptions, what: string, fail: (k: ErrorKind, m: string) => number): number {
  const code = fail('timeout', `timed out after ${o.timeout} ms waiting for ${what}`);
  client.destroy();
  return code;
}

function endedEarly(
  client: WebSocketClient,
  when: string,
  fail: (k: ErrorKind, m: string) => number,
  firstError: { kind: ErrorKind; message: string } | null,
): number {
  const c = client.record.close;
  const how = c?.code != null ? `closed with ${c.code}${c.reason ? ` "${c.reason}"` : ''} by the ${c.by}` : 'ended';
  if (firstError) return fail(firstError.kind, firstError.message);
  return fail('network', `the connection ${how} ${when} (${client.record.server ?? client.record.url})`);
}

/**
 * Like wscat: each stdin line goes out as a text message, "/" lines are commands (slash.ts);
 * EOF or Ctrl-C closes with 1000. The prompt is shown only when stdin is a terminal; piped
 * lines are read the same way, commands included, and nothing but events reaches stdout.
 */
async function interactive(client: WebSocketClient, o: ConnectCliOptions): Promise<number> {
  // The prompt goes where the user looks: stdout, or stderr when stdout is redirected.
  const promptOut = !process.stdin.isTTY ? null : process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : null;
  const rl = createInterface({ input: process.stdin, output: promptOut ?? undefined, terminal: !!promptOut, prompt: 'ws> ' });
  /**
   * Output while the user may be typing: clear the prompt line, write, draw the prompt again
   * with what was typed (readline keeps it), so the two never mix on one line.
   */
  const aroundPrompt = (write: () => void) => {
    if (!promptOut) return write();
    clearLine(promptOut, 0);
    cursorTo(promptOut, 0);
    write();
    // After the connection's last event the prompt stays away.
    if (!client.record.close) rl.prompt(true);
  };
  if (promptOut === process.stdout) setWriteGuard(aroundPrompt);
  /** A note for the user (help, a line that could not be sent): stderr, never stdout's events. */
  const say = (text: string) => aroundPrompt(() => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`));

  let closing = false;
  const closeNow = () => {
    if (closing) return;
    closing = true;
    try {
      void client.close(1000, '');
    } catch {
      /* already closed */
    }
  };
  // A second Ctrl-C: the user does not want to wait for the server's close.
  const interrupt = () => (closing && !client.record.close ? client.destroy() : closeNow());
  const carryOut = (line: string) => {
    if (client.record.close) return say('framescope: not sent: the connection has ended');
    let command: LineCommand;
    try {
      command = parseLine(line);
    } catch (err) {
      if (err instanceof LineError) return say(`framescope: ${err.message}`);
      throw err;
    }
    const options = { fragmentSize: o.fragment };
    try {
      switch (command.kind) {
        case 'help':
          return say(SLASH_HELP);
        case 'text':
          return void client.send(1, new TextEncoder().encode(command.text), options);
        case 'binary':
          return void client.send(2, command.data, options);
        case 'ping':
          // The round-trip time is shown on the pong's frame line.
          return void client.ping(command.payload);
        case 'pong':
          return client.pong(command.payload);
        case 'close':
          closing = true;
          return void client.close(command.code, command.reason);
        case 'frame':
          return client.sendRaw(command.frame);
      }
    } catch (err) {
      if (err instanceof LocalProtocolError || err instanceof FrameEncodeError) return say(`framescope: not sent: ${err.message}`);
      throw err;
    }
  };
  rl.on('line', (line) => {
    carryOut(line);
    // On stdout every line ends in output (its frame, or a note) that draws the prompt
    // again; with the events redirected, the prompt on stderr is drawn here.
    if (promptOut && promptOut !== process.stdout && !client.record.close) rl.prompt();
  });
  rl.on('close', closeNow);
  // In a terminal readline takes Ctrl-C itself (raw mode) and tells it here.
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  if (promptOut) {
    flushOutput(); // the handshake, before the first prompt
    rl.prompt();
  }
  const result = await client.closed;
  // The last events, then the prompt goes away for good.
  flushOutput();
  setWriteGuard(null);
  if (promptOut) {
    clearLine(promptOut, 0);
    cursorTo(promptOut, 0);
  }
  rl.close();
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  process.stdin.destroy();
  const errors = client.record.errors;
  if (errors.length > 0) {
    errorLine(errors[0]!);
    return EXIT_FAILURE;
  }
  return result.code === null && result.by === 'transport' ? EXIT_FAILURE : EXIT_OK;
}
