// Crash safety and concurrent writers in the desktop app, end to end. partner-sim plays the
// partners (http checks of its Kubeflow health endpoint every 5 s) and the app polls them itself.
// 1. The app is killed with SIGKILL at a random moment (seeded; the seed is printed) 10 times in
//    a row (each start costs seconds; the headless poller is killed 50 times in
//    tests/integration/crash_safety.rs). After each kill `ecosystem db check` finds the file
//    sound, and the next start shows the catalogue with every partner.
// 2. While the app polls, the CLI writes in a tight loop for 20 s (partner add, update, pause,
//    resume, settings set, contract set, maintenance add and remove): no call fails, and
//    neither the CLI nor the app says "database is locked" / SQLITE_BUSY.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { APP_BIN, CLI_BIN, cli, freshWorkspace, launchApp, rowCount, screenshot, startSim, waitForRow } from "./driver.mjs";

const PARTNERS = 30;
const KILLS = 10;
const WRITE_SECONDS = 20;
const LOCKED = /database is locked|SQLITE_BUSY|database is busy/i;

/** SplitMix-like generator on 32 bits (mulberry32), seeded so a run can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The app's processes on `db` (found by the ECOSYSTEM_DB in their environment). */
function appPids(db) {
  const wanted = `ECOSYSTEM_DB=${db}`;
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0")[0];
      if (cmd !== APP_BIN) continue;
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(wanted)) pids.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  return pids;
}

/** Runs the CLI on `db`; returns { status, stdout, stderr } without throwing. */
function run(db, args) {
  const r = spawnSync(CLI_BIN, ["--db", db, ...args], { encoding: "utf8", env: { ...process.env, USER: "e2e-cli" } });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", args };
}

/** Every log file the app wrote under `dir`, concatenated. */
function appLogs(dir) {
  let text = "";
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".log")) text += readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return text;
}

function assertSound(db, when) {
  const check = run(db, ["db", "check"]);
  assert.equal(check.status, 0, `${when}: ecosystem db check failed: ${check.stdout}${check.stderr}`);
  assert.equal(check.stdout.trim(), "ok", `${when}: integrity_check`);
}

describe("the app survives SIGKILL and shares its database with the CLI", { timeout: 600_000 }, () => {
  const ws = freshWorkspace("crash");
  let sim;
  let app;

  before(async () => {
    sim = await startSim();
    for (let i = 0; i < PARTNERS; i++) {
      const name = `Crash ${String(i).padStart(2, "0")}`;
      cli(ws.db, ["partner", "add", name, "--kind", "http", "--endpoint", `${sim.url}/apis/v2beta1/healthz`, "--interval", "5", "--timeout", "2"]);
      cli(ws.db, ["partner", "lifecycle", name, "activate"]);
    }
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test(`SIGKILL ${KILLS} times at random moments leaves a sound file and a clean next start`, async (t) => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
    t.diagnostic(`crash: seed ${seed} (CRASH_SEED=${seed} replays it)`);
    const random = rng(seed);
    const timings = [];
    for (let round = 1; round <= KILLS; round++) {
      const started = Date.now();
      app = await launchApp(ws.db);
      await waitForRow(app.browser, "Crash 00", `round ${round}: the catalogue did not show after the previous kill`, 30_000);
      const shownMs = Date.now() - started;
      const wait = Math.round(200 + random() * 4_800);
      await new Promise((r) => setTimeout(r, wait));
      const pids = appPids(ws.db);
      assert.ok(pids.length > 0, `round ${round}: the app's process was not found`);
      for (const pid of pids) process.kill(pid, "SIGKILL");
      await app.stop();
      app = undefined;
      assertSound(ws.db, `round ${round}`);
      timings.push({ round, shownMs, killedAfterMs: wait });
      t.diagnostic(`crash: round ${round}: catalogue shown ${shownMs} ms after launch, killed ${wait} ms later; db check ok`);
    }
    app = await launchApp(ws.db);
    await waitForRow(app.browser, "Crash 00", "the catalogue did not show after the last kill", 30_000);
    assert.ok((await rowCount(app.browser)) > 0, "the catalogue lists partners");
    const listed = JSON.parse(cli(ws.db, ["partner", "list", "--format", "json"]));
    assert.equal(listed.length, PARTNERS, "every partner is still stored");
    await screenshot(app.browser, "crash-after-kills");
    const health = run(ws.db, ["health", "Crash 00", "--format", "json"]);
    assert.equal(health.status, 0, `ecosystem health after the kills: ${health.stderr}`);
    assert.doesNotMatch(app.log() + appLogs(ws.dir), LOCKED, "the app reported a locked database");
    await app.stop();
    app = undefined;
  });

  test(`the CLI writes for ${WRITE_SECONDS} s while the app polls: no call fails, nothing is locked`, async (t) => {
    await app?.stop();
    app = await launchApp(ws.db);
    await waitForRow(app.browser, "Crash 00", "the catalogue did not show", 30_000);
    const year = new Date().getUTCFullYear();
    const deadline = Date.now() + WRITE_SECONDS * 1_000;
    const failures = [];
    let calls = 0;
    let i = 0;
    const check = (r) => {
      calls++;
      if (r.status !== 0 || LOCKED.test(r.stdout + r.stderr)) failures.push(`${r.args.join(" ")} -> ${r.status}: ${r.stderr}`);
      return r;
    };
    while (Date.now() < deadline) {
      const target = `Crash ${String(i % PARTNERS).padStart(2, "0")}`;
      const added = `Concurrent ${i}`;
      check(run(ws.db, ["partner", "add", added, "--kind", "http", "--endpoint", `${sim.url}/apis/v2beta1/healthz`, "--interval", "5"]));
      check(run(ws.db, ["partner", "lifecycle", added, "activate"]));
      check(run(ws.db, ["partner", "update", target, "--tag", `round-${i}`]));
      check(run(ws.db, ["partner", "pause", target]));
      check(run(ws.db, ["partner", "resume", target]));
      check(run(ws.db, ["settings", "set", "health.default_timeout_secs", String(5 + (i % 5))]));
      check(run(ws.db, ["contract", "set", target, "--start", `${year}-01-01`, "--end", `${year + 1 + (i % 3)}-01-01`]));
      const window = check(run(ws.db, ["maintenance", "add", "--partner", target, "--from", `${year + 2}-01-01 10:00`, "--to", `${year + 2}-01-01 11:00`]));
      const id = /window (\d+)/.exec(window.stdout)?.[1];
      if (id) check(run(ws.db, ["maintenance", "remove", id]));
      else failures.push(`maintenance add printed no id: ${window.stdout}`);
      i++;
    }
    t.diagnostic(`crash: ${calls} CLI writes in ${WRITE_SECONDS} s (${i} rounds) beside the polling app, ${failures.length} failed`);
    assert.deepEqual(failures, [], "every CLI write succeeded");
    const log = app.log() + appLogs(ws.dir);
    assert.doesNotMatch(log, LOCKED, "the app reported a locked database");
    assert.ok(appPids(ws.db).length > 0, "the app is still running");
    assert.ok((await rowCount(app.browser)) > 0, "the app still shows the catalogue");
    const listed = JSON.parse(cli(ws.db, ["partner", "list", "--format", "json"]));
    assert.equal(listed.length, PARTNERS + i, "every partner the CLI added is stored");
    await screenshot(app.browser, "crash-concurrent-writers");
    assertSound(ws.db, "after the concurrent writes");
  });
});
