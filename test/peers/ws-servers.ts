// WebSocket servers built on the `ws` package: an independent, well-behaved peer to test our client,
// proxy and CLI against. Every server binds to loopback on port 0 and records what it saw.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type PerMessageDeflateOptions, type RawData, type WebSocket } from 'ws';

export interface WsServerOptions {
  /**
   * permessage-deflate (RFC 7692). false (default) refuses it; true or an options object accepts it.
   * Unlike ws's own default (1024), `threshold` defaults to 0 here, so every message is compressed
   * and even short test messages carry RSV1.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Subprotocols the server supports, in no particular order: it picks the first one the client
   * offered that is in this list, else none. A function is handed to ws as is.
   */
  handleProtocols?: string[] | ((offered: Set<string>, request: IncomingMessage) => string | false);
  /** Serve wss:// (an https server) with this certificate and key. */
  tls?: { certPem: string; keyPem: string };
  /** '127.0.0.1' (default) or '::1'. Nothing else: test peers stay on loopback. */
  host?: '127.0.0.1' | '::1';
  /**
   * Custom behaviour per connection (send N messages, close with a code, ...). Runs after the
   * server's own recording listeners are attached.
   */
  onConnection?: (socket: WebSocket, request: IncomingMessage, server: WsTestServer) => void;
  /** Echo every data message back (text as text, binary as binary). Default: true unless onConnection is given. */
  echo?: boolean;
  /** Largest message the server accepts (ws closes with 1009 beyond it). ws's default is 100 MiB. */
  maxPayload?: number;
  /** Only accept upgrades on this path (ws answers others with 400). Default: any path. */
  path?: string;
}

export interface ReceivedMessage {
  data: Buffer;
  isBinary: boolean;
  /** Index into `handshakes`/`sockets` of the connection it came on. */
  connection: number;
}

export interface ServerHandshake {
  /** The request target as sent, e.g. "/chat?x=1". */
  url: string;
  /** Header names lowercased by Node; see rawHeaders for order and case. */
  headers: IncomingMessage['headers'];
  /** [name, value, name, value, ...] exactly as sent. */
  rawHeaders: string[];
  /** The subprotocol the server chose ('' for none). */
  protocol: string;
  /** The Sec-WebSocket-Extensions value the server answered with, parameters included ('' for none). */
  extensions: string;
  /** The server's 101 response head lines as ws wrote them (status line first). */
  responseHeaders: string[];
  remoteAddress: string;
  remotePort: number;
}

export interface ReceivedClose {
  connection: number;
  /** As ws reports it: 1005 when the close frame carried no code, 1006 when there was no close frame. */
  code: number;
  reason: string;
}

export interface WsTestServer {
  /** ws://127.0.0.1:PORT, ws://[::1]:PORT, or wss://... with tls. No trailing slash. */
  url: string;
  port: number;
  host: string;
  server: WebSocketServer;
  /** The underlying http(s) server (plain requests to it get 426 Upgrade Required). */
  httpServer: HttpServer;
  /** Every data message any client sent, in arrival order. */
  received: ReceivedMessage[];
  /** Payloads of pings clients sent (ws answers each with a pong by itself). */
  pings: Array<{ connection: number; data: Buffer }>;
  /** Every completed handshake, by connection index. */
  handshakes: ServerHandshake[];
  /** The server side of every connection, by connection index. */
  sockets: WebSocket[];
  /** Close codes and reasons as each connection ended. */
  closes: ReceivedClose[];
  /** Resolves with the next connection's index (or one already made and not yet waited for). */
  nextConnection(): Promise<number>;
  /** Resolves once `received` holds at least `count` messages. */
  waitForMessages(count: number): Promise<ReceivedMessage[]>;
  /** Resolves once connection `index` (default: the first) has closed. */
  waitForClose(index?: number): Promise<ReceivedClose>;
  /** Terminates every connection and stops listening. Safe to call twice. */
  close(): Promise<void>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function deflateOption(option: WsServerOptions['perMessageDeflate']): false | PerMessageDeflateOptions {
  if (!option) return false;
  return { threshold: 0, ...(option === true ? {} : option) };
}

function protocolChooser(option: WsServerOptions['handleProtocols']) {
  if (option === undefined || typeof option === 'function') return option;
  const supported = new Set(option);
  return (offered: Set<string>): string | false => {
    for (const name of offered) if (supported.has(name)) return name;
    return false;
  };
}

/** Starts a `ws` server on loopback, port 0. */
export async function startWsServer(options: WsServerOptions = {}): Promise<WsTestServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error(`test servers bind to loopback only, not ${String(host)}`);
  const echo = options.echo ?? options.onConnection === undefined;

