// The UI session decodes binary formats with the engine's decoders: MessagePack named by the
// subprotocol, and protobuf with a .proto sent through setProto (checked like every command;
// its errors one line, naming the file and line).
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wsServer } from '../decoders/proxy-helpers';
import { encode as mpEncode } from '@msgpack/msgpack';
import protobuf from 'protobufjs';
import type { FrameSummary, UiEvent } from '../../shared/contract';
import { ContractError, MAX_PROTO_FILES } from '../../shared/contract';
import { MAX_PROTO_BYTES } from '../../shared/decoders';
import { EngineSession } from '../../main/engine/session/session';

const FIXTURES = join(import.meta.dirname, '../fixtures/proto');
const file = (name: string) => ({ filename: name, text: readFileSync(join(FIXTURES, name), 'utf8') });

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

/** A session whose client talks to an echo server under `protocol`; sends `messages`. */
async function echoSession(protocol: string, messages: Uint8Array[]) {
  const { wss, port } = await wsServer(cleanup, { perMessageDeflate: false, handleProtocols: (ps) => [...ps][0] ?? false });
  wss.on('connection', (ws) => ws.on('message', (b: Buffer) => ws.send(b)));
  const session = new EngineSession({ version: 'test', batchMs: 5 });
  cleanup.push(() => session.dispose());
  const batches: UiEvent[][] = [];
  session.onEvents((b) => batches.push(b));
  const { connection } = await session.dispatch('connect', { url: `ws://127.0.0.1:${port}/`, protocols: [protocol], deflate: false });
  await until(() => batches.flat().some((e) => e.type === 'connection' && e.connection.id === connection && e.connection.state === 'open'));
  const rows = () => batches.flat().flatMap((e) => (e.type === 'frames' && e.connection === connection ? e.frames : [])) as FrameSummary[];
  for (const m of messages) await session.dispatch('send', { connection, kind: 'binary', data: Buffer.from(m).toString('base64') });
  await until(() => rows().filter((r) => r.opcode === 2).length === messages.length * 2);
  const fetch = async () => (await session.dispatch('frames', { connection, from: 0, to: 1000 })).filter((r) => r.opcode === 2);
  return { session, connection, fetch };
}

describe('binary formats in the UI session', () => {
  it('MessagePack by its subprotocol: rows decoded, the value in the detail', async () => {
    const t = await echoSession('msgpack', [mpEncode({ type: 'hi', n: 1 })]);
    const rows = await t.fetch();
    expect(rows.map((r) => r.decoded)).toEqual([
      { protocol: 'msgpack', type: 'map', name: 'hi', summary: 'map {"type":"hi","n":1}' },
      { protocol: 'msgpack', type: 'map', name: 'hi', summary: 'map {"type":"hi","n":1}' },
    ]);
    expect((await t.session.dispatch('framePayload', { connection: t.connection, seq: rows[0]!.seq })).decoded!.value).toEqual({ type: 'hi', n: 1 });
  });

  it('protobuf with a .proto: setProto decodes the connection again as its type', async () => {
    const root = await protobuf.load(join(FIXTURES, 'chat.proto'));
    const Request = root.lookupType('chat.Request');
    const t = await echoSession('protobuf', [Request.encode({ id: 3, text: 'x' }).finish()]);
    expect((await t.fetch()).map((r) => r.decoded?.type)).toEqual(['message', 'message']);

    // Checked before it runs: the shape, the sizes, the number of files.
    await expect(t.session.dispatch('setProto', { connection: t.connection, files: [{ filename: 'a.proto' }] } as never)).rejects.toThrow(ContractError);
    await expect(t.session.dispatch('setProto', { connection: t.connection, files: [{ filename: 'a.proto', text: 'x'.repeat(MAX_PROTO_BYTES + 1) }] })).rejects.toThrow(ContractError);
    await expect(t.session.dispatch('setProto', { connection: t.connection, files: Array.from({ length: MAX_PROTO_FILES + 1 }, () => file('single.proto')) })).rejects.toThrow(ContractError);
    // A type before any file; a file that does not parse; a type it does not have.
    await expect(t.session.dispatch('setProto', { connection: t.connection, type: 'chat.Request' })).rejects.toThrow('load a .proto file first');
    await expect(t.session.dispatch('setProto', { connection: t.connection, files: [file('bad.proto')] })).rejects.toThrow("bad.proto:6: illegal token 'string', ';' expected");
    await expect(t.session.dispatch('setProto', { connection: t.connection, files: [file('common.proto'), file('chat.proto')], type: 'Nope' })).rejects.toThrow('no message type "Nope" in chat.proto; its types: chat.Item, chat.Request, chat.Reply');

    const state = await t.session.dispatch('setProto', { connection: t.connection, files: [file('common.proto'), file('chat.proto')], type: 'chat.Request' });
    expect(state).toEqual({ choice: 'protobuf', protocol: 'protobuf', proto: { file: 'chat.proto', types: ['chat.Item', 'chat.Request', 'chat.Reply'], client: 'chat.Request', server: 'chat.Request' } });
    expect((await t.fetch()).map((r) => r.decoded?.summary)).toEqual(['chat.Request {"id":3,"text":"x"}', 'chat.Request {"id":3,"text":"x"}']);
    // The schema stays with the connection: another type, then another decoder and back.
    await t.session.dispatch('setProto', { connection: t.connection, type: 'server=chat.Reply' });
    expect((await t.fetch()).map((r) => r.decoded?.type)).toEqual(['message', 'chat.Reply']);
    await t.session.dispatch('setDecoder', { connection: t.connection, protocol: 'cbor' });
    expect((await t.fetch()).map((r) => r.decoded?.protocol)).toEqual(['cbor', 'cbor']);
    await t.session.dispatch('setDecoder', { connection: t.connection, protocol: 'protobuf' });
    expect((await t.fetch()).map((r) => r.decoded?.type)).toEqual(['message', 'chat.Reply']);
  });
});
