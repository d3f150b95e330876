// Timing marks for the catalogue benchmark, kept as data attributes on <html> where WebDriver
// can read them (tests/e2e/bench-catalogue.mjs): when the catalogue was first painted, and how
// long the latest filter took until its rows were in the page and until they were painted.

/** Resolves with `performance.now()` once the next frame has been painted. */
export function afterNextPaint(): Promise<number> {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0));
  });
}

/** Records `ms` (rounded to 0.1) under data-<name>; the first paint is recorded only once. */
export function markPaint(
  name: "cataloguePaintMs" | "processPaintMs" | "catalogueFilterMs" | "catalogueFilterPaintMs",
  ms: number,
): void {
  const data = document.documentElement.dataset;
  if ((name === "cataloguePaintMs" || name === "processPaintMs") && data[name] !== undefined) return;
  data[name] = ms.toFixed(1);
  // Counted once the filter is painted, so a reader that sees the count go up has both marks.
  if (name === "catalogueFilterPaintMs") {
    data.catalogueFilterCount = String(Number(data.catalogueFilterCount ?? "0") + 1);
  }
}
