// The Audit page, end to end: the real CLI registers partners (one named like a spreadsheet
// formula) and changes a setting 105 times, so the log holds more than one page. The page
// lists the entries newest first with who, what, when, subject and readable details, pages
// to the older ones, filters by subject and by action, and "Export CSV…" writes the filtered
// log where the save dialog says, with the formula neutralised. Nothing on the page edits the
// log. Keyboard and axe checks as on every page.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerSaveDialog, assertAccessible, cli, freshWorkspace, launchApp, openTab, screenshot } from "./driver.mjs";

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
    assert.deepEqual(first[0].cells.slice(1, 4), ["e2e-cli", "setting.set", "notifications.resend_minutes"]);
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
    assert.match(lines[1], /,e2e-cli,partner\.add,partner,'=HYPERLINK\(1\),/);
    assert.match(lines[2], /,e2e-cli,partner\.add,partner,Acme MLflow,/);
  });
});
