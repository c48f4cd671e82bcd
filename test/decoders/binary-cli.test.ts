// MessagePack, CBOR and protobuf between real `ws` peers through `framescope proxy --json`:
// each side encodes with the format's own library (@msgpack/msgpack, cbor-x, protobufjs);
// the proxy's frames carry what they decode to. Then the capture through `export --proto`,
// and the command line's errors for --proto.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { encode as mpEncode, decode as mpDecode } from '@msgpack/msgpack';
import { encode as cborEncode, decode as cborDecode } from 'cbor-x';
import protobuf from 'protobufjs';
import { runCli } from '../peers/cli';
import { closes, decodedFrames, startProxy, stopProxy, type EventOut, wsServer } from './proxy-helpers';

const FIXTURES = join(import.meta.dirname, '../fixtures/proto');
const CHAT = join(FIXTURES, 'chat.proto');

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-binary-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A server that answers each binary message with `answer(bytes)`, agreeing to any subprotocol. */
async function server(answer: (b: Buffer) => Uint8Array): Promise<number> {
  const { wss, port } = await wsServer(cleanup, { perMessageDeflate: false, handleProtocols: (ps) => [...ps][0] ?? false });
  wss.on('connection', (ws) => ws.on('message', (b: Buffer) => ws.send(answer(b))));
  return port;
}

/** Sends each message and waits for its answer; then closes. Returns the answers. */
async function talk(port: number, protocol: string | undefined, messages: Uint8Array[]): Promise<Buffer[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocol ? [protocol] : [], { perMessageDeflate: false });
  cleanup.push(() => ws.terminate());
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  const answers: Buffer[] = [];
  for (const m of messages) {
    const got = new Promise<Buffer>((r) => ws.once('message', (b: Buffer) => r(b)));
    ws.send(m);
    answers.push(await got);
  }
  ws.close(1000);
  await new Promise((r) => ws.once('close', r));
  return answers;
}

describe('binary formats through the proxy', () => {
  it('MessagePack: detected from the subprotocol, each side decoded', async () => {
    const upstream = await server((b) => {
      const m = mpDecode(b) as { type: string; n: number };
      return mpEncode({ type: 'ack', n: m.n, at: new Uint8Array([1, 2]) });
    });
    const { proc, port } = await startProxy(`ws://127.0.0.1:${upstream}`);
    cleanup.push(() => proc.stop('SIGKILL'));
    await talk(port, 'v1.msgpack', [mpEncode({ type: 'chat', n: 1, text: 'hi' }), mpEncode([1, 'two', null])]);
    await closes(proc);
    const frames = decodedFrames(await stopProxy(proc));
    expect(frames.map((f) => [f.from, f.d.protocol, f.d.type, f.d.name, f.d.value])).toEqual([
      ['client', 'msgpack', 'map', 'chat', { type: 'chat', n: 1, text: 'hi' }],
      ['server', 'msgpack', 'map', 'ack', { type: 'ack', n: 1, at: { $hex: '0102' } }],
      ['client', 'msgpack', 'array', undefined, [1, 'two', null]],
      // (the library writes undefined as nil)
      ['server', 'msgpack', 'map', 'ack', { type: 'ack', n: null, at: { $hex: '0102' } }],
    ]);
    expect(frames[0]!.d.summary).toBe('map {"type":"chat","n":1,"text":"hi"}');
  });

  it('CBOR: chosen with --decode (no subprotocol), a malformed message shown as a finding', async () => {
    const upstream = await server((b) => {
      try {
        return cborEncode({ echo: cborDecode(b), big: 1n << 70n });
      } catch {
        return cborEncode('bad');
      }
    });
    const { proc, port } = await startProxy(`ws://127.0.0.1:${upstream}`, ['--decode', 'cbor']);
    cleanup.push(() => proc.stop('SIGKILL'));
    const whole = cborEncode({ a: [1, 2, 3] });
    await talk(port, undefined, [cborEncode(new Map<unknown, unknown>([[1, 'one'], ['k', true]])), whole.subarray(0, whole.length - 1)]);
    await closes(proc);
    const frames = decodedFrames(await stopProxy(proc));
    expect(frames.map((f) => [f.from, f.d.type, f.d.value ?? f.d.summary])).toEqual([
      ['client', 'map', { $map: [[1, 'one'], ['k', true]] }],
      ['server', 'map', { echo: { $map: [[1, 'one'], ['k', true]] }, big: String(1n << 70n) }],
      ['client', 'invalid', 'invalid: cut short: the message ends inside a value'],
      ['server', 'string', 'bad'],
    ]);
  });

  it('protobuf: --proto with a type per side; schemaless by the subprotocol; then export --proto', async () => {
    const root = await protobuf.load(CHAT);
    const Request = root.lookupType('chat.Request');
    const Reply = root.lookupType('chat.Reply');
    const upstream = await server((b) => {
      const r = Request.toObject(Request.decode(b)) as { id?: number; text?: string };
      return Reply.encode(Reply.fromObject({ id: r.id, text: `re: ${r.text}`, items: [{ name: 'x', n: 7 }] })).finish();
    });
    const dir = scratch();
    const capture = join(dir, 'pb.wscap.json');
    const { proc, port } = await startProxy(`ws://127.0.0.1:${upstream}`, ['--proto', CHAT, '--proto-type', 'client=chat.Request,server=Reply', '--capture', capture]);
    cleanup.push(() => proc.stop('SIGKILL'));
    const req = Request.encode(Request.fromObject({ id: 7, text: 'hello', kind: 'KIND_CHAT', big: '9007199254740993', raw: Buffer.from([0xff]) })).finish();
    await talk(port, 'protobuf', [req]);
    await closes(proc);
    const frames = decodedFrames(await stopProxy(proc));
    expect(frames.map((f) => [f.from, f.d.protocol, f.d.type, f.d.value])).toEqual([
      ['client', 'protobuf', 'chat.Request', { id: 7, text: 'hello', big: '9007199254740993', raw: { $hex: 'ff' }, kind: 'KIND_CHAT' }],
      ['server', 'protobuf', 'chat.Reply', { id: 7, text: 're: hello', items: [{ name: 'x', n: 7 }] }],
    ]);
    expect(frames[0]!.d.summary).toBe('chat.Request {"id":7,"text":"hello","big":"9007199254740993","raw":{"$hex":"ff"},"kind":"KIND_CHAT"}');

    // The capture exported: without --proto, the subprotocol says protobuf (no schema).
    const plain = join(dir, 'plain.ndjson');
    const e1 = await runCli(['export', capture, '--format', 'ndjson', '-o', plain]);
    expect(e1.code, e1.stderr).toBe(0);
    const d1 = readFileSync(plain, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EventOut).filter((x) => x.message?.decoded).map((x) => x.message!.decoded!);
    expect(d1.map((d) => [d.type, d.value])).toEqual([
      ['message', { '1': 7, '2': 'hello', '4': 9007199254740993n.toString(), '8': { $hex: 'ff' }, '10': 1 }],
      ['message', { '1': 7, '2': 're: hello', '3': { '1': 'x', '2': 7 } }],
    ]);
    // With --proto and one type for both sides: the server's Reply read as a Request is whatever it parses as.
    const typed = join(dir, 'typed.ndjson');
    const e2 = await runCli(['export', capture, '--format', 'ndjson', '-o', typed, '--proto', CHAT, '--proto-type', 'chat.Request']);
    expect(e2.code, e2.stderr).toBe(0);
    const d2 = readFileSync(typed, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EventOut).filter((x) => x.message?.decoded).map((x) => x.message!.decoded!);
    expect(d2.map((d) => d.type)).toEqual(['chat.Request', 'chat.Request']);
  });
});

