// `export --format json`: capture v1 through the capture writer, streamed connection by
// connection and frame by frame. The source's createdAt is kept, so a capture read and
// written again is the same file byte for byte.
import { CaptureWriter } from '../capture-writer';
import type { CaptureSource } from '../capture-source';
import type { ExportResult } from './result';

export function exportJson(source: CaptureSource, out: string): ExportResult {
  const writer = new CaptureWriter(out, source.createdAt);
  let frames = 0;
  try {
    source.connections.forEach((c, i) => {
      writer.connection(c.head, counted(source.frames(i), () => frames++));
    });
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return { connections: source.connections.length, frames };
}

function* counted<T>(items: Iterable<T>, tick: () => void): Generator<T> {
  for (const item of items) {
    tick();
    yield item;
  }
}
