// IPC between the window and the engine: exactly the contract's COMMANDS and
// SHELL_COMMANDS, each registered through ONE wrapper that refuses a call unless it comes
// from our window's top frame showing our page (httptoolkit-desktop's and VS Code's
// `validatedIpcMain` habit), then validates the argument at run time before anything
// runs (`session.dispatch` validates engine commands; the shell's are checked here).
// Errors go back as plain messages, never stacks or internals; batched engine events go
// out on EVENT_CHANNEL.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron';
import { COMMANDS, ContractError, EVENT_CHANNEL, SHELL_COMMANDS, commandChannel, type CommandName, type ShellApi, type UiEvent } from '../../shared/contract';
import { CommandError } from '../engine/session/session';
import { shellChannel, type IpcReply, type ShellCommand } from '../preload/wire';
import { ShellError, validateFileBlob } from './files';

/** What IPC needs of the engine session. */
export interface IpcSession {
  dispatch(name: CommandName, arg: unknown): Promise<unknown>;
  onEvents(listener: (events: UiEvent[]) => void): () => void;
}

export interface IpcDeps {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  session: IpcSession;
  shell: ShellApi;
  /** the one window allowed to call, or null while there is none */
  window(): BrowserWindow | null;
  /** is this URL our page (app://framescope/…, or the dev server in development) */
  isAppUrl(url: string): boolean;
  log(line: string): void;
}

export const REFUSED = 'refused: the request did not come from the Framescope window';
export const INTERNAL = 'internal error';

/** Why a call must be refused, or null when it comes from our window's top frame on our page. */
export function refuseSender(event: IpcMainInvokeEvent, win: BrowserWindow | null, isAppUrl: (url: string) => boolean): string | null {
  if (!win || win.isDestroyed()) return 'there is no window';
  if (event.sender !== win.webContents) return 'another webContents';
  let frame;
  try {
    // null (or, in older Electron, a throw) once the frame navigated away or was destroyed
    frame = event.senderFrame;
  } catch {
    frame = null;
  }
  if (!frame || frame.isDestroyed() || frame.detached) return 'the sending frame is gone';
  if (frame.parent !== null) return 'a subframe';
  if (!isAppUrl(frame.url)) return `a frame showing ${frame.url.slice(0, 200)}`;
  return null;
}

/** The message the UI may read: ours (contract, engine, shell) in full; anything else, nothing. */
export function publicMessage(err: unknown): string | null {
  if (err instanceof ContractError || err instanceof CommandError || err instanceof ShellError) return err.message;
  return null;
}

/** Registers every handler; returns the unregistering function (tests, window re-creation). */
export function registerIpc(deps: IpcDeps): () => void {
  const channels: string[] = [];

  const handle = (channel: string, run: (arg: unknown) => Promise<unknown>) => {
    channels.push(channel);
    deps.ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<IpcReply> => {
      const why = refuseSender(event, deps.window(), deps.isAppUrl);
      if (why) {
        deps.log(`refused ${channel}: ${why}`);
        return { ok: false, error: REFUSED };
      }
      try {
        if (args.length > 1) throw new ContractError(`${channel} takes one argument`);
        const value = await run(args[0]);
        return { ok: true, value: value ?? null };
      } catch (err) {
        const message = publicMessage(err);
        if (message === null) deps.log(`internal error in ${channel}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return { ok: false, error: message ?? INTERNAL };
      }
    });
  };

  for (const name of COMMANDS) handle(commandChannel(name), (arg) => deps.session.dispatch(name, arg));

  const shellRunners: { [K in ShellCommand]: (arg: unknown) => Promise<unknown> } = {
    saveFile: (arg) => deps.shell.saveFile(validateFileBlob(arg)),
    openFile: (arg) => {
      if (arg !== undefined) throw new ContractError('openFile takes no argument');
      return deps.shell.openFile();
    },
  };
  for (const name of SHELL_COMMANDS) handle(shellChannel(name), shellRunners[name]);

  const off = deps.session.onEvents((events) => {
    const win = deps.window();
    if (win && !win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(EVENT_CHANNEL, events);
  });

  return () => {
    off();
    for (const c of channels) deps.ipcMain.removeHandler(c);
  };
}
