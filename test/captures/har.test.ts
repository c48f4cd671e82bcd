// HAR export and import (docs/contracts.md "HAR export"; issue 4): Framescope's HAR is Chrome
// DevTools' WebSocket entry shape plus `_framescope` keys, and reads back to the same
// capture; HARs that Chromium (through CDP, see chrome-har.ts) and HTTP Toolkit write
// import as connections with reconstructed frames.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { CaptureFile } from '../../shared/model';
import { readCapture } from '../../main/engine/recording/capture-reader';
import { runCli } from '../peers/cli';
import { startWsServer } from '../peers/ws-servers';
import { rawFrame, rawScript, type BadServer } from '../peers/bad-servers';
import { launchChromium, recordHar, servePage } from './chrome-har';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-har-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
async function peer<T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const s = await p;
  cleanup.push(() => s.close());
  return s;
}

interface HarRow {
  type: string;
  time: number;
  opcode: number;
  data: string;
  _framescope?: { frames: number[] };
}
interface HarEntry {
  _resourceType: string;
  request: { url: string; method: string; headers: Array<{ name: string; value: string }> };
  response: { status: number; statusText: string };
  _webSocketMessages: HarRow[];
  _webSocketClose?: { code?: number; reason: string; timestamp?: number; by: string; clean: boolean };
  _framescope?: { connection: unknown; frames: unknown[] };
  startedDateTime: string;
}
const entriesOf = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { log: { entries: HarEntry[]; pages: unknown[] } }).log;

