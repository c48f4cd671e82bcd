// What decides messages for `proxy` and `connect` from the command line: the rules file
// (--rules), then the script (--script), then the person at the terminal (--break). The
// rules decide first; a message they forward (changed or not) goes to the script; what the
// script forwards is what the terminal's filter is tried on.
import type { Side } from '../../shared/model';
import type { ConnectionPolicy, PolicySource } from '../engine/intervene/lane';
import type { Decision, InterceptedMessage } from '../engine/intervene/types';
import { evaluateRules, NO_RULES, type RuleRef, type Rules } from '../engine/intervene/rules';
import { loadRules, watchRules, type RulesWatcher } from '../engine/intervene/rules-file';
import type { ScriptHost } from '../engine/intervene/scripts';
import type { TerminalBreaks } from './breakpoints';

const textOf = new TextDecoder('utf-8');

/** A rules file loaded and watched; `current` is what the last good version says. */
export class RulesSource {
  current: Rules = NO_RULES;
  private watcher: RulesWatcher | null = null;
  private readonly listeners = new Set<() => void>();

  /** Loads FILE (its error: one line, for exit 2) and reloads it when it changes. */
  static async load(file: string, report: (line: string) => void): Promise<RulesSource> {
    const s = new RulesSource();
    s.current = await loadRules(file);
    s.watcher = watchRules(file, {
      since: s.current,
      onReload: (rules) => {
        s.current = rules;
        report(`reloaded ${file} (${rules.rules.length} rules)`);
        for (const l of s.listeners) l();
      },
      onError: report,
    });
    return s;
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  stop(): void {
    this.watcher?.close();
  }
}

export interface CliPolicyParts {
  rules?: RulesSource | null;
  script?: ScriptHost | null;
  breaks?: TerminalBreaks | null;
  /** one line for the human (stderr) */
  report(line: string): void;
}

const arrow = (from: Side) => (from === 'client' ? 'client → server' : 'server → client');

/** "name" or #index: how a rule is named in reports and in the intervention mark. */
export function ruleName(r: RuleRef): string {
  return r.name ?? `#${r.index}`;
}

/** null when nothing on the command line intervenes. */
export function cliPolicies(p: CliPolicyParts): PolicySource | undefined {
  if (!p.rules && !p.script && !p.breaks) return undefined;
  return (connection) => cliPolicy(connection, p);
}

export function cliPolicy(connection: string, p: CliPolicyParts): ConnectionPolicy {
  const script = p.script?.policy(connection) ?? null;
  const { rules, breaks, report } = p;
  return {
    watches: (from) => (rules?.current.from[from] ?? false) || (script?.watches(from) ?? false) || (breaks?.watches(from) ?? false),
    subscribe: (changed) => rules?.onChange(changed),
    decide: async (message, ctx) => {
      let m = message;
      let edited: Decision | null = null;
      if (rules) {
        const out = evaluateRules(rules.current, message);
        if (out.decidedBy) {
          const name = ruleName(out.decidedBy);
          if (out.decision.action !== 'break') {
            report(`${connection} ${arrow(message.from)}: rule ${name}: ${describe(out.decision)}`);
            return { ...out.decision, rule: name };
          }
          if (breaks) return { ...(await breaks.ask(message, `rule ${name}`)), rule: name };
          report(`${connection} ${arrow(message.from)}: rule ${name} asks for a breakpoint; without --break nobody answers it, the message goes on`);
        } else if (out.decision.action === 'replace') {
          const name = out.replacedBy.map(ruleName).join(', ');
          report(`${connection} ${arrow(message.from)}: rule ${name}: replaced the message`);
          edited = { ...out.decision, rule: name };
          m = { ...message, data: out.decision.data, ...(message.opcode === 1 ? { text: textOf.decode(out.decision.data) } : {}) };
        }
      }
      // What comes after the rules acts on what they made: the record still names the rules.
      const after = (d: Decision): Decision => (edited?.rule && !d.rule ? { ...d, rule: edited.rule } : d);
      if (script?.watches(m.from)) {
        const d = await script.decide(m, ctx);
        if (d.action !== 'pass') return after(d);
      }
      if (breaks?.matches(m)) {
        // Held for a person: forwarding it sends what the rules made of it.
        const d = await breaks.ask(m);
        return d.action === 'forward' && edited ? edited : after(d);
      }
      return edited ?? { action: 'pass' };
    },
    opened: (handshake, ctx) => script?.opened?.(handshake, ctx),
    closed: (close) => {
      breaks?.connectionEnded(connection);
      script?.closed?.(close);
    },
  };
}

function describe(d: Decision): string {
  switch (d.action) {
    case 'drop':
      return 'dropped the message';
    case 'delay':
      return `delayed the message ${d.ms} ms`;
    case 'close':
      return `closed the connection with ${d.code}${d.reason ? ` "${d.reason}"` : ''}`;
    default:
      return d.action;
  }
}

export type { InterceptedMessage };
