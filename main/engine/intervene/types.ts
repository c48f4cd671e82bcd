// What a message on its way looks like to whatever may change it (a script, the rules, a
// person at a breakpoint), and what they may decide. The relay and the client hold a message
// while a decision is pending; later messages in that direction queue behind it.
import type { Side } from '../../../shared/model';

/** A complete data message, as it came from `from` (inflated if it was compressed). */
export interface InterceptedMessage {
  /** the connection's id */
  connection: string;
  from: Side;
  opcode: 1 | 2;
  data: Uint8Array;
  /** the data as text, for text messages */
  text?: string;
}

/** What happens to a held message. */
export type Decision =
  /** forward exactly as it came */
  | { action: 'forward' }
  /** forward this instead (as one FIN frame unless `frames` says how to cut it) */
  | { action: 'replace'; opcode: 1 | 2; data: Uint8Array; frames?: FramePlan }
  | { action: 'drop' }
  /** forward as it came after `ms` milliseconds (later messages wait behind it) */
  | { action: 'delay'; ms: number }
  /** close both legs with this code and reason; the message is not delivered */
  | { action: 'close'; code: number; reason: string }
  /** hold it for a person (UI breakpoint, `proxy --break`) */
  | { action: 'break' };

/** How Framescope cuts a message it writes: sizes of the fragments, and frame-level bits. */
export interface FramePlan {
  /** payload bytes per fragment; the last fragment takes the rest (absent: one frame) */
  fragmentSize?: number;
  /** RSV2/RSV3 set on the first frame (for testing peers; RSV1 is compression's) */
  rsv2?: boolean;
  rsv3?: boolean;
}

/** Sending from outside the conversation: `payload` a string goes as text, bytes as binary. */
export interface Injector {
  inject(to: Side, payload: string | Uint8Array): void;
  /** closes both legs: a close frame with this code and reason toward each side */
  close(code: number, reason: string): void;
}
