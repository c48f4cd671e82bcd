// The raw-socket WebSocket client: net/tls I/O around the sans-I/O handshake and endpoint.
// Everything it reads and writes goes through the recorder, so the capture holds every
// byte of the conversation, including what arrived before a failure.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import type { CloseRecord, ErrorKind, HttpResponseRecord } from '../../../shared/model';
import { WebSocketEndpoint, type EndpointEvent, type SendOptions } from '../../../shared/codec/endpoint';
import type { FrameSpec } from '../../../shared/codec/frame-writer';
import type { AssembledMessage } from '../../../shared/codec/messages';
import {
  HttpHeadParser,
  HandshakeError,
  buildClientRequest,
  assembleHandshake,
  checkResponse,
  generateKey,
  writeRequestHead,
} from '../../../shared/codec/handshake';
import { deflateOffer, type DeflateParams } from '../../../shared/codec/extensions';
import { deflaterFor, inflaterFor } from '../../../shared/codec/compression';
import { zlibCompression } from '../zlib-compression';
import { ConnectionRecorder, type EventSink } from '../recording/recorder';
import { describeSocketError } from '../socket-errors';
import { now } from '../clock';
import { tlsRecord } from '../tls-record';
import type { ConnectionPolicy } from '../intervene/lane';
import type { Decision, Injector, RawFrame } from '../intervene/types';
import type { InterventionDecision, InterventionMark, Side } from '../../../shared/model';
import type { WireFrame } from '../../../shared/codec/frame';
import { encodeFrame } from '../../../shared/codec/frame-writer';
import { FrameParser } from '../../../shared/codec/frame-parser';

/** A server message held for the policy: its frames, recorded once its fate is known. */
interface HeldIncoming {
  frames: Array<Extract<EndpointEvent, { type: 'frame' }>>;
  message: AssembledMessage;
}

export interface ConnectOptions {
  url: string;
  /** extra handshake headers, in order */
  headers?: Array<[string, string]>;
  protocols?: string[];
  /** offer permessage-deflate (default true) */
  deflate?: boolean;
  /** do not verify the server's certificate */
  insecure?: boolean;
  /** PEM of a CA to trust for wss:// */
  ca?: string | Buffer;
  /** keep the connection open through protocol violations */
  tolerant?: boolean;
  /** largest frame payload accepted (default 64 MiB) */
  maxPayload?: number;
  /** give up on the TCP/TLS connect and the handshake after this long (default 10 s) */
  handshakeTimeout?: number;
  /** after the close frames, wait this long for the server to end TCP (default 3 s) */
  closeTimeout?: number;
  /** mask keys (tests pass a fixed one); default: crypto random */
  maskKey?: () => Uint8Array;
  id?: string;
  onEvent?: EventSink;
  /**
   * what may change messages (a script): the server's before they are delivered ('message'),
   * the ones sent through send() before they go out
   */
  policy?: ConnectionPolicy;
  /**
   * keep every frame in `record.frames` (default true: `connect --capture` writes them);
   * the app's session turns it off, its store journals frames to disk as they come
   */
  keepFrames?: boolean;
}

/** A failure with the kind the CLI and the events report. */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly closeCode?: number,
  ) {
    super(message);
  }
}

/** the end of the socket's input, in the held queue */
const END = Symbol('end');

const sha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();
const random = (n: number): Uint8Array => randomBytes(n);

interface ClientEvents {
  message: [message: AssembledMessage];
  frame: [event: Extract<EndpointEvent, { type: 'frame' }>];
  close: [close: CloseRecord];
  error: [error: ClientError];
  /** TCP is connected: the local and remote addresses (before TLS and the handshake) */
  peers: [client: string, server: string];
}

