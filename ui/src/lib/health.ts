// The pure side of the Health card: words for states and outcomes, durations and percents,
// the heartbeat bar's ticks and the latency chart's geometry. No DOM, no Tauri.
import type { CheckOutcomeView, CheckView, HealthRange, SeriesPoint } from "./types";

/** The chart's ranges, in the order the menu offers them, with their labels. */
export const HEALTH_RANGES: readonly HealthRange[] = ["24h", "7d", "30d", "90d", "1y"];

export const RANGE_LABELS: Readonly<Record<HealthRange, string>> = {
  "24h": "24 hours",
  "7d": "7 days",
  "30d": "30 days",
  "90d": "90 days",
  "1y": "1 year",
};

export function isHealthRange(value: string): value is HealthRange {
  return Object.hasOwn(RANGE_LABELS, value);
}

/** The colour family of a tick; each outcome also has its own height and word. */
export type TickTone = "ok" | "slow" | "failed";

export const OUTCOME_LABELS: Readonly<Record<CheckOutcomeView, string>> = {
  ok: "OK",
  slow: "Slow",
  capability_failing: "Capability failing",
  failed: "Failed",
};

export const OUTCOME_TONES: Readonly<Record<CheckOutcomeView, TickTone>> = {
  ok: "ok",
  slow: "slow",
  capability_failing: "slow",
  failed: "failed",
};

/** Whole seconds as "45 s", "12 min", "2 h 5 min", "3 d 4 h". */
export function durationLabel(totalSeconds: number): string {
  const secs = Math.max(0, Math.round(totalSeconds));
  if (secs < 60) return `${secs} s`;
  const minutes = Math.floor(secs / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest === 0 ? `${days} d` : `${days} d ${rest} h`;
}

/**
 * An uptime percent as "99.95 %", "100 %" or "—" without data. Never rounds up to 100: a
 * partner that was down for a moment does not show a perfect record.
 */
export function percentLabel(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value >= 100) return "100 %";
  const floored = Math.floor(value * 100) / 100;
  return `${floored.toFixed(2).replace(/\.?0+$/, "")} %`;
}

/** "120 ms", "1.5 s", or "—". */
export function latencyLabel(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, "")} s`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** An RFC 3339 time as "2026-11-26 13:47:41 UTC" (or the text itself if it is not a time). */
export function checkTimeLabel(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return value;
  const d = new Date(t);
  return (
    `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`
  );
}

/** One tick of the heartbeat bar. */
export interface Tick {
  key: string;
  tone: TickTone;
  outcome: CheckOutcomeView;
  /** What a tooltip and a screen reader say: time, outcome, latency. */
  label: string;
}

/** The latest checks as ticks, oldest first (as given). */
export function checkTicks(checks: readonly CheckView[]): Tick[] {
  return checks.map((c, i) => {
    const outcome = OUTCOME_LABELS[c.outcome] ?? c.outcome;
    const detail =
      c.outcome === "failed"
        ? c.error_class
          ? `${outcome} (${c.error_class.replaceAll("_", " ")})`
          : outcome
        : `${outcome}, ${latencyLabel(c.latency_ms)}`;
    return {
      key: `${c.at}-${i}`,
      tone: OUTCOME_TONES[c.outcome] ?? "failed",
      outcome: c.outcome,
      label: `${checkTimeLabel(c.at)}: ${detail}`,
    };
  });
}

/** "58 OK, 2 failed of the last 60 checks": the heartbeat bar in words. */
export function ticksSummary(ticks: readonly Tick[]): string {
  if (ticks.length === 0) return "No checks recorded in the last 24 hours";
  const counts: Record<TickTone, number> = { ok: 0, slow: 0, failed: 0 };
  for (const t of ticks) counts[t.tone] += 1;
  const parts = [
    counts.ok > 0 ? `${counts.ok} OK` : "",
    counts.slow > 0 ? `${counts.slow} slow or partly failing` : "",
    counts.failed > 0 ? `${counts.failed} failed` : "",
  ].filter((p) => p !== "");
  const of = ticks.length === 1 ? "the last check" : `the last ${ticks.length} checks`;
  return `${parts.join(", ")} of ${of}`;
}

/** The chart's box in pixels and the room left around the plot for the axes' labels. */
export interface ChartBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const DEFAULT_BOX: ChartBox = { width: 640, height: 200, left: 56, right: 12, top: 10, bottom: 26 };

export interface AxisTick {
  /** Position along its axis, in pixels within the box. */
  at: number;
  label: string;
}

/** What the SVG draws: line segments (broken where no check succeeded), failure marks, axes. */
export interface ChartModel {
  box: ChartBox;
  /** `points` attributes of the latency polylines (mean or value). */
  lines: string[];
  /** Points standing alone (no neighbour to join), drawn as dots so they stay visible. */
  dots: { x: number; y: number }[];
  /** `points` attributes of the maximum latency polylines (only for rollups). */
  maxLines: string[];
  /** x positions (px) of buckets with a failed check, and their width. */
  failures: number[];
  failureWidth: number;
  xTicks: AxisTick[];
  yTicks: AxisTick[];
  /** The y axis' top value, in ms. */
  yMax: number;
  /** How many plotted points there were before merging per pixel column. */
  pointCount: number;
}

/** The smallest "nice" number (1, 2, 2.5, 5 × 10^k) at or above `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * power + 1e-9) return step * power;
  }
  return 10 * power;
}

