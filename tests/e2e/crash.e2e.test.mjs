// Crash safety and concurrent writers in the desktop app, end to end. partner-sim plays the
// partners (http checks of its Kubeflow health endpoint every 5 s) and the app polls them itself.
// 1. The app is killed with SIGKILL 50 times in a row, each time once it has committed checks of
//    its own and then at a random moment within the next 2 s (seeded; the seed is printed), so it
//    dies while it records them. The app binary is started directly for these (a WebDriver
//    session costs seconds a start). After each kill `ecosystem db check` finds the file sound,
//    and every sample committed before the kill is still there: per partner, as many samples
//    up to its newest one as a read-only reader counted just before the kill (a partner's next
//    check is always later, so nothing else can fill that range). Then a start under WebDriver
//    shows the catalogue with every partner and no error.
// 2. While the app polls, the CLI writes in a tight loop for 20 s (partner add, update, pause,
//    resume, settings set, contract set, maintenance add and remove): no call fails, and
//    neither the CLI nor the app says "database is locked" / SQLITE_BUSY. Each call is awaited
//    rather than synchronous, so this process keeps reading the app's output meanwhile.
// The committed samples are counted through a read-only connection of another process (the
// db-query tool, which opens the encrypted database with the key from the keyring).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  APP_BIN,
  CLI_BIN,
  DB_QUERY_BIN,
  appEnv,
  cli,
  endProcess,
  freshWorkspace,
  launchApp,
  rowCount,
  screenshot,
  startSim,
  until,
  waitForRow,
} from "./driver.mjs";

const PARTNERS = 30;
const KILLS = 50;
/** After its first new commit, the app is killed within this many ms. */
const KILL_WITHIN_MS = 2_000;
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

/** The app's processes on `db` (its WebKit processes left out). */
function appPids(db) {
  return processesOn(db).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0")[0] === APP_BIN;
    } catch {
      return false; // gone already
    }
  });
}

/** Waits until no process of a killed app on `db` is left (its WebKit processes end once
 *  their connection to it closes), ending any still there after `graceMs`; returns how many
 *  had to be ended. */
async function awaitGone(db, graceMs = 5_000) {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && processesOn(db).length > 0) await new Promise((r) => setTimeout(r, 25));
  const left = processesOn(db);
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return left.length;
}