async function cli(args: string[]): Promise<void> {
  const r = await runCli(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

describe('HAR export (Chrome DevTools shape)', () => {
  it('one websocket entry per connection, data messages as rows, control frames and frame detail under _framescope; reads back to the same capture', async () => {
    const server = await peer(startWsServer({ perMessageDeflate: true }));
    const d = tmp();
    const cap = join(d, 'session.wscap.json');
    await cli([
      'connect', `${server.url}/chat?room=7`, '--send', 'hello', '--send-hex', '00ff', '--send', 'x'.repeat(300), '--fragment', '50',
      '--ping', 'hi', '--expect', '3', '--close', '4000:done', '--capture', cap, '--json',
    ]);
    const har = join(d, 'session.har');
    await cli(['export', cap, '--format', 'har', '-o', har]);
    const log = entriesOf(har);
    expect(log.pages).toEqual([]);
    expect(log.entries).toHaveLength(1);
    const e = log.entries[0]!;
    const original = readCapture(cap).connections[0]!;
    expect(e._resourceType).toBe('websocket');
    expect(e.request.url).toBe(`${server.url}/chat?room=7`);
    expect(e.request.headers.map((h) => [h.name, h.value])).toEqual(original.handshake!.request.headers);
    expect(e.response).toMatchObject({ status: 101, statusText: 'Switching Protocols' });
    // Rows: data messages only, send = what the client sent, text as text, binary as base64, time in seconds.
    expect(e._webSocketMessages.map((m) => [m.type, m.opcode, m.data])).toEqual([
      ['send', 1, 'hello'], ['send', 2, 'AP8='], ['send', 1, 'x'.repeat(300)],
      ['receive', 1, 'hello'], ['receive', 2, 'AP8='], ['receive', 1, 'x'.repeat(300)],
    ]);
    const sent = original.frames.find((f) => f.from === 'client' && f.opcode === 1)!;
    expect(e._webSocketMessages[0]!.time).toBeCloseTo(sent.time / 1000, 6);
    expect(e._webSocketMessages[0]!._framescope!.frames).toEqual([sent.seq]);
    expect(e._webSocketClose).toEqual({ code: 4000, reason: 'done', timestamp: original.endedAt! / 1000, by: 'client', clean: true });
    expect(e._framescope!.frames).toHaveLength(original.frames.length);

    // HAR → import → export json: byte for byte the capture we started from.
    const back = join(d, 'back.wscap.json');
    await cli(['import', har, '-o', back]);
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(cap, 'utf8'));
  });
});

describe('HAR import from real Chromium (CDP Network.webSocket* events)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('imports a page talking to ws and a server sending bad UTF-8 ("error" row, opcode -1), and exports it again', async () => {
    const server = await peer(startWsServer({}));
    const bad = await peer<BadServer>(rawScript([{ write: rawFrame({ opcode: 1, payload: Buffer.from([0x68, 0xff, 0xfe]) }) }]));
    const script = `new Promise((resolve) => {
      let closed = 0;
      const done = () => { if (++closed === 2) resolve(true); };
      const a = new WebSocket(${JSON.stringify(`${server.url}/chrome?x=1`)});
      a.binaryType = 'arraybuffer';
      let got = 0;
      a.onopen = () => { a.send('hello from chromium'); a.send(new Uint8Array([0, 1, 2, 255])); a.send('third'); };
      a.onmessage = () => { if (++got === 3) a.close(1000, 'done'); };
      a.onclose = done;
      const b = new WebSocket(${JSON.stringify(`${bad.url}/bad`)});
      b.onclose = done;
      b.onerror = () => {};
    })`;
    const page = await peer(servePage());
    const har = await recordHar(browser, page.url, script);
    const d = tmp();
    const harFile = join(d, 'chromium.har');
    writeFileSync(harFile, JSON.stringify(har, null, 2));

    const cap = join(d, 'chromium.wscap.json');
    const r = await runCli(['import', harFile, '-o', cap]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/2 connections, 6 frames \(from a har\)/);
    const c = readCapture(cap);
    const [a, b] = c.connections;
    expect(a!.url).toBe(`${server.url}/chrome?x=1`);
    expect(a!.mode).toBe('client');
    expect(a!.handshake!.request.target).toBe('/chrome?x=1');
    expect(a!.handshake!.response!.status).toBe(101);
    expect(a!.handshake!.accept.valid).toBe(true);
    expect(a!.frames.map((f) => [f.from, f.opcode, f.masked, f.maskKey && Buffer.from(f.maskKey).toString('hex'), f.reconstructed])).toEqual([
      ['client', 1, true, '00000000', true], ['client', 2, true, '00000000', true], ['client', 1, true, '00000000', true],
      ['server', 1, false, null, true], ['server', 2, false, null, true], ['server', 1, false, null, true],
    ]);
    expect(Buffer.from(a!.frames[1]!.payload)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(a!.frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a!.errors[0]).toMatch(/^reconstructed from a HAR written by WebInspector/);
    expect(b!.frames).toEqual([]);
    expect(b!.errors.join('\n')).toMatch(/error reported by WebInspector at .*UTF-8/);
    // What the server got is what the HAR says was sent.
    expect(server.received.map((m) => m.data.toString('hex'))).toEqual([
      Buffer.from('hello from chromium').toString('hex'), '000102ff', Buffer.from('third').toString('hex'),
    ]);

    // Exported again as HAR and imported: the same capture (the _framescope keys carry it).
    await cli(['export', cap, '--format', 'har', '-o', join(d, 'again.har')]);
    const again = entriesOf(join(d, 'again.har'));
    expect(again.entries[0]!._webSocketMessages.filter((m) => m.type !== 'error').map((m) => [m.type, m.opcode, m.data])).toEqual([
      ['send', 1, 'hello from chromium'], ['send', 2, 'AAEC/w=='], ['send', 1, 'third'],
      ['receive', 1, 'hello from chromium'], ['receive', 2, 'AAEC/w=='], ['receive', 1, 'third'],
    ]);
    expect(again.entries[1]!._webSocketMessages.filter((m) => m.type === 'error').map((m) => m.opcode)).toEqual([-1, -1]);
    await cli(['import', join(d, 'again.har'), '-o', join(d, 'again.wscap.json')]);
    expect(readCapture(join(d, 'again.wscap.json'))).toEqual(c);
    // And as pcapng, the reconstructed frames are a TCP stream too.
    await cli(['export', cap, '--format', 'pcapng', '-o', join(d, 'chromium.pcapng')]);
  }, 60_000);
});

