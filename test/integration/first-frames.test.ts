// Frames that arrive with the 101 response: a server that writes its handshake response and
// its first frames in one go (a greeting, a snapshot) hands the client the frame bytes in
// the same read as the head, and the rest in reads that follow at once. The client must
// read them in wire order whatever the cuts, in `connect` and in the UI's engine session.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../main/engine/client/client';
import { EngineSession } from '../../main/engine/session/session';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { parseRequestHead, rawFrame, switchingProtocols } from '../peers/bad-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface SentFrame {
  opcode: number;
  payload: Buffer;
}

/** How the server cuts its output: `cuts` are stream offsets; at each, `flush` waits for the write to leave. */
interface Plan {
  frames: SentFrame[];
  cuts: Array<{ at: number; flush: boolean }>;
}

/**
 * A raw server on 127.0.0.1:0 that answers each handshake with a correct 101 followed by
 * `plan.frames` and a close 1000, the whole as one byte stream cut into writes by the plan;
 * it ends TCP once the client's close reply has come.
 */
async function framingServer(plan: (headLength: number) => Plan): Promise<{ url: string }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let answered = false;
    let after = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (answered) {
        // Pongs, then the client's close reply: once that is here, we end TCP.
        after = Buffer.concat([after, chunk]);
        if (hasCloseFrame(after)) socket.end();
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      answered = true;
      const head = Buffer.from(switchingProtocols(parseRequestHead(buf.subarray(0, end).toString('latin1'))), 'latin1');
      const p = plan(head.length);
      const stream = Buffer.concat([
        head,
        ...p.frames.map((f) => rawFrame({ opcode: f.opcode, payload: f.payload })),
        rawFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }),
      ]);
      void writePieces(socket, stream, p.cuts);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Whether the client's frames in `bytes` (masked, short control frames) include a close. */
function hasCloseFrame(bytes: Buffer): boolean {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const len7 = bytes[at + 1]! & 0x7f;
    const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    if (at + 2 + extra > bytes.length) return false;
    const length = extra === 0 ? len7 : extra === 2 ? bytes.readUInt16BE(at + 2) : Number(bytes.readBigUInt64BE(at + 2));
    const end = at + 2 + extra + 4 + length;
    if (end > bytes.length) return false;
    if ((bytes[at]! & 0x0f) === 8) return true;
    at = end;
  }
  return false;
}

async function writePieces(socket: Socket, stream: Buffer, cuts: Plan['cuts']): Promise<void> {
  const sorted = [...cuts].filter((c) => c.at > 0 && c.at < stream.length).sort((a, b) => a.at - b.at);
  let from = 0;
  for (const cut of sorted) {
    if (cut.at === from) continue;
    const piece = stream.subarray(from, cut.at);
    from = cut.at;
    if (cut.flush) {
      // Let this piece leave before the next is written: separate segments, separate reads.
      await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
      await new Promise((r) => setImmediate(r));
    } else {
      socket.write(piece);
    }
    if (socket.destroyed) return;
  }
  socket.write(stream.subarray(from));
}

/** Payload bytes that look like frame headers when read from the wrong offset. */
function payload(size: number, seed: number, text: boolean): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = text ? 0x20 + ((i * 7 + seed) % 95) : (i * 31 + seed + (i >> 7)) & 0xff;
  return b;
}

/** Stream offsets by kind, for a head of `headLength` and these frames. */
function boundaries(headLength: number, frames: SentFrame[]): number[][] {
  const headInside = Array.from({ length: headLength - 1 }, (_, i) => i + 1);
  const len16: number[] = [];
  const len64: number[] = [];
  const headerInside: number[] = [];
  const payloadInside: number[] = [];
  const frameEnds: number[] = [];
  let at = headLength;
  for (const f of frames) {
    const n = f.payload.length;
    const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
    headerInside.push(at + 1);
    // Cuts inside the extended length: after its first byte up to before its last.
    for (let i = 1; i < lengthBytes; i++) (lengthBytes === 2 ? len16 : len64).push(at + 2 + i);
    const start = at + 2 + lengthBytes;
    if (lengthBytes > 0) headerInside.push(at + 2, start - 1);
    for (const frac of [1, n >> 1, n - 1]) if (frac > 0 && frac < n) payloadInside.push(start + frac);
    at = start + n;
    frameEnds.push(at);
  }
  return [headInside, [headLength], len16, len64, headerInside, payloadInside, frameEnds].filter((k) => k.length > 0);
}

// Frames as (kind, size, seed), built into bytes inside the property: a counterexample stays short.
interface FrameSpec {
  kind: 'text' | 'binary' | 'ping';
  size: number;
  seed: number;
}

const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  kind: fc.constantFrom('text' as const, 'binary' as const, 'ping' as const),
  size: fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 65535 }), fc.integer({ min: 65536, max: 140_000 })),
  seed: fc.nat(255),
});

