// Sessions that outlive the app: each run of the UI records into its own folder under the
// sessions dir (a journal, and a note of what it holds once it ends). The next run offers
// the newest earlier one back; restoring imports its journal like a capture. A run that was
// killed leaves its journal and a lock naming a dead process: it is offered the same way,
// marked as not ended cleanly. A folder whose lock names a live process belongs to another
// running instance and is left alone.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path, { join } from 'node:path';
import type { PreviousSession } from '../../../shared/contract';

/** Earlier sessions kept; older ones are deleted when a new one starts. */
export const KEEP_SESSIONS = 5;

const JOURNAL = 'session.journal';
const LOCK = 'lock';
const NOTE = 'session.json';

/** Where sessions live by default: the platform's per-user data folder. */
export function defaultSessionsDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') {
    const local = env['LOCALAPPDATA'] || path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(local, 'Framescope', 'Sessions');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Framescope', 'Sessions');
  // The XDG spec: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env['XDG_DATA_HOME'];
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.local', 'share');
  return path.posix.join(base, 'framescope', 'sessions');
}

interface Note {
  connections: number;
  frames: number;
  startedAt: string;
  endedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, run by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function isNote(v: unknown): v is Note {
  const n = v as Note;
  return typeof v === 'object' && v !== null && typeof n.connections === 'number' && typeof n.frames === 'number' && typeof n.endedAt === 'string';
}

/** The sessions dir: this run's folder, and the earlier sessions in it. */
export class SavedSessions {
  /** this run's folder (the journal goes in it) */
  readonly current: string;
  private readonly startedAt = new Date().toISOString();

  constructor(readonly root: string) {
    // Payloads can hold secrets: only the user reads them.
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const name = `${this.startedAt.replace(/[:.]/g, '-')}-${process.pid}`;
    this.current = join(root, name);
    mkdirSync(this.current, { mode: 0o700 });
    writeFileSync(join(this.current, LOCK), String(process.pid), { mode: 0o600 });
    this.prune();
  }

  get journal(): string {
    return join(this.current, JOURNAL);
  }

  /** Earlier sessions not in use, newest first. */
  private earlier(): Array<{ id: string; dir: string }> {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    const out: Array<{ id: string; dir: string }> = [];
    for (const id of names.sort().reverse()) {
      const dir = join(this.root, id);
      if (dir === this.current || !/^[\w-]+$/.test(id)) continue;
      const lock = readJson(join(dir, LOCK));
      if (typeof lock === 'number' && lock !== process.pid && alive(lock)) continue;
      try {
        if (!statSync(join(dir, JOURNAL)).isFile()) continue;
      } catch {
        continue;
      }
      out.push({ id, dir });
    }
    return out;
  }

  /** Keeps the newest KEEP_SESSIONS earlier sessions. */
  private prune(): void {
    for (const s of this.earlier().slice(KEEP_SESSIONS)) rmSync(s.dir, { recursive: true, force: true });
  }

  /** The newest earlier session that recorded something, to offer back. */
  previous(): PreviousSession | null {
    for (const s of this.earlier()) {
      const journal = join(s.dir, JOURNAL);
      const bytes = statSync(journal).size;
      const note = readJson(join(s.dir, NOTE));
      if (isNote(note)) {
        if (note.connections === 0) continue;
        return { id: s.id, connections: note.connections, frames: note.frames, bytes, endedAt: note.endedAt, ended: true };
      }
      // No note: that run was killed. What it holds is known once it is read.
      if (bytes === 0) continue;
      return { id: s.id, connections: null, frames: null, bytes, endedAt: statSync(journal).mtime.toISOString(), ended: false };
    }
    return null;
  }

  /** The journal of an earlier session, if `id` names one not in use. */
  journalOf(id: string): string | null {
    const s = this.earlier().find((e) => e.id === id);
    return s ? join(s.dir, JOURNAL) : null;
  }

  /** Deletes an earlier session (restored into this one, or discarded). */
  remove(id: string): void {
    const s = this.earlier().find((e) => e.id === id);
    if (s) rmSync(s.dir, { recursive: true, force: true });
  }

  /** This run ends: an empty session goes, else its note is written and the lock let go. */
  end(counts: { connections: number; frames: number }): void {
    if (counts.connections === 0) {
      rmSync(this.current, { recursive: true, force: true });
      return;
    }
    const note: Note = { ...counts, startedAt: this.startedAt, endedAt: new Date().toISOString() };
    try {
      writeFileSync(join(this.current, NOTE), JSON.stringify(note) + '\n', { mode: 0o600 });
      rmSync(join(this.current, LOCK), { force: true });
    } catch {
      // The folder is gone or the disk refuses: the journal, if any, is offered as a killed run's.
    }
  }
}
