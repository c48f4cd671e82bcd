// A reader slower than Framescope's output (a terminal, a pipe into a slow program): memory
// must not grow with what waits to be printed. `decode` waits for the reader; the proxy,
// which cannot hold live traffic for it, skips events past its limit and says how many.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BIN } from '../peers/cli';
import { startWsServer } from '../peers/ws-servers';
import { encodeFrame } from '../../shared/codec/frame-writer';
import type { CaptureFileJson } from '../../shared/model';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the process's resident memory stops changing (it has stalled or finished). */
async function settledRss(pid: number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = rssMiB(pid);
    if (Math.abs(now - last) < 1) return now;
    last = now;
    await sleep(300);
  }
  return last;
}

function spawnPaused(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(() => child.kill('SIGKILL'));
  child.stdout!.pause();
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

/** Reads the rest of stdout; resolves with its line count when the process has exited. */
function drain(child: ChildProcess): Promise<{ lines: number; code: number | null }> {
  return new Promise((resolve) => {
    let lines = 0;
    child.stdout!.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) lines++;
    });
    child.stdout!.resume();
    child.once('close', (code) => resolve({ lines, code }));
  });
}

describe('a slow reader of stdout', () => {
  it('decode waits for it: memory stays flat while it does not read, and every line arrives', async () => {
    // ~160 MB of human view for 1.5 M small frames: far more than the limit of what may wait.
    const frame = Buffer.from(encodeFrame({ fin: true, opcode: 1, payload: Buffer.from('{"type":"tick","n":12345}'), mask: false }));
    const frames = 1_500_000;
    const file = join(mkdtempSync(join(tmpdir(), 'framescope-slow-')), 'stream.bin');
    writeFileSync(file, Buffer.concat(Array.from({ length: 1000 }, () => frame)).toString('latin1').repeat(frames / 1000), 'latin1');
    const { child, stderr } = spawnPaused(['decode', file, '--from', 'server']);
    const rss = await settledRss(child.pid!);
    // Without the wait the pending output alone (~160 MB of lines) would be held in memory.
    expect(rss).toBeLessThan(150);
    const { lines, code } = await drain(child);
    expect(code, stderr()).toBe(0);
    expect(lines).toBe(frames);
  }, 120_000);

  it('the proxy skips events it cannot print, says how many on stderr, and the capture keeps all', async () => {
    const server = await startWsServer();
    cleanup.push(() => server.close());
    const capture = join(mkdtempSync(join(tmpdir(), 'framescope-slow-')), 'cap.json');
    const { child, stderr } = spawnPaused(['proxy', '--listen', '127.0.0.1:0', '--target', server.url, '--json', '--capture', capture]);
    const port = await new Promise<number>((resolve) => {
      const check = () => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr());
        if (m) resolve(Number(m[1]));
        else setTimeout(check, 20);
      };
      check();
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    // 300 echoes of 64 KiB: 600 --json lines of ~88 KB, about 52 MB the reader does not take.
    const payload = Buffer.alloc(64 * 1024, 7);
    let echoes = 0;
    const all = new Promise<void>((resolve) =>
      ws.on('message', () => {
        if (++echoes === 300) resolve();
      }),
    );
    for (let i = 0; i < 300; i++) ws.send(payload);
    await all;
    const out = drain(child);
    // The reader caught up: the next event says what was skipped.
    ws.send('after');
    await new Promise((r) => ws.once('message', r));
    ws.close(1000);
    await new Promise((r) => ws.once('close', r));
    await sleep(100);
    child.kill('SIGTERM');
    const { lines, code } = await out;
    expect(code, stderr()).toBe(0);
    const skipped = /stdout fell behind the traffic: (\d+) events not printed \(the capture has them\)/.exec(stderr());
    expect(skipped, stderr()).not.toBeNull();
    const frames = (JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson).connections[0]!.frames;
    expect(frames.filter((f) => f.opcode === 2)).toHaveLength(600);
    // Every event was printed or counted as skipped: open, handshake, the frames, close.
    const events = 2 + frames.length + 1;
    expect(lines + Number(skipped![1])).toBe(events);
  }, 120_000);
});
