// A page-aligned buffer with a base64 encoder that writes straight into it: the journal's
// direct-write buffers (journal.ts). The encoder is base64-simd.wat, compiled into
// base64-simd-wasm.ts; each buffer is one instance of it, since WebAssembly code reaches
// only its own memory.
//
// Memory of one instance: the encoder's 64 letters at 0, the buffer from 64 KiB (a page
// boundary, as direct I/O needs), then the stage, where input is copied for encode().
import { BASE64_SIMD_WASM } from './base64-simd-wasm';

export interface EncodingBuffer {
  /** the buffer, its memory starting on a page boundary */
  readonly buffer: Buffer;
  /** where a run of input is put for encode() */
  readonly stage: Buffer;
  /**
   * Writes the base64 of stage[0, n), each byte XORed with byte (i mod 4) of `key` (a
   * little-endian word, keyWord(); 0 for none), at buffer[at]: 4 * ceil(n / 3) bytes, the
   * count returned. The stage's last bytes (fewer than 16, past the vector steps) are left
   * unmasked in place.
   */
  encode(n: number, at: number, key: number): number;
}

// (Typed here: this project's `lib` has no WebAssembly, though every Node and Electron has it.)
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
type Encode = (src: number, n: number, dst: number, key: number) => number;

const PAGE = 65536;
/** Where the buffer starts in the instance's memory (past the letters, on a page boundary). */
const BUFFER_AT = PAGE;

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly (or its SIMD) is not to be had. */
function encoderModule(): object | null {
  if (compiled === undefined) {
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      compiled = new wasm.Module(Buffer.from(BASE64_SIMD_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * A buffer of `bytes` with an encoder and a stage of `stageBytes`, or null if none can be
 * had (no WebAssembly SIMD; or no memory: V8 reserves gigabytes of address space around a
 * WebAssembly memory, which a limit on it, `ulimit -v`, refuses).
 */
export function encodingBuffer(bytes: number, stageBytes: number): EncodingBuffer | null {
  const module = encoderModule();
  if (module === null) return null;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const { exports } = new wasm.Instance(module, {});
    const memory = exports.memory as WasmMemory;
    const encode = exports.encode as Encode;
    const stageAt = BUFFER_AT + Math.ceil(bytes / PAGE) * PAGE;
    const pages = Math.ceil((stageAt + stageBytes) / PAGE);
    const have = memory.buffer.byteLength / PAGE;
    // Grown before any view is taken: growing detaches the memory's old ArrayBuffer.
    if (pages > have) memory.grow(pages - have);
    const buffer = Buffer.from(memory.buffer, BUFFER_AT, bytes);
    const stage = Buffer.from(memory.buffer, stageAt, stageBytes);
    return {
      buffer,
      stage,
      encode(n, at, key) {
        // The module writes wherever it is told within its memory: the stage, the letters.
        if (!(n >= 0 && n <= stageBytes && at >= 0 && at + Math.ceil(n / 3) * 4 <= bytes)) {
          throw new RangeError(`base64 of ${n} bytes at ${at} does not fit a ${bytes}-byte buffer`);
        }
        return encode(stageAt, n, BUFFER_AT + at, key);
      },
    };
  } catch {
    return null;
  }
}

/** The mask key rotated to `offset` (a run's start within the payload), as encode() takes it. */
export function keyWord(key: Uint8Array | null, offset: number): number {
  if (key === null) return 0;
  return key[offset & 3]! | (key[(offset + 1) & 3]! << 8) | (key[(offset + 2) & 3]! << 16) | (key[(offset + 3) & 3]! << 24);
}
