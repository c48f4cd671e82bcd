// The journal: NDJSON engine events appended to FILE.journal as they happen, so a killed
// process loses at most the events of its last turn of the event loop. Writes are
// batched per turn (one syscall for many frames), then flushed synchronously.
//
// Large frames are the expensive case, and not for the bytes' sake: every fresh block of
// memory costs a page fault per 4 KiB when first touched (~27 µs each on the 2-core bench
// VM; a 256 KiB frame's base64 is ~90 faults). So encoding allocates nothing: lines are
// encoded into one reused buffer, and a frame's base64 payload (and message data) past
// SPLICE_AT is not copied into a JSON string first but written around it. The bytes in the
// file are those of JSON.stringify(event) + "\n", one event a line.
//
// Each event is encoded during write(), as one line each (a frame event's payload may be
// the proxy's reused read buffer, valid only during the sink call), and the encoded bytes
// go to the file once per turn of the event loop.
//
// A write that fails (a full disk, a quota, an I/O error) stops the journal there: the file
// keeps every event before it (at most a cut last line, which the readers drop), later
// events are counted as lost, and the owner is told once. It never throws into the code
// that records: the proxy keeps relaying the connections.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { ConnectionRecord, EngineEvent, FrameRecord } from '../../shared/model';
import { openCapture } from './capture-reader';
import { frameEventJsonBound, frameEventWith, rawPayload, writeFrameEventJson, type FrameEvent, type RawPayload } from '../../shared/records';
import { maskInPlace } from '../../shared/codec/frame-writer';
import { EXPORTERS } from './export';
import { now } from './clock';
import { emptiedAt } from './base64-spans';

/** The reused encoding buffer. Larger strings go out in pieces of a third of it. */
const SCRATCH_BYTES = 1 << 20;
/** Base64 fields at least this long are written around rather than copied into the JSON text. */
const SPLICE_AT = 16 * 1024;
/** Bytes staged per base64 run (a multiple of 3). */
const STAGE_BYTES = 48 * 1024;

/** One journal line: its JSON text, or the text in parts around large base64 strings. */
type Line = string | Array<string | RawPayload>;

export class Journal {
  private fd: number | null;
  private scheduled = false;
  private scratch: Buffer | null = null;
  private stage: Buffer | null = null;
  private used = 0;
  /** events encoded (they reach the file at the next flush) */
  written = 0;
  /** events encoded since the last write to the file */
  private unwritten = 0;
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

