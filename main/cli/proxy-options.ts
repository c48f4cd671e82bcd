// The forward proxy's options, shared by `framescope proxy` and `framescope launch` (which
// runs the same proxy for one app): their names, parsing and defaults are in one place.
import { Command, InvalidArgumentError } from 'commander';
import { parseListen, type ListenAddress } from '../engine/listen';

/** `--listen`, `--via`: [host:]port. */
export function listenOption(value: string): ListenAddress {
  try {
    return parseListen(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A comma-separated list, blanks dropped. */
export function listOption(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function scriptTimeoutOption(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('--script-timeout must be a positive whole number of milliseconds');
  return Number(v);
}

function timeoutOption(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('--timeout must be a positive whole number');
  return Number(v);
}

/** The help lines that say what the option does for this command (when a capture is written, what a rules file may hold). */
export interface ForwardProxyHelp {
  capture: string;
  scriptTimeout: string;
  rules: string;
}

/** Adds --capture, --json, --quiet, --allow-hosts, --no-intercept, --ca-dir, --insecure, --timeout, --script, --script-timeout and --rules. */
export function addForwardProxyOptions(cmd: Command, help: ForwardProxyHelp): Command {
  return cmd
    .option('--capture <file>', help.capture)
    .option('--json', 'print NDJSON events instead of the human view', false)
    .option('--quiet', 'print nothing per event (the capture still records everything)', false)
    .option('--allow-hosts <list>', 'forward only to these hosts (comma-separated; others get 403)', listOption)
    .option('--no-intercept <list>', 'tunnel these hosts blind instead of intercepting TLS (comma-separated)', listOption)
    .option('--ca-dir <dir>', 'where the interception CA lives (default: the user config dir)')
    .option('--insecure', 'do not verify upstream TLS certificates', false)
    .option('--timeout <ms>', 'deadline for request heads, upstream connects and responses (default 10000)', timeoutOption)
    .option('--script <file>', 'an ES module (.mjs/.js) whose onMessage/onOpen/onClose may change, drop, inject and close; reloaded when it changes')
    .option('--script-timeout <ms>', help.scriptTimeout, scriptTimeoutOption)
    .option('--rules <file>', help.rules);
}
