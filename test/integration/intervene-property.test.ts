// Property: a random mix of forward / replace / drop / inject decisions, both ways, with and
// without permessage-deflate, through the real proxy between `ws` peers, keeps each
// direction's message order and accounts for every message: each one sent is recorded once
// with its decision, and what each peer received is exactly what the decisions say.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import type { EngineEvent, Side } from '../../shared/model';
import { ProxyServer } from '../../main/engine/proxy/server';
import type { ConnectionPolicy } from '../../main/engine/intervene/lane';
import type { Decision } from '../../main/engine/intervene/types';
import { startWsServer } from '../peers/ws-servers';

type Step = { action: 'forward' } | { action: 'drop' } | { action: 'replace'; with: string; binary: boolean } | { action: 'inject'; text: string };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ action: 'forward' as const }),
  fc.constant({ action: 'drop' as const }),
  fc.record({ action: fc.constant('replace' as const), with: fc.string({ maxLength: 300 }), binary: fc.boolean() }),
  fc.record({ action: fc.constant('inject' as const), text: fc.string({ maxLength: 300 }) }),
);

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** What the receiver of `from`'s messages should get, in order. */
function expected(steps: Step[], from: Side): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [];
  steps.forEach((s, i) => {
    const original = `${from}-${i}-${'x'.repeat(i * 7)}`;
    if (s.action === 'inject') out.push([`inj:${s.text}`, false]);
    if (s.action === 'forward' || s.action === 'inject') out.push([original, false]);
    if (s.action === 'replace') out.push([s.binary ? Buffer.from(s.with, 'latin1').toString('latin1') : s.with, s.binary]);
  });
  return out;
}

describe('intervention property', () => {
  it('order kept and every message accounted for, both ways, deflate on and off', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), fc.array(step, { maxLength: 12 }), fc.boolean(), async (clientSteps, serverSteps, deflate) => {
        const plans: Record<Side, Step[]> = { client: clientSteps, server: serverSteps };
        const atServer: Array<[string, boolean]> = [];
        const server = await startWsServer({
          perMessageDeflate: deflate,
          onConnection: (s) => {
            s.on('message', (d: Buffer, binary) => atServer.push([binary ? d.toString('latin1') : d.toString(), binary]));
            serverSteps.forEach((_, i) => s.send(`server-${i}-${'x'.repeat(i * 7)}`));
          },
        });
        cleanup.push(() => server.close());
        const events: EngineEvent[] = [];
        const policy: ConnectionPolicy = {
          watches: () => true,
          decide: async (m, ctx): Promise<Decision> => {
            // Some decisions take a turn of the event loop, some not: the order must not care.
            const i = Number(m.text!.split('-')[1]);
            const s = plans[m.from][i]!;
            if (i % 2 === 1) await new Promise((r) => setImmediate(r));
            if (s.action === 'drop') return { action: 'drop' };
            if (s.action === 'replace') return { action: 'replace', opcode: s.binary ? 2 : 1, data: s.binary ? Buffer.from(s.with, 'latin1') : Buffer.from(s.with) };
            if (s.action === 'inject') ctx.inject(m.from === 'client' ? 'server' : 'client', `inj:${s.text}`);
            return { action: 'forward' };
          },
        };
        const proxy = await ProxyServer.start({ host: '127.0.0.1', port: 0, target: server.url, sink: (e) => events.push(e), intervene: () => policy });
        cleanup.push(() => proxy.stop());
        const atClient: Array<[string, boolean]> = [];
        const ws = new WebSocket(`ws://127.0.0.1:${proxy.address.port}/`, { perMessageDeflate: deflate });
        const wantClient = expected(serverSteps, 'server');
        const wantServer = expected(clientSteps, 'client');
        const clientDone = new Promise<void>((resolve) => {
          if (wantClient.length === 0) resolve();
          ws.on('message', (d: Buffer, binary) => {
            atClient.push([binary ? d.toString('latin1') : d.toString(), binary]);
            if (atClient.length === wantClient.length) resolve();
          });
        });
        await new Promise<void>((r) => ws.once('open', () => r()));
        clientSteps.forEach((_, i) => ws.send(`client-${i}-${'x'.repeat(i * 7)}`));
        await clientDone;
        if (wantServer.length > 0) await server.waitForMessages(wantServer.length);
        ws.close(1000);
        await server.waitForClose(0);
        await proxy.stop();

        expect(atServer).toEqual(wantServer);
        expect(atClient).toEqual(wantClient);
        // every message sent is recorded once, with its decision, in its direction's order
        const frames = events.filter((e): e is Extract<EngineEvent, { event: 'frame' }> => e.event === 'frame');
        for (const from of ['client', 'server'] as const) {
          const originals = frames.filter((f) => f.from === from && !f.by && f.opcode <= 2);
          expect(originals.map((f) => f.intervention?.decision)).toEqual(
            plans[from].map((s) => (s.action === 'drop' ? 'dropped' : s.action === 'replace' ? 'replaced' : 'forwarded')),
          );
          // each replaced one has exactly one message written for it, linked
          for (const f of originals.filter((x) => x.intervention?.decision === 'replaced')) {
            const own = frames.filter((g) => g.by === 'framescope' && g.intervention?.id === f.intervention!.id);
            expect(own).toHaveLength(1);
          }
          expect(frames.filter((g) => g.from === from && g.intervention?.injected)).toHaveLength(plans[from === 'client' ? 'client' : 'server'].filter((s) => s.action === 'inject').length);
        }
        expect(events.filter((e) => e.event === 'error')).toEqual([]);
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
