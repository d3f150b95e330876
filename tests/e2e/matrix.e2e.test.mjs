// The capability matrix, end to end: the real CLI registers 105 partners of two kinds and
// tiers with their capabilities. The matrix shows partners as rows and capabilities as
// columns with a mark where a partner has one, in pages of 100, narrows by kind and tier,
// and a click on a row opens the partner's page. Keyboard and axe checks as on every page.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, freshWorkspace, launchApp, openTab, screenshot } from "./driver.mjs";

/** The table: the column names and each row as [partner, capabilities marked]. */
function matrix(browser) {
  return browser.execute(() => ({
    columns: Array.from(document.querySelectorAll("#matrix thead th[data-capability]")).map((th) => th.dataset.capability),
    rows: Array.from(document.querySelectorAll("#matrix tbody tr")).map((tr) => [
      tr.dataset.partner,
      Array.from(tr.querySelectorAll("td.has")).map((td) => td.dataset.capability),
    ]),
  }));
}

describe("the capability matrix shows who can do what", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("matrix");
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, [
      "partner", "add", "Acme MLflow", "--kind", "mlflow", "--endpoint", "https://mlflow.example.com",
      "--tier", "strategic", "--capability", "tracking", "--capability", "models",
    ]);
    cli(ws.db, [
      "partner", "add", "Beta Datadog", "--kind", "datadog", "--endpoint", "https://api.datadoghq.eu",
      "--tier", "premium", "--capability", "alerts",
    ]);
    for (let i = 0; i < 103; i++) {
      const name = `Http ${String(i).padStart(3, "0")}`;
      cli(ws.db, ["partner", "add", name, "--kind", "http", "--endpoint", `https://p${i}.example.com`, "--capability", "webhooks"]);
    }
    app = await launchApp(ws.db);
    browser = app.browser;
    await openTab(browser, "matrix");
    await browser.waitUntil(async () => (await matrix(browser)).rows.length > 0, { timeout: 20_000, timeoutMsg: "the matrix stayed empty" });
  });

  after(async () => {
    await app?.stop();
  });

  test("rows by partner, columns by capability, marks where a partner has one, in pages", async () => {
    const first = await matrix(browser);
    assert.deepEqual(first.columns, ["alerts", "models", "tracking", "webhooks"]);
    assert.equal(first.rows.length, 100);
    assert.deepEqual(first.rows[0], ["Acme MLflow", ["models", "tracking"]]);
    assert.deepEqual(first.rows[1], ["Beta Datadog", ["alerts"]]);
    assert.deepEqual(first.rows[2], ["Http 000", ["webhooks"]]);
    assert.equal(await browser.$("#matrix-range").getText(), "Rows 1–100 of 105");
    await assertAccessible(browser, "#matrix-page");
    await screenshot(browser, "matrix");

    // The next page by keyboard: focus Next, press Enter.
    await browser.execute(() => document.getElementById("matrix-next").focus());
    await browser.keys(["Enter"]);
    await browser.waitUntil(async () => (await matrix(browser)).rows.length === 5, { timeout: 5_000, timeoutMsg: "no second page" });
    assert.equal(await browser.$("#matrix-range").getText(), "Rows 101–105 of 105");
  });

  test("kind and tier narrow the rows", async () => {
    await browser.$("#matrix-kind").selectByAttribute("value", "mlflow");
    await browser.waitUntil(async () => (await matrix(browser)).rows.length === 1, { timeout: 5_000, timeoutMsg: "the kind filter did not apply" });
    assert.deepEqual((await matrix(browser)).columns, ["models", "tracking"]);
    await browser.$("#matrix-kind").selectByAttribute("value", "");
    await browser.$("#matrix-tier").selectByAttribute("value", "premium");
    await browser.waitUntil(async () => (await matrix(browser)).rows.length === 1, { timeout: 5_000, timeoutMsg: "the tier filter did not apply" });
    assert.deepEqual((await matrix(browser)).rows, [["Beta Datadog", ["alerts"]]]);
  });

  test("a click on a row opens the partner", async () => {
    await browser.$('#matrix tbody tr[data-partner="Beta Datadog"] td[data-capability="alerts"]').click();
    await browser.waitUntil(async () => (await browser.$("#tab-partners").getAttribute("aria-selected")) === "true", {
      timeout: 5_000,
      timeoutMsg: "the partner page did not open",
    });
    await browser.waitUntil(async () => (await browser.$("main").getText()).includes("Beta Datadog"), { timeout: 10_000 });
    await screenshot(browser, "matrix-opened-partner");
  });
});
