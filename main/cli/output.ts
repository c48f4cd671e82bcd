// Where the CLI writes: events to stdout (human or NDJSON), one clear error line to stderr.
import type { EngineEvent } from '../../shared/model';
import { HumanView } from './human';

/** Exit statuses (CONTRACTS.md). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A user mistake: printed as one line, exit 2, never a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function errorLine(message: string): void {
  process.stderr.write(`framescope: ${message}\n`);
}

export interface EventPrinter {
  (event: EngineEvent): void;
}

/**
 * Prints events as they happen. stdout may be a pipe that a script reads line by line,
 * so each event is one write. Errors are not repeated on stdout in the human view: the
 * caller prints the one that ended the command to stderr.
 */
export function eventPrinter(options: { json: boolean; hex?: boolean; multi?: boolean }): EventPrinter {
  if (options.json) {
    return (event) => out(JSON.stringify(event) + '\n');
  }
  const color = !!process.stdout.isTTY && !process.env['NO_COLOR'];
  const view = new HumanView({ color, hex: !!options.hex, multi: !!options.multi });
  return (event) => {
    // One connection: its failure goes to stderr once, by the caller. Many (the proxy):
    // each connection's errors are part of the story.
    if (event.event === 'error' && !options.multi) return;
    out(view.format(event) + '\n');
  };
}

// A reader that goes away (`| head`) is not an error of ours: stop quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

function out(text: string): void {
  // On Linux, stdout to a file, pipe or terminal is written synchronously by Node, so
  // nothing printed is lost when the process exits right after.
  process.stdout.write(text);
}
