// Where the CLI writes: events to stdout (human or NDJSON), one clear error line to stderr.
import type { EngineEvent, TlsRecord } from '../../shared/model';
import type { Recording, RecordingResult } from '../engine/recording/recording';
import { ioReason } from '../engine/io-errors';
import { HumanView } from './human';
import { eventToJson } from '../../shared/records';
import { base64 } from '../engine/base64';
import { performance } from 'node:perf_hooks';
import { DecodeTracker, withDecoded, type DecodeChoice, type Decoded, type EngineDecoders, type Unanswered } from '../../shared/decoders';

/** Exit statuses (docs/contracts.md). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A user mistake: printed as one line, exit 2, never a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function errorLine(message: string): void {
  // After the lines printed before it, wherever both streams go.
  flushOutput();
  process.stderr.write(`framescope: ${message}\n`);
}

export interface EventPrinter {
  (event: EngineEvent): void;
}

/**
 * Prints events as they happen (written as the buffering below says). Errors are not repeated on stdout in the human view: the
 * caller prints the one that ended the command to stderr.
 */
export function eventPrinter(options: { json: boolean; hex?: boolean; multi?: boolean; tlsOf?: (connection: string) => TlsRecord | null; decode?: DecodeChoice; decoders: EngineDecoders }): EventPrinter {
  // Decoding (docs/contracts.md "Decoded messages") is of what is shown: nothing is printed
  // (proxy --quiet), nothing is decoded. `none`: not even looked at.
  const tracker = options.decode === 'none' ? null : new DecodeTracker(options.decode ?? 'auto', options.decoders);
  if (options.json) {
    return (event) => {
      const d = tracker?.event(event);
      if (d === undefined) return out(JSON.stringify(eventToJson(event, base64)) + '\n');
      out(JSON.stringify(withDecodedJson(event, d)) + '\n');
    };
  }
  const color = !!process.stdout.isTTY && !process.env['NO_COLOR'];
  const view = new HumanView({ color, hex: !!options.hex, multi: !!options.multi, tlsOf: options.tlsOf });
  return (event) => {
    const d = tracker?.event(event);
    // One connection: its failure goes to stderr once, by the caller. Many (the proxy):
    // each connection's errors are part of the story.
    if (event.event === 'error' && !options.multi) return;
    out(view.format(event, d), true);
  };
}

/** An event's NDJSON form with what decoding added: a frame's `message.decoded`, a close's `unanswered`. */
export function withDecodedJson(event: EngineEvent, d: Decoded | Unanswered[]): unknown {
  const json = eventToJson(event, base64);
  if (event.event === 'frame') return withDecoded(json as Parameters<typeof withDecoded>[0], event, d as Decoded);
  return { ...json, unanswered: d };
}

/** Set when stdout's reader went away: nothing more is printed. */
let stdoutGone = false;
/** A command that records (a capture) runs to its usual end without stdout. */
let recording = false;

/** Called by a command that writes a capture: a reader going away must not end it. */
export function recordingGoesOn(): void {
  recording = true;
}

/**
 * Writes a command's `--capture` from its journal. When that fails: one line saying why and
 * where the journal (which holds what reached it) is, and null.
 */
export function finishRecording(r: Recording): RecordingResult | null {
  try {
    return r.finish();
  } catch (err) {
    const lost = r.failure ? ' (what was kept in memory after it failed is lost)' : '';
    errorLine(`cannot write the capture ${r.capturePath}: ${ioReason(err as NodeJS.ErrnoException)}; the journal ${r.journalPath} holds what reached it${lost}`);
    return null;
  }
}

// A reader that goes away (`| head -1`) is not an error of ours. A command with nothing to
// record ends there, exit 0, as with SIGPIPE. One that records stops printing, quietly, and
// goes on as it would have, so the capture is written in full (exiting here lost it). The
// same for stderr, whose lines are only told.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (!readerGone(err)) throw err;
  if (!recording) process.exit(0);
  stdoutGone = true;
  used = 0;
});
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (!readerGone(err)) throw err;
});

function readerGone(err: NodeJS.ErrnoException): boolean {
  // (A write after the first EPIPE finds the stream destroyed.)
  return err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED';
}

