import { describe, expect, test } from "vitest";
import { latestStates, touches, type HealthChange } from "./liveHealth";

function change(partner: string, from: HealthChange["from"], to: HealthChange["to"]): HealthChange {
  return { partner, from, to, reason: `${partner}: ${from} -> ${to}`, at: "2026-11-26T10:00:00+00:00" };
}

describe("live health changes", () => {
  const batch = [
    change("Databricks Prod", "healthy", "unhealthy"),
    change("MLflow", "unknown", "healthy"),
    change("Databricks Prod", "unhealthy", "healthy"),
  ];

  test("a batch touches exactly the partners it names", () => {
    expect(touches(batch, "MLflow")).toBe(true);
    expect(touches(batch, "Databricks Prod")).toBe(true);
    expect(touches(batch, "Databricks")).toBe(false);
    expect(touches([], "MLflow")).toBe(false);
  });

  test("the latest state of a partner that changed twice is its last", () => {
    const latest = latestStates(batch);
    expect(latest.get("Databricks Prod")).toBe("healthy");
    expect(latest.get("MLflow")).toBe("healthy");
    expect(latest.size).toBe(2);
  });
});
