// Runs the real command line (`node bin/framescope.js ...`) as a child process, as a user would.
// Uses the built bundle (test/global-setup.ts builds it before the tests run).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The checkout's root and its `bin` file, found from this file so the cwd does not matter. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/framescope.js', import.meta.url));

/** Output kept per stream; a runaway child cannot eat the test process's memory. */
export const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
/** After a timeout's SIGTERM, how long the child gets before SIGKILL. */
const KILL_GRACE_MS = 2000;

export interface CliOptions {
  /** Safety net, not an assertion: the child is killed after this long. Default 20000. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. Without it stdin is closed at once (EOF). */
  stdin?: string;
  /** Added to (and overriding) the test process's environment. NO_COLOR=1 is set unless overridden. */
  env?: Record<string, string | undefined>;
  /** Working directory. Default: the repository root. */
  cwd?: string;
  /**
   * The child's file size limit (RLIMIT_FSIZE, via bash's `ulimit -f`), in KiB: a write past
   * it fails with EFBIG after writing what fits, as a disk that fills up would. Node ignores
   * the SIGXFSZ that comes with it.
   */
  fileSizeLimitKiB?: number;
  /**
   * The child's address space limit (RLIMIT_AS, via bash's `ulimit -v`), in KiB: V8 then
   * cannot reserve a WebAssembly memory (gigabytes of address space), as under a user's limit.
   */
  addressSpaceLimitKiB?: number;
}

export interface CliResult {
  /** Exit code, or null if the child was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True if the child outlived timeoutMs and was killed by us. */
  timedOut: boolean;
  /** True if a stream passed MAX_OUTPUT_BYTES and the rest was dropped. */
  truncated: boolean;
}

/** Children not yet exited: killed if the test process exits first, so none is left behind. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

function childEnv(env: CliOptions['env']): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete out.FORCE_COLOR;
  for (const [name, value] of Object.entries(env ?? {})) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** Collects a stream as text, capped at MAX_OUTPUT_BYTES. */
