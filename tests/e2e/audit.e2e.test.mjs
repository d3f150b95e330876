// The Audit page, end to end: the real CLI registers partners (one named like a spreadsheet
// formula) and changes a setting 105 times, so the log holds more than one page. The page
// lists the entries newest first with who, what, when, subject and readable details, pages
// to the older ones, filters by subject and by action, and "Export CSV…" writes the filtered
// log where the save dialog says, with the formula neutralised. Nothing on the page edits the
// log. Keyboard and axe checks as on every page.
// Then changes made in the window itself (a partner added, edited, given a credential; a
// setting changed) show on the page and in its CSV as the app user's, in the app, with no
// secret anywhere.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerSaveDialog, assertAccessible, cli, freshWorkspace, launchApp, openPartnerPage, openTab, parseCsv, screenshot, waitForRow, waitForText } from "./driver.mjs";

const FORMULA = "=HYPERLINK(1)";

function rows(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll("#audit-table tbody tr")).map((tr) => ({
      action: tr.dataset.action,
      subject: tr.dataset.subject,
      cells: Array.from(tr.querySelectorAll("td")).map((td) => td.textContent.replace(/\s+/g, " ").trim()),
    })),
  );
}

/** Opens `name`'s page from the catalogue and its Edit form. */
async function openEditForm(browser, name) {
  await openPartnerPage(browser, name);
  await browser.$("#partner-edit").click();
  await browser.$("#edit-partner-form").waitForDisplayed({ timeout: 5_000 });
}

describe("the audit page lists, pages, filters and exports the log", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("audit");
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    for (const name of ["Acme MLflow", FORMULA]) {
      cli(ws.db, ["partner", "add", name, "--kind", "mlflow", "--endpoint", "https://mlflow.example.com"]);
    }
    for (let i = 1; i <= 105; i++) cli(ws.db, ["settings", "set", "notifications.resend_minutes", String(i)]);
    app = await launchApp(ws.db);
    browser = app.browser;
    await openTab(browser, "audit");
    await browser.$("#audit-table").waitForDisplayed({ timeout: 20_000, timeoutMsg: "the audit log never showed" });
  });

  after(async () => {
    await app?.stop();
  });

  test("newest first with who, what, when, subject and the details in words; older pages on demand", async () => {
    const first = await rows(browser);
    assert.equal(first.length, 100, "one page");
    assert.deepEqual(first[0].cells.slice(1, 4), ["e2e-cli (cli)", "setting.set", "notifications.resend_minutes"]);
    assert.match(first[0].cells[0], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    assert.equal(first[0].cells[4], "value: 105");
    assert.equal(await browser.$("#audit-page").$$("button*=Delete").length, 0, "nothing deletes");

    await browser.$("#audit-more").click();
    // 1 setting, 2 partners and 105 changes of one setting.
    await browser.waitUntil(async () => (await rows(browser)).length === 108, {
      timeout: 10_000,
      timeoutMsg: "the older entries never came",
    });
    const all = await rows(browser);
    assert.deepEqual(all.slice(-3).map((r) => r.subject), [FORMULA, "Acme MLflow", "health.poll_in_app"]);
    assert.equal(await browser.$("#audit-more").isExisting(), false, "no page after the last");
    await assertAccessible(browser, "#audit-page");
    await screenshot(browser, "audit");
  });

  test("filters by subject (typed, Enter) and by action", async () => {
    await browser.$("#audit-subject").setValue("Acme MLflow");
    await browser.keys(["Enter"]);
    await browser.waitUntil(async () => (await rows(browser)).length === 1, { timeout: 10_000, timeoutMsg: "the subject filter did not apply" });
    assert.equal((await rows(browser))[0].action, "partner.add");

    // Emptied by keyboard, as a person would (the input hears each key).
    await browser.$("#audit-subject").click();
    await browser.keys(["Control", "a"]);
    await browser.keys(["Backspace"]);
    await browser.$("#audit-action").selectByAttribute("value", "partner.add");
    await browser.waitUntil(async () => (await rows(browser)).length === 2, { timeout: 10_000, timeoutMsg: "the action filter did not apply" });
    assert.deepEqual((await rows(browser)).map((r) => r.subject), [FORMULA, "Acme MLflow"]);
    await screenshot(browser, "audit-filtered");
  });

  test("Export CSV writes the filtered log through the save dialog, formulas neutralised", async () => {
    const target = join(ws.dir, "audit export.csv");
    await browser.$("#audit-export").click();
    answerSaveDialog("Export the audit log as CSV", target);
    await browser.waitUntil(async () => /Saved 2 entries to/.test(await browser.$("#audit-export-status").getText()), {
      timeout: 30_000,
      timeoutMsg: "the export never said it was saved",
    });
    assert.ok(existsSync(target));
    const text = readFileSync(target, "utf8");
    assert.equal(text.charCodeAt(0), 0xfeff, "a UTF-8 BOM");
    const lines = text.slice(1).trim().split("\r\n");
    assert.equal(lines[0], "id,at,actor,action,entity,subject,detail");
    assert.equal(lines.length, 3);
    assert.match(lines[1], /,e2e-cli \(cli\),partner\.add,partner,'=HYPERLINK\(1\),/);
    assert.match(lines[2], /,e2e-cli \(cli\),partner\.add,partner,Acme MLflow,/);
  });
});

