// Hex dump rows for the hex view: offset, 16 bytes as two-digit hex, ASCII. The same
// layout as shared/hexdump.ts, but as data so each part gets its own element (and the
// hex can be selected and copied without the offsets).
export interface HexRow {
  offset: number;
  /** up to `perRow` (16) two-digit lowercase hex bytes */
  bytes: string[];
  ascii: string;
}

export const BYTES_PER_ROW = 16;
/** Rows drawn at once; "show more" extends it (a 16 MiB payload is 1M rows). */
export const DEFAULT_HEX_LIMIT = 16 * 1024;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hexRows(bytes: Uint8Array, limit = DEFAULT_HEX_LIMIT, perRow = BYTES_PER_ROW): HexRow[] {
  const n = Math.min(bytes.length, limit);
  const rows: HexRow[] = [];
  for (let off = 0; off < n; off += perRow) {
    const end = Math.min(off + perRow, n);
    const hex: string[] = [];
    let ascii = '';
    for (let i = off; i < end; i++) {
      const b = bytes[i]!;
      hex.push(HEX[b]!);
      ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    rows.push({ offset: off, bytes: hex, ascii });
  }
  return rows;
}

export const formatOffset = (n: number): string => n.toString(16).padStart(8, '0');
