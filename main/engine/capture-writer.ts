// Writes capture v1 (docs/contracts.md) as a stream: one frame a line, flushed in blocks, so a
// capture of a million frames never exists twice in memory as one giant string.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { ConnectionRecord, FrameRecord } from '../../shared/model';
import type { ConnectionHead } from './capture-shape';
import { rawSpans } from './capture-source';
import { emptiedAt } from './base64-spans';

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

  /**
   * One frame as JSON.stringify writes it. A frame whose base64 comes as bytes (a journal's
   * long line, capture-source.ts RAW_SPANS) has those strings empty in the record: the text
   * is cut just inside them (base64-spans.ts emptiedAt) and the bytes written there.
   */
  private frame(frame: FrameRecord): void {
    const raw = rawSpans(frame);
    const text = JSON.stringify(frame);
    if (!raw) return this.put(text);
    const p = emptiedAt(text, 'payload');
    const d = raw.data ? emptiedAt(text, 'data', p) : -1;
    // Another emptied "payload" or "data" (in a field a later version added) leaves the
    // place unclear: then the strings are made and the frame stringified whole.
    if (p < 0 || emptiedAt(text, 'payload', p) >= 0 || (raw.data && (d < 0 || emptiedAt(text, 'data', d) >= 0))) {
      const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
      const whole = { ...frame, payload: latin1(raw.payload) };
      if (raw.data && frame.message) whole.message = { ...frame.message, data: latin1(raw.data) };
      return this.put(JSON.stringify(whole));
    }
    this.put(text.slice(0, p));
    this.putBytes(raw.payload);
    if (raw.data) {
      this.put(text.slice(p, d));
      this.putBytes(raw.data);
      this.put(text.slice(d));
    } else this.put(text.slice(p));
  }

  private putBytes(bytes: Uint8Array): void {
    if (this.pending.length > 0) writeSync(this.fd, this.pending);
    this.pending = '';
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
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
