import { describe, expect, test } from "vitest";
import { changeLabel, daysFromNow, deadlineTone, isIsoDate, minorLabel, stageLabel } from "./contracts";

describe("contract deadlines and alerts in words", () => {
  test("days from now read as people say them", () => {
    expect(daysFromNow(0)).toBe("today");
    expect(daysFromNow(1)).toBe("tomorrow");
    expect(daysFromNow(-1)).toBe("yesterday");
    expect(daysFromNow(12)).toBe("in 12 days");
    expect(daysFromNow(-3)).toBe("3 days ago");
    expect(stageLabel(90)).toBe("90-day notice alert");
  });

  test("a deadline turns amber within a month and red within a week or once passed", () => {
    expect(deadlineTone(120)).toBe("grey");
    expect(deadlineTone(30)).toBe("amber");
    expect(deadlineTone(7)).toBe("red");
    expect(deadlineTone(-2)).toBe("red");
  });

  test("money in minor units uses its currency's digits", () => {
    expect(minorLabel(125000, "EUR")).toBe("1,250.00 EUR");
    expect(minorLabel(500, "JPY")).toBe("500 JPY");
    expect(minorLabel(0, null)).toBe("0.00");
  });

  test("a usage change has a sign, and none without an earlier month", () => {
    expect(changeLabel(12.54)).toBe("+12.5 %");
    expect(changeLabel(-3)).toBe("−3 %");
    expect(changeLabel(0.01)).toBe("unchanged");
    expect(changeLabel(null)).toBe("no earlier month to compare");
  });

  test("only real calendar dates pass", () => {
    expect(isIsoDate("2028-02-29")).toBe(true);
    expect(isIsoDate("2027-02-29")).toBe(false);
    expect(isIsoDate("2026-13-01")).toBe(false);
    expect(isIsoDate("26-11-01")).toBe(false);
  });
});
