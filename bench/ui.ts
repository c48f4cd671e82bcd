// The UI at a live rate (issue 5, "Live at any rate"): the real `framescope serve`, the built
// renderer in headless Chromium, and a `ws` server pushing small text frames to a connection
// the UI opened through its connect form and shows (selected, following the tail).
//
// Two phases, on one page:
// 1. paced: 10,000 frames a second for 10 seconds (spread evenly; the server catches up
//    after a late timer, so the average rate holds);
// 2. flood: 1,000,000 frames as fast as the engine takes them (the server waits on its
//    socket's backpressure), then the list is sent to its start (Home: rows fetched back
//    from the engine) and its end (End: frames 999,990-999,999 drawn).
//
// Measured inside the page with the Performance API (test/ui/harness.ts's probe): every
// long task (PerformanceObserver 'longtask', > 50 ms on the main thread) and every animation
// frame's duration (requestAnimationFrame deltas; 16.7 ms is 60 Hz), from the click on
// Connect until frame-count first shows the total. "Time to count all" is from the first
// frame the server sent to that moment (the same wall clock in both processes); "after the
// last frame" is how far the UI was behind when the server finished.
// Memory: the renderer's JS heap after a full GC (DevTools protocol Runtime.getHeapUsage
// after HeapProfiler.collectGarbage), before and after each phase; and the engine's RSS
// (the serve process: rows and payloads live there, spilled to its journal on disk).
//
// Three busy processes on a 2-core machine (the server in this one, the engine, Chromium's
// renderer) compete for the CPU: the figures are what a loaded laptop would see, not a best case.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import {
  frameCount,
  heapAfterGc,
  installProbe,
  launchChromium,
  percentile,
  readProbe,
  rssOf,
  startFirehose,
  startProbe,
  startServe,
  until,
  type Firehose,
  type ProbeResult,
} from '../test/ui/harness';
import type { Table } from './table';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MB = 1024 * 1024;

export interface UiBenchOptions {
  perSecond?: number;
  seconds?: number;
  /** frames of the flood phase */
  flood?: number;
  log?: (line: string) => void;
}

export interface PhaseResult {
  label: string;
  pushed: number;
  counted: number;
  /** first frame sent → last frame sent (ms) */
  pushMs: number;
  /** first frame sent → frame-count shows them all (ms) */
  countMs: number;
  /** last frame sent → frame-count shows them all (ms) */
  lagMs: number;
  longTasks: number[];
  frameTimes: number[];
  heapBefore: number;
  heapAfter: number;
  engineRss: number | null;
}

export interface UiBenchResult {
  phases: PhaseResult[];
  /** the same phases in a bare page that only counts the frames (the floor to compare with) */
  bare: PhaseResult[];
  /** the flood's list sent to its start and end, rows drawn (ms), and the heap after */
  jumps: { homeMs: number; endMs: number; heapAfter: number; lastSeqs: number[] } | null;
  /** the whole-history search over the flood's frames: Enter → count done, and → the hit's row drawn (ms) */
  search: { frames: number; target: number; ms: number; hitMs: number; found: string } | null;
  chromium: string;
}

function build(): void {
  // Measure the code in the tree, not a stale bundle: the CLI (serve) and the renderer it serves.
  for (const config of ['vite.cli.config.ts', 'vite.renderer.config.ts']) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', config, '--logLevel', 'error'], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
  }
}

async function connect(page: Page, url: string): Promise<void> {
  await page.getByTestId('connect-url').fill(url);
  await page.getByTestId('connect-button').click();
  await page.locator('.conn-header-url', { hasText: url }).waitFor({ timeout: 60_000 });
}

interface PhaseOptions {
  label: string;
  total: number;
  perSecond?: number;
  timeoutMs: number;
  heapBefore: number;
  cdp: Parameters<typeof heapAfterGc>[0];
  /** opens the connection to `url` in the page */
  start: (url: string) => Promise<void>;
  /** the engine's RSS once counted (null: no engine, the bare page) */
  engineRss: () => number | null;
}

/** One phase in a page: start the connection, wait until frame-count shows every frame, measure. */
async function phase(page: Page, firehose: Firehose, o: PhaseOptions, log: (line: string) => void): Promise<PhaseResult> {
  const url = firehose.urlFor({ total: o.total, ...(o.perSecond ? { perSecond: o.perSecond } : {}) });
  await startProbe(page, o.total, url);
  await o.start(url);
  const report = () => firehose.reports.at(-1);
  let lastLog = 0;
  await until(
    `${o.label}: frame-count to reach ${o.total}`,
    () => readProbe(page, false),
    (p) => {
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now();
        log(`ui: ${o.label}: server sent ${report()?.sent ?? 0}`);
      }
      return p.reachedAt > 0;
    },
    o.timeoutMs,
    250,
  );
  const probe: ProbeResult = await readProbe(page, true);
  const counted = await frameCount(page);
  const r = report()!;
  const heapAfter = await heapAfterGc(o.cdp);
  return {
    label: o.label,
    pushed: r.sent,
    counted,
    pushMs: r.lastAt - r.firstAt,
    countMs: probe.reachedAt - r.firstAt,
    lagMs: probe.reachedAt - r.lastAt,
    longTasks: probe.longTasks,
    frameTimes: probe.frameTimes,
    heapBefore: o.heapBefore,
    heapAfter,
    engineRss: o.engineRss(),
  };
}

