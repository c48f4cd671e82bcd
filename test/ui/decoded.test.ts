// Decoded messages in the inspector UI, end to end: real Socket.IO traffic (socket.io server,
// socket.io-client) recorded once through `framescope proxy --capture`, opened in the real
// `framescope serve` in headless Chromium as a user opens a file. The decoded column, the
// value's tree, the jump from an answer to its request, hiding heartbeats, the type/name and
// field filters, the per-connection decoder and the pairs view. Screenshots (dark and light)
// go to $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Server } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { openCapture, shownRows, until } from './harness';
import { uiSuite } from './suite';
import { closes, httpServer, startProxy } from '../decoders/proxy-helpers';

let fixture: string;

/** Records a Socket.IO conversation through the proxy into a capture file. */
async function recordFixture(file: string): Promise<void> {
  const http = await httpServer();
  const io = new Server(http.server, { pingInterval: 100, pingTimeout: 10_000 });
  io.on('connection', (socket) => {
    socket.on('hello', (arg: unknown, ack: (v: unknown) => void) => ack({ ok: true, echo: arg }));
    socket.on('later', () => {
      socket.emit('news', { payload: { user: { id: 42 }, text: 'for 42' } });
      socket.emit('news', { payload: { user: { id: 7 }, text: 'for 7' } });
    });
    socket.on('noreply', () => {});
  });
  const { proc, port } = await startProxy(`ws://127.0.0.1:${http.port}`, ['--capture', file]);
  const socket = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  try {
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    expect(await socket.emitWithAck('hello', { n: 1 })).toEqual({ ok: true, echo: { n: 1 } });
    const news = new Promise<void>((resolve) => {
      let n = 0;
      socket.on('news', () => ++n === 2 && resolve());
    });
    socket.emit('later');
    await news;
    // A heartbeat each way (the server's ping, the client's pong) before the end.
    await proc.waitForLine((l) => l.includes('"type":"pong"'));
    socket.emit('noreply', 1, () => {});
    socket.disconnect();
    await closes(proc);
  } finally {
    socket.disconnect();
    const r = await proc.stop('SIGINT');
    expect(r.code, r.stderr).toBe(0);
    await new Promise<void>((resolve) => io.close(() => resolve()));
  }
}

const ui = uiSuite('decoded', async (dir) => {
  fixture = join(dir, 'socketio.wscap.json');
  await recordFixture(fixture);
});

async function openFixture(scheme: 'dark' | 'light'): Promise<Page> {
  const page = await ui.page({ scheme });
  await openCapture(page, fixture);
  await page.locator('[data-testid=frame-decoded][data-type=ACK]').waitFor();
  return page;
}

const seqOf = async (page: Page, sel: string): Promise<number> =>
  Number(await page.locator(`[data-testid=frame-row]:has([data-testid=frame-decoded]${sel})`).first().getAttribute('data-seq'));

