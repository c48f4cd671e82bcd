// The stylesheet is flat CSS: every rule at the top level, none inside another. A brace lost
// in a merge does not fail the build (CSS nesting makes the rules after it descendants of the
// unclosed one, which match nothing), so whole panels silently lose their layout.
// (Read from disk: vitest does not process CSS, so an `?raw` import of it is empty.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const css = readFileSync(new URL('../../renderer/src/styles/app.css', import.meta.url), 'utf8');

/** The selectors of rules that sit inside another rule (not inside an at-rule such as @media). */
function nestedRules(css: string): string[] {
  const code = css.replace(/\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const stack: string[] = [];
  const nested: string[] = [];
  let start = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '{') {
      const head = code.slice(start, i).split(/[;}]/).pop()!.trim();
      if (stack.some((h) => !h.startsWith('@'))) nested.push(head);
      stack.push(head);
      start = i + 1;
    } else if (c === '}') {
      stack.pop();
      start = i + 1;
    }
  }
  if (stack.length > 0) nested.push(`unclosed: ${stack.join(' > ')}`);
  return nested;
}

describe('renderer stylesheet', () => {
  it('has no rule inside another rule, and every block is closed', () => {
    expect(css).toContain('.intercept-panel {');
    expect(nestedRules(css)).toEqual([]);
  });

  it('the check finds a lost brace', () => {
    expect(nestedRules('.a {\n  color: red;\n.b { color: blue; }\n')).toEqual(['.b', 'unclosed: .a']);
    expect(nestedRules('@media (x) { .a { color: red; } }')).toEqual([]);
  });
});
