import { fromHex, utf8Decode, utf8Encode } from '../../shared/bytes';
import type { Side } from '../../shared/model';
import { parseRules, type RuleSpec, type Rules } from '../../main/engine/intervene/rules';
import type { Decision, InterceptedMessage } from '../../main/engine/intervene/types';

export function text(t: string, from: Side = 'client'): InterceptedMessage {
  return { connection: 'c1', from, opcode: 1, data: utf8Encode(t), text: t };
}

export function binary(hex: string, from: Side = 'client'): InterceptedMessage {
  return { connection: 'c1', from, opcode: 2, data: fromHex(hex) };
}

export function rules(...list: RuleSpec[]): Rules {
  return parseRules(JSON.stringify({ version: 1, rules: list }), 'test.json');
}

/** A replace decision's data as text, for readable assertions. */
export function replacedText(d: Decision): string {
  if (d.action !== 'replace') throw new Error(`expected replace, got ${JSON.stringify(d)}`);
  return utf8Decode(d.data);
}

/** The error message parseRules gives for one rule (as the file's only rule). */
export function ruleError(rule: unknown): string {
  try {
    parseRules(JSON.stringify({ rules: [rule] }), 'rules.json');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('parsed without an error');
}
