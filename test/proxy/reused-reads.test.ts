// readChunks (main/engine/proxy/reused-reads.ts) against real loopback sockets: an accepted
// or connected plain TCP socket is adopted into a socket that reads into one reused buffer;
// nothing the old socket had read is lost or doubled, the connection behaves as before, and
// the buffer is handed on only when hold() says a write still needs it.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { readChunks as readChunksUnderTest, type ChunkReader } from '../../main/engine/proxy/reused-reads';
import { testPki } from '../peers/pki';
import { prng, randomBytes } from '../peers/random';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** readChunks, with the socket it returns destroyed after the test. */
function readChunks(...args: Parameters<typeof readChunksUnderTest>): ChunkReader {
  const reader = readChunksUnderTest(...args);
  cleanup.push(() => {
    reader.socket.destroy();
  });
  return reader;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Resolves on the next `event` of `emitter`. */
function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (v: T) => resolve(v)));
}

/** Waits (event loop turns, not a clock) until `ready()` holds; the cap is only a safety net. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; !ready(); i++) {
    if (i > 2000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Pair {
  /** the server side as accepted (not read from: data stays buffered in it) */
  accepted: net.Socket;
  /** the client side, from net.connect, connected */
  client: net.Socket;
}

/** A loopback TCP connection; the accepted side is paused at once. */
async function pair(serverOptions: net.ServerOpts = {}): Promise<Pair> {
  const server = net.createServer(serverOptions);
  const accepted = new Promise<net.Socket>((resolve) =>
    server.once('connection', (s: net.Socket) => {
      s.pause();
      s.on('error', () => {});
      resolve(s);
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  const a = await accepted;
  // No further connections: the listening socket goes, the accepted one stays.
  server.close();
  cleanup.push(() => {
    client.destroy();
    a.destroy();
  });
  return { accepted: a, client };
}

/** Collects what a socket receives (as copies). */
function collect(socket: net.Socket): { chunks: Buffer[]; text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const ended = once<void>(socket, 'end');
  return { chunks, text: () => Buffer.concat(chunks).toString('latin1'), ended };
}

/** Waits until `got()` has at least `n` bytes. */
async function bytes(got: () => number, n: number): Promise<void> {
  await until(() => got() >= n, `${n} bytes`);
}

describe('readChunks: adopting an accepted socket', () => {
  it('bytes read before adoption come out as `pending`, later ones via the callback: in order, nothing lost or doubled (5 MB)', async () => {
    const { accepted, client } = await pair();
    const rand = prng(0x5eed1);
    const total = 5 * 1024 * 1024;
    const data = randomBytes(total, rand);
    // Random-sized writes, all queued at once; the accepted side is paused, so its stream
    // buffers what it has read and the rest waits in the kernel.
    for (let at = 0; at < total; ) {
      const n = Math.min(total - at, 1 + Math.floor(rand() * 100 * 1024));
      client.write(data.subarray(at, at + n));
      at += n;
    }
    client.end();
    await until(() => accepted.readableLength > 0, 'bytes buffered in the paused accepted socket');

    const hash = createHash('sha256');
    let received = 0;
    let chunks = 0;
    const reader = readChunks(accepted, (chunk) => {
      // The chunk is valid only during this call: hash it now.
      hash.update(chunk);
      received += chunk.length;
      chunks++;
    });
    expect(reader.reused).toBe(true);
    expect(reader.socket).not.toBe(accepted);
    expect(reader.pending).not.toBeNull();
    const pending = reader.pending!;
    // What the old socket had read is the start of the stream.
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.equals(data.subarray(0, pending.length))).toBe(true);
    expect(chunks).toBe(0); // nothing before resume()

    const ended = once(reader.socket, 'end');
    reader.socket.resume();
    await ended;
    expect(pending.length + received).toBe(total);
    // The chunks, in order, are exactly the rest of the stream after `pending`.
    expect(hash.digest('hex')).toBe(sha256(data.subarray(pending.length)));
    expect(chunks).toBeGreaterThan(1);
  });

  it('nothing read yet: `pending` is null and every byte comes through the callback', async () => {
    const { accepted, client } = await pair();
    const got: Buffer[] = [];
    const reader = readChunks(accepted, (chunk) => got.push(Buffer.from(chunk)));
    expect(reader.reused).toBe(true);
    expect(reader.pending).toBeNull();
    reader.socket.resume();
    client.end('after adoption');
    await once(reader.socket, 'end');
    expect(Buffer.concat(got).toString()).toBe('after adoption');
  });
});

describe('readChunks: which sockets read into a reused buffer', () => {
  it('a plain accepted socket: reused', async () => {
    const { accepted } = await pair();
    const reader = readChunks(accepted, () => {});
    expect(reader.reused).toBe(true);
  });

  it('a net.connect socket after "connect": reused, and reads through the callback', async () => {
    const { accepted, client } = await pair();
    const got: Buffer[] = [];
    const reader = readChunks(client, (chunk) => got.push(Buffer.from(chunk)));
    expect(reader.reused).toBe(true);
    expect(reader.socket).not.toBe(client);
    reader.socket.resume();
    accepted.end('from the server');
    await once(reader.socket, 'end');
    expect(Buffer.concat(got).toString()).toBe('from the server');
  });

  it('{ reuse: false }: the same socket, read the usual way (each chunk through the callback)', async () => {
    const { accepted, client } = await pair();
    const got: Buffer[] = [];
    const reader = readChunks(accepted, (chunk) => got.push(Buffer.from(chunk)), { reuse: false });
    expect(reader.reused).toBe(false);
    expect(reader.socket).toBe(accepted);
    expect(reader.pending).toBeNull();
    reader.hold(); // a no-op here
    reader.socket.resume();
    client.end('plain reading');
    await once(reader.socket, 'end');
    expect(Buffer.concat(got).toString()).toBe('plain reading');
  });

  it('TLS sockets (client after secureConnect, and the server side): not adopted, still read through the callback', async () => {
    const pki = await testPki();
    const server = tls.createServer({ cert: pki.leaf.certPem, key: pki.leaf.keyPem });
    const secureAccepted = new Promise<tls.TLSSocket>((resolve) => server.once('secureConnection', (s: tls.TLSSocket) => resolve(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const client = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: pki.ca.certPem });
    client.on('error', () => {});
    await once(client, 'secureConnect');
    const serverSide = await secureAccepted;
    serverSide.on('error', () => {});
    cleanup.push(() => {
      client.destroy();
      serverSide.destroy();
    });

    const fromServer: Buffer[] = [];
    const fromClient: Buffer[] = [];
    const c = readChunks(client, (chunk) => fromServer.push(Buffer.from(chunk)));
    const s = readChunks(serverSide, (chunk) => fromClient.push(Buffer.from(chunk)));
    for (const r of [c, s]) {
      expect(r.reused).toBe(false);
      expect(r.pending).toBeNull();
    }
    expect(c.socket).toBe(client);
    expect(s.socket).toBe(serverSide);
    c.socket.resume();
    s.socket.resume();
    c.socket.write('over tls, up');
    s.socket.write('over tls, down');
    await bytes(() => Buffer.concat(fromClient).length, 12);
    await bytes(() => Buffer.concat(fromServer).length, 14);
    expect(Buffer.concat(fromClient).toString()).toBe('over tls, up');
    expect(Buffer.concat(fromServer).toString()).toBe('over tls, down');
  });

  it('an accepted socket with a write still in flight: not adopted (read the usual way), and the write completes', async () => {
    const { accepted, client } = await pair();
    // The client reads nothing, so a large write cannot complete at once.
    client.pause();
    const big = randomBytes(8 * 1024 * 1024, prng(7));
    accepted.write(big);
    expect(accepted.writableLength).toBeGreaterThan(0);
    const got: Buffer[] = [];
    const reader = readChunks(accepted, (chunk) => got.push(Buffer.from(chunk)));
    expect(reader.reused).toBe(false);
    expect(reader.socket).toBe(accepted);
    reader.socket.resume();

    const down = collect(client);
    client.resume();
    client.write('still read');
    await bytes(() => Buffer.concat(got).length, 10);
    expect(Buffer.concat(got).toString()).toBe('still read');
    await bytes(() => down.chunks.reduce((n, c) => n + c.length, 0), big.length);
    expect(sha256(Buffer.concat(down.chunks))).toBe(sha256(big));
  });
});

describe('readChunks: the reused buffer', () => {
  /**
   * Sends `count` pieces of `size` bytes (piece i filled with byte i+1), one at a time: each
   * is sent once the previous one was handled (the handler acks it), so each arrives in a
   * read of its own.
   */
  async function pieces(
    count: number,
    onPiece: (i: number, chunk: Buffer, reader: ChunkReader) => void,
  ): Promise<{ views: Buffer[]; buffers: ArrayBuffer[] }> {
    const { accepted, client } = await pair();
    const size = 1000;
    const views: Buffer[] = [];
    const buffers: ArrayBuffer[] = [];
    /** per read: its length and whether it held the piece's bytes when it came */
    const seen: Array<[number, boolean]> = [];
    let got = 0;
    const reader: ChunkReader = readChunks(accepted, (chunk) => {
      const i = got++;
      views.push(chunk);
      buffers.push(chunk.buffer as ArrayBuffer);
      seen.push([chunk.length, chunk.every((b) => b === i + 1)]);
      onPiece(i, chunk, reader);
      reader.socket.write('k');
    });
    expect(reader.reused).toBe(true);
    reader.socket.resume();
    let acked = 0;
    const sendNext = () => {
      if (acked < count) client.write(Buffer.alloc(size, acked + 1));
    };
    client.on('data', (d: Buffer) => {
      acked += d.length;
      sendNext();
    });
    sendNext();
    await until(() => got === count && acked === count, `${count} pieces`);
    // One piece per read (the sender waits for each ack), each as sent.
    expect(seen).toEqual(Array.from({ length: count }, () => [size, true]));
    return { views, buffers };
  }

  it('without hold(): every read lands in the same memory (the previous chunk view now shows the next read)', async () => {
    const { views, buffers } = await pieces(5, () => {});
    for (const b of buffers) expect(b).toBe(buffers[0]);
    // The views all share the buffer's first bytes: they now show the last piece.
    for (const v of views) expect(v.every((b) => b === 5)).toBe(true);
  });

  it('after hold() with the socket flowing: the next read goes to a fresh buffer, and the held chunk stays intact', async () => {
    const { views, buffers } = await pieces(6, (i, _chunk, reader) => {
      if (i === 2) reader.hold();
    });
    expect(buffers[1]).toBe(buffers[0]);
    expect(buffers[2]).toBe(buffers[0]);
    expect(buffers[3]).not.toBe(buffers[2]);
    // Then the new buffer is the reused one.
    expect(buffers[4]).toBe(buffers[3]);
    expect(buffers[5]).toBe(buffers[3]);
    // The held chunk was not overwritten by later reads.
    expect(views[2]!.every((b) => b === 3)).toBe(true);
    expect(views[5]!.every((b) => b === 6)).toBe(true);
  });

  it('after hold() with the socket paused by the handler: the same buffer is used again once it resumes', async () => {
    const { buffers } = await pieces(4, (i, _chunk, reader) => {
      if (i === 1) {
        reader.hold();
        reader.socket.pause();
        // The write holding the chunk completes; then the handler resumes (as on 'drain').
        setImmediate(() => reader.socket.resume());
      }
    });
    for (const b of buffers) expect(b).toBe(buffers[0]);
  });
});

describe('readChunks: the connection survives adoption', () => {
  it('same addresses; the old socket closes without closing the connection; writes reach the peer both ways', async () => {
    const { accepted, client } = await pair();
    const before = { remoteAddress: accepted.remoteAddress, remotePort: accepted.remotePort, localPort: accepted.localPort };
    const oldClosed = once(accepted, 'close');
    const got: Buffer[] = [];
    const reader = readChunks(accepted, (chunk) => got.push(Buffer.from(chunk)));
    const adopted = reader.socket;
    expect(reader.reused).toBe(true);
    expect({ remoteAddress: adopted.remoteAddress, remotePort: adopted.remotePort, localPort: adopted.localPort }).toEqual(before);
    expect(before.remotePort).toBe(client.localPort);

    await oldClosed;
    expect(accepted.destroyed).toBe(true);
    // Closing the old socket object closed nothing: the connection still carries both ways.
    let clientClosed = false;
    client.once('close', () => (clientClosed = true));
    const down = collect(client);
    adopted.resume();
    adopted.write('down after adoption');
    client.write('up after adoption');
    await bytes(() => down.text().length, 19);
    await bytes(() => Buffer.concat(got).length, 17);
    expect(down.text()).toBe('down after adoption');
    expect(Buffer.concat(got).toString()).toBe('up after adoption');
    expect(clientClosed).toBe(false);
    expect(client.destroyed).toBe(false);
  });

  it("half-close: the peer's end() gives 'end' on the adopted socket, which may still write (allowHalfOpen carried over)", async () => {
    const { accepted, client } = await pair({ allowHalfOpen: true });
    const reader = readChunks(accepted, () => {});
    const adopted = reader.socket;
    expect(adopted.allowHalfOpen).toBe(true);
    const down = collect(client);
    adopted.resume();
    const ended = once(adopted, 'end');
    client.end();
    await ended;
    expect(adopted.destroyed).toBe(false);
    adopted.end('after your FIN');
    await down.ended;
    expect(down.text()).toBe('after your FIN');
  });

  it("half-close without allowHalfOpen: 'end' on the adopted socket, and it ends its side too", async () => {
    const { accepted, client } = await pair();
    const reader = readChunks(accepted, () => {});
    const adopted = reader.socket;
    expect(adopted.allowHalfOpen).toBe(false);
    const down = collect(client);
    adopted.resume();
    const ended = once(adopted, 'end');
    client.end();
    await ended;
    await down.ended;
    expect(down.text()).toBe('');
  });

  it('destroy() on the adopted socket closes the connection', async () => {
    const { accepted, client } = await pair();
    const reader = readChunks(accepted, () => {});
    reader.socket.resume();
    const closed = once<boolean>(client, 'close');
    const down = collect(client);
    reader.socket.destroy();
    await closed;
    // The peer saw the connection end (FIN or reset), not just silence.
    expect(down.text()).toBe('');
    expect(client.destroyed).toBe(true);
  });

  it('destroy() on an adopted net.connect socket closes the connection too', async () => {
    const { accepted, client } = await pair();
    const reader = readChunks(client, () => {});
    expect(reader.reused).toBe(true);
    reader.socket.resume();
    accepted.resume();
    const closed = once(accepted, 'close');
    reader.socket.destroy();
    await closed;
    expect(accepted.destroyed).toBe(true);
  });
});
