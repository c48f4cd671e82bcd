// Reads an event log back (docs/recording.md "Reading a damaged log"): scanLog() yields every
// event; openLog() is a capture source over it for import and export, rebuilt from the
// events the way a journal always was (open, handshake, frame, error, close).
//
// A damaged record (bad magic, an impossible length, a failed check, a body that does not
// decode) costs only itself: the reader searches on for the next record magic whose record
// validates, and the warning names the byte offset where the damage starts (up to three
// places, the rest counted). A last record cut off (the writer was killed mid-write, or the
// disk filled) is dropped with a warning of its own. A file without the log's file header is
// not a log: an error.
//
// Memory stays bounded: openLog's first pass reads each record's header and fixed fields,
// never a payload, and keeps per frame only where its record is (8 bytes); frames(i) reads
// the records back one at a time.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_NOTE, type CloseRecord, type EngineEvent, type FrameRecord, type HandshakeRecord } from '../../../shared/model';
import { CaptureFormatError } from './capture-source';
import { ConnectionsFromEvents } from './connections';
import {
  decodeEvent,
  decodeFrame,
  decodeFrameMeta,
  FILE_HEADER_BYTES,
  isEventLog,
  isKnownEvent,
  KIND_EVENT,
  KIND_FRAME,
  parseRecordHeader,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC,
  RecordError,
  recordCheck,
  VERSION,
} from './log-format';

export { isEventLog } from './log-format';

/** Damaged places named one by one in the warning; the rest are counted. */
const MAX_TOLD = 3;
const BLOCK = 1 << 20;

/** A file that is not a readable event log; the message is the CLI's error line. */

/** Reads a file through a block cache; views are valid until the next call. */
class FileBytes {
  readonly size: number;
  private block = Buffer.allocUnsafe(BLOCK);
  private start = 0;
  private len = 0;
  constructor(readonly fd: number) {
    this.size = fstatSync(fd).size;
  }
  /** bytes [pos, pos + n) as a view of the block (n bytes, or fewer at the end of the file) */
  view(pos: number, n: number): Buffer {
    const want = Math.min(n, this.size - pos);
    if (want <= 0) return this.block.subarray(0, 0);
    if (pos < this.start || pos + want > this.start + this.len) {
      if (want > this.block.length) this.block = Buffer.allocUnsafe(want);
      this.start = pos;
      this.len = 0;
      const room = Math.min(this.block.length, this.size - pos);
      while (this.len < room) {
        const got = readSync(this.fd, this.block, this.len, room - this.len, pos + this.len);
        if (got === 0) break;
        this.len += got;
      }
    }
    const at = pos - this.start;
    return this.block.subarray(at, at + Math.min(want, this.len - at));
  }
}

type Probe = { ok: true; kind: number; bodyLen: number; checked: number } | { ok: false; cut: boolean; why: string };

/** Whether a whole, valid record starts at `pos` (header, check, and a frame's fields add up). */
function probe(src: FileBytes, pos: number): Probe {
  const left = src.size - pos;
  if (left < RECORD_HEADER_BYTES) return { ok: false, cut: true, why: 'the file ends inside a record header' };
  const hb = Buffer.from(src.view(pos, RECORD_HEADER_BYTES));
  const h = parseRecordHeader(hb, 0);
  if (typeof h === 'string') return { ok: false, cut: false, why: h };
  if (RECORD_HEADER_BYTES + h.checked > left) return { ok: false, cut: true, why: 'the file ends inside the record' };
  const checked = src.view(pos + RECORD_HEADER_BYTES, h.checked);
  if (recordCheck(hb, 0, checked, 0, h.checked) !== h.check) return { ok: false, cut: false, why: 'the record check failed' };
  if (h.kind === KIND_FRAME) {
    try {
      decodeFrameMeta(checked, 0, h.checked, h.bodyLen);
    } catch (err) {
      return { ok: false, cut: false, why: err instanceof RecordError ? err.message : 'a frame record that does not decode' };
    }
  }
  if (RECORD_HEADER_BYTES + h.bodyLen > left) return { ok: false, cut: true, why: 'the file ends inside the record' };
  return { ok: true, kind: h.kind, bodyLen: h.bodyLen, checked: h.checked };
}

