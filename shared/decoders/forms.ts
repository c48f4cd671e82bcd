// A decoded message in its protocol's own terms, as the user edits it, and the encoders that
// turn such a form back into the exact wire message(s) (docs/contracts.md "Editing decoded
// messages"). Sans-I/O: forms in, bytes out; MQTT's encoder needs mqtt-packet and lives in
// main/engine/decoders/mqtt-form.ts. JSON values travel as JSON text, so that a typing
// mistake is the encoder's to report ("args: not JSON …") rather than the transport's.
//
// Exactness: what a library wrote decodes to a form that encodes to the same bytes (JSON is
// written compactly, keys in the order they came; STOMP headers in their order).
import { fromBase64, utf8Encode } from '../bytes';
import { parseJson, textOf } from './pairing';
import { parseSocketIo } from './socket-io';
import { parseStomp } from './stomp';

export const SIO_PACKET_TYPES = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'] as const;
export type SioPacketType = (typeof SIO_PACKET_TYPES)[number];

export interface SocketIoForm {
  protocol: 'socket.io';
  /** Engine.IO version: 3 prefixes a binary attachment with 0x04, 4 sends it raw */
  eio: 3 | 4;
  type: SioPacketType;
  /** '/' or '/admin' */
  nsp: string;
  /** EVENT, BINARY_EVENT: the event's name */
  event?: string;
  /**
   * JSON text. Events and acks: the array of arguments (after the name); CONNECT,
   * CONNECT_ERROR: the packet's data, '' for none. Binary data is a placeholder
   * `{"_placeholder":true,"num":N}` standing for attachment N.
   */
  args: string;
  /** the ack id (an event that asks for an ack, the ack that answers it) */
  id?: number;
  /** BINARY_*: the attachments, base64, in order; each goes as its own binary message after the packet */
  attachments?: string[];
}

export type GraphqlFlavour = 'graphql-transport-ws' | 'graphql-ws';

export interface GraphqlForm {
  protocol: GraphqlFlavour;
  /** the message type: subscribe, next, connection_init, start, … */
  type: string;
  /** the operation id */
  id?: string;
  /** subscribe/start: the operation's document */
  query?: string;
  /** subscribe/start: JSON text of the variables object ('' for none) */
  variables?: string;
  /** subscribe/start: '' for none */
  operationName?: string;
  /** subscribe/start: JSON text of the extensions ('' for none) */
  extensions?: string;
  /** other messages: JSON text of the payload ('' for none) */
  payload?: string;
  /** the order of the operation's payload keys as they came (exact re-encoding) */
  payloadKeys?: string[];
}

export interface StompForm {
  protocol: 'stomp';
  command: string;
  /** in order; repeated names allowed (the first counts) */
  headers: Array<[string, string]>;
  body: string;
  /** header escaping: 1.0 none, 1.1 \n \c \\, 1.2 also \r (default 1.2); CONNECT/CONNECTED are never escaped */
  version?: '1.0' | '1.1' | '1.2';
}

export interface MqttForm {
  protocol: 'mqtt';
  /** 3 (3.1), 4 (3.1.1), 5 */
  version: 3 | 4 | 5;
  topic: string;
  /** the payload as text (UTF-8) or hex */
  payload: string;
  payloadFormat: 'text' | 'hex';
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  /** QoS 1 and 2: the packet identifier */
  messageId?: number;
}

export interface JsonRpcForm {
  protocol: 'json-rpc';
  kind: 'request' | 'notification' | 'result' | 'error';
  method?: string;
  /** JSON text; '' for none */
  params?: string;
  /** JSON text of the id: 1, "a1", null; absent for a notification */
  id?: string;
  /** result/error: JSON text of the result or of the error object */
  result?: string;
  /** the top-level keys in the order they came (exact re-encoding) */
  keys?: string[];
}

export type DecodedForm = SocketIoForm | GraphqlForm | StompForm | MqttForm | JsonRpcForm;
export type FormProtocol = DecodedForm['protocol'];
export const FORM_PROTOCOLS: readonly FormProtocol[] = ['socket.io', 'graphql-transport-ws', 'graphql-ws', 'stomp', 'mqtt', 'json-rpc'];

/** One WebSocket data message of an encoded form. */
export interface WireMessage {
  opcode: 1 | 2;
  data: Uint8Array;
}

/** A form the encoder refuses: the message says which field and why, in one line. */
export class FormError extends Error {
  override name = 'FormError';
}

