// Breakpoints in the UI end to end: the real `framescope serve` child, the built renderer in
// headless Chromium, the reverse proxy started from the UI in front of a real `ws` server,
// and a real `ws` client as the app. Everything is done through the page, by the test ids
// of docs/contracts.md "UI hooks for tests"; what the peers receive is read at the peers.
//
// Screenshots of the held queue with its editor (dark and light) go to
// $FRAMESCOPE_UI_SHOTS, else os.tmpdir()/framescope-ui-e2e/ (the run's temporary folder,
// removed at its end; not committed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { launchChromium, openPage, startServe, until, type Serve } from './harness';

const SHOTS = process.env.FRAMESCOPE_UI_SHOTS ?? join(tmpdir(), 'framescope-ui-e2e');

let serve: Serve;
let browser: Browser;
/** collects what the app sends through the proxy; answers nothing unless told */
let server: WsTestServer;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  [serve, server] = await Promise.all([startServe(), startWsServer({ echo: false })]);
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  await server?.close();
});

async function openUi(colorScheme: 'dark' | 'light'): Promise<Page> {
  return openPage(await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme }), serve.url, pageErrors);
}

const heldCount = async (page: Page): Promise<number> => Number(await page.getByTestId('held-count').textContent());
const serverGot = (): string[] => server.received.map((m) => m.data.toString());

