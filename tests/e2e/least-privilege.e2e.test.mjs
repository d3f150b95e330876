// Least privilege in the window, end to end, on the real app:
// 1. The page may call the app's own commands and listen to events, nothing else: plugin and
//    core commands it was not granted (files, shell, dialogs, windows, paths, emitting events)
//    are refused by Tauri's access control before any code runs.
// 2. Every command checks its input: wrong types, missing fields, unknown enum values, huge or
//    control-character text, out-of-range and overflowing numbers, impossible dates and file
//    names smuggled into arguments each get an error naming the problem, and nothing stored
//    changes (the CLI reads the partners, settings and audit log before and after).
// 3. The content security policy holds: visiting every tab raises no violation, an injected
//    inline <script> does not run, eval and new Function throw, and an HTML-looking partner
//    name is stored and shown as text.
import { existsSync, rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cli, cliJson, freshWorkspace, launchApp, openTab, waitForRow } from "./driver.mjs";

const VICTIM = "Victim Kubeflow";
const YEAR = new Date().getUTCFullYear();
const TABS = ["overview", "partners", "contracts", "reports", "matrix", "audit", "settings"];

/** Calls `cmd` through the page's IPC bridge; `{ok, value}` or `{ok: false, error}`. (The page
 *  answers with `failure`: WebKitWebDriver takes a result with an `error` key for its own.) */
async function invoke(browser, cmd, args) {
  const answer = await browser.executeAsync((c, a, done) => {
    window.__TAURI_INTERNALS__
      .invoke(c, a)
      .then((value) => done({ ok: true, value }))
      .catch((failure) => done({ ok: false, failure }));
  }, cmd, args);
  return answer.ok ? answer : { ok: false, error: answer.failure };
}

/** What the CLI reads of the workspace: partners, settings and the whole audit log. */
function snapshot(db) {
  return {
    partners: cliJson(db, ["partner", "list"]),
    contract: cli(db, ["contract", "show", VICTIM]),
    settings: cli(db, ["settings", "list"]),
    audit: cliJson(db, ["audit", "--limit", "100000"]),
  };
}

const errorText = (error) => (typeof error === "string" ? error : `${error?.code ?? ""} ${error?.field ?? ""} ${error?.message ?? ""}`);

