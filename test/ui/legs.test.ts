// Interventions in the inspector UI, end to end: the real `framescope serve`, headless
// Chromium, and the capture fixture of a connection Framescope intervened in
// (test/fixtures/intervened.wscap.json, opened as a user opens a file). The frame list
// marks Framescope's frames and the held originals; "Both legs" shows a changed message's
// two sides with their framing, and jumps between them. Screenshots (dark and light) go to
// $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/ (removed with the run's scratch folder).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openCapture, openPage, type Serve, startServe } from './harness';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');
const FIXTURE = join(__dirname, '..', 'fixtures', 'intervened.wscap.json');

let serve: Serve;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  serve = await startServe();
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
});

async function openFixture(scheme: 'dark' | 'light'): Promise<Page> {
  const page = await openPage(await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: scheme }), serve.url, pageErrors);
  await openCapture(page, FIXTURE);
  await page.locator('[data-testid=frame-row][data-seq="12"]').waitFor();
  await page.locator('[data-testid=frame-row][data-seq="10"] [data-testid=intervention-badge]').waitFor();
  return page;
}

const row = (page: Page, seq: number) => page.locator(`[data-testid=frame-row][data-seq="${seq}"]`);

async function select(page: Page, seq: number): Promise<void> {
  await row(page, seq).click();
  await page.locator(`[data-testid=frame-detail][data-seq="${seq}"]`).waitFor();
}

describe('interventions in the inspector UI', () => {
  for (const scheme of ['dark', 'light'] as const) {
    it(`marks intervened frames and shows both legs (${scheme})`, async () => {
      const page = await openFixture(scheme);
      // The badges: the text says what happened; rows nobody touched have none.
      const badges = await page.getByTestId('intervention-badge').evaluateAll((els) =>
        els.map((e) => [Number(e.closest('[data-testid=frame-row]')!.getAttribute('data-seq')), e.textContent]),
      );
      expect(badges).toEqual([
        [2, 'held'],
        [4, 'forwarded'],
        [6, 'replaced'],
        [7, 'framescope'],
        [9, 'dropped'],
        [10, 'injected'],
      ]);
      await page.screenshot({ path: join(SHOTS, `legs-list-${scheme}.png`) });

      // A replaced message: the client's original beside what Framescope wrote to the server.
      await select(page, 6);
      const legs = page.getByTestId('legs-view');
      await legs.waitFor();
      const original = page.getByTestId('leg-original');
      const written = page.getByTestId('leg-written');
      await original.locator('[data-testid=leg-payload]', { hasText: '{"op":"buy","qty":1}' }).waitFor();
      await written.locator('[data-testid=leg-payload]', { hasText: '{"op":"buy","qty":100}' }).waitFor();
      expect(await original.getByTestId('leg-mask').textContent()).toBe('a1b2c3d4');
      expect(await written.getByTestId('leg-mask').textContent()).toBe('5f3a9c01');
      expect(await original.getByTestId('leg-length').textContent()).toBe('22');
      expect(await written.getByTestId('leg-length').textContent()).toBe('24');
      expect(await page.getByTestId('legs-decision').textContent()).toBe('replaced');
      expect(await page.getByTestId('legs-recompressed').textContent()).toMatch(/compresses the client → server direction itself/);
      // Compressed sizes against inflated ones, per leg.
      expect(await original.locator('[data-testid=leg-frame]').textContent()).toMatch(/B compressed → 20 B inflated/);
      expect(await written.locator('[data-testid=leg-frame]').textContent()).toMatch(/B compressed → 22 B inflated/);
      await page.locator('[data-testid=frame-detail]').evaluate((el) => el.querySelector('[data-testid=legs-view]')!.closest('section')!.scrollIntoView());
      await page.screenshot({ path: join(SHOTS, `legs-replaced-${scheme}.png`) });

      // Jump to Framescope's frame, and back.
      await written.getByTestId('leg-jump').click();
      await page.locator('[data-testid=frame-detail][data-seq="7"]').waitFor();
      await page.getByTestId('leg-original').getByTestId('leg-jump').click();
      await page.locator('[data-testid=frame-detail][data-seq="6"]').waitFor();

      // Dropped: nothing on the other leg.
      await select(page, 9);
      await page.getByTestId('leg-written').getByText('not delivered (dropped)').waitFor();
      // Injected: nothing on the sender's side.
      await select(page, 10);
      await page.getByTestId('leg-original').getByText('nothing: injected by Framescope').waitFor();
      await page.getByTestId('leg-written').locator('[data-testid=leg-payload]', { hasText: 'notice from framescope' }).waitFor();
      await page.screenshot({ path: join(SHOTS, `legs-injected-${scheme}.png`) });
      // A fragmented held message, forwarded: both its frames on the left, nothing rewritten.
      await select(page, 4);
      expect(await page.getByTestId('leg-original').locator('[data-testid=leg-frame]').evaluateAll((els) => els.map((e) => e.getAttribute('data-seq')))).toEqual(['2', '4']);
      expect(await page.getByTestId('leg-written').textContent()).toMatch(/forwarded as sent/);
      // A frame nobody touched has no legs view.
      await select(page, 8);
      expect(await page.getByTestId('legs-view').count()).toBe(0);
      await page.context().close();
    }, 90_000);
  }

  it('threw no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
