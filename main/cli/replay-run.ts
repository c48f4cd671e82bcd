// `framescope replay CAPTURE`: plays a recorded connection's client side again (against the
// recorded URL or --target) and prints how the server's answers compare with the recording's.
// Connections are replayed one after another, in the order they began.
import type { EngineEvent, HeaderList } from '../../shared/model';
import { comparisonLines, differences, type ReplayComparison } from '../../shared/replay';
import { ClientError, WebSocketClient } from '../engine/client/client';
import { Recording } from '../engine/recording/recording';
import { CaptureFormatError, type CaptureSource } from '../engine/recording/capture-source';
import { ReplayError, planReplay, runReplay, type ReplayPlan } from '../engine/replay/replay';
import { ioReason } from '../engine/io-errors';
import { EXIT_FAILURE, EXIT_OK, UsageError, errorLine, eventPrinter, finishRecording, liveOutput, printLine, recordingGoesOn } from './output';
import { openInput, warn } from './capture-files';
import { engineDecoders } from './decode-option';

export interface ReplayCliOptions {
  connection: string[];
  target?: string;
  header: HeaderList;
  /** false: --no-headers, the recorded request's headers are not sent */
  headers: boolean;
  deflate: boolean;
  speed?: number;
  asap: boolean;
  waitForServer: boolean;
  timeout?: number;
  fragment?: number;
  insecure: boolean;
  json: boolean;
  quiet: boolean;
  strict: boolean;
  capture?: string;
}

export async function runReplayCommand(input: string, o: ReplayCliOptions): Promise<number> {
  let source: CaptureSource;
  try {
    source = openInput(input);
  } catch (err) {
    if (err instanceof CaptureFormatError) {
      errorLine(err.message);
      return EXIT_FAILURE;
    }
    throw err;
  }
  try {
    warn(source);
    const picked = pick(source, o.connection);
    const plans: ReplayPlan[] = [];
    try {
      for (const i of picked) plans.push(planReplay(source.connections[i]!.head, source.frames(i), { target: o.target, recordedHeaders: o.headers, headers: o.header }));
    } catch (err) {
      if (err instanceof ReplayError || err instanceof CaptureFormatError) {
        errorLine(err.message);
        return EXIT_FAILURE;
      }
      throw err;
    }
    return await replayAll(plans, o);
  } finally {
    source.close();
  }
}

function pick(source: CaptureSource, wanted: string[]): number[] {
  if (source.connections.length === 0) throw new UsageError(`${source.file} holds no connections to replay`);
  if (wanted.length === 0) return source.connections.map((_, i) => i);
  return wanted.map((id) => {
    const i = source.connections.findIndex((c) => c.head.id === id);
    if (i < 0) throw new UsageError(`${source.file} has no connection ${id} (it has ${source.connections.map((c) => c.head.id).slice(0, 20).join(', ')})`);
    return i;
  });
}

async function replayAll(plans: ReplayPlan[], o: ReplayCliOptions): Promise<number> {
  if (o.capture) recordingGoesOn();
  liveOutput();
  let recording: Recording | null = null;
  if (o.capture) {
    try {
      recording = new Recording(o.capture, (err) => errorLine(`cannot write ${o.capture}.journal: ${ioReason(err)}; recording goes on in memory`));
    } catch (err) {
      errorLine(`cannot write the capture ${o.capture}: ${ioReason(err as NodeJS.ErrnoException)}`);
      return EXIT_FAILURE;
    }
  }
  const print = o.quiet ? null : eventPrinter({ json: o.json, multi: plans.length > 1, decoders: await engineDecoders() });
  let failed = false;
  let differed = false;
  for (const [n, plan] of plans.entries()) {
    const id = `c${n + 1}`;
    let opened = false;
    let client: WebSocketClient;
    const onEvent = (e: EngineEvent) => {
      if (recording) {
        // The journal builds the connection from an open event first (as connect's does).
        if (!opened) {
          opened = true;
          const r = client.record;
          recording.append({ event: 'open', connection: r.id, mode: r.mode, url: r.url, client: r.client, server: r.server, startedAt: r.startedAt, tls: r.tls });
        }
        recording.append(e);
      }
      print?.(e);
    };
    try {
      client = WebSocketClient.create({
        url: plan.url,
        id,
        headers: plan.headers,
        protocols: plan.protocols,
        deflate: o.deflate && plan.deflate,
        insecure: o.insecure,
        handshakeTimeout: o.timeout ?? 10_000,
        keepFrames: false,
        onEvent,
      });
    } catch (err) {
      if (err instanceof ClientError) throw new UsageError(`connection ${plan.recorded.id}: ${err.message}`);
      throw err;
    }
    client.on('error', () => {
      /* recorded through onEvent; the first failure is told below */
    });
    for (const line of plan.notes) errorLine(`${plan.recorded.id}: ${line}`);
    try {
      await client.open();
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      errorLine(`${plan.recorded.id}: ${err.message}`);
      failed = true;
      continue;
    }
    const result = await runReplay(client, plan, {
      speed: o.speed,
      asap: o.asap,
      waitForServer: o.waitForServer,
      timeout: o.timeout,
      fragmentSize: o.fragment,
      note: (line) => errorLine(`${plan.recorded.id}: ${line}`),
    });
    if (client.record.errors.length > 0) {
      errorLine(`${plan.recorded.id}: ${client.record.errors[0]}`);
      failed = true;
    }
    if (differences(result.comparison) > 0) differed = true;
    report(plan, id, result.comparison, o);
  }
  if (recording) {
    const r = finishRecording(recording);
    if (!r) return EXIT_FAILURE;
    for (const w of r.warnings) errorLine(`warning: ${w}`);
  }
  return failed || (o.strict && differed) ? EXIT_FAILURE : EXIT_OK;
}

function report(plan: ReplayPlan, id: string, c: ReplayComparison, o: ReplayCliOptions): void {
  if (o.json) {
    printLine(JSON.stringify({ event: 'comparison', connection: id, recorded: plan.recorded.id, url: plan.url, ...c }));
    return;
  }
  printLine(`replay of ${plan.recorded.id} against ${plan.url}: ${plan.server.length} server message${plan.server.length === 1 ? '' : 's'} recorded, ${c.same + c.changed + c.extra} this time`);
  for (const line of comparisonLines(c)) printLine(`  ${line}`);
}
