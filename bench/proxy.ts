// The proxy side by side: one echo server, reached (a) directly, (b) through nginx as a
// plain WebSocket reverse proxy, (c) through `framescope proxy --target … --capture FILE`,
// the path users run: it decodes every frame, journals it to disk as it goes and prints the
// human view, (d) the same with `--quiet` (no human view), to show what the view costs.
//
// Fairness:
// - Four processes: this one (the load generator), the echo server (bench/proxy-echo.ts, a
//   `ws` server), nginx (Debian's, one worker, config bench/nginx.conf) and Framescope (the
//   real CLI, `node bin/framescope.js`). Framescope's stdout is a pipe this process drains,
//   as a terminal would read it: /dev/null would let a write cost nothing that a user's
//   terminal makes it cost. None shares an event loop with another.
// - The client is as cheap as a client can be, so the proxies get the CPU: it writes
//   pre-built masked frames and counts the echoed bytes instead of parsing them (an echo is
//   an unmasked frame of known size).
// - Throughput: a window of messages in flight (a new one goes out as each echo comes
//   back), warm-up first, then a fixed time measured. Latency: one message at a time.
// - Each round runs every target once, rotating the order, nginx and Framescope always back
//   to back (which of them first alternates): the machine is shared and its load drifts,
//   so the ratio reported is the median of the rounds' own Framescope ÷ nginx ratios, and
//   each round's ratio is listed. Framescope and nginx are started afresh each round (a
//   fresh journal, too).
// - "proxy CPU": CPU time of the proxy process(es) during the measured window, as % of one
//   core (nginx: master and worker). On a 2-core machine three busy processes compete.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Table } from './table';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'framescope.js');
const ECHO = join(ROOT, 'bench', 'proxy-echo.ts');
const VARIANT = join(ROOT, 'bench', 'proxy-variant.ts');
const NGINX_CONF = join(ROOT, 'bench', 'nginx.conf');
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MB = 1e6;
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProxyBenchOptions {
  rounds?: number;
  /** measured time of each throughput phase */
  measureMs?: number;
  warmMs?: number;
  latencySamples?: number;
  /** also profile the Framescope child (node --cpu-prof) on each load, and report where its time goes */
  profile?: boolean;
  /** also run Framescope with layers taken away (bench/proxy-variant.ts): relay only, +decode, +journal */
  breakdown?: boolean;
  /** run only these targets (`--targets=nginx,framescope`) */
  targets?: TargetId[];
  log?: (line: string) => void;
}

type Variant = 'pipe' | 'decode' | 'encode' | 'journal';
/** framescope: the default path (human view, --capture); quiet: the same with --quiet */
export type TargetId = 'direct' | 'nginx' | 'framescope' | 'quiet' | Variant;
export const TARGET_IDS: readonly TargetId[] = ['direct', 'nginx', 'framescope', 'quiet', 'pipe', 'decode', 'encode', 'journal'];
const MAIN_TARGETS: TargetId[] = ['direct', 'nginx', 'framescope', 'quiet'];
const VARIANTS: Variant[] = ['pipe', 'decode', 'encode', 'journal'];
const VARIANT_LABELS: Record<Variant, string> = { pipe: 'Node relay only', decode: '+ decode', encode: '+ journal encoding (to /dev/null)', journal: '+ decode + journal' };

interface Load {
  id: 'small' | 'large';
  label: string;
  size: number;
  opcode: 1 | 2;
  window: number;
}

const LOADS: Load[] = [
  { id: 'small', label: 'small (40 B text, 100 in flight)', size: 40, opcode: 1, window: 100 },
  { id: 'large', label: 'large (256 KiB binary, 8 in flight)', size: 256 * 1024, opcode: 2, window: 8 },
];

interface Throughput {
  msgsPerSec: number;
  mbPerSec: number;
  /** % of one core, proxy process(es); null for direct */
  proxyCpu: number | null;
  /** proxy CPU time per message (round trip: both directions), µs; null for direct */
  proxyCpuPerMsg: number | null;
  /** minor page faults of the proxy process(es) per message; null for direct */
  proxyFaultsPerMsg: number | null;
  serverCpu: number;
}

interface Latency {
  p50: number;
  p99: number;
}

interface RoundResult {
  small: Throughput;
  large: Throughput;
  latency: Latency;
}

