// Editing a partner from its page, in the real app: the Edit button opens a form filled from
// the stored partner; saving sends only what changed, the page and the CLI see the new values
// and the audit trail records the change; a bad value is shown at its field (by the form's own
// rules, or by the backend's) and nothing is stored; Cancel and Escape close without a change;
// a rename moves the page to the new name.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, cliJson, freshWorkspace, launchApp, openPartnerPage, screenshot, waitForText } from "./driver.mjs";

const PARTNER = "Edit Me";
const OTHER = "Other Partner";

/** Opens the edit form with the keyboard; resolves once it shows, with the focus inside. */
async function openEditForm(browser) {
  await browser.execute(() => document.getElementById("partner-edit")?.focus());
  await browser.keys("Enter");
  await browser.$("#edit-partner-form").waitForDisplayed({ timeout: 5_000 });
  await browser.waitUntil(
    () => browser.execute(() => document.getElementById("edit-partner-form")?.contains(document.activeElement) ?? false),
    { timeout: 5_000, timeoutMsg: "the focus is not in the edit form" },
  );
}

function activeId(browser) {
  return browser.execute(() => document.activeElement?.id ?? null);
}

function fieldError(browser, field) {
  return browser.execute((f) => document.querySelector(`#edit-partner-form [data-error-for="${f}"]`)?.textContent.trim() ?? "", field);
}

function stored(db, name) {
  return cliJson(db, ["partner", "show", name]);
}

