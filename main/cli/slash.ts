// The lines of an interactive `connect` (docs/contracts.md "Command line"): a line is a text
// message; a line starting with "/" is a command for what a line cannot say (a ping, a
// close, bytes, any frame at all, invalid ones on purpose); "//" sends a line that starts
// with "/". Parsing only: connect.ts does the sending.
import { fromHex } from '../../shared/bytes';
import type { FrameSpec } from '../../shared/codec/frame-writer';
import { Opcode, isValidWireCloseCode } from '../../shared/codec/protocol';

/**
 * A frame as /frame gives it: the frame writer's spec with every flag stated. Masked with a
 * random key unless `maskKey` is given; `mask: false` sends it unmasked.
 */
export type RawFrameCommand = FrameSpec & { fin: boolean; rsv1: boolean; rsv2: boolean; rsv3: boolean };

export type LineCommand =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'ping'; payload: Uint8Array }
  | { kind: 'pong'; payload: Uint8Array }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'frame'; frame: RawFrameCommand }
  | { kind: 'help' };

/** A line that cannot be carried out: told in one line, and the session goes on. */
export class LineError extends Error {
  override name = 'LineError';
}

export const SLASH_HELP = `commands (any other line is sent as a text message):
  /ping [text]             send a ping; its pong shows the round-trip time
  /pong [text]             send an unsolicited pong
  /close [code [reason]]   start the closing handshake (default 1000), then wait for the server
  /binary <hex>            send a binary message, e.g. /binary 00 ff 10
  /frame <opcode> [option ...] [text=... | hex=...]
                           write one frame exactly as given, valid or not:
      opcode               continuation (cont), text, binary (bin), close, ping, pong, or 0-15
      nofin                clear FIN (default: set)
      rsv1 rsv2 rsv3       set that reserved bit
      nomask               send it unmasked (default: masked with a random key)
      mask=KEY             mask with this key (8 hex digits)
      len=N                state N as the payload length, whatever the payload is
      enc=7|16|64          the length field's encoding (default: the shortest)
      text=...  hex=...    the payload (default: empty), to the end of the line
  /help                    this list
  //...                    send a text message that starts with "/"`;

const OPCODES: Record<string, number> = {
  continuation: Opcode.Continuation,
  cont: Opcode.Continuation,
  text: Opcode.Text,
  binary: Opcode.Binary,
  bin: Opcode.Binary,
  close: Opcode.Close,
  ping: Opcode.Ping,
  pong: Opcode.Pong,
};

/** Splits "/name rest of line" at the first run of spaces; `rest` keeps its own spaces. */
function splitCommand(line: string): { name: string; rest: string } {
  const m = /^(\S*)(?:\s(.*))?$/s.exec(line)!;
  return { name: m[1]!, rest: m[2] ?? '' };
}

function hexBytes(text: string, what: string): Uint8Array {
  try {
    return fromHex(text);
  } catch (err) {
    throw new LineError(`${what}: ${(err as Error).message}`);
  }
}

function controlPayload(text: string, name: string): Uint8Array {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length > 125) throw new LineError(`/${name}: a ${name} payload is at most 125 bytes (§5.5); /frame sends a longer one on purpose`);
  return payload;
}

export function parseLine(line: string): LineCommand {
  if (!line.startsWith('/')) return { kind: 'text', text: line };
  if (line.startsWith('//')) return { kind: 'text', text: line.slice(1) };
  const { name, rest } = splitCommand(line.slice(1));
  switch (name) {
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'ping':
      return { kind: 'ping', payload: controlPayload(rest, 'ping') };
    case 'pong':
      return { kind: 'pong', payload: controlPayload(rest, 'pong') };
    case 'binary': {
      if (!rest.trim()) throw new LineError('/binary needs the message as hex, e.g. /binary 00 ff 10');
      return { kind: 'binary', data: hexBytes(rest, '/binary') };
    }
    case 'close':
      return { kind: 'close', ...parseClose(rest.trimStart()) };
    case 'frame':
      return { kind: 'frame', frame: parseFrame(rest) };
    default:
      throw new LineError(`unknown command /${name} (/help lists them; //${name} sends the line as text)`);
  }
}

function parseClose(rest: string): { code: number; reason: string } {
  if (!rest) return { code: 1000, reason: '' };
  const { name: codeText, rest: reason } = splitCommand(rest);
  const code = Number(codeText);
  if (!/^\d+$/.test(codeText) || !isValidWireCloseCode(code)) {
    throw new LineError(`/close takes a code that may be sent (1000-1003, 1007-1014, 3000-4999), got ${JSON.stringify(codeText)}; /frame close sends any`);
  }
  if (Buffer.byteLength(reason) > 123) throw new LineError('/close: a close reason is at most 123 bytes of UTF-8');
  return { code, reason };
}

function parseFrame(rest: string): RawFrameCommand {
  let { name: opText, rest: options } = splitCommand(rest.trimStart());
  if (!opText) throw new LineError('/frame needs an opcode: continuation, text, binary, close, ping, pong or 0-15 (see /help)');
  const opcode = OPCODES[opText.toLowerCase()] ?? (/^(\d+|0x[0-9a-f]+)$/i.test(opText) ? Number(opText) : NaN);
  if (!(opcode >= 0 && opcode <= 15)) throw new LineError(`/frame: unknown opcode ${JSON.stringify(opText)} (a name, or a number 0-15)`);
  const frame: RawFrameCommand = { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode, payload: new Uint8Array(0), mask: true };
  for (;;) {
    options = options.trimStart();
    if (!options) break;
    // The payload runs to the end of the line, spaces and all: it comes last.
    if (options.startsWith('text=')) {
      frame.payload = Buffer.from(options.slice(5), 'utf8');
      break;
    }
    if (options.startsWith('hex=')) {
      frame.payload = hexBytes(options.slice(4), '/frame hex=');
      break;
    }
    const next = splitCommand(options);
    options = next.rest;
    const token = next.name;
    const [key, value] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, undefined];
    switch (value === undefined ? key.toLowerCase() : `${key.toLowerCase()}=`) {
      case 'nofin':
        frame.fin = false;
        break;
      case 'fin':
        frame.fin = true;
        break;
      case 'rsv1':
      case 'rsv2':
      case 'rsv3':
        frame[key.toLowerCase() as 'rsv1' | 'rsv2' | 'rsv3'] = true;
        break;
      case 'nomask':
        frame.mask = false;
        frame.maskKey = undefined;
        break;
      case 'mask=': {
        if (!/^[0-9a-f]{8}$/i.test(value!)) throw new LineError(`/frame: mask=KEY takes 8 hex digits, got ${JSON.stringify(value)}`);
        frame.mask = true;
        frame.maskKey = Buffer.from(value!, 'hex');
        break;
      }
      case 'len=': {
        const n = Number(value);
        if (!/^\d+$/.test(value!) || !Number.isSafeInteger(n)) throw new LineError(`/frame: len=N takes a whole number, got ${JSON.stringify(value)}`);
        frame.length = n;
        break;
      }
      case 'enc=': {
        if (value !== '7' && value !== '16' && value !== '64') throw new LineError(`/frame: enc= is 7, 16 or 64, got ${JSON.stringify(value)}`);
        frame.lengthEncoding = Number(value) as NonNullable<FrameSpec['lengthEncoding']>;
        break;
      }
      default:
        throw new LineError(`/frame: unknown option ${JSON.stringify(token)} (see /help)`);
    }
  }
  return frame;
}
