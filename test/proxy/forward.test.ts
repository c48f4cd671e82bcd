// The forward proxy: absolute-form upgrades, CONNECT tunnels (plain and TLS-intercepted),
// plain HTTP passing through untouched, --allow-hosts.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { EngineEvent } from '../../shared/model';
import { ProxyServer } from '../../main/engine/proxy/server';
import { loadOrCreateCa } from '../../main/engine/certificates/ca-store';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { testPki } from '../peers/pki';
import * as bad from '../peers/bad-servers';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function server(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

async function forward(extra: Partial<Parameters<typeof ProxyServer.start>[0]> = {}) {
  const events: EngineEvent[] = [];
  const logs: string[] = [];
  const p = await ProxyServer.start({ host: '127.0.0.1', port: 0, sink: (e) => events.push(e), log: (l) => logs.push(l), ...extra });
  cleanup.push(() => p.stop());
  return { port: p.address.port, events, logs };
}

/** Opens a CONNECT tunnel through the proxy; resolves with the socket once it says 200. */
function tunnel(proxyPort: number, authority: string): Promise<{ socket: net.Socket; status: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    socket.once('error', reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      // What came after the head (a server that speaks first) is the tunnel's: put it back.
      const after = Buffer.from(got.slice(end + 4), 'latin1');
      if (after.length > 0) socket.unshift(after);
      resolve({ socket, status: got.slice(0, got.indexOf('\r\n')) });
    };
    socket.on('data', onData);
  });
}

function wsOver(url: string, socket: net.Socket, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { ...options, createConnection: (() => socket) as never });
  socket.resume(); // the tunnel helper paused it; http reads with a data listener
  cleanup.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.send(text);
  });
}