describe("a partner is edited from its page", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("partner-edit");
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["partner", "add", OTHER, "--kind", "http", "--endpoint", "https://other.example.com/health"]);
    cli(ws.db, ["partner", "add", PARTNER, "--kind", "http", "--endpoint", "https://edit-me.example.com/health", "--owner", "Team A", "--tag", "eu", "--capability", "ingest", "--interval", "60", "--timeout", "10"]);
    app = await launchApp(ws.db);
    browser = app.browser;
    await openPartnerPage(browser, PARTNER);
  });

  after(async () => {
    await app?.stop();
  });

  test("the form starts from the stored partner, is accessible, and Escape closes it", async () => {
    await openEditForm(browser);
    assert.equal(await activeId(browser), "edit-partner-endpoint", "the focus starts on the endpoint");
    assert.equal(await browser.$("#edit-partner-endpoint").getValue(), "https://edit-me.example.com/health");
    assert.equal(await browser.$("#edit-partner-owner").getValue(), "Team A");
    assert.equal(await browser.$("#edit-partner-tags").getValue(), "eu");
    assert.equal(await browser.$("#edit-partner-interval").getValue(), "60");
    assert.match(await browser.$("#edit-partner-interval-hint").getText(), /within a few seconds/);
    assert.equal(await browser.$("#edit-partner-kind").isExisting(), false, "the kind is not edited here");
    await assertAccessible(browser, "#edit-partner-form");
    await screenshot(browser, "partner-edit-form");

    await browser.$("#edit-partner-owner").setValue("Someone Else");
    await browser.keys("Escape");
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 5_000 });
    assert.equal(await activeId(browser), "partner-edit", "the focus returns to the Edit button");
    assert.equal(stored(ws.db, PARTNER).owner, "Team A", "Escape stored nothing");

    await openEditForm(browser);
    assert.equal(await browser.$("#edit-partner-owner").getValue(), "Team A", "the form starts again from what is stored");
    await browser.$("#edit-partner-owner").setValue("Someone Else");
    await browser.$("#edit-partner-cancel").click();
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 5_000 });
    assert.equal(stored(ws.db, PARTNER).owner, "Team A", "Cancel stored nothing");
  });

  test("tier, owner, a tag and the interval are saved; the page, the CLI and the audit trail see them", async () => {
    await openEditForm(browser);
    await browser.$("#edit-partner-tier").selectByAttribute("value", "premium");
    await browser.$("#edit-partner-owner").setValue("Team B");
    await browser.$("#edit-partner-tags").setValue("eu, gpu");
    await browser.$("#edit-partner-interval").setValue("30");
    await browser.$("#edit-partner-submit").click();
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 10_000 });

    const fields = await waitForText(browser, "#partner-fields", /every 30 s/, "the page does not show the new interval");
    assert.match(fields, /Team B/);
    assert.match(fields, /gpu/);
    assert.match(await browser.$("#partner-detail .badges").getText(), /Premium/);

    const partner = stored(ws.db, PARTNER);
    assert.equal(partner.tier, "premium");
    assert.equal(partner.owner, "Team B");
    assert.deepEqual(partner.tags, ["eu", "gpu"]);
    assert.equal(partner.health_check.interval_secs, 30);
    assert.equal(partner.health_check.timeout_secs, 10, "an untouched field is kept");
    assert.deepEqual(partner.capabilities, ["ingest"], "an untouched field is kept");
    assert.equal(partner.endpoint, "https://edit-me.example.com/health");

    await browser.waitUntil(
      () => browser.execute(() => document.querySelector("#partner-audit tbody tr")?.dataset.action === "partner.update"),
      { timeout: 10_000, timeoutMsg: "the audit trail does not show the change" },
    );
    const row = await browser.$("#partner-audit tbody tr").getText();
    assert.match(row, /e2e-app/, "the change is the app user's");
    assert.match(row, /tier: premium/);
    assert.match(row, /interval_secs: 30/);
    assert.match(row, /Team B/);
    await browser.$("#partner-audit").scrollIntoView();
    await assertAccessible(browser);
    await screenshot(browser, "partner-edit-saved");
  });

  test("a bad value is shown at its field and nothing is stored", async () => {
    const before = stored(ws.db, PARTNER);
    await openEditForm(browser);

    await browser.$("#edit-partner-interval").setValue("0");
    await browser.$("#edit-partner-submit").click();
    await browser.waitUntil(async () => (await fieldError(browser, "interval")) !== "", { timeout: 5_000, timeoutMsg: "no error at the interval" });
    assert.match(await fieldError(browser, "interval"), /between 5 and 86400 seconds/);
    assert.equal(await activeId(browser), "edit-partner-interval", "the focus goes to the field at fault");
    assert.equal(await browser.$("#edit-partner-interval").getAttribute("aria-invalid"), "true");

    await browser.$("#edit-partner-interval").setValue("30");
    await browser.$("#edit-partner-endpoint").setValue("edit-me.example.com/health");
    await browser.$("#edit-partner-submit").click();
    await browser.waitUntil(async () => (await fieldError(browser, "endpoint")) !== "", { timeout: 5_000, timeoutMsg: "no error at the endpoint" });
    assert.match(await fieldError(browser, "endpoint"), /full URL/);
    assert.equal(await fieldError(browser, "interval"), "", "the interval is fine now");

    // The backend's refusal (a name already taken) comes back to the name field.
    await browser.$("#edit-partner-endpoint").setValue("https://edit-me.example.com/health");
    await browser.$("#edit-partner-name").setValue(OTHER);
    await browser.$("#edit-partner-submit").click();
    await browser.waitUntil(async () => (await fieldError(browser, "name")) !== "", { timeout: 10_000, timeoutMsg: "no error at the name" });
    assert.match(await fieldError(browser, "name"), /already exists/);
    assert.equal(await activeId(browser), "edit-partner-name");
    await assertAccessible(browser, "#edit-partner-form");
    await screenshot(browser, "partner-edit-error");

    await browser.keys("Escape");
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 5_000 });
    assert.deepEqual(stored(ws.db, PARTNER), before, "nothing was stored");
    assert.equal(stored(ws.db, OTHER).endpoint, "https://other.example.com/health");
  });

  test("a rename moves the page to the new name", async () => {
    await openEditForm(browser);
    await browser.$("#edit-partner-name").setValue("Edited Partner");
    // Emptied as a person would: select everything, then delete.
    await browser.$("#edit-partner-owner").click();
    await browser.keys(["Control", "a"]);
    await browser.keys("Backspace");
    await browser.$("#edit-partner-submit").click();
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 10_000 });
    await waitForText(browser, "#partner-detail-title", /^Edited Partner$/, "the heading keeps the old name");
    const renamed = stored(ws.db, "Edited Partner");
    assert.equal(renamed.owner, null, "a cleared owner is removed");
    assert.equal(renamed.tier, "premium");
    assert.throws(() => cli(ws.db, ["partner", "show", PARTNER]), "the old name is gone");
    await browser.waitUntil(
      () => browser.execute(() => document.getElementById("partner-fields")?.textContent.includes("no owner") ?? false),
      { timeout: 10_000, timeoutMsg: "the page still shows an owner" },
    );
    // The page's audit trail is read under the new name: the rename is its newest row.
    await browser.waitUntil(
      () => browser.execute(() => document.querySelector("#partner-audit tbody tr")?.textContent.includes("Edited Partner") ?? false),
      { timeout: 10_000, timeoutMsg: "the audit trail does not show the rename" },
    );
  });
});
