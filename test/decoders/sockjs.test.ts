// SockJS through `framescope proxy --json`: the real `sockjs` server and `sockjs-client` (its
// websocket transport, `…/<server>/<session>/websocket`), plain messages and STOMP over SockJS
// with @stomp/stompjs, whose frames decode as STOMP (`via: "sockjs"`) and pair as STOMP. The
// server's raw `…/websocket` endpoint has no SockJS framing: it decodes as the bare protocol.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { Client, type IFrame } from '@stomp/stompjs';
import sockjs from 'sockjs';
import SockJS from 'sockjs-client';
import { WebSocket } from 'ws';
import { decoderFor, detectFromHandshake, detectFromMessage, type Decoded } from '../../shared/decoders';
import type { EngineEvent } from '../../shared/model';
import { encodeFrame } from '../../shared/codec/frame-writer';
import { FrameParser } from '../../shared/codec/frame-parser';
import { SessionDecoding } from '../../main/engine/session/session-decode';
import { closes, decodedFrames, httpServer, one, startProxy, stopProxy } from './proxy-helpers';
import { stompSession } from './stomp-server';

const require = createRequire(import.meta.url);
// The libraries' own quoting: the server's for `a[…]` frames, the client's for what it sends.
const serverQuote = (require('sockjs/lib/utils.js') as { quote(s: string): string }).quote;
const clientQuote = (require('sockjs-client/lib/utils/escape.js') as { quote(s: string): string }).quote;

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A sockjs server at /echo (echoes, `bye` closes with 3000) and /stomp (a STOMP 1.2 session). */
async function sockjsServer(): Promise<number> {
  const http = await httpServer();
  cleanup.push(() => http.close());
  const open = new Set<sockjs.Connection>();
  cleanup.push(() => {
    for (const c of open) c.destroy();
  });
  const echo = sockjs.createServer({ log: () => {} });
  echo.on('connection', (conn) => {
    open.add(conn);
    conn.on('data', (text: string) => {
      // The code as text, as the package's types have it: on the wire `c["3000","bye now"]`.
      if (text === 'bye') return conn.close('3000', 'bye now');
      conn.write(text);
      conn.write(`${text}!`);
    });
  });
  echo.installHandlers(http.server, { prefix: '/echo' });
  const stomp = sockjs.createServer({ log: () => {} });
  stomp.on('connection', (conn) => {
    open.add(conn);
    const session = stompSession((text) => conn.write(text));
    conn.on('data', (text: string) => session(text));
  });
  stomp.installHandlers(http.server, { prefix: '/stomp' });
  return http.port;
}

/** Every record, batches opened up. */
const flat = (ds: Decoded[]): Decoded[] => ds.flatMap((d) => (d.type === 'batch' ? (d.value as Decoded[]) : [d]));

