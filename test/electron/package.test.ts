// SLOW (tens of seconds): builds the desktop bundles and packages them, all without the
// Electron binary (it cannot be downloaded here).
//   1. Vite builds main, preload and renderer into a temporary app root (not app/dist, which
//      other tests and builds use at the same time).
//   2. The bundles: the preload requires only 'electron'; main imports only 'electron' and
//      Node built-ins (everything else inlined).
//   3. Main boots under Node with a fake 'electron' module (a loader hook): it registers the
//      app:// scheme before ready, takes the single-instance lock, opens one hardened window
//      on app://framescope/index.html, serves the page with the CSP header, answers IPC only
//      from our frame, hands a capture named on the command line to the UI, and on quit
//      disposes the session once before exiting.
//   4. `electron-builder --dir` packages the temporary app root against a placeholder
//      electronDist (a folder holding a fake `electron` executable) and the installed
//      electron version; the resulting app.asar, listed with @electron/asar, holds the built
//      main, preload and renderer and nothing of sources, tests, maps or node_modules.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFile, listPackage } from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, SHELL_COMMANDS, commandChannel } from '../../shared/contract';
import { shellChannel, OPEN_FILE_CHANNEL } from '../../main/preload/wire';
import { CONTENT_SECURITY_POLICY } from '../../main/electron/protocol';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const T = mkdtempSync(join(tmpdir(), 'framescope-package-'));
const APP = join(T, 'app');
const VITE = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${args.slice(0, 3).join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

beforeAll(() => {
  mkdirSync(APP, { recursive: true });
  copyFileSync(join(ROOT, 'app', 'package.json'), join(APP, 'package.json'));
  for (const mode of ['main', 'preload']) {
    run([VITE, 'build', '--config', 'vite.electron.config.ts', '--mode', mode, '--logLevel', 'warn', '--outDir', join(APP, 'dist', mode), '--emptyOutDir']);
  }
  run([VITE, 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn', '--outDir', join(APP, 'dist', 'renderer'), '--emptyOutDir']);
}, 240_000);

afterAll(() => rmSync(T, { recursive: true, force: true }));

describe('desktop bundles', () => {
  it('the preload is one CommonJS file that requires only electron', () => {
    const src = readFileSync(join(APP, 'dist', 'preload', 'index.cjs'), 'utf8');
    const requires = [...src.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(requires).toEqual(['electron']);
    expect(src).not.toMatch(/^\s*(import|export)\s/m);
    expect(src).toContain('exposeInMainWorld("framescope"');
  });

  it('main is an ES module importing only electron and Node built-ins, without the CLI', () => {
    const src = readFileSync(join(APP, 'dist', 'main', 'index.js'), 'utf8');
    const imports = [...src.matchAll(/^import\s[^'"]*["']([^"']+)["']/gm)].map((m) => m[1]!);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    expect(imports).toContain('electron');
    for (const spec of imports) expect(spec === 'electron' || builtins.has(spec), spec).toBe(true);
    // No CommonJS require call (a bundled library's doc comment may show one).
    const code = src.split('\n').filter((line) => !/^\s*(\*|\/\/)/.test(line));
    expect(code.filter((line) => /\brequire\(/.test(line))).toEqual([]);
    expect(src).not.toContain('commander');
  });
});

// A fake 'electron' module for the boot test: records what main does, then drives one
// scenario (serve the page, two IPC calls, the UI finishing its load, quit) and prints a report.
const FAKE_ELECTRON = String.raw`
import { EventEmitter } from 'node:events';
const report = { events: [], handlers: [], calls: {} };
const rec = (what, data) => report.events.push(data === undefined ? { what } : { what, data });
let ready = false;
let resolveReady;
const readyPromise = new Promise((r) => (resolveReady = r));
setTimeout(() => { ready = true; resolveReady(); }, 0);
const handlers = new Map();
let protocolHandler = null;
const windows = [];

class App extends EventEmitter {
  isPackaged = false;
  getVersion() { return '0.1.0'; }
  setName(n) { rec('setName', n); }
  requestSingleInstanceLock() { rec('requestSingleInstanceLock'); return true; }
  getPath(name) { return process.env.FAKE_USERDATA + '/' + name; }
  isReady() { return ready; }
  whenReady() { return readyPromise; }
  quit() {
    rec('quit');
    const e = { prevented: false, preventDefault() { this.prevented = true; } };
    this.emit('before-quit', e);
    rec('before-quit', { prevented: e.prevented });
    if (!e.prevented) { process.stdout.write(JSON.stringify(report) + '\n'); process.exit(0); }
  }
}
export const app = new App();
export const protocol = {
  registerSchemesAsPrivileged(schemes) { rec('registerSchemesAsPrivileged', { schemes, ready }); },
  handle(scheme, h) { rec('protocol.handle', scheme); protocolHandler = h; },
};
export const ipcMain = {
  handle(channel, h) { report.handlers.push(channel); handlers.set(channel, h); },
  removeHandler(channel) { handlers.delete(channel); },
};
const frame = (url, parent = null) => ({ url, parent, detached: false, isDestroyed: () => false });
class WebContents extends EventEmitter {
  session = { setPermissionRequestHandler() {}, setPermissionCheckHandler() {} };
  mainFrame = frame('app://framescope/index.html');
  setWindowOpenHandler() {}
  send(channel, payload) { rec('send', { channel, filename: payload && payload.filename }); }
  isDestroyed() { return false; }
}
export class BrowserWindow extends EventEmitter {
  constructor(options) { super(); rec('BrowserWindow', options); this.webContents = new WebContents(); windows.push(this); }
  loadURL(url) { rec('loadURL', url); return Promise.resolve(); }
  isDestroyed() { return false; }
  isMinimized() { return false; }
  restore() {}
  focus() {}
  show() {}
  maximize() {}
  getNormalBounds() { return { x: 0, y: 0, width: 1280, height: 820 }; }
  isMaximized() { return false; }
}
export const Menu = {
  buildFromTemplate(t) { rec('menu', t.map((m) => m.label || m.role)); return t; },
  setApplicationMenu() { rec('setApplicationMenu'); },
};
export const dialog = { showErrorBox(title, content) { rec('errorBox', { title, content }); } };
export const screen = { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1040 } }] };
export const shell = { openExternal: async () => {} };

readyPromise.then(() => setTimeout(async () => {
  const win = windows[0];
  const page = await protocolHandler({ url: 'app://framescope/index.html', method: 'GET' });
  report.calls.page = { status: page.status, csp: page.headers.get('content-security-policy'), root: (await page.text()).includes('id="root"') };
  const ours = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
  report.calls.snapshot = await handlers.get('framescope:snapshot')(ours, {});
  report.calls.evil = await handlers.get('framescope:snapshot')({ sender: win.webContents, senderFrame: frame('https://evil.example/') }, {});
  report.calls.badArg = await handlers.get('framescope:send')(ours, { connection: 'c1', kind: 'text', text: 5 });
  win.webContents.emit('did-finish-load');
  // the file is read asynchronously: quit once it went out (bounded, not timed)
  for (let i = 0; i < 2000 && !report.events.some((e) => e.what === 'send' && e.data.channel === 'framescope:open-file'); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  app.quit();
}, 0));
`;

const HOOKS = `
const FAKE = new URL('./electron.mjs', import.meta.url).href;
export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: FAKE, shortCircuit: true };
  return next(specifier, context);
}
`;

interface BootReport {
  events: Array<{ what: string; data?: unknown }>;
  handlers: string[];
  calls: { page: { status: number; csp: string; root: boolean }; snapshot: unknown; evil: unknown; badArg: unknown };
}

describe('main boots under a fake electron', () => {
  let report: BootReport;
  beforeAll(() => {
    const fake = join(T, 'fake-electron');
    mkdirSync(fake);
    writeFileSync(join(fake, 'electron.mjs'), FAKE_ELECTRON);
    writeFileSync(join(fake, 'hooks.mjs'), HOOKS);
    writeFileSync(join(fake, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
    mkdirSync(join(T, 'userData'));
    const capture = join(T, 'opened.wscap.json');
    writeFileSync(capture, '{"format":"framescope.capture","version":1,"connections":[]}');
    const r = run(['--import', join(fake, 'register.mjs'), join(APP, 'dist', 'main', 'index.js'), capture], {
      FAKE_USERDATA: join(T, 'userData'),
      FRAMESCOPE_RENDERER_URL: '',
    });
    report = JSON.parse(r.stdout.trim().split('\n').pop()!) as BootReport;
  }, 60_000);

  const events = (what: string) => report.events.filter((e) => e.what === what);

  it('registers app:// as privileged before ready, and takes the single-instance lock', () => {
    const [reg] = events('registerSchemesAsPrivileged');
    expect(reg!.data).toMatchObject({ ready: false, schemes: [{ scheme: 'app', privileges: { standard: true, secure: true } }] });
    expect(events('requestSingleInstanceLock')).toHaveLength(1);
    expect(events('protocol.handle').map((e) => e.data)).toEqual(['app']);
  });

  it('opens one hardened window on app://framescope/index.html with the built preload', () => {
    const wins = events('BrowserWindow');
    expect(wins).toHaveLength(1);
    const wp = (wins[0]!.data as { webPreferences: Record<string, unknown> }).webPreferences;
    expect(wp).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, spellcheck: false });
    expect(wp.preload).toBe(join(APP, 'dist', 'preload', 'index.cjs'));
    expect(existsSync(wp.preload as string)).toBe(true);
    expect(events('loadURL').map((e) => e.data)).toEqual(['app://framescope/index.html']);
    expect(events('setApplicationMenu')).toHaveLength(1);
  });

  it('serves the built page with the CSP header', () => {
    expect(report.calls.page).toEqual({ status: 200, csp: CONTENT_SECURITY_POLICY, root: true });
  });

  it('registers exactly the contract channels and answers only our frame', () => {
    expect(new Set(report.handlers)).toEqual(new Set([...COMMANDS.map(commandChannel), ...SHELL_COMMANDS.map(shellChannel)]));
    expect(report.calls.snapshot).toEqual({
      ok: true,
      value: { connections: [], proxy: null, version: '0.1.0', intercept: { rules: [], canInjectFrames: true }, held: [], rules: { rules: [], from: { client: false, server: false } } },
    });
    expect(report.calls.evil).toEqual({ ok: false, error: 'refused: the request did not come from the Framescope window' });
    expect(report.calls.badArg).toEqual({ ok: false, error: 'send.text must be a string' });
  });

  it('hands the capture named on the command line to the UI once it has loaded', () => {
    expect(events('send').map((e) => e.data)).toContainEqual({ channel: OPEN_FILE_CHANNEL, filename: 'opened.wscap.json' });
  });

  it('quits only after the session is disposed: the first before-quit is held, the second passes', () => {
    expect(events('before-quit').map((e) => e.data)).toEqual([{ prevented: true }, { prevented: false }]);
  });
});

describe('electron-builder --dir with a placeholder Electron', () => {
  let files: string[];
  let unpacked: string;
  beforeAll(() => {
    // What electron-builder copies for a custom unpacked Electron on Linux: the folder's
    // contents, with `electron` renamed to the executable name. A script stands in for it.
    const dist = join(T, 'electron-dist');
    mkdirSync(dist);
    writeFileSync(join(dist, 'electron'), '#!/bin/sh\necho "placeholder: not a real Electron" >&2\nexit 1\n');
    chmodSync(join(dist, 'electron'), 0o755);
    const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;
    run([
      join(ROOT, 'node_modules', 'electron-builder', 'cli.js'),
      '--config',
      'electron-builder.yml',
      '--dir',
      '--linux',
      `-c.electronDist=${dist}`,
      `-c.electronVersion=${version}`,
      `-c.directories.app=${APP}`,
      `-c.directories.output=${join(T, 'out')}`,
    ], { CI: 'true' });
    const dir = readdirSync(join(T, 'out')).find((d) => d.startsWith('linux') && d.endsWith('unpacked'));
    expect(dir).toBeDefined();
    unpacked = join(T, 'out', dir!);
    files = listPackage(join(unpacked, 'resources', 'app.asar'), { isPack: false }).map((f) => f.replace(/\\/g, '/'));
  }, 180_000);

  it('the executable is named framescope and the app is an asar, nothing unpacked beside it', () => {
    expect(existsSync(join(unpacked, 'framescope'))).toBe(true);
    expect(readdirSync(join(unpacked, 'resources'))).toEqual(['app.asar']);
  });

  it('app.asar holds the built main, preload and renderer', () => {
    expect(files).toEqual(expect.arrayContaining(['/package.json', '/dist/main/index.js', '/dist/preload/index.cjs', '/dist/renderer/index.html']));
    expect(files.some((f) => /^\/dist\/renderer\/assets\/.+\.js$/.test(f))).toBe(true);
  });

  it('and nothing of sources, tests, source maps, the CLI or node_modules', () => {
    const offenders = files.filter(
      (f) => /\.(ts|tsx|map)$/.test(f) || /node_modules|\/test\/|\/src\/|\/shared\/|\/main\/electron\/|\/dist\/cli\//.test(f) || f.endsWith('.yml'),
    );
    expect(offenders).toEqual([]);
    expect(files.every((f) => f === '/package.json' || f.startsWith('/dist'))).toBe(true);
  });

  it('its package.json points at the ESM main and declares no dependencies', () => {
    const pkg = JSON.parse(extractFile(join(unpacked, 'resources', 'app.asar'), 'package.json').toString()) as Record<string, unknown>;
    expect(pkg).toMatchObject({ name: 'framescope', productName: 'Framescope', main: 'dist/main/index.js', type: 'module' });
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.version).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
