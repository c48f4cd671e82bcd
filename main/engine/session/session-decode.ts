// Decoding in the UI's session: one DecodeTracker per connection, fed as frames are recorded
// (live and imported alike). Decoding is derived: the journal keeps the raw frames, and a
// connection's decoder can be changed later, which decodes its frames again from the journal.
import type { DecodedSummary, ProtoState } from '../../../shared/contract';
import type { EngineEvent, FrameRecord } from '../../../shared/model';
import { DecodeTracker, type DecodeChoice, type Decoded, type EngineDecoders, type ProtocolDecoder, type ProtocolId } from '../../../shared/decoders/index';
import { ENGINE_DECODERS } from '../decoders';
import type { ProtoSchema } from '../decoders/protobuf';

/** A connection's .proto: what the UI is told, and the decoders that read with it. */
export interface ConnProto {
  schema: ProtoSchema;
  state: ProtoState;
  decoders: EngineDecoders;
}

interface ConnDecoding {
  choice: DecodeChoice;
  tracker: DecodeTracker;
  /** every decoded message by seq, value included (for the detail and the field filter) */
  records: Map<number, Decoded>;
  /** the answer to each request, by the request's seq */
  answers: Map<number, number>;
  /** requests the connection ended without an answer to */
  unanswered: number[];
  /** the connection's close has been seen (its tracker has let it go) */
  ended: boolean;
  /** the protocol decoded so far (detected or chosen) */
  protocol: ProtocolId | null;
}

/** The row's part of a record: everything but the value (rows stay small). */
export function smallDecoded(d: Decoded): DecodedSummary {
  const { value: _v, ...small } = d;
  return small;
}

/**
 * What the session keeps of decoded messages (values included), in bytes of the messages
 * they came from. A long session must not grow memory without end: past this the oldest
 * records are forgotten (their rows and details show no decoded part; the raw frames stay).
 */
export const DECODED_BUDGET_BYTES = 64 * 1024 * 1024;
/** a record's own weight beyond its message's bytes */
const RECORD_OVERHEAD = 256;

export class SessionDecoding {
  private readonly conns = new Map<string, ConnDecoding>();
  /** every kept record, oldest first, with its weight */
  private readonly kept = new Map<string, number>();
  private keptBytes = 0;
  /** each connection's .proto (kept when its decoder changes, forgotten with it) */
  private readonly protos = new Map<string, ConnProto>();

  constructor(private readonly budget = DECODED_BUDGET_BYTES) {}

  private conn(id: string, choice: DecodeChoice = 'auto'): ConnDecoding {
    let c = this.conns.get(id);
    if (!c) {
      c = { choice, tracker: new DecodeTracker(choice, this.protos.get(id)?.decoders ?? ENGINE_DECODERS), records: new Map(), answers: new Map(), unanswered: [], ended: false, protocol: null };
      this.conns.set(id, c);
    }
    return c;
  }

  /** Takes an event as it is recorded; the decoded record of the message a frame completes. */
  event(e: EngineEvent): Decoded | undefined {
    const c = this.conn(e.connection);
    const out = c.tracker.event(e);
    if (!out) return undefined;
    if (e.event === 'close') c.ended = true;
    if (Array.isArray(out)) {
      c.unanswered = out.map((u) => u.seq);
      return undefined;
    }
    if (e.event !== 'frame') return undefined;
    c.records.set(e.seq, out);
    this.keep(e.connection, e.seq, (e.message?.length ?? e.length) + RECORD_OVERHEAD);
    // A Socket.IO connection's Engine.IO packets (open, heartbeats) do not make it Engine.IO,
    // and a SockJS connection stays SockJS whatever its messages carry (that is its decoder).
    if (!(c.protocol === 'socket.io' && out.protocol === 'engine.io')) c.protocol = out.via ?? out.protocol;
    if (out.pairedWith !== undefined && !c.answers.has(out.pairedWith)) c.answers.set(out.pairedWith, e.seq);
    return out;
  }

  private keep(id: string, seq: number, weight: number): void {
    const key = `${id}\u0000${seq}`;
    this.kept.set(key, weight);
    this.keptBytes += weight;
    while (this.keptBytes > this.budget && this.kept.size > 1) {
      const [oldest, w] = this.kept.entries().next().value as [string, number];
      this.kept.delete(oldest);
      this.keptBytes -= w;
      const cut = oldest.indexOf('\u0000');
      const c = this.conns.get(oldest.slice(0, cut));
      const old = Number(oldest.slice(cut + 1));
      c?.records.delete(old);
      c?.answers.delete(old);
    }
  }

  /** Forgets what the session kept of a connection's records. */
  private drop(id: string): void {
    const c = this.conns.get(id);
    if (!c) return;
    for (const seq of c.records.keys()) {
      const key = `${id}\u0000${seq}`;
      this.keptBytes -= this.kept.get(key) ?? 0;
      this.kept.delete(key);
    }
    this.conns.delete(id);
  }

  /** Decodes a connection again with another choice, from its recorded events. */
  redecode(id: string, choice: DecodeChoice, events: Iterable<EngineEvent>, onDecoded?: (e: EngineEvent, d: Decoded) => void): void {
    this.drop(id);
    this.conn(id, choice);
    for (const e of events) {
      const d = this.event(e);
      if (d) onDecoded?.(e, d);
    }
  }

  record(id: string, seq: number): Decoded | undefined {
    return this.conns.get(id)?.records.get(seq);
  }

  /** The seq of the answer to the request at `seq`, if one came. */
  answeredBy(id: string, seq: number): number | undefined {
    return this.conns.get(id)?.answers.get(seq);
  }

  /** Sets the .proto a connection's protobuf messages are read with (redecode to apply it). */
  setProto(id: string, proto: ConnProto): void {
    this.protos.set(id, proto);
  }

  proto(id: string): ConnProto | undefined {
    return this.protos.get(id);
  }

  state(id: string): { choice: DecodeChoice; protocol: ProtocolId | null; proto?: ProtoState } {
    const c = this.conns.get(id);
    const proto = this.protos.get(id)?.state;
    return { choice: c?.choice ?? 'auto', protocol: c?.protocol ?? null, ...(proto ? { proto } : {}) };
  }

  /** The connection's decoder (its protocol's state: MQTT's version), once there is one. */
  decoder(id: string): ProtocolDecoder | null {
    return this.conns.get(id)?.tracker.decoderOf(id) ?? null;
  }

  records(id: string): ReadonlyMap<number, Decoded> {
    return this.conns.get(id)?.records ?? new Map();
  }

  /** The requests left unanswered: when the connection ended, else those still waiting. */
  unanswered(id: string): readonly number[] {
    const c = this.conns.get(id);
    if (!c) return [];
    return c.ended ? c.unanswered : c.tracker.pending(id).map((u) => u.seq);
  }

  forget(id: string): void {
    this.drop(id);
    this.protos.delete(id);
  }
}

/** A frame's row decoded: the record's small part on the row. */
export function decorate<T extends { seq: number }>(row: T, d: Decoded | undefined): T & { decoded?: DecodedSummary } {
  if (d) (row as T & { decoded?: DecodedSummary }).decoded = smallDecoded(d);
  return row;
}

export type { FrameRecord };
