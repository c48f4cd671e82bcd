// What every reader gives the exporters: a CaptureSource (connection heads in memory,
// frames streamed on demand), and the error a bad file becomes.

import type { CaptureFile, ConnectionRecord, FrameRecord } from '../../../shared/model';
import { ShapeError, type ConnectionHead } from './capture-shape';
import { JsonSyntaxError, lineAndColumn, type ByteSource } from './json-cursor';

export type InputKind = 'capture' | 'journal' | 'har' | 'pcap' | 'pcapng';

export interface ConnectionEntry {
  head: ConnectionHead;
  frameCount: number;
}

export interface CaptureSource {
  readonly kind: InputKind | 'memory';
  /** the file as the user named it, for messages */
  readonly file: string;
  /** the capture's createdAt (a capture or a Framescope HAR keeps its own; otherwise now) */
  readonly createdAt: string;
  readonly connections: readonly ConnectionEntry[];
  /** The frames of connection `index`, checked, in wire order; each call starts afresh. */
  frames(index: number): Iterable<FrameRecord>;
  /** What the reader tolerated and the user should hear (a journal's cut-off last line). */
  readonly warnings: readonly string[];
  close(): void;
}

/**
 * A file that is not what it should be: `what` is wrong `where` (a JSON path, a line).
 * The message is the CLI's error line: `capture.json: "opcode" must be an integer 0-15 at
 * connections[0].frames[12]`.
 */
export class CaptureFormatError extends Error {
  override name = 'CaptureFormatError';
  constructor(
    readonly file: string,
    readonly what: string,
    readonly where: string,
  ) {
    super(where ? `${file}: ${what} at ${where}` : `${file}: ${what}`);
  }
}

/** Turns a cursor or shape error into a CaptureFormatError naming the file and the place. */
export function formatError(file: string, src: ByteSource, err: unknown, where: string): CaptureFormatError | unknown {
  if (err instanceof ShapeError) return new CaptureFormatError(file, err.what, err.path || where);
  if (err instanceof JsonSyntaxError) {
    const { line, column } = lineAndColumn(src, Math.min(err.offset, src.size));
    const place = `${where ? `${where}, ` : ''}line ${line}, column ${column}`;
    return new CaptureFormatError(file, err.truncated ? `the file ends too early (truncated?)` : `not valid JSON: ${err.message}`, place);
  }
  return err;
}

export function materialize(source: CaptureSource): CaptureFile {
  return {
    format: 'framescope.capture',
    version: 1,
    createdAt: source.createdAt,
    connections: source.connections.map((c, i) => ({ ...c.head, frames: [...source.frames(i)] }) as ConnectionRecord),
  };
}

/** A CaptureSource over records already in memory (the app's live connections, tests). */
export function memorySource(capture: CaptureFile, file = '(memory)'): CaptureSource {
  return {
    kind: 'memory',
    file,
    createdAt: capture.createdAt,
    connections: capture.connections.map((c) => {
      const { frames, ...head } = c;
      return { head, frameCount: frames.length };
    }),
    frames: (i) => capture.connections[i]!.frames,
    warnings: [],
    close: () => {},
  };
}