/** The next position at or after `from` where a valid record starts, or -1. */
function resync(src: FileBytes, from: number): number {
  for (let pos = from; pos + RECORD_HEADER_BYTES <= src.size; ) {
    const chunk = src.view(pos, BLOCK);
    const i = chunk.indexOf(RECORD_MAGIC);
    if (i < 0) {
      // The magic may straddle the chunk's end.
      pos += Math.max(1, chunk.length - (RECORD_MAGIC.length - 1));
      continue;
    }
    if (probe(src, pos + i).ok) return pos + i;
    pos += i + 1;
  }
  return -1;
}

interface Damage {
  at: number;
  why: string;
  bytes: number;
}

/**
 * Walks the records, yielding what `decode` makes of each valid one; `decode` may throw a
 * RecordError to have a record whose check passed counted as damaged. Returns the warnings.
 */
function* walk<T>(src: FileBytes, file: string, decode: (pos: number, kind: number, bodyLen: number, checked: number) => T): Generator<T, Walked> {
  if (src.size === 0) throw new CaptureFormatError(file, 'the file is empty', '');
  const header = Buffer.from(src.view(0, FILE_HEADER_BYTES));
  if (header.length < FILE_HEADER_BYTES || !isEventLog(header)) throw new CaptureFormatError(file, "not a Framescope event log (it does not start with the log's file header)", '');
  if (header[7]! > VERSION) throw new CaptureFormatError(file, `event log version ${header[7]} is newer than this Framescope reads (${VERSION})`, '');
  const damaged: Damage[] = [];
  const warnings: string[] = [];
  let good = 0;
  let unknownKinds = 0;
  let pos = FILE_HEADER_BYTES;
  let end = pos;
  while (pos < src.size) {
    const p = probe(src, pos);
    if (p.ok) {
      const at = pos;
      pos += RECORD_HEADER_BYTES + p.bodyLen;
      end = pos;
      if (p.kind !== KIND_FRAME && p.kind !== KIND_EVENT) {
        unknownKinds++;
        continue;
      }
      let value: T;
      try {
        value = decode(at, p.kind, p.bodyLen, p.checked);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        damaged.push({ at, why: err.message, bytes: pos - at });
        continue;
      }
      good++;
      yield value;
      continue;
    }
    const q = resync(src, pos + 1);
    if (q >= 0) {
      damaged.push({ at: pos, why: p.why, bytes: q - pos });
      pos = q;
      continue;
    }
    if (p.cut) {
      warnings.push(`${file}: the last record is cut off (the log was being written when the process ended or the disk filled); its ${src.size - pos} bytes were dropped (at byte ${pos})`);
    } else {
      damaged.push({ at: pos, why: `${p.why}; nothing readable follows`, bytes: src.size - pos });
    }
    break;
  }
  if (damaged.length > 0) {
    if (good === 0) throw new CaptureFormatError(file, damaged[0]!.why, `byte ${damaged[0]!.at}`);
    const shown = damaged.slice(0, MAX_TOLD).map((d) => `at byte ${d.at}: ${d.why}, ${d.bytes} bytes skipped`);
    const more = damaged.length > MAX_TOLD ? `; and ${damaged.length - MAX_TOLD} more` : '';
    warnings.unshift(`${file}: ${damaged.length} damaged record${damaged.length > 1 ? 's were' : ' was'} skipped (${shown.join('; ')}${more}); everything else was read`);
  }
  if (unknownKinds > 0) warnings.push(`${file}: ${unknownKinds} records of kinds this Framescope does not know were skipped`);
  return { warnings, end };
}

interface Walked {
  warnings: string[];
  /** where the last whole record ends */
  end: number;
}

/** Runs a walk to its end for its side effects; returns the warnings. */
function drain(w: Generator<unknown, Walked>): Walked {
  for (;;) {
    const step = w.next();
    if (step.done) return step.value;
  }
}

function openFile(path: string): number {
  return openSync(path, 'r');
}

/**
 * Where the last whole record of the log open at `fd` ends: where a writer appending to it
 * continues, past a cut or damaged tail (which no reader could use, and which would
 * otherwise swallow the records written after it as its payload).
 */
export function endOfRecords(fd: number, file: string): number {
  return drain(walk(new FileBytes(fd), file, () => undefined)).end;
}

export interface LoggedEvent {
  /** the record's byte offset in the file */
  position: number;
  event: EngineEvent;
}

/**
 * Every event in the log at `path`, in order. `warnings` gets what was skipped (damage, a
 * cut last record) once the walk is done. Throws a LogFormatError for a file that is not a
 * log, or one with no readable record but damage.
 */
