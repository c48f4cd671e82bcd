// A relayed connection whose messages something may change (a script, rules, a breakpoint).
// Each direction is a Lane: instead of passing bytes on as they arrive, it forwards each
// parsed frame itself. A frame nobody changed is re-emitted byte for byte (its header as
// recorded, its payload masked again with its own key: the original wire bytes). A data
// message is held whole until its decision; later data messages of that direction queue
// behind it in order, pings and pongs pass, a close frame waits its turn (nothing may follow
// it). A held message never blocks the other lane or another connection: each lane decides
// its own messages one at a time, and nothing here waits on anything else.
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
import type { ObservedFrame } from '../../../shared/codec/observer';
import type { WireFrame } from '../../../shared/codec/frame';
import { applyMask, encodeFrame } from '../../../shared/codec/frame-writer';
import { encodeMessage } from '../../../shared/codec/message-writer';
import { FrameParser } from '../../../shared/codec/frame-parser';
import { deflaterFor, type DeflateParams, type MessageDeflater } from '../../../shared/codec/compression';
import { Opcode } from '../../../shared/codec/protocol';
import type { ConnectionRecorder } from '../recording/recorder';
import { zlibCompression } from '../zlib-compression';
import { now } from '../clock';
import type { Decision, InterceptedMessage, Injector } from './types';

/** What watches one connection: decides its messages and hears of its start and end. */
export interface ConnectionPolicy {
  /** the lane from `from` holds its messages for `decide` (else they go on at once) */
  watches(from: Side): boolean;
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
  /** from the final frame's assembled message */
  opcode: 1 | 2;
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
  /** how long after Framescope's close frames the peers have to end TCP */
  closeTimeoutMs?: number;
  report(line: string): void;
}

/** Both lanes of one connection, the injector the policy uses, and the connection-wide close. */
export class Intervention implements Injector {
  readonly lanes: Record<Side, Lane>;
  private nextId = 1;
  /** Framescope sent close frames both ways: later data is not relayed */
  closing = false;
  private closeTimer: NodeJS.Timeout | null = null;
  private finished = false;

  constructor(readonly o: InterventionOptions) {
    this.lanes = { client: new Lane(this, 'client'), server: new Lane(this, 'server') };
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

  /** Frames the observer decoded from `from`'s bytes. */
  receive(from: Side, observed: ObservedFrame[]): void {
    const lane = this.lanes[from];
    for (const o of observed) lane.push(o);
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

  close(code: number, reason: string): void {
    if (this.closing || this.finished) return;
    this.closing = true;
    const payload = closePayload(code, reason);
    for (const to of ['server', 'client'] as const) {
      const lane = this.lanes[other(to)];
      if (lane.closeSent) continue;
      lane.closeSent = true;
      lane.writeOwn([encodeFrame({ fin: true, opcode: Opcode.Close, payload, mask: to === 'server', maskKey: to === 'server' ? randomBytes(4) : undefined })], { id: this.newId() }, null);
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

  constructor(
    private readonly iv: Intervention,
    readonly from: Side,
  ) {
    this.to = other(from);
  }

  private get takeover(): boolean {
    const p = this.iv.o.deflate;
    if (!p) return false;
    return !(this.from === 'client' ? p.clientNoContextTakeover : p.serverNoContextTakeover);
  }

  push(o: ObservedFrame): void {
    const f = o.frame;
    if (this.iv.closing || this.iv.over) {
      // After Framescope's close: a peer's close frame is its answer, nothing is relayed.
      this.record(f, o, undefined);
      if (f.opcode === Opcode.Close) this.iv.o.end(this.from);
      return;
    }
    if (f.opcode >= 8) {
      if (f.opcode === Opcode.Close) {
        this.queue.push({ kind: 'close', frame: o });
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
      if (!this.iv.o.policy.watches(this.from)) {
        this.queue.shift();
        this.apply(head, { action: 'forward' }, null);
        continue;
      }
      const id = this.iv.newId();
      const message: InterceptedMessage = { connection: this.iv.rec.record.id, from: this.from, opcode: head.opcode, data: head.data };
      if (head.opcode === 1) message.text = textOf.decode(head.data);
      let decision: Promise<Decision> | Decision;
      try {
        decision = this.iv.o.policy.decide(message, this.iv);
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
        this.apply(head, { action: 'forward' }, id, 'delayed');
        this.pump();
      }, Math.max(0, d.ms));
      t.unref?.();
      return false;
    }
    if (d.action === 'break') {
      this.iv.o.report('a breakpoint needs someone to answer it (the UI or proxy --break); the message goes on unchanged');
      this.apply(head, { action: 'forward' }, id);
      return true;
    }
    this.apply(head, d, id);
    return !this.iv.closing;
  }

  private apply(head: HeldMessage, d: Exclude<Decision, { action: 'delay' } | { action: 'break' }>, id: number | null, as?: InterventionDecision): void {
    const frames = head.frames;
    if (this.iv.closing || this.closeSent) {
      this.recordHeld(frames, id ?? this.iv.newId(), 'undelivered');
      return;
    }
    switch (d.action) {
      case 'forward': {
        if (this.takenOver && head.compressed) {
          const link = id ?? this.iv.newId();
          this.recordHeld(frames, link, as ?? 'forwarded');
          this.writeMessage(head.opcode, head.data, { id: link, recompressed: true }, frames.length);
          return;
        }
        if (id !== null) this.recordHeld(frames, id, as ?? 'forwarded');
        else for (const o of frames) this.record(o.frame, o, undefined);
        for (const o of frames) this.iv.o.write(this.to, wireBytes(o.frame));
        return;
      }
      case 'replace': {
        const link = id ?? this.iv.newId();
        this.recordHeld(frames, link, 'replaced');
        if (head.compressed && this.takeover) this.takenOver = true;
        this.writeMessage(d.opcode, d.data, { id: link }, 1, d.frames?.fragmentSize, d.frames?.rsv2, d.frames?.rsv3);
        return;
      }
      case 'drop': {
        this.recordHeld(frames, id ?? this.iv.newId(), 'dropped');
        if (head.compressed && this.takeover) this.takenOver = true;
        return;
      }
      case 'close': {
        this.recordHeld(frames, id ?? this.iv.newId(), 'closed');
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
    // Whole messages are written at once here: an injected one never lands inside another.
    if (this.takeover) this.takenOver = true;
    this.writeMessage(opcode, data, { id: this.iv.newId(), injected: true }, 1);
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
      // Keep the sender's fragment count for a re-compressed message: cut it as evenly as it goes.
      const total = bytes.reduce((n, b) => n + b.length, 0);
      payloadSize = Math.max(1, Math.ceil(total / fragments));
      bytes = encodeMessage({ opcode, data, deflater: deflater ? replay(bytes) : undefined, mask: toServer, maskKey: () => randomBytes(4), fragmentSize: payloadSize });
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
  private recordHeld(frames: ObservedFrame[], id: number, decision: InterventionDecision): void {
    frames.forEach((o, i) => this.record(o.frame, o, i === frames.length - 1 ? { id, decision } : { id }));
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
