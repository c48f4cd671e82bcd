// A recording to a capture file, as `connect --capture FILE` and `proxy --capture FILE` make
// it: every event goes to FILE.journal (the event log) as it happens, and at the end the
// capture is written from the journal, which is then removed. After a crash the journal is
// left for `framescope import FILE.journal -o FILE`.
import { rmSync, statSync } from 'node:fs';
import type { EngineEvent } from '../../../shared/model';
import { EXPORTERS } from './export';
import { now } from '../clock';
import { EventLog, type WriteFn } from './event-log';
import { openLog } from './log-reader';

export interface RecordingResult {
  connections: number;
  frames: number;
  /** what the journal's reader skipped (damaged records: the journal is then kept) */
  warnings: string[];
  /** the journal write that failed, if one did; its later events were then kept in memory */
  failure: NodeJS.ErrnoException | null;
  /** events kept in memory after that failure (they are in the capture) */
  inMemory: number;
  /** of those, frames kept without their payload (past the memory limit) */
  stripped: number;
}

export class Recording {
  readonly journalPath: string;
  private readonly log: EventLog;

  /** Throws when the journal cannot be created (say so and stop: nothing would be recorded). */
  constructor(
    readonly capturePath: string,
    onFailure: (err: NodeJS.ErrnoException) => void,
    options: { write?: WriteFn } = {},
  ) {
    this.journalPath = `${capturePath}.journal`;
    this.log = new EventLog(this.journalPath, { onFailure, write: options.write });
  }

  get failure(): NodeJS.ErrnoException | null {
    return this.log.failure;
  }

  /** Bytes in the journal file (to say so before a long conversion). */
  get size(): number {
    this.log.flush();
    return statSync(this.journalPath, { throwIfNoEntry: false })?.size ?? 0;
  }

  append(event: EngineEvent): void {
    // A close event says how, not when: the recording adds `endedAt` so the capture keeps
    // the connection's end.
    this.log.append(event.event === 'close' && event.endedAt === undefined ? { ...event, endedAt: now() } : event);
  }

  /**
   * Writes the capture from the journal and what a failed write left in memory. The journal
   * is removed unless its reader skipped something (a disk error: kept for a look). Throws
   * when the capture cannot be written (the journal is then kept).
   */
  finish(): RecordingResult {
    const held = this.log.held();
    const source = openLog(this.journalPath, { held });
    const result = { failure: this.log.failure, inMemory: this.log.inMemory, stripped: this.log.stripped };
    try {
      const r = EXPORTERS.json(source, this.capturePath);
      const warnings = [...source.warnings];
      if (warnings.length === 0) {
        this.log.close();
        rmSync(this.journalPath, { force: true });
      }
      return { connections: r.connections, frames: r.frames, warnings, ...result };
    } finally {
      source.close();
      this.log.close();
    }
  }

  /** Stops recording without a capture (the journal stays). */
  close(): void {
    this.log.close();
  }
}
