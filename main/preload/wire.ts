// The desktop IPC's own wire details, shared by the main process (main/electron) and the
// preload only. The UI never sees them: it holds `PreloadApi` (shared/contract.ts).
//
// Pure code: no Electron, no Node — the preload bundle inlines it.
import type { FileBlob, ShellApi } from '../../shared/contract';

export type ShellCommand = keyof ShellApi;

/** IPC channel of a shell command (native dialogs). Engine commands use `commandChannel`. */
export const shellChannel = (name: ShellCommand): string => `framescope:shell:${name}`;
/** main → preload: a file the OS asked us to open (file association, argv, the File menu). */
export const OPEN_FILE_CHANNEL = 'framescope:open-file' as const;
/** main → preload: a menu item the UI carries out (`MenuAction`). */
export const MENU_CHANNEL = 'framescope:menu' as const;

/**
 * Every `invoke` answers with this envelope instead of rejecting: Electron would prefix a
 * rejected handler's message with "Error invoking remote method '…': Error: ", so the UI's
 * Error carries our plain message only when the preload throws it itself.
 */
export type IpcReply = { ok: true; value: unknown } | { ok: false; error: string };

/** Unwraps a reply in the preload: the value, or an Error with the engine's message. */
export function unwrapReply(reply: unknown): unknown {
  if (typeof reply !== 'object' || reply === null || typeof (reply as { ok?: unknown }).ok !== 'boolean') {
    throw new Error('the main process sent a malformed reply');
  }
  const r = reply as IpcReply;
  if (r.ok) return r.value;
  throw new Error(typeof r.error === 'string' ? r.error : 'request failed');
}

/** A FileBlob as main sends it on OPEN_FILE_CHANNEL (checked again on the UI side of the bridge). */
export function isFileBlob(v: unknown): v is FileBlob {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.filename === 'string' && typeof o.mime === 'string' && typeof o.data === 'string';
}
