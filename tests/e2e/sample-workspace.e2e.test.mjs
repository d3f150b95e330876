// A workspace imported by the CLI opens in the app with every partner, and filters by lifecycle.
// The screenshot it saves is the one in the README.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { cli, freshWorkspace, launchApp, rowCount, rowText, screenshot, waitForRow } from "./driver.mjs";

const sample = fileURLToPath(new URL("../fixtures/sample-workspace.json", import.meta.url));
const ws = freshWorkspace("sample");
let app;

before(async () => {
  cli(ws.db, ["import", sample]);
  app = await launchApp(ws.db);
  await waitForRow(app.browser, "Databricks Prod", "the imported workspace never appeared", 20_000);
});

after(async () => {
  await app?.stop();
});

test("an imported workspace shows every partner and filters by lifecycle", async () => {
  const { browser } = app;
  assert.equal(await rowCount(browser), 6);
  assert.match(await browser.$("#partner-count").getText(), /6 partners/);
  assert.match(await rowText(browser, "MLflow on Databricks"), /grace@example\.com/);
  await screenshot(browser, "catalogue-sample");
  await browser.$("#filter-lifecycle").selectByAttribute("value", "active");
  await browser.waitUntil(async () => (await rowCount(browser)) === 3, { timeout: 5_000, timeoutMsg: "lifecycle filter did not narrow to the 3 active partners" });
  assert.equal(await rowText(browser, "Kubeflow Pipelines"), null, "suspended partners are filtered out");
});
