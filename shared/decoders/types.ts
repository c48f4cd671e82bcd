// What a decoder says about one data message (docs/contracts.md "Decoded messages").
// Decoding is derived: captures keep the bytes, and these records are made again from them
// whenever they are shown, so another decoder can be chosen later.
import type { Side } from '../model';

/** Every protocol id the contract names; DECODABLE lists those decoded so far. */
export const PROTOCOL_IDS = [
  'socket.io',
  'engine.io',
  'graphql-transport-ws',
  'graphql-ws',
  'stomp',
  'sockjs',
  'signalr',
  'json-rpc',
  'mqtt',
  'msgpack',
  'cbor',
  'protobuf',
] as const;
export type ProtocolId = (typeof PROTOCOL_IDS)[number];

/** The protocols this build decodes (a `--decode` name must be one of these, or none/auto). */
export const DECODABLE = ['socket.io', 'engine.io', 'graphql-transport-ws', 'graphql-ws', 'json-rpc', 'mqtt', 'stomp', 'signalr', 'sockjs', 'msgpack', 'cbor', 'protobuf'] as const satisfies readonly ProtocolId[];
export type DecodableId = (typeof DECODABLE)[number];

/** A .proto file's size at most (and each file it imports), from the command line or the UI. */
export const MAX_PROTO_BYTES = 1024 * 1024;

/** `--decode`: detect (auto), never decode (none), or decode as this protocol. */
export type DecodeChoice = 'auto' | 'none' | DecodableId;

export interface Decoded {
  protocol: ProtocolId;
  /** the protocol's own name for the packet (EVENT, ACK, subscribe, next, ping…), or 'invalid' */
  type: string;
  /** the event, operation or method */
  name?: string;
  /** the correlation id (ack id, operation id, JSON-RPC id), as text */
  id?: string;
  /** a keep-alive */
  heartbeat?: true;
  /** the seq of the frame this message answers */
  pairedWith?: number;
  /** ms between the frame it answers and this one */
  latencyMs?: number;
  /** one short line */
  summary: string;
  /** the framing the message came in, when the record is the protocol inside it (STOMP over SockJS) */
  via?: 'sockjs';
  /** the packet's payload as JSON (the protocol's data, not its framing) */
  value?: unknown;
}

/** A request the connection ended without an answer to. */
export interface Unanswered {
  seq: number;
  protocol: ProtocolId;
  type: string;
  name?: string;
  id?: string;
}

/** One data message as a decoder sees it: whole, inflated, in wire order. */
export interface InMessage {
  seq: number;
  time: number;
  from: Side;
  opcode: 1 | 2;
  data: Uint8Array;
}

/** A connection's decoder for one protocol: it keeps what the protocol makes stateful. */
export interface ProtocolDecoder {
  readonly protocol: ProtocolId;
  decode(m: InMessage): Decoded;
  /** the requests not answered so far: when the connection ends, and whenever a view asks (it changes nothing) */
  unanswered(): Unanswered[];
}

/**
 * Decoders that parse with a library the engine holds (mqtt-packet, @msgpack/msgpack, cbor-x,
 * protobufjs): the engine gives them to the tracker, so shared/ stays free of Node and the
 * UI's bundle of them. Without one, its protocol's messages say so.
 */
export type EngineDecoders = Partial<Record<DecodableId, () => ProtocolDecoder>>;

export function other(side: Side): Side {
  return side === 'client' ? 'server' : 'client';
}
