// Misbehaving "WebSocket" servers on raw node:net sockets: everything `ws` would refuse to do.
// Each parses the request head itself (up to \r\n\r\n), computes Sec-WebSocket-Accept itself with
// node:crypto where it claims a correct handshake, and never throws when a client goes away.
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A request head longer than this is refused (the socket destroyed): test peers bound memory too. */
export const MAX_REQUEST_HEAD = 64 * 1024;
/** Bytes a raw server keeps of what a client sent after its head; past this it stops recording. */
export const MAX_RECORDED = 16 * 1024 * 1024;

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function computeAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

export interface RequestHead {
  /** The head as latin1 text, without the final blank line. */
  text: string;
  /** "GET /path HTTP/1.1" */
  requestLine: string;
  /** [name, value] pairs in the order and case sent. */
  headers: Array<[string, string]>;
  /** The Sec-WebSocket-Key value, or null if the request had none. */
  key: string | null;
}

/** One client connection to a raw server. */
export interface RawConnection {
  socket: Socket;
  /** The parsed request head (null until it has fully arrived, or if it never does). */
  head: RequestHead | null;
  /** Everything the client sent after its request head (capped at MAX_RECORDED). */
  received(): Buffer;
  /** Resolves once the client has sent at least `count` bytes after its head (or closed first). */
  waitForBytes(count: number): Promise<Buffer>;
  /** Resolves when the socket has closed, for whatever reason. */
  closed: Promise<void>;
  /** True once the client ended or reset the connection (not when we did). */
  clientEnded: boolean;
}

