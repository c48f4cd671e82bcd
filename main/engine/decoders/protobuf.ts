// Protocol Buffers, one message per WebSocket message: with a schema (a .proto file, parsed
// by protobufjs) as the message type each side sends; without one, as field numbers and
// wire types (docs/contracts.md "Binary values"). A message that does not parse (a wire type
// 6 or 7, a length past its end, a varint cut short) is a finding either way.
import protobuf from 'protobufjs';
import { MAX_VALUE_BYTES, MAX_VALUE_DEPTH, MAX_VALUE_NODES, MAX_VALUE_STRING, ValueConverter, bytesJson, nameOf, preview } from '../../../shared/decoders/binary-value';
import { invalid, textOf } from '../../../shared/decoders/pairing';
import { MAX_PROTO_BYTES, type Decoded, type InMessage, type ProtocolDecoder, type Unanswered } from '../../../shared/decoders/types';
import type { Side } from '../../../shared/model';

export { MAX_PROTO_BYTES };
const MAX_IMPORTS = 64;

// -- without a schema ---------------------------------------------------------------------

class WireError extends Error {}

interface Budget {
  nodes: number;
  truncated: boolean;
}

const MAX_U64 = (1n << 64n) - 1n;

/** Printable text: no control characters but tab, line feed, carriage return. */
function printable(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);
}

class WireReader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    private readonly end = b.length,
  ) {}

  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new WireError(`a varint cut short at offset ${this.pos}`);
      const byte = this.b[this.pos++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v & MAX_U64;
    }
    throw new WireError(`a varint longer than 10 bytes at offset ${this.pos}`);
  }

  take(n: number, what: string): Uint8Array {
    if (this.pos + n > this.end) throw new WireError(`${what} of ${n} bytes at offset ${this.pos} runs past the end`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function num(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
}

function floatJson(x: number): unknown {
  return Number.isFinite(x) ? x : { $float: String(x) };
}

/**
 * Fields until the end of `r` (or the end-group of `group`): `{"1": value}`, a field that
 * comes again becomes an array of its values in order. Throws WireError where it does not parse.
 */
function fields(r: WireReader, depth: number, budget: Budget, group?: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const end = (r as unknown as { end: number }).end;
  while (r.pos < end) {
    const at = r.pos;
    const key = r.varint();
    const field = key >> 3n;
    const wire = Number(key & 7n);
    if (field === 0n || field > 536_870_911n) throw new WireError(`field number ${field} at offset ${at}`);
    if (wire === 4) {
      if (group === Number(field)) return out;
      throw new WireError(`an end-group for field ${field} at offset ${at} that no group began`);
    }
    let v: unknown;
    budget.nodes++;
    switch (wire) {
      case 0:
        v = num(r.varint());
        break;
      case 1: {
        const b = r.take(8, 'a fixed64');
        const dv = new DataView(b.buffer, b.byteOffset, 8);
        v = { $fixed64: String(dv.getBigUint64(0, true)), double: floatJson(dv.getFloat64(0, true)) };
        break;
      }
      case 5: {
        const b = r.take(4, 'a fixed32');
        const dv = new DataView(b.buffer, b.byteOffset, 4);
        v = { $fixed32: dv.getUint32(0, true), float: floatJson(dv.getFloat32(0, true)) };
        break;
      }
      case 2: {
        const len = r.varint();
        if (len > BigInt(end - r.pos)) throw new WireError(`a length of ${len} at offset ${at} runs past the end`);
        v = lengthDelimited(r.take(Number(len), 'a field'), depth, budget);
        break;
      }
      case 3:
        if (depth >= MAX_VALUE_DEPTH) throw new WireError('groups nested too deeply');
        v = fields(r, depth + 1, budget, Number(field));
        break;
      default:
        throw new WireError(`invalid wire type ${wire} at offset ${at}`);
    }
    if (budget.nodes > MAX_VALUE_NODES) {
      budget.truncated = true;
      out['$truncated'] = 'size';
      r.pos = end;
      return out;
    }
    const k = String(field);
    if (!(k in out)) out[k] = v;
    else if (Array.isArray(out[k]) && (out[k] as unknown[] & { repeated?: true }).repeated) (out[k] as unknown[]).push(v);
    else out[k] = Object.assign([out[k], v], { repeated: true as const });
  }
  if (group !== undefined) throw new WireError(`group ${group} has no end`);
  return out;
}

/**
 * A length-delimited field, guessed: a message if it parses wholly as one and is not
 * printable text, or is text that starts as field 1 would (tab, line feed, carriage return:
 * field 1's tag); else text if it is UTF-8; else bytes. (Short text often parses as a
 * message, "hi" as field 13 = 105; a message's tags and lengths are mostly control bytes.)
 */
function lengthDelimited(b: Uint8Array, depth: number, budget: Budget): unknown {
  const text = textOf(b);
  const isText = text !== null && printable(text);
  if (b.length > 0 && depth < MAX_VALUE_DEPTH && (!isText || b[0] === 0x09 || b[0] === 0x0a || b[0] === 0x0d)) {
    const before = { ...budget };
    try {
      return fields(new WireReader(b), depth + 1, budget);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      // What the attempt counted and cut is not in the value.
      Object.assign(budget, before);
    }
  }
  if (text !== null) return cutText(text, budget);
  if (b.length > MAX_VALUE_BYTES) budget.truncated = true;
  return bytesJson(b);
}

function cutText(s: string, budget: Budget): unknown {
  if (s.length <= MAX_VALUE_STRING) return s;
  budget.truncated = true;
  return { $text: s.slice(0, MAX_VALUE_STRING), $truncated: s.length - MAX_VALUE_STRING };
}

/** A message without its schema: `{"1": …}` by field number (docs/contracts.md). */
export function decodeWire(data: Uint8Array): { value: Record<string, unknown>; truncated: boolean } | string {
  const budget: Budget = { nodes: 0, truncated: false };
  try {
    const value = fields(new WireReader(data), 0, budget);
    return { value: plainArrays(value) as Record<string, unknown>, truncated: budget.truncated };
  } catch (err) {
    if (err instanceof WireError) return err.message;
    if (err instanceof RangeError) return 'nested too deeply to parse';
    throw err;
  }
}

/** Repeated fields' arrays without their marker (JSON.stringify ignores it; toEqual does not). */
function plainArrays(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainArrays);
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = plainArrays((v as Record<string, unknown>)[k]);
  }
  return v;
}

