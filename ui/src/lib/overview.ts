// The Overview page's logic: the health bar's segments, "since" in words, and the SLA and
// deadline words. Plain functions, so the tests check them without a backend.
import type { HealthState } from "./types";
import { HEALTH_STATE_LABELS } from "./vocabulary";
import { durationLabel } from "./health";

/** How many partners are in one state (as the overview command sends it). */
export interface StateCount {
  state: HealthState;
  count: number;
}

/** One segment of the health bar. */
export interface BarSegment {
  state: HealthState;
  count: number;
  /** Its share of the bar, in percent (the segments add up to 100 when any partner exists). */
  percent: number;
  /** "Healthy: 12 (60 %)". */
  label: string;
}

/** The order of the bar: the worst first, so trouble is at the left edge. */
export const BAR_ORDER: readonly HealthState[] = ["unhealthy", "degraded", "healthy", "maintenance", "paused", "unknown"];

/** The bar's segments, worst state first, leaving out states nobody is in. */
export function barSegments(counts: readonly StateCount[]): BarSegment[] {
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  if (total === 0) return [];
  return BAR_ORDER.flatMap((state) => {
    const count = counts.find((c) => c.state === state)?.count ?? 0;
    if (count === 0) return [];
    const percent = (count / total) * 100;
    return [{ state, count, percent, label: `${HEALTH_STATE_LABELS[state]}: ${count} (${shareLabel(percent)})` }];
  });
}

/** A share as "60 %", "0.5 %" or "< 0.1 %": never 0 for a state somebody is in. */
export function shareLabel(percent: number): string {
  if (percent >= 10) return `${Math.round(percent)} %`;
  if (percent >= 0.1) return `${Math.round(percent * 10) / 10} %`;
  return "< 0.1 %";
}

/** "for 2 h 5 min" from an RFC 3339 `since` to `now`; "" when unknown. */
export function sinceLabel(since: string | null, now: string): string {
  if (since === null) return "";
  const from = Date.parse(since);
  const to = Date.parse(now);
  if (Number.isNaN(from) || Number.isNaN(to)) return "";
  return `for ${durationLabel((to - from) / 1000)}`;
}

/** The error budget left, "12 min left" or "5 min over budget". */
export function budgetWords(budgetLeftSeconds: number): string {
  return budgetLeftSeconds < 0
    ? `${durationLabel(-budgetLeftSeconds)} over budget`
    : `${durationLabel(budgetLeftSeconds)} of budget left`;
}

/** "and 12 more" below a list cut at `shown` of `total`; "" when nothing was cut. */
export function moreLabel(shown: number, total: number): string {
  return total > shown ? `and ${total - shown} more` : "";
}
