// Reads what `import` and `export` take: a capture v1 file, a proxy journal (FILE.journal,
// NDJSON events) or a HAR, recognised by content. Each becomes a CaptureSource: the
// connections' heads in memory, their frames streamed from disk on demand, so a capture
// of a million frames is never in memory as a whole (docs/design.md "Nothing is lost": memory
// stays bounded).
//
// A capture file is read in two passes over the bytes. The first walks the document with
// a streaming JSON cursor, parses and checks every field except the frames, and notes
// where each connection's "frames" array starts and how long it is (skipping, not
// parsing, the frames). The second pass is one cursor per connection, started at that
// offset, parsing and checking one frame at a time as an exporter pulls it. Exporters that
// interleave connections by time run several such cursors at once over one file.

import type { CaptureFile, FrameRecord } from '../../../shared/model';
import { checkConnectionHead, checkFrame, ShapeError } from './capture-shape';
import { JsonCursor, openFileSource, type ByteSource, type FileSource } from './json-cursor';
import {
  CaptureFormatError,
  formatError,
  materialize,
  type CaptureSource,
  type ConnectionEntry,
  type InputKind,
} from './capture-source';
import { indexJournal } from './ndjson-reader';
import { isEventLog, openLog } from './log-reader';
import { closeSync, openSync, readSync } from 'node:fs';
import { indexHar } from './har-reader';
import { packetFileKind } from './packets';
import { openPacketCapture } from './pcap-reader';

export * from './capture-source';

/** Opens a capture, journal or HAR (recognised by its content) for streaming reads. */
export function openCapture(path: string, options: { now?: Date } = {}): CaptureSource {
  const createdAt = (options.now ?? new Date()).toISOString();
  const start = firstBytes(path);
  if (isEventLog(start)) return openLog(path, { createdAt });
  const packets = packetFileKind(start);
  if (packets) return openPacketCapture(path, path, packets);
  const src = openFileSource(path);
  try {
    const kind = detectKind(src, path);
    if (kind === 'journal') return indexJournal(src, path, createdAt);
    if (kind === 'har') return indexHar(src, path, createdAt);
    return indexCaptureFile(src, path);
  } catch (err) {
    src.close();
    throw err;
  }
}

/**
 * The first bytes, for the files recognised by a magic number: a Framescope event log (a
 * journal of `--capture`, recording/), a pcap, a pcapng.
 */
