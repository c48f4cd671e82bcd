// Cutting a byte stream into pieces at given positions, for tests that feed a parser the
// way a socket might deliver the same bytes.

/**
 * `data` cut at `cuts` (each taken modulo its length + 1, in order). With `empty`, a repeated
 * cut gives an empty piece; without it, repeated cuts count once.
 */
export function splitAt(data: Uint8Array, cuts: readonly number[], { empty = false } = {}): Uint8Array[] {
  const wrapped = cuts.map((c) => c % (data.length + 1));
  const at = (empty ? wrapped : [...new Set(wrapped)]).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    out.push(data.subarray(from, p));
    from = p;
  }
  out.push(data.subarray(from));
  return out;
}
