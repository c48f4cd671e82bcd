// The engine behind the UI: implements the contract's commands on the client, the proxy
// and the store, and pushes UiEvents in batches — at most one batch per animation frame,
// however many WebSocket frames arrive (docs/design.md "Live at any rate").
import { base64 } from '../base64';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  ProtoFile,
  CaInfo,
  CommandArg,
  CommandName,
  CommandResult,
  AnnotateRequest,
  DecoderState,
  DecodedForm,
  EditFormResult,
  EncodedForm,
  PairsView,
  PreviousSession,
  SearchProgress,
  ConnectRequest,
  ConnectionSummary,
  ReplayRequest,
  EngineApi,
  ExportRequest,
  FileBlob,
  FramePayload,
  FrameSummary,
  HeldDecision,
  InjectRequest,
  InterceptState,
  LaunchRequest,
  LaunchTargets,
  LaunchedApp,
  ProxyStartRequest,
  ProxyStatus,
  RuleSpec,
  RulesState,
  SendRequest,
  Snapshot,
  Timeline,
  TimelineRequest,
  UiEvent,
} from '../../../shared/contract';
import { validateCommand } from '../../../shared/contract';
import type { EngineEvent } from '../../../shared/model';
import { LocalProtocolError } from '../../../shared/codec/endpoint';
import { ClientError, WebSocketClient } from '../client/client';
import { ProxyServer } from '../proxy/server';
import { defaultCaDir, loadOrCreateCa } from '../certificates/ca-store';
import { SessionStore, emptySummary } from './session-store';
import { SavedSessions } from './saved-sessions';
import { MEMORY_LIMIT } from '../recording/event-log';
import { ioReason } from '../io-errors';
import { authority, parseListen } from '../listen';
import { exportSource, importFile } from './session-io';
import { CaptureFormatError } from '../recording/capture-source';
import { newest } from './ui-batch';
import { now } from '../clock';
import { Breakpoints, BreakpointError, rawFrameOf } from './breakpoints';
import { RulesError, SessionRules, sessionPolicy } from './session-rules';
import { SessionDecoding, decorate, smallDecoded } from './session-decode';
import { withProto } from '../decoders';
import { ProtoError, loadProtoFiles, pickTypes } from '../decoders/protobuf';
import type { DecodeChoice } from '../../../shared/decoders/types';
import { matchField, parseFieldQuery } from '../../../shared/decoders/field-path';
import { SessionSearch } from './search';
import { SearchQueryError } from './search-query';
import type { WireMessage } from '../../../shared/decoders/forms';
import { FormRefused, editForm, encodeForm, encodedJson, heldBytes, type FormConnection, type HeldBytes } from './session-forms';
import { SessionTimeline } from './timeline';
import { ReplayError, planReplay, runReplay } from '../replay/replay';
import { AppError, SessionApps } from './session-apps';


export interface SessionOptions {
  /** where the interception CA lives (default: the user's config dir) */
  caDir?: string;
  /**
   * Where sessions are kept to be offered back after a restart (saved-sessions.ts). Absent:
   * the session records into a temp folder deleted when it ends.
   */
  sessionsDir?: string;
  version: string;
  /** how often batched events go out (ms); about one animation frame */
  batchMs?: number;
  /** how long a slice of a search runs before the event loop gets a turn (ms; default search.ts SLICE_MS) */
  searchSliceMs?: number;
  /**
   * Why this session must not start programs (`launch`), if it must not: a UI served beyond
   * loopback would let whoever holds its token run commands on this machine.
   */
  noLaunch?: string;
}

/** A command failed for a reason the user should read (not a bug). */
export class CommandError extends Error {
  override name = 'CommandError';
}

