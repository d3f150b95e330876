// A partner's credential, end to end: the real app under Xvfb (with a Secret Service of its own,
// see scripts/with-keyring.sh), partner-sim playing Kubeflow on loopback, and the real CLI on the
// same database. A wrong token is stored and the connection test shows it refused; the right
// token replaces it only after passing a connection test; a wrong replacement is refused and
// changes nothing. The secrets typed never show up in the window, the database or the logs.
import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cli, cliJson, freshWorkspace, launchApp, screenshot, startSim, waitForRow, waitForText } from "./driver.mjs";

const PARTNER = "Kubeflow Sim";
/** The simulator's demo token: the right one. */
const RIGHT_TOKEN = "kfp-sim-token";
/** Planted wrong tokens, unique to this run so that any copy of them can be found. */
const WRONG_TOKEN = `kfp-planted-first-${randomUUID()}`;
const WRONG_REPLACEMENT = `kfp-planted-rotation-${randomUUID()}`;
const SECRETS = [RIGHT_TOKEN, WRONG_TOKEN, WRONG_REPLACEMENT];

/** The window's visible text. */
function pageText(browser) {
  return browser.execute(() => document.body.innerText);
}

/** Types into a field after clearing it. */
async function fill(browser, selector, value) {
  const field = browser.$(selector);
  await field.waitForDisplayed({ timeout: 5_000 });
  await field.clearValue();
  await field.setValue(value);
}

/** Presses Test connection and waits for a new result. */
async function testConnection(browser) {
  const button = browser.$("#test-connection");
  await button.click();
  await browser.waitUntil(async () => (await button.getText()) === "Test connection", {
    timeout: 30_000,
    timeoutMsg: "the connection test never finished",
  });
  return browser.$("#connection-result").getText();
}

/** The capabilities the last connection test verified, as [name, "true" | "false"]. */
function verifiedCapabilities(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll("#connection-capabilities li")).map((li) => [
      li.getAttribute("data-capability"),
      li.getAttribute("data-ok"),
    ]),
  );
}

/** Scrolls the partner page to its top or its bottom (for screenshots). */
async function scrollPage(browser, where) {
  await browser.$(where === "bottom" ? "#connection-result" : "#partner-back").scrollIntoView({ block: where === "bottom" ? "end" : "start" });
  await browser.pause(300);
}

function credentialMeta(db) {
  return cliJson(db, ["credential", "show", PARTNER]);
}

