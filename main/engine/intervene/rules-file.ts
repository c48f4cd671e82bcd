// Reading a rules file, and reading it again when it changes (rules.ts is the pure part).
import { readFile, stat } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { MAX_RULES_FILE, parseRules, type Rules } from './rules';
import { errCode, ioReason } from '../io-errors';

/** Reads and parses a rules file; errors are one line that starts with the file's name. */
export async function loadRules(file: string): Promise<Rules> {
  let text: string;
  try {
    // checked before reading, so a wrong path to a huge file is not read into memory
    const s = await stat(file);
    if (!s.isFile()) throw new Error(`${file}: not a file`);
    if (s.size > MAX_RULES_FILE) throw new Error(`${file}: ${s.size} bytes; a rules file may be at most ${MAX_RULES_FILE}`);
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (!errCode(e)) throw e;
    throw new Error(`${file}: cannot read: ${ioReason(e)}`);
  }
  return parseRules(text, file);
}

export interface RulesWatcher {
  close(): void;
}

export interface WatchOptions {
  /** called with the new rules after each change that parses */
  onReload(rules: Rules): void;
  /** called with a one-line message when a change does not parse; the old rules stay */
  onError(message: string): void;
  /** how often the file is looked at (default 500 ms) */
  intervalMs?: number;
}

/**
 * Reloads `file` whenever it changes. Polls the file's status rather than using fs.watch:
 * editors save by writing a new file and renaming it over the old one, which fs.watch on
 * the file loses track of on Linux; polling sees every kind of save. Reloads run one at a
 * time, and a save whose text is the same as the last one loaded is not reported.
 */
export function watchRules(file: string, initialText: string | null, options: WatchOptions): RulesWatcher {
  let last = initialText;
  let running = false;
  let again = false;
  let closed = false;

  const reload = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (e) {
          // mid-rename the file can be briefly absent; the next change reloads it
          if (!closed && errCode(e) !== 'ENOENT') options.onError(`${file}: cannot read: ${ioReason(e)}; keeping the rules loaded before`);
          continue;
        }
        if (closed || text === last) continue;
        last = text;
        let rules: Rules;
        try {
          rules = parseRules(text, file);
        } catch (e) {
          options.onError(`${(e as Error).message}; keeping the rules loaded before`);
          continue;
        }
        options.onReload(rules);
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  const listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) void reload();
  };
  watchFile(file, { interval: options.intervalMs ?? 500, persistent: false }, listener);
  return {
    close() {
      closed = true;
      unwatchFile(file, listener);
    },
  };
}
