// A WebSocket endpoint after the opening handshake, sans-I/O (the python-websockets
// protocol object): `receive(bytes, time)` gives events, `send*()` queue bytes, and
// `takeOutgoing()` hands the caller what to write. It never owns a socket or a timer;
// the caller passes the time with every call and runs the close timeouts itself.
//
// It records as it goes: every frame it reads or writes comes out as a 'frame' event in
// wire order, so the recorder needs no second decoder. Its own outgoing bytes are read
// back through an observer parser, which is also what makes a deliberately malformed
// frame from the composer show up with its violations.

import type { Side, Violation } from '../model';
import { utf8Encode } from '../bytes';
import { closeCodeFor, type WireFrame } from './frame';
import { FrameParser, type Stance } from './frame-parser';
import { encodeFrame, type FrameSpec } from './frame-writer';
import { MessageAssembler, type AssembledMessage } from './messages';
import { encodeMessage } from './message-writer';
import type { MessageDeflater, MessageInflater } from './compression';
import { CloseCode, Opcode, isValidWireCloseCode } from './protocol';

export type EndpointState = 'open' | 'closing' | 'closed';

export interface EndpointOptions {
  /** our role; the peer is the other side */
  role: Side;
  /** endpoint: fail the connection on a violation; observer (--tolerant): record and go on */
  stance: Stance;
  maxPayload?: number;
  maxMessage?: number;
  /** negotiated permessage-deflate, as inflater (peer -> us) and deflater (us -> peer) */
  compression?: { inflater: MessageInflater; deflater: MessageDeflater } | null;
  /** 4 random bytes per frame (clients mask every frame, §5.3); tests pass a fixed one */
  maskKey: () => Uint8Array;
  /** answer pings with pongs (§5.5.2); on by default */
  autoPong?: boolean;
}

export type EndpointEvent =
  | { type: 'frame'; frame: WireFrame; message?: AssembledMessage; rtt?: number }
  | { type: 'message'; message: AssembledMessage; from: Side }
  | { type: 'close-received'; code: number | null; reason: string }
  /** `afterClose`: our close frame had gone out already, so none with `closeCode` follows */
  | { type: 'fail'; violation: Violation; closeCode: number; afterClose: boolean };

export interface SendOptions {
  fragmentSize?: number;
  /** compress when permessage-deflate was negotiated; default true */
  compress?: boolean;
}

export class LocalProtocolError extends Error {
  override name = 'LocalProtocolError';
}

export class WebSocketEndpoint {
  readonly role: Side;
  readonly peer: Side;
  state: EndpointState = 'open';
  /** the first close frame on the wire, by whom */
  firstClose: { code: number | null; reason: string; by: Side } | null = null;
  closeSent = false;
  closeReceived = false;
  failure: { violation: Violation; closeCode: number } | null = null;

  private readonly incoming: FrameParser;
  private readonly outgoingReader: FrameParser;
  private readonly inAssembler: MessageAssembler;
  private readonly options: EndpointOptions;
  private outgoing: Uint8Array[] = [];
  private events: EndpointEvent[] = [];
  /** pings we sent, by payload (hex), with the time they left: pongs answer them (§5.5.3) */
  private pings = new Map<string, number>();

  constructor(options: EndpointOptions) {
    this.options = options;
    this.role = options.role;
    this.peer = options.role === 'client' ? 'server' : 'client';
    const rsv1Allowed = !!options.compression;
    this.incoming = new FrameParser({ from: this.peer, stance: options.stance, maxPayload: options.maxPayload, rsv1Allowed });
    this.outgoingReader = new FrameParser({ from: this.role, stance: 'observer', maxPayload: Number.MAX_SAFE_INTEGER, rsv1Allowed });
    const maxMessage = options.maxMessage ?? options.maxPayload;
    this.inAssembler = new MessageAssembler({
      from: this.peer,
      compression: options.compression ? { inflater: options.compression.inflater } : null,
      maxMessage,
    });
  }

  // -- input ------------------------------------------------------------------------------

  receive(data: Uint8Array, time: number): EndpointEvent[] {
    if (this.failure && this.options.stance === 'endpoint') return this.drainEvents();
    for (const frame of this.incoming.receive(data, time)) this.onPeerFrame(frame);
    if (this.incoming.failure && !this.failure) this.fail(this.incoming.failure.violation, this.incoming.failure.closeCode, time);
    return this.drainEvents();
  }

