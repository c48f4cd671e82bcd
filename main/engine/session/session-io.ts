// Captures in and out of the app's session, through the same exporters and readers as the
// CLI's `export` and `import`: a temp file in between, so nothing is written twice.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportFormat, FileBlob } from '../../../shared/contract';
import type { EngineEvent } from '../../../shared/model';
import type { CaptureSource } from '../recording/capture-source';
import { openCapture } from '../recording/capture-reader';
import { EXPORTERS } from '../recording/export';
import { errorKind } from '../recording/export/ndjson';

const FILES: Record<ExportFormat, { ext: string; mime: string }> = {
  json: { ext: 'wscap.json', mime: 'application/json' },
  ndjson: { ext: 'ndjson', mime: 'application/x-ndjson' },
  har: { ext: 'har', mime: 'application/json' },
  pcapng: { ext: 'pcapng', mime: 'application/vnd.tcpdump.pcap' },
};

export function exportSource(source: CaptureSource, format: ExportFormat): FileBlob {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-export-'));
  try {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const filename = `framescope-${stamp}.${FILES[format].ext}`;
    const out = join(dir, filename);
    EXPORTERS[format](source, out);
    return { filename, mime: FILES[format].mime, data: readFileSync(out).toString('base64') };
  } finally {
    source.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replays a capture, journal or HAR file as engine events under fresh connection ids. */
export function importFile(path: string, nextId: () => string, sink: (e: EngineEvent) => void): void {
  const source = openCapture(path);
  try {
    source.connections.forEach((entry, index) => {
      const head = entry.head;
      const connection = nextId();
      sink({ event: 'open', connection, mode: head.mode, url: head.url, client: head.client, server: head.server, startedAt: head.startedAt, tls: head.tls, ...(typeof head.app === 'string' ? { app: head.app } : {}) });
      if (head.handshake) sink({ event: 'handshake', connection, ...head.handshake });
      for (const frame of source.frames(index)) sink({ event: 'frame', connection, ...frame });
      for (const message of head.errors) sink({ event: 'error', connection, kind: errorKind(message, head), message });
      if (head.close) sink({ event: 'close', connection, ...head.close, ...(head.endedAt !== null ? { endedAt: head.endedAt } : {}) });
    });
  } finally {
    source.close();
  }
}
