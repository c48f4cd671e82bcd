// The exporters by format (docs/contracts.md: `framescope export <capture> --format
// json|ndjson|har|pcapng -o <out>`). Each streams from a CaptureSource to a file written
// beside `out` and renamed into place when complete.
import type { CaptureSource } from '../capture-source';
import type { DecodeChoice, EngineDecoders } from '../../../../shared/decoders';
import { exportHar } from './har';
import { exportJson } from './json';
import { exportNdjson } from './ndjson';
import { exportPcapng } from './pcapng';
import type { ExportResult } from './result';

export type { ExportResult } from './result';

import { EXPORT_FORMATS, type ExportFormatName } from './formats';

export { EXPORT_FORMATS, type ExportFormatName };

export interface ExportOptions {
  /** ndjson: the application protocol decoding (the default: detect) */
  decode?: DecodeChoice;
  /** the decoders to use (a .proto's protobuf types); the engine's own by default */
  decoders?: EngineDecoders;
}

export const EXPORTERS: Record<ExportFormatName, (source: CaptureSource, out: string, options?: ExportOptions) => ExportResult> = {
  json: exportJson,
  ndjson: exportNdjson,
  har: exportHar,
  pcapng: exportPcapng,
};

export function exportCapture(source: CaptureSource, format: ExportFormatName, out: string, options: ExportOptions = {}): ExportResult {
  return EXPORTERS[format](source, out, options);
}
