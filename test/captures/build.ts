// Hand-made capture records for tests: frames whose header bytes, mask and payload agree
// (built with the codec's own header encoder and the capture's field rules).
import { encodeFrameHeader } from '../../shared/codec/frame-writer';
import type { CaptureFile, ConnectionRecord, FrameRecord, Side } from '../../shared/model';

export interface FrameSpec {
  seq: number;
  time: number;
  from: Side;
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv1?: boolean;
  /** 8 hex digits; client frames get a fixed key when absent, server frames none */
  maskKey?: string | null;
  /** store only this many payload bytes (truncated: true) */
  stored?: number;
  lengthEncoding?: 7 | 16 | 64;
  extra?: Partial<FrameRecord>;
}

/** Bytes as the engine holds them: a plain Uint8Array (a view), never a Buffer. */
export const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function frame(s: FrameSpec): FrameRecord {
  const payload = typeof s.payload === 'string' ? Buffer.from(s.payload, 'utf8') : Buffer.from(s.payload ?? []);
  const maskKey = s.maskKey === undefined ? (s.from === 'client' ? 'a1b2c3d4' : null) : s.maskKey;
  const header = encodeFrameHeader({
    fin: s.fin ?? true,
    rsv1: s.rsv1 ?? false,
    opcode: s.opcode,
    mask: maskKey !== null,
    maskKey: maskKey ? Buffer.from(maskKey, 'hex') : undefined,
    length: payload.length,
    lengthEncoding: s.lengthEncoding,
  });
  const kept = s.stored !== undefined ? payload.subarray(0, s.stored) : payload;
  const f: FrameRecord = {
    seq: s.seq,
    time: s.time,
    from: s.from,
    fin: s.fin ?? true,
    rsv1: s.rsv1 ?? false,
    rsv2: false,
    rsv3: false,
    opcode: s.opcode,
    masked: maskKey !== null,
    maskKey: maskKey === null ? null : u8(Buffer.from(maskKey, 'hex')),
    length: payload.length,
    header,
    payload: u8(kept),
  };
  if (s.stored !== undefined) {
    f.truncated = true;
    f.stored = s.stored;
  }
  if (s.opcode === 8) f.close = payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') } : { code: null, reason: '' };
  return { ...f, ...s.extra };
}

export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export function connection(over: Partial<ConnectionRecord> & { id: string; frames: FrameRecord[] }): ConnectionRecord {
  const t = over.frames[0]?.time ?? 1_700_000_000_000;
  return {
    mode: 'client',
    url: 'ws://127.0.0.1:9001/odd',
    client: '127.0.0.1:50001',
    server: '127.0.0.1:9001',
    tls: null,
    startedAt: t - 5,
    endedAt: (over.frames.at(-1)?.time ?? t) + 1,
    handshake: {
      request: {
        method: 'GET',
        target: '/odd',
        version: 'HTTP/1.1',
        headers: [['Host', '127.0.0.1:9001'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']],
      },
      response: {
        version: 'HTTP/1.1',
        status: 101,
        reason: 'Switching Protocols',
        headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=']],
      },
      requestAt: t - 3,
      responseAt: t - 2,
      accept: { key: 'dGhlIHNhbXBsZSBub25jZQ==', expected: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', received: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', valid: true },
      protocol: null,
      extensions: [],
      checks: [{ id: 'status-101', ok: true, detail: 'The server answered 101 Switching Protocols.' }],
    },
    close: { code: 1000, reason: '', by: 'client', clean: true },
    errors: [],
    ...over,
  };
}

export function capture(connections: ConnectionRecord[]): CaptureFile {
  return { format: 'framescope.capture', version: 1, createdAt: '2026-01-02T03:04:05.678Z', connections };
}

/**
 * `n` frames of a plausible chat: masked client text, server text and binary replies, a
 * ping/pong now and then. Generated, never held: a million of them stream to a file.
 */
export function* syntheticFrames(n: number, start = 1_795_000_000_000): Generator<FrameRecord> {
  const texts = ['{"op":"tick","n":1}', 'hello', '{"price":101.25,"sym":"ABC"}'].map((t) => Buffer.from(t));
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    const from: Side = k < 4 ? 'client' : 'server';
    const opcode = k === 8 ? 9 : k === 9 ? 10 : k === 7 ? 2 : 1;
    const payload = opcode === 2 ? Buffer.from([i & 255, (i >> 8) & 255, 0, 1, 2, 3]) : texts[i % 3]!;
    const key = from === 'client' ? ((i * 2654435761) >>> 0).toString(16).padStart(8, '0') : null;
    yield frame({ seq: i, time: start + i * 0.25, from, opcode, payload, maskKey: key });
  }
}
