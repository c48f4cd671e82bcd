// The human view marks what Framescope wrote and what became of a held message, on the
// frame's own line, short and greppable; frames without marks keep their line as it was.
import { describe, expect, it } from 'vitest';
import { HumanView } from '../../main/cli/human';
import { intervenedFrames } from '../captures/intervened';

describe('the human view of intervened frames', () => {
  it('puts the mark at the end of the frame line', () => {
    const view = new HumanView({ color: false, hex: false });
    const lines = intervenedFrames().map((f) => view.frame(f, 'p1'));
    const tail = (seq: number) => lines[seq]!.split('\n')[0]!;
    expect(tail(2)).toMatch(/  held #1$/);
    expect(tail(4)).toMatch(/  forwarded #1$/);
    expect(tail(6)).toMatch(/  replaced #2$/);
    expect(tail(7)).toMatch(/  ⇢ framescope #2 recompressed$/);
    expect(tail(9)).toMatch(/  dropped #3$/);
    expect(tail(10)).toMatch(/  ⇢ framescope #4 injected recompressed$/);
    for (const seq of [0, 1, 3, 5, 8, 11, 12]) expect(tail(seq)).not.toMatch(/framescope|held|forwarded|replaced|dropped|injected/);
  });

  it('a frame Framescope wrote with no intervention id still says so; colours stay on the mark', () => {
    const [f] = intervenedFrames();
    const plain = new HumanView({ color: false, hex: false }).frame(f!, 'x');
    expect(new HumanView({ color: false, hex: false }).frame({ ...f!, by: 'framescope' }, 'x')).toBe(`${plain}  ⇢ framescope`);
    expect(new HumanView({ color: true, hex: false }).frame({ ...f!, intervention: { id: 9, decision: 'undelivered' } }, 'x')).toContain('\x1b[31m  undelivered #9\x1b[0m');
  });
});
