// The Settings page, end to end: the CLI stores one setting in a fresh workspace; the page
// lists every setting with its meaning, value and default, with an input fit for its kind;
// a refused value shows the error naming the setting and leaves the stored value; a saved
// value and a flipped switch reach the database (read back through the CLI) with their audit
// rows; the page is operable by keyboard and axe finds no violation.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, cliJson, freshWorkspace, launchApp, openTab, screenshot } from "./driver.mjs";

/** The row of `key`: [input type, input value, text]. */
function row(browser, key) {
  return browser.execute((k) => {
    const li = Array.from(document.querySelectorAll("#settings li[data-key]")).find((el) => el.dataset.key === k);
    if (!li) return null;
    const input = li.querySelector("input");
    return [input.getAttribute("role") ?? input.type, input.type === "checkbox" ? String(input.checked) : input.value, li.textContent.replace(/\s+/g, " ")];
  }, key);
}

/** The stored settings, read by the CLI. */
function stored(db) {
  return cli(db, ["settings", "list"]);
}

describe("the settings page shows every setting and saves changes through core", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("settings");
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    app = await launchApp(ws.db);
    browser = app.browser;
    await openTab(browser, "settings");
    await browser.$("#settings li[data-key]").waitForDisplayed({ timeout: 20_000, timeoutMsg: "no setting was listed" });
  });

  after(async () => {
    await app?.stop();
  });

  test("each setting shows its meaning, value, default and an input of its kind", async () => {
    const [kind, value, text] = await row(browser, "health.default_interval_secs");
    assert.equal(kind, "number");
    assert.equal(value, "60");
    assert.match(text, /seconds between health checks of a new partner/);
    assert.match(text, /A whole number from 5 to 86400/);
    assert.match(text, /Now: 60 \(default\)/);
    const [flagKind, flagValue, flagText] = await row(browser, "health.poll_in_app");
    assert.equal(flagKind, "switch");
    assert.equal(flagValue, "false", "the stored 0 shows as off");
    assert.match(flagText, /Default: 1/);
    assert.equal((await row(browser, "contracts.alert_stages"))[1], "120,90,60,30,7");
    assert.equal((await row(browser, "notifications.time_zone"))[1], "UTC");
    await assertAccessible(browser, "#settings-page");
    await screenshot(browser, "settings");
  });

  test("a refused value names the setting and stores nothing", async () => {
    const input = await browser.$("#setting-health-default_interval_secs");
    await input.clearValue();
    await input.setValue("2");
    await browser.$('li[data-key="health.default_interval_secs"] button[type="submit"]').click();
    const error = await browser.$("#setting-health-default_interval_secs-error");
    await error.waitForDisplayed({ timeout: 10_000, timeoutMsg: "the refusal was not shown" });
    assert.match(await error.getText(), /health\.default_interval_secs/);
    assert.match(stored(ws.db), /health\.default_interval_secs\s+-/, "nothing is stored");
    await assertAccessible(browser, "#settings-page");
    await screenshot(browser, "settings-refused");
  });

  test("saved values reach the database with an audit row, by keyboard too", async () => {
    const input = await browser.$("#setting-health-default_interval_secs");
    await input.clearValue();
    await input.setValue("30");
    await browser.keys(["Enter"]);
    await browser.waitUntil(async () => /health\.default_interval_secs\s+30/.test(stored(ws.db)), {
      timeout: 10_000,
      timeoutMsg: "the new interval never reached the database",
    });
    assert.equal(await browser.$("#setting-health-default_interval_secs-error").isExisting(), false, "the error is gone");

    // The switch: focus it, Space flips it, then Tab to its Save button and Enter.
    await browser.execute(() => document.getElementById("setting-health-poll_in_app").focus());
    await browser.keys(["Space"]);
    assert.equal((await row(browser, "health.poll_in_app"))[1], "true");
    await browser.keys(["Tab", "Enter"]);
    await browser.waitUntil(async () => /health\.poll_in_app\s+1/.test(stored(ws.db)), {
      timeout: 10_000,
      timeoutMsg: "the switch never reached the database",
    });
    const audit = cliJson(ws.db, ["audit", "--limit", "10"]);
    const actions = audit.filter((e) => e.action === "setting.set").map((e) => [e.subject, e.actor, JSON.parse(e.detail).value]);
    assert.deepEqual(actions.slice(0, 2), [
      ["health.poll_in_app", "e2e-app (app)", "1"],
      ["health.default_interval_secs", "e2e-app (app)", "30"],
    ]);
  });
});
