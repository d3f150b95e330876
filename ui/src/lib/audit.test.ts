import { describe, expect, it } from "vitest";
import { AUDIT_PAGE_SIZE, auditQuery, detailLines } from "./audit";

describe("detailLines", () => {
  it("words a JSON object's fields, nested values as JSON", () => {
    expect(detailLines('{"value":"22:00-07:00"}')).toEqual(["value: 22:00-07:00"]);
    expect(detailLines('{"from":"active","changes":{"tier":"premium"},"n":3}')).toEqual([
      "from: active",
      'changes: {"tier":"premium"}',
      "n: 3",
    ]);
  });

  it("keeps other text as it is and shows nothing for no details", () => {
    expect(detailLines("not json {")).toEqual(["not json {"]);
    expect(detailLines("[1,2]")).toEqual(["[1,2]"]);
    expect(detailLines(null)).toEqual([]);
    expect(detailLines(" ")).toEqual([]);
  });
});

describe("auditQuery", () => {
  it("treats blank filters as any and pages by id", () => {
    expect(auditQuery("  ", "", null)).toEqual({ subject: null, action: null, before_id: null, limit: AUDIT_PAGE_SIZE });
    expect(auditQuery(" Acme ", "partner.add", 42)).toEqual({
      subject: "Acme",
      action: "partner.add",
      before_id: 42,
      limit: AUDIT_PAGE_SIZE,
    });
  });
});
