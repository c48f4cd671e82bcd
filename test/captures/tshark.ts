// tshark (Debian's `tshark`) as the judge of the pcapng export: it must dissect every frame
// as WebSocket with the capture's values, and find nothing malformed and no bad checksum.
import { execFileSync, spawnSync } from 'node:child_process';

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
