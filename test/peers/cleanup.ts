// Undo steps for a test file: pushed as a test sets things up, run in reverse after each
// test; and scratch folders removed the same way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export function afterEachCleanup(): { cleanup: Array<() => Promise<unknown> | unknown>; scratch: (prefix: string) => string } {
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const scratch = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), `framescope-${prefix}-`));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return { cleanup, scratch };
}
