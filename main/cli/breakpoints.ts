// `--break FILTER`: messages the filter matches are held and the terminal asks what to do,
// one question at a time across connections (the others wait in order). Answers are read a
// line at a time from stdin, so a pipe can answer too:
//   f            forward as it came
//   e            edit in $EDITOR (text, or hex for binary), then forward what the file holds
//   d            drop
//   c [CODE [REASON]]  close the connection (default 1000)
// The edit goes through a temporary file (mode 0600, in a directory of its own, removed
// after); an editor that exits non-zero forwards the message unchanged. When stdin ends,
// what is held and what matches later goes on unchanged.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Side } from '../../shared/model';
import type { Decision, InterceptedMessage } from '../engine/intervene/types';
import type { Filter } from '../engine/intervene/filter';
import { isValidWireCloseCode } from '../../shared/codec/protocol';

interface Question {
  message: InterceptedMessage;
  why?: string;
  answer(d: Decision): void;
}

export interface TerminalBreaksOptions {
  filter: Filter;
  input: Readable;
  /** whether the input is a terminal (the editor then gets it while it runs) */
  tty: boolean;
  /** writes a line for the person (stderr) */
  say(line: string): void;
  /** $EDITOR's command (run by sh with the file as its argument) */
  editor: string;
}

const utf8 = new TextEncoder();
const textOf = new TextDecoder('utf-8');
const PROMPT = '[f]orward, [e]dit, [d]rop or [c]lose [CODE [REASON]]?';

export class TerminalBreaks {
  private readonly queue: Question[] = [];
  /** asked and not yet answered */
  private current: Question | null = null;
  private editing = false;
  private ended = false;
  private readonly rl: readline.Interface;

  constructor(private readonly o: TerminalBreaksOptions) {
    // terminal: false keeps the terminal cooked, so Ctrl-C stays SIGINT (the usual shutdown).
    this.rl = readline.createInterface({ input: o.input, terminal: false });
    this.rl.on('line', (line) => void this.onLine(line));
    this.rl.on('close', () => this.onEnd());
  }

  watches(from: Side): boolean {
    return !this.ended && (this.o.filter.direction === 'both' || this.o.filter.direction === from);
  }

  matches(m: InterceptedMessage): boolean {
    return this.watches(m.from) && this.o.filter.test(m);
  }

  /** Holds `message` until the person answers (`why`: what asked for it, e.g. a rule). */
  ask(message: InterceptedMessage, why?: string): Promise<Decision> {
    if (this.ended) return Promise.resolve({ action: 'forward' });
    return new Promise((answer) => {
      this.queue.push({ message, why, answer });
      if (!this.current) this.next();
      else this.o.say(`held ${describe(message)} (${this.queue.length} waiting)`);
    });
  }

