// What `export` and `import` share: opening an input (capture, journal or HAR), and turning
// what can go wrong into the CLI's one line and exit status (docs/contracts.md): a missing
// input is a usage error (2); a bad file or an output that cannot be written is a failure
// (1), said as `framescope: <file>: <what> at <where>`.
import { statSync } from 'node:fs';
import { CaptureFormatError, openCapture, type CaptureSource } from '../engine/recording/capture-reader';
import { EXIT_FAILURE, UsageError, errorLine } from './output';

export function openInput(file: string): CaptureSource {
  try {
    if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  return openCapture(file);
}

/** Runs an export-like job; a bad input or unwritable output becomes one line and exit 1. */
export function runJob(input: string, output: string, job: () => number): number {
  try {
    return job();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof CaptureFormatError) {
      errorLine(err.message);
      return EXIT_FAILURE;
    }
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
      const path = e.path && e.path.endsWith('.partial') ? output : e.path ?? output;
      const why =
        e.code === 'ENOENT' ? 'no such directory' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'ENOSPC' ? 'no space left on the device' : e.message;
      errorLine(`${path === input ? 'cannot read' : 'cannot write'} ${path}: ${why}`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}

export function warn(source: CaptureSource): void {
  for (const w of source.warnings) errorLine(`warning: ${w}`);
}