/** One round's Framescope ÷ nginx for the figures that have a target. */
export interface RoundRatios {
  small: number;
  large: number;
  p50: number;
}

export interface ProxyBenchResult {
  /** 1-minute load average before and after the run */
  load: [number, number];
  /** per target, the median over rounds of each figure; null: target not available or not run */
  results: Record<TargetId, RoundResult | null>;
  /** Framescope ÷ nginx in each round where both ran (measured back to back) */
  perRound: RoundRatios[];
  breakdown: boolean;
  rounds: number;
  notes: string[];
}

// -- processes --------------------------------------------------------------------------

interface Proc {
  child: ChildProcess;
  /** pids whose CPU time counts (nginx: master and workers) */
  pids(): number[];
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves with the first line of `stream` that matches, or rejects when the child exits first. */
function firstLine(child: ChildProcess, stream: 'stdout' | 'stderr', match: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = child[stream]!;
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      for (const line of text.split('\n')) {
        if (match.test(line)) {
          s.off('data', onData);
          child.off('exit', onExit);
          resolve(line);
          return;
        }
      }
    };
    const onExit = () => reject(new Error(`${what} exited before it was ready:\n${text}`));
    s.on('data', onData);
    child.once('exit', onExit);
  });
}

async function startEcho(): Promise<Proc & { port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ECHO], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await firstLine(child, 'stdout', /^\{"port":\d+\}$/, 'the echo server');
  return {
    child,
    port: (JSON.parse(line) as { port: number }).port,
    pids: () => [child.pid!],
    stop: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

function findNginx(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx']) if (existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port}`);
}

/** Child pids of `pid`, from /proc (nginx's workers). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

async function startNginx(nginx: string, upstream: number, dir: string): Promise<Proc & { port: number }> {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const conf = readFileSync(NGINX_CONF, 'utf8').replaceAll('@LISTEN@', String(port)).replaceAll('@UPSTREAM@', String(upstream));
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const child = spawn(nginx, ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  try {
    await waitForPort(port, child, 'nginx');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${errors.trim()}`);
  }
  const workers = childrenOf(child.pid!);
  return {
    child,
    port,
    pids: () => [child.pid!, ...workers],
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/**
 * Bundles bench/proxy-variant.ts the way the CLI is bundled (vite.cli.config.ts), so the
 * variants run the same kind of code as the Framescope column. Run through tsx instead,
 * their young-generation collections took ~12 ms each (the loader's own objects surviving
 * them) against the CLI's ~2 ms, which made "+ decode" look dearer than it is.
 */
async function buildVariant(dir: string): Promise<string> {
  const { build } = await import('vite');
  const outDir = join(dir, 'variant');
  await build({
    configFile: join(ROOT, 'vite.cli.config.ts'),
    logLevel: 'warn',
    build: { ssr: VARIANT, outDir, emptyOutDir: true, sourcemap: false, rollupOptions: { output: { entryFileNames: 'proxy-variant.js' } } },
  });
  return join(outDir, 'proxy-variant.js');
}

let variantBundle: string | null = null;

async function startVariant(mode: Variant, upstream: number, dir: string, profile = false): Promise<Proc & { port: number }> {
  const node = profile ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profiles')] : [];
  variantBundle ??= await buildVariant(dir);
  const child = spawn(process.execPath, [...node, variantBundle, mode, String(upstream), dir], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await firstLine(child, 'stdout', /^\{"port":\d+\}$/, `proxy-variant ${mode}`);
  return {
    child,
    port: (JSON.parse(line) as { port: number }).port,
    pids: () => [child.pid!],
    stop: async () => {
      // Closing stdin makes it exit normally, which writes a profile.
      if (profile) child.stdin!.end();
      else child.kill('SIGKILL');
      await exited(child);
      for (const f of readdirSync(dir)) if (f.startsWith('variant-')) rmSync(join(dir, f), { force: true });
    },
  };
}

async function startFramescope(upstream: number, dir: string, profile: boolean, quiet = false): Promise<Proc & { port: number; capture: string; printed(): number }> {
  const capture = join(dir, `bench-${Date.now()}.wscap.json`);
  const node = profile ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profiles')] : [];
  const args = [BIN, 'proxy', '--listen', '127.0.0.1:0', '--target', `ws://127.0.0.1:${upstream}/`, '--capture', capture, ...(quiet ? ['--quiet'] : [])];
  const child = spawn(process.execPath, [...node, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // The human view goes to a pipe read as fast as it comes, as a terminal reads it.
  let printed = 0;
  child.stdout!.on('data', (d: Buffer) => (printed += d.length));
  const line = await firstLine(child, 'stderr', /^framescope proxy: listening on /, 'framescope proxy');
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
  child.stderr!.resume();
  return {
    child,
    port,
    capture,
    printed: () => printed,
    pids: () => [child.pid!],
    stop: async () => {
      // A profile is written on a normal exit: SIGINT (which also writes the capture). Without
      // one, the capture is not what is measured: kill it.
      child.kill(profile ? 'SIGINT' : 'SIGKILL');
      await exited(child);
      rmSync(capture, { force: true });
      rmSync(`${capture}.journal`, { force: true });
      rmSync(`${capture}.partial`, { force: true });
    },
  };
}

function cpuTicks(pids: number[]): number {
  return procStat(pids, (fields) => Number(fields[11]) + Number(fields[12])); // utime, stime
}

/** Minor page faults so far: on a VM each costs far more than on a laptop (docs/benchmarks.md). */
function minorFaults(pids: number[]): number {
  return procStat(pids, (fields) => Number(fields[7])); // minflt
}

function procStat(pids: number[], pick: (fields: string[]) => number): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      sum += pick(stat.slice(stat.lastIndexOf(')') + 2).split(' '));
    } catch {
      /* not on Linux, or gone */
    }
  }
  return sum;
}

// -- the client -------------------------------------------------------------------------

/** Header length of an unmasked server frame carrying `size` bytes. */
function serverHeaderLength(size: number): number {
  return size < 126 ? 2 : size < 65536 ? 4 : 10;
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const size = payload.length;
  const ext = size < 126 ? 0 : size < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = 0x80 | opcode;
  if (ext === 0) head[1] = 0x80 | size;
  else if (ext === 2) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(size, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(size), 2);
  }
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, body]);
}

