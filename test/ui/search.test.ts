// The whole-history search in the UI (headless Chromium through `framescope serve`): 200,000
// frames recorded from a real `ws` server flooding the connection, far more than the page
// keeps in memory; a string that only frame #1,234 holds is found by the engine through
// `search-input` + Enter, counted in `search-results`, and the hit is selected, scrolled to
// and shown in the detail.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { frameCount, pushedText, startFirehose, until, type Firehose } from './harness';
import { uiSuite } from './suite';

const TOTAL = 200_000;
const TARGET = 1234;

let firehose: Firehose | undefined;
const ui = uiSuite(
  'search',
  async () => {
    firehose = await startFirehose();
  },
  () => firehose?.close(),
);


const results = (page: Page) => page.getByTestId('search-results').textContent();

describe('UI whole-history search', () => {
  it(`finds the one frame of ${TOTAL.toLocaleString('en-US')} that holds a string, selects it and shows it`, async () => {
    const page = await ui.page();
    // every frame is {"n":N}: `"n":1234}` is in frame #1234 only (n = seq: the server speaks first)
    const url = firehose!.urlFor({ total: TOTAL });
    await page.getByTestId('connect-url').fill(url);
    await page.getByTestId('connect-button').click();
    await page.locator('.conn-header-url', { hasText: url }).waitFor();
    await until(`frame-count to reach ${TOTAL}`, () => frameCount(page), (n) => n >= TOTAL, 180_000, 250);
    // the list follows the tail: row #1234 is far from anything drawn
    expect(await page.locator(`[data-testid=frame-row][data-seq="${TARGET}"]`).count()).toBe(0);

    const needle = pushedText(TARGET).slice(1); // "n":1234}
    await page.getByTestId('search-input').fill(needle);
    await page.getByTestId('search-input').press('Enter');
    await until('the search to finish', () => page.getByTestId('search-status').textContent(), (t) => t?.includes(`in ${TOTAL.toLocaleString('en-US')} frames`) === true, 60_000);
    expect(await results(page)).toBe('1');
    // the hit is selected, in view, and the detail shows its payload
    const row = page.locator(`[data-testid=frame-row][data-seq="${TARGET}"]`);
    await row.waitFor();
    expect(await row.getAttribute('aria-selected')).toBe('true');
    const detail = page.locator(`[data-testid=frame-detail][data-seq="${TARGET}"]`);
    await detail.waitFor();
    // (pretty-printed: the detail shows {"n": 1234})
    await detail.getByTestId('text-view').filter({ hasText: `"n": ${TARGET}` }).waitFor();
    await ui.shot(page, '1-search-hit.png');

    // several hits: Enter and Shift+Enter go from one to the next and back (wrapping)
    await page.getByTestId('search-input').fill('/"n":1999\\d?\\}/');
    await page.getByTestId('search-input').press('Enter');
    // "n":1999} and "n":19990}…"n":19999}: 11 hits
    await until('the second search', () => results(page), (t) => t === '11');
    await page.locator('[data-testid=frame-row][data-seq="1999"][aria-selected=true]').waitFor();
    await page.getByTestId('search-input').press('Enter');
    await page.locator('[data-testid=frame-row][data-seq="19990"][aria-selected=true]').waitFor();
    await page.getByTestId('search-input').press('Shift+Enter');
    await page.getByTestId('search-input').press('Shift+Enter');
    await page.locator('[data-testid=frame-row][data-seq="19999"][aria-selected=true]').waitFor();
    await page.getByTestId('search-prev').click();
    await page.locator('[data-testid=frame-row][data-seq="19998"][aria-selected=true]').waitFor();
    await ui.shot(page, '2-search-many.png');

    // a mistake in the query is said, with its column
    await page.getByTestId('search-input').fill('tick op:bogus');
    await page.getByTestId('search-input').press('Enter');
    await page.locator('[data-testid=search-status].error', { hasText: 'column 9' }).waitFor();
    await ui.shot(page, '3-search-error.png');
    expect(ui.pageErrors).toEqual([]);
  }, 300_000);
});
