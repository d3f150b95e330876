import { describe, expect, it } from "vitest";
import {
  EMPTY_FILTER_STATE,
  allPartners,
  buildFilter,
  catalogueCount,
  healthFilter,
  isFiltering,
  isNarrowed,
  pickByIds,
  withSelected,
  type FilterState,
} from "./filters";

function state(changes: Partial<FilterState> = {}): FilterState {
  return { ...EMPTY_FILTER_STATE, ...changes };
}

describe("buildFilter", () => {
  it("turns untouched controls into a filter that matches every partner", () => {
    expect(buildFilter(state())).toEqual({
      kind: null,
      tier: null,
      lifecycle: null,
      owner: null,
      capabilities: [],
      tags: [],
      text: null,
    });
    expect(buildFilter(state())).toEqual(allPartners());
  });

  it("sends the search text without its surrounding whitespace", () => {
    expect(buildFilter(state({ text: "  snow flake " })).text).toBe("snow flake");
  });

  it("treats blank search text as no search at all", () => {
    expect(buildFilter(state({ text: "" })).text).toBeNull();
    expect(buildFilter(state({ text: " \t " })).text).toBeNull();
  });

  it("keeps hostile search text exactly, for the backend to match as text", () => {
    for (const text of [`O'Brien "Data"`, "=SUM(A1)", "x'); DROP TABLE partners;--", "東京"]) {
      expect(buildFilter(state({ text })).text).toBe(text);
    }
  });

  it("passes the chosen kind, tier and lifecycle through", () => {
    expect(buildFilter(state({ kind: "snowflake", tier: "premium", lifecycle: "active" }))).toMatchObject(
      { kind: "snowflake", tier: "premium", lifecycle: "active" },
    );
  });

  it("turns an 'all' menu value into null", () => {
    const filter = buildFilter(state({ kind: "", tier: "", lifecycle: "" }));
    expect([filter.kind, filter.tier, filter.lifecycle]).toEqual([null, null, null]);
  });

  it("ignores menu values the backend would not know", () => {
    const filter = buildFilter(state({ kind: "oracle", tier: "Gold", lifecycle: "retired" }));
    expect([filter.kind, filter.tier, filter.lifecycle]).toEqual([null, null, null]);
  });

  it("puts a chosen capability in the list of required capabilities", () => {
    expect(buildFilter(state({ capability: "serving" })).capabilities).toEqual(["serving"]);
    expect(buildFilter(state({ capability: "" })).capabilities).toEqual([]);
  });

  it("never filters by owner or tag, which the catalogue has no control for", () => {
    const filter = buildFilter(state({ text: "x", kind: "http", capability: "serving" }));
    expect(filter.owner).toBeNull();
    expect(filter.tags).toEqual([]);
  });
});

describe("isFiltering", () => {
  it("is false for the filter that matches every partner", () => {
    expect(isFiltering(allPartners())).toBe(false);
    expect(isFiltering(buildFilter(state({ text: "   " })))).toBe(false);
  });

  it("is true as soon as any criterion is set", () => {
    expect(isFiltering(buildFilter(state({ text: "acme" })))).toBe(true);
    expect(isFiltering(buildFilter(state({ kind: "mlflow" })))).toBe(true);
    expect(isFiltering(buildFilter(state({ tier: "standard" })))).toBe(true);
    expect(isFiltering(buildFilter(state({ lifecycle: "suspended" })))).toBe(true);
    expect(isFiltering(buildFilter(state({ capability: "serving" })))).toBe(true);
    expect(isFiltering({ ...allPartners(), owner: "Dana" })).toBe(true);
    expect(isFiltering({ ...allPartners(), tags: ["eu"] })).toBe(true);
  });
});

describe("withSelected", () => {
  it("lists the known options unchanged when the selection is among them or empty", () => {
    expect(withSelected(["a", "b"], "a")).toEqual(["a", "b"]);
    expect(withSelected(["a", "b"], "")).toEqual(["a", "b"]);
  });

  it("keeps a selected option that has disappeared, so the menu still shows it", () => {
    expect(withSelected(["a"], "gone")).toEqual(["a", "gone"]);
  });

  it("does not change the list it was given", () => {
    const options = ["a"];
    withSelected(options, "b");
    expect(options).toEqual(["a"]);
  });
});

describe("the catalogue's other filters", () => {
  it("sends owner and tag as the backend's criteria, combined with the rest", () => {
    const filter = buildFilter(state({ owner: "grace", tag: "eu", kind: "mlflow", capability: "runs" }));
    expect(filter.owner).toBe("grace");
    expect(filter.tags).toEqual(["eu"]);
    expect(filter.kind).toBe("mlflow");
    expect(filter.capabilities).toEqual(["runs"]);
    expect(isFiltering(filter)).toBe(true);
  });

  it("takes a known health state and ignores any other word", () => {
    expect(healthFilter({ health: "unhealthy" })).toBe("unhealthy");
    expect(healthFilter({ health: "" })).toBeNull();
    expect(healthFilter({ health: "on fire" })).toBeNull();
    expect(isNarrowed(allPartners(), "unknown")).toBe(true);
    expect(isNarrowed(allPartners(), null)).toBe(false);
  });
});

describe("catalogueCount", () => {
  it("shows the total alone, or the matches out of it while narrowed", () => {
    expect(catalogueCount(10_000, 10_000, false)).toBe("10,000 partners");
    expect(catalogueCount(312, 10_000, true)).toBe("312 of 10,000 partners");
    expect(catalogueCount(0, 1, true)).toBe("0 of 1 partner");
    expect(catalogueCount(3, 3, false)).toBe("3 partners");
  });
});

describe("pickByIds", () => {
  const all = [
    { id: 1, name: "a" },
    { id: 2, name: "b" },
    { id: 3, name: "c" },
  ];

  it("keeps the backend's order and drops ids it does not hold", () => {
    expect(pickByIds(all, [3, 9, 1]).map((p) => p.name)).toEqual(["c", "a"]);
    expect(pickByIds(all, null)).toEqual(all);
    expect(pickByIds(all, [])).toEqual([]);
  });
});
