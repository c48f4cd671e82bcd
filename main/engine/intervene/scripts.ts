// The user's script (`--script FILE`): an ES module whose exports decide messages
// (onMessage) and hear of connections (onOpen, onClose). It is loaded with import() and
// loaded again, under a new URL so that Node does not hand back the cached module, when
// its file changes. A hook that throws or rejects is reported in one line with the script's
// own location and the message goes on unchanged; one that does not settle within the
// timeout is reported and the message goes on unchanged (its direction waited until then,
// nothing else did).
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CloseRecord, HandshakeRecord, Side } from '../../../shared/model';
import type { ConnectionPolicy } from './lane';
import type { Decision, InterceptedMessage, Injector } from './types';

/** What a script's onMessage may return (or resolve to). */
type ScriptResult = undefined | null | { text?: unknown; data?: unknown; opcode?: unknown };

interface ScriptModule {
  onMessage?: (message: InterceptedMessage, ctx: ScriptContext) => ScriptResult | Promise<ScriptResult>;
  onOpen?: (connection: string, handshake: HandshakeRecord, ctx: ScriptContext) => unknown;
  onClose?: (connection: string, close: CloseRecord) => unknown;
}

/** The `ctx` a hook gets: the connection's injector. */
export interface ScriptContext {
  connection: string;
  inject(to: Side, payload: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export class ScriptError extends Error {
  override name = 'ScriptError';
}

export interface ScriptHostOptions {
  /** how long a hook may take (ms) */
  timeoutMs: number;
  /** one line for the user (stderr) */
  report(line: string): void;
  /** reload when the file changes (default true) */
  watch?: boolean;
}

const utf8 = new TextEncoder();

export class ScriptHost {
  readonly file: string;
  private mod: ScriptModule = {};
  private version = 0;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  /** resolves after each reload attempt (tests and callers wait on it) */
  private reloads: Array<() => void> = [];

  private constructor(
    file: string,
    private readonly o: ScriptHostOptions,
  ) {
    this.file = file;
  }

  /** Loads the script; a missing file, a .ts file or a syntax error is a ScriptError with one line. */
  static async load(file: string, o: ScriptHostOptions): Promise<ScriptHost> {
    const abs = path.resolve(file);
    const ext = path.extname(abs).toLowerCase();
    if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
      throw new ScriptError(`${file}: Node ${process.versions.node.split('.')[0]} cannot load TypeScript without a build step; compile it to .mjs (npx tsc) or, if it has no types, rename it to .mjs`);
    }
    if (ext !== '.mjs' && ext !== '.js') throw new ScriptError(`${file}: a script is an ES module, .mjs or .js`);
    if (!existsSync(abs) || !statSync(abs).isFile()) throw new ScriptError(`${file}: no such file`);
    const host = new ScriptHost(abs, o);
    host.mod = await host.importNow();
    if (!host.mod.onMessage && !host.mod.onOpen && !host.mod.onClose) {
      throw new ScriptError(`${file}: exports none of onMessage, onOpen, onClose`);
    }
    if (o.watch !== false) host.startWatching();
    return host;
  }

  /** Does the current script look at messages (else they need not be held)? */
  get watchesMessages(): boolean {
    return typeof this.mod.onMessage === 'function';
  }

  private async importNow(): Promise<ScriptModule> {
    const url = `${pathToFileURL(this.file).href}?v=${this.version++}`;
    let ns: Record<string, unknown>;
    try {
      ns = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
    } catch (err) {
      throw new ScriptError(this.loadFailure(err));
    }
    // A CommonJS .js puts its exports on `default`.
    const def = (ns['default'] ?? {}) as Record<string, unknown>;
    const pick = (name: keyof ScriptModule) => (typeof ns[name] === 'function' ? ns[name] : typeof def[name] === 'function' ? def[name] : undefined);
    return { onMessage: pick('onMessage'), onOpen: pick('onOpen'), onClose: pick('onClose') } as ScriptModule;
  }

  /** One line for a script that does not load: Node does not say where an ES module's syntax error is, `node --check` does. */
  private loadFailure(err: unknown): string {
    const e = err as Error;
    if (e?.name === 'SyntaxError') {
      const r = spawnSync(process.execPath, ['--check', this.file], { encoding: 'utf8', timeout: 10_000 });
      const where = /^(.+?:\d+)\s*$/m.exec(r.stderr ?? '')?.[1];
      const hint = /import statement outside a module|Unexpected token 'export'/.test(e.message) ? ' (name it .mjs, or set "type": "module" in its package.json)' : '';
      return `${where ?? this.file}: ${e.name}: ${e.message}${hint}`;
    }
    return `${this.file}: ${scriptLine(err, this.file)}`;
  }

  private startWatching(): void {
    // The directory, not the file: editors often save by writing a new file and renaming it.
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    try {
      this.watcher = watch(dir, (_event, name) => {
        if (name !== null && name.toString() !== base) return;
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload(), 100);
      });
      this.watcher.unref();
    } catch (err) {
      this.o.report(`cannot watch ${this.file} for changes (${(err as Error).message}); it will not reload`);
    }
  }

