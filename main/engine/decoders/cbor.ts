// CBOR (RFC 8949), parsed by cbor-x: one data item per message, shown as JSON by
// shared/decoders/binary-value. Tags cbor-x knows become their values (dates, big integers,
// typed arrays, sets); others stay `{"$tag": n, "value": …}`.
// cbor-x/decode: the pure-JS decoder (the package's main entry in Node tries to load an optional native addon)
import * as cborDecode from 'cbor-x/decode';

const { Decoder } = cborDecode;
// decode.js exports Tag (an unknown tag's wrapper); its decode.d.ts does not declare it.
const Tag = (cborDecode as unknown as { Tag: new (value: unknown, tag: number) => { tag: number; value: unknown } }).Tag;
import { ValueConverter } from '../../../shared/decoders/binary-value';
import { invalid } from '../../../shared/decoders/pairing';
import type { Decoded, InMessage, ProtocolDecoder, Unanswered } from '../../../shared/decoders/types';
import { record, whyNot } from './msgpack';

// Maps stay Maps (keys of any type), no records extension: plain RFC 8949.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

export class CborDecoder implements ProtocolDecoder {
  readonly protocol = 'cbor' as const;

  decode(m: InMessage): Decoded {
    if (m.data.length === 0) return invalid('cbor', 'an empty message');
    let v: unknown;
    try {
      v = decoder.decode(m.data);
    } catch (err) {
      const why = whyNot(err);
      return invalid('cbor', /end of buffer not reached/.test(why) ? 'bytes after the first data item' : why);
    }
    const conv = new ValueConverter({ tagOf: (x) => (x instanceof Tag ? { tag: Number(x.tag), value: x.value } : null) });
    return record('cbor', v, conv);
  }

  unanswered(): Unanswered[] {
    return [];
  }
}
