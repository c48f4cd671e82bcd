// What a replay found: the server's messages this time against the recording's, aligned by
// order (the n-th answer with the n-th). A JSON message that changed is told by path (old →
// new); any other message by its previews. Pure code: the CLI prints it, the UI shows it.
// The shape is public (docs/contracts.md "Replay comparison"): add, never rename.

import { bytesEqual, toHex, utf8DecodeStrict } from './bytes';

export type ReplayStatus = 'same' | 'changed' | 'missing' | 'extra';

/** A message as the comparison tells it: kind, size, the start of its content. */
export interface ReplayMessageInfo {
  opcode: 1 | 2;
  length: number;
  /** at most PREVIEW chars: the text, or spaced hex of a binary message */
  preview: string;
}

/** One changed place in a JSON message: `old`/`new` are JSON text, absent where the path is not on that side. */
export interface ReplayDiff {
  path: string;
  old?: string;
  new?: string;
}

export interface ReplayItem {
  /** 1-based position among the server's data messages */
  index: number;
  status: ReplayStatus;
  recorded?: ReplayMessageInfo;
  replayed?: ReplayMessageInfo;
  /** a changed message whose both sides are JSON: the paths that differ */
  diff?: ReplayDiff[];
  /** more paths differ than `diff` lists */
  diffTruncated?: true;
}

export interface ReplayComparison {
  same: number;
  changed: number;
  missing: number;
  extra: number;
  /** every message compared, by index (at most MAX_ITEMS) */
  items: ReplayItem[];
  /** more messages were compared than `items` lists (the counts include them all) */
  itemsTruncated?: true;
}

/** A server data message as the comparison takes it. */
export interface ComparedMessage {
  opcode: 1 | 2;
  data: Uint8Array;
}

export const PREVIEW = 80;
const MAX_ITEMS = 1000;
const MAX_PATHS = 50;
const MAX_VALUE = 200;
/** Larger messages are compared byte for byte, not parsed. */
const MAX_JSON = 1 << 20;

export function compareMessages(recorded: readonly ComparedMessage[], replayed: readonly ComparedMessage[]): ReplayComparison {
  const out: ReplayComparison = { same: 0, changed: 0, missing: 0, extra: 0, items: [] };
  const n = Math.max(recorded.length, replayed.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i];
    const b = replayed[i];
    const item: ReplayItem = { index: i + 1, status: 'same' };
    if (a) item.recorded = info(a);
    if (b) item.replayed = info(b);
    if (a && b) {
      if (a.opcode !== b.opcode || !bytesEqual(a.data, b.data)) {
        item.status = 'changed';
        const d = a.opcode === 1 && b.opcode === 1 ? jsonDiff(a.data, b.data) : null;
        if (d) {
          item.diff = d.paths;
          if (d.truncated) item.diffTruncated = true;
        }
      }
    } else item.status = a ? 'missing' : 'extra';
    out[item.status]++;
    if (out.items.length < MAX_ITEMS) out.items.push(item);
    else out.itemsTruncated = true;
  }
  return out;
}

export function differences(c: ReplayComparison): number {
  return c.changed + c.missing + c.extra;
}

function info(m: ComparedMessage): ReplayMessageInfo {
  const head = m.data.subarray(0, PREVIEW * 4);
  const text = m.opcode === 1 ? utf8DecodeStrict(head) ?? new TextDecoder().decode(head) : null;
  const preview = text !== null ? clip(text, PREVIEW) : clip(toHex(m.data.subarray(0, PREVIEW / 3), ' '), PREVIEW) + (m.data.length > PREVIEW / 3 ? ' …' : '');
  return { opcode: m.opcode, length: m.data.length, preview };
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function parseJson(data: Uint8Array): { ok: true; value: unknown } | null {
  if (data.length > MAX_JSON) return null;
  const text = utf8DecodeStrict(data);
  if (text === null) return null;
  const t = text.trim();
  // Only objects and arrays: a bare "42" or "true" is text as much as JSON.
  if (!t.startsWith('{') && !t.startsWith('[')) return null;
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch {
    return null;
  }
}

/** The paths where two JSON messages differ; null when either is not JSON. */
function jsonDiff(a: Uint8Array, b: Uint8Array): { paths: ReplayDiff[]; truncated: boolean } | null {
  const x = parseJson(a);
  const y = parseJson(b);
  if (!x || !y) return null;
  const paths: ReplayDiff[] = [];
  let truncated = false;
  const add = (d: ReplayDiff) => {
    if (paths.length < MAX_PATHS) paths.push(d);
    else truncated = true;
  };
  walk(x.value, y.value, '$', add, 0);
  return { paths, truncated };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function walk(a: unknown, b: unknown, path: string, add: (d: ReplayDiff) => void, depth: number): void {
  // Deep documents are compared whole below this depth (no runaway recursion).
  if (depth < 64 && isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) walk(a[k], k in b ? b[k] : undefined, member(path, k), add, depth + 1);
    for (const k of Object.keys(b)) if (!(k in a)) add({ path: member(path, k), new: value(b[k]) });
    return;
  }
  if (depth < 64 && Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (i >= b.length) add({ path: `${path}[${i}]`, old: value(a[i]) });
      else if (i >= a.length) add({ path: `${path}[${i}]`, new: value(b[i]) });
      else walk(a[i], b[i], `${path}[${i}]`, add, depth + 1);
    }
    return;
  }
  if (a === undefined) {
    if (b !== undefined) add({ path, new: value(b) });
    return;
  }
  if (b === undefined) return add({ path, old: value(a) });
  const va = JSON.stringify(a);
  const vb = JSON.stringify(b);
  if (va !== vb) add({ path, old: clip(va, MAX_VALUE), new: clip(vb, MAX_VALUE) });
}

function member(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function value(v: unknown): string {
  return clip(JSON.stringify(v) ?? 'null', MAX_VALUE);
}

/** The comparison as lines for a terminal (the CLI) or a plain-text view. */
export function comparisonLines(c: ReplayComparison): string[] {
  const lines = [`same ${c.same} · changed ${c.changed} · missing ${c.missing} · extra ${c.extra}`];
  for (const it of c.items) {
    const m = it.replayed ?? it.recorded!;
    const kind = m.opcode === 1 ? 'text' : 'binary';
    const size = it.status === 'changed' ? `${it.recorded!.length} B → ${it.replayed!.length} B` : `${m.length} B`;
    lines.push(`  #${it.index} ${it.status.padEnd(7)} ${kind} ${size}${it.status === 'changed' && it.diff ? '' : `  ${JSON.stringify(m.preview)}`}`);
    if (it.status !== 'changed') continue;
    if (it.diff) {
      for (const d of it.diff) lines.push(`      ${d.path}: ${d.old ?? '(absent)'} → ${d.new ?? '(absent)'}`);
      if (it.diffTruncated) lines.push('      … more paths differ');
    } else {
      lines.push(`      was ${JSON.stringify(it.recorded!.preview)}`);
    }
  }
  if (c.itemsTruncated) lines.push(`  … ${c.same + c.changed + c.missing + c.extra - c.items.length} more messages (counted above)`);
  return lines;
}
