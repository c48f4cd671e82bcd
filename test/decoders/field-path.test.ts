// The field test of the UI's filter box: PATH OP VALUE on a decoded message's value.
import { describe, expect, it } from 'vitest';
import { looksLikeFieldQuery, matchField, parseFieldQuery, type FieldQuery } from '../../shared/decoders/field-path';

const q = (text: string): FieldQuery => {
  const r = parseFieldQuery(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
};
const value = { payload: { user: { id: 42, name: 'Ada' }, tags: ['a', 'b'] }, ok: true, n: null };

describe('field tests', () => {
  it('walks objects and lists, and compares as JSON or text', () => {
    expect(q('payload.user.id = 42')).toEqual({ path: ['payload', 'user', 'id'], op: '=', value: 42 });
    expect(q('[1].x != "y"')).toEqual({ path: [1, 'x'], op: '!=', value: 'y' });
    expect(matchField(q('payload.user.id = 42'), value)).toBe(true);
    expect(matchField(q('payload.user.id = "42"'), value)).toBe(true);
    expect(matchField(q('payload.user.id = 7'), value)).toBe(false);
    expect(matchField(q('payload.user.id > 41'), value)).toBe(true);
    expect(matchField(q('payload.user.id < 41'), value)).toBe(false);
    expect(matchField(q('payload.user.name ~ ad'), value)).toBe(true);
    expect(matchField(q('payload.tags[1] = b'), value)).toBe(true);
    expect(matchField(q('payload.tags.0 = a'), value)).toBe(true);
    expect(matchField(q('payload.tags = ["a","b"]'), value)).toBe(true);
    expect(matchField(q('ok = true'), value)).toBe(true);
    expect(matchField(q('n = null'), value)).toBe(true);
    // A field that is not there matches nothing, not even !=.
    expect(matchField(q('payload.user.missing != 1'), value)).toBe(false);
    expect(matchField(q('payload.user.id.deeper = 1'), value)).toBe(false);
  });
  it('tells a field test from a plain search, and says what is wrong in one line', () => {
    expect(looksLikeFieldQuery('payload.user.id = 42')).toBe(true);
    expect(looksLikeFieldQuery('hello world')).toBe(false);
    expect(looksLikeFieldQuery('"a" = b')).toBe(false);
    expect(parseFieldQuery('a.b =')).toBe('nothing to compare a.b with');
    expect(parseFieldQuery('what')).toMatch(/^write a field test as PATH OP VALUE/);
  });
});
