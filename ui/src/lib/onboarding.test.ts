import { describe, expect, it } from "vitest";
import { lastConnectionTest, onboardingLabel, onboardingStep, ONBOARDING_STEPS } from "./onboarding";
import type { AuditEntry } from "./types";

function entry(id: number, action: string, detail: string | null): AuditEntry {
  return { id, at: "2026-11-26T10:00:00Z", actor: "ana", action, entity: "partner", subject: "p", detail };
}

describe("onboardingStep", () => {
  it("walks credentials, test and activation in order", () => {
    expect(onboardingStep({ lifecycle: "onboarding", hasCredential: false, lastTestPassed: null })).toBe(2);
    expect(onboardingStep({ lifecycle: "onboarding", hasCredential: true, lastTestPassed: null })).toBe(3);
    expect(onboardingStep({ lifecycle: "onboarding", hasCredential: true, lastTestPassed: false })).toBe(3);
    expect(onboardingStep({ lifecycle: "onboarding", hasCredential: true, lastTestPassed: true })).toBe(4);
  });

  it("lets a partner that needs no credential go on to the test", () => {
    expect(
      onboardingStep({ lifecycle: "onboarding", hasCredential: false, lastTestPassed: null, credentialSkipped: true }),
    ).toBe(3);
  });

  it("does not apply outside onboarding", () => {
    for (const lifecycle of ["active", "suspended", "offboarded"] as const) {
      expect(onboardingStep({ lifecycle, hasCredential: true, lastTestPassed: true })).toBeNull();
    }
  });

  it("names the step in the page's line", () => {
    expect(onboardingLabel(2)).toBe("Onboarding: step 2 of 4, Add credentials");
    expect(ONBOARDING_STEPS).toHaveLength(4);
  });
});

describe("lastConnectionTest", () => {
  it("reads the newest recorded test only", () => {
    const audit = [
      entry(3, "partner.connection_test", '{"passed":false,"capabilities":{}}'),
      entry(2, "partner.connection_test", '{"passed":true,"capabilities":{}}'),
    ];
    expect(lastConnectionTest(audit)).toBe(false);
    expect(lastConnectionTest(audit.slice(1))).toBe(true);
  });

  it("skips other actions and tolerates unreadable details", () => {
    expect(lastConnectionTest([entry(1, "partner.add", null)])).toBeNull();
    expect(lastConnectionTest([entry(1, "partner.connection_test", "{not json")])).toBeNull();
    expect(lastConnectionTest([])).toBeNull();
  });
});
