// Health in the app, end to end: partner-sim plays Kubeflow on loopback, the real CLI registers
// an active strategic partner with its token (OS keyring, see scripts/with-keyring.sh) and polls
// it once at a time, with the simulator taken down for two polls in between, so the history
// holds successes, failures and one closed incident. The app then shows the state in the
// catalogue and the Health card on the partner's page: latest checks, uptime, chart, incident.
// The partner's contract promises 99.9 % a month with a 10 % credit below it, so the SLA card
// shows this month to date breached by the incident (a few seconds down against a budget of
// 0.1 % of the seconds counted), and a partner without a contract says so.
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CLI_BIN, cli, freshWorkspace, launchApp, rowText, screenshot, setSimDown, startSim, waitForRow } from "./driver.mjs";

const PARTNER = "Kubeflow Health";
const NEVER_CHECKED = "Kubeflow Waiting";
/** The contract's availability target, in percent. */
const SLA_TARGET = 99.9;
/** The simulator's demo token. */
const TOKEN = "kfp-sim-token";

/** Runs `ecosystem poll --once`; exit 3 (some partner unhealthy) is an answer, not a failure. */
function pollOnce(db) {
  try {
    return execFileSync(CLI_BIN, ["--db", db, "poll", "--once"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (e.status === 3) return e.stdout;
    throw new Error(`ecosystem poll --once failed (${e.status}): ${e.stderr}`);
  }
}

/** Samples are whole seconds: checks within one second count once. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1_100));

/** Polls `times` times, a second apart. */
async function poll(db, times) {
  for (let i = 0; i < times; i++) {
    pollOnce(db);
    await nextSecond();
  }
}

/** The outcomes of the heartbeat bar's ticks, oldest first. */
function tickOutcomes(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll("#health-checks li")).map((li) => li.getAttribute("data-outcome")),
  );
}

