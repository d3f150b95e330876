// When the app cannot open its database before any window exists (here: an encrypted file the
// key in the OS keyring does not open, or no key at all), whoever started it from their desktop
// sees why: a native error dialog titled "Ecosystem cannot start" names the problem and the way
// back (`ecosystem db key import`), the same message goes to stderr, the app exits with status 1
// once the dialog is closed, and the file is left exactly as it was.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { APP_BIN, appEnv, dialogWindow, freshWorkspace } from "./driver.mjs";

describe("an app that cannot open its database says why", () => {
  test("a database the keyring's key does not open: error dialog, stderr, exit 1, file untouched", async () => {
    const { db } = freshWorkspace("startup-error");
    // Page-shaped bytes without a SQLite header: what an encrypted database looks like.
    const bytes = randomBytes(8192);
    writeFileSync(db, bytes);

    const app = spawn(APP_BIN, [], { env: appEnv(db), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    app.stderr.on("data", (chunk) => (stderr += chunk));
    // "close": the process has exited and its stderr is read to the end.
    const exited = new Promise((resolve) => app.on("close", (code, signal) => resolve({ code, signal })));
    try {
      const window = dialogWindow("Ecosystem cannot start");
      execFileSync("xdotool", ["key", "--window", window, "Return"]);
      const { code, signal } = await exited;
      assert.equal(signal, null);
      assert.equal(code, 1, "the app exits with status 1 once the dialog is closed");
      assert.match(stderr, /ecosystem db key import/, `stderr names the recovery command: ${stderr}`);
      assert.match(stderr, /encrypted/);
    } finally {
      app.kill("SIGKILL");
    }
    assert.deepEqual(readFileSync(db), bytes, "the database file is unchanged");
    assert.equal(existsSync(`${db}-wal`), false, "no WAL was created beside it");
  });
});
