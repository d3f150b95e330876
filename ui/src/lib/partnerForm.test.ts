import { describe, expect, it } from "vitest";
import {
  fieldId,
  firstInvalidField,
  formValuesOf,
  initialFormValues,
  isEmptyChange,
  partnerChange,
  serverErrorField,
  serverErrorMessage,
  splitLabels,
  validatePartnerForm,
  type FieldErrors,
  type FormField,
  type PartnerFormValues,
} from "./partnerForm";
import type { NewPartner, Partner } from "./types";

/** A form that passes every rule, with `changes` applied. */
function form(changes: Partial<PartnerFormValues> = {}): PartnerFormValues {
  return {
    ...initialFormValues(),
    name: "Acme ML",
    kind: "databricks",
    endpoint: "https://dbc-1234.cloud.databricks.com",
    ...changes,
  };
}

function accepted(values: PartnerFormValues): NewPartner {
  const result = validatePartnerForm(values);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  return result.partner;
}

function refused(values: PartnerFormValues): FieldErrors {
  const result = validatePartnerForm(values);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.partner)}`);
  return result.errors;
}

/** The fields with errors, to check that a mistake is blamed on its own field only. */
function fieldsWithErrors(errors: FieldErrors): FormField[] {
  return Object.keys(errors).sort() as FormField[];
}

describe("a valid form", () => {
  it("becomes the NewPartner the backend expects, with the defaults filled in", () => {
    expect(accepted(form())).toEqual({
      name: "Acme ML",
      kind: "databricks",
      endpoint: "https://dbc-1234.cloud.databricks.com",
      tier: "standard",
      owner: null,
      capabilities: [],
      tags: [],
      depends_on: null,
      health_check: { interval_secs: 60, timeout_secs: 10 },
    });
  });

  it("carries every filled-in field through", () => {
    const partner = accepted(
      form({
        tier: "strategic",
        owner: "Dana Scully",
        capabilities: "serving, feature-store",
        tags: "eu,gpu",
        depends_on: "Core Platform",
        interval: "120",
        timeout: "30",
      }),
    );
    expect(partner).toMatchObject({
      tier: "strategic",
      owner: "Dana Scully",
      capabilities: ["serving", "feature-store"],
      tags: ["eu", "gpu"],
      depends_on: "Core Platform",
      health_check: { interval_secs: 120, timeout_secs: 30 },
    });
  });

  it("starts with no kind, the standard tier and a 60 s check with a 10 s timeout", () => {
    expect(initialFormValues()).toMatchObject({
      kind: "",
      tier: "standard",
      interval: 60,
      timeout: 10,
      depends_on: "",
    });
  });
});

describe("the name", () => {
  it.each([
    [`O'Brien "Data"`],
    ["=SUM(A1)"],
    ["x'); DROP TABLE partners;--"],
    ["<script>alert(1)</script>"],
    ["Données ☃ 東京"],
    ["50% off_%"],
    ["🚀 Rocket ML"],
  ])("accepts %j exactly as typed", (name) => {
    expect(accepted(form({ name })).name).toBe(name);
  });

  it("is required", () => {
    expect(refused(form({ name: "" })).name).toBe("Enter a name");
  });

  it("must not be only whitespace", () => {
    expect(refused(form({ name: "   " })).name).toBe("Enter a name");
    expect(refused(form({ name: "\u00a0\u2003" })).name).toBe("Enter a name");
  });

  it.each([[" lead"], ["trail "], ["tab\t"], ["\u00a0nbsp"]])(
    "refuses %j for its surrounding whitespace",
    (name) => {
      expect(refused(form({ name })).name).toMatch(/start or end with a space/);
    },
  );

  it.each([
    ["bell\u0007", "U+0007"],
    ["new\nline", "U+000A"],
    ["nul\u0000x", "U+0000"],
    ["del\u007fx", "U+007F"],
    ["c1\u0085x", "U+0085"],
  ])("refuses %j for its control character", (name, codePoint) => {
    expect(refused(form({ name })).name).toContain(codePoint);
  });

  it("allows 120 characters and refuses 121, counting characters rather than UTF-16 units", () => {
    expect(accepted(form({ name: "x".repeat(120) })).name).toHaveLength(120);
    expect(accepted(form({ name: "😀".repeat(120) })).name).toBe("😀".repeat(120));
    expect(refused(form({ name: "x".repeat(121) })).name).toMatch(/121 characters.*at most 120/);
  });

  it("blames only the name for a bad name", () => {
    expect(fieldsWithErrors(refused(form({ name: "" })))).toEqual(["name"]);
  });
});

