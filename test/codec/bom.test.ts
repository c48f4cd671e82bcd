// A leading byte-order mark is part of what was sent: an inspector keeps it (TextDecoder
// drops it unless told not to).
import { describe, expect, it } from 'vitest';
import { FrameParser } from '../../shared/codec/frame-parser';
import { MessageAssembler } from '../../shared/codec/messages';
import { fromHex } from '../../shared/bytes';
import { isValidUtf8 } from '../../shared/codec/utf8';
import type { AssembledMessage } from '../../shared/codec/messages';
/** A text message's text, as an application would read it: whole, valid UTF-8, BOM kept. */
const textOf = (m: AssembledMessage): string | undefined =>
  m.opcode === 1 && !m.truncated && isValidUtf8(m.data) ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(m.data) : undefined;


describe('8.1 text is UTF-8 as sent: a BOM stays', () => {
  it('in a single-frame text message', () => {
    const [f] = new FrameParser({ from: 'server', stance: 'observer' }).receive(fromHex('8105efbbbf6869'), 1);
    const m = new MessageAssembler({ from: 'server' }).push(f!);
    expect(textOf(m!)).toBe('\uFEFFhi');
  });

  it('in a fragmented text message and in a close reason', () => {
    const parser = new FrameParser({ from: 'server', stance: 'observer' });
    const assembler = new MessageAssembler({ from: 'server' });
    const frames = parser.receive(fromHex('0102efbb' + '8003bf6869' + '880503e8efbbbf'), 1);
    const m = frames.map((f) => assembler.push(f)).find((x) => x);
    expect(textOf(m!)).toBe('\uFEFFhi');
    expect(frames[2]!.close).toEqual({ code: 1000, reason: '\uFEFF' });
  });
});
