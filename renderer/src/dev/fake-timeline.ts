// The demo engine's timeline: the same answer shape as the engine's (main/engine/session/
// timeline.ts), computed from the rows it holds, in at most 200 buckets.
import type { ConnectionSummary, FrameSummary, Timeline, TimelineMark, TimelineRequest, TimelineSide } from '../../../shared/contract';

export function fakeTimeline(conns: ReadonlyArray<{ summary: ConnectionSummary; frames: readonly FrameSummary[] }>, req: TimelineRequest): Timeline {
  const chosen = req.connection === undefined ? conns : conns.filter((c) => c.summary.id === req.connection);
  if (req.connection !== undefined && chosen.length === 0) throw new Error(`no connection ${req.connection}`);
  const times = chosen.flatMap((c) => c.frames.map((f) => f.time));
  const from = req.from ?? (times.length ? Math.min(...times) : 0);
  const to = Math.max(from, req.to ?? (times.length ? Math.max(...times) : from));
  const most = Math.min(req.points ?? 200, 200);
  const bucketMs = Math.max(10, req.minBucketMs ?? 0, (to - from) / Math.max(1, most - 1));
  const n = times.length ? Math.min(most, Math.floor((to - from) / bucketMs) + 1) : 0;
  const side = (): TimelineSide => ({ frames: Array(n).fill(0), bytes: Array(n).fill(0), messages: Array(n).fill(0), avgSize: Array(n).fill(null), maxSize: Array(n).fill(null) });
  const out = { client: side(), server: side() };
  const rtt: Array<number | null> = Array(n).fill(null);
  const marks: TimelineMark[] = [];
  for (const c of chosen) {
    for (const f of c.frames) {
      if (f.time < from || f.time > to) continue;
      const i = Math.min(n - 1, Math.floor((f.time - from) / bucketMs));
      const s = out[f.from];
      s.frames[i]! += 1;
      s.bytes[i]! += f.length;
      const size = f.message ? f.message.length : (f.opcode === 1 || f.opcode === 2) && f.fin ? f.length : null;
      if (size !== null) {
        const k = s.messages[i]!;
        s.avgSize[i] = Math.round(((s.avgSize[i] ?? 0) * k + size) / (k + 1));
        s.maxSize[i] = Math.max(s.maxSize[i] ?? 0, size);
        s.messages[i] = k + 1;
      }
      if (f.rtt !== undefined) rtt[i] = f.rtt;
      if (f.violations?.length) marks.push({ time: f.time, connection: c.summary.id, seq: f.seq, kind: 'violation', text: f.violations.map((v) => v.id).join('; ') });
      if (f.opcode === 8) marks.push({ time: f.time, connection: c.summary.id, seq: f.seq, kind: 'close', text: `close from ${f.from}` });
    }
  }
  const timeline: Timeline = {
    connection: req.connection ?? null,
    origin: chosen.length ? Math.min(...chosen.map((c) => c.summary.startedAt)) : from,
    from,
    to,
    bucketMs,
    count: n,
    ...out,
    rtt,
    latency: Array(n).fill(null),
    marks: marks.sort((a, b) => a.time - b.time).slice(0, 1000),
    marksDropped: Math.max(0, marks.length - 1000),
    live: chosen.some((c) => c.summary.endedAt === null),
  };
  if (req.connection !== undefined) {
    const frames = chosen[0]!.frames;
    const first = frames.findIndex((f) => f.time >= from);
    const end = frames.findIndex((f) => f.time > to);
    timeline.seqs = { first: first < 0 ? frames.length : first, end: end < 0 ? frames.length : end };
  }
  return timeline;
}