describe('HAR import from other tools', () => {
  // Written by hand from HTTP Toolkit's HAR writer (httptoolkit-ui src/model/http/har.ts:
  // generateHarHttpEntry / generateHarWebSocketMessage): lower-case header names, message
  // time in epoch seconds, `_webSocketClose: {code, reason, timestamp}`.
  const httpToolkit = {
    log: {
      version: '1.2',
      creator: { name: 'HTTP Toolkit', version: '1.19.0' },
      pages: [{ id: 'Chrome 120', title: 'Chrome 120', startedDateTime: '2026-03-01T10:00:00.000Z', pageTimings: {} }],
      entries: [
        {
          pageref: 'Chrome 120',
          startedDateTime: '2026-03-01T10:00:00.000Z',
          time: 2500,
          request: {
            method: 'GET',
            url: 'https://echo.example.test/socket',
            httpVersion: 'HTTP/1.1',
            cookies: [],
            headers: [
              { name: 'host', value: 'echo.example.test' },
              { name: 'upgrade', value: 'websocket' },
              { name: 'connection', value: 'Upgrade' },
              { name: 'sec-websocket-key', value: 'dGhlIHNhbXBsZSBub25jZQ==' },
              { name: 'sec-websocket-version', value: '13' },
            ],
            queryString: [],
            headersSize: -1,
            bodySize: 0,
          },
          response: {
            status: 101,
            statusText: 'Switching Protocols',
            httpVersion: 'HTTP/1.1',
            cookies: [],
            headers: [
              { name: 'upgrade', value: 'websocket' },
              { name: 'connection', value: 'Upgrade' },
              { name: 'sec-websocket-accept', value: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' },
            ],
            content: { mimeType: 'application/octet-stream', size: 0, text: '' },
            redirectURL: '',
            headersSize: -1,
            bodySize: 0,
          },
          cache: {},
          timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 1, wait: 12, receive: 0 },
          _resourceType: 'websocket',
          _webSocketMessages: [
            { type: 'send', opcode: 1, data: '{"op":"subscribe"}', time: 1772359200.1 },
            { type: 'receive', opcode: 2, data: 'AAECAw==', time: 1772359200.2501 },
          ],
          _webSocketClose: { code: 1001, reason: 'bye', timestamp: 1772359202.5 },
        },
        {
          startedDateTime: '2026-03-01T10:00:01.000Z',
          time: 5,
          request: { method: 'GET', url: 'https://echo.example.test/page.html', httpVersion: 'HTTP/1.1', cookies: [], headers: [], queryString: [], headersSize: -1, bodySize: 0 },
          response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { mimeType: 'text/html', size: 5, text: 'hello' }, redirectURL: '', headersSize: -1, bodySize: 5 },
          cache: {},
          timings: { send: 0, wait: 5, receive: 0 },
        },
      ],
    },
  };

  it('imports HTTP Toolkit WebSocket entries (proxy mode, wss URL, close with code and time), skipping plain HTTP entries', async () => {
    const d = tmp();
    writeFileSync(join(d, 'toolkit.har'), JSON.stringify(httpToolkit));
    await cli(['import', join(d, 'toolkit.har'), '-o', join(d, 'toolkit.json')]);
    const c = readCapture(join(d, 'toolkit.json')) as CaptureFile;
    expect(c.connections).toHaveLength(1);
    const k = c.connections[0]!;
    expect(k).toMatchObject({ mode: 'proxy', url: 'wss://echo.example.test/socket', startedAt: Date.parse('2026-03-01T10:00:00.000Z'), endedAt: 1772359202500 });
    expect(k.handshake!.accept).toMatchObject({ valid: true, received: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' });
    expect(k.handshake!.responseAt).toBe(k.startedAt + 13);
    expect(k.close).toEqual({ code: 1001, reason: 'bye', by: 'transport', clean: false, reconstructed: true });
    expect(k.frames.map((f) => [f.time, f.from, f.opcode, Buffer.from(f.payload).toString('hex')])).toEqual([
      [1772359200100, 'client', 1, Buffer.from('{"op":"subscribe"}').toString('hex')],
      [1772359200250.1, 'server', 2, '00010203'],
    ]);
  });

  it('bad HARs: one line naming what and where', async () => {
    const d = tmp();
    const broken = structuredClone(httpToolkit) as { log: { entries: Array<{ _webSocketMessages?: unknown[] }> } };
    broken.log.entries[0]!._webSocketMessages![1] = { type: 'receive', opcode: 2, data: 'not base64!', time: 1 };
    writeFileSync(join(d, 'bad.har'), JSON.stringify(broken));
    let r = await runCli(['import', join(d, 'bad.har'), '-o', join(d, 'x.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`framescope: ${join(d, 'bad.har')}: "data" must be base64 for opcode 2 (only text, opcode 1, is written as text) at log.entries[0]._webSocketMessages[1]\n`);
    writeFileSync(join(d, 'cut.har'), JSON.stringify(httpToolkit).slice(0, 1500));
    r = await runCli(['import', join(d, 'cut.har'), '-o', join(d, 'x.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^framescope: .*cut\.har: the file ends too early \(truncated\?\) at log\.entries\[\d\]\..*, line 1, column \d+\n$/);
  });
});
