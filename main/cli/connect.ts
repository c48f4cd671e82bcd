// `framescope connect <url>`: open a connection by hand, send, expect, ping, close, and
// show (or print as NDJSON) everything that crossed the wire.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fromHex } from '../../shared/bytes';
import { isValidWireCloseCode } from '../../shared/codec/protocol';
import { LocalProtocolError } from '../../shared/codec/endpoint';
import type { CloseRecord, ErrorKind } from '../../shared/model';
import { ClientError, WebSocketClient } from '../engine/client';
import { writeCaptureFile } from '../engine/capture-writer';
import { ioReason } from '../engine/io-errors';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, errorLine, eventPrinter, printLine, recordingGoesOn } from './output';

export type Outgoing = { kind: 'text'; text: string } | { kind: 'binary'; data: Uint8Array };

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
  capture?: string;
}

export function parseHeader(value: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new UsageError(`a header is "Name: value", got ${JSON.stringify(value)}`);
  return [...previous, [value.slice(0, colon).trim(), value.slice(colon + 1).trim()]];
}

export function parseCloseSpec(value: string | true): { code: number; reason: string } {
  if (value === true || value === '') return { code: 1000, reason: '' };
  const colon = value.indexOf(':');
  const codeText = colon < 0 ? value : value.slice(0, colon);
  const reason = colon < 0 ? '' : value.slice(colon + 1);
  const code = Number(codeText);
  if (!/^\d+$/.test(codeText) || !isValidWireCloseCode(code)) {
    throw new UsageError(`--close takes CODE[:REASON] with a code that may be sent (1000-1003, 1007-1014, 3000-4999), got ${JSON.stringify(value)}`);
  }
  if (Buffer.byteLength(reason) > 123) throw new UsageError('a close reason is at most 123 bytes of UTF-8');
  return { code, reason };
}

export function parseHexArg(value: string): Uint8Array {
  try {
    return fromHex(value);
  } catch (err) {
    throw new UsageError(`--send-hex: ${(err as Error).message}`);
  }
}

export async function runConnect(url: string, o: ConnectCliOptions): Promise<number> {
  if (o.capture) recordingGoesOn();
  const print = eventPrinter({ json: o.json, hex: o.hex });
  let firstError: { kind: ErrorKind; message: string } | null = null;
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = readFileSync(o.ca);
    } catch (err) {
      throw new UsageError(`cannot read --ca ${o.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  let client: WebSocketClient;
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
      onEvent: (e) => {
        if (e.event === 'error' && !firstError) firstError = { kind: e.kind, message: e.message };
        print(e);
      },
    });
  } catch (err) {
    if (err instanceof ClientError && err.kind === 'usage') throw new UsageError(err.message);
    throw err;
  }

  const finish = (code: number): number => {
    if (o.capture) {
      try {
        writeCaptureFile(o.capture, [client.record]);
      } catch (err) {
        errorLine(`cannot write the capture ${o.capture}: ${ioReason(err)}`);
        return EXIT_FAILURE;
      }
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
      if (item.kind === 'text') client.sendText(item.text, options);
      else client.sendBinary(item.data, options);
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

/** Like wscat: each stdin line goes out as a text message; EOF or Ctrl-C closes with 1000. */
async function interactive(client: WebSocketClient, o: ConnectCliOptions): Promise<number> {
  const rl = createInterface({ input: process.stdin, terminal: false });
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
  rl.on('line', (line) => {
    if (closing || client.record.close) return;
    try {
      client.sendText(line, { fragmentSize: o.fragment });
    } catch (err) {
      if (!(err instanceof LocalProtocolError)) throw err;
    }
  });
  rl.on('close', closeNow);
  process.once('SIGINT', closeNow);
  process.once('SIGTERM', closeNow);
  const result = await client.closed;
  rl.close();
  process.stdin.destroy();
  const errors = client.record.errors;
  if (errors.length > 0) {
    errorLine(errors[0]!);
    return EXIT_FAILURE;
  }
  return result.code === null && result.by === 'transport' ? EXIT_FAILURE : EXIT_OK;
}
