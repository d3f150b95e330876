// The closed word lists of the registry (kinds, tiers, lifecycle states) with their display
// labels. The Record types make TypeScript fail the build when the generated bindings gain or
// lose a word, so the menus can never drift from the backend.
import type { CheckState, HealthState, Lifecycle, PartnerKind, Tier } from "./types";

export const KIND_LABELS: Readonly<Record<PartnerKind, string>> = {
  databricks: "Databricks",
  snowflake: "Snowflake",
  mlflow: "MLflow",
  kubeflow: "Kubeflow",
  datadog: "Datadog",
  http: "HTTP",
};

export const TIER_LABELS: Readonly<Record<Tier, string>> = {
  strategic: "Strategic",
  premium: "Premium",
  standard: "Standard",
};

export const LIFECYCLE_LABELS: Readonly<Record<Lifecycle, string>> = {
  onboarding: "Onboarding",
  active: "Active",
  suspended: "Suspended",
  offboarded: "Offboarded",
};

export const KINDS = Object.keys(KIND_LABELS) as readonly PartnerKind[];
export const TIERS = Object.keys(TIER_LABELS) as readonly Tier[];
export const LIFECYCLES = Object.keys(LIFECYCLE_LABELS) as readonly Lifecycle[];

export function isKind(value: string): value is PartnerKind {
  return Object.hasOwn(KIND_LABELS, value);
}

export function isTier(value: string): value is Tier {
  return Object.hasOwn(TIER_LABELS, value);
}

export function isLifecycle(value: string): value is Lifecycle {
  return Object.hasOwn(LIFECYCLE_LABELS, value);
}

/** The colour family of a badge; each has a light and a dark variant in Badge.svelte. */
export type Tone = "green" | "amber" | "red" | "grey" | "violet" | "blue";

export const TIER_TONES: Readonly<Record<Tier, Tone>> = {
  strategic: "violet",
  premium: "blue",
  standard: "grey",
};

export const LIFECYCLE_TONES: Readonly<Record<Lifecycle, Tone>> = {
  onboarding: "amber",
  active: "green",
  suspended: "red",
  offboarded: "grey",
};

export const CHECK_STATE_LABELS: Readonly<Record<CheckState, string>> = {
  healthy: "Healthy",
  degraded: "Degraded",
  unhealthy: "Unhealthy",
};

export const CHECK_STATE_TONES: Readonly<Record<CheckState, Tone>> = {
  healthy: "green",
  degraded: "amber",
  unhealthy: "red",
};

export const HEALTH_STATE_LABELS: Readonly<Record<HealthState, string>> = {
  unknown: "Unknown",
  healthy: "Healthy",
  degraded: "Degraded",
  unhealthy: "Unhealthy",
  paused: "Paused",
  maintenance: "Maintenance",
};

export const HEALTH_STATE_TONES: Readonly<Record<HealthState, Tone>> = {
  unknown: "grey",
  healthy: "green",
  degraded: "amber",
  unhealthy: "red",
  paused: "grey",
  maintenance: "blue",
};
