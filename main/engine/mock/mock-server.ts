// `framescope mock`: a WebSocket server that plays a recorded server side to every client
// that connects, each its own playback. The server side is ours, as the proxy's is: our
// head reader and handshake checks, our endpoint and frame codec, recorded like any other
// connection (mode "mock").
import net from 'node:net';
import { listenOn } from '../listen';
import { createHash, randomBytes } from 'node:crypto';
import type { CloseRecord, InterventionMark, Side } from '../../../shared/model';
import { WebSocketEndpoint, type EndpointEvent } from '../../../shared/codec/endpoint';
import { assembleHandshake, buildServerResponse, checkRequest, checkResponse, headerValues, unansweredHandshake, writeResponseHead } from '../../../shared/codec/handshake';
import { acceptDeflateOffer, type DeflateParams } from '../../../shared/codec/extensions';
import { deflaterFor, inflaterFor } from '../../../shared/codec/compression';
import { DEFAULT_MAX_MESSAGE } from '../../../shared/codec/messages';
import { isValidWireCloseCode } from '../../../shared/codec/protocol';
import { ConnectionRecorder, type EventSink } from '../recording/recorder';
import { zlibCompression } from '../zlib-compression';
import { now } from '../clock';
import { isHeadFailure, readHead } from '../proxy/head-reader';
import { sendHttpError } from '../proxy/http-error';
import type { ConnectionPolicy } from '../intervene/lane';
import type { Decision, Injector } from '../intervene/types';
import { matchKey, type MockMatch } from './mock-match';
import type { MockRecording, ServerStep } from './mock-capture';

const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();
const utf8 = new TextEncoder();
const textOf = new TextDecoder();

/** What the mock says about a client's message (the `mock` event of docs/contracts.md). */
export interface MockReport {
  connection: string;
  kind: 'matched' | 'unmatched';
  /** the client's message on this connection, from 1 */
  index: number;
  /** matched: the recorded client message it stands for, from 1 */
  recorded?: number;
  /** matched: how many recorded server messages (and a close) answer it */
  answers?: number;
  opcode: 1 | 2;
  data: Uint8Array;
}

export interface MockOptions {
  host: string;
  port: number;
  recording: MockRecording;
  mode: 'order' | 'match';
  match: MockMatch;
  timing: 'recorded' | 'asap';
  sink: EventSink;
  report(r: MockReport): void;
  /** a script's hooks per connection (null: none) */
  policy?: (connection: string) => ConnectionPolicy | null;
  /** one line for the user (a bad request, an injection toward the server) */
  log?: (line: string) => void;
  /** deadline for a client's request head (default 10000) */
  timeoutMs?: number;
  /** largest client frame payload accepted (default 64 MiB) */
  maxPayload?: number;
}

