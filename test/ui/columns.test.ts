// Columns and reading, end to end in the real `framescope serve` and headless Chromium: a
// column resized, one hidden, two moved (a header dragged, and the menu's keyboard buttons)
// and the density made compact are all still so after a reload; a payload copied in each
// format and a connection as NDJSON read back from the clipboard; a bookmark (the b key and
// the detail's toggle) and a note kept through a capture export and re-import, and through
// a restart of serve on the same sessions folder. Screenshots (dark and light) go to
// $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { CaptureFileJson } from '../../shared/model';
import { frameCount, launchChromium, openCapture, openPage, startServe, until, type Serve } from './harness';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');
// One connection, 13 frames; #0 is the client's text "hello".
const FIXTURE = join(__dirname, '..', 'fixtures', 'intervened.wscap.json');

let browser: Browser;
let dir: string;
let serve: Serve | null = null;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'framescope-columns-ui-'));
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function newContext(url: string, colorScheme: 'dark' | 'light' = 'dark'): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  return context;
}

const headOrder = (page: Page): Promise<string[]> => page.locator('.frame-head [data-col]').evaluateAll((els) => els.map((e) => e.getAttribute('data-col') ?? ''));
const widthOf = async (page: Page, id: string): Promise<number> => Number(await page.getByTestId(`col-resize-${id}`).getAttribute('aria-valuenow'));
const rowHeight = (page: Page): Promise<number> => page.locator('[data-testid=frame-row][data-seq="0"]').evaluate((e) => e.getBoundingClientRect().height);
const rowTop = (page: Page, seq: number): Promise<string> => page.locator(`[data-testid=frame-row][data-seq="${seq}"]`).evaluate((e) => (e as unknown as { style: { transform: string } }).style.transform);
const clipboard = (page: Page): Promise<string> => page.evaluate('navigator.clipboard.readText()') as Promise<string>;
const row = (page: Page, seq: number) => page.locator(`[data-testid=frame-row][data-seq="${seq}"]`);

/** Clears the clipboard, runs `act`, and waits for what it copied. */
async function copied(page: Page, act: () => Promise<void>): Promise<string> {
  await page.evaluate('navigator.clipboard.writeText("")');
  await act();
  return until('the clipboard to be written', () => clipboard(page), (t) => t !== '');
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
}

async function centre(page: Page, testId: string): Promise<{ x: number; y: number; width: number }> {
  const b = (await page.getByTestId(testId).boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2, width: b.width };
}

