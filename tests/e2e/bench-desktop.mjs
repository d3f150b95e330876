// Benchmark (run by hand, not by `make test`): the desktop app's memory and CPU, polling and
// idle. Numbers only, no pass or fail.
//   Phase 1: partner-sim serves the checks; N `http` partners (1,000 by default) are imported
//     through the real CLI, each checked every 30-60 s against the simulator's health endpoint,
//     with the app's own poller on. Once every partner has been checked once, the app process
//     and its WebKit children (found as its descendants in /proc) are sampled for a while:
//     resident memory (RSS, and PSS for a total that counts shared pages once), CPU time
//     (utime + stime from /proc/<pid>/stat) as % of one core, and the checks recorded per second.
//   Phase 2: the same N partners with the in-app poller off (health.poll_in_app=0), the window
//     open on the catalogue and nothing happening: the same figures, which should be about
//     zero CPU. BENCH_PHASES=idle (or polling) runs one phase only.
// Run the release build:
//   cargo build --release -p ecosystem-desktop -p ecosystem-cli -p partner-sim
//   APP_BIN=$T/release/ecosystem-desktop CLI_BIN=$T/release/ecosystem SIM_BIN=$T/release/partner-sim \
//     scripts/isolated.sh scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
//     node tests/e2e/bench-desktop.mjs
// (T is the cargo target directory.) BENCH_PARTNERS, BENCH_SECS (sampling per phase, default
// 150), BENCH_IDLE_SECS (default 90) and BENCH_STEP_SECS (one table row, default 15) change it.
// Counting the checks reads the (encrypted) database with `ecosystem db stats` (read-only).
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliJson, freshWorkspace, launchApp, startSim } from "./driver.mjs";

const print = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const N = Number(process.env.BENCH_PARTNERS ?? 1_000);
const SECS = Number(process.env.BENCH_SECS ?? 150);
const IDLE_SECS = Number(process.env.BENCH_IDLE_SECS ?? 90);
const STEP_SECS = Number(process.env.BENCH_STEP_SECS ?? 15);
/** Clock ticks per second of /proc/<pid>/stat's times. */
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const PAGE_KB = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()) / 1024;

/** pid -> { ppid, comm, ticks (utime + stime), rssKb } for every process we may read. */
function processes() {
  const all = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      // Fields after the command: state is field 3; ppid 4, utime 14, stime 15, rss 24.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      all.set(Number(entry), {
        ppid: Number(rest[1]),
        comm,
        ticks: Number(rest[11]) + Number(rest[12]),
        rssKb: Number(rest[21]) * PAGE_KB,
      });
    } catch {
      // ended meanwhile
    }
  }
  return all;
}

/**
 * From /proc/<pid>/smaps_rollup (kB): the proportional set size (its share of the pages it
 * shares with others) and the anonymous memory (its heaps, not the libraries mapped).
 */
function smapsKb(pid) {
  try {
    const lines = readFileSync(`/proc/${pid}/smaps_rollup`, "latin1").split("\n");
    const field = (name) => Number(lines.find((l) => l.startsWith(`${name}:`))?.split(/\s+/)[1] ?? 0);
    return { pssKb: field("Pss"), anonKb: field("Anonymous") };
  } catch {
    return { pssKb: 0, anonKb: 0 };
  }
}

/** The app process running on `db` (its environment names the database). */
function appPid(db) {
  for (const [pid, p] of processes()) {
    if (!p.comm.startsWith("ecosystem-deskt")) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`ECOSYSTEM_DB=${db}`)) return pid;
    } catch {
      // not ours to read
    }
  }
  throw new Error(`no app process found for ${db}`);
}

/** The app and its descendants, each named by its command. */
function tree(root) {
  const all = processes();
  const found = [[root, all.get(root)]];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, p] of all) if (p.ppid === found[i][0]) found.push([pid, p]);
  }
  return found.map(([pid, p]) => ({ pid, ...p, ...smapsKb(pid) }));
}

function samplesRecorded(db) {
  const stats = cliJson(db, ["db", "stats"]);
  return { rows: stats.tables.health_samples, partners: stats.partners_checked };
}

const mb = (kb) => (kb / 1024).toFixed(1);

/**
 * Samples the app's process tree every STEP_SECS for `secs`, printing one row per step and a
 * summary: memory now, CPU % of a core over the step, checks recorded per second.
 */
