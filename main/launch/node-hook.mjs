// Preloaded by `framescope launch -- node …` (NODE_OPTIONS=--import): sends the app's
// HTTP, HTTPS and WebSocket connections through Framescope's forward proxy, unchanged app.
//
// - http/https.request and .get (what `ws`, socket.io-client and most HTTP clients call) get
//   an agent that opens each connection as a CONNECT tunnel through the proxy; a request that
//   names its own agent, or a Unix socket, is left alone.
// - fetch (undici, bundled with Node): its global dispatcher is replaced by one of the same
//   class whose connections are CONNECT tunnels too.
// The proxy reads the tunnel's first bytes: TLS is intercepted with its CA (which
// NODE_EXTRA_CA_CERTS makes this process trust), plain HTTP is read as requests.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { urlToHttpOptions } from 'node:url';

const PROXY = process.env.FRAMESCOPE_LAUNCH_PROXY;
/** A proxy's answer to CONNECT is a few hundred bytes; anything longer is not one. */
const MAX_CONNECT_REPLY = 16 * 1024;

function proxyAddress() {
  const u = new URL(PROXY);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) };
}

/** Opens a CONNECT tunnel to host:port through the proxy; cb(err, socket) once it is open. */
function tunnel(host, port, cb) {
  const p = proxyAddress();
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const socket = net.connect({ host: p.host, port: p.port });
  let got = Buffer.alloc(0);
  let done = false;
  const finish = (err) => {
    if (done) return;
    done = true;
    socket.off('data', onData);
    socket.off('error', finish);
    socket.off('close', onClose);
    if (err) {
      socket.destroy();
      cb(err);
    } else cb(null, socket);
  };
  const onClose = () => finish(new Error(`the Framescope proxy closed the tunnel to ${authority}`));
  const onData = (chunk) => {
    got = Buffer.concat([got, chunk]);
    const end = got.indexOf('\r\n\r\n');
    if (end < 0) {
      if (got.length > MAX_CONNECT_REPLY) finish(new Error('the Framescope proxy sent no answer to CONNECT'));
      return;
    }
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(got.subarray(0, end).toString('latin1'));
    if (!status || status[1] !== '200') {
      const e = new Error(`the Framescope proxy refused ${authority}: ${got.subarray(0, got.indexOf('\r\n')).toString('latin1')}`);
      e.code = 'ECONNREFUSED';
      return finish(e);
    }
    const rest = got.subarray(end + 4);
    // Paused until its new owner listens (the HTTP client attaches on a later tick); bytes past
    // the answer (none from Framescope, which waits for the client) are put back first.
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    finish(null);
  };
  socket.on('data', onData);
  socket.on('error', finish);
  socket.on('close', onClose);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  return socket;
}

function targetOf(options, defaultPort) {
  const host = (options.host || options.hostname || 'localhost').replace(/^\[|\]$/g, '');
  return { host, port: Number(options.port) || defaultPort };
}

/** Hands the tunnel to TLS the way the caller would have connected (its own TLS options kept). */
function secureOver(socket, options) {
  const servername = options.servername ?? (net.isIP(options.host ?? '') ? undefined : options.host);
  const opts = { ...options, socket, servername: servername || undefined };
  delete opts.path;
  delete opts.host;
  delete opts.port;
  // A library's own TLS connector (ws's tlsConnect) keeps its options; it ends in tls.connect.
  return typeof options.createConnection === 'function' ? options.createConnection(opts) : tls.connect(opts);
}

class TunnelAgent extends http.Agent {
  createConnection(options, cb) {
    const { host, port } = targetOf(options, 80);
    tunnel(host, port, (err, socket) => {
      if (err) return cb(err);
      cb(null, socket);
      process.nextTick(() => socket.resume());
    });
    return undefined;
  }
}

class SecureTunnelAgent extends https.Agent {
  createConnection(options, cb) {
    const { host, port } = targetOf(options, 443);
    tunnel(host, port, (err, socket) => {
      if (err) return cb(err);
      const secure = secureOver(socket, options);
      cb(null, secure);
    });
    return undefined;
  }
}

const plainAgent = new TunnelAgent({ keepAlive: false });
const secureAgent = new SecureTunnelAgent({ keepAlive: false });

function isLoopbackProxy(o) {
  const p = proxyAddress();
  const { host, port } = targetOf(o, 0);
  return port === p.port && (host === p.host || host === 'localhost');
}

/** request(url?, options?, cb?) with our agent unless the caller chose one. */
function wrap(original, agent, origGlobal) {
  return function request(...args) {
    let url = null;
    let options = {};
    let cb;
    if (typeof args[0] === 'string' || args[0] instanceof URL) url = args.shift();
    if (args[0] && typeof args[0] === 'object') options = args.shift();
    if (typeof args[0] === 'function') cb = args.shift();
    const merged = url ? { ...urlToHttpOptions(typeof url === 'string' ? new URL(url) : url), ...options } : { ...options };
    const own = merged.agent !== undefined && merged.agent !== null && merged.agent !== origGlobal && merged.agent !== agent;
    if (own || merged.socketPath || isLoopbackProxy(merged)) return cb ? original(...(url ? [url, options, cb] : [options, cb])) : original(...(url ? [url, options] : [options]));
    merged.agent = agent;
    return cb ? original(merged, cb) : original(merged);
  };
}

function patch(mod, agent) {
  const origGlobal = mod.globalAgent;
  const request = wrap(mod.request, agent, origGlobal);
  mod.request = request;
  mod.get = function get(...args) {
    const req = request(...args);
    req.end();
    return req;
  };
  mod.globalAgent = agent;
}

/** fetch: the bundled undici's dispatcher, rebuilt with a connector that tunnels. */
async function patchFetch() {
  if (typeof globalThis.fetch !== 'function') return;
  const key = Symbol.for('undici.globalDispatcher.1');
  // Loading fetch is lazy: a data: URL loads undici (and its default dispatcher) without the network.
  if (!globalThis[key]) await globalThis.fetch('data:,').catch(() => {});
  const current = globalThis[key];
  const Agent = current?.constructor;
  if (typeof Agent !== 'function') return;
  const connect = (opts, cb) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const host = opts.hostname;
    tunnel(host, port, (err, socket) => {
      if (err) return cb(err);
      if (opts.protocol !== 'https:') {
        cb(null, socket);
        return process.nextTick(() => socket.resume());
      }
      const servername = opts.servername || (net.isIP(host) ? undefined : host);
      const secure = tls.connect({ socket, servername, ALPNProtocols: ['http/1.1'] });
      secure.once('secureConnect', () => cb(null, secure));
      secure.once('error', (e) => cb(e));
    });
  };
  globalThis[key] = new Agent({ connect });
}

if (PROXY) {
  patch(http, plainAgent);
  patch(https, secureAgent);
  try {
    await patchFetch();
  } catch {
    // fetch stays direct: a Node without the bundled undici this expects.
  }
}
