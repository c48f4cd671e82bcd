// @vitest-environment happy-dom
// The Intercept panel's terminal command: one line into argv as sh splits words; and an
// launched app's exit as the notice the user reads.
import { beforeEach, describe, expect, it } from 'vitest';
import { shellWords } from '../../renderer/src/store/shell-words';
import { applyEvents } from '../../renderer/src/store/apply-events';
import { resetStore, useAppStore } from '../../renderer/src/store/store';

describe('shellWords', () => {
  it('splits on blanks, keeps quoted words whole, reads backslashes', () => {
    expect(shellWords('node app.mjs --port 9000')).toEqual({ argv: ['node', 'app.mjs', '--port', '9000'] });
    expect(shellWords(`  "/opt/my node/bin/node"   'a b'  c\\ d  `)).toEqual({ argv: ['/opt/my node/bin/node', 'a b', 'c d'] });
    expect(shellWords(`node -e "console.log(\\"hi\\", '\\x')"`)).toEqual({ argv: ['node', '-e', `console.log("hi", '\\x')`] });
    expect(shellWords(`echo 'it'"'"'s' "" ''`)).toEqual({ argv: ['echo', "it's", '', ''] });
    expect(shellWords(`sh -c 'npm run dev | tee log'`)).toEqual({ argv: ['sh', '-c', 'npm run dev | tee log'] });
    expect(shellWords('a\tb\nc')).toEqual({ argv: ['a', 'b', 'c'] });
  });

  it('says what is wrong instead of guessing', () => {
    expect(shellWords('')).toEqual({ error: 'type a command to run' });
    expect(shellWords('   ')).toEqual({ error: 'type a command to run' });
    expect(shellWords(`node -e 'x`)).toEqual({ error: 'a single quote is not closed' });
    expect(shellWords('node -e "x')).toEqual({ error: 'a double quote is not closed' });
    expect(shellWords('node x\\')).toEqual({ error: 'the line ends with a backslash' });
    expect(shellWords('npm run dev | tee log')).toMatchObject({ error: expect.stringMatching(/^\| is shell syntax: the command runs without a shell/) });
    expect(shellWords('a && b')).toMatchObject({ error: expect.stringMatching(/^& is shell syntax/) });
    expect(shellWords('a > out')).toMatchObject({ error: expect.stringMatching(/^> is shell syntax/) });
  });
});

describe('launched apps in the store', () => {
  beforeEach(() => resetStore());

  it('lists an app while it runs; its exit is a notice (an error when it failed)', () => {
    const app = { id: 1, label: 'node app.mjs', pid: 10, state: 'running' as const, startedAt: 0 };
    applyEvents([{ type: 'app', app }]);
    expect(useAppStore.getState().apps).toEqual([app]);
    applyEvents([{ type: 'app', app: { ...app, state: 'exited', code: 0, signal: null } }]);
    expect(useAppStore.getState().apps).toEqual([]);
    expect(useAppStore.getState().notices.at(-1)).toMatchObject({ level: 'info', text: 'node app.mjs exited (code 0)' });
    applyEvents([{ type: 'app', app: { ...app, id: 2, label: 'Chromium', state: 'exited', code: 1, signal: null, lastError: 'ERROR: no display' } }]);
    expect(useAppStore.getState().notices.at(-1)).toMatchObject({ level: 'error', text: 'Chromium exited (code 1): ERROR: no display' });
    applyEvents([{ type: 'app', app: { ...app, id: 3, state: 'exited', code: null, signal: 'SIGTERM' } }]);
    expect(useAppStore.getState().notices.at(-1)).toMatchObject({ level: 'info', text: 'node app.mjs ended by SIGTERM' });
  });
});
