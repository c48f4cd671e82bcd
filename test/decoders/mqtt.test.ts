// MQTT over WebSocket through `framescope proxy --json`: the real mqtt client and the aedes
// broker (on ws + createWebSocketStream), MQTT 3.1.1 and 5: packets by their MQTT names,
// topics, packet ids, pairing (CONNECT → CONNACK, PUBLISH → PUBACK, the QoS 2 chain,
// SUBSCRIBE → SUBACK, UNSUBSCRIBE → UNSUBACK, PINGREQ → PINGRESP). MQTT over WebSocket is a
// byte stream: several packets in one message and one packet over several, as mqtt-packet
// writes them, through the proxy to aedes.
import { afterEach, describe, expect, it } from 'vitest';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { generate, parser } from 'mqtt-packet';
import { WebSocket, createWebSocketStream } from 'ws';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../peers/cli';
import { MqttDecoder } from '../../main/engine/decoders/mqtt';
import type { Decoded } from '../../shared/decoders';
import { closes, decodedFrames, one, startProxy, stopProxy, type EventOut, wsServer } from './proxy-helpers';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** aedes over WebSocket; a PUBLISH to `stuck` is never authorised, so never acknowledged. */
async function broker(): Promise<number> {
  const aedes = await Aedes.createBroker({ authorizePublish: (_c, packet, cb) => (packet.topic === 'stuck' ? undefined : cb(null)) });
  cleanup.push(() => new Promise((r) => aedes.close(() => r(undefined))));
  const { wss, port } = await wsServer(cleanup);
  wss.on('connection', (ws, req) => aedes.handle(createWebSocketStream(ws) as never, req as never));
  return port;
}

/**
 * An MQTT 5 broker for one client, written with mqtt-packet: aedes speaks 3.1 and 3.1.1 only
 * and there is no maintained Node MQTT 5 broker. It answers every request, delivers what
 * matches `a/+` back, and never acknowledges a PUBLISH to `stuck`.
 */
