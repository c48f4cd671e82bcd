// @vitest-environment happy-dom
// Components, rendered with React into happy-dom, fed by the in-memory fake engine: the
// hex and bit views, the Accept verdict, the virtualized frame list with its data hooks,
// and the whole app from connect to send to a frame's hex.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createElement as h, type ReactElement } from 'react';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { utf8Encode } from '../../shared/bytes';
import { buildClientRequest, buildServerResponse, checkResponse, assembleHandshake } from '../../shared/codec/handshake';
import type { ConnectionSummary } from '../../shared/contract';
import { HexView } from '../../renderer/src/components/HexView';
import { HeaderBits } from '../../renderer/src/components/HeaderBits';
import { HandshakePanel } from '../../renderer/src/components/HandshakePanel';
import { App } from '../../renderer/src/components/App';
import { FakeEngine } from '../../renderer/src/dev/fake-engine';
import { sha1 } from '../../renderer/src/dev/sha1';
import { applyEvents } from '../../renderer/src/store/apply-events';
import { bindClient, resetActions } from '../../renderer/src/store/actions';
import { resetStore, useAppStore } from '../../renderer/src/store/store';
import { rows, summary } from './helpers';

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean;
}

let root: Root | null = null;
let container: HTMLElement;
const unbind: Array<() => void> = [];

beforeAll(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  // happy-dom does no layout: give the frame list's scroller a size so the virtualizer
  // renders rows (it measures with getBoundingClientRect and offsetHeight).
  const rect = { x: 0, y: 0, top: 0, left: 0, bottom: 600, right: 900, width: 900, height: 600, toJSON: () => ({}) };
  HTMLElement.prototype.getBoundingClientRect = function () {
    return rect as DOMRect;
  };
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get: () => 600 });
  Object.defineProperty(HTMLElement.prototype, 'offsetWidth', { configurable: true, get: () => 900 });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 600 });
});

beforeEach(() => {
  resetStore();
  resetActions();
  container = document.createElement('div');
  document.body.append(container);
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  for (const u of unbind.splice(0)) u();
  container.remove();
});

async function render(el: ReactElement): Promise<void> {
  root ??= createRoot(container);
  await act(async () => root!.render(el));
}

const q = (testId: string) => container.querySelector(`[data-testid="${testId}"]`);
const qa = (testId: string) => [...container.querySelectorAll(`[data-testid="${testId}"]`)];

