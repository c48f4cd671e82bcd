// Editing and composing decoded messages in the UI, end to end: the real `framescope serve`
// in headless Chromium, its reverse proxy started from the page in front of one upstream
// HTTP server that speaks Socket.IO (socket.io, at /socket.io/), STOMP 1.2 (a small server on
// `ws`, at /stomp) and MQTT 3.1.1 (aedes, at /mqtt), and the real clients as apps
// (socket.io-client, @stomp/stompjs, mqtt). A breakpoint holds a message; the Decoded editor
// edits it in its protocol's terms; what the peers receive is read at the peers.
// Screenshots go to $FRAMESCOPE_UI_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Server } from 'socket.io';
import { io as ioClient, type Socket } from 'socket.io-client';
import { Client } from '@stomp/stompjs';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { launchChromium, openPage, startServe, until, type Serve } from './harness';
import { httpServer } from '../decoders/proxy-helpers';

const SHOTS = process.env.FRAMESCOPE_UI_SHOTS ?? join(tmpdir(), 'framescope-ui-e2e');

let serve: Serve;
let browser: Browser;
let page: Page;
let proxyAddress: string;
let upstreamPort: number;
const pageErrors: string[] = [];
const cleanup: Array<() => Promise<unknown> | unknown> = [];

/** What the upstream peers received. */
const got = { sio: [] as unknown[][], stomp: [] as Array<{ command: string; headers: Record<string, string>; body: string }> };