describe('decoded messages in the inspector UI', () => {
  for (const scheme of ['dark', 'light'] as const) {
    it(`shows the decoded column, the tree, the pair jump, hides heartbeats and filters (${scheme})`, async () => {
      const page = await openFixture(scheme);
      const rows = await shownRows(page);
      // The column: Engine.IO's open, Socket.IO's events and ack, heartbeats marked.
      expect(rows.find((r) => r.type === 'open')?.decoded).toMatch(/^open sid /);
      expect(rows.filter((r) => r.type === 'EVENT').map((r) => r.decoded)).toEqual(
        expect.arrayContaining([expect.stringContaining('"hello"'), expect.stringContaining('"news"'), expect.stringContaining('"noreply"')]),
      );
      expect(rows.some((r) => r.heartbeat)).toBe(true);
      const hello = await seqOf(page, '[data-type=EVENT]:has-text("hello")');
      const ack = await seqOf(page, '[data-type=ACK]');
      expect(rows.find((r) => r.seq === ack)!.decoded).toContain(`→ #${hello}`);

      // The answer's detail: its type and id, the value's tree, the link to the request.
      await page.locator(`[data-testid=frame-row][data-seq="${ack}"]`).click();
      await page.locator(`[data-testid=frame-detail][data-seq="${ack}"]`).waitFor();
      expect(await page.getByTestId('decoded-type').textContent()).toBe('ACK');
      const tree = page.getByTestId('decoded-tree');
      expect(await tree.textContent()).toContain('echo');
      expect(await page.getByTestId('decoded-pair').textContent()).toMatch(new RegExp(`^answers #${hello}, [\\d.]+ ms$`));
      // The tree by keyboard: the root is focusable, ← closes it, → opens it again.
      const root = tree.locator('[role=treeitem]').first();
      await root.focus();
      expect(await root.getAttribute('aria-expanded')).toBe('true');
      await page.keyboard.press('ArrowLeft');
      expect(await root.getAttribute('aria-expanded')).toBe('false');
      await page.keyboard.press('ArrowRight');
      expect(await root.getAttribute('aria-expanded')).toBe('true');
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate('document.activeElement.getAttribute("data-path")')).toBe('$.0');
      await ui.shot(page, `decoded-detail-${scheme}.png`);

      // The jump: to the request, which says what answered it.
      await page.getByTestId('decoded-pair').click();
      await page.locator(`[data-testid=frame-detail][data-seq="${hello}"]`).waitFor();
      expect(await page.getByTestId('decoded-name').textContent()).toBe('hello');
      expect(await page.getByTestId('decoded-answer').getAttribute('data-seq')).toBe(String(ack));

      // Hide heartbeats: every keep-alive row goes, nothing else does.
      await page.getByTestId('hide-heartbeats').check();
      const noBeats = await until('the heartbeats hidden', () => shownRows(page), (r) => r.every((x) => !x.heartbeat));
      expect(noBeats.map((r) => r.seq)).toEqual(rows.filter((r) => !r.heartbeat).map((r) => r.seq));
      await page.getByTestId('hide-heartbeats').uncheck();

      // type/name terms, then a field test on the value (the engine answers it).
      await page.getByTestId('filter-text').fill('type:EVENT name:news');
      const news = await until('only the news events', () => shownRows(page), (r) => r.length === 2 && r.every((x) => x.decoded.includes('"news"')));
      await page.getByTestId('filter-text').fill('[1].payload.user.id = 42');
      const only42 = await until('the one news event for user 42', () => shownRows(page), (r) => r.length === 1);
      expect(only42[0]!.seq).toBe(news[0]!.seq);
      await page.getByTestId('filter-text').fill('[1].payload.text ~ FOR 7');
      const only7 = await until('the one news event for user 7', () => shownRows(page), (r) => r.length === 1);
      expect(only7[0]!.seq).toBe(news[1]!.seq);
      await page.getByTestId('filter-text').fill('');
      await until('every row again', () => shownRows(page), (r) => r.length === rows.length);
      await ui.shot(page, `decoded-list-${scheme}.png`);

      // The pairs view: the hello and its ack; the noreply event is unanswered.
      await page.getByTestId('pairs-tab').click();
      const pairs = page.getByTestId('pairs-row');
      await until('the pairs', () => pairs.count(), (n) => n >= 2);
      expect(await page.locator(`[data-testid=pairs-row][data-request="${hello}"]`).getAttribute('data-answer')).toBe(String(ack));
      const noreply = await seqOf(page, '[data-type=EVENT]:has-text("noreply")');
      expect(await page.locator(`[data-testid=pairs-row][data-request="${noreply}"]`).getAttribute('data-answer')).toBe('');
      expect(await page.locator(`[data-testid=pairs-row][data-request="${noreply}"]`).textContent()).toContain('unanswered');
      await ui.shot(page, `decoded-pairs-${scheme}.png`);

      // Decode as nothing: the column empties (the bytes stay); auto brings it back.
      await page.getByTestId('decoder-select').selectOption('none');
      // The list is fetched again after the connection is decoded again: an empty list in
      // between also has no decoded cell, so wait for the rows themselves.
      const undecoded = await until('every row, none decoded', () => shownRows(page), (r) => r.length === rows.length && r.every((x) => x.type === null));
      expect(undecoded.length).toBe(rows.length);
      await page.getByTestId('decoder-select').selectOption('auto');
      await page.locator('[data-testid=frame-decoded][data-type=ACK]').waitFor();
      expect(ui.pageErrors).toEqual([]);
      await page.context().close();
    }, 90_000);
  }
});
