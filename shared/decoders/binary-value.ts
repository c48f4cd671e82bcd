// Values of the binary formats (MessagePack, CBOR, protobuf) as JSON, for a decoded record's
// `value` (docs/contracts.md "Binary values"). What JSON has no form for gets a one-key
// object whose key starts with `$`; so a map is a plain object only when its keys are all
// strings not starting with `$` (else `{"$map": [[key, value], …]}`), and no marker is
// mistaken for data. A value past the limits is cut where it goes over, and says so.

/** Containers nested deeper than this are cut (`{"$truncated": "depth"}`). */
export const MAX_VALUE_DEPTH = 32;
/** Array items, map entries and scalars in one value, at most. */
export const MAX_VALUE_NODES = 10_000;
/** Characters of one string kept. */
export const MAX_VALUE_STRING = 4096;
/** Bytes of one binary kept (as twice as many hex digits). */
export const MAX_VALUE_BYTES = 4096;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hexOf(b: Uint8Array, max = b.length): string {
  let s = '';
  const n = Math.min(max, b.length);
  for (let i = 0; i < n; i++) s += HEX[b[i]!];
  return s;
}

export function bytesJson(b: Uint8Array): Record<string, unknown> {
  if (b.length <= MAX_VALUE_BYTES) return { $hex: hexOf(b) };
  return { $hex: hexOf(b, MAX_VALUE_BYTES), $truncated: b.length - MAX_VALUE_BYTES };
}

/** A tagged CBOR item cbor-x does not know: `{tag, value}`. */
export interface TaggedLike {
  tag: number;
  value: unknown;
}

/** A MessagePack extension cbor-x / msgpack left undecoded. */
export interface ExtLike {
  type: number;
  data: Uint8Array;
}

export interface JsonOptions {
  /** a tagged item (cbor-x's Tag), if the value is one */
  tagOf?: (v: object) => TaggedLike | null;
  /** an extension (msgpack's ExtData), if the value is one */
  extOf?: (v: object) => ExtLike | null;
  /** a 64-bit integer object (protobufjs's Long), as a bigint */
  bigintOf?: (v: object) => bigint | null;
  /** a plain object's key as the map had it (a decoder that must key objects by strings) */
  keyOf?: (k: string) => unknown;
}

export class ValueConverter {
  private nodes = 0;
  /** something was cut */
  truncated = false;

  constructor(private readonly o: JsonOptions = {}) {}

  json(v: unknown, depth = 0): unknown {
    if (++this.nodes > MAX_VALUE_NODES) return this.cut('size');
    switch (typeof v) {
      case 'string':
        if (v.length <= MAX_VALUE_STRING) return v;
        this.truncated = true;
        return { $text: v.slice(0, MAX_VALUE_STRING), $truncated: v.length - MAX_VALUE_STRING };
      case 'number':
        return Number.isFinite(v) ? v : { $float: String(v) };
      case 'bigint':
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
      case 'boolean':
        return v;
      case 'undefined':
        return { $undefined: true };
      case 'object':
        break;
      default:
        return { $unknown: typeof v };
    }
    if (v === null) return null;
    if (v instanceof Uint8Array) {
      if (v.length > MAX_VALUE_BYTES) this.truncated = true;
      return bytesJson(v);
    }
    if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? String(v.getTime()) : v.toISOString() };
    if (depth >= MAX_VALUE_DEPTH) return this.cut('depth');
    const big = this.o.bigintOf?.(v);
    if (big !== undefined && big !== null) return this.json(big, depth);
    const tagged = this.o.tagOf?.(v);
    if (tagged) return { $tag: tagged.tag, value: this.json(tagged.value, depth + 1) };
    const ext = this.o.extOf?.(v);
    if (ext) return { $ext: ext.type, ...bytesJson(ext.data) };
    if (Array.isArray(v)) return this.list(v, depth);
    if (ArrayBuffer.isView(v)) return { $typed: v.constructor.name, values: this.list(Array.from(v as unknown as ArrayLike<number | bigint>), depth) };
    if (v instanceof Set) return { $set: this.list([...v], depth) };
    if (v instanceof Map) return this.map([...v.entries()], depth);
    const keyOf = this.o.keyOf;
    return this.map(keyOf ? Object.entries(v).map(([k, x]) => [keyOf(k), x]) : Object.entries(v), depth);
  }

  private cut(why: 'size' | 'depth'): unknown {
    this.truncated = true;
    return { $truncated: why };
  }

  private list(items: unknown[], depth: number): unknown[] {
    const out: unknown[] = [];
    for (const x of items) {
      if (this.nodes >= MAX_VALUE_NODES) {
        out.push({ $truncated: items.length - out.length });
        this.truncated = true;
        break;
      }
      out.push(this.json(x, depth + 1));
    }
    return out;
  }

  /** A map: a plain object when every key is a string that cannot be taken for a marker. */
  map(entries: Array<[unknown, unknown]>, depth: number): unknown {
    const plain = entries.every(([k]) => typeof k === 'string' && !k.startsWith('$'));
    if (plain) {
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const [k, x] of entries) {
        if (this.nodes >= MAX_VALUE_NODES) {
          out['$truncated'] = entries.length - n;
          this.truncated = true;
          break;
        }
        // defineProperty: a key "__proto__" is data, not the prototype.
        Object.defineProperty(out, k as string, { value: this.json(x, depth + 1), enumerable: true, writable: true, configurable: true });
        n++;
      }
      return out;
    }
    const pairs: unknown[] = [];
    for (const [k, x] of entries) {
      if (this.nodes >= MAX_VALUE_NODES) {
        pairs.push({ $truncated: entries.length - pairs.length });
        this.truncated = true;
        break;
      }
      pairs.push([this.json(k, depth + 1), this.json(x, depth + 1)]);
    }
    return { $map: pairs };
  }
}

/** The top-level kind of a decoded value, for a record's `type`. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v !== 'object') return typeof v;
  if (v instanceof Uint8Array) return 'binary';
  if (v instanceof Date) return 'timestamp';
  if (Array.isArray(v) || v instanceof Set) return 'array';
  return 'map';
}

/** One short line: the value's JSON, cut. */
export function preview(v: unknown, max = 100): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** A string field of a map that names the message (type, event, method, op, action), if any. */
export function nameOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  for (const k of ['type', 'event', 'method', 'op', 'action']) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'string' && x.length > 0 && x.length <= 200) return x;
  }
  return undefined;
}
