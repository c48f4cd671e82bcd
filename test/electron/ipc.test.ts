// IPC registration (main/electron/ipc.ts) with a fake ipcMain and window: exactly the
// contract's channels, the sender check before anything runs, argument validation, plain
// error messages, and event forwarding.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS, EVENT_CHANNEL, SHELL_COMMANDS, commandChannel, validateCommand, type FileBlob, type ShellApi, type UiEvent } from '../../shared/contract';
import { INTERNAL, REFUSED, registerIpc, type IpcSession } from '../../main/electron/ipc';
import { shellChannel } from '../../main/preload/wire';
import { EngineSession } from '../../main/engine/session/session';
import { FakeIpcMain, FakeWindow, fakeFrame } from './fakes';
import { APP_URL, isAppUrl } from '../../main/electron/protocol';

const sessions: EngineSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.dispose();
});

function setup(session?: IpcSession) {
  const ipc = new FakeIpcMain();
  const win: FakeWindow | null = new FakeWindow({});
  let current: FakeWindow | null = win;
  const real = new EngineSession({ version: 'test', batchMs: 1 });
  sessions.push(real);
  const shell: ShellApi = {
    saveFile: vi.fn(async (_b: FileBlob) => '/tmp/saved'),
    openFile: vi.fn(async () => null),
  };
  const log = vi.fn();
  const unregister = registerIpc({
    ipcMain: ipc.asIpcMain(),
    session: session ?? real,
    shell,
    window: () => current?.asWindow() ?? null,
    isAppUrl,
    log,
  });
  const ours = { webContents: win.webContents, frame: win.webContents.mainFrame };
  return {
    ipc,
    win,
    real,
    shell,
    log,
    unregister,
    ours,
    setWindow: (w: FakeWindow | null) => (current = w),
  };
}

describe('IPC registration', () => {
  it('registers exactly the contract commands and shell commands', () => {
    const { ipc } = setup();
    const expected = [...COMMANDS.map(commandChannel), ...SHELL_COMMANDS.map(shellChannel)];
    expect(new Set(ipc.handlers.keys())).toEqual(new Set(expected));
    expect(ipc.handlers.size).toBe(expected.length);
  });

  it('unregisters every handler', () => {
    const { ipc, unregister } = setup();
    unregister();
    expect(ipc.handlers.size).toBe(0);
  });
});

