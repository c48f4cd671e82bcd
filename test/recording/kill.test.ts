// What a kill -9 can lose (main/engine/recording/event-log.ts): the records appended since
// the last write. A child appends frames (40 B and 256 KiB) turn after turn and prints, each
// turn, how many records the log has written: a number it prints is a count of records
// whose write had returned, so they were in the file before the kill. Killed at random
// moments, the log must read back every one of those exactly, and any whole record after
// them too; at most the last record is cut, and that is warned about.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanLog } from '../../main/engine/recording/log-reader';
import { eventAt } from './log-events';

const dir = mkdtempSync(join(tmpdir(), 'framescope-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child until it reports at least `after` records written, then kills it (SIGKILL). */
function killAfter(path: string, after: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/recording/log-child.ts', 'kill', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let reported = 0;
    let rest = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const l of lines) reported = Math.max(reported, Number(l));
      if (reported >= after && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the child ended by itself (${code}): ${stderr}`));
      else resolve(reported);
    });
  });
}

/** The same frame with its bytes as text (vitest compares Uint8Arrays element by element: slow). */
const plain = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `${x.constructor.name}:${Buffer.from(x).toString('base64')}` : x));

describe('kill -9 while recording', () => {
  it('every record reported written reads back exactly; at most a cut last record, warned', async () => {
    // Random moments: how far the child gets before the kill, and where in a turn's write
    // the kill lands (the child keeps writing while the report travels).
    const afters = Array.from({ length: 5 }, () => 1 + Math.floor(Math.random() * 1500));
    for (const [i, after] of afters.entries()) {
      const path = join(dir, `kill-${i}.journal`);
      const reported = await killAfter(path, after);
      expect(reported).toBeGreaterThanOrEqual(after);
      const warnings: string[] = [];
      let n = 0;
      for (const { event } of scanLog(path, warnings)) {
        expect(plain(event), `record ${n} of a log killed after ${reported}`).toBe(plain(eventAt(n)));
        n++;
      }
      expect(n).toBeGreaterThanOrEqual(reported);
      expect(warnings.length).toBeLessThanOrEqual(1);
      for (const w of warnings) expect(w).toMatch(/: the last record is cut off \(.*\); its \d+ bytes were dropped \(at byte \d+\)$/);
      rmSync(path);
    }
  });
});
