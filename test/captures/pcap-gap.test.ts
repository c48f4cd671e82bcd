// Import from a packet capture with bytes missing (docs/guide.md "Importing packet
// captures"): after a gap, a direction's frames resume at the next frame start found with
// confidence, and the gap is named where it is (bytes, and the frame it follows). Hand-made
// captures: one lost segment from the server and from the client, a gap inside a large
// frame of random bytes, a gap inside a fragmented message, permessage-deflate with and
// without context takeover; and random losses from random conversations (never a crash,
// never a frame that was not sent).
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFile, FrameRecord } from '../../shared/model';
import { materialize, openCapture } from '../../main/engine/recording/capture-reader';
import { zlibCompression } from '../../main/engine/zlib-compression';
import { encodeFrameHeader } from '../../shared/codec/frame-writer';
import { frame } from './build';
import { RESYNC_HOLD } from '../../main/engine/recording/resync';
import { Conversation, KEY, ACCEPT, LINK, ep, pcap, requestHead, responseHead, wsFrame } from './pcap-build';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-gap-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const T0 = 1_700_000_000_000;

function importPkts(c: Conversation): { cap: CaptureFile; warnings: readonly string[] } {
  const file = join(tmp(), 'gap.pcap');
  writeFileSync(file, pcap(c.pkts(LINK.ethernet), { linktype: 1 }));
  const s = openCapture(file);
  try {
    return { cap: materialize(s), warnings: s.warnings };
  } finally {
    s.close();
  }
}

const text = (f: FrameRecord) => (f.opcode === 8 ? `close ${f.close?.code}` : Buffer.from(f.payload).toString());
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const gapErrors = (errors: readonly string[]) => errors.filter((e) => e.startsWith('tcp-gap:'));

