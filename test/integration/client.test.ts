// The client engine in-process against the `ws` package: payload sizes across every length
// encoding boundary up to 5 MB, crafted frames, and what a strict endpoint does with a
// server that breaks the rules after the handshake.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../main/engine/client/client';
import type { EngineEvent } from '../../shared/model';
import { startWsServer, type WsTestServer } from '../peers/ws-servers';
import * as bad from '../peers/bad-servers';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function server(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsTestServer> {
  const s = await startWsServer(options);
  cleanup.push(() => s.close());
  return s;
}

async function connect(url: string, options: Partial<Parameters<typeof WebSocketClient.connect>[0]> = {}) {
  const events: EngineEvent[] = [];
  const client = await WebSocketClient.connect({ url, onEvent: (e) => events.push(e), ...options });
  cleanup.push(() => client.destroy());
  return { client, events };
}

function nextMessage(client: WebSocketClient) {
  return new Promise<{ opcode: number; data: Uint8Array }>((resolve) => client.once('message', (m) => resolve(m)));
}

describe('binary echo across every length encoding (RFC 6455 §5.2)', () => {
  for (const size of [0, 125, 126, 65535, 65536, 5 * 1024 * 1024]) {
    for (const deflate of [false, true]) {
      it(`${size} bytes${deflate ? ', permessage-deflate' : ''}`, async () => {
        const s = await server({ perMessageDeflate: deflate });
        const { client } = await connect(s.url, { deflate });
        const data = new Uint8Array(size);
        for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
        const echo = nextMessage(client);
        client.sendBinary(data);
        const m = await echo;
        expect(m.opcode).toBe(2);
        expect(Buffer.compare(Buffer.from(m.data), Buffer.from(data))).toBe(0);
        const frames = client.record.frames.filter((f) => f.opcode === 2);
        const expectedEncoding = (n: number) => (n < 126 ? 7 : n < 65536 ? 16 : 64);
        if (!deflate) {
          // The header states the length in the minimal encoding, both ways.
          for (const f of frames) {
            expect(f.length).toBe(size);
            const len7 = f.header[1]! & 0x7f;
            expect(len7 === 126 ? 16 : len7 === 127 ? 64 : 7).toBe(expectedEncoding(size));
          }
        } else {
          expect(frames.every((f) => f.rsv1)).toBe(true);
        }
        await client.close(1000);
        expect(client.record.close).toMatchObject({ code: 1000, clean: true });
      });
    }
  }
});

describe('fragmentation (§5.4)', () => {
  it('the server receives one message from many frames; the record keeps the frames', async () => {
    const s = await server();
    const { client } = await connect(s.url, { deflate: false });
    const text = 'é'.repeat(100); // 200 bytes of UTF-8, split mid-character by 7-byte fragments
    const echo = nextMessage(client);
    client.sendText(text, { fragmentSize: 7 });
    await echo;
    expect((await s.waitForMessages(1))[0]!.data.toString()).toBe(text);
    const sent = client.record.frames.filter((f) => f.from === 'client');
    expect(sent).toHaveLength(Math.ceil(200 / 7));
    expect(sent[0]!.opcode).toBe(1);
    expect(sent.slice(1).every((f) => f.opcode === 0)).toBe(true);
    expect(sent.at(-1)!.fin).toBe(true);
    expect(Buffer.from(sent.at(-1)!.message!.data).toString()).toBe(text);
  });

  it('reassembles a fragmented message from the server', async () => {
    const s = await server({
      onConnection: (ws) => {
        ws.send('part one, ', { fin: false });
        ws.send('part two', { fin: true });
      },
    });
    const { client } = await connect(s.url, { deflate: false });
    const m = await nextMessage(client);
    expect(Buffer.from(m.data).toString()).toBe('part one, part two');
    const fromServer = client.record.frames.filter((f) => f.from === 'server');
    expect(fromServer.map((f) => [f.opcode, f.fin])).toEqual([[1, false], [0, true]]);
    expect(Buffer.from(fromServer[1]!.message!.data).toString()).toBe('part one, part two');
  });
});

describe('crafted frames (a debugger sends bad frames on purpose)', () => {
  it('a reserved opcode makes ws fail the connection with 1002', async () => {
    const s = await server();
    const { client } = await connect(s.url, { deflate: false });
    client.sendRaw({ fin: true, opcode: 0x3, payload: new Uint8Array([1, 2]) });
    const close = await client.closed;
    expect(close).toMatchObject({ by: 'server', code: 1002 });
    const sent = client.record.frames.find((f) => f.from === 'client' && f.opcode === 3)!;
    expect(sent.violations!.map((v) => v.id)).toEqual(['reserved-opcode']);
  });

  it('an unmasked client frame is refused by ws with 1002', async () => {
    const s = await server();
    const { client } = await connect(s.url, { deflate: false });
    client.sendRaw({ fin: true, opcode: 1, payload: new TextEncoder().encode('hi'), mask: false });
    expect(await client.closed).toMatchObject({ by: 'server', code: 1002 });
  });

  it('a chosen mask key goes out as given', async () => {
    const s = await server();
    const { client } = await connect(s.url, { deflate: false });
    const echo = nextMessage(client);
    client.sendRaw({ fin: true, opcode: 1, payload: new TextEncoder().encode('Hello'), maskKey: Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]) });
    await echo;
    const f = client.record.frames[0]!;
    expect(Buffer.from(f.header).toString('hex') + Buffer.from(f.payload).toString('hex')).toBe('818537fa213d' + Buffer.from('Hello').toString('hex'));
  });
});