function build({ kind, size, seed }: FrameSpec): SentFrame {
  if (kind === 'ping') return { opcode: 9, payload: payload(Math.min(size, 125), seed, false) };
  return { opcode: kind === 'text' ? 1 : 2, payload: payload(size, seed, kind === 'text') };
}

const planArb = fc.record({
  frames: fc.array(frameArb, { minLength: 1, maxLength: 4 }),
  // (kind, index, flush): a cut of a kind of boundary, picked from those the stream has.
  picks: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 8 }),
});

function toPlan(frames: SentFrame[], picks: Array<[number, number, boolean]>) {
  return (headLength: number): Plan => {
    const kinds = boundaries(headLength, frames);
    return {
      frames,
      cuts: picks.map(([k, i, flush]) => {
        const kind = kinds[k % kinds.length]!;
        return { at: kind[i % kind.length]!, flush };
      }),
    };
  };
}

/** What the client must have seen from the server: the frames sent, then the close. */
function expectFramesAsSent(got: Array<Pick<FrameRecord, 'opcode' | 'fin' | 'length' | 'violations'> & { payload: Buffer }>, frames: SentFrame[]) {
  const want = [...frames.map((f) => ({ opcode: f.opcode, length: f.payload.length })), { opcode: 8, length: 2 }];
  expect(got.map((f) => ({ opcode: f.opcode, length: f.length }))).toEqual(want);
  got.forEach((f, i) => {
    expect(f.fin).toBe(true);
    expect(f.violations ?? []).toEqual([]);
    if (i < frames.length) expect(f.payload.equals(frames[i]!.payload)).toBe(true);
  });
}

async function viaClient(url: string, frames: SentFrame[]): Promise<void> {
  const errors: EngineEvent[] = [];
  const client = await WebSocketClient.connect({ url, deflate: false, onEvent: (e) => e.event === 'error' && errors.push(e) });
  cleanup.push(() => client.destroy());
  // A listener put on after connect resolves still sees the frames that came with the 101.
  const heard: number[] = [];
  client.on('frame', (e) => heard.push(e.frame.opcode));
  const close = await client.closed;
  expect(errors).toEqual([]);
  expect(close).toMatchObject({ code: 1000, by: 'server', clean: true });
  const fromServer = client.record.frames.filter((f) => f.from === 'server');
  expectFramesAsSent(
    fromServer.map((f) => ({ ...f, payload: Buffer.from(f.payload) })),
    frames,
  );
  expect(heard.filter((_, i) => client.record.frames[i]!.from === 'server')).toEqual(fromServer.map((f) => f.opcode));
}

async function viaSession(url: string, frames: SentFrame[]): Promise<void> {
  const session = new EngineSession({ version: 'test', batchMs: 5 });
  cleanup.push(() => session.dispose());
  const { connection } = await session.dispatch('connect', { url, deflate: false });
  const summary = async () => (await session.dispatch('snapshot', undefined)).connections.find((c) => c.id === connection)!;
  while (!['closed', 'failed'].includes((await summary()).state)) await new Promise((r) => setTimeout(r, 5));
  const s = await summary();
  expect(s.errors ?? []).toEqual([]);
  expect(s.close).toMatchObject({ code: 1000, by: 'server', clean: true });
  const rows = (await session.dispatch('frames', { connection, from: 0, to: 100 })).filter((r) => r.from === 'server');
  const got = [];
  for (const r of rows) {
    const p = await session.dispatch('framePayload', { connection, seq: r.seq });
    got.push({ ...r, payload: Buffer.from(p.payload, 'base64') });
  }
  expectFramesAsSent(got, frames);
}

describe('frames that come with the 101 response are read in wire order', () => {
  it('a 70,000-byte binary frame written together with the 101: connect reads it as sent', async () => {
    const frames = [{ opcode: 2, payload: payload(70_000, 13, false) }];
    const s = await framingServer(() => ({ frames, cuts: [] }));
    await viaClient(s.url, frames);
  });

  it('the same through the engine session the UI connects with', async () => {
    const frames = [{ opcode: 2, payload: payload(70_000, 13, false) }];
    const s = await framingServer(() => ({ frames, cuts: [] }));
    await viaSession(s.url, frames);
  });

  it('property: head and frames cut anywhere (head, 16/64-bit length, payload), one write or many: connect sees the frames sent', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, async (p) => {
        const frames = p.frames.map(build);
        const s = await framingServer(toPlan(frames, p.picks));
        await viaClient(s.url, frames);
        for (const c of cleanup.splice(0).reverse()) await c();
      }),
      { numRuns: 60 },
    );
  });

  it('property: the same cuts through the engine session the UI connects with', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, async (p) => {
        const frames = p.frames.map(build);
        const s = await framingServer(toPlan(frames, p.picks));
        await viaSession(s.url, frames);
        for (const c of cleanup.splice(0).reverse()) await c();
      }),
      { numRuns: 25 },
    );
  });
});
