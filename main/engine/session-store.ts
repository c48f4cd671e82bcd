// Where the app keeps what it recorded: every event appended to a journal file in a temp
// folder, and in memory only what the UI lists (connection summaries) plus, per frame, the
// byte offset of its line. So a million frames cost a few megabytes of memory; a frame's
// payload is read back from disk when someone opens it or exports it (DESIGN.md "Nothing
// is lost": payloads stay in the main process, spilled to disk).
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSummary, FrameSummary } from '../../shared/contract';
import { PREVIEW_CHARS, summaryHead } from '../../shared/contract';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { frameEventJsonBound, rawPayload, writeFrameEventJson } from '../../shared/records';
import type { CaptureSource, ConnectionEntry } from './capture-source';

/** Lines wait in a buffer of this size before they are written (or when one is read back). */
const PENDING_BYTES = 1 << 20;
/** Frames whose base64 strings are shorter than this have their line written as bytes. */
const SMALL_FRAME = 16 * 1024;

/** A growable list of line offsets: 8 bytes a frame, no object per frame. */
class OffsetList {
  private data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  get(i: number): number {
    return this.data[i]!;
  }
}

interface Stored {
  summary: ConnectionSummary;
  offsets: OffsetList;
  lengths: OffsetList;
}

export class SessionStore {
  readonly dir: string;
  private readonly path: string;
  private fd: number;
  /** file bytes written so far */
  private position = 0;
  /** lines not yet written, then written at `position` (flush) */
  private pending = Buffer.allocUnsafe(PENDING_BYTES);
  private used = 0;
  private readonly conns = new Map<string, Stored>();

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'framescope-session-'));
    this.path = join(this.dir, 'session.journal');
    this.fd = openSync(this.path, 'w+', 0o600);
  }

  /** Every summary, in the order the connections began. */
  summaries(): ConnectionSummary[] {
    return [...this.conns.values()].map((c) => c.summary);
  }

  summary(id: string): ConnectionSummary | undefined {
    return this.conns.get(id)?.summary;
  }

  has(id: string): boolean {
    return this.conns.has(id);
  }

  /** Starts a connection's summary (before any event names it). */
  begin(summary: ConnectionSummary): void {
    this.conns.set(summary.id, { summary, offsets: new OffsetList(), lengths: new OffsetList() });
  }

  /** Records an engine event; returns the connection's updated summary (and the frame row, for frames). */
  append(event: EngineEvent): { summary: ConnectionSummary; row?: FrameSummary } {
    let c = this.conns.get(event.connection);
    if (!c) {
      this.begin(emptySummary(event.connection, event.event === 'open' ? event.mode : 'client', event.event === 'open' ? event.url : ''));
      c = this.conns.get(event.connection)!;
    }
    const s = c.summary;
    const line = this.putLine(event);
    let row: FrameSummary | undefined;
    switch (event.event) {
      case 'open':
        Object.assign(s, { mode: event.mode, url: event.url, client: event.client, server: event.server, startedAt: event.startedAt });
        if (event.tls !== undefined) s.tls = event.tls;
        break;
      case 'handshake': {
        const { event: _e, connection: _c, ...h } = event;
        s.handshake = h;
        if (h.response?.status === 101) s.state = 'open';
        break;
      }
      case 'frame': {
        c.offsets.push(line.offset);
        c.lengths.push(line.length);
        s.frames[event.from]++;
        s.bytes[event.from] += event.length;
        if (event.opcode === 8 && s.state === 'open') s.state = 'closing';
        row = toSummary(event);
        break;
      }
      case 'close': {
        const { event: _e, connection: _c, ...close } = event;
        s.close = close;
        s.endedAt = Date.now();
        if (s.state !== 'failed') s.state = 'closed';
        break;
      }
      case 'error':
        s.errors = [...s.errors, event.message];
        if (event.kind !== 'protocol' || !s.handshake) s.state = s.state === 'closed' ? 'closed' : 'failed';
        break;
    }
    return { summary: s, row };
  }

  /**
   * Appends the event's line; says where in the file it is. A small frame's line is written
   * as bytes straight into the pending buffer (shared/records.ts writeFrameEventJson): no
   * string, no Buffer a frame. A line longer than the buffer goes to the file at once.
   */
  private putLine(event: EngineEvent): { offset: number; length: number } {
    if (event.event === 'frame' && rawPayload(event) === undefined && event.payload.length < SMALL_FRAME && (event.message === undefined || event.message.data.length < SMALL_FRAME)) {
      const bound = frameEventJsonBound(event) + 1;
      if (bound > this.pending.length - this.used) this.flush();
      const start = this.used;
      const end = writeFrameEventJson(event, this.pending, start);
      if (end >= 0) {
        this.pending[end] = 0x0a;
        this.used = end + 1;
        return { offset: this.position + start, length: this.used - start };
      }
    }
    const text = JSON.stringify(event) + '\n';
    const length = Buffer.byteLength(text);
    if (length > this.pending.length - this.used) this.flush();
    if (length > this.pending.length) {
      const offset = this.position;
      const bytes = Buffer.from(text);
      for (let at = 0; at < length; ) at += writeSync(this.fd, bytes, at, length - at, this.position + at);
      this.position += length;
      return { offset, length };
    }
    const start = this.used;
    this.used += this.pending.write(text, start);
    return { offset: this.position + start, length };
  }

  flush(): void {
    if (this.used === 0) return;
    for (let at = 0; at < this.used; ) at += writeSync(this.fd, this.pending, at, this.used - at, this.position + at);
    this.position += this.used;
    this.used = 0;
  }

  frameCount(id: string): number {
    return this.conns.get(id)?.offsets.length ?? 0;
  }

  /** The frame record with seq `seq` (its index: seqs are 0..n-1 in wire order). */
  frame(id: string, seq: number): FrameRecord | undefined {
    const c = this.conns.get(id);
    if (!c || seq < 0 || seq >= c.offsets.length) return undefined;
    this.flush();
    return this.readFrame(c, seq);
  }

  frameRows(id: string, from: number, to: number): FrameSummary[] {
    const c = this.conns.get(id);
    if (!c) return [];
    this.flush();
    const out: FrameSummary[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, c.offsets.length); i++) out.push(toSummary(this.readFrame(c, i)));
    return out;
  }

  private buf = Buffer.alloc(64 * 1024);
  private readFrame(c: Stored, i: number): FrameRecord {
    const length = c.lengths.get(i);
    if (this.buf.length < length) this.buf = Buffer.alloc(length);
    readSync(this.fd, this.buf, 0, length, c.offsets.get(i));
    const { event: _e, connection: _c, ...frame } = JSON.parse(this.buf.toString('utf8', 0, length)) as Extract<EngineEvent, { event: 'frame' }>;
    return frame;
  }

  /** Drops closed connections from the list (their journal lines stay until the session ends). */
  clearClosed(): void {
    for (const [id, c] of this.conns) if (c.summary.state === 'closed' || c.summary.state === 'failed') this.conns.delete(id);
  }

  /** These connections as a capture source, for the exporters. */
  source(ids?: readonly string[]): CaptureSource {
    this.flush();
    const chosen = [...this.conns.values()].filter((c) => !ids || ids.includes(c.summary.id));
    const entries: ConnectionEntry[] = chosen.map((c) => ({ head: summaryHead(c.summary), frameCount: c.offsets.length }));
    return {
      kind: 'memory',
      file: '(session)',
      createdAt: new Date().toISOString(),
      connections: entries,
      frames: (index) => {
        const c = chosen[index]!;
        const self = this;
        return {
          *[Symbol.iterator]() {
            for (let i = 0; i < c.offsets.length; i++) yield self.readFrame(c, i);
          },
        };
      },
      warnings: [],
      close: () => {},
    };
  }

  dispose(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function emptySummary(id: string, mode: 'client' | 'proxy', url: string): ConnectionSummary {
  return {
    id,
    mode,
    url,
    client: null,
    server: null,
    tls: null,
    startedAt: Date.now(),
    endedAt: null,
    state: 'connecting',
    handshake: null,
    close: null,
    errors: [],
    frames: { client: 0, server: 0 },
    bytes: { client: 0, server: 0 },
  };
}

/** A frame row for the UI: header fields and a short preview, no payload. */
export function toSummary(f: FrameRecord): FrameSummary {
  const row: FrameSummary = {
    seq: f.seq,
    time: f.time,
    from: f.from,
    fin: f.fin,
    rsv1: f.rsv1,
    rsv2: f.rsv2,
    rsv3: f.rsv3,
    opcode: f.opcode,
    masked: f.masked,
    maskKey: f.maskKey,
    length: f.length,
    header: f.header,
    ...preview(f),
  };
  if (f.message) row.message = { opcode: f.message.opcode, length: f.message.length };
  if (f.close) row.close = f.close;
  if (f.rtt !== undefined) row.rtt = f.rtt;
  if (f.truncated) row.truncated = true;
  if (f.violations) row.violations = f.violations;
  return row;
}

function preview(f: FrameRecord): { preview: string; previewText: boolean } {
  // The message when there is one (inflated, reassembled), else this frame's payload.
  const source = f.message ? f.message.data : f.payload;
  const textual = f.message ? f.message.opcode === 1 : (f.opcode === 1 && !f.rsv1) || f.opcode === 9 || f.opcode === 10;
  // Decode only what the preview can show: base64 of at most PREVIEW_CHARS*4 bytes.
  const bytes = Buffer.from(source.slice(0, Math.ceil((PREVIEW_CHARS * 4) / 3) * 4), 'base64');
  if (f.opcode === 8) return { preview: f.close?.reason ?? '', previewText: true };
  if (textual) {
    const text = bytes.toString('utf8');
    return { preview: text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) : text, previewText: true };
  }
  const hex = bytes.subarray(0, Math.floor(PREVIEW_CHARS / 3)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return { preview: hex, previewText: false };
}
