// `framescope decode <file> [--from client|server]`: decode one direction of a WebSocket
// connection's bytes in the observer stance (record violations, keep going), streaming the
// file. The file may start with that direction's HTTP upgrade head (a TCP stream saved
// whole): the head is parsed and shown as the handshake, and the frames after it decoded.
// The other direction's head (--head FILE) completes the handshake: its checks, and the
// permessage-deflate terms the frames are inflated with.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { FrameParser } from '../../shared/codec/frame-parser';
import { MessageAssembler } from '../../shared/codec/messages';
import type { WireFrame } from '../../shared/codec/frame';
import {
  HandshakeError,
  HttpHeadParser,
  assembleHandshake,
  checkRequest,
  checkResponse,
  headerList,
  headerValues,
  type HeadKind,
} from '../../shared/codec/handshake';
import { PERMESSAGE_DEFLATE, negotiateDeflateResponse, parseExtensions, type DeflateParams } from '../../shared/codec/extensions';
import type { ExtensionRecord, HandshakeCheck, HttpRequestRecord, HttpResponseRecord, Side } from '../../shared/model';
import { ConnectionRecorder } from '../engine/recording/recorder';
import { isEventLog } from '../engine/recording/log-reader';
import { zlibCompression } from '../engine/zlib-compression';
import type { DecodeChoice } from '../../shared/decoders';
import { checkDecodeOptions, decodeSetup } from './decode-option';
import { EXIT_FAILURE, EXIT_OK, UsageError, errorLine, eventPrinter, outputRoom, printLine } from './output';

export interface DecodeCliOptions {
  /** who sent the bytes; implied by a head at the start of the file */
  from?: Side;
  json: boolean;
  /** --decode: the application protocol to decode messages as */
  decode?: DecodeChoice;
  /** --proto, --proto-type: protobuf with a schema */
  proto?: string;
  protoType?: string;
  stats: boolean;
  hex: boolean;
  /** inflate RSV1 messages as permessage-deflate (15-bit window, context takeover) when no response head says */
  deflate: boolean;
  /** a file that starts with the other direction's HTTP head */
  head?: string;
}

const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();

/** A file this command cannot decode: one line, exit 1 (as a bad file for import/export). */
class NotAStream extends Error {}

type Sniffed = { kind: 'head'; head: HeadKind } | { kind: 'frames' };

/**
 * What the file starts with. No WebSocket frame starts with these bytes ('{', a pcap magic,
 * "HTTP/", an upper-case method and a space all set reserved bits, use a reserved opcode or
 * fragment a control frame), so a stream that does is not mistaken for one of them.
 */
