// Import from packet captures (docs/contracts.md "Input kinds"): Framescope's own pcapng
// export read back to the same frames; a real loopback capture by dumpcap (pcapng and pcap)
// of a `ws` client and server, compared with what tshark dissects; hand-made captures for
// out-of-order segments, retransmissions, a gap, TLS, IPv6, Linux cooked link types and
// nanosecond timestamps; garbage refused in one line.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import type { CaptureFile, FrameRecord } from '../../shared/model';
import { materialize, openCapture, readCapture } from '../../main/engine/recording/capture-reader';
import { runCli } from '../peers/cli';
import { startWsServer } from '../peers/ws-servers';
import { dissect, flag, requireTshark } from './tshark';
import { Conversation, LINK, ep, pcap, pcapng, requestHead, responseHead, simpleConversation, wsFrame, type Pkt } from './pcap-build';
import { decodePacket, readPackets } from '../../main/engine/recording/packets';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'framescope-pcap-'));
  if (!process.env['FRAMESCOPE_KEEP_TMP']) cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

beforeAll(() => requireTshark());

const T0 = 1_700_000_000_000;

/** What must survive a trip through packets: the frame as the wire had it. */
const wireView = (f: FrameRecord) => ({
  from: f.from,
  fin: f.fin,
  rsv1: f.rsv1,
  opcode: f.opcode,
  masked: f.masked,
  maskKey: f.maskKey ? Buffer.from(f.maskKey).toString('hex') : null,
  length: f.length,
  header: Buffer.from(f.header).toString('hex'),
  payload: Buffer.from(f.payload).toString('hex'),
  message: f.message ? Buffer.from(f.message.data).toString('hex') : null,
});

function importFile(file: string): { cap: CaptureFile; warnings: readonly string[]; kind: string } {
  const s = openCapture(file);
  try {
    return { cap: materialize(s), warnings: s.warnings, kind: s.kind };
  } finally {
    s.close();
  }
}

