// The demo workspace: an empty registry offers "Try with demo partners"; one click starts
// partner-sim inside the app and registers six partners, which the app's health service checks,
// whose contracts raise an alert, and whose usage fills the Reports page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, freshWorkspace, launchApp, rowCount, screenshot, waitForRow } from "./driver.mjs";

const PARTNERS = [
  "Databricks Lakehouse",
  "Snowflake Warehouse",
  "MLflow Tracking",
  "Kubeflow Pipelines",
  "Datadog Monitoring",
  "Feature Store API",
];

const ws = freshWorkspace("demo");
let app;

before(async () => {
  app = await launchApp(ws.db);
});

after(async () => {
  await app?.stop();
});

test("the demo offer registers six live partners with health, an alert badge and usage", async () => {
  const { browser } = app;
  const start = browser.$("#demo-start");
  await start.waitForExist({ timeout: 20_000, timeoutMsg: "the empty catalogue offered no demo" });
  assert.equal(await start.getText(), "Try with demo partners");
  await assertAccessible(browser);
  await start.click();

  for (const name of PARTNERS) await waitForRow(browser, name, `${name} never appeared`, 30_000);
  assert.equal(await rowCount(browser), 6);
  await browser.$("#demo-label").waitForExist({ timeout: 10_000, timeoutMsg: "no Demo workspace label" });
  assert.match(await browser.$("#demo-label").getText(), /Demo workspace/);

  const states = () =>
    browser.execute(() =>
      Object.fromEntries(
        Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]")).map((r) => [
          r.getAttribute("data-partner-name"),
          r.querySelector("td[data-health]")?.getAttribute("data-health"),
        ]),
      ),
    );
  await browser.waitUntil(async () => Object.values(await states()).every((s) => s && s !== "unknown"), {
    timeout: 60_000,
    timeoutMsg: "not every demo partner got a health state",
  });
  const seen = await states();
  assert.equal(Object.keys(seen).length, 6);
  await assertAccessible(browser);
  await screenshot(browser, "demo-catalogue");

  await browser.waitUntil(async () => (await browser.$("#alert-badge").isExisting()) && Number(await browser.$("#alert-badge").getText()) >= 1, {
    timeout: 30_000,
    timeoutMsg: "the Contracts tab never showed an alert badge",
  });

  await browser.$("#tab-reports").click();
  await browser.$("#report-totals").waitForExist({ timeout: 60_000, timeoutMsg: "the Reports page showed no usage" });
  assert.ok(!(await browser.$("#report-empty").isExisting()), "usage is recorded");

  await browser.$("#tab-partners").click();
  await browser.execute((name) => {
    const rows = Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"));
    rows.find((r) => r.getAttribute("data-partner-name") === name)?.click();
  }, "MLflow Tracking");
  await browser.$("#partner-detail").waitForExist({ timeout: 10_000 });
  await assertAccessible(browser);
  await screenshot(browser, "demo-partner");
});