/** Every process whose environment names `db` (the app and its WebKit processes). */
function processesOn(db) {
  const wanted = `ECOSYSTEM_DB=${db}`;
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
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

/** Runs the CLI on `db` without blocking this process, so that the output of the app and its
 *  driver is read meanwhile (a loop of synchronous calls would leave their pipes full); resolves
 *  to { status, stdout, stderr }. */
function runAsync(db, args) {
  return new Promise((resolve) => {
    const child = spawn(CLI_BIN, ["--db", db, ...args], { env: { ...process.env, USER: "e2e-cli" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr, args }));
  });
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

/** Runs one query through the read-only db-query tool (the database is encrypted, so not the
 *  sqlite3 shell); the rows, each split on "|". */
function query(db, sql) {
  const out = execFileSync(DB_QUERY_BIN, [db, sql], { encoding: "utf8" });
  return out
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("|").map(Number));
}

/** What is committed, as another process sees it: per partner, its samples and the time of its
 *  newest one; and the transitions and the checks the minute rollups count. */
function committed(db) {
  const partners = new Map(
    query(db, "SELECT partner_id, count(*), max(at) FROM health_samples GROUP BY partner_id").map(([id, count, newest]) => [
      id,
      { count, newest },
    ]),
  );
  const [[transitions, checks]] = query(
    db,
    "SELECT (SELECT count(*) FROM health_transitions), (SELECT coalesce(sum(checks), 0) FROM health_rollups WHERE resolution = 60)",
  );
  let samples = 0;
  for (const p of partners.values()) samples += p.count;
  return { partners, samples, transitions, checks };
}

/** Fails unless every sample in `before` is still in `db`: per partner, the samples up to its
 *  newest one then number what they did. */
function assertKept(db, before, when) {
  if (before.partners.size === 0) return committed(db);
  const ranges = [...before.partners].map(([id, p]) => `(${id}, ${p.newest})`).join(", ");
  const now = new Map(
    query(
      db,
      `WITH r(id, newest) AS (VALUES ${ranges})
       SELECT r.id, count(s.at) FROM r LEFT JOIN health_samples s ON s.partner_id = r.id AND s.at <= r.newest GROUP BY r.id`,
    ),
  );
  for (const [id, p] of before.partners) {
    assert.equal(now.get(id), p.count, `${when}: partner ${id} had ${p.count} samples up to ${p.newest} committed, now ${now.get(id)}`);
  }
  const after = committed(db);
  assert.ok(after.transitions >= before.transitions, `${when}: transitions ${before.transitions} -> ${after.transitions}`);
  assert.ok(after.checks >= before.checks, `${when}: checks in the minute rollups ${before.checks} -> ${after.checks}`);
  return after;
}

/** The error banners and alerts shown in the window (hidden, empty ones are not). */
function shownErrors(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll('.error-banner, [role="alert"]'))
      .filter((el) => el.offsetParent !== null && el.textContent.trim() !== "")
      .map((el) => el.textContent.trim()),
  );
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

  test(`SIGKILL ${KILLS} times while it writes leaves a sound file, every committed sample and a clean next start`, async (t) => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
    t.diagnostic(`crash: seed ${seed} (CRASH_SEED=${seed} replays it)`);
    const random = rng(seed);
    const started = Date.now();
    const firstCommitMs = [];
    let allOutput = "";
    let leftAfterKill = 0;
    let endedByTest = 0;
    let last = committed(ws.db);
    let committedByKilled = 0;
    for (let round = 1; round <= KILLS; round++) {
      const launchedAt = Date.now();
      let output = "";
      const child = spawn(APP_BIN, [], { env: appEnv(ws.db), stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
      try {
        // Kill only an app that is recording: once it has committed checks of its own.
        await until(
          () => {
            if (child.exitCode !== null) throw new Error(`round ${round}: the app exited by itself (${child.exitCode}): ${output}`);
            return committed(ws.db).samples > last.samples;
          },
          30_000,
          () => `round ${round}: the app committed no check in 30 s: ${output}`,
        );
        firstCommitMs.push(Date.now() - launchedAt);
        const wait = Math.round(random() * KILL_WITHIN_MS);
        await new Promise((r) => setTimeout(r, wait));
        const before = committed(ws.db);
        child.kill("SIGKILL");
        const { signal } = await exited;
        assert.equal(signal, "SIGKILL", `round ${round}: the app ended before the kill: ${output}`);
        assertSound(ws.db, `round ${round}`);
        const after = assertKept(ws.db, before, `round ${round}`);
        // As a person would, start it again once the old one is gone.
        if (processesOn(ws.db).length > 0) leftAfterKill++;
        endedByTest += await awaitGone(ws.db);
        committedByKilled += before.samples - last.samples;
        t.diagnostic(
          `crash: round ${round}: first commit ${firstCommitMs.at(-1)} ms after launch, killed ${wait} ms later with ` +
            `${before.samples - last.samples} samples of its own committed; ${after.samples} samples in all, all kept; db check ok`,
        );
        last = after;
      } finally {
        await endProcess(child, 1_000);
        allOutput += output;
      }
    }
    const killsSecs = (Date.now() - started) / 1000;
    assert.doesNotMatch(allOutput + appLogs(ws.dir), LOCKED, "the app reported a locked database");
    assert.ok(committedByKilled >= KILLS, `the killed apps committed only ${committedByKilled} samples in ${KILLS} rounds`);

    // The next start is clean: the catalogue with every partner, no error shown.
    const launchedAt = Date.now();
    app = await launchApp(ws.db);
    await waitForRow(app.browser, "Crash 00", "the catalogue did not show after the last kill", 30_000);
    const shownMs = Date.now() - launchedAt;
    // The table renders a window of its rows; it says how many it lists.
    const listedCount = () => app.browser.$("#partner-table").getAttribute("data-row-count");
    await app.browser.waitUntil(async () => Number(await listedCount()) === PARTNERS, {
      timeout: 10_000,
      timeoutMsg: `the catalogue does not list all ${PARTNERS} partners after the kills`,
    });
    assert.ok((await rowCount(app.browser)) > 0, "the catalogue shows rows");
    assert.deepEqual(await shownErrors(app.browser), [], "no error is shown after the kills");
    const listed = JSON.parse(cli(ws.db, ["partner", "list", "--format", "json"]));
    assert.equal(listed.length, PARTNERS, "every partner is still stored");
    await screenshot(app.browser, "crash-after-kills");
    const health = run(ws.db, ["health", "Crash 00", "--format", "json"]);
    assert.equal(health.status, 0, `ecosystem health after the kills: ${health.stderr}`);
    // And it records again.
    await until(() => committed(ws.db).samples > last.samples, 30_000, () => "the app recorded nothing after the kills");
    assert.doesNotMatch(app.log() + appLogs(ws.dir), LOCKED, "the app reported a locked database");
    await app.stop();
    app = undefined;
    assertSound(ws.db, "after the clean start");
    firstCommitMs.sort((a, b) => a - b);
    t.diagnostic(
      `crash: ${KILLS} kills in ${killsSecs.toFixed(1)} s; ${committedByKilled} samples committed by the killed apps, ` +
        `${last.samples} in all, every one kept; first commit after launch p50 ${firstCommitMs[Math.floor(KILLS / 2)]} ms, ` +
        `max ${firstCommitMs.at(-1)} ms; a WebKit process outlived the kill ${leftAfterKill} times (${endedByTest} still there ` +
        `after 5 s); ` +
        `catalogue shown ${shownMs} ms after the last start`,
    );
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
      check(await runAsync(ws.db, ["partner", "add", added, "--kind", "http", "--endpoint", `${sim.url}/apis/v2beta1/healthz`, "--interval", "5"]));
      check(await runAsync(ws.db, ["partner", "lifecycle", added, "activate"]));
      check(await runAsync(ws.db, ["partner", "update", target, "--tag", `round-${i}`]));
      check(await runAsync(ws.db, ["partner", "pause", target]));
      check(await runAsync(ws.db, ["partner", "resume", target]));
      check(await runAsync(ws.db, ["settings", "set", "health.default_timeout_secs", String(5 + (i % 5))]));
      check(await runAsync(ws.db, ["contract", "set", target, "--start", `${year}-01-01`, "--end", `${year + 1 + (i % 3)}-01-01`]));
      const window = check(await runAsync(ws.db, ["maintenance", "add", "--partner", target, "--from", `${year + 2}-01-01 10:00`, "--to", `${year + 2}-01-01 11:00`]));
      const id = /window (\d+)/.exec(window.stdout)?.[1];
      if (id) check(await runAsync(ws.db, ["maintenance", "remove", id]));
      else failures.push(`maintenance add printed no id: ${window.stdout}`);
      i++;
    }
    t.diagnostic(`crash: ${calls} CLI writes in ${WRITE_SECONDS} s (${i} rounds) beside the polling app, ${failures.length} failed`);
    assert.deepEqual(failures, [], "every CLI write succeeded");
    const log = app.log() + appLogs(ws.dir);
    assert.doesNotMatch(log, LOCKED, "the app reported a locked database");
    assert.ok(appPids(ws.db).length > 0, `the app is still running; what it wrote:\n${log.slice(-4_000)}`);
    assert.ok((await rowCount(app.browser)) > 0, "the app still shows the catalogue");
    const listed = JSON.parse(cli(ws.db, ["partner", "list", "--format", "json"]));
    assert.equal(listed.length, PARTNERS + i, "every partner the CLI added is stored");
    await screenshot(app.browser, "crash-concurrent-writers");
    assertSound(ws.db, "after the concurrent writes");
  });
});
