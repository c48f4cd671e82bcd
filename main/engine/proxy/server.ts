// The man-in-the-middle proxy (docs/design.md "The proxy is byte-transparent").
//
// Reverse mode: listen locally, forward every connection to one upstream URL.
// Forward mode: an HTTP proxy — absolute-form requests (`GET ws://host/…`) and CONNECT
// tunnels. A tunnel is answered once its host has accepted the connection (else 502).
// Browsers tunnel even ws:// through CONNECT, so the first bytes inside a tunnel decide: a
// TLS ClientHello is intercepted with a leaf from the local CA (or tunnelled blind for
// excluded hosts), HTTP is read as requests, anything else — or a server that speaks
// first — is tunnelled blind.
//
// Only WebSocket connections are recorded; other HTTP is relayed untouched.
import net from 'node:net';
import { listenOn } from '../listen';
import type { HttpRequestRecord } from '../../../shared/model';
import { headerList } from '../../../shared/codec/handshake';
import type { EventSink } from '../recording/recorder';
import { now } from '../clock';
import { isHeadFailure, readHead } from './head-reader';
import { sendHttpError } from './http-error';
import { connectUpstream, hostPort, type UpstreamTarget } from './upstream';
import type { PolicySource } from '../intervene/lane';
import { pipeRaw, relayWebSocket, type ProxyContext, type WsTarget } from './ws-relay';
import { interceptTls, LeafCache, loadOrCreateCa } from '../certificates/ca-store';

export interface ProxyOptions {
  host: string;
  port: number;
  /** reverse mode: the upstream ws:// or wss:// URL; absent: forward mode */
  target?: string;
  /** forward only to these hosts (others get 403) */
  allowHosts?: string[];
  /** hosts whose CONNECT tunnels are relayed blind, not intercepted */
  noIntercept?: string[];
  /** where the interception CA lives (forward mode) */
  caDir?: string;
  /** do not verify upstream certificates */
  insecure?: boolean;
  /** deadline for a client's request head, the upstream's connect and its response head */
  timeoutMs?: number;
  maxHeaderBytes?: number;
  /** payload bytes recorded per frame (default 16 MiB) */
  maxPayload?: number;
  sink: EventSink;
  /** connection ids (default p1, p2, …); the app passes its own so ids stay unique across restarts */
  nextId?: () => string;
  /** one line about something that is not a WebSocket connection (bad client, refused host) */
  log?: (line: string) => void;
  /** what may change each connection's messages (a script, rules); absent: bytes relayed as they come */
  intervene?: PolicySource;
  /** the largest frame payload a lane can hold whole while intervening (default 64 MiB; tests lower it) */
  holdLimit?: number;
  /** labels every connection with the app that `framescope launch` started through this proxy */
  app?: string;
}

interface Tunnel {
  host: string;
  port: number;
  secure: boolean;
  /** the tunnel's upstream connection, until a request inside takes it */
  opened: { socket: net.Socket | null };
}

const HOP_BY_HOP_PROXY = new Set(['proxy-connection', 'proxy-authorization', 'proxy-authenticate']);

export class ProxyServer {
  /** forward mode: the interception CA's certificate, and whether this start created it */
  ca: { certPath: string; created: boolean } | null = null;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** listeners of launched apps (listenFor), each labelling its connections */
  private readonly extra = new Set<net.Server>();
  private readonly live = new Map<string, () => Promise<void>>();
  private readonly ctx: ProxyContext;
  private readonly target: URL | null;
  private readonly allow: Set<string> | null;
  private readonly noIntercept: Set<string>;
  private leafCache: LeafCache | null = null;
  private ids = 0;
  address: { host: string; port: number } = { host: '', port: 0 };

