// The journal: NDJSON engine events appended to FILE.journal as they happen, so a killed
// process loses at most the events of its last turn of the event loop (and of a direct
// write on its way, below). Writes are batched per turn (one syscall for many frames).
//
// The page cache is the other expensive thing (see openDirect): where the system allows it,
// a turn's whole 4 KiB blocks go to the file directly, on libuv's thread pool, in file order
// (nothing is written past a write on its way, so the file has no gap): the next turns'
// bytes wait for it, a buffer that fills meanwhile queues its blocks behind it, and what
// queued goes out as one vectored write when it is done; the partial blocks at either end
// are written synchronously through the page cache.
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
import { closeSync, constants as fsConstants, openSync, readSync, writeSync, writev } from 'node:fs';
import type { ConnectionRecord, EngineEvent, FrameRecord } from '../../shared/model';
import { openCapture } from './capture-reader';
import { frameEventJsonBound, frameEventWith, rawPayload, writeFrameEventJson, type FrameEvent, type RawPayload } from '../../shared/records';
import { maskInPlace } from '../../shared/codec/frame-writer';
import { EXPORTERS } from './export';
import { now } from './clock';
import { emptiedAt } from './base64-spans';
import { encodingBuffer, keyWord, type EncodingBuffer } from './base64-simd';

/** The reused encoding buffer. Larger strings go out in pieces of a third of it. */
const SCRATCH_BYTES = 1 << 20;
/** Base64 fields at least this long are written around rather than copied into the JSON text. */
const SPLICE_AT = 16 * 1024;
/** Bytes staged per base64 run: a multiple of 3 (whole base64 quanta) and of 4 (the mask key's period). */
const STAGE_BYTES = 48 * 1024;
/** The file system block that direct writes are aligned to, in the file and in memory. */
const BLOCK = 4096;
/** A flush writes whole blocks directly (past the page cache) when it has at least this many. */
const DIRECT_AT = 64 * 1024;
/**
 * Aligned buffers a journal may use at once: one filling, the others written or waiting
 * their turn; made as needed, so a quiet journal has one. The queue is what a `kill -9` can
 * lose, and what keeps the page cache out: with two (one filling, one on its way) 42% of a
 * large-message bench's journal went through the page cache, because the proxy encodes a
 * turn's reads faster than the writes go out (each waits for a pool thread, the device, and
 * then a turn of the busy event loop to hear it is done: ~3.5 ms for ~1.7 MB in that bench,
 * the device's share ~1.3 ms); with four and vectored writes 14-45%, with eight ~15%, with
 * sixteen ~1%, in runs of a few seconds each.
 */
const BUFFERS = 16;

/** One journal line: its JSON text, or the text in parts around large base64 strings. */
type Line = string | Array<string | RawPayload>;

/** A direct write, on its way or queued: buffer[from, to) to the file at `at`, ending `events` lines. */
interface Flight {
  buffer: Buffer;
  from: number;
  to: number;
  at: number;
  events: number;
}

export class Journal {
  private fd: number | null;
  private scheduled = false;
  private scratch: Buffer | null = null;
  private stage: Buffer | null = null;
  /** the same file opened for direct I/O (O_DIRECT), when the system and file system allow it */
  private direct: number | null = null;
  /** bytes in the file (every write names its position: two descriptors share the file) */
  private size = 0;
  /**
   * Where the pending bytes start in the scratch buffer: the file's size modulo BLOCK, so a
   * byte's place in memory and in the file are aligned alike and whole blocks can be written
   * directly from where they lie.
   */
  private base = 0;
  private used = 0;
  /** how far the pending bytes may reach: a drain leaves room for SCRATCH_BYTES more */
  private limit = SCRATCH_BYTES;
  /**
   * Direct writes in file order: the first `sent` are on their way (handed to the thread
   * pool as one write), the others wait for them; each from a buffer of its own, not the one
   * being filled.
   */
  private flights: Flight[] = [];
  private sent = 0;
  /** aligned buffers neither being filled nor written from */
  private free: Buffer[] = [];
  /** aligned buffers made (at most `buffers`) */
  private made = 0;
  /** the base64 encoders of the aligned buffers that have one */
  private readonly encoders = new WeakMap<Buffer, EncodingBuffer>();
  /** direct writes handed to the thread pool and not yet called back (settle() may have redone one) */
  private pending = 0;
  /** the direct descriptor, once closed by the journal while a write was pending */
  private closeWhenIdle: number | null = null;
  /** events encoded (they reach the file at the next flush) */
  written = 0;
  /** events encoded since the last write to the file */
  private unwritten = 0;
  /** the write that stopped the journal, if one failed */
  failure: NodeJS.ErrnoException | null = null;
  /** events not in the file because a write failed (those in the failed write, and every later one) */
  lost = 0;
  /** bytes that went to the file directly, past the page cache (see openDirect) */
  directBytes = 0;
  /** direct writes handed to the thread pool (one may carry several buffers) */
  directWrites = 0;

