// Desktop manners of the real app under Xvfb: one instance only, the window's size kept across
// restarts, log files in the OS log folder, and every page in the dark theme.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { APP_BIN, assertAccessible, cli, freshWorkspace, launchApp, screenshot, until, waitForRow } from "./driver.mjs";

const IDENTIFIER = "dev.ecosystem.app";

/** Config and data folders of the workspace's own, so the saved window state and the logs
 *  are this test's alone. */
function desktopEnv(ws) {
  return { XDG_CONFIG_HOME: join(ws.dir, "config"), XDG_DATA_HOME: join(ws.dir, "data") };
}

/** Pids of the app binary running on `db`. */
function appProcesses(db) {
  const bin = realpathSync(APP_BIN);
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== bin) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
      if (environ.includes(`ECOSYSTEM_DB=${db}`)) pids.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  return pids;
}

/** Everything the app wrote to its log files so far. */
function logText(ws) {
  const dir = join(ws.dir, "data", IDENTIFIER, "logs");
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .filter((n) => /^ecosystem\.\d{4}-\d{2}-\d{2}\.log$/.test(n))
    .map((n) => readFileSync(join(dir, n), "utf8"))
    .join("");
}

describe("a second launch hands over to the running app", () => {
  const ws = freshWorkspace("single");
  const env = desktopEnv(ws);
  let app;

  before(async () => {
    cli(ws.db, ["partner", "add", "Only One", "--kind", "mlflow", "--endpoint", "http://127.0.0.1:9"]);
    app = await launchApp(ws.db, env);
    await waitForRow(app.browser, "Only One", "the app never showed its partner", 20_000);
  });

  after(async () => {
    await app?.stop();
  });

  test("the second process exits with 0 and the first one keeps its window", async () => {
    assert.equal(appProcesses(ws.db).length, 1, "one app runs before the second launch");
    const second = spawn(APP_BIN, [], {
      env: { ...process.env, ...env, ECOSYSTEM_DB: ws.db, USER: "e2e-app" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    second.stderr.on("data", (d) => (stderr += d));
    const status = await new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        second.kill("SIGKILL");
        fail(new Error(`the second launch was still running after 20 s: ${stderr}`));
      }, 20_000);
      second.once("exit", (code, signal) => {
        clearTimeout(timer);
        ok({ code, signal });
      });
    });
    assert.deepEqual(status, { code: 0, signal: null }, `the second launch ended badly: ${stderr}`);
    assert.equal(appProcesses(ws.db).length, 1, "only the first app is left");
    // The running app was asked for its window, and says so in its log file.
    await until(
      () => logText(ws).includes("another launch asked for the window"),
      10_000,
      () => `the log file never recorded the hand-over:\n${logText(ws)}`,
    );
    assert.equal((await app.browser.getWindowHandles()).length, 1);
    assert.ok(await app.browser.$("#partner-table").isDisplayed(), "the first window still shows the catalogue");
    await screenshot(app.browser, "desktop-single-instance");
  });

  test("the log file says where the database is, that the tray is up, and holds no ANSI colours", () => {
    const text = logText(ws);
    assert.match(text, /logging to files/);
    assert.ok(text.includes(ws.db), "the database path is in the log");
    assert.ok(!text.includes("\u001b["), "no terminal colour codes in the file");
    assert.match(text, /tray icon created/);
  });
});

describe("the window keeps its size across restarts", () => {
  const ws = freshWorkspace("window-state");
  const env = desktopEnv(ws);
  const stateFile = join(ws.dir, "config", IDENTIFIER, ".window-state.json");
  let app;

  before(() => {
    cli(ws.db, ["partner", "add", "Sized", "--kind", "mlflow", "--endpoint", "http://127.0.0.1:9"]);
  });

  after(async () => {
    await app?.stop();
  });

  test("a resized window comes back at that size", async () => {
    app = await launchApp(ws.db, env);
    await waitForRow(app.browser, "Sized", "the app never showed its partner", 20_000);
    const before = await app.browser.getWindowSize();
    assert.deepEqual(before, { width: 1200, height: 800 }, "a first start uses the configured size");
    await app.browser.setWindowSize(960, 640);
    await app.browser.waitUntil(
      async () => {
        const { width, height } = await app.browser.getWindowSize();
        return width === 960 && height === 640;
      },
      { timeout: 5_000, timeoutMsg: "the window did not take the new size" },
    );
    // Saved shortly after the resize, not only at a clean exit.
    await until(
      () => {
        if (!existsSync(stateFile)) return false;
        const main = JSON.parse(readFileSync(stateFile, "utf8")).main;
        return main?.width === 960 && main?.height === 640;
      },
      10_000,
      () => `the window state was not saved: ${existsSync(stateFile) ? readFileSync(stateFile, "utf8") : "no file"}`,
    );
    await app.stop();
    app = undefined;

    app = await launchApp(ws.db, env);
    await waitForRow(app.browser, "Sized", "the restarted app never showed its partner", 20_000);
    assert.deepEqual(await app.browser.getWindowSize(), { width: 960, height: 640 });
    await screenshot(app.browser, "desktop-window-restored");
  });
});

describe("every page in the dark theme", () => {
  const ws = freshWorkspace("dark");
  const sample = fileURLToPath(new URL("../fixtures/sample-workspace.json", import.meta.url));
  let app;

  before(async () => {
    cli(ws.db, ["settings", "set", "health.poll_in_app", "0"]);
    cli(ws.db, ["import", sample]);
    // WebKitGTK answers prefers-color-scheme from the GTK theme's variant.
    app = await launchApp(ws.db, { ...desktopEnv(ws), GTK_THEME: "Adwaita:dark" });
    await waitForRow(app.browser, "Databricks Prod", "the imported workspace never appeared", 20_000);
  });

  after(async () => {
    await app?.stop();
  });

  test("the page follows the dark theme and each page is captured in it", async () => {
    const { browser } = app;
    assert.equal(await browser.execute(() => matchMedia("(prefers-color-scheme: dark)").matches), true);
    const background = await browser.execute(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, "rgb(15, 17, 21)", "the dark background token applies");
    // Selects are drawn by the page (the toolkit's own would be a light-grey box).
    const select = await browser.execute(() => {
      const style = getComputedStyle(document.getElementById("filter-kind"));
      return { appearance: style.appearance, background: style.backgroundColor };
    });
    assert.deepEqual(select, { appearance: "none", background: "rgb(23, 26, 33)" });
    await assertAccessible(browser);
    await screenshot(browser, "dark-catalogue");
    await browser.$("#add-partner-open").click();
    await browser.$("#add-partner-form").waitForDisplayed({ timeout: 5_000 });
    await assertAccessible(browser);
    await screenshot(browser, "dark-add-partner");
    await browser.keys("Escape");
    await browser.$("#add-partner-form").waitForDisplayed({ reverse: true, timeout: 5_000 });
    await browser.execute(() => {
      const rows = Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"));
      rows.find((r) => r.getAttribute("data-partner-name") === "Databricks Prod")?.click();
    });
    await browser.$("#partner-health").waitForDisplayed({ timeout: 10_000 });
    await assertAccessible(browser);
    await screenshot(browser, "dark-partner");
    await browser.$("#partner-back").click();
    await browser.$("#tab-contracts").click();
    await browser.pause(500);
    await assertAccessible(browser);
    await screenshot(browser, "dark-contracts");
    await browser.$("#tab-reports").click();
    await browser.pause(500);
    await assertAccessible(browser);
    await screenshot(browser, "dark-reports");
  });
});
