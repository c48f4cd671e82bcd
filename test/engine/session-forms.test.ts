// The session's decoded-form commands against a real socket.io server: a blank form for the
// connection's protocol, the exact messages a form becomes, a form sent as its messages, and
// a form the encoder refuses: a one-line error naming the field, and nothing sent.
import { afterEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import type { FrameSummary, UiEvent } from '../../shared/contract';
import { ContractError } from '../../shared/contract';
import { EngineSession } from '../../main/engine/session/session';
import { httpServer } from '../decoders/proxy-helpers';
import { StompDecoder } from '../../shared/decoders/stomp';
import { editForm } from '../../main/engine/session/session-forms';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const until = async (pred: () => boolean): Promise<void> => {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
};

describe('decoded forms in the session', () => {
  it('encodes, sends, and refuses a bad form without sending anything', async () => {
    const http = await httpServer();
    const io = new Server(http.server, { pingInterval: 60_000, pingTimeout: 60_000 });
    const got: unknown[] = [];
    io.on('connection', (socket) => {
      socket.on('chat', (arg: unknown, ack: (v: unknown) => void) => {
        got.push(arg);
        ack({ ok: arg });
      });
      socket.on('file', (name: unknown, data: unknown) => got.push([name, Buffer.isBuffer(data) ? [...data] : data]));
    });
    cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
    const session = new EngineSession({ version: 'test', batchMs: 5 });
    cleanup.push(() => session.dispose());
    const batches: UiEvent[][] = [];
    session.onEvents((b) => batches.push(b));
    const rows = (id: string) => batches.flat().flatMap((e) => (e.type === 'frames' && e.connection === id ? e.frames : [])) as FrameSummary[];
    const { connection } = await session.dispatch('connect', { url: `ws://127.0.0.1:${http.port}/socket.io/?EIO=4&transport=websocket`, deflate: false });
    await until(() => rows(connection).some((r) => r.preview.startsWith('0{')));
    await session.dispatch('send', { connection, kind: 'text', text: '40' });
    await until(() => rows(connection).some((r) => r.preview.startsWith('40{')));

    const blank = await session.dispatch('editForm', { connection });
    expect(blank).toEqual({ form: { protocol: 'socket.io', eio: 4, type: 'EVENT', nsp: '/', event: 'message', args: '[]' } });

    const form = { protocol: 'socket.io' as const, eio: 4 as const, type: 'EVENT' as const, nsp: '/', event: 'chat', args: '[{"n":1}]', id: 7 };
    const enc = await session.dispatch('encodeForm', { connection, form });
    expect(enc.messages.map((m) => Buffer.from(m.data, 'base64').toString())).toEqual(['427["chat",{"n":1}]']);

    // Bad JSON: a clear error, and nothing goes out.
    const before = rows(connection).filter((r) => r.from === 'client').length;
    await expect(session.dispatch('send', { connection, kind: 'decoded', form: { ...form, args: '[{"n":' } })).rejects.toThrow(/^args: not JSON \(/);
    await expect(session.dispatch('encodeForm', { connection, form: { ...form, args: '{}' } })).rejects.toThrow('args: a JSON array of the arguments');
    // A form of another protocol than the connection's is refused too.
    await expect(session.dispatch('send', { connection, kind: 'decoded', form: { protocol: 'stomp', command: 'SEND', headers: [], body: '' } })).rejects.toThrow(
      'this connection is decoded as socket.io, not stomp',
    );
    // The contract refuses a form of no known shape before the encoder sees it.
    await expect(session.dispatch('send', { connection, kind: 'decoded', form: { protocol: 'nope' } } as never)).rejects.toThrow(ContractError);
    await expect(session.dispatch('send', { connection, kind: 'decoded', form: { ...form, extra: 1 } } as never)).rejects.toThrow('send.form.extra is not expected');

    // The good form goes, and the server's ack answers its id.
    await session.dispatch('send', { connection, kind: 'decoded', form });
    await until(() => rows(connection).some((r) => r.preview === '437[{"ok":{"n":1}}]'));
    expect(rows(connection).filter((r) => r.from === 'client').length).toBe(before + 1);

    // A binary event: the packet, then its attachment, in order.
    await session.dispatch('send', {
      connection,
      kind: 'decoded',
      form: { protocol: 'socket.io', eio: 4, type: 'BINARY_EVENT', nsp: '/', event: 'file', args: '["a.bin",{"_placeholder":true,"num":0}]', attachments: ['AAEC/w=='] },
    });
    await until(() => got.length === 2);
    expect(got).toEqual([{ n: 1 }, ['a.bin', [0, 1, 2, 255]]]);
  });
});

describe('a STOMP form follows the version the connection agreed', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const connected = (headers: string) => bytes(`CONNECTED\n${headers}\n\u0000`);
  const send = bytes('SEND\ndestination:/queue/a\nnote:a\\cb\n\nhi\u0000');
  const formAfter = (answer: Uint8Array | null) => {
    const decoder = new StompDecoder();
    decoder.decode({ seq: 0, time: 0, from: 'client', opcode: 1, data: bytes('CONNECT\naccept-version:1.0,1.1,1.2\nhost:h\n\n\u0000') });
    if (answer) decoder.decode({ seq: 1, time: 1, from: 'server', opcode: 1, data: answer });
    const r = editForm({ protocol: 'stomp', target: null, decoder }, { opcode: 1, data: send });
    if (!('form' in r) || r.form.protocol !== 'stomp') throw new Error(JSON.stringify(r));
    return r.form;
  };
  it('reads 1.1 and 1.2 from CONNECTED, 1.0 when it names none, and 1.2 before it came', () => {
    expect(formAfter(connected('version:1.1\n')).version).toBe('1.1');
    expect(formAfter(connected('version:1.2\n')).version).toBe('1.2');
    const old = formAfter(connected(''));
    // STOMP 1.0 escapes nothing: `\c` is two characters of the value.
    expect(old.version).toBe('1.0');
    expect(old.headers).toContainEqual(['note', 'a\\cb']);
    expect(formAfter(null).version).toBe('1.2');
  });
});
