// Layering, checked rather than remembered (docs/design.md "One engine, three faces"):
// shared/ imports nothing outside shared/ (no node:, no packages, no DOM code); renderer/
// imports shared/ and browser packages, never main/ and never node:; main/ never imports
// renderer/. Every import, export-from and dynamic import() of every source file is read.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
type Layer = 'shared' | 'main' | 'renderer';
const LAYERS: Layer[] = ['shared', 'main', 'renderer'];

function sources(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sources(p));
    } else if (/\.(ts|tsx|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers a file imports (static, export-from, dynamic with a literal). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const patterns = [/\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]/g, /\bexport\s+(?:type\s+)?[\w*{}\s,$]*\s+from\s+['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

function layerOf(file: string): Layer | null {
  const top = file.split(sep)[0] as Layer;
  return LAYERS.includes(top) ? top : null;
}

/** What is wrong with `from` importing `spec`, or null. */
function violation(file: string, spec: string): string | null {
  const from = layerOf(file)!;
  if (spec.startsWith('.')) {
    const target = relative(root, resolve(root, dirname(file), spec));
    const to = layerOf(target);
    if (target.startsWith('..')) return `${file} imports ${spec}, outside the project`;
    if (from === 'shared' && to !== 'shared') return `shared/ must import only shared/: ${file} imports ${spec}`;
    if (from === 'renderer' && to === 'main') return `renderer/ must not import main/: ${file} imports ${spec}`;
    if (from === 'main' && to === 'renderer') return `main/ must not import renderer/: ${file} imports ${spec}`;
    return null;
  }
  if (from === 'shared') return `shared/ imports nothing from outside: ${file} imports ${spec}`;
  if (from === 'renderer' && (spec.startsWith('node:') || spec === 'electron' || spec === 'ws')) return `renderer/ runs in a browser: ${file} imports ${spec}`;
  if (from === 'main' && /^(react|react-dom|zustand|@tanstack\/)/.test(spec)) return `main/ must not import UI packages: ${file} imports ${spec}`;
  return null;
}

describe('layering', () => {
  it('reads imports of every kind', () => {
    expect(
      importsOf(`import a from './a';\nimport type { B } from "../b";\nexport { c } from './c';\nexport * from './d';\nconst e = await import('./e');\nimport './f.css';\n// import x from 'commented'\n/* import y from 'block' */`),
    ).toEqual(['./a', '../b', './f.css', './c', './d', './e']);
  });

  it('catches a forbidden edge', () => {
    expect(violation(join('renderer', 'src', 'x.ts'), '../../main/engine/session')).toMatch(/renderer\/ must not import main/);
    expect(violation(join('shared', 'x.ts'), 'node:fs')).toMatch(/shared\/ imports nothing/);
    expect(violation(join('shared', 'codec', 'x.ts'), '../../main/cli')).toMatch(/shared\/ must import only shared/);
    expect(violation(join('main', 'x.ts'), '../renderer/src/store/store')).toMatch(/main\/ must not import renderer/);
    expect(violation(join('renderer', 'src', 'x.ts'), 'node:crypto')).toMatch(/runs in a browser/);
    expect(violation(join('renderer', 'src', 'x.ts'), '../../shared/bytes')).toBeNull();
  });

  it('holds across shared/, main/ and renderer/', () => {
    const problems: string[] = [];
    let files = 0;
    for (const layer of LAYERS) {
      for (const file of sources(layer)) {
        files++;
        for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
          const v = violation(file, spec);
          if (v) problems.push(v);
        }
      }
    }
    expect(files).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  // Recording has one home: the event log's byte layout (log-format.ts) is known only to the
  // recording folder (and its own tests); everyone else writes through EventLog/Recording
  // and reads through the capture readers.
  it("nothing outside main/engine/recording/ touches the event log's internals", () => {
    const home = join('main', 'engine', 'recording');
    const internals = join(home, 'log-format');
    const problems: string[] = [];
    for (const file of [...sources('main'), ...sources('bench'), ...sources('test'), ...sources('scripts')]) {
      if (file.startsWith(home + sep) || file.startsWith(join('test', 'recording') + sep)) continue;
      for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        if (relative(root, resolve(root, dirname(file), spec)).replace(/\.ts$/, '') === internals) problems.push(`${file} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
    expect(importsOf(`import { x } from '../recording/log-format';`)).toEqual(['../recording/log-format']);
  });
});
