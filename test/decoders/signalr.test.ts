// SignalR through `framescope proxy --json`: the real @microsoft/signalr client (JSON and, with
// @microsoft/signalr-protocol-msgpack, MessagePack) against a small hub written here on `ws`
// that speaks the hub protocol with the library's own protocol classes: handshake, Invocation
// → Completion, a stream (StreamInvocation → StreamItem… → Completion), an error Completion,
// a server → client invocation the client answers, Pings both ways, an invocation never
// answered (flagged at close). Then decode(writeMessage(x)) = x for both encodings.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HttpTransportType, HubConnectionBuilder, JsonHubProtocol, LogLevel, MessageType, type HubMessage, type IHubProtocol } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { decode, encode } from '@msgpack/msgpack';
import { createRequire } from 'node:module';
import { decoderFor, detectFromMessage, type Decoded } from '../../shared/decoders';
import { ENGINE_DECODERS } from '../../main/engine/decoders';
import { closes, decodedFrames, one, startProxy, stopProxy, wsServer } from './proxy-helpers';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const RS = '\x1e';
const require = createRequire(import.meta.url);
// The package's own VarInt framing (not exported from its index).
const { BinaryMessageFormat } = require('@microsoft/signalr-protocol-msgpack/dist/cjs/BinaryMessageFormat.js') as { BinaryMessageFormat: { parse(input: ArrayBuffer): Uint8Array[] } };

/**
 * The client's messages as a server reads them (the library's parseMessages reads only what a
 * server sends): JSON records, or MessagePack arrays after the library's VarInt framing.
 */
function parse(data: Buffer, binary: boolean): Array<{ type: number; invocationId?: string; target?: string; arguments: unknown[] }> {
  if (!binary) return data.toString().split(RS).filter(Boolean).map((r) => JSON.parse(r) as { type: number; arguments: unknown[] });
  return BinaryMessageFormat.parse(new Uint8Array(data).buffer).map((b) => {
    const a = decode(b) as unknown[];
    return { type: a[0] as number, invocationId: (a[2] ?? undefined) as string | undefined, target: a[3] as string, arguments: (a[4] ?? []) as unknown[] };
  });
}

/** A hub: Echo(x) → x, Fail() → error, Counter(n) streams 0..n-1, Stuck() never answers, Ask() asks the client `square(7)`. */
async function hub(): Promise<number> {
  const { wss, port } = await wsServer(cleanup);
  wss.on('connection', (ws) => {
    let protocol: IHubProtocol | null = null;
    let asked = 0;
    const send = (m: HubMessage) => {
      const out = protocol!.writeMessage(m);
      ws.send(out, { binary: typeof out !== 'string' });
    };
    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      let data: Buffer = raw;
      if (!protocol) {
        const end = data.indexOf(0x1e);
        const hello = JSON.parse(data.subarray(0, end).toString()) as { protocol: string };
        protocol = hello.protocol === 'messagepack' ? new MessagePackHubProtocol() : new JsonHubProtocol();
        // As ASP.NET Core does: the handshake answer goes in the connection's transfer format.
        ws.send(Buffer.from(`{}${RS}`), { binary: hello.protocol === 'messagepack' });
        send({ type: MessageType.Ping });
        data = data.subarray(end + 1);
        if (data.length === 0) return;
      }
      for (const m of parse(data, isBinary)) {
        if (m.type === MessageType.Invocation || m.type === MessageType.StreamInvocation) {
          const id = m.invocationId!;
          if (m.target === 'Echo') send({ type: MessageType.Completion, invocationId: id, result: m.arguments[0] });
          if (m.target === 'Fail') send({ type: MessageType.Completion, invocationId: id, error: 'nope' });
          if (m.target === 'Counter') {
            for (let i = 0; i < (m.arguments[0] as number); i++) send({ type: MessageType.StreamItem, invocationId: id, item: i });
            send({ type: MessageType.Completion, invocationId: id });
          }
          if (m.target === 'Ask') {
            send({ type: MessageType.Invocation, invocationId: `s${++asked}`, target: 'square', arguments: [7], streamIds: [] });
            send({ type: MessageType.Completion, invocationId: id, result: 'asked' });
          }
        }
      }
    });
  });
  return port;
}

