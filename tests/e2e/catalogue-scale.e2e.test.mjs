// The catalogue at scale, in the real app: a few hundred partners imported through the CLI, a
// virtualised table that holds only a window of rows, scrolling and the keyboard reaching the
// last partner, every filter (kind, tier, capability, owner, tag, health state, lifecycle)
// narrowing to exactly the partners the seed says, filters combined, and the count's text.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cli, freshWorkspace, launchApp, rowCount, screenshot, waitForRow } from "./driver.mjs";
import { countWhere, partnerName, seedCatalogue } from "./catalogue-seed.mjs";

const N = 300;
/** Paused through the CLI: their badges say paused, every other partner's unknown. */
const PAUSED = [7, 150, 299];

/** The names of the rows in the DOM, in order. */
function renderedNames(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]")).map((r) => r.getAttribute("data-partner-name")),
  );
}

async function countText(browser) {
  return browser.$("#partner-count").getText();
}

/** Waits until the count reads `text` (the list has settled on the filter's answer). */
async function waitForCount(browser, text) {
  await browser.waitUntil(async () => (await countText(browser)) === text, {
    timeout: 10_000,
    timeoutMsg: `the count never read "${text}" (it reads "${await countText(browser)}")`,
  });
}

/** The list length the table says it holds (aria-rowcount less the header row). */
async function listed(browser) {
  return Number(await browser.$("#partner-table").getAttribute("aria-rowcount")) - 1;
}

/** The name of the partner the focus is on. */
function focusedName(browser) {
  return browser.execute(() => document.activeElement?.getAttribute("data-partner-name") ?? null);
}

/** Whether the row of `name` is in the page and wholly visible below the table's header. */
function rowInView(browser, name) {
  return browser.execute((n) => {
    const wrap = document.querySelector(".table-wrap");
    const row = Array.from(wrap.querySelectorAll("tr[data-partner-name]")).find((r) => r.getAttribute("data-partner-name") === n);
    if (!row) return false;
    const box = wrap.getBoundingClientRect();
    const header = wrap.querySelector("thead").getBoundingClientRect();
    const r = row.getBoundingClientRect();
    return r.top >= header.bottom - 1 && r.bottom <= box.bottom + 1;
  }, name);
}

/** Every name in the list, read by scrolling the table from top to bottom. */
async function allListedNames(browser) {
  return browser.execute(async () => {
    const wrap = document.querySelector(".table-wrap");
    const seen = new Map();
    const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    wrap.scrollTop = 0;
    await frame();
    for (;;) {
      for (const row of wrap.querySelectorAll("tr[data-partner-name]")) {
        seen.set(Number(row.getAttribute("data-index")), row.getAttribute("data-partner-name"));
      }
      if (wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 1) break;
      wrap.scrollTop += wrap.clientHeight / 2;
      await frame();
    }
    wrap.scrollTop = 0;
    return Array.from(seen.entries())
      .sort((a, b) => a[0] - b[0])
      .map(([, name]) => name);
  });
}

