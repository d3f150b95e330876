import { describe, expect, it } from "vitest";
import { capabilityColumns, pageCount, pageRows, rangeLabel } from "./matrix";

describe("capabilityColumns", () => {
  it("lists every capability once, sorted", () => {
    expect(
      capabilityColumns([{ capabilities: ["tracking", "models"] }, { capabilities: [] }, { capabilities: ["models", "alerts"] }]),
    ).toEqual(["alerts", "models", "tracking"]);
  });
});

describe("paging", () => {
  const rows = Array.from({ length: 250 }, (_, i) => i);

  it("cuts the rows into pages and clamps the page asked for", () => {
    expect(pageCount(250)).toBe(3);
    expect(pageCount(0)).toBe(1);
    expect(pageRows(rows, 0)).toHaveLength(100);
    expect(pageRows(rows, 2)).toEqual(rows.slice(200));
    expect(pageRows(rows, 7)).toEqual(rows.slice(200));
    expect(pageRows(rows, -1)[0]).toBe(0);
  });

  it("says which rows are shown", () => {
    expect(rangeLabel(2500, 1)).toBe("Rows 101–200 of 2,500");
    expect(rangeLabel(250, 2)).toBe("Rows 201–250 of 250");
    expect(rangeLabel(0, 0)).toBe("No partner");
  });
});
