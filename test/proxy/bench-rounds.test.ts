// The proxy bench's round order (bench/proxy.ts): its ratios pair nginx and Framescope of the
// same round, which is fair only if the two run back to back and take turns to go first.
import { describe, expect, it } from 'vitest';
import { roundOrder, TARGET_IDS, type TargetId } from '../../bench/proxy';

const adjacent = (order: TargetId[]) => Math.abs(order.indexOf('nginx') - order.indexOf('framescope')) === 1;

describe('proxy bench: round order', () => {
  it('runs every target once a round, nginx and Framescope next to each other', () => {
    for (const targets of [['direct', 'nginx', 'framescope'], [...TARGET_IDS], ['framescope', 'pipe', 'nginx', 'journal']] as TargetId[][]) {
      for (let r = 0; r < 9; r++) {
        const order = roundOrder(targets, r);
        expect([...order].sort()).toEqual([...targets].sort());
        expect(adjacent(order)).toBe(true);
      }
    }
  });

  it('alternates which of the two goes first, and rotates the rest', () => {
    const targets = [...TARGET_IDS];
    const firsts = [0, 1, 2, 3].map((r) => {
      const order = roundOrder(targets, r);
      return order.indexOf('nginx') < order.indexOf('framescope') ? 'nginx' : 'framescope';
    });
    expect(firsts).toEqual(['nginx', 'framescope', 'nginx', 'framescope']);
    expect(new Set([0, 1, 2, 3, 4, 5].map((r) => roundOrder(targets, r)[0])).size).toBe(6);
  });

  it('leaves other lists in plain rotation', () => {
    expect(roundOrder(['direct', 'pipe', 'decode'], 1)).toEqual(['pipe', 'decode', 'direct']);
    expect(roundOrder(['framescope', 'journal'], 1)).toEqual(['journal', 'framescope']);
  });
});
