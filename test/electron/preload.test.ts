// The preload (main/preload/index.ts) run against a fake 'electron' module: what it hands
// to contextBridge.exposeInMainWorld is exactly PreloadApi — engine === COMMANDS, shell ===
// SHELL_COMMANDS — and nothing in it is, returns or leaks ipcRenderer.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMANDS, EVENT_CHANNEL, SHELL_COMMANDS, commandChannel, type PreloadApi } from '../../shared/contract';
import { MENU_CHANNEL, OPEN_FILE_CHANNEL, shellChannel } from '../../main/preload/wire';

const fake = vi.hoisted(() => {
  // A fake ipcRenderer: invoke answers from a table; `on` listeners can be fired by hand.
  const { EventEmitter: Emitter } = require('node:events') as typeof import('node:events');
  const emitter = new Emitter();
  const replies = new Map<string, unknown>();
  const ipcRenderer = {
    invoke: vi.fn(async (channel: string, ..._args: unknown[]) => replies.get(channel) ?? { ok: true, value: null }),
    on: vi.fn((channel: string, l: (...a: unknown[]) => void) => {
      emitter.on(channel, l);
      return ipcRenderer;
    }),
    removeListener: vi.fn((channel: string, l: (...a: unknown[]) => void) => {
      emitter.removeListener(channel, l);
      return ipcRenderer;
    }),
    send: vi.fn(),
    sendSync: vi.fn(),
  };
  const exposed: Array<{ key: string; api: unknown }> = [];
  const contextBridge = { exposeInMainWorld: vi.fn((key: string, api: unknown) => exposed.push({ key, api })) };
  return { emitter, replies, ipcRenderer, contextBridge, exposed };
});

vi.mock('electron', () => ({ contextBridge: fake.contextBridge, ipcRenderer: fake.ipcRenderer }));

let api: PreloadApi;
const ipcEvent = { sender: fake.ipcRenderer, senderId: 0, ports: [] };

beforeAll(async () => {
  await import('../../main/preload/index');
  expect(fake.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
  expect(fake.exposed[0]!.key).toBe('framescope');
  api = fake.exposed[0]!.api as PreloadApi;
});

/** Every value reachable from `root` (own properties, recursively). */
function reachable(root: unknown): unknown[] {
  const seen = new Set<unknown>();
  const walk = (v: unknown) => {
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) return;
    seen.add(v);
    for (const k of Reflect.ownKeys(v as object)) walk((v as Record<PropertyKey, unknown>)[k]);
  };
  walk(root);
  return [...seen];
}

describe('preload: exactly the contract', () => {
  it('exposes exactly engine, shell, onEvents, onOpenFile, onMenu and platform', () => {
    expect(Object.keys(api).sort()).toEqual(['engine', 'onEvents', 'onMenu', 'onOpenFile', 'platform', 'shell']);
    expect(api.platform).toBe(process.platform);
  });

  it('engine has exactly COMMANDS, shell exactly SHELL_COMMANDS, all functions', () => {
    expect(Object.keys(api.engine).sort()).toEqual([...COMMANDS].sort());
    expect(Object.keys(api.shell).sort()).toEqual([...SHELL_COMMANDS].sort());
    for (const f of [...Object.values(api.engine), ...Object.values(api.shell)]) expect(typeof f).toBe('function');
  });

  it('each engine command invokes its own channel with the argument and returns the value', async () => {
    for (const name of COMMANDS) {
      fake.replies.set(commandChannel(name), { ok: true, value: { from: name } });
      fake.ipcRenderer.invoke.mockClear();
      const arg = { probe: name };
      const result = await (api.engine[name] as (a: unknown) => Promise<unknown>)(arg);
      expect(result).toEqual({ from: name });
      expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(commandChannel(name), arg);
    }
  });

  it('shell commands invoke their channels', async () => {
    fake.replies.set(shellChannel('saveFile'), { ok: true, value: '/tmp/x.json' });
    const blob = { filename: 'x.json', mime: 'application/json', data: 'e30=' };
    expect(await api.shell.saveFile(blob)).toBe('/tmp/x.json');
    expect(fake.ipcRenderer.invoke).toHaveBeenLastCalledWith(shellChannel('saveFile'), blob);
    fake.replies.set(shellChannel('openFile'), { ok: true, value: null });
    expect(await api.shell.openFile()).toBeNull();
    expect(fake.ipcRenderer.invoke).toHaveBeenLastCalledWith(shellChannel('openFile'));
  });

  it('turns an error reply into an Error carrying the plain message', async () => {
    fake.replies.set(commandChannel('send'), { ok: false, error: 'send.text must be a string' });
    await expect(api.engine.send({ connection: 'c1', kind: 'text', text: 'x' })).rejects.toThrow(/^send\.text must be a string$/);
    fake.replies.set(commandChannel('clear'), 'garbage');
    await expect(api.engine.clear(undefined)).rejects.toThrow('malformed reply');
  });
});

