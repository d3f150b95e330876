// A catalogue of N partners for the scale test and the benchmark, written as a workspace file
// and loaded with the real CLI's `ecosystem import` (one transaction). The attributes cycle
// with the index, so the share matching any filter is known in advance.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "./driver.mjs";

export const KINDS = ["databricks", "snowflake", "mlflow", "kubeflow", "datadog", "http"];
export const TIERS = ["strategic", "premium", "standard"];
export const LIFECYCLES = ["onboarding", "active", "suspended"];
export const OWNERS = ["ana", "bo", "chen", "dara", "eli", "femi", "gus"];
export const CAPABILITIES = ["runs", "models", "jobs", "metrics", "sql"];
export const TAGS = ["eu", "us", "apac", "gov"];

/** The name of partner `i` (from 1), zero-padded so that name order is index order. */
export function partnerName(i, width = 5) {
  return `Partner ${String(i).padStart(width, "0")}`;
}

/** The attributes of partner `i` (from 1). */
export function partnerAt(i) {
  return {
    name: partnerName(i),
    kind: KINDS[i % KINDS.length],
    endpoint: `https://p${i}.partners.example.com`,
    tier: TIERS[i % TIERS.length],
    owner: OWNERS[i % OWNERS.length],
    capabilities: [CAPABILITIES[i % CAPABILITIES.length]],
    tags: [TAGS[i % TAGS.length]],
    lifecycle: LIFECYCLES[i % LIFECYCLES.length],
  };
}

/** How many of partners 1..n satisfy `predicate` (given each one's attributes). */
export function countWhere(n, predicate) {
  let count = 0;
  for (let i = 1; i <= n; i++) if (predicate(partnerAt(i))) count++;
  return count;
}

/**
 * Registers partners 1..n in the database `db` through `ecosystem import` (the app's own
 * poller is switched off: the endpoints are not real). Returns how long the import took.
 */
export function seedCatalogue(db, dir, n) {
  const file = join(dir, `catalogue-${n}.json`);
  const partners = Array.from({ length: n }, (_, k) => partnerAt(k + 1));
  writeFileSync(
    file,
    JSON.stringify({
      format: "ecosystem-workspace",
      version: 1,
      exported_at: new Date().toISOString(),
      partners,
      contracts: [],
      settings: { "health.poll_in_app": "0" },
    }),
  );
  const started = performance.now();
  cli(db, ["import", file]);
  return performance.now() - started;
}
