// The one contract between the engine (main process, or `framescope serve`) and the UI.
//
// Written once: the `EngineApi` interface says what each command takes and returns, and
// `COMMANDS` is the runtime list of its names from which main registers its handlers and
// the preload / the web bridge build the UI's API — so a command cannot exist on one side
// only (the `satisfies` below fails to compile if the list and the interface drift).
// Every argument is validated at run time by `validateCommand` on the engine side: types
// alone are no defence against a compromised renderer or a hostile web page.
//
// Pure code: no Node, no DOM.

import { MAX_NOTE, type ConnectionRecord, type ErrorKind, type ExtensionRecord, type FrameJson } from './model';
import type { RuleSpec } from './rules-spec';
import { DECODABLE, MAX_PROTO_BYTES, type DecodeChoice, type Decoded, type ProtocolId } from './decoders/types';
import { FORM_PROTOCOLS, SIO_PACKET_TYPES, type DecodedForm } from './decoders/forms';
import type { ReplayComparison } from './replay';

// -- what the UI holds ------------------------------------------------------------------

export type ConnectionState = 'connecting' | 'open' | 'closing' | 'closed' | 'failed';

/** A connection as the list shows it; the handshake comes whole (it is small). */
export interface ConnectionSummary extends Omit<ConnectionRecord, 'frames'> {
  state: ConnectionState;
  /** frames and payload bytes so far, by direction */
  frames: { client: number; server: number };
  bytes: { client: number; server: number };
  /** imported from a capture or HAR rather than live */
  imported?: boolean;
  /** the decoder chosen (setDecoder) and the protocol decoded so far, when there is one */
  decoding?: DecoderState;
  /** this connection replays another (the `replay` command) */
  replay?: ReplayState;
}

/** A replaying connection: which one it replays, and once it has ended, how the answers compare. */
export interface ReplayState {
  /** the connection replayed */
  of: string;
  /** set when the replay has ended (absent while it runs, or when it never connected) */
  comparison?: ReplayComparison;
  /** why there is no comparison (the handshake failed), when there is none */
  error?: string;
  /** what did not go as recorded (a wait for the server that timed out, a connection that ended early) */
  notes?: string[];
}

export interface DecoderState {
  choice: DecodeChoice;
  protocol: ProtocolId | null;
  /** the .proto loaded for this connection (setProto), when there is one */
  proto?: ProtoState;
}

export interface ProtoFile {
  filename: string;
  text: string;
}

/** .proto files sent at once at most (a schema and its imports). */
export const MAX_PROTO_FILES = 16;

/** A connection's .proto: its file, its message types, the type each side is decoded as. */
export interface ProtoState {
  file: string;
  types: string[];
  /** null: that side is decoded without the schema */
  client: string | null;
  server: string | null;
}

/** A decoded message on its row: the record without its value (rows stay small). */
export type DecodedSummary = Omit<Decoded, 'value'>;

/**
 * One frame row: every header field, and a short preview. The payload itself stays with
 * the engine (fetch it with `framePayload`), so a million rows do not hold a million
 * payloads in the UI.
 */
export interface FrameSummary extends Omit<FrameJson, 'payload' | 'message' | 'stored'> {
  /** at most PREVIEW_CHARS characters: text (for text, ping, pong) or spaced hex */
  preview: string;
  /** the preview is text (else hex) */
  previewText: boolean;
  /** on the final frame of a fragmented or compressed message (its data: framePayload) */
  message?: { opcode: 1 | 2; length: number };
  /** on a frame that completes a decoded message */
  decoded?: DecodedSummary;
}

export const PREVIEW_CHARS = 120;

/** What a capture keeps of a connection, from its summary (everything but the frames). */
export function summaryHead(s: ConnectionSummary): Omit<ConnectionRecord, 'frames'> {
  return {
    id: s.id,
    mode: s.mode,
    url: s.url,
    client: s.client,
    server: s.server,
    tls: s.tls,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    handshake: s.handshake,
    close: s.close,
    errors: s.errors,
  };
}

export interface FramePayload {
  /** base64 of this frame's unmasked payload */
  payload: string;
  /** base64 of the whole reassembled/inflated message, on its final frame */
  message?: string;
  truncated?: true;
  /** the decoded message, value included */
  decoded?: Decoded;
  /** the seq of the answer to this request, once one came */
  answeredBy?: number;
}

/** A connection's requests and their answers (the pairs view). */
export interface PairsView {
  pairs: Array<{ request: number; answer: number | null; latencyMs: number | null; type: string; name?: string; id?: string }>;
  /** the connection ended: the requests with no answer are unanswered for good */
  ended: boolean;
}

/** One direction's series in a timeline: a value per bucket. */
export interface TimelineSide {
  /** frames sent (any opcode) */
  frames: number[];
  /** payload bytes of those frames, as on the wire */
  bytes: number[];
  /** data messages completed */
  messages: number[];
  /** their mean and largest size (reassembled, inflated); null where there was none */
  avgSize: Array<number | null>;
  maxSize: Array<number | null>;
}