  /** A connection ended: its questions are moot (its held messages were recorded as never delivered). */
  connectionEnded(connection: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.message.connection === connection) this.queue.splice(i, 1);
    if (this.current?.message.connection === connection && !this.editing) {
      this.o.say(`${connection} ended; its held message was not delivered`);
      this.current = null;
      this.next();
    }
  }

  stop(): void {
    this.rl.close();
    this.o.input.pause();
  }

  private next(): void {
    if (this.ended) {
      this.current = null;
      for (const q of this.queue.splice(0)) q.answer({ action: 'forward' });
      return;
    }
    const q = this.queue.shift();
    this.current = q ?? null;
    if (!q) return;
    const waiting = this.queue.length > 0 ? ` (${this.queue.length} more waiting)` : '';
    this.o.say(`held ${describe(q.message)}${q.why ? `, by ${q.why}` : ''}: ${preview(q.message)}${waiting}`);
    this.o.say(PROMPT);
  }

  private settle(d: Decision): void {
    const q = this.current;
    this.current = null;
    q?.answer(d);
    this.next();
  }

  private async onLine(raw: string): Promise<void> {
    const line = raw.trim();
    const q = this.current;
    if (!q || this.editing) {
      if (line) this.o.say(this.editing ? 'the editor is open; answer after it exits' : 'nothing is held');
      return;
    }
    const [word = '', ...rest] = line.split(/\s+/);
    switch (word.toLowerCase()) {
      case 'f':
      case 'forward':
        return this.settle({ action: 'forward' });
      case 'd':
      case 'drop':
        return this.settle({ action: 'drop' });
      case 'c':
      case 'close': {
        const code = rest[0] === undefined ? 1000 : Number(rest[0]);
        const reason = rest.slice(1).join(' ');
        if (!/^\d+$/.test(rest[0] ?? '1000') || !isValidWireCloseCode(code)) {
          this.o.say(`${rest[0]} is not a close code that may be sent (1000-1003, 1007-1014, 3000-4999); ${PROMPT}`);
          return;
        }
        if (utf8.encode(reason).length > 123) {
          this.o.say(`a close reason is at most 123 bytes of UTF-8; ${PROMPT}`);
          return;
        }
        return this.settle({ action: 'close', code, reason });
      }
      case 'e':
      case 'edit':
        return this.settle(await this.edit(q.message));
      default:
        this.o.say(`answer f, e, d or c [CODE [REASON]]; ${PROMPT}`);
    }
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.editing) return;
    this.o.say(this.current || this.queue.length > 0 ? 'stdin ended: the held messages go on unchanged, and nothing more is held' : 'stdin ended: --break holds nothing more');
    const all = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    this.current = null;
    for (const q of all) q.answer({ action: 'forward' });
  }

  /** The message in a temporary file, through $EDITOR, back as the decision. */
  private async edit(m: InterceptedMessage): Promise<Decision> {
    const dir = mkdtempSync(join(tmpdir(), 'framescope-break-'));
    const binary = m.opcode !== 1;
    const file = join(dir, binary ? 'message.hex' : 'message.txt');
    this.editing = true;
    try {
      writeFileSync(file, binary ? toHex(m.data) : m.data, { mode: 0o600 });
      if (this.o.tty) this.rl.pause();
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn('sh', ['-c', `${this.o.editor} "$1"`, 'sh', file], { stdio: [this.o.tty ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
        child.on('error', () => resolve(null));
        child.on('exit', (c) => resolve(c));
      });
      if (code !== 0) {
        this.o.say(`the editor exited ${code === null ? 'abnormally' : `with ${code}`}; the message goes on unchanged`);
        return { action: 'forward' };
      }
      const out = readFileSync(file);
      if (binary) {
        const bytes = fromHex(out.toString('utf8'));
        if (!bytes) {
          this.o.say('the edited file is not hex (pairs of 0-9a-f, spaces and newlines between); the message goes on unchanged');
          return { action: 'forward' };
        }
        return { action: 'replace', opcode: m.opcode as 1 | 2, data: bytes };
      }
      // Editors end a file with a newline: one the message did not have is not part of the edit.
      let data: Uint8Array = out;
      const had = m.data.length > 0 && m.data[m.data.length - 1] === 0x0a;
      if (!had && data.length > 0 && data[data.length - 1] === 0x0a) data = data.subarray(0, data[data.length - 2] === 0x0d ? data.length - 2 : data.length - 1);
      return { action: 'replace', opcode: 1, data: new Uint8Array(data) };
    } finally {
      this.editing = false;
      if (this.o.tty) this.rl.resume();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function describe(m: InterceptedMessage): string {
  const kind = m.opcode === 1 ? 'text' : m.opcode === 2 ? 'binary' : m.opcode === 9 ? 'ping' : 'pong';
  return `${m.connection} ${m.from === 'client' ? 'client → server' : 'server → client'}, ${kind}, ${m.data.length} bytes`;
}

function preview(m: InterceptedMessage): string {
  if (m.opcode === 1) {
    const t = m.text ?? textOf.decode(m.data);
    return JSON.stringify(t.length > 80 ? `${t.slice(0, 80)}…` : t);
  }
  const head = toHex(m.data.subarray(0, 32)).trim();
  return m.data.length > 32 ? `${head} …` : head || '(empty)';
}

function toHex(data: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 16) lines.push(Buffer.from(data.subarray(i, i + 16)).toString('hex').replace(/(..)(?!$)/g, '$1 '));
  return lines.join('\n') + '\n';
}

function fromHex(text: string): Uint8Array | null {
  const clean = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) return null;
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
