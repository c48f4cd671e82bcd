// `framescope import <file.har|capture|journal> -o <capture.json>`: anything Framescope
// reads (recognised by content) to a capture v1 file. A HAR from Chrome DevTools or HTTP
// Toolkit becomes connections with reconstructed frames; a journal left by a crashed proxy
// becomes the capture it was going to write.
import type { Command } from 'commander';
import { EXIT_OK } from './output';

export interface ImportCliOptions {
  output: string;
}

export async function runImport(input: string, o: ImportCliOptions): Promise<number> {
  // Loaded here, not with the command line: every other command starts without them.
  const [{ exportCapture }, { openInput, runJob, warn }] = await Promise.all([import('../engine/recording/export'), import('./capture-files')]);
  return runJob(input, o.output, () => {
    const source = openInput(input);
    try {
      warn(source);
      const r = exportCapture(source, 'json', o.output);
      process.stdout.write(`wrote ${o.output}: ${r.connections} connection${r.connections === 1 ? '' : 's'}, ${r.frames} frames (from a ${source.kind})\n`);
      return EXIT_OK;
    } finally {
      source.close();
    }
  });
}

export function registerImport(program: Command, run: (p: Promise<number>) => void): void {
  program
    .command('import')
    .description('read a HAR, a capture or a proxy journal into a capture file')
    .argument('<file>', 'a HAR (Chrome DevTools, HTTP Toolkit, Framescope), a capture or a journal')
    .requiredOption('-o, --output <file>', 'the capture file to write')
    .action((input: string, opts: ImportCliOptions) => {
      run(runImport(input, { output: opts.output }));
    });
}
