// Rebuilds connections from a proxy journal: FILE.journal holds the engine events (open,
// handshake, frame, error, close; CONTRACTS.md "Events") appended and flushed one a line
// as they happen, so after a crash `framescope import FILE.journal -o FILE` recovers
// everything up to the crash. The last line may be cut off by the crash: it is dropped
// with a warning. A bad line anywhere else is an error (the file is not a journal).
//
// Memory stays bounded like the capture reader's: the first pass keeps each connection's
// head and, per frame, only where its line is (offset and length); the second pass reads
// the frame lines back one at a time.

import type { CloseRecord, FrameRecord, HandshakeRecord, TlsRecord } from '../../shared/model';
import { checkClose, checkFrame, checkHandshake, ShapeError, type ConnectionHead, type KnownSizes } from './capture-shape';
import { CaptureFormatError, RAW_SPANS, type CaptureSource, type RawSpans } from './capture-source';
import type { FileSource } from './json-cursor';

const CHUNK = 1 << 20;
/** A single journal line longer than this is refused (a frame is at most 16 MiB, base64 plus a message). */
const MAX_LINE = 256 * 1024 * 1024;

/** Where one connection's frame lines are, growing as the journal is read. */
class LineIndex {
  offsets = new Float64Array(64);
  lengths = new Float64Array(64);
  count = 0;
  push(offset: number, length: number): void {
    if (this.count === this.offsets.length) {
      const o = new Float64Array(this.count * 2);
      o.set(this.offsets);
      this.offsets = o;
      const l = new Float64Array(this.count * 2);
      l.set(this.lengths);
      this.lengths = l;
    }
    this.offsets[this.count] = offset;
    this.lengths[this.count] = length;
    this.count++;
  }
}

interface Building {
  head: ConnectionHead;
  lines: LineIndex;
  /** no open event was seen: mode, URL and addresses are guesses */
  guessed: boolean;
  lastTime: number;
}

type Obj = Record<string, unknown>;

/**
 * Calls `onLine(buf, start, end, offset, lineNo, last)` for every line (its bytes are
 * buf[start, end), at `offset` in the file); `last` marks a final line without its newline.
 */
function eachLine(src: FileSource, file: string, onLine: (buf: Buffer, start: number, end: number, offset: number, lineNo: number, last: boolean) => void): void {
  let buf = Buffer.allocUnsafe(CHUNK);
  let base = 0; // file offset of buf[0]
  let len = 0;
  let lineNo = 0;
  for (;;) {
    if (len === buf.length) {
      if (buf.length > MAX_LINE) throw new CaptureFormatError(file, `a line is longer than ${MAX_LINE} bytes`, `line ${lineNo + 1}`);
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = src.read(buf, len, buf.length - len, base + len);
    const eof = n === 0;
    len += n;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, 0); nl >= 0 && nl < len; nl = buf.indexOf(0x0a, start)) {
      lineNo++;
      onLine(buf, start, nl, base + start, lineNo, false);
      start = nl + 1;
    }
    if (eof) {
      if (start < len) onLine(buf, start, len, base + start, lineNo + 1, true);
      return;
    }
    buf.copyWithin(0, start, len);
    base += start;
    len -= start;
  }
}

// -- long frame lines ---------------------------------------------------------------------
//
// A journal of large frames is mostly base64: a 256 KiB payload is a 350 KB line. Turned
// into a string and parsed, each such line made several strings of that size (V8 puts them
// in fresh memory, page by page), and a proxy stopped after 800 MB of them took ~25 s to
// write its capture. So a long frame line is parsed without its payload and message data:
// their base64 is found in the bytes, checked there, and left out of the text that is
// parsed; the capture writer copies those bytes straight from the journal.

/** Frame lines at least this long are parsed without their big base64 strings. */
const LONG_LINE = 64 * 1024;
const FRAME_PREFIX = Buffer.from('{"event":"frame",');
const PAYLOAD_KEY = Buffer.from('"payload":"');
const DATA_KEY = Buffer.from('"data":"');

/** 1 for the 64 base64 letters. */
const BASE64_LETTER = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_LETTER[c.charCodeAt(0)] = 1;

/**
 * The byte count the base64 in buf[start, end) decodes to, or -1 (what capture-shape's
 * base64Bytes says of the same text). Exported for its tests.
 */
export function base64Size(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n % 4 === 1) return -1;
  let pad = 0;
  if (n > 0 && buf[end - 1] === 0x3d) pad = n > 1 && buf[end - 2] === 0x3d ? 2 : 1;
  if (pad > 0 && n % 4 !== 0) return -1;
  return allBase64Letters(buf, start, end - pad) ? Math.floor(((n - pad) * 3) / 4) : -1;
}

/**
 * Whether buf[start, stop) holds only base64 letters. A word at a time and without a branch
 * a byte: ~210 µs over a 350 KB payload here, against ~460 µs byte by byte.
 */