const BARE_PAGE = `<!doctype html><meta charset="utf-8"><title>bare</title>
<div class="conn-header-url"></div><div data-testid="frame-count">0</div>
<script>
  window.startBare = (url) => {
    document.querySelector('.conn-header-url').setAttribute('title', url);
    const el = document.querySelector('[data-testid=frame-count]');
    let n = 0;
    const ws = new WebSocket(url);
    ws.onmessage = () => { n++; };
    const tick = () => { el.textContent = String(n); requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  };
</script>`;

/** The bare page, fresh, for one phase. */
async function barePhase(page: Page, firehose: Firehose, o: Omit<PhaseOptions, 'heapBefore' | 'start' | 'engineRss'>, log: (line: string) => void): Promise<PhaseResult> {
  await page.setContent(BARE_PAGE);
  await installProbe(page);
  const heapBefore = await heapAfterGc(o.cdp);
  const label = `bare page ${o.label}`;
  const r = await phase(page, firehose, { ...o, label, heapBefore, start: (url) => page.evaluate(`window.startBare(${JSON.stringify(url)})`), engineRss: () => null }, log);
  return { ...r, label: o.label };
}

export async function runUiBench(options: UiBenchOptions = {}): Promise<UiBenchResult> {
  const perSecond = options.perSecond ?? 10_000;
  const seconds = options.seconds ?? 10;
  const floodTotal = options.flood ?? 1_000_000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  build();
  const browser = await launchChromium();
  const [serve, firehose] = await Promise.all([startServe(), startFirehose()]);
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    const page = await context.newPage();
    page.on('pageerror', (e) => log(`ui: page error: ${e.message}`));
    await page.goto(serve.url);
    await page.locator('[data-testid=import-button]:enabled').waitFor({ timeout: 30_000 });
    await installProbe(page);
    const cdp = await context.newCDPSession(page);
    const enginePid = serve.proc.child.pid;

    const pacedLabel = `${perSecond.toLocaleString('en-US')}/s × ${seconds} s`;
    const floodLabel = `${floodTotal.toLocaleString('en-US')} as fast as taken`;
    // The bare page first, in its own tab, on the same browser and server.
    const barePage = await context.newPage();
    const bareCdp = await context.newCDPSession(barePage);
    const bare: PhaseResult[] = [];
    log(`ui: bare page, paced and flood`);
    bare.push(await barePhase(barePage, firehose, { label: pacedLabel, total: perSecond * seconds, perSecond, timeoutMs: 300_000, cdp: bareCdp }, log));
    bare.push(await barePhase(barePage, firehose, { label: floodLabel, total: floodTotal, timeoutMs: 900_000, cdp: bareCdp }, log));
    await barePage.close();

    const phases: PhaseResult[] = [];
    log(`ui: paced, ${perSecond}/s for ${seconds} s`);
    const baseline = await heapAfterGc(cdp);
    phases.push(
      await phase(page, firehose, { label: pacedLabel, total: perSecond * seconds, perSecond, timeoutMs: 300_000, heapBefore: baseline, cdp, start: (url) => connect(page, url), engineRss: () => rssOf(enginePid) }, log),
    );

    log(`ui: flood, ${floodTotal} frames`);
    phases.push(
      await phase(page, firehose, { label: floodLabel, total: floodTotal, timeoutMs: 900_000, heapBefore: phases[0]!.heapAfter, cdp, start: (url) => connect(page, url), engineRss: () => rssOf(enginePid) }, log),
    );

    // To the start of the list (rows long evicted from the renderer, fetched again) and back
    // to the end (the newest rows, 999,990-999,999 at a million).
    log('ui: Home and End on the flood');
    const list = page.getByTestId('frame-list');
    await list.focus();
    let t = Date.now();
    await list.press('Home');
    await page.locator('[data-testid=frame-row][data-seq="0"]').waitFor({ timeout: 60_000 });
    const homeMs = Date.now() - t;
    t = Date.now();
    await list.press('End');
    await page.locator(`[data-testid=frame-row][data-seq="${floodTotal - 1}"]`).waitFor({ timeout: 60_000 });
    const endMs = Date.now() - t;
    const drawn = await page.getByTestId('frame-row').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
    const lastSeqs = drawn.filter((s) => s >= floodTotal - 10).sort((a, b) => a - b);
    const heapAfterJumps = await heapAfterGc(cdp);

    // The whole-history search over the flood: one frame of the million holds {"n":TARGET};
    // from Enter in the search box to the engine's count shown done, and to the hit's row drawn.
    const target = Math.floor(floodTotal * 0.7);
    log(`ui: search ${floodTotal} frames for frame ${target}`);
    const box = page.getByTestId('search-input');
    await box.fill(`"n":${target}}`);
    t = Date.now();
    await box.press('Enter');
    const doneText = `in ${floodTotal.toLocaleString('en-US')} frames`;
    await page.locator('[data-testid=search-status]', { hasText: doneText }).waitFor({ timeout: 300_000 });
    const searchMs = Date.now() - t;
    await page.locator(`[data-testid=frame-row][data-seq="${target}"][aria-selected=true]`).waitFor({ timeout: 60_000 });
    const hitMs = Date.now() - t;
    const found = (await page.getByTestId('search-results').textContent()) ?? '';
    await context.close();
    return { phases, bare, jumps: { homeMs, endMs, heapAfter: heapAfterJumps, lastSeqs }, search: { frames: floodTotal, target, ms: searchMs, hitMs, found }, chromium: browser.version() };
  } finally {
    await browser.close().catch(() => {});
    await serve.stop();
    await firehose.close();
  }
}

