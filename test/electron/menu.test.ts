// The native menu (main/electron/menu.ts) and what its items do (main/electron/actions.ts),
// with fake dialogs and session.
import { describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions, MessageBoxOptions } from 'electron';
import type { ExportRequest, FileBlob, ShellApi } from '../../shared/contract';
import { CommandError } from '../../main/engine/session/session';
import { EXPORTS, menuTemplate, type MenuActions } from '../../main/electron/menu';
import { OpenQueue, createMenuActions, type ActionDeps } from '../../main/electron/actions';
import { ShellError } from '../../main/electron/files';

function actions() {
  return {
    openCapture: vi.fn<MenuActions['openCapture']>(),
    exportCapture: vi.fn<MenuActions['exportCapture']>(),
    sendToUi: vi.fn<MenuActions['sendToUi']>(),
    showAbout: vi.fn<MenuActions['showAbout']>(),
    showCaCertificate: vi.fn<MenuActions['showCaCertificate']>(),
  } satisfies MenuActions;
}

/** Every item, depth first. */
function items(template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? items(i.submenu) : [])]);
}
const byId = (t: MenuItemConstructorOptions[], id: string) => items(t).find((i) => i.id === id);
const click = (item: MenuItemConstructorOptions | undefined) => (item!.click as () => void)();
const roles = (t: MenuItemConstructorOptions[]) => items(t).map((i) => i.role).filter(Boolean);

describe('menu template', () => {
  it('File: open, export as capture/HAR/pcapng, quit', () => {
    const a = actions();
    const t = menuTemplate(a, { appName: 'Framescope', isMac: false, isPackaged: true });
    expect(t.map((m) => m.label ?? m.role)).toEqual(['File', 'editMenu', 'View', 'help']);
    click(byId(t, 'open-capture'));
    expect(a.openCapture).toHaveBeenCalled();
    expect(EXPORTS.map((e) => e.format)).toEqual(['json', 'har', 'pcapng']);
    for (const e of EXPORTS) click(byId(t, `export-${e.format}`));
    expect(a.exportCapture.mock.calls).toEqual([['json'], ['har'], ['pcapng']]);
    expect(roles(t)).toContain('quit');
  });

  it('View: zoom, theme (carried out by the UI), no developer tools when packaged', () => {
    const a = actions();
    const t = menuTemplate(a, { appName: 'Framescope', isMac: false, isPackaged: true });
    expect(roles(t)).toEqual(expect.arrayContaining(['resetZoom', 'zoomIn', 'zoomOut']));
    expect(roles(t)).not.toContain('toggleDevTools');
    click(byId(t, 'toggle-theme'));
    expect(a.sendToUi).toHaveBeenCalledWith('toggleTheme');
  });

  it('developer tools only in development', () => {
    const t = menuTemplate(actions(), { appName: 'Framescope', isMac: false, isPackaged: false });
    expect(roles(t)).toContain('toggleDevTools');
  });

  it('Help: CA certificate and About', () => {
    const a = actions();
    const t = menuTemplate(a, { appName: 'Framescope', isMac: false, isPackaged: true });
    click(byId(t, 'ca-certificate'));
    click(byId(t, 'about'));
    expect(a.showCaCertificate).toHaveBeenCalled();
    expect(a.showAbout).toHaveBeenCalled();
  });

  it('macOS: the app menu holds About and Quit, and there is a Window menu', () => {
    const t = menuTemplate(actions(), { appName: 'Framescope', isMac: true, isPackaged: true });
    expect(t.map((m) => m.label ?? m.role)).toEqual(['Framescope', 'File', 'editMenu', 'View', 'windowMenu', 'help']);
    const appMenu = t[0]!.submenu as MenuItemConstructorOptions[];
    expect(appMenu.some((i) => i.role === 'quit')).toBe(true);
    expect(appMenu.some((i) => i.id === 'about')).toBe(true);
    expect(items(t).filter((i) => i.role === 'quit')).toHaveLength(1);
  });
});

function deps(over: Partial<ActionDeps> = {}) {
  const saved: FileBlob[] = [];
  const shell: ShellApi = {
    saveFile: vi.fn(async (b: FileBlob) => {
      saved.push(b);
      return '/tmp/out';
    }),
    openFile: vi.fn(async () => ({ filename: 'a.wscap.json', mime: 'application/json', data: 'e30=' })),
  };
  const d: ActionDeps = {
    session: {
      exportCapture: vi.fn(async (req: ExportRequest) => ({ filename: `capture.${req.format}`, mime: 'application/json', data: 'e30=' })),
      caCertificate: vi.fn(async () => ({ pem: '-----BEGIN CERTIFICATE-----\n', fingerprint256: 'AB:CD', path: '/home/me/.config/framescope/ca/ca.pem' })),
    },
    shell,
    openInUi: vi.fn(),
    sendToUi: vi.fn(),
    showMessageBox: vi.fn(async (_o: MessageBoxOptions) => ({ response: 1, checkboxChecked: false })),
    showErrorBox: vi.fn(),
    about: { name: 'Framescope', version: '0.1.0', versions: { electron: '45.4.1', chrome: '140', node: '22' } },
    log: vi.fn(),
    ...over,
  };
  return { d, saved, shell };
}