function allBase64Letters(buf: Uint8Array, start: number, stop: number): boolean {
  const T = BASE64_LETTER;
  let ok = 1;
  let i = start;
  for (; i < stop && ((buf.byteOffset + i) & 3) !== 0; i++) ok &= T[buf[i]!]!;
  const words = stop > i ? (stop - i) >>> 2 : 0;
  if (words > 0) {
    const w32 = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let j = 0; j < words; j++) {
      const w = w32[j]!;
      ok &= T[w & 0xff]! & T[(w >>> 8) & 0xff]! & T[(w >>> 16) & 0xff]! & T[w >>> 24]!;
    }
  }
  for (i += words << 2; i < stop; i++) ok &= T[buf[i]!]!;
  return ok === 1;
}

interface HollowLine {
  /** the line's text with the payload (and message data) strings emptied */
  text: string;
  payload: { start: number; end: number; size: number };
  data: { start: number; end: number; size: number } | null;
}

/**
 * A long frame line with its payload and message data strings cut out, or null when the
 * line is not one this can cut safely (then it is parsed whole, as before). In JSON text a
 * quote inside a string is always escaped, so the bytes `"payload":"` can only be that key;
 * the key order (payload before message) is what every writer of frame events uses, and the
 * caller checks the parse put the empty strings where they belong.
 */
function hollowFrameLine(buf: Buffer, start: number, end: number, check = true): HollowLine | null {
  if (end - start < LONG_LINE || buf.compare(FRAME_PREFIX, 0, FRAME_PREFIX.length, start, start + FRAME_PREFIX.length) !== 0) return null;
  // Searches stay within the line (the buffer holds the lines after it too).
  const line = buf.subarray(start, end);
  const pk = line.indexOf(PAYLOAD_KEY);
  if (pk < 0) return null;
  const ps = pk + PAYLOAD_KEY.length;
  const pe = line.indexOf(0x22, ps);
  if (pe < 0) return null;
  const payloadSize = check ? base64Size(line, ps, pe) : 0;
  if (payloadSize < 0) return null;
  let data: HollowLine['data'] = null;
  const dk = line.indexOf(DATA_KEY, pe);
  if (dk >= 0) {
    const ds = dk + DATA_KEY.length;
    const de = line.indexOf(0x22, ds);
    if (de < 0) return null;
    const size = check ? base64Size(line, ds, de) : 0;
    if (size < 0) return null;
    data = { start: start + ds, end: start + de, size };
  }
  const text = data
    ? line.toString('utf8', 0, ps) + line.toString('utf8', pe, data.start - start) + line.toString('utf8', data.end - start)
    : line.toString('utf8', 0, ps) + line.toString('utf8', pe);
  return { text, payload: { start: start + ps, end: start + pe, size: payloadSize }, data };
}

