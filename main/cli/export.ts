// `framescope export <capture> --format json|ndjson|har|pcapng -o <out>`: a capture (or a
// journal, or a HAR) to the format other tools open.
import { Option, type Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormatName } from '../engine/recording/export/formats';
import type { DecodeChoice } from '../../shared/decoders';
import { addDecodeOptions, decodeSetup } from './decode-option';
import { EXIT_OK, UsageError } from './output';

export interface ExportCliOptions {
  format: ExportFormatName;
  output: string;
  decode?: DecodeChoice;
  proto?: string;
  protoType?: string;
}

export async function runExport(input: string, o: ExportCliOptions): Promise<number> {
  // The other formats keep the bytes only: decoding is derived, and shown in the event stream.
  if (o.decode !== undefined && o.format !== 'ndjson') throw new UsageError(`--decode applies to --format ndjson (the ${o.format} export keeps the bytes only)`);
  if (o.proto !== undefined && o.format !== 'ndjson') throw new UsageError(`--proto applies to --format ndjson (the ${o.format} export keeps the bytes only)`);
  const decoding = await decodeSetup(o);
  // Loaded here, not with the command line: every other command starts without them.
  const [{ exportCapture }, { openInput, runJob, warn }] = await Promise.all([import('../engine/recording/export'), import('./capture-files')]);
  return runJob(input, o.output, () => {
    const source = openInput(input);
    try {
      warn(source);
      const r = exportCapture(source, o.format, o.output, { decode: decoding.decode ?? 'auto', decoders: decoding.decoders });
      const extra = r.packets !== undefined ? `, ${r.packets} packets` : r.messages !== undefined ? `, ${r.messages} messages` : '';
      process.stdout.write(`wrote ${o.output}: ${r.connections} connection${r.connections === 1 ? '' : 's'}, ${r.frames} frames${extra}\n`);
      return EXIT_OK;
    } finally {
      source.close();
    }
  });
}

export function registerExport(program: Command, run: (p: Promise<number>) => void): void {
  const cmd = program
    .command('export')
    .description('write a capture (or journal, or HAR) as json, ndjson, har or pcapng')
    .argument('<capture>', 'a capture file, a proxy journal or a HAR')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption('-o, --output <file>', 'where to write')
    ;
  addDecodeOptions(cmd, 'ndjson: ').action((input: string, opts: ExportCliOptions) => {
    run(runExport(input, { format: opts.format, output: opts.output, decode: opts.decode, proto: opts.proto, protoType: opts.protoType }));
  });
}