describe('menu actions', () => {
  it('Open Capture: the dialog’s file goes to the UI', async () => {
    const { d } = deps();
    createMenuActions(d).openCapture();
    await vi.waitFor(() => expect(d.openInUi).toHaveBeenCalledWith({ filename: 'a.wscap.json', mime: 'application/json', data: 'e30=' }));
  });

  it('Export: the engine’s blob goes to the save dialog', async () => {
    const { d, saved } = deps();
    createMenuActions(d).exportCapture('har');
    await vi.waitFor(() => expect(saved).toHaveLength(1));
    expect(d.session.exportCapture).toHaveBeenCalledWith({ format: 'har' });
    expect(saved[0]!.filename).toBe('capture.har');
  });

  it('a failure becomes an error box with the readable message; an internal one says nothing more', async () => {
    const { d } = deps({
      session: {
        exportCapture: vi.fn(async () => {
          throw new CommandError('no connection c9');
        }),
        caCertificate: vi.fn(async () => {
          throw new Error('EACCES: /home/me/secret');
        }),
      },
    });
    const a = createMenuActions(d);
    a.exportCapture('json');
    a.showCaCertificate();
    await vi.waitFor(() => expect(d.showErrorBox).toHaveBeenCalledTimes(2));
    expect(d.showErrorBox).toHaveBeenCalledWith('Could not export', 'no connection c9');
    expect(d.showErrorBox).toHaveBeenCalledWith('Could not show the CA certificate', 'An internal error occurred.');
  });

  it('CA certificate: shows the fingerprint and path, exports the PEM on request', async () => {
    const { d, saved } = deps({ showMessageBox: vi.fn(async () => ({ response: 0, checkboxChecked: false })) });
    createMenuActions(d).showCaCertificate();
    await vi.waitFor(() => expect(saved).toHaveLength(1));
    const box = (d.showMessageBox as ReturnType<typeof vi.fn>).mock.calls[0]![0] as MessageBoxOptions;
    expect(box.detail).toContain('AB:CD');
    expect(box.detail).toContain('/home/me/.config/framescope/ca/ca.pem');
    expect(saved[0]).toMatchObject({ filename: 'framescope-ca.pem', mime: 'application/x-pem-file' });
    expect(Buffer.from(saved[0]!.data, 'base64').toString()).toBe('-----BEGIN CERTIFICATE-----\n');
  });

  it('About names the versions', () => {
    const { d } = deps();
    createMenuActions(d).showAbout();
    const box = (d.showMessageBox as ReturnType<typeof vi.fn>).mock.calls[0]![0] as MessageBoxOptions;
    expect(box.message).toBe('Framescope 0.1.0');
    expect(box.detail).toContain('Electron 45.4.1');
  });
});

describe('files the OS opens', () => {
  it('wait until the UI is ready, then go to it', async () => {
    const delivered: FileBlob[] = [];
    const q = new OpenQueue((b) => delivered.push(b), () => {}, async (p) => ({ filename: p, mime: 'application/json', data: '' }));
    q.open(['/a.wscap.json', '/b.har']);
    expect(delivered).toEqual([]);
    q.setReady(true);
    await vi.waitFor(() => expect(delivered.map((b) => b.filename)).toEqual(['/a.wscap.json', '/b.har']));
    q.open(['/c.wscap.json']);
    await vi.waitFor(() => expect(delivered).toHaveLength(3));
    q.setReady(false);
    q.open(['/d.wscap.json']);
    await Promise.resolve();
    expect(delivered).toHaveLength(3);
  });

  it('report a file that cannot be read, and cut a flood', async () => {
    const errors: string[] = [];
    const delivered: string[] = [];
    const q = new OpenQueue(
      (b) => delivered.push(b.filename),
      (path, message) => errors.push(`${path}: ${message}`),
      async (p) => {
        if (p.includes('bad')) throw new ShellError('bad.wscap.json does not exist');
        return { filename: p, mime: '', data: '' };
      },
      2,
    );
    q.open(['/bad.wscap.json', '/ok.wscap.json', '/dropped.wscap.json']);
    q.setReady(true);
    await vi.waitFor(() => expect(errors).toEqual(['/bad.wscap.json: bad.wscap.json does not exist']));
    await vi.waitFor(() => expect(delivered).toEqual(['/ok.wscap.json']));
  });
});