describe("the window may do only what the app needs, and checks what it is sent", { timeout: 300_000 }, () => {
  let ws;
  let app;

  before(async () => {
    ws = freshWorkspace("least-privilege");
    cli(ws.db, ["partner", "add", VICTIM, "--kind", "kubeflow", "--endpoint", "https://kfp.example.com", "--owner", "ops"]);
    cli(ws.db, ["contract", "set", VICTIM, "--start", `${YEAR}-01-01`, "--end", `${YEAR + 1}-12-31`]);
    app = await launchApp(ws.db);
    await waitForRow(app.browser, VICTIM, "the partner added by the CLI never appeared", 30_000);
    // Collect every CSP violation the page reports from here on.
    await app.browser.execute(() => {
      window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
      });
    });
  });

  after(async () => {
    await app?.stop();
    if (ws) rmSync(ws.dir, { recursive: true, force: true });
  });

  test("commands the window was not granted are refused", async () => {
    const refused = [
      ["plugin:fs|read_file", { path: "/etc/passwd" }],
      ["plugin:shell|open", { path: "https://example.com" }],
      ["plugin:dialog|open", { options: { directory: false } }],
      ["plugin:dialog|save", { options: {} }],
      ["plugin:window|set_title", { label: "main", value: "pwned" }],
      ["plugin:window|close", { label: "main" }],
      ["plugin:webview|create_webview_window", { options: { label: "evil", url: "https://example.com" } }],
      ["plugin:path|resolve_directory", { directory: 11 }],
      ["plugin:app|version", {}],
      ["plugin:event|emit", { event: "open-partner", payload: { name: VICTIM } }],
      ["plugin:window-state|save_window_state", { flags: 63 }],
      ["plugin:single-instance|anything", {}],
      ["no_such_command", {}],
    ];
    for (const [cmd, args] of refused) {
      const answer = await invoke(app.browser, cmd, args);
      assert.equal(answer.ok, false, `${cmd} was allowed: ${JSON.stringify(answer)}`);
      assert.match(errorText(answer.error), /not allowed|not found|unknown|no such/i, `${cmd}: ${JSON.stringify(answer.error)}`);
    }
    // The registered plugins and core modules name the permission that was missing.
    for (const cmd of ["plugin:dialog|open", "plugin:window|set_title", "plugin:event|emit"]) {
      const answer = await invoke(app.browser, cmd, {});
      assert.match(errorText(answer.error), /not allowed/i, `${cmd}: ${JSON.stringify(answer.error)}`);
    }
    assert.equal(await app.browser.getTitle(), "Ecosystem", "the window's title is unchanged");
    // What the page does use still works: an app command and listening to events.
    const listed = await invoke(app.browser, "list_partners", { filter: { capabilities: [], tags: [] } });
    assert.ok(listed.ok, JSON.stringify(listed));
    assert.deepEqual(listed.value.map((p) => p.name), [VICTIM]);
    const listening = await app.browser.executeAsync((done) => {
      window.__TAURI_INTERNALS__
        .invoke("plugin:event|listen", { event: "health-changed", target: { kind: "Any" }, handler: window.__TAURI_INTERNALS__.transformCallback(() => {}) })
        .then((id) => done({ ok: true, id }))
        .catch((failure) => done({ ok: false, failure }));
    });
    assert.ok(listening.ok, `listening to events is granted: ${JSON.stringify(listening)}`);
  });

  test("hostile input to every kind of argument is refused by name and changes nothing", async (t) => {
    const before = snapshot(ws.db);
    const long = "x".repeat(100_000);
    const partner = (over) => ({
      name: "Hostile",
      kind: "kubeflow",
      endpoint: "https://h.example.com",
      tier: "standard",
      owner: null,
      capabilities: [],
      tags: [],
      depends_on: null,
      health_check: { interval_secs: 60, timeout_secs: 10 },
      ...over,
    });
    const change = (over) => ({
      name: null, endpoint: null, tier: null, owner: null, capabilities: null, tags: null,
      depends_on: null, interval_secs: null, timeout_secs: null, ...over,
    });
    const usage = (over) => ({ from: `${YEAR}-01-01`, to: `${YEAR}-01-31`, ...over });
    // [command, args, what the error must say]
    const cases = [
      ["add_partner", { partner: partner({ name: 42 }) }, /invalid type: integer `42`, expected a string/],
      ["add_partner", { partner: { name: "Hostile" } }, /missing field `kind`/],
      ["add_partner", {}, /missing required key partner/],
      ["add_partner", { partner: partner({ kind: "gopher" }) }, /unknown variant `gopher`/],
      ["add_partner", { partner: partner({ tier: "god-mode" }) }, /unknown variant `god-mode`/],
      ["add_partner", { partner: partner({ name: long }) }, /name.*100000 characters long; at most 120/],
      ["add_partner", { partner: partner({ name: "nul\u0000byte" }) }, /name.*control characters \(found U\+0000\)/],
      ["add_partner", { partner: partner({ name: "new\nline" }) }, /name.*control characters \(found U\+000A\)/],
      ["add_partner", { partner: partner({ name: "  padded " }) }, /name.*whitespace/],
      ["add_partner", { partner: partner({ name: VICTIM }) }, /already exists/],
      ["add_partner", { partner: partner({ endpoint: "file:///etc/passwd" }) }, /endpoint.*only http and https/],
      ["add_partner", { partner: partner({ endpoint: "javascript:alert(1)" }) }, /endpoint.*only http and https/],
      ["add_partner", { partner: partner({ endpoint: "https://u:p@h.example.com" }) }, /endpoint.*must not carry a user name or password/],
      ["add_partner", { partner: partner({ owner: long }) }, /owner.*at most/],
      ["add_partner", { partner: partner({ tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }) }, /tags?.*at most 64/],
      ["add_partner", { partner: partner({ health_check: { interval_secs: -5, timeout_secs: 1 } }) }, /invalid value: integer `-5`, expected u32/],
      ["add_partner", { partner: partner({ health_check: { interval_secs: 2 ** 32, timeout_secs: 1 } }) }, /invalid value: integer `4294967296`, expected u32/],
      ["add_partner", { partner: partner({ health_check: { interval_secs: 1, timeout_secs: 1 } }) }, /interval.*out of range/],
      ["update_partner", { name: VICTIM, change: change({ name: "Evil\u0000" }) }, /name.*control characters/],
      ["update_partner", { name: VICTIM, change: change({ interval_secs: 999_999 }) }, /interval.*out of range/],
      ["update_partner", { name: VICTIM, change: change({ endpoint: "ftp://x.example" }) }, /endpoint/],
      ["update_partner", { name: long, change: change({ tier: "premium" }) }, /name|no partner/],
      ["partner_detail", { name: "../../etc/passwd" }, /no partner named/],
      ["partner_health", { name: VICTIM, range: "forever" }, /unknown variant `forever`/],
      ["set_partner_paused", { name: VICTIM, paused: "yes" }, /invalid type: string "yes", expected a boolean/],
      ["expiring_contracts", { withinDays: -1 }, /invalid value: integer `-1`, expected u32/],
      ["expiring_contracts", { withinDays: 4_294_967_295 }, /within_days/],
      ["acknowledge_contract_alert", { partner: VICTIM, stage: -1 }, /expected u32/],
      ["snooze_contract", { partner: VICTIM, until: `${YEAR}-02-30` }, /until.*not a valid date/],
      ["snooze_contract", { partner: VICTIM, until: "../../etc/passwd" }, /until.*not a valid date/],
      ["snooze_contract", { partner: VICTIM, until: "+262143-12-31" }, /until/],
      ["renew_contract", { partner: VICTIM, newEnd: "99999-01-01" }, /new_end/],
      ["renew_contract", { partner: VICTIM, newEnd: "1800-01-01" }, /new_end.*year from 1900 to 9999/],
      ["update_setting", { key: "../../settings", value: "1" }, /unknown setting|no setting/i],
      ["update_setting", { key: "health.default_interval_secs", value: long }, /health\.default_interval_secs/],
      ["update_setting", { key: "health.default_interval_secs", value: "-30" }, /health\.default_interval_secs/],
      ["quarterly_review", { partner: VICTIM, quarter: `${YEAR}-Q9` }, /quarter/],
      ["usage_report", { query: usage({ from: `${YEAR}-13-01` }), chartMetric: null }, /from|date/],
      ["usage_report", { query: usage({ bucket: "fortnight" }), chartMetric: null }, /unknown variant `fortnight`/],
      ["usage_report", { query: usage({ from: "0001-01-01", to: "9999-12-31", bucket: "day" }), chartMetric: null }, /year from 1900 to 9999/],
      ["usage_report", { query: usage({ from: `${YEAR - 20}-01-01`, bucket: "day" }), chartMetric: null }, /at most \d+ days/],
      ["usage_report", { query: usage({ from: `${YEAR}-03-01` }), chartMetric: null }, /from|before|after|order/],
      ["audit_log", { query: { limit: 1_000_000 } }, /limit/],
      ["audit_log", { query: { since: "yesterday" } }, /since/],
      // A file name smuggled into an export is ignored: the export is refused before its
      // dialog (the only way a path is chosen), and nothing is written there.
      ["export_usage_chart", { query: usage({}), format: "exe", chartMetric: null, path: "/tmp/../tmp/evil.exe" }, /unknown chart format "exe"/],
      ["set_credential", { partner: VICTIM, input: { credential: { type: "root", token: "t" }, expires_on: null } }, /unknown variant `root`/],
      ["set_credential", { partner: VICTIM, input: { credential: { type: "bearer", token: "" }, expires_on: null } }, /token/],
      ["set_credential", { partner: VICTIM, input: { credential: { type: "bearer", token: "tok\u0000en" }, expires_on: null } }, /token/],
      ["set_credential", { partner: VICTIM, input: { credential: { type: "bearer", token: "valid-token-1234" }, expires_on: "someday" } }, /expires_on|expires/],
    ];
    const failures = [];
    for (const [cmd, args, expected] of cases) {
      const answer = await invoke(app.browser, cmd, args);
      const text = errorText(answer.error);
      t.diagnostic(`${cmd}: ${answer.ok ? "accepted" : text.slice(0, 200)}`);
      if (answer.ok) failures.push(`${cmd} ${JSON.stringify(args).slice(0, 120)} was accepted`);
      else if (!expected.test(text)) failures.push(`${cmd} ${JSON.stringify(args).slice(0, 120)}: ${text.slice(0, 300)}`);
      else if (text.length > 2_000) failures.push(`${cmd}: the error is ${text.length} characters long`);
    }
    assert.deepEqual(failures, [], `refusals that were missing or unclear:\n${failures.join("\n")}`);
    assert.equal(existsSync("/tmp/evil.exe"), false, "nothing was written where an argument pointed");
    // Search text is data, never query syntax: SQL and full-text operators find nothing and
    // break nothing.
    for (const text of ["'; DROP TABLE partners;--", 'NEAR("Victim" OR) *:^ "', "%_%", "\u0000"]) {
      const found = await invoke(app.browser, "list_partners", { filter: { capabilities: [], tags: [], text } });
      assert.ok(found.ok, `searching ${JSON.stringify(text)} failed: ${JSON.stringify(found)}`);
      assert.deepEqual(found.value, [], `searching ${JSON.stringify(text)}`);
    }
    // The app still answers normally after all of it.
    const listed = await invoke(app.browser, "list_partners", { filter: { capabilities: [], tags: [] } });
    assert.ok(listed.ok, `the app still answers: ${JSON.stringify(listed)}`);
    assert.deepEqual(snapshot(ws.db), before, "nothing stored changed");
  });

  test("the content security policy blocks inline script and eval, and the tabs raise no violation", async (t) => {
    const { browser } = app;
    for (const tab of TABS) {
      await openTab(browser, tab);
      await browser.pause(500);
    }
    await openTab(browser, "partners");
    const probe = await browser.executeAsync((done) => {
      const result = {};
      window.__injected = false;
      const script = document.createElement("script");
      script.textContent = "window.__injected = true;";
      document.body.appendChild(script);
      try {
        result.eval = String(window.eval("1 + 1"));
      } catch (e) {
        result.eval = `threw ${e.name}`;
      }
      try {
        result.fn = String(new Function("return 2")());
      } catch (e) {
        result.fn = `threw ${e.name}`;
      }
      const img = document.createElement("img");
      img.src = "https://example.com/beacon.png";
      document.body.appendChild(img);
      // Violations are reported asynchronously.
      setTimeout(() => {
        result.injected = window.__injected;
        result.violations = window.__cspViolations.slice();
        script.remove();
        img.remove();
        done(result);
      }, 500);
    });
    assert.equal(probe.injected, false, "an injected inline script ran");
    assert.match(probe.eval, /^threw /, `eval ran: ${probe.eval}`);
    assert.match(probe.fn, /^threw /, `new Function ran: ${probe.fn}`);
    assert.ok(probe.violations.some((v) => /^script-src/.test(v)), `the blocked script was reported: ${probe.violations}`);
    assert.ok(
      probe.violations.some((v) => /^img-src blocked https:\/\/example\.com/.test(v)),
      `the remote image was blocked: ${probe.violations}`,
    );
    // Only the three probes above may have been blocked: the app itself raised nothing.
    const own = probe.violations.filter((v) => !/(script-src|default-src).*(inline|eval)|img-src.*example\.com/.test(v));
    assert.deepEqual(own, [], `the app's own pages caused CSP violations:\n${own.join("\n")}`);
    t.diagnostic(`reported: ${probe.violations.join("; ")}`);
  });

  test("an HTML-looking partner name is stored as typed and shown as text", async () => {
    const name = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
    const added = await invoke(app.browser, "add_partner", {
      partner: {
        name, kind: "mlflow", endpoint: "https://mlflow.example.com", tier: "standard", owner: null,
        capabilities: [], tags: [], depends_on: null, health_check: { interval_secs: 60, timeout_secs: 10 },
      },
    });
    assert.ok(added.ok, JSON.stringify(added));
    assert.ok(cliJson(ws.db, ["partner", "list"]).some((p) => p.name === name), "the CLI reads the name as typed");
    await app.browser.refresh();
    await openTab(app.browser, "partners");
    await waitForRow(app.browser, name, "the partner with the HTML-looking name is not listed", 20_000);
    const pwned = await app.browser.execute(() => window.__pwned ?? null);
    assert.equal(pwned, null, "markup in a name ran");
  });
});
