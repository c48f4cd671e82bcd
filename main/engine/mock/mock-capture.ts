// What `framescope mock` plays, read from one recorded connection: the client's messages in
// order, and after each (group 0: before any) what the server sent until the client's next
// message, with the server's close where it came. Any input `import` reads will do.
import type { CaptureSource } from '../recording/capture-source';
import type { FrameRecord } from '../../../shared/model';
import { headerList } from '../../../shared/codec/handshake';

export interface RecordedMessage {
  opcode: 1 | 2;
  data: Uint8Array;
  /** when it was on the wire (ms, the capture's clock) */
  time: number;
}

export type ServerStep = ({ kind: 'message' } & RecordedMessage) | { kind: 'close'; code: number | null; reason: string; time: number };

export interface MockRecording {
  connection: string;
  /** the recorded response's subprotocol, if it chose one */
  protocol: string | null;
  /** the recorded response accepted permessage-deflate */
  deflate: boolean;
  client: RecordedMessage[];
  /** groups[k]: what the server sent after the client's k-th message (groups[0]: before any); client.length + 1 groups */
  groups: ServerStep[][];
  /** when the first group's clock starts: the response head, else the connection's start */
  openedAt: number;
  /** what the user should hear (a payload stored cut short) */
  warnings: string[];
}

export class MockCaptureError extends Error {
  override name = 'MockCaptureError';
}

const GONE = new Set(['dropped', 'replaced', 'undelivered', 'closed']);

/** Picks the connection (`id`, else the first whose handshake was answered 101) and reads it. */
export function readMockRecording(source: CaptureSource, id?: string): MockRecording {
  const conns = source.connections;
  if (conns.length === 0) throw new MockCaptureError(`${source.file}: the capture holds no connection`);
  const index = id !== undefined ? conns.findIndex((c) => c.head.id === id) : conns.findIndex((c) => c.head.handshake?.response?.status === 101);
  if (index < 0) {
    throw new MockCaptureError(
      id !== undefined
        ? `${source.file}: no connection ${id} (it holds ${conns.map((c) => c.head.id).join(', ')})`
        : `${source.file}: no connection whose handshake was answered 101 Switching Protocols`,
    );
  }
  const head = conns[index]!.head;
  const response = head.handshake?.response ?? null;
  const rec: MockRecording = {
    connection: head.id,
    protocol: response ? (headerList(response.headers, 'sec-websocket-protocol')[0] ?? null) : null,
    deflate: !!response && headerList(response.headers, 'sec-websocket-extensions').some((e) => /^permessage-deflate\b/i.test(e.trim())),
    client: [],
    groups: [[]],
    openedAt: head.handshake?.responseAt ?? head.startedAt,
    warnings: [],
  };
  // A fragmented message's opcode is on its first frame, its whole data on its last.
  const opcodeOf: Record<string, 1 | 2> = {};
  // The server's close is played only where the server closed first: one answering the
  // client's is the endpoint's own echo.
  let closed = false;
  for (const f of source.frames(index)) {
    if (f.opcode === 1 || f.opcode === 2) opcodeOf[f.from] = f.opcode;
    if (f.opcode === 8 && !closed && f.intervention?.decision === undefined) {
      closed = true;
      if (f.from === 'server') rec.groups.at(-1)!.push({ kind: 'close', code: f.close?.code ?? null, reason: f.close?.reason ?? '', time: f.time });
      continue;
    }
    const m = messageOf(f, opcodeOf[f.from]);
    if (!m) continue;
    if (f.truncated || f.message?.truncated) rec.warnings.push(`${head.id} frame ${f.seq}: the capture kept only part of this message; the part is played`);
    if (f.from === 'client') {
      rec.client.push(m);
      rec.groups.push([]);
    } else if (!closed) {
      rec.groups.at(-1)!.push({ kind: 'message', ...m });
    }
  }
  return rec;
}

/** The data message a frame completes, as its receiver got it; null for other frames. */
function messageOf(f: FrameRecord, opcode: 1 | 2 | undefined): RecordedMessage | null {
  if (!f.fin || (f.opcode !== 0 && f.opcode !== 1 && f.opcode !== 2)) return null;
  // A message a proxy's script or rule kept from its receiver was never delivered.
  if (f.intervention?.decision && GONE.has(f.intervention.decision)) return null;
  if (f.message) return { opcode: f.message.opcode, data: f.message.data, time: f.time };
  if (f.opcode === 0 && !opcode) return null;
  return { opcode: f.opcode === 0 ? opcode! : (f.opcode as 1 | 2), data: f.payload, time: f.time };
}