const bad = (msg: string): never => {
  throw new FormError(msg);
};

/** Parses a JSON field; '' is undefined when `optional`. */
function jsonField(name: string, text: string | undefined, optional: boolean): unknown {
  if (text === undefined || text.trim() === '') {
    if (optional) return undefined;
    bad(`${name}: empty; it needs JSON`);
  }
  try {
    return JSON.parse(text!);
  } catch (e) {
    return bad(`${name}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// -- Socket.IO --------------------------------------------------------------------------

/** How a held or composed binary packet's attachments are accounted for. */
export interface SioContext {
  /** held editor: the number of attachments that follow as their own messages (the form carries none) */
  attachmentsFollow?: number;
}

/** The placeholders' numbers in a value, in the order they appear. */
function placeholders(v: unknown, out: number[] = []): number[] {
  if (Array.isArray(v)) for (const x of v) placeholders(x, out);
  else if (obj(v)) {
    if (v['_placeholder'] === true && typeof v['num'] === 'number') out.push(v['num']);
    else for (const k in v) placeholders(v[k], out);
  }
  return out;
}

/** The form of a Socket.IO message packet's text (after Engine.IO's `4`), or why it has none. */
export function socketIoFormOf(text: string, eio: 3 | 4): SocketIoForm | string {
  if (text[0] !== '4') return text[0] === undefined ? 'an empty message' : `an Engine.IO ${['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'][Number(text[0])] ?? 'packet'}, not a Socket.IO packet: edit it as text`;
  const p = parseSocketIo(text.slice(1));
  if (typeof p === 'string') return p;
  const type = SIO_PACKET_TYPES[p.type]!;
  const f: SocketIoForm = { protocol: 'socket.io', eio, type, nsp: p.nsp, args: '' };
  if (p.id !== undefined) f.id = p.id;
  if (p.type === 2 || p.type === 5) {
    const [name, ...args] = p.data as unknown[];
    if (typeof name !== 'string') return 'an event whose name is not a string: edit it as text';
    f.event = name;
    f.args = JSON.stringify(args);
  } else if (p.data !== undefined) f.args = JSON.stringify(p.data);
  return f;
}

/**
 * The packet's messages: the text packet (`4` + `<type>[<n>-][<nsp>,][<id>][<JSON>]`, as
 * socket.io-parser writes it), then one binary message per attachment.
 */
export function encodeSocketIo(f: SocketIoForm, ctx: SioContext = {}): WireMessage[] {
  const t = SIO_PACKET_TYPES.indexOf(f.type);
  if (t < 0) bad(`type: one of ${SIO_PACKET_TYPES.join(', ')}`);
  if (f.nsp !== '/' && !/^\/[^,]*$/.test(f.nsp)) bad('namespace: "/" or "/name" (no comma)');
  if (f.id !== undefined && !(Number.isSafeInteger(f.id) && f.id >= 0)) bad('ack id: a whole number from 0');
  let data: unknown;
  const isEvent = f.type === 'EVENT' || f.type === 'BINARY_EVENT';
  const isAck = f.type === 'ACK' || f.type === 'BINARY_ACK';
  if (isEvent || isAck) {
    const args = jsonField('args', f.args.trim() === '' ? '[]' : f.args, false);
    if (!Array.isArray(args)) bad('args: a JSON array of the arguments');
    if (isEvent) {
      if (typeof f.event !== 'string' || f.event === '') bad('event: the event needs a name');
      data = [f.event, ...(args as unknown[])];
    } else data = args;
    if (isAck && f.id === undefined) bad('ack id: an ack needs the id of the event it answers');
  } else {
    data = jsonField('args', f.args, true);
    if (f.type === 'DISCONNECT' && data !== undefined) bad('args: a DISCONNECT carries no data');
  }
  const binary = f.type === 'BINARY_EVENT' || f.type === 'BINARY_ACK';
  const nums = placeholders(data);
  let count = 0;
  if (binary) {
    count = ctx.attachmentsFollow ?? f.attachments?.length ?? 0;
    if (ctx.attachmentsFollow !== undefined && f.attachments !== undefined && f.attachments.length > 0) {
      bad('attachments: a held packet\'s attachments follow as their own messages; edit them when they are held');
    }
    const sorted = [...nums].sort((a, b) => a - b);
    if (sorted.length !== count || sorted.some((n, i) => n !== i)) {
      bad(
        ctx.attachmentsFollow !== undefined
          ? `args: the ${count} attachment${count === 1 ? '' : 's'} that follow need their placeholders {"_placeholder":true,"num":0${count > 1 ? `…${count - 1}` : ''}}, each once (an attachment cannot be added or removed here)`
          : `args: ${count} attachment${count === 1 ? '' : 's'} need placeholders {"_placeholder":true,"num":0${count > 1 ? `…${count - 1}` : ''}}, each once`,
      );
    }
    if (count === 0) bad(`type: a ${f.type} needs at least one attachment (else send ${f.type === 'BINARY_EVENT' ? 'EVENT' : 'ACK'})`);
  } else if (nums.length > 0) bad(`args: placeholders belong to BINARY_EVENT and BINARY_ACK, not ${f.type}`);
  else if (ctx.attachmentsFollow) bad(`type: the ${ctx.attachmentsFollow} attachment${ctx.attachmentsFollow === 1 ? '' : 's'} that follow belong to a BINARY_EVENT or BINARY_ACK`);
  let s = `4${t}`;
  if (binary) s += `${count}-`;
  if (f.nsp !== '/') s += `${f.nsp},`;
  if (f.id !== undefined) s += String(f.id);
  if (data !== undefined) s += JSON.stringify(data);
  const out: WireMessage[] = [{ opcode: 1, data: utf8Encode(s) }];
  for (const [i, a] of (ctx.attachmentsFollow === undefined ? (f.attachments ?? []) : []).entries()) {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(a);
    } catch {
      return bad(`attachments[${i}]: not base64`);
    }
    if (f.eio === 3) {
      const b = new Uint8Array(bytes.length + 1);
      b[0] = 4;
      b.set(bytes, 1);
      bytes = b;
    }
    out.push({ opcode: 2, data: bytes });
  }
  return out;
}

/** The attachments a held Socket.IO packet announces (0 for others). */
export function socketIoAttachments(text: string): number {
  if (text[0] !== '4') return 0;
  const p = parseSocketIo(text.slice(1));
  return typeof p === 'string' ? 0 : (p.attachments ?? 0);
}

// -- GraphQL ----------------------------------------------------------------------------

const OP_FIELDS = ['query', 'variables', 'operationName', 'extensions'] as const;

export function graphqlFormOf(text: string, protocol: GraphqlFlavour): GraphqlForm | string {
  const v = parseJson(text);
  if (!obj(v)) return 'not a JSON object';
  if (typeof v['type'] !== 'string') return 'no "type"';
  const keys = Object.keys(v);
  // Exact re-encoding writes {id, type, payload}: a message with other keys or order is edited as text.
  const expected = ['id', 'type', 'payload'].filter((k) => k in v);
  if (keys.join() !== expected.join()) return 'a message with other fields than id, type, payload (or in another order): edit it as text';
  const f: GraphqlForm = { protocol, type: v['type'] };
  if (v['id'] !== undefined) {
    if (typeof v['id'] !== 'string') return 'an id that is not a string: edit it as text';
    f.id = v['id'];
  }
  const p = v['payload'];
  if ((f.type === 'subscribe' || f.type === 'start') && obj(p) && Object.keys(p).every((k) => (OP_FIELDS as readonly string[]).includes(k)) && typeof p['query'] === 'string') {
    f.query = p['query'];
    f.variables = p['variables'] === undefined ? '' : JSON.stringify(p['variables']);
    if (p['operationName'] === null) return 'an operationName of null: edit it as text';
    f.operationName = typeof p['operationName'] === 'string' ? p['operationName'] : '';
    f.extensions = p['extensions'] === undefined ? '' : JSON.stringify(p['extensions']);
    f.payloadKeys = Object.keys(p);
  } else f.payload = p === undefined ? '' : JSON.stringify(p);
  return f;
}

export function encodeGraphql(f: GraphqlForm): WireMessage[] {
  if (typeof f.type !== 'string' || !/^[a-z_]+$/.test(f.type)) bad('type: a message type such as subscribe, next, complete');
  let payload: unknown;
  if (f.query !== undefined) {
    if (f.payload !== undefined && f.payload.trim() !== '') bad('payload: an operation is written as query, variables, operationName and extensions');
    const fields: Record<string, unknown> = { query: f.query };
    const variables = jsonField('variables', f.variables, true);
    if (variables !== undefined && !obj(variables)) bad('variables: a JSON object');
    if (variables !== undefined) fields['variables'] = variables;
    if (f.operationName) fields['operationName'] = f.operationName;
    const extensions = jsonField('extensions', f.extensions, true);
    if (extensions !== undefined) fields['extensions'] = extensions;
    const order = [...(f.payloadKeys ?? []).filter((k) => k in fields), ...OP_FIELDS.filter((k) => k in fields && !(f.payloadKeys ?? []).includes(k))];
    payload = Object.fromEntries(order.map((k) => [k, fields[k]]));
  } else payload = jsonField('payload', f.payload, true);
  const msg: Record<string, unknown> = {};
  if (f.id !== undefined) msg['id'] = f.id;
  msg['type'] = f.type;
  if (payload !== undefined) msg['payload'] = payload;
  return [{ opcode: 1, data: utf8Encode(JSON.stringify(msg)) }];
}

// -- STOMP ------------------------------------------------------------------------------

function stompEscape(v: string, version: '1.0' | '1.1' | '1.2'): string {
  if (version === '1.0') return v;
  const s = v.replace(/\\/g, '\\\\');
  return (version === '1.2' ? s.replace(/\r/g, '\\r') : s).replace(/\n/g, '\\n').replace(/:/g, '\\c');
}

export function stompFormOf(text: string, version: '1.0' | '1.1' | '1.2' = '1.2'): StompForm | string {
  if (/^(\r?\n)+$/.test(text)) return 'a heart-beat: nothing to edit';
  // A frame written with CRLF line ends, or with EOLs after its NUL, is edited as text: the form writes LF.
  const frames = parseStomp(text, version !== '1.0');
  if (typeof frames === 'string') return frames;
  if (frames.length !== 1) return `${frames.length} frames in one message: edit it as text`;
  const f = frames[0]!;
  const form: StompForm = { protocol: 'stomp', command: f.command, headers: f.headers, body: f.body, version };
  return form;
}

/** One frame: command, escaped headers, a blank line, the body and NUL; content-length kept true. */
export function encodeStomp(f: StompForm): WireMessage[] {
  const version = f.version ?? '1.2';
  if (!/^[A-Z]+$/.test(f.command)) bad('command: upper-case letters, such as SEND');
  const raw = f.command === 'CONNECT' || f.command === 'CONNECTED';
  const length = String(utf8Encode(f.body).length);
  const headers = f.headers.map(([k, v], i): [string, string] => {
    if (k === '') bad(`headers[${i}]: a header needs a name`);
    if (raw && /[\r\n]/.test(k + v)) bad(`headers[${i}]: a ${f.command} header cannot hold a line break (its headers are not escaped)`);
    if (raw && k.includes(':')) bad(`headers[${i}]: a ${f.command} header name cannot hold ":"`);
    if (version === '1.0' && /[\r\n]/.test(k + v)) bad(`headers[${i}]: STOMP 1.0 cannot escape a line break`);
    if (version === '1.0' && k.includes(':')) bad(`headers[${i}]: STOMP 1.0 cannot escape ":" in a name`);
    return k === 'content-length' ? [k, length] : [k, v];
  });
  // A body with NUL in it needs its length said, else the NUL ends it.
  if (f.body.includes('\0') && !headers.some(([k]) => k === 'content-length')) headers.push(['content-length', length]);
  let s = f.command + '\n';
  for (const [k, v] of headers) s += raw ? `${k}:${v}\n` : `${stompEscape(k, version)}:${stompEscape(v, version)}\n`;
  s += '\n' + f.body + '\0';
  return [{ opcode: 1, data: utf8Encode(s) }];
}

// -- JSON-RPC ---------------------------------------------------------------------------

export function jsonRpcFormOf(text: string): JsonRpcForm | string {
  const v = parseJson(text);
  if (Array.isArray(v)) return 'a batch: edit it as text';
  if (!obj(v) || v['jsonrpc'] !== '2.0') return 'not a JSON-RPC 2.0 object';
  const f: JsonRpcForm = { protocol: 'json-rpc', kind: 'notification', keys: Object.keys(v) };
  if ('id' in v) f.id = JSON.stringify(v['id']);
  if (typeof v['method'] === 'string') {
    f.kind = 'id' in v ? 'request' : 'notification';
    f.method = v['method'];
    f.params = 'params' in v ? JSON.stringify(v['params']) : '';
  } else if ('result' in v || 'error' in v) {
    f.kind = 'result' in v ? 'result' : 'error';
    f.result = JSON.stringify('result' in v ? v['result'] : v['error']);
  } else return 'neither a request nor a response';
  if (f.keys!.some((k) => !['jsonrpc', 'method', 'params', 'id', 'result', 'error'].includes(k))) return 'a message with fields JSON-RPC does not name: edit it as text';
  return f;
}

export function encodeJsonRpc(f: JsonRpcForm): WireMessage[] {
  const fields: Record<string, unknown> = { jsonrpc: '2.0' };
  if (f.kind === 'request' || f.kind === 'notification') {
    if (!f.method) bad('method: a request needs a method');
    fields['method'] = f.method;
    const params = jsonField('params', f.params, true);
    if (params !== undefined && typeof params !== 'object') bad('params: a JSON array or object');
    if (params !== undefined) fields['params'] = params;
  } else fields[f.kind] = jsonField(f.kind, f.result, false);
  if (f.kind !== 'notification') {
    const id = jsonField('id', f.id, false);
    if (id !== null && typeof id !== 'string' && typeof id !== 'number') bad('id: a number, a string or null');
    fields['id'] = id;
  }
  const order = [...(f.keys ?? []).filter((k) => k in fields), ...['jsonrpc', 'id', 'method', 'params', 'result', 'error'].filter((k) => k in fields && !(f.keys ?? []).includes(k))];
  return [{ opcode: 1, data: utf8Encode(JSON.stringify(Object.fromEntries(order.map((k) => [k, fields[k]])))) }];
}

// -- all --------------------------------------------------------------------------------

/** What the form of a message depends on beyond its bytes. */
export interface FormContext {
  eio?: 3 | 4;
  stompVersion?: '1.0' | '1.1' | '1.2';
}

/** The form of one text message of a protocol decoded here in shared/ (not MQTT), or why not. */
export function textFormOf(protocol: Exclude<FormProtocol, 'mqtt'>, opcode: 1 | 2, data: Uint8Array, ctx: FormContext = {}): DecodedForm | string {
  const text = textOf(data);
  if (opcode === 2) return protocol === 'socket.io' ? 'a binary attachment of a Socket.IO packet: edit its bytes as hex' : 'a binary message: edit it as hex';
  if (text === null) return 'not UTF-8: edit it as hex';
  switch (protocol) {
    case 'socket.io':
      return socketIoFormOf(text, ctx.eio ?? 4);
    case 'graphql-transport-ws':
    case 'graphql-ws':
      return graphqlFormOf(text, protocol);
    case 'stomp':
      return stompFormOf(text, ctx.stompVersion);
    case 'json-rpc':
      return jsonRpcFormOf(text);
  }
}

/** The messages a form (other than MQTT's) becomes; a FormError says what is wrong. */
export function encodeTextForm(f: Exclude<DecodedForm, MqttForm>, sio: SioContext = {}): WireMessage[] {
  switch (f.protocol) {
    case 'socket.io':
      return encodeSocketIo(f, sio);
    case 'graphql-transport-ws':
    case 'graphql-ws':
      return encodeGraphql(f);
    case 'stomp':
      return encodeStomp(f);
    case 'json-rpc':
      return encodeJsonRpc(f);
  }
}

/** A new message's starting form for a protocol (the composer's "Compose as"). */
export function blankForm(protocol: FormProtocol, ctx: FormContext & { mqttVersion?: 3 | 4 | 5 } = {}): DecodedForm {
  switch (protocol) {
    case 'socket.io':
      return { protocol, eio: ctx.eio ?? 4, type: 'EVENT', nsp: '/', event: 'message', args: '[]' };
    case 'graphql-transport-ws':
      return { protocol, type: 'subscribe', id: '1', query: '{ __typename }', variables: '', operationName: '', extensions: '' };
    case 'graphql-ws':
      return { protocol, type: 'start', id: '1', query: '{ __typename }', variables: '', operationName: '', extensions: '' };
    case 'stomp':
      return { protocol, command: 'SEND', headers: [['destination', '/queue/a']], body: '', version: ctx.stompVersion ?? '1.2' };
    case 'mqtt':
      return { protocol, version: ctx.mqttVersion ?? 4, topic: 'a/b', payload: '', payloadFormat: 'text', qos: 0, retain: false, dup: false };
    case 'json-rpc':
      return { protocol, kind: 'request', method: 'ping', params: '', id: '1' };
  }
}
