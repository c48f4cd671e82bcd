// What the UI end-to-end tests (test/ui/e2e.test.ts) and the UI bench (bench/ui.ts) share:
// a real `framescope serve` child, headless Chromium through playwright-core, a `ws` server
// that pushes frames at a set rate (or as fast as the engine takes them), and a probe that
// measures the page from inside with the Performance API.
//
// The page's own code runs in Chromium, not here: what is evaluated in the page is written
// as strings (this project's Node tsconfig has no DOM types, on purpose).
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import type { WebSocket } from 'ws';
import { spawnCli, type CliProcess } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the UI tests cannot run without Chromium, and what to do about it. */
export const NO_CHROMIUM =
  `headless Chromium is needed for the UI end-to-end tests and was not found at ${CHROMIUM}: ` +
  'install Debian\'s `chromium` package (apt-get install chromium; .ci/run does this)';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(NO_CHROMIUM);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // A page in a background or occluded window gets throttled timers and frames: the
      // measurements (and the live list) would then say more about the scheduler than the UI.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
    timeout: 30_000,
  });
}

export interface Serve {
  /** the URL it printed, with the token */
  url: string;
  proc: CliProcess;
  stop(): Promise<unknown>;
}

/**
 * `framescope serve` as a user runs it; resolves with the URL it prints first. Unless told
 * otherwise it keeps nothing once it ends (a test must not fill the user's sessions folder).
 */
