// Editing decoded messages (docs/contracts.md "Editing decoded messages"): a held message's
// form in its connection's protocol, a blank form to compose one, and the exact messages a
// form becomes. The engine encodes: the UI sends forms, checked here, never bytes it made.
import type { EncodedForm, EditFormResult } from '../../../shared/contract';
import { fromBase64, toBase64 } from '../../../shared/bytes';
import { eioOf } from '../../../shared/decoders/index';
import { FORM_PROTOCOLS, FormError, blankForm, encodeTextForm, socketIoAttachments, textFormOf, type DecodedForm, type FormProtocol, type WireMessage } from '../../../shared/decoders/forms';
import { textOf } from '../../../shared/decoders/pairing';
import type { ProtocolDecoder, ProtocolId } from '../../../shared/decoders/types';
import { encodeMqtt, mqttFormOf } from '../decoders/mqtt-form';
import { MqttDecoder } from '../decoders/mqtt';
import { StompDecoder } from '../../../shared/decoders/stomp';

/** What the engine knows of a connection that its forms depend on. */
export interface FormConnection {
  protocol: ProtocolId | null;
  /** the request target or URL (Socket.IO's EIO= version) */
  target: string | null;
  decoder: ProtocolDecoder | null;
}

/** A held message's bytes, as the engine holds it. */
export interface HeldBytes {
  opcode: 1 | 2;
  /** absent when too large to edit */
  data?: Uint8Array;
}

/** A form that cannot become a message: the text is for the user. */
export class FormRefused extends Error {
  override name = 'FormRefused';
}

function formProtocol(c: FormConnection): FormProtocol | string {
  const p = c.protocol;
  if (p === null) return 'its protocol is not decoded (yet): choose a decoder, or edit it as text';
  if (!(FORM_PROTOCOLS as readonly string[]).includes(p)) return `${p} messages are not edited as forms: edit it as text`;
  return p as FormProtocol;
}

/** The STOMP version the connection agreed (its escaping rules), once its CONNECTED came. */
function stompVersion(c: FormConnection): '1.0' | '1.1' | '1.2' | undefined {
  return c.decoder instanceof StompDecoder ? (c.decoder.version ?? undefined) : undefined;
}

function mqttVersion(c: FormConnection): 3 | 4 | 5 {
  return c.decoder instanceof MqttDecoder ? c.decoder.protocolVersion : 4;
}

export function editForm(c: FormConnection, held?: HeldBytes): EditFormResult {
  const protocol = formProtocol(c);
  if (typeof protocol !== 'string' || !FORM_PROTOCOLS.includes(protocol as FormProtocol)) return { reason: protocol };
  const eio = eioOf(c.target);
  const stomp = stompVersion(c);
  if (!held) return { form: blankForm(protocol as FormProtocol, { eio, mqttVersion: mqttVersion(c), ...(stomp ? { stompVersion: stomp } : {}) }) };
  if (!held.data) return { reason: 'too large to edit' };
  const form = protocol === 'mqtt' ? mqttFormOf(held.data, mqttVersion(c)) : textFormOf(protocol as Exclude<FormProtocol, 'mqtt'>, held.opcode, held.data, { eio, ...(stomp ? { stompVersion: stomp } : {}) });
  return typeof form === 'string' ? { reason: form } : { form };
}

/** The messages a form becomes; `held`: the message it replaces (it must stay one message). */
export function encodeForm(c: FormConnection, form: DecodedForm, held?: HeldBytes): WireMessage[] {
  const protocol = formProtocol(c);
  if (!(FORM_PROTOCOLS as readonly string[]).includes(protocol)) throw new FormRefused(protocol);
  if (form.protocol !== protocol) throw new FormRefused(`this connection is decoded as ${protocol}, not ${form.protocol}`);
  if (held && !held.data) throw new FormRefused('the held message is too large to edit');
  try {
    if (form.protocol === 'mqtt') return encodeMqtt(form, held?.data);
    let attachmentsFollow: number | undefined;
    if (form.protocol === 'socket.io' && held) {
      // A held packet's attachments are the binary messages after it: they go on as they are (or as edited when held).
      const text = held.opcode === 1 ? textOf(held.data!) : null;
      attachmentsFollow = text !== null ? socketIoAttachments(text) : 0;
    }
    return encodeTextForm(form, attachmentsFollow !== undefined ? { attachmentsFollow } : {});
  } catch (e) {
    if (e instanceof FormError) throw new FormRefused(e.message);
    throw e;
  }
}

export function encodedJson(messages: WireMessage[]): EncodedForm {
  return { messages: messages.map((m) => ({ opcode: m.opcode, data: toBase64(m.data) })) };
}

export function heldBytes(h: { opcode: 1 | 2; data?: string }): HeldBytes {
  return h.data !== undefined ? { opcode: h.opcode, data: fromBase64(h.data) } : { opcode: h.opcode };
}
