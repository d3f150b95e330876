// Contract expiry alerts, end to end: the CLI records a contract whose notice deadline is ten
// days away; the app raises its most urgent due stage once, as one native notification (the
// test's fake-notifyd records it), shows the badge and the alert on the Contracts page, and
// Acknowledge clears it (audited, and seen by the CLI). A second contract far from its
// deadline raises nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, cliJson, freshWorkspace, launchApp, screenshot, startNotifyd, until, waitForRow } from "./driver.mjs";

const DUE = "Snowflake Analytics";
const LATER = "Datadog Monitoring";

/** Today plus `days`, as YYYY-MM-DD (UTC, as the app counts days). */
function day(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

describe("a contract near its notice deadline raises one alert, which Acknowledge clears", { timeout: 240_000 }, () => {
  const ws = freshWorkspace("contracts");
  let notifyd;
  let app;
  let browser;

  before(async () => {
    notifyd = await startNotifyd(ws.dir);
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["partner", "add", DUE, "--kind", "snowflake", "--endpoint", "https://acme-analytics.snowflakecomputing.com", "--owner", "grace"]);
    cli(ws.db, ["partner", "add", LATER, "--kind", "datadog", "--endpoint", "https://api.datadoghq.eu"]);
    // Notice deadline in 10 days: the 120-, 90-, 60- and 30-day stages are all due; only the
    // most urgent (30) is raised, the others are passed.
    cli(ws.db, ["contract", "set", DUE, "--start", day(-325), "--end", day(40), "--notice-days", "30", "--value", "120000", "--currency", "EUR"]);
    cli(ws.db, ["contract", "set", LATER, "--start", day(-10), "--end", day(700), "--notice-days", "60"]);

    app = await launchApp(ws.db);
    browser = app.browser;
    await waitForRow(browser, DUE, "the partners registered by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
    await notifyd?.stop();
  });

  test("one notification for the most urgent due stage, and the badge counts it", async () => {
    const [alert] = await until(
      () => notifyd.records().length > 0 && notifyd.records(),
      30_000,
      () => "no contract alert notification within 30 s",
    );
    assert.equal(alert.app_name, "Ecosystem");
    assert.match(alert.summary, new RegExp(`${DUE}`), alert.summary);
    assert.match(`${alert.summary} ${alert.body}`, new RegExp(day(10)), "it names the notice deadline");
    await browser.waitUntil(async () => (await browser.$("#alert-badge").isExisting()) && (await browser.$("#alert-badge").getText()) === "1", {
      timeout: 10_000,
      timeoutMsg: "the Contracts tab never showed one open alert",
    });
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(notifyd.records().length, 1, `each stage once: ${JSON.stringify(notifyd.records(), null, 2)}`);
  });

  test("the Contracts page lists the alert; Acknowledge clears it for the app and the CLI", async () => {
    await browser.$("#tab-contracts").click();
    const item = browser.$(`#alerts li[data-partner="${DUE}"]`);
    await item.waitForDisplayed({ timeout: 10_000, timeoutMsg: "the alert is not on the Contracts page" });
    assert.equal(await item.getAttribute("data-stage"), "30");
    assert.match(await item.getText(), new RegExp(`Give notice by ${day(10)} \\(in 10 days\\)`));
    const rows = await browser.$$("#expiring tbody tr");
    assert.equal(rows.length, 1, "only the contract due within 90 days is listed");

    await item.$("button=Renewal brief").click();
    await browser.$("#renewal-brief").waitForDisplayed({ timeout: 10_000 });
    assert.match(await browser.$("#brief-title").getText(), new RegExp(DUE));
    await assertAccessible(browser);
    await screenshot(browser, "contracts");

    await item.$("button=Acknowledge").click();
    await browser.$("#alerts-empty").waitForDisplayed({ timeout: 10_000, timeoutMsg: "the alert stayed open after Acknowledge" });
    await browser.waitUntil(async () => !(await browser.$("#alert-badge").isExisting()), {
      timeout: 10_000,
      timeoutMsg: "the badge stayed after the alert was acknowledged",
    });
    const open = cliJson(ws.db, ["contracts", "alerts"]);
    assert.deepEqual(open, [], "the CLI sees no open alert");
    const audit = JSON.parse(cli(ws.db, ["audit", "--format", "json"]));
    const acks = audit.filter((e) => e.subject === DUE && /ack/.test(e.action));
    assert.equal(acks.length, 1, `one audited acknowledgement: ${JSON.stringify(audit.slice(0, 5))}`);
    assert.equal(acks[0].actor, "e2e-app (app)");
  });
});
