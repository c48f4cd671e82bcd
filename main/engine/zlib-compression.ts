// permessage-deflate on node:zlib, synchronous, because the codec is (shared/codec/compression.ts).
//
// Node offers no documented way to keep one zlib stream and drive it synchronously: the
// one-shot *Sync functions close their stream, and `_processChunk` without a callback does
// the same. So every message is its own raw DEFLATE stream, and context takeover is a
// preset dictionary: the last window's worth of bytes this direction carried before.
// A raw stream with a preset dictionary starts with that dictionary as its LZ77 window,
// which is exactly what continuing the previous message's stream would give: the same
// matches are found on both sides (RFC 7692 §7.2.3.2's "f2 00 11 00 00" comes out byte for
// byte). It costs a new zlib stream per message, a dictionary copy on inflate (cheap) and
// re-hashing up to 32 KiB of window on deflate (the dear part for small messages).
// Measured on a busy 2-core machine, context takeover on, JSON-like text, against one
// persistent stream driven through Node's internal handle:
//   40 B messages:  inflate 20k-100k msg/s (persistent 25k-330k), deflate 9k-19k (17k-43k)
//   64 KiB:         inflate 0.4-1.5 GB/s (0.5-2.3 GB/s), deflate 110-250 MB/s (190-335 MB/s)
// About 1.5-3x slower for tiny messages, on a par for large ones, and on documented API
// only; a persistent stream would also need care after a BFINAL block.
//
// A message ending in a BFINAL block (§7.2.3.4) also just works: each message is a new
// stream anyway, and the window carries over through the dictionary.

import zlib from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import {
  InflateError,
  type CompressionProvider,
  type MessageDeflater,
  type MessageInflater,
} from '../../shared/codec/compression';

const { Z_SYNC_FLUSH, Z_DEFAULT_COMPRESSION, Z_DEFAULT_MEMLEVEL } = zlib.constants;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const MAX_BUFFER = bufferConstants.MAX_LENGTH;
/** zlib's smallest and largest output chunk we ask for (it allocates one per chunk). */
const MIN_CHUNK = 1024;
const MAX_CHUNK = 1024 * 1024;

export interface ZlibCompressionOptions {
  /** deflate level 0-9, or -1 for zlib's default (6); as `ws`'s zlibDeflateOptions.level */
  level?: number;
  /** deflate memLevel 1-9 (default 8) */
  memLevel?: number;
}

export class ZlibCompression implements CompressionProvider {
  private readonly level: number;
  private readonly memLevel: number;

  constructor(options: ZlibCompressionOptions = {}) {
    this.level = options.level ?? Z_DEFAULT_COMPRESSION;
    this.memLevel = options.memLevel ?? Z_DEFAULT_MEMLEVEL;
  }

  inflater(windowBits: number, noContextTakeover: boolean): MessageInflater {
    checkWindowBits(windowBits);
    return new ZlibInflater(noContextTakeover);
  }

  deflater(windowBits: number, noContextTakeover: boolean): MessageDeflater {
    checkWindowBits(windowBits);
    return new ZlibDeflater(windowBits, noContextTakeover, this.level, this.memLevel);
  }
}

/** The provider with zlib's default level and memLevel (as `ws` uses). */
export const zlibCompression: CompressionProvider = new ZlibCompression();

function checkWindowBits(windowBits: number): void {
  if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) {
    throw new RangeError(`window bits must be 8..15 (RFC 7692 §7.1.2), got ${windowBits}`);
  }
}

/**
 * Inflates with zlib's largest window (15) whatever was negotiated, keeping the last
 * 32 KiB of output as the next dictionary. A larger window decodes every stream a smaller
 * one does, byte for byte, so valid traffic is unaffected; and a peer that overruns its
 * negotiated window is still decoded. (zlib could not flag that reliably anyway: it only
 * rejects a distance that reaches before both its window and the current output buffer,
 * so detection would depend on buffer sizes.) The negotiated bits bound the peer's
 * compressor, not our memory: 32 KiB a direction.
 */
class ZlibInflater implements MessageInflater {
  private readonly history: History | null;

  constructor(noContextTakeover: boolean) {
    this.history = noContextTakeover ? null : new History(1 << 15);
  }

