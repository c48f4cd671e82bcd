// The bookkeeping of requests waiting for answers has limits: a peer that never answers
// must not grow memory without end.
import { describe, expect, it } from 'vitest';
import { MAX_OPEN, Pairs, UNANSWERED_LISTED, setBounded } from '../../shared/decoders/pairing';
import type { Decoded } from '../../shared/decoders/types';

const req = (id: number): Decoded => ({ protocol: 'json-rpc', type: 'request', id: String(id), summary: '' });

describe('Pairs', () => {
  it('keeps at most MAX_OPEN requests waiting: the oldest are given up on, still reported unanswered, and the list is capped', () => {
    const pairs = new Pairs('json-rpc');
    const n = MAX_OPEN + 2_500;
    for (let i = 0; i < n; i++) pairs.request('client', String(i), i, i, req(i));
    // The newest still pair.
    const answer: Decoded = { protocol: 'json-rpc', type: 'result', summary: '' };
    expect(pairs.answer('server', String(n - 1), n + 1, answer)).toBe(true);
    expect(answer.pairedWith).toBe(n - 1);
    // The oldest were given up on: their answers no longer find them.
    expect(pairs.answer('server', '0', n + 2, { protocol: 'json-rpc', type: 'result', summary: '' })).toBe(false);
    const unanswered = pairs.unanswered();
    expect(unanswered).toHaveLength(UNANSWERED_LISTED);
    // the oldest first (given up on, never answered)
    expect(unanswered[0]!.seq).toBe(0);
  });

  it('setBounded forgets the oldest entry past its size', () => {
    const m = new Map<number, string>();
    for (let i = 0; i < 10; i++) setBounded(m, i, String(i), 4);
    expect([...m.keys()]).toEqual([6, 7, 8, 9]);
    setBounded(m, 7, 'again', 4);
    expect([...m.keys()]).toEqual([6, 7, 8, 9]);
  });
});
