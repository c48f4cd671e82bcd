// decode(encode(x)) = x where the protocol's own library encodes: socket.io-parser's Encoder
// (Socket.IO v5 and, for the v2 wire, the parser socket.io@2 ships), graphql-ws's
// stringifyMessage, and JSON-RPC objects as any peer writes them.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { Encoder } from 'socket.io-parser';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { generate } from 'mqtt-packet';
import { decoderFor, type Decoded, type InMessage } from '../../shared/decoders';
import { MqttDecoder } from '../../main/engine/decoders/mqtt';

const require = createRequire(import.meta.url);
const V2Encoder = require('socket.io-v2/node_modules/socket.io-parser').Encoder as new () => { encode(p: object, cb: (out: Array<string | Buffer>) => void): void };

// (as JSON carries it: -0 is 0 on the wire)
const json = fc.jsonValue({ maxDepth: 2 }).filter((v) => v !== null).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const nsp = fc.constantFrom('/', '/chat', '/a-b_c');
const bytes = fc.uint8Array({ maxLength: 16 }).map((u) => Buffer.from(u));
/** Event arguments, some of them binary (which makes the packet a BINARY_* one). */
const args = fc.array(fc.oneof(json, bytes), { maxLength: 3 });

/** Joined attachments back to bytes, as the original data held them. */
function unjoin(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unjoin);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['$binary'] === 'string') return Buffer.from(o['$binary'], 'base64');
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unjoin(x)]));
  }
  return v;
}

function run(eio: 3 | 4, frames: Array<string | Buffer>): Decoded[] {
  const dec = decoderFor('socket.io', `/socket.io/?EIO=${eio}&transport=websocket`);
  return frames.map((f, seq): Decoded => {
    const m: InMessage =
      typeof f === 'string'
        ? { seq, time: seq, from: 'client', opcode: 1, data: Buffer.from(`4${f}`) }
        : { seq, time: seq, from: 'client', opcode: 2, data: eio === 3 ? Buffer.concat([Buffer.from([4]), f]) : f };
    return dec.decode(m);
  });
}

