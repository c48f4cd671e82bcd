// The recorder: one per connection. It turns what the codec saw into the capture model
// (seq in wire order across both directions), keeps the ConnectionRecord, and hands each
// event to a sink as it happens (NDJSON on stdout, a journal, IPC). Client and proxy alike.

import type { WireFrame } from '../../../shared/codec/frame';
import type {
  CloseRecord,
  ConnectionRecord,
  EngineEvent,
  ErrorKind,
  FrameRecord,
  HandshakeRecord,
  TlsRecord,
} from '../../../shared/model';
import { toFrameEvent, toFrameRecord, type FrameExtras } from '../../../shared/records';

export type EventSink = (event: EngineEvent) => void;

export interface RecorderInit {
  id: string;
  mode: 'client' | 'proxy' | 'mock';
  url: string;
  startedAt: number;
  /**
   * Keep frames in `record.frames` (default true). A long-running proxy turns this off and
   * lets the journal hold them, so memory stays bounded however long it runs.
   */
  keepFrames?: boolean;
  /** the launched app the connection came from */
  app?: string;
}

export class ConnectionRecorder {
  readonly record: ConnectionRecord;
  private seq = 0;
  private readonly sinks: EventSink[] = [];
  private readonly keepFrames: boolean;

  constructor(init: RecorderInit, sink?: EventSink) {
    this.record = {
      id: init.id,
      mode: init.mode,
      url: init.url,
      client: null,
      server: null,
      tls: null,
      startedAt: init.startedAt,
      endedAt: null,
      handshake: null,
      frames: [],
      close: null,
      errors: [],
      ...(init.app !== undefined ? { app: init.app } : {}),
    };
    this.keepFrames = init.keepFrames ?? true;
    if (sink) this.sinks.push(sink);
  }

  /** Frames recorded so far (also when they are not kept). */
  get frameCount(): number {
    return this.seq;
  }

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  setEndpoints(client: string | null, server: string | null): void {
    this.record.client = client;
    this.record.server = server;
  }

  setTls(tls: TlsRecord | null): void {
    this.record.tls = tls;
  }

  /** A new proxied connection (the client connection has no 'open' event: docs/contracts.md). */
  open(): void {
    const r = this.record;
    this.emit({ event: 'open', connection: r.id, mode: r.mode, url: r.url, client: r.client, server: r.server, startedAt: r.startedAt, tls: r.tls, ...(r.app !== undefined ? { app: r.app } : {}) });
  }

  handshake(h: HandshakeRecord): void {
    this.record.handshake = h;
    this.emit({ event: 'handshake', connection: this.record.id, ...h });
  }

  /**
   * Records a frame and emits its event. Returns its record; when frames are not kept (the
   * proxy), that is the event itself, which holds the record's fields after event/connection.
   */
  frame(frame: WireFrame, extras: FrameExtras = {}): FrameRecord {
    const seq = this.seq++;
    const x: FrameExtras = { message: extras.message, rtt: extras.rtt, by: extras.by, intervention: extras.intervention };
    if (!this.keepFrames) {
      // The hot path of a proxy: one object a frame, no copy.
      const event = toFrameEvent(this.record.id, frame, seq, x);
      this.emit(event);
      return event;
    }
    const rec = toFrameRecord(frame, seq, x);
    this.record.frames.push(rec);
    this.emit({ event: 'frame', connection: this.record.id, ...rec });
    return rec;
  }

  error(kind: ErrorKind, message: string, closeCode?: number): void {
    this.record.errors.push(message);
    this.emit({ event: 'error', connection: this.record.id, kind, message, ...(closeCode !== undefined ? { closeCode } : {}) });
  }

  close(close: CloseRecord, endedAt: number): void {
    if (this.record.close) return;
    this.record.close = close;
    this.record.endedAt = endedAt;
    // The end travels with the event: a consumer stamping its own clock on arrival would
    // measure a replay (an opened capture) from the time it was opened.
    this.emit({ event: 'close', connection: this.record.id, ...close, endedAt });
  }

  private emit(event: EngineEvent): void {
    for (const sink of this.sinks) sink(event);
  }
}
