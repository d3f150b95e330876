// The pure side of guided onboarding: which of the four steps a partner is on, worked out from
// what is stored (so leaving and coming back resumes where it stopped), and the partner page's
// line about it. No DOM, no Tauri.
import type { AuditEntry, Lifecycle } from "./types";

export const ONBOARDING_STEPS = [
  { key: "register", title: "Register the partner" },
  { key: "credentials", title: "Add credentials" },
  { key: "test", title: "Test the connection" },
  { key: "activate", title: "Activate" },
] as const;

export type OnboardingStepKey = (typeof ONBOARDING_STEPS)[number]["key"];

/** What is stored about a partner that onboarding depends on. */
export type OnboardingFacts = {
  lifecycle: Lifecycle;
  hasCredential: boolean;
  /** Whether the latest recorded connection test passed (null: none recorded). */
  lastTestPassed: boolean | null;
  /** Set when the person chose to go on without a credential (a platform that needs none). */
  credentialSkipped?: boolean;
};

/**
 * The step to do next, 1 to 4, or null when the partner is not onboarding (already active, or
 * suspended or offboarded: the flow does not apply). Registering is done once the partner
 * exists; a credential is step 2 (unless skipped); a passing test step 3; activation step 4.
 */
export function onboardingStep(facts: OnboardingFacts): number | null {
  if (facts.lifecycle !== "onboarding") return null;
  if (!facts.hasCredential && !facts.credentialSkipped) return 2;
  if (facts.lastTestPassed !== true) return 3;
  return 4;
}

/** "Onboarding: step 2 of 4, Add credentials". */
export function onboardingLabel(step: number): string {
  const found = ONBOARDING_STEPS[step - 1];
  return `Onboarding: step ${step} of ${ONBOARDING_STEPS.length}${found ? `, ${found.title}` : ""}`;
}

/** The action of the audit rows a connection test writes. */
export const CONNECTION_TEST_ACTION = "partner.connection_test";

/**
 * Whether the latest connection test in the audit trail (newest first) passed; null when none
 * is recorded or its detail cannot be read.
 */
export function lastConnectionTest(audit: readonly AuditEntry[]): boolean | null {
  const latest = audit.find((entry) => entry.action === CONNECTION_TEST_ACTION);
  if (!latest?.detail) return null;
  try {
    const detail: unknown = JSON.parse(latest.detail);
    if (typeof detail === "object" && detail !== null && "passed" in detail) {
      return detail.passed === true;
    }
  } catch {
    return null;
  }
  return null;
}
