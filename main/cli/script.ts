// `--script FILE` for proxy and connect: load it, and keep stdout for events.
import { ScriptHost } from '../engine/intervene/scripts';

export const DEFAULT_SCRIPT_TIMEOUT = 5000;

/**
 * Loads the script (a ScriptError for a user mistake). Its console.log/info/debug go to
 * stderr: stdout carries the events (--json is read by programs).
 */
export async function loadScript(file: string, timeoutMs: number | undefined, report: (line: string) => void): Promise<ScriptHost> {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  return ScriptHost.load(file, { timeoutMs: timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT, report });
}