/** Something worth seeing on a timeline: a frame with a violation, a close frame, the connection's end, an error. */
export interface TimelineMark {
  time: number;
  connection: string;
  /** the frame, when it is one */
  seq: number | null;
  kind: 'violation' | 'close' | 'end' | 'error';
  text: string;
}

export interface TimelineRequest {
  /** absent: every connection, summed */
  connection?: string;
  /** the window (ms, the clock of frame times); absent: from the first to the last thing recorded */
  from?: number;
  to?: number;
  /** at most this many buckets (default and limit: 5000) */
  points?: number;
  /** no bucket narrower than this (ms): a rate over a few ms of sparse traffic is a comb of spikes */
  minBucketMs?: number;
}

/**
 * Series over time: bucket i covers [from + i * bucketMs, from + (i + 1) * bucketMs).
 * Counts are per bucket (a rate per second is count * 1000 / bucketMs).
 */
export interface Timeline {
  connection: string | null;
  /** the connection's start (all: the earliest start): the time the UI counts from */
  origin: number;
  from: number;
  to: number;
  bucketMs: number;
  /** buckets (the length of every series) */
  count: number;
  client: TimelineSide;
  server: TimelineSide;
  /** mean ping → pong round trip (ms) of the pongs in each bucket */
  rtt: Array<number | null>;
  /** mean decoded request → answer latency (ms) of the answers in each bucket */
  latency: Array<number | null>;
  /** in time order, at most 1000 */
  marks: TimelineMark[];
  /** marks not listed (past a connection's 1000, or the answer's) */
  marksDropped: number;
  /** a connection in it is still live (ask again for more) */
  live: boolean;
  /** with a connection: its frames whose time is within [from, to], as seqs [first, end) */
  seqs?: { first: number; end: number };
}

export interface ProxyStatus {
  running: boolean;
  mode: 'reverse' | 'forward';
  /** where to point an app: ws://host:port/ (reverse) or http://host:port (forward) */
  address: string;
  target: string | null;
  caPath: string | null;
}

// -- launched apps ----------------------------------------------------------------------

/** A browser the engine found installed, to be launched through the proxy. */
export interface LaunchTarget {
  /** what `launch` takes: chromium, chrome, edge, brave, firefox */
  id: string;
  name: string;
  path: string;
}

export interface LaunchTargets {
  browsers: LaunchTarget[];
  /** the session's proxy (a launch starts a forward one when none runs) */
  proxy: ProxyStatus | null;
}

/** Words of a launched command at most, and characters per word. */
export const MAX_LAUNCH_ARGS = 256;
export const MAX_LAUNCH_ARG = 8192;

/** A browser with a fresh profile (optionally opening `url`), or a command (argv, not a shell line). */
export type LaunchRequest = { browser: string; url?: string; headless?: boolean } | { command: string[] };

/** An app launched from the UI through the session's forward proxy; its connections carry `label` as their `app`. */
export interface LaunchedApp {
  /** unique in the session */
  id: number;
  /** the browser's name, or the command line; what its connections are labelled with */
  label: string;
  pid: number | null;
  state: 'running' | 'exited';
  /** once exited: its exit code, or the signal that ended it */
  code?: number | null;
  signal?: string | null;
  /** what could not be set up for it (a Firefox profile without the CA) */
  notes?: string[];
  /** once exited: the last line it wrote to stderr, when it failed */
  lastError?: string;
  /** Date.now() when started */
  startedAt: number;
}

// -- commands ---------------------------------------------------------------------------

export interface ConnectRequest {
  url: string;
  headers?: Array<[string, string]>;
  protocols?: string[];
  deflate?: boolean;
  /** do not verify the server's certificate */
  insecure?: boolean;
  /** observer stance (`connect --tolerant`): record protocol violations, keep the connection open */
  tolerant?: boolean;
}

/** Replays a connection's client side as a new client connection (docs/guide.md "Replay"). */
export interface ReplayRequest {
  connection: string;
  /** ws:// or wss:// URL (default: the recorded one) */
  target?: string;
  /** the recorded gaps divided by this (default 1) */
  speed?: number;
  /** no gaps */
  asap?: boolean;
  /** before each client message, wait for as many server messages as the recording had by then */
  waitForServer?: boolean;
}

export type SendRequest =
  | { connection: string; kind: 'text'; text: string; fragmentSize?: number }
  | { connection: string; kind: 'binary'; data: string /* base64 */; fragmentSize?: number }
  | { connection: string; kind: 'ping' | 'pong'; data: string /* base64, at most 125 bytes */ }
  | { connection: string; kind: 'close'; code?: number; reason?: string }
  | { connection: string; kind: 'raw'; frame: RawFrameSpec }
  /** a message in its protocol's terms: the engine encodes it (a Socket.IO binary event: its packet, then its attachments) */
  | { connection: string; kind: 'decoded'; form: DecodedForm };