  /** The peer's stream ended (TCP FIN or reset). */
  end(time: number): EndpointEvent[] {
    for (const frame of this.incoming.end(time)) this.onPeerFrame(frame);
    this.state = 'closed';
    return this.drainEvents();
  }

  private onPeerFrame(frame: WireFrame): void {
    let message: AssembledMessage | undefined;
    let rtt: number | undefined;
    if (frame.opcode <= Opcode.Binary) {
      message = this.inAssembler.push(frame) ?? undefined;
    } else if (frame.opcode === Opcode.Ping && !frame.truncated) {
      if ((this.options.autoPong ?? true) && this.state === 'open' && !this.hasError(frame)) {
        this.sendFrame({ fin: true, opcode: Opcode.Pong, payload: frame.payload }, frame.time);
      }
    } else if (frame.opcode === Opcode.Pong) {
      const key = hexKey(frame.payload);
      const sent = this.pings.get(key);
      if (sent !== undefined) {
        rtt = frame.time - sent;
        this.pings.delete(key);
      }
    }
    this.events.push({ type: 'frame', frame, ...(message ? { message } : {}), ...(rtt !== undefined ? { rtt } : {}) });
    if (message) this.events.push({ type: 'message', message, from: this.peer });

    if (frame.opcode === Opcode.Close && !this.closeReceived) {
      this.closeReceived = true;
      const close = frame.close ?? { code: null, reason: '' };
      if (!this.firstClose) this.firstClose = { ...close, by: this.peer };
      this.events.push({ type: 'close-received', ...close });
      if (!this.closeSent && !this.hasError(frame)) {
        // §5.5.1: echo the status code in the reply.
        this.sendClose(close.code ?? undefined, '', frame.time);
      }
      this.state = this.closeSent ? 'closed' : 'closing';
    }

    // A violation the parser could not see (bad UTF-8, inflate failure) fails it here.
    if (this.options.stance === 'endpoint' && !this.failure) {
      const error = frame.violations.find((v) => v.severity === 'error');
      if (error && !this.incoming.failure) this.fail(error, closeCodeFor(error), frame.time);
    }
  }

  private hasError(frame: WireFrame): boolean {
    return this.options.stance === 'endpoint' && frame.violations.some((v) => v.severity === 'error');
  }

  /**
   * §7.1.7: fail the WebSocket connection: send a close frame with the code, then stop.
   * `time` is the caller's clock, as for every frame: another clock here put the close
   * frame before the frame that caused it.
   */
  private fail(v: Violation, closeCode: number, time: number): void {
    this.failure = { violation: v, closeCode };
    this.events.push({ type: 'fail', violation: v, closeCode, afterClose: this.closeSent });
    if (!this.closeSent && closeCode !== CloseCode.Abnormal) {
      // The reason sent to the peer is the violation's id: no internal detail.
      this.sendClose(closeCode, v.id, time);
    }
    this.state = 'closing';
  }

  // -- output -----------------------------------------------------------------------------

  sendText(text: string, time: number, options: SendOptions = {}): void {
    this.sendMessage(Opcode.Text, utf8Encode(text), time, options);
  }

  sendBinary(data: Uint8Array, time: number, options: SendOptions = {}): void {
    this.sendMessage(Opcode.Binary, data, time, options);
  }

  sendMessage(opcode: Opcode.Text | Opcode.Binary, data: Uint8Array, time: number, options: SendOptions = {}): void {
    this.assertOpen('send a message');
    const deflater = options.compress === false ? undefined : this.options.compression?.deflater;
    const frames = encodeMessage({
      opcode,
      data,
      fragmentSize: options.fragmentSize,
      deflater,
      mask: this.role === 'client',
      maskKey: this.options.maskKey,
    });
    const before = this.events.length;
    for (const bytes of frames) this.write(bytes, time);
    // Our own message is known whole: record it on its last frame when the wire form
    // differs from it (fragmented or compressed), as the capture format asks.
    const compressed = !!deflater;
    const written = this.events.slice(before).filter((e): e is Extract<EndpointEvent, { type: 'frame' }> => e.type === 'frame');
    const last = written.at(-1);
    if (last && (written.length > 1 || compressed)) {
      last.message = {
        opcode,
        data,
        frames: written.length,
        compressed,
        wireLength: written.reduce((n, e) => n + e.frame.length, 0),
        truncated: false,
      };
    }
  }

