// Decoding in the UI's session: one DecodeTracker per connection, fed as frames are recorded
// (live and imported alike). Decoding is derived: the journal keeps the raw frames, and a
// connection's decoder can be changed later, which decodes its frames again from the journal.
import type { DecodedSummary } from '../../../shared/contract';
import type { EngineEvent, FrameRecord } from '../../../shared/model';
import { DecodeTracker, type DecodeChoice, type Decoded, type ProtocolId } from '../../../shared/decoders/index';

interface ConnDecoding {
  choice: DecodeChoice;
  tracker: DecodeTracker;
  /** every decoded message by seq, value included (for the detail and the field filter) */
  records: Map<number, Decoded>;
  /** the answer to each request, by the request's seq */
  answers: Map<number, number>;
  /** requests the connection ended without an answer to */
  unanswered: number[];
  /** the protocol decoded so far (detected or chosen) */
  protocol: ProtocolId | null;
}

/** The row's part of a record: everything but the value (rows stay small). */
export function smallDecoded(d: Decoded): DecodedSummary {
  const { value: _v, ...small } = d;
  return small;
}

export class SessionDecoding {
  private readonly conns = new Map<string, ConnDecoding>();

  private conn(id: string, choice: DecodeChoice = 'auto'): ConnDecoding {
    let c = this.conns.get(id);
    if (!c) {
      c = { choice, tracker: new DecodeTracker(choice), records: new Map(), answers: new Map(), unanswered: [], protocol: null };
      this.conns.set(id, c);
    }
    return c;
  }

  /** Takes an event as it is recorded; the decoded record of the message a frame completes. */
  event(e: EngineEvent): Decoded | undefined {
    const c = this.conn(e.connection);
    const out = c.tracker.event(e);
    if (!out) return undefined;
    if (Array.isArray(out)) {
      c.unanswered = out.map((u) => u.seq);
      return undefined;
    }
    if (e.event !== 'frame') return undefined;
    c.records.set(e.seq, out);
    // A Socket.IO connection's Engine.IO packets (open, heartbeats) do not make it Engine.IO.
    if (!(c.protocol === 'socket.io' && out.protocol === 'engine.io')) c.protocol = out.protocol;
    if (out.pairedWith !== undefined && !c.answers.has(out.pairedWith)) c.answers.set(out.pairedWith, e.seq);
    return out;
  }

  /** Decodes a connection again with another choice, from its recorded events. */
  redecode(id: string, choice: DecodeChoice, events: Iterable<EngineEvent>): void {
    this.conns.delete(id);
    this.conn(id, choice);
    for (const e of events) this.event(e);
  }

  record(id: string, seq: number): Decoded | undefined {
    return this.conns.get(id)?.records.get(seq);
  }

  /** The seq of the answer to the request at `seq`, if one came. */
  answeredBy(id: string, seq: number): number | undefined {
    return this.conns.get(id)?.answers.get(seq);
  }

  state(id: string): { choice: DecodeChoice; protocol: ProtocolId | null } {
    const c = this.conns.get(id);
    return { choice: c?.choice ?? 'auto', protocol: c?.protocol ?? null };
  }

  records(id: string): ReadonlyMap<number, Decoded> {
    return this.conns.get(id)?.records ?? new Map();
  }

  unanswered(id: string): readonly number[] {
    return this.conns.get(id)?.unanswered ?? [];
  }

  forget(id: string): void {
    this.conns.delete(id);
  }
}

/** A frame's row decoded: the record's small part on the row. */
export function decorate<T extends { seq: number }>(row: T, d: Decoded | undefined): T & { decoded?: DecodedSummary } {
  if (d) (row as T & { decoded?: DecodedSummary }).decoded = smallDecoded(d);
  return row;
}

export type { FrameRecord };