export class EngineSession implements EngineApi {
  // A session file the disk will not take is said once where the app logs (stderr); the
  // store keeps recording in memory (session-store.ts).
  private readonly saved: SavedSessions | null;
  private readonly store: SessionStore;
  private readonly clients = new Map<string, WebSocketClient>();
  private proxy: { server: ProxyServer; status: ProxyStatus } | null = null;
  private readonly listeners = new Set<(events: UiEvent[]) => void>();
  private ids = 0;
  // Every connection gets a breakpoint policy (watching nothing until a breakpoint is set).
  private readonly breaks = new Breakpoints((e) => this.push(e), true);
  // The rules set in the UI, applied to every connection before its breakpoints.
  private readonly rules = new SessionRules((e) => this.push(e));
  // Every connection's messages decoded as they are recorded (derived: the journal keeps the bytes).
  private readonly decoding = new SessionDecoding();
  // The whole-history search, one at a time, reporting as it scans.
  private readonly searches: SessionSearch;
  // Every connection's traffic over time, in bounded buckets (the timeline command).
  private readonly series = new SessionTimeline();
  // Apps launched from the UI through the forward proxy.
  private readonly apps = new SessionApps({ proxy: () => this.forwardProxy(), push: (e) => this.push(e) });
  private proxyStarting: Promise<unknown> | null = null;

  // The next batch: summaries coalesced per connection, rows appended per connection.
  private dirty = new Map<string, ConnectionSummary>();
  private rows = new Map<string, FrameSummary[]>();
  private others: UiEvent[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SessionOptions) {
    this.saved = options.sessionsDir ? new SavedSessions(options.sessionsDir) : null;
    this.store = new SessionStore(this.saved?.current, {
      keep: this.saved !== null,
      onFailure: (err) =>
        process.stderr.write(`framescope: cannot write the session file (${ioReason(err)}): recording goes on in memory, past ${MEMORY_LIMIT / 1024 / 1024} MiB without payloads\n`),
    });
    this.searches = new SessionSearch(this.store, this.decoding, (p: SearchProgress) => this.push({ type: 'search', ...p }), options.searchSliceMs);
  }

  onEvents(listener: (events: UiEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs a command by name after validating its argument (the IPC and bridge entry point). */
  async dispatch<K extends CommandName>(name: K, arg: unknown): Promise<CommandResult<K>> {
    const valid = validateCommand(name, arg);
    const fn = this[name] as (a: CommandArg<K>) => Promise<CommandResult<K>>;
    return fn.call(this, valid);
  }

  // -- events -----------------------------------------------------------------------------

  private readonly sink = (e: EngineEvent): void => {
    const { summary, row } = this.store.append(e);
    this.series.event(e);
    const d = this.decoding.event(e);
    if (d && e.event === 'frame' && d.latencyMs !== undefined && !d.heartbeat) this.series.latency(e.connection, e.time, d.latencyMs);
    if (d) {
      if (row) row.decoded = smallDecoded(d);
      const state = this.decoding.state(summary.id);
      if (summary.decoding?.protocol !== state.protocol) summary.decoding = state;
    }
    this.dirty.set(summary.id, summary);
    if (row) {
      const list = this.rows.get(e.connection);
      if (list) list.push(row);
      else this.rows.set(e.connection, [row]);
    }
    if (e.event === 'error') this.others.push({ type: 'error', connection: e.connection, kind: e.kind, message: e.message });
    this.schedule();
  };

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.options.batchMs ?? 16);
  }

  /** Sends the pending batch now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch: UiEvent[] = [];
    // Summaries first (a new connection before its frames), then rows, then the rest.
    for (const s of this.dirty.values()) batch.push({ type: 'connection', connection: copySummary(s) });
    for (const [connection, frames] of this.rows) batch.push({ type: 'frames', connection, frames: newest(frames) });
    batch.push(...this.others);
    this.dirty = new Map();
    this.rows = new Map();
    this.others = [];
    if (batch.length === 0) return;
    for (const l of this.listeners) l(batch);
  }

  private push(event: UiEvent): void {
    this.others.push(event);
    this.schedule();
  }

  // -- commands ---------------------------------------------------------------------------

  async snapshot(): Promise<Snapshot> {
    return {
      connections: this.store.summaries().map(copySummary),
      proxy: this.proxy?.status ?? null,
      version: this.options.version,
      intercept: this.breaks.state(),
      held: this.breaks.heldMessages(),
      rules: this.rules.state(),
      ...(this.apps.list().length > 0 ? { apps: this.apps.list() } : {}),
      ...(this.previous() ? { previousSession: this.previous()! } : {}),
    };
  }

  private offered: PreviousSession | null | undefined;
  /** The earlier session on offer (looked up once; gone once restored or discarded). */
  private previous(): PreviousSession | null {
    if (this.offered === undefined) this.offered = this.saved?.previous() ?? null;
    return this.offered;
  }

