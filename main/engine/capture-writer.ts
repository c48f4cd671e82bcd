// Writes capture v1 (CONTRACTS.md) as a stream: one frame a line, flushed in blocks, so a
// capture of a million frames never exists twice in memory as one giant string.
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import type { ConnectionRecord, FrameRecord } from '../../shared/model';

/** A connection whose frames may be streamed (read from a journal as they are written). */
export type ConnectionSource = Omit<ConnectionRecord, 'frames'> & { frames: Iterable<FrameRecord> };

const FLUSH_AT = 1 << 20;

export function writeCaptureFile(path: string, connections: Iterable<ConnectionSource>, createdAt = new Date()): void {
  // Write beside the target and rename, so a reader never sees half a file.
  const tmp = `${path}.partial`;
  const fd = openSync(tmp, 'w');
  let pending = '';
  const put = (s: string) => {
    pending += s;
    if (pending.length >= FLUSH_AT) {
      writeSync(fd, pending);
      pending = '';
    }
  };
  try {
    put(`{"format":"framescope.capture","version":1,"createdAt":${JSON.stringify(createdAt.toISOString())},"connections":[`);
    let firstConn = true;
    for (const c of connections) {
      put(firstConn ? '\n' : ',\n');
      firstConn = false;
      const { frames, ...rest } = c;
      const head = JSON.stringify({ ...rest, frames: [] });
      // Splice the frames into the "frames":[] of the serialized connection.
      const at = head.indexOf('"frames":[]') + '"frames":['.length;
      put(head.slice(0, at));
      let i = 0;
      for (const frame of frames) put((i++ === 0 ? '\n' : ',\n') + JSON.stringify(frame));
      put(head.slice(at));
    }
    put('\n]}\n');
    writeSync(fd, pending);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
