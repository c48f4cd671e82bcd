// Messages to frames for a sender (RFC 6455 §5.4, RFC 7692 §6): compress the whole message
// once, then cut the payload into frames. The same function serves the engine and the
// composer's preview, so what is shown is what is sent.

import type { MessageDeflater } from './compression';
import { encodeFrame, FrameEncodeError } from './frame-writer';
import { Opcode } from './protocol';

export interface EncodeMessageOptions {
  opcode: Opcode.Text | Opcode.Binary;
  data: Uint8Array;
  /** most payload bytes in one frame (of the compressed payload, when compressed); default: one frame */
  fragmentSize?: number;
  /** compress with permessage-deflate; RSV1 goes on the first frame only (RFC 7692 §6.1) */
  deflater?: MessageDeflater;
  mask: boolean;
  /** a fresh 4-byte key per frame (§5.3); required when mask is true */
  maskKey?: () => Uint8Array;
}

/** Encodes one message as one buffer per frame. An empty message is one frame. */
export function encodeMessage(options: EncodeMessageOptions): Uint8Array[] {
  const { opcode, mask, maskKey, fragmentSize } = options;
  if (fragmentSize !== undefined && !(Number.isSafeInteger(fragmentSize) && fragmentSize >= 1)) {
    throw new RangeError(`fragmentSize must be a positive integer, got ${fragmentSize}`);
  }
  if (mask && !maskKey) throw new FrameEncodeError('a masked message needs a mask key source');
  const compressed = !!options.deflater;
  const payload = options.deflater ? options.deflater.deflate(options.data) : options.data;
  const size = fragmentSize ?? Math.max(payload.length, 1);

  const frames: Uint8Array[] = [];
  let at = 0;
  do {
    const end = Math.min(payload.length, at + size);
    const first = at === 0;
    frames.push(
      encodeFrame({
        fin: end === payload.length,
        rsv1: first && compressed,
        opcode: first ? opcode : Opcode.Continuation,
        payload: payload.subarray(at, end),
        mask,
        maskKey: mask ? maskKey!() : undefined,
      }),
    );
    at = end;
  } while (at < payload.length);
  return frames;
}
