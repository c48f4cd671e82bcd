// `npm run bench [-- name...]`: runs every bench module (or those named) and prints their
// tables as markdown on stdout; progress goes to stderr. Each module returns a Table.

import { parserTable, runParserBench } from './parser';
import { decodeTable, runDecodeBench } from './decode';
import { proxyTable, runProxyBench, TARGET_IDS, type TargetId } from './proxy';
import { capturesTable, runCapturesBench } from './captures';
import { runUiBench, uiTable } from './ui';
import { toMarkdown, type Table } from './table';

interface Bench {
  name: string;
  run(flags: Set<string>): Promise<Table>;
}

const ROUNDS = 7;

const BENCHES: Bench[] = [
  {
    name: 'parser',
    run: async (flags) => parserTable(await runParserBench({ rounds: ROUNDS, unchunked: flags.has('--unchunked') }), ROUNDS),
  },
  {
    // `framescope decode FILE --stats` against ws's Receiver, whole processes on the same files
    name: 'decode',
    run: async (flags) => decodeTable(await runDecodeBench({ rounds: roundsFlag(flags) })),
  },
  {
    // direct vs nginx vs `framescope proxy`; --breakdown adds Framescope minus layers, --profile where its time goes
    name: 'proxy',
    run: async (flags) =>
      proxyTable(await runProxyBench({ profile: flags.has('--profile'), breakdown: flags.has('--breakdown'), targets: proxyTargets(flags), rounds: roundsFlag(flags) })),
  },
  {
    // load/save/import/export of a 1M-frame capture (--quick: 100k frames)
    name: 'captures',
    run: async (flags) => capturesTable(await runCapturesBench({ frames: flags.has('--quick') ? 100_000 : 1_000_000 })),
  },
  {
    // the UI in headless Chromium: 10,000 frames/s for 10 s, then 1M as fast as taken (--quick: 2 s and 100k)
    name: 'ui',
    run: async (flags) => uiTable(await runUiBench(flags.has('--quick') ? { seconds: 2, flood: 100_000 } : {})),
  },
];

/** `--rounds=N`: rounds of the decode and proxy benches (default 5). */
function roundsFlag(flags: Set<string>): number | undefined {
  const flag = [...flags].find((f) => f.startsWith('--rounds='));
  if (!flag) return undefined;
  const n = Number(flag.slice('--rounds='.length));
  if (!Number.isInteger(n) || n < 1 || n > 50) {
    process.stderr.write(`--rounds: a whole number from 1 to 50, not ${flag.slice('--rounds='.length) || '(nothing)'}\n`);
    process.exit(2);
  }
  return n;
}

/** `--targets=nginx,framescope`: only these proxy targets (ids as in bench/proxy.ts). */
function proxyTargets(flags: Set<string>): TargetId[] | undefined {
  const flag = [...flags].find((f) => f.startsWith('--targets='));
  if (!flag) return undefined;
  const ids = flag.slice('--targets='.length).split(',').filter(Boolean);
  const bad = ids.filter((id) => !(TARGET_IDS as readonly string[]).includes(id));
  if (bad.length > 0 || ids.length === 0) {
    process.stderr.write(`--targets: unknown ${bad.join(', ') || '(none given)'} (have: ${TARGET_IDS.join(', ')})\n`);
    process.exit(2);
  }
  return ids as TargetId[];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const names = args.filter((a) => !a.startsWith('-'));
  const flags = new Set(args.filter((a) => a.startsWith('-')));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench: ${unknown.join(', ')} (have: ${BENCHES.map((b) => b.name).join(', ')})\n`);
    process.exit(2);
  }
  const selected = names.length > 0 ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;

  const started = Date.now();
  const out: string[] = [`Node ${process.version}, ${process.platform}/${process.arch}`];
  for (const bench of selected) out.push(toMarkdown(await bench.run(flags)));
  process.stdout.write(`${out.join('\n\n')}\n`);
  process.stderr.write(`bench done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

await main();
