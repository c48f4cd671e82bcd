// The journal: NDJSON engine events appended to FILE.journal as they happen. A turn's lines
// collect in memory and go to the file in one write at the turn's end, so a killed process
// loses at most the events of its last turn of the event loop.
//
// A write that fails (a full disk, a quota, an I/O error) stops the journal there: the file
// keeps every event before it (at most a cut last line, which the readers drop), later
// events are counted as lost, and the owner is told once. It never throws into the code
// that records: the proxy keeps relaying the connections.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EngineEvent } from '../../shared/model';
import { eventToJson } from '../../shared/records';
import { openCapture } from './capture-reader';
import { EXPORTERS } from './export';
import { base64 } from './base64';
import { now } from './clock';

export class Journal {
  private fd: number | null;
  private scheduled = false;
  private lines: string[] = [];
  /** events written to the file, or encoded and waiting for the turn's end */
  written = 0;
  /** the write that stopped the journal, if one failed */
  failure: NodeJS.ErrnoException | null = null;
  /** events not in the file because a write failed (those in the failed write, and every later one) */
  lost = 0;

  /** `onFailure`: called once, when a write fails and the journal stops. */
  constructor(
    readonly path: string,
    private readonly onFailure?: (err: NodeJS.ErrnoException) => void,
  ) {
    this.fd = openSync(path, 'w', 0o600);
  }

  /** Encodes the event now, writes it out at the turn's end. */
  write(event: EngineEvent): void {
    if (this.fd === null) {
      if (this.failure) this.lost++;
      return;
    }
    // A close event says how, not when: the journal adds `endedAt` so a capture rebuilt
    // from it keeps the connection's end.
    const e = event.event === 'close' && event.endedAt === undefined ? { ...event, endedAt: now() } : event;
    this.lines.push(JSON.stringify(eventToJson(e, base64)) + '\n');
    this.written++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes out what is encoded: in the file when this returns. */
  flush(): void {
    this.scheduled = false;
    if (this.fd === null || this.lines.length === 0) return;
    const bytes = Buffer.from(this.lines.join(''));
    const count = this.lines.length;
    this.lines = [];
    try {
      // A write may take part of the bytes (a file size limit, a disk that fills): the rest
      // is written again, and it is that write which fails.
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException, count);
    }
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private fail(err: NodeJS.ErrnoException, count: number): void {
    this.failure = err;
    // The failed write's lines may be in the file in part (a cut last line) or not at all.
    this.lost += count;
    this.written -= count;
    try {
      closeSync(this.fd!);
    } catch {
      /* the failure already said what is wrong */
    }
    this.fd = null;
    this.onFailure?.(err);
  }
}

export interface JournalSummary {
  connections: number;
  frames: number;
  /** what was left out, if anything: a last line cut off (the process died mid-write), bad lines skipped */
  warnings: string[];
}

/**
 * Rebuilds a capture from a journal (after a clean stop, or a crash) with the same reader
 * as `framescope import`: streaming, so memory does not grow with the journal.
 */
export function captureFromJournal(journalPath: string, capturePath: string): JournalSummary {
  const source = openCapture(journalPath);
  try {
    const r = EXPORTERS.json(source, capturePath);
    return { connections: r.connections, frames: r.frames, warnings: [...source.warnings] };
  } finally {
    source.close();
  }
}