function firstBytes(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return new Uint8Array(0); // openFileSource says what is wrong with it
  }
  try {
    const head = Buffer.alloc(8);
    return head.subarray(0, readSync(fd, head, 0, 8, 0));
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole capture (any kind) into memory: for small captures and tests. */
export function readCapture(path: string): CaptureFile {
  const source = openCapture(path);
  try {
    return materialize(source);
  } finally {
    source.close();
  }
}

/**
 * What the file is, from its first object: a journal line starts {"event":…}, a HAR is
 * {"log":…}, a capture has "format"/"connections". Keys are read without parsing values,
 * so this costs a few bytes, not the file.
 */
export function detectKind(src: ByteSource, file: string): InputKind {
  if (src.size === 0) throw new CaptureFormatError(file, 'the file is empty', '');
  const cur = new JsonCursor(src, 0);
  try {
    cur.skipBom();
    const b = cur.peek();
    if (b !== 0x7b) {
      throw new CaptureFormatError(
        file,
        `neither JSON nor a packet capture: a capture, a journal or a HAR starts with '{', a pcap or pcapng with its magic number, but this starts with ${b >= 0x21 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16)}`}`,
        `byte ${cur.offset}`,
      );
    }
    cur.beginObject();
    for (let key = cur.nextKey(); key !== null; key = cur.nextKey()) {
      if (key === 'event') return 'journal';
      if (key === 'log') return 'har';
      if (key === 'format' || key === 'connections') return 'capture';
      cur.skipValue();
    }
  } catch (err) {
    throw formatError(file, src, err, '');
  }
  throw new CaptureFormatError(file, 'neither a Framescope capture ("format"), a journal ("event") nor a HAR ("log")', 'the top-level object');
}

/** Pass one over a capture v1 file: heads parsed and checked, frames counted and located. */
function indexCaptureFile(src: FileSource, file: string): CaptureSource {
  const cur = new JsonCursor(src, 0);
  let where = '';
  let format: unknown;
  let version: unknown;
  let createdAt: unknown;
  let sawConnections = false;
  const entries: Array<ConnectionEntry & { framesAt: number }> = [];
  try {
    cur.skipBom();
    cur.beginObject();
    for (let key = cur.nextKey(); key !== null; key = cur.nextKey()) {
      where = key;
      if (key === 'format') format = cur.parseValue();
      else if (key === 'version') version = cur.parseValue();
      else if (key === 'createdAt') createdAt = cur.parseValue();
      else if (key === 'connections') {
        sawConnections = true;
        if (cur.peek() !== 0x5b) throw new ShapeError('"connections" must be a list', '');
        cur.beginArray();
        for (let i = 0; cur.nextElement(); i++) {
          where = `connections[${i}]`;
          if (cur.peek() !== 0x7b) throw new ShapeError('expected a connection object', where);
          const head: Record<string, unknown> = {};
          let framesAt = -1;
          let count = 0;
          cur.beginObject();
          for (let k = cur.nextKey(); k !== null; k = cur.nextKey()) {
            if (k === 'frames') {
              if (cur.peek() !== 0x5b) throw new ShapeError('"frames" must be a list', `connections[${i}]`);
              framesAt = cur.offset;
              count = 0;
              cur.beginArray();
              while (cur.nextElement()) {
                where = `connections[${i}].frames[${count}]`;
                cur.skipValue();
                count++;
              }
            } else {
              where = `connections[${i}].${k}`;
              head[k] = cur.parseValue();
            }
            where = `connections[${i}]`;
          }
          const checked = checkConnectionHead(head, where);
          if (framesAt < 0) throw new ShapeError('"frames" must be a list (it is missing)', where);
          entries.push({ head: checked, frameCount: count, framesAt });
        }
      } else cur.skipValue();
      where = '';
    }
    cur.end();
  } catch (err) {
    throw formatError(file, src, err, where);
  }
  if (format !== 'framescope.capture') {
    throw new CaptureFormatError(file, `"format" must be "framescope.capture" (found ${JSON.stringify(format) ?? 'nothing'})`, 'the top-level object');
  }
  if (version !== 1) {
    throw new CaptureFormatError(
      file,
      typeof version === 'number' && version > 1
        ? `capture version ${version} is newer than this Framescope reads (1)`
        : `"version" must be 1 (found ${JSON.stringify(version) ?? 'nothing'})`,
      'the top-level object',
    );
  }
  if (typeof createdAt !== 'string') throw new CaptureFormatError(file, '"createdAt" must be an ISO-8601 string', 'the top-level object');
  if (!sawConnections) throw new CaptureFormatError(file, '"connections" must be a list (it is missing)', 'the top-level object');

  return {
    kind: 'capture',
    file,
    createdAt,
    connections: entries.map(({ head, frameCount }) => ({ head, frameCount })),
    frames: (index) => streamFrames(src, file, entries[index]!.framesAt, index),
    warnings: [],
    close: () => src.close(),
  };
}

/** Pass two: one connection's frames, parsed and checked one at a time. */
function* streamFrames(src: ByteSource, file: string, at: number, index: number): Generator<FrameRecord> {
  const cur = new JsonCursor(src, at, { chunk: 256 * 1024 });
  let where = `connections[${index}].frames`;
  try {
    cur.beginArray();
    for (let j = 0; cur.nextElement(); j++) {
      where = `connections[${index}].frames[${j}]`;
      yield checkFrame(cur.parseValueBytes(cur.valueBytes()), where);
    }
  } catch (err) {
    throw formatError(file, src, err, where);
  }
}
