// @vitest-environment happy-dom
// What a new user meets first, rendered with React into happy-dom: notices that go away and
// do not pile up, the connect options popover, the observer stance, the frame list's
// message-size column and resizable columns, the ping payload, and proxied connections.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, createElement as h, type ReactElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { App } from '../../renderer/src/components/App';
import { HandshakePanel } from '../../renderer/src/components/HandshakePanel';
import { Notices, NOTICE_MS } from '../../renderer/src/components/Notices';
import { FakeEngine } from '../../renderer/src/dev/fake-engine';
import { applyEvents } from '../../renderer/src/store/apply-events';
import { bindClient, buildConnectRequest, resetActions } from '../../renderer/src/store/actions';
import { DEFAULT_PREFS, loadPrefs } from '../../renderer/src/store/prefs';
import { resetStore, useAppStore } from '../../renderer/src/store/store';
import { COLUMNS_KEY, DEFAULT_WIDTHS } from '../../renderer/src/views/columns';
import { row, summary } from './helpers';

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean;
}

let root: Root | null = null;
let container: HTMLElement;
const unbind: Array<() => void> = [];

beforeAll(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  // happy-dom does no layout: give the frame list's scroller a size so rows render.
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
  localStorage.clear();
  container = document.createElement('div');
  document.body.append(container);
});

afterEach(async () => {
  await act(async () => root?.unmount());
  root = null;
  for (const u of unbind.splice(0)) u();
  container.remove();
  vi.useRealTimers();
});

async function render(el: ReactElement): Promise<void> {
  root ??= createRoot(container);
  await act(async () => root!.render(el));
}

const q = (testId: string) => container.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
const qa = (testId: string) => [...container.querySelectorAll<HTMLElement>(`[data-testid="${testId}"]`)];
const click = (el: Element | null) => act(async () => (el as HTMLElement).click());

function start(): FakeEngine {
  const fake = new FakeEngine({ schedule: () => {}, latencyMs: 0 });
  unbind.push(bindClient(fake.client('demo'), { schedule: (fn) => fn() }));
  return fake;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
  throw new Error(`never happened: ${what}`);
}

describe('notices', () => {
  it('errors go away on their own, and the same error again is one notice, counted', async () => {
    vi.useFakeTimers();
    await render(h(Notices));
    const notify = useAppStore.getState().notify;
    await act(async () => {
      notify('error', 'Could not open a.json: not JSON');
      notify('error', 'Could not open a.json: not JSON');
      notify('error', 'Could not open a.json: not JSON');
    });
    expect(qa('notice')).toHaveLength(1);
    expect(qa('notice')[0]!.textContent).toContain('×3');
    await act(async () => notify('error', 'Send failed: closed'));
    expect(qa('notice')).toHaveLength(2);
    await act(async () => vi.advanceTimersByTime(NOTICE_MS.error + 1));
    expect(qa('notice')).toHaveLength(0);
  });

  it('never stack past a few, and can all be dismissed at once', async () => {
    await render(h(Notices));
    await act(async () => {
      for (let i = 0; i < 10; i++) useAppStore.getState().notify('error', `error ${i}`);
    });
    expect(qa('notice').map((n) => n.querySelector('.notice-text')!.textContent)).toEqual(['error 7', 'error 8', 'error 9']);
    await click(q('notices-dismiss-all'));
    expect(qa('notice')).toHaveLength(0);
  });
});