export interface BadServer {
  /** ws://127.0.0.1:PORT (no trailing slash; add a path if you like, it is ignored). */
  url: string;
  port: number;
  /** Connections in arrival order. */
  connections: RawConnection[];
  /** Resolves with the next connection not yet waited for. */
  nextConnection(): Promise<RawConnection>;
  /** Destroys every socket, stops every timer and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

export function parseRequestHead(text: string): RequestHead {
  const lines = text.split('\r\n');
  const requestLine = lines[0] ?? '';
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  const keyHeader = headers.find(([name]) => name.toLowerCase() === 'sec-websocket-key');
  return { text, requestLine, headers, key: keyHeader ? keyHeader[1] : null };
}

/** A correct 101 response for `head`, plus any extra header lines ("Name: value"). */
export function switchingProtocols(head: RequestHead, extraHeaders: string[] = []): string {
  return [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${computeAccept(head.key ?? '')}`,
    ...extraHeaders,
    '',
    '',
  ].join('\r\n');
}

export interface RawFrameOptions {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Mask with this 4-byte key (servers must not mask; tests may want them to anyway). */
  maskKey?: Uint8Array;
}

/**
 * One frame, encoded independently of Framescope's own writer (shortest length encoding), so
 * tests of our parser do not lean on our encoder.
 */
export function rawFrame(options: RawFrameOptions): Buffer {
  const payload = typeof options.payload === 'string' ? Buffer.from(options.payload, 'utf8') : Buffer.from(options.payload ?? []);
  const first =
    ((options.fin ?? true) ? 0x80 : 0) |
    (options.rsv1 ? 0x40 : 0) |
    (options.rsv2 ? 0x20 : 0) |
    (options.rsv3 ? 0x10 : 0) |
    (options.opcode & 0x0f);
  const mask = options.maskKey ? 0x80 : 0;
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([first, mask | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = mask | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = mask | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (!options.maskKey) return Buffer.concat([header, payload]);
  const key = Buffer.from(options.maskKey);
  if (key.length !== 4) throw new Error('a mask key is 4 bytes');
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, masked]);
}

/** What a raw server does with a connection once its request head has arrived. */
type Behaviour = (conn: RawConnection, head: RequestHead, timers: Timers) => void;

/** Timers tied to the server, so close() stops every one of them. */
interface Timers {
  after(ms: number, fn: () => void): void;
  every(ms: number, fn: () => void): () => void;
}

/** Writes unless the socket is gone: a client may hang up at any moment. */
function safeWrite(socket: Socket, data: Uint8Array | string, done?: () => void): boolean {
  if (socket.destroyed || !socket.writable) return false;
  return socket.write(data, done ? () => done() : undefined);
}

/**
 * A net server on 127.0.0.1:0 that reads each request head and hands it to `behaviour`.
 * With `waitForHead: false` the behaviour runs as soon as TCP connects (head is then null).
 */
async function startRaw(behaviour: Behaviour, waitForHead = true): Promise<BadServer> {
  const connections: RawConnection[] = [];
  const sockets = new Set<Socket>();
  const timeouts = new Set<NodeJS.Timeout>();
  const intervals = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  let taken = 0;
  let closing = false;

  const timers: Timers = {
    after(ms, fn) {
      if (closing) return;
      const t = setTimeout(() => {
        timeouts.delete(t);
        fn();
      }, ms);
      timeouts.add(t);
    },
    every(ms, fn) {
      const t = setInterval(fn, ms);
      intervals.add(t);
      return () => {
        clearInterval(t);
        intervals.delete(t);
      };
    },
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let headBuf: Buffer = Buffer.alloc(0);
    const after: Buffer[] = [];
    let afterBytes = 0;
    let headDone = !waitForHead;
    let ended = false;
    const byteWaiters = new Set<() => void>();
    let resolveClosed!: () => void;
    const conn: RawConnection = {
      socket,
      head: null,
      received: () => Buffer.concat(after),
      waitForBytes: (count) =>
        new Promise((resolve) => {
          const check = () => {
            if (afterBytes >= count || socket.destroyed || ended) {
              byteWaiters.delete(check);
              resolve(Buffer.concat(after));
            }
          };
          byteWaiters.add(check);
          check();
        }),
      closed: new Promise<void>((resolve) => {
        resolveClosed = resolve;
      }),
      clientEnded: false,
    };
    const notifyBytes = () => {
      for (const w of [...byteWaiters]) w();
    };
    socket.on('end', () => {
      conn.clientEnded = true;
      ended = true;
      notifyBytes();
      // Half-open sockets are not what these peers are about: finish our side too.
      socket.end();
    });
    socket.on('close', (hadError) => {
      if (hadError) conn.clientEnded = true;
      sockets.delete(socket);
      notifyBytes();
      resolveClosed();
    });
    const record = (chunk: Buffer) => {
      if (afterBytes + chunk.length > MAX_RECORDED) chunk = chunk.subarray(0, Math.max(0, MAX_RECORDED - afterBytes));
      if (chunk.length === 0) return;
      after.push(chunk);
      afterBytes += chunk.length;
      notifyBytes();
    };
    socket.on('data', (chunk: Buffer) => {
      if (headDone) {
        record(chunk);
        return;
      }
      headBuf = Buffer.concat([headBuf, chunk]);
      const end = headBuf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (headBuf.length > MAX_REQUEST_HEAD) socket.destroy();
        return;
      }
      headDone = true;
      const head = parseRequestHead(headBuf.subarray(0, end).toString('latin1'));
      conn.head = head;
      record(headBuf.subarray(end + 4));
      headBuf = Buffer.alloc(0);
      behaviour(conn, head, timers);
    });
    connections.push(conn);
    wake();
    if (!waitForHead) behaviour(conn, parseRequestHead(''), timers);
  });
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    connections,
    nextConnection: () =>
      new Promise((resolve) => {
        const check = () => {
          const conn = connections[taken];
          if (!conn) return;
          taken++;
          waiters.delete(check);
          resolve(conn);
        };
        waiters.add(check);
        check();
      }),
    close: async () => {
      closing = true;
      for (const t of timeouts) clearTimeout(t);
      for (const t of intervals) clearInterval(t);
      timeouts.clear();
      intervals.clear();
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers any request with a plain `HTTP/1.1 200 OK` and a small body, then closes. */
export function answers200(body = 'hello, not a websocket\n'): Promise<BadServer> {
  return startRaw((conn) => {
    const bytes = Buffer.from(body, 'utf8');
    safeWrite(
      conn.socket,
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
    );
    safeWrite(conn.socket, bytes);
    conn.socket.end();
  });
}

/** 101 with Connection and a correct Accept but no Upgrade header; then stays open, silent. */
export function upgradeWithoutUpgradeHeader(): Promise<BadServer> {
  return startRaw((conn, head) => {
    safeWrite(
      conn.socket,
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(head.key ?? '')}\r\n\r\n`,
    );
  });
}