describe("the kind", () => {
  it("is required: the 'Choose a kind' placeholder fails", () => {
    expect(refused(form({ kind: "" })).kind).toBe("Choose a kind");
  });

  it("must be one of the six kinds", () => {
    expect(refused(form({ kind: "oracle" })).kind).toBe("Choose a kind");
    expect(refused(form({ kind: "Databricks" })).kind).toBe("Choose a kind");
    for (const kind of ["databricks", "snowflake", "mlflow", "kubeflow", "datadog", "http"]) {
      expect(accepted(form({ kind })).kind).toBe(kind);
    }
  });
});

describe("the tier", () => {
  it("must be one of strategic, premium and standard", () => {
    expect(accepted(form({ tier: "premium" })).tier).toBe("premium");
    expect(refused(form({ tier: "gold" })).tier).toBe("Choose a tier");
  });
});

describe("the endpoint", () => {
  it.each([
    ["https://dbc-1234.cloud.databricks.com"],
    ["http://127.0.0.1:5000/api"],
    ["https://mlflow.example.com/api/2.0?x=1#top"],
    ["http://[::1]:8080"],
  ])("accepts %j", (endpoint) => {
    expect(accepted(form({ endpoint })).endpoint).toBe(endpoint);
  });

  it("is sent without surrounding whitespace", () => {
    expect(accepted(form({ endpoint: "  https://x.example  " })).endpoint).toBe(
      "https://x.example",
    );
  });

  it("is required", () => {
    expect(refused(form({ endpoint: "" })).endpoint).toMatch(/endpoint URL/);
    expect(refused(form({ endpoint: "   " })).endpoint).toMatch(/endpoint URL/);
  });

  it.each([["not a url"], ["https://"], ["example.com"], ["http://exa mple.com"]])(
    "refuses %j as not a URL",
    (endpoint) => {
      expect(refused(form({ endpoint })).endpoint).toMatch(/full URL/);
    },
  );

  it.each([
    ["ftp://x", "ftp:"],
    ["ftp://x.example", "ftp:"],
    ["file:///etc/passwd", "file:"],
    ["javascript:alert(1)", "javascript:"],
    ["mailto:ops@example.com", "mailto:"],
  ])("refuses %j because only http and https are allowed", (endpoint, scheme) => {
    const message = refused(form({ endpoint })).endpoint;
    expect(message).toContain(scheme);
    expect(message).toMatch(/only http and https/);
  });

  it.each([["https://user:pw@x.example"], ["https://user@x.example"], ["https://:pw@x.example"]])(
    "refuses %j for carrying credentials",
    (endpoint) => {
      expect(refused(form({ endpoint })).endpoint).toMatch(/user name or password/);
    },
  );

  it("refuses control characters and more than 2048 characters", () => {
    expect(refused(form({ endpoint: "https://x.example/a\u0007b" })).endpoint).toContain("U+0007");
    const long = `https://x.example/${"a".repeat(2048)}`;
    expect(refused(form({ endpoint: long })).endpoint).toMatch(/2048/);
  });
});

describe("the owner", () => {
  it("is optional: blank means no owner", () => {
    expect(accepted(form({ owner: "" })).owner).toBeNull();
    expect(accepted(form({ owner: "   " })).owner).toBeNull();
  });

  it("is kept exactly as typed", () => {
    expect(accepted(form({ owner: `Zoë "Z" O'Neil` })).owner).toBe(`Zoë "Z" O'Neil`);
  });

  it("follows the name's rules when given", () => {
    expect(refused(form({ owner: " Dana" })).owner).toMatch(/start or end/);
    expect(refused(form({ owner: "Da\nna" })).owner).toContain("U+000A");
    expect(refused(form({ owner: "d".repeat(121) })).owner).toMatch(/at most 120/);
  });
});

