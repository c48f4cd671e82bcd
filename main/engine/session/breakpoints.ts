// Breakpoints set in the UI: each connection (proxied or Framescope's own) gets a policy
// whose watches() says whether a breakpoint covers that direction; a message a breakpoint's
// condition matches is held here until the UI decides it (or its connection ends, and the
// engine records it as never delivered). The policy is also how the UI injects into a
// proxied connection: it keeps the connection's Injector.
import type { HeldDecision, HeldMessage, InjectRequest, InterceptRule, InterceptState, RawFrameSpec, UiEvent } from '../../../shared/contract';
import { HELD_DATA_LIMIT } from '../../../shared/contract';
import { fromHex, utf8Encode } from '../../../shared/bytes';
import type { Side } from '../../../shared/model';
import type { ConnectionPolicy } from '../intervene/lane';
import type { Decision, FramePlan, InterceptedMessage, Injector, RawFrame } from '../intervene/types';
import { compileFilter, FilterError, type Filter } from '../intervene/filter';
import { base64 } from '../base64';
import { now } from '../clock';

/** A breakpoint or decision the user got wrong: the message is for them. */
export class BreakpointError extends Error {
  override name = 'BreakpointError';
}

/** A policy the engine may ask to be told when its watches() answer changes. */
export type SessionPolicy = ConnectionPolicy & { subscribe(changed: () => void): () => void };

interface Rule extends InterceptRule {
  filter: Filter;
}

interface Pending {
  message: HeldMessage;
  resolve(d: Decision): void;
}

interface Connection {
  injector: Injector | null;
  listeners: Set<() => void>;
}

export class Breakpoints {
  private rules: Rule[] = [];
  /** in the order they were held */
  private readonly held = new Map<number, Pending>();
  private readonly connections = new Map<string, Connection>();
  private nextId = 1;

  constructor(
    private readonly emit: (event: UiEvent) => void,
    /** whether this engine's Injector writes raw frames (checked once: every connection's is the same kind) */
    private readonly canInjectFrames = false,
  ) {}

  state(): InterceptState {
    return { rules: this.rules.map(({ connection, from, condition }) => ({ connection, from, condition })), canInjectFrames: this.canInjectFrames };
  }

  heldMessages(): HeldMessage[] {
    return [...this.held.values()].map((p) => p.message);
  }

  /** Sets or clears the breakpoint of one direction (of one connection, or of all). */
  set(req: { connection?: string; from: Side; on: boolean; condition?: string }): InterceptState {
    const connection = req.connection ?? null;
    const rest = this.rules.filter((r) => !(r.connection === connection && r.from === req.from));
    if (req.on) {
      if (connection !== null && !this.connections.has(connection)) throw new BreakpointError(`${connection} is not a live connection`);
      const condition = (req.condition ?? '').trim();
      let filter: Filter;
      try {
        filter = compileFilter(condition);
      } catch (e) {
        if (e instanceof FilterError) throw new BreakpointError(`condition: ${e.message}`);
        throw e;
      }
      if (filter.direction !== 'both' && filter.direction !== req.from) {
        throw new BreakpointError(`condition: it names the ${filter.direction}'s messages, but this breakpoint holds the ${req.from}'s`);
      }
      rest.push({ connection, from: req.from, condition, filter });
    }
    this.rules = rest;
    this.changed(connection);
    const state = this.state();
    this.emit({ type: 'intercept', state });
    return state;
  }

  /** The policy of a new connection. */
  policy(connection: string): SessionPolicy {
    const conn: Connection = { injector: null, listeners: new Set() };
    this.connections.set(connection, conn);
    const covers = (r: Rule, from: Side) => r.from === from && (r.connection === null || r.connection === connection);
    return {
      watches: (from) => this.rules.some((r) => covers(r, from)),
      decide: (message, ctx) => {
        conn.injector ??= ctx;
        if (!this.rules.some((r) => covers(r, message.from) && r.filter.test(message))) return { action: 'pass' };
        return this.hold(message);
      },
      opened: (_handshake, ctx) => {
        conn.injector = ctx;
      },
      closed: () => this.forget(connection),
      subscribe: (changed) => {
        conn.listeners.add(changed);
        return () => conn.listeners.delete(changed);
      },
    };
  }

  /** Holds a message in the UI's queue until a decision; `rule`: the rule whose `break` asked. */
  hold(m: InterceptedMessage, rule?: string): Promise<Decision> | Decision {
    // Breakpoints hold data messages; this policy never asks for pings and pongs.
    if (m.opcode !== 1 && m.opcode !== 2) return { action: 'pass' };
    const opcode = m.opcode;
    const id = this.nextId++;
    const message: HeldMessage = { id, connection: m.connection, from: m.from, opcode, size: m.data.length, heldAt: now() };
    if (rule !== undefined) message.rule = rule;
    if (m.data.length <= HELD_DATA_LIMIT) message.data = base64(m.data);
    return new Promise<Decision>((resolve) => {
      this.held.set(id, { message, resolve });
      this.emit({ type: 'held', message });
    });
  }