async function sample(label, db, root, secs, countChecks) {
  const isApp = (p) => p.pid === root;
  const isWebKit = (p) => p.comm.startsWith("WebKit");
  print(`\n${label}: ${secs} s, a row every ${STEP_SECS} s`);
  print("   t |  app RSS | WebKit RSS |  total RSS | total PSS |  app CPU | WebKit CPU (per process)  | checks/s");
  let before = tree(root);
  let checksBefore = countChecks ? samplesRecorded(db).rows : 0;
  let startedAt = performance.now();
  let stepAt = startedAt;
  const firstTicks = new Map(before.map((p) => [p.pid, p.ticks]));
  const firstChecks = checksBefore;
  const rows = [];
  while (performance.now() - startedAt < secs * 1000) {
    await sleep(STEP_SECS * 1000);
    const now = tree(root);
    const at = performance.now();
    const elapsed = (at - stepAt) / 1000;
    const ticksBefore = new Map(before.map((p) => [p.pid, p.ticks]));
    const cpu = (p) => (((p.ticks - (ticksBefore.get(p.pid) ?? p.ticks)) / TICKS / elapsed) * 100).toFixed(1);
    const app = now.find(isApp);
    const webkit = now.filter(isWebKit);
    const webkitRss = webkit.reduce((s, p) => s + p.rssKb, 0);
    const totalRss = now.reduce((s, p) => s + p.rssKb, 0);
    const totalPss = now.reduce((s, p) => s + p.pssKb, 0);
    const checks = countChecks ? samplesRecorded(db).rows : 0;
    const perSec = (checks - checksBefore) / elapsed;
    const webkitCpu = webkit.map((p) => `${p.comm.includes("Network") ? "network" : "web"} ${cpu(p)}%`).join(", ");
    print(
      `${String(Math.round((at - startedAt) / 1000)).padStart(4)} | ${mb(app.rssKb).padStart(5)} MB | ${mb(webkitRss).padStart(7)} MB | ${mb(totalRss).padStart(7)} MB | ${mb(totalPss).padStart(6)} MB | ${cpu(app).padStart(6)}% | ${webkitCpu.padEnd(25)} | ${perSec.toFixed(1).padStart(8)}`,
    );
    rows.push({ app: app.rssKb, webkitRss, totalRss, totalPss });
    before = now;
    checksBefore = checks;
    stepAt = at;
  }
  const last = tree(root);
  const wall = (performance.now() - startedAt) / 1000;
  const total = (p) => (((p.ticks - (firstTicks.get(p.pid) ?? p.ticks)) / TICKS / wall) * 100).toFixed(2);
  const peak = (key) => mb(Math.max(...rows.map((r) => r[key])));
  print(`${label} summary over ${wall.toFixed(0)} s:`);
  print(`  peak RSS: app ${peak("app")} MB, WebKit ${peak("webkitRss")} MB, total ${peak("totalRss")} MB (PSS ${peak("totalPss")} MB)`);
  for (const p of last) {
    print(`  ${p.comm.padEnd(16)} pid ${String(p.pid).padEnd(7)} CPU ${total(p)}% of a core; RSS ${mb(p.rssKb)} MB, PSS ${mb(p.pssKb)} MB, anonymous ${mb(p.anonKb)} MB`);
  }
  if (countChecks) print(`  checks recorded: ${((samplesRecorded(db).rows - firstChecks) / wall).toFixed(1)} per second`);
}

/** Imports N http partners checked every 30-60 s against `url`, through the real CLI. */
function seedPartners(ws, url, pollInApp) {
  const file = join(ws.dir, "partners.json");
  writeFileSync(
    file,
    JSON.stringify({
      format: "ecosystem-workspace",
      version: 1,
      partners: Array.from({ length: N }, (_, k) => ({
        name: `Partner ${String(k + 1).padStart(5, "0")}`,
        kind: "http",
        endpoint: `${url}/apis/v2beta1/healthz?partner=${k + 1}`,
        lifecycle: "active",
        health_check: { interval_secs: 30 + (k % 31), timeout_secs: 5 },
      })),
      settings: { "health.poll_in_app": pollInApp ? "1" : "0" },
    }),
  );
  cli(ws.db, ["import", file]);
}

const phases = (process.env.BENCH_PHASES ?? "polling,idle").split(",");

// ----- phase 1: N partners polled every 30-60 s -----
if (phases.includes("polling")) {
  const sim = await startSim();
  const busy = freshWorkspace("bench-desktop");
  try {
    seedPartners(busy, sim.url, true);
    print(`partners: ${N} http partners checked every 30-60 s against partner-sim at ${sim.url}`);
    const launched = performance.now();
    const app = await launchApp(busy.db);
    try {
      const root = appPid(busy.db);
      let seen = { partners: 0 };
      while (seen.partners < N && performance.now() - launched < 180_000) {
        await sleep(2_000);
        seen = samplesRecorded(busy.db);
      }
      print(`first poll round: ${seen.partners} of ${N} partners checked ${((performance.now() - launched) / 1000).toFixed(0)} s after launch`);
      await sample("polling", busy.db, root, SECS, true);
    } finally {
      await app.stop();
    }
  } finally {
    await sim.stop();
  }
}

// ----- phase 2: idle: the same N partners, the in-app poller off, the window open -----
if (phases.includes("idle")) {
  const idle = freshWorkspace("bench-desktop-idle");
  seedPartners(idle, "http://127.0.0.1:9", false);
  const app = await launchApp(idle.db);
  try {
    const root = appPid(idle.db);
    // Let the start-up settle (first paint, WebKit's caches) before measuring.
    await sleep(20_000);
    await sample(`idle (${N} partners, health.poll_in_app=0, catalogue open)`, idle.db, root, IDLE_SECS, false);
  } finally {
    await app.stop();
  }
}