describe('columns and reading', () => {
  it('columns resized, hidden and moved, and a compact density, are remembered across a reload', async () => {
    serve = await startServe(['--sessions-dir', join(dir, 'sessions')]);
    const context = await newContext(serve.url);
    const page = await openPage(context, serve.url, pageErrors);
    await openCapture(page, FIXTURE);
    await until('the rows', () => frameCount(page), (n) => n === 13);
    const defaults = await headOrder(page);
    expect(defaults).toEqual(['seq', 'time', 'dir', 'op', 'fin', 'rsv', 'mask', 'len', 'msg', 'dec', 'preview']);

    // Resize: drag the length column's right edge 40 px wider.
    const len0 = await widthOf(page, 'len');
    const handle = await centre(page, 'col-resize-len');
    await drag(page, handle, { x: handle.x + 40, y: handle.y });
    expect(await widthOf(page, 'len')).toBe(len0 + 40);

    // Hide MASK and move the decoded column two places left with the menu's buttons.
    await page.getByTestId('columns-menu-button').click();
    await page.getByTestId('columns-menu').waitFor();
    await page.getByTestId('column-toggle-mask').click();
    await page.getByTestId('column-left-dec').click();
    await page.getByTestId('column-left-dec').click();
    await page.screenshot({ path: join(SHOTS, 'columns-menu-dark.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('columns-menu').waitFor({ state: 'detached' });
    // Drag the time header onto the left half of the # header: time goes first.
    const time = await centre(page, 'col-head-time');
    const seq = await centre(page, 'col-head-seq');
    await drag(page, time, { x: seq.x - seq.width / 4, y: seq.y });
    const arranged = ['time', 'seq', 'dir', 'op', 'fin', 'rsv', 'dec', 'len', 'msg', 'preview'];
    expect(await headOrder(page)).toEqual(arranged);
    // The rows follow the header.
    expect(await row(page, 0).locator('> span').evaluateAll((els) => els.map((e) => e.className.split(' ')[0]))).toEqual(arranged.map((c) => `c-${c}`));

    await page.screenshot({ path: join(SHOTS, 'columns-arranged-dark.png') });
    // Compact rows: shorter, and the virtualized list places them at that height.
    expect(await rowHeight(page)).toBe(22);
    await page.getByTestId('density-toggle').click();
    expect(await rowHeight(page)).toBe(18);
    expect(await rowTop(page, 3)).toBe('translateY(54px)');

    await page.reload();
    await page.locator('[data-testid=connection-item]').first().click();
    await until('the rows after the reload', () => frameCount(page), (n) => n === 13);
    expect(await headOrder(page)).toEqual(arranged);
    expect(await widthOf(page, 'len')).toBe(len0 + 40);
    expect(await rowHeight(page)).toBe(18);
    expect(await page.getByTestId('density-toggle').getAttribute('aria-pressed')).toBe('true');

    // Reset puts every column back (the density is its own toggle).
    await page.locator('.frame-head').click({ button: 'right' });
    await page.getByTestId('columns-reset').click();
    expect(await headOrder(page)).toEqual(defaults);
    expect(await widthOf(page, 'len')).toBe(len0);
    await page.getByTestId('density-toggle').click();
    expect(await rowHeight(page)).toBe(22);
    await context.close();
  }, 90_000);

  it('copies a row, a payload in every format and the connection as NDJSON', async () => {
    const context = await newContext(serve!.url);
    const page = await openPage(context, serve!.url, pageErrors);
    await page.locator('[data-testid=connection-item]').first().click();
    await until('the rows', () => frameCount(page), (n) => n === 13);

    const expected: Record<string, string> = {
      text: 'hello',
      hex: '68 65 6c 6c 6f',
      base64: 'aGVsbG8=',
      c: '{0x68, 0x65, 0x6c, 0x6c, 0x6f}',
      js: 'new Uint8Array([0x68, 0x65, 0x6c, 0x6c, 0x6f])',
      python: "b'\\x68\\x65\\x6c\\x6c\\x6f'",
    };
    for (const [format, text] of Object.entries(expected)) {
      const got = await copied(page, async () => {
        await row(page, 0).click({ button: 'right' });
        await page.getByTestId(`copy-payload-${format}`).click();
      });
      expect(got, format).toBe(text);
    }
    const line = await copied(page, async () => {
      await row(page, 0).click({ button: 'right' });
      await page.screenshot({ path: join(SHOTS, 'row-menu-dark.png') });
      await page.getByTestId('copy-row').click();
    });
    expect(line).toMatch(/^#0 \+0\.\d{6} ↑ client text 5 B · hello$/);

    // The detail's Copy menu: the same formats.
    await page.getByTestId('copy-menu-button').click();
    expect(await copied(page, () => page.getByTestId('copy-payload-python').click())).toBe(expected['python']);

    // The whole connection: the events `framescope export --format ndjson` writes.
    const ndjson = await copied(page, async () => {
      await row(page, 1).click({ button: 'right' });
      await page.getByTestId('copy-ndjson').click();
    });
    const events = ndjson.trim().split('\n').map((l) => JSON.parse(l) as { event: string; seq?: number; payload?: string });
    expect(events[0]!.event).toBe('open');
    const frames = events.filter((e) => e.event === 'frame');
    expect(frames).toHaveLength(13);
    expect(Buffer.from(frames[0]!.payload!, 'base64').toString()).toBe('hello');
    await context.close();
  }, 90_000);

  it('a bookmark and a note on a frame: shown, filtered, exported, imported again, and kept when serve restarts', async () => {
    const context = await newContext(serve!.url, 'light');
    let page = await openPage(context, serve!.url, pageErrors);
    await page.locator('[data-testid=connection-item]').first().click();
    await until('the rows', () => frameCount(page), (n) => n === 13);

    // b on the list bookmarks the selected frame.
    await row(page, 2).click();
    await page.getByTestId('frame-list').press('b');
    await row(page, 2).getByTestId('bookmark-mark').waitFor();
    expect(await page.getByTestId('bookmark-toggle').getAttribute('aria-pressed')).toBe('true');
    // The detail's toggle, and a note saved when the field is left.
    await row(page, 6).click();
    await page.getByTestId('bookmark-toggle').click();
    await row(page, 6).getByTestId('bookmark-mark').waitFor();
    await page.getByTestId('add-note').click();
    await page.getByTestId('frame-note').fill('the server answers here');
    await page.getByTestId('frame-note').press('Tab');
    await row(page, 6).getByTestId('note-mark').waitFor();
    expect(await page.getByTestId('note-state').textContent()).toBe('saved');
    await page.screenshot({ path: join(SHOTS, 'bookmark-note-light.png') });

    // Next / previous bookmark, and the bookmarks-only filter.
    await row(page, 0).click();
    await page.getByTestId('bookmark-next').click();
    await page.locator('[data-testid=frame-detail][data-seq="2"]').waitFor();
    await page.getByTestId('bookmark-next').click();
    await page.locator('[data-testid=frame-detail][data-seq="6"]').waitFor();
    await page.getByTestId('bookmark-prev').click();
    await page.locator('[data-testid=frame-detail][data-seq="2"]').waitFor();
    await page.getByTestId('filter-bookmarks').check();
    await until('only the bookmarked rows', () => page.getByTestId('frame-row').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-seq')))), (s) => s.join() === '2,6');
    await page.getByTestId('filter-bookmarks').uncheck();

    // Exported into capture v1, and back on import.
    await page.getByLabel('Export format').selectOption('json');
    await page.getByLabel('Export which connections').selectOption('selected');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-button').click()]);
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const capture = JSON.parse(readFileSync(file, 'utf8')) as CaptureFileJson;
    const marked = capture.connections[0]!.frames.filter((f) => f.bookmark || f.note).map((f) => ({ seq: f.seq, bookmark: f.bookmark, note: f.note }));
    expect(marked).toEqual([
      { seq: 2, bookmark: true, note: undefined },
      { seq: 6, bookmark: true, note: 'the server answers here' },
    ]);
    await openCapture(page, file);
    await until('the re-imported rows', () => frameCount(page), (n) => n === 13);
    await row(page, 2).getByTestId('bookmark-mark').waitFor();
    await row(page, 6).getByTestId('note-mark').waitFor();
    await row(page, 6).click();
    expect(await page.getByTestId('frame-note').inputValue()).toBe('the server answers here');
    await page.close();

    // serve stops and starts again on the same sessions folder: the restored session has them.
    await serve!.stop();
    serve = await startServe(['--sessions-dir', join(dir, 'sessions')]);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(serve.url).origin });
    page = await openPage(context, serve.url, pageErrors);
    await page.getByTestId('session-restore').click();
    await page.getByTestId('previous-session').waitFor({ state: 'detached' });
    const restored = page.locator('[data-testid=connection-item]');
    await until('the restored connections', () => restored.count(), (n) => n === 2);
    for (let i = 0; i < 2; i++) {
      await restored.nth(i).click();
      await until('the restored rows', () => frameCount(page), (n) => n === 13);
      await row(page, 2).getByTestId('bookmark-mark').waitFor();
      await row(page, 6).getByTestId('note-mark').waitFor();
      expect(await row(page, 6).getByTestId('note-mark').getAttribute('title')).toBe('the server answers here');
    }
    await page.screenshot({ path: join(SHOTS, 'restored-bookmarks-light.png') });
    await context.close();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
