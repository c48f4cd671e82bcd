// The Rules tab's form and summaries (renderer/src/views/rules.ts): a rule as written goes to
// the form's fields and back unchanged, what the form cannot show is said, and the one-line
// summaries of the list. Every rule of docs/rules.example.json round-trips.
import { describe, expect, it } from 'vitest';
import type { RuleSpec } from '../../shared/rules-spec';
import { actionSummary, draftFromSpec, EMPTY_DRAFT, errorField, matchSummary, parseValue, specFromDraft, valueText } from '../../renderer/src/views/rules';

import exampleFile from '../../docs/rules.example.json';

const example = (exampleFile as { rules: RuleSpec[] }).rules;

describe('rule form', () => {
  it('every rule of the example goes to the form and back as it was written', () => {
    for (const spec of example) expect(specFromDraft(draftFromSpec(spec)!)).toEqual(spec);
  });

  it('round-trips each action and condition the form has', () => {
    const specs: RuleSpec[] = [
      { direction: 'both', match: { json: { path: '$.a', equals: '5' } }, action: { type: 'replace', json: { path: '$.b', value: 'x' } } },
      { direction: 'client', match: { json: { path: '$.a', exists: false } }, action: { type: 'replace', json: { path: '$.b', delete: true } } },
      { direction: 'client', match: { json: { path: '$.a', matches: '/^x/i' } }, action: { type: 'break' } },
      { name: 'n', enabled: false, direction: 'server', match: { hex: { contains: 'be ef' }, length: { max: 10 } }, action: { type: 'replace', hex: { find: 'be', with: '' } } },
      { direction: 'server', match: { json: { path: '$.a', exists: true } }, action: { type: 'close', code: 4000 } },
      { direction: 'server', action: { type: 'delay', ms: 5 } },
    ];
    for (const spec of specs) expect(specFromDraft(draftFromSpec(spec)!)).toEqual(spec);
    // "exists" said or not means the same; the form says it
    expect(specFromDraft(draftFromSpec({ direction: 'client', match: { json: { path: '$.a' } }, action: { type: 'drop' } })!).match).toEqual({ json: { path: '$.a', exists: true } });
  });

  it('a rule beyond the form (a list of patterns, both hex tests) is for the JSON editor', () => {
    expect(draftFromSpec({ direction: 'client', match: { text: ['a', 'b'] }, action: { type: 'drop' } })).toBeNull();
    expect(draftFromSpec({ direction: 'client', match: { hex: { contains: '01', startsWith: '02' } }, action: { type: 'drop' } })).toBeNull();
  });

  it('writes what was typed: values as JSON or a word, numbers as numbers, the rest for the parser to name', () => {
    expect(parseValue('5')).toBe(5);
    expect(parseValue('"5"')).toBe('5');
    expect(parseValue('auth')).toBe('auth');
    expect(valueText('5')).toBe('"5"');
    expect(valueText('auth')).toBe('auth');
    expect(valueText({ a: 1 })).toBe('{"a":1}');
    expect(specFromDraft({ ...EMPTY_DRAFT, min: '10', max: 'x', action: 'delay', ms: '' })).toEqual({
      direction: 'client',
      match: { length: { min: 10, max: 'x' } },
      action: { type: 'delay' },
    });
    expect(specFromDraft({ ...EMPTY_DRAFT, name: '  ', action: 'drop' })).toEqual({ direction: 'client', action: { type: 'drop' } });
  });

  it('finds the field a parser message names', () => {
    expect(errorField('rule 2 ("x: y"): match.text: invalid regex: /(/u: Unterminated group')).toBe('match.text');
    expect(errorField('rule 1: action.json.path: a JSON path starts with $')).toBe('action.json.path');
    expect(errorField('rule 3: match.json[0].path: x')).toBe('match.json[0].path');
    expect(errorField('rules: 1001 rules; at most 1000')).toBeNull();
  });
});

describe('rule summaries', () => {
  it('say the match and the action in one line', () => {
    expect(example.map((r) => `${matchSummary(r.match)} ⇒ ${actionSummary(r.action)}`)).toEqual([
      '$.type = "auth" ⇒ set $.token = "REDACTED"',
      'every message ⇒ replace /"channel":"(\\w+)-v1"/g → "\\"channel\\":\\"$1-v2\\""',
      'text /^\\{"type":"heartbeat"/ ⇒ drop',
      '$.type = "price" ⇒ delay 250 ms',
      'binary · starts ca fe ⇒ replace bytes ca fe 00 01 → ca fe 00 02',
      '≥ 1048577 B ⇒ close 1009 "too big for this test"',
      '$.order.qty exists ⇒ break',
    ]);
    expect(matchSummary({ text: 'a b', json: { path: '$.x', exists: false }, hex: { contains: '01' }, length: { min: 1, max: 2 } })).toBe('text "a b" · no $.x · has 01 · 1–2 B');
    expect(actionSummary({ type: 'replace', hex: { find: '01', with: '' } })).toBe('replace bytes 01 → (nothing)');
  });
});
