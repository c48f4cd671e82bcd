// Which rows of a fixed-height list are in view, for any number of rows. Pure arithmetic,
// O(1) per update whatever the count: a live list of a million frames grows every
// animation frame, and a virtualizer that measures every row per change (as
// @tanstack/react-virtual's does, about 190 ms per change at a million rows) cannot follow.
//
// Browsers cap an element's height (Chromium about 33.5 million px, Firefox about 17.9
// million): past MAX_SCROLL_PX the scroll range is scaled, so the scrollbar spans every row
// while rows keep their real height on screen.

/** The tallest spacer drawn; taller lists are scaled into it. */
export const MAX_SCROLL_PX = 8_000_000;

export interface RowWindowInput {
  count: number;
  rowHeight: number;
  /** the scroller's visible height */
  viewport: number;
  /** the scroller's scrollTop */
  scrollTop: number;
  /** extra rows drawn above and below */
  overscan: number;
}

export interface RowWindow {
  /** height of the spacer element */
  totalHeight: number;
  /** first and last index drawn (last < first when there are no rows) */
  first: number;
  last: number;
  /** px from the spacer's top where row `index` is drawn */
  top(index: number): number;
  /** first and last index actually visible (without overscan) */
  visibleFirst: number;
  visibleLast: number;
}

/** Virtual scroll range per physical px (1 unless scaled). */
function ratioOf(count: number, rowHeight: number, viewport: number): { total: number; ratio: number } {
  const real = count * rowHeight;
  if (real <= MAX_SCROLL_PX) return { total: real, ratio: 1 };
  const span = Math.max(1, MAX_SCROLL_PX - viewport);
  return { total: MAX_SCROLL_PX, ratio: Math.max(1, real - viewport) / span };
}

export function rowWindow(i: RowWindowInput): RowWindow {
  const { count, rowHeight: h, overscan } = i;
  const viewport = Math.max(0, i.viewport);
  const { total, ratio } = ratioOf(count, h, viewport);
  const maxTop = Math.max(0, total - viewport);
  const scrollTop = Math.min(Math.max(0, i.scrollTop), maxTop);
  const virtualTop = scrollTop * ratio;
  const visibleFirst = Math.min(count - 1, Math.floor(virtualTop / h));
  const visibleLast = Math.min(count - 1, Math.ceil((virtualTop + viewport) / h) - 1);
  const first = Math.max(0, visibleFirst - overscan);
  const last = Math.min(count - 1, visibleLast + overscan);
  return {
    totalHeight: total,
    first: count === 0 ? 0 : first,
    last: count === 0 ? -1 : last,
    visibleFirst: count === 0 ? 0 : visibleFirst,
    visibleLast: count === 0 ? -1 : visibleLast,
    // unscaled: the row's own offset; scaled: where it falls relative to the viewport top
    top: ratio === 1 ? (index) => index * h : (index) => scrollTop + (index * h - virtualTop),
  };
}

/**
 * The scrollTop that brings row `index` into view: 'start' at the top, 'end' at the bottom,
 * 'auto' only as far as needed (null when it is already fully visible).
 */
export function scrollTopFor(
  index: number,
  align: 'start' | 'end' | 'auto' | 'center',
  i: Pick<RowWindowInput, 'count' | 'rowHeight' | 'viewport' | 'scrollTop'>,
): number | null {
  const { count, rowHeight: h, viewport } = i;
  const { total, ratio } = ratioOf(count, h, viewport);
  const virtualTop = i.scrollTop * ratio;
  const rowTop = index * h;
  let target: number;
  if (align === 'start') target = rowTop;
  else if (align === 'end') target = rowTop + h - viewport;
  else if (align === 'center') target = rowTop + h / 2 - viewport / 2;
  else if (rowTop < virtualTop) target = rowTop;
  else if (rowTop + h > virtualTop + viewport) target = rowTop + h - viewport;
  else return null;
  return Math.min(Math.max(0, target / ratio), Math.max(0, total - viewport));
}
