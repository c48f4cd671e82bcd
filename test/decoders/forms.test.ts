// Decoded forms and their encoders: encode(form(bytes)) = bytes for what the protocols' own
// libraries write (socket.io-parser's Encoder, graphql-ws's stringifyMessage, @stomp/stompjs
// frames, mqtt-packet's generate), form(encode(f)) = f, and a mistake is one line naming the field.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Encoder } from 'socket.io-parser';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { FrameImpl } from '@stomp/stompjs';
import { generate } from 'mqtt-packet';
import {
  FormError,
  encodeGraphql,
  encodeJsonRpc,
  encodeSocketIo,
  encodeStomp,
  graphqlFormOf,
  jsonRpcFormOf,
  socketIoFormOf,
  stompFormOf,
  type MqttForm,
  type SocketIoForm,
} from '../../shared/decoders/forms';
import { encodeMqtt, mqttFormOf } from '../../main/engine/decoders/mqtt-form';

const json = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const nsp = fc.constantFrom('/', '/chat', '/a-b_c');
const bytes = fc.uint8Array({ maxLength: 16 }).map((u) => Buffer.from(u));
const text = (b: Uint8Array) => Buffer.from(b).toString();

/** socket.io-parser's messages as they go over Engine.IO (`4` before the packet, 0x04 before v3 binary). */
function sioWire(packet: object, eio: 3 | 4): Array<{ opcode: 1 | 2; data: Buffer }> {
  return (new Encoder().encode(packet as never) as Array<string | Buffer>).map((x) =>
    typeof x === 'string' ? { opcode: 1, data: Buffer.from(`4${x}`) } : { opcode: 2, data: eio === 3 ? Buffer.concat([Buffer.from([4]), x]) : x },
  );
}

