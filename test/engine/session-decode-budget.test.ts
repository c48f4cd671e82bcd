// What the UI's session keeps of decoded messages is bounded: a long session forgets the
// oldest records rather than grow memory without end.
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../shared/model';
import { SessionDecoding } from '../../main/engine/session/session-decode';
import { encodeFrame } from '../../shared/codec/frame-writer';
import { FrameParser } from '../../shared/codec/frame-parser';

/** A JSON-RPC request as the frame event that carries it (one unmasked text frame). */
function request(connection: string, seq: number, id: number): EngineEvent {
  const payload = new TextEncoder().encode(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: ['x'.repeat(100)] }));
  const [f] = new FrameParser({ from: 'server', stance: 'observer', maxPayload: 1 << 20 }).receive(encodeFrame({ fin: true, opcode: 1, payload, mask: false }), seq);
  return { event: 'frame', connection, ...f!, seq, time: seq, from: 'server' } as unknown as EngineEvent;
}

describe('SessionDecoding', () => {
  it('keeps decoded records within its budget, forgetting the oldest first, across connections', () => {
    const budget = 20 * 1024;
    const d = new SessionDecoding(budget);
    for (let i = 0; i < 200; i++) d.event(request(i % 2 ? 'p2' : 'p1', i, i));
    const kept = [...d.records('p1').keys(), ...d.records('p2').keys()].sort((a, b) => a - b);
    // each record weighs its message (~150 B) and 256 B: about 50 fit in 20 KiB
    expect(kept.length).toBeGreaterThan(30);
    expect(kept.length).toBeLessThan(70);
    expect(kept[kept.length - 1]).toBe(199);
    // the kept ones are the newest, without gaps
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 200 - kept.length + i));
    expect(d.record('p2', 199)?.protocol).toBe('json-rpc');
    expect(d.record('p1', 0)).toBeUndefined();
  });

  it('a connection forgotten or decoded again gives its share of the budget back', () => {
    const d = new SessionDecoding(20 * 1024);
    for (let i = 0; i < 40; i++) d.event(request('p1', i, i));
    d.forget('p1');
    for (let i = 0; i < 40; i++) d.event(request('p2', i, i));
    expect(d.records('p2').size).toBe(40);
  });
});
