// applyRules / evaluateRules: each condition, each action, combinations and the order rules
// apply in (docs/rules.md "Which rule wins").
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../shared/bytes';
import { applyRules, evaluateRules, NO_RULES } from '../../main/engine/intervene/rules';
import { MAX_TEXT_MATCH } from '../../main/engine/intervene/matcher';
import { binary, replacedText, rules, text } from './rules-helpers';

const DROP = { type: 'drop' } as const;

describe('conditions', () => {
  it('direction: client, server, both', () => {
    const r = (direction: 'client' | 'server' | 'both') => rules({ direction, action: DROP });
    expect(applyRules(r('client'), text('x', 'client'))).toEqual({ action: 'drop' });
    expect(applyRules(r('client'), text('x', 'server'))).toEqual({ action: 'forward' });
    expect(applyRules(r('server'), text('x', 'server'))).toEqual({ action: 'drop' });
    expect(applyRules(r('server'), text('x', 'client'))).toEqual({ action: 'forward' });
    expect(applyRules(r('both'), text('x', 'client'))).toEqual({ action: 'drop' });
    expect(applyRules(r('both'), text('x', 'server'))).toEqual({ action: 'drop' });
  });

  it('text: a plain substring, case-sensitive', () => {
    const r = rules({ direction: 'both', match: { text: 'login' }, action: DROP });
    expect(applyRules(r, text('{"op":"login"}')).action).toBe('drop');
    expect(applyRules(r, text('{"op":"LOGIN"}')).action).toBe('forward');
  });

  it('text: a regex with flags', () => {
    const r = rules({ direction: 'both', match: { text: '/^\\{"op":"log(in|out)"/i' }, action: DROP });
    expect(applyRules(r, text('{"op":"LOGOUT"}')).action).toBe('drop');
    expect(applyRules(r, text(' {"op":"login"}')).action).toBe('forward');
  });

  it('text: a /g regex matches every message, not every other one', () => {
    // a global regex keeps lastIndex between test() calls unless reset
    const r = rules({ direction: 'both', match: { text: '/a/g' }, action: DROP });
    for (let i = 0; i < 4; i++) expect(applyRules(r, text('xa')).action).toBe('drop');
  });

  it('text: regexes are Unicode-aware (. is one character, \\p{…} works)', () => {
    const r = rules({ direction: 'both', match: { text: '/^.$/' }, action: DROP });
    expect(applyRules(r, text('😀')).action).toBe('drop');
    const p = rules({ direction: 'both', match: { text: '/\\p{Script=Greek}/' }, action: DROP });
    expect(applyRules(p, text('αβ')).action).toBe('drop');
  });

  it('text: a list of patterns must all be found', () => {
    const r = rules({ direction: 'both', match: { text: ['alpha', '/beta/'] }, action: DROP });
    expect(applyRules(r, text('alpha beta')).action).toBe('drop');
    expect(applyRules(r, text('alpha')).action).toBe('forward');
  });

  it('text conditions never hold for binary messages, even when the bytes spell the text', () => {
    const r = rules({ direction: 'both', match: { text: 'hi' }, action: DROP });
    expect(applyRules(r, binary(toHex(utf8Encode('hi'))))).toEqual({ action: 'forward' });
  });

  it('text conditions read the bytes when the message carries no text', () => {
    const r = rules({ direction: 'both', match: { text: 'hé' }, action: DROP });
    expect(applyRules(r, { connection: 'c', from: 'client', opcode: 1, data: utf8Encode('hé!') })).toEqual({ action: 'drop' });
    // a text message that is not valid UTF-8 (a tolerant session) has no text to match
    expect(applyRules(r, { connection: 'c', from: 'client', opcode: 1, data: fromHex('68c3') })).toEqual({ action: 'forward' });
  });

  it('text and JSON conditions skip text messages larger than MAX_TEXT_MATCH', () => {
    const big = 'a'.repeat(MAX_TEXT_MATCH) + 'b';
    const r = rules({ direction: 'both', match: { text: 'a' }, action: DROP });
    expect(applyRules(r, text(big)).action).toBe('forward');
    expect(applyRules(r, text(big.slice(1))).action).toBe('drop'); // exactly the limit
  });

  it('json: equals compares JSON values (deep, key order ignored, types strict)', () => {
    const r = (equals: unknown) => rules({ direction: 'both', match: { json: { path: '$.a', equals } }, action: DROP });
    expect(applyRules(r({ x: 1, y: [2] }), text('{"a":{"y":[2],"x":1}}')).action).toBe('drop');
    expect(applyRules(r({ x: 1 }), text('{"a":{"x":1,"y":2}}')).action).toBe('forward');
    expect(applyRules(r(5), text('{"a":5}')).action).toBe('drop');
    expect(applyRules(r(5), text('{"a":"5"}')).action).toBe('forward');
    expect(applyRules(r(null), text('{"a":null}')).action).toBe('drop');
    expect(applyRules(r(null), text('{}')).action).toBe('forward');
    expect(applyRules(r([1, 2]), text('{"a":[1,2]}')).action).toBe('drop');
    expect(applyRules(r([1, 2]), text('{"a":[2,1]}')).action).toBe('forward');
  });

  it('json: paths with names, indexes, negative indexes and quoted keys', () => {
    const doc = '{"items":[{"id":1},{"id":2,"a.b":{"x y":"z"}}],"$meta":{"v":3}}';
    const holds = (path: string, equals: unknown) => applyRules(rules({ direction: 'both', match: { json: { path, equals } }, action: DROP }), text(doc)).action === 'drop';
    expect(holds('$.items[0].id', 1)).toBe(true);
    expect(holds('$.items[-1].id', 2)).toBe(true);
    expect(holds('$.items[1]["a.b"][\'x y\']', 'z')).toBe(true);
    expect(holds('$.$meta.v', 3)).toBe(true);
    expect(holds('$.items[2].id', 1)).toBe(false);
    expect(holds('$.items.id', 1)).toBe(false); // a name on an array: no match, no wildcard
    expect(holds('$', JSON.parse(doc))).toBe(true);
  });

  it('json: exists (default) and exists false', () => {
    const r = (exists?: boolean) => rules({ direction: 'both', match: { json: exists === undefined ? { path: '$.t' } : { path: '$.t', exists } }, action: DROP });
    expect(applyRules(r(), text('{"t":null}')).action).toBe('drop');
    expect(applyRules(r(), text('{"u":1}')).action).toBe('forward');
    expect(applyRules(r(true), text('{"t":0}')).action).toBe('drop');
    expect(applyRules(r(false), text('{"u":1}')).action).toBe('drop');
    expect(applyRules(r(false), text('{"t":1}')).action).toBe('forward');
    // not JSON at all: no JSON condition holds, not even "absent"
    expect(applyRules(r(false), text('t')).action).toBe('forward');
  });

  it('json: matches tests strings as they are and other values as their JSON', () => {
    const r = (matches: string) => rules({ direction: 'both', match: { json: { path: '$.v', matches } }, action: DROP });
    expect(applyRules(r('/^sub/'), text('{"v":"subscribe"}')).action).toBe('drop');
    expect(applyRules(r('/^"sub/'), text('{"v":"subscribe"}')).action).toBe('forward');
    expect(applyRules(r('/^4\\d$/'), text('{"v":42}')).action).toBe('drop');
    expect(applyRules(r('"k":1'), text('{"v":{"k":1}}')).action).toBe('drop');
    expect(applyRules(r('x'), text('{"w":"x"}')).action).toBe('forward');
  });

  it('json: a list of conditions must all hold', () => {
    const r = rules({ direction: 'both', match: { json: [{ path: '$.a', equals: 1 }, { path: '$.b', exists: false }] }, action: DROP });
    expect(applyRules(r, text('{"a":1}')).action).toBe('drop');
    expect(applyRules(r, text('{"a":1,"b":2}')).action).toBe('forward');
  });

  it('hex: contains and startsWith, spaces allowed, on binary and text alike', () => {
    const c = rules({ direction: 'both', match: { hex: { contains: 'be ef' } }, action: DROP });
    expect(applyRules(c, binary('00 de be ef')).action).toBe('drop');
    expect(applyRules(c, binary('de be e0 ef')).action).toBe('forward');
    expect(applyRules(c, text('\u00be')).action).toBe('forward'); // c2 be
    const s = rules({ direction: 'both', match: { hex: { startsWith: '81fe' } }, action: DROP });
    expect(applyRules(s, binary('81fe00')).action).toBe('drop');
    expect(applyRules(s, binary('0081fe')).action).toBe('forward');
    expect(applyRules(s, binary('81')).action).toBe('forward');
    expect(applyRules(s, text('hi')).action).toBe('forward');
    expect(applyRules(rules({ direction: 'both', match: { hex: { startsWith: '68' } }, action: DROP }), text('hi')).action).toBe('drop');
    const both = rules({ direction: 'both', match: { hex: { startsWith: '01', contains: 'ff' } }, action: DROP });
    expect(applyRules(both, binary('01 00 ff')).action).toBe('drop');
    expect(applyRules(both, binary('02 00 ff')).action).toBe('forward');
  });

  it('hex: finds a sequence after a false start', () => {
    const r = rules({ direction: 'both', match: { hex: { contains: '0102' } }, action: DROP });
    expect(applyRules(r, binary('01 01 01 02')).action).toBe('drop');
    expect(applyRules(r, binary('01')).action).toBe('forward');
  });

  it('opcode: text and binary', () => {
    const t = rules({ direction: 'both', match: { opcode: 'text' }, action: DROP });
    const b = rules({ direction: 'both', match: { opcode: 'binary' }, action: DROP });
    expect(applyRules(t, text('x')).action).toBe('drop');
    expect(applyRules(t, binary('00')).action).toBe('forward');
    expect(applyRules(b, binary('00')).action).toBe('drop');
    expect(applyRules(b, text('x')).action).toBe('forward');
  });

  it('length: min and max, inclusive, in bytes (not characters)', () => {
    const r = rules({ direction: 'both', match: { length: { min: 2, max: 3 } }, action: DROP });
    expect(applyRules(r, binary('00')).action).toBe('forward');
    expect(applyRules(r, binary('0000')).action).toBe('drop');
    expect(applyRules(r, binary('000000')).action).toBe('drop');
    expect(applyRules(r, binary('00000000')).action).toBe('forward');
    expect(applyRules(r, text('é')).action).toBe('drop'); // one character, two bytes
    expect(applyRules(rules({ direction: 'both', match: { length: { max: 0 } }, action: DROP }), binary('')).action).toBe('drop');
    expect(applyRules(rules({ direction: 'both', match: { length: { min: 3 } }, action: DROP }), binary('00')).action).toBe('forward');
  });

  it('every condition of a match must hold', () => {
    const r = rules({ direction: 'server', match: { opcode: 'text', text: 'price', json: { path: '$.sym', equals: 'X' }, length: { max: 100 }, hex: { startsWith: '7b' } }, action: DROP });
    expect(applyRules(r, text('{"type":"price","sym":"X"}', 'server')).action).toBe('drop');
    expect(applyRules(r, text('{"type":"price","sym":"X"}', 'client')).action).toBe('forward');
    expect(applyRules(r, text('{"type":"price","sym":"Y"}', 'server')).action).toBe('forward');
    expect(applyRules(r, text(' {"type":"price","sym":"X"}', 'server')).action).toBe('forward');
    expect(applyRules(r, text(`{"type":"price","sym":"X","pad":"${'x'.repeat(100)}"}`, 'server')).action).toBe('forward');
  });

  it('no match at all: every message', () => {
    expect(applyRules(rules({ direction: 'both', action: DROP }), binary('')).action).toBe('drop');
  });
});

