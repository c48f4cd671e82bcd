// Rebuilds connections from a proxy journal: FILE.journal holds the engine events (open,
// handshake, frame, error, close; docs/contracts.md "Events") appended and flushed one a line
// as they happen, so after a crash `framescope import FILE.journal -o FILE` recovers
// everything up to the crash. The last line may be cut off by the crash: it is dropped
// with a warning. A bad line anywhere else (a disk error, an edit) is skipped with a warning
// naming it, so one bad line does not cost the rest; a file with no good event line is not
// a journal, and that is an error.
//
// Memory stays bounded like the capture reader's: the first pass keeps each connection's
// head and, per frame, only where its line is (offset and length); the second pass reads
// the frame lines back one at a time.

import type { FrameJson, FrameRecord } from '../../../shared/model';
import { checkClose, checkFrame, checkHandshake, ShapeError } from './capture-shape';
import { CaptureFormatError, type CaptureSource } from './capture-source';
import { ConnectionsFromEvents } from './connections';
import type { FileSource } from './json-cursor';
import { frameFromJson } from '../../../shared/records';
import { fromBase64 } from '../base64';

const CHUNK = 1 << 20;
/** A single journal line longer than this is refused (a frame is at most 16 MiB, base64 plus a message). */
const MAX_LINE = 256 * 1024 * 1024;
/** Bad lines named one by one in the warning; the rest are counted. */
const MAX_SKIPS_TOLD = 3;

/** Where one connection's frame lines are, growing as the journal is read. */
class LineIndex {
  offsets = new Float64Array(64);
  lengths = new Float64Array(64);
  count = 0;
  push(offset: number, length: number): void {
    if (this.count === this.offsets.length) {
      const o = new Float64Array(this.count * 2);
      o.set(this.offsets);
      this.offsets = o;
      const l = new Float64Array(this.count * 2);
      l.set(this.lengths);
      this.lengths = l;
    }
    this.offsets[this.count] = offset;
    this.lengths[this.count] = length;
    this.count++;
  }
}

type Obj = Record<string, unknown>;

/**
 * Calls `onLine(buf, start, end, offset, lineNo, last)` for every line (its bytes are
 * buf[start, end), at `offset` in the file); `last` marks a final line without its newline.
 */
function eachLine(src: FileSource, file: string, onLine: (buf: Buffer, start: number, end: number, offset: number, lineNo: number, last: boolean) => void): void {
  let buf = Buffer.allocUnsafe(CHUNK);
  let base = 0; // file offset of buf[0]
  let len = 0;
  let lineNo = 0;
  for (;;) {
    if (len === buf.length) {
      if (buf.length > MAX_LINE) throw new CaptureFormatError(file, `a line is longer than ${MAX_LINE} bytes`, `line ${lineNo + 1}`);
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = src.read(buf, len, buf.length - len, base + len);
    const eof = n === 0;
    len += n;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, 0); nl >= 0 && nl < len; nl = buf.indexOf(0x0a, start)) {
      lineNo++;
      onLine(buf, start, nl, base + start, lineNo, false);
      start = nl + 1;
    }
    if (eof) {
      if (start < len) onLine(buf, start, len, base + start, lineNo + 1, true);
      return;
    }
    buf.copyWithin(0, start, len);
    base += start;
    len -= start;
  }
}

function strip(event: Obj): Obj {
  const { event: _e, connection: _c, ...rest } = event;
  return rest;
}

/**
 * A frame event without what decoding added (`--json` and the ndjson export): a record keeps
 * the bytes only. A message whose only other fields were added for `decoded` (no `data`: it
 * was the frame's payload) goes with it.
 */
function stripFrame(event: Obj): Obj {
  const rest = strip(event);
  const m = rest['message'];
  if (typeof m === 'object' && m !== null && 'decoded' in m) {
    const { decoded: _d, ...message } = m as Obj;
    if ('data' in message) rest['message'] = message;
    else delete rest['message'];
  }
  return rest;
}