describe("capabilities and tags", () => {
  it("are split on commas, trimmed, and empty entries dropped", () => {
    expect(splitLabels(" serving , ,feature-store,, ")).toEqual(["serving", "feature-store"]);
    expect(splitLabels("")).toEqual([]);
    expect(splitLabels(" , ")).toEqual([]);
    const partner = accepted(form({ capabilities: "a, b ,c", tags: " eu ,, gpu " }));
    expect(partner.capabilities).toEqual(["a", "b", "c"]);
    expect(partner.tags).toEqual(["eu", "gpu"]);
  });

  it("keep their case and unicode", () => {
    expect(accepted(form({ tags: "EU, ünïcode, 東京" })).tags).toEqual(["EU", "ünïcode", "東京"]);
  });

  it("refuse a tag listed twice", () => {
    const errors = refused(form({ tags: "eu, gpu, eu" }));
    expect(errors.tags).toMatch(/"eu" is listed twice/);
    expect(fieldsWithErrors(errors)).toEqual(["tags"]);
  });

  it("refuse a capability listed twice, even with different spacing", () => {
    expect(refused(form({ capabilities: "serving,  serving " })).capabilities).toMatch(
      /"serving" is listed twice/,
    );
  });

  it("treat labels differing only in case as distinct, like the backend", () => {
    expect(accepted(form({ tags: "eu, EU" })).tags).toEqual(["eu", "EU"]);
  });

  it("allow 64 characters per entry and refuse 65", () => {
    expect(accepted(form({ tags: "t".repeat(64) })).tags).toEqual(["t".repeat(64)]);
    expect(refused(form({ tags: "t".repeat(65) })).tags).toMatch(/65 characters.*at most 64/);
    expect(refused(form({ capabilities: "c".repeat(65) })).capabilities).toMatch(/at most 64/);
  });

  it("refuse control characters in an entry", () => {
    expect(refused(form({ tags: "ok, b\u0007d" })).tags).toContain("U+0007");
  });

  it("allow at most 64 entries", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`).join(",");
    expect(accepted(form({ tags: many(64) })).tags).toHaveLength(64);
    expect(refused(form({ tags: many(65) })).tags).toMatch(/at most 64/);
  });
});

describe("depends on", () => {
  it("is null for None and the chosen name otherwise", () => {
    expect(accepted(form({ depends_on: "" })).depends_on).toBeNull();
    expect(accepted(form({ depends_on: `O'Brien "Data"` })).depends_on).toBe(`O'Brien "Data"`);
  });

  it("cannot be the partner itself", () => {
    expect(refused(form({ name: "Acme", depends_on: "Acme" })).depends_on).toMatch(/itself/);
  });
});

describe("the health check", () => {
  it("accepts numbers from a number input and digits from a text input", () => {
    expect(accepted(form({ interval: 300, timeout: 5 })).health_check).toEqual({
      interval_secs: 300,
      timeout_secs: 5,
    });
    expect(accepted(form({ interval: " 90 ", timeout: "15" })).health_check).toEqual({
      interval_secs: 90,
      timeout_secs: 15,
    });
  });

  it("takes an interval from 5 to 86400 seconds", () => {
    expect(accepted(form({ interval: 5, timeout: 1 })).health_check.interval_secs).toBe(5);
    expect(accepted(form({ interval: 86_400 })).health_check.interval_secs).toBe(86_400);
    expect(refused(form({ interval: 4, timeout: 1 })).interval).toMatch(/between 5 and 86400/);
    expect(refused(form({ interval: 86_401 })).interval).toMatch(/between 5 and 86400/);
  });

  it("takes a timeout from 1 to 300 seconds", () => {
    expect(accepted(form({ timeout: 1 })).health_check.timeout_secs).toBe(1);
    expect(accepted(form({ interval: 600, timeout: 300 })).health_check.timeout_secs).toBe(300);
    expect(refused(form({ timeout: 0 })).timeout).toMatch(/between 1 and 300/);
    expect(refused(form({ interval: 600, timeout: 301 })).timeout).toMatch(/between 1 and 300/);
  });

  it("refuses a timeout longer than the interval, on the timeout", () => {
    const errors = refused(form({ interval: 10, timeout: 20 }));
    expect(errors.timeout).toMatch(/longer than the check interval \(10 s\)/);
    expect(fieldsWithErrors(errors)).toEqual(["timeout"]);
    expect(accepted(form({ interval: 10, timeout: 10 })).health_check.timeout_secs).toBe(10);
  });

  it.each([[60.5], ["60.5"], ["1e2"], ["sixty"], [-10], ["-10"]])(
    "refuses %j as an interval",
    (interval) => {
      expect(refused(form({ interval })).interval).toBeDefined();
    },
  );

  it("requires both values", () => {
    expect(refused(form({ interval: null })).interval).toMatch(/Enter the check interval/);
    expect(refused(form({ interval: "" })).interval).toMatch(/Enter the check interval/);
    expect(refused(form({ timeout: undefined })).timeout).toMatch(/Enter the timeout/);
    expect(refused(form({ timeout: Number.NaN })).timeout).toMatch(/Enter the timeout/);
  });
});

describe("a form with several mistakes", () => {
  it("reports each on its own field and focuses the first in form order", () => {
    const errors = refused(
      form({ name: "", kind: "", endpoint: "ftp://x", tags: "a,a", interval: 1, timeout: 0 }),
    );
    expect(fieldsWithErrors(errors)).toEqual([
      "endpoint",
      "interval",
      "kind",
      "name",
      "tags",
      "timeout",
    ]);
    expect(firstInvalidField(errors)).toBe("name");
    expect(firstInvalidField({ timeout: "x", kind: "y" })).toBe("kind");
    expect(firstInvalidField({})).toBeNull();
  });
});

describe("backend errors", () => {
  it("are placed on the form field they name, whatever the backend calls it", () => {
    const on = (field: string | null) => serverErrorField({ code: "invalid", message: "", field });
    expect(on("name")).toBe("name");
    expect(on("endpoint")).toBe("endpoint");
    expect(on("depends_on")).toBe("depends_on");
    expect(on("capability")).toBe("capabilities");
    expect(on("tag")).toBe("tags");
    expect(on("interval")).toBe("interval");
    expect(on("timeout")).toBe("timeout");
  });

  it("go to the whole form when they name no field or one the form does not have", () => {
    expect(serverErrorField({ code: "internal", message: "disk full", field: null })).toBeNull();
    expect(serverErrorField({ code: "conflict", message: "x", field: "lifecycle" })).toBeNull();
  });

  it("lose their field prefix when shown next to that field", () => {
    expect(
      serverErrorMessage({
        code: "conflict",
        message: 'name: a partner named "Acme" already exists',
        field: "name",
      }),
    ).toBe('A partner named "Acme" already exists');
    expect(
      serverErrorMessage({ code: "internal", message: "database is locked", field: null }),
    ).toBe("Database is locked");
  });
});

describe("editing a partner", () => {
  const stored: Partner = {
    id: 7,
    name: "Acme ML",
    kind: "databricks",
    endpoint: "https://dbc-1234.cloud.databricks.com",
    tier: "standard",
    owner: "Data Platform",
    capabilities: ["serving", "feature-store"],
    tags: ["eu"],
    lifecycle: "active",
    depends_on: "Core Auth",
    health_check: { interval_secs: 60, timeout_secs: 10 },
    created_at: "2026-01-05T10:00:00Z",
    updated_at: "2026-01-05T10:00:00Z",
  };

  /** The change the edit form sends after `edits` to the stored partner's values. */
  function changeAfter(edits: Partial<PartnerFormValues>) {
    return partnerChange(stored, accepted({ ...formValuesOf(stored), ...edits }));
  }

  it("starts from the stored partner and, untouched, changes nothing", () => {
    const values = formValuesOf(stored);
    expect(values).toMatchObject({
      owner: "Data Platform",
      capabilities: "serving, feature-store",
      depends_on: "Core Auth",
      interval: 60,
    });
    const change = changeAfter({});
    expect(isEmptyChange(change)).toBe(true);
    expect(Object.values(change).every((v) => v === null)).toBe(true);
  });

  it("sends only the fields that changed", () => {
    const change = changeAfter({ tier: "premium", tags: "eu, gpu", interval: "30" });
    expect(change).toEqual({
      name: null,
      endpoint: null,
      tier: "premium",
      owner: null,
      capabilities: null,
      tags: ["eu", "gpu"],
      depends_on: null,
      interval_secs: 30,
      timeout_secs: null,
    });
    expect(isEmptyChange(change)).toBe(false);
  });

  it("tells a cleared owner or dependency (value null) from an untouched one (null)", () => {
    const change = changeAfter({ owner: "  ", depends_on: "" });
    expect(change.owner).toEqual({ value: null });
    expect(change.depends_on).toEqual({ value: null });
    expect(changeAfter({ owner: "ML Ops" }).owner).toEqual({ value: "ML Ops" });
    const ownerless = { ...stored, owner: null };
    expect(partnerChange(ownerless, accepted(formValuesOf(ownerless))).owner).toBeNull();
  });

  it("sees reordered labels and a rename, and ignores spacing that validation drops", () => {
    expect(changeAfter({ capabilities: "feature-store, serving" }).capabilities).toEqual([
      "feature-store",
      "serving",
    ]);
    expect(changeAfter({ capabilities: " serving ,feature-store " }).capabilities).toBeNull();
    expect(changeAfter({ endpoint: " https://dbc-1234.cloud.databricks.com " }).endpoint).toBeNull();
    expect(changeAfter({ name: "Acme ML EU" }).name).toBe("Acme ML EU");
  });

  it("refuses what the add form refuses, at the same field", () => {
    expect(fieldsWithErrors(refused({ ...formValuesOf(stored), interval: 0 }))).toEqual([
      "interval",
    ]);
    expect(fieldsWithErrors(refused({ ...formValuesOf(stored), endpoint: "dbc-1234" }))).toEqual([
      "endpoint",
    ]);
    expect(
      refused({ ...formValuesOf(stored), depends_on: "Acme ML" }).depends_on,
    ).toBe("A partner cannot depend on itself");
  });

  it("names each control after its form's prefix", () => {
    expect(fieldId("partner", "depends_on")).toBe("partner-depends-on");
    expect(fieldId("edit-partner", "interval")).toBe("edit-partner-interval");
  });
});