describe("the catalogue stays a window of rows over hundreds of partners", { timeout: 240_000 }, () => {
  const ws = freshWorkspace("catalogue-scale");
  let app;
  let browser;

  before(async () => {
    seedCatalogue(ws.db, ws.dir, N);
    for (const i of PAUSED) cli(ws.db, ["partner", "pause", partnerName(i)]);
    app = await launchApp(ws.db);
    browser = app.browser;
    const tab = await browser.$("#tab-partners");
    if (await tab.isExisting()) await tab.click();
    await waitForRow(browser, partnerName(1), "the first partner never appeared", 30_000);
    await waitForCount(browser, `${N} partners`);
  });

  after(async () => {
    await app?.stop();
  });

  test("only a window of rows is in the page, and scrolling reaches the last partner", async () => {
    const rendered = await rowCount(browser);
    assert.ok(rendered > 0 && rendered < 80, `a window of rows is rendered, not all ${N} (got ${rendered})`);
    assert.equal(await listed(browser), N, "aria-rowcount counts the whole list");
    const firstIndex = await browser.$(`#partner-table tr[data-partner-name="${partnerName(1)}"]`).getAttribute("aria-rowindex");
    assert.equal(firstIndex, "2", "the first partner is row 2 (after the header row)");
    await screenshot(browser, "catalogue-scale-top");

    await browser.execute(() => {
      const wrap = document.querySelector(".table-wrap");
      wrap.scrollTop = wrap.scrollHeight;
    });
    await waitForRow(browser, partnerName(N), "scrolling to the bottom did not render the last partner");
    const names = await renderedNames(browser);
    assert.ok(!names.includes(partnerName(1)), "the first partner left the page when scrolled away");
    assert.ok((await rowCount(browser)) < 80, "still only a window of rows at the bottom");
    const last = browser.$(`#partner-table tr[data-partner-name="${partnerName(N)}"]`);
    assert.equal(await last.getAttribute("aria-rowindex"), String(N + 1));
    assert.equal(await rowInView(browser, partnerName(N)), true, "the last partner is in view");
    await screenshot(browser, "catalogue-scale-bottom");
  });

  test("the keyboard walks the rows, jumps to the ends and opens the focused partner", async () => {
    await browser.execute(() => {
      document.querySelector(".table-wrap").scrollTop = 0;
    });
    await waitForRow(browser, partnerName(1), "scrolling back up did not render the first partner");
    await browser.$(`#partner-table tr[data-partner-name="${partnerName(1)}"] td.name`).click();
    // The click opened the page; come back and carry on with the keyboard.
    await browser.$("#partner-back").waitForClickable({ timeout: 10_000 });
    await browser.$("#partner-back").click();
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(1), {
      timeout: 5_000,
      timeoutMsg: "the focus did not return to the opened row",
    });

    await browser.keys("ArrowDown");
    await browser.keys("ArrowDown");
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(3), {
      timeout: 5_000,
      timeoutMsg: "ArrowDown did not move the focus down the rows",
    });
    await browser.keys("ArrowUp");
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(2), { timeout: 5_000, timeoutMsg: "ArrowUp" });

    await browser.keys("End");
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(N), {
      timeout: 5_000,
      timeoutMsg: "End did not reach the last partner",
    });
    const last = browser.$(`#partner-table tr[data-partner-name="${partnerName(N)}"]`);
    assert.equal(await rowInView(browser, partnerName(N)), true, "the focused last row was scrolled into view");
    assert.equal(await last.getAttribute("tabindex"), "0", "the focused row is the one Tab reaches");
    await screenshot(browser, "catalogue-scale-keyboard-end");

    await browser.keys("Home");
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(1), {
      timeout: 5_000,
      timeoutMsg: "Home did not go back to the first partner",
    });
    await browser.keys("PageDown");
    await browser.waitUntil(async () => ((await focusedName(browser)) ?? partnerName(1)) !== partnerName(1), {
      timeout: 5_000,
      timeoutMsg: "PageDown did not move",
    });

    await browser.keys("End");
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(N), { timeout: 5_000, timeoutMsg: "End" });
    await browser.keys("Enter");
    const title = browser.$("#partner-detail-title");
    await title.waitForDisplayed({ timeout: 10_000 });
    assert.equal(await title.getText(), partnerName(N), "Enter opened the focused partner's page");
    await browser.$("#partner-back").click();
    await browser.waitUntil(async () => (await focusedName(browser)) === partnerName(N), {
      timeout: 5_000,
      timeoutMsg: "back on the catalogue, the focus is not on the partner that was opened",
    });
  });

  test("each filter narrows to exactly its partners, alone and combined, with the count", async () => {
    const cases = [
      ["#filter-kind", "mlflow", (p) => p.kind === "mlflow"],
      ["#filter-tier", "premium", (p) => p.tier === "premium"],
      ["#filter-capability", "jobs", (p) => p.capabilities.includes("jobs")],
      ["#filter-owner", "chen", (p) => p.owner === "chen"],
      ["#filter-tag", "apac", (p) => p.tags.includes("apac")],
      ["#filter-lifecycle", "suspended", (p) => p.lifecycle === "suspended"],
    ];
    for (const [select, value, predicate] of cases) {
      const expected = countWhere(N, predicate);
      await browser.$(select).selectByAttribute("value", value);
      await waitForCount(browser, `${expected} of ${N} partners`);
      assert.equal(await listed(browser), expected, `${select}=${value}`);
      const names = await renderedNames(browser);
      assert.ok(names.length > 0, `${select}=${value} shows rows`);
      await browser.$(select).selectByAttribute("value", "");
      await waitForCount(browser, `${N} partners`);
    }

    // Health state: the paused partners, then the never-checked rest.
    await browser.$("#filter-health").selectByAttribute("value", "paused");
    await waitForCount(browser, `${PAUSED.length} of ${N} partners`);
    assert.deepEqual(await renderedNames(browser), PAUSED.map((i) => partnerName(i)));
    await browser.$("#filter-health").selectByAttribute("value", "unknown");
    await waitForCount(browser, `${N - PAUSED.length} of ${N} partners`);
    await browser.$("#filter-health").selectByAttribute("value", "");
    await waitForCount(browser, `${N} partners`);

    // Combined: every criterion must hold; the list is exactly the seed's answer, in name order.
    const combined = (p) => p.kind === "databricks" && p.tier === "strategic" && p.owner === "ana";
    const expected = [];
    for (let i = 1; i <= N; i++) {
      const p = { kind: ["databricks", "snowflake", "mlflow", "kubeflow", "datadog", "http"][i % 6], tier: ["strategic", "premium", "standard"][i % 3], owner: ["ana", "bo", "chen", "dara", "eli", "femi", "gus"][i % 7] };
      if (combined(p)) expected.push(partnerName(i));
    }
    assert.ok(expected.length > 0, "the seed has partners for the combination");
    await browser.$("#filter-kind").selectByAttribute("value", "databricks");
    await browser.$("#filter-tier").selectByAttribute("value", "strategic");
    await browser.$("#filter-owner").selectByAttribute("value", "ana");
    await waitForCount(browser, `${expected.length} of ${N} partners`);
    assert.deepEqual(await allListedNames(browser), expected);
    await screenshot(browser, "catalogue-scale-filtered");

    // A combination nothing matches says so.
    await browser.$("#filter-lifecycle").selectByAttribute("value", "offboarded");
    await waitForCount(browser, `0 of ${N} partners`);
    const empty = await browser.execute(() => document.querySelector("#partner-table tbody").textContent);
    assert.match(empty, /No partners match/);
    for (const select of ["#filter-kind", "#filter-tier", "#filter-owner", "#filter-lifecycle"]) {
      await browser.$(select).selectByAttribute("value", "");
    }
    await waitForCount(browser, `${N} partners`);
  });
});
