// Properties over random messages and random rule sets: rules that do not match (or whose
// edits change nothing) never change a message, and text edits always leave valid UTF-8.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8DecodeStrict, utf8Encode } from '../../shared/bytes';
import { applyRules, parseRules, type ActionSpec, type RuleSpec } from '../../main/engine/intervene/rules';
import type { MatchSpec } from '../../main/engine/intervene/matcher';
import type { InterceptedMessage } from '../../main/engine/intervene/types';

const side = fc.constantFrom<'client' | 'server'>('client', 'server');

/** Text (any code point, surrogate pairs included) or binary without a 0xff byte: valid
 * UTF-8 never holds 0xff, so a condition on it can never hold for any of these. */
const message: fc.Arbitrary<InterceptedMessage> = fc.oneof(
  fc.record({ from: side, t: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))) }).map(({ from, t }) => ({ connection: 'c', from, opcode: 1 as const, data: utf8Encode(t), text: t })),
  fc.record({ from: side, data: fc.uint8Array({ maxLength: 40, max: 0xfe }) }).map(({ from, data }) => ({ connection: 'c', from, opcode: 2 as const, data })),
);

const pattern = fc.oneof(
  fc.constantFrom('/./', '/./g', '/(.)(.)/g', '/\\p{L}+/g', '/[^a]/g', '/^/', '/$/g', '/(?:)/g', '/\\S+/g', '/"/g', '/\\d/g', '/(?<w>\\w)/g'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((s) => !/^\/[\s\S]+\/[a-z]*$/.test(s)),
);
const replacement = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('$1', '$2$1', '$&$&', '$$', '$<w>', "$'", '$`'));
const hexBytes = fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => toHex(b, ' '));

const action: fc.Arbitrary<ActionSpec> = fc.oneof(
  fc.record({ find: pattern, with: replacement }).map((text) => ({ type: 'replace' as const, text })),
  fc.record({ path: fc.constantFrom('$.a', '$.type', '$[0]', '$.a.b', '$[-1]'), value: fc.jsonValue({ maxDepth: 2 }) }).map((json) => ({ type: 'replace' as const, json })),
  fc.constantFrom('$.a', '$[0]', '$.type').map((path) => ({ type: 'replace' as const, json: { path, delete: true as const } })),
  fc.record({ find: hexBytes, with: fc.uint8Array({ maxLength: 3 }).map((b) => toHex(b)) }).map((hex) => ({ type: 'replace' as const, hex })),
  fc.constantFrom<ActionSpec>({ type: 'drop' }, { type: 'delay', ms: 10 }, { type: 'close', code: 4000, reason: 'x' }, { type: 'break' }),
);

const match: fc.Arbitrary<MatchSpec> = fc.record(
  {
    text: pattern,
    json: fc.record({ path: fc.constantFrom('$.a', '$.type', '$[0]'), equals: fc.jsonValue({ maxDepth: 1 }) }),
    opcode: fc.constantFrom<'text' | 'binary'>('text', 'binary'),
    length: fc.record({ min: fc.nat(20) }),
  },
  { requiredKeys: [] },
);

/** A rule that cannot apply to `m`: disabled, the other direction, or a condition no
 * generated message meets (a 0xff byte, a length over the generator's maximum). */
function inert(m: InterceptedMessage): fc.Arbitrary<RuleSpec> {
  const other = m.from === 'client' ? 'server' : 'client';
  return fc.record({ action, match, guard: fc.constantFrom('disabled', 'direction', 'hex', 'length') }).map(({ action: a, match: mt, guard }) => {
    const rule: RuleSpec = { direction: 'both', match: { ...mt }, action: a };
    if (guard === 'disabled') rule.enabled = false;
    else if (guard === 'direction') rule.direction = other;
    else if (guard === 'hex') rule.match = { ...mt, hex: { contains: 'ff' } };
    else rule.match = { ...mt, length: { min: 1000 } };
    return rule;
  });
}

function load(list: RuleSpec[]) {
  return parseRules(JSON.stringify({ rules: list }), 'prop.json');
}

describe('rules, for any message', () => {
  it('a rule set none of whose rules can apply forwards it untouched', () => {
    fc.assert(
      fc.property(
        message.chain((m) => fc.tuple(fc.constant(m), fc.array(inert(m), { maxLength: 6 }))),
        ([m, list]) => {
          const before = Uint8Array.from(m.data);
          expect(applyRules(load(list), m)).toEqual({ action: 'forward' });
          expect(m.data).toEqual(before);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('replaces that put back what they find forward it untouched', () => {
    const identity = fc.oneof(
      fc.constantFrom<ActionSpec>(
        { type: 'replace', text: { find: '/(.)/g', with: '$1' } },
        { type: 'replace', text: { find: '/\\p{L}+/g', with: '$&' } },
        { type: 'replace', text: { find: '"', with: '"' } },
      ),
      hexBytes.map<ActionSpec>((h) => ({ type: 'replace', hex: { find: h, with: h } })),
    );
    fc.assert(
      fc.property(message, fc.array(identity, { maxLength: 5 }), (m, actions) => {
        const before = Uint8Array.from(m.data);
        expect(applyRules(load(actions.map((a) => ({ direction: 'both', action: a }))), m)).toEqual({ action: 'forward' });
        expect(m.data).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('text and JSON replaces leave a text message valid UTF-8 (JSON ones: valid JSON)', () => {
    const textOnly = action.filter((a) => a.type === 'replace' && !('hex' in a));
    fc.assert(
      fc.property(
        message.filter((m) => m.opcode === 1),
        fc.array(fc.record({ direction: fc.constant<'both'>('both'), match: fc.option(match, { nil: undefined }), action: textOnly }), { minLength: 1, maxLength: 5 }),
        (m, list) => {
          const before = Uint8Array.from(m.data);
          const d = applyRules(load(list as RuleSpec[]), m);
          expect(m.data).toEqual(before);
          if (d.action === 'forward') return;
          expect(d.action).toBe('replace');
          if (d.action !== 'replace') return;
          expect(d.opcode).toBe(1);
          const out = utf8DecodeStrict(d.data);
          expect(out).not.toBeNull();
          // no edit split a character (encoding would have put U+FFFD for the lone half)
          if (!m.text!.includes('\ufffd') && !JSON.stringify(list).includes('\ufffd')) expect(out).not.toContain('\ufffd');
          if (list.every((r) => 'json' in r.action)) expect(() => JSON.parse(out!)).not.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });
});
