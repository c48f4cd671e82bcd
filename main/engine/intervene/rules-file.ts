// Reading a rules file, and reading it again when it changes (rules.ts is the pure part).
import { readFile, stat } from 'node:fs/promises';
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
  /** the rules already loaded from the file: a first look that finds the same text reports
   * nothing (absent: the first look reports what the file holds) */
  since?: Rules;
  /** called with the new rules after each change that parses */
  onReload(rules: Rules): void;
  /** called with a one-line message when a change does not parse; the old rules stay */
  onError(message: string): void;
  /** how often the file is looked at (default 500 ms) */
  intervalMs?: number;
}

/**
 * Reloads `file` whenever its text changes. Polls the file's status rather than using
 * fs.watch: editors save by writing a new file and renaming it over the old one, which
 * fs.watch on the file loses track of on Linux. The first look always reads the text and
 * compares it with what was loaded, so a save made between loading and watching is not
 * missed (a status baseline taken after that save would hide it). Looks run one at a time.
 */
export function watchRules(file: string, options: WatchOptions): RulesWatcher {
  let last = options.since?.text ?? null;
  let seen: string | null = null; // the status last looked at; null: read on the first look
  let running = false;
  let closed = false;

  const look = async (): Promise<void> => {
    if (running || closed) return;
    running = true;
    try {
      let text: string;
      try {
        const s = await stat(file);
        const key = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        if (key === seen) return;
        seen = key;
        if (s.size > MAX_RULES_FILE) throw Object.assign(new Error(`${s.size} bytes; a rules file may be at most ${MAX_RULES_FILE}`), { tooBig: true });
        text = await readFile(file, 'utf8');
      } catch (e) {
        if (closed) return;
        // mid-rename the file can be briefly absent; the next change is read again
        if (errCode(e) === 'ENOENT') seen = null;
        else options.onError(`${file}: ${(e as { tooBig?: boolean }).tooBig ? '' : 'cannot read: '}${ioReason(e)}; keeping the rules loaded before`);
        return;
      }
      if (closed || text === last) return;
      last = text;
      let rules: Rules;
      try {
        rules = parseRules(text, file);
      } catch (e) {
        options.onError(`${(e as Error).message}; keeping the rules loaded before`);
        return;
      }
      options.onReload(rules);
    } finally {
      running = false;
    }
  };

  const timer = setInterval(() => void look(), options.intervalMs ?? 500);
  timer.unref(); // watching never keeps the process alive on its own
  void look();
  return {
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
