// Planted secrets, end to end: partners of five kinds get credentials that carry a marker unique
// to this run (through the CLI's stdin, and one through the app's credential form), the app
// tests connections and polls, one partner fails auth with a second marker, every export is
// written, the CLI is made to fail with a backtrace, and every read command is answered. Then
// every byte the workspace holds (database and its -wal/-shm, the app's logs, the exports), the
// captured output of the app and the CLI, and the IPC answers and page texts are scanned for
// the markers, raw, base64 (any alignment) and URL-encoded, and for the basic-auth header. The
// scanner is first shown to find a marker planted on purpose, so the scan can fail.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  answerSaveDialog,
  CLI_BIN,
  freshWorkspace,
  launchApp,
  openTab,
  screenshot,
  startSim,
  waitForRow,
  waitForText,
} from "./driver.mjs";

/** The marker every stored secret carries, and the one only the wrong secret carries. */
const MARK = `planted-${randomBytes(8).toString("hex")}-secret`;
const WRONG_MARK = `planted-${randomBytes(8).toString("hex")}-wrong`;

const MLFLOW_USER = "sim-admin";
const SECRETS = {
  kubeflow: `kfp-${MARK}`,
  // "/" and "+" are form-encoded by the client (RFC 6749) and decoded by the simulator.
  databricksClientSecret: `oauth/${MARK}+x`,
  snowflake: `sf-${MARK}`,
  datadogApi: `dd-api-${MARK}`,
  datadogApp: `dd-app-${MARK}`,
  mlflowPassword: `pw:${MARK}&y`,
  wrong: `dapi-${WRONG_MARK}`,
  closedFirst: `kfp-closed-${MARK}`,
  closedSecond: `kfp-closed-2-${MARK}`,
};

/** Every byte string a leak could take: the markers and each secret raw, URL-encoded and in
 *  base64 (standard and URL-safe) at each of the three alignments, and the basic-auth pair. */
function needles() {
  const out = new Map();
  const add = (label, text) => {
    if (text.length >= 12 && !out.has(text)) out.set(text, label);
  };
  const base64At = (label, text) => {
    const bytes = Buffer.from(text, "utf8");
    for (let shift = 0; shift < 3; shift++) {
      const part = bytes.subarray(shift, shift + Math.floor((bytes.length - shift) / 3) * 3);
      add(`${label} in base64`, part.toString("base64"));
      add(`${label} in base64url`, part.toString("base64url"));
    }
  };
  for (const [label, text] of [["marker", MARK], ["wrong marker", WRONG_MARK], ...Object.entries(SECRETS)]) {
    add(label, text);
    add(`${label} URL-encoded`, encodeURIComponent(text));
    add(`${label} form-encoded`, new URLSearchParams({ v: text }).toString().slice(2));
    base64At(label, text);
  }
  add("basic auth header", Buffer.from(`${MLFLOW_USER}:${SECRETS.mlflowPassword}`).toString("base64"));
  return [...out].map(([text, label]) => ({ label, bytes: Buffer.from(text, "utf8") }));
}
const NEEDLES = needles();

const NOW = new Date();
const TODAY = NOW.toISOString().slice(0, 10);
const MONTH_AGO = new Date(NOW.getTime() - 30 * 86_400_000).toISOString().slice(0, 10);
const YEAR = NOW.getUTCFullYear();
const QUARTER = `${YEAR}-Q${Math.floor(NOW.getUTCMonth() / 3) + 1}`;

/** Every hit of a needle in `bytes`, as "<where> @ <offset>: <what>". */
function scanBytes(where, bytes) {
  const hits = [];
  for (const { label, bytes: needle } of NEEDLES) {
    const at = bytes.indexOf(needle);
    if (at >= 0) hits.push(`${where} @ byte ${at}: ${label}`);
  }
  return hits;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : [];
  });
}

/** Scans every file under `dir` and every captured text; returns the hits and the files read. */
function scanAll(dir, texts) {
  const files = filesUnder(dir);
  const hits = files.flatMap((f) => scanBytes(relative(dir, f), readFileSync(f)));
  for (const [where, text] of Object.entries(texts)) hits.push(...scanBytes(where, Buffer.from(text, "utf8")));
  return { hits, files };
}

function closedPort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

