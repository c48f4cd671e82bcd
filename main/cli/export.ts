// `framescope export <capture> --format json|ndjson|har|pcapng -o <out>`: a capture (or a
// journal, or a HAR) to the format other tools open.
import { Option, type Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormatName } from '../engine/recording/export/formats';
import { EXIT_OK } from './output';

export interface ExportCliOptions {
  format: ExportFormatName;
  output: string;
}

export async function runExport(input: string, o: ExportCliOptions): Promise<number> {
  // Loaded here, not with the command line: every other command starts without them.
  const [{ exportCapture }, { openInput, runJob, warn }] = await Promise.all([import('../engine/recording/export'), import('./capture-files')]);
  return runJob(input, o.output, () => {
    const source = openInput(input);
    try {
      warn(source);
      const r = exportCapture(source, o.format, o.output);
      const extra = r.packets !== undefined ? `, ${r.packets} packets` : r.messages !== undefined ? `, ${r.messages} messages` : '';
      process.stdout.write(`wrote ${o.output}: ${r.connections} connection${r.connections === 1 ? '' : 's'}, ${r.frames} frames${extra}\n`);
      return EXIT_OK;
    } finally {
      source.close();
    }
  });
}

export function registerExport(program: Command, run: (p: Promise<number>) => void): void {
  program
    .command('export')
    .description('write a capture (or journal, or HAR) as json, ndjson, har or pcapng')
    .argument('<capture>', 'a capture file, a proxy journal or a HAR')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption('-o, --output <file>', 'where to write')
    .action((input: string, opts: ExportCliOptions) => {
      run(runExport(input, { format: opts.format, output: opts.output }));
    });
}