  /** Encodes the event now (its bytes may not outlive this call), writes it out at the turn's end. */
  write(event: EngineEvent): void {
    if (this.fd === null) {
      if (this.failure) this.lost++;
      return;
    }
    // A close event says how, not when: the journal adds `endedAt` (an added field, as the
    // ndjson export does) so a capture rebuilt from it keeps the connection's end. The
    // recorder emits close as it ends the connection, so now() is its endedAt to the µs.
    if (event.event === 'close' && !('endedAt' in event)) this.put(JSON.stringify({ ...event, endedAt: now() }));
    else if (event.event === 'frame') this.putFrame(event);
    else this.put(JSON.stringify(event));
    this.newline();
    if (this.fd === null) {
      // A write of this very line (of a part of it, or of what came before) failed.
      this.lost++;
      return;
    }
    this.written++;
    this.unwritten++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes out what is encoded. */
  flush(): void {
    this.scheduled = false;
    this.drain();
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.scratch = null;
  }

  private putFrame(event: FrameEvent): void {
    // Most frames: the line written as bytes into the scratch buffer, no string built. (The
    // raw check first: reading a lazy event's `payload` would build its base64.)
    if (rawPayload(event) === undefined && event.payload.length < SPLICE_AT && (event.message === undefined || event.message.data.length < SPLICE_AT)) {
      const scratch = (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
      const bound = frameEventJsonBound(event);
      if (bound <= scratch.length) {
        if (bound > scratch.length - this.used) this.drain();
        const end = writeFrameEventJson(event, scratch, this.used);
        if (end >= 0) {
          this.used = end;
          return;
        }
      }
    }
    const line = frameLine(event);
    if (typeof line === 'string') this.put(line);
    else for (const part of line) typeof part === 'string' ? this.put(part) : this.putBase64(part);
  }

  /**
   * Appends the base64 of a payload's bytes without building it as one string: the pieces
   * (unmasked on the way, when masked) are staged in a reused buffer and encoded in runs of
   * 48 KiB — a multiple of 3, so the runs' base64 joins to the whole's.
   */
  private putBase64(raw: RawPayload): void {
    const stage = (this.stage ??= Buffer.allocUnsafe(STAGE_BYTES));
    const key = raw.maskKey;
    let used = 0;
    let offset = 0; // position in the payload, for the mask key's rotation
    for (const piece of raw.pieces) {
      for (let at = 0; at < piece.length; ) {
        const n = Math.min(piece.length - at, STAGE_BYTES - used);
        stage.set(piece.subarray(at, at + n), used);
        if (key) maskInPlace(stage.subarray(used, used + n), key, offset);
        used += n;
        at += n;
        offset += n;
        if (used === STAGE_BYTES) {
          this.putAscii(stage.toString('base64', 0, used));
          used = 0;
        }
      }
    }
    if (used > 0) this.putAscii(stage.toString('base64', 0, used));
  }

  /**
   * Appends text known to be ASCII (base64): copied as Latin-1, a straight copy, ~4× faster
   * than UTF-8 encoding the same string (11 runs a large round trip).
   */
  private putAscii(text: string): void {
    const scratch = (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
    if (text.length > scratch.length - this.used) {
      this.drain();
      if (text.length > scratch.length) return this.put(text);
    }
    this.used += scratch.write(text, this.used, 'latin1');
  }

  /** Appends `text` as UTF-8 to the scratch buffer, writing it out when full. */
  private put(text: string): void {
    const scratch = (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
    // Worst case 3 bytes per UTF-16 unit (a surrogate pair is 2 units, 4 bytes).
    if (text.length * 3 > scratch.length - this.used) {
      this.drain();
      if (text.length * 3 > scratch.length) return this.putInPieces(text, scratch);
    }
    this.used += scratch.write(text, this.used);
  }

  private newline(): void {
    if (this.used === this.scratch!.length) this.drain();
    this.scratch![this.used++] = 0x0a;
  }

  private putInPieces(text: string, scratch: Buffer): void {
    const piece = Math.floor(scratch.length / 3);
    for (let i = 0; i < text.length; ) {
      let end = Math.min(text.length, i + piece);
      // Never cut a surrogate pair (each half alone would be written as U+FFFD).
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      this.used = scratch.write(text.slice(i, end), 0);
      this.drain();
      i = end;
    }
  }

  private drain(): void {
    if (this.fd === null || this.scratch === null) {
      // Stopped by a failed write: the rest of the line being encoded goes nowhere.
      this.used = 0;
      return;
    }
    try {
      for (let at = 0; at < this.used; ) at += writeSync(this.fd, this.scratch, at, this.used - at);
    } catch (err) {
      return this.fail(err as NodeJS.ErrnoException);
    }
    this.used = 0;
    this.unwritten = 0;
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.failure = err;
    // What was encoded since the last good write may be in the file in part (a cut last
    // line) or not at all: counted as lost either way.
    this.lost += this.unwritten;
    this.written -= this.unwritten;
    this.unwritten = 0;
    this.used = 0;
    try {
      closeSync(this.fd!);
    } catch {
      /* the failure already said what is wrong */
    }
    this.fd = null;
    this.onFailure?.(err);
  }
}

/**
 * A frame event's line. Small frames: JSON.stringify. Large ones: stringified with the big
 * base64 strings left empty, then cut there and the strings put back as parts. Base64 needs
 * no JSON escaping, and a raw `"payload":""` can only be the key itself (quotes inside JSON
 * strings are escaped), so the parts join to exactly what JSON.stringify would write.
 */
function frameLine(event: FrameEvent): Line {
  // A large payload the event carries as bytes (shared/records.ts RAW_PAYLOAD) is encoded
  // straight into the file; reading event.payload here would build the whole string.
  const raw = rawPayload(event);
  const bigPayload = raw !== undefined || event.payload.length >= SPLICE_AT;
  const bigData = event.message !== undefined && event.message.data.length >= SPLICE_AT;
  if (!bigPayload && !bigData) return JSON.stringify(event);
  // A copy with the big strings left empty.
  const hollow = frameEventWith(event, {
    ...(bigPayload ? { payload: '' } : {}),
    ...(bigData ? { message: { ...event.message!, data: '' } } : {}),
  });
  let text = JSON.stringify(hollow);
  const parts: Array<string | RawPayload> = [];
  const splice = (key: string, value: string | RawPayload, from: number): boolean => {
    const at = from < 0 ? -1 : emptiedAt(text, key, from);
    if (at < 0) return false;
    parts.push(text.slice(0, at), value);
    text = text.slice(at);
    return true;
  };
  if (bigPayload && !splice('payload', raw ?? event.payload, 0)) return JSON.stringify(event);
  if (bigData && !splice('data', event.message!.data, text.indexOf('"message":{'))) return JSON.stringify(event);
  parts.push(text);
  return parts;
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
