//! `ecosystem bench report [--partners 1000 --metrics 10 --days 365]`: the usage report and
//! the CSV export, measured. Generates daily usage for N partners and M metrics (one record per
//! partner, metric and day: 3.65 million rows by default) in a temporary database with plain
//! SQL, then prints
//! - the report time grouped by partner, tier and metric with month buckets (the median and
//!   the fastest of `--runs` runs, after one warm-up run, so the file is in the OS page cache as
//!   it is for any database in use);
//! - the full-detail CSV export (grouped by partner, daily: one CSV row per record) to a file:
//!   rows per second and bytes;
//! - the resident memory of each export, before it starts and at its peak (VmRSS, VmHWM), for
//!   a tenth of the days and for all of them, each in a fresh process of its own
//!   (`bench report-export`, hidden) so nothing the generation or the reports left counts: the
//!   same peak for both shows the export streams in constant memory.
//!
//! `ecosystem bench chart` measures the reports page's chart for a year of daily data, at
//! month and week buckets grouped by partner (the top series drawn) and by metric: as the page
//! first shows it (`usage_chart`: the chart's metric alone, then the SVG) and with the whole
//! report that follows (`usage_report`: every metric and the previous period, then the SVG),
//! plus the PNG export and a partner's health timeline over 90 days and 24 hours; p50, p95
//! and max of `--runs` runs each.
//!
//! Numbers are printed, never asserted. `bench.rs` holds the poller's bench; `AnyBench` puts
//! both under `ecosystem bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use clap::{Args, Subcommand};
use ecosystem_core::report::{self, day_number, Bucket, GroupBy, UsageQuery};
use ecosystem_core::{csv_export, Error, FixedClock, Result, Store};
use serde::{Deserialize, Serialize};

use crate::output::Format;

/// `ecosystem bench`: the poller's bench (bench.rs) and the report's.
#[derive(Debug, Subcommand)]
pub enum AnyBench {
    #[command(flatten)]
    Other(crate::bench::BenchCommand),
    /// Time the usage report (3.65 M rows by default) and the CSV export, with peak RSS
    Report(BenchReportArgs),
    /// Time the reports page's chart (report + SVG), its PNG export and the health timeline
    Chart(BenchChartArgs),
    /// Time what a log line costs: its masking, and its logging on the thread that logs
    Logs(crate::bench_logs::BenchLogsArgs),
    /// One full-detail CSV export of a `bench report` database, in a process of its own (run
    /// by `bench report`; prints its figures as JSON)
    #[command(hide = true)]
    ReportExport {
        database: PathBuf,
        /// Days from 2025-01-01
        #[arg(long)]
        days: u32,
        /// The CSV file to write
        #[arg(long)]
        output: PathBuf,
    },
}

