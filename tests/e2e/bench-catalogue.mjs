// Benchmark (run by hand, not by `make test`): the catalogue with 10,000 partners in the real
// app. Imports N partners through the real CLI, starts the app under the WebDriver (run it
// under Xvfb like the E2E tests), and prints
//   - the time to the catalogue's first paint: from the app's process start (the app measures
//     it when the page reports the paint), from the page's start (performance.now()), and the
//     wall time from launching the app through WebDriver;
//   - each filter's latency, median and worst of several runs, as the page records it: from the
//     control's change to the matching rows being in the page (data-catalogue-filter-ms: the
//     query, the answer crossing to the page, the rows rendered), and to their being painted
//     (data-catalogue-filter-paint-ms, which adds the browser's repaint of the window);
//   - for comparison, what one repaint of the window costs here with nothing filtered: the
//     table scrolled by one row, to the next painted frame.
// Numbers only, no pass or fail. Usage:
//   BENCH_PARTNERS=10000 scripts/isolated.sh scripts/with-keyring.sh \
//     xvfb-run -a -s "-screen 0 1280x800x24" node tests/e2e/bench-catalogue.mjs
import { cli, freshWorkspace, launchApp } from "./driver.mjs";
import { partnerName, seedCatalogue } from "./catalogue-seed.mjs";

/** The benchmark's output is its numbers, on stdout. */
const print = (line) => process.stdout.write(`${line}\n`);

const N = Number(process.env.BENCH_PARTNERS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Partners paused through the CLI, so that the health filter has a state to find. */
const PAUSED = 40;

const ws = freshWorkspace("bench-catalogue");
const importMs = seedCatalogue(ws.db, ws.dir, N);
for (let i = 1; i <= PAUSED; i++) cli(ws.db, ["partner", "pause", partnerName(Math.ceil((i * N) / PAUSED))]);
print(`partners: ${N} (imported in ${importMs.toFixed(0)} ms; ${PAUSED} paused)`);

const launched = performance.now();
const app = await launchApp(ws.db);
const browser = app.browser;
try {
  const tab = await browser.$("#tab-partners");
  if (await tab.isExisting()) await tab.click();
  let firstPaint = null;
  await browser.waitUntil(
    async () => {
      firstPaint = await browser.execute(() => {
        const data = document.documentElement.dataset;
        return data.processPaintMs === undefined ? null : { page: data.cataloguePaintMs, process: data.processPaintMs };
      });
      return firstPaint !== null;
    },
    { timeout: 120_000, interval: 20, timeoutMsg: "the catalogue never painted" },
  );
  const wall = performance.now() - launched;
  const count = await browser.$("#partner-count").getText();
  print(
    `first catalogue paint: ${firstPaint.process} ms after the app's process started, ${firstPaint.page} ms after the page started (performance.now()); ${wall.toFixed(0)} ms wall time from launching through WebDriver; count "${count}"`,
  );

  const marks = () => browser.execute(() => Number(document.documentElement.dataset.catalogueFilterCount ?? "0"));
  /** Sets `select` to `value`; when it narrows, waits for its paint and returns the latency. */
  async function choose(select, value, narrows) {
    const before = await marks();
    await browser.$(select).selectByAttribute("value", value);
    if (!narrows) {
      await browser.waitUntil(async () => /^[\d,]+ partners?$/.test(await browser.$("#partner-count").getText()), { timeout: 30_000 });
      return null;
    }
    await browser.waitUntil(async () => (await marks()) > before, { timeout: 30_000, interval: 10, timeoutMsg: `${select}=${value} never painted` });
    return browser.execute(() => ({
      dom: Number(document.documentElement.dataset.catalogueFilterMs),
      paint: Number(document.documentElement.dataset.catalogueFilterPaintMs),
    }));
  }

  const repaint = await browser.executeAsync(async (done) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const wrap = document.querySelector(".table-wrap");
    const times = [];
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      wrap.scrollTop += 44;
      await frame();
      times.push(performance.now() - t);
    }
    wrap.scrollTop = 0;
    await frame();
    times.sort((a, b) => a - b);
    done(times[4]);
  });
  print(`one repaint of the window (scrolled by one row, unfiltered): median ${repaint.toFixed(1)} ms`);

  const cases = [
    ["kind", [["#filter-kind", "mlflow"]]],
    ["tier", [["#filter-tier", "premium"]]],
    ["capability", [["#filter-capability", "jobs"]]],
    ["owner", [["#filter-owner", "chen"]]],
    ["tag", [["#filter-tag", "apac"]]],
    ["health (paused)", [["#filter-health", "paused"]]],
    ["health (unknown)", [["#filter-health", "unknown"]]],
    ["lifecycle", [["#filter-lifecycle", "suspended"]]],
    ["kind + tier + owner", [["#filter-kind", "databricks"], ["#filter-tier", "strategic"], ["#filter-owner", "ana"]]],
  ];
  print(`filter latency (${RUNS} runs): change -> rows in the page | change -> rows painted`);
  for (const [label, steps] of cases) {
    const times = [];
    let shown = "";
    for (let run = 0; run < RUNS; run++) {
      let last = null;
      for (const [select, value] of steps) last = await choose(select, value, true);
      times.push(last);
      shown = await browser.$("#partner-count").getText();
      for (const [select] of [...steps].reverse()) {
        await choose(select, "", steps.length > 1 && select !== steps[0][0]);
      }
    }
    const stats = (key) => {
      const sorted = times.map((t) => t[key]).sort((a, b) => a - b);
      return `median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, worst ${sorted[sorted.length - 1].toFixed(1)} ms`;
    };
    print(`  ${label.padEnd(20)} ${stats("dom")} | ${stats("paint")}  ("${shown}")`);
  }
} finally {
  await app.stop();
}
