// `[HOST:]PORT` as the CLI and the UI take it. HOST defaults to 127.0.0.1: nothing listens
// beyond loopback unless asked.
import type { AddressInfo, Server } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export class ListenError extends Error {
  override name = 'ListenError';
}

export function parseListen(value: string, option = '--listen'): ListenAddress {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ListenError(`${option} takes [HOST:]PORT, got ${JSON.stringify(value)}`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** host:port as a URL authority (IPv6 in brackets). */
export function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Loopback addresses: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Listens (port 0: a free one) and says where, or rejects with the listen error (EADDRINUSE…). */
export async function listenOn(server: Server, port: number, host: string): Promise<ListenAddress> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}
