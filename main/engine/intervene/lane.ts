// A relayed connection whose messages something may change (a script, rules, a breakpoint).
// Each direction is a Lane: instead of passing bytes on as they arrive, it forwards each
// parsed frame itself. A frame nobody changed is re-emitted byte for byte (its header as
// recorded, its payload masked again with its own key: the original wire bytes). A data
// message is held whole until its decision; later data messages of that direction queue
// behind it in order, pings and pongs pass, a close frame waits its turn (nothing may follow
// it). A held message never blocks the other lane or another connection: each lane decides
// its own messages one at a time, and nothing here waits on anything else.
//
// A lane starts byte for byte: the sender's chunks are written on as they come (the
// observer decodes a copy, as for a connection nothing intervenes in). It turns framed at
// the next frame boundary once its policy watches it or something is to be written toward
// its receiver, and turns back to byte for byte when nothing watches, nothing is held, the
// parser is at a frame boundary and Framescope has not taken over the compression.
//
// permessage-deflate (RFC 7692): with context takeover the receiver's decompressor follows
// the bytes it receives, so once Framescope changes, drops or injects a compressed message in
// a direction, the sender's later messages may refer to bytes the receiver never saw. From
// then on (for the rest of the connection) the lane inflates every message (the observer
// already does) and compresses it with its own deflater; those frames are recorded as
// Framescope's, marked `recompressed`. With no_context_takeover only the messages Framescope
// writes are its own; the rest stay byte-identical.
import { randomBytes } from 'node:crypto';
import type { CloseRecord, FrameRecord, HandshakeRecord, InterventionDecision, InterventionMark, Side } from '../../../shared/model';
import type { ObservedFrame, StreamObserver } from '../../../shared/codec/observer';
import type { WireFrame } from '../../../shared/codec/frame';
import { applyMask, encodeFrame, encodeFrameHeader, minimalLengthEncoding } from '../../../shared/codec/frame-writer';
import { encodeMessage } from '../../../shared/codec/message-writer';
import { FrameParser } from '../../../shared/codec/frame-parser';
import { deflaterFor, type DeflateParams, type MessageDeflater } from '../../../shared/codec/compression';
import { Opcode } from '../../../shared/codec/protocol';
import type { ConnectionRecorder } from '../recording/recorder';
import { zlibCompression } from '../zlib-compression';
import { now } from '../clock';
import type { Decision, InterceptedMessage, Injector, RawFrame } from './types';

/** What watches one connection: decides its messages and hears of its start and end. */
export interface ConnectionPolicy {
  /** the lane from `from` holds its messages for `decide` (else they go on at once) */
  watches(from: Side): boolean;
  /** the lane from `from` holds its pings and pongs for `decide` too (opcode 9/10) */
  watchesControl?(from: Side): boolean;
  /**
   * called once when the connection starts: the policy calls `changed` whenever what
   * watches()/watchesControl() answer may have changed (a breakpoint toggled), so a lane
   * turns framed or back to byte for byte at once; the returned function, if any, is called
   * when the connection is over
   */
  subscribe?(changed: () => void): (() => void) | void;
  /** never rejects: a failing policy reports itself and answers forward */
  decide(message: InterceptedMessage, ctx: Injector): Promise<Decision> | Decision;
  opened?(handshake: HandshakeRecord, ctx: Injector): void;
  closed?(close: CloseRecord): void;
}

/** Makes the policy of each new connection (null: nothing intervenes in it). */
export type PolicySource = (connection: string) => ConnectionPolicy | null;

const other = (s: Side): Side => (s === 'client' ? 'server' : 'client');
const utf8 = new TextEncoder();
const textOf = new TextDecoder('utf-8');

/** A data message waiting in its lane, with its frames as they came. */
interface HeldMessage {
  kind: 'message';
  frames: ObservedFrame[];
  /** from the final frame's assembled message (9/10: a held ping or pong) */
  opcode: 1 | 2 | 9 | 10;
  data: Uint8Array;
  compressed: boolean;
  /** too large to hold whole: cut by the lane's limit */
  cut: boolean;
}

