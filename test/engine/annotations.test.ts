// A frame's bookmark and note: set through the `annotate` command (checked like every
// command), kept in the session's journal (a restored session has them), written into
// capture v1 and NDJSON exports and read back on import. Against a real `ws` echo server.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameSummary, UiEvent } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { openCapture } from '../../main/engine/recording/capture-reader';
import { startWsServer } from '../peers/ws-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-annotations-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(sessionsDir?: string) {
  const session = new EngineSession({ version: 'test', batchMs: 5, ...(sessionsDir ? { sessionsDir } : {}) });
  const batches: UiEvent[][] = [];
  session.onEvents((b) => batches.push(b));
  const rows = (id: string) => batches.flat().flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
  const state = (id: string) => batches.flat().flatMap((e) => (e.type === 'connection' && e.connection.id === id ? [e.connection.state] : [])).at(-1);
  return { session, rows, state };
}

async function record(sessionsDir?: string) {
  const server = await startWsServer({});
  cleanup.push(() => server.close());
  const s = open(sessionsDir);
  const { connection } = await s.session.dispatch('connect', { url: server.url, deflate: false });
  await until(() => s.state(connection) === 'open');
  for (const text of ['one', 'two', 'three']) await s.session.dispatch('send', { connection, kind: 'text', text });
  await until(() => s.rows(connection).length === 6);
  return { ...s, connection };
}

const marks = (rows: FrameSummary[]) => rows.filter((r) => r.bookmark || r.note).map((r) => ({ seq: r.seq, bookmark: r.bookmark, note: r.note }));

