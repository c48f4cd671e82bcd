// The replay comparison (shared/replay.ts): answers aligned by order, JSON told by path.
import { describe, expect, it } from 'vitest';
import { compareMessages, comparisonLines } from '../../shared/replay';

const text = (s: string) => ({ opcode: 1 as const, data: new TextEncoder().encode(s) });
const bin = (...b: number[]) => ({ opcode: 2 as const, data: new Uint8Array(b) });

describe('compareMessages', () => {
  it('counts same, changed, missing and extra by position', () => {
    const c = compareMessages([text('a'), text('b'), bin(1)], [text('a'), text('B')]);
    expect(c).toMatchObject({ same: 1, changed: 1, missing: 1, extra: 0 });
    expect(c.items.map((i) => i.status)).toEqual(['same', 'changed', 'missing']);
    const d = compareMessages([text('a')], [text('a'), bin(1, 2)]);
    expect(d).toMatchObject({ same: 1, extra: 1 });
    expect(d.items[1]!.replayed).toEqual({ opcode: 2, length: 2, preview: '01 02' });
  });

  it('diffs JSON objects and arrays by path, with odd keys quoted and absent sides left out', () => {
    const c = compareMessages(
      [text('{"a":{"b":1,"gone":true},"list":[1,2,3],"odd key":"x"}')],
      [text('{"a":{"b":2},"list":[1,5],"odd key":"y","new":[null]}')],
    );
    expect(c.items[0]!.diff).toEqual([
      { path: '$.a.b', old: '1', new: '2' },
      { path: '$.a.gone', old: 'true' },
      { path: '$.list[1]', old: '2', new: '5' },
      { path: '$.list[2]', old: '3' },
      { path: '$["odd key"]', old: '"x"', new: '"y"' },
      { path: '$.new', new: '[null]' },
    ]);
    expect(comparisonLines(c)).toContain('      $.a.gone: true → (absent)');
  });

  it('does not parse text that is not an object or array, and bounds what it lists', () => {
    expect(compareMessages([text('42')], [text('43')]).items[0]!.diff).toBeUndefined();
    expect(compareMessages([text('{"a":')], [text('{"a":1}')]).items[0]!.diff).toBeUndefined();
    const wide = (v: number) => text(JSON.stringify(Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, v]))));
    const c = compareMessages([wide(1)], [wide(2)]);
    expect(c.items[0]!.diff).toHaveLength(50);
    expect(c.items[0]!.diffTruncated).toBe(true);
    const many = compareMessages(Array.from({ length: 1500 }, () => text('x')), []);
    expect(many.missing).toBe(1500);
    expect(many.items).toHaveLength(1000);
    expect(many.itemsTruncated).toBe(true);
  });
});
