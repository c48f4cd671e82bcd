// One direction of a WebSocket seen from the side (proxy, decode, import): the frame parser
// in the observer stance plus the message layer, and the bookkeeping an observer needs to
// tell the story afterwards — who closed first, and which pong answered which ping.
import type { Side } from '../model';
import type { WireFrame } from './frame';
import { FrameParser } from './frame-parser';
import { MessageAssembler, type AssembledMessage } from './messages';
import type { MessageInflater } from './compression';
import { Opcode } from './protocol';

export interface ObservedFrame {
  frame: WireFrame;
  /** on the final frame of a data message */
  message?: AssembledMessage;
  /** on a pong that answers a ping seen going the other way */
  rtt?: number;
}

export interface StreamObserverOptions {
  from: Side;
  /** payload bytes kept per frame; the rest is counted, not stored (default 16 MiB) */
  maxPayload?: number;
  /** largest message kept whole (default 64 MiB) */
  maxMessage?: number;
  /** permessage-deflate for this direction, when negotiated */
  inflater?: MessageInflater | null;
}

export const RECORDED_PAYLOAD_LIMIT = 16 * 1024 * 1024;

export class StreamObserver {
  readonly from: Side;
  /** the first close frame this side sent, with its time */
  closeFrame: { code: number | null; reason: string; time: number } | null = null;
  private readonly parser: FrameParser;
  private readonly assembler: MessageAssembler;
  /** the other direction, whose pings our pongs answer */
  private peer: StreamObserver | null = null;
  /** pings this side sent, by payload, with their times */
  private readonly pings = new Map<string, number>();

  constructor(options: StreamObserverOptions) {
    this.from = options.from;
    const inflater = options.inflater ?? null;
    this.parser = new FrameParser({
      from: options.from,
      stance: 'observer',
      maxPayload: options.maxPayload ?? RECORDED_PAYLOAD_LIMIT,
      rsv1Allowed: inflater !== null,
    });
    this.assembler = new MessageAssembler({
      from: options.from,
      compression: inflater ? { inflater } : null,
      maxMessage: options.maxMessage,
    });
  }

  /** Links the two directions of one connection, for ping round-trip times. */
  static pair(a: StreamObserver, b: StreamObserver): void {
    a.peer = b;
    b.peer = a;
  }

  /**
   * Decodes on from a frame start at stream offset `offset` after bytes of this direction
   * were lost (see FrameParser.resume). `inflate`: whether compressed messages after it can
   * still be inflated (not with context takeover: their window was in the lost bytes).
   */
  resume(offset: number, inflate: boolean): void {
    this.parser.resume(offset);
    this.assembler.reset();
    if (!inflate) this.assembler.inflateLost = true;
  }

  /** Bytes of this direction decoded so far. */
  get offset(): number {
    return this.parser.offset;
  }

  receive(data: Uint8Array, time: number): ObservedFrame[] {
    return this.observe(this.parser.receive(data, time));
  }

  /** The stream ended: a frame cut off mid-way comes out with 'truncated-frame'. */
  end(time: number): ObservedFrame[] {
    return this.observe(this.parser.end(time));
  }

  /** Inside a frame or a fragmented message (an end now would cut something). */
  get midFrame(): boolean {
    return this.parser.midFrame;
  }

  private observe(frames: WireFrame[]): ObservedFrame[] {
    if (frames.length === 0) return [];
    const out: ObservedFrame[] = new Array(frames.length);
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const o: ObservedFrame = { frame };
      const opcode = frame.opcode;
      if (opcode <= Opcode.Binary) {
        const message = this.assembler.push(frame);
        if (message) o.message = message;
      } else if (opcode === Opcode.Ping) {
        if (this.pings.size < 64) this.pings.set(key(frame.payload), frame.time);
      } else if (opcode === Opcode.Pong && this.peer) {
        const k = key(frame.payload);
        const sent = this.peer.pings.get(k);
        if (sent !== undefined) {
          o.rtt = Math.round((frame.time - sent) * 1000) / 1000;
          this.peer.pings.delete(k);
        }
      } else if (opcode === Opcode.Close && !this.closeFrame) {
        this.closeFrame = { ...(frame.close ?? { code: null, reason: '' }), time: frame.time };
        if (this.peer) this.peer.parser.otherCloseSent = true;
      }
      out[i] = o;
    }
    return out;
  }
}

function key(payload: Uint8Array): string {
  let s = '';
  for (let i = 0; i < payload.length; i++) s += String.fromCharCode(payload[i]!);
  return s;
}