function payloadFor(load: Load): Buffer {
  if (load.opcode === 1) return Buffer.from('{"type":"chat","room":7,"text":"hello!!"}'.slice(0, load.size).padEnd(load.size, ' '));
  const b = Buffer.alloc(load.size);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
  return b;
}

/** A WebSocket client that does the handshake and then only writes bytes and counts them. */
async function rawConnect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET /bench HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (end + 4 !== got.length) reject(new Error('bytes after the 101 before anything was sent'));
      resolve(got.subarray(0, end).toString('latin1'));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) throw new Error(`handshake failed:\n${head}`);
  socket.on('error', () => {});
  return socket;
}

async function throughput(
  port: number,
  load: Load,
  warmMs: number,
  measureMs: number,
  proxyPids: number[],
  serverPids: number[],
  /** set to the measured window, µs on the monotonic clock */
  window?: { from: number; to: number },
): Promise<Throughput> {
  const socket = await rawConnect(port);
  const frame = maskedFrame(load.opcode, payloadFor(load));
  const echoSize = serverHeaderLength(load.size) + load.size;
  const batch = Buffer.concat(Array.from({ length: load.window }, () => frame));
  let sent = load.window;
  let bytes = 0;
  let running = true;
  let drained: () => void = () => {};
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    const done = Math.floor(bytes / echoSize);
    if (running) {
      const room = load.window - (sent - done);
      if (room > 0) {
        socket.write(batch.subarray(0, room * frame.length));
        sent += room;
      }
    } else if (done === sent) drained();
  });
  socket.write(batch);
  await new Promise((r) => setTimeout(r, warmMs));
  const count0 = Math.floor(bytes / echoSize);
  const t0 = process.hrtime.bigint();
  const p0 = cpuTicks(proxyPids);
  const f0 = minorFaults(proxyPids);
  const s0 = cpuTicks(serverPids);
  await new Promise((r) => setTimeout(r, measureMs));
  const count1 = Math.floor(bytes / echoSize);
  const t1 = process.hrtime.bigint();
  const seconds = Number(t1 - t0) / 1e9;
  if (window) {
    window.from = Number(t0 / 1000n);
    window.to = Number(t1 / 1000n);
  }
  const p1 = cpuTicks(proxyPids);
  const f1 = minorFaults(proxyPids);
  const s1 = cpuTicks(serverPids);
  running = false;
  await new Promise<void>((resolve) => {
    drained = resolve;
    if (Math.floor(bytes / echoSize) === sent) resolve();
  });
  if (bytes !== sent * echoSize) throw new Error(`echoed ${bytes} bytes, expected ${sent * echoSize}`);
  socket.destroy();
  const msgs = (count1 - count0) / seconds;
  const pct = (ticks: number) => (ticks / CLOCK_TICKS / seconds) * 100;
  return {
    msgsPerSec: msgs,
    mbPerSec: (msgs * load.size) / MB,
    proxyCpu: proxyPids.length ? pct(p1 - p0) : null,
    proxyCpuPerMsg: proxyPids.length && count1 > count0 ? ((p1 - p0) / CLOCK_TICKS / (count1 - count0)) * 1e6 : null,
    proxyFaultsPerMsg: proxyPids.length && count1 > count0 ? (f1 - f0) / (count1 - count0) : null,
    serverCpu: pct(s1 - s0),
  };
}

