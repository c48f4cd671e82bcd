// A minimal STOMP 1.2 server session, whatever carries its frames (a WebSocket, SockJS):
// CONNECT → CONNECTED and a heart-beat, SENDs delivered to the subscriptions of their
// destination, receipts answered except on `/queue/stuck` (left unanswered on purpose).

export const stompFrame = (command: string, headers: Record<string, string>, body = '') => `${command}\n${Object.entries(headers).map(([k, v]) => `${k}:${v}`).join('\n')}\n\n${body}\0`;

/** A session that answers with `send`; call the result with each message the client sends. */
export function stompSession(send: (text: string) => void): (text: string) => void {
  const subs = new Map<string, string>();
  let n = 0;
  return (text) => {
    if (/^\r?\n$/.test(text)) return;
    const [head = '', body = ''] = text.replace(/\0[\r\n]*$/, '').split('\n\n');
    const [command, ...lines] = head.split('\n');
    const h = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
    if (command === 'CONNECT' || command === 'STOMP') {
      send(stompFrame('CONNECTED', { version: '1.2', 'heart-beat': '0,50', server: 'test/1' }));
      send('\n');
      return;
    }
    if (command === 'SUBSCRIBE') subs.set(h['id']!, h['destination']!);
    if (command === 'UNSUBSCRIBE') subs.delete(h['id']!);
    if (command === 'SEND') for (const [id, dest] of subs) if (dest === h['destination']) send(stompFrame('MESSAGE', { subscription: id, 'message-id': String(++n), destination: dest, 'content-type': 'text/plain' }, body));
    if (h['receipt'] && h['destination'] !== '/queue/stuck') send(stompFrame('RECEIPT', { 'receipt-id': h['receipt'] }));
  };
}
