// Every frame the endpoint writes carries the caller's clock: a close frame sent because the
// peer broke the protocol is timed like the frame that caused it, never by another clock.
import { describe, expect, it } from 'vitest';
import { WebSocketEndpoint } from '../../shared/codec/endpoint';
import { encodeFrame } from '../../shared/codec/frame-writer';

const key = () => new Uint8Array([1, 2, 3, 4]);

function framesOut(ep: WebSocketEndpoint, events: ReturnType<WebSocketEndpoint['receive']>) {
  return events.flatMap((e) => (e.type === 'frame' ? [{ from: e.frame.from, opcode: e.frame.opcode, time: e.frame.time }] : []));
}

describe('the endpoint times its own frames with the time it is given', () => {
  // A caller's clock far from Date.now(): a frame timed by Date.now() stands out.
  const T = 5_000.25;

  it('a failure the parser finds (reserved opcode): the close frame sent has the time of the chunk', () => {
    const ep = new WebSocketEndpoint({ role: 'client', stance: 'endpoint', maskKey: key });
    const frames = framesOut(ep, ep.receive(encodeFrame({ fin: true, opcode: 3, payload: new Uint8Array(0), mask: false }), T));
    expect(frames).toEqual([
      { from: 'server', opcode: 3, time: T },
      { from: 'client', opcode: 8, time: T },
    ]);
  });

  it('a failure found on the assembled message (bad UTF-8): the close frame has the frame time', () => {
    const ep = new WebSocketEndpoint({ role: 'client', stance: 'endpoint', maskKey: key });
    const frames = framesOut(ep, ep.receive(encodeFrame({ fin: true, opcode: 1, payload: new Uint8Array([0xff]), mask: false }), T));
    expect(frames.map((f) => [f.from, f.opcode, f.time])).toEqual([
      ['server', 1, T],
      ['client', 8, T],
    ]);
  });
});
