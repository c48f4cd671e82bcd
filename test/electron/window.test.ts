// The window factory (main/electron/window.ts) with a fake BrowserWindow: the hardened
// options, navigation and new windows denied, permission requests denied.
import { describe, expect, it, vi } from 'vitest';
import type { BrowserWindowConstructorOptions } from 'electron';
import { createMainWindow, hardenedWebPreferences, isSafeExternalUrl, type WindowDeps } from '../../main/electron/window';
import { APP_URL, isAppUrl } from '../../main/electron/protocol';
import { FakeWindow, navEvent } from './fakes';

function setup(state = { width: 1000, height: 700, maximized: false } as { x?: number; y?: number; width: number; height: number; maximized: boolean }) {
  let win: FakeWindow | null = null;
  const openExternal = vi.fn(async (_url: string) => {});
  const log = vi.fn();
  const deps: WindowDeps = {
    createWindow: (options: BrowserWindowConstructorOptions) => {
      win = new FakeWindow(options);
      return win.asWindow();
    },
    openExternal,
    isAppUrl,
    log,
  };
  createMainWindow(deps, { preload: '/app/dist/preload/index.cjs', url: APP_URL, state });
  return { win: win! as FakeWindow, openExternal, log };
}

describe('window factory: hardened options', () => {
  it('creates the window with every hardening switch set', () => {
    const { win } = setup();
    const wp = win.options.webPreferences!;
    expect(wp.contextIsolation).toBe(true);
    expect(wp.sandbox).toBe(true);
    expect(wp.nodeIntegration).toBe(false);
    expect(wp.nodeIntegrationInWorker).toBe(false);
    expect(wp.nodeIntegrationInSubFrames).toBe(false);
    expect(wp.webSecurity).toBe(true);
    expect(wp.allowRunningInsecureContent).toBe(false);
    expect(wp.webviewTag).toBe(false);
    expect(wp.spellcheck).toBe(false);
    expect(wp.experimentalFeatures).toBe(false);
    expect(wp.navigateOnDragDrop).toBe(false);
    expect(wp.preload).toBe('/app/dist/preload/index.cjs');
    expect(wp.devTools).toBe(false);
    expect(wp).toEqual(hardenedWebPreferences('/app/dist/preload/index.cjs'));
  });

  it('has developer tools only when asked (development)', () => {
    expect(hardenedWebPreferences('/p', true).devTools).toBe(true);
    expect(hardenedWebPreferences('/p').devTools).toBe(false);
  });

  it('loads only our page, and shows the window when it is ready', () => {
    const { win } = setup();
    expect(win.loaded).toEqual([APP_URL]);
    expect(win.options.show).toBe(false);
    expect(win.shown).toBe(false);
    win.emit('ready-to-show');
    expect(win.shown).toBe(true);
    expect(win.maximized).toBe(false);
  });

  it('restores the remembered bounds and the maximized state', () => {
    const { win } = setup({ x: 40, y: 50, width: 900, height: 600, maximized: true });
    expect(win.options).toMatchObject({ x: 40, y: 50, width: 900, height: 600 });
    expect(win.options.center).toBeUndefined();
    win.emit('ready-to-show');
    expect(win.maximized).toBe(true);
  });

  it('centres a window with no remembered position', () => {
    const { win } = setup();
    expect(win.options.center).toBe(true);
    expect(win.options.x).toBeUndefined();
  });
});

describe('window factory: navigation and new windows', () => {
  it('denies every navigation; an https link goes to the browser instead', () => {
    const { win, openExternal } = setup();
    for (const url of ['https://example.com/docs', 'http://example.com/', 'file:///etc/passwd', 'app://framescope/other.html', 'javascript:alert(1)']) {
      const e = navEvent(url);
      win.webContents.emit('will-navigate', e);
      expect(e.prevented, url).toBe(true);
    }
    expect(openExternal.mock.calls.map((c) => c[0])).toEqual(['https://example.com/docs']);
  });

  it('denies redirects', () => {
    const { win, openExternal } = setup();
    const e = navEvent('https://example.com/');
    win.webContents.emit('will-redirect', e);
    expect(e.prevented).toBe(true);
    expect(openExternal).not.toHaveBeenCalled();
  });

  it('denies every new window; only a safe https URL is handed to the browser', () => {
    const { win, openExternal } = setup();
    const handler = win.webContents.windowOpenHandler!;
    for (const url of ['https://www.rfc-editor.org/rfc/rfc6455', 'http://example.com/', 'file:///tmp/x', 'https://user:pw@example.com/', 'about:blank']) {
      expect(handler({ url }), url).toEqual({ action: 'deny' });
    }
    expect(openExternal.mock.calls.map((c) => c[0])).toEqual(['https://www.rfc-editor.org/rfc/rfc6455']);
  });

  it('refuses to attach a <webview>', () => {
    const { win } = setup();
    const e = navEvent('');
    win.webContents.emit('will-attach-webview', e);
    expect(e.prevented).toBe(true);
  });

  it('validates external URLs', () => {
    expect(isSafeExternalUrl('https://example.com/x?y#z')).toBe(true);
    expect(isSafeExternalUrl('http://example.com/')).toBe(false);
    expect(isSafeExternalUrl('https://user@example.com/')).toBe(false);
    expect(isSafeExternalUrl('smb://host/share')).toBe(false);
    expect(isSafeExternalUrl('not a url')).toBe(false);
    expect(isSafeExternalUrl(`https://example.com/${'a'.repeat(3000)}`)).toBe(false);
  });
});

describe('window factory: permissions', () => {
  const DENIED = ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'hid', 'usb', 'serial', 'display-capture', 'fullscreen', 'unknown'];

  it('denies permission requests', () => {
    const { win } = setup();
    const request = win.webContents.session.permissionRequest!;
    for (const permission of DENIED) {
      const cb = vi.fn();
      request(win.webContents, permission, cb, { requestingUrl: APP_URL, isMainFrame: true });
      expect(cb, permission).toHaveBeenCalledWith(false);
    }
  });

  it('allows only sanitized clipboard writes, and only from our page', () => {
    const { win } = setup();
    const request = win.webContents.session.permissionRequest!;
    const ok = vi.fn();
    request(win.webContents, 'clipboard-sanitized-write', ok, { requestingUrl: APP_URL, isMainFrame: true });
    expect(ok).toHaveBeenCalledWith(true);
    const other = vi.fn();
    request(win.webContents, 'clipboard-sanitized-write', other, { requestingUrl: 'https://evil.example/', isMainFrame: false });
    expect(other).toHaveBeenCalledWith(false);
  });

  it('answers permission checks the same way', () => {
    const { win } = setup();
    const check = win.webContents.session.permissionCheck!;
    for (const permission of DENIED) expect(check(win.webContents, permission, 'app://framescope', {}), permission).toBe(false);
    expect(check(win.webContents, 'clipboard-sanitized-write', 'app://framescope', {})).toBe(true);
    expect(check(win.webContents, 'clipboard-sanitized-write', 'https://evil.example', {})).toBe(false);
  });
});