async function latency(port: number, warm: number, samples: number): Promise<Latency> {
  const socket = await rawConnect(port);
  const load = LOADS[0]!;
  const frame = maskedFrame(load.opcode, payloadFor(load));
  const expected = Buffer.concat([Buffer.from([0x81, load.size]), payloadFor(load)]);
  const times: number[] = [];
  await new Promise<void>((resolve, reject) => {
    let got: Buffer = Buffer.alloc(0);
    let t = process.hrtime.bigint();
    let n = 0;
    socket.on('data', (d: Buffer) => {
      got = got.length ? Buffer.concat([got, d]) : d;
      if (got.length < expected.length) return;
      const rtt = Number(process.hrtime.bigint() - t) / 1e3;
      if (!got.equals(expected)) return reject(new Error(`unexpected echo ${got.toString('hex')}`));
      got = Buffer.alloc(0);
      if (n++ >= warm) times.push(rtt);
      if (times.length === samples) return resolve();
      t = process.hrtime.bigint();
      socket.write(frame);
    });
    socket.write(frame);
  });
  socket.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

// -- the run ----------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianRound(rounds: RoundResult[]): RoundResult {
  const tp = (pick: (r: RoundResult) => Throughput): Throughput => {
    const cpu = rounds.map((r) => pick(r).proxyCpu);
    const perMsg = rounds.map((r) => pick(r).proxyCpuPerMsg);
    const faults = rounds.map((r) => pick(r).proxyFaultsPerMsg);
    return {
      msgsPerSec: median(rounds.map((r) => pick(r).msgsPerSec)),
      mbPerSec: median(rounds.map((r) => pick(r).mbPerSec)),
      proxyCpu: cpu.every((c) => c !== null) ? median(cpu as number[]) : null,
      proxyCpuPerMsg: perMsg.every((c) => c !== null) ? median(perMsg as number[]) : null,
      proxyFaultsPerMsg: faults.every((c) => c !== null) ? median(faults as number[]) : null,
      serverCpu: median(rounds.map((r) => pick(r).serverCpu)),
    };
  };
  return {
    small: tp((r) => r.small),
    large: tp((r) => r.large),
    latency: { p50: median(rounds.map((r) => r.latency.p50)), p99: median(rounds.map((r) => r.latency.p99)) },
  };
}

let cliBuilt = false;

