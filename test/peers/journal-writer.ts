// A child process for the journal's tests that need limits of their own (a file size limit
// set by the parent's `ulimit -f`): writes events whose message has the given lengths, the
// events of a turn of the event loop separated by commas, the turns by semicolons, closes
// the journal and prints what it counted as one JSON line.
//   node --import tsx test/peers/journal-writer.ts FILE 300000,20;100 [direct|buffered]
import { Journal } from '../../main/engine/journal';

const [path, lengths, mode] = process.argv.slice(2);
const failures: string[] = [];
const journal = new Journal(path!, (err) => failures.push(err.code ?? err.message), { direct: mode !== 'buffered' });
let i = 0;
for (const turn of lengths!.split(';')) {
  for (const n of turn.split(',').map(Number)) journal.write({ event: 'error', connection: `c${i++}`, kind: 'protocol', message: 'x'.repeat(n) });
  await new Promise((r) => setTimeout(r, 5));
}
journal.close();
process.stdout.write(JSON.stringify({ written: journal.written, lost: journal.lost, failures, directBytes: journal.directBytes }) + '\n');
