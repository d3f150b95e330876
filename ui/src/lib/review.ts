// The pure side of the quarterly review panel: the quarters on offer, the default one (the
// last complete quarter), and the key figures in words. No DOM, no Tauri.

import type { QuarterlyReview } from "./types";

/** "2026-Q3" for the quarter holding `date` (UTC calendar). */
export function quarterOf(date: Date): string {
  return `${date.getUTCFullYear()}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
}

/** The quarter before `quarter` ("2026-Q1" → "2025-Q4"); `null` for text that is no quarter. */
export function previousQuarter(quarter: string): string | null {
  const m = /^(\d{4})-Q([1-4])$/.exec(quarter);
  if (m === null) return null;
  const year = Number(m[1]);
  const q = Number(m[2]);
  return q === 1 ? `${year - 1}-Q4` : `${year}-Q${q - 1}`;
}

/** The last quarter that has ended by `now`: the review's default. */
export function lastCompleteQuarter(now: Date = new Date()): string {
  return previousQuarter(quarterOf(now)) ?? quarterOf(now);
}

/** The quarter running now, then the `count - 1` before it, newest first. */
export function quarterChoices(now: Date = new Date(), count = 8): string[] {
  const out: string[] = [];
  let quarter: string | null = quarterOf(now);
  while (quarter !== null && out.length < count) {
    out.push(quarter);
    quarter = previousQuarter(quarter);
  }
  return out;
}

/** Seconds as "1 h 5 min", "42 s", "2 d 3 h" (as the HTML summary writes them). */
export function durationLabel(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s % 60} s`;
}

/** An uptime as "99.953 %", or "no data". */
export function uptimeLabel(percent: number | null): string {
  return percent === null || !Number.isFinite(percent) ? "no data" : `${percent.toFixed(3)} %`;
}

/** The key figures of a review, label and value, in the order the panel shows them. */
export function keyFigures(review: QuarterlyReview): { label: string; value: string }[] {
  const figures: { label: string; value: string }[] = [];
  if (review.sla === null) {
    figures.push({ label: "SLA", value: "none" });
  } else {
    figures.push({ label: "Uptime", value: uptimeLabel(review.sla.attained_percent) });
    figures.push({ label: "Target", value: `${review.sla.target_percent} %` });
    figures.push({
      label: "Months met",
      value: `${review.sla.months_met} of ${review.sla.months_met + review.sla.months_missed}`,
    });
    figures.push({ label: "Credit owed", value: review.sla.credit_owed });
  }
  const open = review.open_incidents > 0 ? ` (${review.open_incidents} open)` : "";
  figures.push({ label: "Incidents", value: `${review.incidents.length}${open}` });
  figures.push({
    label: "MTTR",
    value: review.mttr_seconds === null ? "none resolved" : durationLabel(review.mttr_seconds),
  });
  return figures;
}

/** The result line of an export. */
export function exportedLabel(paths: { csv_path: string; html_path: string }): string {
  return `Saved ${paths.csv_path} and ${paths.html_path}`;
}