describe('preload: no ipcRenderer anywhere', () => {
  it('nothing reachable from the API is ipcRenderer or one of its methods', () => {
    const forbidden = new Set<unknown>([fake.ipcRenderer, ...Object.values(fake.ipcRenderer)]);
    for (const v of reachable(api)) expect(forbidden.has(v)).toBe(false);
  });

  it('no function returns ipcRenderer or anything holding it', async () => {
    const forbidden = new Set<unknown>([fake.ipcRenderer, ...Object.values(fake.ipcRenderer)]);
    fake.replies.clear();
    const results: unknown[] = [];
    for (const f of Object.values(api.engine)) results.push(await (f as (a: unknown) => Promise<unknown>)({}));
    results.push(await api.shell.openFile());
    const offs = [api.onEvents(() => {}), api.onOpenFile(() => {}), api.onMenu(() => {})];
    results.push(...offs, ...offs.map((off) => off()));
    for (const r of results) for (const v of reachable(r)) expect(forbidden.has(v)).toBe(false);
  });

  it('event listeners get the payload only, never the IpcRendererEvent', () => {
    const listener = vi.fn();
    const off = api.onEvents(listener);
    const batch = [{ type: 'cleared' }];
    fake.emitter.emit(EVENT_CHANNEL, ipcEvent, batch);
    expect(listener.mock.calls).toEqual([[batch]]);
    fake.emitter.emit(EVENT_CHANNEL, ipcEvent, 'not a batch');
    expect(listener).toHaveBeenCalledTimes(1);
    off();
    fake.emitter.emit(EVENT_CHANNEL, ipcEvent, batch);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(fake.emitter.listenerCount(EVENT_CHANNEL)).toBe(0);
  });

  it('files opened before the UI subscribed wait for it; afterwards they go straight through', () => {
    const early = { filename: 'a.wscap.json', mime: 'application/json', data: 'e30=' };
    fake.emitter.emit(OPEN_FILE_CHANNEL, ipcEvent, early);
    fake.emitter.emit(OPEN_FILE_CHANNEL, ipcEvent, { filename: 5 });
    const listener = vi.fn();
    const off = api.onOpenFile(listener);
    expect(listener.mock.calls).toEqual([[early]]);
    const later = { ...early, filename: 'b.har' };
    fake.emitter.emit(OPEN_FILE_CHANNEL, ipcEvent, later);
    expect(listener.mock.calls).toEqual([[early], [later]]);
    off();
  });

  it('menu actions: only the contract’s, payload only', () => {
    const listener = vi.fn();
    const off = api.onMenu(listener);
    fake.emitter.emit(MENU_CHANNEL, ipcEvent, 'toggleTheme');
    fake.emitter.emit(MENU_CHANNEL, ipcEvent, 'rm -rf');
    expect(listener.mock.calls).toEqual([['toggleTheme']]);
    off();
  });
});
