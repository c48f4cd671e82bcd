// Rules made in the UI, end to end: the real `framescope serve` child, the built renderer in
// headless Chromium, the reverse proxy started from the UI in front of a real `ws` server,
// and a real `ws` client as the app. Rules are made, ordered, toggled, saved and loaded
// through the page, by the test ids of docs/contracts.md "UI hooks for tests"; what the
// peers receive is read at the peers, what the record says from the capture the page
// exports. The rules file the page saves is then loaded by `framescope proxy --rules`.
//
// Screenshots of the Rules tab with its form open (dark and light) go to
// $FRAMESCOPE_UI_SHOTS, else os.tmpdir()/framescope-ui-e2e/ (the run's temporary folder).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import type { CaptureFileJson } from '../../shared/model';
import { spawnCli, type CliProcess } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { launchChromium, openPage, startServe, until, type Serve } from './harness';

const SHOTS = process.env.FRAMESCOPE_UI_SHOTS ?? join(tmpdir(), 'framescope-ui-e2e');

let serve: Serve;
let browser: Browser;
let server: WsTestServer;
const pageErrors: string[] = [];
const cleanup: Array<() => Promise<unknown> | void> = [];

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  [serve, server] = await Promise.all([startServe(), startWsServer({ echo: false })]);
}, 60_000);

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  await server?.close();
});

async function openUi(colorScheme: 'dark' | 'light'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme, acceptDownloads: true });
  cleanup.push(() => context.close());
  return openPage(context, serve.url, pageErrors);
}

async function startProxy(page: Page, path: string): Promise<string> {
  await page.getByTestId('proxy-listen').fill('127.0.0.1:0');
  await page.getByTestId('proxy-target').fill(`${server.url}/${path}`);
  await page.getByTestId('proxy-start').click();
  cleanup.push(async () => {
    await page.getByTestId('proxy-stop').click();
    await page.getByTestId('proxy-start').waitFor();
  });
  return (await page.getByTestId('proxy-address').textContent())!.trim();
}

async function app(url: string) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  return ws;
}

/** Fills the rule form as a user does; only the fields given. */
async function fillRule(
  page: Page,
  r: { name?: string; direction?: string; text?: string; jsonPath?: string; jsonTest?: string; jsonValue?: string; hexMode?: string; hex?: string; action: string; find?: string; with?: string; path?: string; value?: string; code?: string; reason?: string },
): Promise<void> {
  if (r.name !== undefined) await page.getByTestId('rule-name').fill(r.name);
  if (r.direction) await page.getByTestId('rule-direction').selectOption(r.direction);
  if (r.text !== undefined) await page.getByTestId('rule-match-text').fill(r.text);
  if (r.jsonPath !== undefined) await page.getByTestId('rule-match-json-path').fill(r.jsonPath);
  if (r.jsonTest) await page.getByTestId('rule-match-json-test').selectOption(r.jsonTest);
  if (r.jsonValue !== undefined) await page.getByTestId('rule-match-json-value').fill(r.jsonValue);
  if (r.hexMode) await page.getByTestId('rule-match-hex-mode').selectOption(r.hexMode);
  if (r.hex !== undefined) await page.getByTestId('rule-match-hex').fill(r.hex);
  await page.getByTestId('rule-action-type').selectOption(r.action);
  if (r.find !== undefined) await page.getByTestId('rule-action-find').fill(r.find);
  if (r.with !== undefined) await page.getByTestId('rule-action-with').fill(r.with);
  if (r.path !== undefined) await page.getByTestId('rule-action-path').fill(r.path);
  if (r.value !== undefined) await page.getByTestId('rule-action-value').fill(r.value);
  if (r.code !== undefined) await page.getByTestId('rule-action-code').fill(r.code);
  if (r.reason !== undefined) await page.getByTestId('rule-action-reason').fill(r.reason);
}

const ruleNames = (page: Page) => page.getByTestId('rule-item-name').allTextContents();

/** Clicks `testid` and returns the file the page downloads. */
async function download(page: Page, testid: string, name: string): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(mkdtempSync(join(tmpdir(), 'framescope-rules-ui-')), name);
  await dl.saveAs(path);
  return path;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

