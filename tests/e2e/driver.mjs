// Starts the real Ecosystem app under tauri-driver (WebKitWebDriver underneath) on a given
// database file, and gives back a WebdriverIO browser plus a way to run the real CLI.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
export const APP_BIN = process.env.APP_BIN ?? join(targetDir, "debug/ecosystem-desktop");
export const CLI_BIN = process.env.CLI_BIN ?? join(targetDir, "debug/ecosystem");
export const SIM_BIN = process.env.SIM_BIN ?? join(targetDir, "debug/partner-sim");
export const NOTIFYD_BIN = process.env.NOTIFYD_BIN ?? join(targetDir, "debug/fake-notifyd");
export const DB_QUERY_BIN = process.env.DB_QUERY_BIN ?? join(targetDir, "debug/db-query");
export const SCREENSHOTS = join(here, "screenshots");

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitForDriver(port, child, log) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited early: ${log()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not answer on port ${port}: ${log()}`);
}

/** Rejects when `promise` takes longer than `ms`. */
function withTimeout(promise, ms) {
  let timer;
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Ends a child with SIGTERM (tauri-driver reaps WebKitWebDriver only on a catchable signal),
 *  and with SIGKILL if it is still there after `graceMs`. */
export async function endProcess(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  try {
    await withTimeout(exited, graceMs);
  } catch {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Starts partner-sim for Kubeflow (or the `platforms` given, with partner-sim's `config` file)
 *  on free ports; resolves to the Kubeflow (else the first) URL, every platform's URL in `urls`,
 *  and a stop function. */
export async function startSim({ platforms = ["kubeflow"], config } = {}) {
  if (!existsSync(SIM_BIN)) throw new Error(`partner-sim is not built at ${SIM_BIN}; run cargo build --workspace`);
  const args = ["--platform", platforms.join(","), "--port", "0", ...(config ? ["--config", config] : [])];
  const child = spawn(SIM_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const urls = {};
  try {
    await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`partner-sim printed no URL within 30 s: ${stderr}`)), 30_000);
      child.once("exit", (code) => fail(new Error(`partner-sim exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        const match = /^(\w+) (http:\/\/127\.0\.0\.1:\d+)\/?$/.exec(line.trim());
        if (match) urls[match[1]] = match[2];
        if (platforms.every((p) => urls[p])) {
          clearTimeout(timer);
          ok();
        }
      });
    });
  } catch (e) {
    // A simulator left running would keep this test file from ever finishing.
    await endProcess(child);
    throw e;
  }
  const stop = () => endProcess(child);
  return { url: urls.kubeflow ?? urls[platforms[0]], urls, stop };
}

/**
 * Starts the test's notification daemon (tests/bin/fake_notifyd.rs) on the session bus, which
 * the app then talks to. `records()` is every notification it was given, in order;
 * `click(id)` plays the user clicking one. Needs the private session bus of
 * scripts/with-keyring.sh.
 */
export async function startNotifyd(dir) {
  if (!existsSync(NOTIFYD_BIN)) throw new Error(`fake-notifyd is not built at ${NOTIFYD_BIN}; run cargo build --workspace`);
  const record = join(dir, "notifications.jsonl");
  const child = spawn(NOTIFYD_BIN, [record], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`fake-notifyd was not ready within 10 s: ${stderr}`)), 10_000);
      child.once("exit", (code) => fail(new Error(`fake-notifyd exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line.trim() === "ready") {
          clearTimeout(timer);
          ok();
        }
      });
    });
  } catch (e) {
    await endProcess(child);
    throw e;
  }
  const records = () =>
    existsSync(record)
      ? readFileSync(record, "utf8")
          .split("\n")
          .slice(0, -1) // only whole lines: the last piece is empty or still being written
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line))
      : [];
  const click = (id) =>
    execFileSync("dbus-send", [
      "--session", "--print-reply", "--dest=org.freedesktop.Notifications",
      "/org/freedesktop/Notifications", "org.ecosystem.FakeNotifications.Click", `uint32:${id}`,
    ]);
  const stop = () => endProcess(child);
  return { records, click, stop };
}

/** Polls `check` every 250 ms until it returns something truthy (which it resolves to), or
 *  throws `message()` after `timeout` ms. For what is outside the window (files, the CLI). */
export async function until(check, timeout, message) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Takes partner-sim's partner down (or brings it back). */
export async function setSimDown(url, down) {
  const res = await fetch(`${url}/_sim/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ down }),
  });
  if (res.status !== 200) throw new Error(`PUT /_sim/faults answered ${res.status}: ${await res.text()}`);
}

