// The app's session store (main/engine/session-store.ts): every event appended to its
// journal, frames read back by seq from where their lines are. Lines are written three
// ways (a small frame's as bytes straight into the pending buffer, others as text into it,
// one longer than the buffer straight to the file): every frame must come back as it went
// in, whichever way and wherever the buffer was flushed.
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/model';
import { SessionStore } from '../../main/engine/session-store';
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
      const extra = i % 50 === 0 ? { message: { opcode: 2 as const, length: 40, data: randomBytes(40, rand).toString('base64') }, rsv1: true } : {};
      const f = frameEvent(connection, seq, randomBytes(size, rand), extra);
      sent[connection]!.push(f);
      store.append(f);
      if (i % 997 === 0) store.append({ event: 'error', connection, kind: 'protocol', message: `note ${i} "quoted" ✓` });
    });
    for (const id of ['c1', 'c2']) {
      expect(store.frameCount(id)).toBe(sent[id]!.length);
      sent[id]!.forEach((f, seq) => expect(store.frame(id, seq)).toEqual(strip(f)));
    }
    // The exporters' view of the same frames.
    const source = store.source(['c2']);
    expect([...source.frames(0)]).toEqual(sent['c2']!.map(strip));
  });
});
