// Files in and out of the desktop app (main/electron/files.ts) and the clean shutdown
// (main/electron/shutdown.ts), with fake dialogs and a fake app.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { OpenDialogOptions, SaveDialogOptions } from 'electron';
import { ContractError } from '../../shared/contract';
import { ShellError, capturePathsFromArgv, createShellHandlers, readCaptureFile, safeFilename, validateFileBlob } from '../../main/electron/files';
import { installShutdown } from '../../main/electron/shutdown';

const dir = mkdtempSync(join(tmpdir(), 'framescope-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('opening a capture file', () => {
  it('reads it as a FileBlob', async () => {
    const p = join(dir, 'one.wscap.json');
    writeFileSync(p, '{"format":"framescope.capture"}');
    expect(await readCaptureFile(p)).toEqual({ filename: 'one.wscap.json', mime: 'application/json', data: Buffer.from('{"format":"framescope.capture"}').toString('base64') });
  });

  it('refuses a file over the size limit before reading it', async () => {
    const p = join(dir, 'big.wscap.json');
    writeFileSync(p, 'x'.repeat(101));
    await expect(readCaptureFile(p, 100)).rejects.toThrow(new ShellError('big.wscap.json is 101 bytes; Framescope opens captures of at most 100 bytes'));
    await expect(readCaptureFile(p, 101)).resolves.toMatchObject({ filename: 'big.wscap.json' });
  });

  it('refuses what is not a file, or is missing', async () => {
    mkdirSync(join(dir, 'folder.wscap.json'));
    await expect(readCaptureFile(join(dir, 'folder.wscap.json'))).rejects.toThrow(ShellError);
    await expect(readCaptureFile(join(dir, 'missing.wscap.json'))).rejects.toThrow('missing.wscap.json does not exist');
  });
});

describe('shell commands (native dialogs)', () => {
  it('saveFile writes where the user chose, and returns null when cancelled', async () => {
    const target = join(dir, 'chosen.har');
    let asked: SaveDialogOptions | null = null;
    const shell = createShellHandlers({
      showSaveDialog: async (o) => ((asked = o), { canceled: false, filePath: target }),
      showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
      defaultDir: () => dir,
    });
    expect(await shell.saveFile({ filename: '../../etc/evil.har', mime: 'application/json', data: Buffer.from('{}').toString('base64') })).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('{}');
    // the renderer's name is only a suggestion, as a plain name in the default folder
    expect(asked!.defaultPath).toBe(join(dir, 'evil.har'));
    const cancelled = createShellHandlers({
      showSaveDialog: async () => ({ canceled: true, filePath: '' }),
      showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
      defaultDir: () => dir,
    });
    expect(await cancelled.saveFile({ filename: 'x.json', mime: '', data: '' })).toBeNull();
  });

  it('openFile reads the chosen file', async () => {
    const p = join(dir, 'picked.har');
    writeFileSync(p, '{"log":{}}');
    let asked: OpenDialogOptions | null = null;
    const shell = createShellHandlers({
      showSaveDialog: async () => ({ canceled: true, filePath: '' }),
      showOpenDialog: async (o) => ((asked = o), { canceled: false, filePaths: [p] }),
      defaultDir: () => dir,
    });
    expect(await shell.openFile()).toMatchObject({ filename: 'picked.har', mime: 'application/json' });
    expect(asked!.properties).toEqual(['openFile']);
  });

  it('validates a FileBlob strictly', () => {
    expect(validateFileBlob({ filename: 'a', mime: 'b', data: 'AAAA' })).toEqual({ filename: 'a', mime: 'b', data: 'AAAA' });
    for (const bad of [null, [], 'x', { filename: 'a', mime: 'b' }, { filename: 1, mime: 'b', data: '' }, { filename: 'a', mime: 'b', data: '%%' }, { filename: 'a', mime: 'b', data: '', x: 1 }]) {
      expect(() => validateFileBlob(bad), JSON.stringify(bad)).toThrow(ContractError);
    }
  });

  it('makes suggested names plain', () => {
    expect(safeFilename('capture.wscap.json')).toBe('capture.wscap.json');
    expect(safeFilename('../../x.har')).toBe('x.har');
    expect(safeFilename('C:\\Users\\me\\x.pcapng')).toBe('x.pcapng');
    expect(safeFilename('.hidden')).toBe('hidden');
    expect(safeFilename('a\u0000b<c>.json')).toBe('a_b_c_.json');
    expect(safeFilename('')).toBe('capture');
  });
});

describe('capture paths on the command line', () => {
  it('takes capture files, resolved against the launch folder; skips flags and the app path', () => {
    expect(
      capturePathsFromArgv(['/opt/Framescope/framescope', '--no-sandbox', 'app', 'rel/one.wscap.json', '/abs/two.WSCAP.JSON', 'three.har', 'notes.txt', '--flag=x.wscap.json'], '/home/me'),
    ).toEqual(['/home/me/rel/one.wscap.json', '/abs/two.WSCAP.JSON', '/home/me/three.har']);
  });
});

describe('clean shutdown', () => {
  function fakeApp() {
    let listener: ((e: { preventDefault(): void }) => void) | null = null;
    const app = {
      on: (_event: 'before-quit', l: (e: { preventDefault(): void }) => void) => (listener = l),
      quit: vi.fn(() => {
        const e = { prevented: false, preventDefault: () => void (e.prevented = true) };
        listener!(e);
        return e;
      }),
    };
    const beforeQuit = () => {
      const e = { prevented: false, preventDefault: () => void (e.prevented = true) };
      listener!(e);
      return e;
    };
    return { app, beforeQuit };
  }

  it('holds the first quit until the session is disposed, disposes once, then quits', async () => {
    const { app, beforeQuit } = fakeApp();
    let finish: () => void = () => {};
    const dispose = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const status = installShutdown(app, { dispose, log: () => {} });
    expect(beforeQuit().prevented).toBe(true);
    expect(beforeQuit().prevented).toBe(true);
    expect(dispose).toHaveBeenCalledTimes(1);
    expect(status.state).toBe('disposing');
    expect(app.quit).not.toHaveBeenCalled();
    finish();
    await vi.waitFor(() => expect(app.quit).toHaveBeenCalledTimes(1));
    expect(status.state).toBe('done');
    // the quit that follows is let through
    expect(app.quit.mock.results[0]!.value.prevented).toBe(false);
    expect(dispose).toHaveBeenCalledTimes(1);
  });

  it('quits even when dispose fails or hangs', async () => {
    const failing = fakeApp();
    const log = vi.fn();
    installShutdown(failing.app, { dispose: async () => Promise.reject(new Error('journal gone')), log });
    failing.beforeQuit();
    await vi.waitFor(() => expect(failing.app.quit).toHaveBeenCalled());
    expect(log.mock.calls.join()).toContain('journal gone');

    const hanging = fakeApp();
    installShutdown(hanging.app, { dispose: () => new Promise<void>(() => {}), timeoutMs: 5, log: () => {} });
    hanging.beforeQuit();
    await vi.waitFor(() => expect(hanging.app.quit).toHaveBeenCalled());
  });
});
