// Writes capture v1 (docs/contracts.md) as a stream: one frame a line, flushed in blocks, so a
// capture of a million frames never exists twice in memory as one giant string.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { ConnectionRecord, FrameRecord } from '../../../shared/model';
import { frameToJson } from '../../../shared/records';
import type { ConnectionHead } from './capture-shape';
import { base64 } from '../base64';

const FLUSH_AT = 1 << 20;

/** A connection whose frames may be streamed (a generator reading a journal back) rather than held. */
export type ConnectionSource = Omit<ConnectionRecord, 'frames'> & { frames: Iterable<FrameRecord> };

/**
 * The streaming form: the header, then each connection's head and its frames one at a
 * time, from any iterable (a list in memory or a reader walking a file). The bytes are
 * those of writeCaptureFile for the same records, so read → write gives the same file.
 */
export class CaptureWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private pending = '';
  private firstConn = true;
  private done = false;

  constructor(
    readonly path: string,
    createdAt: Date | string = new Date(),
  ) {
    // Write beside the target and rename, so a reader never sees half a file.
    this.tmp = `${path}.partial`;
    this.fd = openSync(this.tmp, 'w');
    const created = typeof createdAt === 'string' ? createdAt : createdAt.toISOString();
    this.put(`{"format":"framescope.capture","version":1,"createdAt":${JSON.stringify(created)},"connections":[`);
  }

  private put(s: string): void {
    this.pending += s;
    if (this.pending.length >= FLUSH_AT) {
      writeSync(this.fd, this.pending);
      this.pending = '';
    }
  }

  /** One connection: its fields in their order, then its frames last. */
  connection(head: ConnectionHead | ConnectionSource, frames: Iterable<FrameRecord>): void {
    this.put(this.firstConn ? '\n' : ',\n');
    this.firstConn = false;
    const { frames: _ignored, ...rest } = head as ConnectionSource;
    const text = JSON.stringify({ ...rest, frames: [] });
    // Splice the frames into the "frames":[] of the serialized connection.
    const at = text.lastIndexOf('"frames":[]') + '"frames":['.length;
    this.put(text.slice(0, at));
    let first = true;
    for (const frame of frames) {
      this.put(first ? '\n' : ',\n');
      this.frame(frame);
      first = false;
    }
    this.put(text.slice(at));
  }

  /** One frame, its bytes as the contract's text. */
  private frame(frame: FrameRecord): void {
    this.put(JSON.stringify(frameToJson(frame, base64)));
  }

  /** Ends the document and moves the file into place. */
  finish(): void {
    this.put('\n]}\n');
    try {
      writeSync(this.fd, this.pending);
      this.pending = '';
    } finally {
      closeSync(this.fd);
      this.closed = true;
    }
    renameSync(this.tmp, this.path);
    this.done = true;
  }

  private closed = false;

  /** Gives up: removes the partial file (nothing once finish() has moved it into place). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      if (!this.closed) closeSync(this.fd);
    } finally {
      this.closed = true;
      rmSync(this.tmp, { force: true });
    }
  }
}

export function writeCaptureFile(path: string, connections: Iterable<ConnectionSource>, createdAt: Date | string = new Date()): void {
  const writer = new CaptureWriter(path, createdAt);
  try {
    for (const c of connections) writer.connection(c, c.frames);
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
}
