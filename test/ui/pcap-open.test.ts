// A packet capture opened in the inspector UI as a user opens a file (the Open button, a
// browser upload): the engine recognises the pcapng by content and shows its WebSocket
// connection, frames and handshake. Screenshot in $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture, until } from './harness';
import { uiSuite } from './suite';
import { LINK, ep, pcapng, simpleConversation } from '../captures/pcap-build';

const ui = uiSuite('pcap-ui');

describe('a pcapng opened in the UI', () => {
  it('Open… takes a .pcapng: its WebSocket connection and frames are listed', async () => {
    const file = join(ui.dir, 'loopback.pcapng');
    const c = simpleConversation(ep('127.0.0.1', 50123), ep('127.0.0.1', 8765), Date.parse('2025-03-01T12:00:00Z'));
    writeFileSync(file, pcapng(c.pkts(LINK.ethernet), { linktype: 1, digits: 6 }));
    const page = await ui.page({ scheme: 'dark', width: 1280, height: 800 });
    await openCapture(page, file);
    const rows = await until(
      'the four frames',
      () => page.getByTestId('frame-row').evaluateAll((els) => els.map((e) => e.textContent ?? '')),
      (r) => r.length === 4,
    );
    expect(rows.join(' ')).toContain('hello');
    expect(rows.join(' ')).toContain('world');
    expect(await page.locator('[data-testid=connection-item].selected').textContent()).toContain('8765');
    await ui.shot(page, 'pcap-open.png');
    expect(ui.pageErrors).toEqual([]);
  });
});
