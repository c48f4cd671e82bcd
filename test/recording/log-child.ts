// A process that records into an event log, for the tests that kill it or fill its disk:
//   kill PATH   append eventAt(0), eventAt(1), ... a few a turn, forever; print on stdout, each
//               turn, how many records the log has written to the file (`written`)
//   full PATH N append eventAt(0..N-1) over several turns (its disk fills up: run it under
//               `ulimit -f`), then print a JSON summary of what the log says and reads back
import { writeSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { EventLog } from '../../main/engine/recording/event-log';
import { eventAt } from './log-events';

const [mode, path, count] = process.argv.slice(2);
if (mode === 'kill') {
  const log = new EventLog(path!);
  let i = 0;
  const turn = (): void => {
    // `written` counts records whose bytes a write has returned for: they are in the file.
    // stdout is a non-blocking pipe: when the test reads slower than the turns come, the pipe
    // is full and this turn's report is skipped (a later one says as much or more; a line is
    // under PIPE_BUF, so it is written whole or not at all).
    try {
      writeSync(1, `${log.written}\n`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
    // A varying number a turn, so kills land at different places in a turn's write.
    const n = 1 + ((i * 7) % 13);
    for (let k = 0; k < n; k++) log.append(eventAt(i++));
    setImmediate(turn);
  };
  turn();
} else if (mode === 'full') {
  const failures: string[] = [];
  const log = new EventLog(path!, { onFailure: (err) => failures.push(err.code ?? String(err)), memoryLimit: 2 * 1024 * 1024 });
  const n = Number(count);
  const positions: number[] = [];
  let i = 0;
  const turn = (): void => {
    for (let k = 0; k < 5 && i < n; k++) positions.push(log.append(eventAt(i++)));
    if (i < n) return void setImmediate(turn);
    setImmediate(() => {
      log.flush();
      // Everything reads back: from the file, or from memory (stripped past the limit).
      let same = 0;
      let strippedRead = 0;
      positions.forEach((p, j) => {
        const got = log.read(p);
        const want = eventAt(j);
        if (isDeepStrictEqual(got, want)) same++;
        else if (got.event === 'frame' && want.event === 'frame' && got.truncated && got.stored === 0 && got.payload.length === 0 && got.seq === want.seq) strippedRead++;
      });
      writeSync(1, JSON.stringify({ failures, written: log.written, inMemory: log.inMemory, stripped: log.stripped, lost: log.lost, same, strippedRead }) + '\n');
      log.close();
    });
  };
  turn();
}
