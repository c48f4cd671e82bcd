// Frames after a close frame (RFC 6455 §5.5.1, §7.1): once both close frames have crossed,
// the closing handshake is complete and the connection's outcome is that clean close; a
// frame the peer sends after it (some servers answer the client's close reply with a second
// close) is recorded with a warning and changes nothing. A frame after a close that was not
// yet answered is the peer breaking the protocol: the strict client records it as an error,
// the tolerant one (the observer stance) records the violation and goes on.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketClient } from '../../main/engine/client/client';
import type { EngineEvent, FrameRecord } from '../../shared/model';
import * as bad from '../peers/bad-servers';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function connect(url: string, options: Partial<Parameters<typeof WebSocketClient.connect>[0]> = {}) {
  const events: EngineEvent[] = [];
  const client = await WebSocketClient.connect({ url, deflate: false, onEvent: (e) => events.push(e), ...options });
  cleanup.push(() => client.destroy());
  return { client, errors: () => events.filter((e) => e.event === 'error') };
}

async function script(steps: bad.ScriptStep[]) {
  const s = await bad.rawScript(steps);
  cleanup.push(() => s.close());
  return s;
}

const close = (code: number, reason = '') => bad.rawFrame({ opcode: 8, payload: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]) });
/** A masked close frame with a 2-byte code, as our client sends it: 2 + 4 + 2 bytes. */
const CLIENT_CLOSE_BYTES = 8;
const ids = (f: FrameRecord) => (f.violations ?? []).map((v) => `${v.id}:${v.severity}`);

describe('after the closing handshake (both close frames have crossed)', () => {
  it('the server answers the client’s close reply with a second close: recorded with a warning, the close stays clean', async () => {
    const s = await script([
      { write: close(1000) },
      { waitForBytes: CLIENT_CLOSE_BYTES },
      { write: close(1000) },
      { end: true },
    ]);
    const { client, errors } = await connect(s.url);
    expect(await client.closed).toEqual({ code: 1000, reason: '', by: 'server', clean: true });
    expect(errors()).toEqual([]);
    const frames = client.record.frames;
    expect(frames.map((f) => [f.from, f.opcode])).toEqual([
      ['server', 8],
      ['client', 8],
      ['server', 8],
    ]);
    expect(ids(frames[0]!)).toEqual([]);
    expect(ids(frames[2]!)).toEqual(['frame-after-closing-handshake:warning']);
  });

  it('the client closes; the server replies, then sends a close and a text frame more: warnings only, clean', async () => {
    const s = await script([
      { waitForBytes: CLIENT_CLOSE_BYTES },
      { write: Buffer.concat([close(4001, 'bye'), close(1000), bad.rawFrame({ opcode: 1, payload: 'late' })]) },
      { end: true },
    ]);
    const { client, errors } = await connect(s.url);
    expect(await client.close(4001, 'bye')).toEqual({ code: 4001, reason: 'bye', by: 'client', clean: true });
    expect(errors()).toEqual([]);
    const fromServer = client.record.frames.filter((f) => f.from === 'server');
    expect(fromServer.map((f) => [f.opcode, ids(f)])).toEqual([
      [8, []],
      [8, ['frame-after-closing-handshake:warning']],
      [1, ['frame-after-closing-handshake:warning']],
    ]);
  });
});

describe('after a close that was not yet answered', () => {
  // The server's close and a text frame in one write: the text frame left the server
  // before the client could answer the close.
  const closeThenText = () => Buffer.concat([close(1000), bad.rawFrame({ opcode: 1, payload: 'late' })]);

  it('the strict client: data-after-close is an error; the close it answered is on the wire, the error recorded', async () => {
    const s = await script([{ write: closeThenText() }, { waitForBytes: CLIENT_CLOSE_BYTES }, { end: true }]);
    const { client, errors } = await connect(s.url);
    const outcome = await client.closed;
    expect(outcome).toMatchObject({ code: 1000, by: 'server' });
    const fromServer = client.record.frames.filter((f) => f.from === 'server');
    expect(fromServer.map((f) => [f.opcode, ids(f)])).toEqual([
      [8, []],
      [1, ['data-after-close:error']],
    ]);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatchObject({ kind: 'protocol' });
    // No close frame with 1002 could follow the one already sent: the error says so.
    expect(errors()[0]).not.toHaveProperty('closeCode');
    expect((errors()[0] as { message: string }).message).toMatch(/data-after-close.*its close frame had already been sent/);
    // One close frame went out: the answer to the server's, with its code.
    const sent = client.record.frames.filter((f) => f.from === 'client');
    expect(sent.map((f) => [f.opcode, f.close?.code])).toEqual([[8, 1000]]);
  });

  it('--tolerant: the violation is on the frame, no error, the close is clean', async () => {
    const s = await script([{ write: closeThenText() }, { waitForBytes: CLIENT_CLOSE_BYTES }, { end: true }]);
    const { client, errors } = await connect(s.url, { tolerant: true });
    expect(await client.closed).toEqual({ code: 1000, reason: '', by: 'server', clean: true });
    expect(errors()).toEqual([]);
    const fromServer = client.record.frames.filter((f) => f.from === 'server');
    expect(fromServer.map((f) => [f.opcode, ids(f)])).toEqual([
      [8, []],
      [1, ['data-after-close:error']],
    ]);
  });
});
