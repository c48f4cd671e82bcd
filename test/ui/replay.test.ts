// The Replay button, end to end: a session recorded with `framescope connect --capture`
// against a real `ws` server is opened in the real `framescope serve` in headless Chromium;
// Replay plays its client side again as a new connection, and the comparison shows the
// server's changed answer by path. Screenshots go to $FRAMESCOPE_SHOTS, else
// os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, openCapture, openPage, type Serve, startServe, until } from './harness';
import { runCli } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');

let serve: Serve;
let browser: Browser;
let server: WsTestServer;
let dir: string;
let capture: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'framescope-replay-ui-'));
  capture = join(dir, 'session.wscap.json');
  // Each answer says which connection it is on: a replay's first answer differs in $.conn.
  server = await startWsServer({
    onConnection: (ws, _req, s) => {
      const conn = s.sockets.indexOf(ws) + 1;
      ws.on('message', (d) => ws.send(JSON.stringify({ conn, echo: d.toString() })));
    },
  });
  const r = await runCli(['connect', `${server.url}/live`, '--send', 'hello', '--send', 'again', '--expect', '2', '--capture', capture]);
  expect(r.code, r.stderr).toBe(0);
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  serve = await startServe();
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Replay in the UI', () => {
  it('replays an opened capture as a new connection and shows how the answers compare', async () => {
    const errors: string[] = [];
    const context = await browser.newContext({ viewport: { width: 1400, height: 800 } });
    try {
      const page = await openPage(context, serve.url, errors);
      await openCapture(page, capture);
      const opened = await page.locator('[data-testid=connection-item].selected').getAttribute('data-id');
      await page.getByTestId('replay-button').click();
      // The new connection is selected, and its comparison comes when the replay ends.
      await page.locator(`[data-testid=connection-item].selected:not([data-id="${opened}"])`).waitFor();
      const panel = page.getByTestId('replay-comparison');
      await panel.waitFor();
      await until('the comparison', () => page.getByTestId('replay-changed').textContent(), (t) => t === 'changed 2');
      expect(await page.getByTestId('replay-same').textContent()).toBe('same 0');
      expect(await page.getByTestId('replay-missing').textContent()).toBe('missing 0');
      expect(await page.getByTestId('replay-extra').textContent()).toBe('extra 0');
      const rows = await page.getByTestId('replay-item').allTextContents();
      expect(rows[0]).toContain('$.conn: 1 → 2');
      expect(await panel.textContent()).toContain(`of ${opened}`);
      // The server got the recorded messages again, on a second connection.
      expect(server.received.filter((m) => m.connection === 1).map((m) => m.data.toString())).toEqual(['hello', 'again']);
      await page.screenshot({ path: join(SHOTS, 'replay.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
