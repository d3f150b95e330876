// Native notifications, end to end: the app polls on its own (no CLI polling here), a
// partner-sim Kubeflow goes down under a parent and its three children, and a stand-in for the
// desktop's notification daemon (tests/bin/fake_notifyd.rs, on the private session bus of
// scripts/with-keyring.sh) records what the app raises: exactly one notification for the root
// cause, with the partner, the state and the reason; the catalogue badge turns unhealthy
// without a refresh; clicking the notification opens the partner's page; and when the
// simulator comes back, one recovery follows.
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CLI_BIN,
  cli,
  freshWorkspace,
  launchApp,
  screenshot,
  setSimDown,
  startNotifyd,
  startSim,
  until,
  waitForRow,
} from "./driver.mjs";

const PARENT = "Platform Core";
const CHILDREN = ["Feature Store", "Model Registry", "Batch Scoring"];
const TOKEN = "kfp-sim-token";

/** The state `ecosystem health` reports for a partner. */
function stateOf(db, name) {
  const out = execFileSync(CLI_BIN, ["--db", db, "health", name, "--since", "1h", "--format", "json"], {
    encoding: "utf8",
  });
  return JSON.parse(out).state;
}

/** The health word the catalogue shows for each partner. */
function badges(browser) {
  return browser.execute(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]")).map((r) => [
        r.getAttribute("data-partner-name"),
        r.querySelector("td[data-health]")?.getAttribute("data-health"),
      ]),
    ),
  );
}

describe("a partner going down raises one native notification per root cause", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("notifications");
  let sim;
  let notifyd;
  let app;
  let browser;

  before(async () => {
    sim = await startSim();
    notifyd = await startNotifyd(ws.dir);
    const add = (name, parent) => {
      const args = [
        "partner", "add", name, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "strategic",
        "--capability", "pipelines", "--interval", "5", "--timeout", "2",
      ];
      if (parent) args.push("--depends-on", parent);
      cli(ws.db, args);
      cli(ws.db, ["partner", "lifecycle", name, "activate"]);
      execFileSync(CLI_BIN, ["--db", ws.db, "credential", "set", name, "--type", "bearer", "--skip-verify"], {
        input: `${TOKEN}\n`,
        encoding: "utf8",
      });
    };
    add(PARENT);
    for (const child of CHILDREN) add(child, PARENT);

    app = await launchApp(ws.db);
    browser = app.browser;
    await waitForRow(browser, PARENT, "the partners registered by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
    await notifyd?.stop();
    await sim?.stop();
  });

  test("the app polls on its own: every partner turns healthy with no notification", async () => {
    await until(
      async () => Object.values(await badges(browser)).every((s) => s === "healthy"),
      30_000,
      () => `the app's poller never made every partner healthy`,
    );
    assert.deepEqual(notifyd.records(), [], "coming up healthy is not news");
  });

  test("the parent and its three children go down: one notification, the badge turns, a click opens the partner", async () => {
    await setSimDown(sim.url, true);
    const [first] = await until(
      () => notifyd.records().length > 0 && notifyd.records(),
      60_000,
      () => `no notification within 60 s; badges: ${JSON.stringify(notifyd.records())}`,
    );
    // Every child records its own outage, and none of them notifies.
    await until(
      () => CHILDREN.every((c) => stateOf(ws.db, c) === "unhealthy") && stateOf(ws.db, PARENT) === "unhealthy",
      60_000,
      () => "the parent and the children never all turned unhealthy",
    );
    // The feed reads every half second and waits for nothing else: give it two more rounds.
    await new Promise((r) => setTimeout(r, 2_000));
    const records = notifyd.records();
    assert.equal(records.length, 1, `one notification per root cause, got: ${JSON.stringify(records, null, 2)}`);
    assert.equal(first.app_name, "Ecosystem");
    assert.equal(first.summary, `${PARENT} is unhealthy`);
    assert.match(first.body, /consecutive failed/, "the body gives the reason");
    assert.match(first.body, /Unhealthy since \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/, "and since when");
    assert.equal(first.urgency, 2, "a partner down is critical");
    assert.deepEqual(first.actions, ["default", "Open partner"], "clicking it is an action");

    await browser.waitUntil(async () => (await badges(browser))[PARENT] === "unhealthy", {
      timeout: 10_000,
      timeoutMsg: "the catalogue badge never turned unhealthy",
    });
    const shown = await badges(browser);
    for (const child of CHILDREN) assert.equal(shown[child], "unhealthy", `${child} shows its own state`);
    await screenshot(browser, "notifications-catalogue");

    notifyd.click(first.id);
    const title = browser.$("#partner-detail-title");
    await browser.waitUntil(async () => (await title.isDisplayed()) && (await title.getText()) === PARENT, {
      timeout: 10_000,
      timeoutMsg: "clicking the notification never opened the partner's page",
    });
    await browser.$("#partner-health").waitForDisplayed({ timeout: 10_000 });
    await browser.waitUntil(async () => /Unhealthy/.test(await browser.$("#health-state").getText()), {
      timeout: 10_000,
      timeoutMsg: "the partner page never showed the partner as unhealthy",
    });
    await screenshot(browser, "notifications-partner");
  });

  test("the simulator comes back: one recovery notification, for the root cause", async () => {
    await setSimDown(sim.url, false);
    await until(
      () => notifyd.records().length >= 2,
      60_000,
      () => `no recovery notification within 60 s: ${JSON.stringify(notifyd.records(), null, 2)}`,
    );
    await until(
      () => [PARENT, ...CHILDREN].every((p) => stateOf(ws.db, p) === "healthy"),
      60_000,
      () => "not every partner recovered",
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const records = notifyd.records();
    assert.equal(records.length, 2, `the down and one recovery: ${JSON.stringify(records, null, 2)}`);
    const recovery = records[1];
    assert.equal(recovery.summary, `${PARENT} recovered`);
    assert.match(recovery.body, /\d+ s|\d+ min/, "the recovery says how long the outage lasted");
    assert.equal(recovery.urgency, 1, "a recovery is ordinary news");
    // The page that is open follows the change without a refresh.
    await browser.waitUntil(async () => /Healthy/.test(await browser.$("#health-state").getText()), {
      timeout: 10_000,
      timeoutMsg: "the open partner page never showed the recovery",
    });
  });

  test("Pause checks on the partner page pauses the partner for every poller, audited, and Resume ends it", async () => {
    const button = browser.$("#health-pause");
    assert.equal(await button.getText(), "Pause checks");
    await button.click();
    await browser.waitUntil(async () => /Paused/.test(await browser.$("#health-state").getText()), {
      timeout: 10_000,
      timeoutMsg: "the partner page never showed the partner as paused",
    });
    assert.equal(await button.getText(), "Resume checks");
    assert.equal(stateOf(ws.db, PARENT), "paused", "the CLI sees the pause");
    const audit = cli(ws.db, ["audit", "--format", "json"]);
    const pauses = JSON.parse(audit).filter((e) => e.action === "partner.pause" && e.subject === PARENT);
    assert.equal(pauses.length, 1, `one audited pause: ${audit}`);
    assert.equal(pauses[0].actor, "e2e-app (app)", "by the app's user, in the app");

    await button.click();
    await browser.waitUntil(async () => !/Paused/.test(await browser.$("#health-state").getText()), {
      timeout: 10_000,
      timeoutMsg: "Resume checks never ended the pause",
    });
    assert.notEqual(stateOf(ws.db, PARENT), "paused");
    assert.equal(notifyd.records().length, 2, "pausing a healthy partner is not news");
  });
});