describe('IPC sender check (before the handler runs)', () => {
  const dispatching = () => {
    const dispatch = vi.fn(async () => ({ connections: [], proxy: null, version: 'x' }));
    const session: IpcSession = { dispatch, onEvents: () => () => {} };
    return { dispatch, session };
  };

  it('passes a call from our window top frame on our page to the session', async () => {
    const { dispatch, session } = dispatching();
    const { ipc, ours } = setup(session);
    const reply = await ipc.invoke(commandChannel('snapshot'), ours, {});
    expect(reply).toEqual({ ok: true, value: { connections: [], proxy: null, version: 'x' } });
    expect(dispatch).toHaveBeenCalledWith('snapshot', {});
  });

  it('refuses a frame showing another URL', async () => {
    const { dispatch, session } = dispatching();
    const { ipc, win, log } = setup(session);
    for (const url of ['https://evil.example/', 'file:///tmp/index.html', 'app://other/index.html', 'http://127.0.0.1:5173/']) {
      const reply = await ipc.invoke(commandChannel('snapshot'), { webContents: win.webContents, frame: fakeFrame(url) }, {});
      expect(reply, url).toEqual({ ok: false, error: REFUSED });
    }
    expect(dispatch).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalled();
  });

  it('refuses a subframe, even one showing our page', async () => {
    const { dispatch, session } = dispatching();
    const { ipc, win } = setup(session);
    const sub = fakeFrame(APP_URL, win.webContents.mainFrame);
    expect(await ipc.invoke(commandChannel('snapshot'), { webContents: win.webContents, frame: sub }, {})).toEqual({ ok: false, error: REFUSED });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('refuses a destroyed or detached frame, and a missing one', async () => {
    const { dispatch, session } = dispatching();
    const { ipc, win } = setup(session);
    const destroyed = fakeFrame();
    destroyed.destroyed = true;
    const detached = fakeFrame();
    detached.detached = true;
    for (const frame of [destroyed, detached, null]) {
      expect(await ipc.invoke(commandChannel('snapshot'), { webContents: win.webContents, frame }, {})).toEqual({ ok: false, error: REFUSED });
    }
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('refuses another webContents, and any call while there is no window', async () => {
    const { dispatch, session } = dispatching();
    const { ipc, ours, setWindow } = setup(session);
    const stranger = new FakeWindow({});
    expect(await ipc.invoke(commandChannel('snapshot'), { webContents: stranger.webContents, frame: fakeFrame() }, {})).toEqual({ ok: false, error: REFUSED });
    setWindow(null);
    expect(await ipc.invoke(commandChannel('snapshot'), ours, {})).toEqual({ ok: false, error: REFUSED });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('refuses shell commands from an unexpected frame too', async () => {
    const { ipc, win, shell } = setup();
    const reply = await ipc.invoke(shellChannel('openFile'), { webContents: win.webContents, frame: fakeFrame('https://evil.example/') });
    expect(reply).toEqual({ ok: false, error: REFUSED });
    expect(shell.openFile).not.toHaveBeenCalled();
  });
});

describe('IPC argument validation', () => {
  it('rejects a malformed argument with the contract message, without calling the engine', async () => {
    const { ipc, ours, real } = setup();
    const send = vi.spyOn(real, 'send');
    const bad = { connection: 'c1', kind: 'text', text: 5 };
    let expected = '';
    try {
      validateCommand('send', bad);
    } catch (err) {
      expected = (err as Error).message;
    }
    expect(expected).toBe('send.text must be a string');
    expect(await ipc.invoke(commandChannel('send'), ours, bad)).toEqual({ ok: false, error: expected });
    expect(send).not.toHaveBeenCalled();
  });

  it('rejects unexpected fields and wrong types for other commands', async () => {
    const { ipc, ours, real } = setup();
    const frames = vi.spyOn(real, 'frames');
    const reply = (await ipc.invoke(commandChannel('frames'), ours, { connection: 'c1', from: 0, to: 10, extra: true })) as { ok: boolean; error: string };
    expect(reply).toEqual({ ok: false, error: 'frames.extra is not expected' });
    expect(await ipc.invoke(commandChannel('frames'), ours, 'c1')).toEqual({ ok: false, error: 'frames must be an object' });
    expect(frames).not.toHaveBeenCalled();
  });

  it('rejects more than one argument', async () => {
    const { ipc, ours } = setup();
    expect(await ipc.invoke(commandChannel('snapshot'), ours, {}, {})).toEqual({ ok: false, error: 'framescope:snapshot takes one argument' });
  });

  it('passes a well-formed argument to the real session', async () => {
    const { ipc, ours } = setup();
    expect(await ipc.invoke(commandChannel('snapshot'), ours, {})).toEqual({
      ok: true,
      value: { connections: [], proxy: null, version: 'test', intercept: { rules: [], canInjectFrames: true }, held: [], rules: { rules: [], from: { client: false, server: false } } },
    });
    // a command the engine refuses for a reason the user should read: its message, as is
    expect(await ipc.invoke(commandChannel('framePayload'), ours, { connection: 'c9', seq: 0 })).toEqual({ ok: false, error: 'no frame 0 on connection c9' });
  });

  it('answers an internal error without internals', async () => {
    const session: IpcSession = {
      dispatch: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'secret') at /home/me/framescope/main/engine/x.ts:12");
      },
      onEvents: () => () => {},
    };
    const { ipc, ours, log } = setup(session);
    expect(await ipc.invoke(commandChannel('snapshot'), ours, {})).toEqual({ ok: false, error: INTERNAL });
    expect(log.mock.calls.join('\n')).toContain('secret');
  });

  it('validates saveFile before the dialog opens', async () => {
    const { ipc, ours, shell } = setup();
    const bad = [
      { filename: 'a.json', mime: 'application/json', data: 'not base64!' },
      { filename: 'a.json', mime: 'application/json' },
      { filename: 'a.json', mime: 'application/json', data: '', path: '/etc/passwd' },
      'a.json',
    ];
    for (const arg of bad) {
      const reply = (await ipc.invoke(shellChannel('saveFile'), ours, arg)) as { ok: boolean; error: string };
      expect(reply.ok, JSON.stringify(arg)).toBe(false);
      expect(reply.error).toMatch(/^saveFile/);
    }
    expect(shell.saveFile).not.toHaveBeenCalled();
    const good = { filename: 'a.wscap.json', mime: 'application/json', data: 'e30=' };
    expect(await ipc.invoke(shellChannel('saveFile'), ours, good)).toEqual({ ok: true, value: '/tmp/saved' });
    expect(shell.saveFile).toHaveBeenCalledWith(good);
  });

  it('openFile takes no argument', async () => {
    const { ipc, ours, shell } = setup();
    expect(await ipc.invoke(shellChannel('openFile'), ours, { path: '/etc/passwd' })).toEqual({ ok: false, error: 'openFile takes no argument' });
    expect(shell.openFile).not.toHaveBeenCalled();
    expect(await ipc.invoke(shellChannel('openFile'), ours)).toEqual({ ok: true, value: null });
    expect(shell.openFile).toHaveBeenCalledTimes(1);
  });
});

describe('IPC events', () => {
  it('forwards event batches to the window on EVENT_CHANNEL, and stops when unregistered', () => {
    let emit: (events: UiEvent[]) => void = () => {};
    const session: IpcSession = {
      dispatch: async () => null,
      onEvents: (l) => {
        emit = l;
        return () => (emit = () => {});
      },
    };
    const { win, unregister } = setup(session);
    const batch: UiEvent[] = [{ type: 'cleared' }, { type: 'proxy', status: null }];
    emit(batch);
    expect(win.webContents.sent).toEqual([{ channel: EVENT_CHANNEL, args: [batch] }]);
    unregister();
    emit(batch);
    expect(win.webContents.sent).toHaveLength(1);
  });

  it('drops events while the window is gone', () => {
    let emit: (events: UiEvent[]) => void = () => {};
    const session: IpcSession = { dispatch: async () => null, onEvents: (l) => ((emit = l), () => {}) };
    const { win, setWindow } = setup(session);
    win.destroyed = true;
    emit([{ type: 'cleared' }]);
    setWindow(null);
    emit([{ type: 'cleared' }]);
    expect(win.webContents.sent).toEqual([]);
  });

  it('forwards the real session’s batches', async () => {
    const { win, ipc, ours } = setup();
    await ipc.invoke(commandChannel('clear'), ours, {});
    await vi.waitFor(() => expect(win.webContents.sent.length).toBeGreaterThan(0));
    expect(win.webContents.sent[0]).toEqual({ channel: EVENT_CHANNEL, args: [[{ type: 'cleared' }]] });
  });
});
