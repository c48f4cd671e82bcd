// The Node version guard in front of `npm start`, `npm run dev` and `npm run dist`: one clear
// line on an older Node, silence and exit 0 on a new enough one. And the package's own
// promise: `engines` names the Node the command line and tests need, and every script that
// runs Electron or packages the app goes through the guard.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const GUARD = new URL('../../scripts/need-node.mjs', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [GUARD, ...args], { encoding: 'utf8' });

describe('scripts/need-node.mjs', () => {
  it('refuses an older Node with one line naming the command, what it needs and what runs on this one', () => {
    const r = run('999.1', 'npm start');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`npm start needs Node 999.1 or later`);
    expect(r.stderr).toContain(`this is Node ${process.versions.node}`);
    expect(r.stderr).toContain('`npm test` run on Node 20');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('lets this Node through when it is new enough, comparing numerically (20.9 < 20.19)', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect(run(`${major}.${minor}`, 'x').status).toBe(0);
    expect(run(`${major - 1}.99`, 'x').status).toBe(0);
    expect(run(`${major}.${minor + 1}`, 'x').status).toBe(1);
  });

  it('stands in front of every script that runs Electron or packages the app', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
      engines: { node: string };
    };
    for (const name of ['start', 'dev', 'dist']) {
      expect(pkg.scripts[name]).toMatch(/^node scripts\/need-node\.mjs 22\.12 /);
    }
    expect(pkg.engines.node).toBe('>=20.19');
  });
});
