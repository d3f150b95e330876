// The real app under Xvfb and the real CLI on one SQLite file: what one writes, the other sees.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, cliJson, freshWorkspace, launchApp, rowCount, rowText, screenshot, waitForRow } from "./driver.mjs";

describe("the desktop catalogue and the CLI share one database", () => {
  const ws = freshWorkspace("catalogue");
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["partner", "add", "Seed Databricks", "--kind", "databricks", "--endpoint", "https://dbc.example.com", "--tier", "strategic", "--capability", "jobs"]);
    app = await launchApp(ws.db);
    browser = app.browser;
    await waitForRow(browser, "Seed Databricks", "the seeded partner never appeared", 20_000);
  });

  after(async () => {
    await app?.stop();
  });

  test("a partner added through the form is listed by the CLI", async () => {
    const name = `Form "Partner" ☃ =1+1`;
    await browser.$("#add-partner-open").click();
    const form = browser.$("#add-partner-form");
    await form.waitForDisplayed({ timeout: 5_000 });
    await browser.$("#partner-name").setValue(name);
    await browser.$("#partner-kind").selectByAttribute("value", "mlflow");
    await browser.$("#partner-endpoint").setValue("http://127.0.0.1:5000");
    await browser.$("#partner-tier").selectByAttribute("value", "premium");
    await browser.$("#partner-owner").setValue("grace");
    await browser.$("#partner-capabilities").setValue("experiments, model-registry");
    await browser.$("#partner-tags").setValue("eu");
    await browser.$("#partner-depends-on").selectByAttribute("value", "Seed Databricks");
    await assertAccessible(browser);
    await screenshot(browser, "add-partner-form");
    await browser.$("#partner-submit").click();
    await waitForRow(browser, name, "the new partner never appeared in the table");

    const listed = cliJson(ws.db, ["partner", "list"]).find((p) => p.name === name);
    assert.ok(listed, "the CLI lists the partner added in the window");
    assert.equal(listed.kind, "mlflow");
    assert.equal(listed.tier, "premium");
    assert.equal(listed.owner, "grace");
    assert.deepEqual(listed.capabilities, ["experiments", "model-registry"]);
    assert.deepEqual(listed.tags, ["eu"]);
    assert.equal(listed.depends_on, "Seed Databricks");
    assert.equal(listed.lifecycle, "onboarding");
    const audit = cliJson(ws.db, ["audit", "--partner", name]);
    assert.equal(audit[0].actor, "e2e-app (app)", "the app records its OS user, and that it was the app, in the audit log");
  });

  test("the form refuses a bad endpoint and nothing is saved", async () => {
    await browser.$("#add-partner-open").click();
    await browser.$("#add-partner-form").waitForDisplayed({ timeout: 5_000 });
    await browser.$("#partner-name").setValue("Not Saved");
    await browser.$("#partner-kind").selectByAttribute("value", "http");
    await browser.$("#partner-endpoint").setValue("ftp://files.example.com");
    await browser.$("#partner-submit").click();
    const error = browser.$('[data-error-for="endpoint"]');
    await error.waitUntil(async () => (await error.getText()).length > 0, { timeout: 5_000, timeoutMsg: "no endpoint error shown" });
    assert.equal(await browser.$("#partner-endpoint").getAttribute("aria-invalid"), "true");
    await assertAccessible(browser);
    await screenshot(browser, "add-partner-validation");
    await browser.$("#partner-cancel").click();
    assert.equal(cliJson(ws.db, ["partner", "list"]).some((p) => p.name === "Not Saved"), false);
  });

  test("the form shows the registry's refusal of a duplicate name", async () => {
    await browser.$("#add-partner-open").click();
    await browser.$("#add-partner-form").waitForDisplayed({ timeout: 5_000 });
    await browser.$("#partner-name").setValue("Seed Databricks");
    await browser.$("#partner-kind").selectByAttribute("value", "databricks");
    await browser.$("#partner-endpoint").setValue("https://other.example.com");
    await browser.$("#partner-submit").click();
    const error = browser.$('[data-error-for="name"]');
    await error.waitUntil(async () => (await error.getText()).includes("already exists"), { timeout: 5_000, timeoutMsg: "duplicate not reported on the name field" });
    await browser.$("#partner-cancel").click();
    assert.equal(cliJson(ws.db, ["partner", "list"]).filter((p) => p.name === "Seed Databricks").length, 1);
  });

  test("a partner added by the CLI appears in the window after a refresh", async () => {
    const name = "CLI Datadog <b>bold</b>";
    cli(ws.db, ["partner", "add", name, "--kind", "datadog", "--endpoint", "https://api.datadoghq.com", "--capability", "metrics", "--tag", "us1"]);
    await browser.$("#refresh").click();
    await waitForRow(browser, name, "the CLI's partner never appeared after refresh");
    assert.ok((await rowText(browser, name)).includes(name), "the name is shown as text, not markup");
    assert.match(await browser.$("#partner-count").getText(), /3 partners/);
  });

  test("search and filters narrow the catalogue", async () => {
    // Each step waits for the one row it expects, not just for one row: the previous step's
    // single row would satisfy a bare count.
    const onlyRow = (name, what) =>
      browser.waitUntil(async () => (await rowCount(browser)) === 1 && (await rowText(browser, name)) !== null, {
        timeout: 5_000,
        timeoutMsg: `${what} did not narrow to ${name}`,
      });
    await browser.$("#filter-kind").selectByAttribute("value", "datadog");
    await onlyRow("CLI Datadog <b>bold</b>", "the kind filter");
    await browser.$("#filter-kind").selectByAttribute("value", "");
    await browser.$("#filter-capability").selectByAttribute("value", "jobs");
    await onlyRow("Seed Databricks", "the capability filter");
    await browser.$("#filter-capability").selectByAttribute("value", "");
    await browser.$("#search").setValue("form");
    await onlyRow(`Form "Partner" ☃ =1+1`, "the search");
    await browser.$("#search").click();
    await browser.keys(["Control", "a"]);
    await browser.keys("Backspace");
    await browser.waitUntil(async () => (await rowCount(browser)) === 3, { timeout: 5_000, timeoutMsg: "clearing the search did not bring all back" });
    await assertAccessible(browser);
    await screenshot(browser, "catalogue");
  });
});
