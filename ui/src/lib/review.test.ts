import { describe, expect, it } from "vitest";
import {
  durationLabel,
  exportedLabel,
  keyFigures,
  lastCompleteQuarter,
  previousQuarter,
  quarterChoices,
  quarterOf,
  uptimeLabel,
} from "./review";
import type { QuarterlyReview } from "./types";

describe("quarters", () => {
  it("names the quarter of a UTC date", () => {
    expect(quarterOf(new Date("2026-01-01T00:00:00Z"))).toBe("2026-Q1");
    expect(quarterOf(new Date("2026-09-30T23:59:59Z"))).toBe("2026-Q3");
    expect(quarterOf(new Date("2026-10-01T00:00:00Z"))).toBe("2026-Q4");
  });

  it("defaults to the last complete quarter, across a year", () => {
    expect(lastCompleteQuarter(new Date("2026-11-26T12:00:00Z"))).toBe("2026-Q3");
    expect(lastCompleteQuarter(new Date("2027-02-01T00:00:00Z"))).toBe("2026-Q4");
  });

  it("steps back and refuses text that is no quarter", () => {
    expect(previousQuarter("2026-Q1")).toBe("2025-Q4");
    expect(previousQuarter("2026-Q3")).toBe("2026-Q2");
    expect(previousQuarter("2026-Q5")).toBeNull();
    expect(previousQuarter("26-Q1")).toBeNull();
  });

  it("offers the running quarter and the ones before it, newest first", () => {
    expect(quarterChoices(new Date("2026-02-10T00:00:00Z"), 4)).toEqual([
      "2026-Q1",
      "2025-Q4",
      "2025-Q3",
      "2025-Q2",
    ]);
  });
});

describe("figures in words", () => {
  it("writes durations and uptimes plainly", () => {
    expect(durationLabel(42)).toBe("42 s");
    expect(durationLabel(3_600)).toBe("1 h 0 min");
    expect(durationLabel(300)).toBe("5 min");
    expect(durationLabel(9 * 86_400 + 3 * 3_600)).toBe("9 d 3 h");
    expect(durationLabel(null)).toBe("—");
    expect(uptimeLabel(99.86559139784946)).toBe("99.866 %");
    expect(uptimeLabel(null)).toBe("no data");
  });

  const base: QuarterlyReview = {
    partner: "Acme",
    kind: "mlflow",
    tier: "strategic",
    owner: null,
    quarter: "2026-Q3",
    time_zone: "UTC",
    start: "2026-07-01T00:00:00Z",
    end: "2026-10-01T00:00:00Z",
    generated_at: "2026-10-05T00:00:00Z",
    complete: true,
    notes: [],
    contract: null,
    sla: null,
    months: [],
    incidents: [],
    open_incidents: 0,
    mttr_seconds: null,
    unhealthy_seconds: 0,
    usage: [],
  };

  it("says there is no SLA rather than inventing figures", () => {
    expect(keyFigures(base)).toEqual([
      { label: "SLA", value: "none" },
      { label: "Incidents", value: "0" },
      { label: "MTTR", value: "none resolved" },
    ]);
  });

  it("shows uptime, target, months met, credit, incidents and MTTR with an SLA", () => {
    const review: QuarterlyReview = {
      ...base,
      sla: {
        target_percent: 99.9,
        window: "calendar_month",
        rules: [],
        attained_percent: 99.95,
        months_met: 2,
        months_missed: 1,
        credits: [],
        credit_owed_minor: 100_000,
        credit_owed: "1000.00 EUR",
        currency: "EUR",
      },
      incidents: [
        { start: "2026-08-01T00:00:00Z", end: "2026-08-01T01:00:00Z", state: "resolved", duration_seconds: 3_600, reason: "x" },
        { start: "2026-09-01T00:00:00Z", end: null, state: "open", duration_seconds: 60, reason: "y" },
      ],
      open_incidents: 1,
      mttr_seconds: 3_600,
    };
    expect(keyFigures(review)).toEqual([
      { label: "Uptime", value: "99.950 %" },
      { label: "Target", value: "99.9 %" },
      { label: "Months met", value: "2 of 3" },
      { label: "Credit owed", value: "1000.00 EUR" },
      { label: "Incidents", value: "2 (1 open)" },
      { label: "MTTR", value: "1 h 0 min" },
    ]);
    expect(exportedLabel({ csv_path: "/tmp/a.csv", html_path: "/tmp/a.html" })).toBe(
      "Saved /tmp/a.csv and /tmp/a.html",
    );
  });
});
