// Requests and their answers, by the protocol's own correlation ids. The answer learns of
// its request (pairedWith, latencyMs) as it arrives; the request's own record was already
// shown, so the link lives on the answer (docs/contracts.md).
import type { Side } from '../model';
import type { Decoded, ProtocolId, Unanswered } from './types';

interface Pending {
  seq: number;
  time: number;
  record: Unanswered;
  answered: boolean;
}

export class Pairs {
  private readonly open = new Map<string, Pending>();

  constructor(private readonly protocol: ProtocolId) {}

  /** A request from `from` that expects an answer under `key`. */
  request(from: Side, key: string, seq: number, time: number, d: Decoded): void {
    const record: Unanswered = { seq, protocol: this.protocol, type: d.type };
    if (d.name !== undefined) record.name = d.name;
    if (d.id !== undefined) record.id = d.id;
    this.open.set(`${from}\u0000${key}`, { seq, time, record, answered: false });
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
    const out: Unanswered[] = [];
    for (const p of this.open.values()) if (!p.answered) out.push(p.record);
    return out.sort((a, b) => a.seq - b.seq);
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
