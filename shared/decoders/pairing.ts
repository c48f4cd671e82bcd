// Requests and their answers, by the protocol's own correlation ids. The answer learns of
// its request (pairedWith, latencyMs) as it arrives; the request's own record was already
// shown, so the link lives on the answer (docs/contracts.md).
import type { Side } from '../model';
import type { Decoded, ProtocolId, Unanswered } from './types';

/**
 * Requests kept waiting per connection. A peer that never answers must not grow memory
 * without end: past this the oldest is given up on (it is still reported unanswered).
 */
export const MAX_OPEN = 10_000;
/** Unanswered requests listed on a close at most (the oldest first). */
export const UNANSWERED_LISTED = 1_000;

/** Map.set that keeps at most `max` entries, forgetting the oldest. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

interface Pending {
  seq: number;
  time: number;
  record: Unanswered;
  answered: boolean;
}

export class Pairs {
  private readonly open = new Map<string, Pending>();
  /** requests given up on (MAX_OPEN) before an answer came, up to UNANSWERED_LISTED */
  private readonly givenUp: Unanswered[] = [];

  constructor(private readonly protocol: ProtocolId) {}

  /** A request from `from` that expects an answer under `key`. */
  request(from: Side, key: string, seq: number, time: number, d: Decoded): void {
    const record: Unanswered = { seq, protocol: this.protocol, type: d.type };
    if (d.name !== undefined) record.name = d.name;
    if (d.id !== undefined) record.id = d.id;
    const k = `${from}\u0000${key}`;
    if (!this.open.has(k) && this.open.size >= MAX_OPEN) {
      const [oldest, p] = this.open.entries().next().value as [string, Pending];
      this.open.delete(oldest);
      if (!p.answered && this.givenUp.length < UNANSWERED_LISTED) this.givenUp.push(p.record);
    }
    this.open.set(k, { seq, time, record, answered: false });
  }

  /**
   * An answer sent by `from` to a request the other side made under `key`: links `d` to it.
   * `last`: no more answers come for it (an ACK, a response, complete), so it is forgotten.
   */
  answer(from: Side, key: string, time: number, d: Decoded, last = true): boolean {
    const k = `${from === 'client' ? 'server' : 'client'}\u0000${key}`;
    const p = this.open.get(k);
    if (!p) return false;
    p.answered = true;
    d.pairedWith = p.seq;
    d.latencyMs = Math.round((time - p.time) * 1000) / 1000;
    if (last) this.open.delete(k);
    return true;
  }

  /** The side that made the request under `key` ends it without an answer being due (a cancel). */
  forget(from: Side, key: string): void {
    this.open.delete(`${from}\u0000${key}`);
  }

  unanswered(): Unanswered[] {
    const out: Unanswered[] = [...this.givenUp];
    for (const p of this.open.values()) if (!p.answered) out.push(p.record);
    return out.sort((a, b) => a.seq - b.seq).slice(0, UNANSWERED_LISTED);
  }
}

const TEXT = new TextDecoder('utf-8', { fatal: true });

/** The message as text, or null when it is not UTF-8. */
export function textOf(data: Uint8Array): string | null {
  try {
    return TEXT.decode(data);
  } catch {
    return null;
  }
}

export function invalid(protocol: ProtocolId, reason: string): Decoded {
  return { protocol, type: 'invalid', summary: `invalid: ${reason}` };
}

/** JSON.parse without throwing; `undefined` for text that is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short quoted name for a summary. */
export function q(name: string): string {
  const s = JSON.stringify(name);
  return s.length > 42 ? s.slice(0, 40) + '…"' : s;
}
