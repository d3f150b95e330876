// The usage report, end to end: the CLI collects a Kubeflow partner's usage from partner-sim,
// the app's Reports page shows the report with its chart, and "Export CSV…" opens the real
// save dialog, which the test answers by typing a path (xdotool, as a person would); the file
// written is parsed as RFC 4180 CSV and must hold what the report shows.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CLI_BIN, cli, freshWorkspace, launchApp, screenshot, startSim, waitForRow } from "./driver.mjs";

const PARTNER = "Kubeflow Pipelines";
const TOKEN = "kfp-sim-token";

/** RFC 4180: quoted fields with doubled quotes, CRLF or LF line ends. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += c;
    }
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Types `path` into the save dialog once it is up, and saves. */
function answerSaveDialog(path) {
  const window = execFileSync("xdotool", ["search", "--sync", "--name", "Export usage as CSV"], {
    encoding: "utf8",
    timeout: 20_000,
  })
    .trim()
    .split("\n")[0];
  execFileSync("xdotool", ["windowfocus", "--sync", window]);
  // The file name field has the focus; replace the suggested name with the whole path.
  execFileSync("xdotool", ["key", "--window", window, "ctrl+a"]);
  execFileSync("xdotool", ["type", "--window", window, "--delay", "20", path]);
  execFileSync("xdotool", ["key", "--window", window, "Return"]);
}

describe("a usage report is shown with its chart and exported through the save dialog", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("reports");
  let sim;
  let app;
  let browser;

  before(async () => {
    sim = await startSim();
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["partner", "add", PARTNER, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "premium"]);
    cli(ws.db, ["partner", "lifecycle", PARTNER, "activate"]);
    execFileSync(CLI_BIN, ["--db", ws.db, "credential", "set", PARTNER, "--type", "bearer", "--skip-verify"], {
      input: `${TOKEN}\n`,
      encoding: "utf8",
    });
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
    await screenshot(browser, "reports");
  });

  test("Export CSV writes the report where the save dialog says, as a CSV a parser reads back", async () => {
    const target = join(ws.dir, "usage export.csv");
    await browser.$("#report-export").click();
    answerSaveDialog(target);
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
});