/** A frame crafted on purpose, valid or not. */
export interface RawFrameSpec {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  /** base64 of the unmasked payload */
  payload: string;
  /** 8 hex digits, or null for an unmasked frame; absent: a random key */
  maskKey?: string | null;
}

export interface ProxyStartRequest {
  mode: 'reverse' | 'forward';
  /** [host:]port; host defaults to 127.0.0.1 */
  listen: string;
  /** reverse mode: the upstream ws:// or wss:// URL */
  target?: string;
  allowHosts?: string[];
  insecure?: boolean;
}

export type ExportFormat = 'json' | 'ndjson' | 'har' | 'pcapng';

export interface ExportRequest {
  format: ExportFormat;
  /** connection ids; absent: all */
  connections?: string[];
}

/** A file travelling between engine and UI (download in a browser, a dialog in Electron). */
export interface FileBlob {
  filename: string;
  mime: string;
  /** base64 */
  data: string;
}

/** An earlier run's recording, kept on disk and offered back (restoreSession, discardSession). */
export interface PreviousSession {
  id: string;
  /** null when that run was killed (its journal is read only when restored) */
  connections: number | null;
  frames: number | null;
  /** the journal's size */
  bytes: number;
  /** when it ended (ISO 8601; for a killed run, its journal's last write) */
  endedAt: string;
  /** false: that run did not end cleanly (killed, crashed) */
  ended: boolean;
}

export interface Snapshot {
  connections: ConnectionSummary[];
  proxy: ProxyStatus | null;
  version: string;
  /** breakpoints as set (absent: none) */
  intercept?: InterceptState;
  /** messages held at a breakpoint, oldest first (absent: none) */
  held?: HeldMessage[];
  /** the session's rules (absent: none) */
  rules?: RulesState;
  /** an earlier run's recording to offer back (absent: none) */
  previousSession?: PreviousSession;
  /** apps launched from the UI and still running (absent: none) */
  apps?: LaunchedApp[];
}

// -- rules ------------------------------------------------------------------------------

/**
 * The rules the session applies to every proxied and client connection, before the
 * breakpoints: a rules file's `rules` (docs/rules.md), as written, in the order they apply.
 */
export interface RulesState {
  rules: RuleSpec[];
  /** whether any enabled rule looks at messages from that side (a side with none is not intercepted) */
  from: { client: boolean; server: boolean };
}

/** Largest rules file the UI may load (the engine's MAX_RULES_FILE). */
export const RULES_FILE_LIMIT = 1 << 20;

// -- breakpoints ------------------------------------------------------------------------

/**
 * One direction intercepted: messages from `from` on `connection` (null: on every
 * connection, those to come too) that match `condition` (a one-line filter, docs/rules.md
 * "Filters"; empty: every message) are held until a decision.
 */
export interface InterceptRule {
  connection: string | null;
  from: 'client' | 'server';
  condition: string;
}

export interface InterceptState {
  rules: InterceptRule[];
  /** raw frames can be injected into a proxied connection (else only whole messages) */
  canInjectFrames: boolean;
}

/** The largest held message whose data travels to the UI for editing. */
export const HELD_DATA_LIMIT = 1024 * 1024;

/** A data message held at a breakpoint. */
export interface HeldMessage {
  /** unique in the session */
  id: number;
  connection: string;
  from: 'client' | 'server';
  opcode: 1 | 2;
  /** the message's size in bytes (inflated) */
  size: number;
  /** base64 of the message (absent when larger than HELD_DATA_LIMIT: it can be forwarded, dropped or closed, not edited) */
  data?: string;
  /** Framescope's time (ms) when it was held */
  heldAt: number;
  /** held by this rule's `break` action (its name, or #index), not by a breakpoint */
  rule?: string;
}

/** What to do with a held message. */
export type HeldDecision =
  | { action: 'forward' }
  /** forward this instead; `fragmentSize`/`rsv2`/`rsv3`: how Framescope frames it */
  | { action: 'replace'; opcode: 1 | 2; data: string /* base64 */; fragmentSize?: number; rsv2?: boolean; rsv3?: boolean }
  | { action: 'drop' }
  /** forward this instead, encoded by the engine from the message's form (editForm) */
  | { action: 'encode'; form: DecodedForm }
  /** close both legs with this code and reason; the message is not delivered */
  | { action: 'close'; code: number; reason: string };

/** A message (or a raw frame) Framescope sends into a proxied connection toward one side. */
export type InjectRequest =
  | { connection: string; to: 'client' | 'server'; kind: 'text'; text: string }
  | { connection: string; to: 'client' | 'server'; kind: 'binary'; data: string /* base64 */ }
  | { connection: string; to: 'client' | 'server'; kind: 'raw'; frame: RawFrameSpec }
  /** a message in its protocol's terms, encoded by the engine, its messages sent in order */
  | { connection: string; to: 'client' | 'server'; kind: 'decoded'; form: DecodedForm }
  /** a close frame toward both sides (a proxied connection has two legs; both close) */
  | { connection: string; kind: 'close'; code: number; reason?: string };

// -- search -----------------------------------------------------------------------------

