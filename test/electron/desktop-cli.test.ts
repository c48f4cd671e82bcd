// The bare `framescope` command opens the desktop app (main/cli/desktop.ts). Electron's
// binary is never downloaded here, so the test proves the missing-binary path end to end
// and finds the binary through a fake electron package.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_ELECTRON, electronBinary } from '../../main/cli/desktop';

const dir = mkdtempSync(join(tmpdir(), 'framescope-desktop-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('framescope with no arguments', () => {
  it('says in one line that the desktop app needs Electron’s binary, and suggests serve (exit 1)', () => {
    const empty = join(dir, 'no-electron');
    mkdirSync(empty);
    const r = spawnSync(process.execPath, ['bin/framescope.js'], {
      encoding: 'utf8',
      // an empty override folder: the binary is missing whatever this machine has
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: empty },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`framescope: ${NO_ELECTRON}\n`);
    expect(r.stderr).toContain('framescope serve');
  });

  it('--help still lists the commands', () => {
    const r = spawnSync(process.execPath, ['bin/framescope.js', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('serve');
  });
});

describe('finding the Electron binary without downloading it', () => {
  const fakeProject = join(dir, 'project');
  const pkg = join(fakeProject, 'node_modules', 'electron');
  const from = pathToFileURL(join(fakeProject, 'app', 'dist', 'cli', 'cli.js')).href;
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), '{"name":"electron","version":"45.4.1","main":"index.js"}');
  // index.js would download on require: it must never be loaded
  writeFileSync(join(pkg, 'index.js'), 'throw new Error("must not be required")');

  it('is null while the binary is not downloaded (no path.txt)', () => {
    expect(electronBinary(from, {})).toBeNull();
  });

  it('is null when path.txt names a binary that is not there', () => {
    writeFileSync(join(pkg, 'path.txt'), 'electron');
    expect(electronBinary(from, {})).toBeNull();
  });

  it('is the binary once it is there, or under ELECTRON_OVERRIDE_DIST_PATH', () => {
    writeFileSync(join(pkg, 'dist', 'electron'), '#!/bin/sh\n');
    chmodSync(join(pkg, 'dist', 'electron'), 0o755);
    expect(electronBinary(from, {})).toBe(join(pkg, 'dist', 'electron'));
    const override = join(dir, 'override');
    mkdirSync(override);
    expect(electronBinary(from, { ELECTRON_OVERRIDE_DIST_PATH: override })).toBeNull();
    writeFileSync(join(override, 'electron'), '');
    expect(electronBinary(from, { ELECTRON_OVERRIDE_DIST_PATH: override })).toBe(join(override, 'electron'));
  });

  it('is null when the electron package is not installed', () => {
    expect(electronBinary(pathToFileURL(join(tmpdir(), 'nowhere', 'x.js')).href, {})).toBeNull();
  });
});
