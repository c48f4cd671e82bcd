// A packet capture opened in the inspector UI as a user opens a file (the Open button, a
// browser upload): the engine recognises the pcapng by content and shows its WebSocket
// connection, frames and handshake. Screenshot in $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, openCapture, openPage, type Serve, startServe, until } from './harness';
import { LINK, ep, pcapng, simpleConversation } from '../captures/pcap-build';

const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');

let serve: Serve;
let browser: Browser;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'framescope-pcap-ui-'));
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  serve = await startServe();
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a pcapng opened in the UI', () => {
  it('Open… takes a .pcapng: its WebSocket connection and frames are listed', async () => {
    const file = join(dir, 'loopback.pcapng');
    const c = simpleConversation(ep('127.0.0.1', 50123), ep('127.0.0.1', 8765), Date.parse('2025-03-01T12:00:00Z'));
    writeFileSync(file, pcapng(c.pkts(LINK.ethernet), { linktype: 1, digits: 6 }));
    const page = await openPage(await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' }), serve.url, pageErrors);
    await openCapture(page, file);
    const rows = await until(
      'the four frames',
      () => page.getByTestId('frame-row').evaluateAll((els) => els.map((e) => e.textContent ?? '')),
      (r) => r.length === 4,
    );
    expect(rows.join(' ')).toContain('hello');
    expect(rows.join(' ')).toContain('world');
    expect(await page.locator('[data-testid=connection-item].selected').textContent()).toContain('8765');
    await page.screenshot({ path: join(SHOTS, 'pcap-open.png') });
    expect(pageErrors).toEqual([]);
  });
});