describe("a partner's credential is set, tested, verified before replacement and removed from its page", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("credentials");
  let sim;
  let app;
  let browser;

  before(async () => {
    sim = await startSim();
    cli(ws.db, ["partner", "add", PARTNER, "--kind", "kubeflow", "--endpoint", sim.url, "--tier", "premium", "--capability", "pipelines"]);
    // Debug logging from our own crates, so the leak check below reads as much as they ever print.
    app = await launchApp(ws.db, {
      RUST_LOG: "info,ecosystem_desktop=debug,ecosystem_core=debug,ecosystem_connectors=debug",
    });
    browser = app.browser;
    await waitForRow(browser, PARTNER, "the partner added by the CLI never appeared", 60_000);
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test("a catalogue row opens the partner's page from the keyboard", async () => {
    const row = browser.$(`#partner-table tr[data-partner-name="${PARTNER}"]`);
    assert.equal(await row.getAttribute("tabindex"), "0", "the row is reachable with Tab");
    await browser.execute((name) => {
      const rows = Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"));
      rows.find((r) => r.getAttribute("data-partner-name") === name)?.focus();
    }, PARTNER);
    await browser.keys("Enter");
    const detail = browser.$("#partner-detail");
    await detail.waitForDisplayed({ timeout: 10_000, timeoutMsg: "Enter on the row did not open the partner's page" });
    await waitForText(browser, "#partner-fields", new RegExp(sim.url.replace(/[.]/g, "\\.")), "the page never showed the endpoint");
    assert.match(await browser.$("#partner-detail").getText(), /Premium/);
    assert.match(await browser.$("#partner-contract").getText(), /No contract/);
    assert.match(await browser.$("#credential-current").getText(), /No credential stored/);
    const types = await browser.execute(() =>
      Array.from(document.querySelectorAll("#credential-type option")).map((o) => o.value),
    );
    assert.deepEqual(types, ["bearer", "client_certificate"], "only the types a Kubeflow partner takes are offered");
    const token = browser.$("#credential-token");
    assert.equal(await token.getAttribute("type"), "password");
    assert.equal(await token.getAttribute("autocomplete"), "off");
  });

  test("a first credential is stored as given, and the connection test shows the platform refusing it", async () => {
    await fill(browser, "#credential-token", WRONG_TOKEN);
    await browser.$("#credential-save").click();
    await waitForText(browser, "#credential-status", /Saved/, "the first credential was not saved");
    assert.equal(await browser.$("#credential-token").getValue(), "", "the token input is cleared after saving");
    assert.match(await browser.$("#credential-current").getText(), /Bearer token/);

    const meta = credentialMeta(ws.db);
    assert.equal(meta.credential_type, "bearer");
    assert.equal(meta.expires_on, null);

    const result = await testConnection(browser);
    assert.match(result, /Unhealthy/);
    assert.match(result, /credentials_rejected/);
    const capabilities = await verifiedCapabilities(browser);
    assert.deepEqual(capabilities[0], ["healthz", "true"], "the platform itself answers");
    assert.ok(
      capabilities.some(([name, ok]) => name === "runs" && ok === "false"),
      `the refused capability is listed as failed: ${JSON.stringify(capabilities)}`,
    );
    assert.match(result, /✗/);
    await scrollPage(browser, "bottom");
    await assertAccessible(browser);
    await screenshot(browser, "credential-rejected");
  });

  test("the right token replaces the wrong one once a connection test with it passes", async () => {
    const before = credentialMeta(ws.db);
    await fill(browser, "#credential-token", RIGHT_TOKEN);
    await fill(browser, "#credential-expires", "2031-01-31");
    assert.match(await browser.$("#credential-save").getText(), /Verify and replace/);
    await browser.$("#credential-save").click();
    await waitForText(browser, "#credential-status", /Replaced/, "the right token was not accepted");
    assert.equal(await browser.$("#credential-token").getValue(), "", "the token input is cleared after saving");
    assert.equal(await browser.$("#credential-expires").getValue(), "", "the expiry input is cleared after saving");
    assert.match(await browser.$("#credential-current").getText(), /2031-01-31/);

    const after = credentialMeta(ws.db);
    assert.equal(after.credential_type, "bearer");
    assert.equal(after.expires_on, "2031-01-31");
    assert.notEqual(after.updated_at, before.updated_at, "the replacement is recorded");
    const actions = cliJson(ws.db, ["audit", "--partner", PARTNER]).map((e) => e.action);
    assert.ok(actions.includes("credential.set"), `audit: ${actions}`);
    assert.ok(actions.includes("credential.rotate"), `audit: ${actions}`);

    const result = await testConnection(browser);
    assert.match(result, /Healthy/);
    assert.doesNotMatch(result, /credentials_rejected/);
    assert.deepEqual(
      await verifiedCapabilities(browser),
      [
        ["healthz", "true"],
        ["runs", "true"],
        ["experiments", "true"],
        ["pipelines", "true"],
      ],
      "every capability is verified",
    );
    assert.match(result, /✓/);
    assert.doesNotMatch(result, /✗/);
    await scrollPage(browser, "top");
    await assertAccessible(browser);
    await screenshot(browser, "credential-healthy");
  });

  test("a wrong replacement is refused after its connection test and the working credential stays", async () => {
    const before = credentialMeta(ws.db);
    await fill(browser, "#credential-token", WRONG_REPLACEMENT);
    await browser.$("#credential-save").click();
    const message = await waitForText(browser, "#credential-form-error", /failed verification/, "the wrong replacement was not refused");
    assert.match(message, /credentials_rejected/);
    assert.deepEqual(credentialMeta(ws.db), before, "nothing changed in the database");
    await screenshot(browser, "credential-rotation-refused");
    await browser.$("#credential-token").clearValue();

    const result = await testConnection(browser);
    assert.match(result, /Healthy/, "the stored credential is still the right one");
  });

  test("no secret shows in the window, the database files or the app's output", async () => {
    const text = await pageText(browser);
    const files = readdirSync(ws.dir).filter((f) => f.startsWith("ecosystem.db"));
    assert.ok(files.includes("ecosystem.db"));
    const log = app.log();
    assert.match(log, /registry opened/, "the app's own stderr is captured");
    assert.match(log, /credential stored/, "the app logged the credential changes");
    for (const secret of SECRETS) {
      assert.ok(!text.includes(secret), "the window's text shows a secret");
      for (const file of files) {
        assert.ok(!readFileSync(join(ws.dir, file)).includes(secret), `${file} holds a secret`);
      }
      assert.ok(!log.includes(secret), "the app's output holds a secret");
    }
  });

  test("the credential can be removed and the catalogue is one click away", async () => {
    await browser.$("#credential-remove").click();
    await browser.$("#credential-remove-confirm").click();
    await waitForText(browser, "#credential-current", /No credential stored/, "the credential was not removed");
    assert.deepEqual(cliJson(ws.db, ["credential", "list"]), []);
    await browser.$("#partner-back").click();
    await browser.$("#partner-detail").waitForExist({ reverse: true, timeout: 5_000 });
    assert.ok(await browser.$("#partner-table").isDisplayed(), "the catalogue is back");
    const focused = await browser.execute(() => document.activeElement?.getAttribute("data-partner-name"));
    assert.equal(focused, PARTNER, "the focus returns to the partner's row");

    // A click anywhere on the row opens the page too (WebKitWebDriver refuses clicks on a <tr>
    // itself as "not interactable", so the click goes to one of its cells).
    await browser.$(`#partner-table tr[data-partner-name="${PARTNER}"] td.name`).click();
    await browser.$("#partner-detail").waitForDisplayed({ timeout: 5_000, timeoutMsg: "a click on the row did not open the page" });
    await browser.$("#partner-back").click();
    await browser.$("#partner-detail").waitForExist({ reverse: true, timeout: 5_000 });
  });
});
