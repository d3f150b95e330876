// The pure side of the reports page: the default range, the change against the previous
// period in words, and plain numbers. No DOM, no Tauri.

import type { ChartView, ReportView } from "./types";

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

/** The partner select's value for "every partner". */
export const ALL_PARTNERS = "";

/** The page's controls, as the form holds them. */
export interface ReportControls {
  from: string;
  to: string;
  /** A partner's name, or {@link ALL_PARTNERS}. */
  partner: string;
  groupBy: "partner" | "tier" | "metric";
  bucket: "day" | "week" | "month";
}

/** The query the page asks for: one partner when one is picked (surrounding spaces ignored). */
export function buildQuery(controls: ReportControls): {
  from: string;
  to: string;
  partner: string | null;
  group_by: ReportControls["groupBy"];
  bucket: ReportControls["bucket"];
} {
  const partner = controls.partner.trim();
  return {
    from: controls.from,
    to: controls.to,
    partner: partner === ALL_PARTNERS ? null : partner,
    group_by: controls.groupBy,
    bucket: controls.bucket,
  };
}

/** The formats "Save chart" offers. */
export const CHART_FORMATS = ["svg", "png"] as const;
export type ChartFormat = (typeof CHART_FORMATS)[number];

/** The chart's text alternative: what it plots, and for whom. */
export function chartAlt(metric: string | null, bucket: string, groupBy: string, partner: string | null): string {
  const what = `${metric ?? "usage"} per ${bucket}`;
  return partner ? `${what} for ${partner}` : `${what}, one line per ${groupBy} (the largest first)`;
}

/**
 * The page's requests in order: each "Show" takes a ticket, and an answer is shown only while
 * its ticket is the latest, so a slow answer to an older query never replaces a newer one.
 */
export class LatestRequest {
  private last = 0;

  /** A ticket for a new request; every earlier ticket stops being current. */
  next(): number {
    this.last += 1;
    return this.last;
  }

  isCurrent(ticket: number): boolean {
    return ticket === this.last;
  }
}

/** The chart part of a whole report: what the chart card shows once the totals are in. */
export function chartOfReport(view: ReportView): ChartView {
  return { period: view.report.period, chart_metric: view.chart_metric, chart_svg: view.chart_svg };
}
