// The human view of `framescope connect` (and the proxy's): what it shows of TLS, how it
// previews fragments of a text message, and that its relative times only go forward. Real
// peers: the `ws` package, a raw socket server, the built CLI.
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { WebSocket } from 'ws';
import { runCli, spawnCli } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import * as bad from '../peers/bad-servers';
import { testPki } from '../peers/pki';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function wsServer(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

/** The "+12.345ms" of every frame line, in the order printed. */
const relativeTimes = (stdout: string) => [...stdout.matchAll(/^#\d+\s+\+\s*(-?[\d.]+)ms /gm)].map((m) => Number(m[1]));
const frameLines = (stdout: string) => stdout.split('\n').filter((l) => /^#\d/.test(l));

describe('TLS in the human view', () => {
  it('connect prints protocol, cipher, verdict and the peer certificate after the handshake', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: pki.leaf });
    const url = server.url.replace('127.0.0.1', 'localhost');
    const r = await runCli(['connect', url, '--ca', pki.caFile, '--send', 'x', '--expect', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const tls = lines.findIndex((l) => l.startsWith('TLS: '));
    // After the handshake's lines (the Accept verdict), before the first frame.
    expect(tls).toBeGreaterThan(lines.findIndex((l) => l.startsWith('Accept valid')));
    expect(tls).toBeLessThan(lines.findIndex((l) => l.startsWith('#0 ')));
    expect(lines[tls]).toMatch(/^TLS: TLSv1\.[23], [A-Z0-9_-]+, certificate verified \(SNI localhost\)$/);
    const cert = new X509Certificate(pki.leaf.certPem);
    expect(lines[tls + 1]).toMatch(/^certificate: .*; issuer: .*CN=Framescope Test CA/);
    expect(lines[tls + 2]).toBe(`certificate valid ${cert.validFrom} to ${cert.validTo}; SHA-256 ${cert.fingerprint256}`);
  });

  it('connect --insecure says the certificate was not verified, and why', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: pki.selfSigned });
    const r = await runCli(['connect', server.url, '--insecure', '--send', 'x', '--expect', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^TLS: TLSv1\.[23], \S+, certificate not verified: \S*SELF_SIGNED\S*$/m);
    expect(r.stdout).toContain(`SHA-256 ${new X509Certificate(pki.selfSigned.certPem).fingerprint256}`);
  });

  it('the reverse proxy prints the upstream TLS session after the handshake', async () => {
    const pki = await testPki();
    const server = await wsServer({ tls: pki.selfSigned });
    const proc = spawnCli(['proxy', '--listen', '127.0.0.1:0', '--target', server.url, '--insecure']);
    cleanup.push(() => proc.stop('SIGKILL'));
    const listening = await proc.waitForLine(/^framescope proxy: listening on /, { stream: 'stderr' });
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(listening)?.[1]);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    cleanup.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close(1000);
    await proc.waitForLine(/closed: /);
    const lines = (await proc.stop('SIGINT')).stdout.split('\n');
    const tls = lines.findIndex((l) => l.startsWith('[p1] upstream TLS: '));
    expect(tls).toBeGreaterThan(lines.findIndex((l) => /^\[p1\] Accept valid/.test(l)));
    expect(lines[tls]).toMatch(/TLSv1\.[23], \S+, certificate not verified/);
    expect(lines[tls + 2]).toContain(`SHA-256 ${new X509Certificate(pki.selfSigned.certPem).fingerprint256}`);
  });

  it('plain ws:// prints no TLS lines', async () => {
    const server = await wsServer();
    const r = await runCli(['connect', server.url, '--send', 'x', '--expect', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Accept valid/m);
    expect(r.stdout).not.toMatch(/TLS|certificate/);
  });
});

describe('fragments of a text message', () => {
  it('continuation frames are previewed as text, a character split across fragments shown whole once', async () => {
    // "ab😀cd€e": the emoji split 1+3 across the first two fragments, the euro sign 2+1.
    const bytes = Buffer.from('ab😀cd€e');
    const parts = [bytes.subarray(0, 3), bytes.subarray(3, 10), bytes.subarray(10)];
    const server = await wsServer({
      onConnection: (socket) => {
        socket.once('message', () => {
          socket.send(parts[0]!, { binary: false, fin: false });
          socket.send(parts[1]!, { binary: false, fin: false });
          socket.send(parts[2]!, { binary: false, fin: true });
        });
      },
    });
    const r = await runCli(['connect', server.url, '--send', 'go', '--expect', '1', '--no-deflate']);
    expect(r.code).toBe(0);
    const fromServer = frameLines(r.stdout).filter((l) => /← server (text|continuation)/.test(l));
    expect(fromServer, r.stdout).toHaveLength(3);
    expect(fromServer[0]).toMatch(/text +--- -- -- --.*len +3 +"ab"$/);
    expect(fromServer[1]).toMatch(/continuation +--- -- -- --.*len +7 +"😀cd"$/);
    expect(fromServer[2]).toMatch(/continuation +FIN -- -- --.*len +2 +message 12 B: "ab😀cd€e"$/);
    expect(r.stdout).not.toContain('\ufffd');
  });

  it('continuation frames of a binary message stay hex', async () => {
    const server = await wsServer({
      onConnection: (socket) => {
        socket.once('message', () => {
          socket.send(Buffer.from('6869', 'hex'), { binary: true, fin: false });
          socket.send(Buffer.from('6a6b', 'hex'), { binary: true, fin: true });
        });
      },
    });
    const r = await runCli(['connect', server.url, '--send', 'go', '--expect', '1', '--no-deflate']);
    expect(r.code).toBe(0);
    const fromServer = frameLines(r.stdout).filter((l) => l.includes('← server'));
    expect(fromServer[1]).toMatch(/continuation .*len +2 +message 4 B: 68 69 6a 6b$/);
    expect(fromServer[0]).toMatch(/binary .*len +2 +68 69$/);
  });
});

describe('relative times', () => {
  it('never go backwards: the close frame a protocol failure sends is timed after the frame that caused it', async () => {
    // After the client's message, a frame with a reserved opcode: the client fails the
    // connection with 1002 in the same turn.
    const s = await bad.rawScript([{ waitForBytes: 1 }, { write: bad.rawFrame({ opcode: 3, payload: 'x' }) }]);
    cleanup.push(() => s.close());
    // Several connections: the close frame's time was off by a sub-millisecond clock
    // difference that put it before its cause most of the time, not every time.
    for (let run = 0; run < 5; run++) {
      const r = await runCli(['connect', s.url, '--send', 'x', '--expect', '1', '--timeout', '5000']);
      expect(r.code).toBe(1);
      const lines = frameLines(r.stdout);
      expect(lines.some((l) => /client → close .*1002/.test(l))).toBe(true);
      const times = relativeTimes(r.stdout);
      expect(times.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < times.length; i++) expect(times[i], lines.join('\n')).toBeGreaterThanOrEqual(times[i - 1]!);
    }
  });
});