describe("the catalogue shows each partner's health and the partner page its history", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("health");
  let sim;
  let app;
  let browser;

  before(async () => {
    // The test drives polling itself through the CLI; the app's own poller stays off.
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    sim = await startSim();
    cli(ws.db, [
      "partner", "add", PARTNER, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "strategic",
      "--capability", "pipelines", "--interval", "5", "--timeout", "2",
    ]);
    cli(ws.db, ["partner", "lifecycle", PARTNER, "activate"]);
    execFileSync(CLI_BIN, ["--db", ws.db, "credential", "set", PARTNER, "--type", "bearer"], {
      input: `${TOKEN}\n`,
      encoding: "utf8",
    });
    cli(ws.db, ["partner", "add", NEVER_CHECKED, "--kind", "kubeflow", "--endpoint", sim.url]);
    // A contract over this year and the next with an SLA: monthly in UTC, a fee of 10 000.00 EUR
    // a month and 10 % of it owed below the target.
    const year = new Date().getUTCFullYear();
    cli(ws.db, [
      "contract", "set", PARTNER, "--start", `${year}-01-01`, "--end", `${year + 2}-01-01`,
      "--sla-target", String(SLA_TARGET), "--value", "240000.00", "--currency", "EUR",
    ]);
    cli(ws.db, [
      "contract", "sla-terms", PARTNER, "--window", "month", "--time-zone", "UTC",
      "--credit", `${SLA_TARGET}:10`, "--fee", "10000.00",
    ]);

    // Healthy, then down for two checks (a strategic partner goes unhealthy at the second),
    // then back for two (it recovers at the second).
    await poll(ws.db, 3);
    await setSimDown(sim.url, true);
    await poll(ws.db, 2);
    await setSimDown(sim.url, false);
    await poll(ws.db, 2);

    app = await launchApp(ws.db);
    browser = app.browser;
    await waitForRow(browser, PARTNER, "the partner registered by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test("the catalogue badge shows the state in words, and unknown for a partner never checked", async () => {
    await browser.waitUntil(async () => /Healthy/.test((await rowText(browser, PARTNER)) ?? ""), {
      timeout: 10_000,
      timeoutMsg: "the catalogue never showed the partner as healthy",
    });
    const states = await browser.execute(() =>
      Object.fromEntries(
        Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]")).map((r) => [
          r.getAttribute("data-partner-name"),
          r.querySelector("td[data-health]")?.getAttribute("data-health"),
        ]),
      ),
    );
    assert.deepEqual(states, { [PARTNER]: "healthy", [NEVER_CHECKED]: "unknown" });
    assert.match(await rowText(browser, NEVER_CHECKED), /Unknown/);
    const header = await browser.execute(() =>
      Array.from(document.querySelectorAll("#partner-table thead th")).map((th) => th.textContent.trim()),
    );
    assert.ok(header.includes("Health"), `the table has a Health column: ${header}`);
  });

  test("the partner page's Health card shows the latest checks, uptime, latency and the incident", async () => {
    await browser.execute((name) => {
      const rows = Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"));
      rows.find((r) => r.getAttribute("data-partner-name") === name)?.click();
    }, PARTNER);
    const card = browser.$("#partner-health");
    await card.waitForDisplayed({ timeout: 10_000, timeoutMsg: "the partner page has no Health card" });
    await browser.waitUntil(async () => (await tickOutcomes(browser)).length === 7, {
      timeout: 10_000,
      timeoutMsg: "the heartbeat bar never showed the seven checks",
    });
    const outcomes = await tickOutcomes(browser);
    assert.deepEqual(
      outcomes.map((o) => (o === "failed" ? "down" : "up")),
      ["up", "up", "up", "down", "down", "up", "up"],
      `the checks in order: ${outcomes}`,
    );

    const labels = await browser.execute(() =>
      Array.from(document.querySelectorAll("#health-checks li")).map((li) => li.getAttribute("title")),
    );
    assert.match(labels[3], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC: Failed/, "a failed tick says when and what");
    assert.match(labels[0], /UTC: (OK|Slow), \d+ ms$/, "a successful tick says its latency");

    assert.match(await browser.$("#health-state").getText(), /Healthy/);
    assert.match(await browser.$("#health-checks-summary").getText(), /2 failed of the last 7 checks/);

    const uptime = await browser.execute(() =>
      Array.from(document.querySelectorAll("#health-uptime li")).map((li) => [
        li.getAttribute("data-range"),
        li.querySelector(".stat-value")?.textContent.trim(),
      ]),
    );
    assert.deepEqual(
      uptime.map(([range]) => range),
      ["24h", "7d", "30d", "90d", "1y"],
    );
    for (const [range, value] of uptime) {
      assert.match(value, /^\d+(\.\d+)? %$/, `uptime over ${range} is a percent: ${value}`);
      assert.notEqual(value, "100 %", `the incident counts against the ${range} uptime`);
    }

    assert.match(await browser.$("#health-latency").getText(), /p50 \d+ ms · p95 \d+ ms/);
    const lines = await browser.$$("#health-chart svg polyline.line");
    assert.ok(lines.length >= 1, "the chart draws the latency");
    assert.match(await browser.$("#health-chart svg").getAttribute("aria-label"), /^Latency over the last 24 hours/);

    // The health and latency timeline drawn in Rust: an SVG image with its states, described in words.
    const timeline = browser.$("#health-timeline");
    await timeline.waitForDisplayed({ timeout: 15_000, timeoutMsg: "the health timeline never showed" });
    const timelineSrc = await timeline.getAttribute("src");
    assert.match(timelineSrc, /^data:image\/svg\+xml/, "the timeline is an SVG drawn by ecosystem-charts");
    const drawn = decodeURIComponent(timelineSrc);
    assert.match(drawn, /unhealthy/, "the incident is a band of its own");
    assert.match(drawn, /healthy/);
    assert.match(await timeline.getAttribute("alt"), new RegExp(`^Health of ${PARTNER} over the last 24 hours`));
    assert.ok(
      await browser.execute((img) => img.complete && img.naturalWidth > 0, await timeline),
      "the image decodes",
    );

    const incidents = await browser.$$("#health-incidents tbody tr");
    assert.equal(incidents.length, 1, "one incident");
    const incident = await incidents[0].getText();
    assert.match(incident, /UTC/);
    assert.doesNotMatch(incident, /ongoing/, "the incident ended when the partner recovered");
    assert.match(incident, /\d+ s/, "the incident has a duration");

    await card.scrollIntoView({ block: "start" });
    await browser.pause(300);
    await screenshot(browser, "health");
  });

  test("the SLA card shows this month to date: target, attainment, budget, status and credit", async () => {
    const card = browser.$("#partner-sla");
    await card.waitForDisplayed({ timeout: 10_000, timeoutMsg: "the partner page has no SLA card" });
    await browser.$("#sla-status").waitForDisplayed({
      timeout: 10_000,
      timeoutMsg: `the SLA card never showed a status: ${await card.getText()}`,
    });

    assert.equal(await browser.$("#sla-target").getText(), "99.9 %");
    const attained = await browser.$("#sla-attained").getText();
    assert.match(attained, /^\d+(\.\d+)? %$/, `attainment is a percent: ${attained}`);
    assert.ok(Number.parseFloat(attained) < 100, `the incident counts against the SLA: ${attained}`);
    assert.ok(Number.parseFloat(attained) < SLA_TARGET, `a few seconds down miss 99.9 %: ${attained}`);

    // The budget is 0.1 % of the seconds counted since the first check: under a second.
    const status = browser.$("#sla-status");
    assert.equal(await status.getAttribute("data-status"), "breached");
    assert.match(await status.getText(), /^Breached\s+below the 99\.9 % target$/);
    assert.match(await browser.$("#sla-window").getText(), /^[A-Z][a-z]+ \d{4} to date \(UTC\)$/);

    const budget = browser.$("#sla-budget");
    assert.equal(await budget.getAttribute("data-overspent"), "true");
    assert.match(
      await browser.$("#sla-budget svg").getAttribute("aria-label"),
      /^Error budget: Overspent by \d+ s: \d+ s down against a budget of 0 s$/,
    );
    assert.match(
      await browser.$("#sla-budget-summary").getText(),
      /^Overspent by \d+ s · \d+ s down against 0 s allowed so far$/,
    );
    assert.match(await browser.$("#sla-budget-left").getText(), /^−\d+ s$/);

    assert.match(await browser.$("#sla-credit").getText(), /^1000\.00 EUR$/);
    assert.match(await card.getText(), /10 % of the 10000\.00 EUR window fee/);
    const rules = await browser.execute(() =>
      Array.from(document.querySelectorAll("#sla-rules li")).map((li) => li.textContent.trim()),
    );
    assert.ok(rules.includes("Maintenance is excluded"), `the rules in words: ${rules}`);
    assert.match(await browser.$("#sla-bounds").getText(), /UTC to .* UTC, measured until .* · 1 breach$/);

    await card.scrollIntoView({ block: "start" });
    await browser.pause(300);
    await screenshot(browser, "health-sla");
  });

  test("Refresh shows a check recorded while the page is open", async () => {
    pollOnce(ws.db);
    await browser.$("#health-refresh").click();
    await browser.waitUntil(async () => (await tickOutcomes(browser)).length === 8, {
      timeout: 10_000,
      timeoutMsg: "Refresh never showed the new check",
    });
    await browser.$("#health-range").selectByAttribute("value", "7d");
    await browser.waitUntil(async () => /7 days/i.test(await browser.$("#health-latency-title").getText()), {
      timeout: 10_000,
      timeoutMsg: "choosing 7 days never redrew the card",
    }).catch(async (e) => {
      const text = await browser.$("#partner-health").getText();
      const value = await browser.$("#health-range").getValue();
      throw new Error(`${e.message}; range ${value}; card: ${text}`);
    });
    assert.match(await browser.$("#health-chart svg").getAttribute("aria-label"), /over the last 7 days/);
  });

  test("a partner without a contract has an SLA card that says so", async () => {
    await browser.$("#partner-back").click();
    await waitForRow(browser, NEVER_CHECKED, "the catalogue never came back");
    await browser.execute((name) => {
      const rows = Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"));
      rows.find((r) => r.getAttribute("data-partner-name") === name)?.click();
    }, NEVER_CHECKED);
    const empty = browser.$("#partner-sla #sla-empty");
    await empty.waitForDisplayed({ timeout: 10_000, timeoutMsg: "the SLA card never showed its empty state" });
    assert.equal(await empty.getText(), "No contract");
    assert.equal(await browser.$("#sla-status").isExisting(), false, "no status without an SLA");
  });
});
