// Where the app keeps what it recorded: every event appended to a journal file in a temp
// folder, and in memory only what the UI lists (connection summaries) plus, per frame, the
// byte offset of its line. So a million frames cost a few megabytes of memory; a frame's
// payload is read back from disk when someone opens it or exports it (docs/design.md "Nothing
// is lost": payloads stay in the main process, spilled to disk).
//
// A write to that file that fails (a full disk, a quota, an I/O error) does not stop the
// recording, nor throw into the connection that recorded: from then on lines are kept in
// memory, up to MEMORY_BYTES, and past that frames are kept without their payloads (cut,
// and marked so, as the recorder marks payloads past its limit). The owner is told once.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSummary, FrameSummary } from '../../shared/contract';
import { PREVIEW_CHARS, summaryHead } from '../../shared/contract';
import type { EngineEvent, FrameJson, FrameRecord } from '../../shared/model';
import { eventToJson, frameFromJson } from '../../shared/records';
import { toHex } from '../../shared/bytes';
import { base64, fromBase64 } from './base64';
import type { CaptureSource, ConnectionEntry } from './capture-source';
import { now } from './clock';

/** Lines wait in a buffer of this size before they are written (or when one is read back). */
const PENDING_BYTES = 1 << 20;
/** After a failed write: lines kept in memory up to this many bytes, then frames without payloads. */
export const MEMORY_BYTES = 256 * 1024 * 1024;

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

export interface SessionStoreOptions {
  /** called once, when a write to the session file fails */
  onFailure?: (err: NodeJS.ErrnoException) => void;
  /** after a failed write, how many bytes of lines to keep in memory (default MEMORY_BYTES) */
  memoryBytes?: number;
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
  /** the write that failed; lines at and past `fileEnd` are then in `memory` */
  failure: NodeJS.ErrnoException | null = null;
  private fileEnd = Infinity;
  private readonly memory: Buffer[] = [];
  /** the file offset each memory chunk stands for */
  private readonly memoryAt: number[] = [];
  private memoryBytes = 0;

  private readonly onFailure?: (err: NodeJS.ErrnoException) => void;
  private readonly memoryLimit: number;

  constructor(dir?: string, options: SessionStoreOptions = {}) {
    this.onFailure = options.onFailure;
    this.memoryLimit = options.memoryBytes ?? MEMORY_BYTES;
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
        const { event: _e, connection: _c, endedAt: _at, ...close } = event;
        s.close = close;
        // The event's own end (a replayed capture keeps its times); else now, on the clock
        // the engine stamps startedAt and frame times with (clock.ts), never Date.now().
        s.endedAt = event.endedAt ?? now();
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

  /** Appends the event's line; says where in the file it is. A line longer than the buffer goes to the file at once. */
  private putLine(event: EngineEvent): { offset: number; length: number } {
    // Kept in memory (a write failed) past the limit, counting what waits in the buffer.
    if (event.event === 'frame' && this.failure !== null && this.memoryBytes + this.used >= this.memoryLimit) event = withoutPayload(event);
    const text = JSON.stringify(eventToJson(event, base64)) + '\n';
    const length = Buffer.byteLength(text);
    if (length > this.pending.length - this.used) this.flush();
    if (length > this.pending.length) {
      const offset = this.position;
      this.persist(Buffer.from(text), length);
      return { offset, length };
    }
    const start = this.used;
    this.used += this.pending.write(text, start);
    return { offset: this.position + start, length };
  }

  /** One write to the session file (a method of its own so a test can make the disk fill up). */
  protected writeAt(bytes: Buffer, from: number, length: number, position: number): number {
    return writeSync(this.fd, bytes, from, length, position);
  }

  flush(): void {
    if (this.used === 0) return;
    this.persist(this.pending, this.used);
    this.used = 0;
  }

  /** Puts bytes[0, length) at `position`: in the file, or in memory once a write has failed. */
  private persist(bytes: Buffer, length: number): void {
    if (this.failure === null) {
      try {
        for (let at = 0; at < length; ) at += this.writeAt(bytes, at, length - at, this.position + at);
        this.position += length;
        return;
      } catch (err) {
        // Whatever part of these bytes reached the file is read from memory instead.
        this.failure = err as NodeJS.ErrnoException;
        this.fileEnd = this.position;
        this.onFailure?.(this.failure);
      }
    }
    this.memory.push(Buffer.from(bytes.subarray(0, length)));
    this.memoryAt.push(this.position);
    this.memoryBytes += length;
    this.position += length;
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
    const offset = c.offsets.get(i);
    if (this.buf.length < length) this.buf = Buffer.alloc(length);
    if (offset >= this.fileEnd) this.readMemory(offset, length);
    else readSync(this.fd, this.buf, 0, length, offset);
    const { event: _e, connection: _c, ...frame } = JSON.parse(this.buf.toString('utf8', 0, length)) as { event: 'frame'; connection: string } & FrameJson;
    return frameFromJson(frame, fromBase64);
  }

  /** Copies the line at `offset` out of the memory chunks (a line never spans two). */
  private readMemory(offset: number, length: number): void {
    const at = this.memoryAt;
    let lo = 0;
    let hi = at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (at[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    this.memory[lo]!.copy(this.buf, 0, offset - at[lo]!, offset - at[lo]! + length);
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

const EMPTY = new Uint8Array(0);

/** A frame event without its payload (and message data): cut, and marked so. */
function withoutPayload(event: Extract<EngineEvent, { event: 'frame' }>): EngineEvent {
  const cut: Extract<EngineEvent, { event: 'frame' }> = { ...event, payload: EMPTY, truncated: true, stored: 0 };
  if (event.message) cut.message = { ...event.message, data: EMPTY, truncated: true };
  return cut;
}

export function emptySummary(id: string, mode: 'client' | 'proxy', url: string): ConnectionSummary {
  return {
    id,
    mode,
    url,
    client: null,
    server: null,
    tls: null,
    startedAt: now(),
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
    maskKey: f.maskKey ? toHex(f.maskKey) : null,
    length: f.length,
    header: toHex(f.header),
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
  // Read only what the preview can show.
  const head = source.subarray(0, PREVIEW_CHARS * 4);
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (f.opcode === 8) return { preview: f.close?.reason ?? '', previewText: true };
  if (textual) {
    const text = bytes.toString('utf8');
    return { preview: text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) : text, previewText: true };
  }
  const hex = bytes.subarray(0, Math.floor(PREVIEW_CHARS / 3)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return { preview: hex, previewText: false };
}
