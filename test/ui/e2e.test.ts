// The inspector UI end to end (issue 5, "How it is checked"): the real `framescope serve`
// child, the built renderer in headless Chromium (Debian's, driven by playwright-core), and
// `ws` servers on loopback. Everything goes through the UI as a person would use it: the
// data-testids of docs/contracts.md "UI hooks for tests".
//
// Waits are locators and polls with generous safety nets (a loaded 2-core machine), never
// timed assertions. Screenshots go to os.tmpdir()/framescope-ui-e2e/ (not committed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import type { CaptureFileJson } from '../../shared/model';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { frameCount, launchChromium, openPage, pushedText, startFirehose, startServe, until, type Firehose, type Serve } from './harness';

const SHOTS = join(tmpdir(), 'framescope-ui-e2e');

let serve: Serve;
let browser: Browser;
let context: BrowserContext;
/** an echo server that accepts permessage-deflate (and compresses every message) */
let echo: WsTestServer;
let firehose: Firehose;
let scratch: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  // First, so that a machine without Chromium fails with the reason and nothing else.
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), 'framescope-ui-e2e-'));
  [serve, echo, firehose] = await Promise.all([startServe(), startWsServer({ perMessageDeflate: true }), startFirehose()]);
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark', acceptDownloads: true });
}, 60_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await serve?.stop();
  await echo?.close();
  await firehose?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function openUi(): Promise<Page> {
  return openPage(context, serve.url, pageErrors);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Connects through the connect form and waits for the connection to be listed open. */
async function connectThroughUi(page: Page, url: string): Promise<void> {
  await page.getByTestId('connect-url').fill(url);
  await page.getByTestId('connect-button').click();
  // connectTo() selects the new connection; its header shows the URL.
  await page.locator('.conn-header-url', { hasText: url }).waitFor();
  await page.locator('[data-testid=connection-item].selected[data-state=open]').waitFor();
}

/**
 * The bytes a hex view shows, read once it has drawn all it says it shows (`data-shown`): a
 * view whose pane is resized re-lays out its rows (8 or 16 a row).
 */
async function hexBytes(page: Page, testId: string): Promise<number[]> {
  // One evaluation, so the count and the bytes come from the same drawing.
  const read = (): Promise<{ shown: number; cols: string[] }> =>
    page.locator(`[data-testid=${testId}]`).evaluate((view) => ({
      shown: Number(view.getAttribute('data-shown')),
      cols: [...view.querySelectorAll('.hex-bytes')].map((e) => e.textContent ?? ''),
    }));
  const bytesOf = (cols: string[]): number[] =>
    cols
      .join(' ')
      .split(/\s+/)
      .filter(Boolean)
      .map((h) => {
        expect(h).toMatch(/^[0-9a-f]{2}$/i);
        return parseInt(h, 16);
      });
  const seen = await until(`${testId} to draw all it shows`, read, (r) => bytesOf(r.cols).length === r.shown, 10_000);
  return bytesOf(seen.cols);
}

/** The rows drawn, as [seq, opcode, from]. */
async function rows(page: Page): Promise<Array<[number, number, string]>> {
  return page
    .getByTestId('frame-row')
    .evaluateAll((els) =>
      els.map((e) => [Number(e.getAttribute('data-seq')), Number(e.getAttribute('data-opcode')), e.getAttribute('data-from') ?? ''] as [number, number, string]),
    );
}

const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

describe('the inspector UI in headless Chromium through `framescope serve`', () => {
  it('connects (deflate off in the Options), verifies Accept, sends text and binary, and shows every frame with its exact bytes', async () => {
    const page = await openUi();
    // Options: do not offer permessage-deflate, so the payloads on the wire are the bytes sent.
    await page.getByRole('button', { name: /Options/ }).click();
    await page.getByLabel(/Offer permessage-deflate/).uncheck();
    await page.getByRole('button', { name: /Options/ }).click();

    const url = `${echo.url}/ui-echo?room=7`;
    await connectThroughUi(page, url);
    const accept = page.getByTestId('accept-status');
    await page.locator('[data-testid=accept-status][data-valid=true]').waitFor();
    expect(await accept.textContent()).toMatch(/\bvalid\b/);
    expect(await accept.textContent()).not.toMatch(/invalid/);
    // No extension was offered, so none was agreed: the server's handshake says so too.
    expect(echo.handshakes.at(-1)!.extensions).toBe('');
    await shot(page, '1-handshake');

    // Text.
    const text = 'hello framescope ✓';
    await page.getByTestId('composer-mode-text').click();
    await page.getByTestId('composer-input').fill(text);
    await page.getByTestId('send-button').click();
    await expect.poll(() => page.getByTestId('frame-row').count(), { timeout: 20_000 }).toBe(2);

    // Binary, from hex.
    const binary = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x48, 0x69];
    await page.getByTestId('composer-mode-binary').click();
    await page.getByTestId('composer-input').fill('00 01 02 7f 80:fe ff 48 69');
    await page.getByTestId('send-button').click();
    await expect.poll(() => page.getByTestId('frame-row').count(), { timeout: 20_000 }).toBe(4);

    expect(await rows(page)).toEqual([
      [0, 1, 'client'],
      [1, 1, 'server'],
      [2, 2, 'client'],
      [3, 2, 'server'],
    ]);
    const count = await page.getByTestId('frame-count').textContent();
    expect(count).toMatch(/^\d+$/);
    expect(Number(count)).toBe(await page.getByTestId('frame-row').count());
    // What the server got is what the UI says was sent.
    expect(echo.received.slice(-2).map((m) => [m.isBinary, [...m.data]])).toEqual([
      [false, utf8(text)],
      [true, binary],
    ]);

    // The client's binary frame: its unmasked payload, and as on the wire (masked with its key).
    await page.locator('[data-testid=frame-row][data-seq="2"]').click();
    await page.locator('[data-testid=frame-detail][data-seq="2"]').waitFor();
    await page.getByTestId('hex-view').waitFor();
    expect(await hexBytes(page, 'hex-view')).toEqual(binary);
    const maskTitle = await page.locator('[data-testid=frame-row][data-seq="2"] .c-mask').getAttribute('title');
    const key = /mask key ([0-9a-f]{8})/.exec(maskTitle ?? '')?.[1];
    expect(key, `mask key in ${maskTitle}`).toBeDefined();
    const keyBytes = Buffer.from(key!, 'hex');
    expect(await hexBytes(page, 'hex-view-masked')).toEqual(binary.map((b, i) => b ^ keyBytes[i % 4]!));
    await shot(page, '2-binary-frame');

    // The server's echo of the text: unmasked, the UTF-8 bytes, and the text itself.
    await page.locator('[data-testid=frame-row][data-seq="1"]').click();
    await page.locator('[data-testid=frame-detail][data-seq="1"]').waitFor();
    await page.getByTestId('hex-view').waitFor();
    expect(await hexBytes(page, 'hex-view')).toEqual(utf8(text));
    expect(await page.getByTestId('text-view').textContent()).toBe(text);
    expect(await page.getByTestId('hex-view-masked').count()).toBe(0);
    await shot(page, '3-text-frame');
    await page.close();
  }, 60_000);

  it('starts the reverse proxy from the UI; an app through it appears as a proxied connection, its compressed frames inflated', async () => {
    const page = await openUi();
    await page.getByTestId('proxy-listen').fill('127.0.0.1:0');
    await page.getByTestId('proxy-target').fill(`${echo.url}/behind-proxy`);
    await page.getByTestId('proxy-start').click();
    const address = (await page.getByTestId('proxy-address').textContent())!.trim();
    expect(address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);

    // The app: a `ws` client offering permessage-deflate (the echo server compresses everything).
    const app = new WebSocket(`${address}app?user=ada`);
    app.on('error', () => {});
    try {
      await new Promise((resolve, reject) => (app.once('open', resolve), app.once('error', reject)));
      expect(app.extensions).toMatch(/permessage-deflate/);
      const message = 'through the proxy, compressed '.repeat(8);
      const echoed = new Promise<string>((resolve) => app.once('message', (d) => resolve(d.toString())));
      app.send(message);
      expect(await echoed).toBe(message);

      const item = page.locator('[data-testid=connection-item][data-mode=proxy]');
      await item.waitFor();
      await item.click();
      await page.locator('.conn-header-url', { hasText: '/app?user=ada' }).waitFor();
      await until('2 frames on the proxied connection', () => frameCount(page), (n) => n === 2);
      expect(await rows(page)).toEqual([
        [0, 1, 'client'],
        [1, 1, 'server'],
      ]);
      // The server's frame carries RSV1: its payload is deflated, the whole message is the text.
      await page.locator('[data-testid=frame-row][data-seq="1"]').click();
      await page.locator('[data-testid=frame-detail][data-seq="1"]').waitFor();
      await page.getByTestId('hex-view-message').waitFor();
      expect(await page.locator('[data-testid=frame-row][data-seq="1"] .c-rsv').textContent()).toBe('100');
      expect(await hexBytes(page, 'hex-view-message')).toEqual(utf8(message));
      const wire = await hexBytes(page, 'hex-view');
      expect(wire.length).toBeLessThan(utf8(message).length);
      // The message column: the whole message's size beside the deflated frame's length.
      expect(await page.locator('[data-testid=frame-row][data-seq="1"] [data-testid=frame-message-size]').textContent()).toBe(String(utf8(message).length));
      // A proxied connection's composer injects, toward the server or the app; a recorded
      // frame is not resent (that is the app's to do).
      await page.getByTestId('composer-direction').waitFor();
      expect(await page.getByTestId('composer-toward-server').count()).toBe(1);
      expect(await page.getByTestId('composer-toward-client').count()).toBe(1);
      expect(await page.getByTestId('resend-button').count()).toBe(0);
      await shot(page, '4-proxy');
    } finally {
      app.terminate();
      await page.getByTestId('proxy-stop').click();
      await page.getByTestId('proxy-start').waitFor();
      await page.close();
    }
  }, 60_000);

  it('exports a capture (a download, capture v1) and opens it again (an upload): the same frames', async () => {
    const page = await openUi();
    const url = `${echo.url}/export-me`;
    await connectThroughUi(page, url);
    await page.getByTestId('composer-mode-text').click();
    await page.getByTestId('composer-input').fill('export me');
    await page.getByTestId('send-button').click();
    await until('the echo', () => frameCount(page), (n) => n === 2);
    await page.getByTestId('disconnect-button').click();
    await page.locator('[data-testid=connection-item].selected[data-state=closed]').waitFor();
    await until('both close frames', () => frameCount(page), (n) => n === 4);
    const shown = await rows(page);
    expect(shown.map(([, op, from]) => [op, from])).toEqual([
      [1, 'client'],
      [1, 'server'],
      [8, 'client'],
      [8, 'server'],
    ]);

    await page.getByLabel('Export format').selectOption('json');
    await page.getByLabel('Export which connections').selectOption('selected');
    const downloading = page.waitForEvent('download');
    await page.getByTestId('export-button').click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/\.wscap\.json$/);
    const file = join(scratch, download.suggestedFilename());
    await download.saveAs(file);
    const capture = JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson;
    expect(capture.format).toBe('framescope.capture');
    expect(capture.version).toBe(1);
    expect(capture.connections).toHaveLength(1);
    const conn = capture.connections[0]!;
    expect(conn.url).toBe(url);
    expect(conn.handshake?.accept.valid).toBe(true);
    expect(conn.frames.map((f) => [f.seq, f.opcode, f.from])).toEqual(shown);
    expect(Buffer.from(conn.frames[0]!.payload, 'base64').toString('utf8')).toBe('export me');
    expect(Buffer.from(conn.frames[1]!.payload, 'base64').toString('utf8')).toBe('export me');
    expect(conn.frames[2]!.close?.code).toBe(1000);

    // Open… in a browser is an upload through a file chooser.
    const choosing = page.waitForEvent('filechooser');
    await page.getByTestId('import-button').click();
    await (await choosing).setFiles(file);
    const imported = page.locator('[data-testid=connection-item]', { hasText: 'imported' }).filter({ hasText: '/export-me' });
    await imported.waitFor();
    expect(await imported.count()).toBe(1);
    // Opening a capture selects its first connection.
    await page.locator('[data-testid=connection-item].selected', { hasText: 'imported' }).waitFor();
    await until('the imported frames', () => frameCount(page), (n) => n === conn.frames.length);
    expect(await rows(page)).toEqual(shown);
    await page.locator('[data-testid=frame-row][data-seq="0"]').click();
    await page.getByTestId('hex-view').waitFor();
    expect(await hexBytes(page, 'hex-view')).toEqual(utf8('export me'));
    await shot(page, '5-imported');
    await page.close();
  }, 60_000);

  it('live: 10,000 frames a second for 2 s, every one counted, and the page still answers', async () => {
    const page = await openUi();
    const total = 20_000;
    await connectThroughUi(page, firehose.urlFor({ total, perSecond: 10_000 }));
    // A safety net, not a timing: the count must get there, however long a loaded machine takes.
    const counted = await until(`frame-count to reach ${total}`, () => frameCount(page), (n) => n >= total, 60_000, 200);
    expect(counted).toBe(total);
    expect(firehose.reports.at(-1)).toMatchObject({ sent: total, done: true });
    // Following the tail: the newest frame is drawn.
    await page.locator(`[data-testid=frame-row][data-seq="${total - 1}"]`).waitFor();
    await shot(page, '6-live');

    // Still responsive: a click opens the frame, with its payload fetched from the engine.
    const seq = total - 3;
    await page.locator(`[data-testid=frame-row][data-seq="${seq}"]`).click();
    await page.locator(`[data-testid=frame-detail][data-seq="${seq}"]`).waitFor();
    await page.getByTestId('hex-view').waitFor();
    expect(await hexBytes(page, 'hex-view')).toEqual(utf8(pushedText(seq)));
    expect(await frameCount(page)).toBe(total);
    await page.close();
  }, 90_000);

  it('a new user: Options close on Escape, a refused handshake keeps its peers, the tolerant stance watches a violation, Ping starts empty', async () => {
    const page = await openUi();
    // Options: Escape closes the popover; the tolerant stance is ticked for later.
    await page.getByTestId('connect-options-button').click();
    await page.getByTestId('connect-options').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('connect-options').waitFor({ state: 'detached' });

    // ws answers an upgrade on a path it does not serve with 400: TCP was connected.
    const pathOnly = await startWsServer({ path: '/only-here' });
    const violating = await startWsServer({
      onConnection: (socket) => {
        // RSV1 with no extension agreed (written under ws), then a good frame.
        (socket as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0xc1, 0x01, 0x41]));
        socket.send('B');
      },
    });
    try {
      await page.getByTestId('connect-url').fill(`${pathOnly.url}/elsewhere`);
      await page.getByTestId('connect-button').click();
      await page.locator('[data-testid=connection-item].selected[data-state=failed]').waitFor();
      const peers = (await page.getByTestId('connection-peers').textContent())!;
      expect(peers).toMatch(/^127\.0\.0\.1:\d+ → 127\.0\.0\.1:(\d+)$/);
      expect(peers.endsWith(`:${pathOnly.port}`)).toBe(true);
      await shot(page, '7-refused-peers');

      await page.getByTestId('connect-options-button').click();
      await page.getByTestId('connect-tolerant').check();
      await page.getByLabel(/Offer permessage-deflate/).uncheck();
      await page.getByTestId('connect-url').fill(violating.url);
      await page.getByTestId('connect-button').click();
      // Connect closes the popover.
      await page.getByTestId('connect-options').waitFor({ state: 'detached' });
      await page.locator('.conn-header-url', { hasText: violating.url }).waitFor();
      await until('both server frames', () => frameCount(page), (n) => n === 2);
      expect(await page.locator('[data-testid=connection-item].selected').getAttribute('data-state')).toBe('open');
      expect(await page.locator('[data-testid=frame-row][data-seq="0"] .violation-mark').count()).toBe(1);

      // JSON, then Ping: the ping starts empty, its limit shown.
      await page.getByTestId('composer-mode-json').click();
      const json = JSON.stringify({ type: 'subscribe', channel: 'orders', filter: { side: 'buy', min: 100 }, id: 'a1b2c3d4e5f6a1b2c3d4e5f6a1' });
      await page.getByTestId('composer-input').fill(json);
      await page.getByTestId('composer-mode-ping').click();
      expect(await page.getByTestId('composer-input').inputValue()).toBe('');
      expect(await page.getByTestId('composer-control-bytes').textContent()).toBe('0 / 125 B');
      await page.getByTestId('composer-input').fill('still watching');
      await page.getByTestId('send-button').click();
      await until('the ping and its pong', () => frameCount(page), (n) => n === 4);
      expect((await rows(page)).slice(2)).toEqual([
        [2, 9, 'client'],
        [3, 10, 'server'],
      ]);
      await shot(page, '8-tolerant-ping');
    } finally {
      await pathOnly.close();
      await violating.close();
      await page.close();
    }
  }, 60_000);

  it('an opened capture shows the durations it recorded; a bad file is named as picked, never by a temp path', async () => {
    const page = await openUi();
    const capture: CaptureFileJson = {
      format: 'framescope.capture',
      version: 1,
      createdAt: '2020-09-13T12:26:40.000Z',
      connections: [
        {
          id: 'p1',
          mode: 'proxy',
          url: 'ws://127.0.0.1:9/short-lived',
          client: '127.0.0.1:50000',
          server: '127.0.0.1:9',
          tls: null,
          startedAt: 1_600_000_000_000,
          endedAt: 1_600_000_000_190,
          handshake: null,
          frames: [],
          close: { code: 1000, reason: '', by: 'client', clean: true },
          errors: [],
        },
      ],
    };
    const good = join(scratch, 'short.wscap.json');
    writeFileSync(good, JSON.stringify(capture));
    const choosing = page.waitForEvent('filechooser');
    await page.getByTestId('import-button').click();
    await (await choosing).setFiles(good);
    const item = page.locator('[data-testid=connection-item].selected', { hasText: '/short-lived' });
    await item.waitFor();
    expect(await item.textContent()).toContain('190 ms');
    expect(await page.getByTestId('handshake-panel').textContent()).toContain('ended after 190 ms');

    const bad = join(scratch, 'not-a-capture.json');
    writeFileSync(bad, '{"nope":1}');
    for (let i = 0; i < 2; i++) {
      const picking = page.waitForEvent('filechooser');
      await page.getByTestId('import-button').click();
      await (await picking).setFiles(bad);
      await page.locator('[data-testid=notice][data-level=error]', { hasText: i === 0 ? 'not-a-capture.json' : '×2' }).waitFor();
    }
    const notices = page.locator('[data-testid=notice][data-level=error]');
    expect(await notices.count()).toBe(1);
    const text = (await notices.textContent())!;
    expect(text).toContain('Could not open not-a-capture.json');
    expect(text).not.toMatch(/framescope-import|\/tmp\//);
    await shot(page, '9-imported-durations');
    // It goes away by itself (a safety net of a wait, not a timing).
    await notices.waitFor({ state: 'detached', timeout: 30_000 });
    await page.close();
  }, 60_000);

  it('threw no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
