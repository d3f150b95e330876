import { describe, expect, test } from "vitest";
import {
  chartDescription,
  chartModel,
  checkTicks,
  durationLabel,
  isHealthRange,
  latencyLabel,
  niceCeiling,
  percentLabel,
  ticksSummary,
} from "./health";
import type { CheckView, SeriesPoint } from "./types";

const HOUR = 3_600_000;

function point(at: number, latency: number | null, extra: Partial<SeriesPoint> = {}): SeriesPoint {
  return {
    at: new Date(at).toISOString(),
    latency_ms: latency,
    latency_max_ms: latency,
    outcome: latency === null ? "failed" : "ok",
    checks: 1,
    failed: latency === null ? 1 : 0,
    ...extra,
  };
}

describe("durations", () => {
  test("short durations are in seconds and minutes, long ones in hours and days", () => {
    expect(durationLabel(0)).toBe("0 s");
    expect(durationLabel(45)).toBe("45 s");
    expect(durationLabel(60)).toBe("1 min");
    expect(durationLabel(754)).toBe("12 min");
    expect(durationLabel(7_200)).toBe("2 h");
    expect(durationLabel(7_500)).toBe("2 h 5 min");
    expect(durationLabel(3 * 86_400 + 4 * 3_600 + 59)).toBe("3 d 4 h");
  });

  test("a negative duration reads as none", () => {
    expect(durationLabel(-5)).toBe("0 s");
  });
});

describe("uptime and latency", () => {
  test("an uptime without data is a dash and a near-perfect one never rounds up to 100", () => {
    expect(percentLabel(null)).toBe("—");
    expect(percentLabel(undefined)).toBe("—");
    expect(percentLabel(100)).toBe("100 %");
    expect(percentLabel(99.9999)).toBe("99.99 %");
    expect(percentLabel(99.5)).toBe("99.5 %");
    expect(percentLabel(0)).toBe("0 %");
  });

  test("latencies below a second are in milliseconds and longer ones in seconds", () => {
    expect(latencyLabel(null)).toBe("—");
    expect(latencyLabel(120)).toBe("120 ms");
    expect(latencyLabel(1_500)).toBe("1.5 s");
    expect(latencyLabel(2_000)).toBe("2 s");
    expect(latencyLabel(12_340)).toBe("12.3 s");
  });

  test("only the five ranges the backend knows are ranges", () => {
    expect(isHealthRange("7d")).toBe(true);
    expect(isHealthRange("2d")).toBe(false);
    expect(isHealthRange("toString")).toBe(false);
  });
});

describe("heartbeat ticks", () => {
  const checks: CheckView[] = [
    { at: "2026-11-26T13:47:41+00:00", outcome: "ok", latency_ms: 120, error_class: null },
    { at: "2026-11-26T13:47:46+00:00", outcome: "slow", latency_ms: 2_400, error_class: null },
    { at: "2026-11-26T13:47:51+00:00", outcome: "failed", latency_ms: 10_000, error_class: "timed_out" },
    { at: "2026-11-26T13:47:56+00:00", outcome: "capability_failing", latency_ms: 90, error_class: null },
  ];

  test("each check becomes a tick labelled with its time, outcome and latency", () => {
    const ticks = checkTicks(checks);
    expect(ticks.map((t) => t.tone)).toEqual(["ok", "slow", "failed", "slow"]);
    expect(ticks[0]?.label).toBe("2026-11-26 13:47:41 UTC: OK, 120 ms");
    expect(ticks[1]?.label).toBe("2026-11-26 13:47:46 UTC: Slow, 2.4 s");
    expect(ticks[2]?.label).toBe("2026-11-26 13:47:51 UTC: Failed (timed out)");
    expect(ticks[3]?.label).toBe("2026-11-26 13:47:56 UTC: Capability failing, 90 ms");
    expect(new Set(ticks.map((t) => t.key)).size).toBe(4);
  });

  test("the bar is summed up in words, and an empty bar says so", () => {
    expect(ticksSummary(checkTicks(checks))).toBe("1 OK, 2 slow or partly failing, 1 failed of the last 4 checks");
    expect(ticksSummary([])).toBe("No checks recorded in the last 24 hours");
  });
});