describe('breakpoints in the UI', () => {
  it('holds the app\'s messages, edits one, drops one, injects toward the app; the server\'s messages flow meanwhile', async () => {
    const page = await openUi('dark');
    await page.getByTestId('proxy-listen').fill('127.0.0.1:0');
    await page.getByTestId('proxy-target').fill(`${server.url}/behind`);
    await page.getByTestId('proxy-start').click();
    const address = (await page.getByTestId('proxy-address').textContent())!.trim();

    // A breakpoint on the client's messages of every connection, set before the app comes.
    await page.getByTestId('intercept-scope-all').click();
    // A bad condition is refused where it was typed.
    await page.getByTestId('intercept-condition-client').fill('text:/(/');
    await page.getByTestId('intercept-condition-client').press('Enter');
    await expect.poll(() => page.getByTestId('intercept-error').textContent()).toMatch(/^condition: column \d+: /);
    expect(await page.getByTestId('intercept-client').isChecked()).toBe(false);
    await page.getByTestId('intercept-condition-client').fill('');
    // The box shows the engine's state: checked once the engine has the breakpoint.
    await page.getByTestId('intercept-client').click();
    await page.locator('[data-testid=intercept-client]:checked').waitFor();

    const app = new WebSocket(`${address}app`, { perMessageDeflate: false });
    app.on('error', () => {});
    const appGot: string[] = [];
    app.on('message', (d) => appGot.push(d.toString()));
    try {
      await new Promise((resolve, reject) => (app.once('open', resolve), app.once('error', reject)));
      await page.locator('[data-testid=connection-item][data-state=open]').first().click();
      app.send('{"order":1,"qty":5}');
      app.send('second, to drop');

      // The first is held (the second waits behind it in its direction).
      await page.locator('[data-testid=held-item]').first().waitFor();
      expect(await heldCount(page)).toBe(1);
      await page.getByTestId('held-editor').waitFor();
      expect(await page.getByTestId('held-input').inputValue()).toBe('{"order":1,"qty":5}');

      // A held message does not block the server's direction.
      server.sockets.at(-1)!.send('from the server meanwhile');
      await until('the server\'s message at the app', async () => appGot, (g) => g.includes('from the server meanwhile'));
      expect(serverGot()).toEqual([]);

      // Edit it as pretty JSON, with a change, framed in 8-byte fragments.
      await page.getByTestId('held-format-json').click();
      await page.getByTestId('held-json-format').click();
      expect(await page.getByTestId('held-input').inputValue()).toBe('{\n  "order": 1,\n  "qty": 5\n}');
      await page.getByTestId('held-input').fill('{"order":1,"qty":500}');
      await page.getByTestId('held-fragment').fill('8');
      // The live preview: 21 bytes in 8-byte fragments is three frames, FIN on the last.
      await expect.poll(() => page.getByTestId('held-bytes').textContent()).toMatch(/3 frames, 21 B payload/);
      const plan = await page.locator('[data-testid=held-bytes] li').allTextContents();
      expect(plan.map((l) => /FIN=(\d)/.exec(l)![1])).toEqual(['0', '0', '1']);
      await shot(page, 'held-editor-dark');
      await page.getByTestId('held-forward').click();
      await until('the edited message at the server', async () => serverGot(), (g) => g.length === 1);
      expect(serverGot()).toEqual(['{"order":1,"qty":500}']);

      // The second is held now: drop it.
      await until('the second held message', () => page.getByTestId('held-input').inputValue(), (v) => v === 'second, to drop');
      await page.getByTestId('held-drop').click();
      await until('the queue to empty', () => heldCount(page), (n) => n === 0);

      // Inject toward the app from the composer.
      await page.getByTestId('composer-toward-client').click();
      await page.getByTestId('composer-mode-text').click();
      await page.getByTestId('composer-input').fill('injected toward the app');
      await page.getByTestId('send-button').click();
      await until('the injected message at the app', async () => appGot, (g) => g.includes('injected toward the app'));

      // The dropped one never reached the server; a later message, held and forwarded as it came, did.
      app.send('third');
      await until('the third held', () => heldCount(page), (n) => n === 1);
      await page.getByTestId('held-forward-all').click();
      await until('the third at the server', async () => serverGot(), (g) => g.length === 2);
      expect(serverGot()).toEqual(['{"order":1,"qty":500}', 'third']);
      await page.getByTestId('intercept-client').click();
      await page.locator('[data-testid=intercept-client]:not(:checked)').waitFor();
      expect(pageErrors).toEqual([]);
    } finally {
      app.terminate();
      await page.getByTestId('proxy-stop').click();
      await page.getByTestId('proxy-start').waitFor();
      await page.context().close();
    }
  }, 120_000);

  it('light theme: the held queue with its editor open', async () => {
    const page = await openUi('light');
    await page.getByTestId('proxy-listen').fill('127.0.0.1:0');
    await page.getByTestId('proxy-target').fill(`${server.url}/light`);
    await page.getByTestId('proxy-start').click();
    const address = (await page.getByTestId('proxy-address').textContent())!.trim();
    await page.getByTestId('intercept-scope-all').click();
    await page.getByTestId('intercept-condition-server').fill('binary');
    await page.getByTestId('intercept-server').click();
    await page.locator('[data-testid=intercept-server]:checked').waitFor();
    const app = new WebSocket(`${address}app`, { perMessageDeflate: false });
    app.on('error', () => {});
    const appGot: Buffer[] = [];
    app.on('message', (d) => appGot.push(d as Buffer));
    try {
      await new Promise((resolve, reject) => (app.once('open', resolve), app.once('error', reject)));
      await page.locator('[data-testid=connection-item][data-state=open]').last().click();
      const s = server.sockets.at(-1)!;
      s.send('text passes the condition');
      s.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      await page.locator('[data-testid=held-item][data-from=server]').waitFor();
      await until('the text message at the app', async () => appGot.length, (n) => n === 1);
      // Binary opens as hex; edit it there.
      expect(await page.getByTestId('held-input').inputValue()).toBe('de ad be ef');
      await page.getByTestId('held-input').fill('ca fe');
      await shot(page, 'held-editor-light');
      await page.getByTestId('held-forward').click();
      await until('the edited binary at the app', async () => appGot.length, (n) => n === 2);
      expect([...appGot[1]!]).toEqual([0xca, 0xfe]);
      // Close… from the editor closes both sides with the code.
      s.send(Buffer.from([1]));
      await page.locator('[data-testid=held-item]').waitFor();
      const closed = new Promise<number>((resolve) => app.once('close', (code) => resolve(code)));
      await page.getByTestId('held-close').click();
      await page.getByTestId('held-close-code').fill('4001');
      await page.getByTestId('held-close-confirm').click();
      expect(await closed).toBe(4001);
      expect(pageErrors).toEqual([]);
    } finally {
      app.terminate();
      await page.getByTestId('proxy-stop').click();
      await page.getByTestId('proxy-start').waitFor();
      await page.context().close();
    }
  }, 120_000);
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}
