// The event log: every engine event a recording takes (open, handshake, frame, error,
// close), appended to one file as it happens, in the binary format of log-format.ts
// (docs/recording.md). The proxy's and connect's --capture journal and the UI's session all
// write through it; log-reader.ts reads it back (import, recovery).
//
// Writing: append() encodes a record's header and fixed fields into a staging buffer and
// keeps a reference to its payload and message data (bytes are immutable once recorded: the
// caller must not change them after append). At the end of the turn of the event loop
// (setImmediate) all of that goes to the file in ONE writev, payloads straight from where
// they are; small payloads are copied next to their header instead (one iovec a record
// rather than three). While records keep coming, turn after turn, the writes are at least
// WRITE_INTERVAL_MS apart: a proxy relaying one message at a time made a write a turn, a
// system call that cost as much as relaying the message.
//
// What a kill -9 can lose: the records appended since the last write, i.e. at most those of
// the last WRITE_INTERVAL_MS and the turn in progress (and, when the staging buffer fills,
// it is written at once, so never more than that). A write that the kill interrupts leaves its last record
// cut: the reader drops a cut last record with a warning. Written bytes are in the kernel's
// page cache the moment writev returns, so a killed process loses none of them; only a
// crash of the machine itself could (the log does not fsync).
//
// A full disk (one policy for every owner): when a write fails (ENOSPC, EDQUOT, EFBIG, EIO,
// ...) the log says so once (onFailure), keeps every record already in the file, and from
// then on keeps new records in memory up to `memoryLimit` bytes; past that, frames are kept
// without their payload and message data (cut to 0 bytes, marked truncated) so their
// fields and counts survive. read() works across the file and memory. Nothing here throws
// into the code that appends: a proxy keeps relaying.

import { performance } from 'node:perf_hooks';
import { closeSync, fchmodSync, fstatSync, ftruncateSync, openSync, readSync, writevSync } from 'node:fs';
import type { EngineEvent } from '../../../shared/model';
import {
  decodeEvent,
  decodeFrame,
  encodeEventJson,
  FILE_HEADER_BYTES,
  fileHeader,
  frameBodyBytes,
  frameParts,
  isEventLog,
  KIND_EVENT,
  KIND_FRAME,
  parseRecordHeader,
  RECORD_HEADER_BYTES,
  VERSION,
  writeFrameRecord,
  writeRecordHeader,
  type FrameEvent,
} from './log-format';
import { endOfRecords } from './log-reader';

/** After a failed write, records kept in memory up to this many bytes; then frames without payloads. */
export const MEMORY_LIMIT = 256 * 1024 * 1024;
/** Record headers and small bodies wait in a buffer this large; a full one is written at once. */
const STAGING_BYTES = 1 << 20;
/** Payloads (and message data) shorter than this are copied next to their header, not referenced. */
const COPY_BELOW = 4096;
/** While records keep coming, they are written at most this often (and once per turn when they do not). */
const WRITE_INTERVAL_MS = 16;
/** writev takes at most this many pieces at once (IOV_MAX on Linux). */
const IOV_MAX = 1024;
/** scanner() reads the file this many bytes at a time. */
const SCAN_BLOCK = 1 << 20;

/** One write of pieces to the file at `position`; returns the bytes written (maybe fewer). */
export type WriteFn = (fd: number, pieces: readonly Uint8Array[], position: number) => number;

export interface EventLogOptions {
  /** called once, when a write to the file fails */
  onFailure?: (err: NodeJS.ErrnoException) => void;
  /** after a failed write, how many bytes of records to keep in memory (default MEMORY_LIMIT) */
  memoryLimit?: number;
  /** continue an existing log instead of starting the file afresh */
  append?: boolean;
  /** the write (a test makes the disk fill up with it) */
  write?: WriteFn;
}

interface Held {
  position: number;
  event: EngineEvent;
}

const defaultWrite: WriteFn = (fd, pieces, position) => writevSync(fd, pieces as Uint8Array[], position);

export class EventLog {
  readonly path: string;
  private fd: number;
  private readonly write: WriteFn;
  private readonly onFailure?: (err: NodeJS.ErrnoException) => void;
  private readonly memoryLimit: number;