describe('--proto is checked', () => {
  it('a .proto that does not parse: one line naming the file and line, exit 1', async () => {
    const bad = join(FIXTURES, 'bad.proto');
    for (const args of [
      ['proxy', '--listen', '127.0.0.1:0', '--target', 'ws://127.0.0.1:9', '--proto', bad],
      ['connect', 'ws://127.0.0.1:9/', '--proto', bad],
      ['export', 'nofile', '--format', 'ndjson', '-o', 'x', '--proto', bad],
    ]) {
      const r = await runCli(args);
      expect([r.code, r.stderr], args[0]).toEqual([1, `framescope: ${bad}:6: illegal token 'string', ';' expected\n`]);
      expect(r.stdout).toBe('');
    }
    const dir = scratch();
    const stream = join(dir, 'bytes');
    writeFileSync(stream, Buffer.from([0x82, 0x02, 0x08, 0x01]));
    const r = await runCli(['decode', stream, '--from', 'server', '--proto', join(FIXTURES, 'unresolved.proto')]);
    expect([r.code, r.stderr]).toEqual([1, `framescope: ${join(FIXTURES, 'unresolved.proto')}:5: no such Type or Enum 'Missing' in Type .Holder\n`]);
  });

  for (const [args, code, why] of [
    [['--proto', CHAT], 2, /^framescope: .*chat\.proto has 3 message types, choose one with --proto-type \(or client=A,server=B\): chat\.Item, chat\.Request, chat\.Reply\n$/],
    [['--proto', CHAT, '--proto-type', 'Nope'], 2, /^framescope: no message type "Nope" in .*chat\.proto; its types: chat\.Item, chat\.Request, chat\.Reply\n$/],
    [['--proto-type', 'chat.Request'], 2, /^framescope: --proto-type needs --proto FILE\n$/],
    [['--proto', CHAT, '--proto-type', 'Request', '--decode', 'cbor'], 2, /^framescope: --proto decodes as protobuf, not --decode cbor\n$/],
    [['--proto', join(FIXTURES, 'none.proto')], 1, /^framescope: cannot read --proto .*none\.proto: no such file\n$/],
  ] as const) {
    it(`${args.join(' ').replace(FIXTURES + '/', '')}: exit ${code}`, async () => {
      const dir = scratch();
      const stream = join(dir, 'bytes');
      writeFileSync(stream, Buffer.from([0x82, 0x02, 0x08, 0x01]));
      const r = await runCli(['decode', stream, '--from', 'server', ...args]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(why);
    });
  }

  it('decode with --proto: a server frame decoded as the file\'s one message', async () => {
    const dir = scratch();
    const stream = join(dir, 'bytes');
    // An unmasked binary frame of 2 bytes: field 1 = 1.
    writeFileSync(stream, Buffer.from([0x82, 0x02, 0x08, 0x01]));
    const r = await runCli(['decode', stream, '--from', 'server', '--json', '--proto', join(FIXTURES, 'single.proto')]);
    expect(r.code, r.stderr).toBe(0);
    const frame = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as EventOut).find((e) => e.event === 'frame')!;
    expect(frame.message!.decoded).toEqual({ protocol: 'protobuf', type: 'single.Ping', summary: 'single.Ping {"seq":1}', value: { seq: 1 } });
  });
});
