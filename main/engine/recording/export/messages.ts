// Data messages from frames, per direction in wire order (RFC 6455 §5.4): what a HAR's
// `_webSocketMessages` rows show. The capture already holds the decoded message on the
// final frame of a fragmented or compressed one (`message`); a message in one plain frame
// is its payload. Control frames may come between fragments and are passed over.
import type { FrameRecord, InterventionMark, Side } from '../../../../shared/model';

export interface DataMessage {
  from: Side;
  opcode: 1 | 2;
  /** time of the frame that completed it (or the last one seen) */
  time: number;
  data: Uint8Array;
  /** seq of every frame it took */
  frames: number[];
  /** only a prefix of the message is known (a cut payload, or the capture ends mid-message) */
  truncated: boolean;
  /** its final frame never came (the connection ended, or a new message interrupted it) */
  incomplete: boolean;
  /** compressed, and the capture has no inflated form of it (inflation failed) */
  undecoded: boolean;
  /** Framescope wrote it (its final frame says so) */
  by?: 'framescope';
  /** the intervention its final frame (or, unfinished, its last) takes part in */
  intervention?: InterventionMark;
}

interface Pending {
  opcode: 1 | 2;
  frames: number[];
  parts: Uint8Array[];
  compressed: boolean;
  truncated: boolean;
  time: number;
  last: FrameRecord | null;
}

export function* dataMessages(frames: Iterable<FrameRecord>): Generator<DataMessage> {
  const pending: Record<Side, Pending | null> = { client: null, server: null };
  const finish = (from: Side, p: Pending, last: FrameRecord | null): DataMessage => {
    const m = last?.message;
    const undecoded = !m && p.compressed;
    const marked = last ?? p.last;
    const out: DataMessage = {
      from,
      opcode: p.opcode,
      time: p.time,
      data: m ? m.data : undecoded ? new Uint8Array(0) : p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts),
      frames: p.frames,
      truncated: p.truncated || !!m?.truncated || (!last && p.compressed),
      incomplete: !last,
      undecoded,
    };
    // Only on messages that have them: no cost for the others.
    if (marked?.by) out.by = marked.by;
    if (marked?.intervention) out.intervention = marked.intervention;
    return out;
  };
  for (const f of frames) {
    const side = f.from;
    let p = pending[side];
    if (f.opcode === 1 || f.opcode === 2) {
      if (p) yield finish(side, p, null);
      p = pending[side] = { opcode: f.opcode, frames: [], parts: [], compressed: f.rsv1, truncated: false, time: f.time, last: null };
    } else if (f.opcode !== 0 || !p) {
      continue; // control frames, reserved opcodes, a continuation with nothing to continue
    }
    p.frames.push(f.seq);
    p.time = f.time;
    p.last = f;
    if (f.truncated) p.truncated = true;
    if (!p.compressed && !f.message) p.parts.push(f.payload);
    if (f.fin) {
      pending[side] = null;
      yield finish(side, p, f);
    }
  }
  for (const side of ['client', 'server'] as const) {
    const p = pending[side];
    if (p) yield finish(side, p, null);
  }
}