describe('forward proxy', () => {
  it('absolute-form: GET ws://host/path through the proxy', async () => {
    const s = await server();
    const { port, events } = await forward();
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    // ws writes origin-form; a proxy client writes absolute-form. Do it by hand.
    sock.write(
      `GET ${s.url}/abs?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const head = await new Promise<string>((r) => sock.once('data', (d) => r(d.toString('latin1'))));
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    expect(head).toMatch(/Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    expect(s.handshakes[0]!.url).toBe('/abs?q=1');
    expect(s.handshakes[0]!.headers['proxy-connection']).toBeUndefined();
    sock.write(Buffer.from('818537fa213d7f9f4d5158', 'hex'));
    const echoed = await new Promise<Buffer>((r) => sock.once('data', r));
    expect(echoed.toString('hex')).toBe('810548656c6c6f');
    sock.destroy();
    while (!events.some((e) => e.event === 'close')) await new Promise((r) => setTimeout(r, 5));
    expect(events.find((e) => e.event === 'open')).toMatchObject({ url: `${s.url}/abs?q=1` });
    expect(events.filter((e) => e.event === 'frame').map((e) => (e as { from: string }).from)).toEqual(['client', 'server']);
  });

  it('CONNECT with plain ws:// inside (as browsers do)', async () => {
    const s = await server();
    const { port, events } = await forward();
    const t = await tunnel(port, `127.0.0.1:${s.port}`);
    expect(t.status).toBe('HTTP/1.1 200 Connection Established');
    const ws = await wsOver(`${s.url}/in-tunnel`, t.socket);
    expect(await echo(ws, 'through the tunnel')).toBe('through the tunnel');
    expect(events.find((e) => e.event === 'open')).toMatchObject({ url: `${s.url}/in-tunnel` });
  });

  it('CONNECT with TLS inside: intercepted with the local CA, upstream verified', async () => {
    const pki = await testPki();
    const s = await server({ tls: pki.leaf, perMessageDeflate: true });
    const caDir = mkdtempSync(join(tmpdir(), 'framescope-ca-'));
    const ca = await loadOrCreateCa(caDir);
    const { port, events } = await forward({ caDir, insecure: true });
    const t = await tunnel(port, `localhost:${s.port}`);
    const secure = tls.connect({ socket: t.socket, servername: 'localhost', ca: ca.certPem, ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    expect(secure.authorized).toBe(true);
    expect(secure.getPeerCertificate().issuer.CN).toBe('Framescope Interception CA');
    const ws = await wsOver(`wss://localhost:${s.port}/secret`, secure as unknown as net.Socket);
    expect(await echo(ws, 'decrypted and inflated')).toBe('decrypted and inflated');
    const frames = events.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame');
    const fromServer = frames.find((f) => f.from === 'server')!;
    expect(fromServer.rsv1).toBe(true);
    expect(Buffer.from(fromServer.message!.data).toString()).toBe('decrypted and inflated');
    expect(events.find((e) => e.event === 'open')).toMatchObject({ url: `wss://localhost:${s.port}/secret`, tls: { servername: 'localhost' } });
  });

  it('hosts excluded from interception are tunnelled blind', async () => {
    const pki = await testPki();
    const s = await server({ tls: pki.leaf });
    const caDir = mkdtempSync(join(tmpdir(), 'framescope-ca-'));
    const { port, events } = await forward({ caDir, noIntercept: ['localhost'] });
    const t = await tunnel(port, `localhost:${s.port}`);
    const secure = tls.connect({ socket: t.socket, servername: 'localhost', ca: pki.ca.certPem });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    // The server's own certificate arrives: nothing in between.
    expect(secure.getPeerCertificate().issuer.CN).toBe('Framescope Test CA');
    const ws = await wsOver(`wss://localhost:${s.port}/`, secure as unknown as net.Socket);
    expect(await echo(ws, 'blind')).toBe('blind');
    expect(events).toEqual([]);
  });

  it('plain HTTP passes through, absolute-form and inside a tunnel; it is not recorded', async () => {
    const origin = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Seen-Url': req.url ?? '' });
      res.end(`hello from ${req.method} ${req.url}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => origin.close(() => r())));
    const originPort = (origin.address() as net.AddressInfo).port;
    const { port, events } = await forward();

    const viaAbsolute = await new Promise<{ status: number; body: string; seen: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: `http://127.0.0.1:${originPort}/page?x=1`, headers: { Host: `127.0.0.1:${originPort}` } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, seen: String(res.headers['x-seen-url']) }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(viaAbsolute).toEqual({ status: 200, body: 'hello from GET /page?x=1', seen: '/page?x=1' });

    const t = await tunnel(port, `127.0.0.1:${originPort}`);
    const viaTunnel = await new Promise<string>((resolve) => {
      let got = '';
      t.socket.on('data', (d) => (got += d.toString()));
      t.socket.on('end', () => resolve(got));
      t.socket.resume();
      t.socket.write(`GET /in-tunnel HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\nConnection: close\r\n\r\n`);
    });
    expect(viaTunnel).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*hello from GET \/in-tunnel/);
    expect(events).toEqual([]);
  });

  it('--allow-hosts: other hosts get 403, for CONNECT and absolute-form alike', async () => {
    const s = await server();
    const { port, logs } = await forward({ allowHosts: ['localhost'] });
    const t = await tunnel(port, `127.0.0.1:${s.port}`);
    expect(t.status).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    const status = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: `http://example.invalid/`, headers: { Host: 'example.invalid' } }, (res) => resolve(res.statusCode!));
    });
    expect(status).toBe(403);
    expect(logs.join('\n')).toMatch(/not in --allow-hosts/);
  });

  it('CONNECT to a host that refuses: 502 on the CONNECT itself, with the reason (RFC 9110 §9.3.6)', async () => {
    const closed = (await bad.refused()).port;
    const { port, logs } = await forward();
    const t = await tunnel(port, `127.0.0.1:${closed}`);
    expect(t.status).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    const body = await new Promise<string>((resolve) => {
      let text = '';
      t.socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      t.socket.once('close', () => resolve(text));
      t.socket.resume();
    });
    expect(body).toMatch(/connection refused \(127\.0\.0\.1:\d+\)/);
    expect(logs.join('\n')).toMatch(new RegExp(`CONNECT 127\\.0\\.0\\.1:${closed}: .*refused.*answered 502`));
  });

  it('non-HTTP traffic in a tunnel goes through untouched: client first (an SSH banner) and server first (an SMTP greeting)', async () => {
    // A TCP server that echoes what it gets, and one that greets first and then answers a
    // line with "250 " and the line.
    const greeting = Buffer.from('220 mail.test ESMTP ready\r\n');
    const tcp = net.createServer((c) => {
      c.on('error', () => {});
      c.on('data', (d) => c.write(d));
    });
    const greeter = net.createServer((c) => {
      c.on('error', () => {});
      c.write(greeting);
      let line = '';
      c.on('data', (d) => {
        line += d.toString('latin1');
        if (line.endsWith('\r\n')) c.write(`250 ${line}`, 'latin1');
      });
    });
    for (const srv of [tcp, greeter]) {
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      cleanup.push(() => new Promise<void>((r) => srv.close(() => r())));
    }
    const { port, events } = await forward();
    const bytesFrom = (socket: net.Socket, n: number) =>
      new Promise<Buffer>((resolve) => {
        const parts: Buffer[] = [];
        const on = (d: Buffer) => {
          parts.push(d);
          if (Buffer.concat(parts).length >= n) {
            socket.off('data', on);
            resolve(Buffer.concat(parts));
          }
        };
        socket.on('data', on);
        socket.resume();
      });

    const ssh = await tunnel(port, `127.0.0.1:${(tcp.address() as net.AddressInfo).port}`);
    cleanup.push(() => void ssh.socket.destroy());
    expect(ssh.status).toBe('HTTP/1.1 200 Connection Established');
    const banner = Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), Buffer.from([0, 0, 1, 0xfc, 0x0a, 0x14])]);
    const echoed = bytesFrom(ssh.socket, banner.length);
    ssh.socket.write(banner);
    expect((await echoed).equals(banner)).toBe(true);

    const smtp = await tunnel(port, `127.0.0.1:${(greeter.address() as net.AddressInfo).port}`);
    cleanup.push(() => void smtp.socket.destroy());
    expect((await bytesFrom(smtp.socket, greeting.length)).equals(greeting)).toBe(true);
    const ehlo = Buffer.from('EHLO client.test\r\n');
    const back = bytesFrom(smtp.socket, ehlo.length + 4);
    smtp.socket.write(ehlo);
    expect((await back).toString('latin1')).toBe('250 EHLO client.test\r\n');
    // Not WebSocket connections: nothing recorded.
    expect(events).toEqual([]);
  });

  it('an origin-form request to the forward proxy itself is told what it is', async () => {
    const { port } = await forward();
    const status = await new Promise<number>((resolve) => http.get({ host: '127.0.0.1', port, path: '/' }, (res) => resolve(res.statusCode!)));
    expect(status).toBe(400);
  });

});