/** A frame the whole-history search found. */
export interface SearchHit {
  connection: string;
  seq: number;
}

/** The hits kept (and sent) of one search; past this it goes on counting. */
export const SEARCH_HIT_LIMIT = 100_000;

/**
 * How a search is going, pushed as it scans (about once a batch): the hits found since the
 * last report, in the order scanned (connection by connection, seq ascending).
 */
export interface SearchProgress {
  search: number;
  hits: SearchHit[];
  /** hits so far (counted on past SEARCH_HIT_LIMIT) */
  found: number;
  /** frames looked at so far, of `total` (the frames there were when it began) */
  scanned: number;
  total: number;
  done: boolean;
  /** more than SEARCH_HIT_LIMIT hits: only the first ones are sent */
  capped?: true;
  /** the scan stopped: the journal could not be read */
  error?: string;
}

/** A held message in its protocol's terms, or a new message's blank form; else why there is none. */
export type EditFormResult = { form: DecodedForm } | { reason: string };

/** The WebSocket messages a form becomes, in the order they go. */
export interface EncodedForm {
  messages: Array<{ opcode: 1 | 2; /** base64 */ data: string }>;
}

export interface CaInfo {
  pem: string;
  fingerprint256: string;
  path: string;
}

export interface EngineApi {
  /** everything the UI needs to draw itself after a (re)load */
  snapshot(): Promise<Snapshot>;
  /** frame rows of a connection, [from, to) by seq (the UI asks again after a reload) */
  frames(req: { connection: string; from: number; to: number }): Promise<FrameSummary[]>;
  framePayload(req: { connection: string; seq: number }): Promise<FramePayload>;
  connect(req: ConnectRequest): Promise<{ connection: string }>;
  send(req: SendRequest): Promise<void>;
  /** starts the closing handshake (or drops a proxied connection) */
  disconnect(req: { connection: string; code?: number; reason?: string }): Promise<void>;
  startProxy(req: ProxyStartRequest): Promise<ProxyStatus>;
  stopProxy(): Promise<void>;
  exportCapture(req: ExportRequest): Promise<FileBlob>;
  importCapture(req: FileBlob): Promise<{ connections: string[] }>;
  caCertificate(): Promise<CaInfo>;
  /** forget closed connections */
  clear(): Promise<void>;
  /** intercepts one direction (`on`) with a condition, or stops; returns the breakpoints as they are now */
  setIntercept(req: { connection?: string; from: 'client' | 'server'; on: boolean; condition?: string }): Promise<InterceptState>;
  /** decides a held message */
  decideHeld(req: { id: number; decision: HeldDecision }): Promise<void>;
  /** forwards every held message as it came (of one connection, or all); returns how many */
  forwardAll(req: { connection?: string }): Promise<{ released: number }>;
  /** sends a message into a proxied connection toward the client or the server */
  inject(req: InjectRequest): Promise<void>;
  /** the session's rules */
  getRules(): Promise<RulesState>;
  /** replaces the rules (checked whole: a mistake refuses the lot, naming the rule and the field) */
  setRules(req: { rules: RuleSpec[] }): Promise<RulesState>;
  /** turns one rule (1-based, as in error messages) on or off */
  enableRule(req: { index: number; enabled: boolean }): Promise<RulesState>;
  /** the rules as a rules file (`rules.json`, what `--rules FILE` loads) */
  exportRules(): Promise<FileBlob>;
  /** replaces the rules with a rules file's */
  importRules(req: FileBlob): Promise<RulesState>;
  /** decodes a connection as this protocol (or detects, or not at all): its rows are decoded again */
  setDecoder(req: { connection: string; protocol: DecodeChoice }): Promise<DecoderState>;
  /**
   * decodes a connection as protobuf with a .proto: `files` (a .proto and the files it
   * imports, by name; the one no other imports is the schema) loads one, else the one loaded
   * is kept; `type` is `pkg.Msg` or `client=A,server=B` (default: the file's first top-level
   * message). A file that does not parse, or a type it does not have, is an error of one line.
   */
  setProto(req: { connection: string; files?: ProtoFile[]; type?: string }): Promise<DecoderState>;
  /** the seqs of a connection's decoded messages whose value passes a field test (`payload.user.id = 42`) */
  matchDecoded(req: { connection: string; query: string }): Promise<{ seqs: number[] }>;
  /** a connection's requests, their answers and latencies */
  pairs(req: { connection: string }): Promise<PairsView>;
  /** imports an earlier run's recording into this session (its connections come as imported ones); the earlier copy is then deleted */
  restoreSession(req: { id: string }): Promise<{ connections: string[] }>;
  /** deletes an earlier run's recording */
  discardSession(req: { id: string }): Promise<void>;
  /**
   * Searches every frame recorded (of one connection, or of all) for a query (docs/guide.md
   * "Search"); results come as `search` events. A new search ends the one before.
   */
  search(req: { query: string; connection?: string }): Promise<{ search: number; total: number }>;
  /** stops a search (no more events for it) */
  cancelSearch(req: { search: number }): Promise<void>;
  /** a held message (`held`) in its connection's protocol's terms, or a blank form to compose one */
  editForm(req: { connection: string; held?: number }): Promise<EditFormResult>;
  /** the exact messages a form becomes (a held message's: `held`), without sending them */
  encodeForm(req: { connection: string; form: DecodedForm; held?: number }): Promise<EncodedForm>;
  /** a connection's (or every connection's) traffic over time, with marks; and which frames a time window holds */
  timeline(req: TimelineRequest): Promise<Timeline>;
  /**
   * Sets a frame's bookmark and/or note (a field left out keeps its value; an empty note
   * removes it). Kept in the session (a restored session has them) and in capture exports.
   * Returns the frame's row; every UI gets it as a `frames` event too.
   */
  annotate(req: AnnotateRequest): Promise<FrameSummary>;
  /** the seqs of a connection's bookmarked frames, ascending (in memory or not) */
  bookmarks(req: { connection: string }): Promise<{ seqs: number[] }>;
  /** replays a connection's client side as a new client connection; its summary's `replay` gets the comparison when it ends */
  replay(req: ReplayRequest): Promise<{ connection: string }>;
  /** the browsers installed, and the session's proxy */
  launchTargets(): Promise<LaunchTargets>;
  /**
   * starts a browser or a command through the session's forward proxy (started on loopback
   * when none runs), trusting its CA; its connections are labelled with it. Its exit comes as
   * an `app` event; apps still running are ended with the session.
   */
  launch(req: LaunchRequest): Promise<LaunchedApp>;
  /** ends a launched app (SIGTERM, then SIGKILL) */
  stopApp(req: { id: number }): Promise<void>;
}