/** Builds the CLI bundle once per bench run: the code in the tree is measured, not a stale bundle. */
export function buildCli(): void {
  if (cliBuilt) return;
  cliBuilt = true;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.cli.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * The targets in round `r`'s order: the list rotated by `r`, with nginx and Framescope kept
 * next to each other (one slot) and taking turns to go first.
 */
export function roundOrder(targets: readonly TargetId[], r: number): TargetId[] {
  const paired = targets.includes('nginx') && targets.includes('framescope');
  const pair: TargetId[] = r % 2 === 0 ? ['nginx', 'framescope'] : ['framescope', 'nginx'];
  const slots: TargetId[][] = [];
  for (const t of targets) {
    if (paired && t === 'framescope') continue;
    slots.push(paired && t === 'nginx' ? pair : [t]);
  }
  const k = r % slots.length;
  return [...slots.slice(k), ...slots.slice(0, k)].flat();
}

export async function runProxyBench(options: ProxyBenchOptions = {}): Promise<ProxyBenchResult> {
  const rounds = options.rounds ?? 5;
  const warmMs = options.warmMs ?? 500;
  const measureMs = options.measureMs ?? 1500;
  const latencySamples = options.latencySamples ?? 2000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const notes: string[] = [];
  buildCli();
  const nginx = findNginx();
  if (!nginx) notes.push('nginx is not installed (apt-get install nginx): its column is left empty.');
  const dir = mkdtempSync(join(tmpdir(), 'framescope-bench-proxy-'));
  const loadBefore = loadavg()[0]!;
  const echo = await startEcho();
  const targets = options.targets ?? (options.breakdown ? [...MAIN_TARGETS, ...VARIANTS] : MAIN_TARGETS);
  const perTarget: Record<TargetId, RoundResult[]> = { direct: [], nginx: [], framescope: [], quiet: [], pipe: [], decode: [], encode: [], journal: [] };
  /** nginx's and Framescope's result in each round, to pair them */
  const byRound = { nginx: [] as Array<RoundResult | undefined>, framescope: [] as Array<RoundResult | undefined> };
  const start = (target: TargetId): Promise<(Proc & { port: number; capture?: string; printed?: () => number }) | null> => {
    if (target === 'direct') return Promise.resolve(null);
    if (target === 'nginx') return startNginx(nginx!, echo.port, dir);
    if (target === 'framescope') return startFramescope(echo.port, dir, false);
    if (target === 'quiet') return startFramescope(echo.port, dir, false, true);
    return startVariant(target, echo.port, dir);
  };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const target of roundOrder(targets, r)) {
        if (target === 'nginx' && !nginx) continue;
        log(`proxy: round ${r + 1}/${rounds}, ${target}`);
        const proxy = await start(target);
        try {
          const port = proxy?.port ?? echo.port;
          const pids = proxy?.pids() ?? [];
          const small = await throughput(port, LOADS[0]!, warmMs, measureMs, pids, echo.pids());
          const large = await throughput(port, LOADS[1]!, warmMs, measureMs, pids, echo.pids());
          const lat = await latency(port, 200, latencySamples);
          if (proxy?.capture) {
            const journal = `${proxy.capture}.journal`;
            if (existsSync(journal)) log(`proxy: ${target} journal ${(statSync(journal).size / MB).toFixed(0)} MB this round`);
          }
          if (proxy?.printed && target === 'framescope') log(`proxy: ${target} printed ${(proxy.printed() / MB).toFixed(1)} MB of human view this round`);
          perTarget[target].push({ small, large, latency: lat });
          if (target === 'nginx' || target === 'framescope') byRound[target][r] = { small, large, latency: lat };
        } finally {
          await proxy?.stop();
        }
      }
    }
    if (options.profile) {
      for (const target of options.breakdown ? (['pipe', 'decode', 'encode', 'journal', 'framescope'] as const) : (['framescope'] as const)) {
        notes.push(...(await profile(target, echo.port, dir, warmMs, measureMs, log)));
      }
    }
  } finally {
    await echo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const results = {} as Record<TargetId, RoundResult | null>;
  for (const t of [...MAIN_TARGETS, ...VARIANTS]) results[t] = perTarget[t].length ? medianRound(perTarget[t]) : null;
  const perRound: RoundRatios[] = [];
  for (let r = 0; r < rounds; r++) {
    const ng = byRound.nginx[r];
    const fs = byRound.framescope[r];
    if (!ng || !fs) continue;
    perRound.push({
      small: fs.small.msgsPerSec / ng.small.msgsPerSec,
      large: fs.large.msgsPerSec / ng.large.msgsPerSec,
      p50: fs.latency.p50 / ng.latency.p50,
    });
  }
  return { results, perRound, breakdown: targets.some((t) => (VARIANTS as TargetId[]).includes(t)), rounds, notes, load: [loadBefore, loadavg()[0]!] };
}

// -- what the journal's file alone costs -----------------------------------------------

// -- profiling --------------------------------------------------------------------------

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Self time by function, top `n`, as "12.3% name (file:line)", counting only samples taken
 * between `from` and `to` (µs on the monotonic clock, as the profile's own times are).
 */
function topFunctions(profile: CpuProfile, n: number, from: number, to: number): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const dt = deltas[i + 1] ?? 0;
    if (at < from || at > to) continue;
    const node = byId.get(samples[i]!);
    if (!node) continue;
    const f = node.callFrame;
    const file = f.url.replace(/^.*\//, '');
    const key = `${f.functionName || '(anonymous)'}${file ? ` (${file}:${f.lineNumber + 1})` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1)}% ${k}`);
}

