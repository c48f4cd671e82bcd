// Where the app keeps what it recorded: every event appended to the event log
// (recording/event-log.ts) in a temp folder, and in memory only what the UI lists
// (connection summaries) plus, per frame, the position of its record. So a million frames
// cost a few megabytes of memory; a frame's payload is read back from disk when someone
// opens it or exports it. A disk that fills up is the log's one policy: recording goes on
// in memory, past a limit without payloads, and the owner is told once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSummary, FrameSummary } from '../../../shared/contract';
import { PREVIEW_CHARS, summaryHead } from '../../../shared/contract';
import { MAX_NOTE, type AnnotationEvent, type EngineEvent, type FrameRecord } from '../../../shared/model';
import { toHex } from '../../../shared/bytes';
import { EventLog, MEMORY_LIMIT, type WriteFn } from '../recording/event-log';
import type { CaptureSource, ConnectionEntry } from '../recording/capture-source';
import { now } from '../clock';

/** A growable list of record positions: 8 bytes a frame, no object per frame. */
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
  /** after a failed write, how many bytes of records to keep in memory (default: the event log's MEMORY_LIMIT) */
  memoryBytes?: number;
  /** the log's write (a test makes the disk fill up with it) */
  write?: WriteFn;
  /** keep the folder and its journal when the store is disposed (a session to offer back later) */
  keep?: boolean;
}

interface Stored {
  summary: ConnectionSummary;
  offsets: OffsetList;
  /** the user's bookmarks and notes, by seq (few: kept in memory, journaled as they change) */
  annotations: Map<number, Annotation>;
}

export interface Annotation {
  bookmark: boolean;
  note: string;
}

export class SessionStore {
  readonly dir: string;
  private readonly log: EventLog;
  private readonly conns = new Map<string, Stored>();

  private readonly keep: boolean;