/** A connection after its handshake; `ext` the permessage-deflate terms both heads carry. */
function opened(port: number, ext?: string): Conversation {
  const c = new Conversation(ep('10.0.0.1', 40000), ep('10.0.0.2', port)).open(T0);
  const host = `10.0.0.2:${port}`;
  if (!ext) {
    c.send('client', requestHead(host), T0 + 1);
    c.send('server', responseHead(), T0 + 2);
    return c;
  }
  c.send('client', Buffer.from(`GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${ext}\r\n\r\n`), T0 + 1);
  c.send('server', Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Extensions: ${ext}\r\n\r\n`), T0 + 2);
  return c;
}

/** Sends frames, one segment each; the one at `lost` is never captured (its sequence space is used). */
function sendEach(c: Conversation, side: 'client' | 'server', frames: Buffer[], t: number, lost: number[] = []): void {
  frames.forEach((f, i) => c.send(side, f, t + i * 0.01, [], lost.includes(i) ? [] : undefined));
}

function closeBoth(c: Conversation, t: number): Conversation {
  c.send('client', wsFrame('client', 8, Buffer.from([0x03, 0xe8])), t);
  c.send('server', wsFrame('server', 8, Buffer.from([0x03, 0xe8])), t + 1);
  return c.close(t + 2);
}

describe('pcap import: resuming after a gap', () => {
  it('a lost server segment: the frames after it are decoded, and the error names the bytes and the frame it follows', () => {
    const c = opened(9010);
    const msgs = ['one', 'two', 'three: never captured', 'four', 'five', 'six'];
    const frames = msgs.map((m) => wsFrame('server', 1, m));
    sendEach(c, 'server', frames, T0 + 3, [2]);
    // The client's next packet acknowledges every server byte, the lost ones too.
    c.send('client', wsFrame('client', 1, 'client speaks'), T0 + 4);
    const { cap, warnings } = importPkts(closeBoth(c, T0 + 5));
    const conn = cap.connections[0]!;
    expect(conn.frames.map((f) => [f.seq, f.from, text(f)])).toEqual([
      [0, 'server', 'one'],
      [1, 'server', 'two'],
      [2, 'server', 'four'],
      [3, 'server', 'five'],
      [4, 'server', 'six'],
      [5, 'client', 'client speaks'],
      [6, 'client', 'close 1000'],
      [7, 'server', 'close 1000'],
    ]);
    expect(conn.frames.every((f) => !f.violations)).toBe(true);
    const at = responseHead().length + frames[0]!.length + frames[1]!.length;
    const gap = `tcp-gap: the server's TCP stream is missing ${frames[2]!.length} bytes at byte ${at} of the stream (not in the capture), after the server's frame #1: its frames resume right after it, from frame #2`;
    expect(conn.errors).toEqual([gap]);
    expect(conn.close).toMatchObject({ code: 1000, clean: true });
    expect(warnings).toEqual([expect.stringContaining(`connection p1 (10.0.0.1:40000 → 10.0.0.2:9010): ${gap}`)]);
  });

  it('a lost client segment that cuts frames: the cut frame ends there, the skipped bytes are counted', () => {
    const c = opened(9011);
    c.send('server', wsFrame('server', 1, 'server first'), T0 + 3);
    const msgs = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'].map((m) => wsFrame('client', 1, m.repeat(20)));
    const stream = Buffer.concat(msgs);
    // Segments of 90 bytes, not aligned with the frames (6 + 100, 100, 140, 100, 80, 140
    // bytes: they start at 0, 106, 212, 360, 466, 552), the third (180-270) lost: bravo is cut,
    // the segment at 270 starts inside charlie, the one at 360 with delta, where frames resume.
    const tail = Buffer.concat([wsFrame('client', 2, Buffer.alloc(10, 1)), wsFrame('client', 2, Buffer.alloc(20, 2)), wsFrame('client', 2, Buffer.alloc(30, 3))]);
    const cuts = [90, 180, 270, 360, 450, 540, 630];
    c.send('client', stream, T0 + 4, cuts, [0, 1, 3, 4, 5, 6, 7]);
    sendEach(c, 'client', [tail.subarray(0, 16), tail.subarray(16, 16 + 26), tail.subarray(16 + 26)], T0 + 5);
    c.send('server', wsFrame('server', 1, 'server acks'), T0 + 6);
    const { cap } = importPkts(closeBoth(c, T0 + 7));
    const conn = cap.connections[0]!;
    const client = conn.frames.filter((f) => f.from === 'client');
    expect(client.map((f) => [f.opcode, f.truncated ?? false, f.payload.length])).toEqual([
      [1, false, 100],
      [1, true, 180 - 106 - 6],
      [1, false, 100],
      [1, false, 80],
      [1, false, 140],
      [2, false, 10],
      [2, false, 20],
      [2, false, 30],
      [8, false, 2],
    ]);
    expect(client[1]!.violations?.map((v) => v.id)).toEqual(['truncated-frame']);
    const head = requestHead('10.0.0.2:9011').length;
    const resumedAt = head + 360;
    const afterGap = head + 270;
    const seqOf = (f: FrameRecord) => f.seq;
    expect(gapErrors(conn.errors)).toEqual([
      `tcp-gap: the client's TCP stream is missing 90 bytes at byte ${head + 180} of the stream (not in the capture), after the client's frame #${seqOf(client[1]!)}: its frames resume at byte ${resumedAt} of the stream after skipping ${resumedAt - afterGap} bytes (a frame start is found there, none before), from frame #${seqOf(client[2]!)}`,
    ]);
  });

  it('a gap inside a large frame of random bytes over many segments: the frame is cut, the next frames resume', () => {
    const c = opened(9012);
    const rand = lcg(7);
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = rand() & 0xff;
    const bigFrame = wsFrame('server', 2, big);
    const cuts: number[] = [];
    for (let at = 1400; at < bigFrame.length; at += 1400) cuts.push(at);
    const order = [...cuts.keys(), cuts.length].filter((i) => i !== 40);
    c.send('server', wsFrame('server', 1, 'before'), T0 + 3);
    c.send('server', bigFrame, T0 + 4, cuts, order);
    sendEach(c, 'server', ['after one', 'after two', 'after three'].map((m) => wsFrame('server', 1, m)), T0 + 5);
    c.send('client', wsFrame('client', 1, 'ack'), T0 + 6);
    const { cap } = importPkts(closeBoth(c, T0 + 7));
    const conn = cap.connections[0]!;
    const server = conn.frames.filter((f) => f.from === 'server');
    expect(server.map((f) => [f.opcode, f.truncated ?? false, f.payload.length])).toEqual([
      [1, false, 6],
      [2, true, 40 * 1400 - 10],
      [1, false, 9],
      [1, false, 9],
      [1, false, 11],
      [8, false, 2],
    ]);
    expect(hex(server[1]!.payload)).toBe(big.subarray(0, 40 * 1400 - 10).toString('hex'));
    const start = responseHead().length + wsFrame('server', 1, 'before').length;
    expect(gapErrors(conn.errors)).toEqual([
      `tcp-gap: the server's TCP stream is missing 1400 bytes at byte ${start + 40 * 1400} of the stream (not in the capture), after the server's frame #1: its frames resume at byte ${start + bigFrame.length} of the stream after skipping ${bigFrame.length - 41 * 1400} bytes (a frame start is found there, none before), from frame #2`,
    ]);
  });

  it('a frame after the gap too large to judge within the 4 MiB held: passed over, the frames after it resume', () => {
    const c = opened(9016);
    const rand = lcg(11);
    const huge = Buffer.alloc(RESYNC_HOLD + 100_000);
    for (let i = 0; i < huge.length; i++) huge[i] = rand() & 0xff;
    const hugeFrame = wsFrame('server', 2, huge);
    const cuts: number[] = [];
    for (let at = 60_000; at < hugeFrame.length; at += 60_000) cuts.push(at);
    sendEach(c, 'server', [wsFrame('server', 1, 'before'), wsFrame('server', 1, 'lost')], T0 + 3, [1]);
    c.send('server', hugeFrame, T0 + 4, cuts);
    sendEach(c, 'server', ['after one', 'after two', 'after three'].map((m) => wsFrame('server', 1, m)), T0 + 5);
    c.send('client', wsFrame('client', 1, 'ack'), T0 + 6);
    const { cap } = importPkts(closeBoth(c, T0 + 7));
    const conn = cap.connections[0]!;
    expect(conn.frames.filter((f) => f.from === 'server').map(text)).toEqual(['before', 'after one', 'after two', 'after three', 'close 1000']);
    expect(gapErrors(conn.errors)).toEqual([
      expect.stringMatching(new RegExp(`missing 6 bytes .*, after the server's frame #0: its frames resume at byte \\d+ of the stream after skipping ${hugeFrame.length} bytes \\(a frame start is found there, none before\\), from frame #1$`)),
    ]);
  });

  it('a gap that loses the start of a fragmented message: its continuations are kept, with no violation for the resync', () => {
    const c = opened(9013);
    const parts = [wsFrame('server', 1, 'part one;', false), wsFrame('server', 0, 'part two;', false), wsFrame('server', 0, 'part three;', false), wsFrame('server', 0, 'part four', true)];
    sendEach(c, 'server', [...parts, wsFrame('server', 1, 'whole')], T0 + 3, [0]);
    c.send('client', wsFrame('client', 1, 'ack'), T0 + 4);
    const { cap } = importPkts(closeBoth(c, T0 + 5));
    const conn = cap.connections[0]!;
    const server = conn.frames.filter((f) => f.from === 'server');
    expect(server.map((f) => [f.opcode, f.fin, text(f)])).toEqual([
      [0, false, 'part two;'],
      [0, false, 'part three;'],
      [0, true, 'part four'],
      [1, true, 'whole'],
      [8, true, 'close 1000'],
    ]);
    expect(server.flatMap((f) => f.violations ?? [])).toEqual([]);
    expect(gapErrors(conn.errors)).toEqual([expect.stringMatching(/, before the server's first frame: its frames resume right after it, from frame #0$/)]);
  });

  for (const takeover of [true, false]) {
    it(`permessage-deflate ${takeover ? 'with' : 'without'} context takeover and a gap: ${takeover ? 'said once, frames kept raw, no violation' : 'the messages after it inflate'}`, () => {
      const ext = takeover ? 'permessage-deflate' : 'permessage-deflate; server_no_context_takeover';
      const c = opened(takeover ? 9014 : 9015, ext);
      const deflater = zlibCompression.deflater(15, !takeover);
      const msgs = ['hello hello hello', 'hello again, hello', 'lost: hello hello', 'after: hello hello', 'after: hello again', 'last hello'];
      const frames = msgs.map((m) => {
        const payload = Buffer.from(deflater.deflate(Buffer.from(m)));
        return Buffer.concat([Buffer.from(encodeFrameHeader({ fin: true, rsv1: true, opcode: 1, mask: false, length: payload.length })), payload]);
      });
      sendEach(c, 'server', frames, T0 + 3, [2]);
      c.send('client', wsFrame('client', 1, 'ack'), T0 + 4);
      const { cap } = importPkts(closeBoth(c, T0 + 5));
      const conn = cap.connections[0]!;
      const server = conn.frames.filter((f) => f.from === 'server' && f.opcode === 1);
      expect(server.map((f) => hex(Buffer.concat([f.header, f.payload])))).toEqual(frames.filter((_, i) => i !== 2).map(hex));
      expect(server.every((f) => f.rsv1)).toBe(true);
      expect(conn.frames.flatMap((f) => f.violations ?? [])).toEqual([]);
      const inflated = server.map((f) => (f.message?.truncated ? null : Buffer.from(f.message!.data).toString()));
      if (takeover) {
        expect(inflated).toEqual([msgs[0], msgs[1], null, null, null]);
        expect(conn.errors.filter((e) => e.includes('context takeover'))).toEqual([
          expect.stringMatching(/^permessage-deflate with context takeover: the server's compressed messages after the gap at byte \d+ cannot be inflated \(they may refer to the lost bytes\): their frames are kept as they are, their messages are left empty$/),
        ]);
      } else {
        expect(inflated).toEqual(msgs.filter((_, i) => i !== 2));
        expect(conn.errors.filter((e) => e.includes('context takeover'))).toEqual([]);
      }
      expect(gapErrors(conn.errors)).toEqual([expect.stringMatching(/after the server's frame #1: its frames resume right after it, from frame #2$/)]);
    });
  }
});

/** A small deterministic generator (the test's bytes are the same every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8;
}

describe('pcap import: random losses', () => {
  it('never crashes, and every frame decoded is one that was sent (a frame cut by a gap: a true prefix of one)', () => {
    const frameArb = (side: 'client' | 'server') =>
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ opcode: fc.constantFrom(1, 2), payload: fc.uint8Array({ maxLength: 3000 }), parts: fc.integer({ min: 1, max: 3 }) }) },
        { weight: 1, arbitrary: fc.record({ opcode: fc.constant(2), payload: fc.uint8Array({ minLength: 65536, maxLength: 70000 }), parts: fc.constant(1) }) },
        { weight: 1, arbitrary: fc.record({ opcode: fc.constant(9), payload: fc.uint8Array({ maxLength: 125 }), parts: fc.constant(1) }) },
      ).map((m) => ({ ...m, side }));
    const turn = fc.record({
      server: fc.array(frameArb('server'), { maxLength: 4 }),
      client: fc.array(frameArb('client'), { maxLength: 3 }),
      serverCut: fc.integer({ min: 200, max: 3000 }),
      clientCut: fc.integer({ min: 200, max: 3000 }),
      drop: fc.array(fc.nat(12), { maxLength: 2 }),
    });
    // Not vacuous: gaps happen, and frames resume after most of them.
    let gaps = 0;
    let resumed = 0;
    fc.assert(
      fc.property(fc.array(turn, { minLength: 1, maxLength: 8 }), (turns) => {
        const c = opened(9100);
        // What was sent, as the import shows a frame: its header, then its payload unmasked.
        const sent = { client: [] as string[], server: [] as string[] };
        const shown = (side: 'client' | 'server', opcode: number, payload: Uint8Array, fin = true) =>
          hex(frame({ seq: 0, time: 0, from: side, opcode, payload, fin }).header) + hex(payload);
        turns.forEach((t, i) => {
          for (const side of ['server', 'client'] as const) {
            const msgs = t[side];
            if (msgs.length === 0) continue;
            const frames: Buffer[] = [];
            for (const m of msgs) {
              // A message in `parts` frames: the first with the opcode, then continuations.
              const n = m.opcode >= 8 ? 1 : m.parts;
              const size = Math.ceil(m.payload.length / n);
              for (let k = 0; k < n; k++) {
                const part = m.payload.subarray(k * size, (k + 1) * size);
                frames.push(wsFrame(side, k === 0 ? m.opcode : 0, part, k === n - 1));
                sent[side].push(shown(side, k === 0 ? m.opcode : 0, part, k === n - 1));
              }
            }
            const bytes = Buffer.concat(frames);
            const step = side === 'server' ? t.serverCut : t.clientCut;
            // Mostly a segment per frame (as senders write), long frames cut at `step`.
            const cuts: number[] = [];
            let at = 0;
            for (const f of frames) {
              for (let o = step; o < f.length; o += step) cuts.push(at + o);
              at += f.length;
              if (at < bytes.length) cuts.push(at);
            }
            const order = [...cuts.keys(), cuts.length].filter((k) => !t.drop.includes(k) || side !== (i % 2 ? 'client' : 'server'));
            c.send(side, bytes, T0 + 3 + i, cuts, order);
          }
        });
        sent.client.push(shown('client', 8, Buffer.from([0x03, 0xe8])));
        sent.server.push(shown('server', 8, Buffer.from([0x03, 0xe8])));
        const { cap } = importPkts(closeBoth(c, T0 + 20));
        const conn = cap.connections[0]!;
        gaps += gapErrors(conn.errors).length;
        resumed += gapErrors(conn.errors).filter((e) => /resume.*from frame #/.test(e)).length;
        for (const side of ['client', 'server'] as const) {
          const whole = new Set(sent[side]);
          for (const f of conn.frames.filter((x) => x.from === side)) {
            const bytes = hex(Buffer.concat([f.header, f.payload]));
            if (f.truncated) expect(sent[side].some((s) => s.startsWith(bytes)), `${side} cut frame #${f.seq}`).toBe(true);
            else expect(whole.has(bytes), `${side} frame #${f.seq}`).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
    expect(resumed).toBeGreaterThan(10);
  }, 120_000);
});
