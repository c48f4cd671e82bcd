// The decoders whose parsers the engine holds, for the DecodeTracker (shared/decoders EngineDecoders).
import type { EngineDecoders } from '../../../shared/decoders';
import { CborDecoder } from './cbor';
import { MqttDecoder } from './mqtt';
import { MsgpackDecoder, msgpackJson } from './msgpack';
import { SignalRDecoder } from '../../../shared/decoders/signalr';
import { ProtobufDecoder, type ProtoTypes } from './protobuf';

export const ENGINE_DECODERS: EngineDecoders = {
  mqtt: () => new MqttDecoder(),
  msgpack: () => new MsgpackDecoder(),
  cbor: () => new CborDecoder(),
  protobuf: () => new ProtobufDecoder(),
  // SignalR's MessagePack records, shown as the msgpack decoder shows its values.
  signalr: () => new SignalRDecoder(msgpackJson),
};

/** The engine's decoders, protobuf with these message types (a .proto's, docs/guide.md). */
export function withProto(types: ProtoTypes): EngineDecoders {
  return { ...ENGINE_DECODERS, protobuf: () => new ProtobufDecoder(types) };
}
