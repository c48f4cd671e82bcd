// Facts about this machine's loopback that tests branch on (IPv6 may be disabled in a container).
import { createServer } from 'node:net';

let ipv6: Promise<boolean> | undefined;

/** Whether a server can listen on [::1] here. Checked once per process by actually binding it. */
export function ipv6LoopbackAvailable(): Promise<boolean> {
  ipv6 ??= new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
  return ipv6;
}
