// Fakes of the bits of Electron the shell uses. Electron never runs in these tests (its
// binary cannot be downloaded here); the production modules take these objects injected,
// typed as Electron's own types, so each fake is cast once at the boundary.
import { EventEmitter } from 'node:events';
import type { BrowserWindow, BrowserWindowConstructorOptions, IpcMain, IpcMainInvokeEvent } from 'electron';
import { APP_URL } from '../../main/electron/protocol';

export interface FakeFrame {
  url: string;
  parent: FakeFrame | null;
  detached: boolean;
  destroyed: boolean;
  isDestroyed(): boolean;
}

export function fakeFrame(url: string = APP_URL, parent: FakeFrame | null = null): FakeFrame {
  const f: FakeFrame = {
    url,
    parent,
    detached: false,
    destroyed: false,
    isDestroyed: () => f.destroyed,
  };
  return f;
}

type Handler = (...args: unknown[]) => unknown;

export class FakeSession {
  permissionRequest: Handler | null = null;
  permissionCheck: Handler | null = null;
  setPermissionRequestHandler(h: Handler | null) {
    this.permissionRequest = h;
  }
  setPermissionCheckHandler(h: Handler | null) {
    this.permissionCheck = h;
  }
}

export class FakeWebContents extends EventEmitter {
  readonly session = new FakeSession();
  readonly mainFrame = fakeFrame();
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  sent: Array<{ channel: string; args: unknown[] }> = [];
  destroyed = false;
  setWindowOpenHandler(h: (details: { url: string }) => { action: string }) {
    this.windowOpenHandler = h;
  }
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args });
  }
  isDestroyed() {
    return this.destroyed;
  }
}

export class FakeWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  loaded: string[] = [];
  shown = false;
  maximized = false;
  destroyed = false;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
  }
  loadURL(url: string) {
    this.loaded.push(url);
    return Promise.resolve();
  }
  show() {
    this.shown = true;
  }
  maximize() {
    this.maximized = true;
  }
  isDestroyed() {
    return this.destroyed;
  }
  asWindow(): BrowserWindow {
    return this as unknown as BrowserWindow;
  }
}

/** A navigation-style event: records preventDefault. */
export function navEvent(url: string) {
  const e = { url, prevented: false, preventDefault: () => void (e.prevented = true) };
  return e;
}

export class FakeIpcMain {
  readonly handlers = new Map<string, (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown) {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  asIpcMain(): Pick<IpcMain, 'handle' | 'removeHandler'> {
    return this as unknown as Pick<IpcMain, 'handle' | 'removeHandler'>;
  }
  /** Calls a handler as Electron would, with this sender. */
  async invoke(channel: string, sender: { webContents: unknown; frame: FakeFrame | null }, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    const event = { sender: sender.webContents, senderFrame: sender.frame } as unknown as IpcMainInvokeEvent;
    return h(event, ...args);
  }
}