// Events are not written one by one: at thousands of frames a second a write per frame is a
// system call per frame (and a wake-up of the reader), which cost the proxy more than
// decoding them. Lines collect in one reused buffer and go out in one write at the end of
// the turn of the event loop, or, when the last write was less than FLUSH_INTERVAL_MS ago,
// that long after it: an event after a quiet spell shows at once, a stream of them in a few
// writes a second rather than a write every turn, out of sight of whoever reads them.
const INITIAL_BYTES = 64 * 1024;
/** Output past this goes out at once rather than growing the buffer further. */
const FLUSH_BYTES = 1 << 20;
const FLUSH_INTERVAL_MS = 16;
let pending = Buffer.allocUnsafe(INITIAL_BYTES);
let used = 0;
let scheduled = false;
let timer: NodeJS.Timeout | null = null;
let lastFlush = -Infinity;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  const wait = lastFlush + FLUSH_INTERVAL_MS - performance.now();
  if (wait <= 0) setImmediate(flushOutput);
  else timer = setTimeout(flushOutput, wait);
}

/** Makes room for `n` more bytes: writes out what is there, or grows the buffer. */
function room(n: number): void {
  if (used + n <= pending.length) return;
  if (used > 0 && used + n > FLUSH_BYTES) flushOutput();
  if (n > pending.length - used) {
    const bigger = Buffer.allocUnsafe(Math.max(pending.length * 2, used + n));
    pending.copy(bigger, 0, 0, used);
    pending = bigger;
  }
}

/** Wraps every write to stdout; an interactive prompt clears itself first and redraws after. */
let writeGuard: ((write: () => void) => void) | null = null;

/** Sets (or with null removes) what every write to stdout goes through. */
export function setWriteGuard(guard: ((write: () => void) => void) | null): void {
  writeGuard = guard;
}

function write(data: string | Uint8Array): void {
  if (writeGuard) writeGuard(() => process.stdout.write(data));
  else process.stdout.write(data);
}

// A reader slower than the traffic (a terminal, a pipe into a slow program) must not make
// memory grow without end: stdout to a pipe is written asynchronously and its queue has no
// limit of its own. `decode` waits for the reader (outputRoom); a live command (proxy,
// connect) cannot hold the traffic for it, so past MAX_BEHIND bytes waiting it skips events
// and says on stderr how many, once the reader has caught up.
const MAX_BEHIND = 16 * 1024 * 1024;
let live = false;
let skipped = 0;

/** Called by a live command: events the reader cannot keep up with are skipped, and counted. */
export function liveOutput(): void {
  live = true;
}

/** Resolves once stdout's reader has taken all but MAX_BEHIND bytes (and a turn has passed). */
export function outputRoom(): Promise<void> {
  return new Promise((resolve) => {
    if (stdoutGone || process.stdout.writableLength + used <= MAX_BEHIND) setImmediate(resolve);
    else process.stdout.once('drain', () => resolve());
  });
}

/** `newline`: a line break follows (written as a byte: `text + '\n'` would be one more copy of the line). */
function out(text: string, newline = false): void {
  if (stdoutGone) return;
  if (live) {
    if (process.stdout.writableLength + used > MAX_BEHIND) {
      skipped++;
      return;
    }
    if (skipped > 0) {
      process.stderr.write(`framescope: stdout fell behind the traffic: ${skipped} event${skipped === 1 ? '' : 's'} not printed${recording ? ' (the capture has them)' : ''}\n`);
      skipped = 0;
    }
  }
  if (text.length * 3 > FLUSH_BYTES) {
    // A very long line (a large frame's): written as it is, after what came before, so the
    // buffer never grows to its size.
    flushOutput();
    write(newline ? text + '\n' : text);
    return;
  }
  room(text.length * 3 + 1);
  used += pending.write(text, used);
  if (newline) pending[used++] = 0x0a;
  schedule();
}

/** One line on stdout, in order with the events printed before it. */
export function printLine(line: string): void {
  out(line.endsWith('\n') ? line : `${line}\n`);
}

/** Writes what is pending now (before the process exits). */
export function flushOutput(): void {
  scheduled = false;
  if (timer) {
    clearTimeout(timer);
    timer = null;
  }
  if (used === 0 || stdoutGone) return;
  lastFlush = performance.now();
  // A copy: where stdout is written asynchronously (a pipe on macOS), the buffer is reused.
  const bytes = Buffer.from(pending.subarray(0, used));
  used = 0;
  write(bytes);
}
