// Events a test can make again from their index alone: a child process appends them, the
// test reads the log back and compares every record with what the index says it must be.
import type { EngineEvent } from '../../shared/model';

/** Every LARGE_EVERY-th frame carries a 256 KiB payload; the others 40 bytes. */
export const LARGE_EVERY = 25;
export const LARGE = 256 * 1024;

function fill(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const BASE = 2 * LARGE;
let block: Uint8Array | null = null;
const base = (): Uint8Array => (block ??= fill(BASE, 12345));

/** Event `i` of a test log: an open first, then frames of that connection. */
export function eventAt(i: number): EngineEvent {
  if (i === 0) return { event: 'open', connection: 'k1', mode: 'proxy', url: 'ws://127.0.0.1:9/kill', client: '127.0.0.1:2', server: '127.0.0.1:9', startedAt: 1000 };
  const seq = i - 1;
  const size = i % LARGE_EVERY === 7 ? LARGE : 40;
  const client = i % 2 === 0;
  // A view of one random block at an offset of its own: as distinct as fresh bytes, and free
  // to make, so the child spends its turns writing (where a kill can cut a record).
  const at = (i * 4099) % (BASE - LARGE);
  const payload = base().subarray(at, at + size);
  return {
    event: 'frame',
    connection: 'k1',
    seq,
    time: 1000 + i * 0.5,
    from: client ? 'client' : 'server',
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: 2,
    masked: client,
    maskKey: client ? fill(4, i + 1) : null,
    length: size,
    header: Uint8Array.of(0x82, client ? 0xfe : 0x7e),
    payload,
    message: { opcode: 2, length: size, data: payload },
  };
}
