// What "Copy" puts on the clipboard: a row as one line of text, a payload in the forms a
// developer pastes into code or a terminal. Pure: the component does the clipboard.
import type { FrameSummary } from '../../../shared/contract';
import { toBase64, toHex, utf8Decode } from '../../../shared/bytes';
import { isKnownOpcode, opcodeName } from '../../../shared/codec/protocol';
import { formatClock, formatRelative } from './format';

export const PAYLOAD_FORMATS = ['text', 'hex', 'base64', 'c', 'js', 'python'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

export const PAYLOAD_FORMAT_LABELS: Record<PayloadFormat, string> = {
  text: 'as text',
  hex: 'as hex',
  base64: 'as base64',
  c: 'as a C array',
  js: 'as a JS Uint8Array',
  python: 'as a Python bytes literal',
};

/** Past this many payload bytes a copy is refused (the clipboard is not a file): save instead. */
export const COPY_LIMIT = 8 * 1024 * 1024;

const hexByte = (b: number): string => (b < 16 ? '0' : '') + b.toString(16);

function byteList(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = `0x${hexByte(bytes[i]!)}`;
  return parts.join(', ');
}

/** A payload in one of the copy formats. Text is decoded as UTF-8 (a bad sequence becomes U+FFFD). */
export function formatPayload(bytes: Uint8Array, format: PayloadFormat): string {
  switch (format) {
    case 'text':
      return utf8Decode(bytes);
    case 'hex':
      return toHex(bytes, ' ');
    case 'base64':
      return toBase64(bytes);
    case 'c':
      return `{${byteList(bytes)}}`;
    case 'js':
      return `new Uint8Array([${byteList(bytes)}])`;
    case 'python': {
      // Every byte escaped: unambiguous, whatever the bytes are.
      let out = "b'";
      for (let i = 0; i < bytes.length; i++) out += `\\x${hexByte(bytes[i]!)}`;
      return `${out}'`;
    }
  }
}

/** A row in one line: `#12 +0.004512 ↓ text 13 B · decoded · preview`. */
export function rowLine(row: FrameSummary, startedAt: number, timeMode: 'relative' | 'absolute' | 'delta'): string {
  const time = timeMode === 'absolute' ? formatClock(row.time) : formatRelative(row.time, startedAt);
  const op = row.opcode === 0 ? 'continuation' : isKnownOpcode(row.opcode) ? opcodeName(row.opcode) : `reserved ${row.opcode}`;
  const size = row.message ? `${row.message.length} B (message)` : `${row.length} B`;
  const parts = [`#${row.seq} ${time} ${row.from === 'client' ? '↑ client' : '↓ server'} ${op} ${size}`];
  if (row.decoded) parts.push(`${row.decoded.protocol} ${row.decoded.summary}`);
  if (row.close) parts.push(`close ${row.close.code ?? 'no status'}${row.close.reason ? ` ${row.close.reason}` : ''}`);
  else if (row.preview) parts.push(row.previewText ? row.preview.replace(/\s*[\r\n]+\s*/g, ' ') : row.preview);
  if (row.note) parts.push(`note: ${row.note.replace(/\s*[\r\n]+\s*/g, ' ')}`);
  return parts.join(' · ');
}
