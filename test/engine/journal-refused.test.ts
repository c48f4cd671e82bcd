// A file system that opens a file for direct I/O and then refuses the writes (EINVAL, as
// some do for alignments they do not support): the journal must fall back to the page cache
// for good, for the write that was refused and for the ones queued behind it, and lose
// nothing. The refusal is simulated: node:fs's asynchronous `writev` (the journal uses it
// only for direct writes) answers EINVAL without writing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '../../shared/model';

const refused: number[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writev = (_fd: number, buffers: Buffer[], _position: number, callback: (err: NodeJS.ErrnoException | null, n: number) => void) => {
    refused.push(buffers.length);
    const err: NodeJS.ErrnoException = Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL', errno: -22, syscall: 'writev' });
    setImmediate(() => callback(err, 0));
  };
  return { ...fs, default: { ...fs, writev }, writev };
});

const { Journal } = await import('../../main/engine/journal');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('journal: direct writes refused after the file was opened for them', () => {
  it('go through the page cache from then on, the refused one and those queued behind it, nothing lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'framescope-journal-'));
    dirs.push(dir);
    const path = join(dir, 'r.journal');
    const j = new Journal(path);
    const want: string[] = [];
    const put = (i: number, n: number) => {
      const e: EngineEvent = { event: 'error', connection: `r${i}`, kind: 'protocol', message: String(i % 10).repeat(n) };
      j.write(e);
      want.push(JSON.stringify(e) + '\n');
    };
    // In one turn: each line past the first makes the buffer drain, the first drain's
    // write goes to the thread pool, the next ones queue behind it.
    for (let i = 0; i < 4; i++) put(i, 300_000);
    await vi.waitFor(() => expect(readFileSync(path, 'utf8')).toBe(want.join('')), { timeout: 5000 });
    expect(refused).toHaveLength(1); // asked once; the queued ones never went to it
    // Later turns: the page cache only.
    for (let i = 4; i < 8; i++) {
      put(i, 300_000);
      await new Promise((r) => setImmediate(r));
    }
    j.close();
    expect(readFileSync(path, 'utf8')).toBe(want.join(''));
    expect(refused).toHaveLength(1);
    expect([j.written, j.lost, j.failure, j.directBytes]).toEqual([want.length, 0, null, 0]);
  });
});
