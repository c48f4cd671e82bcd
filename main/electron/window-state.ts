// The window's size and position between launches, in userData/window-state.json.
// The file is read as untrusted (hand-edited, truncated by a crash, written by an older
// version) and the position is checked against today's displays: a window saved on a
// monitor that is gone must not open off-screen.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** absent: let the window manager place it (centred) */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_STATE: WindowState = { width: 1280, height: 820, maximized: false };
export const MIN_SIZE = { width: 720, height: 480 } as const;
/** Largest file we read: a state is ~80 bytes. */
const MAX_STATE_FILE = 4096;
/** Coordinates beyond this are nonsense on any real desktop. */
const MAX_COORD = 100_000;
/** How much of the window's top edge must lie on a display for it to be reachable. */
const VISIBLE_STRIP = { width: 96, height: 32 } as const;

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Parses a saved state; null for anything that is not one (garbage, wrong types, absurd values). */
export function parseWindowState(text: string | null | undefined): WindowState | null {
  if (typeof text !== 'string' || text.length > MAX_STATE_FILE) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  if (!isInt(r.width, 1, MAX_COORD) || !isInt(r.height, 1, MAX_COORD)) return null;
  const state: WindowState = { width: r.width, height: r.height, maximized: r.maximized === true };
  // A position is kept only whole: x without y is meaningless.
  if (isInt(r.x, -MAX_COORD, MAX_COORD) && isInt(r.y, -MAX_COORD, MAX_COORD)) {
    state.x = r.x;
    state.y = r.y;
  }
  return state;
}

const overlap = (a: Rect, b: Rect): { width: number; height: number } => ({
  width: Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)),
  height: Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)),
});

/**
 * Fits a saved state to the displays' work areas: the size is clamped to the largest
 * work area (and at least MIN_SIZE), and the position is kept only if the window's top
 * strip — where the title bar is — lies on some display; otherwise it is dropped and the
 * window opens centred. With no displays reported, only the size is clamped to the minimum.
 */
export function fitToDisplays(state: WindowState | null, workAreas: readonly Rect[]): WindowState {
  const s = state ?? DEFAULT_STATE;
  const maxW = workAreas.length ? Math.max(MIN_SIZE.width, ...workAreas.map((a) => a.width)) : Infinity;
  const maxH = workAreas.length ? Math.max(MIN_SIZE.height, ...workAreas.map((a) => a.height)) : Infinity;
  const width = Math.min(Math.max(s.width, MIN_SIZE.width), maxW);
  const height = Math.min(Math.max(s.height, MIN_SIZE.height), maxH);
  const out: WindowState = { width, height, maximized: s.maximized };
  if (s.x === undefined || s.y === undefined) return out;
  const titleStrip: Rect = { x: s.x, y: s.y, width, height: VISIBLE_STRIP.height };
  const reachable = workAreas.some((a) => {
    const o = overlap(titleStrip, a);
    return o.width >= Math.min(VISIBLE_STRIP.width, width) && o.height >= VISIBLE_STRIP.height && s.y! >= a.y;
  });
  if (reachable) {
    out.x = s.x;
    out.y = s.y;
  }
  return out;
}

/** Reads and validates the saved state; null when there is none or it is not usable. */
export function loadWindowState(file: string): WindowState | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return parseWindowState(text);
}

/** Writes the state atomically (a crash mid-write leaves the old file, not half a new one). */
export function saveWindowState(file: string, state: WindowState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The state to save for a window now: its normal (unmaximized) bounds and whether it is maximized. */
export function stateOf(win: { getNormalBounds(): Rect; isMaximized(): boolean }): WindowState {
  const b = win.getNormalBounds();
  return { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height), maximized: win.isMaximized() };
}