/** Runs Framescope (or a variant) alone under --cpu-prof, once per load, and says where its time went. */
async function profile(target: 'framescope' | Variant, echoPort: number, dir: string, warmMs: number, measureMs: number, log: (l: string) => void): Promise<string[]> {
  const notes: string[] = [];
  const name = target === 'framescope' ? 'Framescope' : `"${VARIANT_LABELS[target]}"`;
  for (const load of LOADS) {
    log(`proxy: profiling ${target}, ${load.label}`);
    const profDir = join(dir, 'profiles');
    rmSync(profDir, { recursive: true, force: true });
    const fs = target === 'framescope' ? await startFramescope(echoPort, dir, true) : await startVariant(target, echoPort, dir, true);
    const window: { from: number; to: number } = { from: 0, to: 0 };
    await throughput(fs.port, load, warmMs, measureMs, fs.pids(), [], window);
    // The journal is removed by stop(); the capture written on SIGINT is part of the profile
    // but happens after the load and is told apart by its function names.
    await fs.stop();
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) continue;
    const saved = join(tmpdir(), `framescope-proxy-${target}-${load.id}.cpuprofile`);
    writeFileSync(saved, readFileSync(join(profDir, file)));
    const cpu = JSON.parse(readFileSync(saved, 'utf8')) as CpuProfile;
    notes.push(`${name} profile, ${load.label}, the measured window only (${saved}), self time: ${topFunctions(cpu, 15, window.from, window.to).join('; ')}`);
  }
  return notes;
}

// -- the table --------------------------------------------------------------------------

function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

const fixed = (n: number) => n.toFixed(n >= 100 ? 0 : 1);

const listRatios = (rounds: RoundRatios[], key: keyof RoundRatios): string => rounds.map((p) => `${p[key].toFixed(2)}×`).join(' ');

