// The Replay button, end to end: a session recorded with `framescope connect --capture`
// against a real `ws` server is opened in the real `framescope serve` in headless Chromium;
// Replay plays its client side again as a new connection, and the comparison shows the
// server's changed answer by path. Screenshots go to $FRAMESCOPE_SHOTS, else
// os.tmpdir()/framescope-ui-e2e/.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openCapture, until } from './harness';
import { uiSuite } from './suite';
import { runCli } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';

let server: WsTestServer | undefined;
let capture: string;

const ui = uiSuite(
  'replay-ui',
  async (dir) => {
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
  },
  () => server?.close(),
);

describe('Replay in the UI', () => {
  it('replays an opened capture as a new connection and shows how the answers compare', async () => {
    const page = await ui.page({ scheme: 'light', width: 1400, height: 800 });
    try {
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
      expect(server!.received.filter((m) => m.connection === 1).map((m) => m.data.toString())).toEqual(['hello', 'again']);
      await ui.shot(page, 'replay.png');
      expect(ui.pageErrors).toEqual([]);
    } finally {
      await page.context().close();
    }
  }, 60_000);
});
