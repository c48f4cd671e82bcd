// An in-memory engine behind the EngineClient contract, for developing the UI without
// `framescope serve` (open the page with ?demo), for screenshots, and for component tests.
// It builds real handshakes and real frame headers with shared/ (the same code the engine
// uses), echoes what is sent like an echo server, and batches its pushes like the engine.
// It never touches the network.
import { fromBase64, toBase64, toHex, utf8Decode, utf8DecodeStrict, utf8Encode } from '../../../shared/bytes';
import {
  PREVIEW_CHARS,
  SEARCH_HIT_LIMIT,
  summaryHead,
  type CaInfo,
  type ConnectionSummary,
  type ConnectRequest,
  type EngineApi,
  type FileBlob,
  type FramePayload,
  type FrameSummary,
  type ProxyStartRequest,
  type ProxyStatus,
  type RuleSpec,
  type RulesState,
  type ReplayRequest,
  type SendRequest,
  type Snapshot,
  type InterceptState,
  type LaunchedApp,
  type LaunchRequest,
  type UiEvent,
  type SearchHit,
} from '../../../shared/contract';
import { deflateOffer } from '../../../shared/codec/extensions';
import { encodeFrameHeader } from '../../../shared/codec/frame-writer';
import { violation } from '../../../shared/codec/frame';
import { buildClientRequest, buildServerResponse, checkResponse, assembleHandshake, generateKey } from '../../../shared/codec/handshake';
import { isControl, Opcode } from '../../../shared/codec/protocol';
import { MAX_NOTE, type CaptureFileJson, type ConnectionJson, type HandshakeRecord, type Side, type Violation } from '../../../shared/model';
import type { TransportStatus, UiClient } from '../transport/types';
import { sha1 } from './sha1';
import { fakeTimeline } from './fake-timeline';
import { compareMessages, type ComparedMessage } from '../../../shared/replay';

export interface FrameSpec {
  from: Side;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  payload: Uint8Array;
  /** 8 hex digits; default: masked with a random key when from the client */
  maskKey?: string | null;
  /** the whole reassembled / inflated message, on the final frame */
  message?: { opcode: 1 | 2; data: Uint8Array };
  rtt?: number;
  violations?: Violation[];
  time?: number;
}

interface FakeConnection {
  summary: ConnectionSummary;
  frames: FrameSummary[];
  payloads: Uint8Array[];
  messages: Array<Uint8Array | undefined>;
  /** rows made up on demand from their seq (a huge connection costs nothing) */
  synthetic?: (seq: number) => { row: FrameSummary; payload: Uint8Array };
  pingSentAt: Map<string, number>;
}

export interface FakeEngineOptions {
  /** runs a flush of pushed events; default: 16 ms later (about one animation frame) */
  schedule?: (flush: () => void) => void;
  now?: () => number;
  /** delay of the simulated server's answers (ms); 0: answer in the same turn */
  latencyMs?: number;
}

const randomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

export function previewOf(opcode: number, payload: Uint8Array): { preview: string; previewText: boolean } {
  if (opcode === Opcode.Close) {
    const reason = payload.length > 2 ? utf8DecodeStrict(payload.subarray(2)) : '';
    if (reason !== null) return { preview: reason.slice(0, PREVIEW_CHARS), previewText: true };
  } else if (opcode === Opcode.Text || opcode === Opcode.Ping || opcode === Opcode.Pong || opcode === Opcode.Continuation) {
    const text = utf8DecodeStrict(payload.subarray(0, PREVIEW_CHARS * 4));
    if (text !== null || payload.length > PREVIEW_CHARS * 4) {
      const t = text ?? utf8Decode(payload.subarray(0, PREVIEW_CHARS * 4));
      if (opcode !== Opcode.Continuation || text !== null) return { preview: t.slice(0, PREVIEW_CHARS), previewText: true };
    }
  }
  return { preview: toHex(payload.subarray(0, Math.floor(PREVIEW_CHARS / 3)), ' '), previewText: false };
}

