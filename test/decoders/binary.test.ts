// MessagePack, CBOR and protobuf: decode(encode(x)) = x where the format's own library
// encodes (@msgpack/msgpack, cbor-x, protobufjs), values shown as docs/contracts.md "Binary
// values" says; protobuf with a schema and without one agree; messages that do not parse
// are findings; values past the limits are cut and say so; the .proto loader's errors.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as mpEncode } from '@msgpack/msgpack';
import { encode as cborEncode, Tag } from 'cbor-x';
import protobuf from 'protobufjs';
import { DecodeTracker, detectFromHandshake, type Decoded, type InMessage } from '../../shared/decoders';
import { MAX_VALUE_BYTES, MAX_VALUE_DEPTH, MAX_VALUE_NODES, MAX_VALUE_STRING } from '../../shared/decoders/binary-value';
import { MsgpackDecoder } from '../../main/engine/decoders/msgpack';
import { CborDecoder } from '../../main/engine/decoders/cbor';
import { ProtoError, ProtobufDecoder, decodeWire, loadProto, pickTypes } from '../../main/engine/decoders/protobuf';

const FIXTURES = join(import.meta.dirname, '../fixtures/proto');
const readFixture = (name: string) => {
  try {
    return readFileSync(join(FIXTURES, name), 'utf8');
  } catch {
    return null;
  }
};
const chat = () => loadProto('chat.proto', readFixture('chat.proto')!, readFixture);

const msg = (data: Uint8Array, from: 'client' | 'server' = 'client'): InMessage => ({ seq: 1, time: 1, from, opcode: 2, data });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A value and the JSON it is shown as: [what the peer encodes, what the record's value is]. */
type Pair = [unknown, unknown];

const key = fc.string({ maxLength: 8 }).filter((k) => !k.startsWith('$') && k !== '__proto__');
const scalar: fc.Arbitrary<Pair> = fc.oneof(
  fc.constant<Pair>([null, null]),
  fc.boolean().map((b): Pair => [b, b]),
  fc.string({ maxLength: 20 }).map((s): Pair => [s, s]),
  fc.maxSafeInteger().map((n): Pair => [n, n]),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)).map((d): Pair => [d, d]),
  fc.uint8Array({ maxLength: 24 }).map((u): Pair => [u, { $hex: hex(u) }]),
  // 64-bit integers past what a JSON number holds exactly: decimal text.
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).filter((b) => b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)).map((b): Pair => [b, String(b)]),
);
const tree: fc.Arbitrary<Pair> = fc.letrec<{ node: Pair }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 4 }).map((xs): Pair => [xs.map((x) => x[0]), xs.map((x) => x[1])]),
    fc.uniqueArray(fc.tuple(key, tie('node')), { maxLength: 4, selector: (e) => e[0] }).map((es): Pair => [Object.fromEntries(es.map(([k, v]) => [k, v[0]])), Object.fromEntries(es.map(([k, v]) => [k, v[1]]))]),
  ),
})).node;

