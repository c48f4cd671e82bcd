// Connections rebuilt from a stream of engine events (a journal, an NDJSON event stream):
// the same rules for every reader. A connection is named by its events' id; one whose
// first event is not an open gets a guessed head, said so in its errors; an open for an id
// already seen starts a new connection (a proxy restarted and appending to the same file),
// and later events go to the newest; a connection the stream ends before its close says so.
import type { ConnectionRecord } from '../../../shared/model';

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

  /** An open event: a new connection with this head. */
  open(head: ConnectionHead): Building<I> {
    const b: Building<I> = { head, index: this.newIndex(), guessed: false, lastTime: head.startedAt };
    this.byId.set(head.id, b);
    this.order.push(b);
    return b;
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
