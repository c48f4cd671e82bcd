// Connections rebuilt from a stream of engine events (a journal, an NDJSON event stream):
// the same rules for every reader. A connection is named by its events' id; one whose
// first event is not an open gets a guessed head, said so in its errors; an open for an id
// already seen starts a new connection (a proxy restarted and appending to the same file),
// and later events go to the newest; a connection the stream ends before its close says so.
import type { CloseRecord, ConnectionRecord, HandshakeRecord, TlsRecord } from '../../../shared/model';

export type ConnectionHead = Omit<ConnectionRecord, 'frames'>;

export interface Building<I> {
  head: ConnectionHead;
  /** where the connection's frames are (positions, lines): the reader's own */
  index: I;
  /** no open event was seen: mode, URL and addresses are guesses */
  guessed: boolean;
  lastTime: number;
}

export class ConnectionsFromEvents<I> {
  /** in the order the connections began */
  readonly order: Array<Building<I>> = [];
  private readonly byId = new Map<string, Building<I>>();

  constructor(private readonly newIndex: () => I) {}

  /** The connection `id` names now; one not seen before gets a guessed head. */
  get(id: string, time: number): Building<I> {
    let b = this.byId.get(id);
    if (!b) {
      const head: ConnectionHead = { id, mode: 'client', url: '', client: null, server: null, tls: null, startedAt: time, endedAt: null, handshake: null, close: null, errors: [] };
      b = { head, index: this.newIndex(), guessed: true, lastTime: time };
      this.byId.set(id, b);
      this.order.push(b);
    }
    return b;
  }

  /** An open event (mode, url and startedAt checked by the reader): a new connection. */
  open(id: string, e: { mode: 'client' | 'proxy' | 'mock'; url: string; startedAt: number; client?: unknown; server?: unknown; tls?: unknown; app?: unknown }): void {
    const head: ConnectionHead = {
      id,
      mode: e.mode,
      url: e.url,
      client: typeof e.client === 'string' ? e.client : null,
      server: typeof e.server === 'string' ? e.server : null,
      tls: (e.tls as TlsRecord | null | undefined) ?? null,
      startedAt: e.startedAt,
      endedAt: null,
      handshake: null,
      close: null,
      errors: [],
      ...(typeof e.app === 'string' ? { app: e.app } : {}),
    };
    const b: Building<I> = { head, index: this.newIndex(), guessed: false, lastTime: head.startedAt };
    this.byId.set(id, b);
    this.order.push(b);
  }

  handshake(id: string, h: HandshakeRecord): void {
    const b = this.get(id, h.requestAt);
    b.head.handshake = h;
    b.lastTime = Math.max(b.lastTime, h.responseAt ?? h.requestAt);
  }

  /** A frame of `id` at `time`; returns its connection, for the reader to note where it is. */
  frame(id: string, time: number): Building<I> {
    const b = this.get(id, time);
    b.lastTime = Math.max(b.lastTime, time);
    return b;
  }

  error(id: string, message: string): void {
    this.get(id, 0).head.errors.push(message);
  }

  /** A close; without an `endedAt` of its own the connection ends at its last event. */
  close(id: string, close: CloseRecord, endedAt: unknown): void {
    const b = this.get(id, 0);
    b.head.close = close;
    b.head.endedAt = typeof endedAt === 'number' ? endedAt : b.lastTime;
  }

  /** The notes a reader of `file` adds at the end: guessed heads (the URL rebuilt from the handshake), connections never closed. */
  finish(file: string): void {
    for (const b of this.order) {
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
  }
}
