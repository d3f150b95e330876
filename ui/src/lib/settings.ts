// The Settings page's logic: what each setting's input shows and what it sends back.
import type { SettingView } from "./types";

/** The value in force: the stored one, else the default ("" when neither is known). */
export function effectiveValue(s: SettingView): string {
  return s.value ?? s.default ?? "";
}

/** "Default: 60" or "Default: off"; "" when the default is unknown. */
export function defaultLabel(s: SettingView): string {
  return s.default === null ? "" : `Default: ${s.default}`;
}

/** The text an input kind expects, as a hint under it. */
export function inputHint(s: SettingView): string {
  switch (s.input.type) {
    case "number":
      return `A whole number from ${s.input.min} to ${s.input.max}`;
    case "flag":
      return "On or off";
    case "daily_period":
      return "HH:MM-HH:MM (wraps past midnight), or off";
    case "time_zone":
      return "An IANA time zone, such as Europe/Berlin";
    case "alert_stages":
      return "Days before the notice deadline, most distant first, such as 120,90,60,30,7";
  }
}

/** The setting's key as an element id: "setting-health-default_interval_secs". */
export function settingId(key: string): string {
  return `setting-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** A flag's stored text for a switch position. */
export function flagValue(on: boolean): string {
  return on ? "1" : "0";
}
