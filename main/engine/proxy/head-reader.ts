// Reads one HTTP head off a socket with our incremental parser: a size limit checked as
// bytes arrive, and a deadline so a client that trickles bytes cannot hold a slot forever.
import type net from 'node:net';
import { HttpHeadParser, HandshakeError, type HeadKind, type HeadOf } from '../../../shared/codec/handshake';

export interface HeadRead<K extends HeadKind> {
  head: HeadOf<K>;
  /** the head exactly as received */
  headBytes: Uint8Array;
  /** bytes after the head that came in the same chunk */
  rest: Uint8Array;
}

export type HeadFailure =
  | { error: 'timeout'; message: string }
  | { error: 'eof'; message: string; bytes: number }
  | { error: 'malformed'; message: string; code: string };

export interface HeadReadOptions {
  maxHeaderBytes: number;
  timeoutMs: number;
}

/**
 * Resolves with the head, or with why there is none. The socket is left paused with no
 * 'data' listener, so the caller decides what reads the rest.
 */
export function readHead<K extends HeadKind>(
  socket: net.Socket,
  kind: K,
  options: HeadReadOptions,
  initial?: Uint8Array,
): Promise<HeadRead<K> | HeadFailure> {
  return new Promise((resolve) => {
    const parser = new HttpHeadParser(kind, { maxHeaderBytes: options.maxHeaderBytes });
    let received = 0;
    let done = false;
    const finish = (result: HeadRead<K> | HeadFailure) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Uint8Array) => {
      received += chunk.length;
      try {
        const r = parser.receive(chunk);
        if (r.done) finish({ head: r.head as HeadOf<K>, headBytes: r.headBytes, rest: r.rest });
      } catch (err) {
        if (err instanceof HandshakeError) finish({ error: 'malformed', message: err.message, code: err.code });
        else throw err;
      }
    };
    const onEnd = () => finish({ error: 'eof', message: received ? 'the connection closed mid-head' : 'the connection closed before sending anything', bytes: received });
    const timer = setTimeout(
      () => finish({ error: 'timeout', message: `no complete ${kind} head within ${options.timeoutMs} ms (${received} bytes arrived)` }),
      options.timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    if (initial && initial.length > 0) onData(initial);
    if (!done) socket.resume();
  });
}

export function isHeadFailure<K extends HeadKind>(r: HeadRead<K> | HeadFailure): r is HeadFailure {
  return 'error' in r;
}
