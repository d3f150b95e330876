// A stderr nobody reads never stalls polling. The app and the headless poller (`ecosystem
// poll`) run with debug logging and their stderr on a pipe nobody reads (a FIFO held open for
// reading and writing by the test, so it fills at the pipe's capacity and never breaks). Once
// a thread of theirs waits in write(2) on that stderr, checks must still be committed at their
// interval, and the waiting thread must be the log writer, not the poller. Then the pipe is
// drained: the process is still running and its output resumes.
//
// This is how a test harness that stopped reading its children's output for 20 s (a loop of
// synchronous CLI calls) once left the app's poller frozen mid-run.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { closeSync, constants, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { APP_BIN, CLI_BIN, DB_QUERY_BIN, appEnv, cli, endProcess, freshWorkspace, startSim, until } from "./driver.mjs";

const PARTNERS = 60;
/** Seconds between a partner's checks (the shortest allowed). */
const INTERVAL = 5;
/** How long checks must go on once stderr is full. */
const HELD_SECONDS = 12;

/** write(2) and writev(2) by architecture: a thread waiting in one on fd 2 is waiting on stderr. */
const WRITE_CALLS = { x64: ["1", "20"], arm64: ["64", "66"] }[process.arch];

/** The names of `pid`'s threads that are waiting in a write to fd 2 (`/proc/<pid>/task/<tid>/syscall`
 *  is the syscall number then its arguments, in hex, while the thread is in one). */
function threadsWritingStderr(pid) {
  const names = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [nr, fd] = readFileSync(`/proc/${pid}/task/${tid}/syscall`, "utf8").trim().split(" ");
      if (WRITE_CALLS.includes(nr) && Number(fd) === 2) names.push(readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim());
    } catch {
      // the thread ended meanwhile
    }
  }
  return names;
}

/** How many checks are committed, as another process sees them. */
function samples(db) {
  return Number(execFileSync(DB_QUERY_BIN, [db, "SELECT count(*) FROM health_samples"], { encoding: "utf8" }).trim());
}

/** A pipe nobody reads: a FIFO opened for reading and writing, so that writes to it never fail
 *  and block once it holds its capacity (64 KiB on Linux). */
function unreadPipe(dir, name) {
  const path = join(dir, name);
  execFileSync("mkfifo", [path]);
  return { path, fd: openSync(path, constants.O_RDWR) };
}

/** Reads what is waiting in `pipe` without blocking; its length in bytes. */
function drain(pipe) {
  const fd = openSync(pipe.path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(1 << 16);
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf);
      if (n === 0) break;
      total += n;
    }
  } catch (e) {
    if (e.code !== "EAGAIN") throw e;
  } finally {
    closeSync(fd);
  }
  return total;
}

/** Runs `child` (with its stderr on `pipe`) until a thread of it waits on the full stderr, then
 *  for HELD_SECONDS more; checks go on meanwhile, and only the log writer waits. */
async function assertPollsWithStderrFull(t, child, db, pipe, what) {
  const blocked = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode})`);
      const names = threadsWritingStderr(child.pid);
      return names.length > 0 ? names : null;
    },
    60_000,
    () => `no thread of ${what} waited on its stderr in 60 s: the pipe never filled, so this test proves nothing`,
  );
  const at = samples(db);
  await new Promise((r) => setTimeout(r, HELD_SECONDS * 1_000));
  const later = samples(db);
  const waiting = threadsWritingStderr(child.pid);
  t.diagnostic(
    `stderr: ${what}: stderr full (${blocked.join(", ")} waiting on it); ${later - at} checks committed in the next ` +
      `${HELD_SECONDS} s; then waiting: ${waiting.join(", ") || "none"}`,
  );
  // At least half the checks due; a poller stalled on stderr commits none.
  assert.ok(later - at >= (PARTNERS * HELD_SECONDS) / INTERVAL / 2, `${what} committed only ${later - at} checks in ${HELD_SECONDS} s with its stderr full`);
  assert.ok(
    waiting.every((name) => name === "log-stderr"),
    `only the log writer may wait on the full stderr, but these do: ${waiting.join(", ")}`,
  );
  assert.equal(child.exitCode, null, `${what} is still running`);
  // Nobody reads for long; once someone does, the output resumes.
  const drained = drain(pipe);
  assert.ok(drained > 0, "the full pipe held output");
  await until(() => drain(pipe) > 0, 20_000, () => `${what} wrote nothing more once its stderr was read`);
  assert.equal(child.exitCode, null, `${what} is still running after its stderr was read`);
}

describe("a stderr nobody reads never stalls polling", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("stderr");
  let sim;
  const children = [];

  before(async () => {
    sim = await startSim();
    for (let i = 0; i < PARTNERS; i++) {
      const name = `Stderr ${String(i).padStart(2, "0")}`;
      cli(ws.db, ["partner", "add", name, "--kind", "http", "--endpoint", `${sim.url}/apis/v2beta1/healthz`, "--interval", String(INTERVAL), "--timeout", "2"]);
      cli(ws.db, ["partner", "lifecycle", name, "activate"]);
    }
  });

  after(async () => {
    for (const child of children) await endProcess(child, 5_000);
    await sim?.stop();
  });

  test("the app, with debug logging on a full stderr, keeps checking every partner on time", async (t) => {
    const pipe = unreadPipe(ws.dir, "app-stderr");
    const app = spawn(APP_BIN, [], { env: appEnv(ws.db, { RUST_LOG: "debug" }), stdio: ["ignore", "ignore", pipe.fd] });
    children.push(app);
    try {
      await assertPollsWithStderrFull(t, app, ws.db, pipe, "the app");
    } finally {
      await endProcess(app, 5_000);
      closeSync(pipe.fd);
    }
  });

  test("ecosystem poll, with debug logging on a full stderr, keeps checking every partner on time", async (t) => {
    const pipe = unreadPipe(ws.dir, "poll-stderr");
    const poll = spawn(CLI_BIN, ["--db", ws.db, "poll", "--for", "120", "--no-usage"], {
      env: { ...process.env, ECOSYSTEM_LOG: "debug", USER: "e2e-cli" },
      stdio: ["ignore", "ignore", pipe.fd],
    });
    children.push(poll);
    try {
      await assertPollsWithStderrFull(t, poll, ws.db, pipe, "ecosystem poll");
    } finally {
      await endProcess(poll, 5_000);
      closeSync(pipe.fd);
    }
    const check = spawnSync(CLI_BIN, ["--db", ws.db, "db", "check"], { encoding: "utf8" });
    assert.equal(check.stdout.trim(), "ok", `ecosystem db check: ${check.stderr}`);
  });
});