/** A row as the engine would summarise this frame. */
export function summarize(seq: number, time: number, spec: FrameSpec): FrameSummary {
  const maskKey = spec.maskKey === undefined ? (spec.from === 'client' ? toHex(randomBytes(4)) : null) : spec.maskKey;
  const header = encodeFrameHeader({
    fin: spec.fin ?? true,
    rsv1: spec.rsv1 ?? false,
    rsv2: spec.rsv2 ?? false,
    rsv3: spec.rsv3 ?? false,
    opcode: spec.opcode,
    mask: maskKey !== null,
    ...(maskKey !== null ? { maskKey: hexBytes(maskKey) } : {}),
    length: spec.payload.length,
  });
  const row: FrameSummary = {
    seq,
    time,
    from: spec.from,
    fin: spec.fin ?? true,
    rsv1: spec.rsv1 ?? false,
    rsv2: spec.rsv2 ?? false,
    rsv3: spec.rsv3 ?? false,
    opcode: spec.opcode,
    masked: maskKey !== null,
    maskKey,
    length: spec.payload.length,
    header: toHex(header),
    ...previewOf(spec.message && spec.rsv1 ? spec.message.opcode : spec.opcode, spec.rsv1 && spec.message ? spec.message.data : spec.payload),
  };
  if (spec.message) row.message = { opcode: spec.message.opcode, length: spec.message.data.length };
  if (spec.opcode === Opcode.Close) {
    row.close = spec.payload.length >= 2 ? { code: (spec.payload[0]! << 8) | spec.payload[1]!, reason: utf8Decode(spec.payload.subarray(2)) } : { code: null, reason: '' };
  }
  if (spec.rtt !== undefined) row.rtt = spec.rtt;
  if (spec.violations?.length) row.violations = spec.violations;
  return row;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const closePayload = (code: number, reason: string): Uint8Array => {
  const r = utf8Encode(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
};

export class FakeEngine {
  readonly calls: Array<{ command: string; arg: unknown }> = [];
  private readonly conns = new Map<string, FakeConnection>();
  private proxy: ProxyStatus | null = null;
  private pending: UiEvent[] = [];
  private scheduled = false;
  private readonly listeners = new Set<(events: UiEvent[]) => void>();
  private nextId = 1;
  private readonly schedule: (flush: () => void) => void;
  readonly now: () => number;
  private readonly latency: number;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(options: FakeEngineOptions = {}) {
    this.schedule = options.schedule ?? ((f) => void setTimeout(f, 16));
    this.now = options.now ?? (() => Date.now() + (performance.now() % 1));
    this.latency = options.latencyMs ?? 30;
  }

  // -- building state (tests and the demo) ----------------------------------------------

  addConnection(init: Partial<ConnectionSummary> & { url: string }): string {
    const id = init.id ?? `c${this.nextId++}`;
    const summary: ConnectionSummary = {
      id,
      mode: 'client',
      client: '127.0.0.1:50000',
      server: '127.0.0.1:9001',
      tls: null,
      startedAt: this.now(),
      endedAt: null,
      state: 'open',
      handshake: null,
      close: null,
      errors: [],
      ...init,
      frames: { client: 0, server: 0 },
      bytes: { client: 0, server: 0 },
    };
    this.conns.set(id, { summary, frames: [], payloads: [], messages: [], pingSentAt: new Map() });
    this.pushConnection(id);
    return id;
  }

  /** A connection of `count` rows made up from their seq on demand. */
  addSyntheticConnection(url: string, count: number): string {
    const id = this.addConnection({ url, state: 'closed', endedAt: this.now() });
    const c = this.conns.get(id)!;
    const t0 = c.summary.startedAt;
    c.synthetic = (seq) => {
      const from: Side = seq % 2 === 0 ? 'client' : 'server';
      const payload = utf8Encode(JSON.stringify({ n: seq, price: 100 + ((seq * 7919) % 1000) / 100 }));
      return { row: summarize(seq, t0 + seq * 0.1, { from, opcode: 1, payload, maskKey: from === 'client' ? '1a2b3c4d' : null }), payload };
    };
    const half = Math.ceil(count / 2);
    c.summary = { ...c.summary, frames: { client: half, server: count - half }, bytes: { client: half * 30, server: (count - half) * 30 } };
    this.pushConnection(id);
    return id;
  }

  addFrame(id: string, spec: FrameSpec): FrameSummary {
    const c = this.conns.get(id);
    if (!c) throw new Error(`no connection ${id}`);
    const seq = c.frames.length;
    const row = summarize(seq, spec.time ?? this.now(), spec);
    c.frames.push(row);
    c.payloads.push(spec.payload);
    c.messages.push(spec.message?.data);
    const s = c.summary;
    c.summary = {
      ...s,
      frames: { ...s.frames, [spec.from]: s.frames[spec.from] + 1 },
      bytes: { ...s.bytes, [spec.from]: s.bytes[spec.from] + spec.payload.length },
    };
    this.push({ type: 'frames', connection: id, frames: [row] });
    this.pushConnection(id);
    return row;
  }

  update(id: string, patch: Partial<ConnectionSummary>): void {
    const c = this.conns.get(id);
    if (!c) return;
    c.summary = { ...c.summary, ...patch };
    this.pushConnection(id);
  }

  connection(id: string): ConnectionSummary | undefined {
    return this.conns.get(id)?.summary;
  }

  // -- pushing ----------------------------------------------------------------------------

  private pushConnection(id: string): void {
    const c = this.conns.get(id);
    if (c) this.push({ type: 'connection', connection: c.summary });
  }

  push(ev: UiEvent): void {
    this.pending.push(ev);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Sends the pending events as one batch, as the engine does once per animation frame. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const raw = this.pending;
    this.pending = [];
    // Coalesce like the engine: frames of a connection together, its summary once, last.
    const frames = new Map<string, FrameSummary[]>();
    const summaries = new Map<string, ConnectionSummary>();
    const other: UiEvent[] = [];
    for (const ev of raw) {
      if (ev.type === 'frames') {
        const list = frames.get(ev.connection);
        if (list) list.push(...ev.frames);
        else frames.set(ev.connection, [...ev.frames]);
      } else if (ev.type === 'connection') summaries.set(ev.connection.id, ev.connection);
      else other.push(ev);
    }
    const batch: UiEvent[] = [
      ...[...summaries.values()].map((connection) => ({ type: 'connection' as const, connection })),
      ...[...frames].map(([connection, f]) => ({ type: 'frames' as const, connection, frames: f })),
      ...other,
    ];
    for (const l of [...this.listeners]) l(batch);
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  stopTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // -- the API ----------------------------------------------------------------------------

  private intercept: InterceptState = { rules: [], canInjectFrames: false };
  private rules: RulesState = { rules: [], from: { client: false, server: false } };

  // The demo keeps rules as given (the real engine checks them) and applies none.
  private setRules(rules: RuleSpec[]): RulesState {
    const on = rules.filter((r) => r.enabled !== false);
    this.rules = { rules, from: { client: on.some((r) => r.direction !== 'server'), server: on.some((r) => r.direction !== 'client') } };
    this.push({ type: 'rules', state: this.rules });
    return this.rules;
  }

  // Launched apps: the demo "runs" one for a while, its connection labelled with it.
  private apps = new Map<number, LaunchedApp>();
  private appIds = 0;

  private launch(req: LaunchRequest): LaunchedApp {
    this.calls.push({ command: 'launch', arg: req });
    const browsers: Record<string, string> = { chromium: 'Chromium', firefox: 'Firefox' };
    let label: string;
    if ('browser' in req) {
      const name = browsers[req.browser];
      if (!name) throw new Error(`${req.browser} is not installed (not on PATH nor in the usual places)`);
      label = name;
    } else {
      if (req.command[0] === 'no-such-command') throw new Error(`cannot start ${req.command[0]}: no such command`);
      label = req.command.map((a) => (/[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
    }
    if (!this.proxy?.running) {
      this.proxy = { running: true, mode: 'forward', address: 'http://127.0.0.1:41234', target: null, caPath: '~/.config/framescope/ca/ca.pem' };
      this.push({ type: 'proxy', status: this.proxy });
    }
    const app: LaunchedApp = { id: ++this.appIds, label, pid: 4000 + this.appIds, state: 'running', startedAt: this.now() };
    this.apps.set(app.id, app);
    this.push({ type: 'app', app });
    this.later(this.latency * 5, () => {
      const url = 'browser' in req ? (req.url?.replace(/^http/, 'ws') ?? 'wss://app.example.test/socket') : 'ws://127.0.0.1:9000/chat';
      const id = this.addConnection({ url, mode: 'proxy', client: '127.0.0.1:51240', state: 'open', app: label });
      this.addFrame(id, { from: 'client', opcode: 1, payload: utf8Encode('{"hello":"from the app"}') });
      this.addFrame(id, { from: 'server', opcode: 1, payload: utf8Encode('{"welcome":true}') });
    });
    return app;
  }

  private stopApp(id: number): void {
    this.calls.push({ command: 'stopApp', arg: { id } });
    const app = this.apps.get(id);
    if (!app) throw new Error(`no running app ${id} (it has exited)`);
    this.apps.delete(id);
    this.push({ type: 'app', app: { ...app, state: 'exited', code: null, signal: 'SIGTERM' } });
  }

  readonly api: EngineApi = {
    snapshot: async (): Promise<Snapshot> => {
      this.calls.push({ command: 'snapshot', arg: undefined });
      const apps = [...this.apps.values()];
      return { connections: [...this.conns.values()].map((c) => c.summary), proxy: this.proxy, version: '0.0.0-demo', intercept: this.intercept, held: [], rules: this.rules, ...(apps.length > 0 ? { apps } : {}) };
    },
    launchTargets: async () => {
      this.calls.push({ command: 'launchTargets', arg: undefined });
      return {
        browsers: [
          { id: 'chromium', name: 'Chromium', path: '/usr/bin/chromium' },
          { id: 'firefox', name: 'Firefox', path: '/usr/bin/firefox' },
        ],
        proxy: this.proxy?.running ? this.proxy : null,
      };
    },
    launch: async (req) => this.launch(req),
    stopApp: async (req) => this.stopApp(req.id),
    frames: async (req) => {
      this.calls.push({ command: 'frames', arg: req });
      const c = this.conns.get(req.connection);
      if (!c) throw new Error(`no connection ${req.connection}`);
      const total = c.summary.frames.client + c.summary.frames.server;
      const to = Math.min(req.to, total, req.from + 10_000);
      const out: FrameSummary[] = [];
      for (let s = req.from; s < to; s++) {
        const row = c.synthetic ? c.synthetic(s).row : c.frames[s];
        if (row) out.push(row);
      }
      return out;
    },
    framePayload: async (req): Promise<FramePayload> => {
      this.calls.push({ command: 'framePayload', arg: req });
      const c = this.conns.get(req.connection);
      if (!c) throw new Error(`no connection ${req.connection}`);
      if (c.synthetic) return { payload: toBase64(c.synthetic(req.seq).payload) };
      const p = c.payloads[req.seq];
      if (!p) throw new Error(`no frame ${req.seq}`);
      const m = c.messages[req.seq];
      return { payload: toBase64(p), ...(m ? { message: toBase64(m) } : {}) };
    },
    connect: async (req) => this.connect(req),
    replay: async (req) => this.replay(req),
    send: async (req) => this.send(req),
    disconnect: async (req) => {
      this.calls.push({ command: 'disconnect', arg: req });
      this.closeFrom(req.connection, 'client', req.code ?? 1000, req.reason ?? '');
    },
    startProxy: async (req) => this.startProxy(req),
    stopProxy: async () => {
      this.calls.push({ command: 'stopProxy', arg: undefined });
      if (this.proxy) this.proxy = { ...this.proxy, running: false };
      this.push({ type: 'proxy', status: this.proxy });
    },
    exportCapture: async (req): Promise<FileBlob> => {
      this.calls.push({ command: 'exportCapture', arg: req });
      if (req.format !== 'json') throw new Error(`the demo engine exports only capture JSON (asked for ${req.format})`);
      const capture: CaptureFileJson = { format: 'framescope.capture', version: 1, createdAt: new Date(this.now()).toISOString(), connections: [] };
      for (const c of this.conns.values()) {
        if (c.synthetic || (req.connections && !req.connections.includes(c.summary.id))) continue;
        capture.connections.push(this.record(c));
      }
      return { filename: 'framescope-demo.wscap.json', mime: 'application/json', data: toBase64(utf8Encode(JSON.stringify(capture, null, 2))) };
    },
    importCapture: async (req) => {
      this.calls.push({ command: 'importCapture', arg: { filename: req.filename } });
      const file = JSON.parse(utf8Decode(fromBase64(req.data))) as CaptureFileJson;
      if (file.format !== 'framescope.capture') throw new Error(`${req.filename} is not a Framescope capture`);
      const ids: string[] = [];
      for (const rec of file.connections) {
        const { frames, ...rest } = rec;
        const id = this.addConnection({ ...rest, id: `c${this.nextId++}`, state: 'closed', imported: true });
        for (const f of frames) {
          const { message, ...fields } = f;
          const spec: FrameSpec = { ...fields, payload: fromBase64(f.payload), time: f.time };
          if (message) spec.message = { opcode: message.opcode, data: fromBase64(message.data) };
          this.addFrame(id, spec);
        }
        ids.push(id);
      }
      return { connections: ids };
    },
    caCertificate: async (): Promise<CaInfo> => ({
      pem: '-----BEGIN CERTIFICATE-----\nMIIB…(demo: the real engine shows the interception CA here)…\n-----END CERTIFICATE-----\n',
      fingerprint256: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
      path: '~/.config/framescope/ca/ca.pem',
    }),
    clear: async () => {
      this.calls.push({ command: 'clear', arg: undefined });
      for (const [id, c] of this.conns) if (c.summary.state === 'closed' || c.summary.state === 'failed') this.conns.delete(id);
      this.push({ type: 'cleared' });
    },
    // The demo relays no connection and holds nothing: breakpoints are kept and shown only.
    setIntercept: async (req) => {
      this.calls.push({ command: 'setIntercept', arg: req });
      const connection = req.connection ?? null;
      const rules = this.intercept.rules.filter((r) => !(r.connection === connection && r.from === req.from));
      if (req.on) rules.push({ connection, from: req.from, condition: req.condition ?? '' });
      this.intercept = { ...this.intercept, rules };
      this.push({ type: 'intercept', state: this.intercept });
      return this.intercept;
    },
    decideHeld: async (req) => {
      this.calls.push({ command: 'decideHeld', arg: req });
      throw new Error(`no held message ${req.id}`);
    },
    forwardAll: async (req) => {
      this.calls.push({ command: 'forwardAll', arg: req });
      return { released: 0 };
    },
    inject: async (req) => {
      this.calls.push({ command: 'inject', arg: req });
      throw new Error('the demo engine relays no connection to inject into');
    },
    getRules: async () => this.rules,
    setRules: async (req) => {
      this.calls.push({ command: 'setRules', arg: req });
      return this.setRules(req.rules);
    },
    enableRule: async (req) => {
      this.calls.push({ command: 'enableRule', arg: req });
      const rules = this.rules.rules.map((r, i) => (i === req.index - 1 ? { ...r, enabled: req.enabled } : r));
      return this.setRules(rules);
    },
    exportRules: async () => ({
      filename: 'rules.json',
      mime: 'application/json',
      data: toBase64(utf8Encode(`${JSON.stringify({ version: 1, rules: this.rules.rules }, null, 2)}\n`)),
    }),
    importRules: async (req) => {
      this.calls.push({ command: 'importRules', arg: req });
      const file = JSON.parse(utf8Decode(fromBase64(req.data))) as { rules: RuleSpec[] };
      return this.setRules(file.rules);
    },
    // The demo engine decodes nothing.
    setDecoder: async (req) => {
      this.calls.push({ command: 'setDecoder', arg: req });
      return { choice: req.protocol, protocol: null };
    },
    setProto: async (req) => {
      this.calls.push({ command: 'setProto', arg: req });
      return { choice: 'protobuf', protocol: null };
    },
    matchDecoded: async (req) => {
      this.calls.push({ command: 'matchDecoded', arg: req });
      return { seqs: [] };
    },
    pairs: async (req) => {
      this.calls.push({ command: 'pairs', arg: req });
      return { pairs: [], ended: false };
    },
    // The demo engine keeps no earlier sessions.
    restoreSession: async (req) => {
      this.calls.push({ command: 'restoreSession', arg: req });
      throw new Error(`no earlier session ${req.id}`);
    },
    discardSession: async (req) => {
      this.calls.push({ command: 'discardSession', arg: req });
      throw new Error(`no earlier session ${req.id}`);
    },
    // The demo searches words in the rows' previews (the real engine's grammar is richer), in one go.
    search: async (req) => {
      this.calls.push({ command: 'search', arg: req });
      const words = req.query.toLowerCase().split(/\s+/).filter(Boolean);
      if (words.length === 0) throw new Error('column 1: type something to search for');
      if (req.connection !== undefined && !this.conns.has(req.connection)) throw new Error(`no connection ${req.connection}`);
      const id = ++this.searches;
      const hits: SearchHit[] = [];
      let total = 0;
      for (const [cid, c] of this.conns) {
        if (req.connection !== undefined && cid !== req.connection) continue;
        const count = c.summary.frames.client + c.summary.frames.server;
        total += count;
        for (let seq = 0; seq < count; seq++) {
          const row = c.synthetic ? c.synthetic(seq).row : c.frames[seq];
          const text = row?.preview.toLowerCase() ?? '';
          if (words.every((w) => text.includes(w))) hits.push({ connection: cid, seq });
        }
      }
      const kept = hits.slice(0, SEARCH_HIT_LIMIT);
      this.push({ type: 'search', search: id, hits: kept, found: hits.length, scanned: total, total, done: true, ...(kept.length < hits.length ? { capped: true as const } : {}) });
      return { search: id, total };
    },
    cancelSearch: async (req) => {
      this.calls.push({ command: 'cancelSearch', arg: req });
    },
    // The demo decodes nothing, so it has no forms to edit.
    editForm: async (req) => {
      this.calls.push({ command: 'editForm', arg: req });
      return { reason: 'the demo engine does not edit decoded messages' };
    },
    encodeForm: async (req) => {
      this.calls.push({ command: 'encodeForm', arg: req });
      throw new Error('the demo engine does not encode decoded messages');
    },
    timeline: async (req) => {
      this.calls.push({ command: 'timeline', arg: req });
      return fakeTimeline([...this.conns.values()], req);
    },
    annotate: async (req) => {
      this.calls.push({ command: 'annotate', arg: req });
      const c = this.conns.get(req.connection);
      const old = c?.frames[req.seq];
      if (!c || !old) throw new Error(`connection ${req.connection} has no frame ${req.seq}`);
      const { bookmark: _b, note: _n, ...rest } = old;
      const bookmark = req.bookmark ?? old.bookmark === true;
      const note = (req.note ?? old.note ?? '').slice(0, MAX_NOTE);
      const row: FrameSummary = { ...rest, ...(bookmark ? { bookmark: true as const } : {}), ...(note ? { note } : {}) };
      c.frames[req.seq] = row;
      this.push({ type: 'frames', connection: req.connection, frames: [row] });
      return row;
    },
    bookmarks: async (req) => {
      this.calls.push({ command: 'bookmarks', arg: req });
      const c = this.conns.get(req.connection);
      if (!c) throw new Error(`no connection ${req.connection}`);
      return { seqs: c.frames.filter((f) => f.bookmark).map((f) => f.seq) };
    },
  };
  private searches = 0;

  private record(c: FakeConnection): ConnectionJson {
    return {
      ...summaryHead(c.summary),
      frames: c.frames.map((f, i) => {
        const { preview: _p, previewText: _t, message, ...rest } = f;
        const m = c.messages[i];
        return { ...rest, payload: toBase64(c.payloads[i]!), ...(message && m ? { message: { ...message, data: toBase64(m) } } : {}) };
      }),
    };
  }

  private async connect(req: ConnectRequest): Promise<{ connection: string }> {
    this.calls.push({ command: 'connect', arg: req });
    const key = generateKey(randomBytes);
    const request = buildClientRequest({
      url: req.url,
      key,
      ...(req.protocols ? { protocols: req.protocols } : {}),
      extensions: req.deflate === false ? [] : [deflateOffer()],
      headers: [['User-Agent', 'Framescope (demo)'], ...(req.headers ?? [])],
    });
    const requestAt = this.now();
    const secure = req.url.startsWith('wss:');
    const id = this.addConnection({
      url: req.url,
      state: 'connecting',
      startedAt: requestAt,
      tls: secure
        ? { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', servername: new URL(req.url).hostname, authorized: req.insecure ? false : true }
        : null,
    });
    this.later(this.latency, () => {
      const bad = req.url.includes('bad-accept');
      const response = buildServerResponse({
        key: bad ? 'x3JJHMbDL1EzLkh9GBhXDw==' : key,
        sha1,
        protocol: req.protocols?.[0] ?? null,
        headers: [['Server', 'demo-echo/1.0']],
      });
      const result = checkResponse(request, response, sha1);
      const handshake: HandshakeRecord = assembleHandshake(result, { request, response, requestAt, responseAt: this.now() });
      if (!result.ok) {
        this.update(id, { state: 'failed', handshake, endedAt: this.now(), errors: [result.failure ?? 'handshake failed'] });
        this.push({ type: 'error', connection: id, kind: 'handshake', message: result.failure ?? 'handshake failed' });
        return;
      }
      this.update(id, { state: 'open', handshake });
      this.addFrame(id, { from: 'server', opcode: 1, payload: utf8Encode('{"hello":"this is the demo echo server"}') });
    });
    return { connection: id };
  }

  /** A connection's whole data messages from one side (fragments joined), as the comparison takes them. */
  private messagesOf(c: FakeConnection, from: Side): ComparedMessage[] {
    const out: ComparedMessage[] = [];
    let opcode: 1 | 2 | null = null;
    c.frames.forEach((f, i) => {
      if (f.from !== from || (f.opcode !== 0 && f.opcode !== 1 && f.opcode !== 2)) return;
      if (f.opcode !== 0) opcode = f.opcode as 1 | 2;
      if (!f.fin || opcode === null) return;
      out.push({ opcode, data: c.messages[i] ?? c.payloads[i]! });
      opcode = null;
    });
    return out;
  }

  /** Like the engine: a new client connection sends the recorded client messages (to the demo echo server) and compares. */
  private async replay(req: ReplayRequest): Promise<{ connection: string }> {
    this.calls.push({ command: 'replay', arg: req });
    const old = this.conns.get(req.connection);
    if (!old) throw new Error(`no connection ${req.connection}`);
    const sent = this.messagesOf(old, 'client');
    const recorded = this.messagesOf(old, 'server');
    const { connection } = await this.connect({ url: req.target ?? old.summary.url });
    this.update(connection, { replay: { of: req.connection } });
    this.later(this.latency * 2, () => {
      for (const m of sent) {
        void this.send(m.opcode === 1 ? { connection, kind: 'text', text: utf8Decode(m.data) } : { connection, kind: 'binary', data: toBase64(m.data) });
      }
      this.later(this.latency * 2, () => {
        this.closeFrom(connection, 'client', 1000, '');
        const c = this.conns.get(connection)!;
        this.update(connection, { replay: { of: req.connection, comparison: compareMessages(recorded, this.messagesOf(c, 'server')) } });
      });
    });
    return { connection };
  }

  private async send(req: SendRequest): Promise<void> {
    this.calls.push({ command: 'send', arg: req });
    const c = this.conns.get(req.connection);
    if (!c) throw new Error(`no connection ${req.connection}`);
    if (c.summary.state !== 'open') throw new Error(`connection ${req.connection} is ${c.summary.state}`);
    const id = req.connection;
    switch (req.kind) {
      case 'text':
      case 'binary': {
        const data = req.kind === 'text' ? utf8Encode(req.text) : fromBase64(req.data);
        const opcode = req.kind === 'text' ? 1 : 2;
        const size = req.fragmentSize && req.fragmentSize < data.length ? req.fragmentSize : Math.max(1, data.length);
        const parts = Math.max(1, Math.ceil(data.length / size));
        for (let i = 0; i < parts; i++) {
          const payload = data.subarray(i * size, (i + 1) * size);
          const last = i === parts - 1;
          this.addFrame(id, {
            from: 'client',
            fin: last,
            opcode: i === 0 ? opcode : 0,
            payload,
            ...(last && parts > 1 ? { message: { opcode, data } } : {}),
          });
        }
        this.later(this.latency, () => this.addFrame(id, { from: 'server', opcode, payload: data }));
        return;
      }
      case 'ping':
      case 'pong': {
        const payload = fromBase64(req.data);
        const sentAt = this.now();
        this.addFrame(id, { from: 'client', opcode: req.kind === 'ping' ? 9 : 10, payload });
        if (req.kind === 'ping') this.later(this.latency, () => this.addFrame(id, { from: 'server', opcode: 10, payload, rtt: this.now() - sentAt }));
        return;
      }
      case 'close':
        this.closeFrom(id, 'client', req.code ?? 1000, req.reason ?? '');
        return;
      case 'raw': {
        const f = req.frame;
        const payload = fromBase64(f.payload);
        const violations: Violation[] = [];
        if (f.rsv1 || f.rsv2 || f.rsv3) violations.push(violation('rsv-without-extension', 'an RSV bit is set and no extension was negotiated'));
        if ((f.opcode >= 3 && f.opcode <= 7) || f.opcode >= 11) violations.push(violation('reserved-opcode', `opcode ${f.opcode} is reserved`));
        if (f.maskKey === null) violations.push(violation('unmasked-client-frame', 'a client frame must be masked'));
        if (isControl(f.opcode) && payload.length > 125) violations.push(violation('control-frame-too-long', 'control frame payload over 125 bytes'));
        this.addFrame(id, { from: 'client', fin: f.fin, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3, opcode: f.opcode, payload, maskKey: f.maskKey === undefined ? toHex(randomBytes(4)) : f.maskKey });
        this.later(this.latency, () => {
          if (violations.length) this.closeFrom(id, 'server', 1002, violations[0]!.message.slice(0, 100));
          else if (f.opcode === 1 || f.opcode === 2) this.addFrame(id, { from: 'server', opcode: f.opcode, payload });
        });
        return;
      }
    }
  }

  private closeFrom(id: string, by: Side, code: number, reason: string): void {
    const c = this.conns.get(id);
    if (!c || c.summary.state === 'closed' || c.summary.state === 'failed') return;
    this.addFrame(id, { from: by, opcode: 8, payload: closePayload(code, reason) });
    this.update(id, { state: 'closing' });
    this.later(this.latency, () => {
      this.addFrame(id, { from: by === 'client' ? 'server' : 'client', opcode: 8, payload: closePayload(code, '') });
      this.update(id, { state: 'closed', endedAt: this.now(), close: { code, reason, by, clean: true } });
    });
  }

  private async startProxy(req: ProxyStartRequest): Promise<ProxyStatus> {
    this.calls.push({ command: 'startProxy', arg: req });
    const listen = req.listen.includes(':') ? req.listen : `127.0.0.1:${req.listen}`;
    this.proxy = {
      running: true,
      mode: req.mode,
      address: req.mode === 'reverse' ? `ws://${listen}/` : `http://${listen}`,
      target: req.target ?? null,
      caPath: req.mode === 'forward' ? '~/.config/framescope/ca/ca.pem' : null,
    };
    this.push({ type: 'proxy', status: this.proxy });
    // A made-up app connecting through it a moment later.
    this.later(this.latency * 10, () => {
      const url = req.target ?? 'wss://app.example.test/socket';
      const pid = this.addConnection({ url, mode: 'proxy', client: '127.0.0.1:51234', state: 'open' });
      this.addFrame(pid, { from: 'client', opcode: 1, payload: utf8Encode('{"op":"subscribe","channel":"orders"}') });
      this.addFrame(pid, { from: 'server', opcode: 1, payload: utf8Encode('{"op":"subscribed","channel":"orders"}') });
    });
    return this.proxy;
  }

  // -- the client -------------------------------------------------------------------------

  client(kind: UiClient['kind'] = 'demo'): UiClient {
    const open: TransportStatus = { state: 'open' };
    return {
      ...this.api,
      kind,
      shell: null,
      status: () => open,
      onStatus: () => () => {},
      onEvents: (l) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
      onOpenFile: () => () => {},
      onMenu: () => () => {},
      dispose: () => this.stopTimers(),
    };
  }
}

/** The demo engine with a few connections worth looking at (open the page with ?demo). */
export function createDemoClient(options: { seed?: string | undefined } = {}): UiClient {
  const fake = new FakeEngine();
  seedDemo(fake, options.seed ?? '');
  return fake.client('demo');
}

export function seedDemo(fake: FakeEngine, seed: string): void {
  const t0 = fake.now() - 95_000;
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const request = buildClientRequest({
    url: 'ws://127.0.0.1:9001/chat?room=7',
    key,
    protocols: ['chat.v2', 'chat.v1'],
    extensions: [deflateOffer()],
    headers: [['User-Agent', 'Framescope (demo)'], ['Origin', 'http://127.0.0.1:3000']],
  });
  const response = buildServerResponse({
    key,
    sha1,
    protocol: 'chat.v2',
    extensions: [{ name: 'permessage-deflate', params: { server_no_context_takeover: true, client_max_window_bits: '15' } }],
    headers: [['Server', 'ws/8']],
  });
  const handshake = assembleHandshake(checkResponse(request, response, sha1), { request, response, requestAt: t0, responseAt: t0 + 2.417 });
  const chat = fake.addConnection({ url: 'ws://127.0.0.1:9001/chat?room=7', startedAt: t0, handshake, state: 'open' });
  let t = t0 + 3;
  const at = () => (t += 11.37 + (t % 7));
  const text = (s: string) => utf8Encode(s);
  fake.addFrame(chat, { from: 'client', opcode: 1, payload: text('{"type":"join","room":7,"user":"ada"}'), maskKey: '37fa213d', time: at() });
  fake.addFrame(chat, { from: 'server', opcode: 1, payload: text('{"type":"joined","room":7,"members":["ada","grace","linus"],"topic":"frames, all the way down"}'), time: at() });
  // RFC 7692 §7.2.3.1: "Hello" compressed in one frame.
  fake.addFrame(chat, { from: 'server', rsv1: true, opcode: 1, payload: hexBytes('f248cdc9c90700'), message: { opcode: 1, data: text('Hello') }, time: at() });
  // RFC 6455 §5.7: a fragmented unmasked text message.
  fake.addFrame(chat, { from: 'server', fin: false, opcode: 1, payload: text('Hel'), time: at() });
  fake.addFrame(chat, { from: 'server', fin: true, opcode: 0, payload: text('lo'), message: { opcode: 1, data: text('Hello') }, time: at() });
  fake.addFrame(chat, { from: 'client', opcode: 9, payload: text('Hello'), maskKey: '37fa213d', time: at() });
  fake.addFrame(chat, { from: 'server', opcode: 10, payload: text('Hello'), rtt: 0.734, time: at() });
  const bin = new Uint8Array(300).map((_, i) => (i * 37) & 0xff);
  fake.addFrame(chat, { from: 'client', opcode: 2, payload: bin, maskKey: 'a1b2c3d4', time: at() });
  fake.addFrame(chat, {
    from: 'server',
    rsv2: true,
    opcode: 1,
    payload: text('{"type":"oops"}'),
    violations: [violation('rsv-without-extension', 'RSV2 is set, and no extension that defines it was negotiated')],
    time: at(),
  });
  fake.addFrame(chat, { from: 'client', opcode: 1, payload: text('{"type":"message","text":"héllo ✓ 🌍"}'), maskKey: '0badf00d', time: at() });
  fake.addFrame(chat, { from: 'server', opcode: 1, payload: text('{"type":"message","from":"grace","text":"héllo ✓ 🌍"}'), time: at() });
  for (let i = 0; i < 40; i++) {
    fake.addFrame(chat, { from: 'server', opcode: 1, payload: text(JSON.stringify({ type: 'tick', n: i, price: 100 + Math.sin(i / 3) * 4 })), time: at() });
  }
  fake.addFrame(chat, { from: 'client', opcode: 8, payload: closePayload(1000, 'bye'), maskKey: '5c7a9e01', time: at() });
  fake.addFrame(chat, { from: 'server', opcode: 8, payload: closePayload(1000, ''), time: at() });
  fake.update(chat, { state: 'closed', endedAt: t, close: { code: 1000, reason: 'bye', by: 'client', clean: true } });

  if (seed === 'big') fake.addSyntheticConnection('ws://127.0.0.1:9002/firehose', 1_000_000);

  // A live one: ticks every 250 ms, a ping every 5 s.
  void fake.api.connect({ url: 'wss://demo.framescope.test/ticker', deflate: true }).then(({ connection }) => {
    let n = 0;
    const tick = () => {
      const c = fake.connection(connection);
      if (!c || c.state !== 'open') return void setTimeout(tick, 250);
      n++;
      if (n % 20 === 0) void fake.api.send({ connection, kind: 'ping', data: toBase64(text(`p${n}`)) });
      else fake.addFrame(connection, { from: 'server', opcode: 1, payload: text(JSON.stringify({ t: Math.round(fake.now()), n, bid: (100 + Math.sin(n / 9) * 3).toFixed(3) })) });
      setTimeout(tick, 250);
    };
    setTimeout(tick, 250);
  });
}