/** Waits (a bounded number of turns, no clock) for a condition the UI reaches asynchronously. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
  throw new Error(`never happened: ${what}`);
}

describe('hex view', () => {
  it('shows the payload as two-digit hex bytes with offsets and ASCII', async () => {
    await render(h(HexView, { bytes: utf8Encode('Hello, WebSocket!\x00\xff'), testId: 'hex-view', label: 'payload' }));
    const text = q('hex-view')!.textContent!;
    expect(text).toContain('00000000  48 65 6c 6c 6f 2c 20 57 65 62 53 6f 63 6b 65 74  Hello, WebSocket');
    expect(text).toContain('00000010  21 00 c3 bf');
    expect(text).toContain('!...');
  });
  it('says (empty) for an empty payload', async () => {
    await render(h(HexView, { bytes: new Uint8Array(0), testId: 'hex-view', label: 'payload' }));
    expect(q('hex-view')!.textContent).toBe('(empty)');
  });
});

describe('RFC 6455 §5.2 drawing', () => {
  it('draws each field over its bits and lists the header bytes as on the wire', async () => {
    await render(h(HeaderBits, { headerHex: '818537fa213d' }));
    const cell = (f: string) => [...container.querySelectorAll(`[data-field="${f}"]`)];
    expect(cell('fin')[0]!.querySelector('.bits-value')!.textContent).toBe('1');
    expect(cell('opcode')[0]!.querySelector('.bits-value')!.textContent).toBe('0001');
    expect(cell('len7')[0]!.textContent).toContain('5 bytes');
    expect(cell('maskKey')).toHaveLength(2); // split over two 32-bit rows, as in the RFC
    expect(cell('maskKey')[0]!.textContent).toContain('37fa213d');
    const bytes = [...q('header-bytes')!.querySelectorAll('.wire-byte')].map((b) => b.lastChild!.textContent);
    expect(bytes).toEqual(['81', '85', '37', 'fa', '21', '3d']);
  });
});

function connectionWith(valid: boolean): ConnectionSummary {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const request = buildClientRequest({ url: 'ws://127.0.0.1:9001/chat', key, headers: [['X-Trace', 'Abc']] });
  const response = buildServerResponse({ key: valid ? key : 'AAAAAAAAAAAAAAAAAAAAAA==', sha1 });
  const hs = assembleHandshake(checkResponse(request, response, sha1), { request, response, requestAt: 1, responseAt: 2 });
  return summary('c1', 0, { handshake: hs });
}

describe('handshake panel', () => {
  it('recomputes Accept step by step and says valid', async () => {
    await render(h(HandshakePanel, { connection: connectionWith(true) }));
    await until(() => q('accept-status')!.textContent!.includes('valid') && container.textContent!.includes('b37a4f2cc0624f1690f64606cf385945b2bec4ea'), 'SHA-1 shown');
    expect(q('accept-status')!.textContent).toMatch(/\bvalid\b/);
    expect(q('accept-status')!.textContent).not.toContain('invalid');
    expect(q('handshake-panel')!.textContent).toContain('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    // headers as sent, in order and case
    const names = [...container.querySelectorAll('table.headers th')].map((th) => th.textContent);
    expect(names.slice(0, 6)).toEqual(['Host', 'Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'X-Trace']);
    expect(qa('handshake-check').every((c) => c.getAttribute('data-ok') === 'true')).toBe(true);
  });
  it('says invalid when the server answered with the wrong value', async () => {
    await render(h(HandshakePanel, { connection: connectionWith(false) }));
    await until(() => q('accept-status')!.textContent!.includes('invalid'), 'verdict');
    expect(q('accept-status')!.getAttribute('data-valid')).toBe('false');
    expect(qa('handshake-check').find((c) => c.textContent!.includes('accept-match'))!.getAttribute('data-ok')).toBe('false');
  });
});

describe('the app against the fake engine', () => {
  function start() {
    const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
    const client = fake.client('demo');
    unbind.push(bindClient(client, { schedule: (fn) => fn() }));
    return fake;
  }

  it('connects from the form, lists the connection, shows its frames with their data hooks', async () => {
    const fake = start();
    await render(h(App));
    const input = q('connect-url') as HTMLInputElement;
    await act(async () => {
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      setter.call(input, 'ws://127.0.0.1:9001/echo');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => (q('connect-button') as HTMLButtonElement).click());
    await until(() => fake.calls.some((c) => c.command === 'connect'), 'connect sent');
    await act(async () => fake.flush());
    expect(qa('connection-item')).toHaveLength(1);
    expect(qa('connection-item')[0]!.getAttribute('data-state')).toBe('open');
    expect(q('frame-count')!.textContent).toBe('1');
    await until(() => q('accept-status')?.textContent?.includes('valid') === true, 'accept verdict');

    // send a text message from the composer
    const text = q('composer-input') as HTMLTextAreaElement;
    await act(async () => {
      const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!;
      setter.call(text, 'hello framescope');
      text.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => (q('send-button') as HTMLButtonElement).click());
    await until(() => fake.calls.some((c) => c.command === 'send'), 'send');
    await act(async () => fake.flush());
    expect(q('frame-count')!.textContent).toBe('3');
    const frameRows = qa('frame-row');
    expect(frameRows.map((r) => [r.getAttribute('data-opcode'), r.getAttribute('data-from')])).toEqual([
      ['1', 'server'],
      ['1', 'client'],
      ['1', 'server'],
    ]);

    // open the client's frame: its detail, the §5.2 drawing, the unmasked hex
    await act(async () => (frameRows[1] as HTMLElement).click());
    await until(() => q('hex-view') !== null, 'hex view');
    expect(q('frame-detail')!.getAttribute('data-seq')).toBe('1');
    expect(q('hex-view')!.textContent).toContain('68 65 6c 6c 6f 20 66 72');
    expect(q('hex-view-masked')).not.toBeNull();
    expect(q('header-bits')).not.toBeNull();
  });

  it('moves through the frames with the keyboard', async () => {
    const fake = start();
    const id = fake.addConnection({ url: 'ws://x/', state: 'closed', endedAt: 1 });
    for (let i = 0; i < 30; i++) fake.addFrame(id, { from: i % 2 ? 'server' : 'client', opcode: 1, payload: utf8Encode(`m${i}`) });
    await render(h(App));
    await act(async () => fake.flush());
    const list = q('frame-list') as HTMLElement;
    const key = (k: string) => act(async () => void list.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true })));
    await key('Home');
    expect(useAppStore.getState().selectedSeq).toBe(0);
    await key('ArrowDown');
    await key('ArrowDown');
    expect(useAppStore.getState().selectedSeq).toBe(2);
    await key('End');
    expect(useAppStore.getState().selectedSeq).toBe(29);
    await key('ArrowUp');
    expect(useAppStore.getState().selectedSeq).toBe(28);
    await key('PageUp');
    expect(useAppStore.getState().selectedSeq).toBeLessThan(28);
  });

  it('a connection of a million frames renders its rows by fetching one chunk', async () => {
    const fake = start();
    fake.addSyntheticConnection('ws://127.0.0.1:9002/firehose', 1_000_000);
    await render(h(App));
    await act(async () => fake.flush());
    expect(q('frame-count')!.textContent).toBe('1000000');
    await until(() => qa('frame-row').length > 0, 'rows');
    const asked = () => fake.calls.filter((c) => c.command === 'frames').map((c) => c.arg as { from: number; to: number });
    expect(asked().length).toBeGreaterThan(0);
    expect(asked().every((a) => a.to - a.from <= 1024)).toBe(true);
    // to the end with the keyboard: the last chunk is fetched, and still only a few are held
    const list = q('frame-list') as HTMLElement;
    await act(async () => void list.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true })));
    expect(useAppStore.getState().selectedSeq).toBe(999_999);
    // happy-dom does not scroll: move the scroller as a browser would, and tell the list
    await act(async () => {
      list.scrollTop = 22 * 1_000_000 - 600;
      list.dispatchEvent(new Event('scroll'));
    });
    await until(() => qa('frame-row').some((r) => r.getAttribute('data-seq') === '999999'), 'the last row');
    expect(asked().some((a) => a.to === 1_000_000)).toBe(true);
    expect(useAppStore.getState().chunks.size).toBeLessThanOrEqual(3);
  });

  it('filters say which rows they covered', async () => {
    start();
    await until(() => useAppStore.getState().engineVersion !== null, 'first snapshot');
    applyEvents([
      { type: 'connection', connection: summary('f', 2000, { state: 'closed', endedAt: 1 }) },
      { type: 'frames', connection: 'f', frames: rows(1024, 2000, (s) => ({ preview: s % 100 === 0 ? 'needle' : 'hay' })) },
    ]);
    await render(h(App));
    await act(async () => useAppStore.getState().setFilter({ text: 'needle' }));
    await until(() => q('filter-status') !== null, 'filter status');
    expect(q('filter-status')!.textContent).toContain('9 of 976 rows in memory match (#1024–1999 of 2,000)');
    expect(qa('frame-row').map((r) => r.getAttribute('data-seq'))).toEqual(['1100', '1200', '1300', '1400', '1500', '1600', '1700', '1800', '1900']);
  });
});