export interface AnnotateRequest {
  connection: string;
  seq: number;
  bookmark?: boolean;
  /** at most MAX_NOTE characters; empty: no note */
  note?: string;
}

export type CommandName = keyof EngineApi;
export type CommandArg<K extends CommandName> = Parameters<EngineApi[K]>[0];
export type CommandResult<K extends CommandName> = Awaited<ReturnType<EngineApi[K]>>;

/** The runtime list of commands. Main registers exactly these; the UI's API has exactly these. */
export const COMMANDS = [
  'snapshot',
  'frames',
  'framePayload',
  'connect',
  'send',
  'disconnect',
  'startProxy',
  'stopProxy',
  'exportCapture',
  'importCapture',
  'caCertificate',
  'clear',
  'setIntercept',
  'decideHeld',
  'forwardAll',
  'inject',
  'getRules',
  'setRules',
  'enableRule',
  'exportRules',
  'importRules',
  'setDecoder',
  'setProto',
  'matchDecoded',
  'pairs',
  'restoreSession',
  'discardSession',
  'search',
  'cancelSearch',
  'editForm',
  'encodeForm',
  'timeline',
  'annotate',
  'bookmarks',
  'replay',
  'launchTargets',
  'launch',
  'stopApp',
] as const satisfies readonly CommandName[];

// A name in the interface but not in the list fails here.
type Missing = Exclude<CommandName, (typeof COMMANDS)[number]>;
const _allListed: Missing extends never ? true : Missing = true;
void _allListed;

// -- events -----------------------------------------------------------------------------

/** Pushed by the engine, batched: one `UiEvent[]` per animation frame at most. */
export type UiEvent =
  | { type: 'connection'; connection: ConnectionSummary }
  | { type: 'frames'; connection: string; frames: FrameSummary[] }
  | { type: 'error'; connection: string; kind: ErrorKind; message: string }
  | { type: 'proxy'; status: ProxyStatus | null }
  | { type: 'cleared' }
  /** a connection's decoder changed: its rows and details are decoded anew (fetch them again) */
  | { type: 'decoded'; connection: string; decoding: DecoderState }
  /** the breakpoints changed */
  | { type: 'intercept'; state: InterceptState }
  /** the earlier session on offer changed (restored or discarded: null) */
  | { type: 'previousSession'; previous: PreviousSession | null }
  /** a message was held at a breakpoint */
  | { type: 'held'; message: HeldMessage }
  /** a held message is held no more: decided, or its connection ended (never delivered) */
  | { type: 'released'; id: number }
  /** the rules changed */
  | { type: 'rules'; state: RulesState }
  /** a launched app started or exited */
  | { type: 'app'; app: LaunchedApp }
  /** a whole-history search's progress and new hits */
  | ({ type: 'search' } & SearchProgress);

/** The event channel's name (IPC) / message type (web bridge). */
export const EVENT_CHANNEL = 'framescope:events' as const;
/** IPC channel of a command. */
export const commandChannel = (name: CommandName): string => `framescope:${name}`;

// -- what the UI holds in its hand ------------------------------------------------------

/** The engine as the UI sees it: every command, plus the event stream. */
export type EngineClient = EngineApi & {
  /** batches of events, in order; returns an unsubscribe function */
  onEvents(listener: (events: UiEvent[]) => void): () => void;
};

