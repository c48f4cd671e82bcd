// MQTT PUBLISH as a form (shared/decoders/forms.ts MqttForm) and back, with mqtt-packet: the
// parser and generator the mqtt client and aedes use, so what they wrote re-encodes the same.
// A held PUBLISH's MQTT 5 properties are not in the form: they pass through from the original.
import { Buffer } from 'node:buffer';
import { generate, parser as mqttParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { fromHex, toHex, utf8Encode } from '../../../shared/bytes';
import { FormError, type MqttForm, type WireMessage } from '../../../shared/decoders/forms';
import { textOf } from '../../../shared/decoders/pairing';

/** The packets of one message, parsed as `version`; a string says why not. */
function parseAll(data: Uint8Array, version: 3 | 4 | 5): Packet[] | string {
  const p = mqttParser({ protocolVersion: version });
  const out: Packet[] = [];
  let error: string | null = null;
  p.on('packet', (x) => out.push(x));
  p.on('error', (e: unknown) => (error ??= e instanceof Error ? e.message : String(e)));
  const left = p.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  if (error) return error;
  // MQTT over WebSocket is a byte stream: a packet may span messages (mqtt.js in Node writes a
  // PUBLISH's payload as a message of its own); a part of a packet is no form.
  if (left > 0 || out.length === 0) return 'part of a packet (MQTT over WebSocket is a byte stream): edit it as hex';
  return out;
}

/** The one PUBLISH a message carries, or why it is not one. */
function publishOf(data: Uint8Array, version: 3 | 4 | 5): IPublishPacket | string {
  const packets = parseAll(data, version);
  if (typeof packets === 'string') return packets;
  if (packets.length !== 1) return `${packets.length} packets in one message: edit it as hex`;
  const p = packets[0]!;
  if (p.cmd !== 'publish') return `a ${p.cmd.toUpperCase()}: only a PUBLISH is edited as a form (edit it as hex)`;
  return p;
}

export function mqttFormOf(data: Uint8Array, version: 3 | 4 | 5): MqttForm | string {
  const p = publishOf(data, version);
  if (typeof p === 'string') return p;
  const payload = typeof p.payload === 'string' ? utf8Encode(p.payload) : new Uint8Array(p.payload);
  const text = textOf(payload);
  const f: MqttForm = {
    protocol: 'mqtt',
    version,
    topic: p.topic,
    payload: text ?? toHex(payload, ' '),
    payloadFormat: text !== null ? 'text' : 'hex',
    qos: p.qos,
    retain: p.retain,
    dup: p.dup,
  };
  if (p.messageId !== undefined && p.qos > 0) f.messageId = p.messageId;
  return f;
}

const bad = (msg: string): never => {
  throw new FormError(msg);
};

/** The PUBLISH a form becomes; `original`: the held message, whose v5 properties pass through. */
export function encodeMqtt(f: MqttForm, original?: Uint8Array): WireMessage[] {
  if (f.version !== 3 && f.version !== 4 && f.version !== 5) bad('version: 3, 4 or 5');
  if (f.topic === '' && f.version !== 5) bad('topic: a PUBLISH needs a topic');
  if (/[+#\0]/.test(f.topic)) bad('topic: a PUBLISH topic cannot hold the wildcards + and #, nor NUL');
  if (f.qos !== 0 && f.qos !== 1 && f.qos !== 2) bad('qos: 0, 1 or 2');
  let payload: Uint8Array;
  try {
    payload = f.payloadFormat === 'hex' ? fromHex(f.payload) : utf8Encode(f.payload);
  } catch (e) {
    return bad(`payload: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (f.qos > 0 && !(Number.isInteger(f.messageId) && f.messageId! >= 1 && f.messageId! <= 65535)) bad('packet id: QoS 1 and 2 need a packet id from 1 to 65535');
  const packet: IPublishPacket = { cmd: 'publish', topic: f.topic, payload: Buffer.from(payload), qos: f.qos, retain: f.retain, dup: f.dup };
  if (f.qos > 0) packet.messageId = f.messageId!;
  if (original && f.version === 5) {
    const o = publishOf(original, 5);
    if (typeof o !== 'string' && o.properties) packet.properties = o.properties;
  }
  let bytes: Buffer;
  try {
    bytes = generate(packet, { protocolVersion: f.version });
  } catch (e) {
    return bad(e instanceof Error ? e.message : String(e));
  }
  return [{ opcode: 2, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }];
}