describe('MessagePack', () => {
  it('decode(encode(x)) = x, as JSON', () => {
    fc.assert(
      fc.property(tree, ([x, shown]) => {
        const d = new MsgpackDecoder().decode(msg(mpEncode(x, { useBigInt64: true })));
        expect(d.type).not.toBe('invalid');
        expect(d.value).toEqual(shown);
        expect(d.summary.length).toBeLessThanOrEqual(140);
      }),
      { numRuns: 300 },
    );
  });

  it('maps with keys that are not strings, extensions, timestamps', () => {
    // {1: "a", "$x": true}: written by hand (the library encodes only string-keyed objects).
    const d = new MsgpackDecoder().decode(msg(new Uint8Array([0x82, 0x01, 0xa1, 0x61, 0xa2, 0x24, 0x78, 0xc3])));
    expect(d).toMatchObject({ protocol: 'msgpack', type: 'map', value: { $map: [[1, 'a'], ['$x', true]] } });
    // fixext1 type 5, and a timestamp (extension -1).
    expect(new MsgpackDecoder().decode(msg(new Uint8Array([0xd4, 0x05, 0xab]))).value).toEqual({ $ext: 5, $hex: 'ab' });
    expect(new MsgpackDecoder().decode(msg(mpEncode(new Date(Date.UTC(2024, 0, 2))))).value).toEqual({ $date: '2024-01-02T00:00:00.000Z' });
    const named = new MsgpackDecoder().decode(msg(mpEncode({ type: 'chat', text: 'hi' })));
    expect(named).toMatchObject({ type: 'map', name: 'chat', summary: 'map {"type":"chat","text":"hi"}' });
  });

  it('what does not parse is a finding: cut short, bytes after the value, an unused byte', () => {
    const whole = mpEncode({ a: [1, 2, 3] });
    expect(new MsgpackDecoder().decode(msg(whole.subarray(0, whole.length - 1)))).toEqual({ protocol: 'msgpack', type: 'invalid', summary: 'invalid: cut short: the message ends inside a value' });
    expect(new MsgpackDecoder().decode(msg(new Uint8Array([...whole, 0x01]))).summary).toMatch(/^invalid: Extra 1 of \d+ byte/);
    expect(new MsgpackDecoder().decode(msg(new Uint8Array([0xc1]))).type).toBe('invalid');
    expect(new MsgpackDecoder().decode(msg(new Uint8Array([])))).toMatchObject({ type: 'invalid', summary: 'invalid: an empty message' });
  });

  it('a huge value is cut and says so: items, strings, bytes, depth', () => {
    const d = new MsgpackDecoder().decode(msg(mpEncode(Array.from({ length: MAX_VALUE_NODES + 50 }, (_, i) => i))));
    const v = d.value as unknown[];
    expect(v.length).toBeLessThanOrEqual(MAX_VALUE_NODES + 1);
    expect(v[v.length - 1]).toEqual({ $truncated: expect.any(Number) });
    expect(d.summary).toMatch(/\(value truncated\)$/);
    const s = new MsgpackDecoder().decode(msg(mpEncode('x'.repeat(MAX_VALUE_STRING + 10)))).value;
    expect(s).toEqual({ $text: 'x'.repeat(MAX_VALUE_STRING), $truncated: 10 });
    const b = new MsgpackDecoder().decode(msg(mpEncode(new Uint8Array(MAX_VALUE_BYTES + 3)))).value as { $hex: string; $truncated: number };
    expect([b.$hex.length, b.$truncated]).toEqual([MAX_VALUE_BYTES * 2, 3]);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_VALUE_DEPTH + 5; i++) deep = [deep];
    expect(JSON.stringify(new MsgpackDecoder().decode(msg(mpEncode(deep))).value)).toContain('{"$truncated":"depth"}');
  });
});

describe('CBOR', () => {
  it('decode(encode(x)) = x, as JSON', () => {
    fc.assert(
      fc.property(tree, ([x, shown]) => {
        const d = new CborDecoder().decode(msg(cborEncode(x)));
        expect(d.type).not.toBe('invalid');
        expect(d.value).toEqual(shown);
      }),
      { numRuns: 300 },
    );
  });

  it('maps with any keys, tags, undefined, non-finite floats', () => {
    expect(new CborDecoder().decode(msg(cborEncode(new Map<unknown, unknown>([[1, 'a'], ['b', 2]])))).value).toEqual({ $map: [[1, 'a'], ['b', 2]] });
    expect(new CborDecoder().decode(msg(cborEncode(new Map([['b', 2]])))).value).toEqual({ b: 2 });
    expect(new CborDecoder().decode(msg(cborEncode(new Tag('x', 99))))).toMatchObject({ type: 'map', value: { $tag: 99, value: 'x' } });
    expect(new CborDecoder().decode(msg(cborEncode([undefined, NaN, Infinity]))).value).toEqual([{ $undefined: true }, { $float: 'NaN' }, { $float: 'Infinity' }]);
    expect(new CborDecoder().decode(msg(cborEncode(new Date(0)))).value).toEqual({ $date: '1970-01-01T00:00:00.000Z' });
    expect(new CborDecoder().decode(msg(cborEncode(1n << 70n))).value).toBe(String(1n << 70n));
  });

  it('what does not parse is a finding', () => {
    const whole = cborEncode({ a: [1, 2, 3] });
    expect(new CborDecoder().decode(msg(whole.subarray(0, whole.length - 1))).summary).toBe('invalid: cut short: the message ends inside a value');
    expect(new CborDecoder().decode(msg(new Uint8Array([...whole, 0x01]))).summary).toBe('invalid: bytes after the first data item');
  });
});