  private constructor(private readonly options: ProxyOptions) {
    this.target = options.target ? parseTarget(options.target) : null;
    this.allow = options.allowHosts?.length ? new Set(options.allowHosts.map(normalizeHost)) : null;
    this.noIntercept = new Set((options.noIntercept ?? []).map(normalizeHost));
    this.ctx = {
      nextId: options.nextId ?? (() => `p${++this.ids}`),
      sink: options.sink,
      insecure: options.insecure ?? false,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxHeaderBytes: options.maxHeaderBytes ?? 16 * 1024,
      maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
      intervene: options.intervene,
      holdLimit: options.holdLimit,
      app: options.app,
      report: (line) => this.log(line),
      track: (stop, id) => {
        this.live.set(id, stop);
        return () => this.live.delete(id);
      },
    };
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Loads the CA (forward mode), then listens. Rejects with a clear message if it cannot. */
  static async start(options: ProxyOptions): Promise<ProxyServer> {
    const proxy = new ProxyServer(options);
    if (!proxy.target && options.caDir) {
      const ca = await loadOrCreateCa(options.caDir);
      proxy.leafCache = new LeafCache(ca);
      proxy.ca = { certPath: ca.certPath, created: ca.created };
    }
    proxy.address = await listenOn(proxy.server, options.port, options.host);
    return proxy;
  }

  /** Stops listening, ends every connection and waits until each is recorded as closed. */
  async stop(): Promise<void> {
    await Promise.all([...this.extra].map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    this.extra.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    await Promise.all([...this.live.values()].map((stop) => stop()));
  }

  /**
   * One more port on this proxy (loopback, a free port) whose connections are labelled with
   * `app`: an app launched from the UI gets its own, so every connection it makes is told
   * apart from another app's going through the same proxy. `close` stops listening there
   * (connections already made go on).
   */
  async listenFor(app: string, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
    const listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket, app));
    const { port } = await listenOn(listener, 0, host);
    this.extra.add(listener);
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          this.extra.delete(listener);
          if (!listener.listening) return resolve();
          listener.close(() => resolve());
        }),
    };
  }

  /** Drops one proxied connection (both sockets, no closing handshake); false if it is not live. */
  async drop(id: string): Promise<boolean> {
    const stop = this.live.get(id);
    if (!stop) return false;
    await stop();
    return true;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private accept(socket: net.Socket, app?: string): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    void this.handle(socket, null, undefined, app ?? this.ctx.app).catch((err: unknown) => {
      this.log(`internal error on a client connection: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    });
  }

  /** Reads one request head from `socket` (a client connection or the inside of a tunnel). */
  private async handle(socket: net.Socket, tunnel: Tunnel | null, initial: Uint8Array | undefined, app: string | undefined): Promise<void> {
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    const r = await readHead(socket, 'request', { maxHeaderBytes: this.ctx.maxHeaderBytes, timeoutMs: this.ctx.timeoutMs }, initial);
    if (isHeadFailure(r)) {
      if (r.error === 'timeout') {
        this.log(`client ${from}: ${r.message}; answered 408`);
        sendHttpError(socket, 408, 'Request Timeout', r.message);
      } else if (r.error === 'malformed') {
        const tooLarge = r.code === 'head-too-large' || r.code === 'too-many-headers';
        this.log(`client ${from}: not a valid HTTP request (${r.message}); answered ${tooLarge ? 431 : 400}`);
        sendHttpError(socket, tooLarge ? 431 : 400, tooLarge ? 'Request Header Fields Too Large' : 'Bad Request', r.message);
      } else {
        socket.destroy();
      }
      return;
    }
    const requestAt = now();
    const req = r.head;

    if (req.method.toUpperCase() === 'CONNECT') {
      if (this.target || tunnel) {
        sendHttpError(socket, 405, 'Method Not Allowed', 'CONNECT is for forward mode');
        return;
      }
      return this.connectTunnel(socket, req, r.rest, app);
    }

    const upgrade = isWebSocketUpgrade(req);
    let dest: (UpstreamTarget & { url: URL }) | null;
    try {
      dest = this.destination(req, tunnel, upgrade);
    } catch (err) {
      sendHttpError(socket, 400, 'Bad Request', (err as Error).message);
      return;
    }
    if (!dest) {
      sendHttpError(socket, 400, 'Bad Request', 'This is Framescope, an HTTP proxy: send absolute-form requests (GET http://host/…) or CONNECT.');
      return;
    }
    if (!this.allowed(dest.host)) {
      this.log(`refused ${dest.host}: not in --allow-hosts; answered 403`);
      sendHttpError(socket, 403, 'Forbidden', `Framescope forwards only to: ${[...this.allow!].join(', ')}`);
      return;
    }

    const upstreamRequest = this.rewrite(req, dest, tunnel, upgrade);
    if (upgrade) {
      const target: WsTarget = { secure: dest.secure, host: dest.host, port: dest.port, opened: dest.opened, url: dest.url.href, upstreamRequest };
      await relayWebSocket(app === this.ctx.app ? this.ctx : { ...this.ctx, app }, socket, req, requestAt, r.rest, target);
      return;
    }
    // Plain HTTP: relayed, not recorded.
    const up = await connectUpstream(dest, { insecure: this.ctx.insecure, timeoutMs: this.ctx.timeoutMs });
    if ('error' in up) {
      this.log(`${req.method} ${dest.url.href}: ${up.message}; answered 502`);
      sendHttpError(socket, 502, 'Bad Gateway', up.message);
      return;
    }
    up.socket.on('error', () => up.socket.destroy());
    up.socket.write(serializeHead(upstreamRequest));
    if (r.rest.length > 0) up.socket.write(r.rest);
    pipeRaw(socket, up.socket, () => {});
  }

  /** Where this request goes: the reverse target, the tunnel's host, or its absolute URL. */
  private destination(req: HttpRequestRecord, tunnel: Tunnel | null, upgrade: boolean): (UpstreamTarget & { url: URL }) | null {
    const wsScheme = (secure: boolean) => (upgrade ? (secure ? 'wss:' : 'ws:') : secure ? 'https:' : 'http:');
    if (this.target) {
      const t = this.target;
      const secure = t.protocol === 'wss:';
      const url = new URL(t.href);
      url.protocol = wsScheme(secure);
      const { pathname, search } = splitTarget(req.target);
      url.pathname = joinPaths(t.pathname, pathname);
      url.search = search || t.search;
      return { secure, host: stripBrackets(t.hostname), port: portOf(t), url };
    }
    if (tunnel) {
      const url = new URL(`${wsScheme(tunnel.secure)}//${hostPort(tunnel)}`);
      const { pathname, search } = splitTarget(req.target);
      url.pathname = pathname;
      url.search = search;
      return { secure: tunnel.secure, host: tunnel.host, port: tunnel.port, url, opened: tunnel.opened };
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(req.target)) return null;
    const url = new URL(req.target);
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new Error(`cannot proxy ${url.protocol} URLs`);
    const secure = url.protocol === 'wss:' || url.protocol === 'https:';
    url.protocol = wsScheme(secure);
    return { secure, host: stripBrackets(url.hostname), port: portOf(url), url };
  }

  /** The head sent upstream: origin-form target, Host for the reverse target, no Proxy-* headers. */
  private rewrite(req: HttpRequestRecord, dest: UpstreamTarget & { url: URL }, tunnel: Tunnel | null, upgrade: boolean): HttpRequestRecord {
    if (tunnel) return req;
    let headers = req.headers.filter(([n]) => !HOP_BY_HOP_PROXY.has(n.toLowerCase()));
    const target = dest.url.pathname + dest.url.search;
    if (this.target) {
      const host = defaultPort(dest) ? bracket(dest.host) : hostPort(dest);
      headers = headers.map(([n, v]) => (n.toLowerCase() === 'host' ? [n, host] : [n, v]));
    } else if (!upgrade) {
      // One request per connection through the forward proxy: the next request on this
      // client connection may be for another host.
      headers = headers.filter(([n]) => !['connection', 'keep-alive'].includes(n.toLowerCase()));
      headers.push(['Connection', 'close']);
    }
    return { ...req, target, headers };
  }

  private allowed(host: string): boolean {
    return !this.allow || this.allow.has(normalizeHost(host));
  }

  private async connectTunnel(socket: net.Socket, req: HttpRequestRecord, rest: Uint8Array, app: string | undefined): Promise<void> {
    const authority = parseAuthority(req.target);
    if (!authority) {
      sendHttpError(socket, 400, 'Bad Request', `CONNECT needs host:port, got ${JSON.stringify(req.target)}`);
      return;
    }
    if (!this.allowed(authority.host)) {
      this.log(`refused CONNECT ${req.target}: not in --allow-hosts; answered 403`);
      sendHttpError(socket, 403, 'Forbidden', `Framescope forwards only to: ${[...this.allow!].join(', ')}`);
      return;
    }
    // Connect first, answer after (RFC 9110 §9.3.6: a 2xx says the tunnel is there), so a
    // refused or unreachable host gets its 502 on the CONNECT itself.
    const up = await connectUpstream({ ...authority, secure: false }, { insecure: true, timeoutMs: this.ctx.timeoutMs });
    if ('error' in up) {
      this.log(`CONNECT ${req.target}: ${up.message}; answered 502`);
      sendHttpError(socket, 502, 'Bad Gateway', up.message);
      return;
    }
    const upstream = up.socket;
    if (socket.destroyed) {
      // The client gave up while the host was being reached.
      upstream.destroy();
      return;
    }
    const opened = { socket: upstream as net.Socket | null };
    // Until a request inside the tunnel takes the connection, it ends with the client's.
    upstream.on('error', () => upstream.destroy());
    socket.once('close', () => opened.socket?.destroy());
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const blind = (first: Uint8Array | null) => {
      opened.socket = null;
      if (first) upstream.write(first);
      pipeRaw(socket, upstream, () => {});
    };

    // Whoever speaks first decides. The client: a TLS ClientHello is intercepted, HTTP is
    // read as requests, anything else (SSH, a database protocol…) is tunnelled blind. The
    // server first (SMTP, FTP and the like greet first): blind. Neither within --timeout:
    // closed (a browser that preconnected and went idle opens a new tunnel when it needs one).
    const first = rest.length > 0 ? { from: 'client' as const, bytes: rest } : await firstBytes(socket, upstream, this.ctx.timeoutMs);
    if (first === 'closed' || first === 'silent') {
      socket.destroy();
      upstream.destroy();
      return;
    }
    if (first.from === 'server') {
      socket.write(first.bytes);
      return blind(null);
    }
    const bytes = first.bytes;
    const tunnel: Tunnel = { ...authority, secure: false, opened };
    if (bytes[0] === 0x16) {
      if (this.noIntercept.has(normalizeHost(authority.host)) || !this.leafCache) return blind(bytes);
      socket.unshift(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      let secure;
      try {
        secure = await interceptTls(socket, authority.host, this.leafCache);
      } catch (err) {
        this.log(`CONNECT ${req.target}: TLS interception failed: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      secure.on('error', () => secure.destroy());
      return this.handle(secure, { ...tunnel, secure: true }, undefined, app);
    }
    if (!mayBeHttp(bytes)) return blind(bytes);
    return this.handle(socket, tunnel, bytes, app);
  }
}

type FirstBytes = { from: 'client' | 'server'; bytes: Uint8Array } | 'silent' | 'closed';

/**
 * The first bytes inside a tunnel, from whichever side sends first; 'silent' when neither
 * does within `timeoutMs`, 'closed' when a side goes away first. Both sockets are left paused.
 */
function firstBytes(client: net.Socket, upstream: net.Socket, timeoutMs: number): Promise<FirstBytes> {
  return new Promise((resolve) => {
    const listeners: Array<[net.Socket, 'data' | 'close', (chunk: Buffer) => void]> = [
      [client, 'data', (chunk) => done({ from: 'client', bytes: chunk })],
      [upstream, 'data', (chunk) => done({ from: 'server', bytes: chunk })],
      [client, 'close', () => done('closed')],
      [upstream, 'close', () => done('closed')],
    ];
    const done = (v: FirstBytes) => {
      clearTimeout(timer);
      for (const [socket, event, f] of listeners) socket.off(event, f);
      client.pause();
      upstream.pause();
      resolve(v);
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    for (const [socket, event, f] of listeners) socket.on(event, f);
    client.resume();
    upstream.resume();
  });
}

/**
 * Could these first bytes start an HTTP request? A method is a token of capital letters
 * followed by a space ("GET ", "OPTIONS "); a chunk that ends inside one is given the
 * benefit of the doubt. Anything else (SSH's "SSH-2.0-…", binary protocols) is not.
 */
export function mayBeHttp(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 21);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0x20) return i > 0;
    if (b < 0x41 || b > 0x5a) return false;
  }
  return bytes.length < 21;
}

export function isWebSocketUpgrade(req: HttpRequestRecord): boolean {
  return headerList(req.headers, 'upgrade').some((t) => t.toLowerCase() === 'websocket');
}

function serializeHead(req: HttpRequestRecord): Uint8Array {
  let s = `${req.method} ${req.target} ${req.version}\r\n`;
  for (const [n, v] of req.headers) s += `${n}: ${v}\r\n`;
  return Buffer.from(s + '\r\n', 'utf8');
}

function parseTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--target is not a URL: ${text}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`--target must be a ws:// or wss:// URL, not ${url.protocol}//`);
  return url;
}

function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(target);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

function splitTarget(target: string): { pathname: string; search: string } {
  const q = target.indexOf('?');
  const pathname = q < 0 ? target : target.slice(0, q);
  return { pathname: pathname.startsWith('/') ? pathname : `/${pathname}`, search: q < 0 ? '' : target.slice(q) };
}

/**
 * Reverse mode carries the client's path over; a client asking for "/" gets the target's
 * path (so `--target wss://host/socket` serves apps that connect to "/" and to "/socket").
 */
function joinPaths(base: string, path: string): string {
  return path === '/' || path === '' ? base || '/' : path;
}

function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80;
}

function defaultPort(t: UpstreamTarget): boolean {
  return t.port === (t.secure ? 443 : 80);
}

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function normalizeHost(host: string): string {
  return stripBrackets(host.trim().toLowerCase());
}