pub fn run(command: AnyBench) -> Result<ExitCode> {
    match command {
        AnyBench::Other(command) => crate::bench::run(command),
        AnyBench::Report(args) => report(args),
        AnyBench::Chart(args) => chart(args),
        AnyBench::Logs(args) => crate::bench_logs::run(args),
        AnyBench::ReportExport {
            database,
            days,
            output,
        } => {
            let timing = export(&database, &output, days)?;
            crate::output::json(&timing)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchReportArgs {
    /// How many partners
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub partners: u32,
    /// How many metrics each partner reports
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub metrics: u32,
    /// How many days of records (from 2025-01-01)
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u32,
    /// Also generate the previous period's records (the `--days` days before), which every
    /// report reads for its comparison: twice the rows in the database
    #[arg(long)]
    pub previous: bool,
    /// Timed runs of each report (after one warm-up run)
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub runs: u32,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct ReportTiming {
    group_by: GroupBy,
    bucket: Bucket,
    rows: usize,
    totals: usize,
    median_ms: f64,
    min_ms: f64,
    /// CPU time (user + system) per run, averaged: what the report costs when the machine is
    /// shared.
    cpu_ms: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ExportTiming {
    days: u32,
    rows: u64,
    seconds: f64,
    rows_per_sec: f64,
    bytes: u64,
    /// Resident memory when the export starts, and the most it reached while it ran.
    rss_before_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    partners: u32,
    metrics: u32,
    days: u32,
    previous_period_generated: bool,
    records: u64,
    database_mb: f64,
    generate_secs: f64,
    reports: Vec<ReportTiming>,
    exports: Vec<ExportTiming>,
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io(context: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        context: context.to_string(),
        source,
    }
}

const FIRST_DAY: (i32, u32, u32) = (2025, 1, 1);
const UNITS: [&str; 5] = ["DBU", "credits", "GB", "calls", "hours"];
const TIERS: [&str; 3] = ["strategic", "premium", "standard"];

fn report(args: BenchReportArgs) -> Result<ExitCode> {
    if args.partners == 0 || args.metrics == 0 || args.days == 0 || args.runs == 0 {
        return Err(Error::invalid(
            "bench",
            "--partners, --metrics, --days and --runs must be at least 1",
        ));
    }
    let dir = std::env::temp_dir().join(format!("ecosystem-bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io("cannot create the bench directory"))?;
    let _scratch = Scratch(dir.clone());
    let db = dir.join("bench.db");
    let from = first_day();
    let to = from + Days::new(u64::from(args.days) - 1);

    let generated_days = args.days * if args.previous { 2 } else { 1 };
    eprintln!(
        "generating {} records ({} partners x {} metrics x {} days)...",
        u64::from(args.partners) * u64::from(args.metrics) * u64::from(generated_days),
        args.partners,
        args.metrics,
        generated_days
    );
    let started = Instant::now();
    let generated_from = if args.previous {
        from - Days::new(u64::from(args.days))
    } else {
        from
    };
    let records = generate(&db, &args, generated_from)?;
    let generate_secs = started.elapsed().as_secs_f64();
    let database_mb = file_mb(&db);

    let store = Store::open(&db)?;
    let conn = store.conn();
    // The day after the data: every report is complete.
    let clock = FixedClock::on(to + Days::new(1));
    let mut reports = Vec::new();
    for group_by in GroupBy::ALL {
        let query = UsageQuery {
            from,
            to,
            partner: None,
            group_by,
            bucket: Bucket::Month,
        };
        eprintln!("report by {group_by}, monthly...");
        let warm = query.run(conn, &clock)?;
        let mut times = Vec::new();
        let cpu_before = cpu_time();
        for _ in 0..args.runs {
            let started = Instant::now();
            let report = query.run(conn, &clock)?;
            times.push(started.elapsed());
            std::hint::black_box(report);
        }
        let cpu_ms = ms(cpu_time() - cpu_before) / f64::from(args.runs);
        times.sort();
        reports.push(ReportTiming {
            group_by,
            bucket: Bucket::Month,
            rows: warm.rows.len(),
            totals: warm.totals.len(),
            median_ms: ms(times[times.len() / 2]),
            min_ms: ms(times[0]),
            cpu_ms,
        });
    }

    // Each export runs in a fresh process of its own, so its peak RSS is the export's and not
    // what generating the data or the reports above left in this one.
    let mut exports = Vec::new();
    let tenth = (args.days / 10).max(1);
    for days in [tenth, args.days] {
        eprintln!("CSV export, {days} day(s), daily by partner...");
        exports.push(export_in_child(&db, &dir, from, days)?);
    }

    let result = BenchReport {
        partners: args.partners,
        metrics: args.metrics,
        days: args.days,
        previous_period_generated: args.previous,
        records,
        database_mb,
        generate_secs,
        reports,
        exports,
    };
    match args.format {
        Format::Json => crate::output::json(&result)?,
        Format::Table => print(&result),
    }
    Ok(ExitCode::SUCCESS)
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).expect("a date")
}

/// Runs `bench report-export` in a child process and reads its figures.
fn export_in_child(db: &Path, dir: &Path, from: NaiveDate, days: u32) -> Result<ExportTiming> {
    debug_assert_eq!(from, first_day());
    let exe = std::env::current_exe().map_err(io("cannot find the ecosystem binary"))?;
    let output = dir.join(format!("export-{days}.csv"));
    let out = std::process::Command::new(exe)
        .arg("bench")
        .arg("report-export")
        .arg(db)
        .arg("--days")
        .arg(days.to_string())
        .arg("--output")
        .arg(&output)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(io("cannot run the export"))?;
    let _ = std::fs::remove_file(&output);
    if !out.status.success() {
        return Err(Error::invalid("bench", "the export process failed"));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::invalid("bench", format!("the export printed no figures: {e}")))
}

/// The full-detail export (grouped by partner, daily) of the first `days` days to `output`.
fn export(db: &Path, output: &Path, days: u32) -> Result<ExportTiming> {
    let store = Store::open(db)?;
    let from = first_day();
    let to = from + Days::new(u64::from(days.max(1)) - 1);
    let query = UsageQuery {
        from,
        to,
        partner: None,
        group_by: GroupBy::Partner,
        bucket: Bucket::Day,
    };
    let clock = FixedClock::on(to + Days::new(1));
    reset_peak_rss();
    let rss_before = proc_status_kb("VmRSS:").map(|kb| kb as f64 / 1024.0);
    let started = Instant::now();
    let rows = csv_export::export_csv(output, store.conn(), &clock, &query, |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = proc_status_kb("VmHWM:").map(|kb| kb as f64 / 1024.0);
    let bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    Ok(ExportTiming {
        days,
        rows,
        seconds,
        rows_per_sec: rows as f64 / seconds,
        bytes,
        rss_before_mb: rss_before,
        peak_rss_mb: peak,
    })
}

/// Fills a new database with partners (tiers in turn), metrics and one record per partner,
/// metric and day, with plain SQL in one transaction; the by-day index is built after the rows
/// (as SQLite builds an index fastest), with the same definition as migration 6.
fn generate(db: &Path, args: &BenchReportArgs, from: NaiveDate) -> Result<u64> {
    let days = i64::from(args.days) * if args.previous { 2 } else { 1 };
    let mut store = Store::open(db)?;
    let conn = store.conn_mut();
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)?;
    let index_sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'usage_records_by_day'",
        [],
        |r| r.get(0),
    )?;
    let tx = conn.transaction()?;
    {
        let mut partner = tx.prepare(
            "INSERT INTO partners (id, name, kind, endpoint, tier, lifecycle, check_interval_secs, \
             check_timeout_secs, created_at, updated_at) \
             VALUES (?1, ?2, 'http', ?3, ?4, 'active', 60, 10, ?5, ?5)",
        )?;
        for i in 0..args.partners {
            partner.execute((
                i + 1,
                format!("bench-{i:05}"),
                format!("https://bench-{i}.example.com"),
                TIERS[i as usize % TIERS.len()],
                "2025-01-01T00:00:00Z",
            ))?;
        }
        let mut metric = tx.prepare(
            "INSERT INTO usage_metrics (id, name, unit, source) VALUES (?1, ?2, ?3, 'platform')",
        )?;
        for m in 0..args.metrics {
            metric.execute((
                m + 1,
                format!("bench.metric_{m:03}"),
                UNITS[m as usize % UNITS.len()],
            ))?;
        }
        tx.execute_batch("DROP INDEX usage_records_by_day")?;
        let mut record = tx.prepare(
            "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let first = day_number(from);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for p in 1..=i64::from(args.partners) {
            for m in 1..=i64::from(args.metrics) {
                for day in first..first + days {
                    // xorshift64: values with two decimals from 0 to 999.99.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let value = (x % 100_000) as f64 / 100.0;
                    record.execute((p, m, day, value, (day + 1) * 86_400))?;
                }
            }
        }
    }
    tx.execute_batch(&index_sql)?;
    tx.commit()?;
    // No ANALYZE: the report must be fast with the plans a user's database gets.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(u64::from(args.partners) * u64::from(args.metrics) * days as u64)
}

fn print(r: &BenchReport) {
    println!(
        "{} records ({} partners x {} metrics x {} days{}), database {:.0} MB, generated in {:.1} s",
        r.records,
        r.partners,
        r.metrics,
        r.days,
        if r.previous_period_generated {
            ", and as many in the previous period"
        } else {
            ""
        },
        r.database_mb,
        r.generate_secs
    );
    println!();
    crate::output::table(
        &["REPORT", "ROWS", "TOTALS", "MEDIAN", "FASTEST", "CPU/RUN"],
        &r.reports
            .iter()
            .map(|t| {
                vec![
                    format!("by {}, {}", t.group_by, t.bucket),
                    t.rows.to_string(),
                    t.totals.to_string(),
                    format!("{:.0} ms", t.median_ms),
                    format!("{:.0} ms", t.min_ms),
                    format!("{:.0} ms", t.cpu_ms),
                ]
            })
            .collect::<Vec<_>>(),
    );
    println!();
    crate::output::table(
        &[
            "CSV EXPORT",
            "ROWS",
            "TIME",
            "ROWS/S",
            "MB",
            "RSS BEFORE",
            "PEAK RSS",
        ],
        &r.exports
            .iter()
            .map(|e| {
                vec![
                    format!("daily by partner, {} day(s)", e.days),
                    e.rows.to_string(),
                    format!("{:.2} s", e.seconds),
                    format!("{:.0}", e.rows_per_sec),
                    format!("{:.0}", e.bytes as f64 / 1_048_576.0),
                    e.rss_before_mb
                        .map(|m| format!("{m:.1} MB"))
                        .unwrap_or_else(|| "-".into()),
                    e.peak_rss_mb
                        .map(|m| format!("{m:.1} MB"))
                        .unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn file_mb(db: &Path) -> f64 {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    (size(db) + size(Path::new(&wal))) as f64 / 1_048_576.0
}

/// Resets VmHWM to the current RSS (Linux: `5` to /proc/self/clear_refs), when allowed.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A size in kB from /proc/self/status (`VmRSS:` now, `VmHWM:` the peak), when /proc says.
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

// ---------------------------------------------------------------------------------------
// `bench chart`

#[derive(Debug, Args)]
pub struct BenchChartArgs {
    /// How many partners
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub partners: u32,
    /// How many metrics each partner reports
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub metrics: u32,
    /// How many days of records (from 2025-01-01)
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u32,
    /// Days of health history (one check a minute) for the timeline's partner
    #[arg(long, value_name = "N", default_value_t = 90)]
    pub health_days: u32,
    /// Timed runs of each case (after one warm-up run)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub runs: u32,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct ChartTiming {
    case: String,
    /// Lines (usage) or bands (health) drawn, and the points of the lines.
    series: usize,
    points: usize,
    /// The SVG's size (0 for the PNG).
    svg_kb: f64,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    /// The drawing alone (the chart's input made, to the SVG or PNG), p50 and max.
    draw_p50_ms: f64,
    draw_max_ms: f64,
    /// CPU time (user + system, every thread) per run, averaged.
    cpu_ms: f64,
}

#[derive(Debug, Serialize)]
struct BenchChart {
    partners: u32,
    metrics: u32,
    days: u32,
    records: u64,
    health_days: u32,
    health_checks: u64,
    runs: u32,
    cases: Vec<ChartTiming>,
}

/// What one case measured: its figures from the warm-up run, and each run's whole time and
/// drawing time, sorted.
struct Timed<T> {
    first: T,
    times: Vec<Duration>,
    draws: Vec<Duration>,
    cpu_ms: f64,
}

/// Runs `f` once to warm up, then `runs` times. `f` gets a `draw` clock to start where the
/// drawing begins (after the data is read).
fn timed<T>(runs: u32, mut f: impl FnMut(&mut Instant) -> Result<T>) -> Result<Timed<T>> {
    let mut draw = Instant::now();
    let first = f(&mut draw)?;
    let (mut times, mut draws) = (Vec::new(), Vec::new());
    let cpu_before = cpu_time();
    for _ in 0..runs {
        let started = Instant::now();
        draw = started;
        std::hint::black_box(f(&mut draw)?);
        times.push(started.elapsed());
        draws.push(draw.elapsed());
    }
    let cpu_ms = ms(cpu_time() - cpu_before) / f64::from(runs);
    times.sort();
    draws.sort();
    Ok(Timed {
        first,
        times,
        draws,
        cpu_ms,
    })
}

impl<T> Timed<T> {
    fn timing(&self, case: String, series: usize, points: usize, svg_bytes: usize) -> ChartTiming {
        let (p50_ms, p95_ms, max_ms) = percentiles(&self.times);
        let (draw_p50_ms, _, draw_max_ms) = percentiles(&self.draws);
        ChartTiming {
            case,
            series,
            points,
            svg_kb: svg_bytes as f64 / 1024.0,
            p50_ms,
            p95_ms,
            max_ms,
            draw_p50_ms,
            draw_max_ms,
            cpu_ms: self.cpu_ms,
        }
    }
}

fn percentiles(times: &[Duration]) -> (f64, f64, f64) {
    let at = |q: f64| {
        let rank = ((q * times.len() as f64).ceil() as usize).clamp(1, times.len());
        ms(times[rank - 1])
    };
    (at(0.50), at(0.95), ms(times[times.len() - 1]))
}

fn chart_error(e: ecosystem_charts::ChartError) -> Error {
    Error::invalid("chart", e.to_string())
}

fn chart(args: BenchChartArgs) -> Result<ExitCode> {
    use chrono::{DateTime, Utc};
    use ecosystem_charts::Size;
    use ecosystem_core::health::CheckOutcome;
    use ecosystem_core::health_store::{HealthHistory, HealthWriter, PartnerOutcome};
    use ecosystem_core::integration::ErrorClass;

    if args.partners == 0
        || args.metrics == 0
        || args.days == 0
        || args.runs == 0
        || args.health_days == 0
    {
        return Err(Error::invalid(
            "bench",
            "--partners, --metrics, --days, --health-days and --runs must be at least 1",
        ));
    }
    let dir = std::env::temp_dir().join(format!("ecosystem-bench-chart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io("cannot create the bench directory"))?;
    let _scratch = Scratch(dir.clone());
    let db = dir.join("bench.db");
    let from = first_day();
    let to = from + Days::new(u64::from(args.days) - 1);
    eprintln!(
        "generating {} records ({} partners x {} metrics x {} days)...",
        u64::from(args.partners) * u64::from(args.metrics) * u64::from(args.days),
        args.partners,
        args.metrics,
        args.days
    );
    let generate_args = BenchReportArgs {
        partners: args.partners,
        metrics: args.metrics,
        days: args.days,
        previous: false,
        runs: args.runs,
        format: args.format,
    };
    let records = generate(&db, &generate_args, from)?;

    // The timeline's partner: a check a minute through the real writer, latency drifting
    // over the day, a 40-minute outage every fifth day and a slow hour every third.
    let now: DateTime<Utc> = DateTime::from_timestamp(1_767_225_600, 0).expect("a time"); // 2026-01-01
    let start = now - chrono::Duration::days(i64::from(args.health_days));
    eprintln!(
        "recording {} days of health checks for one partner...",
        args.health_days
    );
    let mut writer = HealthWriter::new(Store::open(&db)?);
    let mut health_checks = 0u64;
    let mut batch = Vec::with_capacity(1_440);
    let mut at = start;
    while at < now {
        let minute = (at - start).num_minutes();
        let (day, minute_of_day) = (minute / 1_440, minute % 1_440);
        let latency = 80 + (minute_of_day as u32 * 7) % 60;
        let outcome = if day % 5 == 4 && (600..640).contains(&minute_of_day) {
            CheckOutcome::failed(at, ErrorClass::TimedOut, "no answer", 10_000)
        } else if day % 3 == 1 && (300..360).contains(&minute_of_day) {
            CheckOutcome::ok(at, latency * 12)
        } else {
            CheckOutcome::ok(at, latency)
        };
        batch.push(PartnerOutcome {
            partner_id: 1,
            outcome,
        });
        health_checks += 1;
        if batch.len() == 1_440 {
            writer.record(&batch)?;
            batch.clear();
        }
        at += chrono::Duration::minutes(1);
    }
    if !batch.is_empty() {
        writer.record(&batch)?;
    }
    drop(writer);

    let store = Store::open(&db)?;
    let conn = store.conn();
    let clock = FixedClock::on(to + Days::new(1));
    let mut cases = Vec::new();
    for (group_by, bucket) in [
        (GroupBy::Partner, Bucket::Month),
        (GroupBy::Partner, Bucket::Week),
        (GroupBy::Metric, Bucket::Month),
        (GroupBy::Metric, Bucket::Week),
    ] {
        let query = UsageQuery {
            from,
            to,
            partner: None,
            group_by,
            bucket,
        };
        // What the page waits for before its chart shows: `usage_chart`, the chart's metric
        // alone.
        eprintln!("reports page chart by {group_by}, {bucket}...");
        let measured = timed(args.runs, |draw| {
            let made = query.chart(conn, &clock, None)?;
            *draw = Instant::now();
            let chart = made
                .chart
                .ok_or_else(|| Error::invalid("bench", "the report has no usage"))?;
            let svg = ecosystem_charts::usage_svg(&chart).map_err(chart_error)?;
            let points = chart.series.iter().map(|s| s.points.len()).sum::<usize>();
            Ok((chart.series.len(), points, svg.len()))
        })?;
        let (series, points, svg_len) = measured.first;
        cases.push(measured.timing(
            format!("chart by {group_by}, {bucket} + SVG"),
            series,
            points,
            svg_len,
        ));
        // What follows it: `usage_report`, the whole report (every metric, the previous
        // period) with the same chart.
        eprintln!("whole report by {group_by}, {bucket}...");
        let measured = timed(args.runs, |draw| {
            let report = query.run(conn, &clock)?;
            *draw = Instant::now();
            let metric = report::chart_metric(&report, None)
                .ok_or_else(|| Error::invalid("bench", "the report has no usage"))?;
            let chart = report::usage_chart(&report, &metric);
            let svg = ecosystem_charts::usage_svg(&chart).map_err(chart_error)?;
            let points = chart.series.iter().map(|s| s.points.len()).sum::<usize>();
            Ok((chart.series.len(), points, svg.len()))
        })?;
        let (series, points, svg_len) = measured.first;
        cases.push(measured.timing(
            format!("whole report by {group_by}, {bucket} + SVG"),
            series,
            points,
            svg_len,
        ));
    }

    // The PNG export of the first case's chart (the report already made: only the drawing).
    eprintln!("PNG export of the chart...");
    let usage = UsageQuery {
        from,
        to,
        partner: None,
        group_by: GroupBy::Partner,
        bucket: Bucket::Month,
    }
    .chart(conn, &clock, None)?
    .chart
    .ok_or_else(|| Error::invalid("bench", "no usage"))?;
    let png = dir.join("chart.png");
    let measured = timed(args.runs, |_| {
        ecosystem_charts::usage_png(&usage, &png).map_err(chart_error)
    })?;
    cases.push(measured.timing(
        "PNG of the chart (by partner, month)".into(),
        usage.series.len(),
        usage.series.iter().map(|s| s.points.len()).sum(),
        0,
    ));

    // The partner page's health timeline, as `partner_health_chart` draws it.
    let history = HealthHistory::new(conn);
    let ranges = [
        (
            format!("health timeline, {} days + SVG", args.health_days),
            chrono::Duration::days(i64::from(args.health_days.min(90))),
        ),
        (
            "health timeline, 24 hours + SVG".to_string(),
            chrono::Duration::hours(24),
        ),
    ];
    for (case, span) in ranges {
        eprintln!("{case}...");
        let measured = timed(args.runs, |draw| {
            let chart = history
                .timeline_chart(1, "bench-00000".into(), now - span, now, now, Size::WIDE)?
                .ok_or_else(|| Error::invalid("bench", "no health history"))?;
            *draw = Instant::now();
            let svg = ecosystem_charts::health_svg(&chart).map_err(chart_error)?;
            Ok((chart.bands.len(), chart.latency.len(), svg.len()))
        })?;
        let (series, points, svg_len) = measured.first;
        cases.push(measured.timing(case, series, points, svg_len));
    }

    let result = BenchChart {
        partners: args.partners,
        metrics: args.metrics,
        days: args.days,
        records,
        health_days: args.health_days,
        health_checks,
        runs: args.runs,
        cases,
    };
    match args.format {
        Format::Json => crate::output::json(&result)?,
        Format::Table => {
            println!(
                "{} usage records ({} partners x {} metrics x {} days); {} health checks over {} days; {} runs per case",
                result.records,
                result.partners,
                result.metrics,
                result.days,
                result.health_checks,
                result.health_days,
                result.runs
            );
            println!();
            crate::output::table(
                &[
                    "CASE",
                    "LINES/BANDS",
                    "POINTS",
                    "SVG",
                    "P50",
                    "P95",
                    "MAX",
                    "DRAW P50",
                    "DRAW MAX",
                    "CPU/RUN",
                ],
                &result
                    .cases
                    .iter()
                    .map(|c| {
                        vec![
                            c.case.clone(),
                            c.series.to_string(),
                            c.points.to_string(),
                            if c.svg_kb > 0.0 {
                                format!("{:.0} KB", c.svg_kb)
                            } else {
                                "-".into()
                            },
                            format!("{:.1} ms", c.p50_ms),
                            format!("{:.1} ms", c.p95_ms),
                            format!("{:.1} ms", c.max_ms),
                            format!("{:.1} ms", c.draw_p50_ms),
                            format!("{:.1} ms", c.draw_max_ms),
                            format!("{:.0} ms", c.cpu_ms),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