export function indexJournal(src: FileSource, file: string, createdAt: string): CaptureSource {
  const conns = new ConnectionsFromEvents(() => new LineIndex());
  const warnings: string[] = [];
  let unknownKinds = 0;

  const readLine = (buf: Buffer, start: number, end: number, offset: number, lineNo: number, last: boolean): void => {
    const length = end - start;
    const where = `line ${lineNo}`;
    let e: unknown;
    const text = buf.toString('utf8', start, end);
    if (text.trim() === '') return;
    try {
      e = JSON.parse(text);
    } catch {
      if (last) {
        warnings.push(`${file}: the last line is cut off (the journal was being written when the process ended); its ${length} bytes were dropped (line ${lineNo})`);
        return;
      }
      throw new CaptureFormatError(file, 'not a JSON event (a journal has one JSON object a line)', where);
    }
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new CaptureFormatError(file, 'expected an event object', where);
    const ev = e as Obj;
    if (typeof ev['event'] !== 'string') throw new CaptureFormatError(file, '"event" must be a string', where);
    if (typeof ev['connection'] !== 'string') throw new CaptureFormatError(file, '"connection" must be a string', where);
    const id = ev['connection'];
    try {
      switch (ev['event']) {
        case 'open': {
          if (ev['mode'] !== 'client' && ev['mode'] !== 'proxy' && ev['mode'] !== 'mock') throw new ShapeError('"mode" must be "client", "proxy" or "mock"', '');
          if (typeof ev['url'] !== 'string') throw new ShapeError('"url" must be a string', '');
          if (typeof ev['startedAt'] !== 'number') throw new ShapeError('"startedAt" must be a number', '');
          conns.open(id, ev as Parameters<typeof conns.open>[1]);
          break;
        }
        case 'handshake':
          conns.handshake(id, checkHandshake(strip(ev), ''));
          break;
        case 'frame':
          conns.frame(id, checkFrame(stripFrame(ev), '').time).index.push(offset, length);
          break;
        case 'error':
          if (typeof ev['message'] !== 'string') throw new ShapeError('"message" must be a string', '');
          conns.error(id, ev['message']);
          break;
        case 'close': {
          const { endedAt, unanswered: _u, ...rest } = strip(ev);
          conns.close(id, checkClose(rest, ''), endedAt);
          break;
        }
        default:
          unknownKinds++;
      }
    } catch (err) {
      if (err instanceof ShapeError) throw new CaptureFormatError(file, err.what, `${where} (a "${String(ev['event'])}" event)`);
      throw err;
    }
  };

  const skipped: CaptureFormatError[] = [];
  let good = 0;
  eachLine(src, file, (buf, start, end, offset, lineNo, last) => {
    try {
      readLine(buf, start, end, offset, lineNo, last);
      good++;
    } catch (err) {
      if (!(err instanceof CaptureFormatError)) throw err;
      skipped.push(err);
    }
  });
  if (skipped.length > 0) {
    if (good === 0) throw skipped[0];
    const shown = skipped.slice(0, MAX_SKIPS_TOLD).map((e) => `${e.where}: ${e.what}`);
    const more = skipped.length > MAX_SKIPS_TOLD ? `; and ${skipped.length - MAX_SKIPS_TOLD} more` : '';
    warnings.push(`${file}: ${skipped.length} bad line${skipped.length > 1 ? 's were' : ' was'} skipped (${shown.join('; ')}${more}); everything else was read`);
  }

  if (unknownKinds > 0) warnings.push(`${file}: ${unknownKinds} events of kinds this Framescope does not know were skipped`);
  conns.finish(file);

  return {
    kind: 'journal',
    file,
    createdAt,
    connections: conns.order.map((b) => ({ head: b.head, frameCount: b.index.count })),
    frames: (index) => frameLines(src, conns.order[index]!.index),
    warnings,
    close: () => src.close(),
  };
}

/** Pass two: a connection's frame lines (checked by the first), read back through a block cache (they are in file order). */
function* frameLines(src: FileSource, lines: LineIndex): Generator<FrameRecord> {
  let block = Buffer.allocUnsafe(CHUNK);
  let blockStart = 0;
  let blockLen = 0;
  for (let i = 0; i < lines.count; i++) {
    const offset = lines.offsets[i]!;
    const length = lines.lengths[i]!;
    if (offset < blockStart || offset + length > blockStart + blockLen) {
      if (length > block.length) block = Buffer.allocUnsafe(length);
      blockStart = offset;
      blockLen = src.read(block, 0, block.length, offset);
    }
    const at = offset - blockStart;
    const event = JSON.parse(block.toString('utf8', at, at + length)) as Obj;
    yield frameFromJson(stripFrame(event) as unknown as FrameJson, fromBase64);
  }
}
