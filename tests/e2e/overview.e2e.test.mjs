// The Overview page, end to end: partner-sim plays Kubeflow, the real CLI registers three
// partners and polls them (one goes down while the simulator is down, one is paused, one was
// never checked), and gives the partner that goes down a contract whose notice deadline is ten
// days away with a monthly 99.9 % SLA. The app opens on the Overview, which shows the counts
// in its bar, the partner down with since when, its SLA breached, its contract needing a
// decision and the latest changes; it refreshes when the partner recovers; a click opens the
// partner's page; the tab bar works with the keyboard; and axe finds no violation.
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CLI_BIN, assertAccessible, cli, freshWorkspace, launchApp, screenshot, setSimDown, startSim } from "./driver.mjs";

const DOWN = "Kubeflow Overview";
const PAUSED = "Kubeflow Paused";
const WAITING = "Kubeflow Waiting";
const TOKEN = "kfp-sim-token";

function pollOnce(db) {
  try {
    execFileSync(CLI_BIN, ["--db", db, "poll", "--once"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    // Exit 3 says some partner is unhealthy: an answer, not a failure.
    if (e.status !== 3) throw new Error(`ecosystem poll --once failed (${e.status}): ${e.stderr}`);
  }
}

async function poll(db, times) {
  for (let i = 0; i < times; i++) {
    pollOnce(db);
    // Samples are whole seconds: checks within one second count once.
    await new Promise((r) => setTimeout(r, 1_100));
  }
}

/** The page's lists as [partner, text] pairs. */
function listed(browser, id) {
  return browser.execute(
    (listId) =>
      Array.from(document.querySelectorAll(`#${listId} li[data-partner]`)).map((li) => [
        li.getAttribute("data-partner"),
        li.textContent.replace(/\s+/g, " ").trim(),
      ]),
    id,
  );
}

function day(offset) {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

describe("the overview shows the workspace at a glance and keeps up with it", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("overview");
  let sim;
  let app;
  let browser;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    sim = await startSim();
    for (const name of [DOWN, PAUSED]) {
      cli(ws.db, ["partner", "add", name, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "strategic", "--timeout", "2"]);
      cli(ws.db, ["partner", "lifecycle", name, "activate"]);
      execFileSync(CLI_BIN, ["--db", ws.db, "credential", "set", name, "--type", "bearer"], {
        input: `${TOKEN}\n`,
        encoding: "utf8",
      });
    }
    cli(ws.db, ["partner", "add", WAITING, "--kind", "kubeflow", "--endpoint", sim.url]);
    // Notice deadline in ten days (ends in 40, 30 days' notice).
    cli(ws.db, ["contract", "set", DOWN, "--start", day(-300), "--end", day(40), "--notice-days", "30", "--sla-target", "99.9"]);
    await poll(ws.db, 2);
    cli(ws.db, ["partner", "pause", PAUSED]);
    await setSimDown(sim.url, true);
    await poll(ws.db, 2);

    app = await launchApp(ws.db, {}, { tab: null });
    browser = app.browser;
    await browser.$("#overview-page").waitForDisplayed({ timeout: 60_000, timeoutMsg: "the app did not open on the overview" });
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test("it opens on the overview with the counts, the partner down, its SLA and its contract", async () => {
    assert.equal(await browser.$("#tab-overview").getAttribute("aria-selected"), "true");
    await browser.waitUntil(async () => (await listed(browser, "attention")).length === 1, {
      timeout: 20_000,
      timeoutMsg: "the partner down never showed",
    });
    const counts = await browser.execute(() =>
      Object.fromEntries(
        Array.from(document.querySelectorAll("#health-counts li")).map((li) => [
          li.getAttribute("data-state"),
          Number(li.querySelector("strong").textContent),
        ]),
      ),
    );
    assert.deepEqual(counts, { unknown: 1, healthy: 0, degraded: 0, unhealthy: 1, paused: 1, maintenance: 0 });
    const bar = await browser.$("#health-bar").getAttribute("aria-label");
    assert.match(bar, /Unhealthy: 1 \(33 %\).*Paused: 1 \(33 %\).*Unknown: 1 \(33 %\)/);

    const [[name, text]] = await listed(browser, "attention");
    assert.equal(name, DOWN);
    assert.match(text, /Unhealthy since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(for \d+ s\)/);

    const [sla] = await listed(browser, "sla-risk");
    assert.equal(sla[0], DOWN);
    assert.match(sla[1], /Breached/);
    const [decision] = await listed(browser, "decisions");
    assert.equal(decision[0], DOWN);
    assert.match(decision[1], new RegExp(`notice by ${day(10)}`));

    const changes = await listed(browser, "recent-changes");
    assert.equal(changes[0][0], DOWN, "the newest change is the partner going down");
    assert.match(changes[0][1], /Healthy → Unhealthy/);
    assert.ok(changes.some(([p, t]) => p === PAUSED && /→ Paused/.test(t)), "the pause is among the changes");

    await assertAccessible(browser, "#overview-page");
    await screenshot(browser, "overview");
  });

  test("it refreshes on its own when the partner recovers", async () => {
    await setSimDown(sim.url, false);
    await poll(ws.db, 2);
    await browser.waitUntil(async () => (await listed(browser, "attention")).length === 0, {
      timeout: 20_000,
      timeoutMsg: "the overview still lists the partner after it recovered",
    });
    const changes = await listed(browser, "recent-changes");
    assert.match(changes[0][1], /Unhealthy → Healthy/);
  });

  test("the tab bar works with the keyboard and a partner opens from the overview", async () => {
    await browser.$("#tab-overview").click();
    await browser.keys(["ArrowRight"]);
    assert.equal(await browser.$("#tab-partners").getAttribute("aria-selected"), "true");
    assert.equal(await browser.execute(() => document.activeElement?.id), "tab-partners");
    await browser.keys(["Home"]);
    assert.equal(await browser.$("#tab-overview").getAttribute("aria-selected"), "true");
    await assertAccessible(browser);

    const link = await browser.$(`#decisions li[data-partner="${DOWN}"] button`);
    await link.waitForDisplayed({ timeout: 10_000 });
    await link.click();
    assert.equal(await browser.$("#tab-partners").getAttribute("aria-selected"), "true");
    await browser.waitUntil(async () => (await browser.$("body").getText()).includes(DOWN), { timeout: 10_000 });
    await screenshot(browser, "overview-opened-partner");
  });
});
