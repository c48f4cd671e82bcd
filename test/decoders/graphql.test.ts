// GraphQL over WebSocket through `framescope proxy --json`: graphql-ws (the
// graphql-transport-ws subprotocol) and Apollo's subscriptions-transport-ws (the legacy
// graphql-ws subprotocol), real servers and clients: operations paired by their ids
// (subscribe → next… → complete), keep-alives marked, detection from Sec-WebSocket-Protocol.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createRequire } from 'node:module';
import { createClient } from 'graphql-ws';
import { closes, decodedFrames, httpServer, one, startProxy, stopProxy } from './proxy-helpers';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

// One copy of graphql for every library: graphql refuses a schema made by another copy, and
// subscriptions-transport-ws can only require() it, so all of them take the CommonJS one.
const require = createRequire(import.meta.url);
const { buildSchema, execute, subscribe } = require('graphql') as typeof import('graphql');
const { useServer } = require('graphql-ws/use/ws') as typeof import('graphql-ws/use/ws');
const { SubscriptionServer, SubscriptionClient } = require('subscriptions-transport-ws') as typeof import('subscriptions-transport-ws');

const schema = buildSchema(`
  type Query { hello(name: String): String }
  type Subscription { count(to: Int!): Int }
`);
const root = {
  hello: ({ name }: { name: string }) => `hi ${name}`,
  count: async function* ({ to }: { to: number }) {
    for (let i = 1; i <= to; i++) yield { count: i };
  },
};

describe('graphql-transport-ws (graphql-ws) through the proxy', () => {
  it('connection_init/ack, subscribe → next… → complete paired by id, ping/pong as heartbeats', async () => {
    const http = await httpServer();
    cleanup.push(() => http.close());
    const wss = new WebSocketServer({ server: http.server, path: '/graphql' });
    cleanup.push(() => new Promise((r) => wss.close(r)));
    useServer({ schema, roots: { query: root, subscription: root } as never, execute, subscribe }, wss);
    const { proc, port } = await startProxy(`ws://127.0.0.1:${http.port}`);
    cleanup.push(() => proc.stop('SIGKILL'));

    let pinged!: () => void;
    const pong = new Promise<void>((r) => (pinged = r));
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, lazy: false, keepAlive: 50, on: { pong: () => pinged() } });
    const counts: unknown[] = [];
    for await (const r of client.iterate({ query: 'subscription Counting { count(to: 3) }' })) counts.push(r.data);
    expect(counts).toEqual([{ count: 1 }, { count: 2 }, { count: 3 }]);
    const q: unknown[] = [];
    for await (const r of client.iterate({ query: 'query($n: String) { hello(name: $n) }', variables: { n: 'ann' } })) q.push(r.data);
    expect(q).toEqual([{ hello: 'hi ann' }]);
    await pong;
    await client.dispose();
    await closes(proc);
    const events = await stopProxy(proc);
    const d = decodedFrames(events);
    expect(new Set(d.map((f) => f.d.protocol))).toEqual(new Set(['graphql-transport-ws']));
    expect(d.filter((f) => f.d.type === 'invalid')).toEqual([]);

    const init = one(d, (x) => x.type === 'connection_init');
    expect(one(d, (x) => x.type === 'connection_ack').d.pairedWith).toBe(init.seq);
    const sub = one(d, (x) => x.type === 'subscribe' && x.name === 'Counting');
    expect(sub.d.value).toMatchObject({ query: 'subscription Counting { count(to: 3) }' });
    const answers = d.filter((f) => f.d.id === sub.d.id && f.from === 'server');
    expect(answers.map((f) => [f.d.type, f.d.pairedWith, f.d.name])).toEqual([
      ['next', sub.seq, 'Counting'],
      ['next', sub.seq, 'Counting'],
      ['next', sub.seq, 'Counting'],
      ['complete', sub.seq, 'Counting'],
    ]);
    expect(answers.map((f) => f.d.value)).toEqual([{ data: { count: 1 } }, { data: { count: 2 } }, { data: { count: 3 } }, undefined]);
    const query = one(d, (x) => x.type === 'subscribe' && x.name === 'query');
    expect(query.d.value).toMatchObject({ variables: { n: 'ann' } });
    expect(one(d, (x) => x.type === 'next' && x.id === query.d.id).d).toMatchObject({ pairedWith: query.seq, value: { data: { hello: 'hi ann' } } });
    const ping = d.find((f) => f.d.type === 'ping')!;
    expect(ping.d.heartbeat).toBe(true);
    expect(d.find((f) => f.d.type === 'pong' && f.d.pairedWith === ping.seq)!.d.heartbeat).toBe(true);
    expect(events.find((e) => e.event === 'close')!.unanswered).toBeUndefined();
  });
});

describe('legacy graphql-ws (subscriptions-transport-ws) through the proxy', () => {
  it('connection_init/ack, ka keep-alives, start → data… → complete; a start the connection ends without an answer to is flagged', async () => {
    const http = await httpServer();
    cleanup.push(() => http.close());
    // A resolver that never answers: its operation stays unanswered when the connection ends.
    const never = { ...root, hello: () => new Promise(() => {}) };
    const server = SubscriptionServer.create({ schema, rootValue: never, execute, subscribe, keepAlive: 50 }, { server: http.server, path: '/subscriptions' });
    cleanup.push(() => server.close());
    const { proc, port } = await startProxy(`ws://127.0.0.1:${http.port}`);
    cleanup.push(() => proc.stop('SIGKILL'));

    const client = new SubscriptionClient(`ws://127.0.0.1:${port}/subscriptions`, { reconnect: false }, WebSocket);
    cleanup.push(() => client.close());
    const counts = await new Promise<unknown[]>((resolve, reject) => {
      const got: unknown[] = [];
      client.request({ query: 'subscription Counting { count(to: 2) }' }).subscribe({ next: (r) => got.push(r.data), error: reject, complete: () => resolve(got) });
    });
    expect(counts).toEqual([{ count: 1 }, { count: 2 }]);
    client.request({ query: 'query Stuck { hello(name: "x") }' }).subscribe({});
    await proc.waitForLine((l) => l.includes('"type":"ka"'));
    await proc.waitForLine((l) => l.includes('"name":"Stuck"'));
    // Gone without a word (no stop for the operation in flight, no close frame).
    (client as unknown as { client: WebSocket }).client.terminate();
    await closes(proc);
    const events = await stopProxy(proc);
    const d = decodedFrames(events);
    expect(new Set(d.map((f) => f.d.protocol))).toEqual(new Set(['graphql-ws']));
    expect(d.filter((f) => f.d.type === 'invalid')).toEqual([]);

    const init = one(d, (x) => x.type === 'connection_init');
    expect(one(d, (x) => x.type === 'connection_ack').d.pairedWith).toBe(init.seq);
    expect(d.find((f) => f.d.type === 'ka')!.d).toMatchObject({ heartbeat: true, summary: 'ka' });
    const start = one(d, (x) => x.type === 'start' && x.name === 'Counting');
    const answers = d.filter((f) => f.d.id === start.d.id && f.from === 'server');
    expect(answers.map((f) => [f.d.type, f.d.pairedWith])).toEqual([
      ['data', start.seq],
      ['data', start.seq],
      ['complete', start.seq],
    ]);
    const stuck = one(d, (x) => x.type === 'start' && x.name === 'Stuck');
    expect(events.find((e) => e.event === 'close')!.unanswered).toEqual([{ seq: stuck.seq, protocol: 'graphql-ws', type: 'start', name: 'Stuck', id: stuck.d.id }]);
  });
});