describe("changes made in the window are on the Audit log page and in its CSV", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("audit-ui");
  const PARTNER = "Audited Kubeflow";
  const TOKEN = `audit-e2e-token-${process.pid}-${Date.now()}`;
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    app = await launchApp(ws.db);
    browser = app.browser;
  });

  after(async () => {
    await app?.stop();
  });

  test("add, edit, set a credential and change a setting; each is listed and exported with who, what and when", async () => {
    // Add a partner through the form.
    await browser.$("#add-partner-open").click();
    await browser.$("#add-partner-form").waitForDisplayed({ timeout: 5_000 });
    await browser.$("#partner-name").setValue(PARTNER);
    await browser.$("#partner-kind").selectByAttribute("value", "kubeflow");
    await browser.$("#partner-endpoint").setValue("https://kubeflow.example.com");
    await browser.$("#partner-submit").click();
    await waitForRow(browser, PARTNER, "the new partner never appeared");

    // Open its page, edit the owner.
    await openEditForm(browser, PARTNER);
    await browser.$("#edit-partner-owner").setValue("Team Audit");
    await browser.$("#edit-partner-submit").click();
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 10_000 });
    await waitForText(browser, "#partner-fields", /Team Audit/, "the page does not show the new owner");

    // A first credential, stored as given.
    const token = browser.$("#credential-token");
    await token.waitForDisplayed({ timeout: 5_000 });
    await token.setValue(TOKEN);
    await browser.$("#credential-save").click();
    await waitForText(browser, "#credential-status", /Saved/, "the credential was not saved");

    // A setting.
    await openTab(browser, "settings");
    const input = await browser.$("#setting-health-default_interval_secs");
    await input.waitForDisplayed({ timeout: 10_000 });
    await input.clearValue();
    await input.setValue("45");
    await browser.keys(["Enter"]);
    await browser.waitUntil(async () => /health\.default_interval_secs\s+45/.test(cli(ws.db, ["settings", "list"])), {
      timeout: 10_000,
      timeoutMsg: "the setting never reached the database",
    });

    // The Audit log page: the four changes, newest first, by the app's user in the app.
    await openTab(browser, "audit");
    await browser.$("#audit-table").waitForDisplayed({ timeout: 20_000, timeoutMsg: "the audit log never showed" });
    const expected = [
      ["setting.set", "health.default_interval_secs"],
      ["credential.set", PARTNER],
      ["partner.update", PARTNER],
      ["partner.add", PARTNER],
    ];
    await browser.waitUntil(async () => (await rows(browser)).length === 5, { timeout: 10_000, timeoutMsg: "the page does not list the five entries" });
    const listed = await rows(browser);
    assert.deepEqual(
      listed.slice(0, 4).map((r) => [r.action, r.subject]),
      expected,
    );
    for (const row of listed.slice(0, 4)) {
      assert.equal(row.cells[1], "e2e-app (app)", `who and where: ${row.cells}`);
      assert.match(row.cells[0], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/, "when");
    }
    assert.deepEqual(listed[4].cells.slice(1, 4), ["e2e-cli (cli)", "setting.set", "health.poll_in_app"]);
    assert.match(listed[0].cells[4], /45/);
    assert.match(listed[2].cells[4], /Team Audit/);
    assert.match(listed[1].cells[4], /bearer/);
    assert.ok(!(await browser.execute(() => document.body.innerText)).includes(TOKEN), "the page shows no secret");
    await assertAccessible(browser, "#audit-page");

    // Export CSV: the same entries, with the full instant.
    const target = join(ws.dir, "changes.csv");
    await browser.$("#audit-export").click();
    answerSaveDialog("Export the audit log as CSV", target);
    await waitForText(browser, "#audit-export-status", /Saved 5 entries to/, "the export never said it was saved", 30_000);
    const text = readFileSync(target, "utf8");
    assert.ok(!text.includes(TOKEN), "the export holds no secret");
    const [header, ...records] = parseCsv(text.slice(1)).filter((r) => r.length > 1);
    assert.deepEqual(header, ["id", "at", "actor", "action", "entity", "subject", "detail"]);
    assert.deepEqual(
      records.slice(0, 4).map((r) => [r[3], r[5]]),
      expected,
    );
    for (const r of records.slice(0, 4)) {
      assert.equal(r[2], "e2e-app (app)");
      assert.match(r[1], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, "when, in UTC");
    }
    assert.equal(JSON.parse(records[0][6]).value, "45");
    assert.equal(JSON.parse(records[2][6]).owner, "Team Audit");
    assert.equal(JSON.parse(records[1][6]).type, "bearer");
  });

  test("renamed in the window, the partner's page keeps its whole trail", async () => {
    const RENAMED = `${PARTNER} EU`;
    await openTab(browser, "partners");
    await openEditForm(browser, PARTNER);
    await browser.$("#edit-partner-name").clearValue();
    await browser.$("#edit-partner-name").setValue(RENAMED);
    await browser.$("#edit-partner-submit").click();
    await browser.$("#edit-partner-form").waitForDisplayed({ reverse: true, timeout: 10_000 });
    const trail = () =>
      browser.execute(() => Array.from(document.querySelectorAll("#partner-audit tbody tr")).map((tr) => tr.dataset.action));
    await browser.waitUntil(async () => (await trail()).length === 4, {
      timeout: 10_000,
      timeoutMsg: "the renamed partner's page does not list its four entries",
    });
    assert.deepEqual(await trail(), ["partner.update", "credential.set", "partner.update", "partner.add"]);
    assert.match(await browser.$("#partner-audit").getText(), new RegExp(`renamed_from: ${PARTNER}`));
    await screenshot(browser, "audit-partner-trail-renamed");
  });
});
