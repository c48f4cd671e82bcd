// The two legs of a proxied connection (docs/contracts.md "Capture file v1", interventions):
// app ↔ Framescope and Framescope ↔ server. A leg carries what its own peer sent (the
// peer's originals, none of Framescope's frames) and what was delivered to that peer (the
// other side's frames that went on, and Framescope's frames written toward it). With no
// intervention both legs are the whole connection.
//
// A held message's frames all carry its `intervention.id`; the one that completed it
// carries the decision. Until then its frames wait here (bounded by one held message per
// direction), and data frames behind it wait too, since they went on after it.
import type { FrameRecord, InterventionDecision, Side } from './model';

export type Leg = 'app' | 'server';

/** The peer on this leg: its frames are its originals; the other side's are what it received. */
export const peerOf = (leg: Leg): Side => (leg === 'app' ? 'client' : 'server');

/** An original (a peer's) message with this decision went on to the other side as it came. */
export const deliveredAsSent = (d: InterventionDecision | undefined): boolean => d === 'forwarded' || d === 'delayed';

/** Framescope wrote or held something on this connection (a frame says so). */
export const isIntervened = (f: FrameRecord): boolean => f.by !== undefined || f.intervention !== undefined;

interface Waiting {
  id: number;
  held: FrameRecord[];
  /** data frames that came behind the held message, in order */
  queued: FrameRecord[];
}

/** The frames that travelled on `leg`, in the order they did. */
export function* legFrames(frames: Iterable<FrameRecord>, leg: Leg): Generator<FrameRecord> {
  const own = peerOf(leg);
  // Only the direction toward this leg's peer can wait: that is where Framescope decided.
  let waiting: Waiting | null = null;
  const out: FrameRecord[] = [];
  const feed = (f: FrameRecord): void => {
    if (f.from === own) {
      if (!f.by) out.push(f);
      return;
    }
    if (f.by) {
      out.push(f);
      return;
    }
    const iv = f.intervention;
    if (waiting && (!iv || iv.id !== waiting.id)) {
      // Control frames go on while a message is held; data frames queue behind it.
      if (f.opcode >= 8 && !iv) out.push(f);
      else waiting.queued.push(f);
      return;
    }
    if (!iv) {
      out.push(f);
      return;
    }
    if (!iv.decision) {
      if (waiting) waiting.held.push(f);
      else waiting = { id: iv.id, held: [f], queued: [] };
      return;
    }
    // The frame that completed a held message: its fate is its frames' fate; then what
    // queued behind it goes on (and may wait again behind another held message).
    const w: Waiting | null = waiting;
    waiting = null;
    if (deliveredAsSent(iv.decision)) {
      if (w) out.push(...w.held);
      out.push(f);
    }
    if (w) for (const q of w.queued) feed(q);
  };
  for (const f of frames) {
    feed(f);
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  // Still held when the record ends: never delivered, nor what queued behind it.
}