  constructor(dir?: string, options: SessionStoreOptions = {}) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'framescope-session-'));
    this.keep = options.keep ?? false;
    this.log = new EventLog(join(this.dir, 'session.journal'), {
      onFailure: options.onFailure,
      memoryLimit: options.memoryBytes ?? MEMORY_LIMIT,
      write: options.write,
    });
  }

  /** the write that failed, if one did (recording then goes on in memory) */
  get failure(): NodeJS.ErrnoException | null {
    return this.log.failure;
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
    this.conns.set(summary.id, { summary, offsets: new OffsetList(), annotations: new Map() });
  }

  /** Records an engine event; returns the connection's updated summary (and the frame row, for frames). */
  append(event: EngineEvent): { summary: ConnectionSummary; row?: FrameSummary } {
    let c = this.conns.get(event.connection);
    if (!c) {
      this.begin(emptySummary(event.connection, event.event === 'open' ? event.mode : 'client', event.event === 'open' ? event.url : ''));
      c = this.conns.get(event.connection)!;
    }
    const s = c.summary;
    const position = this.log.append(event);
    let row: FrameSummary | undefined;
    switch (event.event) {
      case 'open':
        Object.assign(s, { mode: event.mode, url: event.url, client: event.client, server: event.server, startedAt: event.startedAt });
        if (event.tls !== undefined) s.tls = event.tls;
        if (event.app !== undefined) s.app = event.app;
        break;
      case 'handshake': {
        const { event: _e, connection: _c, ...h } = event;
        s.handshake = h;
        if (h.response?.status === 101) s.state = 'open';
        break;
      }
      case 'frame': {
        c.offsets.push(position);
        s.frames[event.from]++;
        s.bytes[event.from] += event.length;
        if (event.opcode === 8 && s.state === 'open') s.state = 'closing';
        row = toSummary(event);
        // An imported frame's bookmark and note: the journal's frame record has no room for
        // them, so they go in an annotation record of their own.
        if (event.bookmark || event.note) this.setAnnotation(c, event.seq, { bookmark: event.bookmark === true, note: event.note ?? '' });
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

  /** Writes what is pending to the file now. */
  flush(): void {
    this.log.flush();
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

  /**
   * Reads a connection's frames in ascending seq order, fast (the journal in large blocks):
   * for a scan of the whole history. Undefined once the connection is gone or past its end.
   */
  scanner(id: string): (seq: number) => FrameRecord | undefined {
    this.flush();
    const read = this.log.scanner();
    return (seq) => {
      const c = this.conns.get(id);
      if (!c || seq < 0 || seq >= c.offsets.length) return undefined;
      const { event: _e, connection: _c, ...frame } = read(c.offsets.get(seq)) as Extract<EngineEvent, { event: 'frame' }>;
      return frame;
    };
  }

  /**
   * A connection's events again, from the summary and the journal: what a decoder needs to
   * decode it anew (open and handshake for detection, the frames, the close).
   */
  *replay(id: string): Generator<EngineEvent> {
    const c = this.conns.get(id);
    if (!c) return;
    this.flush();
    const s = c.summary;
    yield* this.headEvents(id);
    for (let i = 0; i < c.offsets.length; i++) yield { event: 'frame', connection: id, ...this.readFrame(c, i) } as EngineEvent;
    if (s.close) yield { event: 'close', connection: id, ...s.close } as EngineEvent;
  }

  /** A connection's open and handshake events again (what a decoder detects its protocol from). */
  headEvents(id: string): EngineEvent[] {
    const s = this.conns.get(id)?.summary;
    if (!s) return [];
    const out = [{ event: 'open', connection: id, mode: s.mode, url: s.url } as EngineEvent];
    if (s.handshake) out.push({ event: 'handshake', connection: id, ...s.handshake } as EngineEvent);
    return out;
  }

  private readFrame(c: Stored, i: number): FrameRecord {
    const { event: _e, connection: _c, ...frame } = this.log.read(c.offsets.get(i)) as Extract<EngineEvent, { event: 'frame' }>;
    return withAnnotation(frame, c.annotations.get(i));
  }

  /**
   * Sets a frame's bookmark and note (an empty note and no bookmark: none), journaled so a
   * restored session keeps them. Returns the frame's row, or undefined for no such frame.
   */
  annotate(id: string, seq: number, a: Annotation): FrameSummary | undefined {
    const c = this.conns.get(id);
    if (!c || seq < 0 || seq >= c.offsets.length) return undefined;
    this.setAnnotation(c, seq, a);
    this.flush();
    return toSummary(this.readFrame(c, seq));
  }

  /** The seqs of a connection's bookmarked frames, ascending. */
  bookmarks(id: string): number[] {
    const c = this.conns.get(id);
    if (!c) return [];
    return [...c.annotations].filter(([, a]) => a.bookmark).map(([seq]) => seq).sort((x, y) => x - y);
  }

  private setAnnotation(c: Stored, seq: number, a: Annotation): void {
    const note = a.note.slice(0, MAX_NOTE);
    if (a.bookmark || note) c.annotations.set(seq, { bookmark: a.bookmark, note });
    else c.annotations.delete(seq);
    const record: AnnotationEvent = { event: 'annotation', connection: c.summary.id, seq, bookmark: a.bookmark, note };
    // A journal-only record (not an engine event): the log writes it as any non-frame event.
    this.log.append(record as unknown as EngineEvent);
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
    this.log.close();
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A frame record with the user's bookmark and note on it (the journal's frame record has neither). */
export function withAnnotation(frame: FrameRecord, a: Annotation | undefined): FrameRecord {
  if (!a) return frame;
  const out = { ...frame };
  if (a.bookmark) out.bookmark = true;
  if (a.note) out.note = a.note;
  return out;
}

export function emptySummary(id: string, mode: 'client' | 'proxy' | 'mock', url: string): ConnectionSummary {
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
  if (f.by) row.by = f.by;
  if (f.intervention) row.intervention = f.intervention;
  if (f.bookmark) row.bookmark = true;
  if (f.note) row.note = f.note;
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
