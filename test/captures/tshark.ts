// tshark (Debian's `tshark`) as the judge of the pcapng export: it must dissect every frame
// as WebSocket with the capture's values, and find nothing malformed and no bad checksum.
import { execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import type { CaptureFile, FrameRecord } from '../../shared/model';

/** Fails (never skips) when tshark is missing: CI installs it (.ci/run), so a missing one is a broken setup. */
export function requireTshark(): void {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error('tshark is not installed: these tests need it as the judge of the pcapng export (apt-get install tshark; .ci/run does this in CI)');
  }
}

export const FIELDS = [
  'frame.number',
  'tcp.stream',
  'tcp.srcport',
  'websocket.opcode',
  'websocket.fin',
  'websocket.rsv',
  'websocket.mask',
  'websocket.masking_key',
  'websocket.payload_length',
  'websocket.payload_length_ext_16',
  'websocket.payload_length_ext_64',
  'websocket.payload.text',
  'data.data',
  'websocket.payload.continue',
  'websocket.payload.ping',
  'websocket.payload.pong',
  'websocket.payload.close.status_code',
  'websocket.payload.close.reason',
  'websocket.payload.unknown',
  '_ws.malformed',
  '_ws.expert.severity',
  'ip.checksum.status',
  'tcp.checksum.status',
  'frame.comment',
  'tcp.payload',
] as const;

export type Row = Record<(typeof FIELDS)[number], string>;

/** Every packet as the FIELDS, with checksum validation on and each port decoded as HTTP. */
export function dissect(file: string, httpPorts: number[]): Row[] {
  const args = ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.desegment_tcp_streams:TRUE'];
  for (const p of httpPorts) args.push('-d', `tcp.port==${p},http`);
  args.push('-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', '-E', 'quote=n');
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const cells = line.split('\t');
      const row = {} as Row;
      FIELDS.forEach((f, i) => (row[f] = cells[i] ?? ''));
      return row;
    });
}

/** tshark's expert severities (epan/proto.h): comment < chat < note < warn < error. */
export const PI_WARN = 0x00600000;

export const hexOf = (s: string) => s.replace(/:/g, '').toLowerCase();
export const flag = (s: string) => s === '1' || s === 'True' || s === 'true';

/** What tshark should show as a frame's payload: Wireshark unmasks, reassembles and inflates. */
function expectedPayload(f: FrameRecord, frames: FrameRecord[]): Partial<Row> | null {
  const raw = stored(f);
  switch (f.opcode) {
    case 8:
      return { 'websocket.payload.close.status_code': f.close?.code?.toString() ?? '', 'websocket.payload.close.reason': f.close?.reason ?? '' };
    case 9:
      return { 'websocket.payload.ping': raw.toString('hex') };
    case 10:
      return { 'websocket.payload.pong': raw.toString('hex') };
  }
  if (f.opcode > 2) return f.opcode === 0 ? null : { 'websocket.payload.unknown': raw.toString('hex') };
  // A data frame. The message's opcode is its first frame's.
  let first = f;
  if (f.opcode === 0) {
    const before = frames.filter((x) => x.from === f.from && x.seq < f.seq && (x.opcode === 1 || x.opcode === 2));
    first = before.at(-1)!;
  }
  const compressed = first.rsv1;
  // Wireshark 4.0 inflates a compressed message only when it is one frame (it looks for
  // RSV1 on the final frame); a fragmented one is shown compressed: its bytes are checked
  // through tcp.payload instead.
  if (compressed && f.opcode === 0) return null;
  if (!f.fin) {
    // Fragments: Wireshark shows a continuation's own (unmasked) bytes; nothing on the first.
    return f.opcode === 0 && !compressed ? { 'websocket.payload.continue': raw.toString('hex') } : null;
  }
  const whole = f.message ? Buffer.from(f.message.data) : raw;
  return first.opcode === 1 ? { 'websocket.payload.text': whole.toString('utf8') } : { 'data.data': whole.toString('hex') };
}

/** The payload as the capture holds it, zero-padded when the capture says it was cut (what the export writes). */
function stored(f: FrameRecord): Buffer {
  const raw = Buffer.from(f.payload);
  return f.truncated ? Buffer.concat([raw, Buffer.alloc(f.length - raw.length)]) : raw;
}