describe('SockJS: sockjs-client through the proxy', () => {
  it('open, messages both ways (not any known protocol: shown as text), the close frame; the transport URL detected', async () => {
    const port = await sockjsServer();
    const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`);
    cleanup.push(() => proc.stop('SIGKILL'));
    const sock = new SockJS(`http://127.0.0.1:${proxyPort}/echo`, undefined, { transports: ['websocket'] });
    const got: string[] = [];
    const closed = new Promise<{ code: number | string }>((r) => (sock.onclose = r));
    await new Promise<void>((r) => (sock.onopen = () => r()));
    const two = new Promise<void>((r) => (sock.onmessage = (e) => got.push(e.data as string) === 2 && r()));
    sock.send('{"hello":"wörld"}');
    await two;
    sock.send('bye');
    expect(Number((await closed).code)).toBe(3000);
    expect(got).toEqual(['{"hello":"wörld"}', '{"hello":"wörld"}!']);
    await closes(proc);
    const events = await stopProxy(proc);
    const handshake = events.find((e) => e.event === 'handshake') as unknown as { request: { target: string } };
    expect(handshake.request.target).toMatch(/^\/echo\/\d{3}\/[^/]+\/websocket$/);
    const d = decodedFrames(events);
    expect(new Set(d.map((f) => f.d.protocol))).toEqual(new Set(['sockjs']));
    expect(d.filter((f) => f.d.type === 'invalid')).toEqual([]);
    expect(d[0]!.d).toEqual({ protocol: 'sockjs', type: 'open', summary: 'open' });
    const sent = d.filter((f) => f.from === 'client').map((f) => f.d);
    expect(sent.map((x) => [x.type, x.value])).toEqual([
      ['message', '{"hello":"wörld"}'],
      ['message', 'bye'],
    ]);
    const echoed = d.filter((f) => f.from === 'server' && f.d.type !== 'open' && f.d.type !== 'close').map((f) => f.d);
    expect(flat(echoed).map((x) => x.value)).toEqual(['{"hello":"wörld"}', '{"hello":"wörld"}!']);
    expect(one(d, (x) => x.type === 'close').d).toMatchObject({ id: '3000', summary: 'close 3000 "bye now"', value: ['3000', 'bye now'] });
  });

  it('STOMP over SockJS (@stomp/stompjs): decoded and paired as STOMP, via sockjs; the receipt never sent flagged as STOMP', async () => {
    const port = await sockjsServer();
    // Named with --decode (the plain test above detects SockJS from the URL); STOMP found inside.
    const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`, ['--decode', 'sockjs']);
    cleanup.push(() => proc.stop('SIGKILL'));
    const client = new Client({
      webSocketFactory: () => new SockJS(`http://127.0.0.1:${proxyPort}/stomp`, undefined, { transports: ['websocket'] }),
      heartbeatIncoming: 0,
      heartbeatOutgoing: 50,
      reconnectDelay: 0,
    });
    const connected = new Promise<void>((r) => (client.onConnect = () => r()));
    client.activate();
    cleanup.push(() => client.deactivate());
    await connected;
    const got: IFrame[] = [];
    const delivered = new Promise<void>((r) => client.subscribe('/topic/chat', (m) => got.push(m) && r(), { id: 'sub-0' }));
    const receipt = new Promise<void>((r) => client.watchForReceipt('r-1', () => r()));
    client.publish({ destination: '/topic/chat', body: 'hello "sockjs"\nline two', headers: { receipt: 'r-1' } });
    await receipt;
    await delivered;
    expect(got.map((m) => m.body)).toEqual(['hello "sockjs"\nline two']);
    client.publish({ destination: '/queue/stuck', body: 'x', headers: { receipt: 'r-stuck' } });
    await proc.waitForLine((l) => l.includes('"from":"client"') && l.includes('"type":"heartbeat"') && l.includes('"protocol":"stomp"'));
    await proc.waitForLine((l) => l.includes('r-stuck'));
    await client.deactivate({ force: true });
    await closes(proc);
    const events = await stopProxy(proc);
    const d = decodedFrames(events);
    expect(d.filter((f) => f.d.type === 'invalid'), d.map((f) => f.d.summary).join('\n')).toEqual([]);
    expect(d[0]!.d).toMatchObject({ protocol: 'sockjs', type: 'open' });
    const stomp = d.filter((f) => f.d.protocol === 'stomp');
    expect(stomp.every((f) => f.d.via === 'sockjs')).toBe(true);
    const connect = one(stomp, (x) => x.type === 'CONNECT');
    expect(one(stomp, (x) => x.type === 'CONNECTED').d.pairedWith).toBe(connect.seq);
    const sub = one(stomp, (x) => x.type === 'SUBSCRIBE');
    expect(sub.d).toMatchObject({ name: '/topic/chat', id: 'sub-0' });
    const send = one(stomp, (x) => x.type === 'SEND' && x.id === 'r-1');
    expect(send.d).toMatchObject({ name: '/topic/chat', via: 'sockjs', value: { body: 'hello "sockjs"\nline two' } });
    // (a server may put several messages in one `a[…]` frame: each pairs inside the batch)
    const answers = flat(d.filter((f) => f.from === 'server').map((f) => f.d));
    expect(answers.find((x) => x.type === 'MESSAGE')).toMatchObject({ id: 'sub-0', pairedWith: sub.seq, value: { body: 'hello "sockjs"\nline two' } });
    expect(answers.find((x) => x.type === 'RECEIPT')).toMatchObject({ id: 'r-1', pairedWith: send.seq });
    expect(answers.filter((x) => x.type === 'heartbeat' && x.protocol === 'stomp').length).toBeGreaterThan(0);
    const stuck = one(stomp, (x) => x.type === 'SEND' && x.id === 'r-stuck');
    expect(events.find((e) => e.event === 'close')!.unanswered).toEqual([{ seq: stuck.seq, protocol: 'stomp', type: 'SEND', name: '/queue/stuck', id: 'r-stuck' }]);
  });

  it('the raw websocket endpoint (…/websocket, no SockJS framing) decodes as the bare protocol', async () => {
    const port = await sockjsServer();
    const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`);
    cleanup.push(() => proc.stop('SIGKILL'));
    const client = new Client({ webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${proxyPort}/stomp/websocket`), heartbeatIncoming: 0, heartbeatOutgoing: 0, reconnectDelay: 0 });
    const connected = new Promise<void>((r) => (client.onConnect = () => r()));
    client.activate();
    cleanup.push(() => client.deactivate());
    await connected;
    await client.deactivate({ force: true });
    await closes(proc);
    const d = decodedFrames(await stopProxy(proc));
    const connect = one(d, (x) => x.type === 'CONNECT');
    expect(connect.d.protocol).toBe('stomp');
    expect(connect.d.via).toBeUndefined();
    expect(one(d, (x) => x.type === 'CONNECTED').d).toMatchObject({ protocol: 'stomp', pairedWith: connect.seq });
  });
});

