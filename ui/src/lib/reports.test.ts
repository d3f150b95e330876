import { describe, expect, test } from "vitest";
import { exportProgressLabel, lastDays, periodChange, plainValue } from "./reports";

describe("the reports page's words and numbers", () => {
  test("the default range is the last whole days in UTC, across a month end and a leap day", () => {
    expect(lastDays(30, new Date("2026-11-26T23:30:00Z"))).toEqual({ from: "2026-10-28", to: "2026-11-26" });
    expect(lastDays(2, new Date("2028-03-01T00:10:00Z"))).toEqual({ from: "2028-02-29", to: "2028-03-01" });
    expect(lastDays(1, new Date("2026-01-01T12:00:00Z"))).toEqual({ from: "2026-01-01", to: "2026-01-01" });
  });

  test("values are plain numbers", () => {
    expect(plainValue(1234567)).toBe("1,234,567");
    expect(plainValue(12.345)).toBe("12.35");
    expect(plainValue(0)).toBe("0");
  });

  test("the change against the previous period says new, unchanged or a signed percent", () => {
    expect(periodChange(10, 0, null)).toBe("new");
    expect(periodChange(0, 0, null)).toBe("unchanged");
    expect(periodChange(112.5, 100, 12.5)).toBe("+12.5 %");
    expect(periodChange(97, 100, -3)).toBe("−3 %");
    expect(exportProgressLabel(65536)).toBe("Writing… 65,536 rows so far");
  });
});