describe('Socket.IO: decode(socket.io-parser encode(x)) = x', () => {
  for (const [label, eio, encode] of [
    ['v5 (socket.io-parser 4)', 4, (p: object) => new Encoder().encode(p as never) as Array<string | Buffer>],
    ['v4 wire (socket.io@2)', 3, (p: object) => {
      let out: Array<string | Buffer> = [];
      new V2Encoder().encode(p, (o) => (out = o));
      return out;
    }],
  ] as const) {
    it(`${label}: EVENT/ACK and their BINARY_ forms, with namespace, ack id and attachments`, () => {
      fc.assert(
        fc.property(fc.boolean(), fc.string({ minLength: 1, maxLength: 8 }), args, nsp, fc.option(fc.nat({ max: 99999 }), { nil: undefined }), (isEvent, name, rest, ns, id) => {
          const data = isEvent ? [name, ...rest] : rest;
          const ack = !isEvent && id === undefined ? 0 : id;
          const binary = rest.some((x) => Buffer.isBuffer(x));
          const packet = { type: eio === 4 ? (isEvent ? 2 : 3) : binary ? (isEvent ? 5 : 6) : isEvent ? 2 : 3, nsp: ns, data, ...(ack !== undefined ? { id: ack } : {}) };
          const frames = encode(packet);
          const out = run(eio, frames);
          const head = out[0]!;
          const type = `${binary ? 'BINARY_' : ''}${isEvent ? 'EVENT' : 'ACK'}`;
          expect(head).toMatchObject({ protocol: 'socket.io', type });
          expect(head.id).toBe(ack === undefined ? undefined : String(ack));
          if (isEvent) expect(head.name).toBe(name);
          expect(head.summary).toContain(ns === '/' ? type : `${type} ${ns}`);
          const whole = binary ? out.at(-1)! : head;
          if (binary) expect(whole).toMatchObject({ type: 'attachment', summary: expect.stringMatching(/ complete$/) });
          expect(unjoin(whole.value)).toEqual(data);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('CONNECT, DISCONNECT and CONNECT_ERROR with namespace and payload', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 4), nsp, fc.option(fc.dictionary(fc.string({ maxLength: 5 }), json, { maxKeys: 3 }), { nil: undefined }), (type, ns, data) => {
        const [d] = run(4, new Encoder().encode({ type, nsp: ns, ...(data !== undefined ? { data } : {}) } as never) as string[]);
        expect(d).toMatchObject({ protocol: 'socket.io', type: ['CONNECT', 'DISCONNECT', '', '', 'CONNECT_ERROR'][type], name: ns });
        expect(d!.value).toEqual(data);
      }),
    );
  });
});

describe('graphql-transport-ws: decode(stringifyMessage(x)) = x', () => {
  it('every message type, ids and payloads', () => {
    const id = fc.string({ minLength: 1, maxLength: 6 });
    const obj = fc.dictionary(fc.string({ maxLength: 5 }), json, { maxKeys: 3 });
    const message = fc.oneof(
      obj.map((payload) => ({ type: MessageType.ConnectionInit, payload })),
      obj.map((payload) => ({ type: MessageType.ConnectionAck, payload })),
      obj.map((payload) => ({ type: MessageType.Ping, payload })),
      fc.constant({ type: MessageType.Pong }),
      fc.tuple(id, fc.stringMatching(/^[_A-Za-z]\w{0,5}$/), obj).map(([i, op, variables]) => ({ id: i, type: MessageType.Subscribe, payload: { query: `subscription ${op} { x }`, variables } })),
      fc.tuple(id, obj).map(([i, data]) => ({ id: i, type: MessageType.Next, payload: { data } })),
      fc.tuple(id, fc.string()).map(([i, message]) => ({ id: i, type: MessageType.Error, payload: [{ message }] })),
      id.map((i) => ({ id: i, type: MessageType.Complete })),
    );
    fc.assert(
      fc.property(message, (msg) => {
        const text = stringifyMessage(msg as never);
        const d = decoderFor('graphql-transport-ws', null).decode({ seq: 0, time: 0, from: 'client', opcode: 1, data: Buffer.from(text) });
        const m = msg as { type: string; id?: string; payload?: { query?: string } };
        expect(d).toMatchObject({ protocol: 'graphql-transport-ws', type: m.type });
        expect(d.id).toBe(m.id);
        expect(d.value).toEqual(m.payload);
        if (m.type === 'subscribe') expect(d.name).toBe(/subscription (\w+)/.exec(m.payload!.query!)?.[1] ?? 'subscription');
        if (m.type === 'ping' || m.type === 'pong') expect(d.heartbeat).toBe(true);
      }),
    );
  });
});

describe('JSON-RPC 2.0: decode(JSON.stringify(x)) = x', () => {
  it('requests, notifications, results and errors, alone and batched', () => {
    const rid = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }));
    const member = fc.oneof(
      fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.option(fc.array(json, { maxLength: 3 }), { nil: undefined }), fc.option(rid, { nil: undefined })).map(([method, params, id]) => ({
        jsonrpc: '2.0',
        method,
        ...(params !== undefined ? { params } : {}),
        ...(id !== undefined ? { id } : {}),
      })),
      fc.tuple(json, rid).map(([result, id]) => ({ jsonrpc: '2.0', result, id })),
      fc.tuple(fc.integer(), fc.string(), rid).map(([code, message, id]) => ({ jsonrpc: '2.0', error: { code, message }, id })),
    );
    const expectOne = (d: Decoded, x: Record<string, unknown>) => {
      const type = 'method' in x ? ('id' in x ? 'request' : 'notification') : 'result' in x ? 'result' : 'error';
      expect(d).toMatchObject({ protocol: 'json-rpc', type });
      expect(d.id).toBe('id' in x ? String(x['id']) : undefined);
      if ('method' in x) expect(d.name).toBe(x['method']);
      expect(d.value).toEqual(x['params'] ?? x['result'] ?? x['error']);
    };
    fc.assert(
      fc.property(fc.oneof(member, fc.array(member, { minLength: 1, maxLength: 4 })), (x) => {
        const d = decoderFor('json-rpc', null).decode({ seq: 0, time: 0, from: 'server', opcode: 1, data: Buffer.from(JSON.stringify(x)) });
        if (!Array.isArray(x)) return expectOne(d, x);
        expect(d.type).toBe('batch');
        (d.value as Decoded[]).forEach((m, i) => expectOne(m, x[i]!));
      }),
    );
  });
});

