// The README's examples are what users copy first: the rules file must load and the script
// must be a module Framescope can run.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRules } from '../../main/engine/intervene/rules';
import { ScriptHost } from '../../main/engine/intervene/scripts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = (lang: string): string[] => [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

describe('README examples', () => {
  it('the rules file parses, with the rules it shows', () => {
    const [json] = blocks('json');
    const rules = parseRules(json!, 'README.md');
    expect(rules.rules.map((r) => r.spec.name ?? null)).toEqual(['hide the token', null]);
  });

  it('the script loads as a Framescope script and changes what it says it changes', async () => {
    const js = blocks('js').find((b) => b.includes('export async function onMessage'))!;
    const file = join(mkdtempSync(join(tmpdir(), 'framescope-readme-')), 'edit.mjs');
    writeFileSync(file, js);
    const lines: string[] = [];
    const host = await ScriptHost.load(file, { timeoutMs: 1000, report: (l: string) => lines.push(l), watch: false });
    try {
      const policy = host.policy('p1');
      const ctx = { inject: () => {}, injectFrame: () => {}, close: () => {} };
      const text = '{"debug":false}';
      const d = await policy.decide({ connection: 'p1', from: 'client', opcode: 1, data: new TextEncoder().encode(text), text }, ctx);
      expect(d).toMatchObject({ action: 'replace', opcode: 1 });
      expect(new TextDecoder().decode((d as { data: Uint8Array }).data)).toBe('{"debug":true}');
      expect(await policy.decide({ connection: 'p1', from: 'server', opcode: 1, data: new TextEncoder().encode('heartbeat'), text: 'heartbeat' }, ctx)).toEqual({ action: 'drop' });
      expect(lines).toEqual([]);
    } finally {
      host.stop();
    }
  });
});