  /** the write that failed; records at and past `fileEnd` are then in memory */
  failure: NodeJS.ErrnoException | null = null;
  /** records in the file */
  written = 0;
  /** records kept in memory after a failed write */
  inMemory = 0;
  /** frames kept in memory without their payload and message data (past the memory limit) */
  stripped = 0;
  /** events that could not be recorded at all (they do not encode: a bug, never a full disk) */
  lost = 0;

  /** bytes in the file: records before this are read from it */
  private fileEnd: number;
  /** the position the next record gets */
  private end: number;
  private readonly staging = Buffer.allocUnsafe(STAGING_BYTES);
  private readonly view = new DataView(this.staging.buffer, this.staging.byteOffset, this.staging.byteLength);
  private used = 0;
  /** where the part of `staging` not yet in `pieces` starts */
  private segment = 0;
  private pieces: Uint8Array[] = [];
  /** appended, not yet written; with their positions and end positions */
  private pending: Held[] = [];
  private pendingEnds: number[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private lastWrite = -Infinity;
  private readonly memory: Held[] = [];
  private memoryBytes = 0;
  private closed = false;

  constructor(path: string, options: EventLogOptions = {}) {
    this.path = path;
    this.write = options.write ?? defaultWrite;
    this.onFailure = options.onFailure;
    this.memoryLimit = options.memoryLimit ?? MEMORY_LIMIT;
    // Recordings hold what went over the wire (tokens, cookies): the owner's eyes only.
    this.fd = openSync(path, options.append ? 'a+' : 'w+', 0o600);
    // ('a+' only to create it if missing; writes name their position, so reopen for that.)
    if (options.append) {
      closeSync(this.fd);
      this.fd = openSync(path, 'r+');
    }
    try {
      fchmodSync(this.fd, 0o600);
      const size = fstatSync(this.fd).size;
      if (options.append && size > 0) {
        const head = Buffer.alloc(FILE_HEADER_BYTES);
        readSync(this.fd, head, 0, FILE_HEADER_BYTES, 0);
        if (!isEventLog(head)) throw new Error(`${path}: not a Framescope event log, so it cannot be appended to`);
        if (head[7]! > VERSION) throw new Error(`${path}: an event log of version ${head[7]}, newer than this Framescope writes (${VERSION})`);
        // A tail cut by a kill (or damaged) would swallow what is appended after it.
        const end = endOfRecords(this.fd, path);
        if (end < size) ftruncateSync(this.fd, end);
        this.fileEnd = this.end = end;
        return;
      }
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
    this.fileEnd = this.end = 0;
    const header = fileHeader();
    this.staging.set(header, 0);
    this.used = header.length;
    this.end = header.length;
    this.flush();
  }

  /**
   * Records an event; returns its position (for read()), or -1 if it could not be
   * recorded (counted in `lost`). Never throws.
   */
  append(event: EngineEvent): number {
    if (this.closed) {
      this.lost++;
      return -1;
    }
    try {
      if (this.failure !== null) return this.keep(event);
      return event.event === 'frame' ? this.stageFrame(event) : this.stageEvent(event);
    } catch {
      this.lost++;
      return -1;
    }
  }

  private stageFrame(f: FrameEvent): number {
    const parts = frameParts(f);
    const data = f.message?.data;
    const small = f.payload.length < COPY_BELOW && (data === undefined || data.length < COPY_BELOW);
    const head = RECORD_HEADER_BYTES + parts.checked;
    const inline = small ? head + f.payload.length + (data?.length ?? 0) : head;
    if (inline > this.staging.length - this.used) this.flush();
    if (inline > this.staging.length) {
      // Fields too long for the staging buffer (a huge violations list): a buffer of its own.
      const own = Buffer.allocUnsafe(head);
      writeFrameRecord(own, new DataView(own.buffer, own.byteOffset, own.byteLength), 0, f, parts);
      this.cut();
      this.pieces.push(own, f.payload);
      if (data) this.pieces.push(data);
    } else {
      const at = this.used;
      let p = writeFrameRecord(this.staging, this.view, at, f, parts);
      if (small) {
        this.staging.set(f.payload, p);
        p += f.payload.length;
        if (data) {
          this.staging.set(data, p);
          p += data.length;
        }
        this.used = p;
      } else {
        this.used = p;
        this.cut();
        if (f.payload.length > 0) this.pieces.push(f.payload);
        if (data && data.length > 0) this.pieces.push(data);
      }
    }
    return this.hold(f, RECORD_HEADER_BYTES + frameBodyBytes(f, parts));
  }

  private stageEvent(e: EngineEvent): number {
    const json = encodeEventJson(e);
    const size = RECORD_HEADER_BYTES + json.length;
    if (size > this.staging.length - this.used) this.flush();
    if (size > this.staging.length) {
      const own = Buffer.allocUnsafe(size);
      own.set(json, RECORD_HEADER_BYTES);
      writeRecordHeader(own, new DataView(own.buffer, own.byteOffset, own.byteLength), 0, KIND_EVENT, json.length, json.length);
      this.cut();
      this.pieces.push(own);
    } else {
      const at = this.used;
      this.staging.set(json, at + RECORD_HEADER_BYTES);
      writeRecordHeader(this.staging, this.view, at, KIND_EVENT, json.length, json.length);
      this.used = at + size;
    }
    return this.hold(e, size);
  }

  /** Ends the staging segment so far as a piece (before a referenced one). */
  private cut(): void {
    if (this.used > this.segment) this.pieces.push(this.staging.subarray(this.segment, this.used));
    this.segment = this.used;
  }

  private hold(event: EngineEvent, size: number): number {
    const position = this.end;
    this.end += size;
    this.pending.push({ position, event });
    this.pendingEnds.push(this.end);
    if (!this.scheduled) this.schedule();
    return position;
  }

  /**
   * The next write: at the end of this turn of the event loop, or, when the last write was
   * less than WRITE_INTERVAL_MS ago, that long after it. Records that come in a stream are
   * written together, not a system call every turn.
   */
  private schedule(): void {
    this.scheduled = true;
    const wait = this.lastWrite + WRITE_INTERVAL_MS - performance.now();
    if (wait <= 0) setImmediate(this.scheduledFlush);
    else this.timer = setTimeout(this.scheduledFlush, wait);
  }

  private readonly scheduledFlush = (): void => {
    this.scheduled = false;
    this.timer = null;
    this.lastWrite = performance.now();
    this.flush();
  };

  /** Writes what was appended, now. Never throws. */
  flush(): void {
    this.cut();
    const pieces = this.pieces;
    this.pieces = [];
    this.used = 0;
    this.segment = 0;
    if (pieces.length === 0 || this.failure !== null) return;
    const pending = this.pending;
    const ends = this.pendingEnds;
    this.pending = [];
    this.pendingEnds = [];
    let at = this.fileEnd;
    try {
      let i = 0;
      let skip = 0; // bytes of pieces[i] already written
      while (i < pieces.length) {
        const batch = pieces.slice(i, i + IOV_MAX);
        if (skip > 0) batch[0] = batch[0]!.subarray(skip);
        const n = this.write(this.fd, batch, at);
        at += n;
        // Past the pieces written in full; a short write resumes inside one.
        let left = n + skip;
        skip = 0;
        while (i < pieces.length && left >= pieces[i]!.length) {
          left -= pieces[i]!.length;
          i++;
        }
        skip = left;
        if (n === 0 && i < pieces.length) throw Object.assign(new Error('the write wrote nothing'), { code: 'EIO' });
      }
      this.fileEnd = at;
      this.written += pending.length;
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException, at, pending, ends);
    }
  }

  /** A write failed with the file at `at` bytes: records not wholly in it go to memory. */
  private fail(err: NodeJS.ErrnoException, at: number, pending: Held[], ends: number[]): void {
    this.failure = err;
    let whole = 0;
    while (whole < pending.length && ends[whole]! <= at) whole++;
    this.written += whole;
    // The file ends at the last whole record (a cut one would read as a crash). A disk that
    // cannot even shrink the file keeps it, and the reader drops the cut record.
    this.fileEnd = whole > 0 ? ends[whole - 1]! : this.fileEnd;
    try {
      ftruncateSync(this.fd, this.fileEnd);
    } catch {
      /* the reader copes with a cut last record */
    }
    for (let i = whole; i < pending.length; i++) this.keep(pending[i]!.event, pending[i]!.position);
    try {
      this.onFailure?.(err);
    } catch {
      /* the owner's report must not stop the recording */
    }
  }

  /** Keeps a record in memory (after a failed write); past the limit a frame loses its bytes. */
  private keep(event: EngineEvent, position = this.end): number {
    let size: number;
    if (event.event === 'frame') {
      size = RECORD_HEADER_BYTES + frameBodyBytes(event, frameParts(event));
      if (this.memoryBytes + size > this.memoryLimit && (event.payload.length > 0 || (event.message?.data.length ?? 0) > 0)) {
        event = withoutBytes(event);
        size = RECORD_HEADER_BYTES + frameBodyBytes(event, frameParts(event));
        this.stripped++;
      }
    } else size = RECORD_HEADER_BYTES + encodeEventJson(event).length;
    this.memory.push({ position, event });
    this.memoryBytes += size;
    this.inMemory++;
    if (position === this.end) this.end += size;
    return position;
  }

  /** The event recorded at `position` (from append), from the file or memory. */
  read(position: number): EngineEvent {
    if (position >= this.fileEnd) {
      const held = find(this.memory, position) ?? find(this.pending, position);
      if (!held) throw new RangeError(`no record at position ${position} of the event log`);
      return copyEvent(held.event);
    }
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    readFully(this.fd, header, position);
    const h = parseRecordHeader(header, 0);
    if (typeof h === 'string') throw new RangeError(`no record at position ${position} of the event log: ${h}`);
    const body = Buffer.allocUnsafe(h.bodyLen);
    readFully(this.fd, body, position + RECORD_HEADER_BYTES);
    if (h.kind === KIND_FRAME) return decodeFrame(body, 0, h.checked, h.bodyLen);
    return decodeEvent(body, 0, h.bodyLen);
  }

  /**
   * A reader for many records at ascending positions (a search over a whole session): it
   * reads the file in blocks of SCAN_BLOCK bytes, not two system calls a record. Records past
   * the file (pending, or in memory after a failed write) are read as read() does.
   */
  scanner(): (position: number) => EngineEvent {
    let block: Buffer = Buffer.alloc(0);
    let blockAt = 0;
    const load = (position: number, need: number): void => {
      const size = Math.max(need, Math.min(SCAN_BLOCK, this.fileEnd - position));
      block = Buffer.allocUnsafe(size);
      readFully(this.fd, block, position);
      blockAt = position;
    };
    return (position) => {
      if (position >= this.fileEnd) return this.read(position);
      if (position < blockAt || position + RECORD_HEADER_BYTES > blockAt + block.length) load(position, RECORD_HEADER_BYTES);
      let h = parseRecordHeader(block, position - blockAt);
      if (typeof h === 'string') throw new RangeError(`no record at position ${position} of the event log: ${h}`);
      if (position + RECORD_HEADER_BYTES + h.bodyLen > blockAt + block.length) {
        load(position, RECORD_HEADER_BYTES + h.bodyLen);
        h = parseRecordHeader(block, 0) as Exclude<typeof h, string>;
      }
      const at = position - blockAt + RECORD_HEADER_BYTES;
      // decodeFrame copies payloads out of the block: nothing read keeps the block alive.
      if (h.kind === KIND_FRAME) return decodeFrame(block, at, h.checked, h.bodyLen);
      return decodeEvent(block, at, h.bodyLen);
    };
  }

  /** The records kept in memory after a failed write (read them before close()). */
  held(): readonly Held[] {
    this.flush();
    return this.memory;
  }

  /** Writes what is left and closes the file. Records kept in memory are gone with the log. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.memory.length = 0;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

function find(list: Held[], position: number): Held | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const p = list[mid]!.position;
    if (p === position) return list[mid];
    if (p < position) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function readFully(fd: number, buf: Buffer, position: number): void {
  for (let got = 0; got < buf.length; ) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) throw new RangeError(`the event log ends inside the record at ${position}`);
    got += n;
  }
}

function copyEvent(e: EngineEvent): EngineEvent {
  return { ...e };
}

/** A frame without its payload and message data: cut to 0 bytes, and marked so. */
function withoutBytes(f: FrameEvent): FrameEvent {
  const empty = new Uint8Array(0);
  const out: FrameEvent = { ...f, payload: empty, truncated: true, stored: 0 };
  if (f.message) out.message = { ...f.message, data: empty, truncated: true };
  return out;
}
