// The frame as the codec sees it: every field exactly as on the wire (RFC 6455 §5.2).
import type { Side, Violation } from '../model';
import { VIOLATIONS, type ViolationId } from './protocol';

/** How the payload length was carried: in the 7-bit field, or the 16- or 64-bit extension. */
export type LengthEncoding = 7 | 16 | 64;

export interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  /** 0-15 as on the wire */
  opcode: number;
  masked: boolean;
  /** the 4 mask bytes, or null when MASK is 0 */
  maskKey: Uint8Array | null;
  /** payload length as the header states it (a 64-bit length beyond 2^53 loses precision) */
  length: number;
  lengthEncoding: LengthEncoding;
  /** the header bytes exactly as on the wire (2 to 14 bytes) */
  header: Uint8Array;
  /**
   * the unmasked payload (shorter than `length` only when `truncated`): a view of the
   * parser's input when it came unmasked in one chunk, else a buffer of its own
   */
  payload: Uint8Array;
  /** the payload was cut: by the stored-payload limit, or the stream ended mid-frame */
  truncated: boolean;
  /** byte offset of the first header byte in this direction's stream */
  offset: number;
  /** the time handed in with the chunk that completed the frame (epoch ms) */
  time: number;
  /** who sent it */
  from: Side;
  violations: Violation[];
  /** on close frames: the status code (null when the payload is empty) and the reason */
  close?: { code: number | null; reason: string };
}

/**
 * The violations of a frame that has none (nearly every frame): one shared array, frozen so
 * that pushing onto it throws instead of giving every frame the violation. Add with
 * addViolation. (An empty array a frame was a fifth of what decoding a small frame allocated.)
 */
export const NO_VIOLATIONS: Violation[] = Object.freeze([]) as unknown as Violation[];

/** Records a violation on a frame (whose list may be the shared NO_VIOLATIONS). */
export function addViolation(frame: WireFrame, v: Violation): void {
  if (frame.violations === NO_VIOLATIONS) frame.violations = [v];
  else frame.violations.push(v);
}

/** Builds a violation record from the catalogue, with a message for this occurrence. */
export function violation(id: ViolationId, message: string): Violation {
  const v = VIOLATIONS[id];
  return { id, rfc: v.rfc, severity: v.severity, message };
}

/** The close code an endpoint fails with for this violation (§7.4.1). */
export function closeCodeFor(v: Violation): number {
  return (VIOLATIONS as Record<string, { closeCode: number }>)[v.id]?.closeCode ?? 1002;
}
