// The decoders whose parsers need Node, for the DecodeTracker (shared/decoders EngineDecoders).
import type { EngineDecoders } from '../../../shared/decoders';
import { MqttDecoder } from './mqtt';

export const ENGINE_DECODERS: EngineDecoders = {
  mqtt: () => new MqttDecoder(),
};
