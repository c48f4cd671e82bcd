// The editor of a held message: its draft (as text, pretty JSON or hex, with the frame
// level), turned into the decision it sends and the frames Framescope will write for it.
// An untouched draft forwards the message as it came (byte for byte, its own framing).
import type { HeldDecision, HeldMessage } from '../../../shared/contract';
import { bytesEqual, fromBase64, fromHex, toBase64, toHex, utf8DecodeStrict, utf8Encode } from '../../../shared/bytes';
import { dataFrames, MAX_SEND_BYTES, type ComposedFrame } from './composer';

export type HeldFormat = 'text' | 'json' | 'hex';

export interface HeldDraft {
  format: HeldFormat;
  /** the payload as the format writes it */
  body: string;
  opcode: 1 | 2;
  /** 0: one frame */
  fragmentSize: number;
  rsv2: boolean;
  rsv3: boolean;
}

/** The draft a held message starts as: text if it is UTF-8 text (pretty JSON stays as it came), else hex. */
export function draftOf(h: HeldMessage): HeldDraft {
  const bytes = h.data !== undefined ? fromBase64(h.data) : new Uint8Array(0);
  const text = h.opcode === 1 ? utf8DecodeStrict(bytes) : null;
  return { format: text !== null ? 'text' : 'hex', body: text ?? toHex(bytes, ' '), opcode: h.opcode, fragmentSize: 0, rsv2: false, rsv3: false };
}

/** The body in another format (hex ↔ text); null when the bytes are not UTF-8 text. */
export function reformat(draft: HeldDraft, format: HeldFormat): { body: string } | { error: string } {
  if (format === draft.format) return { body: draft.body };
  let bytes: Uint8Array;
  try {
    bytes = bodyBytes(draft);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  if (format === 'hex') return { body: toHex(bytes, ' ') };
  const text = utf8DecodeStrict(bytes);
  if (text === null) return { error: 'these bytes are not UTF-8 text' };
  return { body: text };
}

/** Pretty-prints a JSON body (two spaces), or says where it is not JSON. */
export function prettyJson(body: string): { body: string } | { error: string } {
  try {
    return { body: JSON.stringify(JSON.parse(body), null, 2) };
  } catch (e) {
    return { error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function bodyBytes(d: HeldDraft): Uint8Array {
  return d.format === 'hex' ? fromHex(d.body) : utf8Encode(d.body);
}

export type HeldComposed =
  | {
      ok: true;
      decision: HeldDecision;
      /** the draft differs from the message as it came */
      changed: boolean;
      frames: ComposedFrame[];
      frameCount: number;
      payloadBytes: number;
    }
  | { ok: false; error: string };

/**
 * The decision Forward sends for this draft. `editable` false: the message was too large to
 * come to the UI; it can only go on as it came.
 */
export function composeHeld(h: HeldMessage, d: HeldDraft): HeldComposed {
  const mask = h.from === 'client';
  if (h.data === undefined) {
    const { frames, count } = dataFrames(h.opcode, h.size, 0, { mask });
    return { ok: true, decision: { action: 'forward' }, changed: false, frames, frameCount: count, payloadBytes: h.size };
  }
  if (d.format === 'json') {
    try {
      JSON.parse(d.body);
    } catch (e) {
      return { ok: false, error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = bodyBytes(d);
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  if (bytes.length > MAX_SEND_BYTES) return { ok: false, error: 'the message is larger than 64 MiB' };
  const fragmentSize = Number.isInteger(d.fragmentSize) && d.fragmentSize > 0 ? d.fragmentSize : 0;
  const changed = d.opcode !== h.opcode || fragmentSize > 0 || d.rsv2 || d.rsv3 || !bytesEqual(bytes, fromBase64(h.data));
  const { frames, count } = dataFrames(d.opcode, bytes.length, fragmentSize, { mask, rsv2: d.rsv2, rsv3: d.rsv3 });
  const decision: HeldDecision = changed
    ? {
        action: 'replace',
        opcode: d.opcode,
        data: toBase64(bytes),
        ...(fragmentSize ? { fragmentSize } : {}),
        ...(d.rsv2 ? { rsv2: true } : {}),
        ...(d.rsv3 ? { rsv3: true } : {}),
      }
    : { action: 'forward' };
  return { ok: true, decision, changed, frames, frameCount: count, payloadBytes: bytes.length };
}
