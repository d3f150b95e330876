// The usage report, end to end: the CLI collects a Kubeflow partner's usage from partner-sim,
// the app's Reports page shows the report with its chart, and "Export CSV…" opens the real
// save dialog, which the test answers by typing a path (xdotool, as a person would); the file
// written is parsed as RFC 4180 CSV and must hold what the report shows.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  answerSaveDialog,
  assertAccessible,
  cli,
  CLI_BIN,
  freshWorkspace,
  launchApp,
  parseCsv,
  screenshot,
  startSim,
  waitForRow,
} from "./driver.mjs";

const PARTNER = "Kubeflow Pipelines";
/** A second partner on the same simulator, so the partner filter has something to leave out. */
const OTHER = "Kubeflow Research";
const TOKEN = "kfp-sim-token";

describe("a usage report is shown with its chart and exported through the save dialog", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("reports");
  let sim;
  let app;
  let browser;

  before(async () => {
    sim = await startSim();
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["partner", "add", PARTNER, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "premium"]);
    cli(ws.db, ["partner", "add", OTHER, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "standard"]);
    for (const name of [PARTNER, OTHER]) {
      cli(ws.db, ["partner", "lifecycle", name, "activate"]);
      execFileSync(CLI_BIN, ["--db", ws.db, "credential", "set", name, "--type", "bearer", "--skip-verify"], {
        input: `${TOKEN}\n`,
        encoding: "utf8",
      });
    }
    cli(ws.db, ["usage", "collect", "--days", "20"]);
    app = await launchApp(ws.db);
    browser = app.browser;
    await waitForRow(browser, PARTNER, "the partner registered by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test("the Reports page shows the totals, the change and a chart drawn in Rust", async () => {
    await browser.$("#tab-reports").click();
    const totals = browser.$("#report-totals");
    await totals.waitForDisplayed({ timeout: 15_000, timeoutMsg: "the report never showed its totals" });
    const text = await totals.getText();
    assert.match(text, new RegExp(PARTNER), "grouped by partner");
    assert.match(text, /kubeflow\.runs_created/, "the platform's own metric");
    const src = await browser.$("#report-chart").getAttribute("src");
    assert.match(src, /^data:image\/svg\+xml/, "the chart is the SVG drawn by ecosystem-charts");
    assert.match(decodeURIComponent(src), new RegExp(PARTNER), "the chart names its series");
    await assertAccessible(browser);
    await screenshot(browser, "reports");
  });

  test("Export CSV writes the report where the save dialog says, as a CSV a parser reads back", async () => {
    const target = join(ws.dir, "usage export.csv");
    await browser.$("#report-export").click();
    answerSaveDialog("Export usage as CSV", target);
    await browser.waitUntil(async () => /Saved [\d,]+ rows to/.test(await browser.$("#report-export-status").getText()), {
      timeout: 30_000,
      timeoutMsg: "the export never said it was saved",
    });
    assert.ok(existsSync(target), `the file is where the dialog said: ${target}`);
    const status = await browser.$("#report-export-status").getText();
    const saved = Number(/Saved ([\d,]+) rows/.exec(status)[1].replaceAll(",", ""));

    const text = readFileSync(target, "utf8");
    assert.equal(text.charCodeAt(0), 0xfeff, "a UTF-8 BOM, so Excel reads it as UTF-8");
    const [header, ...rows] = parseCsv(text.slice(1));
    assert.deepEqual(header, ["group", "metric", "unit", "bucket_start", "days", "value"]);
    assert.equal(rows.length, saved, "as many rows as the app said");
    for (const row of rows) {
      assert.equal(row.length, 6, `every row has six cells: ${row}`);
      assert.match(row[3], /^\d{4}-\d{2}-\d{2}$/, "ISO 8601 dates");
      assert.ok(Number.isFinite(Number(row[5])), `plain numbers: ${row[5]}`);
    }
    const runs = rows.filter((r) => r[0] === PARTNER && r[1] === "kubeflow.runs_created");
    assert.ok(runs.length > 0, "the partner's runs are in the file");
  });

  test("one partner picked in the filter: the table and the chart show only that partner", async (t) => {
    const before = await browser.$("#report-totals").getText();
    assert.match(before, new RegExp(OTHER), "every partner to begin with");
    const select = browser.$("#report-partner");
    await browser.waitUntil(async () => (await select.$$("option")).length === 3, {
      timeout: 10_000,
      timeoutMsg: "the partner filter never listed the partners",
    });
    await select.selectByVisibleText(PARTNER);
    const oldSrc = await browser.$("#report-chart").getAttribute("src");
    const pressed = performance.now();
    await browser.$("#report-run").click();
    // Printed, never asserted: from pressing Show to the chart image decoded on screen.
    await browser.waitUntil(
      async () =>
        browser.execute((old) => {
          const img = document.querySelector("#report-chart");
          return img !== null && img.getAttribute("src") !== old && img.complete && img.naturalWidth > 0;
        }, oldSrc),
      { timeout: 15_000, interval: 10, timeoutMsg: "the chart never redrew for the partner" },
    );
    t.diagnostic(`reports page: Show to chart loaded in ${Math.round(performance.now() - pressed)} ms`);
    // The chart comes first; the table follows from the whole report.
    let groups = [];
    await browser.waitUntil(
      async () => {
        groups = await browser.$$("#report-totals tbody tr td:first-child").map((td) => td.getText());
        return groups.length > 0 && !groups.includes(OTHER);
      },
      { timeout: 15_000, timeoutMsg: `the totals never showed only ${PARTNER}: ${groups.join(", ")}` },
    );
    assert.deepEqual([...new Set(groups)], [PARTNER], "only the partner picked");
    const chart = decodeURIComponent(await browser.$("#report-chart").getAttribute("src"));
    assert.match(chart, new RegExp(PARTNER));
    assert.doesNotMatch(chart, new RegExp(OTHER), "the chart leaves the other partner out");
    assert.match(await browser.$("#report-chart").getAttribute("alt"), new RegExp(`for ${PARTNER}$`));
  });

  test("Save chart writes the chart shown as an SVG file where the save dialog says", async () => {
    const target = join(ws.dir, "usage chart.svg");
    await browser.$("#report-chart-format").selectByAttribute("value", "svg");
    await browser.$("#report-save-chart").click();
    answerSaveDialog("Save chart as SVG", target);
    await browser.waitUntil(async () => /Saved the chart to/.test(await browser.$("#report-chart-status").getText()), {
      timeout: 30_000,
      timeoutMsg: "the chart was never saved",
    });
    assert.ok(existsSync(target), `the file is where the dialog said: ${target}`);
    const svg = readFileSync(target, "utf8");
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, "an SVG document");
    assert.match(svg.trimEnd(), /<\/svg>$/, "written whole");
    assert.match(svg, new RegExp(PARTNER), "the chart of the partner picked");
    assert.doesNotMatch(svg, new RegExp(OTHER));
    await browser.$("#report-chart").scrollIntoView({ block: "center" });
    await screenshot(browser, "reports-chart-saved");
  });
});
