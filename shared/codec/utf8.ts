// Incremental UTF-8 validation (RFC 3629 §4, the Unicode Standard's Table 3-7), so a text
// message can be checked fragment by fragment as it arrives. RFC 6455 §8.1 lets an
// endpoint fail as soon as the bytes cannot be valid, and this validator is fail-fast in
// the strongest sense: push() returns false at the first byte after which no continuation
// could make the stream valid. Overlong forms, surrogates (U+D800-DFFF) and code points
// past U+10FFFF are refused at their second byte, through the allowed range for the byte
// after each lead byte (E0: A0-BF, ED: 80-9F, F0: 90-BF, F4: 80-8F), exactly as the WHATWG
// decoder behind `TextDecoder('utf-8', { fatal: true })` does.

export class Utf8Validator {
  /** continuation bytes still expected in the current sequence */
  private need = 0;
  /** the range allowed for the next continuation byte */
  private lower = 0x80;
  private upper = 0xbf;
  /** bytes pushed before the current push() */
  private seen = 0;
  private bad = -1;

  /** Checks the next bytes; false once the stream is invalid (and from then on). */
  push(bytes: Uint8Array): boolean {
    if (this.bad >= 0) return false;
    let need = this.need;
    let lower = this.lower;
    let upper = this.upper;
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      if (need === 0) {
        // ASCII fast path: eight bytes at a time while none has the high bit.
        while (
          i + 8 <= n &&
          ((bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! | bytes[i + 6]! | bytes[i + 7]!) &
            0x80) ===
            0
        ) {
          i += 8;
        }
        while (i < n && bytes[i]! < 0x80) i++;
        if (i === n) break;
        const b = bytes[i]!;
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          if (b === 0xe0) lower = 0xa0; // below: overlong
          else if (b === 0xed) upper = 0x9f; // above: surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          if (b === 0xf0) lower = 0x90; // below: overlong
          else if (b === 0xf4) upper = 0x8f; // above: past U+10FFFF
        } else {
          // 80-BF: a continuation byte with nothing to continue; C0, C1: overlong
          // two-byte forms; F5-FF: never in UTF-8.
          return this.fail(i);
        }
      } else {
        const b = bytes[i]!;
        if (b < lower || b > upper) return this.fail(i);
        lower = 0x80;
        upper = 0xbf;
        need--;
      }
      i++;
    }
    this.need = need;
    this.lower = lower;
    this.upper = upper;
    this.seen += n;
    return true;
  }

  /** True when everything pushed is valid and no sequence is left open. */
  finish(): boolean {
    return this.bad < 0 && this.need === 0;
  }

  /** True while everything pushed so far can still begin a valid stream. */
  get valid(): boolean {
    return this.bad < 0;
  }

  /** Offset (from the first byte pushed since reset) of the byte that made it invalid, or -1. */
  get invalidAt(): number {
    return this.bad;
  }

  /** True when the bytes so far end inside a multi-byte sequence. */
  get incomplete(): boolean {
    return this.need > 0;
  }

  reset(): void {
    this.need = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.seen = 0;
    this.bad = -1;
  }

  private fail(at: number): false {
    this.bad = this.seen + at;
    return false;
  }
}

/**
 * Every byte is below 0x80: ASCII, so valid UTF-8 with no sequence to track. Most text
 * messages are; this answers for them without the validator's state.
 */
export function isAscii(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    if (((bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! | bytes[i + 6]! | bytes[i + 7]!) & 0x80) !== 0) return false;
  }
  let rest = 0;
  for (; i < n; i++) rest |= bytes[i]!;
  return (rest & 0x80) === 0;
}

/** One-shot check of a whole byte string. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.finish();
}
