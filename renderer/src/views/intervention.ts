// How a frame's part in an intervention is named in the UI: a short badge text, a tone
// (colour is never the only signal: the text says it), and a sentence for its title.
import type { FrameSummary } from '../../../shared/contract';

export type Tone = 'framescope' | 'went-on' | 'stopped';

export interface Badge {
  text: string;
  tone: Tone;
  title: string;
}

const FATE: Record<string, string> = {
  forwarded: 'held, then forwarded as it was',
  delayed: 'held, then forwarded as it was after a delay',
  replaced: 'held, then replaced by what Framescope wrote',
  dropped: 'held, then dropped: never delivered',
  closed: 'held, then Framescope closed the connection: never delivered',
  undelivered: 'held when the connection ended: never delivered',
  held: 'part of a held message',
};

/** The badge of a row, or null for a frame nobody intervened in. */
export function interventionBadge(row: Pick<FrameSummary, 'by' | 'intervention'>): Badge | null {
  const iv = row.intervention;
  if (row.by) {
    const parts = ['Framescope wrote this frame'];
    if (iv?.injected) parts.push('a message nobody sent (injected)');
    if (iv?.recompressed) parts.push('compressed with its own deflater');
    return { text: iv?.injected ? 'injected' : 'framescope', tone: 'framescope', title: parts.join('; ') + (iv ? ` (intervention #${iv.id})` : '') };
  }
  if (!iv) return null;
  const decision = iv.decision ?? 'held';
  return {
    text: decision,
    tone: decision === 'forwarded' || decision === 'delayed' || decision === 'held' ? 'went-on' : 'stopped',
    title: `The sender's original: ${FATE[decision] ?? decision} (intervention #${iv.id})`,
  };
}