export class WebSocketClient extends EventEmitter<ClientEvents> {
  readonly recorder: ConnectionRecorder;
  /** resolves when the TCP connection has ended, with the close as recorded */
  readonly closed: Promise<CloseRecord>;
  private endpoint: WebSocketEndpoint | null = null;
  private socket: net.Socket | null = null;
  private resolveClosed!: (c: CloseRecord) => void;
  private closeTimer: NodeJS.Timeout | null = null;
  private pendingPings = new Map<string, Array<(rtt: number) => void>>();
  /** socket input not yet given to the endpoint, in order, while the handshake's rest waits */
  private held: Array<Uint8Array | typeof END> | null = null;
  private ended = false;
  private readonly options: ConnectOptions;
  private readonly url: URL;
  /** server data frames of the message being assembled, while a policy watches the server */
  private incomingFrames: Array<Extract<EndpointEvent, { type: 'frame' }>> = [];
  private readonly incoming: HeldIncoming[] = [];
  private deciding = false;
  /** the server message being assembled is held for the policy */
  private holdingMessage = false;
  private interventions = 1;
  /** the mark for the next data frame the endpoint records as sent */
  private outgoingMark: InterventionMark | null = null;
  /** sends (through the policy) in the order they were asked for */
  private sending: Promise<void> = Promise.resolve();