describe('rules in the UI', () => {
  it('a replace rule changes what the server gets (the record names it), a drop rule\'s message never arrives, a break rule holds in Held; saved, the file works with proxy --rules', async () => {
    const page = await openUi('dark');
    const address = await startProxy(page, 'rules');
    await page.getByTestId('rules-tab').click();
    await page.getByTestId('rules-panel').waitFor();

    // A replace of a JSON field.
    await page.getByTestId('rule-add').click();
    await fillRule(page, { name: 'mask token', direction: 'client', jsonPath: '$.token', jsonTest: 'exists', action: 'replace-json', path: '$.token', value: '"REDACTED"' });
    await page.getByTestId('rule-save').click();
    await until('the first rule in the list', () => ruleNames(page), (n) => n.length === 1);

    // A mistake is refused where it was typed, in the parser's words, and the input marked.
    await page.getByTestId('rule-add').click();
    await fillRule(page, { name: 'drop noise', text: '/(/', action: 'drop' });
    await page.getByTestId('rule-save').click();
    await expect.poll(() => page.getByTestId('rule-error').textContent()).toMatch(/^rule 2 \("drop noise"\): match\.text: invalid regex: /);
    expect(await page.getByTestId('rule-match-text').getAttribute('class')).toMatch(/invalid/);
    expect(await ruleNames(page)).toEqual(['mask token']);
    await page.getByTestId('rule-match-text').fill('noise');
    await page.getByTestId('rule-save').click();
    await until('the drop rule in the list', () => ruleNames(page), (n) => n.length === 2);

    // A break, and a close rule that comes first but matches nothing sent here.
    await page.getByTestId('rule-add').click();
    await fillRule(page, { name: 'hold orders', text: '/^order/', action: 'break' });
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-add').click();
    await fillRule(page, { name: 'refuse cafe', direction: 'both', hexMode: 'startsWith', hex: 'ca fe', action: 'close', code: '4001', reason: 'no cafe' });
    await page.getByTestId('rule-save').click();
    await until('four rules', () => ruleNames(page), (n) => n.length === 4);
    // Order matters: move the close rule to the top.
    for (const at of [4, 3, 2]) {
      await page.locator(`[data-testid=rule-item][data-index="${at}"] [data-testid=rule-up]`).click();
      await until(`the close rule at ${at - 1}`, () => ruleNames(page), (n) => n.indexOf('refuse cafe') === at - 2);
    }
    expect(await ruleNames(page)).toEqual(['refuse cafe', 'mask token', 'drop noise', 'hold orders']);
    expect(await page.locator('[data-testid=rule-summary]').allTextContents()).toEqual([
      'starts ca fe ⇒ close 4001 "no cafe"',
      '$.token exists ⇒ set $.token = "REDACTED"',
      'text "noise" ⇒ drop',
      'text /^order/ ⇒ break',
    ]);

    // The form open over a few rules, for the screenshot.
    await page.getByTestId('rule-add').click();
    await fillRule(page, { name: 'v1 → v2', direction: 'server', text: '/"v":1/', action: 'replace-text', find: '/"v":1/g', with: '"v":2' });
    await shot(page, 'rules-dark');
    await page.getByTestId('rule-cancel').click();

    const ws = await app(address);
    ws.send('{"token":"abc","x":1}');
    ws.send('noise');
    ws.send('order 7');
    // Held by its rule, in the Held tab.
    await page.locator('[data-testid=held-item]').waitFor();
    expect(await page.getByTestId('held-rule').textContent()).toMatch(/held by rule hold orders/);
    expect(await page.getByTestId('held-input').inputValue()).toBe('order 7');
    expect(server.received.map((m) => m.data.toString())).toEqual(['{"token":"REDACTED","x":1}']);
    await page.getByTestId('held-forward').click();
    ws.send('after');
    await until('the server to have three messages', async () => server.received.length, (n) => n === 3);
    // "noise" never arrived; the others in order.
    expect(server.received.map((m) => m.data.toString())).toEqual(['{"token":"REDACTED","x":1}', 'order 7', 'after']);

    // The record names the rule that acted on each.
    await page.locator('[data-testid=connection-item]').first().click();
    const capture = JSON.parse(readFileSync(await download(page, 'export-button', 'cap.wscap.json'), 'utf8')) as CaptureFileJson;
    const marks = capture.connections.flatMap((c) => c.frames.flatMap((f) => (f.intervention?.decision ? [[f.intervention.decision, f.intervention.rule]] : [])));
    expect(marks).toEqual([
      ['replaced', 'mask token'],
      ['dropped', 'drop noise'],
      ['forwarded', 'hold orders'],
    ]);

    // Off, a rule does nothing: noise goes through.
    await page.getByTestId('rules-tab').click();
    await page.locator('[data-testid=rule-item][data-index="3"] [data-testid=rule-enabled]').click();
    await page.locator('[data-testid=rule-item][data-index="3"][data-enabled=false]').waitFor();
    ws.send('noise');
    await until('the noise at the server', async () => server.received.length, (n) => n === 4);
    expect(server.received.at(-1)!.data.toString()).toBe('noise');
    await page.locator('[data-testid=rule-item][data-index="3"] [data-testid=rule-enabled]').click();
    await page.locator('[data-testid=rule-item][data-index="3"][data-enabled=true]').waitFor();

    // Saved as a file, the CLI loads it and the same rules act.
    const rulesFile = await download(page, 'rules-export', 'rules.json');
    const saved = JSON.parse(readFileSync(rulesFile, 'utf8')) as { version: number; rules: Array<{ name: string }> };
    expect(saved.version).toBe(1);
    expect(saved.rules.map((r) => r.name)).toEqual(['refuse cafe', 'mask token', 'drop noise', 'hold orders']);
    const cliServer = await startWsServer({ echo: false });
    cleanup.push(() => cliServer.close());
    const capturePath = join(mkdtempSync(join(tmpdir(), 'framescope-rules-cli-')), 'cap.json');
    const proc: CliProcess = spawnCli(['proxy', '--listen', '0', '--quiet', '--target', cliServer.url, '--rules', rulesFile, '--capture', capturePath]);
    cleanup.push(() => void proc.child.kill('SIGKILL'));
    const port = Number(/:(\d+),/.exec(await proc.waitForLine(/listening on/, { stream: 'stderr' }))![1]);
    const viaCli = await app(`ws://127.0.0.1:${port}/`);
    viaCli.send('noise');
    viaCli.send('{"token":"xyz"}');
    await cliServer.waitForMessages(1);
    const closed = new Promise<number>((resolve) => viaCli.once('close', (code) => resolve(code)));
    viaCli.send(Buffer.from([0xca, 0xfe, 1]));
    expect(await closed).toBe(4001);
    expect(cliServer.received.map((m) => m.data.toString())).toEqual(['{"token":"REDACTED"}']);
    const r = await proc.stop('SIGINT');
    expect(r.code, r.stderr).toBe(0);
    // --quiet prints no line a rule's action: the capture names the rule that dropped it
    const cap = JSON.parse(readFileSync(capturePath, 'utf8')) as CaptureFileJson;
    const noise = cap.connections[0]!.frames.find((f) => f.opcode === 1 && Buffer.from(f.payload, 'base64').toString() === 'noise');
    expect(noise?.intervention).toMatchObject({ decision: 'dropped', rule: 'drop noise' });
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('loads a rules file (a bad one is refused with the file\'s name), edits a rule, light theme', async () => {
    const page = await openUi('light');
    await page.getByTestId('rules-tab').click();
    const dir = mkdtempSync(join(tmpdir(), 'framescope-rules-load-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"rules": [{"direction": "up", "action": {"type": "drop"}}]}');
    await page.getByTestId('rules-import-file').setInputFiles(bad);
    await expect.poll(() => page.locator('[data-testid=notice][data-level=error]').allTextContents()).toContainEqual(expect.stringMatching(/bad\.json: rule 1: direction: /));
    // The example of docs/rules.md.
    await page.getByTestId('rules-import-file').setInputFiles(join(process.cwd(), 'docs', 'rules.example.json'));
    await until('the example\'s rules', () => ruleNames(page), (n) => n.length === 7);
    expect(await page.locator('[data-testid=rule-item][data-enabled=false]').count()).toBe(1);
    // Edit one: its form shows it as written.
    await page.locator('[data-testid=rule-item][data-index="4"] [data-testid=rule-edit]').click();
    expect(await page.getByTestId('rule-name').inputValue()).toBe('slow prices');
    expect(await page.getByTestId('rule-match-json-path').inputValue()).toBe('$.type');
    expect(await page.getByTestId('rule-match-json-value').inputValue()).toBe('price');
    expect(await page.getByTestId('rule-action-ms').inputValue()).toBe('250');
    await page.getByTestId('rule-action-ms').fill('0');
    await page.getByTestId('rule-save').click();
    await expect.poll(() => page.getByTestId('rule-error').textContent()).toMatch(/^rule 4 \("slow prices"\): action\.ms: /);
    expect(await page.getByTestId('rule-action-ms').getAttribute('class')).toMatch(/invalid/);
    expect(await page.getByTestId('rule-action-type').getAttribute('class')).not.toMatch(/invalid/);
    // the notices off the form, for the screenshot (one may have timed out already)
    for (const b of await page.locator('[data-testid=notice] button[aria-label=Dismiss]').all()) await b.click({ timeout: 1000 }).catch(() => {});
    await page.getByTestId('rule-error').scrollIntoViewIfNeeded();
    await shot(page, 'rules-light');
    await page.getByTestId('rule-action-ms').fill('500');
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-form').waitFor({ state: 'detached' });
    expect(await page.locator('[data-testid=rule-item][data-index="4"] [data-testid=rule-summary]').textContent()).toBe('$.type = "price" ⇒ delay 500 ms');
    // Delete it; then clear the rest so the next test starts from none.
    await page.locator('[data-testid=rule-item][data-index="4"] [data-testid=rule-delete]').click();
    await until('six rules', () => ruleNames(page), (n) => n.length === 6);
    expect(await ruleNames(page)).not.toContain('slow prices');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