export async function startServe(args: string[] = ['--forget']): Promise<Serve> {
  const proc = spawnCli(['serve', ...args]);
  try {
    const url = (await proc.waitForLine(/^http:\/\//, { timeoutMs: 20_000 })).trim();
    return { url, proc, stop: () => proc.stop('SIGINT') };
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

/** Resident memory of a process (Linux), in bytes; null where /proc does not say. */
export function rssOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

// -- a server that pushes frames --------------------------------------------------------------

export interface PushReport {
  /** frames the server has handed to its socket */
  sent: number;
  /** Date.now() at the first and the last frame sent (0 until then) */
  firstAt: number;
  lastAt: number;
  done: boolean;
}

export interface Firehose {
  server: WsTestServer;
  /**
   * ws:// URL of a connection that is pushed `total` small text frames, either paced at
   * `perSecond` (spread evenly over time, catching up after a late timer) or, without it, as
   * fast as the reader takes them (the socket's backpressure paces the server).
   */
  urlFor(o: { total: number; perSecond?: number }): string;
  /** what the server did on the connections so far, by connection index */
  reports: PushReport[];
  close(): Promise<void>;
}

/** The payload of frame n: small, distinct, JSON (`{"n":123}`). */
export const pushedText = (n: number): string => `{"n":${n}}`;

/** How much the flood keeps queued on the socket before it waits for it to drain. */
const FLOOD_HIGH_WATER = 1024 * 1024;

export async function startFirehose(): Promise<Firehose> {
  const reports: PushReport[] = [];
  const server = await startWsServer({
    echo: false,
    onConnection: (socket, request) => {
      const q = new URL(request.url ?? '/', 'http://x').searchParams;
      const total = Number(q.get('total') ?? 0);
      const perSecond = q.has('perSecond') ? Number(q.get('perSecond')) : null;
      const report: PushReport = { sent: 0, firstAt: 0, lastAt: 0, done: false };
      reports.push(report);
      if (perSecond) paced(socket, report, total, perSecond);
      else flood(socket, report, total);
    },
  });
  let runs = 0;
  return {
    server,
    reports,
    // `run` makes each URL distinct, so the page can tell this connection from an earlier one
    urlFor: (o) => `${server.url}/push?total=${o.total}${o.perSecond ? `&perSecond=${o.perSecond}` : ''}&run=${++runs}`,
    close: () => server.close(),
  };
}

const isOpen = (s: WebSocket) => s.readyState === s.OPEN;

/**
 * The net.Socket under a `ws` WebSocket (ws keeps it as `_socket`; not public API): corked
 * around a burst of sends so a tick's frames go out in one write, not one syscall each.
 */
function rawSocket(ws: WebSocket): { cork(): void; uncork(): void; once(event: 'drain', fn: () => void): unknown } | null {
  return (ws as unknown as { _socket?: ReturnType<typeof rawSocket> })._socket ?? null;
}

function sendOne(socket: WebSocket, report: PushReport): void {
  socket.send(pushedText(report.sent));
  report.sent++;
  const now = Date.now();
  if (report.firstAt === 0) report.firstAt = now;
  report.lastAt = now;
}

function paced(socket: WebSocket, report: PushReport, total: number, perSecond: number): void {
  let start = 0;
  const tick = () => {
    if (!isOpen(socket)) return clearInterval(timer);
    const now = performance.now();
    if (start === 0) start = now;
    const due = Math.min(total, Math.floor(((now - start) * perSecond) / 1000) + 1);
    if (due > report.sent) {
      const raw = rawSocket(socket);
      raw?.cork();
      while (report.sent < due) sendOne(socket, report);
      raw?.uncork();
    }
    if (report.sent >= total) {
      report.done = true;
      clearInterval(timer);
    }
  };
  const timer = setInterval(tick, 5);
  socket.once('close', () => clearInterval(timer));
  tick();
}

function flood(socket: WebSocket, report: PushReport, total: number): void {
  const pump = () => {
    if (!isOpen(socket)) return;
    const raw = rawSocket(socket);
    while (report.sent < total && socket.bufferedAmount < FLOOD_HIGH_WATER) {
      // a few hundred frames at a time into one write
      raw?.cork();
      for (let i = 0; i < 256 && report.sent < total; i++) sendOne(socket, report);
      raw?.uncork();
    }
    if (report.sent >= total) {
      report.done = true;
      return;
    }
    // The reader is behind: wait for the socket to take what is queued, then go on.
    if (raw) raw.once('drain', pump);
    else setImmediate(pump);
  };
  pump();
}

// -- the page --------------------------------------------------------------------------------

/** The frame-count of the selected connection as a number (NaN while there is none). */
export async function frameCount(page: Page): Promise<number> {
  const text = await page.getByTestId('frame-count').textContent({ timeout: 5_000 }).catch(() => null);
  return text === null || !/^\d+$/.test(text) ? Number.NaN : Number(text);
}

/**
 * Polls `read` until `ok` holds; a safety net, not a timed assertion: on timeout it throws
 * with what it last saw, so a failure says where things stopped.
 */
export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Installed in the page: long tasks (PerformanceObserver 'longtask') and animation frame
 * times (requestAnimationFrame deltas), recorded between start() and stop(); and the wall
 * clock time (Date.now(), the same clock as this process) at which `frame-count` first
 * showed at least `target` for the connection being measured, checked every animation frame.
 */
const PROBE_SCRIPT = `(() => {
  if (window.__fsProbe) return;
  const p = { running: false, long: [], frames: [], target: Infinity, marker: '', reachedAt: 0, lastCount: 0 };
  window.__fsProbe = p;
  new PerformanceObserver((list) => {
    if (!p.running) return;
    for (const e of list.getEntries()) p.long.push(e.duration);
  }).observe({ type: 'longtask' });
  let last = 0;
  const tick = (t) => {
    if (p.running) {
      if (last) p.frames.push(t - last);
      last = t;
      // only the connection this run opened (its URL in the header carries p.marker)
      const head = document.querySelector('.conn-header-url');
      const mine = !p.marker || (head && head.getAttribute('title') === p.marker);
      const el = mine ? document.querySelector('[data-testid=frame-count]') : null;
      const n = el ? Number(el.textContent) : 0;
      p.lastCount = n;
      if (!p.reachedAt && n >= p.target) p.reachedAt = Date.now();
    } else last = 0;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;

export interface ProbeResult {
  longTasks: number[];
  frameTimes: number[];
  /** Date.now() when frame-count first reached the target (0: not yet) */
  reachedAt: number;
}

export async function installProbe(page: Page): Promise<void> {
  await page.evaluate(PROBE_SCRIPT);
}

/** Starts measuring; `url`: count only while the connection with this URL is the one shown. */
export async function startProbe(page: Page, target: number, url = ''): Promise<void> {
  await page.evaluate(
    `(() => { const p = window.__fsProbe; p.long = []; p.frames = []; p.reachedAt = 0; p.target = ${target}; p.marker = ${JSON.stringify(url)}; p.running = true; })()`,
  );
}

export async function readProbe(page: Page, stop = true): Promise<ProbeResult> {
  return (await page.evaluate(
    `(() => { const p = window.__fsProbe; if (${stop}) p.running = false; return { longTasks: p.long.slice(), frameTimes: p.frames.slice(), reachedAt: p.reachedAt }; })()`,
  )) as ProbeResult;
}

/** The renderer's JS heap in use after a full GC (bytes), through the DevTools protocol. */
export async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Opens the UI in a new page of `context` and waits until the bridge is up (the connect
 * form usable, captures can be opened); the page's errors go to `errors`.
 */
export async function openPage(context: BrowserContext, url: string, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.getByTestId('connect-url').waitFor();
  await page.locator('[data-testid=import-button]:enabled').waitFor();
  return page;
}

/**
 * Opens a capture through the Open button and waits until the connection it adds is in the
 * list and selected. The serve process keeps what earlier tests opened, so this waits for
 * this file's connection, not for rows an earlier one already shows.
 */
export async function openCapture(page: Page, file: string): Promise<void> {
  const ids = () => page.getByTestId('connection-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  const before = new Set(await ids());
  const choosing = page.waitForEvent('filechooser');
  await page.getByTestId('import-button').click();
  await (await choosing).setFiles(file);
  const fresh = (await until('the opened connection in the list', ids, (now) => now.some((id) => !before.has(id)))).find((id) => !before.has(id))!;
  await page.locator(`[data-testid=connection-item][data-id="${fresh}"].selected`).waitFor();
}

export interface ShownRow {
  seq: number;
  /** the whole row's text */
  text: string;
  /** the decoded cell: its type, protocol, text and heartbeat mark (null/'' when not decoded) */
  type: string | null;
  protocol: string | null;
  decoded: string;
  heartbeat: boolean;
}

/**
 * The rows the list shows, once they answer the filter as typed: the list keeps the previous
 * filter's rows (aria-busy) while a new one is applied or the engine answers a field test.
 */
export async function shownRows(page: Page): Promise<ShownRow[]> {
  await page.locator('[data-testid=frame-list][aria-busy=false]').waitFor();
  return page.getByTestId('frame-row').evaluateAll((els) =>
    els.map((e) => {
      const d = e.querySelector('[data-testid=frame-decoded]');
      return {
        seq: Number(e.getAttribute('data-seq')),
        text: e.textContent ?? '',
        type: d?.getAttribute('data-type') ?? null,
        protocol: d?.getAttribute('data-protocol') ?? null,
        decoded: d?.textContent ?? '',
        heartbeat: d?.getAttribute('data-heartbeat') === 'true',
      };
    }),
  );
}