/**
 * 101 with Upgrade and Connection right but a wrong Sec-WebSocket-Accept (the SHA-1 of the key
 * without the GUID, so it is well-formed base64 of 20 bytes, just not the right one); stays open.
 */
export function wrongAccept(): Promise<BadServer> {
  return startRaw((conn, head) => {
    const wrong = createHash('sha1').update(head.key ?? '').digest('base64');
    safeWrite(
      conn.socket,
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wrong}\r\n\r\n`,
    );
  });
}

export interface EndlessHeadersOptions {
  /** Pause between header lines. Default 10 ms. */
  intervalMs?: number;
  /** Length of each header line's value. Default 64. */
  valueBytes?: number;
}

/**
 * A 101 status line, then header lines at a steady pace forever, never the blank line that ends
 * the head. Stops writing when the client closes (and when the socket pushes back).
 */
export function endlessHeaders(options: EndlessHeadersOptions = {}): Promise<BadServer> {
  const { intervalMs = 10, valueBytes = 64 } = options;
  return startRaw((conn, _head, timers) => {
    const socket = conn.socket;
    safeWrite(socket, 'HTTP/1.1 101 Switching Protocols\r\n');
    let n = 0;
    let paused = false;
    const stop = timers.every(intervalMs, () => {
      if (socket.destroyed || !socket.writable) {
        stop();
        return;
      }
      if (paused) return;
      const ok = safeWrite(socket, `X-Filler-${n++}: ${'a'.repeat(valueBytes)}\r\n`);
      if (!ok) {
        // The client stopped reading: wait for it rather than queueing without bound.
        paused = true;
        socket.once('drain', () => {
          paused = false;
        });
      }
    });
    socket.once('close', stop);
  });
}

/** The default garbage: 0xff 0xff (FIN, RSV1-3 set, reserved opcode 0xF) then a fixed pattern. */
export const DEFAULT_GARBAGE = Buffer.from(Array.from({ length: 64 }, (_, i) => (i < 2 ? 0xff : (0xff - i * 7) & 0xff)));

/** A correct handshake, then bytes that are not a valid frame; stays open afterwards. */
export function garbageAfterHandshake(bytes: Uint8Array = DEFAULT_GARBAGE): Promise<BadServer> {
  return startRaw((conn, head) => {
    safeWrite(conn.socket, switchingProtocols(head));
    safeWrite(conn.socket, bytes);
  });
}

export interface HugeLengthOptions {
  /**
   * The 64-bit payload length the header claims. Default 2^63: the most significant bit set,
   * which RFC 6455 §5.2 forbids. 2^62 is well-formed but absurdly large (payload too big).
   */
  length?: bigint;
  /** Opcode of the frame. Default 2 (binary): the first byte is then 0x82. */
  opcode?: number;
}

/**
 * A correct handshake, then the header of a frame claiming an enormous payload
 * (0x82 0x7f + 8 length bytes; with the default: 82 7f 80 00 00 00 00 00 00 00), and no payload.
 */
export function hugeLength(options: HugeLengthOptions = {}): Promise<BadServer> {
  const { length = 2n ** 63n, opcode = 2 } = options;
  const header = Buffer.alloc(10);
  header[0] = 0x80 | (opcode & 0x0f);
  header[1] = 0x7f;
  header.writeBigUInt64BE(BigInt.asUintN(64, length), 2);
  return startRaw((conn, head) => {
    safeWrite(conn.socket, switchingProtocols(head));
    safeWrite(conn.socket, header);
  });
}

export interface DropMidFrameOptions {
  /** Payload length the frame header states. Default 100 (fits the 7-bit length). */
  declared?: number;
  /** Payload bytes actually sent before the drop. Default 10. */
  sent?: number;
  /** 'destroy' (default): close the socket abruptly; 'end': send FIN first. */
  how?: 'destroy' | 'end';
}

/** A correct handshake, then part of a binary frame (header + `sent` of `declared` bytes), then gone. */
export function dropMidFrame(options: DropMidFrameOptions = {}): Promise<BadServer> {
  const { declared = 100, sent = 10, how = 'destroy' } = options;
  if (declared > 125) throw new Error('dropMidFrame keeps to 7-bit lengths (declared <= 125)');
  const partial = Buffer.concat([Buffer.from([0x82, declared]), Buffer.alloc(Math.min(sent, declared), 0x61)]);
  return startRaw((conn, head) => {
    safeWrite(conn.socket, switchingProtocols(head));
    // Destroy only once the bytes are handed to the kernel, so the client does see the half frame.
    safeWrite(conn.socket, partial, () => (how === 'end' ? conn.socket.end() : conn.socket.destroy()));
  });
}

/** Accepts TCP connections and never sends a byte (a handshake timeout's best friend). */
export function silent(): Promise<BadServer> {
  return startRaw(() => {}, false);
}

/** A URL for a loopback port with nothing listening: connecting to it is refused. */
export async function refused(): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `ws://127.0.0.1:${port}`, port, close: async () => {} };
}

export type ScriptStep =
  /** Write these bytes (a string is sent as latin1, byte for byte), optionally after a pause. */
  | { write: Uint8Array | string; delayMs?: number }
  /** Pause. */
  | { delayMs: number }
  /** Wait until the client has sent at least this many bytes after its request head in total. */
  | { waitForBytes: number }
  /** Send FIN (the connection half-closes; the socket closes once the client ends too). */
  | { end: true }
  /** Close the socket abruptly. */
  | { destroy: true };

export interface RawScriptOptions {
  /** Extra header lines ("Name: value") in the 101 response, e.g. a subprotocol or extensions. */
  extraHeaders?: string[];
  /**
   * Replace the whole handshake response (status line to blank line, or anything at all).
   * Default: a correct 101 computed from the request's key.
   */
  response?: (head: RequestHead) => string | Uint8Array;
}

/**
 * General-purpose misbehaviour: a handshake (correct by default), then `steps` in order, per
 * connection. What the client sent is in `connections[i].received()`.
 */
export function rawScript(steps: ScriptStep[], options: RawScriptOptions = {}): Promise<BadServer> {
  return startRaw((conn, head, timers) => {
    const socket = conn.socket;
    const response = options.response ? options.response(head) : switchingProtocols(head, options.extraHeaders);
    safeWrite(socket, typeof response === 'string' ? Buffer.from(response, 'latin1') : response);
    const run = (index: number): void => {
      const step = steps[index];
      if (!step || socket.destroyed) return;
      const next = () => run(index + 1);
      if ('write' in step) {
        const bytes = typeof step.write === 'string' ? Buffer.from(step.write, 'latin1') : step.write;
        const write = () => {
          safeWrite(socket, bytes);
          next();
        };
        if (step.delayMs) timers.after(step.delayMs, write);
        else write();
      } else if ('waitForBytes' in step) {
        void conn.waitForBytes(step.waitForBytes).then(next);
      } else if ('end' in step) {
        socket.end();
        next();
      } else if ('destroy' in step) {
        socket.destroy();
      } else {
        timers.after(step.delayMs, next);
      }
    };
    run(0);
  });
}
