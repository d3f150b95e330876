// The quarterly review, end to end: a partner with a hostile name and a contract is set up
// with the CLI, the Reports page previews its review for the last complete quarter, and
// "Export review…" opens the real folder dialog, which the test answers by typing a folder
// (xdotool, as a person would); the CSV written is parsed back and the HTML summary checked.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerFolderDialog, cli, freshWorkspace, launchApp, parseCsv, screenshot, waitForRow } from "./driver.mjs";

/** A name a spreadsheet would run and a page would render, were it not neutralised and escaped. */
const PARTNER = "=Acme <b>Review</b>";

describe("the quarterly review is previewed and exported through the folder dialog", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("review");
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["partner", "add", PARTNER, "--kind", "mlflow", "--endpoint", "https://mlflow.example.com"]);
    const year = new Date().getUTCFullYear();
    cli(ws.db, [
      "contract", "set", PARTNER,
      "--start", `${year - 1}-01-01`, "--end", `${year + 1}-12-31`,
      "--value", "120000.00", "--currency", "EUR",
    ]);
    app = await launchApp(ws.db);
    browser = app.browser;
    await waitForRow(browser, PARTNER, "the partner registered by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
  });

  test("the Reports page previews the review of the last complete quarter", async () => {
    await browser.$("#tab-reports").click();
    const figures = browser.$("#review-figures");
    await figures.waitForDisplayed({ timeout: 20_000, timeoutMsg: "the review never showed its figures" });
    assert.equal(await browser.$("#review-partner").getValue(), PARTNER);
    const quarter = await browser.$("#review-quarter").getValue();
    assert.match(quarter, /^\d{4}-Q[1-4]$/);
    const text = await figures.getText();
    assert.match(text, /Target\s*99\.9 %/, "the contract's target");
    assert.match(text, /Credit owed\s*0\.00 EUR/, "no credit without down time");
    await browser.$("#review-panel").scrollIntoView();
    await screenshot(browser, "quarterly-review");
  });

  test("Export review writes the CSV and the HTML summary into the folder picked", async () => {
    const folder = join(ws.dir, "reviews");
    mkdirSync(folder);
    const quarter = await browser.$("#review-quarter").getValue();
    await browser.$("#review-export").click();
    answerFolderDialog("Export the quarterly review to a folder", folder);
    const status = browser.$("#review-export-status");
    await browser.waitUntil(async () => /^Saved /.test(await status.getText()), {
      timeout: 30_000,
      timeoutMsg: "the export never said where it saved",
    });
    const csvPath = join(folder, `Acme-b-Review-b-${quarter}.csv`);
    const htmlPath = join(folder, `Acme-b-Review-b-${quarter}.html`);
    assert.equal(await status.getText(), `Saved ${csvPath} and ${htmlPath}`);
    assert.ok(existsSync(csvPath) && existsSync(htmlPath), "both files are in the folder picked");

    const text = readFileSync(csvPath, "utf8");
    assert.equal(text.charCodeAt(0), 0xfeff, "a UTF-8 BOM, so Excel reads it as UTF-8");
    const [header, ...rows] = parseCsv(text.slice(1));
    assert.deepEqual(header, ["section", "period", "item", "value", "unit"]);
    for (const row of rows) assert.equal(row.length, 5, `five cells a row: ${row}`);
    const find = (section, item) => rows.find((r) => r[0] === section && r[2] === item);
    assert.equal(find("partner", "name")[3], `'${PARTNER}`, "the hostile name is neutralised");
    assert.deepEqual(find("sla", "target").slice(3), ["99.9", "percent"]);
    assert.equal(find("review", "start")[1], quarter);
    assert.match(find("contract", "notice_deadline")[3], /^\d{4}-\d{2}-\d{2}$/, "ISO 8601 days");
    assert.equal(rows.filter((r) => r[0] === "uptime" && r[2] === "incidents").length, 3, "three months");

    const html = readFileSync(htmlPath, "utf8");
    assert.ok(html.startsWith("<!DOCTYPE html>"), basename(htmlPath));
    assert.ok(!html.includes("<script"), "no script in the summary");
    assert.ok(html.includes("=Acme &lt;b&gt;Review&lt;/b&gt;") && !html.includes(PARTNER), "the name is escaped");
    await screenshot(browser, "quarterly-review-exported");
  });
});