  /** Loads the file again; on failure the previous script stays. */
  async reload(): Promise<void> {
    this.debounce = null;
    // Mid-save (renamed away): the next event brings the new file.
    if (!existsSync(this.file)) return this.settleReload();
    try {
      this.mod = await this.importNow();
      this.o.report(`reloaded ${this.file}`);
    } catch (err) {
      this.o.report(`${(err as Error).message}; the previous script stays`);
    }
    this.settleReload();
  }

  private settleReload(): void {
    const waiting = this.reloads.splice(0);
    for (const r of waiting) r();
  }

  /** Resolves after the next reload attempt. */
  nextReload(): Promise<void> {
    return new Promise((r) => this.reloads.push(r));
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce) clearTimeout(this.debounce);
  }

  /** The policy for one connection. */
  policy(connection: string): ConnectionPolicy {
    const host = this;
    let ctx: ScriptContext | null = null;
    const ctxFor = (inj: Injector): ScriptContext =>
      (ctx ??= {
        connection,
        inject: (to, payload) => {
          if (to !== 'client' && to !== 'server') return host.o.report(`ctx.inject: "to" must be 'client' or 'server', got ${JSON.stringify(to)}`);
          inj.inject(to, payload);
        },
        close: (code = 1000, reason = '') => {
          if (!Number.isInteger(code) || code < 1000 || code > 4999) return host.o.report(`ctx.close: ${code} is not a close code that may be sent`);
          if (utf8.encode(String(reason)).length > 123) return host.o.report('ctx.close: a close reason is at most 123 bytes of UTF-8');
          inj.close(code, String(reason));
        },
      });
    return {
      watches: () => host.watchesMessages,
      decide: async (message, inj) => {
        const fn = host.mod.onMessage;
        if (!fn) return { action: 'pass' };
        const out = await host.call('onMessage', () => fn(message, ctxFor(inj)));
        if (!out.ok) return { action: 'forward' };
        return host.toDecision(out.value);
      },
      opened: (handshake, inj) => {
        const fn = host.mod.onOpen;
        if (fn) void host.call('onOpen', () => fn(connection, handshake, ctxFor(inj)));
      },
      closed: (close) => {
        const fn = host.mod.onClose;
        if (fn) void host.call('onClose', () => fn(connection, close));
      },
    };
  }

  /** Runs a hook; a throw, a rejection or the timeout is one reported line and `ok: false`. */
  private call<T>(hook: string, run: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    let timer: NodeJS.Timeout | null = null;
    const timeout = new Promise<{ ok: false }>((resolve) => {
      timer = setTimeout(() => {
        this.o.report(`script ${hook} did not settle within ${this.o.timeoutMs} ms; the message goes on unchanged`);
        resolve({ ok: false });
      }, this.o.timeoutMs);
      timer.unref?.();
    });
    const result = (async () => {
      try {
        return { ok: true as const, value: await run() };
      } catch (err) {
        this.o.report(`script ${hook} failed: ${scriptLine(err, this.file)}; the message goes on unchanged`);
        return { ok: false as const };
      }
    })();
    return Promise.race([result, timeout]).finally(() => {
      if (timer) clearTimeout(timer);
    });
  }

  private toDecision(v: unknown): Decision {
    if (v === undefined) return { action: 'pass' };
    if (v === null) return { action: 'drop' };
    if (typeof v === 'object') {
      const r = v as { text?: unknown; data?: unknown; opcode?: unknown };
      const opcode = r.opcode;
      if (opcode !== undefined && opcode !== 1 && opcode !== 2) return this.bad(`"opcode" must be 1 or 2, got ${JSON.stringify(opcode)}`);
      if (typeof r.text === 'string') return { action: 'replace', opcode: (opcode as 1 | 2 | undefined) ?? 1, data: utf8.encode(r.text) };
      if (r.data instanceof Uint8Array) return { action: 'replace', opcode: (opcode as 1 | 2 | undefined) ?? 2, data: r.data };
    }
    return this.bad('it must return undefined (forward), null (drop), { text } or { data }');
  }

  private bad(why: string): Decision {
    this.o.report(`script onMessage returned something else: ${why}; the message goes on unchanged`);
    return { action: 'forward' };
  }
}

/** "Error: message (file:line:col)" with the first stack frame in the script; never our stack. */
export function scriptLine(err: unknown, file: string): string {
  if (!(err instanceof Error)) return `threw ${safeString(err)}`;
  const url = pathToFileURL(file).href;
  const frame = (err.stack ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('at ') && (l.includes(url) || l.includes(file)));
  const loc = frame ? /\(?((?:file:\/\/)?[^()\s]+:\d+:\d+)\)?$/.exec(frame)?.[1] : undefined;
  const where = loc ? ` (${loc.replace(/\?v=\d+/, '').replace(/^file:\/\//, '')})` : '';
  return `${err.name}: ${err.message}${where}`;
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : String(v);
  } catch {
    return 'a value';
  }
}
