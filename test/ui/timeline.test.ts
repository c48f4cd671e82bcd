// The timeline, end to end: a live connection to a real `ws` server that pushes a message
// every 50 ms, in the real `framescope serve` in headless Chromium. The chart is drawn (its
// canvas has pixels), dragging across it shows only the frames of that time range in the
// list, the chip clears it, and so does a double-click. Screenshots (dark and light) go to
// $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage, startFirehose, startServe, until, frameCount, type Firehose, type Serve } from './harness';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');
const TOTAL = 24;

let serve: Serve;
let browser: Browser;
let firehose: Firehose;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  [serve, firehose] = await Promise.all([startServe(), startFirehose()]);
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  await firehose?.close();
});

async function connected(scheme: 'dark' | 'light'): Promise<Page> {
  // Tall enough that all TOTAL rows fit in the list under the open timeline (`listed` reads
  // the rows drawn, and a list following its tail draws only the rows in view).
  const page = await openPage(await browser.newContext({ viewport: { width: 1440, height: 1200 }, colorScheme: scheme }), serve.url, pageErrors);
  const url = firehose.urlFor({ total: TOTAL, perSecond: 20 });
  await page.getByTestId('connect-url').fill(url);
  await page.getByTestId('connect-button').click();
  await page.locator('.conn-header-url', { hasText: url }).waitFor();
  await until('every pushed frame listed', () => frameCount(page), (n) => n >= TOTAL);
  // A fresh profile shows the timeline above the list (its charts drawn from the live frames).
  await page.locator('[data-testid=timeline-traffic]').waitFor();
  return page;
}

/** Pixels drawn (not transparent) on the timeline's canvases. */
const drawnPixels = (page: Page): Promise<number> =>
  page.getByTestId('timeline').evaluate((el) => {
    let n = 0;
    for (const c of el.querySelectorAll('canvas')) {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    }
    return n;
  });

/** The seqs and relative times (s) of the rows the list shows (all fit in view here). */
const listed = (page: Page): Promise<Array<{ seq: number; t: number }>> =>
  page.getByTestId('frame-row').evaluateAll((rows) =>
    rows.map((r) => ({ seq: Number(r.getAttribute('data-seq')), t: Number(r.querySelector('.c-time')!.textContent) })),
  );

/** Drags across the traffic chart from `a` to `b` (fractions of its width). */
async function brush(page: Page, a: number, b: number): Promise<void> {
  const over = page.locator('[data-testid=timeline-traffic] .u-over');
  const box = (await over.boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * a, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * ((a + b) / 2), y, { steps: 4 });
  await page.mouse.move(box.x + box.width * b, y, { steps: 4 });
  await page.mouse.up();
}

describe('timeline', () => {
  for (const scheme of ['dark', 'light'] as const) {
    it(`is drawn, and a brushed range filters the list (${scheme})`, async () => {
      const page = await connected(scheme);
      const timeline = page.getByTestId('timeline');
      await timeline.waitFor();
      await page.locator('[data-testid=timeline-traffic] canvas').waitFor();
      await until('the timeline drawn', () => drawnPixels(page), (n) => n > 2000);
      const all = await listed(page);
      expect(all).toHaveLength(TOTAL);

      await brush(page, 0.3, 0.6);
      const chip = page.getByTestId('time-range-chip');
      await chip.waitFor();
      expect(await chip.textContent()).toMatch(/^\d+\.\d+ s – \d+\.\d+ s/);
      const from = Number(await chip.getAttribute('data-from'));
      const to = Number(await chip.getAttribute('data-to'));
      expect(to).toBeGreaterThan(from);
      const expected = all.filter((r) => r.t >= from - 1e-6 && r.t <= to + 1e-6).map((r) => r.seq);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(TOTAL);
      // Exactly the rows stamped inside the range, and nothing else.
      const inRange = await until('the list cut to the range', () => listed(page), (rows) => rows.length === expected.length);
      expect(inRange.map((r) => r.seq)).toEqual(expected);
      await page.locator('.center').screenshot({ path: join(SHOTS, `timeline-${scheme}.png`) });

      // The chip clears it.
      await chip.click();
      await chip.waitFor({ state: 'detached' });
      await until('every row back', () => listed(page), (rows) => rows.length === TOTAL);

      // With the timeline hidden, the range and its chip stay (on the strip left in its place).
      await brush(page, 0.1, 0.4);
      await chip.waitFor();
      const cut = (await until('the list cut again', () => listed(page), (rows) => rows.length > 0 && rows.length < TOTAL)).length;
      await page.getByTestId('timeline-hide').click();
      await timeline.waitFor({ state: 'detached' });
      await page.locator('.timeline.collapsed [data-testid=time-range-chip]').waitFor();
      expect(await listed(page)).toHaveLength(cut);
      await page.getByTestId('timeline-toggle').click();
      await timeline.waitFor();

      // Every connection's timeline is drawn too.
      await page.getByTestId('timeline-scope-all').click();
      await page.locator('[data-testid=timeline-traffic] canvas').waitFor();
      await until('the timeline of all drawn', () => drawnPixels(page), (n) => n > 2000);

      // A double-click on the chart clears it too.
      await page.locator('[data-testid=timeline-traffic] .u-over').dblclick();
      await chip.waitFor({ state: 'detached' });
      await until('every row back again', () => listed(page), (rows) => rows.length === TOTAL);
      // Closed: both close frames and the end are marked, counted in the head.
      await page.getByTestId('timeline-scope-connection').click();
      await page.getByTestId('disconnect-button').click();
      await page.locator('[data-testid=connection-item].selected[data-state=closed]').waitFor();
      await page.locator('.timeline-marks .tl-close', { hasText: '3 closes' }).waitFor();
      await page.locator('.center').screenshot({ path: join(SHOTS, `timeline-closed-${scheme}.png`) });
      expect(pageErrors).toEqual([]);
      await page.context().close();
    }, 60_000);
  }
});