export function* scanLog(path: string, warnings: string[] = []): Generator<LoggedEvent> {
  const fd = openFile(path);
  try {
    const src = new FileBytes(fd);
    const w = walk(src, path, (pos, kind, bodyLen, checked): LoggedEvent => ({ position: pos, event: decodeBody(src.view(pos + RECORD_HEADER_BYTES, bodyLen), kind, bodyLen, checked) }));
    for (;;) {
      const step = w.next();
      if (step.done) {
        warnings.push(...step.value.warnings);
        return;
      }
      yield step.value;
    }
  } finally {
    closeSync(fd);
  }
}

function decodeBody(body: Uint8Array, kind: number, bodyLen: number, checked: number): EngineEvent {
  return kind === KIND_FRAME ? decodeFrame(body, 0, checked, bodyLen) : decodeEvent(body, 0, bodyLen);
}

// -- a capture source over a log ---------------------------------------------------------

export type { ConnectionHead } from './connections';
import type { ConnectionHead } from './connections';

/** The shape of capture-source.ts's CaptureSource, for a log. */
export interface LogSource {
  readonly kind: 'journal';
  readonly file: string;
  readonly createdAt: string;
  readonly connections: ReadonlyArray<{ head: ConnectionHead; frameCount: number }>;
  frames(index: number, options?: { raw?: boolean }): Iterable<FrameRecord>;
  readonly warnings: readonly string[];
  close(): void;
}