  /** Sends a ping; the pong that answers it gets a round-trip time. */
  sendPing(payload: Uint8Array, time: number): void {
    this.assertOpen('send a ping');
    if (payload.length > 125) throw new LocalProtocolError('a ping payload is at most 125 bytes (§5.5)');
    this.pings.set(hexKey(payload), time);
    this.sendFrame({ fin: true, opcode: Opcode.Ping, payload }, time);
  }

  sendPong(payload: Uint8Array, time: number): void {
    this.assertOpen('send a pong');
    if (payload.length > 125) throw new LocalProtocolError('a pong payload is at most 125 bytes (§5.5)');
    this.sendFrame({ fin: true, opcode: Opcode.Pong, payload }, time);
  }

  /** Starts (or answers) the closing handshake (§7.1.2). */
  sendClose(code: number | undefined, reason: string, time: number): void {
    if (this.closeSent) return;
    let payload: Uint8Array = new Uint8Array(0);
    if (code !== undefined) {
      if (!isValidWireCloseCode(code)) throw new LocalProtocolError(`close code ${code} may not be sent (§7.4)`);
      const reasonBytes = utf8Encode(reason);
      if (reasonBytes.length > 123) throw new LocalProtocolError('a close reason is at most 123 bytes of UTF-8 (§5.5.1)');
      payload = new Uint8Array(2 + reasonBytes.length);
      payload[0] = code >> 8;
      payload[1] = code & 0xff;
      payload.set(reasonBytes, 2);
    } else if (reason) {
      throw new LocalProtocolError('a close reason needs a close code');
    }
    this.sendFrame({ fin: true, opcode: Opcode.Close, payload }, time);
  }

  /** Writes any frame exactly as specified — valid or not, on purpose. The mask key is ours unless given. */
  sendRaw(spec: Omit<FrameSpec, 'mask'> & { mask?: boolean }, time: number): void {
    if (this.closeSent) throw new LocalProtocolError('the close frame has been sent: nothing may follow it');
    const mask = spec.mask ?? this.role === 'client';
    this.write(encodeFrame({ ...spec, mask, maskKey: mask ? (spec.maskKey ?? this.options.maskKey()) : undefined }), time);
  }

  /** Bytes queued for the socket since the last call. */
  takeOutgoing(): Uint8Array[] {
    const out = this.outgoing;
    this.outgoing = [];
    return out;
  }

  /** Events from sends (our own frames), for callers that send outside of receive(). */
  takeEvents(): EndpointEvent[] {
    return this.drainEvents();
  }

  private sendFrame(spec: { fin: boolean; opcode: number; payload: Uint8Array }, time: number): void {
    const mask = this.role === 'client';
    this.write(encodeFrame({ ...spec, mask, maskKey: mask ? this.options.maskKey() : undefined }), time);
  }

  private write(bytes: Uint8Array, time: number): void {
    this.outgoing.push(bytes);
    for (const frame of this.outgoingReader.receive(bytes, time)) {
      this.events.push({ type: 'frame', frame });
      if (frame.opcode === Opcode.Close && !this.closeSent) {
        this.closeSent = true;
        this.incoming.otherCloseSent = true;
        if (!this.firstClose) this.firstClose = { ...(frame.close ?? { code: null, reason: '' }), by: this.role };
        this.state = this.closeReceived ? 'closed' : 'closing';
      }
    }
  }

  private assertOpen(what: string): void {
    if (this.closeSent) throw new LocalProtocolError(`cannot ${what}: the close frame has been sent`);
    if (this.state === 'closed') throw new LocalProtocolError(`cannot ${what}: the connection is closed`);
  }

  private drainEvents(): EndpointEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}

function hexKey(payload: Uint8Array): string {
  let s = '';
  for (let i = 0; i < payload.length; i++) s += payload[i]!.toString(16).padStart(2, '0');
  return s;
}