interface HeldClose {
  kind: 'close';
  frame: ObservedFrame;
}

type Held = HeldMessage | HeldClose;

export interface InterventionOptions {
  rec: ConnectionRecorder;
  policy: ConnectionPolicy;
  deflate: DeflateParams | null;
  /** writes toward a side; false when that socket is gone */
  write(to: Side, bytes: Uint8Array): boolean;
  /** ends (FIN) the TCP connection toward a side */
  end(to: Side): void;
  /** destroys both sockets */
  destroy(): void;
  /** payload bytes recorded per frame (the lane holds more: it must forward whole frames) */
  recordLimit: number;
  /** the observers that parse each sender's bytes (their maxPayload is what a lane can hold) */
  observers: Record<Side, StreamObserver>;
  /** how long after Framescope's close frames the peers have to end TCP */
  closeTimeoutMs?: number;
  report(line: string): void;
}

/** Both lanes of one connection, the injector the policy uses, and the connection-wide close. */
export class Intervention implements Injector {
  readonly lanes: Record<Side, Lane>;
  private nextId = 1;
  /** Framescope sent (or is about to send) close frames both ways: later data is not relayed */
  closing = false;
  /** when Framescope decided to close (epoch ms), with what: the record's close names it if it came first */
  closedByFramescope: { time: number; code: number; reason: string } | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private finished = false;
  private unsubscribe: (() => void) | null = null;

  constructor(readonly o: InterventionOptions) {
    this.lanes = { client: new Lane(this, 'client', o.observers.client), server: new Lane(this, 'server', o.observers.server) };
    try {
      const off = o.policy.subscribe?.(() => this.policyChanged());
      if (typeof off === 'function') this.unsubscribe = off;
    } catch {
      /* the policy reports its own failures */
    }
  }

  newId(): number {
    return this.nextId++;
  }

  get rec(): ConnectionRecorder {
    return this.o.rec;
  }

  opened(handshake: HandshakeRecord): void {
    try {
      this.o.policy.opened?.(handshake, this);
    } catch {
      /* the policy reports its own failures */
    }
  }

  /** What the policy watches may have changed: each lane turns framed or back now if it can. */
  policyChanged(): void {
    if (this.finished) return;
    for (const lane of Object.values(this.lanes)) lane.reconsider();
  }

  /** Bytes from `from`'s socket. */
  chunk(from: Side, bytes: Uint8Array, time: number): void {
    this.lanes[from].chunk(bytes, time);
  }

  /** Bytes `from` sent that already went on (with its request head): decoded and recorded only. */
  already(from: Side, bytes: Uint8Array, time: number): void {
    this.lanes[from].already(bytes, time);
  }

  /** `from`'s stream ended (FIN or reset): the frames its observer still had. */
  streamEnded(from: Side, observed: ObservedFrame[]): void {
    this.lanes[from].streamEnded(observed);
  }

  /** `from` ended its TCP stream (FIN): once its lane has written what it holds, pass the FIN on. */
  senderEnded(from: Side): void {
    this.lanes[from].endWhenDrained();
  }

  inject(to: Side, payload: string | Uint8Array): void {
    const lane = this.lanes[other(to)];
    const opcode = typeof payload === 'string' ? Opcode.Text : Opcode.Binary;
    const data = typeof payload === 'string' ? utf8.encode(payload) : payload;
    if (!(data instanceof Uint8Array)) {
      this.o.report('inject: the payload must be a string or a Uint8Array');
      return;
    }
    lane.inject(opcode, data);
  }

  injectFrame(to: Side, spec: RawFrame): void {
    if (to !== 'client' && to !== 'server') {
      this.o.report(`injectFrame: "to" must be 'client' or 'server'`);
      return;
    }
    this.lanes[other(to)].injectFrame(spec);
  }

