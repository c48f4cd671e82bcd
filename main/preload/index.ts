// The preload: puts exactly `PreloadApi` (shared/contract.ts) on `window.framescope`
// through contextBridge — a curated object of named functions built from the contract's
// runtime lists, never `ipcRenderer` itself and never a generic `send(channel, …)`.
//
// It runs sandboxed (webPreferences.sandbox), so it must be CommonJS and may require only
// 'electron': vite.electron.config.ts bundles it to app/dist/preload/index.cjs with
// everything else inlined.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  COMMANDS,
  EVENT_CHANNEL,
  MENU_ACTIONS,
  SHELL_COMMANDS,
  commandChannel,
  type FileBlob,
  type MenuAction,
  type PreloadApi,
  type ShellApi,
  type UiEvent,
} from '../../shared/contract';
import { MENU_CHANNEL, OPEN_FILE_CHANNEL, isFileBlob, shellChannel, unwrapReply } from './wire';

/** The part of ipcRenderer the preload uses (the test hands in a fake). */
export type PreloadIpc = Pick<typeof ipcRenderer, 'invoke' | 'on' | 'removeListener'>;

/** Files that arrive before the UI subscribes (a file association at launch) wait here. */
const MAX_PENDING_FILES = 16;

export function buildPreloadApi(ipc: PreloadIpc, platform: string): PreloadApi {
  const invoke = async (channel: string, ...args: unknown[]): Promise<unknown> => unwrapReply(await ipc.invoke(channel, ...args));

  const engine = Object.fromEntries(
    COMMANDS.map((name) => [name, (arg: unknown) => invoke(commandChannel(name), arg)]),
  ) as unknown as PreloadApi['engine'];

  const shellImpl: { [K in keyof ShellApi]: (...args: never[]) => Promise<unknown> } = {
    saveFile: (blob: FileBlob) => invoke(shellChannel('saveFile'), blob),
    openFile: () => invoke(shellChannel('openFile')),
  };
  // Only what SHELL_COMMANDS lists, so the shell cannot grow a method the contract lacks.
  const shell = Object.fromEntries(SHELL_COMMANDS.map((name) => [name, shellImpl[name]])) as unknown as ShellApi;

  // A listener for a channel, without handing the IpcRendererEvent (it carries `sender`,
  // i.e. ipcRenderer) to the page.
  const subscribe = (channel: string, deliver: (payload: unknown) => void): (() => void) => {
    const handler = (_event: IpcRendererEvent, payload: unknown) => deliver(payload);
    ipc.on(channel, handler);
    return () => {
      ipc.removeListener(channel, handler);
    };
  };

  const fileListeners = new Set<(blob: FileBlob) => void>();
  const pendingFiles: FileBlob[] = [];
  ipc.on(OPEN_FILE_CHANNEL, (_event: IpcRendererEvent, blob: unknown) => {
    if (!isFileBlob(blob)) return;
    if (fileListeners.size === 0) {
      if (pendingFiles.length < MAX_PENDING_FILES) pendingFiles.push(blob);
      return;
    }
    for (const l of fileListeners) l(blob);
  });

  return {
    engine,
    shell,
    onEvents(listener: (events: UiEvent[]) => void): () => void {
      return subscribe(EVENT_CHANNEL, (events) => {
        if (Array.isArray(events)) listener(events as UiEvent[]);
      });
    },
    onOpenFile(listener: (blob: FileBlob) => void): () => void {
      fileListeners.add(listener);
      for (const blob of pendingFiles.splice(0)) listener(blob);
      return () => {
        fileListeners.delete(listener);
      };
    },
    onMenu(listener: (action: MenuAction) => void): () => void {
      return subscribe(MENU_CHANNEL, (action) => {
        if ((MENU_ACTIONS as readonly unknown[]).includes(action)) listener(action as MenuAction);
      });
    },
    platform,
  };
}

contextBridge.exposeInMainWorld('framescope', buildPreloadApi(ipcRenderer, process.platform));