/** The schemaless reading of a field agrees with the schema's. */
function agrees(type: protobuf.Type, withSchema: Record<string, unknown>, wire: Record<string, unknown>): void {
  for (const f of type.fieldsArray) {
    const s = withSchema[f.name];
    const w = wire[String(f.id)];
    if (s === undefined) {
      expect(w, f.name).toBeUndefined();
      continue;
    }
    const all = f.repeated ? (s as unknown[]) : [s];
    const wires = f.repeated && Array.isArray(w) ? w : [w];
    expect(wires.length, f.name).toBe(all.length);
    all.forEach((sv, i) => {
      const wv = wires[i];
      if (f.resolvedType instanceof protobuf.Type) {
        // An empty message is zero bytes, which read as empty text.
        if (wv === '') expect(sv).toEqual({});
        else agrees(f.resolvedType, sv as Record<string, unknown>, wv as Record<string, unknown>);
      } else if (f.resolvedType instanceof protobuf.Enum) expect(f.resolvedType.values[sv as string]).toBe(wv);
      else if (f.type === 'bool') expect(wv).toBe(sv ? 1 : 0);
      else if (f.type === 'int32' || f.type === 'int64') expect(BigInt.asIntN(64, BigInt(wv as number | string))).toBe(BigInt(sv as number | string));
      else if (f.type === 'double') expect((wv as { double: number }).double).toBe(sv);
      else if (f.type === 'fixed32') expect((wv as { $fixed32: number }).$fixed32).toBe(sv);
      else if (f.type === 'bytes') {
        const b = Buffer.from((sv as { $hex: string }).$hex, 'hex');
        // Bytes are guessed: text, a message, or hex; the text and hex readings are the bytes.
        if (typeof wv === 'string') expect(Buffer.from(wv).equals(b)).toBe(true);
        else if ('$hex' in (wv as object)) expect(wv).toEqual(sv);
      } else expect(wv, f.name).toEqual(sv);
    });
  }
}