  close(code: number, reason: string): void {
    if (this.closing || this.finished) return;
    this.closing = true;
    this.closedByFramescope = { time: now(), code, reason };
    const payload = closePayload(code, reason);
    for (const to of ['server', 'client'] as const) {
      const lane = this.lanes[other(to)];
      if (lane.closeSent) continue;
      lane.closeSent = true;
      // A lane relaying bytes may be inside a frame: the close frame goes at its end.
      lane.whenAtBoundary(true, () =>
        lane.writeOwn([encodeFrame({ fin: true, opcode: Opcode.Close, payload, mask: to === 'server', maskKey: to === 'server' ? randomBytes(4) : undefined })], { id: this.newId() }, null),
      );
    }
    for (const lane of Object.values(this.lanes)) lane.abandon('undelivered');
    // The peers answer with their close frames and the server ends TCP (§7.1.1); one that
    // does not is cut off.
    this.closeTimer = setTimeout(() => this.o.destroy(), this.o.closeTimeoutMs ?? 3000);
    this.closeTimer.unref?.();
  }

  /** The connection is over (both sockets closed, or quitting): what is still held was never delivered. */
  finish(close: CloseRecord | null): void {
    if (this.finished) return;
    this.finished = true;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    for (const lane of Object.values(this.lanes)) lane.abandon('undelivered');
    try {
      this.unsubscribe?.();
    } catch {
      /* reported by the policy */
    }
    if (close) {
      try {
        this.o.policy.closed?.(close);
      } catch {
        /* reported by the policy */
      }
    }
  }

  get over(): boolean {
    return this.finished;
  }
}

/** Something to write toward the receiver once the lane is at a frame (data: message) boundary. */
interface Pending {
  /** a control frame may go between the fragments of a message; data waits for its end */
  control: boolean;
  run(): void;
}

/** One direction: frames from `from`, written toward the other side. */
export class Lane {
  private readonly queue: Held[] = [];
  /** data frames of the message being assembled */
  private current: ObservedFrame[] = [];
  private busy = false;
  /** Framescope compresses this direction itself from now on */
  private takenOver = false;
  private deflater: MessageDeflater | null = null;
  private endPending = false;
  /** a close frame went toward the receiver (the sender's or Framescope's): no data after it */
  closeSent = false;
  private readonly to: Side;
  /** frames are parsed before they are written (else chunks go on as they come) */
  framed = false;
  /** relaying bytes: how many bytes of the frame in progress already went on */
  private sinceBoundary = 0;
  /** the receiver is inside a fragmented message whose first frames went on as bytes */
  private midMessage = false;
  /** framed, and the rest of a message begun as bytes goes on frame by frame as it comes */
  private passthrough = false;
  private readonly pending: Pending[] = [];
  /** the sender's stream ended: nothing more comes to reach a boundary with */
  private senderGone = false;

  constructor(
    private readonly iv: Intervention,
    readonly from: Side,
    private readonly observer: StreamObserver,
  ) {
    this.to = other(from);
  }

  private get takeover(): boolean {
    const p = this.iv.o.deflate;
    if (!p) return false;
    return !(this.from === 'client' ? p.clientNoContextTakeover : p.serverNoContextTakeover);
  }

  private watching(): boolean {
    const p = this.iv.o.policy;
    return p.watches(this.from) || (p.watchesControl?.(this.from) ?? false);
  }

