import { describe, expect, it } from "vitest";
import { barSegments, budgetWords, moreLabel, shareLabel, sinceLabel } from "./overview";

describe("barSegments", () => {
  it("puts the worst state first, leaves out empty states and adds up to the whole bar", () => {
    const segments = barSegments([
      { state: "unknown", count: 1 },
      { state: "healthy", count: 6 },
      { state: "degraded", count: 0 },
      { state: "unhealthy", count: 3 },
      { state: "paused", count: 0 },
      { state: "maintenance", count: 0 },
    ]);
    expect(segments.map((s) => s.state)).toEqual(["unhealthy", "healthy", "unknown"]);
    expect(segments.map((s) => s.label)).toEqual(["Unhealthy: 3 (30 %)", "Healthy: 6 (60 %)", "Unknown: 1 (10 %)"]);
    expect(segments.reduce((sum, s) => sum + s.percent, 0)).toBeCloseTo(100);
  });

  it("draws nothing for an empty workspace", () => {
    expect(barSegments([{ state: "healthy", count: 0 }])).toEqual([]);
  });
});

describe("shareLabel", () => {
  it("never shows a state somebody is in as 0 %", () => {
    expect(shareLabel(0.01)).toBe("< 0.1 %");
    expect(shareLabel(0.46)).toBe("0.5 %");
    expect(shareLabel(99.96)).toBe("100 %");
  });
});

describe("sinceLabel", () => {
  it("says how long from since to now", () => {
    expect(sinceLabel("2026-11-26T10:00:00Z", "2026-11-26T12:05:00Z")).toBe("for 2 h 5 min");
    expect(sinceLabel("2026-11-26T10:00:00+00:00", "2026-11-26T10:00:30Z")).toBe("for 30 s");
  });

  it("says nothing without a time or with text that is no time", () => {
    expect(sinceLabel(null, "2026-11-26T12:00:00Z")).toBe("");
    expect(sinceLabel("yesterday", "2026-11-26T12:00:00Z")).toBe("");
  });
});

describe("budgetWords and moreLabel", () => {
  it("words the budget left or overspent", () => {
    expect(budgetWords(343)).toBe("5 min of budget left");
    expect(budgetWords(-317)).toBe("5 min over budget");
  });

  it("counts what a cut list leaves out", () => {
    expect(moreLabel(50, 72)).toBe("and 22 more");
    expect(moreLabel(3, 3)).toBe("");
  });
});
