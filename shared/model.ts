// The capture model. Inside the engine a frame's and a message's content is bytes
// (Uint8Array: header, mask key, payload, message data), never text; the text forms
// (hex and base64) exist only where a text format needs them: capture v1 JSON, NDJSON
// events, HAR, the UI bridge. Those JSON shapes are the *Json types below
// (docs/contracts.md "Capture file v1" and "Events"); shared/records.ts converts.
// Field names are a public contract: add, never rename.

/** Who put the bytes on the wire. */
export type Side = 'client' | 'server';

export type Severity = 'error' | 'warning';

/** A protocol violation found on a frame or message. `id` is a stable kebab-case name. */
export interface Violation {
  id: string;
  /** e.g. "6455 §5.2" */
  rfc: string;
  /** error: the RFC says an endpoint must fail the connection; warning: recorded only. */
  severity: Severity;
  message: string;
}

export type HeaderList = Array<[name: string, value: string]>;

export interface HttpRequestRecord {
  method: string;
  target: string;
  version: string;
  headers: HeaderList;
}

export interface HttpResponseRecord {
  version: string;
  status: number;
  reason: string;
  headers: HeaderList;
}

export interface AcceptRecord {
  key: string;
  expected: string;
  received: string | null;
  valid: boolean;
}

export interface ExtensionRecord {
  name: string;
  params: Record<string, string | true>;
}

export interface HandshakeCheck {
  id: string;
  ok: boolean;
  detail: string;
}

export interface HandshakeRecord {
  request: HttpRequestRecord;
  response: HttpResponseRecord | null;
  requestAt: number;
  responseAt: number | null;
  accept: AcceptRecord;
  protocol: string | null;
  extensions: ExtensionRecord[];
  checks: HandshakeCheck[];
}

/** A data message, reassembled (and inflated) from its frames, on the frame that completes it. */
export interface MessageRecord {
  opcode: 1 | 2;
  /** the message's length in bytes */
  length: number;
  /** the message's bytes (inflated); shorter than `length` when truncated */
  data: Uint8Array;
  truncated?: true;
}

export interface CloseInfo {
  code: number | null;
  reason: string;
}

export interface FrameRecord {
  seq: number;
  time: number;
  from: Side;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** the 4 mask key bytes, or null when unmasked */
  maskKey: Uint8Array | null;
  /** payload length as the header states it */
  length: number;
  /** header bytes exactly as on the wire (2 to 14) */
  header: Uint8Array;
  /** unmasked payload of this frame (still compressed if RSV1) */
  payload: Uint8Array;
  /** set when the stored payload is shorter than `length` */
  truncated?: true;
  /** the stored byte count when truncated */
  stored?: number;
  message?: MessageRecord;
  close?: CloseInfo;
  rtt?: number;
  violations?: Violation[];
  /**
   * The frame was rebuilt from a source without frame-level detail (a HAR's message rows):
   * one FIN frame per message, mask key 00000000 standing in for the unknown one, never
   * compressed. Absent on frames seen on the wire.
   */
  reconstructed?: true;
  /**
   * Framescope wrote this frame (it did not come from `from`): a changed or injected message,
   * a close it made, or a message it re-compressed. `from` is the leg it travels on (toward
   * the server: 'client'). Absent on frames a peer sent.
   */
  by?: 'framescope';
  /** the frame takes part in an intervention (a script, rules, a breakpoint) */
  intervention?: InterventionMark;
  /** the user bookmarked this frame (a capture keeps it; absent: not bookmarked) */
  bookmark?: true;
  /** the user's note on this frame, at most MAX_NOTE characters (absent: none) */
  note?: string;
}

/** The longest note a frame may carry. */
export const MAX_NOTE = 4096;

/**
 * A frame's bookmark and note as the user set them last. Not an engine event: the UI's
 * session journal records one each time they change (readers that do not know it skip it),
 * and a journal read back puts them on the frame's record.
 */
export interface AnnotationEvent {
  event: 'annotation';
  connection: string;
  seq: number;
  bookmark: boolean;
  /** empty: no note */
  note: string;
}

