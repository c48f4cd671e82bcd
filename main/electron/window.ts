// The one BrowserWindow, hardened as Electron's security checklist asks: context
// isolation, the sandbox, no Node in the renderer, web security on, no <webview>; no
// navigation away from our page, no new windows (an https link goes to the user's
// browser, after a check), and no permission a WebSocket inspector has no use for.
//
// A factory over an injected subset of the Electron API (type-only imports here), so the
// tests check the options and the handlers with fakes; main.ts hands in the real thing.
import type { BrowserWindow, BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { MIN_SIZE, type WindowState } from './window-state';

export interface WindowDeps {
  /** `(o) => new BrowserWindow(o)` */
  createWindow(options: BrowserWindowConstructorOptions): BrowserWindow;
  /** shell.openExternal: only ever called with a URL that passed isSafeExternalUrl */
  openExternal(url: string): Promise<void>;
  /** is this one of our pages (app://framescope/…, or the dev server in development) */
  isAppUrl(url: string): boolean;
  log(line: string): void;
}

export interface WindowOptions {
  /** absolute path of app/dist/preload/index.cjs */
  preload: string;
  /** the page to load: APP_URL, or the renderer dev server in development */
  url: string;
  state: WindowState;
  title?: string;
  /** Linux only (elsewhere the packaged app's icon is used) */
  icon?: string;
  /** development only */
  devTools?: boolean;
}

/**
 * The renderer's webPreferences: every hardening switch spelled out, none left to a
 * default. Developer tools exist only in development (the menu offers them only then too).
 */
export function hardenedWebPreferences(preload: string, devTools = false): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    devTools,
  };
}

/** https only, no credentials in the URL, a host, and not absurdly long. */
export function isSafeExternalUrl(url: string): boolean {
  if (url.length > 2048) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/**
 * Permissions: none, except writing sanitized text to the clipboard from our own page
 * (the UI's "copy" buttons use navigator.clipboard.writeText). No camera, microphone,
 * notifications, geolocation, HID/USB/serial, reading the clipboard, or openExternal.
 */
export function permissionAllowed(permission: string, origin: string, isAppUrl: (url: string) => boolean): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(origin);
}

export function createMainWindow(deps: WindowDeps, o: WindowOptions): BrowserWindow {
  const { state } = o;
  const win = deps.createWindow({
    title: o.title ?? 'Framescope',
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : { center: true }),
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    backgroundColor: '#15171c',
    ...(o.icon ? { icon: o.icon } : {}),
    webPreferences: hardenedWebPreferences(o.preload, o.devTools ?? false),
  });
  const contents = win.webContents;

  const external = (url: string, why: string) => {
    if (isSafeExternalUrl(url)) void deps.openExternal(url).catch(() => deps.log(`could not open ${url} in the browser`));
    else deps.log(`blocked ${why} to ${url.slice(0, 200)}`);
  };

  // Navigation: the page never leaves our origin. A link to an https page opens in the
  // user's browser; a dropped file (which Chromium would open as a page) goes nowhere —
  // the UI takes drops itself.
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    external(event.url, 'a navigation');
  });
  contents.on('will-redirect', (event) => {
    event.preventDefault();
    deps.log(`blocked a redirect to ${event.url.slice(0, 200)}`);
  });
  contents.setWindowOpenHandler(({ url }) => {
    external(url, 'a new window');
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });

  const ses = contents.session;
  ses.setPermissionRequestHandler((_wc, permission, callback, details) => {
    const ok = permissionAllowed(permission, details.requestingUrl, deps.isAppUrl);
    if (!ok) deps.log(`denied the permission ${permission}`);
    callback(ok);
  });
  ses.setPermissionCheckHandler((_wc, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin, deps.isAppUrl));

  win.once('ready-to-show', () => {
    if (state.maximized) win.maximize();
    win.show();
  });
  void win.loadURL(o.url).catch((err: unknown) => deps.log(`could not load the UI: ${err instanceof Error ? err.message : String(err)}`));
  return win;
}