describe('the connect form', () => {
  const popover = () => q('connect-options');

  it('closes its options on Escape, on a click outside, and on Connect', async () => {
    const fake = start();
    await render(h(App));
    await until(() => useAppStore.getState().transport.state === 'open', 'the engine');
    await click(q('connect-options-button'));
    expect(popover()).not.toBeNull();
    // a click inside keeps it open
    await act(async () => void popover()!.dispatchEvent(new MouseEvent('mousedown', { bubbles: true })));
    expect(popover()).not.toBeNull();
    await act(async () => void document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })));
    expect(popover()).toBeNull();

    await click(q('connect-options-button'));
    expect(popover()).not.toBeNull();
    await act(async () => void document.body.dispatchEvent(new MouseEvent('mousedown', { bubbles: true })));
    expect(popover()).toBeNull();

    await click(q('connect-options-button'));
    const input = q('connect-url') as HTMLInputElement;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, 'ws://127.0.0.1:9001/echo');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await click(q('connect-button'));
    expect(popover()).toBeNull();
    await until(() => fake.calls.some((c) => c.command === 'connect'), 'connect sent');
  });

  it('offers the observer stance (tolerant): remembered, and sent with the connect request', async () => {
    const fake = start();
    await render(h(App));
    await until(() => useAppStore.getState().transport.state === 'open', 'the engine');
    await click(q('connect-options-button'));
    const box = q('connect-tolerant') as HTMLInputElement;
    expect(box.checked).toBe(false);
    await click(box);
    expect(useAppStore.getState().prefs.connectOptions.tolerant).toBe(true);
    await click(q('connect-options-button'));
    const input = q('connect-url') as HTMLInputElement;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, 'ws://127.0.0.1:9001/bad');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await click(q('connect-button'));
    await until(() => fake.calls.some((c) => c.command === 'connect'), 'connect sent');
    expect(fake.calls.find((c) => c.command === 'connect')!.arg).toMatchObject({ url: 'ws://127.0.0.1:9001/bad', tolerant: true });
    // saved with the prefs, read back
    expect(loadPrefs(localStorage).connectOptions.tolerant).toBe(true);
    const off = buildConnectRequest('ws://x/', DEFAULT_PREFS.connectOptions);
    expect('request' in off && 'tolerant' in off.request).toBe(false);
  });
});

describe('the frame list', () => {
  it('shows the message size beside the wire length: a deflated frame of 17 bytes carries 86', async () => {
    start();
    await until(() => useAppStore.getState().engineVersion !== null, 'first snapshot');
    applyEvents([
      { type: 'connection', connection: summary('d', 3, { state: 'closed', endedAt: 1_700_000_000_500 }) },
      {
        type: 'frames',
        connection: 'd',
        frames: [
          row(0, { rsv1: true, length: 17, message: { opcode: 1, length: 86 } }),
          row(1, { length: 5 }),
          row(2, { opcode: 9, length: 4 }),
        ],
      },
    ]);
    useAppStore.getState().selectConnection('d');
    await render(h(App));
    await until(() => qa('frame-row').length === 3, 'rows');
    const cells = qa('frame-row').map((r) => [r.querySelector('.c-len')!.textContent, r.querySelector('[data-testid=frame-message-size]')!.textContent]);
    expect(cells).toEqual([
      ['17', '86'],
      ['5', '5'],
      ['4', ''],
    ]);
  });

  it('columns resize by dragging or with the arrow keys, and the widths are remembered', async () => {
    start();
    await until(() => useAppStore.getState().engineVersion !== null, 'first snapshot');
    applyEvents([{ type: 'connection', connection: summary('r', 0, { state: 'closed', endedAt: 1_700_000_000_500 }) }]);
    useAppStore.getState().selectConnection('r');
    await render(h(App));
    const cols = () => (container.querySelector('.frame-list-wrap') as HTMLElement).style.getPropertyValue('--frame-cols');
    expect(cols().split(' ')[7]).toBe(`${DEFAULT_WIDTHS.len}px`);

    const handle = q('col-resize-len')!;
    await act(async () => {
      handle.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, clientX: 400, pointerId: 1 }));
      handle.dispatchEvent(new PointerEvent('pointermove', { bubbles: true, clientX: 440, pointerId: 1 }));
      handle.dispatchEvent(new PointerEvent('pointerup', { bubbles: true, clientX: 446, pointerId: 1 }));
    });
    expect(cols().split(' ')[7]).toBe(`${DEFAULT_WIDTHS.len + 46}px`);
    await act(async () => void q('col-resize-msg')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true })));
    expect(cols().split(' ')[8]).toBe(`${DEFAULT_WIDTHS.msg + 5}px`);
    expect(JSON.parse(localStorage.getItem(COLUMNS_KEY)!)).toMatchObject({ len: DEFAULT_WIDTHS.len + 46, msg: DEFAULT_WIDTHS.msg + 5 });

    // A new page reads them back.
    await act(async () => root!.unmount());
    root = null;
    await render(h(App));
    expect(cols().split(' ')[7]).toBe(`${DEFAULT_WIDTHS.len + 46}px`);
  });
});