/** Where one connection's frame records are: 8 bytes a frame. */
class Positions {
  data = new Float64Array(64);
  count = 0;
  /** the user's bookmarks and notes by seq, from the journal's annotation records (last one wins) */
  annotations = new Map<number, Annotation>();
  push(v: number): void {
    if (this.count === this.data.length) {
      const d = new Float64Array(this.count * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.count++] = v;
  }
}

type Obj = Record<string, unknown>;

function strip(event: EngineEvent): Obj {
  const { event: _e, connection: _c, ...rest } = event as unknown as Obj;
  return rest;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A handshake's and a close's shape, as far as building a head relies on it. */
function checkHandshake(h: Obj): HandshakeRecord {
  if (!isObj(h['request']) || typeof h['requestAt'] !== 'number') throw new RecordError('a "handshake" event without "request" and "requestAt"');
  if (h['responseAt'] !== null && typeof h['responseAt'] !== 'number') throw new RecordError('a "handshake" event whose "responseAt" is not a number');
  return h as unknown as HandshakeRecord;
}

function checkClose(c: Obj): CloseRecord {
  if ((c['code'] !== null && typeof c['code'] !== 'number') || typeof c['reason'] !== 'string' || typeof c['clean'] !== 'boolean') {
    throw new RecordError('a "close" event without "code", "reason" and "clean"');
  }
  if (c['by'] !== 'client' && c['by'] !== 'server' && c['by'] !== 'transport' && c['by'] !== 'framescope') throw new RecordError('a "close" event whose "by" is not client, server, transport or framescope');
  return c as unknown as CloseRecord;
}

/**
 * A capture source over the log at `path`: connection heads rebuilt from the events (the
 * journal's rules: an open starts a connection, a repeated open a new one; events for a
 * connection never opened make one with a guessed head), frames read back on demand.
 */
/** A record an EventLog keeps in memory after a failed write, past the file's end. */
export interface HeldRecord {
  position: number;
  event: EngineEvent;
}

/**
 * `held`: the records a live log keeps in memory after a write failed, read as if they
 * followed the file's (so the proxy's capture at exit still holds them).
 */
export function openLog(path: string, options: { createdAt?: string; held?: readonly HeldRecord[] } = {}): LogSource {
  const fd = openFile(path);
  try {
    return indexLog(fd, path, options.createdAt ?? new Date().toISOString(), options.held ?? []);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function indexLog(fd: number, file: string, createdAt: string, held: readonly HeldRecord[]): LogSource {
  const src = new FileBytes(fd);
  const conns = new ConnectionsFromEvents(() => new Positions());
  let unknownEvents = 0;

  const onFrame = (pos: number, connection: string, time: number): void => {
    conns.frame(connection, time).index.push(pos);
  };
  const onEvent = (ev: EngineEvent): void => {
    if ((ev as { event: string }).event === 'annotation') {
      const a = ev as unknown as Obj;
      if (typeof a['seq'] !== 'number' || !Number.isSafeInteger(a['seq']) || a['seq'] < 0) throw new RecordError('an "annotation" record whose "seq" is not a whole number');
      if (typeof a['bookmark'] !== 'boolean' || typeof a['note'] !== 'string' || a['note'].length > MAX_NOTE) throw new RecordError('an "annotation" record without "bookmark" and a "note" of at most 4096 characters');
      const notes = conns.get(ev.connection, 0).index.annotations;
      if (a['bookmark'] || a['note']) notes.set(a['seq'], { bookmark: a['bookmark'], note: a['note'] });
      else notes.delete(a['seq']);
      return;
    }
    if (!isKnownEvent(ev) || ev.event === 'frame') {
      unknownEvents++;
      return;
    }
    const id = ev.connection;
    const e = ev as unknown as Obj;
    switch (ev.event) {
      case 'open':
        if (e['mode'] !== 'client' && e['mode'] !== 'proxy' && e['mode'] !== 'mock') throw new RecordError('an "open" event whose "mode" is not "client", "proxy" or "mock"');
        if (typeof e['url'] !== 'string') throw new RecordError('an "open" event whose "url" is not a string');
        if (typeof e['startedAt'] !== 'number') throw new RecordError('an "open" event whose "startedAt" is not a number');
        conns.open(id, e as Parameters<typeof conns.open>[1]);
        break;
      case 'handshake':
        conns.handshake(id, checkHandshake(strip(ev)));
        break;
      case 'error':
        if (typeof e['message'] !== 'string') throw new RecordError('an "error" event whose "message" is not a string');
        conns.error(id, e['message']);
        break;
      case 'close': {
        const { endedAt, ...rest } = strip(ev);
        conns.close(id, checkClose(rest), endedAt);
        break;
      }
    }
  };

  // A live log whose very first write failed has no file header: all it has is in `held`.
  const nothingWritten = held.length > 0 && src.size < FILE_HEADER_BYTES;
  const { warnings } = nothingWritten ? { warnings: [] as string[] } : drain(walk(src, file, (pos, kind, bodyLen, checked): void => {
    if (kind === KIND_FRAME) {
      // Only the fixed fields: the payload stays on disk.
      const meta = decodeFrameMeta(src.view(pos + RECORD_HEADER_BYTES, checked), 0, checked, bodyLen);
      onFrame(pos, meta.connection, meta.frame.time);
      return;
    }
    onEvent(decodeEvent(src.view(pos + RECORD_HEADER_BYTES, bodyLen), 0, bodyLen));
  }));
  const inMemory = new Map<number, FrameRecord>();
  for (const { position, event } of held) {
    if (event.event === 'frame') {
      const { event: _e, connection, ...frame } = event;
      inMemory.set(position, frame);
      onFrame(position, connection, frame.time);
    } else onEvent(event);
  }

  if (unknownEvents > 0) warnings.push(`${file}: ${unknownEvents} events of kinds this Framescope does not know were skipped`);
  conns.finish(file);

  let closed = false;
  return {
    kind: 'journal',
    file,
    createdAt,
    connections: conns.order.map((b) => ({ head: b.head, frameCount: b.index.count })),
    frames: (index) => framesOf(src, conns.order[index]!.index, inMemory),
    warnings,
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/** Pass two: a connection's frames, each decoded (with copies of its bytes) from its record. */
function* framesOf(src: FileBytes, positions: Positions, inMemory: ReadonlyMap<number, FrameRecord>): Generator<FrameRecord> {
  for (let i = 0; i < positions.count; i++) {
    const pos = positions.data[i]!;
    const kept = inMemory.get(pos);
    if (kept) {
      yield annotated(kept, positions.annotations);
      continue;
    }
    const h = parseRecordHeader(Buffer.from(src.view(pos, RECORD_HEADER_BYTES)), 0);
    if (typeof h === 'string') throw new Error(`the event log changed while it was read (at byte ${pos})`);
    const { event: _e, connection: _c, ...frame } = decodeFrame(src.view(pos + RECORD_HEADER_BYTES, h.bodyLen), 0, h.checked, h.bodyLen);
    yield annotated(frame, positions.annotations);
  }
}

interface Annotation {
  bookmark: boolean;
  note: string;
}

/** The frame with its bookmark and note as the journal last set them. */
function annotated(frame: FrameRecord, notes: ReadonlyMap<number, Annotation>): FrameRecord {
  const a = notes.get(frame.seq);
  if (!a) return frame;
  const { bookmark: _b, note: _n, ...rest } = frame;
  const out: FrameRecord = rest;
  if (a.bookmark) out.bookmark = true;
  if (a.note) out.note = a.note;
  return out;
}
