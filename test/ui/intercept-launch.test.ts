// The Intercept panel: the browsers the engine found, a terminal command run through the
// session's forward proxy (an ordinary `ws` app against a loopback server), its connection
// listed labelled with the command, with its frames; a running app stopped from the panel.
// Screenshots (dark and light) go to $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { WS_APP } from '../peers/ws-app';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { launchChromium, openPage, startServe, until, type Serve } from './harness';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');

let browser: Browser;
let serve: Serve;
let server: WsTestServer;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'framescope-intercept-ui-'));
  serve = await startServe(['--forget', '--ca-dir', join(dir, 'ca')]);
  server = await startWsServer();
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openUi(colorScheme: 'dark' | 'light'): Promise<Page> {
  return openPage(await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme }), serve.url, pageErrors);
}

describe('the Intercept panel', () => {
  it('lists Chromium, runs a typed terminal command through the proxy, and lists its connection labelled with it', async () => {
    const page = await openUi('dark');
    const app = join(dir, 'my app.mjs');
    writeFileSync(app, WS_APP);
    await page.getByTestId('intercept-button').click();
    const panel = page.getByTestId('intercept-panel');
    await panel.waitFor();
    // The browsers the engine found: Chromium is installed here.
    const chromium = panel.locator('[data-testid=intercept-browser][data-id=chromium]');
    await chromium.waitFor();
    expect(await chromium.textContent()).toContain('/usr/bin/chromium');
    // The command field has the focus: typed and run with Enter. Quotes keep a word whole.
    const url = `ws://127.0.0.1:${server.port}/from-panel`;
    await page.keyboard.type(`"${process.execPath}" '${app}' ${url} "hi there"`);
    await page.screenshot({ path: join(SHOTS, 'intercept-panel-dark.png') });
    await page.keyboard.press('Enter');
    const label = `${process.execPath} "${app}" ${url} "hi there"`;

    // It ran and exited: a notice says so; the field is empty again for the next command.
    await page.locator('[data-testid=notice]', { hasText: `${label} exited (code 0)` }).waitFor();
    expect(await page.getByTestId('intercept-command').inputValue()).toBe('');
    expect(await page.getByTestId('intercept-proxy').textContent()).toMatch(/Forward proxy on http:\/\/127\.0\.0\.1:\d+/);
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });

    // Its connection, labelled with the command, with its frames.
    const item = page.locator('[data-testid=connection-item]', { has: page.locator('[data-testid=connection-app]', { hasText: label }) });
    await item.click();
    await page.locator('[data-testid=connection-item][data-state=closed].selected [data-testid=connection-app]').waitFor();
    await until('the connection\u2019s frames', async () => page.getByTestId('frame-count').textContent(), (t) => t === '8');
    expect(server.received.map((m) => m.data.toString())).toEqual(['hi there one', 'hi there two', 'hi there three']);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('stops a running app from the panel; a command that cannot start is a notice (light theme)', async () => {
    const page = await openUi('light');
    await page.getByTestId('intercept-button').click();
    await page.getByTestId('intercept-command').fill(`${process.execPath} -e "setInterval(() => {}, 1000)"`);
    await page.getByTestId('intercept-run').click();
    const running = page.getByTestId('intercept-app');
    await running.waitFor();
    expect(await running.textContent()).toContain('setInterval');
    await page.locator('[data-testid=intercept-browser][data-id=chromium]').waitFor();
    await page.screenshot({ path: join(SHOTS, 'intercept-panel-light.png') });
    await running.getByTestId('intercept-app-stop').click();
    await running.waitFor({ state: 'detached' });
    await page.locator('[data-testid=notice]', { hasText: 'ended by SIGTERM' }).waitFor();

    await page.getByTestId('intercept-command').fill('framescope-no-such-command --flag');
    await page.getByTestId('intercept-command').press('Enter');
    await page.locator('[data-testid=notice][data-level=error]', { hasText: 'Could not launch: cannot start framescope-no-such-command: no such command' }).waitFor();
    // A quote left open is said before anything runs.
    await page.getByTestId('intercept-command').fill(`node -e 'oops`);
    await page.getByTestId('intercept-command').press('Enter');
    await page.locator('[data-testid=notice][data-level=error]', { hasText: 'a single quote is not closed' }).waitFor();
    expect(await page.getByTestId('intercept-command').inputValue()).toBe(`node -e 'oops`);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