describe('protobuf', () => {
  const schema = chat();
  const Request = schema.root.lookupType('chat.Request');
  const item = fc.record({ name: fc.string({ maxLength: 12 }), n: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String) }, { requiredKeys: [] });
  const request = fc.record(
    {
      id: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      text: fc.string({ maxLength: 40 }),
      flag: fc.boolean(),
      big: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String),
      ratio: fc.double({ noNaN: true, noDefaultInfinity: true }),
      item,
      tags: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
      raw: fc.uint8Array({ maxLength: 12 }),
      f32: fc.nat({ max: 2 ** 32 - 1 }),
      kind: fc.constantFrom('KIND_UNSPECIFIED', 'KIND_CHAT', 'KIND_ADMIN'),
    },
    { requiredKeys: [] },
  );

  it('with the schema: decode(encode(x)) = x; without it, the same fields by number', () => {
    fc.assert(
      fc.property(request, (x) => {
        const bytes = Request.encode(Request.fromObject(x)).finish();
        const expected = Request.toObject(Request.decode(bytes), { enums: String, longs: String });
        const d = new ProtobufDecoder({ client: Request }).decode(msg(bytes));
        expect(d.type).toBe('chat.Request');
        const value = d.value as Record<string, unknown>;
        // 64-bit integers: a number when exact, else text; bytes as hex.
        const norm = JSON.parse(JSON.stringify(expected, (k, v) => (k === 'raw' ? { $hex: Buffer.from(v, 'base64').toString('hex') } : k === 'big' || k === 'n' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v) : v)));
        if (norm.ratio !== undefined && !Number.isFinite(expected.ratio)) norm.ratio = { $float: String(expected.ratio) };
        if (Object.is(expected.ratio, -0)) norm.ratio = -0;
        expect(value).toEqual(norm);
        const wire = new ProtobufDecoder().decode(msg(bytes));
        expect(wire.type).toBe('message');
        agrees(Request, value, wire.value as Record<string, unknown>);
      }),
      { numRuns: 300 },
    );
  });

  it('without a schema: field numbers and wire types, nested messages, text, bytes', () => {
    const Reply = schema.root.lookupType('chat.Reply');
    const bytes = Reply.encode(Reply.fromObject({ id: 150, text: 'hello', items: [{ name: 'a', n: 1 }, { name: 'b' }] })).finish();
    expect(decodeWire(bytes)).toEqual({ value: { '1': 150, '2': 'hello', '3': [{ '1': 'a', '2': 1 }, { '1': 'b' }] }, truncated: false });
    // "hi" would parse as field 13 = 105: printable text stays text.
    expect((decodeWire(new Uint8Array([0x0a, 0x02, 0x68, 0x69])) as { value: unknown }).value).toEqual({ '1': 'hi' });
    expect((decodeWire(new Uint8Array([0x0a, 0x02, 0xff, 0xfe])) as { value: unknown }).value).toEqual({ '1': { $hex: 'fffe' } });
    expect((decodeWire(new Uint8Array([0x0d, 0, 0, 0xc0, 0x3f])) as { value: unknown }).value).toEqual({ '1': { $fixed32: 1069547520, float: 1.5 } });
    expect(decodeWire(new Uint8Array([0x0f]))).toBe('invalid wire type 7 at offset 0');
    expect(decodeWire(new Uint8Array([0x0a, 0x05, 0x01]))).toBe('a length of 5 at offset 0 runs past the end');
    expect(decodeWire(new Uint8Array([0x08, 0x80]))).toBe('a varint cut short at offset 2');
    expect(new ProtobufDecoder().decode(msg(new Uint8Array([0x0f])))).toEqual({ protocol: 'protobuf', type: 'invalid', summary: 'invalid: invalid wire type 7 at offset 0' });
    expect(new ProtobufDecoder({ client: Request }).decode(msg(new Uint8Array([0x0f]))).summary).toBe('invalid: not a chat.Request: invalid wire type 7 at offset 1');
  });

  it('per side: the server decoded with its type, a side without one by field number', () => {
    const Reply = schema.root.lookupType('chat.Reply');
    const types = pickTypes(schema, 'server=Reply');
    const dec = new ProtobufDecoder(types);
    expect(dec.decode(msg(Reply.encode({ id: 2 }).finish(), 'server'))).toMatchObject({ type: 'chat.Reply', value: { id: 2 } });
    expect(dec.decode(msg(Request.encode({ id: 2 }).finish(), 'client'))).toMatchObject({ type: 'message', value: { '1': 2 } });
  });

  it('the .proto loader: types, the one top-level message, errors naming file and line', () => {
    expect(schema.types).toEqual(['chat.Item', 'chat.Request', 'chat.Reply']);
    expect(() => pickTypes(schema, undefined)).toThrow('chat.proto has 3 message types, choose one with --proto-type (or client=A,server=B): chat.Item, chat.Request, chat.Reply');
    expect(() => pickTypes(schema, 'Nope')).toThrow('no message type "Nope" in chat.proto; its types: chat.Item, chat.Request, chat.Reply');
    expect(() => pickTypes(schema, 'client=')).toThrow(ProtoError);
    const single = loadProto('single.proto', readFixture('single.proto')!);
    expect(pickTypes(single, undefined).client!.fullName).toBe('.single.Ping');
    expect(() => loadProto('bad.proto', readFixture('bad.proto')!)).toThrow(/^bad\.proto:6: illegal token 'string'/);
    expect(() => loadProto('unresolved.proto', readFixture('unresolved.proto')!)).toThrow("unresolved.proto:5: no such Type or Enum 'Missing' in Type .Holder");
    expect(() => loadProto('chat.proto', readFixture('chat.proto')!)).toThrow('chat.proto:5: imports "common.proto", which is not found');
  });
});

describe('detection and choice', () => {
  it('from the subprotocol, never from the bytes', () => {
    expect(['msgpack', 'v1.msgpack', 'messagepack', 'wamp.2.cbor', 'cbor', 'protobuf', 'x.proto', 'MsgPack'].map((p) => detectFromHandshake([p], '/'))).toEqual(['msgpack', 'msgpack', 'msgpack', 'cbor', 'cbor', 'protobuf', 'protobuf', 'msgpack']);
    expect(detectFromHandshake(['msgpackish', 'json'], '/')).toBeNull();
    // A binary message that is valid MessagePack is not taken for it.
    const t = new DecodeTracker('auto', {});
    const out: Array<Decoded | undefined> = [];
    for (let seq = 0; seq < 5; seq++) out.push(t.frame({ connection: 'c', seq, time: seq, from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false, length: 3, payload: mpEncode([1, 2]) } as never));
    expect(out).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