export class MockServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly live = new Set<Promise<void>>();
  private ids = 0;
  address: { host: string; port: number } = { host: '', port: 0 };
  /** recorded keys of the recorded client messages (match mode) */
  readonly keys: Array<string | null>;

  private constructor(readonly o: MockOptions) {
    this.keys = o.recording.client.map((m) => matchKey(o.match, m.opcode, m.data));
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  static async start(o: MockOptions): Promise<MockServer> {
    const m = new MockServer(o);
    m.address = await listenOn(m.server, o.port, o.host);
    return m;
  }

  /** Stops listening, ends every connection and waits until each is recorded as closed. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    await Promise.all(this.live);
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const p = this.handle(socket).catch((err: unknown) => {
      this.o.log?.(`internal error on a client connection: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    });
    this.live.add(p);
    void p.finally(() => this.live.delete(p));
  }

  private async handle(socket: net.Socket): Promise<void> {
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    const r = await readHead(socket, 'request', { maxHeaderBytes: 16 * 1024, timeoutMs: this.o.timeoutMs ?? 10_000 });
    if (isHeadFailure(r)) {
      if (r.error === 'eof') socket.destroy();
      else {
        this.o.log?.(`client ${from}: ${r.message}; answered 400`);
        sendHttpError(socket, 400, 'Bad Request', r.message);
      }
      return;
    }
    const requestAt = now();
    const request = r.head;
    const host = headerValues(request.headers, 'host')[0] ?? this.o.host;
    const rec = new ConnectionRecorder({ id: `m${++this.ids}`, mode: 'mock', url: `ws://${host}${request.target.startsWith('/') ? request.target : '/'}`, startedAt: requestAt, keepFrames: false }, this.o.sink);
    rec.setEndpoints(from, `${this.address.host}:${this.address.port}`);
    rec.open();
    const c = checkRequest(request);
    if (!c.ok || !c.key) {
      const version = c.checks.some((k) => k.id === 'version' && !k.ok);
      const why = c.failure ?? 'not a WebSocket handshake';
      rec.handshake(unansweredHandshake(request, sha1, requestAt, why));
      rec.error('handshake', `the client's handshake fails a check: ${why}; answered ${version ? 426 : 400}`);
      rec.close({ code: null, reason: '', by: 'transport', clean: false }, now());
      sendHttpError(socket, version ? 426 : 400, version ? 'Upgrade Required' : 'Bad Request', why);
      return;
    }
    const rc = this.o.recording;
    const protocol = rc.protocol !== null && c.protocols.includes(rc.protocol) ? rc.protocol : null;
    const deflate = rc.deflate ? acceptDeflateOffer(c.extensions) : null;
    const response = buildServerResponse({ key: c.key, sha1, protocol, extensions: deflate ? [deflate.response] : [] });
    socket.write(writeResponseHead(response));
    const responseAt = now();
    rec.handshake(assembleHandshake(checkResponse(request, response, sha1), { request, response, requestAt, responseAt }));
    const conn = new MockConnection(this, socket, rec, deflate?.params ?? null);
    await conn.run(r.rest);
  }
}

type Waiter = () => void;

/** One client's playback. */
class MockConnection {
  private readonly ep: WebSocketEndpoint;
  private readonly policy: ConnectionPolicy | null;
  private received = 0;
  private readonly used = new Set<number>();
  private over = false;
  private waiters: Waiter[] = [];
  private timers = new Set<NodeJS.Timeout>();
  /** what a sleep resolves with when the connection ends first */
  private sleepers: Waiter[] = [];
  private closeTimer: NodeJS.Timeout | null = null;
  /** client messages are looked at one at a time, in order (a script's hook may take time) */
  private clientChain: Promise<void> = Promise.resolve();
  /** server steps go out one at a time, in order */
  private sendChain: Promise<void> = Promise.resolve();
  private marks = 0;
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(
    private readonly server: MockServer,
    private readonly socket: net.Socket,
    private readonly rec: ConnectionRecorder,
    deflate: DeflateParams | null,
  ) {
    this.ep = new WebSocketEndpoint({
      role: 'server',
      stance: 'endpoint',
      maxPayload: server.o.maxPayload ?? DEFAULT_MAX_MESSAGE,
      compression: deflate ? { inflater: inflaterFor(zlibCompression, deflate, 'client'), deflater: deflaterFor(zlibCompression, deflate, 'server') } : null,
      maskKey: () => randomBytes(4),
    });
    this.policy = server.o.policy?.(rec.record.id) ?? null;
  }

  private readonly injector: Injector = {
    inject: (to: Side, payload: string | Uint8Array) => {
      if (to !== 'client') return this.server.o.log?.(`${this.rec.record.id}: ctx.inject toward the server: a mock has no server; nothing sent`);
      const data = typeof payload === 'string' ? utf8.encode(payload) : payload;
      this.send(typeof payload === 'string' ? 1 : 2, data, { id: ++this.marks, injected: true });
    },
    injectFrame: (to, frame) => {
      if (to !== 'client') return this.server.o.log?.(`${this.rec.record.id}: injectFrame toward the server: a mock has no server; nothing sent`);
      if (this.ep.closeSent || this.over) return;
      const { maskKey, ...rest } = frame;
      this.ep.sendRaw({ ...rest, mask: maskKey != null, ...(maskKey ? { maskKey } : {}) }, now());
      this.apply(this.ep.takeEvents());
    },
    close: (code: number, reason: string) => this.closeWith(code, reason),
  };

  async run(early: Uint8Array): Promise<void> {
    const s = this.socket;
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('end', () => this.finish());
    s.on('close', () => this.finish());
    this.policy?.opened?.(this.rec.record.handshake!, this.injector);
    if (early.length > 0) this.onData(early);
    s.resume();
    if (this.server.o.mode === 'order') void this.playInOrder();
    else this.queueGroup(0);
    await this.done;
  }

  private onData(chunk: Uint8Array): void {
    if (this.over) return;
    this.apply(this.ep.receive(chunk, now()));
  }

  /** Records and acts on what the endpoint did, then writes what it queued. */
  private apply(events: EndpointEvent[], mark?: InterventionMark): void {
    const frames = events.filter((e): e is Extract<EndpointEvent, { type: 'frame' }> => e.type === 'frame');
    const last = frames.at(-1);
    for (const e of events) {
      if (e.type === 'frame') {
        this.rec.frame(e.frame, { message: e.message, rtt: e.rtt, intervention: mark ? (e === last ? mark : { id: mark.id }) : undefined });
      } else if (e.type === 'message' && e.from === 'client') {
        const m = e.message;
        this.clientChain = this.clientChain.then(() => this.onClientMessage(m.opcode, m.data));
      } else if (e.type === 'fail') {
        const code = e.afterClose ? undefined : e.closeCode;
        this.rec.error('protocol', `protocol violation by the client: ${e.violation.message} [${e.violation.id}, RFC ${e.violation.rfc}]; ${e.afterClose ? 'failed the connection' : `failed the connection with ${e.closeCode}`}`, code);
      }
    }
    for (const b of this.ep.takeOutgoing()) if (!this.socket.destroyed) this.socket.write(b);
    const ep = this.ep;
    // The server ends TCP first once both close frames have passed (RFC 6455 §7.1.1).
    if ((ep.closeSent && ep.closeReceived) || ep.failure) this.socket.end();
    else if (ep.closeSent && !this.closeTimer) {
      this.closeTimer = setTimeout(() => this.socket.destroy(), 3000);
      this.closeTimer.unref();
    }
  }

  private async onClientMessage(opcode: 1 | 2, data: Uint8Array): Promise<void> {
    if (this.over) return;
    const d = await this.decide('client', opcode, data);
    if (d.action === 'drop') return;
    if (d.action === 'close') return this.closeWith(d.code, d.reason);
    if (d.action === 'replace') {
      opcode = d.opcode;
      data = d.data;
    }
    const index = ++this.received;
    const o = this.server.o;
    const groups = o.recording.groups;
    if (o.mode === 'order') {
      if (index > o.recording.client.length) o.report({ connection: this.rec.record.id, kind: 'unmatched', index, opcode, data });
      else o.report({ connection: this.rec.record.id, kind: 'matched', index, recorded: index, answers: groups[index]!.length, opcode, data });
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    const key = matchKey(o.match, opcode, data);
    const candidates = key === null ? [] : this.server.keys.flatMap((k, i) => (k === key ? [i] : []));
    if (candidates.length === 0) {
      o.report({ connection: this.rec.record.id, kind: 'unmatched', index, opcode, data });
      return;
    }
    // The same request asked again gets the next recorded answer to it; past the last, the last again.
    const i = candidates.find((c) => !this.used.has(c)) ?? candidates.at(-1)!;
    this.used.add(i);
    o.report({ connection: this.rec.record.id, kind: 'matched', index, recorded: i + 1, answers: groups[i + 1]!.length, opcode, data });
    this.queueGroup(i + 1);
  }

  /** Order mode: group k goes out once the client has sent k messages. */
  private async playInOrder(): Promise<void> {
    const groups = this.server.o.recording.groups;
    for (let k = 0; k < groups.length && !this.over; k++) {
      while (this.received < k && !this.over) await new Promise<void>((r) => this.waiters.push(r));
      this.queueGroup(k);
      await this.sendChain;
    }
  }

  private queueGroup(k: number): void {
    const rc = this.server.o.recording;
    let at = k === 0 ? rc.openedAt : rc.client[k - 1]!.time;
    for (const step of rc.groups[k]!) {
      const wait = this.server.o.timing === 'recorded' ? Math.max(0, step.time - at) : 0;
      at = step.time;
      this.sendChain = this.sendChain.then(() => this.play(step, wait));
    }
  }

  private async play(step: ServerStep, wait: number): Promise<void> {
    if (wait > 0) await this.sleep(wait);
    if (this.over || this.ep.closeSent) return;
    if (step.kind === 'close') return this.closeWith(step.code ?? undefined, step.reason);
    const d = await this.decide('server', step.opcode, step.data);
    if (d.action === 'drop') return;
    if (d.action === 'close') return this.closeWith(d.code, d.reason);
    if (d.action === 'delay') await this.sleep(d.ms);
    if (d.action === 'replace') this.send(d.opcode, d.data, { id: ++this.marks, decision: 'replaced' });
    else this.send(step.opcode, step.data);
  }

  private async decide(from: Side, opcode: 1 | 2, data: Uint8Array): Promise<Decision> {
    const p = this.policy;
    if (!p || !p.watches(from)) return { action: 'pass' };
    try {
      return await p.decide({ connection: this.rec.record.id, from, opcode, data, ...(opcode === 1 ? { text: textOf.decode(data) } : {}) }, this.injector);
    } catch {
      return { action: 'forward' };
    }
  }

  private send(opcode: 1 | 2, data: Uint8Array, mark?: InterventionMark): void {
    if (this.over || this.ep.closeSent || this.ep.state === 'closed') return;
    this.ep.sendMessage(opcode, data, now());
    this.apply(this.ep.takeEvents(), mark);
  }

  private closeWith(code: number | undefined, reason: string): void {
    if (this.over || this.ep.closeSent) return;
    // A recorded close with a code that may not be sent (1005: none was given) goes out without one.
    const ok = code !== undefined && isValidWireCloseCode(code);
    this.ep.sendClose(ok ? code : undefined, ok ? reason : '', now());
    this.apply(this.ep.takeEvents());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
      this.sleepers.push(resolve);
    });
  }

  private finish(): void {
    if (this.over) return;
    this.apply(this.ep.end(now()));
    this.over = true;
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sleepers.splice(0)) s();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    for (const w of this.waiters.splice(0)) w();
    const ep = this.ep;
    const first = ep.firstClose;
    const close: CloseRecord = first ? { code: first.code, reason: first.reason, by: first.by, clean: ep.closeSent && ep.closeReceived } : { code: null, reason: '', by: 'transport', clean: false };
    if (!first) this.rec.error('network', `the client ${this.rec.record.client} went away without a close frame (1006)`, 1006);
    this.rec.close(close, now());
    this.policy?.closed?.(close);
    this.socket.destroy();
    this.resolveDone();
  }
}
