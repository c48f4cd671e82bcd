// The frame list's column layout (order, hidden, widths: remembered, read defensively) and
// the copy formats, as pure functions.
import { describe, expect, it } from 'vitest';
import { COLUMNS_KEY, DEFAULT_LAYOUT, DEFAULT_WIDTHS, gridColumns, loadLayout, moveColumn, saveLayout, toggleColumn, visibleColumns } from '../../renderer/src/views/columns';
import { formatPayload, rowLine } from '../../renderer/src/views/copy';
import type { FrameSummary } from '../../shared/contract';

function memoryStorage(initial?: string) {
  const m = new Map<string, string>(initial === undefined ? [] : [[COLUMNS_KEY, initial]]);
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

describe('column layout', () => {
  it('the default grid is the one the list always had', () => {
    expect(gridColumns(DEFAULT_LAYOUT)).toBe('54px 80px 14px 78px 10px 26px 10px 54px 58px 200px minmax(0, 1fr)');
  });

  it('moves, hides and remembers; the last visible column stays', () => {
    let l = moveColumn(DEFAULT_LAYOUT, 'dec', { before: 'seq' });
    l = moveColumn(l, 'len', -1);
    l = toggleColumn(l, 'mask');
    expect(visibleColumns(l)).toEqual(['dec', 'seq', 'time', 'dir', 'op', 'fin', 'rsv', 'len', 'msg', 'preview']);
    // One step right steps over a hidden column.
    expect(visibleColumns(moveColumn(l, 'rsv', 1))).toEqual(['dec', 'seq', 'time', 'dir', 'op', 'fin', 'len', 'rsv', 'msg', 'preview']);
    const s = memoryStorage();
    saveLayout(s, { ...l, widths: { ...DEFAULT_WIDTHS, len: 90 } });
    expect(loadLayout(s)).toEqual({ ...l, widths: { ...DEFAULT_WIDTHS, len: 90 } });
    let one = DEFAULT_LAYOUT;
    for (const id of DEFAULT_LAYOUT.order.slice(1)) one = toggleColumn(one, id);
    expect(visibleColumns(toggleColumn(one, 'seq'))).toEqual(['seq']);
    // Without the payload the last column's track takes the rest.
    expect(gridColumns(one)).toBe('54px minmax(0, 1fr)');
  });

  it('reads an older or hand-edited value without breaking', () => {
    // Widths only (as stored before order and hidden existed).
    expect(loadLayout(memoryStorage('{"len":70}'))).toEqual({ ...DEFAULT_LAYOUT, widths: { ...DEFAULT_WIDTHS, len: 70 } });
    expect(loadLayout(memoryStorage('not json'))).toEqual(DEFAULT_LAYOUT);
    // Unknown and repeated ids dropped, missing ones put back where they belong, all hidden ignored.
    const l = loadLayout(memoryStorage(JSON.stringify({ order: ['preview', 'bogus', 'seq', 'seq'], hidden: [...DEFAULT_LAYOUT.order, 'x'] })));
    expect(l.order).toHaveLength(11);
    expect(l.order[0]).toBe('preview');
    expect(l.order).toEqual(['preview', 'seq', 'time', 'dir', 'op', 'fin', 'rsv', 'mask', 'len', 'msg', 'dec']);
    expect(new Set(l.order)).toEqual(new Set(DEFAULT_LAYOUT.order));
    expect(l.hidden).toEqual([]);
  });
});

describe('copy formats', () => {
  const bytes = Uint8Array.of(0x68, 0x00, 0xff, 0x27);
  it('writes each format', () => {
    expect(formatPayload(bytes, 'hex')).toBe('68 00 ff 27');
    expect(formatPayload(bytes, 'base64')).toBe('aAD/Jw==');
    expect(formatPayload(bytes, 'c')).toBe('{0x68, 0x00, 0xff, 0x27}');
    expect(formatPayload(bytes, 'js')).toBe('new Uint8Array([0x68, 0x00, 0xff, 0x27])');
    expect(formatPayload(bytes, 'python')).toBe("b'\\x68\\x00\\xff\\x27'");
    expect(formatPayload(new TextEncoder().encode('héllo'), 'text')).toBe('héllo');
    expect(formatPayload(new Uint8Array(0), 'c')).toBe('{}');
  });

  it('a row in one line, its text on one line', () => {
    const row: FrameSummary = {
      seq: 3, time: 1_000_001.5, from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, masked: false, maskKey: null,
      length: 9, header: '8109', preview: 'two\nlines', previewText: true, note: 'look\nhere',
    };
    expect(rowLine(row, 1_000_000, 'relative')).toBe('#3 +0.001500 ↓ server text 9 B · two lines · note: look here');
  });
});
