// A HAR from real Chromium: headless Debian chromium (driven by playwright-core) runs a page
// that talks WebSocket, and the Chrome DevTools Protocol's Network.webSocket* events are
// recorded. The HAR writer here is OURS, written from those CDP events in the shape
// DevTools' own HAR writer gives WebSocket entries (devtools-frontend
// front_end/models/har/Log.ts: `_resourceType: "websocket"`, `_webSocketMessages` rows
// {type, time, opcode, data} with time = the frame's wall-clock time in seconds, binary
// payloads base64 as CDP delivers them, and "error" rows with opcode -1 from
// webSocketFrameError). The messages, headers and times are Chromium's.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

interface Socket {
  url: string;
  initiator: unknown;
  wallTime?: number;
  requestTimestamp?: number;
  requestHeaders?: Record<string, string>;
  response?: {
    status: number;
    statusText: string;
    headers: Record<string, string>;
    headersText?: string;
    requestHeaders?: Record<string, string>;
    requestHeadersText?: string;
  };
  responseTimestamp?: number;
  messages: Array<{ type: 'send' | 'receive' | 'error'; time: number; opcode: number; data: string }>;
  closed: boolean;
}

export interface ChromeSession {
  /** runs `script` in the page (it must resolve once its sockets have closed) and returns the HAR */
  run(script: string): Promise<unknown>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

const toList = (h: Record<string, string> | undefined) => Object.entries(h ?? {}).map(([name, value]) => ({ name, value }));

/** The HTTP version on the first line of a raw head, as DevTools takes it. */
const versionOf = (headersText: string | undefined, fallback: string) => (headersText ? (/^\S+ \S+ (HTTP\/\d\.\d)/.exec(headersText)?.[1] ?? /^(HTTP\/\d\.\d)/.exec(headersText)?.[1] ?? fallback) : fallback);

/**
 * Serves an empty page on loopback: Chromium's Local Network Access checks block a public or
 * opaque origin (about:blank) from opening sockets to 127.0.0.1, so the page must be local too.
 */
export async function servePage(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>framescope har test</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function recordHar(browser: Browser, pageUrl: string, script: string): Promise<unknown> {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  const sockets = new Map<string, Socket>();
  const get = (id: string) => sockets.get(id)!;
  cdp.on('Network.webSocketCreated', (e) => {
    sockets.set(e.requestId, { url: e.url, initiator: e.initiator ?? null, messages: [], closed: false });
  });
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const s = get(e.requestId);
    s.wallTime = e.wallTime;
    s.requestTimestamp = e.timestamp;
    s.requestHeaders = e.request.headers as Record<string, string>;
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const s = get(e.requestId);
    s.response = e.response as Socket['response'];
    s.responseTimestamp = e.timestamp;
  });
  // DevTools' pseudoWallTime: the handshake's wall time plus the monotonic time since.
  const wall = (s: Socket, ts: number) => (s.wallTime ?? 0) + (ts - (s.requestTimestamp ?? ts));
  cdp.on('Network.webSocketFrameSent', (e) => {
    const s = get(e.requestId);
    s.messages.push({ type: 'send', time: wall(s, e.timestamp), opcode: e.response.opcode, data: e.response.payloadData });
  });
  cdp.on('Network.webSocketFrameReceived', (e) => {
    const s = get(e.requestId);
    s.messages.push({ type: 'receive', time: wall(s, e.timestamp), opcode: e.response.opcode, data: e.response.payloadData });
  });
  cdp.on('Network.webSocketFrameError', (e) => {
    const s = get(e.requestId);
    s.messages.push({ type: 'error', time: wall(s, e.timestamp), opcode: -1, data: e.errorMessage });
  });
  cdp.on('Network.webSocketClosed', (e) => {
    get(e.requestId).closed = true;
  });
  await cdp.send('Network.enable');
  try {
    await page.goto(pageUrl);
    await page.evaluate(script);
    // The page saw its sockets close; let the CDP events catch up.
    for (let i = 0; i < 100 && [...sockets.values()].some((s) => !s.closed); i++) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await page.close();
  }
  const entries = [...sockets.values()].map((s) => {
    const res = s.response;
    const requestHeaders = res?.requestHeaders ?? s.requestHeaders;
    const wait = res && s.responseTimestamp !== undefined && s.requestTimestamp !== undefined ? (s.responseTimestamp - s.requestTimestamp) * 1000 : -1;
    const url = new URL(s.url);
    // Key order as DevTools' Entry.build writes them.
    return {
      _initiator: s.initiator,
      _priority: null,
      _resourceType: 'websocket',
      _webSocketMessages: s.messages,
      cache: {},
      request: {
        method: 'GET',
        url: s.url,
        httpVersion: versionOf(res?.requestHeadersText, 'HTTP/1.1'),
        headers: toList(requestHeaders),
        queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
        cookies: [],
        headersSize: res?.requestHeadersText ? res.requestHeadersText.length : -1,
        bodySize: 0,
      },
      response: {
        status: res?.status ?? 0,
        statusText: res?.statusText ?? '',
        httpVersion: versionOf(res?.headersText, ''),
        headers: toList(res?.headers),
        cookies: [],
        content: { size: 0, mimeType: 'x-unknown' },
        redirectURL: '',
        headersSize: res?.headersText ? res.headersText.length : -1,
        bodySize: 0,
        _transferSize: 0,
        _error: null,
      },
      serverIPAddress: '',
      startedDateTime: new Date((s.wallTime ?? 0) * 1000).toJSON(),
      time: Math.max(wait, 0),
      timings: { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait, receive: 0, _blocked_queueing: -1 },
    };
  });
  return { log: { version: '1.2', creator: { name: 'WebInspector', version: '537.36' }, pages: [], entries } };
}
