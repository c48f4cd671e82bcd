// The proxy's own answers (400, 403, 408, 431, 502): short, readable, and the connection ends.
import type net from 'node:net';

export function sendHttpError(socket: net.Socket, status: number, reason: string, text: string): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(`${status} ${reason}\n${text}\n`, 'utf8');
  const head =
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'X-Framescope: proxy\r\n' +
    'Connection: close\r\n\r\n';
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  // A client that does not read must not keep the socket: end, then destroy after a moment.
  setTimeout(() => socket.destroy(), 2000).unref();
}
