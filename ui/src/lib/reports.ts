// The pure side of the reports page: the default range, the change against the previous
// period in words, and plain numbers. No DOM, no Tauri.

/** YYYY-MM-DD of `date` in UTC (the report's days are UTC days). */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` whole days up to today, as the page first shows them. */
export function lastDays(days: number, now: Date = new Date()): { from: string; to: string } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  return { from: isoDay(from), to: isoDay(to) };
}

/** A value as a plain number: no exponent, at most two decimals, thousands grouped. */
export function plainValue(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "—";
  const digits = Number.isInteger(value) ? 0 : 2;
  return value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The change against the previous period: "+12.5 %", "−3 %", "new" (nothing before), "unchanged". */
export function periodChange(value: number | null, previous: number | null, percent: number | null): string {
  if (value === null || previous === null) return "—";
  if (previous === 0) return value === 0 ? "unchanged" : "new";
  if (percent === null || !Number.isFinite(percent)) return "—";
  const rounded = Math.round(percent * 10) / 10;
  if (rounded === 0) return "unchanged";
  return `${rounded > 0 ? "+" : "−"}${Math.abs(rounded)} %`;
}

/** The progress line of a running export. */
export function exportProgressLabel(rows: number): string {
  return `Writing… ${plainValue(rows)} rows so far`;
}
