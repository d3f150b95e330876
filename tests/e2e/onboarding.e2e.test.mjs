// Guided onboarding in the real app against partner-sim (Kubeflow): register through the form,
// then on the partner's page walk the steps with the keyboard: add the credential, test the
// connection, activate. The flow is left half-way and resumed from where it stopped, and ends
// with the partner active and polled healthy by the app's own poller.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertAccessible, cliJson, freshWorkspace, launchApp, screenshot, startSim, waitForRow, waitForText } from "./driver.mjs";

const PARTNER = "Kubeflow Onboarded";
/** The simulator's demo token. */
const TOKEN = "kfp-sim-token";

/** Moves the focus to `selector` and presses `key` there, as a keyboard user would. */
async function press(browser, selector, key = "Enter") {
  const element = browser.$(selector);
  await element.waitForDisplayed({ timeout: 10_000, timeoutMsg: `${selector} never appeared` });
  await browser.execute((s) => document.querySelector(s).focus(), selector);
  assert.equal(await browser.execute(() => document.activeElement?.id ?? null), selector.slice(1), `${selector} takes the focus`);
  await browser.keys(key);
}

function focusedId(browser) {
  return browser.execute(() => document.activeElement?.id ?? null);
}

describe("a new partner is onboarded step by step and ends active and healthy", { timeout: 300_000 }, () => {
  const ws = freshWorkspace("onboarding");
  let sim;
  let app;
  let browser;

  before(async () => {
    sim = await startSim();
    app = await launchApp(ws.db);
    browser = app.browser;
    const tab = await browser.$("#tab-partners");
    if (await tab.isExisting()) await tab.click();
    await browser.$("#add-partner-open").waitForClickable({ timeout: 30_000 });
  });

  after(async () => {
    await app?.stop();
    await sim?.stop();
  });

  test("step 1: the form registers the partner and offers to continue its onboarding", async () => {
    await press(browser, "#add-partner-open");
    await browser.$("#add-partner-form").waitForDisplayed({ timeout: 5_000 });
    await browser.$("#partner-name").setValue(PARTNER);
    await browser.$("#partner-kind").selectByAttribute("value", "kubeflow");
    await browser.$("#partner-endpoint").setValue(sim.url);
    await browser.$("#partner-interval").clearValue();
    await browser.$("#partner-interval").setValue("5");
    await browser.$("#partner-timeout").clearValue();
    await browser.$("#partner-timeout").setValue("3");
    await press(browser, "#partner-submit");
    await waitForRow(browser, PARTNER, "the registered partner never appeared");
    assert.equal(cliJson(ws.db, ["partner", "show", PARTNER]).lifecycle, "onboarding");

    await press(browser, "#onboarding-start");
    await waitForText(browser, "#onboarding-status", /Onboarding: step 2 of 4/, "the page does not say onboarding is at step 2");
    await assertAccessible(browser);
    await screenshot(browser, "onboarding-resume-line");
  });

  test("step 2: the credential is stored through the keyboard, and the flow moves on", async () => {
    await press(browser, "#onboarding-continue");
    await waitForText(browser, "#onboarding-step-title", /Step 2 of 4: Add credentials/, "step 2 is not shown");
    assert.equal(await focusedId(browser), "onboarding-step-title", "the step's heading takes the focus");
    const steps = await browser.execute(() =>
      Array.from(document.querySelectorAll("#onboarding .steps li")).map((li) => [li.dataset.stepKey, li.getAttribute("aria-current")]),
    );
    assert.deepEqual(steps, [
      ["register", null],
      ["credentials", "step"],
      ["test", null],
      ["activate", null],
    ]);
    await browser.$("#credential-token").setValue(TOKEN);
    await press(browser, "#credential-save");
    await waitForText(browser, "#onboarding-step-title", /Step 3 of 4: Test the connection/, "saving the credential did not lead to step 3");
    assert.equal(cliJson(ws.db, ["credential", "show", PARTNER]).credential_type, "bearer");
    await assertAccessible(browser);
    await screenshot(browser, "onboarding-step-3");
  });

  test("the flow can be left and is resumed where it stopped", async () => {
    await press(browser, "#onboarding-leave");
    await waitForText(browser, "#onboarding-status", /Onboarding: step 3 of 4/, "leaving does not show the resume line");
    await press(browser, "#partner-back");
    await waitForRow(browser, PARTNER, "back on the catalogue, the partner is not listed");
    await browser.execute((name) => {
      Array.from(document.querySelectorAll("#partner-table tr[data-partner-name]"))
        .find((r) => r.getAttribute("data-partner-name") === name)
        ?.focus();
    }, PARTNER);
    await browser.keys("Enter");
    await waitForText(browser, "#onboarding-status", /Onboarding: step 3 of 4/, "the reopened page does not resume at step 3");
    await press(browser, "#onboarding-continue");
    await waitForText(browser, "#onboarding-step-title", /Step 3 of 4/, "continuing did not reopen step 3");
  });

  test("steps 3 and 4: the connection test passes against partner-sim and the partner is activated", async () => {
    // Going on before a passing test is refused with a reason.
    await press(browser, "#onboarding-next");
    await waitForText(browser, "#onboarding-message", /has not passed/, "going on without a test was not refused");

    await press(browser, "#test-connection");
    await waitForText(browser, "#connection-result", /Healthy/, "the connection test did not pass", 30_000);
    await press(browser, "#onboarding-next");
    await waitForText(browser, "#onboarding-step-title", /Step 4 of 4: Activate/, "a passing test did not lead to step 4");
    await assertAccessible(browser);
    await screenshot(browser, "onboarding-step-4");

    await press(browser, "#onboarding-activate");
    await waitForText(browser, "#onboarding-done", /is active/, "activation did not finish the flow");
    assert.equal(cliJson(ws.db, ["partner", "show", PARTNER]).lifecycle, "active");
    assert.equal(await browser.$("#onboarding-status").isExisting(), false, "no resume line once active");

    // The app's poller takes the newly active partner up and finds it healthy.
    await browser.waitUntil(
      async () => {
        await browser.$("#health-refresh").click();
        await browser.pause(500);
        return /Healthy/.test(await browser.$("#health-state").getText().catch(() => ""));
      },
      { timeout: 60_000, interval: 2_000, timeoutMsg: "the activated partner was never polled healthy" },
    );
    await assertAccessible(browser);
    await screenshot(browser, "onboarding-done");
  });
});
