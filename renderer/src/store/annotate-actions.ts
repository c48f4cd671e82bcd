// Bookmarks, notes and copying: the engine keeps a frame's bookmark and note (so a capture
// and a restored session have them); copies go to the clipboard, a connection too large for
// it to a file. Like every action, failures become notices.
import { fromBase64, utf8Decode } from '../../../shared/bytes';
import { MAX_NOTE } from '../../../shared/model';
import { applyEvents } from './apply-events';
import { engine, saveBlob } from './actions';
import { rowAt } from './frame-chunks';
import { useAppStore } from './store';
import { COPY_LIMIT, formatPayload, PAYLOAD_FORMAT_LABELS, type PayloadFormat } from '../views/copy';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const fail = (what: string, err: unknown): void => useAppStore.getState().notify('error', `${what}: ${message(err)}`);

/** A connection's NDJSON larger than this goes to a file, not the clipboard. */
export const NDJSON_CLIPBOARD_LIMIT = 2 * 1024 * 1024;

async function annotate(connection: string, seq: number, patch: { bookmark?: boolean; note?: string }): Promise<boolean> {
  try {
    const row = await engine().annotate({ connection, seq, ...patch });
    // Drawn now; the engine's push of the same row follows.
    applyEvents([{ type: 'frames', connection, frames: [row] }]);
    return true;
  } catch (err) {
    fail('Could not change the annotation', err);
    return false;
  }
}

export async function toggleBookmark(connection: string, seq: number): Promise<void> {
  const row = rowAt(useAppStore.getState().chunks, connection, seq);
  await annotate(connection, seq, { bookmark: !row?.bookmark });
}

export async function setNote(connection: string, seq: number, note: string): Promise<boolean> {
  return annotate(connection, seq, { note: note.slice(0, MAX_NOTE) });
}

let revealN = 1_000_000;

/** Selects the next (dir 1) or previous (-1) bookmarked frame of the connection, in memory or not. */
export async function jumpToBookmark(connection: string, dir: 1 | -1): Promise<void> {
  try {
    const { seqs } = await engine().bookmarks({ connection });
    const s = useAppStore.getState();
    if (seqs.length === 0) {
      s.notify('info', 'No bookmarks on this connection: select a frame and press b');
      return;
    }
    const at = s.selectedSeq ?? (dir === 1 ? -1 : Number.MAX_SAFE_INTEGER);
    const target = dir === 1 ? (seqs.find((x) => x > at) ?? seqs[0]!) : ([...seqs].reverse().find((x) => x < at) ?? seqs[seqs.length - 1]!);
    useAppStore.setState({ selectedSeq: target, inspectorTab: 'frame', follow: false, reveal: { connection, seq: target, n: ++revealN } });
  } catch (err) {
    fail('Could not list the bookmarks', err);
  }
}

export async function copyText(text: string, what: string): Promise<void> {
  try {
    if (!navigator.clipboard) throw new Error('the clipboard is not available here');
    await navigator.clipboard.writeText(text);
    useAppStore.getState().notify('info', `Copied ${what}`);
  } catch (err) {
    fail(`Could not copy ${what}`, err);
  }
}

/** The frame's payload (its whole message, when it has one) in a copy format. */
export async function copyPayload(connection: string, seq: number, format: PayloadFormat): Promise<void> {
  try {
    const p = await engine().framePayload({ connection, seq });
    const bytes = fromBase64(p.message ?? p.payload);
    if (bytes.length > COPY_LIMIT) throw new Error(`${bytes.length} bytes is too large for the clipboard: export the connection instead`);
    await copyText(formatPayload(bytes, format), `the payload of #${seq} ${PAYLOAD_FORMAT_LABELS[format]}${p.truncated ? ' (stored in part)' : ''}`);
  } catch (err) {
    fail('Could not copy the payload', err);
  }
}

/**
 * The connection's events as `framescope export --format ndjson` writes them (the engine's
 * exporter): on the clipboard, or in a file when asked or when it is large.
 */
export async function copyConnectionNdjson(connection: string, toFile = false): Promise<void> {
  try {
    const blob = await engine().exportCapture({ format: 'ndjson', connections: [connection] });
    const bytes = fromBase64(blob.data);
    if (toFile || bytes.length > NDJSON_CLIPBOARD_LIMIT) {
      if (!toFile) useAppStore.getState().notify('info', `The connection's NDJSON is ${Math.round(bytes.length / 1024)} KiB: saved as a file rather than copied`);
      await saveBlob(blob);
      return;
    }
    await copyText(utf8Decode(bytes), `connection ${connection} as NDJSON`);
  } catch (err) {
    fail('Could not export the connection', err);
  }
}