function sniff(file: string): Sniffed {
  const fd = openSync(file, 'r');
  const start = Buffer.alloc(64);
  let n: number;
  try {
    n = readSync(fd, start, 0, start.length, 0);
  } finally {
    closeSync(fd);
  }
  const bytes = start.subarray(0, n);
  const text = bytes.toString('latin1');
  const magic = n >= 4 ? bytes.readUInt32BE(0) : -1;
  if (magic === 0x0a0d0d0a) throw new NotAStream(`${file} is a pcapng packet capture, not a WebSocket byte stream: save one direction of the TCP stream as raw bytes (Wireshark: Follow › TCP Stream, that direction, Show data as Raw) and decode that`);
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(magic)) {
    throw new NotAStream(`${file} is a pcap packet capture, not a WebSocket byte stream: save one direction of the TCP stream as raw bytes (Wireshark: Follow › TCP Stream, that direction, Show data as Raw) and decode that`);
  }
  if (isEventLog(bytes)) {
    throw new NotAStream(`${file} is a Framescope journal (an event log), not a WebSocket byte stream: \`framescope import ${file} -o OUT.wscap.json\` reads it`);
  }
  if (/^(\xef\xbb\xbf)?[ \t\r\n]*[{[]/.test(text)) {
    throw new NotAStream(
      `${file} is JSON (a capture, a journal or a HAR?), not a WebSocket byte stream: \`framescope import ${file} -o OUT.wscap.json\` reads it, \`framescope export ${file} --format ndjson -o OUT\` lists its frames`,
    );
  }
  if (text.startsWith('HTTP/')) return { kind: 'head', head: 'response' };
  if (/^(\r?\n)*[A-Z][A-Z-]* /.test(text)) return { kind: 'head', head: 'request' };
  return { kind: 'frames' };
}

const SIDE_OF: Record<HeadKind, Side> = { request: 'client', response: 'server' };

/** The head at the start of `file` (the --head file: only the head is read). */
function readHead(file: string, kind: HeadKind, what: string): { head: HttpRequestRecord | HttpResponseRecord; rest: Uint8Array | null } {
  const parser = new HttpHeadParser(kind);
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(16 * 1024);
    for (let at = 0; ; ) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (n === 0) {
        parser.end();
        throw new Error('unreachable: end() throws on an incomplete head');
      }
      at += n;
      const r = parser.receive(chunk.subarray(0, n));
      if (r.done) return { head: r.head, rest: r.rest };
    }
  } catch (err) {
    if (err instanceof HandshakeError) throw new NotAStream(`${what}: the HTTP ${kind} head is not valid: ${err.message}`);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** Refuses a head after which no WebSocket frames can follow. */
function requireUpgrade(file: string, head: HttpRequestRecord | HttpResponseRecord): void {
  if ('status' in head) {
    if (head.status !== 101) {
      throw new NotAStream(`${file} starts with an HTTP response ${head.status}${head.reason ? ` ${head.reason}` : ''}, not 101 Switching Protocols: no WebSocket frames follow it`);
    }
  } else if (!headerList(head.headers, 'Upgrade').some((t) => t.toLowerCase() === 'websocket')) {
    throw new NotAStream(`${file} starts with an HTTP request (${head.method} ${head.target}) that is not a WebSocket upgrade (no "Upgrade: websocket")`);
  }
}

/** The permessage-deflate terms a response states (they are what was agreed, RFC 7692 §7.1). */
function deflateFromResponse(response: HttpResponseRecord): DeflateParams | null {
  let accepted: ExtensionRecord[];
  try {
    accepted = parseExtensions(headerValues(response.headers, 'Sec-WebSocket-Extensions'));
  } catch {
    return null;
  }
  const ext = accepted.find((e) => e.name === PERMESSAGE_DEFLATE);
  if (!ext) return null;
  // An offer that allows every answer: the response's own terms come back.
  const r = negotiateDeflateResponse({ name: PERMESSAGE_DEFLATE, params: { client_max_window_bits: true } }, ext);
  return r.ok ? r.params : null;
}

export async function runDecode(file: string, o: DecodeCliOptions): Promise<number> {
  try {
    return await decode(file, o);
  } catch (err) {
    if (err instanceof NotAStream) {
      errorLine(err.message);
      return EXIT_FAILURE;
    }
    throw err;
  }
}

function readable(file: string): void {
  try {
    if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

async function decode(file: string, o: DecodeCliOptions): Promise<number> {
  readable(file);
  // --stats shows no message: unless there is a .proto to check, no decoder is loaded.
  const decoding = o.stats && o.proto === undefined ? null : await decodeSetup(o);
  if (decoding === null) checkDecodeOptions(o);
  if (o.head !== undefined) readable(o.head);
  const sniffed = sniff(file);
  const own: HeadKind | null = sniffed.kind === 'head' ? sniffed.head : null;
  let other: { kind: HeadKind; head: HttpRequestRecord | HttpResponseRecord } | null = null;
  if (o.head !== undefined) {
    const s = sniff(o.head);
    if (s.kind !== 'head') throw new UsageError(`--head ${o.head} does not start with an HTTP request or response head`);
    if (s.head === own) throw new UsageError(`${file} and --head ${o.head} both start with an HTTP ${own}: --head takes the other direction's`);
    other = { kind: s.head, head: readHead(o.head, s.head, o.head).head };
    requireUpgrade(o.head, other.head);
  }
  let from: Side;
  if (own !== null) {
    from = SIDE_OF[own];
    if (o.from !== undefined && o.from !== from) {
      throw new UsageError(`${file} starts with an HTTP ${own}, so its frames are the ${from}'s, not the ${o.from}'s (--from ${o.from})`);
    }
  } else if (o.from !== undefined) {
    from = o.from;
  } else {
    throw new UsageError(`--from client|server is required: ${file} does not start with an HTTP head that tells who sent it`);
  }

  const print = o.stats || decoding === null ? null : eventPrinter({ json: o.json, hex: o.hex, decode: decoding.decode, decoders: decoding.decoders });
  // Frames are printed, not kept: the recorder's list would grow with the file.
  const recorder = new ConnectionRecorder({ id: 'decode', mode: 'client', url: `file:${file}`, startedAt: Date.now(), keepFrames: false });
  if (print) recorder.addSink(print);
  const time = Date.now();

  let parser: FrameParser | null = null;
  let assembler: MessageAssembler | null = null;
  let frames = 0;
  let messages = 0;
  let violations = 0;
  let bytes = 0;
  /** the last frame was larger than a small read: read large, so most such frames lie in one read */
  let largeFrames = false;
  const onFrame = (f: WireFrame) => {
    frames++;
    largeFrames = f.length > SMALL_READ;
    const message = f.opcode <= 2 ? assembler!.push(f) : null;
    if (message) messages++;
    violations += f.violations.length;
    if (print) recorder.frame(f, message ? { message } : {});
  };

  /** Once the heads are known: the handshake shown, the frame parser set up as they negotiated. */
  const begin = (ownHead: HttpRequestRecord | HttpResponseRecord | null) => {
    const heads = [ownHead, other?.head ?? null];
    const request = (heads.find((h) => h !== null && !('status' in h)) ?? null) as HttpRequestRecord | null;
    const response = (heads.find((h) => h !== null && 'status' in h) ?? null) as HttpResponseRecord | null;
    let deflate: DeflateParams | null = null;
    if (request && response) {
      const verdict = checkResponse(request, response, sha1);
      deflate = verdict.deflate;
      recorder.handshake(assembleHandshake(verdict, { request, response, requestAt: time, responseAt: time }));
    } else if (request || response) {
      if (response) deflate = deflateFromResponse(response);
      if (print) showHalfHandshake(request, response, time, o.json);
    }
    const windowBits = deflate ? (from === 'client' ? deflate.clientMaxWindowBits : deflate.serverMaxWindowBits) : 15;
    const noTakeover = deflate ? (from === 'client' ? deflate.clientNoContextTakeover : deflate.serverNoContextTakeover) : false;
    // Without a response head nothing says what was negotiated: --deflate assumes the defaults.
    const inflate = deflate !== null || (response === null && o.deflate);
    parser = new FrameParser({ from, stance: 'observer', rsv1Allowed: inflate });
    assembler = new MessageAssembler({ from, compression: inflate ? { inflater: zlibCompression.inflater(windowBits, noTakeover) } : null });
  };

  const headParser = own !== null ? new HttpHeadParser(own) : null;
  let ownHead: HttpRequestRecord | HttpResponseRecord | null = null;
  /**
   * After a request head: the first bytes, held (and nothing shown) until they tell whether
   * a response head follows: both directions in one file cannot be told apart.
   */
  let held: Buffer | null = own === 'request' ? Buffer.alloc(0) : null;
  const frameBytes = (buf: Uint8Array, last = false) => {
    if (held !== null) {
      held = Buffer.concat([held, buf]);
      if (held.length < 5 && !last) return;
      buf = held;
      held = null;
      if (Buffer.from(buf.subarray(0, 5)).toString('latin1') === 'HTTP/') {
        throw new NotAStream(`${file} holds both directions (a request head, then a response head): decode each direction's bytes on its own, and give the other's head with --head`);
      }
      begin(ownHead);
    }
    if (buf.length > 0) parser!.receiveEach(buf, time, onFrame);
  };
  if (headParser === null) begin(null);

  for await (const buf of readChunks(file, () => (largeFrames ? LARGE_READ : SMALL_READ))) {
    bytes += buf.length;
    if (headParser !== null && !headParser.done) {
      let r;
      try {
        r = headParser.receive(buf);
      } catch (err) {
        if (err instanceof HandshakeError) throw new NotAStream(`${file}: the HTTP ${own} head is not valid: ${err.message}`);
        throw err;
      }
      if (!r.done) continue;
      requireUpgrade(file, r.head);
      ownHead = r.head;
      if (held === null) begin(ownHead);
      frameBytes(r.rest);
      continue;
    }
    frameBytes(buf);
  }
  if (headParser !== null && !headParser.done) {
    try {
      headParser.end();
    } catch (err) {
      if (err instanceof HandshakeError) throw new NotAStream(`${file}: ${err.message}`);
      throw err;
    }
  }
  if (held !== null) frameBytes(new Uint8Array(0), true);
  for (const f of parser!.end(time)) onFrame(f);
  if (o.stats) printLine(JSON.stringify({ frames, bytes, messages, violations }));
  return EXIT_OK;
}

// Every read is a fresh buffer (frames' payloads are views of it, kept as long as a sink
// likes). Its size follows the frames: small reads for small frames, because buffers under
// malloc's mmap threshold (128 KiB) are recycled, where larger ones are fresh pages from the
// kernel each time (three times the page faults on small frames); large reads for large
// frames, so most of a frame's payload lies in one read and is not copied to be joined.
const SMALL_READ = 64 * 1024;
const LARGE_READ = 1024 * 1024;

/** Bytes read between turns of the event loop (when output is flushed, a closed pipe noticed). */
const TURN_BYTES = 1024 * 1024;

// Reads are synchronous: decode has nothing else to do meanwhile, and a round trip through
// libuv's thread pool a read cost 15-25% of `decode --stats` on small frames. The event loop
// still turns every TURN_BYTES, so output goes out and a closed pipe (`| head`) ends it.
async function* readChunks(file: string, size: () => number): AsyncGenerator<Buffer> {
  const fd = openSync(file, 'r');
  try {
    let sinceTurn = 0;
    for (;;) {
      const n = size();
      const buf = Buffer.allocUnsafeSlow(n);
      const bytesRead = readSync(fd, buf, 0, n, null);
      if (bytesRead === 0) return;
      sinceTurn += bytesRead;
      if (sinceTurn >= TURN_BYTES) {
        sinceTurn = 0;
        // A turn, and a reader slower than decoding catches up first (memory stays flat).
        await outputRoom();
      }
      yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * One head without the other: a handshake event whose missing side is null (and `accept`
 * null: it needs both), with the checks one head allows.
 */
function showHalfHandshake(request: HttpRequestRecord | null, response: HttpResponseRecord | null, time: number, json: boolean): void {
  let checks: HandshakeCheck[];
  let protocol: string | null = null;
  let extensions: ExtensionRecord[] = [];
  if (request) {
    checks = checkRequest(request).checks;
  } else {
    // The checks that look at the response alone.
    const alone = checkResponse({ method: 'GET', target: '/', version: 'HTTP/1.1', headers: [] }, response!, sha1);
    checks = alone.checks.filter((c) => ['status-101', 'upgrade-websocket', 'connection-upgrade'].includes(c.id));
    protocol = headerValues(response!.headers, 'Sec-WebSocket-Protocol').join(', ') || null;
    try {
      extensions = parseExtensions(headerValues(response!.headers, 'Sec-WebSocket-Extensions'));
    } catch {
      extensions = [];
    }
  }
  if (json) {
    const event = {
      event: 'handshake',
      connection: 'decode',
      request,
      response,
      requestAt: request ? time : null,
      responseAt: response ? time : null,
      accept: null,
      protocol,
      extensions,
      checks,
    };
    printLine(JSON.stringify(event));
    return;
  }
  const lines: string[] = [];
  if (request) {
    lines.push(`> ${request.method} ${request.target} ${request.version}`);
    for (const [n, v] of request.headers) lines.push(`> ${n}: ${v}`);
    lines.push('< (no response head: give it with --head FILE to check the handshake)');
  } else {
    lines.push('> (no request head: give it with --head FILE to check the handshake)');
    lines.push(`< ${response!.version} ${response!.status} ${response!.reason}`);
    for (const [n, v] of response!.headers) lines.push(`< ${n}: ${v}`);
  }
  for (const c of checks) if (!c.ok) lines.push(`check failed: ${c.id}: ${c.detail}`);
  printLine(lines.join('\n'));
}
