// Where the CLI writes: events to stdout (human or NDJSON), one clear error line to stderr.
import type { EngineEvent } from '../../shared/model';
import { HumanView } from './human';
import { frameEventJson } from '../../shared/records';

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
 * Prints events as they happen (flushed every turn of the event loop). Errors are not repeated on stdout in the human view: the
 * caller prints the one that ended the command to stderr.
 */
export function eventPrinter(options: { json: boolean; hex?: boolean; multi?: boolean }): EventPrinter {
  if (options.json) {
    return (event) => out((event.event === 'frame' ? frameEventJson(event) : JSON.stringify(event)) + '\n');
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

// Events are written once per turn of the event loop, not once per event: at thousands of
// frames a second a write per frame is a system call per frame, which cost the proxy more
// than decoding them. A script reading the pipe still gets each event within a tick.
let pending: string[] = [];
let scheduled = false;

function out(text: string): void {
  pending.push(text);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushOutput);
  }
}

/** One line on stdout, in order with the events printed before it. */
export function printLine(line: string): void {
  out(line.endsWith('\n') ? line : `${line}\n`);
}

/** Writes what is pending now (before the process exits). */
export function flushOutput(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  // On Linux, stdout to a file, pipe or terminal is written synchronously by Node.
  process.stdout.write(text);
}
