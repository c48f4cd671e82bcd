// A loopback http:// page whose script opens a WebSocket to `wsUrl`, sends `first` and
// `second`, and closes with 4000 "page done" once both echoes came back: what the tests
// that launch a browser open in it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function wsPage(wsUrl: string, first: string, cleanup: Array<() => unknown>): Promise<string> {
  const html = `<!doctype html><meta charset="utf-8"><title>launch</title><script>
const ws = new WebSocket(${JSON.stringify(wsUrl)});
let n = 0;
ws.onopen = () => { ws.send(${JSON.stringify(first)}); ws.send('second'); };
ws.onmessage = () => { if (++n === 2) ws.close(4000, 'page done'); };
</script>`;
  const page = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    page.closeAllConnections();
    return new Promise<void>((r) => page.close(() => r()));
  });
  return `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
}