describe("latency chart", () => {
  const from = "2026-11-25T12:00:00Z";
  const to = "2026-11-26T12:00:00Z";
  const start = Date.parse(from);

  test("the y axis ends at a round value above the highest latency", () => {
    expect(niceCeiling(0)).toBe(1);
    expect(niceCeiling(87)).toBe(100);
    expect(niceCeiling(101)).toBe(200);
    expect(niceCeiling(2_100)).toBe(2_500);
    expect(niceCeiling(4_000)).toBe(5_000);
    const model = chartModel([point(start + HOUR, 80), point(start + 2 * HOUR, 180)], from, to, "24h");
    expect(model.yMax).toBe(200);
    expect(model.yTicks.map((t) => t.label)).toEqual(["0 ms", "50 ms", "100 ms", "150 ms", "200 ms"]);
  });

  test("points land inside the plot, later ones further right and slower ones higher", () => {
    const box = { width: 400, height: 150, left: 50, right: 10, top: 10, bottom: 20 };
    const model = chartModel([point(start, 50), point(start + 12 * HOUR, 200)], from, to, "24h", box);
    expect(model.lines).toHaveLength(1);
    const [a = [], b = []] = (model.lines[0] ?? "").split(" ").map((p) => p.split(",").map(Number));
    expect(a[0]).toBeGreaterThanOrEqual(50);
    expect(b[0]).toBeGreaterThan(a[0] ?? Infinity);
    expect(b[0]).toBeLessThanOrEqual(390);
    expect(b[1]).toBeLessThan(a[1] ?? -Infinity);
    expect(b[1]).toBeGreaterThanOrEqual(10);
    expect(a[1]).toBeLessThanOrEqual(130);
  });

  test("a failed check breaks the line and is marked on the chart", () => {
    const model = chartModel(
      [point(start + HOUR, 50), point(start + 6 * HOUR, null), point(start + 12 * HOUR, 60)],
      from,
      to,
      "24h",
    );
    expect(model.lines).toHaveLength(2);
    expect(model.failures).toHaveLength(1);
    expect(model.dots).toHaveLength(2);
  });

  test("rollups draw their maximum as a second line", () => {
    const rollup = point(start + HOUR, 100, { latency_max_ms: 400, checks: 60 });
    const model = chartModel([rollup, point(start + 3 * HOUR, 90, { latency_max_ms: 300 })], from, to, "24h");
    expect(model.maxLines).toHaveLength(1);
    expect(model.yMax).toBe(400);
  });

  test("tiny latencies get whole-millisecond axis steps", () => {
    const model = chartModel([point(start + HOUR, 2), point(start + 2 * HOUR, 4)], from, to, "24h");
    expect(model.yTicks.map((t) => t.label)).toEqual(["0 ms", "1 ms", "2 ms", "3 ms", "4 ms"]);
  });

  test("an empty series draws no line but still has its axes", () => {
    const model = chartModel([], from, to, "7d");
    expect(model.lines).toEqual([]);
    expect(model.xTicks.length).toBeGreaterThanOrEqual(2);
    expect(model.xTicks[0]?.label).toBe("25 Nov");
    expect(chartDescription([], "7d")).toBe("No checks over the last 7 days");
  });

  test("a year of hourly points is laid out well within 200 ms", () => {
    const yearFrom = "2025-11-26T12:00:00Z";
    const yearStart = Date.parse(yearFrom);
    const series = Array.from({ length: 365 * 24 }, (_, i) =>
      point(yearStart + i * HOUR, 50 + (i % 97), { latency_max_ms: 300 + (i % 13), failed: i % 500 === 0 ? 1 : 0 }),
    );
    const began = performance.now();
    const model = chartModel(series, yearFrom, to, "1y", { ...chartModelBox(), width: 1200 });
    const elapsed = performance.now() - began;
    expect(elapsed).toBeLessThan(200);
    expect(model.pointCount).toBe(8_760);
    const drawn = model.lines.reduce((n, l) => n + l.split(" ").length, 0);
    expect(drawn).toBeLessThanOrEqual(1_200);
    expect(chartDescription(series, "1y")).toMatch(/^Latency over the last 1 year: from 50 ms to 146 ms; 18 failed checks$/);
  });
});

function chartModelBox() {
  return { width: 640, height: 200, left: 56, right: 12, top: 10, bottom: 26 };
}