  /** Bytes from the sender. */
  chunk(bytes: Uint8Array, time: number): void {
    if (this.framed) {
      for (const o of this.observer.receive(bytes, time)) this.push(o);
      this.maybeRelease();
      return;
    }
    if (this.pending.length === 0 && !this.iv.closing && !this.watching()) {
      // Nothing watches: written first (latency), then decoded, as with no policy at all.
      this.iv.o.write(this.to, bytes);
      this.passed(this.observer.receive(bytes, time), bytes.length);
      return;
    }
    if (this.sinceBoundary === 0) {
      this.goFramed();
      this.chunk(bytes, time);
      return;
    }
    // Inside a frame that is partly on its way: the rest of it goes on as bytes, framed after.
    const observed = this.observer.receive(bytes, time);
    const first = observed[0];
    if (!first) {
      this.iv.o.write(this.to, bytes);
      this.sinceBoundary += bytes.length;
      return;
    }
    const cut = first.frame.header.length + first.frame.length - this.sinceBoundary;
    this.iv.o.write(this.to, bytes.subarray(0, cut));
    this.passed([first], cut);
    this.goFramed();
    for (let i = 1; i < observed.length; i++) this.push(observed[i]!);
    this.maybeRelease();
  }

  /** Bytes that already went on: decoded and recorded. */
  already(bytes: Uint8Array, time: number): void {
    this.passed(this.observer.receive(bytes, time), bytes.length);
  }

  /** Records frames that went on as bytes (`fed` more bytes went on with them). */
  private passed(observed: ObservedFrame[], fed: number): void {
    this.sinceBoundary += fed;
    for (const o of observed) {
      const f = o.frame;
      this.sinceBoundary -= f.header.length + f.length;
      if (f.opcode < 8) this.midMessage = !f.fin;
      else if (f.opcode === Opcode.Close) this.closeSent = true;
      this.iv.rec.frame(this.cutForRecord(f), { message: o.message, rtt: o.rtt });
    }
  }

  streamEnded(observed: ObservedFrame[]): void {
    this.senderGone = true;
    if (this.framed) for (const o of observed) this.push(o);
    else for (const o of observed) this.iv.rec.frame(this.cutForRecord(o.frame), { message: o.message, rtt: o.rtt });
    if (!this.framed && this.pending.length > 0) {
      // The sender stopped inside a frame: what was to follow it cannot go without landing in it.
      this.pending.splice(0);
      this.iv.o.report(`the ${this.from} ended its stream inside a frame; what was to be sent toward the ${this.to} was not sent`);
    }
  }

  private goFramed(): void {
    this.framed = true;
    this.passthrough = this.midMessage;
    this.flushPending();
  }

  /** The policy's watching may have changed. */
  reconsider(): void {
    if (!this.framed) {
      if (this.watching() && this.sinceBoundary === 0 && !this.senderGone) this.goFramed();
      return;
    }
    this.maybeRelease();
  }

  /** Back to bytes when nothing needs frames: nothing watches, holds or waits, at a frame boundary. */
  private maybeRelease(): void {
    if (!this.framed || this.busy || this.passthrough || this.takenOver || this.iv.closing || this.iv.over || this.closeSent) return;
    if (this.queue.length > 0 || this.current.length > 0 || this.pending.length > 0 || this.observer.midFrame || this.watching()) return;
    this.framed = false;
    this.sinceBoundary = 0;
    this.midMessage = false;
  }

  /** Runs `run` once the receiver is at a frame boundary (a message boundary unless `control`). */
  whenAtBoundary(control: boolean, run: () => void): void {
    this.pending.push({ control, run });
    if (this.framed) this.flushPending();
    else if (this.sinceBoundary === 0) this.goFramed();
  }

