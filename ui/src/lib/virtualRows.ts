// The arithmetic of the catalogue's virtualised table: which rows are in the DOM for a scroll
// position, where to scroll so a row is seen, and where the arrow keys lead. Rows have one
// fixed height, so all of it is exact and needs no measuring of rows.

/** The rows to render: `start` included, `end` excluded. */
export type RowWindow = { start: number; end: number };

/**
 * The rows visible in a viewport of `viewport` pixels scrolled to `scrollTop` (measured from
 * the first row), with `overscan` rows either side so quick scrolling shows no gap.
 */
export function visibleWindow(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 8,
): RowWindow {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.min(count - 1, Math.floor(top / rowHeight));
  const last = Math.min(count - 1, Math.floor((top + Math.max(0, viewport) - 1) / rowHeight));
  return {
    start: Math.max(0, first - overscan),
    end: Math.min(count, Math.max(first, last) + 1 + overscan),
  };
}

/** The height of the empty space standing in for the rows above and below the window. */
export function spacers(window: RowWindow, rowHeight: number, count: number): { before: number; after: number } {
  return {
    before: window.start * rowHeight,
    after: Math.max(0, count - window.end) * rowHeight,
  };
}

/**
 * The scroll position (from the first row) that shows row `index` whole in a viewport of
 * `viewport` pixels, moving as little as possible: unchanged when it is already in view.
 */
export function scrollToReveal(index: number, scrollTop: number, viewport: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewport) return Math.max(0, bottom - viewport);
  return scrollTop;
}

/** How many whole rows a viewport shows (at least one), for Page Up and Page Down. */
export function rowsPerPage(viewport: number, rowHeight: number): number {
  return rowHeight > 0 ? Math.max(1, Math.floor(viewport / rowHeight)) : 1;
}

/**
 * The row a key moves the focus to from row `current` of `count`, or null when the key is not
 * a navigation key (or there are no rows). Arrows move one row, Page keys one page, Home and
 * End to the first and last row; the ends do not wrap.
 */
export function navigate(key: string, current: number, count: number, page: number): number | null {
  if (count <= 0) return null;
  const clamp = (i: number) => Math.min(count - 1, Math.max(0, i));
  switch (key) {
    case "ArrowDown":
      return clamp(current + 1);
    case "ArrowUp":
      return clamp(current - 1);
    case "PageDown":
      return clamp(current + Math.max(1, page));
    case "PageUp":
      return clamp(current - Math.max(1, page));
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}