async function run(protocolName: 'json' | 'messagepack') {
  const port = await hub();
  // JSON detected from the handshake; MessagePack named with --decode.
  const { proc, port: proxyPort } = await startProxy(`ws://127.0.0.1:${port}`, protocolName === 'messagepack' ? ['--decode', 'signalr'] : []);
  cleanup.push(() => proc.stop('SIGKILL'));
  const builder = new HubConnectionBuilder()
    .withUrl(`http://127.0.0.1:${proxyPort}/hubs/chat`, { transport: HttpTransportType.WebSockets, skipNegotiation: true })
    .withKeepAliveInterval(50)
    .configureLogging(process.env.SR_DEBUG ? LogLevel.Trace : LogLevel.None);
  if (protocolName === 'messagepack') builder.withHubProtocol(new MessagePackHubProtocol());
  const conn = builder.build();
  conn.on('square', (x: number) => x * x);
  await conn.start();
  expect(await conn.invoke('Echo', { hello: 'wörld', n: [1, 2] })).toEqual({ hello: 'wörld', n: [1, 2] });
  await expect(conn.invoke('Fail')).rejects.toThrow(/nope/);
  const items: number[] = [];
  await new Promise<void>((resolve, reject) => conn.stream('Counter', 3).subscribe({ next: (i: number) => items.push(i), complete: resolve, error: reject }));
  expect(items).toEqual([0, 1, 2]);
  expect(await conn.invoke('Ask')).toBe('asked');
  // The client's answer to the server's `square` invocation, then a client keep-alive.
  await proc.waitForLine((l) => l.includes('"from":"client"') && l.includes('"type":"Completion"') && l.includes('"square"'));
  await proc.waitForLine((l) => l.includes('"from":"client"') && l.includes('"type":"Ping"'));
  const stuck = conn.invoke('Stuck', 1).catch(() => 'stopped');
  await proc.waitForLine((l) => l.includes('"Stuck"'));
  await conn.stop();
  expect(await stuck).toBe('stopped');
  await closes(proc);
  return stopProxy(proc);
}

for (const protocolName of ['json', 'messagepack'] as const) {
  describe(`SignalR ${protocolName}: @microsoft/signalr through the proxy`, () => {
    it('handshake, Invocation → Completion, an error, a stream, the server invoking the client, Pings; the invocation never answered flagged', async () => {
      const events = await run(protocolName);
      // A client may send several records in one message (a Ping beside a Completion, as
      // timing has it): the message is one combined record holding them; look at each.
      const d = decodedFrames(events).flatMap((f) => (f.d.type.includes('+') ? (f.d.value as Decoded[]).map((r) => ({ ...f, d: r })) : [f]));
      expect(new Set(d.map((f) => f.d.protocol))).toEqual(new Set(['signalr']));
      expect(d.filter((f) => f.d.type === 'invalid'), d.map((f) => f.d.summary).join('\n')).toEqual([]);
      if (protocolName === 'messagepack') expect(d.filter((f) => f.from === 'server' && f.d.type !== 'handshake').every((f) => f.opcode === 2)).toBe(true);

      const hello = one(d, (x, f) => x.type === 'handshake' && f.from === 'client');
      expect(hello.d).toMatchObject({ name: protocolName, value: { protocol: protocolName, version: 1 } });
      expect(one(d, (x, f) => x.type === 'handshake' && f.from === 'server').d).toMatchObject({ summary: 'handshake ok', pairedWith: hello.seq });

      const echo = one(d, (x) => x.type === 'Invocation' && x.name === 'Echo');
      expect(echo.d).toMatchObject({ id: expect.any(String), value: [{ hello: 'wörld', n: [1, 2] }] });
      const echoed = one(d, (x) => x.type === 'Completion' && x.id === echo.d.id);
      expect(echoed.d).toMatchObject({ name: 'Echo', pairedWith: echo.seq, value: { hello: 'wörld', n: [1, 2] } });
      expect(echoed.d.latencyMs).toBeGreaterThanOrEqual(0);

      const fail = one(d, (x) => x.type === 'Invocation' && x.name === 'Fail');
      expect(one(d, (x) => x.type === 'Completion' && x.id === fail.d.id).d).toMatchObject({ pairedWith: fail.seq, value: { error: 'nope' }, summary: expect.stringContaining('error "nope"') });

      const stream = one(d, (x) => x.type === 'StreamInvocation');
      expect(stream.d).toMatchObject({ name: 'Counter', value: [3] });
      const streamed = d.filter((f) => f.d.id === stream.d.id && f.seq > stream.seq);
      expect(streamed.map((f) => [f.d.type, f.d.value, f.d.pairedWith, f.d.name])).toEqual([
        ['StreamItem', 0, stream.seq, 'Counter'],
        ['StreamItem', 1, stream.seq, 'Counter'],
        ['StreamItem', 2, stream.seq, 'Counter'],
        ['Completion', undefined, stream.seq, 'Counter'],
      ]);

      // The server invokes the client; the client's Completion answers it.
      const square = one(d, (x, f) => x.type === 'Invocation' && f.from === 'server');
      expect(square.d).toMatchObject({ name: 'square', id: 's1', value: [7] });
      expect(one(d, (x, f) => x.type === 'Completion' && f.from === 'client').d).toMatchObject({ id: 's1', name: 'square', pairedWith: square.seq, value: 49 });

      const pings = d.filter((f) => f.d.type === 'Ping');
      expect(new Set(pings.map((f) => f.from))).toEqual(new Set(['client', 'server']));
      expect(pings.every((f) => f.d.heartbeat === true)).toBe(true);

      const stuck = one(d, (x) => x.name === 'Stuck');
      expect(events.find((e) => e.event === 'close')!.unanswered).toEqual([{ seq: stuck.seq, protocol: 'signalr', type: 'Invocation', name: 'Stuck', id: stuck.d.id }]);
    });
  });
}