/**
 * What only the desktop shell can do (native dialogs). In a browser it is absent and the
 * UI downloads and uploads instead.
 */
export interface ShellApi {
  /** asks where to save; resolves with the path written, or null if cancelled */
  saveFile(blob: FileBlob): Promise<string | null>;
  /** asks for a capture or HAR file; null if cancelled */
  openFile(): Promise<FileBlob | null>;
}

export const SHELL_COMMANDS = ['saveFile', 'openFile'] as const satisfies readonly (keyof ShellApi)[];

/**
 * Menu items the UI carries out because it owns what they change (the theme is a UI
 * preference kept by the renderer). Desktop only: the native menu sends one of these.
 */
export const MENU_ACTIONS = ['toggleTheme'] as const;
export type MenuAction = (typeof MENU_ACTIONS)[number];

/** What the Electron preload puts on `window.framescope` (and nothing more). */
export interface PreloadApi {
  engine: { [K in CommandName]: (arg: CommandArg<K>) => Promise<CommandResult<K>> };
  shell: ShellApi;
  onEvents(listener: (events: UiEvent[]) => void): () => void;
  /** files the OS asked the app to open (file association, drag and drop onto the icon) */
  onOpenFile(listener: (blob: FileBlob) => void): () => void;
  /** a native menu item the UI carries out (see MENU_ACTIONS) */
  onMenu(listener: (action: MenuAction) => void): () => void;
  platform: string;
}

// -- the web bridge's wire format (framescope serve) ------------------------------------

export type BridgeRequest = { id: number; command: CommandName; arg: unknown };
export type BridgeMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { events: UiEvent[] };

// -- run-time validation ----------------------------------------------------------------

export class ContractError extends Error {
  override name = 'ContractError';
}

type Check = (v: unknown, path: string) => void;