const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
const frameMs = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '—');
const mib = (n: number | null) => (n === null ? '—' : `${(n / MB).toFixed(1)} MiB`);

export function uiTable(result: UiBenchResult): Table {
  const rows: string[][] = [];
  // Each phase in the UI, then the same frames in the bare page beside it.
  const pairs = result.phases.map((p, i) => [p, result.bare[i]] as const);
  const row = (label: string, pick: (p: PhaseResult, ui: boolean) => string) => rows.push([label, ...pairs.flatMap(([ui, bare]) => [pick(ui, true), bare ? pick(bare, false) : '—'])]);
  const longTotal = (p: PhaseResult) => p.longTasks.reduce((a, b) => a + b, 0);
  row('frames pushed', (p) => p.pushed.toLocaleString('en-US'));
  row('frames counted (frame-count)', (p) => `${p.counted.toLocaleString('en-US')}${p.counted === p.pushed ? ' ✓' : ' ✗'}`);
  row('server push time', (p) => ms(p.pushMs));
  row('time to count all (first frame sent → all counted)', (p) => ms(p.countMs));
  row('counted after the last frame was sent', (p) => ms(Math.max(0, p.lagMs)));
  row('long tasks (count, longest)', (p) => `${p.longTasks.length}, ${p.longTasks.length ? ms(Math.max(...p.longTasks)) : '—'}`);
  row('long tasks, total time', (p) => ms(longTotal(p)));
  row('animation frames measured', (p) => p.frameTimes.length.toLocaleString('en-US'));
  row('frame time p50 / p95 / max', (p) => `${frameMs(percentile(p.frameTimes, 50))} / ${frameMs(percentile(p.frameTimes, 95))} / ${frameMs(Math.max(...p.frameTimes))}`);
  row('renderer JS heap before (after GC)', (p) => mib(p.heapBefore));
  row('renderer JS heap after (after GC)', (p) => mib(p.heapAfter));
  row('engine (serve) RSS after', (p, ui) => (ui ? mib(p.engineRss) : '—'));
  const notes = [
    `Chromium ${result.chromium} headless, 1440×900; the connection is selected and the list follows the tail while frames arrive.`,
    'Long tasks: PerformanceObserver "longtask" (main-thread tasks over 50 ms); frame times: requestAnimationFrame deltas (16.7 ms = 60 Hz), from Connect until frame-count showed the total.',
    'Heap: Runtime.getHeapUsage after HeapProfiler.collectGarbage; the renderer keeps rows in a bounded LRU of 1024-row chunks, payloads stay in the engine.',
    'Bare page: the same frames from the same server in a page that only counts them (one WebSocket, the count written once an animation frame), run first in the same browser: the floor any page pays.',
  ];
  for (const [ui, bare] of pairs) {
    if (!bare) continue;
    const a = longTotal(ui);
    const b = longTotal(bare);
    notes.push(`${ui.label}: long-task time ${ms(a)} in the UI against ${ms(b)} in the bare page${b > 0 ? ` (${(a / b).toFixed(2)}×)` : ''}; longest task ${ui.longTasks.length ? ms(Math.max(...ui.longTasks)) : 'none'}.`);
  }
  if (result.jumps) {
    const j = result.jumps;
    notes.push(
      `After the flood: Home drew row 0 (fetched back from the engine) in ${ms(j.homeMs)}, End drew rows ${j.lastSeqs[0]}–${j.lastSeqs.at(-1)} in ${ms(j.endMs)}; renderer heap then ${mib(j.heapAfter)}.`,
    );
  }
  if (result.search) {
    const q = result.search;
    notes.push(
      `Whole-history search of the flood's ${q.frames.toLocaleString('en-US')} frames (engine-side, read back from the session journal) for the one holding {"n":${q.target}}: ${q.found} hit, done in ${ms(q.ms)} from Enter; the hit's row selected and drawn after ${ms(q.hitMs)}.`,
    );
  }
  return {
    title: 'UI at a live rate (framescope serve + headless Chromium), beside a bare page',
    columns: ['', ...pairs.flatMap(([p]) => [`${p.label}: Framescope`, 'bare page'])],
    rows,
    notes,
  };
}
