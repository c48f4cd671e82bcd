// File-system errors in the words a user reads: the reason after "cannot write FILE: ".

const IO_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large',
  EIO: 'input/output error',
  EISDIR: 'is a directory',
};

export function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** "no space left on the device" for ENOSPC; the error's own message for codes not listed. */
export function ioReason(err: unknown): string {
  const code = errCode(err);
  if (code && IO_REASONS[code]) return IO_REASONS[code];
  return err instanceof Error ? err.message : String(err);
}
