import { describe, expect, it } from "vitest";
import { navigate, rowsPerPage, scrollToReveal, spacers, visibleWindow } from "./virtualRows";

describe("visibleWindow", () => {
  it("renders only the rows in view plus the overscan", () => {
    // 10,000 rows of 40 px, 400 px of viewport scrolled to row 100.
    expect(visibleWindow(4000, 400, 40, 10_000, 5)).toEqual({ start: 95, end: 115 });
    expect(visibleWindow(0, 400, 40, 10_000, 5)).toEqual({ start: 0, end: 15 });
  });

  it("stops at the ends of the list", () => {
    expect(visibleWindow(399_600, 400, 40, 10_000, 5)).toEqual({ start: 9985, end: 10_000 });
    // Scrolled past the end (a list that just shrank): the last rows still show.
    expect(visibleWindow(1_000_000, 400, 40, 20, 2).end).toBe(20);
    expect(visibleWindow(-50, 400, 40, 3, 8)).toEqual({ start: 0, end: 3 });
  });

  it("renders nothing for an empty list or a zero row height", () => {
    expect(visibleWindow(0, 400, 40, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleWindow(0, 400, 0, 10)).toEqual({ start: 0, end: 0 });
  });

  it("keeps the whole list's height with the spacers", () => {
    const count = 10_000;
    const w = visibleWindow(4000, 400, 40, count, 5);
    const { before, after } = spacers(w, 40, count);
    expect(before + (w.end - w.start) * 40 + after).toBe(count * 40);
  });
});

describe("scrollToReveal", () => {
  it("moves as little as needed and not at all when the row is in view", () => {
    expect(scrollToReveal(5, 0, 400, 40)).toBe(0);
    expect(scrollToReveal(10, 0, 400, 40)).toBe(40);
    expect(scrollToReveal(2, 400, 400, 40)).toBe(80);
    expect(scrollToReveal(9_999, 0, 400, 40)).toBe(399_600);
  });
});

describe("navigate", () => {
  it("moves by row, page and to either end without wrapping", () => {
    expect(navigate("ArrowDown", 0, 10, 4)).toBe(1);
    expect(navigate("ArrowUp", 0, 10, 4)).toBe(0);
    expect(navigate("ArrowDown", 9, 10, 4)).toBe(9);
    expect(navigate("PageDown", 8, 10, 4)).toBe(9);
    expect(navigate("PageUp", 5, 10, 4)).toBe(1);
    expect(navigate("Home", 7, 10, 4)).toBe(0);
    expect(navigate("End", 0, 10, 4)).toBe(9);
  });

  it("ignores other keys and empty lists", () => {
    expect(navigate("a", 0, 10, 4)).toBeNull();
    expect(navigate("Enter", 0, 10, 4)).toBeNull();
    expect(navigate("End", 0, 0, 4)).toBeNull();
  });

  it("pages by the rows a viewport shows", () => {
    expect(rowsPerPage(400, 40)).toBe(10);
    expect(rowsPerPage(10, 40)).toBe(1);
  });
});
