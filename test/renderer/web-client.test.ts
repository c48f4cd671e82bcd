// The web transport to `framescope serve`: the bridge URL from the page's token, request
// ids and the pending map, pushes, and reconnecting with backoff (timers are the test's).
import { describe, expect, it } from 'vitest';
import type { BridgeRequest } from '../../shared/contract';
import { bridgeUrl, createWebClient, MissingTokenError, type SocketLike } from '../../renderer/src/transport/web-client';
import type { TransportStatus } from '../../renderer/src/transport/types';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: BridgeRequest[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data) as BridgeRequest);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const statuses: TransportStatus[] = [];
  const delays: number[] = [];
  const client = createWebClient(
    { protocol: 'http:', host: '127.0.0.1:5000', search: '?token=s3cr%2Bt' },
    {
      socket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      initialDelayMs: 100,
      maxDelayMs: 1000,
      requestTimeoutMs: 0,
      setTimer: (fn, ms) => {
        const t = { fn, ms, cleared: false };
        timers.push(t);
        delays.push(ms);
        return t;
      },
      clearTimer: (h) => void ((h as { cleared: boolean }).cleared = true),
    },
  );
  client.onStatus((s) => statuses.push(s));
  const runTimers = () => {
    for (const t of timers.splice(0)) if (!t.cleared) t.fn();
  };
  return { client, sockets, timers, delays, statuses, runTimers, last: () => sockets[sockets.length - 1]! };
}

describe('bridge URL', () => {
  it('is the page host with ws(s) and the token', () => {
    expect(bridgeUrl({ protocol: 'http:', host: '127.0.0.1:5000', search: '?token=a+b' })).toBe('ws://127.0.0.1:5000/bridge?token=a%20b');
    expect(bridgeUrl({ protocol: 'https:', host: 'x:1', search: '?token=t' })).toBe('wss://x:1/bridge?token=t');
    expect(() => bridgeUrl({ protocol: 'http:', host: 'x', search: '' })).toThrow(MissingTokenError);
  });
});

describe('requests and pushes', () => {
  it('queues until open, then matches responses by id', async () => {
    const { client, last } = setup();
    expect(last().url).toBe('ws://127.0.0.1:5000/bridge?token=s3cr%2Bt');
    expect(client.status().state).toBe('connecting');
    const snap = client.snapshot();
    const frames = client.frames({ connection: 'c1', from: 0, to: 10 });
    expect(last().sent).toEqual([]);
    last().open();
    expect(client.status()).toEqual({ state: 'open' });
    expect(last().sent.map((r) => [r.command, r.arg])).toEqual([
      ['snapshot', {}],
      ['frames', { connection: 'c1', from: 0, to: 10 }],
    ]);
    const [a, b] = last().sent;
    last().receive({ id: b!.id, ok: true, result: [] });
    last().receive({ id: a!.id, ok: false, error: 'nope' });
    await expect(frames).resolves.toEqual([]);
    await expect(snap).rejects.toMatchObject({ code: 'engine', message: 'nope' });
  });

  it('hands pushed batches to every listener, in order, and ignores junk', () => {
    const { client, last } = setup();
    last().open();
    const got: unknown[] = [];
    const off = client.onEvents((e) => got.push(e));
    last().receive({ events: [{ type: 'cleared' }] });
    last().onmessage?.({ data: 'not json' });
    last().onmessage?.({ data: new ArrayBuffer(3) });
    last().receive({ id: 999, ok: true, result: 1 });
    last().receive({ events: [{ type: 'proxy', status: null }] });
    off();
    last().receive({ events: [{ type: 'cleared' }] });
    expect(got).toEqual([[{ type: 'cleared' }], [{ type: 'proxy', status: null }]]);
  });
});

describe('reconnect', () => {
  it('says it is disconnected, retries with growing delays, and rejects only what was sent', async () => {
    const { client, sockets, timers, statuses, runTimers, last } = setup();
    last().open();
    const inFlight = client.snapshot();
    last().drop(1006);
    await expect(inFlight).rejects.toMatchObject({ code: 'disconnected' });
    expect(client.status()).toMatchObject({ state: 'disconnected', attempt: 1, retryInMs: 100 });
    // a request made while down waits for the next socket
    const later = client.caCertificate();
    runTimers();
    expect(sockets).toHaveLength(2);
    expect(client.status()).toMatchObject({ state: 'connecting', attempt: 2 });
    last().drop(1006); // the retry fails too
    expect(client.status()).toMatchObject({ state: 'disconnected', attempt: 2, retryInMs: 200 });
    runTimers();
    last().drop(1006);
    expect(timers.at(-1)!.ms).toBe(400);
    runTimers();
    last().open();
    expect(last().sent.map((r) => r.command)).toEqual(['caCertificate']);
    last().receive({ id: last().sent[0]!.id, ok: true, result: { pem: 'x', fingerprint256: 'y', path: 'z' } });
    await expect(later).resolves.toMatchObject({ pem: 'x' });
    expect(statuses.map((s) => s.state)).toEqual(['open', 'disconnected', 'connecting', 'disconnected', 'connecting', 'disconnected', 'connecting', 'open']);
    // after an open, the backoff starts over
    last().drop(1006);
    expect(client.status()).toMatchObject({ retryInMs: 100 });
  });

  it('caps the delay, and stops for good on dispose', () => {
    const { client, sockets, delays, runTimers, last } = setup();
    for (let i = 0; i < 8; i++) {
      last().drop(1006);
      runTimers();
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    expect(client.status()).toMatchObject({ state: 'connecting' });
    const n = sockets.length;
    client.dispose();
    expect(last().closed).toEqual({ code: 1000, reason: 'page closed' });
    runTimers();
    expect(sockets).toHaveLength(n);
  });
});