  inflate(data: Uint8Array, maxOutput: number): Uint8Array {
    if (!(maxOutput >= 0)) throw new RangeError(`maxOutput must be >= 0, got ${maxOutput}`);
    const input = Buffer.allocUnsafe(data.length + 4);
    input.set(data, 0);
    input.set(TAIL, data.length);
    // zlib's own limit: it stops and throws once the output passes it, so a bomb costs
    // at most the limit plus one chunk. (It accepts 1.. MAX_LENGTH; 0 is checked below.)
    const maxOutputLength = Math.min(Math.max(maxOutput, 1), MAX_BUFFER);
    const options: zlib.ZlibOptions = {
      windowBits: 15,
      // SYNC_FLUSH, not FINISH: a message's stream does not end (no BFINAL), so FINISH
      // would report "unexpected end of file".
      finishFlush: Z_SYNC_FLUSH,
      maxOutputLength,
      chunkSize: chunkSizeFor(data.length * 4, maxOutputLength + 1),
    };
    const dictionary = this.history?.view();
    if (dictionary) options.dictionary = dictionary;
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(input, options);
    } catch (e) {
      throw asInflateError(e, maxOutput);
    }
    if (out.length > maxOutput) throw tooBig(maxOutput);
    this.history?.push(out);
    return ownBytes(out);
  }

  reset(): void {
    this.history?.clear();
  }
}

/**
 * zlib cannot make a raw DEFLATE stream with an 8-bit window, so 8 becomes 9 (as in `ws`).
 * That is safe for a peer that asked for 8: zlib never emits a distance beyond
 * window - 262 bytes, which for 9 bits is 250, inside the peer's 256-byte window.
 */
class ZlibDeflater implements MessageDeflater {
  private readonly windowBits: number;
  private readonly history: History | null;

  constructor(
    windowBits: number,
    noContextTakeover: boolean,
    private readonly level: number,
    private readonly memLevel: number,
  ) {
    this.windowBits = windowBits === 8 ? 9 : windowBits;
    this.history = noContextTakeover ? null : new History(1 << this.windowBits);
  }

  deflate(data: Uint8Array): Uint8Array {
    const options: zlib.ZlibOptions = {
      windowBits: this.windowBits,
      level: this.level,
      memLevel: this.memLevel,
      // §7.2.1: end the message with a sync flush (an empty stored block, 00 00 ff ff),
      // not a final block, so the stream could go on.
      finishFlush: Z_SYNC_FLUSH,
      // incompressible data grows by 5 bytes per 64 KiB stored block, plus the flush
      chunkSize: chunkSizeFor(data.length + (data.length >>> 10) + 64, MAX_CHUNK),
    };
    const dictionary = this.history?.view();
    if (dictionary) options.dictionary = dictionary;
    const out = zlib.deflateRawSync(data, options);
    const n = out.length;
    if (n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 0xff || out[n - 1] !== 0xff) {
      throw new Error('zlib did not end the block with a sync flush');
    }
    this.history?.push(data);
    return ownBytes(out.subarray(0, n - 4));
  }

  reset(): void {
    this.history?.clear();
  }
}

/**
 * The last `size` bytes that went through, as the next dictionary. The buffer is twice the
 * window so that appending rarely has to move what is kept; allocated on first use.
 */
class History {
  private buf: Buffer | null = null;
  private end = 0;

  constructor(private readonly size: number) {}

  push(bytes: Uint8Array): void {
    const size = this.size;
    if (bytes.length === 0) return;
    const buf = (this.buf ??= Buffer.allocUnsafe(size * 2));
    if (bytes.length >= size) {
      buf.set(bytes.subarray(bytes.length - size), 0);
      this.end = size;
      return;
    }
    if (this.end + bytes.length > buf.length) {
      const keep = Math.min(this.end, size - bytes.length);
      buf.copyWithin(0, this.end - keep, this.end);
      this.end = keep;
    }
    buf.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** The window to continue from, or undefined when there is none yet. */
  view(): Buffer | undefined {
    if (!this.buf || this.end === 0) return undefined;
    return this.buf.subarray(Math.max(0, this.end - this.size), this.end);
  }

  clear(): void {
    this.end = 0;
  }
}

/**
 * zlib allocates a whole chunk per output step; small messages want a small chunk (a 16 KiB
 * default per 40-byte message halves the rate), large ones a large one.
 */
function chunkSizeFor(expected: number, cap: number): number {
  let size = MIN_CHUNK;
  while (size < expected && size < MAX_CHUNK) size *= 2;
  return Math.max(64, Math.min(size, cap, MAX_CHUNK));
}

/**
 * A Buffer from zlib may be a slice of a larger chunk, or of Node's shared pool; the codec
 * hands messages on and keeps them, so give it bytes that own their memory (all but a few
 * bytes of it: the stripped 00 00 ff ff tail is not worth a copy).
 */
function ownBytes(buf: Buffer): Uint8Array {
  if (buf.byteOffset === 0 && buf.buffer.byteLength - buf.length <= 64) {
    return new Uint8Array(buf.buffer, 0, buf.length);
  }
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return copy;
}

function tooBig(maxOutput: number): InflateError {
  return new InflateError('too-big', `the inflated message is larger than ${maxOutput} bytes`);
}

function asInflateError(e: unknown, maxOutput: number): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ERR_BUFFER_TOO_LARGE') return tooBig(maxOutput);
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new InflateError('inflate-failed', `corrupt DEFLATE data: ${(e as Error).message}`);
  }
  return e;
}
