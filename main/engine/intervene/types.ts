// What a message on its way looks like to whatever may change it (a script, the rules, a
// person at a breakpoint), and what they may decide. The relay and the client hold a message
// while a decision is pending; later messages in that direction queue behind it.
import type { Side } from '../../../shared/model';
import type { FrameSpec } from '../../../shared/codec/frame-writer';

/** A complete data message, as it came from `from` (inflated if it was compressed). */
export interface InterceptedMessage {
  /** the connection's id */
  connection: string;
  from: Side;
  /** 1 text, 2 binary; 9/10 a ping or pong, only for a policy whose watchesControl asks for them */
  opcode: 1 | 2 | 9 | 10;
  data: Uint8Array;
  /** the data as text, for text messages */
  text?: string;
}

/** What happens to a held message (`rule`: which rule decided, recorded in the intervention mark). */
export type Decision = DecisionAction & { rule?: string };

export type DecisionAction =
  /** nobody intervened: it goes on exactly as it came, unmarked in the record */
  | { action: 'pass' }
  /** forward exactly as it came (it was held: the record marks it forwarded) */
  | { action: 'forward' }
  /**
   * forward this instead: cut into as many fragments as the sender's message had (the
   * payload as written, compressed or not, shared evenly: ceil(total / count) bytes each,
   * the last takes the rest, so a payload shorter than the count makes fewer) unless
   * `frames` says how to cut it; a held ping/pong is replaced by one of its own kind
   */
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
  /** payload bytes per fragment; the last fragment takes the rest (absent: as the sender cut it) */
  fragmentSize?: number;
  /** RSV2/RSV3 set on the first frame (for testing peers; RSV1 is compression's) */
  rsv2?: boolean;
  rsv3?: boolean;
}

/** Sending from outside the conversation: `payload` a string goes as text, bytes as binary. */
export interface Injector {
  inject(to: Side, payload: string | Uint8Array): void;
  /**
   * writes one frame exactly as given (valid or not), at the receiver's next frame boundary
   * (a data opcode waits for the end of a fragmented message in progress, a control one does not)
   */
  injectFrame(to: Side, frame: RawFrame): void;
  /** closes both legs: a close frame with this code and reason toward each side */
  close(code: number, reason: string): void;
}

/**
 * A frame as the composer's raw spec has it: `maskKey` absent masks with a fresh random key
 * toward the server and leaves it unmasked toward the client; null: unmasked; 4 bytes: that
 * key. `length` states a length other than the payload's (a lie on purpose).
 */
export type RawFrame = Omit<FrameSpec, 'mask' | 'maskKey'> & { maskKey?: Uint8Array | null };
