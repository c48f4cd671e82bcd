// The journal: NDJSON engine events appended to FILE.journal as they happen, so a killed
// process loses at most the events of its last turn of the event loop. Writes are
// batched per turn (one syscall for many frames), then flushed synchronously.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { ConnectionRecord, EngineEvent, FrameRecord } from '../../shared/model';
import { writeCaptureFile, type ConnectionSource } from './capture-writer';

export class Journal {
  private fd: number | null;
  private pending: string[] = [];
  private scheduled = false;
  /** events written (after flush) */
  written = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o600);
  }

  write(event: EngineEvent): void {
    if (this.fd === null) return;
    this.pending.push(JSON.stringify(event));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.fd === null || this.pending.length === 0) return;
    const text = this.pending.join('\n') + '\n';
    this.written += this.pending.length;
    this.pending = [];
    writeSync(this.fd, text);
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** What a journal says of one connection, with where its frames are in the file. */
interface JournalConnection {
  record: Omit<ConnectionRecord, 'frames'>;
  /** byte offset and length of each frame line, in order */
  frames: Array<[offset: number, length: number]>;
}

export interface JournalSummary {
  connections: number;
  frames: number;
  /** the last line was cut off (the process died mid-write) and was left out */
  cutLine: boolean;
  /** lines that were not events (left out) */
  badLines: number;
}

/**
 * Rebuilds a capture from a journal in two passes, holding only each frame's offset in
 * memory: the first pass reads every event and notes where frames are, the second writes
 * the capture, reading each connection's frames back by offset.
 */
export function captureFromJournal(journalPath: string, capturePath: string): JournalSummary {
  const conns = new Map<string, JournalConnection>();
  const summary: JournalSummary = { connections: 0, frames: 0, cutLine: false, badLines: 0 };
  const conn = (id: string, at: number): JournalConnection => {
    let c = conns.get(id);
    if (!c) {
      c = {
        record: { id, mode: 'proxy', url: '', client: null, server: null, tls: null, startedAt: at, endedAt: null, handshake: null, close: null, errors: [] },
        frames: [],
      };
      conns.set(id, c);
    }
    return c;
  };

  forEachLine(journalPath, (line, offset, isLast) => {
    let e: EngineEvent;
    try {
      e = JSON.parse(line) as EngineEvent;
    } catch {
      if (isLast) summary.cutLine = true;
      else summary.badLines++;
      return;
    }
    if (!e || typeof e !== 'object' || typeof e.connection !== 'string') {
      summary.badLines++;
      return;
    }
    switch (e.event) {
      case 'open': {
        const { event: _e, connection: _c, ...info } = e;
        const c = conn(e.connection, info.startedAt);
        Object.assign(c.record, { mode: info.mode, url: info.url, client: info.client, server: info.server, startedAt: info.startedAt });
        if (info.tls !== undefined) c.record.tls = info.tls;
        break;
      }
      case 'handshake': {
        const { event: _e, connection: _c, ...h } = e;
        conn(e.connection, h.requestAt).record.handshake = h;
        break;
      }
      case 'frame':
        conn(e.connection, e.time).frames.push([offset, Buffer.byteLength(line)]);
        break;
      case 'close': {
        const { event: _e, connection: _c, ...close } = e;
        const c = conn(e.connection, Date.now());
        c.record.close = close;
        break;
      }
      case 'error':
        conn(e.connection, Date.now()).record.errors.push(e.message);
        break;
    }
  });

  const fd = openSync(journalPath, 'r');
  try {
    const sources: ConnectionSource[] = [...conns.values()].map((c) => ({ ...c.record, frames: readFrames(fd, c.frames) }));
    writeCaptureFile(capturePath, sources);
  } finally {
    closeSync(fd);
  }
  summary.connections = conns.size;
  summary.frames = [...conns.values()].reduce((n, c) => n + c.frames.length, 0);
  return summary;
}

function* readFrames(fd: number, where: Array<[number, number]>): Generator<FrameRecord> {
  let buf = Buffer.alloc(64 * 1024);
  for (const [offset, length] of where) {
    if (buf.length < length) buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    const { event: _e, connection: _c, ...frame } = JSON.parse(buf.toString('utf8', 0, length)) as Extract<EngineEvent, { event: 'frame' }>;
    yield frame;
  }
}

/** Calls `fn` for every line with its byte offset, reading the file in blocks. */
function forEachLine(path: string, fn: (line: string, offset: number, isLast: boolean) => void): void {
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(1 << 20);
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = 0;
    let position = 0;
    for (;;) {
      const n = readSync(fd, block, 0, block.length, position);
      if (n === 0) break;
      position += n;
      const data = carry.length ? Buffer.concat([carry, block.subarray(0, n)]) : block.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        if (nl > start) fn(data.toString('utf8', start, nl), carryOffset + start, false);
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
      carryOffset += start;
    }
    if (carry.length > 0) fn(carry.toString('utf8'), carryOffset, true);
  } finally {
    closeSync(fd);
  }
}
