// @vitest-environment happy-dom
// The renderer's views of bytes: hex rows, the §5.2 header bit by bit, Accept recomputed
// with the browser's SHA-1, and the composer's exact bytes — checked against the RFC's own
// examples (test/fixtures/rfc-examples.json).
import { describe, expect, it } from 'vitest';
import { fromBase64, toHex, utf8Decode } from '../../shared/bytes';
import { hexRows, formatOffset } from '../../renderer/src/views/hex';
import { layoutHeaderRows, parseHeaderFields } from '../../renderer/src/views/frame-header';
import { acceptStepsAsync, acceptVerdict } from '../../renderer/src/views/accept';
import { compose } from '../../renderer/src/views/composer';
import { DEFAULT_COMPOSER, type ComposerState } from '../../renderer/src/store/composer-state';
import { formatClock, formatDuration, formatRelative } from '../../renderer/src/views/format';
import { sha1 } from '../../renderer/src/dev/sha1';
import { MAX_SCROLL_PX, rowWindow, scrollTopFor } from '../../renderer/src/views/row-window';

import rfc from '../fixtures/rfc-examples.json';

interface Vectors {
  handshake: Array<{ key: string; accept: string }>;
  frames: Array<{ name: string; hex?: string[]; headerHex?: string; maskKey?: string; payloadLength?: number }>;
}
const vectors = rfc as Vectors;
const vector = (name: string) => vectors.frames.find((v) => v.name === name)!;

describe('hex view', () => {
  it('writes offset, two-digit bytes and ASCII, 16 a row by default', () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => (i === 3 ? 0x41 : i * 13));
    const rows = hexRows(bytes);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.bytes).toHaveLength(16);
    expect(rows[0]!.bytes.slice(0, 4)).toEqual(['00', '0d', '1a', '41']);
    expect(rows[0]!.ascii.slice(0, 4)).toBe('...A');
    expect(rows[1]!.offset).toBe(16);
    expect(formatOffset(rows[1]!.offset)).toBe('00000010');
    expect(rows[1]!.bytes).toEqual(['d0', 'dd', 'ea', 'f7']);
  });
  it('draws at most the limit, and 8 a row when asked', () => {
    const bytes = new Uint8Array(1000);
    expect(hexRows(bytes, 64)).toHaveLength(4);
    expect(hexRows(bytes, 64, 8)).toHaveLength(8);
  });
});

