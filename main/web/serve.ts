// `framescope serve`: the UI in a browser. An HTTP server on loopback serves the built
// renderer, and a WebSocket at /bridge carries the contract (shared/contract.ts) between
// the page and the engine session.
//
// Security by default: a random token in the printed URL is required for the page, its
// assets (via an HttpOnly, SameSite=Strict cookie set with the page) and the bridge; the
// bridge also requires the page's own Origin, and every request its own Host, so another
// site in the same browser — or a DNS-rebinding page — cannot drive the engine.
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { BridgeMessage, UiEvent } from '../../shared/contract';
import { ContractError, isCommandName } from '../../shared/contract';
import { CommandError, type EngineSession } from '../engine/session/session';
import { authority, isLoopback, listenOn } from '../engine/listen';
import { coalesce } from '../engine/session/ui-batch';
import { STATIC_MIME as MIME } from '../engine/session/static-files';

export interface ServeOptions {
  host: string;
  port: number;
  session: EngineSession;
  /** the built renderer (index.html and assets) */
  rendererDir: string;
  token: string;
  /** one line about a refused request */
  log?: (line: string) => void;
}

export interface ServeHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Largest bridge message: an imported capture travels as base64 in one. */
const MAX_BRIDGE_MESSAGE = 700 * 1024 * 1024;
const COOKIE = 'framescope_token';
/** Bytes queued on a bridge socket past which event batches are held and merged. */
const BRIDGE_HIGH_WATER = 4 * 1024 * 1024;
const BRIDGE_LOW_WATER = 1024 * 1024;

export async function startServe(o: ServeOptions): Promise<ServeHandle> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BRIDGE_MESSAGE, perMessageDeflate: false });
  const sockets = new Set<Duplex>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  const { port } = await listenOn(server, o.port, o.host);
  const self = authority(o.host, port);
  // The Host a browser may send for this server: the address itself, and localhost when
  // it is loopback. Anything else is a name pointing here that is not ours (rebinding).
  const allowedHosts = new Set([self, ...(isLoopback(o.host) ? [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`] : [])]);
  const tokenBytes = Buffer.from(o.token);
  const tokenOk = (t: string | null | undefined) => {
    if (!t) return false;
    const b = Buffer.from(t);
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes);
  };
  const cookieToken = (req: http.IncomingMessage) =>
    (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([k]) => k === COOKIE)?.[1];
  const refuse = (why: string) => o.log?.(why);

  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://${self} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');

  const security: http.OutgoingHttpHeaders = {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  };
  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}) =>
    sendResponse(res, status, type, body, { ...security, ...headers });

  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${self}`);
      const host = req.headers.host ?? '';
      if (!allowedHosts.has(host)) {
        refuse(`refused a request for Host ${JSON.stringify(host)}`);
        return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: unexpected Host header\n');
      }
      const queryToken = url.searchParams.get('token');
      const token = queryToken ?? cookieToken(req);
      if (!tokenOk(token)) {
        refuse(`refused ${req.method} ${url.pathname}: missing or wrong token`);
        return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: open the URL that `framescope serve` printed (it carries the token)\n');
      }
      // The page's assets carry no token in their URLs: the cookie set here does.
      if (queryToken) res.setHeader('Set-Cookie', `${COOKIE}=${o.token}; HttpOnly; SameSite=Strict; Path=/`);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
      const path = url.pathname === '/' ? '/index.html' : url.pathname;
      const root = resolve(o.rendererDir);
      const file = normalize(join(root, decodeURIComponent(path)));
      if (!file.startsWith(root + sep)) return send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        return send(res, 404, 'text/plain; charset=utf-8', path === '/index.html' ? 'The UI is not built: run `npm run build`\n' : 'Not Found\n');
      }
      send(res, 200, MIME[extname(file)] ?? 'application/octet-stream', req.method === 'HEAD' ? '' : body);
    })();
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${self}`);
    const host = req.headers.host ?? '';
    const origin = req.headers.origin;
    const deny = (why: string) => {
      refuse(`refused the bridge: ${why}`);
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 10\r\n\r\nForbidden\n');
    };
    if (url.pathname !== '/bridge') return deny(`no WebSocket at ${url.pathname}`);
    if (!allowedHosts.has(host)) return deny(`unexpected Host ${JSON.stringify(host)}`);
    if (!tokenOk(url.searchParams.get('token'))) return deny('missing or wrong token');
    if (origin !== `http://${host}`) return deny(`Origin ${JSON.stringify(origin ?? null)} is not this server's own`);
    wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, o.session));
  });

  return {
    url: `http://${self}/?token=${o.token}`,
    port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendResponse(res: http.ServerResponse, status: number, type: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** One page's bridge: requests in, results and event batches out. */
function bridge(ws: WebSocket, session: EngineSession): void {
  const out = (m: BridgeMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  // A page that falls behind (a flood, a busy tab) must not make the engine queue without
  // bound: past the high-water mark, batches wait here, merged into one (newest summaries,
  // newest rows), and go when the socket has drained.
  let held: UiEvent[] | null = null;
  let timer: NodeJS.Timeout | null = null;
  const drain = () => {
    timer = null;
    if (!held) return;
    if (ws.bufferedAmount > BRIDGE_LOW_WATER) {
      timer = setTimeout(drain, 20);
      return;
    }
    const events = held;
    held = null;
    out({ events });
  };
  const unsubscribe = session.onEvents((events: UiEvent[]) => {
    if (held || ws.bufferedAmount > BRIDGE_HIGH_WATER) {
      held = held ? coalesce([held, events]) : events;
      timer ??= setTimeout(drain, 20);
      return;
    }
    out({ events });
  });
  ws.on('close', () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
  });
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => {
    void (async () => {
      let id = -1;
      try {
        if (isBinary) throw new ContractError('the bridge speaks JSON text');
        const msg = JSON.parse(data.toString()) as { id?: unknown; command?: unknown; arg?: unknown };
        if (typeof msg.id !== 'number' || !Number.isSafeInteger(msg.id)) throw new ContractError('a request needs a numeric id');
        id = msg.id;
        if (!isCommandName(msg.command)) throw new ContractError(`unknown command ${JSON.stringify(msg.command)}`);
        const result = await session.dispatch(msg.command, msg.arg);
        out({ id, ok: true, result: result ?? null });
      } catch (err) {
        // The user's mistake or the peer's: its message. Anything else: no internals.
        const known = err instanceof ContractError || err instanceof CommandError || err instanceof SyntaxError;
        out({ id, ok: false, error: known ? (err as Error).message : 'internal error' });
        if (!known) process.stderr.write(`framescope serve: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      }
    })();
  });
}
