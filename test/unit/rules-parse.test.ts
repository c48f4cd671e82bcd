// parseRules: every mistake is one line naming the file, the rule (index and name) and the
// field; limits; the example file in docs/ parses (so it cannot rot).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_RULES, MAX_RULES_FILE, parseRules, rulesFromJson, stringifyRules } from '../../main/engine/intervene/rules';
import { MAX_HEX_BYTES, MAX_PATTERN, nestedQuantifier } from '../../main/engine/intervene/matcher';
import { ruleError } from './rules-helpers';

const DROP = { type: 'drop' };

function fileError(text: string): string {
  try {
    parseRules(text, 'rules.json');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('parsed without an error');
}

describe('the file', () => {
  it('is JSON; a syntax error says where', () => {
    expect(fileError('{"rules": [\n  {"direction": "client",}\n]}')).toMatch(/^rules\.json: not valid JSON: .*line 2 column 26/);
    expect(fileError('')).toMatch(/^rules\.json: not valid JSON: /);
  });

  it('is an object with rules and an optional version 1, nothing else', () => {
    expect(fileError('[]')).toBe('rules.json: expected an object {"version": 1, "rules": […]}');
    expect(fileError('{}')).toBe('rules.json: rules: required: a list of rules');
    expect(fileError('{"rules": {}}')).toBe('rules.json: rules: required: a list of rules');
    expect(fileError('{"version": 2, "rules": []}')).toBe('rules.json: version: 2 is not a version this Framescope reads (1)');
    expect(fileError('{"rule": []}')).toBe('rules.json: rule: unknown key (expected version, rules)');
    expect(parseRules('{"rules": []}', 'x').rules).toEqual([]);
  });

  it('is at most MAX_RULES_FILE bytes and MAX_RULES rules', () => {
    const big = `{"rules": [], "pad": "${'x'.repeat(MAX_RULES_FILE)}"}`;
    expect(fileError(big)).toBe(`rules.json: ${big.length} bytes; a rules file may be at most ${MAX_RULES_FILE}`);
    const many = JSON.stringify({ rules: Array.from({ length: MAX_RULES + 1 }, () => ({ direction: 'both', action: DROP })) });
    expect(fileError(many)).toBe(`rules.json: rules: ${MAX_RULES + 1} rules; at most ${MAX_RULES}`);
    const enough = JSON.stringify({ rules: Array.from({ length: MAX_RULES }, () => ({ direction: 'both', action: DROP })) });
    expect(parseRules(enough, 'x').rules).toHaveLength(MAX_RULES);
  });

  it('the example in docs/ parses, and says what it says', () => {
    const text = readFileSync(new URL('../../docs/rules.example.json', import.meta.url), 'utf8');
    const r = parseRules(text, 'docs/rules.example.json');
    expect(r.rules.map((x) => x.name)).toEqual([
      'hide the token',
      'rename the channel',
      'no heartbeats to the client',
      'slow prices',
      'patch a binary header',
      'refuse huge uploads',
      'hold orders for a person',
    ]);
    expect(r.rules.map((x) => x.enabled)).toEqual([true, true, true, true, true, true, false]);
  });

  it("docs/rules.md: its example file parses and its example mistakes are the messages given", () => {
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const json = /```json\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(parseRules(json, 'rules.md').rules).toHaveLength(2);
    const mistakes = /### Mistakes[\s\S]*?```\n([\s\S]*?)```/.exec(doc)![1]!.trim().split('\n');
    expect(mistakes).toHaveLength(4);
    expect(ruleError({ direction: 'both', mtach: {}, action: DROP })).toBe(mistakes[2]);
    expect(fileError('{"rules": [\n  {"direction": "client",}\n]}')).toBe(mistakes[3]);
    expect(fileError(JSON.stringify({ rules: [{ direction: 'both', action: DROP }, { direction: 'both', action: { type: 'close', code: 1005 } }] }))).toBe(mistakes[1]);
    expect(fileError(JSON.stringify({ rules: [{ direction: 'both', action: DROP }, { direction: 'both', action: DROP }, { name: 'strip token', direction: 'both', match: { text: '/(/' }, action: DROP }] }))).toBe(mistakes[0]);
  });

  it('stringifyRules writes a file that parses back to the same rules', () => {
    const text = readFileSync(new URL('../../docs/rules.example.json', import.meta.url), 'utf8');
    const specs = parseRules(text, 'a').rules.map((r) => r.spec);
    const again = parseRules(stringifyRules(specs), 'b');
    expect(again.rules.map((r) => r.spec)).toEqual(specs);
    expect(again.rules.map((r) => r.action)).toEqual(parseRules(text, 'a').rules.map((r) => r.action));
  });

  it('rulesFromJson takes what a UI already parsed', () => {
    expect(rulesFromJson({ rules: [{ direction: 'both', action: DROP }] }, 'ui').rules).toHaveLength(1);
    expect(() => rulesFromJson({ rules: [{}] }, 'ui')).toThrow(/^ui: rule 1: direction: required/);
  });
});

describe('a rule', () => {
  it('names itself in the error when it has a name, and counts from 1', () => {
    const text = JSON.stringify({ rules: [{ direction: 'both', action: DROP }, { name: 'strip token', direction: 'both', match: { text: '/(/' }, action: DROP }] });
    expect(fileError(text)).toBe('rules.json: rule 2 ("strip token"): match.text: invalid regex: /(/u: Unterminated group');
  });

  it('is an object of known keys', () => {
    expect(ruleError('drop')).toBe('rules.json: rule 1: expected an object with direction, match and action');
    expect(ruleError({ direction: 'both', action: DROP, mtach: {} })).toBe('rules.json: rule 1: mtach: unknown key (expected name, enabled, direction, match, action)');
  });

  it('name, enabled, direction', () => {
    expect(ruleError({ name: 3, direction: 'both', action: DROP })).toBe('rules.json: rule 1: name: expected a string');
    expect(ruleError({ name: 'x'.repeat(201), direction: 'both', action: DROP })).toMatch(/^rules\.json: rule 1 \("x{60}"\): name: longer than 200 characters$/);
    expect(ruleError({ name: 'n', enabled: 'yes', direction: 'both', action: DROP })).toBe('rules.json: rule 1 ("n"): enabled: expected true or false');
    expect(ruleError({ action: DROP })).toBe('rules.json: rule 1: direction: required: "client" (messages the client sends), "server" or "both"');
    expect(ruleError({ direction: 'up', action: DROP })).toBe('rules.json: rule 1: direction: required: "client" (messages the client sends), "server" or "both"');
  });
});

describe('match', () => {
  const m = (match: unknown) => ruleError({ direction: 'both', match, action: DROP });

  it('is an object of known conditions', () => {
    expect(m([])).toBe('rules.json: rule 1: match: expected an object of conditions');
    expect(m({ txt: 'a' })).toBe('rules.json: rule 1: match.txt: unknown key (expected text, json, hex, opcode, length)');
  });

  it('text', () => {
    expect(m({ text: 1 })).toBe('rules.json: rule 1: match.text: expected "/regex/flags" or a substring');
    expect(m({ text: '' })).toBe('rules.json: rule 1: match.text: empty pattern');
    expect(m({ text: [] })).toBe('rules.json: rule 1: match.text: empty list');
    expect(m({ text: ['a', 2] })).toBe('rules.json: rule 1: match.text[1]: expected "/regex/flags" or a substring');
    expect(m({ text: '/a/x' })).toBe('rules.json: rule 1: match.text: regex flag "x" not allowed (use g, i, m, s, u, v)');
    expect(m({ text: '/a/y' })).toBe('rules.json: rule 1: match.text: regex flag "y" not allowed (use g, i, m, s, u, v)');
    expect(m({ text: '/a/gg' })).toBe('rules.json: rule 1: match.text: regex flag "g" given twice');
    expect(m({ text: '/a/uv' })).toBe('rules.json: rule 1: match.text: regex flags "u" and "v" together');
    expect(m({ text: '/[/' })).toBe('rules.json: rule 1: match.text: invalid regex: /[/u: Unterminated character class');
    // Unicode mode is strict about needless escapes
    expect(m({ text: '/\\-/' })).toBe('rules.json: rule 1: match.text: invalid regex: /\\-/u: Invalid escape');
    expect(m({ text: 'x'.repeat(MAX_PATTERN + 1) })).toBe(`rules.json: rule 1: match.text: pattern longer than ${MAX_PATTERN} characters`);
  });

  it('text: a regex that can backtrack catastrophically is refused, with where', () => {
    expect(m({ text: '/^(a+)+$/' })).toBe(
      'rules.json: rule 1: match.text: regex repeats a group that itself repeats without bound ("(a+)+"), which can backtrack catastrophically; rewrite it without the nesting (at character 3)',
    );
    expect(m({ text: '/(\\w+\\s?)*x/' })).toMatch(/\("\(\\w\+\\s\?\)\*"\)/);
    expect(m({ text: '/(?:[a-z]*,)+/' })).toMatch(/"\(\?:\[a-z\]\*,\)\+"/);
    expect(m({ text: '/((ab+)){2,}/' })).toMatch(/catastrophically/);
  });

  it('nestedQuantifier: catches nesting, not bounded or sequential repeats', () => {
    for (const bad of ['(a+)+', '(a*)*', '((a+)b)*', '(a{1,})+', '([ab]+c?)+', '(?:x|y+)+', '((a+))+']) expect(nestedQuantifier(bad), bad).not.toBeNull();
    for (const ok of ['a+b+', '(ab)+', '(a+)?', '(a+){2}', '\\(a+\\)+', '[(]a+[)]+', '(a+)(b+)', '(\\d{1,3}\\.){3}\\d{1,3}', '^"\\w+":']) expect(nestedQuantifier(ok), ok).toBeNull();
  });

  it('json', () => {
    expect(m({ json: 'type' })).toBe('rules.json: rule 1: match.json: expected an object like {"path": "$.type", "equals": "subscribe"}');
    expect(m({ json: {} })).toBe('rules.json: rule 1: match.json.path: required: a JSON path such as $.type');
    expect(m({ json: { path: '$.a', equal: 1 } })).toBe('rules.json: rule 1: match.json.equal: unknown key (expected path, equals, matches, exists)');
    expect(m({ json: { path: '$.a', equals: 1, exists: true } })).toBe('rules.json: rule 1: match.json: give one of equals, matches, exists (not equals and exists)');
    expect(m({ json: { path: '$.a', exists: 'no' } })).toBe('rules.json: rule 1: match.json.exists: expected true or false');
    expect(m({ json: { path: '$.a', matches: 1 } })).toBe('rules.json: rule 1: match.json.matches: expected "/regex/flags" or a substring');
    expect(m({ json: { path: '$.a', matches: '/(/' } })).toBe('rules.json: rule 1: match.json.matches: invalid regex: /(/u: Unterminated group');
    expect(m({ json: [{ path: '$.a' }, { path: 'a' }] })).toBe('rules.json: rule 1: match.json[1].path: a JSON path starts with $ (e.g. $.type or $.items[0].id) (at character 1)');
    expect(m({ json: [] })).toBe('rules.json: rule 1: match.json: empty list');
  });

  it('json paths', () => {
    const p = (path: string) => m({ json: { path } });
    expect(p('$.')).toBe('rules.json: rule 1: match.json.path: expected a name after "." (use ["…"] for other keys) (at character 3)');
    expect(p('$.a b')).toBe('rules.json: rule 1: match.json.path: expected "." or "[" in the path (at character 4)');
    expect(p('$[x]')).toBe('rules.json: rule 1: match.json.path: expected an index or a quoted key after "[" (at character 3)');
    expect(p('$["a]')).toBe('rules.json: rule 1: match.json.path: unterminated quoted key (at character 3)');
    expect(p('$["a"x')).toBe('rules.json: rule 1: match.json.path: expected "]" after the quoted key (at character 6)');
    expect(p('$[99999999999999999999]')).toBe('rules.json: rule 1: match.json.path: array index too large (at character 3)');
    expect(p('$' + '.a'.repeat(33))).toBe('rules.json: rule 1: match.json.path: path deeper than 32 segments (at character 66)');
  });

  it('hex', () => {
    expect(m({ hex: '00' })).toBe('rules.json: rule 1: match.hex: expected {"contains": "…"} and/or {"startsWith": "…"}');
    expect(m({ hex: {} })).toBe('rules.json: rule 1: match.hex: give contains, startsWith or both');
    expect(m({ hex: { start: '00' } })).toBe('rules.json: rule 1: match.hex.start: unknown key (expected contains, startsWith)');
    expect(m({ hex: { contains: 'abc' } })).toBe('rules.json: rule 1: match.hex.contains: hex needs an even number of digits');
    expect(m({ hex: { startsWith: 'zz' } })).toBe('rules.json: rule 1: match.hex.startsWith: hex may contain only 0-9, a-f, spaces and colons');
    expect(m({ hex: { contains: ' ' } })).toBe('rules.json: rule 1: match.hex.contains: empty byte sequence');
    expect(m({ hex: { contains: 0 } })).toBe('rules.json: rule 1: match.hex.contains: expected a string of hex digits (spaces allowed)');
    expect(m({ hex: { contains: '00'.repeat(MAX_HEX_BYTES + 1) } })).toBe(`rules.json: rule 1: match.hex.contains: longer than ${MAX_HEX_BYTES} bytes`);
  });

  it('opcode and length', () => {
    expect(m({ opcode: 1 })).toBe('rules.json: rule 1: match.opcode: expected "text" or "binary"');
    expect(m({ length: 5 })).toBe('rules.json: rule 1: match.length: expected {"min": N, "max": N} (either may be left out)');
    expect(m({ length: {} })).toBe('rules.json: rule 1: match.length: give min, max or both');
    expect(m({ length: { min: -1 } })).toBe('rules.json: rule 1: match.length.min: expected a whole number of bytes, 0 or more');
    expect(m({ length: { max: 1.5 } })).toBe('rules.json: rule 1: match.length.max: expected a whole number of bytes, 0 or more');
    expect(m({ length: { min: 3, max: 2 } })).toBe('rules.json: rule 1: match.length: min 3 is more than max 2');
    expect(m({ length: { min: 1, most: 2 } })).toBe('rules.json: rule 1: match.length.most: unknown key (expected min, max)');
  });
});

describe('action', () => {
  const a = (action: unknown) => ruleError({ name: 'r', direction: 'both', action });

  it('has a known type and only its own keys', () => {
    expect(a(undefined)).toBe('rules.json: rule 1 ("r"): action: required: an object with a type (replace, drop, delay, close, break)');
    expect(a({ type: 'reject' })).toBe('rules.json: rule 1 ("r"): action.type: expected one of replace, drop, delay, close, break');
    expect(a({ type: 'drop', ms: 1 })).toBe('rules.json: rule 1 ("r"): action.ms: unknown key (expected type)');
    expect(a({ type: 'break', code: 1000 })).toBe('rules.json: rule 1 ("r"): action.code: unknown key (expected type)');
  });

  it('delay', () => {
    expect(a({ type: 'delay' })).toBe('rules.json: rule 1 ("r"): action.ms: expected whole milliseconds from 1 to 600000');
    expect(a({ type: 'delay', ms: 0 })).toBe('rules.json: rule 1 ("r"): action.ms: expected whole milliseconds from 1 to 600000');
    expect(a({ type: 'delay', ms: 600_001 })).toBe('rules.json: rule 1 ("r"): action.ms: expected whole milliseconds from 1 to 600000');
    expect(a({ type: 'delay', ms: 1, reason: '' })).toBe('rules.json: rule 1 ("r"): action.reason: unknown key (expected type, ms)');
  });

  it('close: codes that may be sent (RFC 6455 §7.4), a reason that fits', () => {
    for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
      expect(a({ type: 'close', code })).toBe(`rules.json: rule 1 ("r"): action.code: ${code} may not be sent in a close frame (RFC 6455 §7.4: 1000-1003, 1007-1014, 3000-4999)`);
    }
    for (const code of [1000, 1003, 1007, 1014, 3000, 4999]) expect(parseRules(JSON.stringify({ rules: [{ direction: 'both', action: { type: 'close', code } }] }), 'x').rules).toHaveLength(1);
    expect(a({ type: 'close' })).toBe('rules.json: rule 1 ("r"): action.code: required: a close code such as 1000 or 4000');
    expect(a({ type: 'close', code: '1000' })).toBe('rules.json: rule 1 ("r"): action.code: required: a close code such as 1000 or 4000');
    expect(a({ type: 'close', code: 1000, reason: 5 })).toBe('rules.json: rule 1 ("r"): action.reason: expected a string');
    expect(a({ type: 'close', code: 1000, reason: 'é'.repeat(62) })).toBe('rules.json: rule 1 ("r"): action.reason: 124 bytes of UTF-8; a close reason holds at most 123');
    expect(parseRules(JSON.stringify({ rules: [{ direction: 'both', action: { type: 'close', code: 1000, reason: 'x'.repeat(123) } }] }), 'x').rules).toHaveLength(1);
    expect(a({ type: 'close', code: 1000, reason: '\ud800' })).toBe('rules.json: rule 1 ("r"): action.reason: contains a lone surrogate (not valid text)');
    expect(a({ type: 'close', code: 1000, why: '' })).toBe('rules.json: rule 1 ("r"): action.why: unknown key (expected type, code, reason)');
  });

  it('replace: exactly one of text, json, hex', () => {
    expect(a({ type: 'replace' })).toBe('rules.json: rule 1 ("r"): action: replace needs one of text, json, hex');
    expect(a({ type: 'replace', text: { find: 'a', with: 'b' }, hex: { find: '00', with: '' } })).toBe('rules.json: rule 1 ("r"): action: replace takes one of text, json, hex (not text and hex)');
    expect(a({ type: 'replace', bytes: {} })).toBe('rules.json: rule 1 ("r"): action.bytes: unknown key (expected type, text, json, hex)');
  });

  it('replace text', () => {
    expect(a({ type: 'replace', text: 'a' })).toBe('rules.json: rule 1 ("r"): action.text: expected {"find": "…", "with": "…"}');
    expect(a({ type: 'replace', text: { with: 'b' } })).toBe('rules.json: rule 1 ("r"): action.text.find: required: "/regex/flags" or a substring to find');
    expect(a({ type: 'replace', text: { find: '/a(/', with: 'b' } })).toBe('rules.json: rule 1 ("r"): action.text.find: invalid regex: /a(/u: Unterminated group');
    expect(a({ type: 'replace', text: { find: 'a' } })).toBe('rules.json: rule 1 ("r"): action.text.with: required: the replacement text ($1, $<name>, $& refer to the match)');
    expect(a({ type: 'replace', text: { find: 'a', with: '\udc00' } })).toBe('rules.json: rule 1 ("r"): action.text.with: contains a lone surrogate (not valid text)');
    expect(a({ type: 'replace', text: { find: 'a', with: 'b', all: true } })).toBe('rules.json: rule 1 ("r"): action.text.all: unknown key (expected find, with)');
  });

  it('replace json', () => {
    expect(a({ type: 'replace', json: [] })).toBe('rules.json: rule 1 ("r"): action.json: expected {"path": "$.a", "value": …} or {"path": "$.a", "delete": true}');
    expect(a({ type: 'replace', json: { value: 1 } })).toBe('rules.json: rule 1 ("r"): action.json.path: required: a JSON path such as $.token');
    expect(a({ type: 'replace', json: { path: '$', value: 1 } })).toBe('rules.json: rule 1 ("r"): action.json.path: cannot replace the whole message ($); use a text replace');
    expect(a({ type: 'replace', json: { path: '$.a' } })).toBe('rules.json: rule 1 ("r"): action.json: give value (any JSON) or "delete": true');
    expect(a({ type: 'replace', json: { path: '$.a', value: 1, delete: true } })).toBe('rules.json: rule 1 ("r"): action.json: give value or delete, not both');
    expect(a({ type: 'replace', json: { path: '$.a', delete: false } })).toBe('rules.json: rule 1 ("r"): action.json.delete: expected true');
    expect(a({ type: 'replace', json: { path: '$..a', value: 1 } })).toBe('rules.json: rule 1 ("r"): action.json.path: expected a name after "." (use ["…"] for other keys) (at character 3)');
    expect(a({ type: 'replace', json: { path: '$.a', valeu: 1 } })).toBe('rules.json: rule 1 ("r"): action.json.valeu: unknown key (expected path, value, delete)');
  });

  it('replace hex', () => {
    expect(a({ type: 'replace', hex: { find: '0g', with: '' } })).toBe('rules.json: rule 1 ("r"): action.hex.find: hex may contain only 0-9, a-f, spaces and colons');
    expect(a({ type: 'replace', hex: { find: '', with: '00' } })).toBe('rules.json: rule 1 ("r"): action.hex.find: empty byte sequence');
    expect(a({ type: 'replace', hex: { find: '00' } })).toBe('rules.json: rule 1 ("r"): action.hex.with: required: the bytes to put instead, as hex ("" removes them)');
    expect(a({ type: 'replace', hex: { find: '00', with: '0' } })).toBe('rules.json: rule 1 ("r"): action.hex.with: hex needs an even number of digits');
  });
});
