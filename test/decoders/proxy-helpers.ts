// Real protocol libraries talking through `framescope proxy --json` on loopback: the
// proxy's events, and the decoded records its frames carry.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { WebSocketServer, type ServerOptions } from 'ws';
import type { Decoded, Unanswered } from '../../shared/decoders';
import { spawnCli, type CliProcess } from '../peers/cli';

export interface FrameOut {
  seq: number;
  from: 'client' | 'server';
  opcode: number;
  payload: string;
  message?: { opcode: number; length: number; data?: string; decoded?: Decoded };
}

export type EventOut = { event: string; connection: string; unanswered?: Unanswered[] } & Partial<FrameOut>;

export async function startProxy(target: string, extra: string[] = []): Promise<{ proc: CliProcess; port: number }> {
  const proc = spawnCli(['proxy', '--listen', '127.0.0.1:0', '--target', target, '--json', ...extra]);
  const line = await proc.waitForLine(/^framescope proxy: listening on /, { stream: 'stderr' });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)[, ]/.exec(line)?.[1]);
  expect(port).toBeGreaterThan(0);
  return { proc, port };
}

/** Stops the proxy (SIGINT: it finishes what it prints) and reads its events. */
export async function stopProxy(proc: CliProcess): Promise<EventOut[]> {
  const r = await proc.stop('SIGINT');
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EventOut);
}

/** Waits until the proxy has printed `n` close events (each connection's end). */
export async function closes(proc: CliProcess, n = 1): Promise<void> {
  for (let i = 0; i < n; i++) {
    let seen = 0;
    await proc.waitForLine((l) => l.includes('"event":"close"') && ++seen > i);
  }
}

/** The frames that carry a decoded message, with it. */
export function decodedFrames(events: EventOut[], connection?: string): Array<FrameOut & { d: Decoded }> {
  return events
    .filter((e) => e.event === 'frame' && e.message?.decoded && (connection === undefined || e.connection === connection))
    .map((e) => ({ ...(e as unknown as FrameOut), d: e.message!.decoded! }));
}

export async function httpServer(): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The one decoded frame matching `test`; fails naming what was there. */
export function one(frames: Array<FrameOut & { d: Decoded }>, test: (d: Decoded, f: FrameOut) => boolean): FrameOut & { d: Decoded } {
  const found = frames.filter((f) => test(f.d, f));
  expect(found.length, frames.map((f) => `#${f.seq} ${f.d.protocol} ${f.d.summary}`).join('\n')).toBe(1);
  return found[0]!;
}

/**
 * A `ws` server on loopback (on its own HTTP server, so other handlers can share it), with
 * its close — every client cut, then the listener — pushed onto `cleanup`.
 */
export async function wsServer(cleanup: Array<() => unknown>, options: Omit<ServerOptions, 'server' | 'port' | 'host' | 'noServer'> = {}): Promise<{ wss: WebSocketServer; port: number }> {
  const http = await httpServer();
  cleanup.push(() => http.close());
  const wss = new WebSocketServer({ ...options, server: http.server });
  cleanup.push(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise((r) => wss.close(r));
  });
  return { wss, port: http.port };
}