describe("planted secrets reach no file, log, export, error or IPC answer", { timeout: 420_000 }, () => {
  const ws = freshWorkspace("secrets");
  /** The simulator's config holds the secrets it accepts, so it lives outside the workspace. */
  const simDir = mkdtempSync(join(tmpdir(), "ecosystem-e2e-secrets-sim-"));
  const exportsDir = join(ws.dir, "exports");
  /** Everything the CLI and the page said, by where it came from. */
  const captured = {};
  let sim;
  let app;
  let browser;

  /** Runs the CLI with `input` on stdin and keeps its stdout and stderr for the scan. */
  function run(label, args, { input = "", env = {} } = {}) {
    const res = spawnSync(CLI_BIN, ["--db", ws.db, ...args], {
      input,
      encoding: "utf8",
      env: { ...process.env, USER: "e2e-cli", ...env },
    });
    captured[`cli ${label} stdout`] = res.stdout ?? "";
    captured[`cli ${label} stderr`] = res.stderr ?? "";
    return res;
  }

  function runOk(label, args, options) {
    const res = run(label, args, options);
    assert.equal(res.status, 0, `ecosystem ${args.join(" ")} failed: ${res.stderr}`);
    return res.stdout;
  }

  before(async () => {
    const config = join(simDir, "sim.json");
    writeFileSync(
      config,
      JSON.stringify({
        databricks: { tokens: ["dapi-sim-demo-token"], oauth_client_id: "ecosystem-e2e", oauth_client_secret: SECRETS.databricksClientSecret },
        snowflake: { oauth_tokens: [SECRETS.snowflake], pats: [SECRETS.snowflake] },
        kubeflow: { tokens: [SECRETS.kubeflow] },
        datadog: { api_keys: [SECRETS.datadogApi], app_keys: [SECRETS.datadogApp] },
        mlflow: { username: MLFLOW_USER, password: SECRETS.mlflowPassword },
      }),
    );
    sim = await startSim({ platforms: ["databricks", "snowflake", "kubeflow", "datadog", "mlflow"], config });
    const { urls } = sim;
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const partners = [
      ["Planted Kubeflow", "kubeflow", urls.kubeflow],
      ["Planted Databricks", "databricks", urls.databricks],
      ["Planted Snowflake", "snowflake", urls.snowflake],
      ["Planted Datadog", "datadog", urls.datadog],
      ["Planted MLflow", "mlflow", urls.mlflow],
      ["Wrong Databricks", "databricks", urls.databricks],
      ["Closed Kubeflow", "kubeflow", closed],
    ];
    for (const [name, kind, endpoint] of partners) {
      runOk(`add ${name}`, ["partner", "add", name, "--kind", kind, "--endpoint", endpoint, "--interval", "5", "--timeout", "3"]);
      runOk(`activate ${name}`, ["partner", "lifecycle", name, "activate"]);
    }
    runOk("contract", ["contract", "set", "Planted Databricks", "--start", `${YEAR}-01-01`, "--end", `${YEAR + 1}-12-31`, "--sla-target", "99.5"]);
    const set = (name, args, input) => runOk(`credential ${name}`, ["credential", "set", name, ...args], { input });
    set(
      "Planted Databricks",
      ["--type", "oauth_client_credentials", "--token-url", `${urls.databricks}/oidc/v1/token`, "--client-id", "ecosystem-e2e", "--scope", "all-apis"],
      `${SECRETS.databricksClientSecret}\n`,
    );
    set("Planted Snowflake", ["--type", "bearer"], `${SECRETS.snowflake}\n`);
    set("Planted Datadog", ["--type", "datadog_keys"], `${SECRETS.datadogApi}\n${SECRETS.datadogApp}\n`);
    set("Planted MLflow", ["--type", "basic", "--username", MLFLOW_USER], `${SECRETS.mlflowPassword}\n`);
    set("Wrong Databricks", ["--type", "bearer"], `${SECRETS.wrong}\n`);
    set("Closed Kubeflow", ["--type", "bearer"], `${SECRETS.closedFirst}\n`);
    // Debug logging from our own crates, so the scan reads as much as they ever print.
    app = await launchApp(ws.db, {
      RUST_LOG: "info,ecosystem_desktop=debug,ecosystem_core=debug,ecosystem_connectors=debug",
    });
    browser = app.browser;
    await waitForRow(browser, "Planted Kubeflow", "the partners added by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
    rmSync(simDir, { recursive: true, force: true });
  });

  test("a credential typed into the app's form passes its connection test; the wrong one is refused", async () => {
    await browser.$('#partner-table tr[data-partner-name="Planted Kubeflow"] td.name').click();
    await browser.$("#partner-detail").waitForDisplayed({ timeout: 10_000, timeoutMsg: "the partner's page never opened" });
    const token = browser.$("#credential-token");
    await token.waitForDisplayed({ timeout: 5_000 });
    await token.setValue(SECRETS.kubeflow);
    await browser.$("#credential-save").click();
    await waitForText(browser, "#credential-status", /Saved/, "the credential typed into the form was not saved");
    await browser.$("#test-connection").click();
    const result = await waitForText(browser, "#connection-result", /Healthy|Unhealthy|Degraded/, "the connection test never finished", 30_000);
    assert.match(result, /Healthy/, "the planted token is the one the platform accepts");
    captured["partner page (Kubeflow)"] = await browser.execute(() => document.body.innerText);
    await screenshot(browser, "secrets-credential-form");
    await browser.$("#partner-back").click();
    await browser.$("#partner-detail").waitForExist({ reverse: true, timeout: 5_000 });

    await browser.$('#partner-table tr[data-partner-name="Wrong Databricks"] td.name').click();
    await browser.$("#partner-detail").waitForDisplayed({ timeout: 10_000 });
    await browser.$("#test-connection").click();
    const wrong = await waitForText(browser, "#connection-result", /Unhealthy/, "the wrong secret was not refused", 30_000);
    assert.match(wrong, /credentials_rejected/);
    captured["partner page (wrong secret)"] = await browser.execute(() => document.body.innerText);
    await browser.$("#partner-back").click();
    await browser.$("#partner-detail").waitForExist({ reverse: true, timeout: 5_000 });
  });

  test("the CLI checks, collects and exports everything while the app polls", async () => {
    const states = {};
    for (const name of ["Planted Kubeflow", "Planted Databricks", "Planted Snowflake", "Planted Datadog", "Planted MLflow", "Wrong Databricks", "Closed Kubeflow"]) {
      const res = run(`check ${name}`, ["check", name, "--format", "json"]);
      assert.ok(res.status === 0 || res.status === 3, `check ${name} ended with ${res.status}: ${res.stderr}`);
      states[name] = JSON.parse(res.stdout).state;
    }
    for (const name of ["Planted Kubeflow", "Planted Databricks", "Planted Snowflake", "Planted Datadog", "Planted MLflow"]) {
      assert.notEqual(states[name], "unhealthy", `${name} passes with its planted credential: ${JSON.stringify(states)}`);
    }
    assert.equal(states["Wrong Databricks"], "unhealthy");
    assert.equal(states["Closed Kubeflow"], "unhealthy");
    // Some partners fail on purpose, so collection may end non-zero; its output is scanned.
    run("usage collect", ["usage", "collect", "--days", "3"]);

    mkdirSync(exportsDir, { recursive: true });
    runOk("report usage", ["report", "usage", "--from", MONTH_AGO, "--to", TODAY, "--format", "csv", "--output", join(exportsDir, "usage.csv")]);
    runOk("export", ["export", join(exportsDir, "workspace.json")]);
    runOk("report quarterly", ["report", "quarterly", "--partner", "Planted Databricks", "--quarter", QUARTER, "--output-dir", exportsDir]);
    runOk("sla csv", ["sla", "--format", "csv"]);
    runOk("audit json", ["audit", "--limit", "500", "--format", "json"]);
    runOk("credential list", ["credential", "list", "--format", "json"]);
    runOk("partner list", ["partner", "list"]);
    assert.ok(readdirSync(exportsDir).some((f) => f.endsWith(".html")), `the quarterly review files: ${readdirSync(exportsDir)}`);

    // Errors: a bad argument, and a replacement verified against a closed port, with backtraces.
    const bad = run("bad argument", ["credential", "set", "Closed Kubeflow", "--type", "nonsense"], { input: `${SECRETS.closedSecond}\n` });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /nonsense/);
    const closed = run("closed port", ["credential", "set", "Closed Kubeflow", "--type", "bearer"], {
      input: `${SECRETS.closedSecond}\n`,
      env: { RUST_BACKTRACE: "1", RUST_LOG: "debug" },
    });
    assert.notEqual(closed.status, 0, `the replacement against a closed port was refused: ${closed.stdout}`);
    assert.match(closed.stderr, /failed verification.*Connection refused/, "the error is explained on stderr");

    // The app polls every active partner every 5 s; let it go round a few times.
    await browser.pause(15_000);
  });

  test("the audit log is exported through the app's save dialog", async () => {
    await openTab(browser, "audit");
    await browser.$("#audit-export").waitForDisplayed({ timeout: 10_000 });
    await browser.$("#audit-export").click();
    answerSaveDialog("Export the audit log as CSV", join(exportsDir, "audit.csv"));
    await waitForText(browser, "#audit-export-status", /Saved [\d,]+ entries to/, "the audit export never said it was saved", 30_000);
    captured["audit page"] = await browser.execute(() => document.body.innerText);
    await screenshot(browser, "secrets-audit");
  });

  test("every read command answers the page without a secret", async () => {
    const names = ["Planted Kubeflow", "Planted Databricks", "Planted Snowflake", "Planted Datadog", "Planted MLflow", "Wrong Databricks", "Closed Kubeflow"];
    const calls = [
      ["list_partners", { filter: { capabilities: [], tags: [] } }],
      ["catalogue_ids", { filter: { capabilities: [], tags: [] }, health: null }],
      ["partner_facets", {}],
      ["workspace_info", {}],
      ["health_overview", {}],
      ["overview", {}],
      ["list_settings", {}],
      ["audit_log", { query: { limit: 500 } }],
      ["contract_alerts", { all: true }],
      ["expiring_contracts", { withinDays: 3650 }],
      ["demo_status", {}],
      ["usage_report", { query: { from: MONTH_AGO, to: TODAY }, chartMetric: null }],
      ["quarterly_review", { partner: "Planted Databricks", quarter: QUARTER }],
      ...names.flatMap((name) => [
        ["partner_detail", { name }],
        ["partner_page", { name }],
        ["partner_health", { name, range: "24h" }],
        ["partner_sla", { name }],
      ]),
      ["test_connection", { partner: "Planted MLflow" }],
      ["test_connection", { partner: "Wrong Databricks" }],
    ];
    for (const [command, args] of calls) {
      const answer = await browser.executeAsync((cmd, a, done) => {
        window.__TAURI_INTERNALS__
          .invoke(cmd, a)
          .then((value) => done({ ok: true, value }))
          .catch((error) => done({ ok: false, error }));
      }, command, args);
      const text = JSON.stringify(answer);
      captured[`ipc ${command} ${JSON.stringify(args)}`] = text;
      assert.ok(answer.ok, `${command} answered an error: ${text}`);
    }
    for (const page of ["overview", "partners", "contracts", "reports", "settings"]) {
      await openTab(browser, page);
      await browser.pause(1_000);
      captured[`page ${page}`] = await browser.execute(() => document.body.innerText + document.body.innerHTML);
    }
  });

  test("the scanner finds a marker planted on purpose among the files it reads", () => {
    const scratch = join(ws.dir, "xdg-data", "planted-scratch.txt");
    const encoded = join(ws.dir, "xdg-data", "planted-scratch.b64");
    mkdirSync(join(ws.dir, "xdg-data"), { recursive: true });
    writeFileSync(scratch, `nothing here ${MARK} but this\n`);
    writeFileSync(encoded, Buffer.from(`Authorization: Basic x${MARK}`).toString("base64"));
    try {
      const { hits } = scanAll(ws.dir, { "planted text": `a line with ${encodeURIComponent(SECRETS.mlflowPassword)} in it` });
      assert.ok(hits.includes("xdg-data/planted-scratch.txt @ byte 13: marker"), `the planted file was found: ${hits}`);
      assert.ok(
        hits.some((h) => h.startsWith("xdg-data/planted-scratch.b64 @ byte ") && h.endsWith(": marker in base64")),
        `the planted base64 was found: ${hits}`,
      );
      assert.ok(hits.includes("planted text @ byte 12: mlflowPassword URL-encoded"), `the planted text was found: ${hits}`);
    } finally {
      rmSync(scratch);
      rmSync(encoded);
    }
  });

  test("no secret is in the database, the logs, the exports, the output or the IPC answers", async (t) => {
    captured["app and driver output"] = app.log();
    captured["page at the end"] = await browser.execute(() => document.body.innerText);
    const { hits, files } = scanAll(ws.dir, captured);
    const names = files.map((f) => relative(ws.dir, f));
    // The scan covers what it claims to.
    for (const expected of ["ecosystem.db", "exports/usage.csv", "exports/workspace.json", "exports/audit.csv"]) {
      assert.ok(names.includes(expected), `${expected} was scanned: ${names}`);
    }
    assert.ok(names.some((n) => n.startsWith("xdg-data/") && /log/.test(n)), `the app's log files were scanned: ${names}`);
    assert.match(captured["app and driver output"], /registry opened/, "the app's own output is captured");
    const logs = names.filter((n) => n.startsWith("xdg-data/") && n.endsWith(".log"));
    const logText = logs.map((n) => readFileSync(join(ws.dir, n), "utf8")).join("");
    assert.match(logText, /partner=Wrong Databricks .*credentials_rejected/, "the failed-auth path was logged");
    assert.match(logText, /credential stored/, "the credential set in the app was logged");
    assert.ok(Object.keys(captured).filter((k) => k.startsWith("ipc ")).length > 30, "the IPC answers are captured");
    assert.deepEqual(hits, [], `secrets leaked:\n${hits.join("\n")}`);
    const bytes = names.reduce((sum, n) => sum + statSync(join(ws.dir, n)).size, 0);
    const textBytes = Object.values(captured).reduce((sum, t) => sum + Buffer.byteLength(t), 0);
    t.diagnostic(`secrets scan: ${names.length} files (${bytes} bytes), ${Object.keys(captured).length} captured texts (${textBytes} bytes), ${NEEDLES.length} needles`);
  });
});
