// Rows and summaries for the renderer's tests.
import type { ConnectionSummary, FrameSummary } from '../../shared/contract';

export function row(seq: number, patch: Partial<FrameSummary> = {}): FrameSummary {
  const from = patch.from ?? (seq % 2 === 0 ? 'client' : 'server');
  return {
    seq,
    time: 1_700_000_000_000 + seq,
    from,
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: 1,
    masked: from === 'client',
    maskKey: from === 'client' ? '37fa213d' : null,
    length: 5,
    header: from === 'client' ? '818537fa213d' : '8105',
    preview: `message ${seq}`,
    previewText: true,
    ...patch,
  };
}

export function rows(from: number, to: number, patch?: (seq: number) => Partial<FrameSummary>): FrameSummary[] {
  const out: FrameSummary[] = [];
  for (let s = from; s < to; s++) out.push(row(s, patch?.(s)));
  return out;
}

export function summary(id: string, frames: number, patch: Partial<ConnectionSummary> = {}): ConnectionSummary {
  return {
    id,
    mode: 'client',
    url: `ws://127.0.0.1:9001/${id}`,
    client: '127.0.0.1:50000',
    server: '127.0.0.1:9001',
    tls: null,
    startedAt: 1_700_000_000_000,
    endedAt: null,
    state: 'open',
    handshake: null,
    close: null,
    errors: [],
    frames: { client: Math.ceil(frames / 2), server: Math.floor(frames / 2) },
    bytes: { client: 0, server: 0 },
    ...patch,
  };
}