describe('pcap import: round trip through the pcapng export', () => {
  it('a recorded session (deflate, fragments, 16-bit lengths, ping/pong, close) exported as pcapng imports back to the same frames', async () => {
    const server = await startWsServer({ perMessageDeflate: true, echo: true });
    cleanup.push(() => server.close());
    const d = tmp();
    const long = 'x'.repeat(300) + 'y'.repeat(400);
    const a = await runCli([
      'connect', `${server.url}/deflate`, '--send', 'hello', '--send-hex', '00ff10', '--send', long, '--fragment', '100',
      '--ping', 'are you there', '--expect', '3', '--close', '4001:bye', '--capture', join(d, 'a.json'), '--json',
    ]);
    expect(a.stderr).toBe('');
    const original = readCapture(join(d, 'a.json'));
    const e = await runCli(['export', join(d, 'a.json'), '--format', 'pcapng', '-o', join(d, 'a.pcapng')]);
    expect(e.code).toBe(0);
    const r = await runCli(['import', join(d, 'a.pcapng'), '-o', join(d, 'back.json')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 connection, \d+ frames \(from a pcapng\)/);
    const back = readCapture(join(d, 'back.json'));
    expect(back.connections).toHaveLength(1);
    const [o, b] = [original.connections[0]!, back.connections[0]!];
    expect(b.frames.map(wireView)).toEqual(o.frames.map(wireView));
    expect(b.frames.some((f) => f.rsv1 && f.message)).toBe(true);
    expect(b.handshake?.extensions).toEqual(o.handshake?.extensions);
    expect(b.close).toMatchObject({ code: 4001, reason: 'bye', by: 'client', clean: true });
    expect(b.server).toBe(o.server);
    expect(b.errors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// A live capture on loopback

/** Packets one probe connection makes at most: SYN, SYN-ACK, ACK, FIN, FIN, ACK (or RSTs). */
const PROBE_PACKETS = 6;
/** More packets than the exchanges make (checked against the file afterwards). */
const EXCHANGE_MAX = 300;

/**
 * dumpcap on lo, for the given ports only. It counts packets as it writes them ("Packets: N"
 * on stderr), in the order the kernel saw them, and loses what it has not yet been handed
 * when it is stopped. So: probe connections until it counts one (it is live), then after
 * the exchange, probe until the count passes every packet that can have come before
 * (each probe's most, and the exchanges' bound): then all of them are in the file.
 */
async function dumpcap(file: string, pcapFormat: boolean, ports: number[]): Promise<{ done: () => Promise<void>; stop: () => Promise<void> }> {
  const probe = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const probePort = (probe.address() as net.AddressInfo).port;
  const filter = [...ports, probePort].map((p) => `tcp port ${p}`).join(' or ');
  const child = spawn('dumpcap', ['-i', 'lo', '-f', filter, ...(pcapFormat ? ['-P'] : []), '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const counted = () => Number([...err.matchAll(/Packets: (\d+)/g)].at(-1)?.[1] ?? 0);
  let probes = 0;
  const probeUntil = async (n: number) => {
    while (counted() < n) {
      if (exitCode !== undefined) throw new Error(`dumpcap ended: ${err}`);
      probes++;
      await new Promise<void>((r) => net.connect(probePort, '127.0.0.1').on('error', () => r()).on('close', () => r()));
    }
  };
  await probeUntil(1);
  const before = probes * PROBE_PACKETS;
  return {
    done: async () => {
      await probeUntil(before + EXCHANGE_MAX + 1);
      probe.close();
    },
    stop: async () => {
      probe.close();
      child.kill('SIGINT');
      const code = await exited;
      expect(err).toMatch(/Packets captured: \d+/);
      expect(code).toBe(0);
    },
  };
}

interface Exchange {
  port: number;
  run(): Promise<void>;
}

/** A `ws` server and the exchange a client has with it: text, binary, fragmented, ping/pong, close; deflate or not. */
async function exchange(deflate: boolean): Promise<Exchange> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate ? { threshold: 0 } : false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.send('part one;', { fin: false });
    ws.send('part two', { fin: true });
  });
  const run = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { perMessageDeflate: deflate ? { threshold: 0 } : false });
    const got: string[] = [];
    let notify = () => {};
    ws.on('message', (d) => {
      got.push(String(d));
      notify();
    });
    const until = (n: number) => new Promise<void>((r) => ((notify = () => got.length >= n && r()), notify()));
    await new Promise<void>((r, j) => (ws.once('open', () => r()), ws.once('error', j)));
    await until(1);
    ws.send('hello live');
    await until(2);
    ws.send(Buffer.from([1, 2, 3, 250]));
    await until(3);
    ws.send('frag-a;', { fin: false });
    ws.send('frag-b', { fin: true });
    await until(4);
    const pong = new Promise<void>((r) => ws.once('pong', () => r()));
    ws.ping('p1');
    await pong;
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.close(1000, 'done');
    await closed;
  };
  return { port, run };
}

describe('pcap import: a live loopback capture, judged by tshark', () => {
  for (const format of ['pcapng', 'pcap'] as const) {
    it(`dumpcap ${format === 'pcap' ? '-P ' : ''}on lo: every frame tshark dissects, the same (opcode, FIN, mask, length), in order`, async () => {
      const d = tmp();
      const file = join(d, `live.${format}`);
      const exchanges = [await exchange(true), await exchange(false)];
      const ports = exchanges.map((e) => e.port);
      const capture = await dumpcap(file, format === 'pcap', ports);
      try {
        for (const e of exchanges) await e.run();
        await capture.done();
      } finally {
        await capture.stop();
      }
      const { cap, kind, warnings } = importFile(file);
      expect(kind).toBe(format);
      expect(warnings.filter((w) => /gap|cut|skipped/.test(w))).toEqual([]);
      const mine = cap.connections.filter((c) => ports.some((p) => c.server === `127.0.0.1:${p}`));
      expect(mine).toHaveLength(2);
      const all = dissect(file, ports);
      // The bound the wait relied on.
      expect(all.filter((r) => ports.some((p) => r['tcp.srcport'] === String(p)) || mine.some((c) => c.client!.endsWith(`:${r['tcp.srcport']}`))).length).toBeLessThan(EXCHANGE_MAX);
      const rows = all.filter((r) => r['websocket.opcode']);
      for (const [i, port] of ports.entries()) {
        const c = mine.find((x) => x.server === `127.0.0.1:${port}`)!;
        expect(c.errors).toEqual([]);
        expect(c.handshake?.response?.status).toBe(101);
        expect(c.close).toMatchObject({ code: 1000, reason: 'done', by: 'client', clean: true });
        if (i === 0) expect(c.frames.some((f) => f.rsv1 && f.message)).toBe(true);
        // tshark: one row a packet; a packet with several frames lists each field's occurrences joined by '|'.
        const theirs: Array<{ from: string; opcode: number; fin: boolean; masked: boolean; length: number }> = [];
        for (const r of rows) {
          const srcport = Number(r['tcp.srcport']);
          const dstSide = srcport === port ? 'server' : null;
          if (srcport !== port && !c.client!.endsWith(`:${srcport}`)) continue;
          const ops = r['websocket.opcode'].split('|');
          const fins = r['websocket.fin'].split('|');
          const masks = r['websocket.mask'].split('|');
          const lens = r['websocket.payload_length'].split('|');
          ops.forEach((op, k) => theirs.push({ from: dstSide ?? 'client', opcode: Number(op), fin: flag(fins[k]!), masked: flag(masks[k]!), length: Number(lens[k]) }));
        }
        const ours = c.frames.map((f) => ({ from: f.from, opcode: f.opcode, fin: f.fin, masked: f.masked, length: f.length }));
        expect(ours.length).toBeGreaterThanOrEqual(10);
        expect(ours).toEqual(theirs);
        expect(ours.map((f) => f.opcode)).toEqual(expect.arrayContaining([0, 1, 2, 8, 9, 10]));
        // Real packet times, in order.
        const times = c.frames.map((f) => f.time);
        expect([...times].sort((x, y) => x - y)).toEqual(times);
        expect(times[0]!).toBeGreaterThanOrEqual(c.startedAt);
      }
    }, 60_000);
  }
});

describe('pcap import: a live loopback capture with a packet dropped from it', () => {
  it('dumpcap on lo, one server packet left out of the file: the frames after it resume, the same as in the whole capture', async () => {
    const d = tmp();
    const file = join(d, 'live.pcapng');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as { port: number }).port;
    cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
    const ROUNDS = 12;
    // One message a round, each answered before the next: a TCP segment each.
    wss.on('connection', (ws) => {
      let n = 0;
      ws.send(`message ${n++} `.repeat(3));
      ws.on('message', () => (n < ROUNDS ? ws.send(`message ${n++} `.repeat(3 + n)) : ws.close(1000, 'all sent')));
    });
    const capture = await dumpcap(file, false, [port]);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/rounds`, { perMessageDeflate: false });
      ws.on('message', (m) => ws.send(`got ${String(m).length}`));
      await new Promise<void>((r, j) => (ws.once('close', () => r()), ws.once('error', j)));
      await capture.done();
    } finally {
      await capture.stop();
    }
    // The file again without the server's 6th data packet after its 101 response.
    const pkts: Pkt[] = [];
    let linktype = 0;
    let serverData = 0;
    let dropped = false;
    for (const p of readPackets(file, file, { cutOff: null })) {
      linktype = p.linktype;
      const dec = decodePacket(p);
      if ('tcp' in dec && dec.tcp.srcPort === port && dec.tcp.payload.length > 0 && serverData++ === 6) {
        dropped = true;
        continue;
      }
      pkts.push({ time: p.time, data: Buffer.from(p.data) });
    }
    expect(dropped).toBe(true);
    writeFileSync(join(d, 'dropped.pcap'), pcap(pkts, { linktype, nano: true }));
    const whole = importFile(file).cap.connections.find((c) => c.server === `127.0.0.1:${port}`)!;
    const cut = importFile(join(d, 'dropped.pcap')).cap.connections.find((c) => c.server === `127.0.0.1:${port}`)!;
    expect(whole.errors).toEqual([]);
    const view = (f: FrameRecord) => ({ ...wireView(f), us: Math.round(f.time * 1000) });
    const lost = whole.frames.filter((f) => f.from === 'server')[5]!;
    expect(cut.frames.map(view)).toEqual(whole.frames.filter((f) => f !== lost).map(view));
    const [before, next] = [4, 6].map((i) => whole.frames.filter((f) => f.from === 'server')[i]!);
    // Numbered in the cut capture: one frame fewer before `next`.
    expect(cut.errors).toEqual([
      expect.stringMatching(
        new RegExp(`^tcp-gap: the server's TCP stream is missing ${lost.header.length + lost.length} bytes at byte \\d+ of the stream \\(not in the capture\\), after the server's frame #${before!.seq}: its frames resume right after it, from frame #${next!.seq - 1}$`),
      ),
    ]);
    expect(cut.close).toMatchObject({ code: 1000, reason: 'all sent', by: 'server', clean: true });
  }, 60_000);
});

