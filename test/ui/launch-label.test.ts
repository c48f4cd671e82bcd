// A connection from an app `framescope launch` started carries the app's name (the capture's
// "app"): the connection list shows it as a tag, the whole command line in its title.
// Screenshots go to $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { CaptureFileJson } from '../../shared/model';
import { launchChromium, openCapture, openPage, startServe, type Serve } from './harness';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');
const FIXTURE = join(__dirname, '..', 'fixtures', 'intervened.wscap.json');

let browser: Browser;
let serve: Serve;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  serve = await startServe();
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'framescope-launch-ui-'));
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('connections labelled with the launched app', () => {
  it('shows the app a connection came from in the list', async () => {
    const capture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as CaptureFileJson;
    const app = 'node /home/me/projects/chat/app.mjs --room 7';
    capture.connections[0]!.app = app;
    const file = join(dir, 'launched.wscap.json');
    writeFileSync(file, JSON.stringify(capture));
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await openPage(context, serve.url, pageErrors);
    await openCapture(page, file);
    const tag = page.locator('[data-testid=connection-item].selected [data-testid=connection-app]');
    expect(await tag.textContent()).toBe(app);
    expect(await tag.getAttribute('title')).toBe(`from ${app} (framescope launch)`);
    await page.screenshot({ path: join(SHOTS, 'launch-label.png') });
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