const fail = (path: string, what: string): never => {
  throw new ContractError(`${path} ${what}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (max = 1 << 20): Check => (v, p) => {
  if (typeof v !== 'string') fail(p, 'must be a string');
  if ((v as string).length > max) fail(p, `is longer than ${max}`);
};
const bool: Check = (v, p) => {
  if (typeof v !== 'boolean') fail(p, 'must be true or false');
};
const int = (min: number, max: number): Check => (v, p) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(p, `must be a whole number from ${min} to ${max}`);
};
const base64 = (maxBytes: number): Check => (v, p) => {
  str(Math.ceil(maxBytes / 3) * 4 + 4)(v, p);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v as string)) fail(p, 'must be base64');
};
const finite: Check = (v, p) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(p, 'must be a number');
};
const oneOf = (...values: readonly string[]): Check => (v, p) => {
  if (typeof v !== 'string' || !values.includes(v)) fail(p, `must be one of ${values.join(', ')}`);
};
const arrayOf = (item: Check, max = 1000): Check => (v, p) => {
  if (!Array.isArray(v)) fail(p, 'must be a list');
  if ((v as unknown[]).length > max) fail(p, `has more than ${max} items`);
  (v as unknown[]).forEach((x, i) => item(x, `${p}[${i}]`));
};
const pair: Check = (v, p) => {
  if (!Array.isArray(v) || v.length !== 2) fail(p, 'must be a [name, value] pair');
  str(8192)((v as unknown[])[0], `${p}[0]`);
  str(8192)((v as unknown[])[1], `${p}[1]`);
};
const optional = (c: Check): Check => (v, p) => {
  if (v !== undefined) c(v, p);
};
function object(shape: Record<string, Check>): Check {
  return (v, p) => {
    if (!isObj(v)) fail(p, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!(k in shape)) fail(`${p}.${k}`, 'is not expected');
    for (const [k, c] of Object.entries(shape)) c(o[k], `${p}.${k}`);
  };
}

/** A plain object whose JSON text is at most `maxChars` long. */
const jsonObject = (maxChars: number): Check => (v, p) => {
  if (!isObj(v)) fail(p, 'must be an object');
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    fail(p, 'must be JSON');
  }
  if (text === undefined || text.length > maxChars) fail(p, `is larger than ${maxChars} characters of JSON`);
};

const MAX_MESSAGE = 64 * 1024 * 1024;
const connectionId = str(64);
const rawFrame = object({
  fin: bool,
  rsv1: bool,
  rsv2: bool,
  rsv3: bool,
  opcode: int(0, 15),
  payload: base64(MAX_MESSAGE),
  maskKey: optional((v, p) => {
    if (v !== null && (typeof v !== 'string' || !/^[0-9a-fA-F]{8}$/.test(v))) fail(p, 'must be 8 hex digits or null');
  }),
});

const jsonText = str(MAX_MESSAGE);
const optText = optional(jsonText);
/** A decoded form: its shape by protocol (the encoder checks what the values mean). */
const formCheck: Check = (v, p) => {
  if (!isObj(v)) fail(p, 'must be an object');
  const protocol = (v as { protocol?: unknown }).protocol;
  const common = { protocol: str(64) };
  switch (protocol) {
    case 'socket.io':
      return object({
        ...common,
        eio: (x, q) => {
          if (x !== 3 && x !== 4) fail(q, 'must be 3 or 4');
        },
        type: oneOf(...SIO_PACKET_TYPES),
        nsp: str(1024),
        event: optional(str(65536)),
        args: jsonText,
        id: optional(int(0, Number.MAX_SAFE_INTEGER)),
        attachments: optional(arrayOf(base64(MAX_MESSAGE), 1000)),
      })(v, p);
    case 'graphql-transport-ws':
    case 'graphql-ws':
      return object({
        ...common,
        type: str(64),
        id: optional(str(1024)),
        query: optText,
        variables: optText,
        operationName: optional(str(1024)),
        extensions: optText,
        payload: optText,
        payloadKeys: optional(arrayOf(str(64), 16)),
      })(v, p);
    case 'stomp':
      return object({
        ...common,
        command: str(64),
        headers: arrayOf(pair, 1000),
        body: jsonText,
        version: optional(oneOf('1.0', '1.1', '1.2')),
      })(v, p);
    case 'mqtt':
      return object({
        ...common,
        version: (x, q) => {
          if (x !== 3 && x !== 4 && x !== 5) fail(q, 'must be 3, 4 or 5');
        },
        topic: str(65535),
        payload: jsonText,
        payloadFormat: oneOf('text', 'hex'),
        qos: int(0, 2),
        retain: bool,
        dup: bool,
        messageId: optional(int(1, 65535)),
      })(v, p);
    case 'json-rpc':
      return object({
        ...common,
        kind: oneOf('request', 'notification', 'result', 'error'),
        method: optional(str(65536)),
        params: optText,
        id: optional(str(1024)),
        result: optText,
        keys: optional(arrayOf(str(64), 16)),
      })(v, p);
    default:
      fail(`${p}.protocol`, `must be one of ${FORM_PROTOCOLS.join(', ')}`);
  }
};

const sendCheck: Check = (v, p) => {
  if (!isObj(v)) fail(p, 'must be an object');
  const kind = (v as { kind?: unknown }).kind;
  const fragmentSize = optional(int(1, MAX_MESSAGE));
  switch (kind) {
    case 'text':
      return object({ connection: connectionId, kind: str(), text: str(MAX_MESSAGE), fragmentSize })(v, p);
    case 'binary':
      return object({ connection: connectionId, kind: str(), data: base64(MAX_MESSAGE), fragmentSize })(v, p);
    case 'ping':
    case 'pong':
      return object({ connection: connectionId, kind: str(), data: base64(125) })(v, p);
    case 'close':
      return object({ connection: connectionId, kind: str(), code: optional(int(1000, 4999)), reason: optional(str(123)) })(v, p);
    case 'raw':
      return object({ connection: connectionId, kind: str(), frame: rawFrame })(v, p);
    case 'decoded':
      return object({ connection: connectionId, kind: str(), form: formCheck })(v, p);
    default:
      fail(`${p}.kind`, 'must be one of text, binary, ping, pong, close, raw, decoded');
  }
};

const side = oneOf('client', 'server');

const heldDecision: Check = (v, p) => {
  if (!isObj(v)) fail(p, 'must be an object');
  switch ((v as { action?: unknown }).action) {
    case 'forward':
    case 'drop':
      return object({ action: str() })(v, p);
    case 'replace':
      return object({
        action: str(),
        opcode: int(1, 2),
        data: base64(MAX_MESSAGE),
        fragmentSize: optional(int(1, MAX_MESSAGE)),
        rsv2: optional(bool),
        rsv3: optional(bool),
      })(v, p);
    case 'close':
      return object({ action: str(), code: int(1000, 4999), reason: str(123) })(v, p);
    case 'encode':
      return object({ action: str(), form: formCheck })(v, p);
    default:
      fail(`${p}.action`, 'must be one of forward, replace, encode, drop, close');
  }
};

const injectCheck: Check = (v, p) => {
  if (!isObj(v)) fail(p, 'must be an object');
  const common = { connection: connectionId, to: side, kind: str() };
  switch ((v as { kind?: unknown }).kind) {
    case 'text':
      return object({ ...common, text: str(MAX_MESSAGE) })(v, p);
    case 'binary':
      return object({ ...common, data: base64(MAX_MESSAGE) })(v, p);
    case 'raw':
      return object({ ...common, frame: rawFrame })(v, p);
    case 'decoded':
      return object({ ...common, form: formCheck })(v, p);
    case 'close':
      return object({ connection: connectionId, kind: str(), code: int(1000, 4999), reason: optional(str(123)) })(v, p);
    default:
      fail(`${p}.kind`, 'must be one of text, binary, raw, decoded, close');
  }
};

const launchCheck: Check = (v, p) => {
  if (!isObj(v)) fail(p, 'must be an object');
  if ('command' in (v as object)) {
    object({ command: arrayOf(str(MAX_LAUNCH_ARG), MAX_LAUNCH_ARGS) })(v, p);
    const argv = (v as { command: string[] }).command;
    if (argv.length === 0 || argv[0] === '') fail(`${p}.command`, 'must name a command to run');
    if (argv.some((a) => a.includes('\0'))) fail(`${p}.command`, 'must not hold a NUL character');
    return;
  }
  object({ browser: oneOf('chromium', 'chrome', 'edge', 'brave', 'firefox'), url: optional(str(8192)), headless: optional(bool) })(v, p);
};

const VALIDATORS: { [K in CommandName]: Check } = {
  snapshot: optional(object({})),
  frames: object({ connection: connectionId, from: int(0, Number.MAX_SAFE_INTEGER), to: int(0, Number.MAX_SAFE_INTEGER) }),
  framePayload: object({ connection: connectionId, seq: int(0, Number.MAX_SAFE_INTEGER) }),
  connect: object({
    url: str(8192),
    headers: optional(arrayOf(pair, 200)),
    protocols: optional(arrayOf(str(256), 50)),
    deflate: optional(bool),
    insecure: optional(bool),
    tolerant: optional(bool),
  }),
  send: sendCheck,
  disconnect: object({ connection: connectionId, code: optional(int(1000, 4999)), reason: optional(str(123)) }),
  startProxy: object({
    mode: oneOf('reverse', 'forward'),
    listen: str(300),
    target: optional(str(8192)),
    allowHosts: optional(arrayOf(str(255), 100)),
    insecure: optional(bool),
  }),
  stopProxy: optional(object({})),
  exportCapture: object({ format: oneOf('json', 'ndjson', 'har', 'pcapng'), connections: optional(arrayOf(connectionId, 100_000)) }),
  importCapture: object({ filename: str(1024), mime: str(256), data: base64(512 * 1024 * 1024) }),
  caCertificate: optional(object({})),
  clear: optional(object({})),
  setIntercept: object({ connection: optional(connectionId), from: side, on: bool, condition: optional(str(4096)) }),
  decideHeld: object({ id: int(1, Number.MAX_SAFE_INTEGER), decision: heldDecision }),
  forwardAll: object({ connection: optional(connectionId) }),
  inject: injectCheck,
  getRules: optional(object({})),
  // The shape of each rule is the rules parser's to check (it names the rule and the field);
  // here only that it is a list of objects of bounded size.
  setRules: object({ rules: arrayOf(jsonObject(RULES_FILE_LIMIT), 1000) }),
  enableRule: object({ index: int(1, 1000), enabled: bool }),
  exportRules: optional(object({})),
  importRules: object({ filename: str(1024), mime: str(256), data: base64(RULES_FILE_LIMIT) }),
  setDecoder: object({ connection: connectionId, protocol: oneOf(...DECODABLE, 'auto', 'none') }),
  setProto: object({ connection: connectionId, files: optional(arrayOf(object({ filename: str(1024), text: str(MAX_PROTO_BYTES) }), MAX_PROTO_FILES)), type: optional(str(4096)) }),
  matchDecoded: object({ connection: connectionId, query: str(4096) }),
  pairs: object({ connection: connectionId }),
  restoreSession: object({ id: str(200) }),
  discardSession: object({ id: str(200) }),
  search: object({ query: str(4096), connection: optional(connectionId) }),
  cancelSearch: object({ search: int(1, Number.MAX_SAFE_INTEGER) }),
  editForm: object({ connection: connectionId, held: optional(int(1, Number.MAX_SAFE_INTEGER)) }),
  encodeForm: object({ connection: connectionId, form: formCheck, held: optional(int(1, Number.MAX_SAFE_INTEGER)) }),
  annotate: object({ connection: connectionId, seq: int(0, Number.MAX_SAFE_INTEGER), bookmark: optional(bool), note: optional(str(MAX_NOTE)) }),
  bookmarks: object({ connection: connectionId }),
  replay: object({
    connection: connectionId,
    target: optional(str(8192)),
    speed: optional((v, p) => {
      finite(v, p);
      if ((v as number) <= 0) fail(p, 'must be more than 0');
    }),
    asap: optional(bool),
    waitForServer: optional(bool),
  }),
  launchTargets: optional(object({})),
  launch: launchCheck,
  stopApp: object({ id: int(1, Number.MAX_SAFE_INTEGER) }),
  timeline: object({ connection: optional(connectionId), from: optional(finite), to: optional(finite), points: optional(int(1, 5000)), minBucketMs: optional(int(1, 86_400_000)) }),
};

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && (COMMANDS as readonly string[]).includes(name);
}

/** Throws a ContractError naming what is wrong; returns the argument typed. */
export function validateCommand<K extends CommandName>(name: K, arg: unknown): CommandArg<K> {
  if (!isCommandName(name)) throw new ContractError(`unknown command ${JSON.stringify(name)}`);
  VALIDATORS[name](arg, name);
  return arg as CommandArg<K>;
}

export type { DecodedForm, ExtensionRecord, RuleSpec };
