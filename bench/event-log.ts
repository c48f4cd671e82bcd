// The event log (main/engine/recording/event-log.ts) against NDJSON written the same way:
// CPU time (user + system of this process) per frame to append and write
//   - 200,000 small frames (40 B payload), 200 a turn of the event loop
//   - 2,000 large frames (256 KiB payload), 4 a turn
// NDJSON: each frame's JSON form (header and mask key hex, payload and message data base64
// via Buffer.toString('base64')) through JSON.stringify, the turn's lines joined and written
// with one writevSync a turn, as the log writes its records. The frames are built before
// timing; each variant writes a fresh file in a temp dir, then the file is deleted. Rounds
// alternate which goes first; the median of each is printed.
//
//   node --import tsx bench/event-log.ts [--rounds=5]
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writevSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '../shared/model';
import { EventLog } from '../main/engine/recording/event-log';

type FrameEvent = Extract<EngineEvent, { event: 'frame' }>;

function frames(count: number, size: number): FrameEvent[] {
  const block = randomBytes(size + 4096);
  return Array.from({ length: count }, (_, i): FrameEvent => {
    const client = i % 2 === 0;
    const payload = new Uint8Array(block.buffer, block.byteOffset + (i % 4096), size);
    return {
      event: 'frame',
      connection: 'p1',
      seq: i,
      time: 1_700_000_000_000 + i * 0.25,
      from: client ? 'client' : 'server',
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 2,
      masked: client,
      maskKey: client ? Uint8Array.of(1, 2, 3, 4) : null,
      length: size,
      header: size < 126 ? Uint8Array.of(0x82, (client ? 0x80 : 0) | size) : Uint8Array.of(0x82, client ? 0xff : 0x7f, 0, 0, 0, 0, 0, size >>> 16, (size >>> 8) & 0xff, size & 0xff),
      payload,
      message: { opcode: 2, length: size, data: payload },
    };
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

function ndjsonLine(f: FrameEvent): string {
  const { message, ...rest } = f;
  const json = {
    ...rest,
    maskKey: f.maskKey ? hex(f.maskKey) : null,
    header: hex(f.header),
    payload: b64(f.payload),
    ...(message ? { message: { ...message, data: b64(message.data) } } : {}),
  };
  return JSON.stringify(json) + '\n';
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Result {
  cpuUs: number;
  bytes: number;
}

async function runLog(path: string, list: FrameEvent[], perTurn: number): Promise<Result> {
  const start = process.cpuUsage();
  const log = new EventLog(path);
  for (let i = 0; i < list.length; i += perTurn) {
    for (let k = i; k < Math.min(list.length, i + perTurn); k++) log.append(list[k]!);
    await turn();
  }
  log.close();
  const used = process.cpuUsage(start);
  return { cpuUs: used.user + used.system, bytes: statSync(path).size };
}

async function runNdjson(path: string, list: FrameEvent[], perTurn: number): Promise<Result> {
  const start = process.cpuUsage();
  const fd = openSync(path, 'w', 0o600);
  let at = 0;
  for (let i = 0; i < list.length; i += perTurn) {
    let text = '';
    for (let k = i; k < Math.min(list.length, i + perTurn); k++) text += ndjsonLine(list[k]!);
    await turn();
    const buf = Buffer.from(text);
    at += writevSync(fd, [buf], at);
  }
  closeSync(fd);
  const used = process.cpuUsage(start);
  return { cpuUs: used.user + used.system, bytes: statSync(path).size };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'framescope-bench-log-'));
  try {
    const cases = [
      { name: '200k small (40 B)', list: frames(200_000, 40), perTurn: 200 },
      { name: '2k large (256 KiB)', list: frames(2_000, 256 * 1024), perTurn: 4 },
    ];
    console.log(`event log vs NDJSON, CPU µs per frame (user + system), median of ${rounds} rounds; load ${loadavg()[0]!.toFixed(1)}\n`);
    console.log('| frames | event log µs/frame | NDJSON µs/frame | NDJSON ÷ log | log file | NDJSON file |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const c of cases) {
      const log: number[] = [];
      const nd: number[] = [];
      let sizes = { log: 0, nd: 0 };
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? ['log', 'nd'] : ['nd', 'log'];
        for (const which of order) {
          const path = join(dir, which);
          const res = which === 'log' ? await runLog(path, c.list, c.perTurn) : await runNdjson(path, c.list, c.perTurn);
          (which === 'log' ? log : nd).push(res.cpuUs / c.list.length);
          sizes = { ...sizes, [which]: res.bytes };
          rmSync(path);
        }
      }
      const l = median(log);
      const n = median(nd);
      const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
      console.log(`| ${c.name} | ${l.toFixed(2)} | ${n.toFixed(2)} | ${(n / l).toFixed(1)}× | ${mb(sizes.log)} | ${mb(sizes.nd)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
