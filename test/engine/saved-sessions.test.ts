// Sessions outlive the app: a session that ends keeps its journal in the sessions folder,
// the next one offers it back, restoring brings its connections in as imported ones, and
// a killed run's journal is offered too. Against a real `ws` echo server.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameSummary, UiEvent } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { KEEP_SESSIONS, defaultSessionsDir } from '../../main/engine/session/saved-sessions';
import { startWsServer } from '../peers/ws-servers';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

function sessionsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-sessions-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'sessions');
}

function open(dir: string) {
  const session = new EngineSession({ version: 'test', batchMs: 5, sessionsDir: dir });
  const batches: UiEvent[][] = [];
  session.onEvents((b) => batches.push(b));
  const events = () => batches.flat();
  const rows = (id: string) => events().flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
  const state = (id: string) => events().flatMap((e) => (e.type === 'connection' && e.connection.id === id ? [e.connection.state] : [])).at(-1);
  return { session, events, rows, state };
}

/** A session that talks to an echo server: three messages and their echoes, left open. */
async function record(dir: string) {
  const server = await startWsServer({});
  cleanup.push(() => server.close());
  const s = open(dir);
  const { connection } = await s.session.dispatch('connect', { url: server.url, deflate: false });
  await until(() => s.state(connection) === 'open');
  for (const text of ['one', 'two', 'needle']) await s.session.dispatch('send', { connection, kind: 'text', text });
  await until(() => s.rows(connection).length === 6);
  return { ...s, connection };
}

describe('sessions kept across runs', () => {
  it('offers the last session back, restores its connections and frames, and then stops offering it', async () => {
    const dir = sessionsDir();
    const first = await record(dir);
    await first.session.dispose();
    const second = open(dir);
    cleanup.push(() => second.session.dispose());
    const snap = await second.session.dispatch('snapshot', {});
    expect(snap.previousSession).toMatchObject({ connections: 1, frames: 6, ended: true });
    expect(snap.previousSession!.bytes).toBeGreaterThan(0);
    const { connections } = await second.session.dispatch('restoreSession', { id: snap.previousSession!.id });
    expect(connections).toHaveLength(1);
    const [id] = connections;
    const summary = (await second.session.dispatch('snapshot', {})).connections.find((c) => c.id === id)!;
    expect(summary).toMatchObject({ imported: true, state: 'closed', frames: { client: 3, server: 3 } });
    const frames = await second.session.dispatch('frames', { connection: id!, from: 0, to: 6 });
    expect(frames.map((f) => [f.from, f.preview])).toEqual(first.rows(first.connection).map((f) => [f.from, f.preview]));
    expect(frames.filter((f) => f.preview.includes('needle'))).toHaveLength(2);
    // Payloads can hold secrets: the folder Framescope made is the user's alone.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    second.session.flush();
    expect(second.events()).toContainEqual({ type: 'previousSession', previous: null });
    expect((await second.session.dispatch('snapshot', {})).previousSession).toBeUndefined();
    // Restored into this run: the earlier copy is gone, so it is never offered twice.
    expect(readdirSync(dir)).toHaveLength(1);
    await expect(second.session.dispatch('restoreSession', { id: snap.previousSession!.id })).rejects.toThrow(/no earlier session/);
  });

  it('deletes a session the user discards, and keeps nothing of a run that recorded nothing', async () => {
    const dir = sessionsDir();
    const first = await record(dir);
    await first.session.dispose();
    const second = open(dir);
    const offered = (await second.session.dispatch('snapshot', {})).previousSession!;
    await second.session.dispatch('discardSession', { id: offered.id });
    expect((await second.session.dispatch('snapshot', {})).previousSession).toBeUndefined();
    await second.session.dispose();
    // The second run recorded nothing and the first is discarded: nothing is left.
    expect(readdirSync(dir)).toEqual([]);
    const third = open(dir);
    cleanup.push(() => third.session.dispose());
    expect((await third.session.dispatch('snapshot', {})).previousSession).toBeUndefined();
  });

  it('offers a killed run\'s journal, marked as not ended cleanly, and leaves a running one alone', async () => {
    const dir = sessionsDir();
    const killed = await record(dir);
    // Its folder is restored (and so deleted) below: ending it after that must not throw.
    cleanup.push(() => killed.session.dispose());
    // Reading rows writes what is pending to the journal (what a kill -9 would find on disk).
    await killed.session.dispatch('frames', { connection: killed.connection, from: 0, to: 6 });
    // Its lock names a process that is gone (the run was killed: no dispose, no note).
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.on('exit', r));
    const folder = readdirSync(dir)[0]!;
    writeFileSync(join(dir, folder, 'lock'), String(gone.pid));
    const next = open(dir);
    cleanup.push(() => next.session.dispose());
    const offered = (await next.session.dispatch('snapshot', {})).previousSession!;
    expect(offered).toMatchObject({ id: folder, ended: false, connections: null, frames: null });
    const { connections } = await next.session.dispatch('restoreSession', { id: offered.id });
    const frames = await next.session.dispatch('frames', { connection: connections[0]!, from: 0, to: 10 });
    expect(frames).toHaveLength(6);

    // A folder whose lock names a live process belongs to a running instance.
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    cleanup.push(() => void running.kill());
    const other = join(dir, '9999-other');
    mkdirSync(other);
    writeFileSync(join(other, 'session.journal'), 'x');
    writeFileSync(join(other, 'lock'), String(running.pid));
    const another = open(dir);
    cleanup.push(() => another.session.dispose());
    expect((await another.session.dispatch('snapshot', {})).previousSession?.id).not.toBe('9999-other');
    await expect(another.session.dispatch('discardSession', { id: '9999-other' })).rejects.toThrow(/no earlier session/);
  });

  it(`keeps the newest ${KEEP_SESSIONS} earlier sessions, each in a folder only the user can read`, async () => {
    const dir = sessionsDir();
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < KEEP_SESSIONS + 3; i++) {
      const d = join(dir, `2020-01-0${i + 1}T00-00-00-000Z-1`);
      mkdirSync(d);
      writeFileSync(join(d, 'session.journal'), '');
      writeFileSync(join(d, 'session.json'), JSON.stringify({ connections: 1, frames: 1, startedAt: '', endedAt: new Date().toISOString() }));
    }
    const s = open(dir);
    cleanup.push(() => s.session.dispose());
    const left = readdirSync(dir).sort();
    // The earlier ones kept, and this run's own folder.
    expect(left).toHaveLength(KEEP_SESSIONS + 1);
    expect(left[0]).toBe('2020-01-04T00-00-00-000Z-1');
    expect((await s.session.dispatch('snapshot', {})).previousSession?.id).toBe('2020-01-08T00-00-00-000Z-1');
    expect(statSync(join(dir, left.at(-1)!)).mode & 0o777).toBe(0o700);
  });

  it('lives in the platform\'s per-user data folder', () => {
    expect(defaultSessionsDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/framescope/sessions');
    expect(defaultSessionsDir({ XDG_DATA_HOME: '/data' }, 'linux', '/home/u')).toBe('/data/framescope/sessions');
    expect(defaultSessionsDir({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/u')).toBe('/home/u/.local/share/framescope/sessions');
    expect(defaultSessionsDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Framescope/Sessions');
    expect(defaultSessionsDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\Framescope\\Sessions');
  });
});
