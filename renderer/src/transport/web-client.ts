// The web transport: the UI in a browser talks to `framescope serve` over one WebSocket at
// /bridge?token=…, JSON text messages as contract.ts's BridgeRequest / BridgeMessage.
//
// Requests carry increasing ids and wait in a pending map for their response. While the
// socket is not open, requests queue (bounded) and go out when it opens. When the socket
// closes, the requests already sent are rejected ('disconnected': the engine may or may
// not have run them, the caller decides), and the client reconnects with exponential
// backoff; the UI shows the disconnected state and, once open again, takes a fresh
// snapshot (the store does that on the 'open' status).
import {
  COMMANDS,
  type BridgeMessage,
  type BridgeRequest,
  type CommandArg,
  type CommandName,
  type CommandResult,
  type EngineApi,
  type UiEvent,
} from '../../../shared/contract';
import { EngineRequestError, type TransportStatus, type UiClient } from './types';

/** The bits of `window.location` the client needs. */
export interface PageLocation {
  protocol: string;
  host: string;
  search: string;
}

/** The bits of the WebSocket class the client uses (a fake in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type SocketFactory = (url: string) => SocketLike;

export interface WebClientOptions {
  socket?: SocketFactory;
  /** first retry delay (ms); doubles up to maxDelayMs */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** requests held while the socket is not open */
  maxQueued?: number;
  /** requests waiting for a response */
  maxPending?: number;
  /** a request with no response after this long is rejected ('timeout'); 0: never */
  requestTimeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const OPEN = 1;
/** A bridge message larger than this is refused before JSON.parse (the engine batches). */
const MAX_MESSAGE_CHARS = 256 * 1024 * 1024;

export class MissingTokenError extends Error {
  override name = 'MissingTokenError';
}

/** The bridge URL for a page served by `framescope serve`: same host, ws(s), the page's token. */
export function bridgeUrl(location: PageLocation): string {
  const token = new URLSearchParams(location.search).get('token');
  if (!token) throw new MissingTokenError('This page was opened without its ?token=…: open the URL that `framescope serve` printed.');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/bridge?token=${encodeURIComponent(token)}`;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: unknown;
  /** went out on a socket (else it waits in the queue, and survives a reconnect) */
  sent: boolean;
}

export function createWebClient(location: PageLocation, options: WebClientOptions = {}): UiClient {
  const url = bridgeUrl(location);
  const makeSocket: SocketFactory = options.socket ?? ((u) => new WebSocket(u) as unknown as SocketLike);
  const initialDelay = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const maxQueued = options.maxQueued ?? 1000;
  const maxPending = options.maxPending ?? 10_000;
  const requestTimeout = options.requestTimeoutMs ?? 120_000;
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));

  let socket: SocketLike | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let queue: Array<{ id: number; text: string }> = [];
  let status: TransportStatus = { state: 'connecting', attempt: 1 };
  let attempt = 1;
  let retryTimer: unknown = null;
  let disposed = false;
  const eventListeners = new Set<(events: UiEvent[]) => void>();
  const statusListeners = new Set<(s: TransportStatus) => void>();

  const setStatus = (s: TransportStatus): void => {
    status = s;
    for (const l of [...statusListeners]) l(s);
  };

  const settle = (id: number): Pending | undefined => {
    const p = pending.get(id);
    if (p) {
      pending.delete(id);
      if (p.timer !== null) clearTimer(p.timer);
      if (!p.sent) queue = queue.filter((q) => q.id !== id);
    }
    return p;
  };

  const onMessage = (data: unknown): void => {
    if (typeof data !== 'string' || data.length > MAX_MESSAGE_CHARS) return;
    let msg: BridgeMessage;
    try {
      msg = JSON.parse(data) as BridgeMessage;
    } catch {
      return; // not ours to guess at; the engine only sends JSON
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('events' in msg) {
      if (!Array.isArray(msg.events)) return;
      for (const l of [...eventListeners]) l(msg.events);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = settle(msg.id);
    if (!p) return;
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new EngineRequestError('engine', typeof msg.error === 'string' ? msg.error : 'the engine refused the request'));
  };

  const open = (): void => {
    if (disposed) return;
    let s: SocketLike;
    try {
      s = makeSocket(url);
    } catch (err) {
      scheduleRetry(err instanceof Error ? err.message : String(err));
      return;
    }
    socket = s;
    s.onopen = () => {
      if (socket !== s) return;
      attempt = 1;
      const out = queue;
      queue = [];
      for (const q of out) {
        const p = pending.get(q.id);
        if (!p) continue;
        p.sent = true;
        s.send(q.text);
      }
      setStatus({ state: 'open' });
    };
    s.onmessage = (ev) => {
      if (socket === s) onMessage(ev.data);
    };
    s.onerror = () => {
      // onclose follows with the details; nothing to do twice.
    };
    s.onclose = (ev) => {
      if (socket !== s) return;
      socket = null;
      // Sent requests may or may not have run: reject them. Queued ones never left: keep them.
      for (const [id, p] of [...pending]) if (p.sent) settle(id)?.reject(new EngineRequestError('disconnected', 'the connection to the engine was lost'));
      scheduleRetry(ev.reason || (ev.code === 1006 ? 'the bridge closed without a close frame' : `the bridge closed (${ev.code})`));
    };
  };

  const scheduleRetry = (reason: string): void => {
    if (disposed) return;
    const delay = Math.min(maxDelay, initialDelay * 2 ** (attempt - 1));
    setStatus({ state: 'disconnected', attempt, retryInMs: delay, reason });
    attempt++;
    retryTimer = setTimer(() => {
      retryTimer = null;
      setStatus({ state: 'connecting', attempt });
      open();
    }, delay);
  };

  function request<K extends CommandName>(command: K, arg: CommandArg<K>): Promise<CommandResult<K>> {
    if (disposed) return Promise.reject(new EngineRequestError('disconnected', 'the client was closed'));
    if (pending.size >= maxPending) return Promise.reject(new EngineRequestError('queue-full', 'too many requests are waiting for the engine'));
    const id = nextId++;
    const body: BridgeRequest = { id, command, arg: arg ?? {} };
    const text = JSON.stringify(body);
    return new Promise<CommandResult<K>>((resolve, reject) => {
      const sendNow = socket !== null && socket.readyState === OPEN;
      if (!sendNow && queue.length >= maxQueued) {
        reject(new EngineRequestError('queue-full', 'the engine is not reachable and too many requests are waiting'));
        return;
      }
      const timer =
        requestTimeout > 0
          ? setTimer(() => settle(id)?.reject(new EngineRequestError('timeout', `${command} got no answer in ${requestTimeout / 1000} s`)), requestTimeout)
          : null;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, sent: sendNow });
      if (sendNow) socket!.send(text);
      else queue.push({ id, text });
    });
  }

  const api = Object.fromEntries(COMMANDS.map((name) => [name, (arg: unknown) => request(name, arg as never)])) as unknown as EngineApi;

  open();

  return {
    ...api,
    kind: 'web',
    shell: null,
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    onEvents(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onOpenFile() {
      return () => {};
    },
    onMenu() {
      return () => {};
    },
    dispose() {
      disposed = true;
      if (retryTimer !== null) clearTimer(retryTimer);
      const s = socket;
      socket = null;
      s?.close(1000, 'page closed');
      for (const id of [...pending.keys()]) settle(id)?.reject(new EngineRequestError('disconnected', 'the client was closed'));
      queue = [];
    },
  };
}
