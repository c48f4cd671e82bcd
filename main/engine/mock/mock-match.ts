// How `mock --mode match` pairs a client's message with a recorded one: both reduce to a key,
// equal keys match. exact: opcode and bytes; json:PATH[,PATH…]: the values at those paths
// (JSON-equal, key order aside); regex:/RE/flags: the capture groups (or the whole match).
import { utf8DecodeStrict } from '../../../shared/bytes';
import { MAX_TEXT_MATCH, SpecError, compilePattern, getPath, isMissing, parsePath, type JsonPath } from '../intervene/matcher';

export type MockMatch = { kind: 'exact' } | { kind: 'json'; paths: JsonPath[] } | { kind: 'regex'; re: RegExp };

/** Parses `--match`; a mistake is a SpecError whose message is the CLI's line. */
export function parseMockMatch(spec: string): MockMatch {
  if (spec === 'exact') return { kind: 'exact' };
  if (spec.startsWith('json:')) {
    const paths = spec
      .slice(5)
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (paths.length === 0) throw new SpecError('--match', 'json: needs at least one JSON path, e.g. json:$.id');
    return { kind: 'json', paths: paths.map((p) => withField(() => parsePath(p, '--match'), p)) };
  }
  if (spec.startsWith('regex:')) {
    const body = spec.slice(6);
    // A bare pattern is a regex too: a plain substring would make every match key the same.
    const p = withField(() => compilePattern(/^\/[\s\S]+\/[a-z]*$/.test(body) ? body : `/${body}/`, '--match'), body);
    if (p.kind !== 'regex') throw new SpecError('--match', 'regex: needs a pattern');
    return { kind: 'regex', re: p.re };
  }
  throw new SpecError('--match', `takes exact, json:PATH[,PATH…] or regex:PATTERN, got ${JSON.stringify(spec)}`);
}

function withField<T>(f: () => T, what: string): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof SpecError) throw new SpecError('--match', `${JSON.stringify(what)}: ${err.message}`);
    throw err;
  }
}

/** The key a message matches by; null: it has none (not JSON, a path missing, no regex match). */
export function matchKey(m: MockMatch, opcode: 1 | 2, data: Uint8Array): string | null {
  if (m.kind === 'exact') return `${opcode}:${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}`;
  const text = opcode === 1 && data.length <= MAX_TEXT_MATCH ? utf8DecodeStrict(data) : null;
  if (text === null) return null;
  if (m.kind === 'regex') {
    m.re.lastIndex = 0;
    const r = m.re.exec(text);
    if (!r) return null;
    return JSON.stringify(r.length > 1 ? r.slice(1) : [r[0]]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const values: unknown[] = [];
  for (const p of m.paths) {
    const v = getPath(json, p);
    if (isMissing(v)) return null;
    values.push(v);
  }
  return canonical(values);
}

/** JSON text with object keys sorted: equal values, equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
