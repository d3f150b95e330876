// The partner page beyond the record, in the real app: usage over the last 30 days with its
// chart (collected from partner-sim by the real CLI), the contract with its notice deadline,
// value and alert stage and a way to the Contracts page, each capability with when a
// connection test last verified it ("never verified" before one), and the audit trail.
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, CLI_BIN, freshWorkspace, launchApp, screenshot, startSim, waitForRow, waitForText } from "./driver.mjs";

const PARTNER = "Kubeflow Page";
const TOKEN = "kfp-sim-token";

/** Opens the partner's page from its catalogue row with the keyboard. */
async function openPage(browser) {
  await waitForRow(browser, PARTNER, "the partner is not listed");
  await browser.execute((name) => {
    Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"))
      .find((r) => r.getAttribute("data-partner-name") === name)
      ?.focus();
  }, PARTNER);
  await browser.keys("Enter");
  await browser.$("#partner-detail").waitForDisplayed({ timeout: 10_000 });
}

/** [capability, last verified text, data-verified] for each row of the Capabilities card. */
function capabilityRows(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll("#partner-capabilities tbody tr")).map((tr) => [
      tr.dataset.capability,
      tr.cells[1].textContent.trim(),
      tr.dataset.verified,
    ]),
  );
}

describe("the partner page shows usage, contract, capabilities verified and the audit trail", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("partner-page");
  let sim;
  let app;
  let browser;

  before(async () => {
    sim = await startSim();
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["partner", "add", PARTNER, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "premium", "--capability", "runs", "--capability", "lineage"]);
    cli(ws.db, ["partner", "lifecycle", PARTNER, "activate"]);
    execFileSync(CLI_BIN, ["--db", ws.db, "credential", "set", PARTNER, "--type", "bearer", "--skip-verify"], {
      input: `${TOKEN}\n`,
      encoding: "utf8",
    });
    cli(ws.db, ["usage", "collect", "--days", "20"]);
    // Ends in 100 days with 30 days' notice: the deadline is 70 days away, past the 90-day stage.
    const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    cli(ws.db, ["contract", "set", PARTNER, "--start", day(-265), "--end", day(100), "--notice-days", "30", "--value", "48000", "--currency", "EUR"]);
    app = await launchApp(ws.db);
    browser = app.browser;
    const tab = await browser.$("#tab-partners");
    if (await tab.isExisting()) await tab.click();
    await openPage(browser);
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test("usage of the last 30 days: a chart and a total per metric", async () => {
    await browser.$("#partner-usage-totals").waitForExist({ timeout: 20_000, timeoutMsg: "no usage table" });
    const metrics = await browser.execute(() =>
      Array.from(document.querySelectorAll("#partner-usage-totals tbody tr")).map((tr) => tr.dataset.metric),
    );
    assert.ok(metrics.length > 0, "at least one metric is listed");
    const chart = browser.$("#partner-usage-chart");
    assert.ok(await chart.isExisting(), "the chart is shown");
    assert.match(await chart.getAttribute("src"), /^data:image\/svg\+xml/);
    assert.match(await chart.getAttribute("alt"), /per day over the last 30 days/);
  });

  test("the contract: term, notice deadline, value and alert stage, with the way to the Contracts page", async () => {
    const text = await waitForText(browser, "#partner-contract", /48000/, "the contract's value is not shown");
    assert.match(text, /EUR/);
    assert.match(text, /give notice by \d{4}-\d{2}-\d{2}/);
    assert.match(text, /in 70 days/);
    assert.match(await browser.$("#partner-alert-stage").getText(), /90-day notice alert/);
    await browser.$("#partner-contract").scrollIntoView();
    await assertAccessible(browser);
    await screenshot(browser, "partner-page-contract");
    await browser.$("#partner-contract-open").click();
    await browser.$("#contracts-page").waitForDisplayed({ timeout: 10_000, timeoutMsg: "the link did not open the Contracts page" });
    await browser.$("#tab-partners").click();
    await browser.$("#partner-detail").waitForDisplayed({ timeout: 10_000 });
  });

  test("capabilities say never verified until a connection test verifies them, and the test is on the audit trail", async () => {
    await browser.$("#partner-capabilities").waitForExist({ timeout: 10_000 });
    const before = await capabilityRows(browser);
    assert.deepEqual(before, [
      ["runs", "never verified", "false"],
      ["lineage", "never verified", "false"],
    ]);

    await browser.$("#test-connection").click();
    await waitForText(browser, "#connection-result", /Healthy/, "the connection test did not pass", 30_000);
    // The page reads the record again after the test, without being reopened.
    await browser.waitUntil(async () => (await capabilityRows(browser)).some(([name, , verified]) => name === "runs" && verified === "true"), {
      timeout: 10_000,
      timeoutMsg: "the connection test did not mark runs verified",
    });
    const after = await capabilityRows(browser);
    assert.match(after.find(([name]) => name === "runs")[1], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    assert.deepEqual(after.find(([name]) => name === "lineage"), ["lineage", "never verified", "false"], "a capability no probe checks stays unverified");

    const actions = await browser.execute(() =>
      Array.from(document.querySelectorAll("#partner-audit tbody tr")).map((tr) => tr.dataset.action),
    );
    assert.equal(actions[0], "partner.connection_test", "the newest audit row is the connection test");
    for (const expected of ["partner.add", "contract.set"]) {
      assert.ok(actions.some((a) => a.startsWith(expected.split(".")[0])), `the trail holds ${expected}: ${actions.join(", ")}`);
    }
    const auditText = await browser.$("#partner-audit").getText();
    assert.ok(!auditText.includes(TOKEN), "no secret in the audit trail");
    await browser.$("#partner-audit").scrollIntoView();
    await assertAccessible(browser);
    await screenshot(browser, "partner-page-audit");
  });
});