export function proxyTable(result: ProxyBenchResult): Table {
  const { direct, nginx, framescope, quiet } = result.results;
  const variants = result.breakdown ? VARIANTS.map((v) => result.results[v]) : [];
  // --quiet is a column when it ran: the default path's cost of the human view is the difference.
  const extra = quiet ? [quiet] : [];
  const rows: string[][] = [];
  const cell = (r: RoundResult | null, pick: (r: RoundResult) => number | null, fmt: (n: number) => string) => {
    if (!r) return '—';
    const v = pick(r);
    return v === null ? '—' : fmt(v);
  };
  const row = (
    label: string,
    pick: (r: RoundResult) => number | null,
    fmt: (n: number) => string,
    target?: { higherIsBetter: boolean; bound: number; paired: keyof RoundRatios },
  ) => {
    const fsv = framescope ? pick(framescope) : null;
    const ngv = nginx ? pick(nginx) : null;
    // A figure with a target: the median of the rounds' own ratios (pairs measured back to
    // back); the others: the ratio of the medians.
    const pairs = target ? result.perRound.map((p) => p[target.paired]) : [];
    const ratio = pairs.length > 0 ? median(pairs) : fsv !== null && ngv !== null && ngv > 0 ? fsv / ngv : null;
    let goal = '';
    if (target) {
      const sign = target.higherIsBetter ? '≥' : '≤';
      const met = ratio === null ? null : target.higherIsBetter ? ratio >= target.bound : ratio <= target.bound;
      goal = `${sign} ${target.bound.toFixed(1)}×${met === null ? '' : met ? ' ✓' : ' ✗'}`;
    }
    rows.push([
      label,
      cell(direct, pick, fmt),
      cell(nginx, pick, fmt),
      ...variants.map((v) => cell(v, pick, fmt)),
      ...extra.map((v) => cell(v, pick, fmt)),
      cell(framescope, pick, fmt),
      ratio === null ? '—' : `${ratio.toFixed(2)}×`,
      goal,
    ]);
  };
  const pct = (n: number) => `${n.toFixed(0)}%`;
  row('small 40 B, 100 in flight: messages/s', (r) => r.small.msgsPerSec, rate, { higherIsBetter: true, bound: 1.0, paired: 'small' });
  row('small: MB/s', (r) => r.small.mbPerSec, fixed);
  row('large 256 KiB, 8 in flight: messages/s', (r) => r.large.msgsPerSec, fixed, { higherIsBetter: true, bound: 1.0, paired: 'large' });
  row('large: MB/s', (r) => r.large.mbPerSec, fixed);
  row('latency p50, one at a time (µs)', (r) => r.latency.p50, fixed, { higherIsBetter: false, bound: 1.2, paired: 'p50' });
  row('latency p99 (µs)', (r) => r.latency.p99, fixed);
  row('proxy CPU, small (% of a core)', (r) => r.small.proxyCpu, pct);
  row('proxy CPU, large (% of a core)', (r) => r.large.proxyCpu, pct);
  row('proxy CPU per message, small (µs)', (r) => r.small.proxyCpuPerMsg, fixed);
  row('proxy CPU per message, large (µs)', (r) => r.large.proxyCpuPerMsg, fixed);
  row('proxy page faults per message, large', (r) => r.large.proxyFaultsPerMsg, fixed);
  row('echo server CPU, small (% of a core)', (r) => r.small.serverCpu, pct);
  row('echo server CPU, large (% of a core)', (r) => r.large.serverCpu, pct);
  const dv = (pick: (r: RoundResult) => number) => (direct && nginx && framescope ? `${(pick(nginx) / pick(direct)).toFixed(2)}× / ${(pick(framescope) / pick(direct)).toFixed(2)}×` : '—');
  const quietVsNginx = (pick: (r: RoundResult) => number) => (quiet && nginx ? `${(pick(quiet) / pick(nginx)).toFixed(2)}×` : '—');
  return {
    title: 'Proxy: direct vs nginx vs Framescope on its default path (human view, --capture: every frame decoded, journaled and shown)',
    columns: [
      '',
      'direct',
      'nginx',
      ...(result.breakdown ? VARIANTS.map((v) => VARIANT_LABELS[v]) : []),
      ...(quiet ? ['Framescope --quiet'] : []),
      'Framescope',
      'Framescope ÷ nginx',
      'target',
    ],
    rows,
    notes: [
      `Median of ${result.rounds} rounds (targets in rotating order, nginx and Framescope back to back). One echo server (\`ws\`, own process) for all; nginx ${'1 worker'} as a plain WebSocket reverse proxy (bench/nginx.conf); Framescope is \`framescope proxy --target … --capture FILE\`, the CLI as a child process on its default path: the human view (a line per frame with a payload preview) to a pipe this bench drains, FILE.journal written as frames pass. "Framescope --quiet" is the same without the human view.`,
      'Throughput: one connection, a window of messages in flight, each echo answered by a new message; MB/s counts message payload one way. Latency: one 40 B message at a time, round trip seen by the client.',
      ...(result.perRound.length > 0
        ? [
            `Framescope ÷ nginx in each round (the ratio column for the rows with a target is their median): small ${listRatios(result.perRound, 'small')}; large ${listRatios(result.perRound, 'large')}; p50 ${listRatios(result.perRound, 'p50')}.`,
          ]
        : []),
      `vs direct, nginx / Framescope: small ${dv((r) => r.small.msgsPerSec)}, large ${dv((r) => r.large.msgsPerSec)}.`,
      ...(quiet
        ? [`Framescope --quiet ÷ nginx (ratio of the medians): small ${quietVsNginx((r) => r.small.msgsPerSec)}, large ${quietVsNginx((r) => r.large.msgsPerSec)}, p50 ${quietVsNginx((r) => r.latency.p50)}.`]
        : []),
      `Load average (1 min) ${result.load[0].toFixed(1)} before, ${result.load[1].toFixed(1)} after, on ${cpus().length} cores: other work on the machine lowers every column, the busiest proxy's most; "proxy CPU per message" (CPU time of the proxy process per round trip) holds up better under such noise than messages/s.`,
      ...(result.breakdown
        ? [
            'Breakdown (bench/proxy-variant.ts, each its own process): "Node relay only" pipes bytes with nothing looked at, read as Framescope reads them (a buffer per read, as Node reads a socket); "+ decode" is ProxyServer with a sink that does nothing (relay, observer decode, frame records); "+ journal encoding (to /dev/null)" adds the journal writing to /dev/null (every event encoded as for the file, no file system); "+ decode + journal" adds the journal as the sink (what --capture adds, without terminal output); "Framescope" is the CLI, which also prints the human view.',
          ]
        : []),
      ...result.notes,
    ],
  };
}