/** A fresh folder with an empty database path inside. */
export function freshWorkspace(label) {
  const dir = mkdtempSync(join(tmpdir(), `ecosystem-e2e-${label}-`));
  return { dir, db: join(dir, "ecosystem.db") };
}

/** Runs the real `ecosystem` binary on `db`; returns stdout. */
export function cli(db, args) {
  return execFileSync(CLI_BIN, ["--db", db, ...args], { encoding: "utf8", env: { ...process.env, USER: "e2e-cli" } });
}

export function cliJson(db, args) {
  return JSON.parse(cli(db, [...args, "--format", "json"]));
}

/** The app's environment on `db`, with `env` added: the window state, the log files and
 *  WebKit's storage go beside the test's database, never into the real user's directories; a
 *  test may still choose its own. */
export function appEnv(db, env = {}) {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(dirname(db), "xdg-config"),
    XDG_DATA_HOME: join(dirname(db), "xdg-data"),
    ...env,
    ECOSYSTEM_DB: db,
    USER: "e2e-app",
  };
}

/** Launches the app on `db`, with `env` added to its environment. Call `stop()` when done; it
 *  ends the driver with SIGTERM. `log()` is what the driver and the app wrote to stdout and stderr.
 *  The app opens on its Overview; `tab` is the tab opened once the window is up ("partners",
 *  the catalogue, unless told otherwise; `null` leaves the Overview). */
export async function launchApp(db, env = {}, { tab = "partners" } = {}) {
  const port = await freePort();
  const nativePort = await freePort();
  let output = "";
  const driver = spawn(
    "tauri-driver",
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"],
    {
      env: appEnv(db, env),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  driver.stdout.on("data", (d) => (output += d));
  driver.stderr.on("data", (d) => (output += d));
  let browser;
  try {
    await waitForDriver(port, driver, () => output);
    browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      connectionRetryCount: 1,
      capabilities: { "tauri:options": { application: APP_BIN } },
    });
  } catch (e) {
    // A driver left running would keep this test file from ever finishing.
    await endProcess(driver);
    throw e;
  }
  if (tab !== null) {
    // A window that never shows its tabs (a start-up error page) is left for the test to judge.
    const shown = await browser
      .$(`#tab-${tab}`)
      .waitForDisplayed({ timeout: 30_000 })
      .catch(() => false);
    if (shown) await browser.$(`#tab-${tab}`).click();
  }
  const stop = async () => {
    try {
      await withTimeout(browser.deleteSession(), 15_000);
    } catch {
      // the session may already be gone
    }
    await endProcess(driver);
    // WebKitWebDriver normally ends the app with the session; when the session could not be
    // closed, the app would live on (and keep polling) after the driver is gone.
    await endStrays(db);
  };
  return { browser, stop, log: () => output };
}

/** Ends every process still running on `db` (found by the ECOSYSTEM_DB in its environment). */
async function endStrays(db) {
  const wanted = `ECOSYSTEM_DB=${db}`;
  const strays = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
      if (environ.includes(wanted)) strays.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone already
    }
  }
  if (strays.length > 0) await new Promise((r) => setTimeout(r, 500));
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // ended on SIGTERM
    }
  }
}

export async function screenshot(browser, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // WebKit hands back the last frame it painted: let two frames pass so the picture shows
  // what the test just checked, not the screen before it.
  await browser.executeAsync((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())));
  await browser.pause(250);
  await browser.saveScreenshot(join(SCREENSHOTS, `${name}.png`));
}

/** The text of the catalogue row for partner `name`, or null. Compared in the page, so any
 *  name works, whatever quotes, markup or unicode it holds. */
export function rowText(browser, name) {
  return browser.execute((n) => {
    const rows = Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"));
    const r = rows.find((el) => el.getAttribute("data-partner-name") === n);
    return r ? r.textContent : null;
  }, name);
}

/** Waits until the row for `name` is shown, or fails with `message`. */
export async function waitForRow(browser, name, message, timeout = 10_000) {
  await browser.waitUntil(async () => (await rowText(browser, name)) !== null, { timeout, timeoutMsg: message });
}

