import { describe, expect, it } from "vitest";
import { asCommandError, CommandFailure, describeError } from "./errors";
import { countLabel, sentence, timestampLabel } from "./format";
import { KINDS, LIFECYCLES, TIERS, isKind, isLifecycle, isTier } from "./vocabulary";

describe("countLabel", () => {
  it("uses the singular for exactly one and the plural otherwise", () => {
    expect(countLabel(0, "partner")).toBe("0 partners");
    expect(countLabel(1, "partner")).toBe("1 partner");
    expect(countLabel(3, "partner")).toBe("3 partners");
    expect(countLabel(2, "capability", "capabilities")).toBe("2 capabilities");
  });
});

describe("sentence", () => {
  it("capitalises the first character and leaves the rest as it is", () => {
    expect(sentence("a partner named \"x\" exists")).toBe('A partner named "x" exists');
    expect(sentence("élan")).toBe("Élan");
    expect(sentence("")).toBe("");
    expect(sentence("😀 ok")).toBe("😀 ok");
  });
});

describe("asCommandError", () => {
  it("keeps a backend CommandError as it is", () => {
    const error = { code: "conflict", message: "name: taken", field: "name" };
    expect(asCommandError(error)).toEqual(error);
  });

  it("gives a missing field the value null", () => {
    expect(asCommandError({ code: "invalid", message: "bad" })).toEqual({
      code: "invalid",
      message: "bad",
      field: null,
    });
  });

  it("turns a plain string rejection from Tauri into an internal error", () => {
    expect(asCommandError("invalid args `filter` for command `list_partners`")).toEqual({
      code: "internal",
      message: "invalid args `filter` for command `list_partners`",
      field: null,
    });
  });

  it("describes anything else rather than failing", () => {
    expect(asCommandError(undefined).message).toBe("an unexpected error occurred");
    expect(asCommandError({ code: 1 }).code).toBe("internal");
  });
});

describe("describeError", () => {
  it("reads the message of errors, strings and message-bearing objects", () => {
    expect(describeError(new Error("boom"))).toBe("boom");
    expect(describeError("plain")).toBe("plain");
    expect(describeError({ message: "object" })).toBe("object");
    expect(describeError(42)).toBe("an unexpected error occurred");
  });

  it("reads a CommandFailure's backend message", () => {
    const failure = new CommandFailure({ code: "internal", message: "disk full", field: null });
    expect(describeError(failure)).toBe("disk full");
    expect(failure.error.code).toBe("internal");
  });
});

describe("the vocabulary", () => {
  it("lists the backend's six kinds, three tiers and four lifecycle states in order", () => {
    expect(KINDS).toEqual(["databricks", "snowflake", "mlflow", "kubeflow", "datadog", "http"]);
    expect(TIERS).toEqual(["strategic", "premium", "standard"]);
    expect(LIFECYCLES).toEqual(["onboarding", "active", "suspended", "offboarded"]);
  });

  it("recognises only exact lower-case words", () => {
    expect(isKind("mlflow")).toBe(true);
    expect(isKind("MLflow")).toBe(false);
    expect(isKind("toString")).toBe(false);
    expect(isTier("premium")).toBe(true);
    expect(isTier("")).toBe(false);
    expect(isLifecycle("active")).toBe(true);
    expect(isLifecycle("constructor")).toBe(false);
  });
});

describe("timestampLabel", () => {
  it("shortens the registry's UTC times to the minute and leaves other text alone", () => {
    expect(timestampLabel("2026-11-26T13:47:41.123Z")).toBe("2026-11-26 13:47 UTC");
    expect(timestampLabel("2026-11-26T13:47:41+00:00")).toBe("2026-11-26 13:47 UTC");
    expect(timestampLabel("yesterday")).toBe("yesterday");
  });
});
