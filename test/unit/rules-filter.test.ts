// compileFilter: the one-line form of a match for `proxy --break` and UI breakpoints. It
// compiles to the MatchSpec a rule holds, and errors say the column.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileFilter, FilterError, MAX_FILTER } from '../../main/engine/intervene/filter';
import { applyRules } from '../../main/engine/intervene/rules';
import { binary, rules, text } from './rules-helpers';

function filterError(expr: string): string {
  try {
    compileFilter(expr);
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return (e as Error).message;
  }
  throw new Error('compiled without an error');
}

describe('compileFilter', () => {
  it('an empty filter matches every message', () => {
    const f = compileFilter('  ');
    expect(f.direction).toBe('both');
    expect(f.match).toEqual({});
    expect(f.test(text('x', 'server'))).toBe(true);
    expect(f.test(binary('', 'client'))).toBe(true);
  });

  it('direction words', () => {
    expect(compileFilter('client').test(text('x', 'client'))).toBe(true);
    expect(compileFilter('client').test(text('x', 'server'))).toBe(false);
    expect(compileFilter('server').test(text('x', 'server'))).toBe(true);
    expect(compileFilter('both').direction).toBe('both');
  });

  it('kind words', () => {
    expect(compileFilter('text').match).toEqual({ opcode: 'text' });
    expect(compileFilter('binary').test(binary('00'))).toBe(true);
    expect(compileFilter('binary').test(text('x'))).toBe(false);
  });

  it('text: a regex (spaces and / inside a class allowed), a quoted string, a word', () => {
    expect(compileFilter('server text:/log in/i').match).toEqual({ text: '/log in/i' });
    expect(compileFilter('text:/a[/]b/').test(text('xa/b'))).toBe(true);
    expect(compileFilter('text:/a\\/b/').test(text('a/b'))).toBe(true);
    expect(compileFilter('text:"hello world"').match).toEqual({ text: 'hello world' });
    expect(compileFilter('text:"say \\"hi\\""').test(text('say "hi"!'))).toBe(true);
    expect(compileFilter('text:login').test(text('{"op":"login"}'))).toBe(true);
    expect(compileFilter('text:a text:/b/').match).toEqual({ text: ['a', '/b/'] });
    expect(compileFilter('text:a text:/b/').test(text('a'))).toBe(false);
  });

  it('text: a literal that would read as a regex stays literal', () => {
    const f = compileFilter('text:"/api/"');
    expect(f.match).toEqual({ text: '/\\/api\\//' });
    expect(f.test(text('GET /api/x'))).toBe(true);
    expect(f.test(text('api'))).toBe(false);
  });

  it('json: exists, absent, equals (JSON or a word), matches', () => {
    expect(compileFilter('json:$.type=subscribe').match).toEqual({ json: { path: '$.type', equals: 'subscribe' } });
    expect(compileFilter('json:$.type=subscribe').test(text('{"type":"subscribe"}'))).toBe(true);
    expect(compileFilter('json:$.id=5').match).toEqual({ json: { path: '$.id', equals: 5 } });
    expect(compileFilter('json:$.id="5"').match).toEqual({ json: { path: '$.id', equals: '5' } });
    expect(compileFilter('json:$.ok=true').match).toEqual({ json: { path: '$.ok', equals: true } });
    expect(compileFilter('json:$.a={"b":[1]}').test(text('{"a":{"b":[1]}}'))).toBe(true);
    expect(compileFilter('json:$.t="two words"').test(text('{"t":"two words"}'))).toBe(true);
    expect(compileFilter('json:$.token').match).toEqual({ json: { path: '$.token' } });
    expect(compileFilter('json:!$.token').match).toEqual({ json: { path: '$.token', exists: false } });
    expect(compileFilter('json:!$.token').test(text('{"a":1}'))).toBe(true);
    expect(compileFilter('json:$.ch~/^prices\\./').test(text('{"ch":"prices.btc"}'))).toBe(true);
    expect(compileFilter('json:$["a b"]=1').test(text('{"a b":1}'))).toBe(true);
    expect(compileFilter('json:$["x=y~z"]=1').match).toEqual({ json: { path: '$["x=y~z"]', equals: 1 } });
    expect(compileFilter('json:$.a json:$.b=2').match).toEqual({ json: [{ path: '$.a' }, { path: '$.b', equals: 2 }] });
  });

  it('hex: contains, ^ starts with, quoted with spaces', () => {
    expect(compileFilter('hex:81fe').match).toEqual({ hex: { contains: '81fe' } });
    expect(compileFilter('hex:^81fe').match).toEqual({ hex: { startsWith: '81fe' } });
    expect(compileFilter('hex:"81 fe"').test(binary('00 81 fe'))).toBe(true);
    expect(compileFilter('hex:^81fe').test(binary('00 81 fe'))).toBe(false);
    expect(compileFilter('hex:^00 hex:fe').match).toEqual({ hex: { startsWith: '00', contains: 'fe' } });
  });

  it('len: every comparison, combined into one range', () => {
    expect(compileFilter('len>1000').match).toEqual({ length: { min: 1001 } });
    expect(compileFilter('len>=1000').match).toEqual({ length: { min: 1000 } });
    expect(compileFilter('len<10').match).toEqual({ length: { min: 0, max: 9 } });
    expect(compileFilter('len<=10').match).toEqual({ length: { min: 0, max: 10 } });
    expect(compileFilter('len=3').match).toEqual({ length: { min: 3, max: 3 } });
    expect(compileFilter('len>=0').match).toEqual({ length: { min: 0 } });
    expect(compileFilter('len>2 len<5').match).toEqual({ length: { min: 3, max: 4 } });
    expect(compileFilter('binary len>2').test(binary('000000'))).toBe(true);
    expect(compileFilter('binary len>2').test(binary('0000'))).toBe(false);
  });

  it('a combination, and the same answer as a rule made from its match', () => {
    const f = compileFilter('server  text text:/price/ json:$.sym=X len<100');
    const r = rules({ direction: f.direction, match: f.match, action: { type: 'break' } });
    for (const m of [text('{"type":"price","sym":"X"}', 'server'), text('{"type":"price","sym":"X"}', 'client'), text('{"type":"price","sym":"Y"}', 'server'), binary('00', 'server')]) {
      expect(f.test(m)).toBe(applyRules(r, m).action === 'break');
    }
    expect(f.test(text('{"type":"price","sym":"X"}', 'server'))).toBe(true);
  });

  it('the examples in docs/rules.md compile, and its example mistakes are the messages given', () => {
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const examples = /Examples:\n\n```\n([\s\S]*?)```/.exec(doc)![1]!.trim().split('\n');
    expect(examples.length).toBeGreaterThan(5);
    for (const e of examples) expect(() => compileFilter(e), e).not.toThrow();
    const mistakes = /reported with its column:\n\n```\n([\s\S]*?)```/.exec(doc)![1]!.trim().split('\n');
    expect(filterError('client tx:/a/').startsWith(mistakes[0]!.replace(/…\)$/, ''))).toBe(true);
    expect(filterError('text:/abc')).toBe(mistakes[1]);
  });

  it('errors say the column and what was expected', () => {
    expect(filterError('client tx:/a/')).toBe(
      'column 8: unknown term "tx:/a/" (terms: client, server, both, text, binary, text:PATTERN, json:PATH[=VALUE|~PATTERN], json:!PATH, hex:[^]HEX, len>N (>=, <, <=, =))',
    );
    expect(filterError('client server')).toBe('column 8: a second direction ("server"); a filter has one');
    expect(filterError('text binary')).toBe('column 6: a second message kind ("binary"); a filter has one');
    expect(filterError('text:')).toBe('column 6: expected a pattern: /regex/flags, "quoted text" or a word');
    expect(filterError('text:/abc')).toBe('column 6: unterminated regex (a closing / is missing)');
    expect(filterError('text:/a(/')).toBe('column 6: invalid regex: /a(/u: Unterminated group');
    expect(filterError('text:/a/x')).toBe('column 6: regex flag "x" not allowed (use g, i, m, s, u, v)');
    expect(filterError('text:/(a+)+/')).toMatch(/^column 7: regex repeats a group/);
    expect(filterError('text:"abc')).toBe('column 6: unterminated quoted string');
    expect(filterError('text:"\\q"')).toBe('column 6: invalid escape in quoted string (JSON escapes: \\" \\\\ \\n \\u00e9 …)');
    expect(filterError('text:/a/b')).toBe('column 6: regex flag "b" not allowed (use g, i, m, s, u, v)');
    expect(filterError('text:"a"b')).toBe('column 9: expected a space before the next term');
    expect(filterError('json:')).toBe('column 6: expected a JSON path such as $.type');
    expect(filterError('json:type=x')).toBe('column 6: a JSON path starts with $ (e.g. $.type or $.items[0].id)');
    expect(filterError('json:$.a.=x')).toBe('column 10: expected a name after "." (use ["…"] for other keys)');
    expect(filterError('json:$.a=')).toBe('column 10: expected a value after "=" (JSON, or a word taken as a string)');
    expect(filterError('json:!$.a=1')).toBe('column 10: json:!PATH tests that PATH is absent; it takes no "="');
    expect(filterError('json:$.a~')).toBe('column 10: expected a pattern: /regex/flags, "quoted text" or a word');
    expect(filterError('hex:8')).toBe('column 5: hex needs an even number of digits');
    expect(filterError('hex:^zz')).toBe('column 6: hex may contain only 0-9, a-f, spaces and colons');
    expect(filterError('hex:')).toBe('column 5: expected hex digits, e.g. hex:81fe or hex:"81 fe"');
    expect(filterError('hex:00 hex:01')).toBe('column 8: a second hex: term; a filter has one of each');
    expect(filterError('len')).toBe('column 4: expected a comparison and a number of bytes, e.g. len>1000 or len<=125');
    expect(filterError('len>x')).toBe('column 4: expected a comparison and a number of bytes, e.g. len>1000 or len<=125');
    expect(filterError('len<0')).toBe('column 1: no message is shorter than 0 bytes');
    expect(filterError('len>5 len<3')).toBe('column 7: no length satisfies this together with the len terms before it');
    expect(filterError('len>99999999999999999999')).toBe('column 5: number too large');
    expect(filterError('x'.repeat(MAX_FILTER + 1))).toBe(`column ${MAX_FILTER + 1}: a filter may be at most ${MAX_FILTER} characters`);
  });
});
