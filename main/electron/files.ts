// Files in and out of the desktop app: the shell commands behind native dialogs
// (`ShellApi`), reading a capture the OS asked us to open, and finding capture paths on
// the command line. The renderer never names a path: it hands a FileBlob to save and the
// user picks where in a native dialog, or it asks to open and the user picks what.
import { open, writeFile } from 'node:fs/promises';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import type { OpenDialogOptions, OpenDialogReturnValue, SaveDialogOptions, SaveDialogReturnValue } from 'electron';
import { ContractError, type FileBlob, type ShellApi } from '../../shared/contract';

/**
 * Largest file opened: it travels to the engine as base64 in one string, and V8 strings
 * stop near 512 Mi characters (256 MiB is ~342 Mi characters of base64).
 */
export const MAX_OPEN_BYTES = 256 * 1024 * 1024;
/** Largest blob saved (the engine's exports are bounded by what it holds; this bounds the argument). */
export const MAX_SAVE_BYTES = 512 * 1024 * 1024;

/** A file could not be opened or saved, for a reason the user should read. */
export class ShellError extends Error {
  override name = 'ShellError';
}

/** The file extensions we open: capture v1 (.wscap.json), NDJSON events, journals, HAR. */
export const CAPTURE_EXTENSIONS = ['json', 'ndjson', 'journal', 'har', 'pcap', 'pcapng'] as const;
export const CAPTURE_SUFFIX = '.wscap.json';

export interface DialogDeps {
  /** dialog.showSaveDialog, attached to our window when there is one */
  showSaveDialog(options: SaveDialogOptions): Promise<SaveDialogReturnValue>;
  showOpenDialog(options: OpenDialogOptions): Promise<OpenDialogReturnValue>;
  /** where the save dialog starts (app.getPath('documents')) */
  defaultDir(): string;
}

/** Checks a saveFile argument: exactly { filename, mime, data: base64 }, bounded. */
export function validateFileBlob(v: unknown, path = 'saveFile'): FileBlob {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ContractError(`${path} must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'filename' && k !== 'mime' && k !== 'data') throw new ContractError(`${path}.${k} is not expected`);
  if (typeof o.filename !== 'string' || o.filename.length > 1024) throw new ContractError(`${path}.filename must be a string of at most 1024 characters`);
  if (typeof o.mime !== 'string' || o.mime.length > 256) throw new ContractError(`${path}.mime must be a string of at most 256 characters`);
  if (typeof o.data !== 'string' || o.data.length > Math.ceil(MAX_SAVE_BYTES / 3) * 4 + 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.data)) {
    throw new ContractError(`${path}.data must be base64 of at most ${MAX_SAVE_BYTES} bytes`);
  }
  return { filename: o.filename, mime: o.mime, data: o.data };
}

/** A suggested file name as a plain name: no folders, no control characters, not empty. */
export function safeFilename(name: string): string {
  const base = basename(name.replace(/\\/g, '/'))
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 200);
  return base || 'capture';
}

export function mimeFor(path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.json' || ext === '.har') return 'application/json';
  if (ext === '.ndjson' || ext === '.journal') return 'application/x-ndjson';
  return 'application/octet-stream';
}

/** Reads a capture (or HAR) as a FileBlob, refusing what is not a regular file or too big. */
export async function readCaptureFile(path: string, limit = MAX_OPEN_BYTES): Promise<FileBlob> {
  const name = basename(path);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ShellError(code === 'ENOENT' ? `${name} does not exist` : code === 'EACCES' ? `${name} cannot be read (permission denied)` : `${name} cannot be opened`);
  }
  try {
    // Size checked on the open handle, before reading: a file that grows meanwhile is cut at
    // its size + 1 byte and refused, never read past the limit.
    const st = await handle.stat();
    if (!st.isFile()) throw new ShellError(`${name} is not a file`);
    if (st.size > limit) throw new ShellError(`${name} is ${st.size} bytes; Framescope opens captures of at most ${limit} bytes`);
    const buf = Buffer.alloc(Math.min(st.size, limit) + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) throw new ShellError(`${name} grew while it was being read; try again when it is complete`);
    }
    return { filename: name, mime: mimeFor(path), data: buf.subarray(0, got).toString('base64') };
  } finally {
    await handle.close();
  }
}

/** The shell commands (native dialogs). Arguments arrive validated by ipc.ts. */
export function createShellHandlers(deps: DialogDeps): ShellApi {
  return {
    async saveFile(blob: FileBlob): Promise<string | null> {
      const name = safeFilename(blob.filename);
      const ext = name.toLowerCase().endsWith(CAPTURE_SUFFIX) ? 'wscap.json' : extname(name).slice(1);
      const { canceled, filePath } = await deps.showSaveDialog({
        title: 'Save',
        defaultPath: resolve(deps.defaultDir(), name),
        filters: ext ? [{ name: ext.toUpperCase(), extensions: [ext] }, { name: 'All files', extensions: ['*'] }] : [],
        properties: ['createDirectory', 'showOverwriteConfirmation'],
      });
      if (canceled || !filePath) return null;
      try {
        await writeFile(filePath, Buffer.from(blob.data, 'base64'));
      } catch (err) {
        throw new ShellError(`could not write ${basename(filePath)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      return filePath;
    },
    async openFile(): Promise<FileBlob | null> {
      const { canceled, filePaths } = await deps.showOpenDialog({
        title: 'Open Capture',
        properties: ['openFile'],
        filters: [
          { name: 'Captures, HAR and packet captures', extensions: [...CAPTURE_EXTENSIONS] },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      const path = filePaths[0];
      if (canceled || !path) return null;
      return readCaptureFile(path);
    },
  };
}

/**
 * Capture files named on a command line (a file association starts the app with the path;
 * a second launch hands its argv to the first). Flags and the executable/app path are
 * skipped; only names with a capture extension count, resolved against the launch folder.
 */
export function capturePathsFromArgv(argv: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  for (const arg of argv.slice(1)) {
    if (arg.startsWith('-') || arg.length > 4096) continue;
    const lower = arg.toLowerCase();
    if (!lower.endsWith(CAPTURE_SUFFIX) && !CAPTURE_EXTENSIONS.some((e) => lower.endsWith(`.${e}`))) continue;
    out.push(isAbsolute(arg) ? arg : resolve(cwd, arg));
  }
  return out;
}
