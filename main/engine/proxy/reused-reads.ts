// Reading a socket into one reused buffer instead of a fresh one per read.
//
// Node reads a socket by allocating a new 64 KiB buffer for every read (and shrinking it
// to what arrived). On the 2-core bench VM fresh memory is what costs: a plain Node relay
// spent ~2,100 µs of CPU per 256 KiB round trip that way, and ~280 µs reading into reused
// buffers (`npm run bench -- proxy --breakdown`; nginx: ~730 µs). net.Socket's `onread`
// option does the reading into a buffer of ours, but only for a socket we construct: an
// upstream connection can ask for it, a socket a server accepted cannot. So an accepted
// socket is adopted: its handle moves to a new net.Socket made with `onread`. That uses
// `socket._handle`, which Node does not document (it is what `new net.Socket({ handle })`
// takes, stable since Node 12); where it is missing, where the socket is TLS, or where the
// old socket still has a write in flight, the socket is read the usual way.
//
// The chunk handed to `onChunk` is a view of the reused buffer: valid only during the call.
// If the handler passed it to a write that did not complete at once, it calls hold(): the
// buffer stays with that write and the next read goes to a fresh one, unless the handler
// also paused the socket (then no read happens before it resumes, which it does on 'drain',
// when every write has completed).
import net from 'node:net';
import { Buffer } from 'node:buffer';

/**
 * The read buffer starts at libuv's 64 KiB and doubles up to 256 KiB while reads fill it:
 * a stream of large messages then takes a quarter of the reads (and of the writes and
 * parser calls they cause), and an idle or chatty connection keeps a small buffer.
 */
const FIRST_READ_BYTES = 64 * 1024;
const MAX_READ_BYTES = 256 * 1024;

export interface ChunkReader {
  /** the socket to use from now on: the adopted one, or the same */
  readonly socket: net.Socket;
  /** bytes the old socket had read but not handed on, to be handled before the first chunk */
  readonly pending: Buffer | null;
  /** reads go into a reused buffer (false: Node's own reading, each chunk a fresh buffer) */
  readonly reused: boolean;
  /** the chunk just handed over is still referenced by a write that has not completed */
  hold(): void;
  /** where chunks go; replaceable (the relay decides what to do with them after the handshake) */
  onChunk: (chunk: Buffer) => void;
}

interface HandleLike {
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  reading?: boolean;
}

type SocketInternals = net.Socket & {
  _handle?: HandleLike | null;
  _readableState?: { ended?: boolean };
  encrypted?: boolean;
};

/**
 * Starts handing `socket`'s chunks to `onChunk`, reading into a reused buffer where it can.
 * The socket is left paused: resume() it (the returned `socket`) when ready.
 */
export function readChunks(socket: net.Socket, onChunk: (chunk: Buffer) => void, options: { reuse?: boolean } = {}): ChunkReader {
  if (options.reuse !== false) {
    const adopted = adopt(socket as SocketInternals, onChunk);
    if (adopted) return adopted;
  }
  socket.pause();
  const reader: ChunkReader = { socket, pending: null, reused: false, hold: () => {}, onChunk };
  socket.on('data', (chunk: Buffer) => reader.onChunk(chunk));
  return reader;
}

function adopt(old: SocketInternals, onChunk: (chunk: Buffer) => void): ChunkReader | null {
  const handle = old._handle;
  if (
    !handle ||
    typeof handle.readStop !== 'function' ||
    typeof handle.useUserBuffer !== 'function' ||
    old.encrypted ||
    old.connecting ||
    old.destroyed ||
    old._readableState?.ended !== false ||
    old.writableLength > 0 ||
    old.writableEnded
  ) {
    return null;
  }
  old.pause();
  if (handle.reading !== false) {
    handle.readStop();
    handle.reading = false;
  }
  // What the old socket read off the kernel but nobody took yet comes first (and goes to
  // no 'data' listener left on the old socket).
  old.removeAllListeners('data');
  const pending = old.readableLength > 0 ? (old.read() as Buffer | null) : null;

  let buffer = Buffer.allocUnsafeSlow(FIRST_READ_BYTES);
  let held = false;
  let filled = false;
  let socket: net.Socket;
  let reader: ChunkReader;
  const onread = {
    buffer: (): Buffer => {
      if (filled && buffer.length < MAX_READ_BYTES) {
        // A write may still hold the old one; either way it is not reused.
        buffer = Buffer.allocUnsafeSlow(buffer.length * 2);
        held = false;
      } else if (held) {
        // Paused: the next read comes after 'drain', when the write holding it is done.
        if (!socket.isPaused()) buffer = Buffer.allocUnsafeSlow(buffer.length);
        held = false;
      }
      filled = false;
      return buffer;
    },
    callback: (n: number, buf: Buffer): boolean => {
      filled = n === buf.length;
      reader.onChunk(buf.subarray(0, n));
      return true;
    },
  };
  // The old socket lets go of the handle first, so destroying it closes nothing.
  old._handle = null;
  socket = new net.Socket({ handle: handle as never, onread, allowHalfOpen: old.allowHalfOpen, pauseOnCreate: true } as net.SocketConstructorOpts);
  old.destroy();
  reader = { socket, pending: pending && pending.length > 0 ? pending : null, reused: true, hold: () => (held = true), onChunk };
  return reader;
}
