// `framescope decode` on byte streams written by an independent encoder (ws's Sender) and by
// hand from the RFC examples.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { EngineEvent } from '../../shared/model';
import { runCli } from '../peers/cli';

// ws exports only its public API; its Sender is reached by path, as an independent encoder.
const Sender: unknown = createRequire(import.meta.url)('../../node_modules/ws/lib/sender.js');

const dir = mkdtempSync(join(tmpdir(), 'framescope-decode-'));
function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

interface SenderFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
  maskBuffer?: Buffer;
  generateMask?: (mask: Buffer) => void;
}
const wsFrame = (data: Buffer, o: Partial<SenderFrameOptions>): Buffer =>
  Buffer.concat(
    (Sender as unknown as { frame(d: Buffer, o: SenderFrameOptions): Buffer[] }).frame(data, {
      fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false, ...o,
    }),
  );

describe('decode', () => {
  // A client stream as ws writes it: masked text, fragmented binary, ping, close.
  const mask = (m: Buffer) => m.set([1, 2, 3, 4]);
  const stream = Buffer.concat([
    wsFrame(Buffer.from('hello'), { mask: true, generateMask: mask }),
    wsFrame(Buffer.alloc(300, 7), { opcode: 2, fin: false, mask: true, generateMask: mask }),
    wsFrame(Buffer.from('p'), { opcode: 9, mask: true, generateMask: mask }),
    wsFrame(Buffer.alloc(70000, 8), { opcode: 0, fin: true, mask: true, generateMask: mask }),
    wsFrame(Buffer.from([0x03, 0xe8]), { opcode: 8, mask: true, generateMask: mask }),
  ]);

  it('--stats prints one JSON line of counts', async () => {
    const r = await runCli(['decode', file('client.bin', stream), '--from', 'client', '--stats']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ frames: 5, bytes: stream.length, messages: 2, violations: 0 });
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('--json prints a frame event per frame with every field', async () => {
    const r = await runCli(['decode', file('client2.bin', stream), '--from', 'client', '--json']);
    expect(r.code).toBe(0);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEvent, { event: 'frame' }>);
    expect(ev.map((e) => [e.event, e.opcode, e.fin, e.length, e.maskKey])).toEqual([
      ['frame', 1, true, 5, '01020304'],
      ['frame', 2, false, 300, '01020304'],
      ['frame', 9, true, 1, '01020304'],
      ['frame', 0, true, 70000, '01020304'],
      ['frame', 8, true, 2, '01020304'],
    ]);
    expect(Buffer.from(ev[0]!.payload, 'base64').toString()).toBe('hello');
    expect(ev[3]!.message).toMatchObject({ opcode: 2, length: 70300 });
    expect(ev[3]!.header).toBe('80ff0000000000011170' + '01020304');
    expect(ev[4]!.close).toEqual({ code: 1000, reason: '' });
  });

  it('the same stream read as a server stream: every client frame is a violation', async () => {
    const r = await runCli(['decode', file('client3.bin', stream), '--from', 'server', '--stats']);
    expect(JSON.parse(r.stdout)).toMatchObject({ frames: 5, violations: 5 });
  });

  it('shows violations and keeps decoding after them (observer stance)', async () => {
    const bytes = Buffer.from('8300' + 'c10548656c6c6f' + '810548656c6c6f', 'hex');
    const r = await runCli(['decode', file('bad.bin', bytes), '--from', 'server']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reserved-opcode/);
    expect(r.stdout).toMatch(/rsv-without-extension/);
    expect(r.stdout.match(/"Hello"/g)).toHaveLength(1);
  });

  it('inflates permessage-deflate with --deflate (RFC 7692 §7.2.3.2, context takeover)', async () => {
    const bytes = Buffer.from('c107f248cdc9c90700' + 'c105f200110000', 'hex');
    const r = await runCli(['decode', file('deflate.bin', bytes), '--from', 'server', '--deflate', '--json']);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEvent, { event: 'frame' }>);
    expect(ev.map((e) => Buffer.from(e.message!.data, 'base64').toString())).toEqual(['Hello', 'Hello']);
  });

  it('a stream cut mid-frame: the partial frame is reported', async () => {
    const r = await runCli(['decode', file('cut.bin', stream.subarray(0, 20)), '--from', 'client', '--json']);
    const ev = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEvent, { event: 'frame' }>);
    expect(ev.at(-1)!.violations!.map((v) => v.id)).toContain('truncated-frame');
  });

  it('--json keeps lines in wire order across small frames and ones too long for the line buffer', async () => {
    // Small lines are written as bytes into the turn's buffer; a line past 1 MiB goes out on
    // its own after them. Order and every byte must hold across both.
    const sizes = [3, 70_000, 5, 900_000, 1, 2_000_000, 0, 40];
    const payloads = sizes.map((n, i) => Buffer.alloc(n, 0x41 + i));
    const stream = Buffer.concat(payloads.map((p) => wsFrame(p, { opcode: 2 })));
    const r = await runCli(['decode', file('mixed.bin', stream), '--from', 'server', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Extract<EngineEvent, { event: 'frame' }>);
    expect(frames.map((f) => f.seq)).toEqual(sizes.map((_, i) => i));
    frames.forEach((f, i) => expect(Buffer.from(f.payload, 'base64').equals(payloads[i]!)).toBe(true));
  });

  it('a missing file is a usage error', async () => {
    const r = await runCli(['decode', join(dir, 'nope.bin'), '--from', 'client']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*nope\.bin: no such file/);
  });
});