/** The frame's bytes on the wire, computed here independently of the exporter. */
function wire(f: FrameRecord): string {
  const p = stored(f);
  if (f.maskKey) {
    const k = f.maskKey;
    for (let i = 0; i < p.length; i++) p[i]! ^= k[i & 3]!;
  }
  return Buffer.from(f.header).toString('hex') + p.toString('hex');
}

/** tshark's WebSocket rows per TCP stream must be the capture's frames, field by field. */
export function judge(file: string, cap: CaptureFile, ports: number[]): Row[] {
  const rows = dissect(file, ports);
  expect(rows.length).toBeGreaterThan(0);
  // Wireshark 4.0 warns "Trailing stray characters" on a fragmented compressed text message
  // it does not inflate (see expectedPayload): those final frames are exempt from the expert check.
  const exempt = new Set<string>();
  const streams = new Map<string, Row[]>();
  for (const r of rows) {
    if (!r['websocket.opcode']) continue;
    expect(r['websocket.opcode'], `one WebSocket frame per packet (frame ${r['frame.number']})`).not.toContain('|');
    const list = streams.get(r['tcp.stream']) ?? [];
    list.push(r);
    streams.set(r['tcp.stream'], list);
  }
  // Streams are numbered in the order their SYNs appear: by startedAt.
  const order = [...cap.connections].sort((a, b) => a.startedAt - b.startedAt);
  order.forEach((c, i) => {
    const got = streams.get(String(i)) ?? [];
    expect(got.length, `connection ${c.id}: WebSocket frames tshark found`).toBe(c.frames.length);
    c.frames.forEach((f, j) => {
      const r = got[j]!;
      const where = `connection ${c.id} frame ${f.seq} (pcap frame ${r['frame.number']})`;
      const len7 = Number(r['websocket.payload_length']);
      const length = len7 === 126 ? Number(r['websocket.payload_length_ext_16']) : len7 === 127 ? Number(r['websocket.payload_length_ext_64']) : len7;
      expect(
        {
          opcode: Number(r['websocket.opcode']),
          fin: flag(r['websocket.fin']),
          rsv: Number(r['websocket.rsv']),
          masked: flag(r['websocket.mask']),
          maskKey: r['websocket.masking_key'] ? hexOf(r['websocket.masking_key']) : null,
          length,
        },
        where,
      ).toEqual({
        opcode: f.opcode,
        fin: f.fin,
        rsv: (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0),
        masked: f.masked,
        maskKey: f.maskKey && Buffer.from(f.maskKey).toString('hex'),
        length: f.length,
      });
      const want = expectedPayload(f, c.frames);
      if (want) {
        const seen: Partial<Row> = {};
        for (const k of Object.keys(want) as Array<keyof Row>) seen[k] = k.includes('text') || k.includes('reason') ? r[k] : hexOf(r[k]);
        expect(seen, `${where}: payload`).toEqual(want);
      }
      if (f.length <= 60_000) expect(hexOf(r['tcp.payload']), `${where}: bytes on the wire`).toBe(wire(f));
      if (f.fin && f.opcode === 0) {
        const first = c.frames.filter((x) => x.from === f.from && x.seq < f.seq && x.opcode !== 0 && x.opcode < 8).at(-1);
        if (first?.rsv1) exempt.add(r['frame.number']);
      }
    });
  });
  for (const r of rows) {
    expect(r['_ws.malformed'], `frame ${r['frame.number']} is malformed`).toBe('');
    const severities = r['_ws.expert.severity'].split('|').filter(Boolean).map(Number);
    if (!exempt.has(r['frame.number'])) {
      expect(Math.max(0, ...severities), `frame ${r['frame.number']} has an expert warning or error`).toBeLessThan(PI_WARN);
    }
    if (r['ip.checksum.status']) expect(r['ip.checksum.status'], `IP checksum of frame ${r['frame.number']}`).toBe('1');
    expect(r['tcp.checksum.status'], `TCP checksum of frame ${r['frame.number']}`).toBe('1');
  }
  return rows;
}

