// `framescope replay`'s options (docs/contracts.md "Command line"); the command's code
// (replay-run.ts) is loaded only when it runs.
import { InvalidArgumentError, type Command } from 'commander';
import type { HeaderList } from '../../shared/model';
import { parseHeader } from './connect-args';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError('--speed must be a positive number');
  return n;
}

function positiveInt(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return Number(value);
  };
}

export function registerReplay(program: Command, run: (p: Promise<number>) => void): void {
  program
    .command('replay')
    .description("play a recorded connection's client side again and compare the server's answers with the recording's")
    .argument('<capture>', 'a capture, a journal, a HAR or an NDJSON event stream')
    .option('--connection <id>', 'replay this recorded connection (repeatable; default: each, one after another)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--target <url>', 'the ws:// or wss:// URL to replay against (default: the recorded one)')
    .option('-H, --header <header>', 'a handshake header "Name: value" replacing the recorded one of that name, or added (repeatable)', (v: string, prev: HeaderList) => {
      try {
        return parseHeader(v, prev);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    }, [])
    .option('--no-headers', "do not send the recorded request's headers (only -H ones)")
    .option('--no-deflate', 'do not offer permessage-deflate (offered when the recording did)')
    .option('--speed <n>', 'play the recorded gaps between client messages N times faster', positiveNumber)
    .option('--asap', 'send each message as soon as the one before has gone', false)
    .option('--wait-for-server', 'before each client message, wait until the server has sent as many messages as it had by then in the recording', false)
    .option('--timeout <ms>', 'the longest wait for the handshake and for server messages (default 10000 and 5000)', positiveInt('--timeout'))
    .option('--fragment <n>', 'split each message into frames of at most N bytes', positiveInt('--fragment'))
    .option('--insecure', "do not verify the server's TLS certificate", false)
    .option('--json', 'print NDJSON events and a comparison event per connection', false)
    .option('--quiet', 'print only the comparison, not the new session\'s frames', false)
    .option('--strict', 'exit 1 when any server message differs from the recording', false)
    .option('--capture <file>', 'write the new session as a capture file')
    .action((input: string, opts) => {
      run(
        import('./replay-run').then((m) => m.runReplayCommand(input, {
          connection: opts.connection,
          target: opts.target,
          header: opts.header,
          headers: opts.headers,
          deflate: opts.deflate,
          speed: opts.speed,
          asap: opts.asap,
          waitForServer: opts.waitForServer,
          timeout: opts.timeout,
          fragment: opts.fragment,
          insecure: opts.insecure,
          json: opts.json,
          quiet: opts.quiet,
          strict: opts.strict,
          capture: opts.capture,
        })),
      );
    });
}
