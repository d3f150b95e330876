// The capability matrix's logic: the columns (every capability in use), the page of rows
// shown, and the mark of each cell. The rows come from list_partners with the catalogue's
// filter (kind, tier), so thousands of partners are cut into pages here.
import type { Partner } from "./types";

/** Rows per page. */
export const MATRIX_PAGE_SIZE = 100;

/** The columns: every capability the partners listed have, sorted, without repeats. */
export function capabilityColumns(partners: readonly Pick<Partner, "capabilities">[]): string[] {
  const all = new Set<string>();
  for (const p of partners) for (const c of p.capabilities) all.add(c);
  return [...all].sort((a, b) => a.localeCompare(b));
}

/** How many pages `total` rows take (at least one, for the empty page). */
export function pageCount(total: number, size = MATRIX_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(total / size));
}

/** The rows of page `page` (from 0; clamped to the pages there are). */
export function pageRows<T>(rows: readonly T[], page: number, size = MATRIX_PAGE_SIZE): T[] {
  const last = pageCount(rows.length, size) - 1;
  const at = Math.min(Math.max(0, Math.floor(page)), last);
  return rows.slice(at * size, at * size + size);
}

/** "Rows 101–200 of 2,500"; "No partner" when there are none. */
export function rangeLabel(total: number, page: number, size = MATRIX_PAGE_SIZE): string {
  if (total === 0) return "No partner";
  const at = Math.min(Math.max(0, page), pageCount(total, size) - 1);
  const from = at * size + 1;
  const to = Math.min(total, from + size - 1);
  return `Rows ${from.toLocaleString("en-US")}–${to.toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`;
}
