// Replaying a recorded connection's client side (docs/guide.md "Replay"): what the client
// sent (data messages whole, pings, the close it began) goes again to a server, with the
// recorded handshake headers and gaps, and the server's messages this time are compared
// with the recording's. The CLI and the app's session both plan and run it here.

import type { FrameRecord, HeaderList } from '../../../shared/model';
import type { ConnectionHead } from '../recording/capture-shape';
import { concatBytes } from '../../../shared/bytes';
import { compareMessages, type ComparedMessage, type ReplayComparison } from '../../../shared/replay';
import { LocalProtocolError } from '../../../shared/codec/endpoint';
import type { WebSocketClient } from '../client/client';

/** The recording's messages a replay holds in memory (both directions), at most. */
export const MAX_REPLAY_BYTES = 256 * 1024 * 1024;

export type ReplayStep =
  | { kind: 'message'; opcode: 1 | 2; data: Uint8Array; time: number; afterServer: number }
  | { kind: 'ping'; data: Uint8Array; time: number; afterServer: number }
  | { kind: 'close'; code: number | null; reason: string; time: number; afterServer: number };

export interface ReplayPlan {
  /** the recorded connection */
  recorded: { id: string; url: string };
  url: string;
  headers: HeaderList;
  protocols: string[];
  /** the recorded request offered permessage-deflate */
  deflate: boolean;
  steps: ReplayStep[];
  /** the server's data messages in the recording, in order */
  server: ComparedMessage[];
  /** when the recorded handshake was answered: the first step's gap counts from it */
  openedAt: number | null;
  /** what could not be replayed as recorded, for the user */
  notes: string[];
}

export class ReplayError extends Error {
  override name = 'ReplayError';
}

export interface PlanOptions {
  /** the URL to replay against (default: the recorded one) */
  target?: string;
  /** send the recorded request's headers (default true) */
  recordedHeaders?: boolean;
  /** headers that replace the recorded ones of the same name, or are added */
  headers?: HeaderList;
}

// Made anew by the client for every connection (its key, its host, its upgrade), or not a
// request header that travels past one hop.
const NOT_REPLAYED = new Set([
  'host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept',
  'sec-websocket-protocol', 'content-length', 'transfer-encoding', 'keep-alive', 'proxy-connection', 'te', 'trailer',
]);

export function planReplay(head: ConnectionHead, frames: Iterable<FrameRecord>, o: PlanOptions = {}): ReplayPlan {
  const notes: string[] = [];
  const request = head.handshake?.request ?? null;
  const recorded = request?.headers ?? [];
  const header = (name: string) => recorded.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  const protocols = header('sec-websocket-protocol').flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  const deflate = header('sec-websocket-extensions').some((v) => /permessage-deflate/i.test(v));
  const overrides = o.headers ?? [];
  const replaced = new Set(overrides.map(([n]) => n.toLowerCase()));
  const headers: HeaderList = [
    ...(o.recordedHeaders === false ? [] : recorded.filter(([n]) => !NOT_REPLAYED.has(n.toLowerCase()) && !replaced.has(n.toLowerCase()))),
    ...overrides,
  ];
  const url = o.target ?? (head.url || rebuiltUrl(head));
  if (!url) throw new ReplayError(`connection ${head.id} has no URL to replay against: give --target`);

  const steps: ReplayStep[] = [];
  const server: ComparedMessage[] = [];
  let bytes = 0;
  const count = (n: number) => {
    bytes += n;
    if (bytes > MAX_REPLAY_BYTES) throw new ReplayError(`connection ${head.id} holds more than ${MAX_REPLAY_BYTES / (1024 * 1024)} MiB of messages: too large to replay`);
  };
  const pieces: Record<'client' | 'server', { opcode: 1 | 2; chunks: Uint8Array[]; compressed: boolean } | null> = { client: null, server: null };
  let serverClosed = false;
  let skipped = 0;
  for (const f of frames) {
    if (!reachedPeer(f, head.mode)) continue;
    const side = f.from;
    if (f.opcode === 1 || f.opcode === 2 || f.opcode === 0) {
      if (f.opcode !== 0) pieces[side] = { opcode: f.opcode, chunks: [], compressed: f.rsv1 };
      const p = pieces[side];
      if (!p) continue;
      if (!f.message) p.chunks.push(f.payload);
      if (!f.fin) continue;
      pieces[side] = null;
      let data: Uint8Array | null = f.message ? f.message.data : p.compressed ? null : concatBytes(p.chunks);
      const truncated = !!f.message?.truncated || (!f.message && !!f.truncated);
      if (data === null || (truncated && side === 'client')) {
        if (side === 'client') skipped++;
        else notes.push(`the server's message at seq ${f.seq} was not recorded whole: it is compared as far as it was`);
        if (data === null) data = new Uint8Array(0);
        if (side === 'client') continue;
      }
      count(data.length);
      if (side === 'server') server.push({ opcode: p.opcode, data });
      else steps.push({ kind: 'message', opcode: p.opcode, data, time: f.time, afterServer: server.length });
    } else if (f.opcode === 9 && side === 'client') {
      steps.push({ kind: 'ping', data: f.payload, time: f.time, afterServer: server.length });
    } else if (f.opcode === 8) {
      // Only a close the client began is replayed: one answering the server's comes by itself.
      if (side === 'server') serverClosed = true;
      else if (!serverClosed && !steps.some((s) => s.kind === 'close')) {
        steps.push({ kind: 'close', code: f.close?.code ?? null, reason: f.close?.reason ?? '', time: f.time, afterServer: server.length });
      }
    }
  }
  if (skipped > 0) notes.push(`${skipped} client message${skipped === 1 ? ' was' : 's were'} not recorded whole and ${skipped === 1 ? 'is' : 'are'} not sent`);
  return { recorded: { id: head.id, url: head.url }, url, headers, protocols, deflate, steps, server, notes, openedAt: head.handshake?.responseAt ?? null };
}

