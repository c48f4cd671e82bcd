// The application menu, as a template built from injected actions (main.ts passes it to
// Menu.buildFromTemplate; the tests read it). Standard items use Electron's roles, so
// they get each platform's labels, accelerators and behaviour for free.
import type { MenuItemConstructorOptions } from 'electron';
import type { ExportFormat, MenuAction } from '../../shared/contract';

export interface MenuActions {
  openCapture(): void;
  exportCapture(format: ExportFormat): void;
  /** a menu item the UI carries out (MENU_CHANNEL) */
  sendToUi(action: MenuAction): void;
  showAbout(): void;
  showCaCertificate(): void;
}

export interface MenuOptions {
  appName: string;
  isMac: boolean;
  /** developer tools only in development */
  isPackaged: boolean;
}

/** What File › Export offers: the formats other tools read. */
export const EXPORTS: ReadonlyArray<{ format: ExportFormat; label: string }> = [
  { format: 'json', label: 'Export as Capture (.wscap.json)…' },
  { format: 'har', label: 'Export as HAR…' },
  { format: 'pcapng', label: 'Export as pcapng (Wireshark)…' },
];

export function menuTemplate(actions: MenuActions, o: MenuOptions): MenuItemConstructorOptions[] {
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { id: 'open-capture', label: 'Open Capture…', accelerator: 'CmdOrCtrl+O', click: () => actions.openCapture() },
      { type: 'separator' },
      ...EXPORTS.map(
        (e, i): MenuItemConstructorOptions => ({
          id: `export-${e.format}`,
          label: e.label,
          ...(i === 0 ? { accelerator: 'CmdOrCtrl+Shift+E' } : {}),
          click: () => actions.exportCapture(e.format),
        }),
      ),
      ...(o.isMac ? [] : [{ type: 'separator' } as const, { role: 'quit' } as const]),
    ],
  };

  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      { role: 'reload' },
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { id: 'toggle-theme', label: 'Toggle Theme', accelerator: 'CmdOrCtrl+Shift+L', click: () => actions.sendToUi('toggleTheme') },
      { role: 'togglefullscreen' },
      ...(o.isPackaged ? [] : [{ type: 'separator' } as const, { id: 'devtools', role: 'toggleDevTools' } as const]),
    ],
  };

  const help: MenuItemConstructorOptions = {
    role: 'help',
    submenu: [
      { id: 'ca-certificate', label: 'Interception CA Certificate…', click: () => actions.showCaCertificate() },
      ...(o.isMac ? [] : [{ type: 'separator' } as const, { id: 'about', label: `About ${o.appName}`, click: () => actions.showAbout() }]),
    ],
  };

  return [
    ...(o.isMac
      ? [
          {
            label: o.appName,
            submenu: [
              { id: 'about', label: `About ${o.appName}`, click: () => actions.showAbout() },
              { type: 'separator' },
              { role: 'services' },
              { type: 'separator' },
              { role: 'hide' },
              { role: 'hideOthers' },
              { role: 'unhide' },
              { type: 'separator' },
              { role: 'quit' },
            ],
          } satisfies MenuItemConstructorOptions,
        ]
      : []),
    file,
    { role: 'editMenu' },
    view,
    ...(o.isMac ? [{ role: 'windowMenu' } satisfies MenuItemConstructorOptions] : []),
    help,
  ];
}
