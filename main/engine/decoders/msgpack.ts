// MessagePack (msgpack.org), parsed by @msgpack/msgpack: one value per message, shown as
// JSON by shared/decoders/binary-value. A message that is not exactly one value (cut short,
// bytes after it, an invalid byte) is a finding.
import { Decoder, ExtData } from '@msgpack/msgpack';
import { ValueConverter, kindOf, nameOf, preview } from '../../../shared/decoders/binary-value';
import { invalid } from '../../../shared/decoders/pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from '../../../shared/decoders/types';

/** The library's own errors, said plainly. */
export function whyNot(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /stack/i.test(m)) return 'nested too deeply to parse';
  if (/outside the bounds|Insufficient data|end of (?:CBOR )?data|out of range/i.test(m)) return 'cut short: the message ends inside a value';
  return m.length > 160 ? m.slice(0, 159) + '…' : m;
}

/** One MessagePack value, and the converter that shows it as JSON; throws on bytes that are not exactly one. */
function parseMsgpack(bytes: Uint8Array): { raw: unknown; conv: ValueConverter } {
  // Objects are keyed by strings: any other key (or one that could be taken for this
  // table's) is kept aside and put back as the map's key when shown.
  const keys: unknown[] = [];
  const decoder = new Decoder({
    useBigInt64: true,
    mapKeyConverter: (k: unknown) => {
      if (typeof k === 'string' && !k.startsWith('\u0000')) return k;
      keys.push(k);
      return `\u0000${keys.length - 1}`;
    },
  });
  const raw = decoder.decode(bytes);
  const conv = new ValueConverter({
    extOf: (x) => (x instanceof ExtData ? { type: x.type, data: x.data instanceof Uint8Array ? x.data : new Uint8Array(0) } : null),
    keyOf: (k) => (k.startsWith('\u0000') ? keys[Number(k.slice(1))] : k),
  });
  return { raw, conv };
}

/** One MessagePack value as JSON (docs/contracts.md "Binary values"), for SignalR's MessagePack protocol. */
export function msgpackJson(bytes: Uint8Array): unknown {
  const { raw, conv } = parseMsgpack(bytes);
  return conv.json(raw);
}

export class MsgpackDecoder implements ProtocolDecoder {
  readonly protocol = 'msgpack' as const;

  decode(m: InMessage): Decoded {
    if (m.data.length === 0) return invalid('msgpack', 'an empty message');
    let parsed: { raw: unknown; conv: ValueConverter };
    try {
      parsed = parseMsgpack(m.data);
    } catch (err) {
      return invalid('msgpack', whyNot(err));
    }
    return record('msgpack', parsed.raw, parsed.conv);
  }

  unanswered(): Unanswered[] {
    return [];
  }
}

/** The record of one decoded value: its kind, a name if a map names itself, its JSON. */
export function record(protocol: 'msgpack' | 'cbor', v: unknown, conv: ValueConverter): Decoded {
  const value = conv.json(v);
  const type = kindOf(v);
  const d: Decoded = { protocol, type, summary: '', value };
  const name = nameOf(value);
  if (name !== undefined) d.name = name;
  d.summary = `${type} ${preview(value)}${conv.truncated ? ' (value truncated)' : ''}`;
  return d;
}