describe('SockJS frames', () => {
  const run = (frames: Array<['client' | 'server', string]>, inner: Parameters<typeof decoderFor>[3] = null) => {
    const dec = decoderFor('sockjs', null, {}, inner);
    return frames.map(([from, text], seq) => dec.decode({ seq, time: seq, from, opcode: 1, data: Buffer.from(text) }));
  };

  it('detection: the transport URL and the open frame; not the raw endpoint', () => {
    expect(detectFromHandshake([], '/stomp/123/abcd_ef/websocket')).toBe('sockjs');
    expect(detectFromHandshake(['v12.stomp'], '/stomp/123/abcd_ef/websocket')).toBe('sockjs');
    expect(detectFromHandshake([], '/stomp/websocket')).toBe(null);
    expect(detectFromHandshake(['v12.stomp'], '/stomp/websocket')).toBe('stomp');
    expect(detectFromMessage(1, Buffer.from('o'))).toBe('sockjs');
    expect(detectFromMessage(1, Buffer.from('oops'))).toBe(null);
  });

  it('heartbeat; inner messages: detected, or named by the subprotocol; several in one frame a batch that pairs; old `m` frames', () => {
    const [open, beat, connect, connected, batch] = run([
      ['server', 'o'],
      ['server', 'h'],
      ['client', JSON.stringify(['CONNECT\naccept-version:1.2\nhost:h\n\n\0'])],
      ['server', 'm' + JSON.stringify('CONNECTED\nversion:1.2\n\n\0')],
      ['server', 'a' + JSON.stringify(['MESSAGE\nsubscription:s\ndestination:/d\n\nx\0', '\n'])],
    ]);
    expect(open).toMatchObject({ protocol: 'sockjs', type: 'open' });
    // (sockjs-node heartbeats a WebSocket with ping frames; Spring sends `h`)
    expect(beat).toEqual({ protocol: 'sockjs', type: 'heartbeat', heartbeat: true, summary: 'heartbeat' });
    expect(connect).toMatchObject({ protocol: 'stomp', type: 'CONNECT', name: 'h', via: 'sockjs' });
    expect(connected).toMatchObject({ protocol: 'stomp', type: 'CONNECTED', pairedWith: 2, via: 'sockjs' });
    expect(batch).toMatchObject({ protocol: 'stomp', type: 'batch', via: 'sockjs', summary: '2 messages: MESSAGE "/d" id s, heart-beat' });
    // Named by the handshake, a message that would not tell decodes as the protocol anyway.
    expect(run([['client', '["SEND\\ndestination:/q\\n\\nx\\u0000"]']], 'stomp')[0]).toMatchObject({ protocol: 'stomp', type: 'SEND', via: 'sockjs' });
  });

  it('decode(encode(x)) = x: messages as the server (`a[…]`) and the client (`[…]`) quote them', () => {
    // (each starts with "x": no protocol is found inside, so each is shown as its text)
    const text = fc.string({ unit: 'binary', maxLength: 12 }).map((t) => `x${t}`);
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), (list) => {
        const [server, client] = run([
          ['server', `a[${list.map(serverQuote).join(',')}]`],
          ['client', `[${list.map(clientQuote).join(',')}]`],
        ]);
        for (const d of [server!, client!]) {
          const out = list.length === 1 ? [d] : (d.value as Decoded[]);
          expect(out.map((x) => [x.protocol, x.type, x.value])).toEqual(list.map((t) => ['sockjs', 'message', t]));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('what does not parse says why', () => {
    const out = run([
      ['server', 'x'],
      ['server', 'a{"no":1}'],
      ['server', 'c[3000]'],
      ['client', '{"not":"strings"}'],
      ['server', 'oo'],
    ]);
    expect(out.map((d) => d.summary)).toEqual([
      'invalid: unknown frame type "x" (o, h, a, m or c)',
      'invalid: an "a" frame without a JSON array of strings',
      'invalid: a "c" frame without [code, "reason"]',
      'invalid: a client frame that is not a JSON array of strings',
      'invalid: an open frame with more than "o"',
    ]);
    const bin = decoderFor('sockjs', null).decode({ seq: 0, time: 0, from: 'server', opcode: 2, data: new Uint8Array([1]) });
    expect(bin.summary).toBe('invalid: a binary message (SockJS frames are JSON text)');
  });
});

describe('SockJS in the UI session', () => {
  /** A text message as the frame event that carries it (one unmasked frame). */
  const frame = (seq: number, from: 'client' | 'server', text: string): EngineEvent => {
    const [f] = new FrameParser({ from, stance: 'observer', maxPayload: 1 << 20 }).receive(encodeFrame({ fin: true, opcode: 1, payload: new TextEncoder().encode(text), mask: false }), seq);
    return { event: 'frame', connection: 'p1', ...f!, seq, time: seq, from } as unknown as EngineEvent;
  };

  it('the connection stays SockJS (its decoder) while its records are the STOMP inside', () => {
    const d = new SessionDecoding();
    d.event(frame(0, 'server', 'o'));
    d.event(frame(1, 'client', JSON.stringify(['CONNECT\naccept-version:1.2\n\n\0'])));
    d.event(frame(2, 'server', 'a' + JSON.stringify(['CONNECTED\nversion:1.2\n\n\0'])));
    expect(d.record('p1', 2)).toMatchObject({ protocol: 'stomp', type: 'CONNECTED', via: 'sockjs', pairedWith: 1 });
    expect(d.answeredBy('p1', 1)).toBe(2);
    expect(d.state('p1').protocol).toBe('sockjs');
  });
});