// ---------------------------------------------------------------------------------------
// Hand-made captures

describe('pcap import: TCP reassembly and link layers', () => {
  it('out-of-order segments and retransmissions (one differing) are put back in order; the first copy wins and is said', () => {
    const d = tmp();
    const c = new Conversation(ep('10.0.0.1', 40000), ep('10.0.0.2', 9001)).open(T0);
    c.send('client', requestHead('10.0.0.2:9001'), T0 + 1, [10, 40], [2, 0, 1, 0]);
    c.send('server', responseHead(), T0 + 2);
    const text = wsFrame('client', 1, 'a message cut in three segments');
    c.send('client', text, T0 + 3, [5, 20], [0, 2, 1, 1]);
    const bin = wsFrame('server', 2, Buffer.alloc(300, 7));
    c.send('server', bin, T0 + 4, [100, 200], [1, 2, 0]);
    c.close(T0 + 5);
    // A retransmission of the server's first bytes that differs from what was delivered.
    const bad = Buffer.from(bin);
    bad[10] = bad[10]! ^ 0xff;
    const pkts = c.pkts(LINK.ethernet);
    // Re-send the first server data segment with a changed byte (same seq as in `c`).
    const resent = new Conversation(ep('10.0.0.2', 9001), ep('10.0.0.1', 40000), { client: 500_001 + responseHead().length, server: 1000 });
    resent.send('client', bad.subarray(0, 100), T0 + 4.5);
    writeFileSync(join(d, 'ooo.pcap'), pcap([...pkts.slice(0, -3), ...resent.pkts(LINK.ethernet), ...pkts.slice(-3)], { linktype: 1, bigEndian: true }));
    const { cap, warnings } = importFile(join(d, 'ooo.pcap'));
    expect(warnings).toEqual([]);
    const conn = cap.connections[0]!;
    expect(conn.frames.map((f) => [f.from, f.opcode, Buffer.from(f.payload).toString('hex')])).toEqual([
      ['client', 1, Buffer.from('a message cut in three segments').toString('hex')],
      ['server', 2, Buffer.alloc(300, 7).toString('hex')],
    ]);
    expect(conn.handshake?.request.target).toBe('/chat');
    expect(conn.errors).toEqual([expect.stringMatching(/^a retransmission from the server differs from the first copy at byte \d+ of its stream: the first copy is kept$/)]);
  });

  it('a gap followed by a lone frame: the missing bytes are a tcp-gap error saying how many where; one frame cannot confirm a resync, the other direction goes on', () => {
    const d = tmp();
    const c = new Conversation(ep('10.0.0.1', 40000), ep('10.0.0.2', 9002)).open(T0);
    c.send('client', requestHead('10.0.0.2:9002'), T0 + 1);
    c.send('server', responseHead(), T0 + 2);
    const first = wsFrame('server', 1, 'before the gap');
    const lost = wsFrame('server', 1, 'never captured');
    const after = wsFrame('server', 1, 'after the gap');
    // The lost frame's segment is left out (order without index 1).
    c.send('server', Buffer.concat([first, lost, after]), T0 + 3, [first.length, first.length + lost.length], [0, 2]);
    c.send('client', wsFrame('client', 1, 'client goes on'), T0 + 4);
    c.close(T0 + 5);
    writeFileSync(join(d, 'gap.pcapng'), pcapng(c.pkts(LINK.ethernet), { linktype: 1, digits: 6 }));
    const r = importFile(join(d, 'gap.pcapng'));
    const conn = r.cap.connections[0]!;
    expect(conn.frames.map((f) => [f.from, Buffer.from(f.payload).toString()])).toEqual([
      ['server', 'before the gap'],
      ['client', 'client goes on'],
    ]);
    const at = responseHead().length + first.length;
    // A frame at a segment start that ends the stream could be payload bytes that happen to
    // look like one: more frames (or a close) must follow before decoding resumes (pcap-gap.test.ts).
    const gap = `tcp-gap: the server's TCP stream is missing ${lost.length} bytes at byte ${at} of the stream (not in the capture), after the server's frame #0: no frame start could be confirmed in the ${after.length} bytes after it: its frames after it are not decoded`;
    expect(conn.errors).toContain(gap);
    expect(r.warnings).toEqual([expect.stringContaining(`connection p1 (10.0.0.1:40000 → 10.0.0.2:9002): ${gap}`)]);
  });

  it('a TLS stream is listed as skipped; a plain HTTP stream is counted as not WebSocket', async () => {
    const d = tmp();
    const ws = simpleConversation(ep('10.0.0.1', 40001), ep('10.0.0.2', 8080), T0);
    const tls = new Conversation(ep('10.0.0.1', 40002), ep('10.0.0.3', 443)).open(T0 + 10);
    tls.send('client', Buffer.from('160301002a0100002603035a5b5c', 'hex'), T0 + 11);
    const http = new Conversation(ep('10.0.0.1', 40003), ep('10.0.0.2', 80)).open(T0 + 20);
    http.send('client', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), T0 + 21);
    writeFileSync(join(d, 'mixed.pcap'), pcap([...ws.pkts(LINK.ethernet), ...tls.pkts(LINK.ethernet), ...http.pkts(LINK.ethernet)], { linktype: 1 }));
    const r = importFile(join(d, 'mixed.pcap'));
    expect(r.cap.connections).toHaveLength(1);
    expect(r.warnings).toEqual([
      `${join(d, 'mixed.pcap')}: skipped 10.0.0.1:40002 → 10.0.0.3:443: TLS, cannot decrypt`,
      `${join(d, 'mixed.pcap')}: 1 TCP connection is not WebSocket (no HTTP upgrade to websocket seen)`,
    ]);
    // The CLI says so on stderr, and still writes the capture.
    const cli = await runCli(['import', join(d, 'mixed.pcap'), '-o', join(d, 'out.json')]);
    expect(cli.code).toBe(0);
    expect(cli.stderr).toContain(`framescope: warning: ${join(d, 'mixed.pcap')}: skipped 10.0.0.1:40002 → 10.0.0.3:443: TLS, cannot decrypt\n`);
    expect(cli.stdout).toMatch(/1 connection, 4 frames \(from a pcap\)/);
  });

  it('IPv6 over Linux cooked capture (SLL) with nanosecond pcap timestamps', () => {
    const d = tmp();
    const c = simpleConversation(ep('2001:db8::1', 50000), ep('2001:db8::2', 8443), T0);
    const pkts = c.pkts(LINK.sll).map((p, i) => ({ ...p, ns: i * 7 }));
    writeFileSync(join(d, 'v6.pcap'), pcap(pkts, { linktype: 113, nano: true }));
    const { cap, warnings } = importFile(join(d, 'v6.pcap'));
    expect(warnings).toEqual([]);
    const conn = cap.connections[0]!;
    expect(conn.client).toBe('[2001:db8::1]:50000');
    expect(conn.server).toBe('[2001:db8::2]:8443');
    expect(conn.frames.map((f) => Buffer.from(f.payload).toString('hex'))).toEqual(['68656c6c6f', '776f726c64', '03e8', '03e8']);
    // The client's "hello" is packet 5 (SYN, SYN-ACK, ACK, request, response): T0 + 3 ms and 35 ns.
    expect(conn.frames[0]!.time).toBeCloseTo(T0 + 3 + 35e-6, 6);
  });

  it('SLL2 in a big-endian pcapng with nanosecond if_tsresol, BSD loopback in a pcap, both IPv4', () => {
    const d = tmp();
    const c = simpleConversation(ep('127.0.0.1', 50001), ep('127.0.0.1', 7000), T0);
    writeFileSync(join(d, 'sll2.pcapng'), pcapng(c.pkts(LINK.sll2).map((p) => ({ ...p, ns: 123 })), { linktype: 276, digits: 9, bigEndian: true }));
    writeFileSync(join(d, 'null.pcap'), pcap(c.pkts(LINK.null), { linktype: 0 }));
    for (const f of ['sll2.pcapng', 'null.pcap']) {
      const { cap, warnings } = importFile(join(d, f));
      expect(warnings, f).toEqual([]);
      expect(cap.connections.map((x) => [x.client, x.server, x.frames.length, x.close?.code]), f).toEqual([['127.0.0.1:50001', '127.0.0.1:7000', 4, 1000]]);
    }
    expect(importFile(join(d, 'sll2.pcapng')).cap.connections[0]!.frames[0]!.time).toBeCloseTo(T0 + 3 + 123e-6, 6);
  });

  it('a capture that starts mid-connection (no SYN) but with the upgrade in view is decoded, and says so', () => {
    const d = tmp();
    const c = simpleConversation(ep('10.0.0.1', 40000), ep('10.0.0.2', 8080), T0);
    writeFileSync(join(d, 'late.pcap'), pcap(c.pkts(LINK.ethernet).slice(3), { linktype: 1 }));
    const r = importFile(join(d, 'late.pcap'));
    expect(r.cap.connections[0]!.frames).toHaveLength(4);
    expect(r.cap.connections[0]!.errors[0]).toMatch(/no SYN seen/);
    expect(r.warnings).toEqual([expect.stringMatching(/1 WebSocket connection started before the capture did \(no SYN seen\)/)]);
  });

  it('garbage: one line naming the file, exit 1', async () => {
    const d = tmp();
    const bad = join(d, 'bad.pcapng');
    writeFileSync(bad, Buffer.concat([Buffer.from('0a0d0d0a', 'hex'), Buffer.from('ffffff7f', 'hex'), Buffer.alloc(64, 0x41)]));
    const r = await runCli(['import', bad, '-o', join(d, 'x.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`framescope: ${bad}: a pcapng section header without the byte-order magic 1A2B3C4D (corrupt pcapng?) at byte 0\n`);
    const bad2 = join(d, 'bad.pcap');
    writeFileSync(bad2, Buffer.concat([pcap([], { linktype: 1 }), Buffer.from('00000000000000007f7f7f7f00000010', 'hex')]));
    const r2 = await runCli(['import', bad2, '-o', join(d, 'x.json')]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toBe(`framescope: ${bad2}: a packet record says it holds 2139062143 bytes (corrupt pcap?) at byte 24\n`);
  });
});
