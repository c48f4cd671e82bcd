// A .proto for a connection in the inspector UI, end to end: protobuf messages between real
// ws peers (encoded by protobufjs) recorded through `framescope proxy --capture`, opened in
// the real `framescope serve` in headless Chromium. Binary messages are not guessed at; a
// .proto that does not parse is a notice naming its line; a good one decodes the rows as its
// message type, chosen in the type select. Screenshots go to $FRAMESCOPE_SHOTS, else
// os.tmpdir()/framescope-ui-e2e/.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { WebSocket, WebSocketServer } from 'ws';
import protobuf from 'protobufjs';
import { openCapture, shownRows, until } from './harness';
import { uiSuite } from './suite';
import { closes, startProxy } from '../decoders/proxy-helpers';

const FIXTURES = join(import.meta.dirname, '../fixtures/proto');

let fixture: string;

/** A client sends two chat.Request messages; the server answers each with a chat.Reply. */
async function recordFixture(file: string): Promise<void> {
  const root = await protobuf.load(join(FIXTURES, 'chat.proto'));
  const Request = root.lookupType('chat.Request');
  const Reply = root.lookupType('chat.Reply');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) =>
    ws.on('message', (b: Buffer) => {
      const r = Request.toObject(Request.decode(b)) as { id: number; text: string };
      ws.send(Reply.encode(Reply.fromObject({ id: r.id, text: `re: ${r.text}` })).finish());
    }),
  );
  const { proc, port } = await startProxy(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, ['--capture', file]);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    for (const [id, text] of [[1, 'hello'], [2, 'world']] as const) {
      const answered = new Promise((r) => ws.once('message', r));
      ws.send(Request.encode(Request.fromObject({ id, text, kind: 'KIND_CHAT' })).finish());
      await answered;
    }
    ws.close(1000);
    await closes(proc);
  } finally {
    const r = await proc.stop('SIGINT');
    expect(r.code, r.stderr).toBe(0);
    await new Promise((r) => wss.close(r));
  }
}

const ui = uiSuite('proto', async (dir) => {
  fixture = join(dir, 'protobuf.wscap.json');
  await recordFixture(fixture);
});

describe('a .proto for a connection in the UI', () => {
  it('a bad file is a notice; a good one decodes the rows as the message type chosen', async () => {
    const page = await ui.page({ scheme: 'dark' });
    page.setDefaultTimeout(10_000);
    try {
      await steps(page);
    } catch (err) {
      await ui.shot(page, 'proto-failed.png');
      throw err;
    }
  }, 90_000);
});

async function steps(page: Page): Promise<void> {
  {
    await openCapture(page, fixture);
    const rows = await until('the four messages and the closes', () => shownRows(page), (r) => r.length === 6);
    // Binary messages are never guessed at: nothing decoded until the user says.
    expect(rows.every((r) => r.type === null)).toBe(true);

    await page.getByTestId('proto-file').setInputFiles(join(FIXTURES, 'bad.proto'));
    const notice = page.locator('[data-testid=notice][data-level=error]').filter({ hasText: 'bad.proto:6:' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain("Could not load the .proto: bad.proto:6: illegal token 'string', ';' expected");

    // chat.proto imports common.proto: alone, it says so; chosen together, they load.
    await page.getByTestId('proto-file').setInputFiles(join(FIXTURES, 'chat.proto'));
    await page.locator('[data-testid=notice]').filter({ hasText: 'chat.proto:5: imports "common.proto", which is not found: choose it along with chat.proto' }).waitFor();
    // Through the decoder select's entry, as a user does: it opens the file chooser.
    const choosing = page.waitForEvent('filechooser');
    await page.getByTestId('decoder-select').selectOption('load-proto');
    await (await choosing).setFiles([join(FIXTURES, 'common.proto'), join(FIXTURES, 'chat.proto')]);
    await page.getByTestId('proto-type-select').waitFor();
    expect(await page.getByTestId('decoder-select').inputValue()).toBe('protobuf');
    // Three types: the first is chosen, and any other can be.
    expect(await page.getByTestId('proto-type-select').locator('option').allTextContents()).toEqual(['chat.Item', 'chat.Request', 'chat.Reply']);
    await page.getByTestId('proto-type-select').selectOption('chat.Request');
    const decoded = await until('the rows decoded as chat.Request', () => shownRows(page), (r) => r.filter((x) => x.text.includes('binary')).length === 4 && r.every((x) => x.type === (x.text.includes('binary') ? 'chat.Request' : null)));
    const first = decoded.find((x) => x.decoded.includes('hello'))!;
    expect(first.decoded).toContain('chat.Request {"id":1,"text":"hello","kind":"KIND_CHAT"}');
    expect(decoded.find((x) => x.decoded.includes('re: world'))!.decoded).toContain('chat.Request {"id":2,"text":"re: world"}');
    await ui.shot(page, 'proto-dark.png');
    expect(ui.pageErrors).toEqual([]);
  }
}
