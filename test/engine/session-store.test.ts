// The app's session store (main/engine/session/session-store.ts): every event appended to its
// journal, frames read back by seq from where their lines are. Lines are written three
// ways (a small frame's as bytes straight into the pending buffer, others as text into it,
// one longer than the buffer straight to the file): every frame must come back as it went
// in, whichever way and wherever the buffer was flushed.
import { frameToJson } from '../../shared/records';
import { afterEach, describe, expect, it } from 'vitest';
import { writeSync } from 'node:fs';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { SessionStore, type SessionStoreOptions } from '../../main/engine/session/session-store';
import type { WriteFn } from '../../main/engine/recording/event-log';
import { frameEvent, type FrameEvent } from '../peers/frame-events';
import { prng, randomBytes } from '../peers/random';

const stores: SessionStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.dispose();
});

const strip = ({ event: _e, connection: _c, ...record }: FrameEvent) => record;

describe('SessionStore: frames come back as they went in', () => {
  it('small, medium and over-a-megabyte frames of two connections, interleaved with other events', () => {
    const store = new SessionStore();
    stores.push(store);
    const rand = prng(7);
    const sent: Record<string, FrameEvent[]> = { c1: [], c2: [] };
    const open = (connection: string): EngineEvent => ({ event: 'open', connection, mode: 'client', url: `ws://127.0.0.1:1/${connection}`, client: null, server: null, startedAt: 1, tls: null });
    store.append(open('c1'));
    store.append(open('c2'));
    // Enough small lines to flush the 1 MiB buffer several times, a few lines past it.
    const sizes = [...Array.from({ length: 6000 }, () => Math.floor(rand() * 200)), 20_000, 900_000, 3, 1_500_000, 0, 64_000];
    sizes.forEach((size, i) => {
      const connection = i % 3 === 0 ? 'c2' : 'c1';
      const seq = sent[connection]!.length;
      const extra = i % 50 === 0 ? { message: { opcode: 2 as const, length: 40, data: randomBytes(40, rand) }, rsv1: true } : {};
      const f = frameEvent(connection, seq, randomBytes(size, rand), extra);
      sent[connection]!.push(f);
      store.append(f);
      if (i % 997 === 0) store.append({ event: 'error', connection, kind: 'protocol', message: `note ${i} "quoted" ✓` });
    });
    for (const id of ['c1', 'c2']) {
      expect(store.frameCount(id)).toBe(sent[id]!.length);
      // (Compared as their JSON forms: toEqual walks large byte arrays element by element.)
      sent[id]!.forEach((f, seq) => expect(frameToJson(store.frame(id, seq)!)).toEqual(frameToJson(strip(f))));
      // the search's block reader gives the same frames, the megabyte ones included
      const scan = store.scanner(id);
      sent[id]!.forEach((f, seq) => expect(frameToJson(scan(seq)!)).toEqual(frameToJson(strip(f))));
      expect(scan(sent[id]!.length)).toBeUndefined();
    }
    // The exporters' view of the same frames.
    const source = store.source(['c2']);
    expect([...source.frames(0)].map((f) => frameToJson(f))).toEqual(sent['c2']!.map((f) => frameToJson(strip(f))));
  });
});

/** A store whose disk fills up after `room` bytes: the write that crosses it writes what fits, then fails. */
function fillingStore(room: number, options: SessionStoreOptions): SessionStore {
  let written = 0;
  const write: WriteFn = (fd, pieces, position) => {
    const fits = Math.max(0, Math.min(pieces.reduce((n, p) => n + p.length, 0), room - written));
    if (fits === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const whole = Buffer.concat(pieces as Uint8Array[]);
    const n = writeSync(fd, whole, 0, fits, position);
    written += n;
    return n;
  };
  return new SessionStore(undefined, { ...options, write });
}

/** Frames compared as their JSON forms: toEqual walks large byte arrays element by element. */
const json = (f: FrameRecord | undefined) => (f ? frameToJson(f) : f);

describe('SessionStore: a disk that fills up', () => {
  const open = (connection: string): EngineEvent => ({ event: 'open', connection, mode: 'proxy', url: `ws://127.0.0.1:1/${connection}`, client: null, server: null, startedAt: 1, tls: null });

  for (const room of [0, 1_000_000, 2_500_000]) {
    it(`full after ${room} bytes: no throw, told once, every frame still comes back (from the file before, from memory after)`, () => {
      const failures: string[] = [];
      const store = fillingStore(room, { onFailure: (err) => failures.push(err.code ?? '') });
      stores.push(store);
      const rand = prng(room + 1);
      const sent: FrameEvent[] = [];
      store.append(open('c1'));
      const sizes = [...Array.from({ length: 3000 }, () => Math.floor(rand() * 300)), 1_200_000, 5, 70_000, ...Array.from({ length: 3000 }, () => Math.floor(rand() * 300))];
      for (const size of sizes) {
        const f = frameEvent('c1', sent.length, randomBytes(size, rand));
        sent.push(f);
        expect(() => store.append(f)).not.toThrow();
        // Reading flushes: failures may come from a read as well as from an append.
        if (sent.length % 700 === 0) expect(json(store.frame('c1', sent.length - 1))).toEqual(json(strip(f)));
      }
      expect(failures).toEqual(['ENOSPC']);
      expect(store.failure?.code).toBe('ENOSPC');
      sent.forEach((f, seq) => expect(json(store.frame('c1', seq)), `seq ${seq}`).toEqual(json(strip(f))));
      const scan = store.scanner('c1');
      sent.forEach((f, seq) => expect(json(scan(seq)), `scanned seq ${seq}`).toEqual(json(strip(f))));
      expect([...store.source(['c1']).frames(0)].map(json)).toEqual(sent.map((f) => json(strip(f))));
    });
  }

  it('past the memory limit, frames are kept without their payloads, cut and marked so', () => {
    const store = fillingStore(0, { memoryBytes: 200_000 });
    stores.push(store);
    const rand = prng(3);
    store.append(open('c1'));
    const sent = Array.from({ length: 40 }, (_, seq) =>
      frameEvent('c1', seq, randomBytes(10_000, rand), seq === 39 ? { message: { opcode: 2 as const, length: 10_000, data: Buffer.from([0, 0, 0]) } } : {}),
    );
    for (const f of sent) {
      store.append(f);
      store.flush();
    }
    const back = sent.map((_, seq) => store.frame('c1', seq)!);
    // ~13.6 KB a line: the first 15 lines fill 200 KB of memory, the rest are cut.
    const kept = back.findIndex((f) => f.truncated);
    expect(kept).toBeGreaterThan(10);
    back.slice(0, kept).forEach((f, seq) => expect(json(f)).toEqual(json(strip(sent[seq]!))));
    for (const [i, f] of back.slice(kept).entries()) {
      const { payload: _p, message: _m, ...rest } = strip(sent[kept + i]!);
      expect(f).toMatchObject({ ...rest, payload: new Uint8Array(0), truncated: true, stored: 0 });
    }
    expect(back[39]!.message).toEqual({ opcode: 2, length: 10_000, data: new Uint8Array(0), truncated: true });
  });
});