  /** aligned buffers this journal may use at once (see BUFFERS) */
  private readonly buffers: number;
  /** base64 by the WebAssembly encoder where it can be had (else through strings) */
  private readonly encoding: boolean;

  /**
   * `onFailure`: called once, when a write fails and the journal stops. `direct: false`:
   * every byte through the page cache (what happens anyway where direct I/O is refused).
   * `buffers`: at least 2, BUFFERS unless given (tests fill fewer). `encoder: false`: base64
   * through strings (what happens anyway where WebAssembly cannot be had).
   */
  constructor(
    readonly path: string,
    private readonly onFailure?: (err: NodeJS.ErrnoException) => void,
    options: { direct?: boolean; buffers?: number; encoder?: boolean } = {},
  ) {
    this.buffers = Math.max(2, options.buffers ?? BUFFERS);
    this.encoding = options.encoder !== false;
    this.fd = openSync(path, 'w', 0o600);
    this.direct = options.direct === false ? null : openDirect(path);
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
      setImmediate(() => this.turnEnd());
    }
  }

  /** Writes out what is encoded: in the file when this returns. */
  flush(): void {
    this.scheduled = false;
    // A drain may send whole blocks directly and keep the last bytes (less than a block):
    // that write is done here too, and those bytes written by the next drain.
    do {
      this.settle();
      this.drain();
    } while (this.flights.length > 0);
  }

  /** The turn's end: what it encoded is written, or waits for the direct writes on their way (see writeDirect). */
  private turnEnd(): void {
    this.scheduled = false;
    if (this.flights.length === 0) this.drain();
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.closeDirect();
    this.fd = null;
    this.scratch = null;
    this.free = [];
  }

  private closeDirect(): void {
    const fd = this.direct;
    if (fd === null) return;
    this.direct = null;
    // A write still queued on the thread pool names the descriptor by number: closed now,
    // the number could be a new file's by the time it runs. The last one to finish closes it.
    if (this.pending > 0) this.closeWhenIdle = fd;
    else closeQuietly(fd);
  }

  private scratchBuffer(): Buffer {
    if (this.scratch !== null) return this.scratch;
    if (this.direct !== null) {
      const aligned = this.freeBuffer();
      if (aligned !== null) return (this.scratch = aligned);
      this.closeDirect();
    }
    // Through the page cache (no direct I/O here: tmpfs, macOS, Windows; or refused): one
    // buffer, with the encoder all the same where it can be had.
    return (this.scratch = this.encodingBuffer(SCRATCH_BYTES) ?? Buffer.allocUnsafe(SCRATCH_BYTES));
  }

  /** A buffer of `bytes` in a WebAssembly encoder's memory (page-aligned; see putBase64), or null. */
  private encodingBuffer(bytes: number): Buffer | null {
    const encoding = this.encoding ? encodingBuffer(bytes, STAGE_BYTES) : null;
    if (encoding === null) return null;
    this.encoders.set(encoding.buffer, encoding);
    return encoding.buffer;
  }

  /** An aligned buffer to fill, or null if all are in use (or no more can be had). */
  private freeBuffer(): Buffer | null {
    const buffer = this.free.pop();
    if (buffer !== undefined) return buffer;
    if (this.made === this.buffers) return null;
    // With an encoder where WebAssembly allows (putBase64), else a plain aligned buffer.
    const made = this.encodingBuffer(SCRATCH_BYTES + BLOCK) ?? alignedBuffer(SCRATCH_BYTES + BLOCK);
    // No memory for it (see alignedBuffer): not asked again, the ones there are do.
    this.made = made === null ? this.buffers : this.made + 1;
    return made;
  }

  private putFrame(event: FrameEvent): void {
    // Most frames: the line written as bytes into the scratch buffer, no string built. (The
    // raw check first: reading a lazy event's `payload` would build its base64.)
    if (rawPayload(event) === undefined && event.payload.length < SPLICE_AT && (event.message === undefined || event.message.data.length < SPLICE_AT)) {
      this.scratchBuffer();
      const bound = frameEventJsonBound(event);
      if (bound <= SCRATCH_BYTES) {
        if (bound > this.limit - this.used) this.drain();
        // (After a drain: the buffer may be the other one, see writeDirect.)
        const end = writeFrameEventJson(event, this.scratch!, this.used);
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
   * are staged in runs of 48 KiB — a multiple of 3, so the runs' base64 joins to the whole's
   * (and of 4, so each run starts in phase with the mask key) — and unmasked on the way,
   * when masked. Into a buffer with an encoder (any, where WebAssembly can be had), the
   * WebAssembly encoder writes each run where it goes (base64-simd.ts); elsewhere a run goes
   * through a string.
   */
  private putBase64(raw: RawPayload): void {
    const { pieces, maskKey } = raw;
    let left = 0;
    for (const piece of pieces) left += piece.length;
    let index = 0; // the piece being staged, and where in it
    let at = 0;
    const stageInto = (stage: Buffer, n: number): void => {
      for (let used = 0; used < n; ) {
        const piece = pieces[index]!;
        const m = Math.min(piece.length - at, n - used);
        stage.set(piece.subarray(at, at + m), used);
        used += m;
        at += m;
        if (at === piece.length) {
          index++;
          at = 0;
        }
      }
    };
    for (let offset = 0; left > 0; ) {
      const n = Math.min(left, STAGE_BYTES);
      this.scratchBuffer();
      if (Math.ceil(n / 3) * 4 > this.limit - this.used) this.drain();
      if (this.fd === null) return; // stopped by a failed write: the rest goes nowhere
      const encoder = this.encoders.get(this.scratch!);
      if (encoder !== undefined) {
        stageInto(encoder.stage, n);
        this.used += encoder.encode(n, this.used, keyWord(maskKey, offset));
      } else {
        const stage = (this.stage ??= Buffer.allocUnsafe(STAGE_BYTES));
        stageInto(stage, n);
        if (maskKey) maskInPlace(stage.subarray(0, n), maskKey, offset);
        this.putAscii(stage.toString('base64', 0, n));
      }
      offset += n;
      left -= n;
    }
  }

  /**
   * Appends text known to be ASCII (base64): copied as Latin-1, a straight copy, ~4× faster
   * than UTF-8 encoding the same string (11 runs a large round trip).
   */
  private putAscii(text: string): void {
    this.scratchBuffer();
    if (text.length > this.limit - this.used) {
      this.drain();
      if (text.length > SCRATCH_BYTES) return this.put(text);
    }
    this.used += this.scratch!.write(text, this.used, 'latin1');
  }

  /** Appends `text` as UTF-8 to the scratch buffer, writing it out when full. */
  private put(text: string): void {
    this.scratchBuffer();
    // Worst case 3 bytes per UTF-16 unit (a surrogate pair is 2 units, 4 bytes).
    if (text.length * 3 > this.limit - this.used) {
      this.drain();
      if (text.length * 3 > SCRATCH_BYTES) return this.putInPieces(text);
    }
    this.used += this.scratch!.write(text, this.used);
  }

  private newline(): void {
    if (this.used === this.limit) this.drain();
    this.scratch![this.used++] = 0x0a;
  }

  private putInPieces(text: string): void {
    const piece = Math.floor(SCRATCH_BYTES / 3);
    for (let i = 0; i < text.length; ) {
      let end = Math.min(text.length, i + piece);
      // Never cut a surrogate pair (each half alone would be written as U+FFFD).
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      this.used += this.scratch!.write(text.slice(i, end), this.used);
      this.drain();
      i = end;
    }
  }

  /** Writes out what is encoded, now (the turn's end waits for a direct write on its way instead). */
  private drain(): void {
    if (this.fd === null || this.scratch === null) {
      // Stopped by a failed write: the rest of the line being encoded goes nowhere.
      this.used = this.base;
      return;
    }
    const scratch = this.scratch;
    // scratch[i] goes to the file at `start + i`.
    const start = this.size - this.base;
    let at = this.base;
    try {
      if (this.direct !== null) {
        // The whole blocks in the middle go past the page cache (see openDirect); the part
        // before them completes the page the last flush ended in, the part after them
        // starts a new one: both small, both through the page cache as before.
        const first = Math.ceil(at / BLOCK) * BLOCK;
        const last = Math.floor(this.used / BLOCK) * BLOCK;
        // (Only when every buffer is in use do they go through the page cache, past the
        // direct writes on their way: see writeDirect.)
        const next = last - first >= DIRECT_AT ? this.freeBuffer() : null;
        if (next !== null) {
          for (; at < first; ) at += writeSync(this.fd, scratch, at, first - at, start + at);
          return this.writeDirect(scratch, next, first, last, start);
        }
      }
      for (; at < this.used; ) at += writeSync(this.fd, scratch, at, this.used - at, start + at);
    } catch (err) {
      // The lines that ended in what was written before the failure are in the file.
      this.unwritten -= lineEnds(scratch, this.base, at);
      return this.fail(err as NodeJS.ErrnoException);
    }
    this.size = start + this.used;
    this.base = this.direct === null ? 0 : this.size % BLOCK;
    this.limit = this.base + SCRATCH_BYTES;
    this.used = this.base;
    this.unwritten = 0;
  }

  /**
   * Sends scratch[first, last) to the device on libuv's thread pool (the device takes ~0.5 ms
   * for a large round trip's 683 KiB, time the relay goes on meanwhile), or queues it behind
   * the writes on their way, and carries the bytes after `last` (less than a block) to the
   * front of `next`, which fills next. Until a write is done nothing is written past it, so
   * the file never has a gap before its last bytes; only a buffer filling while every other
   * one is in use does not wait (it goes through the page cache, see drain), and the gap it
   * may leave is filled as soon as the writes before it are done.
   */
  private writeDirect(scratch: Buffer, next: Buffer, first: number, last: number, start: number): void {
    const tail = this.used - last;
    next.set(scratch.subarray(last, this.used), 0);
    // The lines that end in the part before (written) are done, those that end in the tail
    // stay unwritten, the others are this write's.
    const tailEvents = lineEnds(scratch, last, this.used);
    const flight: Flight = { buffer: scratch, from: first, to: last, at: start + first, events: this.unwritten - tailEvents - lineEnds(scratch, this.base, first) };
    this.unwritten = tailEvents;
    this.scratch = next;
    this.size = start + last;
    this.base = 0;
    this.used = tail;
    this.limit = tail + SCRATCH_BYTES;
    this.flights.push(flight);
    if (this.flights.length === 1) this.send();
  }

  /**
   * Hands the queued direct writes to the thread pool, as one vectored write when they lie
   * end to end in the file: each handoff to a pool thread and back costs ~110 µs of CPU here
   * whatever the size, and the queue is sent only when the write ahead of it is done (its
   * callback waits for a turn of the busy event loop), so sent one by one they fell behind
   * the traffic. When done, what queued meanwhile follows.
   */
  private send(): void {
    const batch = [this.flights[0]!];
    for (let i = 1; i < this.flights.length; i++) {
      const last = batch[batch.length - 1]!;
      const next = this.flights[i]!;
      // One vectored write is one run of the file. (Queued writes always lie end to end: a
      // page-cache write between two would need a free buffer after the first was queued,
      // and buffers come back only when a write is done, which sends the whole queue.)
      if (next.at !== last.at + (last.to - last.from)) break;
      batch.push(next);
    }
    this.sent = batch.length;
    this.pending++;
    this.directWrites++;
    const buffers = batch.map((f) => f.buffer.subarray(f.from, f.to));
    writev(this.direct!, buffers, batch[0]!.at, (err, n) => {
      if (--this.pending === 0 && this.closeWhenIdle !== null) {
        closeQuietly(this.closeWhenIdle);
        this.closeWhenIdle = null;
      }
      if (this.flights[0] !== batch[0]) {
        // Settled by flush() or close() (the buffers were left to this write), or the
        // journal failed or closed since.
        if (this.direct !== null) this.free.push(...batch.map((f) => f.buffer));
        return;
      }
      this.sent = 0;
      let written = err ? 0 : n;
      for (const flight of batch) {
        // One at a time: a failure counts the ones after it as lost with the rest of the queue.
        this.flights.shift();
        const part = Math.min(written, flight.to - flight.from);
        written -= part;
        this.completeDirect(flight, flight === batch[0] ? err : null, part);
        if (this.fd === null) return;
        if (this.direct !== null) this.free.push(flight.buffer);
      }
      if (this.direct === null) this.settle(); // direct I/O refused from now on: the queued writes through the page cache
      if (this.flights.length > 0) this.send();
      else if (this.used > this.base) this.drain();
    });
  }

  /**
   * After a direct write: what it did not write (a short write, as a filling disk makes; a
   * file system that refuses direct I/O, which ends it for good) goes through the page cache,
   * which reports any failure.
   */
  private completeDirect(flight: Flight, err: NodeJS.ErrnoException | null, written: number): void {
    if (this.fd === null) return;
    this.directBytes += written;
    let at = flight.from + written;
    try {
      if (err) {
        if (err.code !== 'EINVAL') throw err;
        this.closeDirect();
      }
      for (; at < flight.to; ) at += writeSync(this.fd, flight.buffer, at, flight.to - at, flight.at + (at - flight.from));
    } catch (e) {
      this.unwritten += flight.events - lineEnds(flight.buffer, flight.from, at);
      this.fail(e as NodeJS.ErrnoException);
    }
  }

  /**
   * The direct writes on their way or queued, done now, in order and synchronously
   * (close() must leave a whole file for the capture read right after it). The first may
   * already be running: the same bytes are written again to the same place, and its buffer
   * is left to it (refilled, the pool's write would put the new bytes in the old place).
   */
  private settle(): void {
    for (; this.flights.length > 0 && this.fd !== null; ) {
      const flight = this.flights.shift()!;
      const onItsWay = this.sent > 0;
      if (onItsWay) this.sent--;
      let err: NodeJS.ErrnoException | null = null;
      let written = 0;
      if (this.direct !== null) {
        try {
          written = writeSync(this.direct, flight.buffer, flight.from, flight.to - flight.from, flight.at);
        } catch (e) {
          err = e as NodeJS.ErrnoException;
        }
      }
      // What was not written directly (all of it once direct I/O was refused) goes through the page cache.
      this.completeDirect(flight, err, written);
      if (!onItsWay && this.direct !== null) this.free.push(flight.buffer);
    }
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.failure = err;
    // Direct writes on their way or queued are not known to be done: their events are
    // counted with the rest.
    for (const flight of this.flights) this.unwritten += flight.events;
    this.flights = [];
    this.sent = 0;
    // What was encoded since the last good write may be in the file in part (a cut last
    // line) or not at all: counted as lost either way.
    this.lost += this.unwritten;
    this.written -= this.unwritten;
    this.unwritten = 0;
    this.used = this.base;
    this.closeDirect();
    try {
      closeSync(this.fd!);
    } catch {
      /* the failure already said what is wrong */
    }
    this.fd = null;
    this.onFailure?.(err);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* nothing is written through it that a close could lose */
  }
}

/** How many lines end in buf[from, to): a raw newline is only ever a line's end (JSON escapes those in strings). */
function lineEnds(buf: Buffer, from: number, to: number): number {
  const part = buf.subarray(from, to);
  let n = 0;
  for (let i = part.indexOf(0x0a); i >= 0; i = part.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * The journal file opened a second time for direct I/O, or null where there is none
 * (macOS, Windows, a file system that refuses it, such as tmpfs before Linux 6.6).
 *
 * Why: a recording of large messages appends hundreds of MB a second, and every new
 * page-cache page costs the kernel a fresh page. On the 2-core bench VM (Firecracker, whose
 * balloon hands freed guest memory back to the host) that page is a host fault as well:
 * copying 683 KiB into new page-cache pages took 0.6-2 ms of CPU, half the proxy's time in
 * `npm run bench -- proxy`. Written directly, the bytes go from the reused scratch buffer to
 * the device (~75 µs); nothing is kept in the page cache that only `import` would read, and
 * dirty pages do not pile up until the kernel throttles the writer.
 */
function openDirect(path: string): number | null {
  const flag = (fsConstants as { O_DIRECT?: number }).O_DIRECT;
  if (flag === undefined) return null;
  try {
    return openSync(path, fsConstants.O_WRONLY | flag);
  } catch {
    return null;
  }
}

/**
 * A buffer whose memory starts on a page boundary, as direct I/O needs, or null if there is
 * none to be had. Node gives no alignment for its buffers; a WebAssembly memory's is
 * page-aligned (V8 maps it whole). V8 reserves gigabytes of address space around one, which
 * a limit on it (`ulimit -v`) refuses: then the journal goes through the page cache.
 */
function alignedBuffer(bytes: number): Buffer | null {
  // (Typed here: this project's `lib` has no WebAssembly, though every Node has it.)
  const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
  try {
    return Buffer.from(new wasm.Memory({ initial: Math.ceil(bytes / 65536) }).buffer, 0, bytes);
  } catch {
    return null;
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
