// The two legs of a connection Framescope intervened in (docs/contracts.md "pcapng export",
// "HAR export"): which frames each leg carried, the pcapng export's two TCP streams judged
// by tshark (every frame with its own mask key, length and compression as written on that
// leg), and the HAR's rows as the app saw them, with the capture coming back whole.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureFile, FrameRecord } from '../../shared/model';
import { legFrames } from '../../shared/legs';
import { frameToJson } from '../../shared/records';
import { writeCaptureFile } from '../../main/engine/recording/capture-writer';
import { openCapture, readCapture } from '../../main/engine/recording/capture-reader';
import { exportCapture } from '../../main/engine/recording/export';
import { runCli } from '../peers/cli';
import { capture, connection, frame } from './build';
import { APP_LEG, intervenedCapture, SERVER_LEG } from './intervened';
import { dissect, judge, requireTshark } from './tshark';

const FIXTURE = join(__dirname, '..', 'fixtures', 'intervened.wscap.json');

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-legs-'));
  if (!process.env['FRAMESCOPE_KEEP_TMP']) cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const seqs = (frames: Iterable<FrameRecord>) => [...frames].map((f) => f.seq);

describe('the legs of a connection', () => {
  it('the fixture is the hand-built capture, written out', () => {
    const d = tmp();
    const cap = intervenedCapture();
    writeCaptureFile(join(d, 'x.json'), cap.connections, cap.createdAt);
    expect(readFileSync(FIXTURE, 'utf8')).toBe(readFileSync(join(d, 'x.json'), 'utf8'));
  });

  it('each leg carries its peer originals and what was delivered to it', () => {
    const frames = intervenedCapture().connections[0]!.frames;
    expect(seqs(legFrames(frames, 'app'))).toEqual(APP_LEG);
    expect(seqs(legFrames(frames, 'server'))).toEqual(SERVER_LEG);
  });

  it('without interventions both legs are the whole connection', () => {
    const frames = [0, 1, 2, 3].map((seq) => frame({ seq, time: seq, from: seq % 2 ? 'server' : 'client', opcode: seq === 2 ? 9 : 1, payload: 'x' }));
    expect(seqs(legFrames(frames, 'app'))).toEqual([0, 1, 2, 3]);
    expect(seqs(legFrames(frames, 'server'))).toEqual([0, 1, 2, 3]);
  });

  it('a held message: data behind it waits, a ping does not; a dropped one takes its fragments; one never decided is never delivered', () => {
    const c = (seq: number, opcode: number, extra: Partial<FrameRecord> = {}, fin = true) => frame({ seq, time: seq, from: 'client', opcode, fin, payload: `m${seq}`, extra });
    const frames = [
      c(0, 1, { intervention: { id: 1 } }, false), // held #1, first fragment
      c(1, 1), // a later message: queues behind #1
      c(2, 9), // a ping: goes on at once
      c(3, 0, { intervention: { id: 1, decision: 'dropped' } }), // #1 dropped, both fragments
      c(4, 2, { intervention: { id: 2, decision: 'delayed' } }), // delayed: went on as it was
      c(5, 1, { intervention: { id: 3 } }), // held #3 when the record ends
      c(6, 1), // behind it
      frame({ seq: 7, time: 7, from: 'server', opcode: 1, payload: 'reply' }),
    ];
    expect(seqs(legFrames(frames, 'server'))).toEqual([2, 1, 4, 7]);
    expect(seqs(legFrames(frames, 'app'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Two held in a row: the second waits behind the first and is released by its own decision.
    const two = [
      c(0, 1, { intervention: { id: 1 } }, false),
      c(1, 1, { intervention: { id: 2 } }, false),
      c(2, 0, { intervention: { id: 1, decision: 'forwarded' } }),
      c(3, 0, { intervention: { id: 2, decision: 'replaced' } }),
      c(4, 1, { by: 'framescope', intervention: { id: 2 } }),
    ];
    expect(seqs(legFrames(two, 'server'))).toEqual([0, 2, 4]);
  });
});

describe('pcapng export of a connection Framescope intervened in, judged by tshark', () => {
  beforeAll(() => requireTshark());

  it('two TCP streams: the app leg and the server leg, each frame as written on its leg', () => {
    const d = tmp();
    const r = runCli(['export', FIXTURE, '--format', 'pcapng', '-o', join(d, 'legs.pcapng')]);
    return r.then((res) => {
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const cap = readCapture(FIXTURE);
      const conn = cap.connections[0]!;
      const bySeq = new Map(conn.frames.map((f) => [f.seq, f]));
      const leg = (id: string, list: number[]) => ({ ...conn, id, frames: list.map((s) => bySeq.get(s)!) });
      // The judge maps tcp.stream N to the Nth connection: app leg first, then the server leg.
      const legs: CaptureFile = { ...cap, connections: [leg('app', APP_LEG), leg('server', SERVER_LEG)] };
      const rows = judge(join(d, 'legs.pcapng'), legs, [9001]);
      const ws = rows.filter((x) => x['websocket.opcode']);
      // Framescope's replacement on the server leg: its own mask key, compressed by its deflater.
      const replaced = ws.find((x) => x['tcp.stream'] === '1' && x['websocket.payload.text'] === '{"op":"buy","qty":100}')!;
      expect(replaced['websocket.masking_key'].replace(/:/g, '')).toBe('5f3a9c01');
      expect(Number(replaced['websocket.rsv'])).toBe(4);
      // The app leg has the client's original and the injected notice, and not the dropped "secret".
      const appTexts = ws.filter((x) => x['tcp.stream'] === '0').map((x) => x['websocket.payload.text']);
      expect(appTexts).toEqual(expect.arrayContaining(['{"op":"buy","qty":1}', 'notice from framescope']));
      expect(appTexts).not.toContain('secret');
      expect(ws.filter((x) => x['tcp.stream'] === '1').map((x) => x['websocket.payload.text'])).toContain('secret');
      // Which stream is which leg, said in the first packet of each; and the server leg's own address.
      const comments = rows.map((x) => x['frame.comment']).join('\n');
      expect(comments).toMatch(/app leg: what went between the app and Framescope/);
      expect(comments).toMatch(/server leg: what went between Framescope and the server.*127\.0\.0\.1:\d+ stands in/);
      const ports = new Set(dissect(join(d, 'legs.pcapng'), [9001]).map((x) => `${x['tcp.stream']}:${x['tcp.srcport']}`));
      expect([...ports].filter((p) => p.startsWith('0:')).sort()).toEqual(['0:50001', '0:9001']);
      expect([...ports].filter((p) => p.startsWith('1:')).some((p) => p !== '1:9001' && p !== '1:50001')).toBe(true);
    });
  });

  it("Framescope's own client: one stream, what went on the wire", () => {
    const d = tmp();
    const t = 1_795_200_000_000;
    const cap = capture([
      connection({
        id: 'c1',
        frames: [
          frame({ seq: 0, time: t, from: 'client', opcode: 1, payload: 'draft', extra: { intervention: { id: 1, decision: 'replaced' } } }),
          frame({ seq: 1, time: t + 1, from: 'client', opcode: 1, payload: 'final', maskKey: '99887766', extra: { by: 'framescope', intervention: { id: 1 } } }),
          frame({ seq: 2, time: t + 2, from: 'server', opcode: 1, payload: 'got final' }),
        ],
      }),
    ]);
    writeCaptureFile(join(d, 'c.json'), cap.connections, cap.createdAt);
    const source = openCapture(join(d, 'c.json'));
    const result = exportCapture(source, 'pcapng', join(d, 'c.pcapng'));
    source.close();
    expect(result).toMatchObject({ connections: 1, frames: 3 });
    const conn = cap.connections[0]!;
    judge(join(d, 'c.pcapng'), { ...cap, connections: [{ ...conn, frames: [conn.frames[1]!, conn.frames[2]!] }] }, [9001]);
  });
});

describe('HAR export of a connection Framescope intervened in', () => {
  it('rows are what the app saw, marked; the capture comes back whole', async () => {
    const d = tmp();
    const r = await runCli(['export', FIXTURE, '--format', 'har', '-o', join(d, 'legs.har')]);
    expect(r.stderr).toBe('');
    const har = JSON.parse(readFileSync(join(d, 'legs.har'), 'utf8')) as {
      log: { entries: Array<{ _webSocketMessages: Array<{ type: string; data: string; _framescopeIntervention?: unknown }> }> };
    };
    const rows = har.log.entries[0]!._webSocketMessages.map((m) => [m.type, m.data, m._framescopeIntervention ?? null]);
    expect(rows).toEqual([
      ['send', 'hello', null],
      ['receive', 'hi there', null],
      ['send', 'part one, part two', { id: 1, decision: 'forwarded' }],
      ['send', '{"op":"buy","qty":1}', { id: 2, decision: 'replaced' }],
      ['receive', 'ok', null],
      ['receive', 'notice from framescope', { id: 4, by: 'framescope', injected: true, recompressed: true }],
    ]);
    // Import gives the capture back exactly, intervention fields and all.
    const back = await runCli(['import', join(d, 'legs.har'), '-o', join(d, 'back.json')]);
    expect(back.stderr).toBe('');
    const again = readCapture(join(d, 'back.json'));
    const orig = readCapture(FIXTURE);
    expect(again.connections[0]!.frames.map((f) => frameToJson(f))).toEqual(orig.connections[0]!.frames.map((f) => frameToJson(f)));
    expect(again.connections[0]!.frames.filter((f) => f.by || f.intervention)).toHaveLength(6);
  });
});
