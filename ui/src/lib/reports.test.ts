import { describe, expect, test } from "vitest";
import {
  ALL_PARTNERS,
  LatestRequest,
  buildQuery,
  chartAlt,
  chartOfReport,
  exportProgressLabel,
  lastDays,
  periodChange,
  plainValue,
  type ReportControls,
} from "./reports";

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

describe("the reports page's query", () => {
  const controls: ReportControls = {
    from: "2026-03-01",
    to: "2026-03-31",
    partner: ALL_PARTNERS,
    groupBy: "partner",
    bucket: "week",
  };

  test("every partner is no partner filter, and the other controls pass through", () => {
    expect(buildQuery(controls)).toEqual({
      from: "2026-03-01",
      to: "2026-03-31",
      partner: null,
      group_by: "partner",
      bucket: "week",
    });
  });

  test("one partner picked filters to that partner by name, whatever the grouping", () => {
    expect(buildQuery({ ...controls, partner: "Acme ML" }).partner).toBe("Acme ML");
    expect(buildQuery({ ...controls, partner: " Acme ML ", groupBy: "metric", bucket: "month" })).toEqual({
      from: "2026-03-01",
      to: "2026-03-31",
      partner: "Acme ML",
      group_by: "metric",
      bucket: "month",
    });
    expect(buildQuery({ ...controls, partner: "   " }).partner).toBeNull();
  });

  test("the chart's text alternative names the partner when one is picked", () => {
    expect(chartAlt("calls", "day", "partner", null)).toBe("calls per day, one line per partner (the largest first)");
    expect(chartAlt("calls", "week", "metric", "Acme ML")).toBe("calls per week for Acme ML");
  });
});

describe("the chart first, then the whole report", () => {
  test("only the latest request's answers are shown", () => {
    const requests = new LatestRequest();
    const first = requests.next();
    expect(requests.isCurrent(first)).toBe(true);
    const second = requests.next();
    expect(requests.isCurrent(first)).toBe(false);
    expect(requests.isCurrent(second)).toBe(true);
  });

  test("the whole report's chart replaces the first one, with its period and metric", () => {
    const period = {
      from: "2026-03-01",
      to: "2026-03-31",
      requested_to: "2026-03-31",
      days: 31,
      complete: true,
      previous_from: "2026-01-29",
      previous_to: "2026-02-28",
    };
    const view = {
      report: { period, partner: null, group_by: "partner" as const, bucket: "week" as const, buckets: [], rows: [], totals: [] },
      chart_metric: "dbx.dbus",
      chart_svg: "<svg></svg>",
    };
    expect(chartOfReport(view)).toEqual({ period, chart_metric: "dbx.dbus", chart_svg: "<svg></svg>" });
  });
});
