// The rules the UI sets (docs/rules.md), applied live to every connection of the session,
// and the policy each connection gets: the rules first, then the breakpoints, in the order
// `proxy --rules … --break …` applies them (main/cli/intervene.ts). A rule's `break` holds the
// message in the UI's held queue as a breakpoint does, naming the rule.
import type { FileBlob, RulesState, UiEvent } from '../../../shared/contract';
import type { RuleSpec } from '../../../shared/rules-spec';
import type { Side } from '../../../shared/model';
import { evaluateRules, NO_RULES, parseRules, rulesFromJson, stringifyRules, type RuleRef, type Rules } from '../intervene/rules';
import type { Decision } from '../intervene/types';
import { base64 } from '../base64';
import type { Breakpoints, SessionPolicy } from './breakpoints';

/** Rules the user got wrong: the message (one line, naming the rule and the field) is for them. */
export class RulesError extends Error {
  override name = 'RulesError';
}

/** What the parser calls rules set from the UI (its messages start with it; the UI drops it). */
const SOURCE = 'rules';

const textOf = new TextDecoder('utf-8');

/** "name" or #index: how a rule is named in the held queue and the intervention mark. */
export function ruleName(r: RuleRef): string {
  return r.name ?? `#${r.index}`;
}

export class SessionRules {
  private rules: Rules = NO_RULES;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly emit: (event: UiEvent) => void) {}

  get current(): Rules {
    return this.rules;
  }

  state(): RulesState {
    return { rules: this.rules.rules.map((r) => structuredClone(r.spec)), from: { ...this.rules.from } };
  }

  /** Replaces the rules with these specs, checked whole (a mistake changes nothing). */
  set(specs: readonly unknown[]): RulesState {
    let rules: Rules;
    try {
      // a copy: the rules keep their specs as written, and nothing outside may change them
      rules = rulesFromJson({ version: 1, rules: structuredClone(specs) }, SOURCE);
    } catch (e) {
      throw new RulesError((e as Error).message.replace(`${SOURCE}: `, ''));
    }
    return this.install(rules);
  }

  /** Turns rule `index` (1-based) on or off. */
  enable(index: number, enabled: boolean): RulesState {
    const specs = this.rules.rules.map((r) => r.spec);
    const spec = specs[index - 1];
    if (!spec) throw new RulesError(`no rule ${index} (there ${specs.length === 1 ? 'is 1 rule' : `are ${specs.length} rules`})`);
    const { enabled: _was, ...rest } = spec;
    // enabled is the default: a rule turned back on is written as it would be by hand
    specs[index - 1] = enabled ? rest : { ...rest, enabled: false };
    return this.set(specs);
  }

  /** The rules as the file `--rules FILE` loads. */
  export(): FileBlob {
    const text = stringifyRules(this.rules.rules.map((r) => r.spec as RuleSpec));
    return { filename: 'rules.json', mime: 'application/json', data: base64(new TextEncoder().encode(text)) };
  }

  /** Replaces the rules with a rules file's (its mistakes name the file). */
  import(blob: FileBlob): RulesState {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(blob.data, 'base64'));
    } catch {
      throw new RulesError(`${blob.filename}: not UTF-8 text`);
    }
    let rules: Rules;
    try {
      rules = parseRules(text, blob.filename);
    } catch (e) {
      throw new RulesError((e as Error).message);
    }
    return this.install({ ...rules, source: SOURCE });
  }

  /** `changed` is called whenever what the rules watch (`from`) changes. */
  subscribe(changed: () => void): () => void {
    this.listeners.add(changed);
    return () => this.listeners.delete(changed);
  }

  private install(rules: Rules): RulesState {
    const before = this.rules.from;
    this.rules = rules;
    const state = this.state();
    this.emit({ type: 'rules', state });
    if (before.client !== rules.from.client || before.server !== rules.from.server) for (const l of [...this.listeners]) l();
    return state;
  }
}

/**
 * The policy of one connection: the rules decide first (the first drop/delay/close/break
 * whose match holds on the message as it came; else every replace, in order); a `break`
 * holds the message in the UI's queue; a message the rules forward, changed or not, goes on
 * to the breakpoints as it is then. A direction is watched while an enabled rule or a
 * breakpoint covers it, so a connection nothing covers stays byte for byte.
 */
export function sessionPolicy(connection: string, rules: SessionRules, breaks: Breakpoints): SessionPolicy {
  const bp = breaks.policy(connection);
  return {
    watches: (from: Side) => rules.current.from[from] || bp.watches(from),
    subscribe: (changed) => {
      const offBreaks = bp.subscribe(changed);
      const offRules = rules.subscribe(changed);
      return () => {
        if (typeof offBreaks === 'function') offBreaks();
        offRules();
      };
    },
    decide: async (message, ctx) => {
      const out = evaluateRules(rules.current, message);
      if (out.decidedBy) {
        const rule = ruleName(out.decidedBy);
        if (out.decision.action === 'break') return { ...(await breaks.hold(message, rule)), rule };
        return { ...out.decision, rule };
      }
      let edited: Decision | null = null;
      let m = message;
      if (out.decision.action === 'replace') {
        edited = { ...out.decision, rule: out.replacedBy.map(ruleName).join(', ') };
        const data = out.decision.data;
        m = { ...message, data, ...(message.opcode === 1 ? { text: textOf.decode(data) } : {}) };
      }
      const d = await bp.decide(m, ctx);
      // Forwarded by a person (or let through): what goes on is what the rules made of it.
      if (d.action === 'pass' || d.action === 'forward') return edited ?? d;
      return edited && !d.rule ? { ...d, rule: edited.rule } : d;
    },
    opened: (handshake, ctx) => bp.opened?.(handshake, ctx),
    closed: (close) => bp.closed?.(close),
  };
}
