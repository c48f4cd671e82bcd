// The pcapng export judged by tshark (docs/contracts.md "pcapng export"): a real session
// recorded by `framescope connect --capture` against the `ws` package (text, binary,
// fragmented, masked, ping/pong, close, permessage-deflate), plus a hand-made capture of
// odd cases. tshark must list exactly the capture's frames, in order, with the same
// opcode, FIN, RSV, mask, mask key, length and payload, and find no malformed packet and
// no bad IP or TCP checksum.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFile } from '../../shared/model';
import { writeCaptureFile } from '../../main/engine/recording/capture-writer';
import { openCapture, readCapture } from '../../main/engine/recording/capture-reader';
import { exportCapture } from '../../main/engine/recording/export';
import { runCli } from '../peers/cli';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import { capture, closePayload, connection, frame } from './build';
import { judge, requireTshark } from './tshark';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-pcapng-'));
  // FRAMESCOPE_KEEP_TMP=1 keeps the files, to open them in Wireshark when a check fails.
  if (!process.env['FRAMESCOPE_KEEP_TMP']) cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
async function wsServer(options: Parameters<typeof startWsServer>[0]): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

beforeAll(() => requireTshark());

describe('pcapng export, judged by tshark', () => {
  it('a real session recorded by connect --capture: text, binary, fragments, masks, ping/pong, close, permessage-deflate', async () => {
    const text = (n: number, seed: string) => Array.from({ length: n }, (_, i) => seed[(i * 7) % seed.length]).join('');
    // The server also sends a fragmented message of its own (compressed: RSV1 on the first frame only).
    const server = await wsServer({
      perMessageDeflate: true,
      echo: true,
      onConnection: (ws) => {
        ws.send('server-fragment-one;', { fin: false });
        ws.send('server-fragment-two;', { fin: false });
        ws.send('server-fragment-end', { fin: true });
      },
    });
    const plain = await wsServer({ perMessageDeflate: false, echo: true });
    const d = tmp();
    const long = text(700, 'abcdefghijklmnopqrstuvwxyz0123456789');
    const a = await runCli([
      'connect', `${server.url}/deflate`, '--send', 'hello', '--send-hex', '00ff10', '--send', long, '--fragment', '100',
      '--ping', 'are you there', '--expect', '4', '--close', '4001:bye', '--capture', join(d, 'a.json'), '--json',
    ]);
    expect(a.stderr).toBe('');
    const b = await runCli([
      'connect', `${plain.url}/plain`, '--send', long, '--send-hex', 'cafebabe'.repeat(40), '--fragment', '64', '--ping',
      '--expect', '2', '--capture', join(d, 'b.json'), '--json',
    ]);
    expect(b.stderr).toBe('');
    const ca = readCapture(join(d, 'a.json'));
    const cb = readCapture(join(d, 'b.json'));
    const both: CaptureFile = { ...ca, connections: [...ca.connections, { ...cb.connections[0]!, id: 'c2' }] };
    writeCaptureFile(join(d, 'both.json'), both.connections, both.createdAt);

    const frames = both.connections.flatMap((c) => c.frames);
    // The recording has what the issue asks for.
    expect(frames.some((f) => f.rsv1 && f.from === 'client')).toBe(true);
    expect(frames.some((f) => f.rsv1 && f.from === 'server' && !f.fin)).toBe(true);
    expect(frames.some((f) => f.opcode === 0 && !f.rsv1 && f.from === 'client')).toBe(true);
    expect(frames.filter((f) => f.opcode >= 8).map((f) => f.opcode)).toEqual(expect.arrayContaining([8, 9, 10]));

    const r = await runCli(['export', join(d, 'both.json'), '--format', 'pcapng', '-o', join(d, 'both.pcapng')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    judge(join(d, 'both.pcapng'), both, [server.port, plain.port]);
  });

  it('a hand-made capture of odd cases: IPv6, 16- and 64-bit lengths, a truncated payload, no addresses, no handshake, a reserved opcode', () => {
    const d = tmp();
    const t = 1_795_000_000_000;
    const big = Buffer.alloc(70_000, 0x61);
    const odd = capture([
      connection({
        id: 'v6',
        url: 'ws://[::1]:9002/six',
        client: '::1:50002',
        server: '[::1]:9002',
        frames: [
          frame({ seq: 0, time: t, from: 'client', opcode: 1, payload: '' }),
          frame({ seq: 1, time: t + 1, from: 'client', opcode: 2, payload: Buffer.alloc(200, 1) }),
          frame({ seq: 2, time: t + 2, from: 'server', opcode: 1, payload: big }),
          frame({
            seq: 3,
            time: t + 3,
            from: 'server',
            opcode: 1,
            payload: 'short',
            lengthEncoding: 16,
            extra: { violations: [{ id: 'non-minimal-length', rfc: '6455 §5.2', severity: 'warning', message: 'a 16-bit length for 5 bytes' }] },
          }),
          // Cut by the recorder's limit: 100 of 300 bytes stored; the next frame must still dissect.
          frame({ seq: 4, time: t + 4, from: 'server', opcode: 2, payload: Buffer.alloc(300, 9), stored: 100 }),
          frame({ seq: 5, time: t + 5, from: 'server', opcode: 3, payload: 'rsvd' }),
          frame({ seq: 6, time: t + 6, from: 'server', opcode: 9, payload: '' }),
          frame({ seq: 7, time: t + 7, from: 'client', opcode: 10, payload: '' }),
          frame({ seq: 8, time: t + 8, from: 'client', opcode: 8, payload: closePayload(1001, 'going') }),
          frame({ seq: 9, time: t + 9, from: 'server', opcode: 8, payload: closePayload(1001) }),
        ],
      }),
      connection({
        id: 'nowhere',
        url: 'wss://secure.example:8443/tls',
        client: null,
        server: null,
        tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', servername: 'secure.example', authorized: true },
        frames: [frame({ seq: 0, time: t + 0.5, from: 'client', opcode: 1, payload: 'over tls' }), frame({ seq: 1, time: t + 0.7, from: 'server', opcode: 1, payload: 'back' })],
      }),
      connection({
        id: 'bare',
        handshake: null,
        url: 'ws://127.0.0.1:9003/bare',
        client: '127.0.0.1:50003',
        server: '127.0.0.1:9003',
        endedAt: null,
        close: null,
        frames: [frame({ seq: 0, time: t + 0.8, from: 'server', opcode: 1, payload: 'no handshake seen' })],
      }),
    ]);
    writeCaptureFile(join(d, 'odd.json'), odd.connections, odd.createdAt);
    const source = openCapture(join(d, 'odd.json'));
    const result = exportCapture(source, 'pcapng', join(d, 'odd.pcapng'));
    source.close();
    expect(result).toMatchObject({ connections: 3, frames: 13 });
    const rows = judge(join(d, 'odd.pcapng'), odd, [9002, 8443, 9003]);
    const comments = rows.map((r) => r['frame.comment']).join('\n');
    expect(comments).toMatch(/only 100 of 300 payload bytes are in the capture; the other 200 are zero padding/);
    expect(comments).toMatch(/server address unknown, 127\.0\.0\.1:8443 invented; client address unknown/);
    expect(comments).toMatch(/TLS: the decrypted plaintext is shown/);
    expect(comments).toMatch(/no handshake in the record: a minimal HTTP upgrade was invented/);
    expect(comments).toMatch(/frame 3: non-minimal-length/);
    // The 70,000-byte frame spans two TCP segments, each within the IP limit.
    expect(readFileSync(join(d, 'odd.pcapng')).length).toBeGreaterThan(70_000);
  });
});
