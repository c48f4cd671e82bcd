// The frame list's columns: their order, which are hidden, the widths of those a user may
// resize, and where all of that is remembered (localStorage, read defensively like the
// prefs: a hand-edited or older value falls back to the defaults, never breaks the page).

export const RESIZABLE = ['seq', 'time', 'op', 'len', 'msg', 'dec'] as const;
export type ResizableId = (typeof RESIZABLE)[number];
export type ColumnWidths = Record<ResizableId, number>;

/** Every column, in the default order; `preview` (the payload) takes the room left. */
export const COLUMN_IDS = ['seq', 'time', 'dir', 'op', 'fin', 'rsv', 'mask', 'len', 'msg', 'dec', 'preview'] as const;
export type ColumnId = (typeof COLUMN_IDS)[number];

/** How the columns menu names each column. */
export const COLUMN_LABELS: Record<ColumnId, string> = {
  seq: '# (seq)',
  time: 'Time',
  dir: 'Direction',
  op: 'Opcode',
  fin: 'FIN',
  rsv: 'RSV bits',
  mask: 'MASK',
  len: 'Length (wire)',
  msg: 'Message size',
  dec: 'Decoded',
  preview: 'Payload',
};

/** The widths of the columns a user cannot resize (a bit or an arrow). */
const FIXED: Record<Exclude<ColumnId, ResizableId | 'preview'>, number> = { dir: 14, fin: 10, rsv: 26, mask: 10 };

export const DEFAULT_WIDTHS: ColumnWidths = { seq: 54, time: 80, op: 78, len: 54, msg: 58, dec: 200 };
export const MIN_WIDTH = 24;
export const MAX_WIDTH = 480;
export const COLUMNS_KEY = 'framescope.columns.v1';

export interface ColumnLayout {
  widths: ColumnWidths;
  /** every column id once, in the order shown */
  order: ColumnId[];
  hidden: ColumnId[];
}

export const DEFAULT_LAYOUT: ColumnLayout = { widths: DEFAULT_WIDTHS, order: [...COLUMN_IDS], hidden: [] };

export const clampWidth = (w: number): number => Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, w)));
export const isResizable = (id: ColumnId): id is ResizableId => (RESIZABLE as readonly string[]).includes(id);
const isColumn = (v: unknown): v is ColumnId => typeof v === 'string' && (COLUMN_IDS as readonly string[]).includes(v);

function readRaw(storage: Pick<Storage, 'getItem'> | null): Record<string, unknown> | null {
  try {
    const text = storage?.getItem(COLUMNS_KEY);
    const raw: unknown = text ? JSON.parse(text) : null;
    return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function loadWidths(storage: Pick<Storage, 'getItem'> | null): ColumnWidths {
  return loadLayout(storage).widths;
}

/**
 * The layout as remembered. The widths sit at the top level of the stored object (where
 * they always were), the order and the hidden columns beside them. An order missing a
 * column (one added since) gets it after the column it follows by default.
 */
export function loadLayout(storage: Pick<Storage, 'getItem'> | null): ColumnLayout {
  const raw = readRaw(storage);
  const widths = { ...DEFAULT_WIDTHS };
  if (!raw) return { ...DEFAULT_LAYOUT, widths };
  for (const id of RESIZABLE) {
    const v = raw[id];
    if (typeof v === 'number' && Number.isFinite(v)) widths[id] = clampWidth(v);
  }
  const order: ColumnId[] = [];
  if (Array.isArray(raw['order'])) for (const id of raw['order']) if (isColumn(id) && !order.includes(id)) order.push(id);
  // A column missing from the stored order goes right after the one it follows by default.
  COLUMN_IDS.forEach((id, i) => {
    if (!order.includes(id)) order.splice(i === 0 ? 0 : order.indexOf(COLUMN_IDS[i - 1]!) + 1, 0, id);
  });
  const hidden = Array.isArray(raw['hidden']) ? [...new Set(raw['hidden'].filter(isColumn))] : [];
  // A layout with nothing to show is no layout.
  return { widths, order, hidden: hidden.length >= COLUMN_IDS.length ? [] : hidden };
}

export function saveLayout(storage: Pick<Storage, 'setItem'> | null, layout: ColumnLayout): void {
  try {
    storage?.setItem(COLUMNS_KEY, JSON.stringify({ ...layout.widths, order: layout.order, hidden: layout.hidden }));
  } catch {
    // storage full or disabled: the layout lasts for this page
  }
}

export function saveWidths(storage: Pick<Storage, 'setItem' | 'getItem'> | null, widths: ColumnWidths): void {
  saveLayout(storage, { ...loadLayout(storage), widths });
}

/** The visible columns, in order. */
export function visibleColumns(layout: ColumnLayout): ColumnId[] {
  return layout.order.filter((id) => !layout.hidden.includes(id));
}

/** Moves a column one place (delta -1: left, +1: right) or before another column. */
export function moveColumn(layout: ColumnLayout, id: ColumnId, to: number | { before: ColumnId | null }): ColumnLayout {
  const order = layout.order.filter((x) => x !== id);
  let at: number;
  if (typeof to === 'number') {
    // One step among the visible columns: hidden ones in between are stepped over.
    const visible = visibleColumns(layout);
    const i = visible.indexOf(id);
    const neighbour = visible[i + to];
    if (i < 0 || neighbour === undefined) return layout;
    at = order.indexOf(neighbour) + (to > 0 ? 1 : 0);
  } else {
    at = to.before === null ? order.length : order.indexOf(to.before);
    if (at < 0) return layout;
  }
  order.splice(at, 0, id);
  return { ...layout, order };
}

export function toggleColumn(layout: ColumnLayout, id: ColumnId): ColumnLayout {
  if (layout.hidden.includes(id)) return { ...layout, hidden: layout.hidden.filter((x) => x !== id) };
  // The last visible column stays.
  if (visibleColumns(layout).length <= 1) return layout;
  return { ...layout, hidden: [...layout.hidden, id] };
}

export function columnWidth(layout: ColumnLayout, id: ColumnId): string {
  if (id === 'preview') return 'minmax(0, 1fr)';
  return `${isResizable(id) ? layout.widths[id] : FIXED[id]}px`;
}

/**
 * The grid's columns, the visible ones in order. By default: # | time | direction | opcode |
 * FIN | RSV | MASK | wire length | message size | decoded | payload (the rest). With the
 * payload hidden, the last column takes the rest.
 */
export function gridColumns(layout: ColumnLayout | ColumnWidths): string {
  const l: ColumnLayout = 'order' in layout ? layout : { ...DEFAULT_LAYOUT, widths: layout };
  const visible = visibleColumns(l);
  const cols = visible.map((id) => columnWidth(l, id));
  if (!visible.includes('preview')) cols.push('minmax(0, 1fr)');
  return cols.join(' ');
}
