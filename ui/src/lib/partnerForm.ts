// The "Add partner" and "Edit partner" forms' rules, mirroring the backend's (crates/core validate.rs), so that a
// partner manager hears about a mistake next to the field before anything is sent. The backend
// checks again; its errors are mapped back onto the same fields by `serverErrorField`.
import type { CommandError, NewPartner, Partner, PartnerChange } from "./types";
import { sentence } from "./format";
import { isKind, isTier } from "./vocabulary";

export const MAX_NAME_CHARS = 120;
export const MAX_LABEL_CHARS = 64;
export const MAX_LABELS = 64;
export const MAX_ENDPOINT_CHARS = 2048;
export const INTERVAL_SECS = { min: 5, max: 86_400 } as const;
export const TIMEOUT_SECS = { min: 1, max: 300 } as const;

/** The form's fields, each of which can carry an error message. */
export type FormField =
  | "name"
  | "kind"
  | "endpoint"
  | "tier"
  | "owner"
  | "capabilities"
  | "tags"
  | "depends_on"
  | "interval"
  | "timeout";

/** In the order they appear in the form (the first with an error gets the focus). */
export const FORM_FIELDS: readonly FormField[] = [
  "name",
  "kind",
  "endpoint",
  "tier",
  "owner",
  "capabilities",
  "tags",
  "depends_on",
  "interval",
  "timeout",
];

/** The raw values of the form's controls. Number inputs may give a number or null. */
export type PartnerFormValues = {
  name: string;
  kind: string;
  endpoint: string;
  tier: string;
  owner: string;
  capabilities: string;
  tags: string;
  depends_on: string;
  interval: string | number | null | undefined;
  timeout: string | number | null | undefined;
};

export type FieldErrors = Partial<Record<FormField, string>>;

export type FormResult = { ok: true; partner: NewPartner } | { ok: false; errors: FieldErrors };

/** A fresh form: no kind chosen (the user must pick one), standard tier, checked every 60 s. */
export function initialFormValues(): PartnerFormValues {
  return {
    name: "",
    kind: "",
    endpoint: "",
    tier: "standard",
    owner: "",
    capabilities: "",
    tags: "",
    depends_on: "",
    interval: 60,
    timeout: 10,
  };
}

const ALL_WHITESPACE = /^\p{White_Space}*$/u;
const EDGE_WHITESPACE = /^\p{White_Space}|\p{White_Space}$/u;
const CONTROL = /\p{Cc}/u;

function charCount(value: string): number {
  return [...value].length;
}

function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The backend's rule for free text (names, owners, labels); returns the problem, if any. */
export function textProblem(value: string, maxChars: number): string | null {
  if (ALL_WHITESPACE.test(value)) return "must not be empty";
  if (EDGE_WHITESPACE.test(value)) return "must not start or end with a space";
  const control = CONTROL.exec(value);
  if (control) return `must not contain control characters (found ${codePoint(control[0])})`;
  const n = charCount(value);
  if (n > maxChars) return `is ${n} characters long; at most ${maxChars} are allowed`;
  return null;
}

/** Splits comma-separated labels: each trimmed, empty ones dropped. */
export function splitLabels(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, ""))
    .filter((part) => part !== "");
}

function labelsProblem(labels: readonly string[], what: string): string | null {
  if (labels.length > MAX_LABELS) {
    return `${labels.length} ${what}s given; at most ${MAX_LABELS} are allowed`;
  }
  for (const [i, label] of labels.entries()) {
    const problem = textProblem(label, MAX_LABEL_CHARS);
    if (problem) return `${sentence(what)} "${label}" ${problem}`;
    if (labels.indexOf(label) < i) return `${sentence(what)} "${label}" is listed twice`;
  }
  return null;
}

/** The endpoint's problem, if any: it must be an http(s) URL with a host and no credentials. */
export function endpointProblem(value: string): string | null {
  if (value === "") return "Enter the partner's endpoint URL";
  if (charCount(value) > MAX_ENDPOINT_CHARS) {
    return `Must be at most ${MAX_ENDPOINT_CHARS} characters long`;
  }
  const control = CONTROL.exec(value);
  if (control) return `Must not contain control characters (found ${codePoint(control[0])})`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "Enter a full URL, such as https://api.example.com";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `Uses ${url.protocol}; only http and https URLs are allowed`;
  }
  if (url.hostname === "") return "The URL has no host";
  if (url.username !== "" || url.password !== "") {
    return "Must not carry a user name or password; store credentials in the keyring";
  }
  return null;
}

type Seconds = { value: number } | { problem: string };

function seconds(
  raw: string | number | null | undefined,
  what: string,
  range: { min: number; max: number },
): Seconds {
  let n: number;
  if (typeof raw === "number") {
    n = raw;
  } else {
    const text = (raw ?? "").trim();
    if (text === "") return { problem: `Enter the ${what} in seconds` };
    if (!/^[+-]?\d+(\.\d*)?$/.test(text)) return { problem: "Must be a whole number of seconds" };
    n = Number(text);
  }
  if (!Number.isFinite(n)) return { problem: `Enter the ${what} in seconds` };
  if (!Number.isInteger(n)) return { problem: "Must be a whole number of seconds" };
  if (n < range.min || n > range.max) {
    return { problem: `Must be between ${range.min} and ${range.max} seconds` };
  }
  return { value: n };
}

/**
 * Checks every field and, when all are fine, builds the NewPartner to send. Text is kept
 * exactly as typed (quotes, unicode, a leading "=" are all fine); only the endpoint loses
 * surrounding whitespace, labels are trimmed, and a blank owner or "None" dependency is null.
 */
