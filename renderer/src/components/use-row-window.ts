// The frame list's virtual window: follows the scroller's position and size, and gives the
// rows to draw (see views/row-window.ts for why this is not a measuring virtualizer).
import { useCallback, useEffect, useState, type RefObject } from 'react';
import { rowWindow, scrollTopFor, type RowWindow } from '../views/row-window';

export interface RowWindowHandle extends RowWindow {
  scrollToIndex(index: number, align: 'start' | 'end' | 'auto' | 'center'): void;
}

/**
 * @param pinnedToEnd draw the last rows whatever the scroll position says (following the
 *   tail: the caller scrolls the element to the end in a layout effect, and the rows are
 *   already the right ones in that same paint)
 */
export function useRowWindow(
  ref: RefObject<HTMLElement | null>,
  count: number,
  rowHeight: number,
  overscan = 10,
  pinnedToEnd = false,
): RowWindowHandle {
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let frame = 0;
    const onScroll = () => {
      // one state update per animation frame, however many scroll events
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setScrollTop(el.scrollTop);
      });
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    const measure = () => {
      if (el.clientHeight > 0) setViewport(el.clientHeight);
    };
    measure();
    const ro = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(measure);
    ro?.observe(el);
    return () => {
      el.removeEventListener('scroll', onScroll);
      if (frame) cancelAnimationFrame(frame);
      ro?.disconnect();
    };
  }, [ref]);
  const win = rowWindow({ count, rowHeight, viewport, scrollTop: pinnedToEnd ? Number.MAX_SAFE_INTEGER : scrollTop, overscan });
  const scrollToIndex = useCallback(
    (index: number, align: 'start' | 'end' | 'auto' | 'center') => {
      const el = ref.current;
      if (!el) return;
      const top = scrollTopFor(index, align, { count, rowHeight, viewport, scrollTop: el.scrollTop });
      if (top === null) return;
      el.scrollTop = top;
      setScrollTop(el.scrollTop || top);
    },
    [ref, count, rowHeight, viewport],
  );
  return { ...win, scrollToIndex };
}
