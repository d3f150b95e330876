// The pure side of the contracts page: deadlines, alert stages and states in words, money in
// minor units, and the usage trend. No DOM, no Tauri.
import type { AlertState, ContractStatus } from "./bindings";
import type { Tone } from "./vocabulary";

export const ALERT_STATE_LABELS: Readonly<Record<AlertState, string>> = {
  open: "Open",
  snoozed: "Snoozed",
  acknowledged: "Acknowledged",
  superseded: "Superseded",
  passed: "Passed",
  stopped: "Stopped",
};

export const ALERT_STATE_TONES: Readonly<Record<AlertState, Tone>> = {
  open: "amber",
  snoozed: "blue",
  acknowledged: "green",
  superseded: "grey",
  passed: "grey",
  stopped: "grey",
};

export const CONTRACT_STATUS_LABELS: Readonly<Record<ContractStatus, string>> = {
  active: "Active",
  renewed: "Renewed",
  terminated: "Terminated",
};

/** The windows the page offers for "expiring within". */
export const EXPIRY_WINDOWS = [30, 90, 180, 365] as const;

/** "in 12 days", "today", "tomorrow", "3 days ago". */
export function daysFromNow(days: number): string {
  if (days === 0) return "today";
  if (days === 1) return "tomorrow";
  if (days === -1) return "yesterday";
  return days > 0 ? `in ${days} days` : `${-days} days ago`;
}

/** The stage of an alert: "90-day notice alert". */
export function stageLabel(stageDays: number): string {
  return `${stageDays}-day notice alert`;
}

/** The tone of a deadline: red when it has passed or is a week away, amber within 30 days. */
export function deadlineTone(daysToDeadline: number): Tone {
  if (daysToDeadline <= 7) return "red";
  if (daysToDeadline <= 30) return "amber";
  return "grey";
}

/** Money kept in minor units, shown in its currency's own digits ("1,250.00 EUR", "500 JPY"). */
export function minorLabel(minor: number, currency: string | null): string {
  let digits = 2;
  if (currency) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
  }
  const amount = minor / 10 ** digits;
  const text = amount.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return currency ? `${text} ${currency}` : text;
}

/** The change of a usage trend over the term: "+12.5 %", "−3 %", "no earlier month to compare". */
export function changeLabel(percent: number | null): string {
  if (percent === null || !Number.isFinite(percent)) return "no earlier month to compare";
  const rounded = Math.round(percent * 10) / 10;
  if (rounded === 0) return "unchanged";
  return `${rounded > 0 ? "+" : "−"}${Math.abs(rounded)} %`;
}

/** Whether `text` is a real calendar date written YYYY-MM-DD. */
export function isIsoDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
