// STOMP through `framescope proxy --json`: the real @stomp/stompjs client against a small
// STOMP 1.2 server written here on `ws` (there is no maintained STOMP broker for Node):
// CONNECT → CONNECTED, receipts → RECEIPT, SUBSCRIBE id ↔ MESSAGE subscription named by the
// destination, heart-beats (a bare EOL) marked, detection from the v1x.stomp subprotocols.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Client, type IFrame } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import { decoderFor, type Decoded } from '../../shared/decoders';
import { closes, decodedFrames, one, startProxy, stopProxy, wsServer } from './proxy-helpers';
import { stompSession } from './stomp-server';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A STOMP 1.2 server on `ws` (test/decoders/stomp-server.ts). */
async function stompServer(): Promise<number> {
  const { wss, port } = await wsServer(cleanup, { handleProtocols: (p) => (p.has('v12.stomp') ? 'v12.stomp' : false) });
  wss.on('connection', (ws) => {
    const session = stompSession((text) => ws.send(text));
    ws.on('message', (b: Buffer) => session(b.toString()));
  });
  return port;
}

describe('STOMP: @stomp/stompjs through the proxy', () => {
  it('CONNECT → CONNECTED, receipts, SUBSCRIBE ↔ MESSAGE by subscription id, heart-beats; a receipt never sent flagged', async () => {
    const port = await stompServer();
    const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`);
    cleanup.push(() => proc.stop('SIGKILL'));
    const client = new Client({
      webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${proxyPort}/stomp`, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      heartbeatIncoming: 0,
      heartbeatOutgoing: 50,
      reconnectDelay: 0,
    });
    const connected = new Promise<void>((r) => (client.onConnect = () => r()));
    client.activate();
    cleanup.push(() => client.deactivate());
    await connected;
    const got: IFrame[] = [];
    const two = new Promise<void>((r) =>
      client.subscribe('/topic/chat', (msg) => {
        got.push(msg);
        if (got.length === 2) r();
      }, { id: 'sub-0' }),
    );
    const receipt = new Promise<void>((r) => client.watchForReceipt('r-1', () => r()));
    client.publish({ destination: '/topic/chat', body: 'hello: world\nline two', headers: { receipt: 'r-1' } });
    await receipt;
    client.publish({ destination: '/topic/chat', body: 'ünïcode' });
    await two;
    expect(got.map((m) => m.body)).toEqual(['hello: world\nline two', 'ünïcode']);
    client.unsubscribe('sub-0');
    client.publish({ destination: '/queue/stuck', body: 'x', headers: { receipt: 'r-stuck' } });
    await proc.waitForLine((l) => l.includes('"from":"client"') && l.includes('"type":"heartbeat"'));
    await proc.waitForLine((l) => l.includes('r-stuck'));
    await client.deactivate({ force: true });
    await closes(proc);
    const events = await stopProxy(proc);
    const d = decodedFrames(events);
    expect(new Set(d.map((f) => f.d.protocol))).toEqual(new Set(['stomp']));
    expect(d.filter((f) => f.d.type === 'invalid')).toEqual([]);

    const connect = one(d, (x) => x.type === 'CONNECT');
    expect(connect.d.value).toMatchObject({ headers: { 'accept-version': expect.stringContaining('1.2'), 'heart-beat': '50,0' } });
    expect(one(d, (x) => x.type === 'CONNECTED').d).toMatchObject({ pairedWith: connect.seq, value: { headers: { version: '1.2' } } });
    const sub = one(d, (x) => x.type === 'SUBSCRIBE');
    expect(sub.d).toMatchObject({ name: '/topic/chat', id: 'sub-0' });
    const messages = d.filter((f) => f.d.type === 'MESSAGE');
    expect(messages.map((f) => [f.d.name, f.d.id, f.d.pairedWith, (f.d.value as { body: string }).body])).toEqual([
      ['/topic/chat', 'sub-0', sub.seq, 'hello: world\nline two'],
      ['/topic/chat', 'sub-0', sub.seq, 'ünïcode'],
    ]);
    const send = one(d, (x) => x.type === 'SEND' && x.id === 'r-1');
    expect(send.d).toMatchObject({ name: '/topic/chat', summary: 'SEND "/topic/chat" id r-1' });
    expect(one(d, (x) => x.type === 'RECEIPT').d).toMatchObject({ id: 'r-1', pairedWith: send.seq });
    expect(one(d, (x) => x.type === 'UNSUBSCRIBE').d).toMatchObject({ id: 'sub-0', name: '/topic/chat' });
    const beats = d.filter((f) => f.d.type === 'heartbeat');
    expect(new Set(beats.map((f) => f.from))).toEqual(new Set(['client', 'server']));
    expect(beats.every((f) => f.d.heartbeat === true)).toBe(true);
    const stuck = one(d, (x) => x.type === 'SEND' && x.id === 'r-stuck');
    expect(events.find((e) => e.event === 'close')!.unanswered).toEqual([{ seq: stuck.seq, protocol: 'stomp', type: 'SEND', name: '/queue/stuck', id: 'r-stuck' }]);
  });
});

describe('STOMP frames: decode(encode(x)) = x', () => {
  it('commands, escaped headers, bodies with and without content-length, several frames in one message', () => {
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/:/g, '\\c');
    const f = fc.record({
      command: fc.constantFrom('SEND', 'SUBSCRIBE', 'MESSAGE', 'ACK', 'BEGIN', 'ERROR'),
      headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== 'content-length'), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      body: fc.string({ maxLength: 20 }),
      sized: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(f, { minLength: 1, maxLength: 3 }), (frames) => {
        const text = frames
          .map((x) => {
            // Without content-length the body ends at the first NUL.
            const body = x.sized ? x.body : x.body.replace(/\0/g, '');
            const hs = Object.entries(x.headers).map(([k, v]) => `${esc(k)}:${esc(v)}`);
            if (x.sized) hs.push(`content-length:${new TextEncoder().encode(body).length}`);
            return `${x.command}\n${hs.map((l) => `${l}\n`).join('')}\n${body}\0\n`;
          })
          .join('');
        const d = decoderFor('stomp', null).decode({ seq: 0, time: 0, from: 'client', opcode: 1, data: Buffer.from(text) });
        const out = frames.length === 1 ? [d] : (d.value as Decoded[]);
        if (frames.length > 1) expect(d.type).toBe('batch');
        frames.forEach((x, i) => {
          const v = out[i]!.value as { headers: Record<string, string>; body: string };
          expect(out[i]!.type).toBe(x.command);
          expect(v.body).toBe(x.sized ? x.body : x.body.replace(/\0/g, ''));
          for (const [k, val] of Object.entries(x.headers)) expect(v.headers[k]).toBe(val);
        });
      }),
    );
  });
});