describe('the composer', () => {
  it('switching to Ping does not carry the JSON over; the 125-byte limit is shown', async () => {
    const fake = start();
    const id = fake.addConnection({ url: 'ws://127.0.0.1:9001/json' });
    await render(h(App));
    await act(async () => fake.flush());
    await act(async () => useAppStore.getState().selectConnection(id));
    await click(q('composer-mode-json'));
    const json = JSON.stringify({ type: 'subscribe', channel: 'orders', filter: { side: 'buy', min: 100 }, id: 'a1b2c3d4e5f6a1b2c3d4e5f6a1' });
    const area = q('composer-input') as HTMLTextAreaElement;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!.call(area, json);
      area.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await click(q('composer-mode-ping'));
    expect((q('composer-input') as HTMLInputElement).value).toBe('');
    expect(q('composer-control-bytes')!.textContent).toBe('0 / 125 B');
    expect(q('composer-error')).toBeNull();
    const ping = q('composer-input') as HTMLInputElement;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(ping, 'x'.repeat(126));
      ping.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(q('composer-control-bytes')!.textContent).toBe('126 / 125 B');
    expect(q('composer-error')!.textContent).toMatch(/at most 125 bytes/);
    expect((q('send-button') as HTMLButtonElement).disabled).toBe(true);
    // Back to JSON: the message is still there.
    await click(q('composer-mode-json'));
    expect((q('composer-input') as HTMLTextAreaElement).value).toBe(json);
  });

  it('a proxied connection: the composer injects toward either side (no ping, pong or fragments), and no resend', async () => {
    const fake = start();
    const id = fake.addConnection({ url: 'ws://127.0.0.1:9001/app', mode: 'proxy' });
    fake.addFrame(id, { from: 'client', opcode: 1, payload: new TextEncoder().encode('hi'), maskKey: '01020304' });
    await render(h(App));
    await act(async () => fake.flush());
    await act(async () => useAppStore.getState().selectConnection(id));
    await until(() => qa('frame-row').length === 1, 'the row');
    expect(q('composer-direction')).not.toBeNull();
    expect(q('send-button')!.textContent).toBe('Inject text → server');
    await click(q('composer-toward-client')!);
    expect(q('send-button')!.textContent).toBe('Inject text → client');
    expect(q('composer-mode-ping')).toBeNull();
    expect(q('composer-mode-pong')).toBeNull();
    // Raw frames only where the engine can inject them (the demo engine cannot).
    expect(q('composer-mode-raw')).toBeNull();
    await click(qa('frame-row')[0]!);
    await until(() => q('frame-detail') !== null, 'the detail');
    expect(q('resend-button')).toBeNull();
  });
});

describe('the handshake panel', () => {
  it('shows the peers a failed handshake had', async () => {
    await render(h(HandshakePanel, { connection: summary('f', 0, { state: 'failed', client: '127.0.0.1:50123', server: '127.0.0.1:9001' }) }));
    expect(q('connection-peers')!.textContent).toBe('127.0.0.1:50123 → 127.0.0.1:9001');
    await render(h(HandshakePanel, { connection: summary('g', 0, { state: 'failed', client: null, server: null }) }));
    expect(q('connection-peers')!.textContent).toMatch(/no TCP connection/);
  });
});