  private flushPending(): void {
    if (!this.framed) return;
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      if (p.control || !this.passthrough) {
        this.pending.splice(i, 1);
        p.run();
      } else i++;
    }
  }

  push(o: ObservedFrame): void {
    const f = o.frame;
    if (this.iv.closing || this.iv.over) {
      // After Framescope's close: a peer's close frame is its answer, nothing is relayed.
      this.record(f, o, undefined);
      if (f.opcode === Opcode.Close) this.iv.o.end(this.from);
      return;
    }
    if (this.passthrough && f.opcode !== Opcode.Close) {
      // The rest of a message begun as bytes (and pings between its fragments) goes on as it comes.
      this.record(f, o, undefined);
      this.iv.o.write(this.to, wireBytes(f));
      if (f.opcode < 8 && f.fin) {
        this.passthrough = false;
        this.midMessage = false;
        this.flushPending();
      }
      return;
    }
    if (f.opcode >= 8) {
      if (f.opcode === Opcode.Close) {
        this.queue.push({ kind: 'close', frame: o });
        this.pump();
        return;
      }
      if ((f.opcode === Opcode.Ping || f.opcode === Opcode.Pong) && this.iv.o.policy.watchesControl?.(this.from)) {
        this.queue.push({ kind: 'message', frames: [o], opcode: f.opcode as 9 | 10, data: f.payload, compressed: false, cut: f.truncated });
        this.pump();
        return;
      }
      // Pings and pongs are not held behind data.
      this.record(f, o, undefined);
      this.iv.o.write(this.to, wireBytes(f));
      return;
    }
    this.current.push(o);
    if (!f.fin && !f.truncated) return;
    const frames = this.current;
    this.current = [];
    const m = o.message;
    const cut = frames.some((x) => x.frame.truncated) || !m || m.truncated;
    this.queue.push({ kind: 'message', frames, opcode: m?.opcode ?? 1, data: m?.data ?? new Uint8Array(0), compressed: m?.compressed ?? false, cut });
    this.pump();
  }

  endWhenDrained(): void {
    this.endPending = true;
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.endPending && this.queue.length === 0 && !this.busy) {
      this.endPending = false;
      this.iv.o.end(this.to);
    }
  }

  /** Takes the queue's messages in order; one decision at a time, so order is kept. */
  private pump(): void {
    if (this.busy) return;
    while (this.queue.length > 0 && !this.iv.over) {
      const head = this.queue[0]!;
      if (head.kind === 'close') {
        this.queue.shift();
        this.record(head.frame.frame, head.frame, undefined);
        if (!this.closeSent) {
          this.closeSent = true;
          this.iv.o.write(this.to, wireBytes(head.frame.frame));
        }
        continue;
      }
      if (head.cut) {
        this.queue.shift();
        this.tooBig(head);
        return;
      }
      const control = head.opcode >= 8;
      const policy = this.iv.o.policy;
      if (!(control ? policy.watchesControl?.(this.from) : policy.watches(this.from))) {
        this.queue.shift();
        this.apply(head, { action: 'forward' }, null);
        continue;
      }
      const id = this.iv.newId();
      const message: InterceptedMessage = { connection: this.iv.rec.record.id, from: this.from, opcode: head.opcode, data: head.data };
      if (head.opcode === 1) message.text = textOf.decode(head.data);
      let decision: Promise<Decision> | Decision;
      try {
        decision = policy.decide(message, this.iv);
      } catch {
        decision = { action: 'forward' };
      }
      if (!(decision instanceof Promise)) {
        this.queue.shift();
        if (!this.settle(head, decision, id)) return;
        continue;
      }
      this.busy = true;
      decision.then(
        (d) => this.resume(head, d, id),
        () => this.resume(head, { action: 'forward' }, id),
      );
      return;
    }
    this.maybeEnd();
    this.maybeRelease();
  }

  private resume(head: HeldMessage, d: Decision, id: number): void {
    this.busy = false;
    // Abandoned meanwhile (the connection ended): already recorded as never delivered.
    if (this.queue[0] !== head) return;
    this.queue.shift();
    if (this.settle(head, d, id)) this.pump();
  }

  /** Applies a decision; false when the lane must wait (a delay). */
  private settle(head: HeldMessage, d: Decision, id: number): boolean {
    if (d.action === 'delay') {
      this.busy = true;
      const t = setTimeout(() => {
        this.busy = false;
        if (this.iv.over) return;
        this.apply(head, { action: 'forward' }, id, 'delayed', d.rule);
        this.pump();
      }, Math.max(0, d.ms));
      t.unref?.();
      return false;
    }
    if (d.action === 'break') {
      this.iv.o.report('a breakpoint needs someone to answer it (the UI or proxy --break); the message goes on unchanged');
      this.apply(head, { action: 'forward', rule: d.rule }, id);
      return true;
    }
    if (d.action === 'pass') {
      this.apply(head, { action: 'forward' }, null);
      return true;
    }
    this.apply(head, d, id);
    return !this.iv.closing;
  }

  private apply(head: HeldMessage, d: Exclude<Decision, { action: 'delay' } | { action: 'break' } | { action: 'pass' }>, id: number | null, as?: InterventionDecision, rule?: string): void {
    const frames = head.frames;
    if (this.iv.closing || this.closeSent) {
      this.recordHeld(frames, id ?? this.iv.newId(), 'undelivered');
      return;
    }
    rule ??= d.rule;
    switch (d.action) {
      case 'forward': {
        if (this.takenOver && head.compressed) {
          const link = id ?? this.iv.newId();
          this.recordHeld(frames, link, as ?? 'forwarded', rule);
          this.writeMessage(head.opcode as 1 | 2, head.data, { id: link, recompressed: true }, frames.length);
          return;
        }
        if (id !== null) this.recordHeld(frames, id, as ?? 'forwarded', rule);
        else for (const o of frames) this.record(o.frame, o, undefined);
        for (const o of frames) this.iv.o.write(this.to, wireBytes(o.frame));
        return;
      }
      case 'replace': {
        const link = id ?? this.iv.newId();
        if (head.opcode >= 8) {
          // A held ping or pong: replaced by one of the same kind (a control payload is at most 125 bytes).
          if (d.data.length > 125) {
            this.iv.o.report(`a ${head.opcode === 9 ? 'ping' : 'pong'} payload is at most 125 bytes; the ${this.from}'s goes on unchanged`);
            this.apply(head, { action: 'forward' }, id);
            return;
          }
          this.recordHeld(frames, link, 'replaced', rule);
          const toServer = this.to === 'server';
          this.writeOwn([encodeFrame({ fin: true, opcode: head.opcode, payload: d.data, mask: toServer, maskKey: toServer ? randomBytes(4) : undefined })], { id: link }, null);
          return;
        }
        this.recordHeld(frames, link, 'replaced', rule);
        if (head.compressed && this.takeover) this.takenOver = true;
        // Fragmentation is kept unless the plan says otherwise: as many fragments as the sender's.
        const plan = d.frames;
        this.writeMessage(d.opcode, d.data, { id: link }, frames.length, plan?.fragmentSize, plan?.rsv2, plan?.rsv3);
        return;
      }
      case 'drop': {
        this.recordHeld(frames, id ?? this.iv.newId(), 'dropped', rule);
        if (head.compressed && this.takeover) this.takenOver = true;
        return;
      }
      case 'close': {
        this.recordHeld(frames, id ?? this.iv.newId(), 'closed', rule);
        this.iv.close(d.code, d.reason);
        return;
      }
    }
  }

  inject(opcode: 1 | 2, data: Uint8Array): void {
    if (this.iv.closing || this.iv.over || this.closeSent) {
      this.iv.o.report(`inject toward the ${this.to}: the connection is closing; nothing sent`);
      return;
    }
    // A whole message, at a message boundary: an injected one never lands inside another.
    this.whenAtBoundary(false, () => {
      if (this.iv.closing || this.iv.over || this.closeSent) return;
      if (this.takeover) this.takenOver = true;
      this.writeMessage(opcode, data, { id: this.iv.newId(), injected: true }, 1);
    });
  }

  /** A frame exactly as given (valid or not): at a frame boundary, a data frame at a message boundary. */
  injectFrame(spec: RawFrame): void {
    if (this.iv.closing || this.iv.over || this.closeSent) {
      this.iv.o.report(`injectFrame toward the ${this.to}: the connection is closing; nothing sent`);
      return;
    }
    const toServer = this.to === 'server';
    const maskKey = spec.maskKey === null ? null : (spec.maskKey ?? (toServer ? randomBytes(4) : null));
    const payload = spec.payload;
    const length = spec.length ?? payload.length;
    let header: Uint8Array;
    try {
      header = encodeFrameHeader({ fin: spec.fin, rsv1: spec.rsv1, rsv2: spec.rsv2, rsv3: spec.rsv3, opcode: spec.opcode, mask: maskKey !== null, maskKey: maskKey ?? undefined, length, lengthEncoding: spec.lengthEncoding });
    } catch (err) {
      this.iv.o.report(`injectFrame: ${(err as Error).message}`);
      return;
    }
    const bytes = new Uint8Array(header.length + payload.length);
    bytes.set(header, 0);
    if (maskKey) applyMask(payload, maskKey, bytes.subarray(header.length));
    else bytes.set(payload, header.length);
    const control = spec.opcode >= 8;
    this.whenAtBoundary(control, () => {
      if (this.iv.over) return;
      // A compressed data frame Framescope writes moves the receiver's inflater: it is Framescope's context from now on.
      if (!control && spec.rsv1 && this.takeover) this.takenOver = true;
      const frame: WireFrame = {
        fin: spec.fin,
        rsv1: !!spec.rsv1,
        rsv2: !!spec.rsv2,
        rsv3: !!spec.rsv3,
        opcode: spec.opcode,
        masked: maskKey !== null,
        maskKey,
        length,
        lengthEncoding: spec.lengthEncoding ?? minimalLengthEncoding(length),
        header,
        payload,
        truncated: false,
        offset: 0,
        time: now(),
        from: this.from,
        violations: [],
      };
      this.iv.rec.frame(this.cutForRecord(frame), { by: 'framescope', intervention: { id: this.iv.newId(), injected: true } });
      this.iv.o.write(this.to, bytes);
    });
  }

  /**
   * Writes a message Framescope makes: compressed when the connection negotiated
   * permessage-deflate (with the lane's deflater, whose window is what the receiver saw from
   * Framescope), masked with fresh keys toward the server.
   */
  private writeMessage(opcode: 1 | 2, data: Uint8Array, mark: InterventionMark, fragments: number, fragmentSize?: number, rsv2?: boolean, rsv3?: boolean): void {
    const p = this.iv.o.deflate;
    const deflater = p ? (this.deflater ??= deflaterFor(zlibCompression, p, this.from)) : undefined;
    if (deflater && this.takenOver) mark.recompressed = true;
    let payloadSize = fragmentSize;
    const toServer = this.to === 'server';
    let bytes = encodeMessage({ opcode, data, deflater, mask: toServer, maskKey: () => randomBytes(4), fragmentSize: payloadSize });
    if (payloadSize === undefined && fragments > 1) {
      // Keep the sender's fragment count: the payload as written (compressed or not) cut as
      // evenly as it goes, the last fragment taking the rest.
      const written = deflater ? replay(bytes) : null;
      const total = written ? written.deflate(data).length : data.length;
      payloadSize = Math.max(1, Math.ceil(total / fragments));
      bytes = encodeMessage({ opcode, data, deflater: written ?? undefined, mask: toServer, maskKey: () => randomBytes(4), fragmentSize: payloadSize });
    }
    if (rsv2 || rsv3) {
      const first = bytes[0]!;
      first[0] = first[0]! | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0);
    }
    this.writeOwn(bytes, mark, { opcode, data, compressed: !!deflater });
  }

  /** Records and writes frames Framescope made (as `from`'s leg). */
  writeOwn(bytes: Uint8Array[], mark: InterventionMark, message: { opcode: 1 | 2; data: Uint8Array; compressed: boolean } | null): void {
    const parser = new FrameParser({ from: this.from, stance: 'observer', maxPayload: Number.MAX_SAFE_INTEGER, rsv1Allowed: true });
    const time = now();
    const frames: WireFrame[] = [];
    for (const b of bytes) frames.push(...parser.receive(b, time));
    frames.forEach((f, i) => {
      const last = i === frames.length - 1;
      this.iv.rec.frame(this.cutForRecord(f), {
        message: last && message ? { opcode: message.opcode, data: message.data, frames: frames.length, compressed: message.compressed } : undefined,
        by: 'framescope',
        intervention: mark,
      });
    });
    for (const b of bytes) this.iv.o.write(this.to, b);
  }

  /**
   * Frames of a held message: every one carries the intervention's id (so a reader of one leg
   * knows a fragment was held, not delivered), the last one its fate.
   */
  private recordHeld(frames: ObservedFrame[], id: number, decision: InterventionDecision, rule?: string): void {
    const mark: InterventionMark = rule ? { id, decision, rule } : { id, decision };
    frames.forEach((o, i) => this.record(o.frame, o, i === frames.length - 1 ? mark : { id }));
  }

  private record(f: WireFrame, o: ObservedFrame, mark: InterventionMark | undefined): FrameRecord {
    return this.iv.rec.frame(this.cutForRecord(f), { message: o.message, rtt: o.rtt, intervention: mark });
  }

  /** The lane holds whole payloads; the record keeps what the recording limit allows. */
  private cutForRecord(f: WireFrame): WireFrame {
    const limit = this.iv.o.recordLimit;
    if (f.payload.length <= limit) return f;
    return { ...f, payload: f.payload.subarray(0, limit), truncated: true };
  }

  /** A message larger than the lane can hold: it cannot be forwarded whole, so the connection ends (1009). */
  private tooBig(head: HeldMessage): void {
    this.recordHeld(head.frames, this.iv.newId(), 'closed');
    const msg = `a message from the ${this.from} is larger than Framescope can hold while intervening; closed the connection with 1009`;
    this.iv.rec.error('protocol', msg, 1009);
    this.iv.o.report(msg);
    this.iv.close(1009, 'message too big for Framescope to hold');
  }

  /** Everything still held is recorded as `decision` and forgotten. */
  abandon(decision: InterventionDecision): void {
    const held = this.queue.splice(0);
    for (const h of held) {
      if (h.kind === 'close') this.record(h.frame.frame, h.frame, undefined);
      else this.recordHeld(h.frames, this.iv.newId(), decision);
    }
    if (this.current.length > 0) {
      for (const o of this.current) this.record(o.frame, o, undefined);
      this.current = [];
    }
    this.endPending = false;
    // Over: nothing more is written (a pending close frame still goes while only closing).
    if (this.iv.over) this.pending.splice(0);
  }
}

/**
 * The original bytes of a frame: its header as it came and its payload masked again with
 * its own key (the parser unmasked it).
 */
export function wireBytes(f: WireFrame): Uint8Array {
  const out = new Uint8Array(f.header.length + f.payload.length);
  out.set(f.header, 0);
  if (f.maskKey) applyMask(f.payload, f.maskKey, out.subarray(f.header.length));
  else out.set(f.payload, f.header.length);
  return out;
}

/**
 * A deflater that hands back the payload already compressed in `frames` (unmasking what
 * was masked): re-cutting a message must not compress it twice, which would move the
 * deflater's window on.
 */
function replay(frames: Uint8Array[]): MessageDeflater {
  const parser = new FrameParser({ from: 'server', stance: 'observer', maxPayload: Number.MAX_SAFE_INTEGER, rsv1Allowed: true });
  const parts: Uint8Array[] = [];
  for (const b of frames) for (const f of parser.receive(b, 0)) parts.push(f.payload);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return { deflate: () => all, reset: () => {} };
}

function closePayload(code: number, reason: string): Uint8Array {
  const r = utf8.encode(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}