  async restoreSession(req: { id: string }): Promise<{ connections: string[] }> {
    const journal = this.saved?.journalOf(req.id);
    if (!journal) throw new CommandError(`no earlier session ${req.id}`);
    const ids: string[] = [];
    try {
      importFile(journal, () => {
        const id = `i${++this.ids}`;
        ids.push(id);
        return id;
      }, (e) => this.sink(e));
    } catch (err) {
      throw new CommandError(`could not restore the earlier session: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const id of ids) {
      const s = this.store.summary(id);
      if (s) {
        s.imported = true;
        if (s.state === 'connecting' || s.state === 'open' || s.state === 'closing') s.state = 'closed';
        this.dirty.set(id, s);
      }
    }
    // Its events are in this session's journal now: the earlier copy would be offered twice.
    this.saved!.remove(req.id);
    this.offered = null;
    this.push({ type: 'previousSession', previous: null });
    return { connections: ids };
  }

  async discardSession(req: { id: string }): Promise<void> {
    if (!this.saved?.journalOf(req.id)) throw new CommandError(`no earlier session ${req.id}`);
    this.saved.remove(req.id);
    if (this.offered?.id === req.id) {
      this.offered = null;
      this.push({ type: 'previousSession', previous: null });
    }
  }

  async frames(req: { connection: string; from: number; to: number }): Promise<FrameSummary[]> {
    if (req.to - req.from > 10_000) throw new CommandError('ask for at most 10000 frames at a time');
    return this.store.frameRows(req.connection, req.from, req.to).map((r) => decorate(r, this.decoding.record(req.connection, r.seq)));
  }

  async framePayload(req: { connection: string; seq: number }): Promise<FramePayload> {
    const f = this.store.frame(req.connection, req.seq);
    if (!f) throw new CommandError(`no frame ${req.seq} on connection ${req.connection}`);
    // The bridge is JSON (and the web UI's transport text): bytes go as base64.
    const out: FramePayload = { payload: base64(f.payload) };
    if (f.message) out.message = base64(f.message.data);
    if (f.truncated) out.truncated = true;
    const d = this.decoding.record(req.connection, req.seq);
    if (d) out.decoded = d;
    const answer = this.decoding.answeredBy(req.connection, req.seq);
    if (answer !== undefined) out.answeredBy = answer;
    return out;
  }

  async connect(req: ConnectRequest): Promise<{ connection: string }> {
    return { connection: this.startClient(req).id };
  }

  /** A new client connection, shown at once; `opened` says whether its handshake succeeded. */
  private startClient(req: ConnectRequest): { id: string; client: WebSocketClient; opened: Promise<boolean> } {
    const id = `c${++this.ids}`;
    let client: WebSocketClient;
    try {
      client = WebSocketClient.create({
        url: req.url,
        headers: req.headers,
        protocols: req.protocols,
        deflate: req.deflate ?? true,
        insecure: req.insecure ?? false,
        tolerant: req.tolerant ?? false,
        id,
        onEvent: this.sink,
        keepFrames: false,
        policy: sessionPolicy(id, this.rules, this.breaks),
      });
    } catch (err) {
      throw new CommandError(err instanceof Error ? err.message : String(err));
    }
    const summary = emptySummary(id, 'client', req.url);
    // The client's start, on the clock its frames are stamped with.
    summary.startedAt = client.record.startedAt;
    this.store.begin(summary);
    this.dirty.set(id, summary);
    this.schedule();
    this.clients.set(id, client);
    client.on('error', () => {
      /* recorded through onEvent */
    });
    // The peers as soon as TCP connects: a handshake that fails later still shows who talked.
    client.on('peers', (local, remote) => {
      const s = this.store.summary(id);
      if (!s) return;
      s.client = local;
      s.server = remote;
      this.dirty.set(id, s);
      this.schedule();
    });
    const opened = client.open().then(
      () => {
        const s = this.store.summary(id);
        if (s) {
          s.client = client.record.client;
          s.server = client.record.server;
          s.tls = client.record.tls;
          this.dirty.set(id, s);
          this.schedule();
        }
      },
      () => {
        // The failure is an error event already; a connection that never opened has no
        // close event to end it, so it ends here (else its age would count on forever).
        const s = this.store.summary(id);
        if (s && s.endedAt === null) {
          s.endedAt = now();
          this.dirty.set(id, s);
          this.schedule();
        }
        return false;
      },
    );
    void client.closed.then(() => this.clients.delete(id));
    return { id, client, opened: opened.then((ok) => ok !== false) };
  }

  async replay(req: ReplayRequest): Promise<{ connection: string }> {
    if (!this.store.has(req.connection)) throw new CommandError(`no connection ${req.connection}`);
    const source = this.store.source([req.connection]);
    let plan: ReturnType<typeof planReplay>;
    try {
      plan = planReplay(source.connections[0]!.head, source.frames(0), { target: req.target });
    } catch (err) {
      if (err instanceof ReplayError) throw new CommandError(err.message);
      throw err;
    } finally {
      source.close();
    }
    const { id, client, opened } = this.startClient({ url: plan.url, headers: plan.headers, protocols: plan.protocols, deflate: plan.deflate });
    const state = (patch: Partial<NonNullable<ConnectionSummary['replay']>>) => {
      const s = this.store.summary(id);
      if (!s) return;
      s.replay = { of: req.connection, ...s.replay, ...patch };
      this.dirty.set(id, s);
      this.schedule();
    };
    state({});
    const notes: string[] = [...plan.notes];
    void opened.then(async (ok) => {
      if (!ok) return state({ error: client.record.errors[0] ?? 'the connection failed' });
      const r = await runReplay(client, plan, { speed: req.speed, asap: req.asap, waitForServer: req.waitForServer, note: (line) => notes.push(line) });
      state({ comparison: r.comparison, ...(notes.length > 0 ? { notes: notes.slice(0, 20) } : {}) });
    }).catch((err: unknown) => state({ error: err instanceof Error ? err.message : String(err) }));
    return { connection: id };
  }

  private client(id: string): WebSocketClient {
    const c = this.clients.get(id);
    if (!c) {
      const s = this.store.summary(id);
      throw new CommandError(
        !s ? `no connection ${id}` : s.mode === 'proxy' ? `${id} is a proxied connection: Framescope relays it and cannot send on it` : `${id} is closed`,
      );
    }
    return c;
  }

  async send(req: SendRequest): Promise<void> {
    const c = this.client(req.connection);
    try {
      switch (req.kind) {
        // Through the connection's policy: a breakpoint on the client's messages holds them.
        case 'text':
          this.sendMessage(c, 1, new TextEncoder().encode(req.text), req.fragmentSize);
          break;
        case 'binary':
          this.sendMessage(c, 2, Buffer.from(req.data, 'base64'), req.fragmentSize);
          break;
        case 'ping':
          void c.ping(Buffer.from(req.data, 'base64'));
          break;
        case 'pong':
          c.pong(Buffer.from(req.data, 'base64'));
          break;
        case 'close':
          void c.close(req.code, req.reason ?? '');
          break;
        case 'decoded':
          // In order: a Socket.IO binary event's packet, then its attachments.
          for (const m of this.encoded(req.connection, req.form)) this.sendMessage(c, m.opcode, m.data, undefined);
          break;
        case 'raw': {
          const { maskKey, ...frame } = rawFrameOf(req.frame);
          c.sendRaw({ ...frame, ...(maskKey === null ? { mask: false } : maskKey ? { mask: true, maskKey } : {}) });
          break;
        }
      }
    } catch (err) {
      if (err instanceof LocalProtocolError || err instanceof ClientError || err instanceof RangeError) throw new CommandError(err.message);
      throw err;
    }
  }

  /** Sends a data message; one held at a breakpoint goes later, and a failure then is reported on the connection. */
  private sendMessage(c: WebSocketClient, opcode: 1 | 2, data: Uint8Array, fragmentSize: number | undefined): void {
    c.send(opcode, data, { fragmentSize }).catch((err: unknown) => {
      this.push({ type: 'error', connection: c.record.id, kind: 'usage', message: err instanceof Error ? err.message : String(err) });
    });
  }

  async disconnect(req: { connection: string; code?: number; reason?: string }): Promise<void> {
    const s = this.store.summary(req.connection);
    if (s?.mode === 'proxy') {
      // Framescope only relays a proxied connection: dropping it ends both sockets.
      if (!(await this.proxy?.server.drop(req.connection))) throw new CommandError(`${req.connection} is not a live proxied connection`);
      return;
    }
    const c = this.client(req.connection);
    try {
      void c.close(req.code ?? 1000, req.reason ?? '');
    } catch (err) {
      if (err instanceof LocalProtocolError) throw new CommandError(err.message);
      throw err;
    }
  }

  async startProxy(req: ProxyStartRequest): Promise<ProxyStatus> {
    if (this.proxy) throw new CommandError(`the proxy is already running on ${this.proxy.status.address}`);
    let listen;
    try {
      listen = parseListen(req.listen, 'listen');
    } catch (err) {
      throw new CommandError((err as Error).message);
    }
    if (req.mode === 'reverse' && !req.target) throw new CommandError('a reverse proxy needs a target ws:// or wss:// URL');
    const caDir = this.options.caDir ?? defaultCaDir();
    let server: ProxyServer;
    try {
      server = await ProxyServer.start({
        host: listen.host,
        port: listen.port,
        target: req.mode === 'reverse' ? req.target : undefined,
        allowHosts: req.allowHosts,
        insecure: req.insecure,
        caDir: req.mode === 'forward' ? caDir : undefined,
        sink: this.sink,
        nextId: () => `p${++this.ids}`,
        intervene: (id) => sessionPolicy(id, this.rules, this.breaks),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new CommandError(e.code === 'EADDRINUSE' ? `${req.listen} is already in use` : e.message);
    }
    const where = authority(server.address.host, server.address.port);
    const status: ProxyStatus = {
      running: true,
      mode: req.mode,
      address: req.mode === 'reverse' ? `ws://${where}/` : `http://${where}`,
      target: req.target ?? null,
      caPath: req.mode === 'forward' ? join(caDir, 'ca.pem') : null,
    };
    this.proxy = { server, status };
    this.push({ type: 'proxy', status });
    return status;
  }

  /** The session's forward proxy, started on loopback (a free port) when none runs. */
  private async forwardProxy(): Promise<{ server: ProxyServer; caCertPath: string }> {
    // Two launches at once start one proxy.
    if (!this.proxy) {
      this.proxyStarting ??= this.startProxy({ mode: 'forward', listen: '127.0.0.1:0' }).finally(() => (this.proxyStarting = null));
      await this.proxyStarting;
    }
    const p = this.proxy;
    if (!p) throw new CommandError('the proxy stopped while the app was being launched');
    if (p.status.mode !== 'forward' || !p.server.ca) throw new CommandError(`the proxy runs in reverse mode (${p.status.address}): stop it to launch an app, which goes through the forward proxy`);
    return { server: p.server, caCertPath: p.server.ca.certPath };
  }

  async launchTargets(): Promise<LaunchTargets> {
    return { browsers: this.apps.targets(), proxy: this.proxy?.status ?? null };
  }

  async launch(req: LaunchRequest): Promise<LaunchedApp> {
    if (this.options.noLaunch) throw new CommandError(this.options.noLaunch);
    try {
      return await this.apps.launch(req);
    } catch (err) {
      if (err instanceof AppError) throw new CommandError(err.message);
      throw err;
    }
  }

  async stopApp(req: { id: number }): Promise<void> {
    try {
      await this.apps.stop(req.id);
    } catch (err) {
      if (err instanceof AppError) throw new CommandError(err.message);
      throw err;
    }
  }

  async stopProxy(): Promise<void> {
    const p = this.proxy;
    if (!p) return;
    this.proxy = null;
    await p.server.stop();
    this.push({ type: 'proxy', status: null });
  }

  async exportCapture(req: ExportRequest): Promise<FileBlob> {
    for (const id of req.connections ?? []) if (!this.store.has(id)) throw new CommandError(`no connection ${id}`);
    return exportSource(this.store.source(req.connections), req.format);
  }

  async importCapture(req: FileBlob): Promise<{ connections: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'framescope-import-'));
    const path = join(dir, req.filename.replace(/[^\w.-]/g, '_') || 'import');
    try {
      writeFileSync(path, Buffer.from(req.data, 'base64'));
      const ids: string[] = [];
      importFile(path, () => {
        const id = `i${++this.ids}`;
        ids.push(id);
        return id;
      }, (e) => this.sink(e));
      for (const id of ids) {
        const s = this.store.summary(id);
        if (s) {
          s.imported = true;
          if (s.state === 'connecting') s.state = 'closed';
        }
      }
      return { connections: ids };
    } catch (err) {
      // The readers name the file they read, here a temp copy: the user is told of the file
      // they picked, and never of a path inside the engine's temp folder.
      if (err instanceof CaptureFormatError) throw new CommandError(new CaptureFormatError(req.filename, err.what, err.where).message);
      const text = err instanceof Error ? err.message : String(err);
      throw new CommandError(text.split(path).join(req.filename).split(dir).join('…'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async caCertificate(): Promise<CaInfo> {
    const ca = await loadOrCreateCa(this.options.caDir ?? defaultCaDir());
    return { pem: ca.certPem, fingerprint256: new X509Certificate(ca.certPem).fingerprint256, path: ca.certPath };
  }

  async clear(): Promise<void> {
    const before = this.store.summaries().map((c) => c.id);
    this.store.clearClosed();
    for (const id of before) {
      if (this.store.has(id)) continue;
      this.decoding.forget(id);
      this.series.forget(id);
    }
    this.push({ type: 'cleared' });
  }

  async setIntercept(req: { connection?: string; from: 'client' | 'server'; on: boolean; condition?: string }): Promise<InterceptState> {
    return this.breakpoint(() => this.breaks.set(req));
  }

  async decideHeld(req: { id: number; decision: HeldDecision }): Promise<void> {
    const d = req.decision;
    if (d.action === 'encode') {
      const h = this.breaks.heldMessage(req.id);
      if (!h) throw new CommandError(`no held message ${req.id} (decided already, or its connection ended)`);
      const [m, ...more] = this.encoded(h.connection, d.form, heldBytes(h));
      // Held messages are one message each (a held packet's attachments are held on their own).
      if (!m || more.length > 0) throw new CommandError('a held message is replaced by one message');
      this.breakpoint(() => this.breaks.decide(req.id, { action: 'replace', opcode: m.opcode, data: base64(m.data) }));
      return;
    }
    this.breakpoint(() => this.breaks.decide(req.id, d));
  }

  async forwardAll(req: { connection?: string }): Promise<{ released: number }> {
    return { released: this.breaks.forwardAll(req.connection) };
  }

  async inject(req: InjectRequest): Promise<void> {
    const s = this.store.summary(req.connection);
    if (s && s.mode !== 'proxy') throw new CommandError(`${req.connection} is Framescope's own connection: send on it rather than inject`);
    if (req.kind === 'decoded') {
      // Encoded whole first: a form refused sends nothing.
      const messages = this.encoded(req.connection, req.form);
      for (const m of messages) {
        const one: InjectRequest =
          m.opcode === 1
            ? { connection: req.connection, to: req.to, kind: 'text', text: new TextDecoder().decode(m.data) }
            : { connection: req.connection, to: req.to, kind: 'binary', data: base64(m.data) };
        this.breakpoint(() => this.breaks.inject(one));
      }
      return;
    }
    this.breakpoint(() => this.breaks.inject(req));
  }

  // -- decoded forms ----------------------------------------------------------------------

  private formConnection(id: string): FormConnection {
    const s = this.store.summary(id);
    if (!s) throw new CommandError(`no connection ${id}`);
    return { protocol: this.decoding.state(id).protocol, target: s.handshake?.request.target ?? s.url ?? null, decoder: this.decoding.decoder(id) };
  }

  /** The messages a form becomes, or a CommandError saying which field is wrong (nothing is sent). */
  private encoded(connection: string, form: DecodedForm, held?: HeldBytes): WireMessage[] {
    try {
      return encodeForm(this.formConnection(connection), form, held);
    } catch (err) {
      if (err instanceof FormRefused) throw new CommandError(err.message);
      throw err;
    }
  }

  async editForm(req: { connection: string; held?: number }): Promise<EditFormResult> {
    const c = this.formConnection(req.connection);
    if (req.held === undefined) return editForm(c);
    const h = this.breaks.heldMessage(req.held);
    if (!h || h.connection !== req.connection) throw new CommandError(`no held message ${req.held} on ${req.connection}`);
    return editForm(c, heldBytes(h));
  }

  async encodeForm(req: { connection: string; form: DecodedForm; held?: number }): Promise<EncodedForm> {
    let held: HeldBytes | undefined;
    if (req.held !== undefined) {
      const h = this.breaks.heldMessage(req.held);
      if (!h || h.connection !== req.connection) throw new CommandError(`no held message ${req.held} on ${req.connection}`);
      held = heldBytes(h);
    }
    return encodedJson(this.encoded(req.connection, req.form, held));
  }

  async getRules(): Promise<RulesState> {
    return this.rules.state();
  }

  async setRules(req: { rules: RuleSpec[] }): Promise<RulesState> {
    return this.breakpoint(() => this.rules.set(req.rules));
  }

  async enableRule(req: { index: number; enabled: boolean }): Promise<RulesState> {
    return this.breakpoint(() => this.rules.enable(req.index, req.enabled));
  }

  async exportRules(): Promise<FileBlob> {
    return this.rules.export();
  }

  async importRules(req: FileBlob): Promise<RulesState> {
    return this.breakpoint(() => this.rules.import(req));
  }

  async setDecoder(req: { connection: string; protocol: DecodeChoice }): Promise<DecoderState> {
    const s = this.store.summary(req.connection);
    if (!s) throw new CommandError(`no connection ${req.connection}`);
    // What is pending goes out first: rows already batched were decoded the old way.
    this.flush();
    this.series.resetLatency(req.connection);
    this.decoding.redecode(req.connection, req.protocol, this.store.replay(req.connection), (e, d) => {
      if (e.event === 'frame' && d.latencyMs !== undefined && !d.heartbeat) this.series.latency(e.connection, e.time, d.latencyMs);
    });
    s.decoding = this.decoding.state(req.connection);
    this.dirty.set(s.id, s);
    this.push({ type: 'decoded', connection: req.connection, decoding: s.decoding });
    return s.decoding;
  }

  async setProto(req: { connection: string; files?: ProtoFile[]; type?: string }): Promise<DecoderState> {
    const s = this.store.summary(req.connection);
    if (!s) throw new CommandError(`no connection ${req.connection}`);
    let schema = this.decoding.proto(req.connection)?.schema;
    try {
      if (req.files !== undefined) schema = loadProtoFiles(req.files);
      if (!schema) throw new CommandError('load a .proto file first');
      const types = pickTypes(schema, req.type ?? (schema.topLevel.length === 1 ? undefined : schema.topLevel[0] ?? schema.types[0]), 'the type');
      const name = (t: typeof types.client) => (t ? t.fullName.replace(/^\./, '') : null);
      this.decoding.setProto(req.connection, { schema, state: { file: schema.file, types: schema.types, client: name(types.client), server: name(types.server) }, decoders: withProto(types) });
    } catch (err) {
      if (err instanceof ProtoError) throw new CommandError(err.message);
      throw err;
    }
    return this.setDecoder({ connection: req.connection, protocol: 'protobuf' });
  }

  async matchDecoded(req: { connection: string; query: string }): Promise<{ seqs: number[] }> {
    if (!this.store.has(req.connection)) throw new CommandError(`no connection ${req.connection}`);
    const q = parseFieldQuery(req.query);
    if (typeof q === 'string') throw new CommandError(q);
    const seqs: number[] = [];
    for (const [seq, d] of this.decoding.records(req.connection)) if (matchField(q, d.value)) seqs.push(seq);
    return { seqs: seqs.sort((a, b) => a - b) };
  }

  async pairs(req: { connection: string }): Promise<PairsView> {
    const s = this.store.summary(req.connection);
    if (!s) throw new CommandError(`no connection ${req.connection}`);
    const records = this.decoding.records(req.connection);
    const out: PairsView['pairs'] = [];
    const answered = new Set<number>();
    for (const [seq, d] of records) {
      if (d.pairedWith === undefined || d.heartbeat || answered.has(d.pairedWith)) continue;
      answered.add(d.pairedWith);
      const r = records.get(d.pairedWith);
      out.push({ request: d.pairedWith, answer: seq, latencyMs: d.latencyMs ?? null, type: r?.type ?? d.type, ...(r?.name !== undefined ? { name: r.name } : {}), ...(r?.id !== undefined ? { id: r.id } : d.id !== undefined ? { id: d.id } : {}) });
    }
    for (const seq of this.decoding.unanswered(req.connection)) {
      const r = records.get(seq);
      if (!r || r.heartbeat) continue;
      out.push({ request: seq, answer: null, latencyMs: null, type: r.type, ...(r.name !== undefined ? { name: r.name } : {}), ...(r.id !== undefined ? { id: r.id } : {}) });
    }
    return { pairs: out.sort((a, b) => a.request - b.request), ended: s.close !== null || s.state === 'closed' || s.state === 'failed' };
  }

  async search(req: { query: string; connection?: string }): Promise<{ search: number; total: number }> {
    if (req.connection !== undefined && !this.store.has(req.connection)) throw new CommandError(`no connection ${req.connection}`);
    // Frames batched but not yet pushed are in the journal already: they are searched too.
    try {
      return this.searches.start(req.query, req.connection);
    } catch (err) {
      if (err instanceof SearchQueryError) throw new CommandError(err.message);
      throw err;
    }
  }

  async cancelSearch(req: { search: number }): Promise<void> {
    this.searches.cancel(req.search);
    // What it reported but the batch has not sent yet goes too: nothing of it after the cancel.
    this.others = this.others.filter((e) => !(e.type === 'search' && e.search === req.search));
  }

  async annotate(req: AnnotateRequest): Promise<FrameSummary> {
    const c = this.store.summary(req.connection);
    if (!c) throw new CommandError(`no connection ${req.connection}`);
    const current = this.store.frameRows(req.connection, req.seq, req.seq + 1)[0];
    if (!current) throw new CommandError(`connection ${req.connection} has no frame ${req.seq}`);
    const row = this.store.annotate(req.connection, req.seq, { bookmark: req.bookmark ?? current.bookmark === true, note: req.note ?? current.note ?? '' })!;
    const decorated = decorate(row, this.decoding.record(req.connection, req.seq));
    // Every UI on this session (another browser tab) redraws the row.
    this.push({ type: 'frames', connection: req.connection, frames: [decorated] });
    return decorated;
  }

  async bookmarks(req: { connection: string }): Promise<{ seqs: number[] }> {
    if (!this.store.has(req.connection)) throw new CommandError(`no connection ${req.connection}`);
    return { seqs: this.store.bookmarks(req.connection) };
  }

  async timeline(req: TimelineRequest): Promise<Timeline> {
    const all = this.store.summaries();
    const chosen = req.connection === undefined ? all : all.filter((s) => s.id === req.connection);
    if (req.connection !== undefined && chosen.length === 0) throw new CommandError(`no connection ${req.connection}`);
    if (req.from !== undefined && req.to !== undefined && req.to < req.from) throw new CommandError('the window ends before it starts (to < from)');
    const t = this.series.query(
      chosen.map((s) => s.id),
      req,
    );
    const out: Timeline = {
      connection: req.connection ?? null,
      origin: chosen.reduce((m, s) => Math.min(m, s.startedAt), chosen.length ? Infinity : t.from),
      live: chosen.some((s) => s.endedAt === null && s.state !== 'closed' && s.state !== 'failed'),
      ...t,
    };
    if (req.connection !== undefined) out.seqs = { first: this.seqAt(req.connection, t.from, false), end: this.seqAt(req.connection, t.to, true) };
    return out;
  }

  /**
   * The first seq whose frame time is at or after `time` (past it, with `after`): frames are
   * recorded in time order, so a binary search reads a few records from the journal.
   */
  private seqAt(id: string, time: number, after: boolean): number {
    let lo = 0;
    let hi = this.store.frameCount(id);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = this.store.frame(id, mid)?.time ?? Infinity;
      if (after ? t <= time : t < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private breakpoint<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof BreakpointError || err instanceof RulesError) throw new CommandError(err.message);
      throw err;
    }
  }

  /** Ends everything: closes client connections, stops the proxy, removes the store. */
  async dispose(): Promise<void> {
    this.searches.cancel();
    for (const c of this.clients.values()) c.destroy();
    // Launched apps first: their connections then close through the proxy, recorded.
    await this.apps.dispose();
    await this.stopProxy();
    this.flush();
    this.store.dispose();
    const all = this.store.summaries();
    this.saved?.end({ connections: all.length, frames: all.reduce((n, c) => n + c.frames.client + c.frames.server, 0) });
  }
}

function copySummary(s: ConnectionSummary): ConnectionSummary {
  return { ...s, frames: { ...s.frames }, bytes: { ...s.bytes }, errors: [...s.errors] };
}

export const sessionToken = (): string => randomBytes(24).toString('base64url');
