// The frame list's column widths: which columns a user may resize, their defaults, and
// where they are remembered (localStorage, read defensively like the prefs).

export const RESIZABLE = ['seq', 'time', 'op', 'len', 'msg', 'dec'] as const;
export type ColumnId = (typeof RESIZABLE)[number];
export type ColumnWidths = Record<ColumnId, number>;

export const DEFAULT_WIDTHS: ColumnWidths = { seq: 54, time: 80, op: 78, len: 54, msg: 58, dec: 200 };
export const MIN_WIDTH = 24;
export const MAX_WIDTH = 480;
export const COLUMNS_KEY = 'framescope.columns.v1';

export const clampWidth = (w: number): number => Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, w)));

export function loadWidths(storage: Pick<Storage, 'getItem'> | null): ColumnWidths {
  let raw: unknown = null;
  try {
    const text = storage?.getItem(COLUMNS_KEY);
    raw = text ? JSON.parse(text) : null;
  } catch {
    raw = null;
  }
  const out = { ...DEFAULT_WIDTHS };
  if (typeof raw !== 'object' || raw === null) return out;
  for (const id of RESIZABLE) {
    const v = (raw as Record<string, unknown>)[id];
    if (typeof v === 'number' && Number.isFinite(v)) out[id] = clampWidth(v);
  }
  return out;
}

export function saveWidths(storage: Pick<Storage, 'setItem'> | null, widths: ColumnWidths): void {
  try {
    storage?.setItem(COLUMNS_KEY, JSON.stringify(widths));
  } catch {
    // storage full or disabled: the widths last for this page
  }
}

/**
 * The grid's columns: # | time | direction | opcode | FIN | RSV | MASK | wire length |
 * message size | decoded | payload (the rest).
 */
export function gridColumns(w: ColumnWidths): string {
  return `${w.seq}px ${w.time}px 14px ${w.op}px 10px 26px 10px ${w.len}px ${w.msg}px ${w.dec}px minmax(0, 1fr)`;
}