/** Opens the partner's page from its catalogue row with the keyboard, as a person would. */
export async function openPartnerPage(browser, name) {
  await waitForRow(browser, name, `${name} is not listed`);
  await browser.execute((n) => {
    Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"))
      .find((r) => r.getAttribute("data-partner-name") === n)
      ?.focus();
  }, name);
  await browser.keys("Enter");
  await browser.$("#partner-detail").waitForDisplayed({ timeout: 10_000 });
  await browser.$("#partner-edit").waitForDisplayed({ timeout: 10_000 });
}

/** Waits until the element at `selector` exists and its text matches `pattern`, or fails with
 *  `timeoutMsg`; returns that text. */
export async function waitForText(browser, selector, pattern, timeoutMsg, timeout = 20_000) {
  const element = browser.$(selector);
  await browser.waitUntil(async () => (await element.isExisting()) && pattern.test(await element.getText()), {
    timeout,
    timeoutMsg,
  });
  return element.getText();
}

export async function rowCount(browser) {
  return (await browser.$$("#partner-table tbody tr[data-partner-name]")).length;
}

/** RFC 4180: quoted fields with doubled quotes, CRLF or LF line ends; rows of cells. */
export function parseCsv(text) {
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

/** Opens the app's tab for `page` ("overview", "partners", "contracts", "reports", ...) and
 *  waits until it is the selected one. */
export async function openTab(browser, page) {
  const tab = await browser.$(`#tab-${page}`);
  await tab.waitForDisplayed({ timeout: 20_000, timeoutMsg: `the ${page} tab never appeared` });
  await tab.click();
  await browser.waitUntil(async () => (await tab.getAttribute("aria-selected")) === "true", {
    timeout: 5_000,
    timeoutMsg: `the ${page} tab was not selected after a click`,
  });
}

const AXE_SOURCE = readFileSync(join(root, "node_modules/axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) in the page over `context` (a CSS selector, or the
 * whole document when omitted), injecting it through WebDriver's executeScript first, and
 * fails listing every violation with the elements it was found on.
 */
export async function assertAccessible(browser, context = "body") {
  await browser.execute(`if (!window.axe) { ${AXE_SOURCE}\n }`);
  const violations = await browser.executeAsync((selector, done) => {
    window.axe
      .run(document.querySelector(selector) ?? document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        resultTypes: ["violations"],
      })
      .then((results) =>
        done(
          results.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
          })),
        ),
      )
      .catch((e) => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));
  }, context);
  if (violations.length > 0) {
    const lines = violations.map((v) => `- ${v.id} (${v.impact}): ${v.help} at ${v.nodes.join(", ")}`);
    throw new Error(`accessibility violations in ${context}:\n${lines.join("\n")}`);
  }
}

/** The X window of the dialog titled `title`, once it is up and mapped (focusing one not yet
 *  viewable fails with BadMatch), with the keyboard focus. */
/** The visible window titled `title` (waiting up to 20 s for it), focused. */
export function dialogWindow(title) {
  const window = execFileSync("xdotool", ["search", "--sync", "--onlyvisible", "--name", title], { encoding: "utf8", timeout: 20_000 })
    .trim()
    .split("\n")[0];
  execFileSync("xdotool", ["windowfocus", "--sync", window]);
  return window;
}

/** Answers the save dialog titled `title` once it is up: types the whole `path` into its file
 *  name field and saves (xdotool, as a person would). */
export function answerSaveDialog(title, path) {
  const window = dialogWindow(title);
  execFileSync("xdotool", ["key", "--window", window, "ctrl+a"]);
  execFileSync("xdotool", ["type", "--window", window, "--delay", "20", path]);
  execFileSync("xdotool", ["key", "--window", window, "Return"]);
}

/** Answers the folder dialog titled `title` once it is up: types `folder` into its location
 *  field (Ctrl+L) and picks it. */
export function answerFolderDialog(title, folder) {
  const window = dialogWindow(title);
  execFileSync("xdotool", ["key", "--window", window, "ctrl+l"]);
  execFileSync("xdotool", ["key", "--window", window, "ctrl+a"]);
  execFileSync("xdotool", ["type", "--window", window, "--delay", "20", folder]);
  // GTK completes the name inline with a selected "/"; drop it so Return picks the folder.
  execFileSync("sleep", ["0.5"]);
  execFileSync("xdotool", ["key", "--window", window, "Delete"]);
  execFileSync("xdotool", ["key", "--window", window, "Return"]);
}