describe('bookmarks and notes on frames', () => {
  it('checks the command: a clear one-line error for a bad argument or an unknown frame', async () => {
    const s = open();
    cleanup.push(() => s.session.dispose());
    await expect(s.session.dispatch('annotate', { connection: 'c1', seq: -1 })).rejects.toThrow('annotate.seq must be a whole number');
    await expect(s.session.dispatch('annotate', { connection: 'c1', seq: 0, bookmark: 'yes' })).rejects.toThrow('annotate.bookmark must be true or false');
    await expect(s.session.dispatch('annotate', { connection: 'c1', seq: 0, note: 'x'.repeat(4097) })).rejects.toThrow('annotate.note is longer than 4096');
    await expect(s.session.dispatch('annotate', { connection: 'c1', seq: 0, colour: 'red' })).rejects.toThrow('annotate.colour is not expected');
    await expect(s.session.dispatch('annotate', { connection: 'nope', seq: 0, bookmark: true })).rejects.toThrow('no connection nope');
    await expect(s.session.dispatch('bookmarks', {})).rejects.toThrow('bookmarks.connection must be a string');
  });

  it('sets, keeps and clears them; a frame out of range is refused', async () => {
    const r = await record();
    cleanup.push(() => r.session.dispose());
    await expect(r.session.dispatch('annotate', { connection: r.connection, seq: 6, bookmark: true })).rejects.toThrow(`connection ${r.connection} has no frame 6`);
    const row = await r.session.dispatch('annotate', { connection: r.connection, seq: 1, bookmark: true });
    expect(row).toMatchObject({ seq: 1, bookmark: true });
    // A field left out keeps its value.
    expect(await r.session.dispatch('annotate', { connection: r.connection, seq: 1, note: 'the echo' })).toMatchObject({ bookmark: true, note: 'the echo' });
    await r.session.dispatch('annotate', { connection: r.connection, seq: 4, note: 'only a note' });
    expect((await r.session.dispatch('bookmarks', { connection: r.connection })).seqs).toEqual([1]);
    const rows = await r.session.dispatch('frames', { connection: r.connection, from: 0, to: 6 });
    expect(marks(rows)).toEqual([
      { seq: 1, bookmark: true, note: 'the echo' },
      { seq: 4, bookmark: undefined, note: 'only a note' },
    ]);
    // Other UIs on the session hear of it.
    r.session.flush();
    expect(r.rows(r.connection).filter((x) => x.seq === 1).at(-1)).toMatchObject({ bookmark: true, note: 'the echo' });
    await r.session.dispatch('annotate', { connection: r.connection, seq: 4, note: '' });
    expect(marks(await r.session.dispatch('frames', { connection: r.connection, from: 0, to: 6 }))).toEqual([{ seq: 1, bookmark: true, note: 'the echo' }]);
  });

  it('writes them into capture v1 and NDJSON exports, and an import reads them back', async () => {
    const r = await record();
    cleanup.push(() => r.session.dispose());
    await r.session.dispatch('annotate', { connection: r.connection, seq: 2, bookmark: true, note: 'ünïcode "quoted"\nsecond line' });
    await r.session.dispatch('annotate', { connection: r.connection, seq: 5, bookmark: true });
    const blob = await r.session.dispatch('exportCapture', { format: 'json', connections: [r.connection] });
    const text = Buffer.from(blob.data, 'base64').toString('utf8');
    const file = JSON.parse(text) as { connections: Array<{ frames: Array<Record<string, unknown>> }> };
    expect(file.connections[0]!.frames[2]).toMatchObject({ bookmark: true, note: 'ünïcode "quoted"\nsecond line' });
    expect(file.connections[0]!.frames[0]).not.toHaveProperty('bookmark');
    // The CLI's reader (the one `framescope import` uses) accepts them.
    const dir = tempDir();
    writeFileSync(join(dir, 'c.wscap.json'), text);
    const source = openCapture(join(dir, 'c.wscap.json'));
    expect([...source.frames(0)].filter((f) => f.bookmark).map((f) => f.seq)).toEqual([2, 5]);
    source.close();
    const nd = await r.session.dispatch('exportCapture', { format: 'ndjson', connections: [r.connection] });
    const events = Buffer.from(nd.data, 'base64').toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e['event'] === 'frame' && e['bookmark']).map((e) => e['seq'])).toEqual([2, 5]);

    for (const b of [blob, nd]) {
      const { connections } = await r.session.dispatch('importCapture', b);
      const rows = await r.session.dispatch('frames', { connection: connections[0]!, from: 0, to: 6 });
      expect(marks(rows)).toEqual([
        { seq: 2, bookmark: true, note: 'ünïcode "quoted"\nsecond line' },
        { seq: 5, bookmark: true, note: undefined },
      ]);
    }
  });

  it('a capture with a bad note is refused naming the field; one without annotations reads as before', async () => {
    const r = await record();
    cleanup.push(() => r.session.dispose());
    const blob = await r.session.dispatch('exportCapture', { format: 'json', connections: [r.connection] });
    const file = JSON.parse(Buffer.from(blob.data, 'base64').toString('utf8')) as { connections: Array<{ frames: Array<Record<string, unknown>> }> };
    const { connections } = await r.session.dispatch('importCapture', blob);
    expect(marks(await r.session.dispatch('frames', { connection: connections[0]!, from: 0, to: 6 }))).toEqual([]);
    file.connections[0]!.frames[1]!['note'] = 42;
    const bad = { ...blob, filename: 'bad.wscap.json', data: Buffer.from(JSON.stringify(file)).toString('base64') };
    await expect(r.session.dispatch('importCapture', bad)).rejects.toThrow('bad.wscap.json: "note" must be a string of at most 4096 characters when present at connections[0].frames[1]');
    file.connections[0]!.frames[1]!['note'] = 'fine';
    file.connections[0]!.frames[1]!['bookmark'] = false;
    await expect(r.session.dispatch('importCapture', { ...bad, data: Buffer.from(JSON.stringify(file)).toString('base64') })).rejects.toThrow('"bookmark" may only be true when present');
  });

  it('a session restored after a restart keeps them, the last change winning', async () => {
    const dir = join(tempDir(), 'sessions');
    const first = await record(dir);
    await first.session.dispatch('annotate', { connection: first.connection, seq: 0, bookmark: true, note: 'first' });
    await first.session.dispatch('annotate', { connection: first.connection, seq: 0, bookmark: false });
    await first.session.dispatch('annotate', { connection: first.connection, seq: 3, bookmark: true });
    await first.session.dispatch('annotate', { connection: first.connection, seq: 4, bookmark: true });
    await first.session.dispatch('annotate', { connection: first.connection, seq: 4, bookmark: false, note: '' });
    await first.session.dispose();

    const second = open(dir);
    const snap = await second.session.dispatch('snapshot', {});
    const [id] = (await second.session.dispatch('restoreSession', { id: snap.previousSession!.id })).connections;
    const expected = [
      { seq: 0, bookmark: undefined, note: 'first' },
      { seq: 3, bookmark: true, note: undefined },
    ];
    expect(marks(await second.session.dispatch('frames', { connection: id!, from: 0, to: 6 }))).toEqual(expected);
    // And once more: the restored session's own journal has them too.
    await second.session.dispose();
    const third = open(dir);
    cleanup.push(() => third.session.dispose());
    const snap3 = await third.session.dispatch('snapshot', {});
    const [id3] = (await third.session.dispatch('restoreSession', { id: snap3.previousSession!.id })).connections;
    expect(marks(await third.session.dispatch('frames', { connection: id3!, from: 0, to: 6 }))).toEqual(expected);
    expect((await third.session.dispatch('bookmarks', { connection: id3! })).seqs).toEqual([3]);
  });
});