const dec = (chunks: Array<string | ArrayBuffer>, from: 'client' | 'server' = 'client'): Decoded[] => {
  const decoder = decoderFor('signalr', null, ENGINE_DECODERS);
  return chunks.map((c, seq) => decoder.decode({ seq, time: seq, from, opcode: typeof c === 'string' ? 1 : 2, data: typeof c === 'string' ? Buffer.from(c) : new Uint8Array(c) }));
};

describe('SignalR records: decode(writeMessage(x)) = x', () => {
  // (a key starting with `$` is shown as {"$map": …}, docs/contracts.md "Binary values": left out here)
  const json = fc
    .jsonValue({ maxDepth: 2 })
    .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
    .filter((v) => !JSON.stringify(v).includes('"$'));
  const id = fc.string({ minLength: 1, maxLength: 6 });
  const message = fc.oneof(
    fc.record({ type: fc.constant(MessageType.Invocation), invocationId: fc.option(id, { nil: undefined }), target: fc.string({ minLength: 1, maxLength: 8 }), arguments: fc.array(json, { maxLength: 3 }), streamIds: fc.constant([]) }),
    fc.record({ type: fc.constant(MessageType.StreamInvocation), invocationId: id, target: fc.string({ minLength: 1, maxLength: 8 }), arguments: fc.array(json, { maxLength: 3 }), streamIds: fc.constant([]) }),
    fc.record({ type: fc.constant(MessageType.StreamItem), invocationId: id, item: json }),
    fc.record({ type: fc.constant(MessageType.Completion), invocationId: id, result: json }),
    fc.record({ type: fc.constant(MessageType.Completion), invocationId: id, error: fc.string({ minLength: 1, maxLength: 8 }) }),
    fc.record({ type: fc.constant(MessageType.CancelInvocation), invocationId: id }),
    fc.record({ type: fc.constant(MessageType.Ping) }),
  );
  for (const [label, protocol] of [
    ['json', new JsonHubProtocol()],
    ['messagepack', new MessagePackHubProtocol()],
  ] as const) {
    it(`${label}: every message type, several in one message`, () => {
      fc.assert(
        fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), (msgs) => {
          const parts = msgs.map((m) => protocol.writeMessage(m as HubMessage));
          const joined = typeof parts[0] === 'string' ? (parts as string[]).join('') : Buffer.concat((parts as ArrayBuffer[]).map((p) => Buffer.from(p)));
          const [d] = dec([`{"protocol":"${label}","version":1}${RS}`, typeof joined === 'string' ? joined : new Uint8Array(joined).buffer]).slice(1);
          const out = msgs.length === 1 ? [d!] : (d!.value as Decoded[]);
          if (msgs.length > 1) expect(d!.type).toBe([...new Set(out.map((x) => x.type))].join('+'));
          msgs.forEach((m, i) => {
            const r = out[i]!;
            const x = m as { type: number; invocationId?: string; target?: string; arguments?: unknown[]; item?: unknown; result?: unknown; error?: string };
            expect(r.type).toBe(MessageType[x.type]);
            if (x.type === MessageType.Ping) expect(r.heartbeat).toBe(true);
            else expect(r.id).toBe(x.invocationId);
            if (x.target !== undefined) expect([r.name, r.value]).toEqual([x.target, x.arguments]);
            if (x.type === MessageType.StreamItem) expect(r.value).toEqual(x.item);
            if (x.type === MessageType.Completion) expect(r.value).toEqual(x.error !== undefined ? { error: x.error } : x.result);
          });
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('SignalR: detection and what does not parse', () => {
  it('detects the handshake request; a record split across messages, bad JSON and bad MessagePack say why', () => {
    expect(detectFromMessage(1, Buffer.from(`{"protocol":"json","version":1}${RS}`))).toBe('signalr');
    expect(detectFromMessage(1, Buffer.from(`{"protocol":"json","version":1}`))).toBe(null);
    const [, cut, notJson] = dec([`{"protocol":"json","version":1}${RS}`, '{"type":1,"target":"a","arguments":[]', `{nope${RS}`]);
    expect(cut).toMatchObject({ type: 'invalid', summary: 'invalid: a record without its 0x1E terminator (a record is never split across messages)' });
    expect(notJson).toMatchObject({ type: 'invalid', summary: 'invalid: a record that is not JSON' });
    const mp = [`{"protocol":"messagepack","version":1}${RS}`, new Uint8Array([0x0a, 0x95, 0x01]).buffer, new Uint8Array([0x01, 0xc1]).buffer, new Uint8Array([0x02, 0x91, 0x0b]).buffer];
    const [, short, bad, unknown] = dec(mp);
    expect(short!.summary).toBe('invalid: a record of 10 bytes with 2 left in the message (a record is never split across messages)');
    expect(bad!.summary).toMatch(/^invalid: not MessagePack: /);
    expect(unknown!.summary).toBe('invalid: unknown message type 11');
    // MessagePack values as JSON, as the msgpack decoder shows them: bytes, timestamps, a uint64 past 2^53 (exact, as text), one within it.
    const args = [new Uint8Array([1, 2]), new Date(Date.UTC(2020, 0, 2)), 2n ** 60n + 1n, 2n ** 40n];
    const invocation = encode([1, {}, 'i1', 'T', args], { useBigInt64: true });
    const framed = new Uint8Array([invocation.length, ...invocation]);
    expect(dec([`{"protocol":"messagepack","version":1}${RS}`, framed.buffer])[1]!.value).toEqual([{ $hex: '0102' }, { $date: '2020-01-02T00:00:00.000Z' }, String(2n ** 60n + 1n), 2 ** 40]);
    // shared/ parses no MessagePack: without the engine's parser a record says so.
    const bare = decoderFor('signalr', null);
    bare.decode({ seq: 0, time: 0, from: 'client', opcode: 1, data: Buffer.from(`{"protocol":"messagepack","version":1}${RS}`) });
    expect(bare.decode({ seq: 1, time: 1, from: 'client', opcode: 2, data: framed }).summary).toMatch(/not decodable here/);
    // The server's handshake answer and a first record in one message: both, the handshake paired.
    const decoder = decoderFor('signalr', null, ENGINE_DECODERS);
    decoder.decode({ seq: 0, time: 0, from: 'client', opcode: 1, data: Buffer.from(`{"protocol":"json","version":1}${RS}`) });
    expect(decoder.decode({ seq: 1, time: 2, from: 'server', opcode: 1, data: Buffer.from(`{}${RS}{"type":6}${RS}`) })).toMatchObject({
      type: 'handshake+Ping',
      summary: '2 records: handshake ok, Ping',
      pairedWith: 0,
      latencyMs: 2,
    });
  });
});
