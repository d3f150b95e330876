// The audit page's logic: an entry's details in words, and the query for the filters.
import type { AuditQuery } from "./types";

/** The rows one page of the audit log holds. */
export const AUDIT_PAGE_SIZE = 100;

/**
 * An entry's JSON details as "key: value" pairs, one per line ("value: 22:00-07:00");
 * nested values as compact JSON; text that is not a JSON object as it is; "" for none.
 */
export function detailLines(detail: string | null): string[] {
  if (detail === null || detail.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return [detail];
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return [detail];
  return Object.entries(parsed as Record<string, unknown>).map(
    ([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`,
  );
}

/** The query for the filters as typed (blank means any) and the page starting before `beforeId`. */
export function auditQuery(subject: string, action: string, beforeId: number | null): AuditQuery {
  return {
    subject: subject.trim() === "" ? null : subject.trim(),
    action: action === "" ? null : action,
    before_id: beforeId,
    limit: AUDIT_PAGE_SIZE,
  };
}