describe('RFC 6455 §5.2: the header bit by bit', () => {
  it('a masked text frame (§5.7 "Hello" from the client)', () => {
    const v = vector('single-frame masked text');
    const h = parseHeaderFields(v.hex![0]!.slice(0, 12));
    const byId = Object.fromEntries(h.fields.map((f) => [f.id, f]));
    expect(byId.fin).toMatchObject({ bitStart: 0, bitLength: 1, bits: '1' });
    expect(byId.rsv1!.bits + byId.rsv2!.bits + byId.rsv3!.bits).toBe('000');
    expect(byId.opcode).toMatchObject({ bitStart: 4, bitLength: 4, bits: '0001', meaning: '0x1 text' });
    expect(byId.mask).toMatchObject({ bitStart: 8, bits: '1' });
    expect(byId.len7).toMatchObject({ bitStart: 9, bitLength: 7, bits: '0000101', meaning: '5 bytes' });
    expect(byId.maskKey).toMatchObject({ bitStart: 16, bitLength: 32, meaning: v.maskKey });
    expect(h.incomplete).toBe(false);
    // laid out as the RFC draws it: 32 bits a row, the key split over two rows
    const rows = layoutHeaderRows(h.fields);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.map((c) => [c.field.id, c.column, c.width])).toEqual([
      ['fin', 0, 1],
      ['rsv1', 1, 1],
      ['rsv2', 2, 1],
      ['rsv3', 3, 1],
      ['opcode', 4, 4],
      ['mask', 8, 1],
      ['len7', 9, 7],
      ['maskKey', 16, 16],
    ]);
    expect(rows[1]!.map((c) => [c.field.id, c.column, c.width, c.continued])).toEqual([['maskKey', 0, 16, true]]);
  });

  it('the 16-bit extended length (§5.7: 256 bytes)', () => {
    const h = parseHeaderFields(vector('256-byte binary, 16-bit length').headerHex!);
    const ids = h.fields.map((f) => f.id);
    expect(ids).toEqual(['fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'mask', 'len7', 'len16']);
    expect(h.fields.find((f) => f.id === 'len7')!.meaning).toMatch(/^126/);
    expect(h.fields.find((f) => f.id === 'len16')).toMatchObject({ bitStart: 16, bitLength: 16, meaning: '256 bytes' });
  });

  it('the 64-bit extended length (§5.7: 64 KiB) across two rows', () => {
    const h = parseHeaderFields(vector('65536-byte binary, 64-bit length').headerHex!);
    const len64 = h.fields.find((f) => f.id === 'len64')!;
    expect(len64).toMatchObject({ bitStart: 16, bitLength: 64, meaning: '65,536 bytes' });
    const rows = layoutHeaderRows(h.fields);
    expect(rows.map((r) => r.filter((c) => c.field.id === 'len64').map((c) => c.width))).toEqual([[16], [32], [16]]);
  });

  it('RSV bits and a reserved opcode are drawn as they are', () => {
    const h = parseHeaderFields('f3 00'.replace(' ', ''));
    expect(h.fields.slice(0, 5).map((f) => f.bits)).toEqual(['1', '1', '1', '1', '0011']);
    expect(h.fields[4]!.meaning).toBe('0x3 reserved-data-3');
  });

  it('says when a header is cut short', () => {
    expect(parseHeaderFields('8a85').incomplete).toBe(true);
    expect(parseHeaderFields('8a85').fields.find((f) => f.id === 'maskKey')!.meaning).toBe('?');
  });
});

describe('RFC 6455 §1.3: Sec-WebSocket-Accept in the browser', () => {
  it('computes the RFC example step by step with crypto.subtle', async () => {
    const { key, accept } = vectors.handshake[0]!;
    const steps = await acceptStepsAsync(key);
    expect(steps.concatenated).toBe(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`);
    expect(steps.sha1Hex).toBe('b37a4f2cc0624f1690f64606cf385945b2bec4ea');
    expect(steps.base64).toBe(accept);
    expect(acceptVerdict(steps, accept)).toEqual({ valid: true, text: expect.stringMatching(/^valid/) });
    expect(acceptVerdict(steps, 'AAAA')).toEqual({ valid: false, text: expect.stringMatching(/^invalid/) });
    expect(acceptVerdict(steps, null).valid).toBe(false);
  });
  it('the demo engine’s own SHA-1 agrees with the RFC', () => {
    const { key, accept } = vectors.handshake[0]!;
    const digest = sha1(new TextEncoder().encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`));
    expect(toHex(digest)).toBe('b37a4f2cc0624f1690f64606cf385945b2bec4ea');
    expect(fromBase64(accept)).toEqual(digest);
    expect(toHex(sha1(new Uint8Array(0)))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });
});

describe('composer: what it sends and the bytes it becomes', () => {
  const c = (patch: Partial<ComposerState>): ComposerState => ({ ...DEFAULT_COMPOSER, ...patch });

  it('a raw frame is the exact bytes of the encoder (§5.7 masked "Hello")', () => {
    const v = vector('single-frame masked text');
    const r = compose('c1', c({ mode: 'raw', raw: { ...DEFAULT_COMPOSER.raw, payload: 'Hello', maskKey: v.maskKey! } }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(toHex(r.exact!)).toBe(v.hex![0]);
    expect(r.request).toEqual({
      connection: 'c1',
      kind: 'raw',
      frame: { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, payload: 'SGVsbG8=', maskKey: '37fa213d' },
    });
  });
  it('a raw frame may be invalid on purpose: RSV bits, a reserved opcode, no mask', () => {
    const r = compose('c1', c({ mode: 'raw', raw: { ...DEFAULT_COMPOSER.raw, rsv2: true, opcode: 11, mask: 'none', payloadFormat: 'hex', payload: 'de ad' } }));
    expect(r.ok && toHex(r.exact!)).toBe('ab02dead');
  });
  it('text split into fragments', () => {
    const r = compose('c1', c({ mode: 'text', text: 'Hello, world', fragmentSize: 5 }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request).toEqual({ connection: 'c1', kind: 'text', text: 'Hello, world', fragmentSize: 5 });
    expect(r.frameCount).toBe(3);
    expect(r.frames.map((f) => [f.opcode, f.fin, f.length])).toEqual([
      [1, false, 5],
      [0, false, 5],
      [0, true, 2],
    ]);
    expect(r.exact).toBeNull();
  });
  it('JSON is validated', () => {
    expect(compose('c1', c({ mode: 'json', text: '{"a":1' })).ok).toBe(false);
    expect(compose('c1', c({ mode: 'json', text: '{"a":1}' })).ok).toBe(true);
  });
  it('binary from hex, or from a file', () => {
    const r = compose('c1', c({ mode: 'binary', hex: '00 01:02 ff' }));
    expect(r.ok && r.request).toEqual({ connection: 'c1', kind: 'binary', data: 'AAEC/w==' });
    expect(compose('c1', c({ mode: 'binary', hex: 'zz' })).ok).toBe(false);
    const f = compose('c1', c({ mode: 'binary', hex: 'ignored' }), new Uint8Array([1, 2, 3]));
    expect(f.ok && f.request).toEqual({ connection: 'c1', kind: 'binary', data: 'AQID' });
  });
  it('a ping does not take the text or JSON written before as its payload', () => {
    const json = JSON.stringify({ type: 'subscribe', channel: 'orders', filter: { side: 'buy', min: 100 }, id: 'a1b2c3d4e5f6a1b2c3d4e5f6' });
    const ping = compose('c1', c({ mode: 'ping', text: json }));
    expect(ping).toMatchObject({ ok: true, request: { kind: 'ping', data: '' }, payloadBytes: 0 });
  });
  it('control frames keep to 125 bytes (§5.5); close codes and reasons are checked', () => {
    expect(compose('c1', c({ mode: 'ping', controlText: 'x'.repeat(125) })).ok).toBe(true);
    expect(compose('c1', c({ mode: 'ping', controlText: 'x'.repeat(126) })).ok).toBe(false);
    expect(compose('c1', c({ mode: 'pong', controlHex: true, controlText: 'ff 00' }))).toMatchObject({ ok: true, request: { kind: 'pong', data: '/wA=' } });
    expect(compose('c1', c({ mode: 'close', closeCode: 4001, closeReason: 'bye' }))).toMatchObject({ ok: true, request: { kind: 'close', code: 4001, reason: 'bye' } });
    expect(compose('c1', c({ mode: 'close', closeCode: 999 })).ok).toBe(false);
    expect(compose('c1', c({ mode: 'close', closeCode: 1000, closeReason: 'é'.repeat(62) })).ok).toBe(false);
  });
});

describe('formats', () => {
  it('times and durations', () => {
    expect(formatRelative(1000 + 1234.5678, 1000)).toBe('+1.234568');
    expect(formatDuration(0.5)).toBe('500 µs');
    expect(formatDuration(3.456)).toBe('3.46 ms');
    expect(formatDuration(61_000)).toBe('1m 1s');
    expect(formatClock(new Date(2024, 0, 1, 13, 4, 5, 6).getTime() + 0.789)).toBe('13:04:05.006789');
    expect(utf8Decode(new Uint8Array([0x68, 0x69]))).toBe('hi');
  });
});

describe('row window: which rows of a fixed-height list are drawn', () => {
  const base = { rowHeight: 22, viewport: 440, overscan: 0 };
  it('plain lists: row i at i * height', () => {
    const w = rowWindow({ ...base, count: 1000, scrollTop: 22 * 100 });
    expect([w.first, w.last, w.totalHeight, w.top(100)]).toEqual([100, 119, 22_000, 2200]);
    expect(rowWindow({ ...base, count: 0, scrollTop: 0 })).toMatchObject({ first: 0, last: -1, totalHeight: 0 });
    expect(rowWindow({ ...base, count: 5, scrollTop: 0, overscan: 10 })).toMatchObject({ first: 0, last: 4 });
  });
  it('past the browser’s height limit the range is scaled: top, middle and end all reachable', () => {
    const count = 10_000_000;
    const top = rowWindow({ ...base, count, scrollTop: 0 });
    expect(top.totalHeight).toBe(MAX_SCROLL_PX);
    expect([top.first, top.last, top.top(0)]).toEqual([0, 19, 0]);
    const end = rowWindow({ ...base, count, scrollTop: Number.MAX_SAFE_INTEGER });
    expect(end.last).toBe(count - 1);
    // the last row's bottom is the viewport's bottom
    expect(end.top(count - 1) + 22).toBeCloseTo(MAX_SCROLL_PX, 3);
    const mid = rowWindow({ ...base, count, scrollTop: (MAX_SCROLL_PX - 440) / 2 });
    expect(Math.abs(mid.first - count / 2)).toBeLessThan(20);
    // rows keep their height on screen
    expect(mid.top(mid.first + 1) - mid.top(mid.first)).toBe(22);
  });
  it('scrollTopFor brings a row into view, scaled or not', () => {
    for (const count of [1000, 10_000_000]) {
      for (const index of [0, 7, Math.floor(count / 3), count - 1]) {
        const st = scrollTopFor(index, 'start', { ...base, count, scrollTop: 0 })!;
        const w = rowWindow({ ...base, count, scrollTop: st });
        expect(index).toBeGreaterThanOrEqual(w.visibleFirst);
        expect(index).toBeLessThanOrEqual(w.visibleLast);
      }
    }
    expect(scrollTopFor(3, 'auto', { ...base, count: 1000, scrollTop: 0 })).toBeNull();
  });
});
