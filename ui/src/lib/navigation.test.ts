import { describe, expect, it } from "vitest";
import { PAGES, START_PAGE, pageForKey } from "./navigation";

describe("pageForKey", () => {
  it("moves right and left around the tabs, wrapping at the ends", () => {
    expect(pageForKey("overview", "ArrowRight")).toBe("partners");
    expect(pageForKey("settings", "ArrowRight")).toBe("overview");
    expect(pageForKey("overview", "ArrowLeft")).toBe("settings");
  });

  it("jumps to the first and last tab and ignores other keys", () => {
    expect(pageForKey("contracts", "Home")).toBe("overview");
    expect(pageForKey("contracts", "End")).toBe("settings");
    expect(pageForKey("contracts", "Enter")).toBeNull();
    expect(pageForKey("contracts", "a")).toBeNull();
  });
});

describe("PAGES", () => {
  it("starts on the overview and keeps the catalogue's tab", () => {
    expect(START_PAGE).toBe("overview");
    expect(PAGES.map((p) => p.page)).toEqual(["overview", "partners", "contracts", "reports", "matrix", "audit", "settings"]);
  });
});