/** What an intervention did; the original frame and the frames written for it share `id`. */
export type InterventionDecision = 'forwarded' | 'replaced' | 'dropped' | 'delayed' | 'closed' | 'undelivered';

export interface InterventionMark {
  /** per connection, from 1: links a held message's frame to the frames Framescope wrote for it */
  id: number;
  /** on the frame a peer sent that completed a held message: what became of it */
  decision?: InterventionDecision;
  /** on Framescope's frames of a message nobody sent (ctx.inject, the composer) */
  injected?: true;
  /**
   * on Framescope's frames compressed by Framescope's own deflater because it took over this
   * direction's permessage-deflate context (after its first change or injection there)
   */
  recompressed?: true;
  /** the rule (of a rules file) that decided or changed the message: its name, else "#index" */
  rule?: string;
}

export interface CloseRecord {
  code: number | null;
  reason: string;
  /** who closed first; 'framescope' when Framescope sent its close frames before either peer */
  by: Side | 'transport' | 'framescope';
  clean: boolean;
  /** rebuilt from a source that does not say who closed or whether it was clean (a HAR) */
  reconstructed?: true;
}

export interface TlsRecord {
  protocol: string | null;
  cipher: string | null;
  servername: string | null;
  authorized: boolean;
  authorizationError?: string;
  peerCertificate?: {
    subject: string;
    issuer: string;
    /** absent in captures written before it was recorded */
    validFrom?: string;
    validTo: string;
    fingerprint256: string;
  };
}

export interface ConnectionRecord {
  id: string;
  mode: 'client' | 'proxy' | 'mock';
  url: string;
  client: string | null;
  server: string | null;
  tls: TlsRecord | null;
  startedAt: number;
  endedAt: number | null;
  handshake: HandshakeRecord | null;
  frames: FrameRecord[];
  close: CloseRecord | null;
  errors: string[];
  /** the launched app the connection came from (`framescope launch`); absent otherwise */
  app?: string;
}

export interface CaptureFile {
  format: 'framescope.capture';
  version: 1;
  createdAt: string;
  connections: ConnectionRecord[];
}

// -- the text forms (capture v1 JSON, NDJSON events, HAR's _framescope) -------------------

export interface MessageJson extends Omit<MessageRecord, 'data'> {
  /** base64 */
  data: string;
}

export interface FrameJson extends Omit<FrameRecord, 'maskKey' | 'header' | 'payload' | 'message'> {
  /** 8 hex digits, or null when unmasked */
  maskKey: string | null;
  /** header bytes exactly as on the wire, hex */
  header: string;
  /** unmasked payload of this frame, base64 (still compressed if RSV1) */
  payload: string;
  message?: MessageJson;
}

export interface ConnectionJson extends Omit<ConnectionRecord, 'frames'> {
  frames: FrameJson[];
}

export interface CaptureFileJson extends Omit<CaptureFile, 'connections'> {
  connections: ConnectionJson[];
}

export type ErrorKind = 'network' | 'tls' | 'handshake' | 'protocol' | 'timeout' | 'usage';

/** What the engine records, in order: its sinks (terminal, recording, UI) take these. */
export type EngineEvent =
  | ({ event: 'open'; connection: string } & OpenInfo)
  | ({ event: 'handshake'; connection: string } & HandshakeRecord)
  | ({ event: 'frame'; connection: string } & FrameRecord)
  /** endedAt: when the connection ended (ms, the clock of startedAt); absent from older streams */
  | ({ event: 'close'; connection: string; endedAt?: number } & CloseRecord)
  | { event: 'error'; connection: string; kind: ErrorKind; message: string; closeCode?: number };

export interface OpenInfo {
  mode: 'client' | 'proxy' | 'mock';
  url: string;
  client: string | null;
  server: string | null;
  startedAt: number;
  tls?: TlsRecord | null;
  /** the app whose connection this is, when `framescope launch` started it ("node app.mjs", "Chromium") */
  app?: string;
}

/** An event as NDJSON (`--json`, the ndjson export) writes it: a frame's bytes as text. */
export type EngineEventJson = Exclude<EngineEvent, { event: 'frame' }> | ({ event: 'frame'; connection: string } & FrameJson);