describe('the strict endpoint fails the connection with the RFC close code', () => {
  async function against(bytes: number[] | Buffer) {
    const s = await bad.rawScript([{ write: Buffer.from(bytes) }, { delayMs: 2000 }, { end: true }]);
    cleanup.push(() => s.close());
    const { client, events } = await connect(s.url, { deflate: false });
    const close = await client.closed;
    const conn = await s.nextConnection();
    return { client, events, close, sent: conn.received() };
  }

  it('invalid UTF-8 in a text message: 1007', async () => {
    const { events, close } = await against([0x81, 0x02, 0xc3, 0x28]);
    expect(events.find((e) => e.event === 'error')).toMatchObject({ kind: 'protocol', closeCode: 1007 });
    expect(close).toMatchObject({ by: 'client', code: 1007 });
  });

  it('invalid UTF-8 split across fragments: 1007', async () => {
    const { events } = await against([0x01, 0x01, 0xe2, 0x80, 0x02, 0x82, 0x28]);
    expect(events.find((e) => e.event === 'error')).toMatchObject({ closeCode: 1007 });
  });

  it('a masked server frame: 1002, and the close frame is on the wire', async () => {
    const { events, sent } = await against([0x81, 0x81, 1, 2, 3, 4, 0x41]);
    expect(events.find((e) => e.event === 'error')).toMatchObject({ closeCode: 1002 });
    // What the client put on the wire: a masked close frame with code 1002.
    expect(sent[0]).toBe(0x88);
    const key = sent.subarray(2, 6);
    expect(((sent[6]! ^ key[0]!) << 8) | (sent[7]! ^ key[1]!)).toBe(1002);
  });

  it('--tolerant (observer stance) records the violation and stays open', async () => {
    const s = await bad.rawScript([{ write: Buffer.from([0xc1, 0x01, 0x41, 0x81, 0x01, 0x42]) }, { waitForBytes: 1 }]);
    cleanup.push(() => s.close());
    const { client } = await connect(s.url, { deflate: false, tolerant: true });
    const second = new Promise<void>((resolve) => client.on('message', (m) => m.data[0] === 0x42 && resolve()));
    await second;
    expect(client.record.frames[0]!.violations!.map((v) => v.id)).toEqual(['rsv-without-extension']);
    expect(client.record.close).toBeNull();
    client.sendText('still here');
    const conn = await s.nextConnection();
    expect((await conn.waitForBytes(1)).length).toBeGreaterThan(0);
  });
});
