// A proxied connection Framescope intervened in, with consistent bytes: headers from the
// codec's own encoder, real mask keys, payloads compressed with zlib as permessage-deflate
// does (raw deflate, sync flush, the 00 00 ff ff tail removed; no context takeover agreed,
// so every message stands alone). test/fixtures/intervened.wscap.json is this capture
// written out (test/captures/legs.test.ts holds the two equal).
//
// What happened, by seq:
//   0  client "hello"                           unmarked: both legs
//   1  server "hi there" (compressed)           unmarked: both legs
//   2  client "part one, " (not final)          held #1 …
//   3  client ping                              goes on while #1 is held
//   4  client "part two" (final)                … #1 forwarded: both legs, after the ping on the server leg
//   5  server pong
//   6  client {"op":"buy","qty":1} (compressed) #2 replaced: app leg only
//   7  Framescope → server {"op":"buy","qty":100} (its own deflater): server leg only
//   8  server "ok"                              unmarked: both legs
//   9  server "secret"                          #3 dropped: server leg only
//  10  Framescope → app "notice from framescope" (compressed), #4 injected: app leg only
//  11  client close 1000, 12 server close 1000
import { constants, deflateRawSync } from 'node:zlib';
import type { CaptureFile, FrameRecord } from '../../shared/model';
import { capture, closePayload, connection, frame, u8 } from './build';

export const T0 = 1_795_100_000_000;

/** A message as permessage-deflate sends it (RFC 7692 §7.2.1). */
export function deflateMessage(text: string): Buffer {
  const out = deflateRawSync(Buffer.from(text, 'utf8'), { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

function compressed(seq: number, from: 'client' | 'server', text: string, extra: Partial<FrameRecord>, maskKey?: string): FrameRecord {
  const data = Buffer.from(text, 'utf8');
  return frame({
    seq,
    time: T0 + seq * 10,
    from,
    opcode: 1,
    rsv1: true,
    payload: deflateMessage(text),
    maskKey,
    extra: { message: { opcode: 1, length: data.length, data: u8(data) }, ...extra },
  });
}

export function intervenedFrames(): FrameRecord[] {
  const t = (seq: number) => T0 + seq * 10;
  return [
    frame({ seq: 0, time: t(0), from: 'client', opcode: 1, payload: 'hello', maskKey: '11223344' }),
    compressed(1, 'server', 'hi there', {}),
    frame({ seq: 2, time: t(2), from: 'client', opcode: 1, fin: false, payload: 'part one, ', maskKey: '0a0b0c0d', extra: { intervention: { id: 1 } } }),
    frame({ seq: 3, time: t(3), from: 'client', opcode: 9, payload: 'p', maskKey: 'deadbeef' }),
    frame({
      seq: 4,
      time: t(4),
      from: 'client',
      opcode: 0,
      payload: 'part two',
      maskKey: '01020304',
      extra: {
        message: { opcode: 1, length: 18, data: u8(Buffer.from('part one, part two')) },
        intervention: { id: 1, decision: 'forwarded' },
      },
    }),
    frame({ seq: 5, time: t(5), from: 'server', opcode: 10, payload: 'p' }),
    compressed(6, 'client', '{"op":"buy","qty":1}', { intervention: { id: 2, decision: 'replaced' } }, 'a1b2c3d4'),
    compressed(7, 'client', '{"op":"buy","qty":100}', { by: 'framescope', intervention: { id: 2, recompressed: true } }, '5f3a9c01'),
    frame({ seq: 8, time: t(8), from: 'server', opcode: 1, payload: 'ok' }),
    frame({ seq: 9, time: t(9), from: 'server', opcode: 1, payload: 'secret', extra: { intervention: { id: 3, decision: 'dropped' } } }),
    compressed(10, 'server', 'notice from framescope', { by: 'framescope', intervention: { id: 4, injected: true, recompressed: true } }),
    frame({ seq: 11, time: t(11), from: 'client', opcode: 8, payload: closePayload(1000), maskKey: 'cafef00d' }),
    frame({ seq: 12, time: t(12), from: 'server', opcode: 8, payload: closePayload(1000) }),
  ];
}

/** The frames each leg carried, in order (worked out by hand from the story above). */
export const APP_LEG = [0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12];
export const SERVER_LEG = [0, 1, 3, 2, 4, 5, 7, 8, 9, 11, 12];

const DEFLATE = 'permessage-deflate; client_no_context_takeover; server_no_context_takeover';

export function intervenedCapture(): CaptureFile {
  const base = connection({ id: 'p1', frames: [] });
  const hs = base.handshake!;
  return capture([
    connection({
      id: 'p1',
      mode: 'proxy',
      url: 'ws://127.0.0.1:9001/trade',
      client: '127.0.0.1:50001',
      server: '127.0.0.1:9001',
      startedAt: T0 - 5,
      endedAt: T0 + 130,
      handshake: {
        ...hs,
        request: { ...hs.request, target: '/trade', headers: [...hs.request.headers, ['Sec-WebSocket-Extensions', 'permessage-deflate; client_no_context_takeover']] },
        response: { ...hs.response!, headers: [...hs.response!.headers, ['Sec-WebSocket-Extensions', DEFLATE]] },
        extensions: [{ name: 'permessage-deflate', params: { client_no_context_takeover: true, server_no_context_takeover: true } }],
        requestAt: T0 - 3,
        responseAt: T0 - 2,
      },
      close: { code: 1000, reason: '', by: 'client', clean: true },
      frames: intervenedFrames(),
    }),
  ]);
}
