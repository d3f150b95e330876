import { describe, expect, test } from "vitest";
import {
  SLA_HEALTH_LABELS,
  SLA_HEALTH_TONES,
  attainedLabel,
  boundsLabel,
  breachesLabel,
  budgetLeftLabel,
  budgetModel,
  creditDetail,
  emptyMessage,
  statusSentence,
  targetLabel,
  windowLabel,
  type SlaStatus,
} from "./sla";

/** November 2026 to the 26th, 12:00 UTC: at risk, as in core's own test. */
function status(extra: Partial<SlaStatus> = {}): SlaStatus {
  return {
    period: "2026-11",
    window_label: "November 2026",
    window: "calendar_month",
    time_zone: "UTC",
    window_start: "2026-11-01T00:00:00Z",
    window_end: "2026-12-01T00:00:00Z",
    measured_until: "2026-11-26T12:00:00Z",
    target_percent: 99.9,
    attained_percent: (100 * (2_203_200 - 1_860)) / 2_203_200,
    health: "at_risk",
    counted_seconds: 2_203_200,
    budget_seconds: 2_203,
    budget_used_seconds: 1_860,
    budget_left_seconds: 343,
    breaches: 1,
    rules: ["Maintenance is excluded"],
    credit_percent: 0,
    credit_owed_minor: 0,
    credit_owed: "0.00 EUR",
    window_fee: "10000.00 EUR",
    currency: "EUR",
    ...extra,
  };
}

const breached = status({
  health: "breached",
  attained_percent: (100 * 2_200_680) / 2_203_200,
  budget_used_seconds: 2_520,
  budget_left_seconds: -317,
  breaches: 2,
  credit_percent: 10,
  credit_owed_minor: 100_000,
  credit_owed: "1000.00 EUR",
});

describe("status words", () => {
  test("every status has a word and a tone, and the word is never the colour alone", () => {
    expect(SLA_HEALTH_LABELS).toEqual({ no_data: "No data", met: "Met", at_risk: "At risk", breached: "Breached" });
    expect(SLA_HEALTH_TONES).toEqual({ no_data: "grey", met: "green", at_risk: "amber", breached: "red" });
    expect(statusSentence(status({ health: "met" }))).toBe("on target (99.9 %)");
    expect(statusSentence(status())).toBe("on target (99.9 %), but less than 25 % of the error budget is left");
    expect(statusSentence(breached)).toBe("below the 99.9 % target");
    expect(statusSentence(status({ health: "no_data" }))).toBe("nothing counted yet in this window");
  });

  test("the empty state says whether there is a contract at all", () => {
    expect(emptyMessage(false)).toBe("No contract");
    expect(emptyMessage(true)).toBe("No SLA on this partner's contract");
  });
});

describe("percents", () => {
  test("a target reads as promised", () => {
    expect(targetLabel(99.9)).toBe("99.9 %");
    expect(targetLabel(99.95)).toBe("99.95 %");
    expect(targetLabel(100)).toBe("100 %");
    expect(targetLabel(99.0001)).toBe("99.0001 %");
    expect(targetLabel(null)).toBe("—");
  });

  test("attainment rounds down to three decimals so a miss never reads as the target", () => {
    expect(attainedLabel((100 * 2_200_680) / 2_203_200)).toBe("99.885 %");
    expect(attainedLabel(99.89999)).toBe("99.899 %");
    expect(attainedLabel(99.9)).toBe("99.9 %");
    expect(attainedLabel(99.99999)).toBe("99.999 %");
    expect(attainedLabel(100)).toBe("100 %");
    expect(attainedLabel(0)).toBe("0 %");
    expect(attainedLabel(null)).toBe("—");
    expect(attainedLabel(Number.NaN)).toBe("—");
  });
});

describe("the window", () => {
  test("a running window reads to date, with its zone and bounds", () => {
    expect(windowLabel(status())).toBe("November 2026 to date (UTC)");
    expect(windowLabel(status({ measured_until: "2026-12-01T00:00:00Z" }))).toBe("November 2026 (UTC)");
    expect(windowLabel(status({ window_label: "2026-Q4", time_zone: "Europe/Berlin" }))).toBe(
      "2026-Q4 to date (Europe/Berlin)",
    );
    expect(boundsLabel(status())).toBe(
      "2026-11-01 00:00 UTC to 2026-12-01 00:00 UTC, measured until 2026-11-26 12:00 UTC",
    );
  });

  test("breaches are counted in words", () => {
    expect(breachesLabel(0)).toBe("no breaches");
    expect(breachesLabel(1)).toBe("1 breach");
    expect(breachesLabel(3)).toBe("3 breaches");
  });
});

describe("the error budget", () => {
  test("a budget partly used fills the bar by its share and says so", () => {
    const model = budgetModel(status());
    expect(model.used).toBeCloseTo(1_860 / 2_203);
    expect(model.left).toBeCloseTo(343 / 2_203);
    expect(model.overspent).toBe(false);
    expect(model.summary).toBe("31 min used of 36 min (84 %), 5 min left");
    expect(budgetLeftLabel(status())).toBe("5 min");
  });

  test("an overspent budget fills the bar and reads as overspent", () => {
    const model = budgetModel(breached);
    expect(model.used).toBe(1);
    expect(model.left).toBe(0);
    expect(model.overspent).toBe(true);
    expect(model.summary).toBe("Overspent by 5 min: 42 min down against a budget of 36 min");
    expect(budgetLeftLabel(breached)).toBe("−5 min");
  });

  test("no budget: a 100 % target, or nothing counted yet", () => {
    const perfect = status({ budget_seconds: 0, budget_used_seconds: 0, budget_left_seconds: 0, health: "met" });
    expect(budgetModel(perfect)).toMatchObject({ used: 0, left: 1, overspent: false });
    expect(budgetModel(perfect).summary).toBe("No down time allowed, none used");
    const missed = status({ budget_seconds: 0, budget_used_seconds: 2, budget_left_seconds: -2, health: "breached" });
    expect(budgetModel(missed)).toMatchObject({ used: 1, left: 0, overspent: true });
    expect(budgetModel(missed).summary).toBe("Overspent by 2 s: 2 s down against a budget of 0 s");
    const empty = status({
      counted_seconds: 0,
      budget_seconds: 0,
      budget_used_seconds: 0,
      budget_left_seconds: 0,
      health: "no_data",
      attained_percent: null,
    });
    expect(budgetModel(empty).summary).toBe("No error budget yet: nothing counted in this window");
  });
});

describe("the credit", () => {
  test("the credit says which share of which fee it is", () => {
    expect(creditDetail(breached)).toBe("10 % of the 10000.00 EUR window fee");
    expect(creditDetail(status())).toBe("no credit tier applies");
  });
});
