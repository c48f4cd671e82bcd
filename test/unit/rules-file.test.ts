// Reading a rules file, and reloading it when it changes (the old rules stay on a mistake).
import { mkdtempSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRules, watchRules, type RulesWatcher } from '../../main/engine/intervene/rules-file';
import { MAX_RULES_FILE, type Rules } from '../../main/engine/intervene/rules';

let dir: string;
let watcher: RulesWatcher | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fs-rules-'));
});
afterEach(() => {
  watcher?.close();
  watcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, rules: unknown[]) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify({ rules }));
  return p;
};
const named = (name: string) => ({ name, direction: 'both', action: { type: 'drop' } });

/** Events from a watcher, awaited one at a time (no sleeps: each test waits for the event). */
class Events {
  private queue: Array<{ rules?: Rules; error?: string }> = [];
  private waiting: ((e: { rules?: Rules; error?: string }) => void) | undefined;
  push = (e: { rules?: Rules; error?: string }) => {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(e);
    } else this.queue.push(e);
  };
  next(): Promise<{ rules?: Rules; error?: string }> {
    const e = this.queue.shift();
    return e ? Promise.resolve(e) : new Promise((resolve) => (this.waiting = resolve));
  }
  /** the next reload, past errors from reading a file mid-write (an in-place write
   * truncates first, and a look can land between the truncation and the write) */
  async nextRules(): Promise<Rules> {
    for (;;) {
      const e = await this.next();
      if (e.rules) return e.rules;
    }
  }
}

/** Saves as editors do, so no look sees a half-written file. */
function save(path: string, text: string | Buffer): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('loadRules', () => {
  it('reads and parses, naming the file in errors', async () => {
    const p = file('r.json', [named('a')]);
    expect((await loadRules(p)).rules.map((r) => r.name)).toEqual(['a']);
    expect((await loadRules(p)).source).toBe(p);
    const bad = file('bad.json', [{ direction: 'up' }]);
    await expect(loadRules(bad)).rejects.toThrow(`${bad}: rule 1: direction: required`);
  });

  it('a missing file, a directory, a file too large: one line each', async () => {
    const missing = join(dir, 'nope.json');
    await expect(loadRules(missing)).rejects.toThrow(`${missing}: cannot read: no such file or directory`);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await expect(loadRules(sub)).rejects.toThrow(`${sub}: not a file`);
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(MAX_RULES_FILE + 1, 0x20));
    await expect(loadRules(big)).rejects.toThrow(`${big}: ${MAX_RULES_FILE + 1} bytes; a rules file may be at most ${MAX_RULES_FILE}`);
  });
});

describe('watchRules', () => {
  it('reloads on a write and on an editor-style rename; keeps the old rules on a mistake', async () => {
    const p = file('w.json', [named('one')]);
    const events = new Events();
    watcher = watchRules(p, { since: await loadRules(p), intervalMs: 20, onReload: (rules) => events.push({ rules }), onError: (error) => events.push({ error }) });

    writeFileSync(p, JSON.stringify({ rules: [named('two')] })); // in place
    expect((await events.nextRules()).rules.map((r) => r.name)).toEqual(['two']);

    save(p, '{"rules": [');
    expect((await events.next()).error).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: .*; keeping the rules loaded before$`));

    save(p, JSON.stringify({ rules: [named('three'), named('four')] }));
    expect((await events.next()).rules?.rules.map((r) => r.name)).toEqual(['three', 'four']);
  });

  it('does not report a save that leaves the text as it was', async () => {
    const p = file('same.json', [named('a')]);
    const text = JSON.stringify({ rules: [named('a')] });
    const events = new Events();
    watcher = watchRules(p, { since: await loadRules(p), intervalMs: 20, onReload: (rules) => events.push({ rules }), onError: (error) => events.push({ error }) });
    save(p, text); // the same text again (a new file)
    save(p, JSON.stringify({ rules: [named('b')] }));
    // the first event is the change, not the identical save
    expect((await events.next()).rules?.rules.map((r) => r.name)).toEqual(['b']);
  });

  it('without since, the first look reports what the file holds; a missing file is waited for', async () => {
    const p = join(dir, 'later.json');
    const events = new Events();
    watcher = watchRules(p, { intervalMs: 20, onReload: (rules) => events.push({ rules }), onError: (error) => events.push({ error }) });
    save(p, JSON.stringify({ rules: [named('late')] }));
    expect((await events.next()).rules?.rules.map((r) => r.name)).toEqual(['late']);
  });

  it('a save between loading and watching is not missed', async () => {
    const p = file('race.json', [named('old')]);
    const since = await loadRules(p);
    save(p, JSON.stringify({ rules: [named('new')] }));
    const events = new Events();
    watcher = watchRules(p, { since, intervalMs: 60_000, onReload: (rules) => events.push({ rules }), onError: (error) => events.push({ error }) });
    // the interval is a minute: only the first look can see it
    expect((await events.next()).rules?.rules.map((r) => r.name)).toEqual(['new']);
  });

  it('a file grown too large is reported and the old rules stay', async () => {
    const p = file('grow.json', [named('a')]);
    const events = new Events();
    watcher = watchRules(p, { since: await loadRules(p), intervalMs: 20, onReload: (rules) => events.push({ rules }), onError: (error) => events.push({ error }) });
    save(p, Buffer.alloc(MAX_RULES_FILE + 1, 0x20));
    expect((await events.next()).error).toBe(`${p}: ${MAX_RULES_FILE + 1} bytes; a rules file may be at most ${MAX_RULES_FILE}; keeping the rules loaded before`);
  });
});
