// The desktop app's entry (bundled by vite.electron.config.ts to app/dist/main/index.js,
// an ES module; `electron app` and the packaged app run it). It wires the pieces: one
// engine session, one hardened window (window.ts) showing the renderer from app://
// (protocol.ts), validated IPC (ipc.ts), the native menu (menu.ts, actions.ts), files
// opened by the OS, the window's remembered bounds (window-state.ts) and a clean shutdown
// (shutdown.ts). It is the only module that imports Electron's values; the rest take
// what they need injected, so they are tested without Electron.
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, shell, type OpenDialogOptions, type SaveDialogOptions, type WebContents } from 'electron';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MenuAction } from '../../shared/contract';
import { EngineSession } from '../engine/session/session';
import { MENU_CHANNEL, OPEN_FILE_CHANNEL } from '../preload/wire';
import { createMenuActions, OpenQueue } from './actions';
import { capturePathsFromArgv, createShellHandlers } from './files';
import { registerIpc } from './ipc';
import { menuTemplate } from './menu';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, APP_URL, createAppProtocolHandler, isAppUrl } from './protocol';
import { installShutdown } from './shutdown';
import { createMainWindow } from './window';
import { fitToDisplays, loadWindowState, saveWindowState, stateOf } from './window-state';

const HERE = dirname(fileURLToPath(import.meta.url)); // app/dist/main
const RENDERER_DIR = join(HERE, '..', 'renderer');
const PRELOAD = join(HERE, '..', 'preload', 'index.cjs');
const APP_NAME = 'Framescope';

const log = (line: string): void => {
  process.stderr.write(`framescope: ${line}\n`);
};

/**
 * `npm run dev` only: the renderer's dev server (hot reload). Never in a packaged app,
 * and only an http URL on loopback — the window trusts this origin like its own.
 */
function devRendererUrl(): string | null {
  const raw = process.env['FRAMESCOPE_RENDERER_URL'];
  if (app.isPackaged || !raw) return null;
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]')) return u.href;
  } catch {
    /* ignored below */
  }
  log(`ignoring FRAMESCOPE_RENDERER_URL=${raw}: not an http URL on loopback`);
  return null;
}

// Before `ready`: app:// must be a standard, secure scheme for the renderer's modules.
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
app.setName(APP_NAME);

if (!app.requestSingleInstanceLock()) {
  // Another Framescope is running: it gets our argv (second-instance) and opens the files.
  app.quit();
} else {
  start();
}

function start(): void {
  const devUrl = devRendererUrl();
  const devOrigin = devUrl ? new URL(devUrl).origin : null;
  const isOurs = (url: string): boolean => {
    if (isAppUrl(url)) return true;
    if (!devOrigin) return false;
    try {
      return new URL(url).origin === devOrigin;
    } catch {
      return false;
    }
  };

  // Sessions are kept in the app's own data folder and offered back at the next start.
  const session = new EngineSession({ version: app.getVersion(), sessionsDir: join(app.getPath('userData'), 'sessions') });
  let win: BrowserWindow | null = null;
  const contents = (): WebContents | null => (win && !win.isDestroyed() && !win.webContents.isDestroyed() ? win.webContents : null);

  const opener = new OpenQueue(
    (blob) => contents()?.send(OPEN_FILE_CHANNEL, blob),
    (path, message) => dialog.showErrorBox(`Could not open ${basename(path)}`, message),
  );
  // macOS: a file association or a drop on the Dock icon; may come before `ready`.
  app.on('open-file', (event, path) => {
    event.preventDefault();
    opener.open([path]);
    if (app.isReady()) showWindow();
  });
  // Windows and Linux: the file association passes the path on the command line.
  opener.open(capturePathsFromArgv(process.argv, process.cwd()));
  app.on('second-instance', (_event, argv, workingDirectory) => {
    showWindow();
    opener.open(capturePathsFromArgv(argv, workingDirectory));
  });

  installShutdown(app, { dispose: () => session.dispose(), log });
  // Ctrl+C in the terminal of `npm start` / `npm run dev`: the same clean shutdown.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit());

  // No <webview> anywhere, whichever webContents asks (defence in depth; webviewTag is off).
  app.on('web-contents-created', (_event, wc) => {
    wc.on('will-attach-webview', (event) => event.preventDefault());
  });

  const stateFile = (): string => join(app.getPath('userData'), 'window-state.json');

  const createWindow = (): BrowserWindow => {
    const saved = loadWindowState(stateFile());
    const state = fitToDisplays(saved, screen.getAllDisplays().map((d) => d.workArea));
    const w = createMainWindow(
      {
        createWindow: (options) => new BrowserWindow(options),
        openExternal: (url) => shell.openExternal(url),
        isAppUrl: isOurs,
        log,
      },
      { preload: PRELOAD, url: devUrl ?? APP_URL, state, title: APP_NAME, devTools: !app.isPackaged },
    );
    w.webContents.on('did-start-loading', () => opener.setReady(false));
    w.webContents.on('did-finish-load', () => opener.setReady(true));
    w.on('close', () => {
      try {
        saveWindowState(stateFile(), stateOf(w));
      } catch (err) {
        log(`could not remember the window's position: ${(err as Error).message}`);
      }
    });
    w.on('closed', () => {
      if (win === w) win = null;
      opener.setReady(false);
    });
    return w;
  };

  const showWindow = (): void => {
    if (!app.isReady()) return;
    if (!win || win.isDestroyed()) win = createWindow();
    if (win.isMinimized()) win.restore();
    win.focus();
  };

  const dialogs = {
    showSaveDialog: (o: SaveDialogOptions) => (win && !win.isDestroyed() ? dialog.showSaveDialog(win, o) : dialog.showSaveDialog(o)),
    showOpenDialog: (o: OpenDialogOptions) => (win && !win.isDestroyed() ? dialog.showOpenDialog(win, o) : dialog.showOpenDialog(o)),
    defaultDir: () => app.getPath('documents'),
  };
  const shellApi = createShellHandlers(dialogs);
  const sendToUi = (action: MenuAction) => contents()?.send(MENU_CHANNEL, action);

  void app.whenReady().then(() => {
    protocol.handle(APP_SCHEME, createAppProtocolHandler({ root: RENDERER_DIR }));
    registerIpc({ ipcMain, session, shell: shellApi, window: () => win, isAppUrl: isOurs, log });
    const actions = createMenuActions({
      session,
      shell: shellApi,
      openInUi: (blob) => contents()?.send(OPEN_FILE_CHANNEL, blob),
      sendToUi,
      showMessageBox: (o) => (win && !win.isDestroyed() ? dialog.showMessageBox(win, o) : dialog.showMessageBox(o)),
      showErrorBox: (title, content) => dialog.showErrorBox(title, content),
      about: { name: APP_NAME, version: app.getVersion(), versions: process.versions },
      log,
    });
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(actions, { appName: APP_NAME, isMac: process.platform === 'darwin', isPackaged: app.isPackaged })));
    showWindow();
    // macOS: clicking the Dock icon with no window open opens one (the engine kept running).
    app.on('activate', () => showWindow());
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