/** The parsed hollow line, when its emptied strings are the frame's payload and message data. */
function parseHollow(h: HollowLine): Obj | null {
  let e: unknown;
  try {
    e = JSON.parse(h.text);
  } catch {
    return null;
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return null;
  const ev = e as Obj;
  if (ev['event'] !== 'frame' || ev['payload'] !== '') return null;
  const m = ev['message'] as Obj | undefined;
  if (h.data ? !(typeof m === 'object' && m !== null && m['data'] === '') : false) return null;
  return ev;
}

function strip(event: Obj): Obj {
  const { event: _e, connection: _c, ...rest } = event;
  return rest;
}

export function indexJournal(src: FileSource, file: string, createdAt: string): CaptureSource {
  const order: Building[] = [];
  const byId = new Map<string, Building>();
  const warnings: string[] = [];
  let unknownKinds = 0;

  const connectionFor = (id: string, time: number): Building => {
    let b = byId.get(id);
    if (!b) {
      b = {
        head: { id, mode: 'client', url: '', client: null, server: null, tls: null, startedAt: time, endedAt: null, handshake: null, close: null, errors: [] },
        lines: new LineIndex(),
        guessed: true,
        lastTime: time,
      };
      byId.set(id, b);
      order.push(b);
    }
    return b;
  };

  eachLine(src, file, (buf, start, end, offset, lineNo, last) => {
    const length = end - start;
    const where = `line ${lineNo}`;
    let e: unknown;
    let known: KnownSizes | undefined;
    const hollow = hollowFrameLine(buf, start, end);
    const parsed = hollow && parseHollow(hollow);
    if (hollow && parsed) {
      e = parsed;
      known = { payload: hollow.payload.size, data: hollow.data?.size };
    } else {
      const text = buf.toString('utf8', start, end);
      if (text.trim() === '') return;
      try {
        e = JSON.parse(text);
      } catch {
        if (last) {
          warnings.push(`${file}: the last line is cut off (the journal was being written when the process ended); its ${length} bytes were dropped (line ${lineNo})`);
          return;
        }
        throw new CaptureFormatError(file, 'not a JSON event (a journal has one JSON object a line)', where);
      }
    }
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new CaptureFormatError(file, 'expected an event object', where);
    const ev = e as Obj;
    if (typeof ev['event'] !== 'string') throw new CaptureFormatError(file, '"event" must be a string', where);
    if (typeof ev['connection'] !== 'string') throw new CaptureFormatError(file, '"connection" must be a string', where);
    const id = ev['connection'];
    try {
      switch (ev['event']) {
        case 'open': {
          const time = typeof ev['startedAt'] === 'number' ? ev['startedAt'] : 0;
          // An open for an id already seen starts a new connection (a proxy restarted and
          // appended to the same journal): later events go to the newest one.
          const b: Building = {
            head: {
              id,
              mode: ev['mode'] === 'proxy' ? 'proxy' : 'client',
              url: typeof ev['url'] === 'string' ? ev['url'] : '',
              client: typeof ev['client'] === 'string' ? ev['client'] : null,
              server: typeof ev['server'] === 'string' ? ev['server'] : null,
              tls: (ev['tls'] as TlsRecord | null | undefined) ?? null,
              startedAt: time,
              endedAt: null,
              handshake: null,
              close: null,
              errors: [],
            },
            lines: new LineIndex(),
            guessed: false,
            lastTime: time,
          };
          if (ev['mode'] !== 'client' && ev['mode'] !== 'proxy') throw new ShapeError('"mode" must be "client" or "proxy"', '');
          if (typeof ev['url'] !== 'string') throw new ShapeError('"url" must be a string', '');
          if (typeof ev['startedAt'] !== 'number') throw new ShapeError('"startedAt" must be a number', '');
          byId.set(id, b);
          order.push(b);
          break;
        }
        case 'handshake': {
          const h = checkHandshake(strip(ev), '') as HandshakeRecord;
          const b = connectionFor(id, h.requestAt);
          b.head.handshake = h;
          b.lastTime = Math.max(b.lastTime, h.responseAt ?? h.requestAt);
          break;
        }
        case 'frame': {
          const f = checkFrame(strip(ev), '', known) as FrameRecord;
          const b = connectionFor(id, f.time);
          b.lines.push(offset, length);
          b.lastTime = Math.max(b.lastTime, f.time);
          break;
        }
        case 'error': {
          if (typeof ev['message'] !== 'string') throw new ShapeError('"message" must be a string', '');
          connectionFor(id, 0).head.errors.push(ev['message']);
          break;
        }
        case 'close': {
          const { endedAt, ...rest } = strip(ev);
          const c = checkClose(rest, '') as CloseRecord;
          const b = connectionFor(id, 0);
          b.head.close = c;
          b.head.endedAt = typeof endedAt === 'number' ? endedAt : b.lastTime;
          break;
        }
        default:
          unknownKinds++;
      }
    } catch (err) {
      if (err instanceof ShapeError) throw new CaptureFormatError(file, err.what, `${where} (a "${String(ev['event'])}" event)`);
      throw err;
    }
  });

  if (unknownKinds > 0) warnings.push(`${file}: ${unknownKinds} events of kinds this Framescope does not know were skipped`);
  for (const b of order) {
    const h = b.head;
    if (b.guessed) {
      const hs = h.handshake;
      const host = hs?.request.headers.find(([n]) => n.toLowerCase() === 'host')?.[1];
      if (hs && host) h.url = `ws://${host}${hs.request.target}`;
      h.errors.unshift(
        `recovered from the journal ${file}, which has no "open" event for this connection: mode and addresses are unknown${hs && host ? ', the URL is rebuilt from the handshake (ws:// assumed)' : ''}`,
      );
    }
    if (!h.close) h.errors.push(`the journal ${file} ends before this connection closed (the process ended while it was open)`);
  }

  return {
    kind: 'journal',
    file,
    createdAt,
    connections: order.map((b) => ({ head: b.head, frameCount: b.lines.count })),
    frames: (index, options) => frameLines(src, order[index]!.lines, options?.raw ?? false),
    warnings,
    close: () => src.close(),
  };
}

/**
 * Pass two: a connection's frame lines, read back through a block cache (they are in file
 * order). With `raw`, a long line's payload and message data stay bytes (RAW_SPANS), views
 * of the block valid until the next frame.
 */
function* frameLines(src: FileSource, lines: LineIndex, raw: boolean): Generator<FrameRecord> {
  let block = Buffer.allocUnsafe(CHUNK);
  let blockStart = 0;
  let blockLen = 0;
  for (let i = 0; i < lines.count; i++) {
    const offset = lines.offsets[i]!;
    const length = lines.lengths[i]!;
    if (offset < blockStart || offset + length > blockStart + blockLen) {
      if (length > block.length) block = Buffer.allocUnsafe(length);
      blockStart = offset;
      blockLen = src.read(block, 0, block.length, offset);
    }
    const at = offset - blockStart;
    // (Its base64 was checked by the first pass.)
    const hollow = raw ? hollowFrameLine(block, at, at + length, false) : null;
    const parsed = hollow && parseHollow(hollow);
    if (hollow && parsed) {
      const record = strip(parsed) as unknown as FrameRecord;
      const spans: RawSpans = { payload: block.subarray(hollow.payload.start, hollow.payload.end) };
      if (hollow.data) spans.data = block.subarray(hollow.data.start, hollow.data.end);
      Object.defineProperty(record, RAW_SPANS, { value: spans, enumerable: false });
      yield record;
      continue;
    }
    const event = JSON.parse(block.toString('utf8', at, at + length)) as Obj;
    yield strip(event) as unknown as FrameRecord;
  }
}
