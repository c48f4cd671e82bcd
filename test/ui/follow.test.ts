// Following the tail while the list's viewport changes size under it (issue 20, "Smooth
// while it floods"): the timeline above the list draws its charts, is hidden and shown again,
// and the window is resized, all while 10,000 frames a second stream in. None of that is a
// user's scroll: the list must stay on the newest row. The real `framescope serve`, the built
// renderer in headless Chromium and a `ws` server on loopback, as in e2e.test.ts.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { frameCount, startFirehose, until, type Firehose } from './harness';
import { uiSuite } from './suite';

let firehose: Firehose | undefined;
const ui = uiSuite(
  'follow',
  async () => {
    firehose = await startFirehose();
  },
  () => firehose?.close(),
);


/**
 * Waits until the list either draws the row or says it stopped following; then whether the
 * row is there, still followed, and inside the list's visible box (not just drawn below it).
 */
async function followed(page: Page, seq: number): Promise<{ following: boolean; inView: boolean }> {
  const row = page.locator(`[data-testid=frame-row][data-seq="${seq}"]`);
  const lost = page.locator('.list-status', { hasText: 'Not following' });
  await row.or(lost).first().waitFor({ timeout: 60_000 });
  const inView = await page.getByTestId('frame-list').evaluate((list, s) => {
    const box = list.getBoundingClientRect();
    const r = list.querySelector(`[data-testid=frame-row][data-seq="${s}"]`)?.getBoundingClientRect();
    return r !== undefined && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  }, seq);
  return { following: (await lost.count()) === 0, inView };
}

describe('the frame list follows the tail', () => {
  it('while the timeline above it opens, draws, folds and the window resizes mid-flood', async () => {
    const page = await ui.page();
    const timeline = page.getByTestId('timeline');
    const total = 40_000;
    const url = firehose!.urlFor({ total, perSecond: 10_000 });
    await page.getByTestId('connect-url').fill(url);
    await page.getByTestId('connect-button').click();
    await page.locator('.conn-header-url', { hasText: url }).waitFor();
    // Opened (unless it already is) while the frames stream in: its first charts are drawn mid-flood.
    // The panel, open or folded, is drawn a task after the pane the first time: wait for it.
    await page.locator('[data-testid=timeline], [data-testid=timeline-toggle]').first().waitFor();
    if ((await timeline.count()) === 0) await page.getByTestId('timeline-toggle').click();
    await page.locator('[data-testid=timeline-traffic] canvas').waitFor();

    // Mid-flood, the list's height changes every way it can: the timeline folds (the list
    // grows), opens (it shrinks, then grows or shrinks again as the charts are drawn), and
    // the window gets shorter and taller.
    let round = 0;
    while ((await frameCount(page)) < total * 0.75 && round < 6) {
      round++;
      await page.getByTestId('timeline-hide').click();
      await timeline.waitFor({ state: 'detached' });
      await page.getByTestId('timeline-toggle').click();
      await page.locator('[data-testid=timeline-traffic] canvas').waitFor();
      await page.setViewportSize({ width: 1440, height: round % 2 ? 700 : 900 });
    }
    expect(round).toBeGreaterThan(0);
    await page.setViewportSize({ width: 1440, height: 900 });

    const counted = await until(`frame-count to reach ${total}`, () => frameCount(page), (n) => n >= total, 60_000, 200);
    expect(counted).toBe(total);
    expect(await followed(page, total - 1)).toEqual({ following: true, inView: true });
    expect(ui.pageErrors).toEqual([]);
    await page.close();
  }, 120_000);
});
