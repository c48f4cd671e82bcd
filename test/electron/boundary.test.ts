// The Electron boundary (docs/design.md: only the shell imports electron): 'electron' is imported
// for its values only by the app entry (main/electron/main.ts) and the preload; every other
// shell module takes Electron injected and imports only its types (erased at build), which
// is what lets these tests load them without Electron. Nothing outside the shell imports it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return /\.(ts|tsx|mts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** How a file imports 'electron': 'value', 'type' (only `import type`), or null. */
function electronImport(text: string): 'value' | 'type' | null {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const stmts = [...code.matchAll(/\b(import|export)\s+(type\s+)?([^'";]*?\s+from\s+)?['"]electron['"]/g), ...code.matchAll(/\b(require|import)\(\s*['"]electron['"]\s*\)/g)];
  if (stmts.length === 0) return null;
  return stmts.every((m) => m[2] === 'type ' || /^type\s/.test(m[2] ?? '')) ? 'type' : 'value';
}

describe('the Electron boundary', () => {
  // (scripts/dev-desktop.ts requires the electron package in Node for the binary's path: not app code)
  const files = ['shared', 'main', 'renderer'].flatMap(sources).map((f) => relative(ROOT, join(ROOT, f)).split('\\').join('/'));

  it('only main/electron/main.ts and the preload import electron values', () => {
    const values = files.filter((f) => electronImport(readFileSync(join(ROOT, f), 'utf8')) === 'value').sort();
    expect(values).toEqual(['main/electron/main.ts', 'main/preload/index.ts']);
  });

  it('electron types are imported only inside main/electron and main/preload', () => {
    const outside = files.filter((f) => !/^main\/(electron|preload)\//.test(f) && electronImport(readFileSync(join(ROOT, f), 'utf8')) !== null);
    expect(outside).toEqual([]);
  });

  it('reads import forms correctly', () => {
    expect(electronImport("import { app } from 'electron';")).toBe('value');
    expect(electronImport("import type { App } from 'electron';")).toBe('type');
    expect(electronImport("const e = require('electron');")).toBe('value');
    expect(electronImport("// import { app } from 'electron'\nimport x from './x';")).toBeNull();
  });
});
