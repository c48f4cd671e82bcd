import { Journal as NewJ } from '../main/engine/journal';
import { Journal as OldJ } from '/tmp/oldjournal/journal';
import { rmSync } from 'node:fs';
import type { EngineEvent } from '../shared/model';
const small: EngineEvent = { event: 'frame', connection: 'p1', seq: 1, time: 1700000000000.123, from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: true, maskKey: 'aabbccdd', length: 40, header: '81a8aabbccdd', payload: Buffer.alloc(40, 65).toString('base64') };
const bigPayload = Buffer.alloc(256 * 1024, 7);
const res: Record<string, number[]> = {};
for (let round = 0; round < 5; round++) {
  for (const [name, J] of [['old', OldJ], ['new', NewJ]] as const) {
    for (const kind of ['small', 'large']) {
      const j = new J('/tmp/zz-j.journal');
      const N = kind === 'small' ? 100_000 : 300;
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        const e = kind === 'small' ? small : { ...small, length: bigPayload.length, payload: bigPayload.toString('base64') };
        j.write(e as EngineEvent);
        if (i % (kind === 'small' ? 20 : 2) === 1) j.flush();
      }
      j.close();
      (res[`${name} ${kind}`] ??= []).push(Number(process.hrtime.bigint() - t) / N);
    }
  }
}
for (const [k, v] of Object.entries(res)) console.log(k, 'min', Math.min(...v).toFixed(0), 'median', v.sort((a, b) => a - b)[2]!.toFixed(0), 'ns/event');
rmSync('/tmp/zz-j.journal', { force: true });