/** Did the frame reach the other peer? A proxy records a message it dropped or replaced, and the frames it wrote instead. */
function reachedPeer(f: FrameRecord, mode: 'client' | 'proxy' | 'mock'): boolean {
  const d = f.intervention?.decision;
  if (d === 'dropped' || d === 'undelivered') return false;
  // (a mock's script replaces recorded answers as a proxy's does)
  if (mode !== 'client' && f.by !== 'framescope' && (d === 'replaced' || d === 'closed')) return false;
  return true;
}

function rebuiltUrl(head: ConnectionHead): string {
  const host = head.handshake?.request.headers.find(([n]) => n.toLowerCase() === 'host')?.[1];
  return host ? `ws://${host}${head.handshake!.request.target}` : '';
}

export interface RunOptions {
  /** gaps are divided by this (default 1) */
  speed?: number;
  /** no gaps at all */
  asap?: boolean;
  /** before each step, wait for as many server messages as the recording had by then */
  waitForServer?: boolean;
  /** the longest wait for the server's messages (default 5000 ms) */
  timeout?: number;
  /** split each message into frames of at most this many bytes */
  fragmentSize?: number;
  /** a note for the user (a wait that timed out, a server that closed early) */
  note?: (line: string) => void;
}

export interface ReplayResult {
  comparison: ReplayComparison;
  /** client steps sent, of all */
  sent: number;
  steps: number;
}

/** Opens nothing: `client` has been opened by the caller; sends the plan, closes, compares. */
export async function runReplay(client: WebSocketClient, plan: ReplayPlan, o: RunOptions = {}): Promise<ReplayResult> {
  const speed = o.speed ?? 1;
  const timeout = o.timeout ?? 5000;
  const note = o.note ?? (() => {});
  const answers: ComparedMessage[] = [];
  let answerBytes = 0;
  let ended = false;
  const wake = new Set<() => void>();
  const poke = () => {
    for (const w of [...wake]) w();
  };
  const onMessage = (m: { opcode: 1 | 2; data: Uint8Array }) => {
    answerBytes += m.data.length;
    // Past the limit the answers are still counted (as empty): a runaway server cannot fill memory.
    answers.push({ opcode: m.opcode, data: answerBytes > MAX_REPLAY_BYTES ? new Uint8Array(0) : m.data.slice() });
    poke();
  };
  client.on('message', onMessage);
  void client.closed.then(() => {
    ended = true;
    poke();
  });

  /** Resolves when `cond` holds, the connection ends, or `ms` passes; says which. */
  const until = (cond: () => boolean, ms: number): Promise<'ok' | 'ended' | 'timeout'> =>
    new Promise((resolve) => {
      const check = () => {
        if (cond()) done('ok');
        else if (ended) done('ended');
      };
      const t = Number.isFinite(ms) ? setTimeout(() => done(cond() ? 'ok' : 'timeout'), Math.max(0, ms)) : null;
      const done = (r: 'ok' | 'ended' | 'timeout') => {
        if (t) clearTimeout(t);
        wake.delete(check);
        resolve(r);
      };
      wake.add(check);
      check();
    });
  const waitServer = async (n: number, before: string) => {
    if (answers.length >= n) return;
    const r = await until(() => answers.length >= n, timeout);
    if (r === 'timeout') note(`waited ${timeout} ms for ${n} server message${n === 1 ? '' : 's'} before ${before}, got ${answers.length}; going on`);
  };

  let sent = 0;
  let lastTime: number | null = plan.openedAt;
  let lastSentAt = Date.now();
  try {
    for (const step of plan.steps) {
      if (ended || client.record.close) break;
      const what = step.kind === 'message' ? `client message ${sent + 1}` : step.kind;
      if (o.waitForServer || step.kind === 'close') await waitServer(step.afterServer, `the ${what}`);
      if (!o.asap && lastTime !== null) {
        const wait = lastSentAt + Math.max(0, step.time - lastTime) / speed - Date.now();
        if (wait > 0) await until(() => false, wait);
      }
      if (ended || client.record.close) break;
      lastTime = step.time;
      lastSentAt = Date.now();
      if (step.kind === 'message') await client.send(step.opcode, step.data, { fragmentSize: o.fragmentSize });
      else if (step.kind === 'ping') void client.ping(step.data).catch(() => {});
      else await client.close(step.code ?? undefined, step.reason);
      sent++;
    }
  } catch (err) {
    if (!(err instanceof LocalProtocolError)) throw err;
  }
  if (sent < plan.steps.length) note(`the connection ended after ${sent} of ${plan.steps.length} client steps were replayed`);
  if (!client.record.close && !ended) {
    // The recording's client did not close first: the server's answers are awaited (and its
    // close, if it closed), then the replay closes.
    await until(() => answers.length >= plan.server.length, timeout);
    try {
      await Promise.race([client.close(1000, ''), client.closed]);
    } catch (err) {
      if (!(err instanceof LocalProtocolError)) throw err;
    }
  }
  await client.closed;
  client.off('message', onMessage);
  return { comparison: compareMessages(plan.server, answers), sent, steps: plan.steps.length };
}