// -- with a schema ------------------------------------------------------------------------

export class ProtoError extends Error {}

export interface ProtoSchema {
  /** the file it came from, as named in errors */
  file: string;
  root: protobuf.Root;
  /** the file's message types (nested ones too), by full name without the leading dot */
  types: string[];
  /** the types declared at the top of the file (not nested in another message) */
  topLevel: string[];
}

/** Where a type name is used in the text: the line for an error that does not say. */
function lineOf(text: string, name: string): number | null {
  const short = name.replace(/^.*\./, '');
  const re = new RegExp(`(^|[^\\w.])${short.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (re.test(lines[i]!.replace(/\/\/.*$/, ''))) return i + 1;
  return null;
}

/**
 * A .proto file's text parsed (and its imports: `read` gives an imported file's text, or
 * null when there is none). Throws a ProtoError of one line, `FILE:LINE: why`.
 */
export function loadProto(file: string, text: string, read: (name: string) => string | null = () => null): ProtoSchema {
  const root = new protobuf.Root();
  const seen = new Set<string>();
  const types: string[] = [];
  const topLevel: string[] = [];
  // The file's own types, before its imports add theirs.
  const walk = (ns: protobuf.NamespaceBase, inMessage: boolean) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) {
        const name = o.fullName.replace(/^\./, '');
        types.push(name);
        if (!inMessage) topLevel.push(name);
        walk(o, true);
      } else if (o instanceof protobuf.Namespace) walk(o, inMessage);
    }
  };
  const parseInto = (name: string, source: string, own: boolean) => {
    if (source.length > MAX_PROTO_BYTES) throw new ProtoError(`${name}: over ${MAX_PROTO_BYTES / 1024 / 1024} MiB`);
    let parsed: protobuf.IParserResult;
    try {
      parsed = protobuf.parse(source, root, { keepCase: true });
    } catch (err) {
      const m = err instanceof Error ? err.message : String(err);
      const line = /\(line (\d+)\)/.exec(m)?.[1];
      throw new ProtoError(`${name}${line ? `:${line}` : ''}: ${m.replace(/\s*\((?:[^()]*, )?line \d+\)/, '')}`);
    }
    if (own) walk(root, false);
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      if (seen.has(imp)) continue;
      seen.add(imp);
      if (seen.size > MAX_IMPORTS) throw new ProtoError(`${name}: more than ${MAX_IMPORTS} imports`);
      const common = protobuf.common.get(imp);
      if (common) {
        root.addJSON(common.nested ?? {});
        continue;
      }
      const t = read(imp);
      const at = source.split('\n').findIndex((l) => l.includes(`"${imp}"`));
      const line = at >= 0 ? at + 1 : null;
      if (t === null) throw new ProtoError(`${name}${line ? `:${line}` : ''}: imports "${imp}", which is not found`);
      parseInto(imp, t, false);
    }
  };
  parseInto(file, text, true);
  try {
    root.resolveAll();
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    const missing = /'([^']+)'/.exec(m)?.[1];
    const line = missing ? lineOf(text, missing) : null;
    throw new ProtoError(`${file}${line ? `:${line}` : ''}: ${m}`);
  }
  if (types.length === 0) throw new ProtoError(`${file}: no message types`);
  return { file, root, types, topLevel };
}

const IMPORT = /^\s*import\s+(?:weak\s+|public\s+)?"([^"]+)"/gm;
const base = (name: string) => name.replace(/^.*[\\/]/, '');

/**
 * A schema from files given together (the UI's): the one no other imports is the schema, and
 * the others are its imports, found by name.
 */
export function loadProtoFiles(files: ReadonlyArray<{ filename: string; text: string }>): ProtoSchema {
  if (files.length === 0) throw new ProtoError('no .proto file');
  const imported = new Set<string>();
  for (const f of files) for (const m of f.text.matchAll(IMPORT)) imported.add(base(m[1]!));
  const main = files.find((f) => !imported.has(base(f.filename))) ?? files[0]!;
  try {
    return loadProto(main.filename, main.text, (name) => files.find((f) => f !== main && (f.filename === name || base(f.filename) === base(name)))?.text ?? null);
  } catch (err) {
    if (err instanceof ProtoError && /which is not found$/.test(err.message)) throw new ProtoError(`${err.message}: choose it along with ${main.filename}`);
    throw err;
  }
}

/** Message types by side; a side without one is decoded without a schema. */
export type ProtoTypes = Partial<Record<Side, protobuf.Type>>;

function findType(schema: ProtoSchema, name: string): protobuf.Type {
  const n = name.replace(/^\./, '');
  let full = schema.types.includes(n) ? n : undefined;
  if (!full) {
    const short = schema.types.filter((t) => t.endsWith(`.${n}`));
    if (short.length === 1) full = short[0];
  }
  // An imported file's type, by its full name.
  if (!full) {
    const t = schema.root.lookup(n);
    if (t instanceof protobuf.Type) return t;
  }
  if (!full) throw new ProtoError(`no message type "${name}" in ${schema.file}; its types: ${schema.types.join(', ')}`);
  return schema.root.lookupType(full);
}

/**
 * The types `spec` names: `pkg.Msg` (both sides), `client=pkg.Req,server=pkg.Resp` (a side
 * not named is decoded without a schema), or none when the file has one top-level message.
 */
export function pickTypes(schema: ProtoSchema, spec: string | undefined, option = '--proto-type'): ProtoTypes {
  if (spec === undefined || spec.trim() === '') {
    if (schema.topLevel.length === 1) {
      const t = findType(schema, schema.topLevel[0]!);
      return { client: t, server: t };
    }
    throw new ProtoError(`${schema.file} has ${schema.types.length} message types, choose one with ${option} (or client=A,server=B): ${schema.types.join(', ')}`);
  }
  if (!spec.includes('=')) {
    const t = findType(schema, spec.trim());
    return { client: t, server: t };
  }
  const out: ProtoTypes = {};
  for (const part of spec.split(',')) {
    const m = /^\s*(client|server)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) throw new ProtoError(`${option} ${JSON.stringify(spec)}: a type name, or client=TYPE,server=TYPE`);
    out[m[1] as Side] = findType(schema, m[2]!);
  }
  return out;
}

/** protobufjs's 64-bit integers (long.js) are objects {low, high, unsigned}. */
function longOf(x: object): bigint | null {
  const l = x as { low?: unknown; high?: unknown; unsigned?: unknown };
  if (typeof l.low !== 'number' || typeof l.high !== 'number' || typeof l.unsigned !== 'boolean') return null;
  const v = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  return l.unsigned ? v : BigInt.asIntN(64, v);
}

export class ProtobufDecoder implements ProtocolDecoder {
  readonly protocol = 'protobuf' as const;

  constructor(private readonly types: ProtoTypes = {}) {}

  decode(m: InMessage): Decoded {
    const type = this.types[m.from];
    if (!type) {
      const r = decodeWire(m.data);
      if (typeof r === 'string') return invalid('protobuf', r);
      return { protocol: 'protobuf', type: 'message', summary: `message ${preview(r.value)}${r.truncated ? ' (value truncated)' : ''}`, value: r.value };
    }
    let obj: Record<string, unknown>;
    try {
      obj = type.toObject(type.decode(m.data), { enums: String });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return invalid('protobuf', `not a ${type.fullName.replace(/^\./, '')}: ${why.length > 120 ? why.slice(0, 119) + '…' : why}`);
    }
    const conv = new ValueConverter({ bigintOf: longOf });
    const value = conv.json(obj);
    const name = type.fullName.replace(/^\./, '');
    const d: Decoded = { protocol: 'protobuf', type: name, summary: `${name} ${preview(value)}${conv.truncated ? ' (value truncated)' : ''}`, value };
    const n = nameOf(value);
    if (n !== undefined) d.name = n;
    return d;
  }

  unanswered(): Unanswered[] {
    return [];
  }
}
