// @vitest-environment happy-dom
// The first draw of a connection's pane is split over tasks (renderer/src/components/later.tsx):
// what waits comes one piece a task, in order (the list's first rows before the rest), and a
// piece drawn once in the page is drawn at once the next time.
import { createElement as h, type ReactElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { Later, later, useLater } from '../../renderer/src/components/later';

let root: Root | null = null;
let container: HTMLElement;

afterEach(() => {
  root?.unmount();
  root = null;
  container?.remove();
});

function mount(el: ReactElement): void {
  container = document.createElement('div');
  document.body.append(container);
  root = createRoot(container);
  flushSync(() => root!.render(el));
}

const piece = (name: string) => h('i', { 'data-piece': name }, name);
const shown = () => [...container.querySelectorAll('[data-piece]')].map((e) => e.getAttribute('data-piece')!).sort();

/** A Later holding one piece. */
const waiting = (id: string, name: string) => h(Later, { id, key: id, children: piece(name) });

function Rows({ id }: { id: string }) {
  return useLater(id, true) ? piece('rows') : null;
}

/** Every state of the DOM seen at the end of a task, until `last` is shown. */
function statesUntil(last: string): Promise<string[][]> {
  const states: string[][] = [shown()];
  return new Promise((resolve) => {
    const mo = new MutationObserver(() => {
      const now = shown();
      if (now.join() !== states.at(-1)!.join()) states.push(now);
      if (now.includes(last)) {
        mo.disconnect();
        resolve(states);
      }
    });
    mo.observe(container, { childList: true, subtree: true });
  });
}

describe('Later', () => {
  it('draws what waits one piece a task, the first rows first, and at once once drawn', async () => {
    const tree = (suffix: string) =>
      h('div', null, waiting(`timeline${suffix}`, 'timeline'), h(Rows, { id: `rows${suffix}` }), waiting(`composer${suffix}`, 'composer'), h('b', null, 'pane'));
    mount(tree(''));
    expect(shown()).toEqual([]);
    expect(container.textContent).toBe('pane');
    const states = await statesUntil('composer');
    // one more piece each time the page was looked at after a task: never two in one task
    expect(states).toEqual([[], ['rows'], ['rows', 'timeline'], ['composer', 'rows', 'timeline']]);

    // Mounted again (another connection, the pane made anew): drawn in the first draw.
    root!.unmount();
    container.remove();
    mount(tree(''));
    expect(shown()).toEqual(['composer', 'rows', 'timeline']);
  });

  it('a piece unmounted before its turn is skipped; a job runs in its own task after those before it', async () => {
    const ran: string[] = [];
    mount(h('div', null, waiting('gone', 'gone'), waiting('kept', 'kept')));
    // the first piece's holder goes before its turn: the next one still comes
    flushSync(() => root!.render(h('div', null, waiting('kept', 'kept'))));
    const cancelled = later(() => ran.push('cancelled'));
    const done = new Promise<void>((resolve) => later(() => (ran.push('job'), resolve())));
    cancelled();
    await statesUntil('kept');
    await done;
    expect(shown()).toEqual(['kept']);
    expect(ran).toEqual(['job']);
  });
});
