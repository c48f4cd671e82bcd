// A pull-style streaming JSON reader over a file (or any random-access bytes): it walks
// the skeleton of a document (objects, keys, arrays) itself and hands each value it is
// asked for to JSON.parse whole. So a capture of a million frames is read one frame at a
// time, each parsed at native speed, and never held as one giant string; and a reader can
// start at any byte offset (a connection's "frames" array) with positional reads, which
// lets several cursors walk one file at once.
//
// Why not a token-stream library (stream-json): it turns every string, number and key of
// a 250 MB capture into a JavaScript event through Node streams, ten times slower than
// JSON.parse of whole elements, and it cannot start in the middle of a file. Why not split
// on newlines (our writer puts one frame a line): any capture that was pretty-printed or
// written by another tool would then need a second reader; this one handles any layout.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Random-access bytes: a file through positional reads, or a buffer in tests. */
export interface ByteSource {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `into[at..]`; returns how many (0 at the end). */
  read(into: Uint8Array, at: number, length: number, position: number): number;
}

export interface FileSource extends ByteSource {
  readonly path: string;
  close(): void;
}

export function openFileSource(path: string): FileSource {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let closed = false;
  return {
    path,
    size,
    read: (into, at, length, position) => (length <= 0 ? 0 : readSync(fd, into, at, length, position)),
    close: () => {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (into, at, length, position) => {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      into.set(bytes.subarray(position, position + n), at);
      return n;
    },
  };
}

/** Bad JSON: `offset` is the byte where it was noticed; `truncated` when the bytes ran out. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
    readonly truncated = false,
  ) {
    super(message);
  }
}

/** A single value (a frame, a handshake) larger than this is refused, not buffered. */
export const DEFAULT_MAX_VALUE_BYTES = 256 * 1024 * 1024;
const DEFAULT_CHUNK = 1 << 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function describeByte(b: number): string {
  if (b < 0) return 'the end of the file';
  if (b >= 0x21 && b < 0x7f) return `'${String.fromCharCode(b)}'`;
  return `byte 0x${b.toString(16).padStart(2, '0')}`;
}

interface Container {
  kind: 'object' | 'array';
  first: boolean;
}

export interface JsonCursorOptions {
  /** bytes read at a time (default 1 MiB) */
  chunk?: number;
  /** largest single value parsed or skipped in memory (default 256 MiB) */
  maxValueBytes?: number;
}

export class JsonCursor {
  private buf: Buffer;
  /** file offset of buf[0] */
  private base: number;
  /** bytes of buf that hold file data */
  private len = 0;
  /** index in buf of the next unread byte */
  private i = 0;
  private readonly stack: Container[] = [];
  private readonly chunk: number;
  private readonly maxValue: number;

  constructor(
    private readonly src: ByteSource,
    start = 0,
    options: JsonCursorOptions = {},
  ) {
    this.chunk = options.chunk ?? DEFAULT_CHUNK;
    this.maxValue = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.buf = Buffer.allocUnsafe(this.chunk);
    this.base = start;
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.base + this.i;
  }

  /** How deep in containers the cursor is. */
  get depth(): number {
    return this.stack.length;
  }

  /**
   * Reads more bytes, keeping buf[keep..] (moved to the front). Returns false at the end.
   * The caller's indexes into buf shift by the returned `shift` (see `more`).
   */
  private more(keep: number): { ok: boolean; shift: number } {
    let shift = 0;
    if (keep > 0) {
      this.buf.copyWithin(0, keep, this.len);
      this.base += keep;
      this.len -= keep;
      this.i -= keep;
      shift = keep;
    }
    if (this.len === this.buf.length) {
      if (this.buf.length >= this.maxValue + this.chunk) {
        throw new JsonSyntaxError(`a single value is larger than the ${this.maxValue}-byte limit`, this.base);
      }
      const bigger = Buffer.allocUnsafe(Math.min(this.buf.length * 2, this.maxValue + this.chunk));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const n = this.src.read(this.buf, this.len, this.buf.length - this.len, this.base + this.len);
    this.len += n;
    return { ok: n > 0, shift };
  }

  /** The next non-whitespace byte (not consumed), or -1 at the end of the input. */
  peek(): number {
    for (;;) {
      while (this.i < this.len) {
        const b = this.buf[this.i]!;
        if (!isSpace(b)) return b;
        this.i++;
      }
      if (!this.more(this.i).ok) return -1;
    }
  }

  private expect(byte: number, what: string): void {
    const b = this.peek();
    if (b !== byte) this.unexpected(b, what);
    this.i++;
  }

  private unexpected(b: number, what: string): never {
    throw new JsonSyntaxError(`expected ${what} but found ${describeByte(b)}`, this.offset, b < 0);
  }

  /** Skips a UTF-8 byte order mark at the very start. */
  skipBom(): void {
    if (this.len - this.i < 3) this.more(this.i);
    if (this.buf[this.i] === 0xef && this.buf[this.i + 1] === 0xbb && this.buf[this.i + 2] === 0xbf) this.i += 3;
  }

  beginObject(): void {
    this.expect(0x7b, "'{'");
    this.stack.push({ kind: 'object', first: true });
  }

  beginArray(): void {
    this.expect(0x5b, "'['");
    this.stack.push({ kind: 'array', first: true });
  }

  /** The next key of the current object (the cursor then sits on its value), or null at '}'. */
  nextKey(): string | null {
    const top = this.stack.at(-1);
    if (!top || top.kind !== 'object') throw new Error('JsonCursor.nextKey outside an object');
    let b = this.peek();
    if (b === 0x7d) {
      this.i++;
      this.stack.pop();
      return null;
    }
    if (!top.first) {
      if (b !== 0x2c) this.unexpected(b, "',' or '}'");
      this.i++;
      b = this.peek();
    }
    top.first = false;
    if (b !== QUOTE) this.unexpected(b, 'a quoted key');
    const key = this.parseValue();
    this.expect(0x3a, "':'");
    return key as string;
  }

  /** True when the current array has another element (the cursor then sits on it); false at ']'. */
  nextElement(): boolean {
    const top = this.stack.at(-1);
    if (!top || top.kind !== 'array') throw new Error('JsonCursor.nextElement outside an array');
    const b = this.peek();
    if (b === 0x5d) {
      this.i++;
      this.stack.pop();
      return false;
    }
    if (!top.first) {
      if (b !== 0x2c) this.unexpected(b, "',' or ']'");
      this.i++;
      if (this.peek() === 0x5d) this.unexpected(0x5d, 'a value after the comma');
    }
    top.first = false;
    return true;
  }

  /** Parses the value at the cursor with JSON.parse. */
  parseValue(): unknown {
    return this.parseValueBytes(this.valueBytes());
  }

  /** File offset of the value valueBytes() last returned. */
  private valueAt = 0;

  /** The bytes of the value at the cursor, stepped over: a view valid until the cursor moves on. */
  valueBytes(): Buffer {
    const [start, end] = this.scanValue();
    this.i = end;
    this.valueAt = this.base + start;
    return this.buf.subarray(start, end);
  }

  /** JSON.parse of the bytes valueBytes() last returned; a syntax error says where in the file. */
  parseValueBytes(bytes: Buffer): unknown {
    const text = bytes.toString('utf8');
    try {
      return JSON.parse(text);
    } catch (err) {
      // V8 says "... at position N" (sometimes with line and column); point at that byte.
      const m = /position (\d+)/.exec((err as Error).message);
      const at = m ? Buffer.byteLength(text.slice(0, Number(m[1]))) : 0;
      const found = m ? text.charAt(Number(m[1])) : '';
      throw new JsonSyntaxError(
        found ? `unexpected ${found >= '!' && found <= '~' ? `'${found}'` : 'character'} in a value` : 'a value that is not valid JSON',
        this.valueAt + at,
      );
    }
  }

  /** Steps over the value at the cursor without building it. */
  skipValue(): void {
    const [, end] = this.scanValue();
    this.i = end;
  }

  /** Checks that nothing but whitespace follows the top-level value. */
  end(): void {
    const b = this.peek();
    if (b !== -1) this.unexpected(b, 'the end of the file');
  }

  /**
   * Finds the bytes of the value at the cursor: [start, end) in buf, everything between
   * loaded. Strings are skipped with indexOf (most of a capture is base64 inside strings).
   */
  private scanValue(): [number, number] {
    const first = this.peek();
    if (first < 0) this.unexpected(first, 'a value');
    // `start` and `p` are indexes into buf; a refill moves the kept bytes to the front, so
    // both shift by what it dropped. No closures here: this runs once per frame.
    let start = this.i;
    let p = start;
    // Primitives (numbers, true, false, null) end at a delimiter.
    if (first !== 0x7b && first !== 0x5b && first !== QUOTE) {
      for (;;) {
        const buf = this.buf;
        const len = this.len;
        while (p < len) {
          const b = buf[p]!;
          if (b === 0x2c || b === 0x7d || b === 0x5d || isSpace(b)) return [start, p];
          if (b === 0x7b || b === 0x5b || b === QUOTE || b === 0x3a) {
            throw new JsonSyntaxError(`unexpected ${describeByte(b)}`, this.base + p);
          }
          p++;
        }
        const r = this.more(start);
        start -= r.shift;
        p -= r.shift;
        if (!r.ok) return [start, p];
      }
    }
    let depth = 0;
    let inString = false;
    for (;;) {
      if (p >= this.len) {
        const r = this.more(start);
        start -= r.shift;
        p -= r.shift;
        if (!r.ok) throw new JsonSyntaxError('the file ends in the middle of a value (is it truncated?)', this.base + this.len, true);
      }
      const buf = this.buf;
      const len = this.len;
      if (inString) {
        const q = buf.indexOf(QUOTE, p);
        if (q < 0 || q >= len) {
          p = len;
          continue;
        }
        let slashes = 0;
        for (let k = q - 1; k >= start && buf[k] === BACKSLASH; k--) slashes++;
        p = q + 1;
        if (slashes % 2 === 1) continue;
        inString = false;
        if (depth === 0) return [start, p];
        continue;
      }
      // Structure between strings: scan bytes until the next quote or the value's end.
      while (p < len) {
        const b = buf[p++]!;
        if (b === QUOTE) {
          inString = true;
          break;
        }
        if (b === 0x7b || b === 0x5b) depth++;
        else if (b === 0x7d || b === 0x5d) {
          depth--;
          if (depth === 0) return [start, p];
          if (depth < 0) throw new JsonSyntaxError(`unexpected ${describeByte(b)}`, this.base + p - 1);
        }
      }
    }
  }
}

/** 1-based line and column of a byte offset, counted by reading the source up to it. */
export function lineAndColumn(src: ByteSource, offset: number): { line: number; column: number } {
  const chunk = Buffer.allocUnsafe(1 << 20);
  let line = 1;
  let lineStart = 0;
  for (let pos = 0; pos < offset; ) {
    const n = src.read(chunk, 0, Math.min(chunk.length, offset - pos), pos);
    if (n <= 0) break;
    for (let k = chunk.indexOf(0x0a, 0); k >= 0 && k < n; k = chunk.indexOf(0x0a, k + 1)) {
      line++;
      lineStart = pos + k + 1;
    }
    pos += n;
  }
  return { line, column: offset - lineStart + 1 };
}
