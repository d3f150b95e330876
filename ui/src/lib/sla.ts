// The pure side of the SLA card: the status in words and tones, percents, the error budget bar
// and the credit. No DOM, no Tauri.
//
// The status comes from core (ecosystem_core::sla::SlaHealth): breached when attainment is
// below the target, at risk when it is met but less than a quarter of the error budget (to
// date) is left, no data while nothing is counted.
import type { SlaHealth } from "./bindings";
import { durationLabel } from "./health";
import { timestampLabel } from "./format";
import type { Tone } from "./vocabulary";

import type { SlaStatus } from "./types";

export type { SlaHealth, SlaStatus };

/** The share of the error budget below which a met SLA is at risk (as core decides it). */
export const AT_RISK_BUDGET_LEFT_PERCENT = 25;

export const SLA_HEALTH_LABELS: Readonly<Record<SlaHealth, string>> = {
  no_data: "No data",
  met: "Met",
  at_risk: "At risk",
  breached: "Breached",
};

export const SLA_HEALTH_TONES: Readonly<Record<SlaHealth, Tone>> = {
  no_data: "grey",
  met: "green",
  at_risk: "amber",
  breached: "red",
};

/** What the card says when there is nothing to measure. */
export function emptyMessage(hasContract: boolean): string {
  return hasContract ? "No SLA on this partner's contract" : "No contract";
}

/** A target as it was promised: "99.9 %", "99.95 %", "100 %" (a percent is never NaN in
 *  practice, but the wire type allows null). */
export function targetLabel(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "—";
  return `${Number(value.toFixed(4))} %`;
}

/**
 * An attained percent to three decimals, rounded down so a miss never reads as the target:
 * "99.885 %", "100 %", or "—" while nothing is counted.
 */
export function attainedLabel(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value >= 100) return "100 %";
  // The small epsilon keeps 99.9 (stored as 99.89999…) from reading 99.899.
  const floored = Math.floor(Math.max(0, value) * 1000 + 1e-6) / 1000;
  return `${floored.toFixed(3).replace(/\.?0+$/, "")} %`;
}

/** One sentence beside the status word, so the status never rests on colour alone. */
export function statusSentence(s: SlaStatus): string {
  const target = targetLabel(s.target_percent);
  switch (s.health) {
    case "no_data":
      return "nothing counted yet in this window";
    case "met":
      return `on target (${target})`;
    case "at_risk":
      return `on target (${target}), but less than ${AT_RISK_BUDGET_LEFT_PERCENT} % of the error budget is left`;
    case "breached":
      return `below the ${target} target`;
  }
}

/** "November 2026 to date (UTC)", or without "to date" once the window is over. */
export function windowLabel(s: SlaStatus): string {
  const complete = Date.parse(s.measured_until) >= Date.parse(s.window_end);
  return `${s.window_label}${complete ? "" : " to date"} (${s.time_zone})`;
}

/** "2026-11-01 00:00 UTC to 2026-12-01 00:00 UTC, measured until 2026-11-26 12:00 UTC". */
export function boundsLabel(s: SlaStatus): string {
  return (
    `${timestampLabel(s.window_start)} to ${timestampLabel(s.window_end)}, ` +
    `measured until ${timestampLabel(s.measured_until)}`
  );
}

/** "1 breach", "3 breaches", "no breaches". */
export function breachesLabel(count: number): string {
  if (count === 0) return "no breaches";
  return `${count} breach${count === 1 ? "" : "es"}`;
}

/** The error budget bar: shares of the bar (0 to 1) and what it says in words. */
export interface BudgetModel {
  /** The used part of the bar, 0 to 1 (1 when overspent or when there is no budget to use). */
  used: number;
  /** The part left, 1 - used. */
  left: number;
  overspent: boolean;
  /** "31 min", "5 min", "36 min". */
  usedLabel: string;
  leftLabel: string;
  totalLabel: string;
  /** The bar in words, for its aria-label and the line under it. */
  summary: string;
}

export function budgetModel(s: SlaStatus): BudgetModel {
  const total = Math.max(0, s.budget_seconds);
  const usedSecs = Math.max(0, s.budget_used_seconds);
  const overspent = s.budget_left_seconds < 0;
  const used = total > 0 ? Math.min(1, usedSecs / total) : usedSecs > 0 ? 1 : 0;
  const usedLabel = durationLabel(usedSecs);
  const totalLabel = durationLabel(total);
  const leftLabel = durationLabel(Math.abs(s.budget_left_seconds));
  let summary: string;
  if (s.counted_seconds === 0) {
    summary = "No error budget yet: nothing counted in this window";
  } else if (overspent) {
    summary = `Overspent by ${leftLabel}: ${usedLabel} down against a budget of ${totalLabel}`;
  } else if (total === 0) {
    summary = "No down time allowed, none used";
  } else {
    summary = `${usedLabel} used of ${totalLabel} (${Math.round(used * 100)} %), ${leftLabel} left`;
  }
  return { used, left: 1 - used, overspent, usedLabel, leftLabel, totalLabel, summary };
}

/** The budget left for its tile: "5 min", "−2 s" when overspent. */
export function budgetLeftLabel(s: SlaStatus): string {
  const text = durationLabel(Math.abs(s.budget_left_seconds));
  return s.budget_left_seconds < 0 ? `−${text}` : text;
}

/** The credit owed so far, "1000.00 EUR", and how it came about. */
export function creditDetail(s: SlaStatus): string {
  if (s.credit_percent === null || s.credit_percent === 0) return "no credit tier applies";
  return `${targetLabel(s.credit_percent)} of the ${s.window_fee} window fee`;
}
