// The app's pages and the tab bar's keyboard model (a WAI-ARIA tablist with automatic
// activation: arrow keys move and open, Home and End jump to the ends).

export type Page = "overview" | "partners" | "contracts" | "reports" | "matrix" | "audit" | "settings";

/** The tabs in order, with their labels; each tab's id is `tab-<page>`. */
export const PAGES: readonly { page: Page; label: string }[] = [
  { page: "overview", label: "Overview" },
  { page: "partners", label: "Partners" },
  { page: "contracts", label: "Contracts" },
  { page: "reports", label: "Reports" },
  { page: "matrix", label: "Capabilities" },
  { page: "audit", label: "Audit log" },
  { page: "settings", label: "Settings" },
];

/** The page shown when the app starts. */
export const START_PAGE: Page = "overview";

/** The page a key press on the tab of `current` moves to, or null for any other key. */
export function pageForKey(current: Page, key: string, pages: readonly Page[] = PAGES.map((p) => p.page)): Page | null {
  const at = pages.indexOf(current);
  if (at < 0 || pages.length === 0) return null;
  switch (key) {
    case "ArrowRight":
      return pages[(at + 1) % pages.length] ?? null;
    case "ArrowLeft":
      return pages[(at - 1 + pages.length) % pages.length] ?? null;
    case "Home":
      return pages[0] ?? null;
    case "End":
      return pages[pages.length - 1] ?? null;
    default:
      return null;
  }
}