  private release(id: number, d: Decision): void {
    const p = this.held.get(id);
    if (!p) return;
    this.held.delete(id);
    this.emit({ type: 'released', id });
    p.resolve(d);
  }

  /** A held message still waiting for its decision. */
  heldMessage(id: number): HeldMessage | undefined {
    return this.held.get(id)?.message;
  }

  decide(id: number, decision: HeldDecision): void {
    if (!this.held.has(id)) throw new BreakpointError(`no held message ${id} (decided already, or its connection ended)`);
    this.release(id, toDecision(decision));
  }

  /** Forwards every held message (of one connection, or all), oldest first. */
  forwardAll(connection?: string): number {
    const ids = [...this.held.values()].filter((p) => connection === undefined || p.message.connection === connection).map((p) => p.message.id);
    for (const id of ids) this.release(id, { action: 'forward' });
    return ids.length;
  }

  inject(req: InjectRequest): void {
    const conn = this.connections.get(req.connection);
    const injector = conn?.injector;
    if (!injector) throw new BreakpointError(`${req.connection} is not a live proxied connection`);
    switch (req.kind) {
      case 'text':
        injector.inject(req.to, req.text);
        return;
      case 'binary':
        injector.inject(req.to, Buffer.from(req.data, 'base64'));
        return;
      case 'close': {
        const reason = req.reason ?? '';
        if (utf8Encode(reason).length > 123) throw new BreakpointError('the close reason may be at most 123 bytes of UTF-8 (RFC 6455 §5.5)');
        injector.close(req.code, reason);
        return;
      }
      case 'raw':
        injector.injectFrame(req.to, rawFrameOf(req.frame));
        return;
      case 'decoded':
        // The session encodes forms into text and binary messages before they come here.
        throw new BreakpointError('a decoded form is encoded by the session first');
    }
  }

  /**
   * The connection ended: its held messages were never delivered (the engine records them
   * so when it abandons them); they leave the queue, and its own breakpoints go.
   */
  forget(connection: string): void {
    for (const p of [...this.held.values()]) if (p.message.connection === connection) this.release(p.message.id, { action: 'drop' });
    this.connections.delete(connection);
    if (this.rules.some((r) => r.connection === connection)) {
      this.rules = this.rules.filter((r) => r.connection !== connection);
      this.emit({ type: 'intercept', state: this.state() });
    }
  }

  /** Tells the engine that watches() may answer otherwise now. */
  private changed(connection: string | null): void {
    for (const [id, c] of this.connections) {
      if (connection !== null && id !== connection) continue;
      for (const l of c.listeners) l();
    }
  }
}

function toDecision(d: HeldDecision): Decision {
  switch (d.action) {
    case 'forward':
    case 'drop':
      return { action: d.action };
    case 'close':
      if (utf8Encode(d.reason).length > 123) throw new BreakpointError('the close reason may be at most 123 bytes of UTF-8 (RFC 6455 §5.5)');
      return { action: 'close', code: d.code, reason: d.reason };
    case 'encode':
      // The session encodes a form into a replace decision before it comes here.
      throw new BreakpointError('a decoded form is encoded by the session first');
    case 'replace': {
      const frames: FramePlan = {};
      if (d.fragmentSize !== undefined) frames.fragmentSize = d.fragmentSize;
      if (d.rsv2) frames.rsv2 = true;
      if (d.rsv3) frames.rsv3 = true;
      // Not checked for UTF-8: a text message that is not is a case worth testing a peer with.
      const data = Buffer.from(d.data, 'base64');
      return { action: 'replace', opcode: d.opcode, data, ...(Object.keys(frames).length > 0 ? { frames } : {}) };
    }
  }
}

/**
 * The composer's raw frame as the engine writes it: `maskKey` null is unmasked, hex is that
 * key, absent leaves the choice to the writer (a fresh key toward the server).
 */
export function rawFrameOf(f: RawFrameSpec): RawFrame {
  return {
    fin: f.fin,
    rsv1: f.rsv1,
    rsv2: f.rsv2,
    rsv3: f.rsv3,
    opcode: f.opcode,
    payload: Buffer.from(f.payload, 'base64'),
    ...(f.maskKey === null ? { maskKey: null } : f.maskKey ? { maskKey: fromHex(f.maskKey) } : {}),
  };
}