export function validatePartnerForm(values: PartnerFormValues): FormResult {
  const errors: FieldErrors = {};

  const name = values.name;
  const nameProblem = textProblem(name, MAX_NAME_CHARS);
  if (nameProblem) {
    errors.name = nameProblem === "must not be empty" ? "Enter a name" : sentence(nameProblem);
  }

  const kind = values.kind;
  if (!isKind(kind)) errors.kind = "Choose a kind";

  const endpoint = values.endpoint.trim();
  const endpointError = endpointProblem(endpoint);
  if (endpointError) errors.endpoint = endpointError;

  const tier = values.tier;
  if (!isTier(tier)) errors.tier = "Choose a tier";

  let owner: string | null = null;
  if (!ALL_WHITESPACE.test(values.owner)) {
    const problem = textProblem(values.owner, MAX_NAME_CHARS);
    if (problem) errors.owner = sentence(problem);
    else owner = values.owner;
  }

  const capabilities = splitLabels(values.capabilities);
  const capabilitiesProblem = labelsProblem(capabilities, "capability");
  if (capabilitiesProblem) errors.capabilities = capabilitiesProblem;

  const tags = splitLabels(values.tags);
  const tagsProblem = labelsProblem(tags, "tag");
  if (tagsProblem) errors.tags = tagsProblem;

  let dependsOn: string | null = null;
  if (values.depends_on !== "") {
    const problem = textProblem(values.depends_on, MAX_NAME_CHARS);
    if (problem) errors.depends_on = sentence(problem);
    else if (values.depends_on === name) errors.depends_on = "A partner cannot depend on itself";
    else dependsOn = values.depends_on;
  }

  const interval = seconds(values.interval, "check interval", INTERVAL_SECS);
  if ("problem" in interval) errors.interval = interval.problem;
  const timeout = seconds(values.timeout, "timeout", TIMEOUT_SECS);
  if ("problem" in timeout) errors.timeout = timeout.problem;
  else if ("value" in interval && timeout.value > interval.value) {
    errors.timeout = `Must not be longer than the check interval (${interval.value} s)`;
  }

  if (
    Object.keys(errors).length > 0 ||
    !isKind(kind) ||
    !isTier(tier) ||
    !("value" in interval) ||
    !("value" in timeout)
  ) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    partner: {
      name,
      kind,
      endpoint,
      tier,
      owner,
      capabilities,
      tags,
      depends_on: dependsOn,
      health_check: { interval_secs: interval.value, timeout_secs: timeout.value },
    },
  };
}

/** The first field, in form order, that has an error. */
export function firstInvalidField(errors: FieldErrors): FormField | null {
  return FORM_FIELDS.find((field) => errors[field] !== undefined) ?? null;
}

// The backend names fields by its own words; these are the ones that differ from the form's.
const SERVER_FIELDS: Readonly<Record<string, FormField>> = {
  capability: "capabilities",
  capabilities: "capabilities",
  tag: "tags",
  tags: "tags",
  interval_secs: "interval",
  timeout_secs: "timeout",
  parent: "depends_on",
};

/** The form field a backend error is about, or null when it concerns the form as a whole. */
export function serverErrorField(error: CommandError): FormField | null {
  const field = error.field;
  if (field === null) return null;
  if ((FORM_FIELDS as readonly string[]).includes(field)) return field as FormField;
  return SERVER_FIELDS[field] ?? null;
}

/** The backend's message without its "field: " prefix, ready to show next to that field. */
export function serverErrorMessage(error: CommandError): string {
  const prefix = error.field === null ? null : `${error.field}: `;
  const message =
    prefix !== null && error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
  return sentence(message);
}

/** The id of a field's control in a form whose ids start with `prefix` ("partner-tier"). */
export function fieldId(prefix: string, field: FormField): string {
  return `${prefix}-${field.replace("_", "-")}`;
}

/** The edit form's starting values: the partner as stored. */
export function formValuesOf(partner: Partner): PartnerFormValues {
  return {
    name: partner.name,
    kind: partner.kind,
    endpoint: partner.endpoint,
    tier: partner.tier,
    owner: partner.owner ?? "",
    capabilities: partner.capabilities.join(", "),
    tags: partner.tags.join(", "),
    depends_on: partner.depends_on ?? "",
    interval: partner.health_check.interval_secs,
    timeout: partner.health_check.timeout_secs,
  };
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((label, i) => label === b[i]);
}

/**
 * What the edit form changed, as update_partner takes it: only the fields whose validated value
 * differs from the stored partner are set, the others are null (left as they are). A cleared
 * owner or dependency is `{ value: null }`, which removes it. The kind is not edited here.
 */
export function partnerChange(before: Partner, after: NewPartner): PartnerChange {
  return {
    name: after.name !== before.name ? after.name : null,
    endpoint: after.endpoint !== before.endpoint ? after.endpoint : null,
    tier: after.tier !== before.tier ? after.tier : null,
    owner: after.owner !== (before.owner ?? null) ? { value: after.owner } : null,
    capabilities: sameLabels(after.capabilities, before.capabilities) ? null : after.capabilities,
    tags: sameLabels(after.tags, before.tags) ? null : after.tags,
    depends_on:
      after.depends_on !== (before.depends_on ?? null) ? { value: after.depends_on } : null,
    interval_secs:
      after.health_check.interval_secs !== before.health_check.interval_secs
        ? after.health_check.interval_secs
        : null,
    timeout_secs:
      after.health_check.timeout_secs !== before.health_check.timeout_secs
        ? after.health_check.timeout_secs
        : null,
  };
}

/** Whether a change leaves everything as it is (nothing to send). */
export function isEmptyChange(change: PartnerChange): boolean {
  return Object.values(change).every((value) => value === null);
}