/** An x-axis label: the time of day for a day's range, the date beyond. */
export function axisTimeLabel(ms: number, range: HealthRange): string {
  const d = new Date(ms);
  if (range === "24h") return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
  if (range === "1y") return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The chart of `series` over [from, to]. Points are merged per pixel column (mean of the
 * values, max of the maxima), so a year of hourly points draws as fast as a day's.
 */
export function chartModel(
  series: readonly SeriesPoint[],
  from: string,
  to: string,
  range: HealthRange,
  box: ChartBox = DEFAULT_BOX,
): ChartModel {
  const start = Date.parse(from);
  const end = Math.max(Date.parse(to), start + 1);
  const plotW = Math.max(1, box.width - box.left - box.right);
  const plotH = Math.max(1, box.height - box.top - box.bottom);
  const columns = Math.max(1, Math.floor(plotW));
  const sum: number[] = new Array<number>(columns).fill(0);
  const count: number[] = new Array<number>(columns).fill(0);
  const max: number[] = new Array<number>(columns).fill(-1);
  const failed: boolean[] = new Array<boolean>(columns).fill(false);
  let hasMax = false;
  let top = 0;
  for (const p of series) {
    const t = Date.parse(p.at);
    if (Number.isNaN(t) || t < start || t > end) continue;
    const col = Math.min(columns - 1, Math.floor(((t - start) / (end - start)) * columns));
    if (p.failed > 0) failed[col] = true;
    const value = p.latency_ms;
    if (value !== null) {
      sum[col] = (sum[col] ?? 0) + value;
      count[col] = (count[col] ?? 0) + 1;
      top = Math.max(top, value);
    }
    const most = p.latency_max_ms;
    if (most !== null) {
      if (most !== value) hasMax = true;
      if (most > (max[col] ?? -1)) max[col] = most;
    }
  }
  if (hasMax) for (const m of max) top = Math.max(top, m);
  // Four equal steps of a round size (whole milliseconds at least) up to the top.
  const step = Math.ceil(niceCeiling(top / 4));
  const yMax = 4 * step;
  const x = (col: number) => round1(box.left + ((col + 0.5) / columns) * plotW);
  const y = (ms: number) => round1(box.top + plotH - (Math.min(ms, yMax) / yMax) * plotH);

  const lines: string[] = [];
  const maxLines: string[] = [];
  let line: string[] = [];
  let maxLine: string[] = [];
  const dots: { x: number; y: number }[] = [];
  const join = (points: string[]) => (points.length === 1 ? `${points[0]} ${points[0]}` : points.join(" "));
  const flush = () => {
    if (line.length === 1) {
      const [px = 0, py = 0] = (line[0] ?? "").split(",").map(Number);
      dots.push({ x: px, y: py });
    }
    if (line.length > 0) lines.push(join(line));
    if (maxLine.length > 0) maxLines.push(join(maxLine));
    line = [];
    maxLine = [];
  };
  const failures: number[] = [];
  for (let c = 0; c < columns; c++) {
    const n = count[c] ?? 0;
    if (failed[c]) failures.push(round1(box.left + (c / columns) * plotW));
    if (n === 0) {
      // A column with checks but no success breaks the line; empty columns are bridged.
      if (failed[c]) flush();
      continue;
    }
    line.push(`${x(c)},${y((sum[c] ?? 0) / n)}`);
    const m = max[c] ?? -1;
    if (hasMax && m >= 0) maxLine.push(`${x(c)},${y(m)}`);
  }
  flush();

  const yTicks: AxisTick[] = [0, 0.25, 0.5, 0.75, 1].map((f) => ({
    at: round1(box.top + plotH - f * plotH),
    label: latencyLabel(f * yMax),
  }));
  const xCount = Math.max(2, Math.min(6, Math.floor(plotW / 110) + 1));
  const xTicks: AxisTick[] = Array.from({ length: xCount }, (_, i) => {
    const f = i / (xCount - 1);
    return { at: round1(box.left + f * plotW), label: axisTimeLabel(start + f * (end - start), range) };
  });
  return {
    box,
    lines,
    dots,
    maxLines: hasMax ? maxLines : [],
    failures,
    failureWidth: Math.max(1.5, round1(plotW / columns)),
    xTicks,
    yTicks,
    yMax,
    pointCount: series.length,
  };
}

/** The chart in words, for screen readers. */
export function chartDescription(series: readonly SeriesPoint[], range: HealthRange): string {
  const values = series.flatMap((p) => (p.latency_ms === null ? [] : [p.latency_ms]));
  const failed = series.reduce((n, p) => n + p.failed, 0);
  const over = `over the last ${RANGE_LABELS[range]}`;
  if (values.length === 0) {
    return failed > 0 ? `No successful check ${over}; ${failed} failed` : `No checks ${over}`;
  }
  let low = Infinity;
  let high = 0;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const failures = failed > 0 ? `; ${failed} failed check${failed === 1 ? "" : "s"}` : "";
  return `Latency ${over}: from ${latencyLabel(low)} to ${latencyLabel(high)}${failures}`;
}
