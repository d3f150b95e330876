import { describe, expect, it } from "vitest";
import type { SettingView } from "./types";
import { defaultLabel, effectiveValue, flagValue, inputHint, settingId } from "./settings";

const interval: SettingView = {
  key: "health.default_interval_secs",
  meaning: "seconds between health checks of a new partner",
  input: { type: "number", min: 5, max: 86400 },
  value: null,
  default: "60",
};

describe("settings", () => {
  it("shows the stored value, else the default", () => {
    expect(effectiveValue(interval)).toBe("60");
    expect(effectiveValue({ ...interval, value: "30" })).toBe("30");
    expect(effectiveValue({ ...interval, default: null })).toBe("");
    expect(defaultLabel(interval)).toBe("Default: 60");
    expect(defaultLabel({ ...interval, default: null })).toBe("");
  });

  it("explains each kind of input", () => {
    expect(inputHint(interval)).toBe("A whole number from 5 to 86400");
    expect(inputHint({ ...interval, input: { type: "daily_period" } })).toMatch(/HH:MM-HH:MM/);
    expect(inputHint({ ...interval, input: { type: "alert_stages" } })).toMatch(/120,90,60,30,7/);
  });

  it("makes ids from keys and flags from switches", () => {
    expect(settingId("health.default_interval_secs")).toBe("setting-health-default_interval_secs");
    expect(flagValue(true)).toBe("1");
    expect(flagValue(false)).toBe("0");
  });
});
