// Frame events as a recorder would emit them, for tests of what reads and writes them (the
// journal, its reader, the capture reader and writer): fields as given, and the header the
// wire would carry for them, since readers check the two agree.
import type { EngineEvent, FrameRecord } from '../../shared/model';
import { encodeFrameHeader } from '../../shared/codec/frame-writer';
import { fromHex } from '../../shared/bytes';

export type FrameEvent = Extract<EngineEvent, { event: 'frame' }>;

/** Bytes as the engine holds them: a plain Uint8Array view, never a Buffer (toEqual tells them apart). */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Frame `seq` of `connection`: even seqs from the client (masked), odd from the server; binary, FIN. */
export function frameEvent(connection: string, seq: number, payload: Uint8Array, extra: Partial<FrameRecord> = {}): FrameEvent {
  const f: FrameEvent = {
    event: 'frame',
    connection,
    seq,
    time: 1_700_000_000_000 + seq + 0.125,
    from: seq % 2 ? 'server' : 'client',
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: 2,
    masked: seq % 2 === 0,
    maskKey: seq % 2 ? null : fromHex('0a0b0c0d'),
    length: payload.length,
    header: new Uint8Array(0),
    payload: plain(payload),
    ...extra,
  };
  if (f.message) f.message = { ...f.message, data: plain(f.message.data) };
  f.header = encodeFrameHeader({ fin: f.fin, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3, opcode: f.opcode, mask: f.masked, maskKey: f.maskKey ?? undefined, length: f.length });
  return f;
}
