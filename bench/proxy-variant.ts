// Framescope's reverse proxy with layers taken away, for `npm run bench -- proxy --breakdown`:
// bundled like the CLI by bench/proxy.ts and run as its own process (`node proxy-variant.js
// MODE UPSTREAM_PORT DIR`), it prints {"port":N} when listening and exits when stdin closes.
//   pipe     bytes relayed both ways, nothing looked at (pipeRaw): the ceiling of a Node relay
//   decode   the real ProxyServer: relay, observer decode, frame records and events, no sink work
//   encode   the same with the journal as the sink, writing to /dev/null: what encoding the
//            journal's lines costs, without the file system's part
//   journal  the same with the journal as the sink (what --capture adds; no terminal output)
// The CLI itself (`framescope proxy --capture`) adds the human view on stdout on top.
import net from 'node:net';
import { join } from 'node:path';
import { ProxyServer } from '../main/engine/proxy/server';
import { pipeRaw } from '../main/engine/proxy/ws-relay';
import { EventLog } from '../main/engine/recording/event-log';

const [mode, upstreamArg, dir] = process.argv.slice(2);
const upstream = Number(upstreamArg);
if (!['pipe', 'decode', 'encode', 'journal'].includes(mode ?? '') || !upstream || !dir) {
  process.stderr.write('usage: proxy-variant.ts pipe|decode|encode|journal UPSTREAM_PORT DIR\n');
  process.exit(2);
}

let port: number;
if (mode === 'pipe') {
  const server = net.createServer({ noDelay: true }, (client) => {
    const up = net.connect({ host: '127.0.0.1', port: upstream, noDelay: true });
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    up.once('connect', () => pipeRaw(client, up, () => {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
} else {
  const journal =
    mode === 'journal' ? new EventLog(join(dir, `variant-${process.pid}.journal`)) : mode === 'encode' ? new EventLog('/dev/null') : null;
  const proxy = await ProxyServer.start({
    host: '127.0.0.1',
    port: 0,
    target: `ws://127.0.0.1:${upstream}/`,
    sink: journal ? (e) => journal.append(e) : () => {},
  });
  port = proxy.address.port;
}
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
