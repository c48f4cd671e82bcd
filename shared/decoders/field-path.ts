// A test on a field of a decoded message's value: `PATH OP VALUE`, e.g. `payload.user.id = 42`
// or `[1].text ~ hello`. The path walks the value (`a.b`, `a[0]`, `0.b`); OP is `=`, `!=`,
// `~` (contains, case-insensitive), `>`, `<`; VALUE is JSON (`42`, `"x"`, `true`, `null`) or
// else plain text. Pure code (the engine evaluates it, the UI checks what is typed).

export type FieldOp = '=' | '!=' | '~' | '>' | '<';

export interface FieldQuery {
  path: Array<string | number>;
  op: FieldOp;
  value: unknown;
}

const QUERY = /^((?:[A-Za-z_$][\w$-]*|\d+|\[\d+\])(?:\.[A-Za-z_$\d][\w$-]*|\[\d+\])*)\s*(!=|=|~|>|<)\s*(.*)$/s;

/** Whether text reads as a field test (a path, an operator): else it is a plain search. */
export function looksLikeFieldQuery(text: string): boolean {
  return QUERY.test(text.trim());
}

/** The query, or a one-line reason it is not one. */
export function parseFieldQuery(text: string): FieldQuery | string {
  const m = QUERY.exec(text.trim());
  if (!m) return 'write a field test as PATH OP VALUE, e.g. payload.user.id = 42';
  const path: Array<string | number> = [];
  for (const part of m[1]!.match(/\[\d+\]|[^.[\]]+/g) ?? []) {
    if (part.startsWith('[')) path.push(Number(part.slice(1, -1)));
    else path.push(/^\d+$/.test(part) ? Number(part) : part);
  }
  const raw = m[3]!.trim();
  if (raw === '') return `nothing to compare ${m[1]} with`;
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // plain text
  }
  return { path, op: m[2] as FieldOp, value };
}

/** The field at `path` in `value`, or undefined. */
export function fieldAt(value: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

export function matchField(q: FieldQuery, value: unknown): boolean {
  const v = fieldAt(value, q.path);
  if (v === undefined) return false;
  switch (q.op) {
    case '=':
      return same(v, q.value);
    case '!=':
      return !same(v, q.value);
    case '~':
      return (typeof v === 'string' ? v : JSON.stringify(v)).toLowerCase().includes(String(q.value).toLowerCase());
    case '>':
    case '<': {
      const a = Number(v);
      const b = Number(q.value);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return q.op === '>' ? a > b : a < b;
    }
  }
}

/** Equal as JSON; a string and a number equal when they read the same (`id = 42` finds "42"). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b || String(a) === String(b);
}