describe('Socket.IO forms', () => {
  it('re-encode what socket.io-parser wrote, byte for byte, attachments and ack ids included', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(3 as const, 4 as const),
        nsp,
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.array(fc.oneof(json, bytes), { maxLength: 3 }),
        fc.option(fc.nat({ max: 1e6 }), { nil: undefined }),
        fc.boolean(),
        (eio, ns, name, args, id, ack) => {
          const wire = sioWire({ type: ack ? 3 : 2, nsp: ns, data: ack ? args : [name, ...args], id: ack ? (id ?? 0) : id }, eio);
          const form = socketIoFormOf(text(wire[0]!.data), eio) as SocketIoForm;
          expect(typeof form).toBe('object');
          const attachments = wire.slice(1).map((m) => (eio === 3 ? m.data.subarray(1) : m.data).toString('base64'));
          if (attachments.length > 0) form.attachments = attachments;
          const out = encodeSocketIo(form);
          expect(out.map((m) => ({ opcode: m.opcode, data: Buffer.from(m.data) }))).toEqual(wire);
          // and back: the form of what it wrote is the form
          const again = socketIoFormOf(text(out[0]!.data), eio) as SocketIoForm;
          if (attachments.length > 0) again.attachments = attachments;
          expect(again).toEqual(form);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes the v2-v5 header: type, attachment count, namespace, ack id', () => {
    const f: SocketIoForm = { protocol: 'socket.io', eio: 4, type: 'BINARY_EVENT', nsp: '/ns', event: 'up', args: '[{"_placeholder":true,"num":0}]', id: 13, attachments: ['AQID'] };
    const out = encodeSocketIo(f);
    expect(text(out[0]!.data)).toBe('451-/ns,13["up",{"_placeholder":true,"num":0}]');
    expect([...out[1]!.data]).toEqual([1, 2, 3]);
    expect([...encodeSocketIo({ ...f, eio: 3 })[1]!.data]).toEqual([4, 1, 2, 3]);
  });

  it('a held binary packet keeps its placeholders: the attachments follow as their own messages', () => {
    const held: SocketIoForm = { protocol: 'socket.io', eio: 4, type: 'BINARY_EVENT', nsp: '/', event: 'file', args: '[{"_placeholder":true,"num":0},"renamed"]' };
    expect(encodeSocketIo(held, { attachmentsFollow: 1 }).map((m) => text(m.data))).toEqual(['451-["file",{"_placeholder":true,"num":0},"renamed"]']);
    expect(() => encodeSocketIo({ ...held, args: '["no placeholder"]' }, { attachmentsFollow: 1 })).toThrow(/args: the 1 attachment that follow need their placeholders .*cannot be added or removed/);
    expect(() => encodeSocketIo({ ...held, type: 'EVENT', args: '[]' }, { attachmentsFollow: 1 })).toThrow(/type: the 1 attachment that follow belong to a BINARY_EVENT/);
  });

  it('says which field is wrong, in one line', () => {
    const f: SocketIoForm = { protocol: 'socket.io', eio: 4, type: 'EVENT', nsp: '/', event: 'chat', args: '["hi",' };
    expect(() => encodeSocketIo(f)).toThrow(FormError);
    expect(() => encodeSocketIo(f)).toThrow(/^args: not JSON \(/);
    expect(() => encodeSocketIo({ ...f, args: '{"a":1}' })).toThrow('args: a JSON array of the arguments');
    expect(() => encodeSocketIo({ ...f, args: '[]', type: 'ACK' })).toThrow(/^ack id: /);
    expect(() => encodeSocketIo({ ...f, args: '[]', nsp: 'x' })).toThrow(/^namespace: /);
  });
});

describe('GraphQL forms', () => {
  it('re-encode graphql-ws messages (both subprotocols)', () => {
    const msgs = [
      stringifyMessage({ type: MessageType.ConnectionInit, payload: { token: 't' } }),
      stringifyMessage({ id: 'a1', type: MessageType.Subscribe, payload: { query: 'subscription S($n: Int) { tick(n: $n) }', variables: { n: 3 }, operationName: 'S' } }),
      stringifyMessage({ id: 'a1', type: MessageType.Next, payload: { data: { tick: 1 } } }),
      stringifyMessage({ id: 'a1', type: MessageType.Complete }),
    ];
    for (const m of msgs) {
      const f = graphqlFormOf(m, 'graphql-transport-ws');
      expect(typeof f, m).toBe('object');
      expect(text(encodeGraphql(f as never)[0]!.data)).toBe(m);
    }
    // The legacy protocol (subscriptions-transport-ws writes {id, type, payload}).
    const legacy = JSON.stringify({ id: '1', type: 'start', payload: { variables: {}, extensions: {}, operationName: null, query: '{ a }' } });
    expect(graphqlFormOf(legacy, 'graphql-ws')).toMatch(/operationName of null/);
    const legacy2 = JSON.stringify({ id: '1', type: 'start', payload: { variables: { x: 1 }, query: '{ a }' } });
    expect(text(encodeGraphql(graphqlFormOf(legacy2, 'graphql-ws') as never)[0]!.data)).toBe(legacy2);
  });

  it('edits an operation: query, variables, operationName, id', () => {
    const f = graphqlFormOf(stringifyMessage({ id: '1', type: MessageType.Subscribe, payload: { query: '{ a }' } }), 'graphql-transport-ws');
    const out = encodeGraphql({ ...(f as object), protocol: 'graphql-transport-ws', type: 'subscribe', id: '7', query: 'query Q { b }', variables: '{"v":1}', operationName: 'Q' });
    expect(JSON.parse(text(out[0]!.data))).toEqual({ id: '7', type: 'subscribe', payload: { query: 'query Q { b }', variables: { v: 1 }, operationName: 'Q' } });
    expect(() => encodeGraphql({ protocol: 'graphql-ws', type: 'start', id: '1', query: '{a}', variables: '[1]' })).toThrow('variables: a JSON object');
  });
});

describe('STOMP forms', () => {
  const frame = (command: string, headers: Record<string, string>, body: string, escape = true) =>
    new FrameImpl({ command, headers, body, escapeHeaderValues: escape }).serialize() as string;

  it('re-encode @stomp/stompjs frames, escaping by command', () => {
    const frames = [
      frame('CONNECT', { 'accept-version': '1.2,1.1,1.0', 'heart-beat': '10000,10000', login: 'a:b' }, ''),
      frame('SEND', { destination: '/queue/a', 'x-note': 'line\nbreak: colon\\back' }, 'héllo'),
      frame('SUBSCRIBE', { id: 'sub-0', destination: '/topic/t' }, ''),
    ];
    for (const s of frames) {
      const f = stompFormOf(s);
      expect(typeof f, s).toBe('object');
      expect(text(encodeStomp(f as never)[0]!.data)).toBe(s);
    }
    const send = stompFormOf(frames[1]!) as { headers: Array<[string, string]> };
    expect(send.headers).toContainEqual(['x-note', 'line\nbreak: colon\\back']);
  });

  it('keeps content-length true to the body (UTF-8 bytes) and escapes per version', () => {
    const out = encodeStomp({ protocol: 'stomp', command: 'SEND', headers: [['destination', '/q'], ['content-length', '1']], body: 'ünïcode' });
    expect(text(out[0]!.data)).toBe('SEND\ndestination:/q\ncontent-length:9\n\nünïcode\0');
    expect(text(encodeStomp({ protocol: 'stomp', command: 'SEND', headers: [['k', 'a\rb']], body: '', version: '1.2' })[0]!.data)).toBe('SEND\nk:a\\rb\n\n\0');
    expect(text(encodeStomp({ protocol: 'stomp', command: 'SEND', headers: [['k', 'a:b']], body: '', version: '1.0' })[0]!.data)).toBe('SEND\nk:a:b\n\n\0');
    expect(() => encodeStomp({ protocol: 'stomp', command: 'CONNECT', headers: [['login', 'a\nb']], body: '' })).toThrow(/^headers\[0\]: a CONNECT header cannot hold a line break/);
    // A body with a NUL gets its length said.
    expect(text(encodeStomp({ protocol: 'stomp', command: 'SEND', headers: [], body: 'a\0b' })[0]!.data)).toBe('SEND\ncontent-length:3\n\na\0b\0');
  });
});

describe('MQTT forms', () => {
  it('re-encode mqtt-packet PUBLISH packets (3.1.1 and 5, properties passing through)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 5 as const),
        fc.stringMatching(/^[a-z]{1,6}(\/[a-z]{1,6}){0,2}$/),
        fc.uint8Array({ maxLength: 40 }),
        fc.constantFrom(0 as const, 1 as const, 2 as const),
        fc.boolean(),
        fc.integer({ min: 1, max: 65535 }),
        (version, topic, payload, qos, retain, messageId) => {
          const packet = { cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos, retain, dup: false, ...(qos > 0 ? { messageId } : {}), ...(version === 5 ? { properties: { userProperties: { a: 'b' }, contentType: 'text/x' } } : {}) };
          const wire = generate(packet, { protocolVersion: version });
          const f = mqttFormOf(wire, version);
          expect(typeof f).toBe('object');
          expect(Buffer.from(encodeMqtt(f as never, wire)[0]!.data)).toEqual(wire);
          expect(mqttFormOf(encodeMqtt(f as never, wire)[0]!.data, version)).toEqual(f);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('edits topic, payload, qos and retain; a mistake names the field', () => {
    const wire = generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false }, { protocolVersion: 4 });
    const f = mqttFormOf(wire, 4) as MqttForm;
    const out = encodeMqtt({ ...f, topic: 'c/d', payload: '00 ff', payloadFormat: 'hex', qos: 1, messageId: 9, retain: true });
    expect(Buffer.from(out[0]!.data)).toEqual(generate({ cmd: 'publish', topic: 'c/d', payload: Buffer.from([0, 0xff]), qos: 1, messageId: 9, retain: true, dup: false }, { protocolVersion: 4 }));
    expect(() => encodeMqtt({ ...f, topic: 'a/#' })).toThrow(/^topic: /);
    expect(() => encodeMqtt({ ...f, qos: 1 })).toThrow(/^packet id: /);
    expect(mqttFormOf(generate({ cmd: 'pingreq' }), 4)).toMatch(/only a PUBLISH/);
  });
});

describe('JSON-RPC forms', () => {
  it('re-encode requests, notifications and responses in their key order', () => {
    const msgs = [
      { jsonrpc: '2.0', method: 'sum', params: [1, 2], id: 1 },
      { jsonrpc: '2.0', id: 'x', method: 'ping' },
      { jsonrpc: '2.0', method: 'note', params: { a: 1 } },
      { jsonrpc: '2.0', result: { ok: true }, id: 1 },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } },
    ].map((m) => JSON.stringify(m));
    for (const m of msgs) expect(text(encodeJsonRpc(jsonRpcFormOf(m) as never)[0]!.data)).toBe(m);
    expect(() => encodeJsonRpc({ protocol: 'json-rpc', kind: 'request', method: 'm', params: '3', id: '1' })).toThrow('params: a JSON array or object');
  });
});
