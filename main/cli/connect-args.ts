// What `connect`'s options parse into. Kept apart from the command's code, which is loaded
// only when `connect` runs.
import { fromHex } from '../../shared/bytes';
import { isValidWireCloseCode } from '../../shared/codec/protocol';
import { UsageError } from './output';

export type Outgoing = { kind: 'text'; text: string } | { kind: 'binary'; data: Uint8Array };

export function parseHeader(value: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new UsageError(`a header is "Name: value", got ${JSON.stringify(value)}`);
  return [...previous, [value.slice(0, colon).trim(), value.slice(colon + 1).trim()]];
}

export function parseCloseSpec(value: string | true): { code: number; reason: string } {
  if (value === true || value === '') return { code: 1000, reason: '' };
  const colon = value.indexOf(':');
  const codeText = colon < 0 ? value : value.slice(0, colon);
  const reason = colon < 0 ? '' : value.slice(colon + 1);
  const code = Number(codeText);
  if (!/^\d+$/.test(codeText) || !isValidWireCloseCode(code)) {
    throw new UsageError(`--close takes CODE[:REASON] with a code that may be sent (1000-1003, 1007-1014, 3000-4999), got ${JSON.stringify(value)}`);
  }
  if (Buffer.byteLength(reason) > 123) throw new UsageError('a close reason is at most 123 bytes of UTF-8');
  return { code, reason };
}

export function parseHexArg(value: string): Uint8Array {
  try {
    return fromHex(value);
  } catch (err) {
    throw new UsageError(`--send-hex: ${(err as Error).message}`);
  }
}