  private constructor(options: ConnectOptions, url: URL) {
    super();
    this.options = options;
    this.url = url;
    this.recorder = new ConnectionRecorder(
      { id: options.id ?? 'c1', mode: 'client', url: options.url, startedAt: now(), keepFrames: options.keepFrames ?? true },
      options.onEvent,
    );
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /**
   * Connects and performs the opening handshake. Resolves once the server's 101 has been
   * verified; rejects with a ClientError (already recorded) otherwise.
   */
  static async connect(options: ConnectOptions): Promise<WebSocketClient> {
    const client = WebSocketClient.create(options);
    await client.open();
    return client;
  }

  /** Validates the URL and makes the client (and its recorder) without connecting. */
  static create(options: ConnectOptions): WebSocketClient {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ClientError('usage', `not a URL: ${options.url}`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new ClientError('usage', `the URL must start with ws:// or wss://, not ${url.protocol}//`);
    }
    if (url.hash) throw new ClientError('usage', 'a WebSocket URL must not have a #fragment (RFC 6455 §3)');
    return new WebSocketClient(options, url);
  }

  get record() {
    return this.recorder.record;
  }

  private where(): string {
    return `${this.url.hostname}:${this.port()}`;
  }

  private port(): number {
    return this.url.port ? Number(this.url.port) : this.url.protocol === 'wss:' ? 443 : 80;
  }

  /** Connects and performs the opening handshake (once). */
  open(): Promise<void> {
    const o = this.options;
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const secure = this.url.protocol === 'wss:';
    const timeoutMs = o.handshakeTimeout ?? 10_000;

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let tlsDone = !secure;
      const failOpen = (kind: ErrorKind, message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.recorder.error(kind, message);
        socket.destroy();
        reject(new ClientError(kind, message));
      };
      const timer = setTimeout(() => {
        const stage = !connected ? 'connecting' : !tlsDone ? 'in the TLS handshake' : 'waiting for the handshake response';
        failOpen('timeout', `timed out after ${timeoutMs} ms ${stage} (${this.where()})`);
      }, timeoutMs);
      let connected = false;

      const socket: net.Socket = secure
        ? tls.connect({
            host,
            port: this.port(),
            servername: net.isIP(host) ? undefined : host,
            rejectUnauthorized: !o.insecure,
            ca: o.ca,
            ALPNProtocols: ['http/1.1'],
          })
        : net.connect({ host, port: this.port() });
      this.socket = socket;
      socket.setNoDelay(true);

      socket.on('error', (err) => {
        if (!settled) {
          const d = describeSocketError(err, this.where(), connected && !tlsDone);
          failOpen(d.kind, d.message);
        } else if (!this.ended) {
          const d = describeSocketError(err, this.where(), false);
          this.recorder.error(d.kind, d.message);
          this.emitError(new ClientError(d.kind, d.message));
        }
      });
      socket.once('connect', () => {
        connected = true;
        this.recorder.setEndpoints(`${socket.localAddress}:${socket.localPort}`, `${socket.remoteAddress}:${socket.remotePort}`);
        this.emit('peers', this.recorder.record.client!, this.recorder.record.server!);
      });

      const startHandshake = () => {
        tlsDone = true;
        if (secure) this.recorder.setTls(tlsRecord(socket as tls.TLSSocket, net.isIP(host) ? null : host));
        const key = generateKey(random);
        let request;
        try {
          request = buildClientRequest({
            url: this.options.url,
            key,
            protocols: o.protocols ?? [],
            extensions: o.deflate === false ? [] : [deflateOffer()],
            headers: o.headers ?? [],
          });
        } catch (err) {
          failOpen('usage', err instanceof Error ? err.message : String(err));
          return;
        }
        const requestAt = now();
        socket.write(writeRequestHead(request));
        const parser = new HttpHeadParser('response', {});
        let received = 0;
        const onData = (chunk: Buffer) => {
          received += chunk.length;
          let result;
          try {
            result = parser.receive(chunk);
          } catch (err) {
            const msg = err instanceof HandshakeError ? err.message : String(err);
            failOpen('handshake', `bad handshake response from ${this.where()}: ${msg}`);
            return;
          }
          if (!result.done) return;
          socket.off('data', onData);
          socket.off('end', onEndEarly);
          const responseAt = now();
          const response = result.head as HttpResponseRecord;
          const verdict = checkResponse(request, response, sha1);
          this.recorder.handshake(assembleHandshake(verdict, { request, response, requestAt, responseAt }));
          if (!verdict.ok) {
            failOpen('handshake', `handshake with ${this.where()} failed: ${verdict.failure}`);
            return;
          }
          settled = true;
          clearTimeout(timer);
          this.startEndpoint(verdict.deflate, result.rest);
          resolve();
          // After the caller's listeners are on (its await runs first).
          const policy = o.policy;
          if (policy?.opened) setImmediate(() => policy.opened!(this.record.handshake!, this.injector));
        };
        const onEndEarly = () => {
          const got = received > 0 ? 'before the response head was complete' : 'without answering the handshake';
          failOpen('handshake', `the server closed the connection ${got} (${this.where()})`);
        };
        socket.on('data', onData);
        socket.once('end', onEndEarly);
      };
      if (secure) socket.once('secureConnect', startHandshake);
      else socket.once('connect', startHandshake);
    });
  }

  /**
   * `deflate`: the permessage-deflate parameters checkResponse found negotiated, if any;
   * `rest`: the bytes that came after the response head in its last chunk.
   */
  private startEndpoint(deflate: DeflateParams | null, rest: Uint8Array): void {
    const o = this.options;
    const compression = deflate
      ? { inflater: inflaterFor(zlibCompression, deflate, 'server'), deflater: deflaterFor(zlibCompression, deflate, 'client') }
      : null;
    this.endpoint = new WebSocketEndpoint({
      role: 'client',
      stance: o.tolerant ? 'observer' : 'endpoint',
      maxPayload: o.maxPayload,
      compression,
      maskKey: o.maskKey ?? (() => random(4)),
    });
    const socket = this.socket!;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onEnd());
    // Frames that came with the response are handled once the caller has its listeners on
    // (the awaiting code runs first, in a microtask). Until then everything the socket
    // delivers waits behind them: a large first frame's next chunks are read in the same
    // turn of the loop, and the endpoint must get the stream in wire order.
    if (rest.length > 0) {
      this.held = [rest];
      setImmediate(() => this.release());
    }
  }

  /** Feeds the endpoint what arrived while the first bytes after the head were held back. */
  private release(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    for (const item of held) {
      if (item === END) this.onEnd();
      else this.onData(item);
    }
  }

  private onData(chunk: Uint8Array): void {
    if (this.held) {
      this.held.push(chunk);
      return;
    }
    if (!this.endpoint || this.ended) return;
    this.handle(this.endpoint.receive(chunk, now()));
  }

  private onEnd(): void {
    if (this.held) {
      this.held.push(END);
      return;
    }
    if (this.ended || !this.endpoint) return;
    const ep = this.endpoint;
    this.handle(ep.end(now()));
    this.ended = true;
    // Held server messages the connection ended under were never delivered.
    for (const h of this.incoming.splice(0)) this.recordHeld(h, this.interventions++, 'undelivered');
    for (const f of this.incomingFrames.splice(0)) this.recorder.frame(f.frame, { message: f.message, rtt: f.rtt });
    if (this.closeTimer) clearTimeout(this.closeTimer);
    const first = ep.firstClose;
    const close: CloseRecord = first
      ? { code: first.code, reason: first.reason, by: first.by, clean: ep.closeSent && ep.closeReceived }
      : { code: null, reason: '', by: 'transport', clean: false };
    if (!first) {
      this.recorder.error('network', `the connection to ${this.where()} ended without a close frame (1006)`, 1006);
    }
    this.recorder.close(close, now());
    this.options.policy?.closed?.(close);
    this.socket?.destroy();
    this.emit('close', close);
    this.resolveClosed(close);
  }

  /** Applies endpoint events: record, deliver, write, and run the closing handshake. */
  private handle(events: EndpointEvent[]): void {
    const ep = this.endpoint!;
    for (const e of events) {
      switch (e.type) {
        case 'frame':
          if (this.holdsIncoming(e.frame)) {
            this.incomingFrames.push(e);
            break;
          }
          this.recorder.frame(e.frame, { message: e.message, rtt: e.rtt, intervention: e.frame.opcode <= 2 && e.frame.from === 'client' && e.frame.fin ? this.takeMark() : undefined });
          if (e.rtt !== undefined && e.frame.opcode === 0xa) this.settlePing(e.frame.payload, e.rtt);
          this.emit('frame', e);
          break;
        case 'message':
          if (e.from === 'client') break;
          if (this.options.policy && this.incomingFrames.length > 0) {
            this.incoming.push({ frames: this.incomingFrames.splice(0), message: e.message });
            this.pumpIncoming();
          } else this.emit('message', e.message);
          break;
        case 'fail': {
          const v = e.violation;
          // A close frame already out (ours, or our answer to the server's) is the last one:
          // the failure cannot send its code after it.
          const how = e.afterClose ? 'failed the connection (its close frame had already been sent)' : `failed the connection with ${e.closeCode}`;
          const msg = `protocol violation by the server (${this.where()}): ${v.message} [${v.id}, RFC ${v.rfc}]; ${how}`;
          const code = e.afterClose ? undefined : e.closeCode;
          this.recorder.error('protocol', msg, code);
          this.emitError(new ClientError('protocol', msg, code));
          break;
        }
        case 'close-received':
          break;
      }
    }
    this.flush();
    // Once our close frame is out (sent, echoed or failing), the server should end TCP
    // (§7.1.1); if it does not, end it ourselves after a grace period.
    if (ep.closeSent && !this.closeTimer && !this.ended) {
      if (ep.failure || ep.closeReceived) this.socket?.end();
      this.closeTimer = setTimeout(() => this.socket?.destroy(), this.options.closeTimeout ?? 3000);
      this.closeTimer.unref?.();
    }
  }

  /**
   * Whether a server data frame is held for the policy. watches() may change at any time (a
   * breakpoint toggled): it is asked at a message's first frame, and its continuations follow
   * that answer, so a message is held whole or not at all.
   */
  private holdsIncoming(f: WireFrame): boolean {
    const p = this.options.policy;
    if (!p || f.from !== 'server' || f.opcode > 2) return false;
    if (f.opcode !== 0) this.holdingMessage = p.watches('server');
    return this.holdingMessage;
  }

  private takeMark(): InterventionMark | undefined {
    const m = this.outgoingMark ?? undefined;
    this.outgoingMark = null;
    return m;
  }

  /** What a script's ctx does on this connection. */
  readonly injector: Injector = {
    inject: (to: Side, payload: string | Uint8Array) => {
      const opcode = typeof payload === 'string' ? 1 : 2;
      const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
      const mark: InterventionMark = { id: this.interventions++, injected: true };
      if (to === 'server') {
        if (!this.endpoint || this.endpoint.closeSent || this.ended) return;
        this.outgoingMark = mark;
        if (opcode === 1) this.sendText(payload as string);
        else this.sendBinary(data);
        this.outgoingMark = null;
      } else {
        this.deliverOwn(opcode, data, mark);
      }
    },
    close: (code: number, reason: string) => {
      if (this.endpoint && !this.endpoint.closeSent && !this.ended) void this.close(code, reason);
    },
    injectFrame: (to: Side, frame: RawFrame) => {
      if (to !== 'server') {
        // Framescope is the client here: there is no wire toward it to write a frame on.
        this.recorder.error('usage', 'injectFrame toward the client of Framescope\'s own connection: there is no wire to write it on; nothing sent');
        return;
      }
      if (!this.endpoint || this.endpoint.closeSent || this.ended) return;
      const { maskKey, ...rest } = frame;
      this.sendRaw({ ...rest, mask: maskKey !== null, ...(maskKey ? { maskKey } : {}) });
    },
  };

  /** A message Framescope delivers as if the server had sent it: recorded as Framescope's frame. */
  private deliverOwn(opcode: 1 | 2, data: Uint8Array, mark: InterventionMark): void {
    if (this.ended) return;
    const bytes = encodeFrame({ fin: true, opcode, payload: data, mask: false });
    const [frame] = new FrameParser({ from: 'server', stance: 'observer', maxPayload: Number.MAX_SAFE_INTEGER }).receive(bytes, now());
    this.recorder.frame(frame!, { by: 'framescope', intervention: mark });
    this.emit('message', { opcode, data, frames: 1, compressed: false, wireLength: data.length, truncated: false });
  }

  /** Every frame of a held message carries the intervention's id, the last one its fate (null: nobody intervened). */
  private recordHeld(h: HeldIncoming, id: number, decision: InterventionDecision | null, rule?: string): void {
    const last: InterventionMark | undefined = decision === null ? undefined : rule ? { id, decision, rule } : { id, decision };
    h.frames.forEach((f, i) => this.recorder.frame(f.frame, { message: f.message, rtt: f.rtt, intervention: decision === null ? undefined : i === h.frames.length - 1 ? last : { id } }));
  }

  /** Server messages go to the policy one at a time, in order. */
  private pumpIncoming(): void {
    if (this.deciding) return;
    const h = this.incoming[0];
    if (!h) return;
    this.deciding = true;
    const m = h.message;
    const id = this.interventions++;
    void Promise.resolve(
      this.options.policy!.decide(
        { connection: this.record.id, from: 'server', opcode: m.opcode, data: m.data, ...(m.opcode === 1 ? { text: new TextDecoder().decode(m.data) } : {}) },
        this.injector,
      ),
    )
      .catch((): Decision => ({ action: 'forward' }))
      .then((d) => {
        if (this.incoming[0] !== h) {
          this.deciding = false;
          return; // the connection ended meanwhile
        }
        if (d.action === 'delay') {
          // later messages wait behind a delayed one, as on a relayed connection
          setTimeout(() => {
            this.deciding = false;
            if (this.incoming[0] !== h) return;
            this.incoming.shift();
            this.recordHeld(h, id, 'delayed', d.rule);
            this.emit('message', m);
            this.pumpIncoming();
          }, d.ms);
          return;
        }
        this.deciding = false;
        this.incoming.shift();
        switch (d.action) {
          case 'replace':
            this.recordHeld(h, id, 'replaced', d.rule);
            this.deliverOwn(d.opcode, d.data, { id });
            break;
          case 'drop':
            this.recordHeld(h, id, 'dropped', d.rule);
            break;
          case 'close':
            this.recordHeld(h, id, 'closed', d.rule);
            this.injector.close(d.code, d.reason);
            break;
          case 'pass':
            this.recordHeld(h, id, null);
            this.emit('message', m);
            break;
          default:
            this.recordHeld(h, id, 'forwarded', d.rule);
            this.emit('message', m);
        }
        this.pumpIncoming();
      });
  }

  /**
   * Sends a message through the policy (a script may change or drop it first); in order.
   * Without a policy it is sendText/sendBinary.
   */
  send(opcode: 1 | 2, data: Uint8Array, options?: SendOptions): Promise<void> {
    const p = this.options.policy;
    const go = (op: 1 | 2, bytes: Uint8Array) => (op === 1 ? this.sendText(new TextDecoder().decode(bytes), options) : this.sendBinary(bytes, options));
    if (!p || !p.watches('client')) {
      go(opcode, data);
      return Promise.resolve();
    }
    const next = this.sending.then(async () => {
      const id = this.interventions++;
      const text = opcode === 1 ? new TextDecoder().decode(data) : undefined;
      let d: Decision;
      try {
        d = await p.decide({ connection: this.record.id, from: 'client', opcode, data, ...(text !== undefined ? { text } : {}) }, this.injector);
      } catch {
        d = { action: 'forward' };
      }
      if (!this.endpoint || this.endpoint.closeSent || this.ended) return;
      const rule = d.rule ? { rule: d.rule } : {};
      if (d.action === 'delay') {
        await new Promise((r) => setTimeout(r, d.ms));
        if (!this.endpoint || this.endpoint.closeSent || this.ended) return;
        this.outgoingMark = { id, decision: 'delayed', ...rule };
        go(opcode, data);
      } else if (d.action === 'replace') {
        this.outgoingMark = { id, decision: 'replaced', ...rule };
        go(d.opcode, d.data);
      } else if (d.action === 'close') this.injector.close(d.code, d.reason);
      else if (d.action !== 'drop') go(opcode, data);
      this.outgoingMark = null;
    });
    this.sending = next.catch(() => {});
    return next;
  }

  /** Errors are recorded in any case; emitting one nobody listens to must not crash. */
  private emitError(err: ClientError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private flush(): void {
    const ep = this.endpoint!;
    const out = ep.takeOutgoing();
    if (out.length === 0 || !this.socket || this.socket.destroyed) return;
    for (const bytes of out) this.socket.write(bytes);
  }

  private afterSend(): void {
    this.handle(this.endpoint!.takeEvents());
  }

  private requireOpen(): WebSocketEndpoint {
    if (!this.endpoint) throw new ClientError('usage', 'not connected');
    return this.endpoint;
  }

  sendText(text: string, options?: SendOptions): void {
    this.requireOpen().sendText(text, now(), options);
    this.afterSend();
  }

  sendBinary(data: Uint8Array, options?: SendOptions): void {
    this.requireOpen().sendBinary(data, now(), options);
    this.afterSend();
  }

  /** Sends a ping; resolves with the round-trip time when its pong arrives. */
  ping(payload: Uint8Array = new Uint8Array(0)): Promise<number> {
    const key = Buffer.from(payload).toString('hex');
    const p = new Promise<number>((resolve) => {
      const list = this.pendingPings.get(key) ?? [];
      list.push(resolve);
      this.pendingPings.set(key, list);
    });
    this.requireOpen().sendPing(payload, now());
    this.afterSend();
    return p;
  }

  pong(payload: Uint8Array = new Uint8Array(0)): void {
    this.requireOpen().sendPong(payload, now());
    this.afterSend();
  }

  /** Starts the closing handshake; resolves when TCP has ended. */
  close(code?: number, reason = ''): Promise<CloseRecord> {
    const ep = this.requireOpen();
    if (!ep.closeSent && !this.ended) {
      ep.sendClose(code, reason, now());
      this.afterSend();
    }
    return this.closed;
  }

  /** Writes a frame exactly as given, valid or not. */
  sendRaw(spec: Omit<FrameSpec, 'mask'> & { mask?: boolean }): void {
    this.requireOpen().sendRaw(spec, now());
    this.afterSend();
  }

  /** Drops the TCP connection without a closing handshake. */
  destroy(): void {
    this.release();
    this.socket?.destroy();
    this.onEnd();
  }

  private settlePing(payload: Uint8Array, rtt: number): void {
    const key = Buffer.from(payload).toString('hex');
    const list = this.pendingPings.get(key);
    const resolve = list?.shift();
    if (list && list.length === 0) this.pendingPings.delete(key);
    resolve?.(rtt);
  }
}