describe('actions', () => {
  it('drop, delay, close (reason defaults to empty) and break', () => {
    expect(applyRules(rules({ direction: 'both', action: { type: 'drop' } }), text('x'))).toEqual({ action: 'drop' });
    expect(applyRules(rules({ direction: 'both', action: { type: 'delay', ms: 250 } }), text('x'))).toEqual({ action: 'delay', ms: 250 });
    expect(applyRules(rules({ direction: 'both', action: { type: 'close', code: 4001, reason: 'bye' } }), text('x'))).toEqual({ action: 'close', code: 4001, reason: 'bye' });
    expect(applyRules(rules({ direction: 'both', action: { type: 'close', code: 1000 } }), text('x'))).toEqual({ action: 'close', code: 1000, reason: '' });
    expect(applyRules(rules({ direction: 'both', action: { type: 'break' } }), text('x'))).toEqual({ action: 'break' });
  });

  it('replace text: a regex with groups, first match only without g', () => {
    const r = (find: string, w: string) => rules({ direction: 'both', action: { type: 'replace', text: { find, with: w } } });
    expect(replacedText(applyRules(r('/(\\w+)@(\\w+)/g', '$2 at $1'), text('a@b c@d')))).toBe('b at a d at c');
    expect(replacedText(applyRules(r('/o/', '0'), text('foo')))).toBe('f0o');
    expect(replacedText(applyRules(r('/(?<k>\\d+)/g', '[$<k>]'), text('a1b22')))).toBe('a[1]b[22]');
    expect(replacedText(applyRules(r('/b/g', '$$&'), text('abc')))).toBe('a$&c');
  });

  it('replace text: a plain substring replaces every occurrence, literally ($ is just $)', () => {
    const d = applyRules(rules({ direction: 'both', action: { type: 'replace', text: { find: 'a.b', with: '$1$&' } } }), text('a.b axb a.b'));
    expect(replacedText(d)).toBe('$1$& axb $1$&');
  });

  it('replace keeps the opcode of the message', () => {
    const d = applyRules(rules({ direction: 'both', action: { type: 'replace', text: { find: 'a', with: 'b' } } }), text('a'));
    expect(d).toMatchObject({ action: 'replace', opcode: 1 });
    const h = applyRules(rules({ direction: 'both', action: { type: 'replace', hex: { find: '00', with: '01' } } }), binary('00'));
    expect(h).toEqual({ action: 'replace', opcode: 2, data: fromHex('01') });
  });

  it('replace text that finds nothing, or a binary message: forward, untouched', () => {
    const r = rules({ direction: 'both', action: { type: 'replace', text: { find: '/zz/', with: 'y' } } });
    expect(applyRules(r, text('abc'))).toEqual({ action: 'forward' });
    expect(applyRules(r, binary(toHex(utf8Encode('zz'))))).toEqual({ action: 'forward' });
  });

  it('replace that changes nothing (same bytes) forwards the original', () => {
    const r = rules({ direction: 'both', action: { type: 'replace', text: { find: 'a', with: 'a' } } });
    expect(evaluateRules(r, text('a'))).toEqual({ decision: { action: 'forward' }, replacedBy: [{ index: 1 }] });
  });

  it('replace json: set a field, add one, set an array element, append, delete', () => {
    const set = (path: string, value: unknown, msg: string) => applyRules(rules({ direction: 'both', action: { type: 'replace', json: { path, value } } }), text(msg));
    expect(replacedText(set('$.token', 'X', '{"token":"secret","a":1}'))).toBe('{"token":"X","a":1}');
    expect(replacedText(set('$.b', { c: [1] }, '{"a":1}'))).toBe('{"a":1,"b":{"c":[1]}}');
    expect(replacedText(set('$.l[0]', 9, '{"l":[1,2]}'))).toBe('{"l":[9,2]}');
    expect(replacedText(set('$.l[-1]', 9, '{"l":[1,2]}'))).toBe('{"l":[1,9]}');
    expect(replacedText(set('$.l[2]', 3, '{"l":[1,2]}'))).toBe('{"l":[1,2,3]}');
    expect(set('$.l[3]', 3, '{"l":[1,2]}')).toEqual({ action: 'forward' }); // a gap: no
    expect(set('$.x.y', 1, '{"a":1}')).toEqual({ action: 'forward' }); // the parent must exist
    expect(set('$.x', 1, '[1]')).toEqual({ action: 'forward' });
    expect(set('$.x', 1, 'not json')).toEqual({ action: 'forward' });
    expect(replacedText(set('$["__proto__"]', 1, '{}'))).toBe('{"__proto__":1}');
    const del = (path: string, msg: string) => applyRules(rules({ direction: 'both', action: { type: 'replace', json: { path, delete: true } } }), text(msg));
    expect(replacedText(del('$.token', '{"token":"s","a":1}'))).toBe('{"a":1}');
    expect(replacedText(del('$.l[0]', '{"l":[1,2]}'))).toBe('{"l":[2]}');
    expect(del('$.nope', '{"a":1}')).toEqual({ action: 'forward' });
  });

  it('replace json re-serialises compactly (the documented cost of editing JSON)', () => {
    const d = applyRules(rules({ direction: 'both', action: { type: 'replace', json: { path: '$.a', value: 2 } } }), text('{ "a" : 1,\n  "b": "é" }'));
    expect(replacedText(d)).toBe('{"a":2,"b":"é"}');
  });

  it('replace json does not let one message change the rule (values are copied)', () => {
    const r = rules(
      { direction: 'both', action: { type: 'replace', json: { path: '$.o', value: { n: 1 } } } },
      { direction: 'both', action: { type: 'replace', json: { path: '$.o.n', value: 2 } } },
    );
    expect(replacedText(applyRules(r, text('{}')))).toBe('{"o":{"n":2}}');
    expect(r.rules[0]!.action).toEqual({ type: 'replace', edit: { kind: 'json', path: ['o'], value: { n: 1 } } });
  });

  it('replace hex: every occurrence, left to right, not overlapping; "" removes', () => {
    const r = (find: string, w: string) => rules({ direction: 'both', action: { type: 'replace', hex: { find, with: w } } });
    expect(applyRules(r('aa', 'bb cc'), binary('aa 00 aa aa'))).toEqual({ action: 'replace', opcode: 2, data: fromHex('bbcc00bbccbbcc') });
    expect(applyRules(r('aaaa', '01'), binary('aa aa aa'))).toEqual({ action: 'replace', opcode: 2, data: fromHex('01aa') });
    expect(applyRules(r('00', ''), binary('00 01 00'))).toEqual({ action: 'replace', opcode: 2, data: fromHex('01') });
    expect(applyRules(r('ff', '00'), binary('01'))).toEqual({ action: 'forward' });
  });
});