async function upstream(): Promise<number> {
  const http = await httpServer();
  cleanup.push(() => http.close());
  // Other paths' upgrades are ours (STOMP, MQTT): engine.io must leave them alone.
  const io = new Server(http.server, { destroyUpgrade: false, pingInterval: 60_000, pingTimeout: 60_000 });
  cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
  io.on('connection', (socket) => {
    socket.on('chat', (arg: unknown, ack?: (v: unknown) => void) => (got.sio.push(['chat', arg]), ack?.({ heard: arg })));
    socket.on('chat-edited', (arg: unknown, ack?: (v: unknown) => void) => (got.sio.push(['chat-edited', arg]), ack?.({ heard: arg })));
    socket.on('upload', (name: unknown, data: unknown) => got.sio.push(['upload', name, Buffer.isBuffer(data) ? [...data] : data]));
    socket.on('composed', (...args: unknown[]) => got.sio.push(['composed', ...args]));
  });
  const aedes = await Aedes.createBroker();
  cleanup.push(() => new Promise((r) => aedes.close(() => r(undefined))));
  const mqttWss = new WebSocketServer({ noServer: true });
  mqttWss.on('connection', (ws, req) => aedes.handle(createWebSocketStream(ws) as never, req as never));
  const stompWss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('v12.stomp') ? 'v12.stomp' : false) });
  stompWss.on('connection', (ws) => {
    ws.on('message', (b: Buffer) => {
      const text = b.toString();
      if (/^\r?\n$/.test(text)) return;
      const [head = '', body = ''] = text.replace(/\0[\r\n]*$/, '').split('\n\n');
      const [command = '', ...lines] = head.split('\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
      if (command === 'CONNECT' || command === 'STOMP') return ws.send('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0');
      got.stomp.push({ command, headers, body });
    });
  });
  for (const wss of [mqttWss, stompWss]) cleanup.push(() => (wss.clients.forEach((c) => c.terminate()), new Promise((r) => wss.close(r))));
  http.server.on('upgrade', (req, socket, head) => {
    const wss = req.url?.startsWith('/mqtt') ? mqttWss : req.url?.startsWith('/stomp') ? stompWss : null;
    if (wss) wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  return http.port;
}

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
  let port: number;
  [serve, port] = await Promise.all([startServe(), upstream()]);
  upstreamPort = port;
  page = await openPage(await browser.newContext({ viewport: { width: 1440, height: 1000 }, colorScheme: 'dark' }), serve.url, pageErrors);
  await page.getByTestId('proxy-listen').fill('127.0.0.1:0');
  await page.getByTestId('proxy-target').fill(`ws://127.0.0.1:${port}`);
  await page.getByTestId('proxy-start').click();
  proxyAddress = (await page.getByTestId('proxy-address').textContent())!.trim();
  await page.getByTestId('intercept-scope-all').click();
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await serve?.stop();
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Holds the client's messages that match `condition` (on every connection). */
async function breakOn(condition: string): Promise<void> {
  if (await page.getByTestId('intercept-client').isChecked()) {
    await page.getByTestId('intercept-client').click();
    await page.locator('[data-testid=intercept-client]:not(:checked)').waitFor();
  }
  await page.getByTestId('intercept-condition-client').fill(condition);
  await page.getByTestId('intercept-client').click();
  await page.locator('[data-testid=intercept-client]:checked').waitFor();
}

/** Opens the held message in the Decoded editor. */
async function editDecoded(): Promise<void> {
  await page.locator('[data-testid=held-item]').first().click();
  await page.locator('[data-testid=held-format-decoded]:not([disabled])').click();
  await held().getByTestId('form-editor').waitFor();
}

/** The held message's editor (the composer has fields of the same names). */
const held = () => page.getByTestId('held-editor');

async function previewText(): Promise<string[]> {
  return page.locator('[data-testid=held-decoded-preview-message]').allTextContents();
}

const httpOf = (ws: string) => ws.replace(/^ws/, 'http').replace(/\/$/, '');

async function sioClient(): Promise<Socket> {
  const socket = ioClient(httpOf(proxyAddress), { transports: ['websocket'], reconnection: false });
  cleanup.push(() => socket.disconnect());
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  return socket;
}

describe('editing decoded messages in the UI', () => {
  it('Socket.IO: an event held, its name and args edited; the server gets it and its ack reaches the client\'s callback', async () => {
    await breakOn('text:/chat/');
    const socket = await sioClient();
    const answer = socket.timeout(60_000).emitWithAck('chat', { msg: 'hi' });
    await editDecoded();
    expect(await held().getByTestId('form-sio-event').inputValue()).toBe('chat');
    expect(await held().getByTestId('form-sio-args').inputValue()).toBe('[{"msg":"hi"}]');
    expect(await held().getByTestId('form-sio-id').inputValue()).toBe('0');
    // Bad JSON: the engine's one-line complaint, and Forward is off.
    await held().getByTestId('form-sio-args').fill('[{"msg":');
    await until('the error', () => page.getByTestId('held-decoded-preview-error').textContent(), (t) => /^args: not JSON/.test(t ?? ''));
    expect(await page.getByTestId('held-forward').isDisabled()).toBe(true);
    await held().getByTestId('form-sio-event').fill('chat-edited');
    await held().getByTestId('form-sio-args').fill('[{"msg":"edited"}]');
    await until('the preview', previewText, (t) => t.some((x) => x.endsWith('420["chat-edited",{"msg":"edited"}]')));
    await shot(page, 'held-decoded-socket-io');
    await page.getByTestId('held-forward').click();
    expect(await answer).toEqual({ heard: { msg: 'edited' } });
    expect(got.sio).toContainEqual(['chat-edited', { msg: 'edited' }]);
    expect(got.sio.some((g) => g[0] === 'chat')).toBe(false);
  }, 120_000);

  it('Socket.IO: a binary event\'s args edited; its attachment follows intact; a placeholder cannot be removed', async () => {
    await breakOn('text:/upload/');
    const socket = await sioClient();
    socket.emit('upload', 'a.bin', Buffer.from([0, 1, 2, 255]));
    await editDecoded();
    expect(await held().getByTestId('form-sio-type').inputValue()).toBe('BINARY_EVENT');
    expect(await held().getByTestId('form-sio-args').inputValue()).toBe('["a.bin",{"_placeholder":true,"num":0}]');
    await held().getByTestId('form-sio-args').fill('["renamed.bin"]');
    await until('the refusal', () => page.getByTestId('held-decoded-preview-error').textContent(), (t) => /cannot be added or removed/.test(t ?? ''));
    await held().getByTestId('form-sio-args').fill('["renamed.bin",{"_placeholder":true,"num":0}]');
    await until('the preview', previewText, (t) => t.length === 1 && t[0]!.includes('451-[') && t[0]!.includes('renamed.bin'));
    await page.getByTestId('held-forward').click();
    await until('the upload at the server', async () => got.sio, (g) => g.some((x) => x[0] === 'upload'));
    expect(got.sio.find((x) => x[0] === 'upload')).toEqual(['upload', 'renamed.bin', [0, 1, 2, 255]]);
  }, 120_000);

  it('Socket.IO: the composer composes an event with an attachment; the server\'s handler gets it', async () => {
    await breakOn('text:/nothing-matches-this/');
    await sioClient();
    await page.locator('[data-testid=connection-item][data-state=open]').last().click();
    await page.locator('[data-testid=composer-mode-decoded]').click();
    await page.getByRole('region', { name: 'Composer' }).getByTestId('form-editor').waitFor();
    await page.getByRole('region', { name: 'Composer' }).getByTestId('form-sio-type').selectOption('BINARY_EVENT');
    await page.getByRole('region', { name: 'Composer' }).getByTestId('form-sio-event').fill('composed');
    await page.getByRole('region', { name: 'Composer' }).getByTestId('form-sio-args').fill('[1,{"_placeholder":true,"num":0}]');
    await page.getByRole('region', { name: 'Composer' }).getByTestId('form-sio-attachments').fill('ca fe');
    await until('the preview', () => page.locator('[data-testid=composer-decoded-preview-message]').allTextContents(), (t) => t.length === 2);
    await shot(page, 'composer-decoded-socket-io');
    await page.getByTestId('composer-toward-server').click();
    await page.getByTestId('send-button').click();
    await until('the composed event at the server', async () => got.sio, (g) => g.some((x) => x[0] === 'composed'));
    const composed = got.sio.find((x) => x[0] === 'composed')!;
    expect(composed[1]).toBe(1);
    expect([...(composed[2] as Buffer)]).toEqual([0xca, 0xfe]);
  }, 120_000);

  it('STOMP: a SEND\'s header edited and one added; the server gets them, content-length true', async () => {
    await breakOn('text:/^SEND/');
    const client = new Client({
      webSocketFactory: () => new WebSocket(`${proxyAddress}stomp`, ['v12.stomp']),
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      reconnectDelay: 0,
    });
    const connected = new Promise<void>((r) => (client.onConnect = () => r()));
    client.activate();
    cleanup.push(() => client.deactivate());
    await connected;
    client.publish({ destination: '/queue/a', body: 'hello' });
    await editDecoded();
    expect(await held().getByTestId('form-stomp-command').inputValue()).toBe('SEND');
    await held().getByTestId('form-stomp-header-value').first().fill('/queue/edited');
    await held().getByTestId('form-stomp-header-add').click();
    await held().getByTestId('form-stomp-header-name').last().fill('x-note');
    await held().getByTestId('form-stomp-header-value').last().fill('a:b');
    await held().getByTestId('form-stomp-body').fill('hello, world');
    await until('the preview', previewText, (t) => t.length === 1 && t[0]!.includes('x-note:a\\cb\n') && t[0]!.endsWith('hello, world␀'));
    await shot(page, 'held-decoded-stomp');
    await page.getByTestId('held-forward').click();
    await until('the SEND at the server', async () => got.stomp, (g) => g.length === 1);
    expect(got.stomp[0]!.headers).toMatchObject({ destination: '/queue/edited', 'content-length': '12', 'x-note': 'a\\cb' });
    expect(got.stomp[0]!.body).toBe('hello, world');
  }, 120_000);

  it('MQTT: a PUBLISH\'s topic edited through aedes reaches a subscriber of the new topic', async () => {
    // PUBLISH QoS 0 (its first byte 0x30) from the client.
    await breakOn('binary hex:^30');
    // The subscriber talks to the broker directly: only the publisher goes through Framescope.
    const subscriber = await mqtt.connectAsync(`ws://127.0.0.1:${upstreamPort}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanup.push(() => subscriber.endAsync());
    const delivered: Array<[string, string]> = [];
    subscriber.on('message', (topic, payload) => delivered.push([topic, payload.toString()]));
    await subscriber.subscribeAsync(['new/topic', 'old/topic']);
    // The publisher writes each packet whole in one message, as mqtt.js does in a browser (in
    // Node it writes a PUBLISH's header and payload as two messages: a part of a packet is
    // no form, see docs/guide.md).
    const publisher = new WebSocket(`${proxyAddress}mqtt`, ['mqtt']);
    cleanup.push(() => publisher.terminate());
    await new Promise((resolve, reject) => (publisher.once('open', resolve), publisher.once('error', reject)));
    const connack = new Promise((resolve) => publisher.once('message', resolve));
    publisher.send(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'pub', clean: true, keepalive: 0 }));
    await connack;
    publisher.send(generate({ cmd: 'publish', topic: 'old/topic', payload: Buffer.from('payload one'), qos: 0, retain: false, dup: false }));
    await editDecoded();
    expect(await held().getByTestId('form-mqtt-topic').inputValue()).toBe('old/topic');
    await held().getByTestId('form-mqtt-topic').fill('new/topic');
    await held().getByTestId('form-mqtt-payload').fill('payload edited');
    await until('the preview', previewText, (t) => t.length === 1);
    await shot(page, 'held-decoded-mqtt');
    await page.getByTestId('held-forward').click();
    await until('the message at the subscriber', async () => delivered, (d) => d.length === 1);
    expect(delivered).toEqual([['new/topic', 'payload edited']]);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`) });
}
