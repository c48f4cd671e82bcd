// A rules file as written (docs/rules.md): what the engine parses and the UI edits and saves.
// Types only; checking and compiling them is the engine's (main/engine/intervene/rules.ts).
// Pure: no Node, no DOM.

export type Direction = 'client' | 'server' | 'both';

/** A condition as written in a rules file's `match` (and what a filter compiles to). */
export interface MatchSpec {
  /** each must be found: "/regex/flags" or a plain substring */
  text?: string | string[];
  json?: JsonConditionSpec | JsonConditionSpec[];
  hex?: { contains?: string; startsWith?: string };
  opcode?: 'text' | 'binary';
  length?: { min?: number; max?: number };
}

/** `equals`, `matches` or `exists` (exactly one; none means `exists: true`). */
export interface JsonConditionSpec {
  path: string;
  equals?: unknown;
  matches?: string;
  exists?: boolean;
}

export type ActionSpec =
  | { type: 'replace'; text: { find: string; with: string } }
  | { type: 'replace'; json: { path: string; value: unknown } | { path: string; delete: true } }
  | { type: 'replace'; hex: { find: string; with: string } }
  | { type: 'drop' }
  | { type: 'delay'; ms: number }
  | { type: 'close'; code: number; reason?: string }
  | { type: 'break' };

/** One rule as written in the file. */
export interface RuleSpec {
  name?: string;
  enabled?: boolean;
  direction: Direction;
  match?: MatchSpec;
  action: ActionSpec;
}

export interface RulesFileSpec {
  version?: 1;
  rules: RuleSpec[];
}