describe('which rule wins', () => {
  it('the first matching drop/delay/close/break decides; later ones are not read', () => {
    const r = rules(
      { name: 'a', direction: 'both', match: { text: 'x' }, action: { type: 'delay', ms: 5 } },
      { name: 'b', direction: 'both', action: { type: 'close', code: 1000 } },
      { name: 'c', direction: 'both', action: { type: 'drop' } },
    );
    expect(evaluateRules(r, text('x'))).toEqual({ decision: { action: 'delay', ms: 5 }, decidedBy: { index: 1, name: 'a' }, replacedBy: [] });
    expect(evaluateRules(r, text('y'))).toEqual({ decision: { action: 'close', code: 1000, reason: '' }, decidedBy: { index: 2, name: 'b' }, replacedBy: [] });
  });

  it('a deciding rule wins over replace rules before it, and sees the message as it came', () => {
    const r = rules(
      { direction: 'both', action: { type: 'replace', text: { find: 'a', with: 'b' } } },
      { direction: 'both', match: { text: 'a' }, action: { type: 'break' } },
    );
    expect(evaluateRules(r, text('a'))).toEqual({ decision: { action: 'break' }, decidedBy: { index: 2 }, replacedBy: [] });
    // a break on what a replace produces does not see it: deciding rules read the original
    const onResult = rules(
      { direction: 'both', action: { type: 'replace', text: { find: 'a', with: 'b' } } },
      { direction: 'both', match: { text: 'b' }, action: { type: 'break' } },
    );
    expect(replacedText(applyRules(onResult, text('a')))).toBe('b');
  });

  it('replaces chain in file order, each on the result of the one before', () => {
    const r = rules(
      { name: 'one', direction: 'both', action: { type: 'replace', text: { find: 'a', with: 'b' } } },
      { name: 'two', direction: 'both', action: { type: 'replace', text: { find: 'b', with: 'c' } } },
      { name: 'three', direction: 'both', match: { text: 'zzz' }, action: { type: 'replace', text: { find: 'c', with: 'd' } } },
    );
    const out = evaluateRules(r, text('a'));
    expect(replacedText(out.decision)).toBe('c');
    expect(out.replacedBy).toEqual([{ index: 1, name: 'one' }, { index: 2, name: 'two' }]);
  });

  it("a replace's match is checked on the result of the replaces before it", () => {
    const r = rules(
      { direction: 'both', action: { type: 'replace', json: { path: '$.type', value: 'b' } } },
      { direction: 'both', match: { json: { path: '$.type', equals: 'b' } }, action: { type: 'replace', json: { path: '$.seen', value: true } } },
    );
    expect(replacedText(applyRules(r, text('{"type":"a"}')))).toBe('{"type":"b","seen":true}');
  });

  it('text, JSON and hex replaces chain across kinds', () => {
    const r = rules(
      { direction: 'both', action: { type: 'replace', json: { path: '$.n', value: 1 } } },
      { direction: 'both', action: { type: 'replace', hex: { find: '31', with: '32' } } },
      { direction: 'both', action: { type: 'replace', text: { find: '/"n"/', with: '"m"' } } },
    );
    expect(replacedText(applyRules(r, text('{"n":0}')))).toBe('{"m":2}');
  });

  it('disabled rules are skipped; a set with only disabled rules looks at nothing', () => {
    const r = rules({ direction: 'both', enabled: false, action: DROP }, { direction: 'client', action: { type: 'delay', ms: 1 } });
    expect(applyRules(r, text('x', 'client'))).toEqual({ action: 'delay', ms: 1 });
    expect(applyRules(r, text('x', 'server'))).toEqual({ action: 'forward' });
    expect(rules({ direction: 'both', enabled: false, action: DROP }).from).toEqual({ client: false, server: false });
  });

  it('from says which directions any enabled rule looks at', () => {
    expect(rules({ direction: 'client', action: DROP }).from).toEqual({ client: true, server: false });
    expect(rules({ direction: 'server', action: DROP }).from).toEqual({ client: false, server: true });
    expect(rules({ direction: 'both', action: DROP }).from).toEqual({ client: true, server: true });
    expect(NO_RULES.from).toEqual({ client: false, server: false });
    expect(applyRules(NO_RULES, text('x'))).toEqual({ action: 'forward' });
  });

  it('the decision does not share memory with the message it came from', () => {
    const m = binary('00 01');
    const d = applyRules(rules({ direction: 'both', action: { type: 'replace', hex: { find: '01', with: '02' } } }), m);
    expect(d.action === 'replace' && d.data !== m.data).toBe(true);
    expect(toHex(m.data)).toBe('0001');
  });
});