class Collector {
  private chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;
  push(chunk: Buffer): void {
    if (this.bytes >= MAX_OUTPUT_BYTES) {
      this.truncated = true;
      return;
    }
    const room = MAX_OUTPUT_BYTES - this.bytes;
    if (chunk.length > room) {
      chunk = chunk.subarray(0, room);
      this.truncated = true;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export type LineMatcher = RegExp | ((line: string) => boolean);

export interface WaitForLineOptions {
  /** Which stream to watch. Default 'stdout'. */
  stream?: 'stdout' | 'stderr';
  /** Safety net: reject after this long. Default 20000. */
  timeoutMs?: number;
  /** Only consider lines from this index on (default 0: lines already printed count too). */
  fromLine?: number;
}

export interface CliProcess {
  child: ChildProcess;
  /** Complete lines printed so far (without line endings). */
  stdoutLines: string[];
  stderrLines: string[];
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first line (already printed or to come) that matches; rejects if the
   * child exits or the timeout passes first, with what it printed in the error message.
   */
  waitForLine(match: LineMatcher, options?: WaitForLineOptions): Promise<string>;
  /** Writes to the child's stdin (it stays open until endStdin()). */
  write(text: string): void;
  endStdin(): void;
  /** Resolves when the child has exited. */
  exited: Promise<CliResult>;
  /** Sends `signal` (default SIGTERM) and resolves when the child has exited. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** Starts `node bin/framescope.js ...args` and returns at once; stdin stays open. */
export function spawnCli(args: string[], options: SpawnOptions = {}): CliProcess {
  return launch([BIN, ...args], options).proc;
}

/** Runs `node bin/framescope.js ...args` to completion (or until timeoutMs, then kills it). */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runNode([BIN, ...args], options);
}

/** spawnCli for any Node arguments (`node ...argv`), e.g. a fake peer script. */
export function spawnNode(argv: string[], options: SpawnOptions = {}): CliProcess {
  return launch(argv, options).proc;
}

export type SpawnOptions = Omit<CliOptions, 'stdin' | 'timeoutMs'>;

function launch(argv: string[], options: SpawnOptions): { proc: CliProcess; markTimedOut(): void } {
  const args = argv;
  const limits = [
    ...(options.fileSizeLimitKiB === undefined ? [] : [`ulimit -f ${Math.floor(options.fileSizeLimitKiB)}`]),
    ...(options.addressSpaceLimitKiB === undefined ? [] : [`ulimit -v ${Math.floor(options.addressSpaceLimitKiB)}`]),
  ];
  const [command, commandArgs] = limits.length === 0 ? [process.execPath, argv] : ['bash', ['-c', `${limits.join(' && ')} && exec "$@"`, 'bash', process.execPath, ...argv]];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  const out = new Collector();
  const err = new Collector();
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  const splitInto = (name: 'stdout' | 'stderr', lines: string[], chunk: Buffer) => {
    const text = partial[name] + chunk.toString('utf8');
    const parts = text.split('\n');
    partial[name] = parts.pop() ?? '';
    for (const line of parts) lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk);
    splitInto('stdout', stdoutLines, chunk);
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err.push(chunk);
    splitInto('stderr', stderrLines, chunk);
    notify();
  });
  // A child that exits without reading stdin makes our writes fail with EPIPE: not a test failure.
  child.stdin!.on('error', () => {});

  let timedOut = false;
  let exitedFlag = false;
  const exited = new Promise<CliResult>((resolve) => {
    child.once('error', (error) => {
      // Spawning itself failed (should not happen with process.execPath).
      exitedFlag = true;
      err.push(Buffer.from(`spawn failed: ${error.message}\n`));
      notify();
      resolve({ code: null, signal: null, stdout: out.text(), stderr: err.text(), timedOut, truncated: out.truncated || err.truncated });
    });
    // 'close' rather than 'exit': every byte of output has been read by then.
    child.once('close', (code, signal) => {
      exitedFlag = true;
      for (const name of ['stdout', 'stderr'] as const) {
        if (partial[name]) (name === 'stdout' ? stdoutLines : stderrLines).push(partial[name]);
        partial[name] = '';
      }
      notify();
      resolve({ code, signal, stdout: out.text(), stderr: err.text(), timedOut, truncated: out.truncated || err.truncated });
    });
  });

  // The tail of what the child printed, for failure messages.
  const describe = () => `--- stdout ---\n${out.text().slice(-4000)}\n--- stderr ---\n${err.text().slice(-4000)}`;

  const proc: CliProcess = {
    child,
    stdoutLines,
    stderrLines,
    stdout: () => out.text(),
    stderr: () => err.text(),
    waitForLine(match, opts = {}) {
      const { stream = 'stdout', timeoutMs = 20_000, fromLine = 0 } = opts;
      const test = typeof match === 'function' ? match : (line: string) => match.test(line);
      const lines = stream === 'stdout' ? stdoutLines : stderrLines;
      return new Promise<string>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = (fn: () => void) => {
          listeners.delete(check);
          if (timer) clearTimeout(timer);
          fn();
        };
        const check = () => {
          for (let i = fromLine; i < lines.length; i++) {
            const line = lines[i]!;
            if (test(line)) return finish(() => resolve(line));
          }
          if (exitedFlag) {
            finish(() =>
              reject(new Error(`node ${args.join(' ')} exited before printing a matching ${stream} line\n` + describe())),
            );
          }
        };
        timer = setTimeout(
          () => finish(() => reject(new Error(`no matching ${stream} line within ${timeoutMs} ms\n` + describe()))),
          timeoutMs,
        );
        listeners.add(check);
        check();
      });
    },
    write(text) {
      if (child.stdin && !child.stdin.destroyed) child.stdin.write(text);
    },
    endStdin() {
      child.stdin?.end();
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (!exitedFlag) child.kill(signal);
      return exited;
    },
  };

  return {
    proc,
    markTimedOut: () => {
      timedOut = true;
    },
  };
}

/** runCli for any Node arguments (`node ...argv`). */
export async function runNode(argv: string[], options: CliOptions = {}): Promise<CliResult> {
  const { timeoutMs = 20_000, stdin } = options;
  const { proc, markTimedOut } = launch(argv, { cwd: options.cwd, env: options.env });
  if (stdin !== undefined) proc.write(stdin);
  proc.endStdin();
  let grace: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    markTimedOut();
    proc.child.kill('SIGTERM');
    grace = setTimeout(() => proc.child.kill('SIGKILL'), KILL_GRACE_MS);
  }, timeoutMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
    if (grace) clearTimeout(grace);
  }
}
