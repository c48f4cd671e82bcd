// STOMP over SockJS in the inspector UI: real traffic (sockjs server, @stomp/stompjs over
// sockjs-client) recorded through `framescope proxy --capture`, opened in `framescope serve`
// in headless Chromium. The rows decode as STOMP, the detail says `via sockjs`, a `type:SEND`
// filter finds the SEND, the RECEIPT links to it, and the connection's decoder is SockJS.
// Screenshots go to $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Client } from '@stomp/stompjs';
import sockjs from 'sockjs';
import SockJS from 'sockjs-client';
import { openCapture, shownRows, until } from './harness';
import { uiSuite } from './suite';
import { closes, httpServer, startProxy } from '../decoders/proxy-helpers';
import { stompSession } from '../decoders/stomp-server';

let fixture: string;

async function recordFixture(file: string): Promise<void> {
  const http = await httpServer();
  const server = sockjs.createServer({ log: () => {} });
  const open = new Set<sockjs.Connection>();
  server.on('connection', (conn) => {
    open.add(conn);
    const session = stompSession((text) => conn.write(text));
    conn.on('data', (text: string) => session(text));
  });
  server.installHandlers(http.server, { prefix: '/stomp' });
  const { proc, port } = await startProxy(`ws://127.0.0.1:${http.port}`, ['--capture', file]);
  const client = new Client({
    webSocketFactory: () => new SockJS(`http://127.0.0.1:${port}/stomp`, undefined, { transports: ['websocket'] }),
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    reconnectDelay: 0,
  });
  try {
    const connected = new Promise<void>((r) => (client.onConnect = () => r()));
    client.activate();
    await connected;
    const delivered = new Promise<void>((r) => client.subscribe('/topic/chat', () => r(), { id: 'sub-0' }));
    const receipt = new Promise<void>((r) => client.watchForReceipt('r-1', () => r()));
    client.publish({ destination: '/topic/chat', body: 'hello over sockjs', headers: { receipt: 'r-1' } });
    await receipt;
    await delivered;
    await client.deactivate();
    await closes(proc);
  } finally {
    await client.deactivate({ force: true });
    const r = await proc.stop('SIGINT');
    expect(r.code, r.stderr).toBe(0);
    for (const c of open) c.destroy();
    await http.close();
  }
}

const ui = uiSuite('decoded-sockjs', async (dir) => {
  fixture = join(dir, 'stomp-sockjs.wscap.json');
  await recordFixture(fixture);
});

describe('STOMP over SockJS in the inspector UI', () => {
  it('rows decode as STOMP via sockjs; type:SEND filters; the RECEIPT links to its SEND; the decoder is sockjs', async () => {
    const page = await ui.page({ scheme: 'dark' });
    await openCapture(page, fixture);
    await page.locator('[data-testid=frame-decoded][data-type=RECEIPT]').first().waitFor();
    const rows = await shownRows(page);
    expect(rows.find((r) => r.type === 'open')?.protocol).toBe('sockjs');
    expect(rows.filter((r) => r.protocol === 'stomp').map((r) => r.type)).toEqual(expect.arrayContaining(['CONNECT', 'CONNECTED', 'SUBSCRIBE', 'SEND', 'MESSAGE', 'RECEIPT']));
    expect(await page.getByTestId('decoder-select').inputValue()).toBe('auto');

    await page.getByTestId('filter-text').fill('type:SEND');
    const sends = await until('only the SEND', () => shownRows(page), (r) => r.length === 1 && r[0]!.type === 'SEND');
    await page.getByTestId('filter-text').fill('');
    await until('every row again', () => shownRows(page), (r) => r.length === rows.length);

    // (the DISCONNECT's receipt is the other RECEIPT)
    const receipt = rows.find((r) => r.type === 'RECEIPT' && r.decoded.includes('r-1'))!.seq;
    await page.locator(`[data-testid=frame-row][data-seq="${receipt}"]`).click();
    await page.locator(`[data-testid=frame-detail][data-seq="${receipt}"]`).waitFor();
    expect(await page.getByTestId('decoded-protocol').textContent()).toBe('stomp');
    expect(await page.getByTestId('decoded-via').textContent()).toBe('sockjs');
    expect(await page.getByTestId('decoded-pair').getAttribute('data-seq')).toBe(String(sends[0]!.seq));
    await ui.shot(page, 'decoded-sockjs-dark.png');

    // Chosen by hand, SockJS decodes the same.
    await page.getByTestId('decoder-select').selectOption('sockjs');
    await until('decoded again as STOMP inside SockJS', () => shownRows(page), (r) => r.length === rows.length && r.some((x) => x.type === 'RECEIPT' && x.protocol === 'stomp'));
    expect(ui.pageErrors).toEqual([]);
    await page.context().close();
  }, 90_000);
});
