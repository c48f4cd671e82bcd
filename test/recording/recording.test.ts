// A recording to a capture file (recording/recording.ts, what connect and proxy --capture
// use): the capture is written from the journal at the end and the journal removed; after a
// failed journal write, what was kept in memory reaches the capture too.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFileJson, EngineEvent } from '../../shared/model';
import { frameToJson } from '../../shared/records';
import { Recording } from '../../main/engine/recording/recording';
import type { WriteFn } from '../../main/engine/recording/event-log';
import { frameEvent } from '../peers/frame-events';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-recording-'));
  dirs.push(d);
  return d;
}

const open: EngineEvent = { event: 'open', connection: 'p1', mode: 'proxy', url: 'ws://127.0.0.1:1/', client: '127.0.0.1:2', server: '127.0.0.1:1', startedAt: 1_700_000_000_000, tls: null };
const frames = Array.from({ length: 20 }, (_, seq) => frameEvent('p1', seq, Buffer.alloc(seq % 5 === 0 ? 70_000 : 40, seq + 1)));
const close: EngineEvent = { event: 'close', connection: 'p1', code: 1000, reason: '', by: 'client', clean: true };

/** A disk that takes `room` bytes, then fails every write (ENOSPC), the one that crosses it in part. */
function filling(room: number): WriteFn {
  let written = 0;
  return (fd, pieces, position) => {
    const whole = Buffer.concat(pieces as Uint8Array[]);
    const fits = Math.max(0, Math.min(whole.length, room - written));
    if (fits === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const n = writeSync(fd, whole, 0, fits, position);
    written += n;
    return n;
  };
}

function record(capture: string, write?: WriteFn): { failures: string[]; result: ReturnType<Recording['finish']> } {
  const failures: string[] = [];
  const rec = new Recording(capture, (err) => failures.push(err.code ?? ''), { write });
  rec.append(open);
  for (const f of frames) rec.append(f);
  rec.append(close);
  return { failures, result: rec.finish() };
}

describe('Recording', () => {
  it('writes the capture from its journal, stamps the end, and removes the journal', () => {
    const capture = join(scratch(), 'c.wscap.json');
    const { failures, result } = record(capture);
    expect(failures).toEqual([]);
    expect(result).toMatchObject({ connections: 1, frames: 20, warnings: [], failure: null, inMemory: 0, stripped: 0 });
    expect(existsSync(`${capture}.journal`)).toBe(false);
    const file = JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson;
    const c = file.connections[0]!;
    expect(c.frames).toEqual(frames.map(({ event: _e, connection: _c, ...f }) => frameToJson(f)));
    expect(c.close).toEqual({ code: 1000, reason: '', by: 'client', clean: true });
    expect(c.endedAt).toBeGreaterThan(0);
  });

  for (const room of [0, 100, 80_000]) {
    it(`a journal the disk stops taking after ${room} bytes: told once, the events kept in memory are in the capture too`, () => {
      const capture = join(scratch(), 'c.wscap.json');
      const { failures, result } = record(capture, filling(room));
      expect(failures).toEqual(['ENOSPC']);
      expect(result.failure?.code).toBe('ENOSPC');
      expect(result.inMemory).toBeGreaterThan(0);
      expect(result).toMatchObject({ connections: 1, frames: 20, stripped: 0 });
      const c = (JSON.parse(readFileSync(capture, 'utf8')) as CaptureFileJson).connections[0]!;
      expect(c.frames).toEqual(frames.map(({ event: _e, connection: _c, ...f }) => frameToJson(f)));
      expect(c.close).toMatchObject({ code: 1000, clean: true });
    });
  }
});