  // Plain HTTP requests are not what these servers are for; answer them instead of hanging.
  const onRequest = (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close', Upgrade: 'websocket' });
    res.end('426 Upgrade Required: this is a WebSocket test server\n');
  };
  const httpServer: HttpServer = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, onRequest)
    : createHttpServer(onRequest);
  const rawSockets = new Set<Socket>();
  httpServer.on('connection', (socket: Socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
  });
  // A client that aborts its TLS handshake (e.g. it rejected our certificate) is normal in tests.
  httpServer.on('tlsClientError', () => {});
  httpServer.on('clientError', (_err, socket) => socket.destroy());

  const chooser = protocolChooser(options.handleProtocols);
  const wss = new WebSocketServer({
    server: httpServer,
    perMessageDeflate: deflateOption(options.perMessageDeflate),
    ...(chooser ? { handleProtocols: chooser } : {}),
    ...(options.maxPayload !== undefined ? { maxPayload: options.maxPayload } : {}),
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  wss.on('error', () => {});
  // ws reports only extension names on the socket; the response lines carry the parameters.
  const responses = new WeakMap<IncomingMessage, string[]>();
  wss.on('headers', (headers, request) => responses.set(request, [...headers]));

  const received: ReceivedMessage[] = [];
  const pings: WsTestServer['pings'] = [];
  const handshakes: ServerHandshake[] = [];
  const sockets: WebSocket[] = [];
  const closes: ReceivedClose[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const waitUntil = <T>(ready: () => T | undefined): Promise<T> =>
    new Promise((resolve) => {
      const check = () => {
        const value = ready();
        if (value === undefined) return;
        waiters.delete(check);
        resolve(value);
      };
      waiters.add(check);
      check();
    });
  let connectionsTaken = 0;

  const handle: WsTestServer = {
    url: '',
    port: 0,
    host,
    server: wss,
    httpServer,
    received,
    pings,
    handshakes,
    sockets,
    closes,
    nextConnection: () =>
      waitUntil(() => (connectionsTaken < sockets.length ? connectionsTaken++ : undefined)),
    waitForMessages: (count) => waitUntil(() => (received.length >= count ? received.slice() : undefined)),
    waitForClose: (index = 0) => waitUntil(() => closes.find((c) => c.connection === index)),
    close: async () => {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const socket of rawSockets) socket.destroy();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };

  wss.on('connection', (socket, request) => {
    const connection = sockets.length;
    sockets.push(socket);
    const responseHeaders = responses.get(request) ?? [];
    const extensionsLine = responseHeaders.find((line) => /^sec-websocket-extensions:/i.test(line));
    handshakes.push({
      url: request.url ?? '',
      headers: request.headers,
      rawHeaders: request.rawHeaders,
      protocol: socket.protocol,
      extensions: extensionsLine ? extensionsLine.slice(extensionsLine.indexOf(':') + 1).trim() : '',
      responseHeaders,
      remoteAddress: request.socket.remoteAddress ?? '',
      remotePort: request.socket.remotePort ?? 0,
    });
    socket.on('error', () => {});
    socket.on('message', (data, isBinary) => {
      const buffer = toBuffer(data);
      received.push({ data: buffer, isBinary, connection });
      if (echo && socket.readyState === socket.OPEN) socket.send(buffer, { binary: isBinary });
      wake();
    });
    socket.on('ping', (data) => {
      pings.push({ connection, data });
      wake();
    });
    socket.on('close', (code, reason) => {
      closes.push({ connection, code, reason: reason.toString('utf8') });
      wake();
    });
    options.onConnection?.(socket, request, handle);
    wake();
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const scheme = options.tls ? 'wss' : 'ws';
  handle.port = port;
  handle.url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return handle;
}