async function broker5(): Promise<number> {
  const { wss, port } = await wsServer(cleanup);
  wss.on('connection', (ws) => {
    const p = parser({ protocolVersion: 5 });
    const send = (packet: object) => ws.send(generate(packet as never, { protocolVersion: 5 }));
    let subscribed = false;
    let nextId = 1;
    p.on('packet', (k) => {
      const id = (k as { messageId?: number }).messageId;
      if (k.cmd === 'connect') send({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
      else if (k.cmd === 'subscribe') {
        subscribed = true;
        send({ cmd: 'suback', messageId: id, granted: k.subscriptions.map((x) => x.qos) });
      } else if (k.cmd === 'unsubscribe') {
        subscribed = false;
        send({ cmd: 'unsuback', messageId: id, granted: k.unsubscriptions.map(() => 0) });
      } else if (k.cmd === 'publish' && k.topic !== 'stuck') {
        if (k.qos === 1) send({ cmd: 'puback', messageId: id, reasonCode: 0 });
        if (k.qos === 2) send({ cmd: 'pubrec', messageId: id, reasonCode: 0 });
        if (subscribed && k.topic.startsWith('a/')) send({ cmd: 'publish', topic: k.topic, payload: k.payload, qos: k.qos, retain: false, dup: false, ...(k.qos > 0 ? { messageId: nextId++ } : {}), ...(k.properties ? { properties: k.properties } : {}) });
      } else if (k.cmd === 'pubrel') send({ cmd: 'pubcomp', messageId: id, reasonCode: 0 });
      else if (k.cmd === 'pubrec') send({ cmd: 'pubrel', messageId: id, reasonCode: 0 });
      else if (k.cmd === 'pingreq') send({ cmd: 'pingresp' });
    });
    ws.on('message', (b: Buffer) => p.parse(b));
  });
  return port;
}

for (const version of [4, 5] as const) {
  describe(`MQTT ${version === 4 ? '3.1.1: mqtt client and aedes' : '5: mqtt client and a broker written with mqtt-packet'} through the proxy`, () => {
    it('every packet by name, topic and id, paired; PINGREQ/PINGRESP heartbeats; an unacknowledged PUBLISH flagged', async () => {
      const port = version === 4 ? await broker() : await broker5();
      const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`);
      cleanup.push(() => proc.stop('SIGKILL'));
      const client = await mqtt.connectAsync(`ws://127.0.0.1:${proxyPort}/mqtt`, { protocolVersion: version, clientId: `scope-${version}`, keepalive: 1, reconnectPeriod: 0 });
      cleanup.push(() => client.endAsync(true));
      await client.subscribeAsync('a/+', { qos: 2 });
      const got: Array<[string, string]> = [];
      const three = new Promise<void>((r) =>
        client.on('message', (topic, payload) => {
          got.push([topic, payload.toString()]);
          if (got.length === 3) r();
        }),
      );
      await client.publishAsync('a/zero', 'q0', { qos: 0 });
      await client.publishAsync('a/one', 'q1', { qos: 1, ...(version === 5 ? { properties: { userProperties: { k: 'v' } } } : {}) });
      await client.publishAsync('a/two', Buffer.from([0xff, 0x00, 0x01]), { qos: 2 });
      await three;
      expect(got).toEqual([
        ['a/zero', 'q0'],
        ['a/one', 'q1'],
        ['a/two', '\ufffd\u0000\u0001'],
      ]);
      await client.unsubscribeAsync('a/+');
      await proc.waitForLine((l) => l.includes('"type":"PINGRESP"'));
      client.publish('stuck', 'never acked', { qos: 1 });
      await proc.waitForLine((l) => l.includes('"name":"stuck"'));
      await client.endAsync(true);
      await closes(proc);
      const events = await stopProxy(proc);
      const d = decodedFrames(events);
      expect(new Set(d.map((f) => f.d.protocol))).toEqual(new Set(['mqtt']));
      expect(d.filter((f) => ['invalid', 'truncated'].includes(f.d.type))).toEqual([]);
      // The mqtt client writes a packet's fixed header and its body as separate messages:
      // those starts are `partial`, decoded on the message that completes them.
      expect(d.some((f) => f.d.type === 'partial' && f.from === 'client')).toBe(true);
      const all = d.flatMap((f) => (f.d.type === 'batch' ? (f.d.value as Decoded[]).map((x) => ({ ...f, d: x })) : f.d.type === 'partial' ? [] : [f]));

      const connect = one(all, (x) => x.type === 'CONNECT');
      expect(connect.d).toMatchObject({ name: `scope-${version}`, summary: expect.stringContaining(` v${version}`), value: { protocolVersion: version, clientId: `scope-${version}`, keepalive: 1 } });
      expect(one(all, (x) => x.type === 'CONNACK').d.pairedWith).toBe(connect.seq);
      const sub = one(all, (x) => x.type === 'SUBSCRIBE');
      expect(sub.d).toMatchObject({ name: 'a/+', value: { subscriptions: [expect.objectContaining({ topic: 'a/+', qos: 2 })] } });
      expect(one(all, (x) => x.type === 'SUBACK').d).toMatchObject({ name: 'a/+', id: sub.d.id, pairedWith: sub.seq, summary: expect.stringContaining('granted [2]') });

      // The client's PUBLISHes and the broker's acknowledgements.
      const pub = (topic: string, from: 'client' | 'server') => one(all, (x, f) => x.type === 'PUBLISH' && x.name === topic && f.from === from);
      expect(pub('a/zero', 'client').d).toMatchObject({ value: 'q0', summary: '"a/zero" qos0'.replace(/^/, 'PUBLISH ') });
      expect(pub('a/zero', 'client').d.id).toBeUndefined();
      const one1 = pub('a/one', 'client');
      expect(one(all, (x, f) => x.type === 'PUBACK' && f.from === 'server' && x.id === one1.d.id).d).toMatchObject({ name: 'a/one', pairedWith: one1.seq });
      const two = pub('a/two', 'client');
      expect(two.d.value).toEqual({ $binary: Buffer.from([0xff, 0, 1]).toString('base64'), length: 3 });
      const chain = (from: 'client' | 'server', start: typeof two) => {
        const rec = one(all, (x, f) => x.type === 'PUBREC' && f.from !== from && x.id === start.d.id);
        const rel = one(all, (x, f) => x.type === 'PUBREL' && f.from === from && x.id === start.d.id);
        const comp = one(all, (x, f) => x.type === 'PUBCOMP' && f.from !== from && x.id === start.d.id);
        expect([rec.d.pairedWith, rel.d.pairedWith, comp.d.pairedWith]).toEqual([start.seq, rec.seq, rel.seq]);
        expect([rec.d.name, rel.d.name, comp.d.name]).toEqual(['a/two', 'a/two', 'a/two']);
      };
      chain('client', two);
      // The broker delivers: QoS 1 acknowledged by the client, QoS 2 through its chain.
      const down1 = pub('a/one', 'server');
      expect(one(all, (x, f) => x.type === 'PUBACK' && f.from === 'client' && x.id === down1.d.id).d.pairedWith).toBe(down1.seq);
      chain('server', pub('a/two', 'server'));
      expect(one(all, (x) => x.type === 'CONNACK').d.summary).toBe(version === 5 ? 'CONNACK reason 0' : 'CONNACK rc 0');

      const unsub = one(all, (x) => x.type === 'UNSUBSCRIBE');
      expect(one(all, (x) => x.type === 'UNSUBACK').d).toMatchObject({ name: 'a/+', pairedWith: unsub.seq });
      const ping = all.find((f) => f.d.type === 'PINGREQ')!;
      expect(ping.d.heartbeat).toBe(true);
      expect(all.find((f) => f.d.type === 'PINGRESP' && f.d.pairedWith === ping.seq)!.d.heartbeat).toBe(true);

      const stuck = pub('stuck', 'client');
      expect(events.find((e) => e.event === 'close')!.unanswered).toEqual([{ seq: stuck.seq, protocol: 'mqtt', type: 'PUBLISH', name: 'stuck', id: stuck.d.id }]);
    });
  });
}

describe('MQTT over WebSocket is a byte stream', () => {
  it('several packets in one message are one batch; a packet split over messages is decoded on the message that completes it (aedes on the other end)', async () => {
    const port = await broker();
    const dir = mkdtempSync(join(tmpdir(), 'framescope-mqtt-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const capture = join(dir, 'mqtt.wscap.json');
    const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`, ['--decode', 'mqtt', '--capture', capture]);
    cleanup.push(() => proc.stop('SIGKILL'));
    const ws = new WebSocket(`ws://127.0.0.1:${proxyPort}/`);
    cleanup.push(() => ws.terminate());
    const received: Buffer[] = [];
    ws.on('message', (b: Buffer) => received.push(b));
    await new Promise((r) => ws.once('open', r));
    const connect = generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'raw', clean: true, keepalive: 60 });
    const sub = generate({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'x', qos: 1 }] });
    const publish = generate({ cmd: 'publish', topic: 'x', payload: Buffer.from('split across three messages'), qos: 1, messageId: 8, retain: false, dup: false });
    ws.send(Buffer.concat([connect, sub, publish.subarray(0, 3)]));
    ws.send(publish.subarray(3, 10));
    ws.send(publish.subarray(10));
    // The broker answers: CONNACK, SUBACK, PUBACK to us and the PUBLISH delivered back.
    await proc.waitForLine((l) => l.includes('"from":"server"') && l.includes('"type":"PUBLISH"') || (l.includes('"type":"batch"') && l.includes('"from":"server"') && l.includes('PUBLISH')));
    ws.close();
    await closes(proc);
    const events = await stopProxy(proc);
    const d = decodedFrames(events);
    const sent = d.filter((f) => f.from === 'client');
    expect(sent.map((f) => f.d.type)).toEqual(['batch', 'partial', 'PUBLISH']);
    expect((sent[0]!.d.value as Decoded[]).map((x) => [x.type, x.name, x.id])).toEqual([
      ['CONNECT', 'raw', undefined],
      ['SUBSCRIBE', 'x', '7'],
    ]);
    expect(sent[0]!.d.summary).toMatch(/\(\+ the start of the next, 3 bytes\)$/);
    expect(sent[1]!.d.summary).toBe('part of a packet (10 bytes held)');
    expect(sent[2]!.d).toMatchObject({ name: 'x', id: '8', value: 'split across three messages' });
    const answers = d.filter((f) => f.from === 'server').flatMap((f) => (f.d.type === 'batch' ? (f.d.value as Decoded[]).map((x) => ({ ...f, d: x })) : [f]));
    expect(answers.find((f) => f.d.type === 'CONNACK')!.d.pairedWith).toBe(sent[0]!.seq);
    expect(answers.find((f) => f.d.type === 'SUBACK')!.d).toMatchObject({ name: 'x', pairedWith: sent[0]!.seq });
    expect(answers.find((f) => f.d.type === 'PUBACK')!.d).toMatchObject({ name: 'x', pairedWith: sent[2]!.seq });
    expect(answers.filter((f) => f.d.type === 'invalid')).toEqual([]);

    // The capture keeps the bytes; its ndjson export decodes them again, the same way.
    const out = join(dir, 'mqtt.ndjson');
    expect((await runCli(['export', capture, '--format', 'ndjson', '-o', out])).code).toBe(0);
    const again = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EventOut);
    // (latencies aside: the capture's times are its own clock's)
    const noLatency = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'latencyMs' ? undefined : v)));
    expect(noLatency(decodedFrames(again).map((f) => [f.seq, f.d]))).toEqual(noLatency(d.map((f) => [f.seq, f.d])));
  });

  it('a packet longer than the cap is skipped by its declared length, and the stream is read again after it', () => {
    const dec = new MqttDecoder(64);
    const big = generate({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(200, 0x61), qos: 0, retain: false, dup: false });
    const after = generate({ cmd: 'publish', topic: 'after', payload: Buffer.from('ok'), qos: 0, retain: false, dup: false });
    const m = (seq: number, data: Uint8Array) => dec.decode({ seq, time: seq, from: 'client', opcode: 2, data });
    expect(m(0, big.subarray(0, 100))).toMatchObject({ type: 'truncated', summary: `PUBLISH of ${big.length - 3} bytes, over the 64 byte cap: skipped` });
    expect(m(1, big.subarray(100, 150))).toMatchObject({ type: 'partial', summary: expect.stringContaining(`(${big.length - 150} bytes to go)`) });
    expect(m(2, Buffer.concat([big.subarray(150), after]))).toMatchObject({ type: 'PUBLISH', name: 'after', value: 'ok' });
    // A text message is no MQTT, and says so.
    expect(dec.decode({ seq: 3, time: 3, from: 'client', opcode: 1, data: Buffer.from('hi') })).toMatchObject({ type: 'invalid' });
  });
});
