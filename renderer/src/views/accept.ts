// Sec-WebSocket-Accept, step by step (RFC 6455 §1.3, §4.2.2): the same steps as
// shared/codec/handshake.ts acceptSteps, with the browser's SHA-1, which is asynchronous
// (crypto.subtle), so the handshake panel shows it computed here, independently of the
// engine's verdict.
import { toBase64, toHex, utf8Encode } from '../../../shared/bytes';
import { WEBSOCKET_GUID, type AcceptSteps } from '../../../shared/codec/handshake';

export async function acceptStepsAsync(key: string, subtle: SubtleCrypto = crypto.subtle): Promise<AcceptSteps> {
  const concatenated = key + WEBSOCKET_GUID;
  const digest = new Uint8Array(await subtle.digest('SHA-1', utf8Encode(concatenated) as BufferSource));
  return { key, guid: WEBSOCKET_GUID, concatenated, sha1Hex: toHex(digest), base64: toBase64(digest) };
}

export type AcceptVerdict =
  | { valid: true; text: string }
  | { valid: false; text: string };

/** The verdict on the received value against the computed one. */
export function acceptVerdict(steps: Pick<AcceptSteps, 'base64'>, received: string | null): AcceptVerdict {
  if (received === null) return { valid: false, text: 'invalid: no Sec-WebSocket-Accept was received' };
  if (received.trim() === steps.base64) return { valid: true, text: 'valid: the received value matches' };
  return { valid: false, text: 'invalid: the received value does not match' };
}
