// A session outlives `framescope serve`: the real serve is stopped as a user stops it
// (Ctrl-C), started again on the same sessions folder, and the page offers the last
// session back; Restore brings its connection and frames in, Delete it forgets it.
// Screenshots go to $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, openCapture, openPage, startServe } from './harness';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');
const FIXTURE = join(__dirname, '..', 'fixtures', 'intervened.wscap.json');

let browser: Browser;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'framescope-sessions-ui-'));
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('sessions survive a restart of framescope serve', () => {
  it('offers the last session back and restores it; a deleted one is gone', async () => {
    const sessions = join(dir, 'sessions');
    const first = await startServe(['--sessions-dir', sessions]);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    let page = await openPage(context, first.url, pageErrors);
    await openCapture(page, FIXTURE);
    const rows = await page.getByTestId('frame-row').count();
    expect(rows).toBeGreaterThan(0);
    await page.close();
    await first.stop();

    const second = await startServe(['--sessions-dir', sessions]);
    page = await openPage(context, second.url, pageErrors);
    const banner = page.getByTestId('previous-session');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/1 connection, \d+ frames/);
    await page.screenshot({ path: join(SHOTS, 'previous-session.png') });
    await page.getByTestId('session-restore').click();
    await banner.waitFor({ state: 'detached' });
    await page.locator('[data-testid=connection-item].selected').waitFor();
    await page.locator('[data-testid=frame-row][data-seq="12"]').waitFor();
    expect(await page.getByTestId('frame-row').count()).toBe(rows);
    await page.close();
    await second.stop();

    // The second run holds the restored connection: it is offered next; deleting it leaves nothing.
    const third = await startServe(['--sessions-dir', sessions]);
    page = await openPage(context, third.url, pageErrors);
    await page.getByTestId('session-discard').click();
    await page.getByTestId('previous-session').waitFor({ state: 'detached' });
    await page.close();
    await third.stop();
    expect(readdirSync(sessions)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