describe('MQTT: decode(mqtt-packet generate(x)) = x, however the stream is cut into messages', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 4 ? '3.1.1' : '5'}: PUBLISH (any QoS), SUBSCRIBE, UNSUBSCRIBE and the acknowledgements, joined and split at random`, () => {
      const pid = fc.integer({ min: 1, max: 65535 });
      const topic = fc.stringMatching(/^[a-z0-9/]{1,12}$/);
      const packet = fc.oneof(
        fc.tuple(topic, fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0, 1, 2), pid, fc.boolean()).map(([t, payload, qos, id, retain]) => ({ cmd: 'publish', topic: t, payload: Buffer.from(payload), qos, retain, dup: false, ...(qos > 0 ? { messageId: id } : {}) })),
        fc.tuple(fc.array(topic, { minLength: 1, maxLength: 3 }), pid).map(([ts, id]) => ({ cmd: 'subscribe', messageId: id, subscriptions: ts.map((t) => ({ topic: t, qos: 1 })) })),
        fc.tuple(fc.array(topic, { minLength: 1, maxLength: 3 }), pid).map(([ts, id]) => ({ cmd: 'unsubscribe', messageId: id, unsubscriptions: ts })),
        fc.tuple(fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp'), pid).map(([cmd, id]) => ({ cmd, messageId: id })),
        fc.constant({ cmd: 'pingreq' }),
      );
      fc.assert(
        fc.property(fc.array(packet, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (packets, cutsAt) => {
          const dec = new MqttDecoder();
          // The client's CONNECT first: it tells the decoder the version.
          const connect = generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: 'p', clean: true, keepalive: 0 });
          expect(dec.decode({ seq: 0, time: 0, from: 'client', opcode: 2, data: connect })).toMatchObject({ type: 'CONNECT', name: 'p' });
          const stream = Buffer.concat(packets.map((x) => generate(x as never, { protocolVersion: version })));
          const cuts = [...new Set(cutsAt.map((c) => c % stream.length).filter((c) => c > 0))].sort((a, b) => a - b);
          const bounds = [0, ...cuts, stream.length];
          const out: Decoded[] = [];
          for (let i = 1; i < bounds.length; i++) {
            const d = dec.decode({ seq: i, time: i, from: 'client', opcode: 2, data: stream.subarray(bounds[i - 1], bounds[i]) });
            if (d.type === 'batch') out.push(...(d.value as Decoded[]));
            else if (d.type !== 'partial') out.push(d);
          }
          expect(out.map((d) => d.type)).toEqual(packets.map((x) => x.cmd.toUpperCase()));
          packets.forEach((x, i) => {
            const d = out[i]!;
            const m = x as { messageId?: number; topic?: string; payload?: Buffer; subscriptions?: Array<{ topic: string }>; unsubscriptions?: string[] };
            expect(d.id).toBe(m.messageId === undefined ? undefined : String(m.messageId));
            if (m.topic !== undefined) {
              expect(d.name).toBe(m.topic);
              const v = d.value as string | { $binary: string };
              expect(typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.$binary, 'base64')).toEqual(m.payload);
            }
            if (m.subscriptions) expect(d.name).toBe(m.subscriptions.map((s) => s.topic).join(', '));
            if (m.unsubscriptions) expect(d.name).toBe(m.unsubscriptions.join(', '));
          });
        }),
        { numRuns: 300 },
      );
    });
  }
});
