// A frame header split into the fields RFC 6455 §5.2 draws, bit by bit, and laid out in
// rows of 32 bits as the RFC's figure does:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-------+-+-------------+-------------------------------+
//  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//  ...
import { fromHex } from '../../../shared/bytes';
import { opcodeName } from '../../../shared/codec/protocol';

export type HeaderFieldId = 'fin' | 'rsv1' | 'rsv2' | 'rsv3' | 'opcode' | 'mask' | 'len7' | 'len16' | 'len64' | 'maskKey';

export interface HeaderField {
  id: HeaderFieldId;
  label: string;
  /** first bit, counted from the first header bit (0) */
  bitStart: number;
  bitLength: number;
  /** the field's bits as on the wire, '0'/'1' */
  bits: string;
  /** what the field says, for people */
  meaning: string;
}

export interface ParsedHeader {
  fields: HeaderField[];
  /** the header bytes */
  bytes: Uint8Array;
  /** a header shorter than its own fields say (a truncated capture) */
  incomplete: boolean;
}

const bitsOf = (bytes: Uint8Array, start: number, length: number): string => {
  let out = '';
  for (let b = start; b < start + length; b++) {
    const byte = bytes[b >> 3];
    out += byte === undefined ? '?' : (byte >> (7 - (b & 7))) & 1 ? '1' : '0';
  }
  return out;
};

const numberOf = (bits: string): number => (bits.includes('?') ? NaN : bits.split('').reduce((n, b) => n * 2 + (b === '1' ? 1 : 0), 0));

/** Splits header bytes (2 to 14, hex) into §5.2 fields. */
export function parseHeaderFields(headerHex: string): ParsedHeader {
  const bytes = fromHex(headerHex);
  const f = (id: HeaderFieldId, label: string, bitStart: number, bitLength: number, meaning: (bits: string) => string): HeaderField => {
    const bits = bitsOf(bytes, bitStart, bitLength);
    return { id, label, bitStart, bitLength, bits, meaning: meaning(bits) };
  };
  const flag = (on: string, off: string) => (b: string) => (b === '1' ? on : b === '0' ? off : '?');
  const fields: HeaderField[] = [
    f('fin', 'FIN', 0, 1, flag('final fragment', 'more fragments follow')),
    f('rsv1', 'RSV1', 1, 1, flag('set (permessage-deflate: compressed)', 'clear')),
    f('rsv2', 'RSV2', 2, 1, flag('set', 'clear')),
    f('rsv3', 'RSV3', 3, 1, flag('set', 'clear')),
    f('opcode', 'opcode', 4, 4, (b) => {
      const n = numberOf(b);
      return Number.isNaN(n) ? '?' : `0x${n.toString(16)} ${opcodeName(n)}`;
    }),
  ];
  const masked = bitsOf(bytes, 8, 1) === '1';
  fields.push(f('mask', 'MASK', 8, 1, flag('masked', 'not masked')));
  const len7 = numberOf(bitsOf(bytes, 9, 7));
  fields.push(
    f('len7', 'Payload len', 9, 7, (b) => {
      const n = numberOf(b);
      return n === 126 ? '126: 16-bit length follows' : n === 127 ? '127: 64-bit length follows' : Number.isNaN(n) ? '?' : `${n} bytes`;
    }),
  );
  let at = 16;
  if (len7 === 126) {
    fields.push(f('len16', 'Extended payload length (16)', at, 16, (b) => `${numberOf(b).toLocaleString('en-US')} bytes`));
    at += 16;
  } else if (len7 === 127) {
    fields.push(
      f('len64', 'Extended payload length (64)', at, 64, (b) => {
        if (b.includes('?')) return '?';
        const v = BigInt(`0b${b}`);
        return `${v.toLocaleString('en-US')} bytes${b[0] === '1' ? ' (top bit set: invalid)' : ''}`;
      }),
    );
    at += 64;
  }
  if (masked) {
    fields.push(f('maskKey', 'Masking-key', at, 32, (b) => (b.includes('?') ? '?' : numberOf(b).toString(16).padStart(8, '0'))));
    at += 32;
  }
  return { fields, bytes, incomplete: bytes.length * 8 < at };
}

/** One cell of the 32-bit-wide drawing: a field, or the part of one that fits this row. */
export interface HeaderCell {
  field: HeaderField;
  /** column 0-31 where the cell starts */
  column: number;
  width: number;
  bits: string;
  /** this cell continues a field begun on an earlier row */
  continued: boolean;
}

export const ROW_BITS = 32;

export function layoutHeaderRows(fields: readonly HeaderField[]): HeaderCell[][] {
  const rows: HeaderCell[][] = [];
  for (const field of fields) {
    let done = 0;
    while (done < field.bitLength) {
      const bit = field.bitStart + done;
      const row = Math.floor(bit / ROW_BITS);
      const column = bit % ROW_BITS;
      const width = Math.min(field.bitLength - done, ROW_BITS - column);
      (rows[row] ??= []).push({ field, column, width, bits: field.bits.slice(done, done + width), continued: done > 0 });
      done += width;
    }
  }
  return rows;
}
