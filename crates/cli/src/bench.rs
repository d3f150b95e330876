//! `ecosystem bench poll`: the poller's cost, measured. Starts loopback partners in a child
//! process (`ecosystem bench serve`, a tiny HTTP server answering 200 to any GET, so its CPU
//! is not counted), registers N active `http` partners in a temporary database, polls them for
//! the duration through the real poller and health writer, and prints checks done, CPU-ms per
//! check (getrusage, user + system, poll phase only), RSS (the peak while polling, VmHWM reset
//! when polling starts; at the end; the whole process's peak), database bytes per raw check
//! (file + WAL growth after a checkpoint, and the `health_samples` table alone when SQLite's
//! dbstat is compiled in), the bytes written to files per check (WAL frames, checkpoints) and
//! the schedule lag p50/p99. By default the partners share a few loopback listeners;
//! `--distinct-hosts` gives each its own address, so the HTTP client keeps a connection per
//! partner as it does for real partners.
//!
//! `ecosystem bench history`: what a year of health history costs on disk and to read; see
//! [`history`]. Numbers are printed, never asserted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use ecosystem_connectors::poller::{
    HealthPoller, HealthWriterSink, OutcomeSink, PlatformConnectors, PollerConfig, WriterBatching,
};
use ecosystem_core::health_store::HealthWriter;
use ecosystem_core::{
    Clock, Error, HealthCheck, LifecycleAction, NewPartner, PartnerKind, Registry, Result, Store,
    SystemClock,
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::output::Format;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Poll N loopback partners for a while and print the cost per check
    Poll(BenchPollArgs),
    /// Build a year of health history for N partners (as retention leaves it) and print its
    /// size per table and the time to load one partner's health report
    History(BenchHistoryArgs),
    /// Build N partners with contracts and six weeks of health changes, then time the
    /// desktop app's Overview aggregation (`ecosystem_core::overview`)
    Overview(BenchOverviewArgs),
    /// The loopback partners' server (started by `bench poll`; prints its ports, then serves)
    #[command(hide = true)]
    Serve {
        #[arg(long, default_value_t = 4)]
        listeners: u16,
        /// Instead: one listener on each of the loopback addresses of partners FIRST..FIRST+COUNT
        /// (see `partner_host`), all on one port
        #[arg(long, num_args = 2, value_names = ["FIRST", "COUNT"])]
        hosts: Option<Vec<u32>>,
    },
}

#[derive(Debug, Args)]
pub struct BenchPollArgs {
    /// How many partners
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub partners: u32,
    /// How long to poll, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub duration: u64,
    /// Each partner's check interval, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub interval: u32,
    /// Checks running at once
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub concurrency: u16,
    /// Loopback listeners the partners are spread over
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub listeners: u16,
    /// Give every partner a loopback address of its own (127.1.x.y), as real partners each
    /// have a host of their own: the HTTP client then keeps a connection per partner. The
    /// partners are served by one child process per 2,500 (file descriptors).
    #[arg(long)]
    pub distinct_hosts: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What the bench prints.
#[derive(Debug, Serialize)]
struct BenchReport {
    partners: u32,
    interval_secs: u32,
    duration_secs: u64,
    checks_done: u64,
    checks_per_sec: f64,
    unhealthy: u64,
    skipped_busy: u64,
    cpu_ms_total: f64,
    cpu_user_ms: f64,
    cpu_system_ms: f64,
    cpu_ms_per_check: f64,
    cpu_percent_of_one_core: f64,
    /// The whole process's peak (VmHWM), registering the partners included.
    peak_rss_mb: f64,
    /// The peak while polling: VmHWM reset when polling starts, after the memory the setup
    /// freed is given back (`malloc_trim`), so it is what the poller itself holds.
    poll_peak_rss_mb: f64,
    /// Resident at the end of the poll phase (VmRSS).
    rss_end_mb: f64,
    samples_stored: u64,
    db_bytes_per_check: f64,
    /// Bytes this process made the kernel write to files (WAL frames, checkpoints) during the
    /// poll phase, per check (`write_bytes` of /proc/self/io).
    file_writes_per_check: Option<f64>,
    sample_table_bytes_per_check: Option<f64>,
    lag_p50_ms: f64,
    lag_p99_ms: f64,
    lag_max_ms: f64,
}

pub fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Poll(args) => poll(args),
        BenchCommand::History(args) => history(args),
        BenchCommand::Overview(args) => overview(args),
        BenchCommand::Serve { listeners, hosts } => match hosts.as_deref() {
            Some(&[first, count]) => serve_hosts(first, count),
            _ => serve(listeners),
        },
    }
}

fn io(context: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        context: context.to_string(),
        source,
    }
}

/// Answers 200 to everything on `listeners` loopback ports; prints the ports on one line.
fn serve(listeners: u16) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("cannot start the server runtime"))?;
    runtime.block_on(async {
        let mut ports = Vec::new();
        let mut servers = tokio::task::JoinSet::new();
        for _ in 0..listeners.max(1) {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(io("cannot listen on loopback"))?;
            ports.push(
                listener
                    .local_addr()
                    .map_err(io("no local address"))?
                    .port()
                    .to_string(),
            );
            let app = axum::Router::new().fallback(|| async { "ok" });
            servers.spawn(async move { axum::serve(listener, app).await });
        }
        println!("{}", ports.join(" "));
        while let Some(done) = servers.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::error!(error = %e, "bench server stopped");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Partner `i`'s own loopback address in `--distinct-hosts` runs: 127.1.0.1, 127.1.0.2, ...
/// (250 a block, so no address ends in 0 or 255).
fn partner_host(i: u32) -> std::net::Ipv4Addr {
    let block = i / 250;
    std::net::Ipv4Addr::new(
        127,
        1 + u8::try_from(block / 256).unwrap_or(u8::MAX),
        (block % 256) as u8,
        (i % 250 + 1) as u8,
    )
}

/// Answers 200 to everything on the own addresses of `count` partners from `first`, one port
/// for all; prints the port.
fn serve_hosts(first: u32, count: u32) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("cannot start the server runtime"))?;
    runtime.block_on(async {
        let mut servers = tokio::task::JoinSet::new();
        let mut port = 0u16;
        for i in first..first + count.max(1) {
            let listener = tokio::net::TcpListener::bind((partner_host(i), port))
                .await
                .map_err(io("cannot listen on a loopback address"))?;
            port = listener
                .local_addr()
                .map_err(io("no local address"))?
                .port();
            let app = axum::Router::new().fallback(|| async { "ok" });
            servers.spawn(async move { axum::serve(listener, app).await });
        }
        println!("{port}");
        while let Some(done) = servers.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::error!(error = %e, "bench server stopped");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Partners per `serve --hosts` child: a listener and a connection each, well under 20,000
/// file descriptors.
const HOSTS_PER_SERVER: u32 = 2_500;

/// The child serving the partners; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(listeners: u16) -> Result<(Server, Vec<u16>)> {
    start_child(&["--listeners".to_string(), listeners.to_string()])
}

/// One child per [`HOSTS_PER_SERVER`] partners; the port of each.
fn start_host_servers(partners: u32) -> Result<(Vec<Server>, Vec<u16>)> {
    let mut servers = Vec::new();
    let mut ports = Vec::new();
    let mut first = 0;
    while first < partners.max(1) {
        let count = HOSTS_PER_SERVER.min(partners.max(1) - first);
        let (server, port) =
            start_child(&["--hosts".to_string(), first.to_string(), count.to_string()])?;
        servers.push(server);
        ports.extend(port);
        first += count;
    }
    Ok((servers, ports))
}

fn start_child(serve_args: &[String]) -> Result<(Server, Vec<u16>)> {
    let exe = std::env::current_exe().map_err(io("cannot find the ecosystem binary"))?;
    let mut child = std::process::Command::new(exe)
        .args(["bench", "serve"])
        .args(serve_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io("cannot start the bench server"))?;
    let stdout = child.stdout.take();
    let server = Server(child);
    let mut line = String::new();
    if let Some(out) = stdout {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(io("cannot read the bench server's ports"))?;
    }
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    if ports.is_empty() {
        return Err(Error::invalid("bench", "the bench server printed no port"));
    }
    Ok((server, ports))
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn db_bytes(db: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db.to_path_buf()) + size(PathBuf::from(wal))
}

fn checkpoint(store: &Store) -> Result<()> {
    store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

/// User and system CPU time of this process, apart.
fn cpu_times() -> (Duration, Duration) {
    // SAFETY: getrusage writes into the zeroed struct we own and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return (Duration::ZERO, Duration::ZERO);
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

/// Peak resident set size in kB (VmHWM), when /proc says.
fn peak_rss_kb() -> Option<u64> {
    proc_status_kb("VmHWM:")
}

/// Resets VmHWM to the current RSS (Linux: `5` to /proc/self/clear_refs), when allowed.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Gives the heap memory freed so far back to the system (glibc keeps it otherwise).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A `kB` figure of /proc/self/status.
fn proc_status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Bytes this process caused to be written to storage so far (`write_bytes` of /proc/self/io).
fn file_write_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

fn poll(args: BenchPollArgs) -> Result<ExitCode> {
    let (_servers, ports) = if args.distinct_hosts {
        start_host_servers(args.partners)?
    } else {
        let (server, ports) = start_server(args.listeners)?;
        (vec![server], ports)
    };
    let dir = std::env::temp_dir().join(format!("ecosystem-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io("cannot create the bench directory"))?;
    let _scratch = Scratch(dir.clone());
    let db = dir.join("bench.db");
    let mut registry = Registry::open(&db)?;
    eprintln!("registering {} partners...", args.partners);
    for i in 0..args.partners {
        let endpoint = if args.distinct_hosts {
            let port = ports[(i / HOSTS_PER_SERVER) as usize % ports.len()];
            format!("http://{}:{port}/health/{i}", partner_host(i))
        } else {
            let port = ports[i as usize % ports.len()];
            format!("http://127.0.0.1:{port}/health/{i}")
        };
        let mut new = NewPartner::new(format!("bench-{i:05}"), PartnerKind::Http, endpoint);
        new.health_check = HealthCheck {
            interval_secs: args.interval,
            timeout_secs: 5,
        };
        registry.add_partner(&new)?;
        registry.change_lifecycle(&new.name, LifecycleAction::Activate)?;
    }
    let targets = crate::poll::load_targets(&registry)?;
    checkpoint(registry.store())?;
    let bytes_before = db_bytes(&db);
    eprintln!(
        "polling {} partners every {} s for {} s...",
        targets.len(),
        args.interval,
        args.duration
    );

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (sink, writer_thread) = HealthWriterSink::spawn(
        HealthWriter::new(Store::open(&db)?),
        clock.clone(),
        WriterBatching::default(),
        |_| {},
    )
    .map_err(io("cannot start the health writer"))?;
    let sink: Arc<dyn OutcomeSink> = Arc::new(sink);
    let (poller, _handle) = HealthPoller::new(
        PollerConfig {
            concurrency: usize::from(args.concurrency.max(1)),
            ..PollerConfig::default()
        },
        Arc::new(PlatformConnectors),
        sink,
        clock,
    );
    let setup_peak_kb = peak_rss_kb().unwrap_or(0);
    release_freed_memory();
    reset_peak_rss();
    let (user_before, system_before) = cpu_times();
    let written_before = file_write_bytes();
    let wall = Instant::now();
    let cancel = CancellationToken::new();
    let summary = crate::poll::runtime()?.block_on(async {
        let stop = cancel.clone();
        let duration = Duration::from_secs(args.duration);
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.cancel();
        });
        poller.run(targets, cancel).await
    });
    writer_thread.finish();
    let (user_after, system_after) = cpu_times();
    let (user, system) = (
        user_after.saturating_sub(user_before),
        system_after.saturating_sub(system_before),
    );
    let cpu = user + system;
    let elapsed = wall.elapsed();
    let rss_end_kb = proc_status_kb("VmRSS:").unwrap_or(0);
    let poll_peak_kb = peak_rss_kb().unwrap_or(0);
    let written = match (written_before, file_write_bytes()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };

    checkpoint(registry.store())?;
    let growth = db_bytes(&db).saturating_sub(bytes_before);
    let conn = registry.store().conn();
    let samples: i64 = conn.query_row("SELECT count(*) FROM health_samples", [], |r| r.get(0))?;
    let samples = u64::try_from(samples).unwrap_or(0);
    let sample_table: Option<i64> = conn
        .query_row(
            "SELECT sum(pgsize) FROM dbstat WHERE name = 'health_samples'",
            [],
            |r| r.get(0),
        )
        .ok();
    let per = |bytes: f64| {
        if samples == 0 {
            0.0
        } else {
            bytes / samples as f64
        }
    };
    let checks = summary.checks_done.max(1) as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let report = BenchReport {
        partners: args.partners,
        interval_secs: args.interval,
        duration_secs: args.duration,
        checks_done: summary.checks_done,
        checks_per_sec: summary.checks_done as f64 / elapsed.as_secs_f64(),
        unhealthy: summary.unhealthy,
        skipped_busy: summary.skipped_busy,
        cpu_ms_total: ms(cpu),
        cpu_user_ms: ms(user),
        cpu_system_ms: ms(system),
        cpu_ms_per_check: ms(cpu) / checks,
        cpu_percent_of_one_core: 100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
        peak_rss_mb: setup_peak_kb.max(poll_peak_kb) as f64 / 1024.0,
        poll_peak_rss_mb: poll_peak_kb as f64 / 1024.0,
        rss_end_mb: rss_end_kb as f64 / 1024.0,
        samples_stored: samples,
        db_bytes_per_check: per(growth as f64),
        sample_table_bytes_per_check: sample_table.map(|b| per(b as f64)),
        file_writes_per_check: written.map(|b| b as f64 / checks),
        lag_p50_ms: ms(summary.lag_p50),
        lag_p99_ms: ms(summary.lag_p99),
        lag_max_ms: ms(summary.lag_max),
    };
    match args.format {
        Format::Json => crate::output::json(&report)?,
        Format::Table => print_report(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &BenchReport) {
    println!(
        "partners {} every {} s for {} s",
        r.partners, r.interval_secs, r.duration_secs
    );
    println!(
        "checks done            {} ({:.1}/s, {} unhealthy, {} skipped busy)",
        r.checks_done, r.checks_per_sec, r.unhealthy, r.skipped_busy
    );
    println!(
        "CPU                    {:.3} ms per check ({:.0} ms total: {:.0} user, {:.0} system; {:.2} % of one core)",
        r.cpu_ms_per_check, r.cpu_ms_total, r.cpu_user_ms, r.cpu_system_ms, r.cpu_percent_of_one_core
    );
    println!(
        "RSS                    {:.1} MB peak while polling, {:.1} MB at the end ({:.1} MB peak with the setup)",
        r.poll_peak_rss_mb, r.rss_end_mb, r.peak_rss_mb
    );
    match r.sample_table_bytes_per_check {
        Some(t) => println!(
            "database bytes/check   {:.1} (all tables, file + WAL growth), {:.1} (health_samples) over {} samples",
            r.db_bytes_per_check, t, r.samples_stored
        ),
        None => println!(
            "database bytes/check   {:.1} (all tables, file + WAL growth) over {} samples",
            r.db_bytes_per_check, r.samples_stored
        ),
    }
    if let Some(w) = r.file_writes_per_check {
        println!(
            "file writes/check      {:.0} bytes (WAL frames and checkpoints)",
            w
        );
    }
    println!(
        "schedule lag           p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.lag_p50_ms, r.lag_p99_ms, r.lag_max_ms
    );
}

// ---------------------------------------------------------------------------------------
// `bench history`

#[derive(Debug, Args)]
pub struct BenchHistoryArgs {
    /// How many partners
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub partners: u32,
    /// How many days of history, up to now
    #[arg(long, value_name = "N", default_value_t = 365, value_parser = clap::value_parser!(u32).range(5..=3650))]
    pub days: u32,
    /// Each partner's check interval, in seconds (the partners' default is 60)
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(10..=3600))]
    pub interval: u32,
    /// Timed runs of each report (after one warm-up run)
    #[arg(long, value_name = "N", default_value_t = 9)]
    pub runs: u32,
    /// Keep the database in this file (which must not exist) instead of a temporary one
    #[arg(long, value_name = "FILE")]
    pub keep: Option<PathBuf>,
    /// Seed of the synthetic history
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One table (with its indexes) on disk.
#[derive(Debug, Serialize)]
struct TableSize {
    table: String,
    rows: u64,
    bytes: u64,
    bytes_per_row: f64,
}

/// One report's load time.
#[derive(Debug, Serialize)]
struct ReportTime {
    range: &'static str,
    /// What the report's history is drawn from (`samples`, `hour` or `day` rollups) and how many.
    series: String,
    transitions_in_year: usize,
    first_ms: f64,
    median_ms: f64,
    min_ms: f64,
}

/// What `bench history` prints.
#[derive(Debug, Serialize)]
struct HistoryReport {
    partners: u32,
    days: u32,
    interval_secs: u32,
    build_secs: f64,
    checks_simulated: u64,
    checks_through_writer: u64,
    file_bytes: u64,
    page_size: u64,
    free_pages: u64,
    bytes_per_partner: f64,
    health_bytes: u64,
    health_bytes_per_partner: f64,
    rollup_bytes: u64,
    tables: Vec<TableSize>,
    reports: Vec<ReportTime>,
    database: Option<PathBuf>,
}

/// A small deterministic generator (splitmix64): the history is the same for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Exponentially distributed with this mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EpisodeKind {
    /// Checks fail (time out, or the platform answers 503).
    Outage,
    /// Checks pass, slower than the tier's latency bar.
    Slow,
}

/// A partner's synthetic life: its latency, its episodes, its next check and (before the
/// writer takes over) its state.
struct SimPartner {
    id: u32,
    name: String,
    thresholds: ecosystem_core::health::Thresholds,
    rng: Rng,
    median_ms: f64,
    interval: f64,
    next_check: i64,
    /// Sorted `(start, end, kind)`; the ones over are dropped from the front.
    episodes: std::collections::VecDeque<(i64, i64, EpisodeKind)>,
    status: ecosystem_core::health::HealthStatus,
}

/// The model: outages about twice a month (mean 12 min, at least 3 min: enough failed
/// checks to go unhealthy at every tier), slow spells about four times a month (mean 20 min,
/// at least 2 min); a median latency per partner between 40 and 400 ms, spread lognormally
/// and kept under the tier's bar outside slow spells.
const OUTAGE_GAP_SECS: f64 = 15.0 * 86_400.0;
const OUTAGE_MEAN_SECS: f64 = 12.0 * 60.0;
const SLOW_GAP_SECS: f64 = 7.5 * 86_400.0;
const SLOW_MEAN_SECS: f64 = 20.0 * 60.0;

impl SimPartner {
    fn new(id: u32, name: String, tier: ecosystem_core::Tier, interval: u32, seed: u64) -> Self {
        let mut rng = Rng(seed ^ (u64::from(id) << 32) ^ 0x5EED);
        let median_ms = 40.0 + rng.unit() * 360.0;
        SimPartner {
            id,
            name,
            thresholds: ecosystem_core::health::Thresholds::for_tier(tier),
            rng,
            median_ms,
            interval: f64::from(interval),
            next_check: 0,
            episodes: std::collections::VecDeque::new(),
            status: ecosystem_core::health::HealthStatus::default(),
        }
    }

    /// Draws the episodes of `[from, to)` and the first check (a random phase).
    fn plan(&mut self, from: i64, to: i64) {
        let mut all = Vec::new();
        for (kind, gap, mean, min) in [
            (
                EpisodeKind::Outage,
                OUTAGE_GAP_SECS,
                OUTAGE_MEAN_SECS,
                180.0,
            ),
            (EpisodeKind::Slow, SLOW_GAP_SECS, SLOW_MEAN_SECS, 120.0),
        ] {
            let mut t = from as f64 + self.rng.exp(gap);
            while t < to as f64 {
                let length = self.rng.exp(mean).max(min);
                all.push((t as i64, (t + length) as i64, kind));
                t += length + self.rng.exp(gap);
            }
        }
        all.sort_unstable_by_key(|e| e.0);
        // Overlaps: an outage wins over a slow spell that starts inside it.
        let mut merged: Vec<(i64, i64, EpisodeKind)> = Vec::with_capacity(all.len());
        for e in all {
            match merged.last() {
                Some(last) if e.0 < last.1 => continue,
                _ => merged.push(e),
            }
        }
        self.episodes = merged.into();
        self.next_check = from + (self.rng.unit() * self.interval) as i64;
    }

    /// The episode in force at `at`, if any.
    fn episode_at(&mut self, at: i64) -> Option<EpisodeKind> {
        while self.episodes.front().is_some_and(|e| e.1 <= at) {
            self.episodes.pop_front();
        }
        self.episodes.front().filter(|e| e.0 <= at).map(|e| e.2)
    }

    /// The next check (±10 % jitter, like the poller), or `None` once it is due at `until`.
    fn check_before(&mut self, until: i64) -> Option<ecosystem_core::health::CheckOutcome> {
        use ecosystem_core::health::CheckOutcome;
        use ecosystem_core::integration::ErrorClass;
        let at = self.next_check;
        if at >= until {
            return None;
        }
        let jitter = 1.0 + 0.1 * (self.rng.unit() * 2.0 - 1.0);
        self.next_check = at + ((self.interval * jitter) as i64).max(1);
        let when = unix(at);
        let bar = f64::from(self.thresholds.degraded_latency_ms);
        Some(match self.episode_at(at) {
            Some(EpisodeKind::Outage) if self.rng.unit() < 0.7 => CheckOutcome::failed(
                when,
                ErrorClass::TimedOut,
                format!(
                    "{}: no answer to the health check within 11000 ms",
                    self.name
                ),
                11_000,
            ),
            Some(EpisodeKind::Outage) => CheckOutcome::failed(
                when,
                ErrorClass::PlatformError,
                format!("{}: health check: HTTP 503 Service Unavailable", self.name),
                (self.median_ms * 0.5) as u32,
            ),
            Some(EpisodeKind::Slow) => {
                CheckOutcome::ok(when, (bar * (1.1 + 1.5 * self.rng.unit())) as u32)
            }
            None => {
                let latency = self.median_ms * (0.35 * self.rng.normal()).exp();
                CheckOutcome::ok(when, latency.clamp(1.0, bar - 1.0) as u32)
            }
        })
    }
}

/// One rollup row being summed, as `HealthWriter::record` sums it.
#[derive(Debug, Clone, Copy, Default)]
struct Agg {
    checks: i64,
    ok: i64,
    degraded: i64,
    failed: i64,
    latency_sum: i64,
    latency_max: i64,
    hist: [i64; LATENCY_BINS],
}

const LATENCY_BINS: usize = ecosystem_core::health_store::LATENCY_BUCKETS_MS.len() + 1;

impl Agg {
    fn add(&mut self, verdict: &ecosystem_core::health::Verdict, latency_ms: u32) {
        use ecosystem_core::health::Verdict;
        use ecosystem_core::health_state::HealthState;
        self.checks += 1;
        match verdict {
            Verdict::Down { .. } => self.failed += 1,
            Verdict::Up { state, .. } => {
                if *state == HealthState::Degraded {
                    self.degraded += 1;
                } else {
                    self.ok += 1;
                }
                let l = i64::from(latency_ms);
                self.latency_sum += l;
                self.latency_max = self.latency_max.max(l);
                let bin = ecosystem_core::health_store::LATENCY_BUCKETS_MS
                    .iter()
                    .position(|b| latency_ms <= *b)
                    .unwrap_or(LATENCY_BINS - 1);
                self.hist[bin] += 1;
            }
        }
    }

    fn values(&self, partner_id: u32, resolution: i64, bucket: i64) -> [i64; 9 + LATENCY_BINS] {
        let mut v = [0i64; 9 + LATENCY_BINS];
        v[..9].copy_from_slice(&[
            i64::from(partner_id),
            resolution,
            bucket,
            self.checks,
            self.ok,
            self.degraded,
            self.failed,
            self.latency_sum,
            self.latency_max,
        ]);
        v[9..].copy_from_slice(&self.hist);
        v
    }
}

/// A time from unix seconds (every time the bench makes is in range).
fn unix(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

const INSERT_ROLLUP: &str =
    "INSERT INTO health_rollups (partner_id, resolution, bucket, checks, ok,
     degraded, failed, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10,
     h11, h12)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
     ?19, ?20, ?21, ?22)";
const INSERT_TRANSITION: &str = "INSERT INTO health_transitions
     (partner_id, at, from_state, to_state, reason, error_class) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const INSERT_CURRENT: &str = "INSERT INTO health_current (partner_id, state, since, reason,
     error_class, observed, observed_reason, observed_error_class, consecutive_failures,
     consecutive_successes, paused, maintenance, last_check_at, last_latency_ms, last_outcome)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 0, NULL, NULL, NULL)";

/// Builds the history and measures it.
///
/// A year of checks through `HealthWriter::record` would take hours, so the history is built
/// in two parts, both in time order across partners (as the poller writes it, so the
/// b-trees grow the same way):
///
/// 1. Up to `Retention::raw_sample_days + 1` days ago, a bulk path writes what the writer
///    would have left once retention ran: every check of every partner is drawn from the
///    model (see [`SimPartner`]) and fed to the core's state machine (`health::apply_outcome`,
///    `classify`); the transitions it returns are stored as they come, and the checks are
///    summed into hour and day rollups with the writer's buckets and histogram. Rows are
///    inserted day by day (hour rows hour-major across partners), one transaction per day;
///    hour rollups only for the last 97 days, and the real `HealthWriter::run_retention`
///    runs after each of those days, so the hour table churns as it does in use. Raw samples
///    and minute rollups of that time would be gone by now and are not written. At the end
///    each partner's state goes to `health_current`, as the writer would have left it.
/// 2. The last `raw_sample_days + 1` days go through `HealthWriter::record` itself, one batch
///    per minute of checks, with `run_retention` every simulated hour (as the writer thread
///    runs it): samples, minute/hour/day rollups, states and transitions by the real path.
fn history(args: BenchHistoryArgs) -> Result<ExitCode> {
    use ecosystem_core::health::{apply_outcome, classify};
    use ecosystem_core::health_store::{HealthHistory, PartnerOutcome, Retention, Series};
    use ecosystem_core::Tier;

    let started = Instant::now();
    let (dir, db, scratch) = match &args.keep {
        Some(path) => {
            if path.exists() {
                return Err(Error::invalid(
                    "keep",
                    format!("{} exists; name a file that does not", path.display()),
                ));
            }
            (None, path.clone(), None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("ecosystem-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(io("cannot create the bench directory"))?;
            (
                Some(dir.clone()),
                dir.join("history.db"),
                Some(Scratch(dir)),
            )
        }
    };
    let _ = dir;
    let retention = Retention::default();
    let now = SystemClock.now().timestamp() / 60 * 60;
    let start = now - i64::from(args.days) * 86_400;
    let recent_days = i64::from(retention.raw_sample_days) + 1;
    // Where the writer takes over (a day boundary, so the bulk path writes whole days).
    let handover = (now - recent_days * 86_400).div_euclid(86_400) * 86_400;
    let hours_from =
        (now - (i64::from(retention.hour_rollup_days) + 7) * 86_400).div_euclid(86_400) * 86_400;

    let mut registry = Registry::open(&db)?;
    eprintln!("registering {} partners...", args.partners);
    let mut sims = Vec::with_capacity(args.partners as usize);
    for i in 0..args.partners {
        let mut new = NewPartner::new(
            format!("bench-{i:05}"),
            PartnerKind::Http,
            format!("https://partner-{i}.example.com/health"),
        );
        new.tier = match i % 10 {
            0 => Tier::Strategic,
            1..=3 => Tier::Premium,
            _ => Tier::Standard,
        };
        new.health_check = HealthCheck {
            interval_secs: args.interval,
            timeout_secs: 10,
        };
        let partner = registry.add_partner(&new)?;
        registry.change_lifecycle(&new.name, LifecycleAction::Activate)?;
        let mut sim = SimPartner::new(partner.id, partner.name, new.tier, args.interval, args.seed);
        sim.plan(start, now);
        sims.push(sim);
    }
    let mut writer = HealthWriter::new(Store::open(&db)?);

    // 1. The bulk path, day by day up to the handover.
    eprintln!(
        "building {} days of history for {} partners (checks every {} s)...",
        args.days, args.partners, args.interval
    );
    let mut checks_simulated = 0u64;
    let mut day = start.div_euclid(86_400) * 86_400;
    let mut hours = vec![[Agg::default(); 24]; sims.len()];
    while day < handover {
        let (from, to) = (day.max(start), day + 86_400);
        let keep_hours = day >= hours_from;
        let mut days = vec![Agg::default(); sims.len()];
        let mut transitions = Vec::new();
        for (i, sim) in sims.iter_mut().enumerate() {
            hours[i] = [Agg::default(); 24];
            while let Some(outcome) = sim.check_before(to) {
                checks_simulated += 1;
                let at = outcome.at.timestamp();
                if at < from {
                    continue;
                }
                let verdict = classify(&outcome, &sim.thresholds);
                days[i].add(&verdict, outcome.latency_ms);
                if keep_hours {
                    hours[i][((at - day) / 3_600) as usize].add(&verdict, outcome.latency_ms);
                }
                // A partner steadily healthy stays so through a passing check: the machine
                // only needs to see the others.
                let steady = sim.status.state == ecosystem_core::health_state::HealthState::Healthy
                    && sim.status.observed == sim.status.state
                    && matches!(
                        verdict,
                        ecosystem_core::health::Verdict::Up {
                            state: ecosystem_core::health_state::HealthState::Healthy,
                            ..
                        }
                    );
                if steady {
                    sim.status.consecutive_successes =
                        sim.status.consecutive_successes.saturating_add(1);
                    continue;
                }
                let (status, transition) =
                    apply_outcome(&sim.status, &outcome, None, &sim.thresholds);
                sim.status = status;
                if let Some(t) = transition {
                    transitions.push((sim.id, t));
                }
            }
        }
        transitions.sort_by_key(|(id, t)| (t.at, *id));
        let conn = registry.store().conn();
        let tx = conn.unchecked_transaction()?;
        {
            let mut rollup = tx.prepare_cached(INSERT_ROLLUP)?;
            if keep_hours {
                for h in 0..24 {
                    for (sim, hour) in sims.iter().zip(&hours) {
                        if hour[h].checks > 0 {
                            let bucket = day + h as i64 * 3_600;
                            rollup.execute(hour[h].values(sim.id, 3_600, bucket))?;
                        }
                    }
                }
            }
            for (sim, agg) in sims.iter().zip(&days) {
                if agg.checks > 0 {
                    rollup.execute(agg.values(sim.id, 86_400, day))?;
                }
            }
            let mut insert = tx.prepare_cached(INSERT_TRANSITION)?;
            for (id, t) in &transitions {
                insert.execute((
                    id,
                    t.at.timestamp(),
                    t.from.as_str(),
                    t.to.as_str(),
                    &t.reason,
                    t.error_class.map(|c| c.as_str()),
                ))?;
            }
        }
        tx.commit()?;
        if keep_hours {
            writer.run_retention(unix(to), &retention)?;
        }
        day += 86_400;
    }
    {
        let conn = registry.store().conn();
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(INSERT_CURRENT)?;
            for sim in &sims {
                let s = &sim.status;
                insert.execute((
                    sim.id,
                    s.state.as_str(),
                    s.since.map(|t| t.timestamp()),
                    &s.reason,
                    s.error_class.map(|c| c.as_str()),
                    s.observed.as_str(),
                    &s.observed_reason,
                    s.observed_error_class.map(|c| c.as_str()),
                    s.consecutive_failures,
                    s.consecutive_successes,
                ))?;
            }
        }
        tx.commit()?;
    }

    // 2. The last days through the real writer, a batch per minute of checks.
    eprintln!("writing the last {recent_days} days through the health writer...");
    let mut checks_through_writer = 0u64;
    let mut minute = handover;
    let mut batch = Vec::with_capacity(sims.len() * 2);
    while minute < now {
        let to = (minute + 60).min(now);
        batch.clear();
        for sim in &mut sims {
            while let Some(outcome) = sim.check_before(to) {
                batch.push(PartnerOutcome {
                    partner_id: sim.id,
                    outcome,
                });
            }
        }
        checks_through_writer += batch.len() as u64;
        writer.record(&batch)?;
        minute = to;
        if minute % 3_600 == 0 {
            writer.run_retention(unix(minute), &retention)?;
        }
    }
    let now_at = unix(now);
    writer.run_retention(now_at, &retention)?;
    checkpoint(writer.store())?;
    drop(writer);
    let build_secs = started.elapsed().as_secs_f64();

    // Sizes.
    let conn = registry.store().conn();
    checkpoint(registry.store())?;
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    let free_pages: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    let (page_size, free_pages) = (
        u64::try_from(page_size).unwrap_or(0),
        u64::try_from(free_pages).unwrap_or(0),
    );
    let file_bytes = db_bytes(&db);
    let mut per_table: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize)
             FROM dbstat d LEFT JOIN sqlite_master m ON m.name = d.name
             GROUP BY 1",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (table, bytes) = row?;
            *per_table.entry(table).or_default() += u64::try_from(bytes).unwrap_or(0);
        }
    }
    let mut tables = Vec::new();
    for (table, bytes) in &per_table {
        if !table.starts_with("health_") && *bytes < 64 * 1024 {
            continue;
        }
        let rows: i64 = if table.starts_with("sqlite_") {
            0
        } else {
            conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })
            .unwrap_or(0)
        };
        let rows = u64::try_from(rows).unwrap_or(0);
        tables.push(TableSize {
            table: table.clone(),
            rows,
            bytes: *bytes,
            bytes_per_row: if rows == 0 {
                0.0
            } else {
                *bytes as f64 / rows as f64
            },
        });
    }
    tables.sort_by_key(|t| std::cmp::Reverse(t.bytes));
    let health_bytes: u64 = tables
        .iter()
        .filter(|t| t.table.starts_with("health_"))
        .map(|t| t.bytes)
        .sum();
    let rollup_bytes = per_table.get("health_rollups").copied().unwrap_or(0);

    // Load times of one partner's report, on a connection of its own.
    let reader = Store::open(&db)?;
    let history = HealthHistory::new(reader.conn());
    let sim = &sims[sims.len() / 2];
    let transitions_in_year = history
        .transitions(sim.id, now_at - chrono::Duration::days(365), now_at)?
        .len();
    let mut reports = Vec::new();
    for (range, back) in [
        ("24h", chrono::Duration::hours(24)),
        ("30d", chrono::Duration::days(30)),
        ("1y", chrono::Duration::days(365)),
    ] {
        let from = now_at - back;
        let timed = || -> Result<(f64, String)> {
            let t = Instant::now();
            let report = history.report(sim.id, &sim.name, from, now_at)?;
            let ms = t.elapsed().as_secs_f64() * 1_000.0;
            let series = match &report.series {
                Series::Samples(s) => format!("{} samples", s.len()),
                Series::Rollups(r) => format!(
                    "{} {} rollups",
                    r.len(),
                    r.first().map_or("", |r| r.resolution.as_str())
                ),
            };
            Ok((ms, series))
        };
        let (first_ms, series) = timed()?;
        let mut times = Vec::new();
        for _ in 0..args.runs.max(1) {
            times.push(timed()?.0);
        }
        times.sort_by(f64::total_cmp);
        reports.push(ReportTime {
            range,
            series,
            transitions_in_year,
            first_ms,
            median_ms: times[times.len() / 2],
            min_ms: times[0],
        });
    }
    drop(reader);
    let report = HistoryReport {
        partners: args.partners,
        days: args.days,
        interval_secs: args.interval,
        build_secs,
        checks_simulated,
        checks_through_writer,
        file_bytes,
        page_size,
        free_pages,
        bytes_per_partner: file_bytes as f64 / f64::from(args.partners.max(1)),
        health_bytes,
        health_bytes_per_partner: health_bytes as f64 / f64::from(args.partners.max(1)),
        rollup_bytes,
        tables,
        reports,
        database: args.keep.clone(),
    };
    drop(registry);
    drop(scratch);
    match args.format {
        Format::Json => crate::output::json(&report)?,
        Format::Table => print_history(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_history(r: &HistoryReport) {
    let mb = |b: u64| b as f64 / 1_000_000.0;
    println!(
        "{} partners, {} days, checks every {} s: {} checks drawn, the last {} through the writer (built in {:.0} s)",
        r.partners, r.days, r.interval_secs, r.checks_simulated + r.checks_through_writer,
        r.checks_through_writer, r.build_secs
    );
    println!(
        "database               {:.1} MB ({:.0} kB per partner; {} free pages of {} B)",
        mb(r.file_bytes),
        r.bytes_per_partner / 1_000.0,
        r.free_pages,
        r.page_size
    );
    println!(
        "health tables          {:.1} MB ({:.0} kB per partner), of which rollups {:.1} MB",
        mb(r.health_bytes),
        r.health_bytes_per_partner / 1_000.0,
        mb(r.rollup_bytes)
    );
    println!(
        "{:<24} {:>12} {:>10} {:>10}",
        "table", "rows", "MB", "B/row"
    );
    for t in &r.tables {
        println!(
            "{:<24} {:>12} {:>10.1} {:>10.1}",
            t.table,
            t.rows,
            mb(t.bytes),
            t.bytes_per_row
        );
    }
    println!(
        "{:<6} {:<22} {:>10} {:>10} {:>10}",
        "report", "history", "first ms", "median ms", "min ms"
    );
    for t in &r.reports {
        println!(
            "{:<6} {:<22} {:>10.2} {:>10.2} {:>10.2}",
            t.range, t.series, t.first_ms, t.median_ms, t.min_ms
        );
    }
    if let Some(first) = r.reports.first() {
        println!(
            "(one partner, {} transitions in the year)",
            first.transitions_in_year
        );
    }
    if let Some(db) = &r.database {
        println!("kept in {}", db.display());
    }
}

// ----- bench overview -----

#[derive(Debug, Args)]
pub struct BenchOverviewArgs {
    /// How many partners (each with a contract)
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub partners: u32,
    /// Timed runs after one warm-up run
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub runs: u32,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What `bench overview` prints.
#[derive(Debug, Serialize)]
struct OverviewBenchReport {
    partners: u32,
    contracts: u32,
    health_transitions: u64,
    setup_secs: f64,
    runs: u32,
    median_ms: f64,
    fastest_ms: f64,
    slowest_ms: f64,
    unhealthy_or_degraded: u32,
    sla_at_risk: u32,
    decisions: u32,
    /// Parts of the aggregation timed alone.
    parts_fastest_ms: Vec<(String, f64)>,
}

/// Imports N standard-tier partners, each with a contract (end dates spread over the next
/// 400 days, so a few in every month have their notice deadline near), records six weeks of
/// checks every 6 hours through the real `HealthWriter` (every partner slow once in 20
/// checks, one in 50 down for three checks a fortnight: about 17 transitions each, some SLAs
/// breached, some partners degraded or down now), raises the due contract alerts, then times
/// `overview::overview` on the registry's connection: the median, fastest and slowest of
/// `--runs` runs after a warm-up run. Numbers are printed, never asserted.
fn overview(args: BenchOverviewArgs) -> Result<ExitCode> {
    use ecosystem_core::health::CheckOutcome;
    use ecosystem_core::health_store::PartnerOutcome;
    use ecosystem_core::integration::ErrorClass;
    use ecosystem_core::{contract_alerts, overview, workspace};

    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("ecosystem-bench-overview-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io("cannot create the bench directory"))?;
    let _scratch = Scratch(dir.clone());
    let db = dir.join("overview.db");
    let mut registry = Registry::open(&db)?;
    let now = SystemClock.now();
    let today = now.date_naive();
    eprintln!("registering {} partners with contracts...", args.partners);
    // One workspace import: one transaction for every partner and contract.
    let names: Vec<String> = (0..args.partners)
        .map(|i| format!("bench-{i:05}"))
        .collect();
    let doc = workspace::WorkspaceFile {
        format: workspace::FORMAT.into(),
        version: workspace::VERSION,
        exported_at: None,
        partners: names
            .iter()
            .enumerate()
            .map(|(i, name)| workspace::PartnerRecord {
                name: name.clone(),
                kind: "mlflow".into(),
                endpoint: format!("https://partner-{i}.example.com"),
                tier: "standard".into(),
                owner: Some(format!("owner-{}", i % 25)),
                capabilities: Vec::new(),
                tags: Vec::new(),
                lifecycle: "active".into(),
                depends_on: None,
                health_check: HealthCheck::default(),
                check: None,
            })
            .collect(),
        contracts: names
            .iter()
            .enumerate()
            .map(|(i, name)| workspace::ContractRecord {
                partner: name.clone(),
                start: (today - chrono::Days::new(365)).to_string(),
                end: (today + chrono::Days::new(31 + (i as u64 % 400))).to_string(),
                notice_days: 30,
                auto_renew: false,
                sla_target: 99.9,
                value: None,
                currency: None,
                sla: None,
                alert_stages: None,
            })
            .collect(),
        maintenance: Vec::new(),
        settings: Default::default(),
    };
    workspace::import(&mut registry, "bench", &doc)?;
    let ids: Vec<u32> = registry
        .list_partners(&Default::default())?
        .iter()
        .map(|p| p.id)
        .collect();
    const STEPS: u32 = 6 * 7 * 4;
    eprintln!("recording {STEPS} rounds of checks...");
    let mut writer = HealthWriter::new(Store::open(&db)?);
    for step in 0..STEPS {
        let at = now - chrono::Duration::hours(6 * i64::from(STEPS - step));
        let batch: Vec<PartnerOutcome> = ids
            .iter()
            .map(|&partner_id| {
                // One partner in 50 down for three checks a fortnight; every one slow once
                // in 20 checks (degraded until the next check).
                let down = partner_id % 50 == 0 && (step + partner_id) % 56 < 3;
                let outcome = if down {
                    CheckOutcome::failed(at, ErrorClass::TimedOut, "no answer", 10_000)
                } else if (step + partner_id) % 20 == 10 {
                    CheckOutcome::ok(at, 5_000)
                } else {
                    CheckOutcome::ok(at, 120)
                };
                PartnerOutcome {
                    partner_id,
                    outcome,
                }
            })
            .collect();
        writer.record(&batch)?;
    }
    contract_alerts::raise_due(&mut registry, now)?;
    let transitions: i64 =
        registry
            .store()
            .conn()
            .query_row("SELECT count(*) FROM health_transitions", [], |r| r.get(0))?;
    let transitions = u64::try_from(transitions).unwrap_or_default();
    let setup_secs = started.elapsed().as_secs_f64();

    eprintln!("timing the overview...");
    let last = overview::overview(&registry)?;
    let mut times = Vec::with_capacity(args.runs as usize);
    for _ in 0..args.runs.max(1) {
        let run = Instant::now();
        overview::overview(&registry)?;
        times.push(run.elapsed().as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    // Where the time goes: each part of the aggregation alone, the fastest of `--runs`.
    let part = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
        let mut best = f64::MAX;
        for _ in 0..args.runs.max(1) {
            let run = Instant::now();
            f()?;
            best = best.min(run.elapsed().as_secs_f64() * 1_000.0);
        }
        Ok(best)
    };
    let conn = registry.store().conn();
    let parts = vec![
        (
            "health states",
            part(&|| {
                ecosystem_core::health_store::HealthHistory::new(conn)
                    .overview()
                    .map(|_| ())
            })?,
        ),
        (
            "SLA terms",
            part(&|| registry.all_resolved_sla_terms().map(|_| ()))?,
        ),
        (
            "notice deadlines",
            part(&|| contract_alerts::expiring(&registry, 30, now).map(|_| ()))?,
        ),
        (
            "open alerts",
            part(&|| contract_alerts::list_alerts(&registry, now, false).map(|_| ()))?,
        ),
    ];
    let report = OverviewBenchReport {
        partners: args.partners,
        contracts: args.partners,
        health_transitions: transitions,
        setup_secs,
        runs: u32::try_from(times.len()).unwrap_or(u32::MAX),
        median_ms: times[times.len() / 2],
        fastest_ms: times[0],
        slowest_ms: times[times.len() - 1],
        unhealthy_or_degraded: last.attention_total,
        sla_at_risk: last.sla_at_risk_total,
        decisions: last.decisions_total,
        parts_fastest_ms: parts
            .into_iter()
            .map(|(name, ms)| (name.to_string(), ms))
            .collect(),
    };
    match args.format {
        Format::Json => crate::output::json(&report)?,
        Format::Table => {
            let r = &report;
            println!(
                "overview of {} partners ({} contracts, {} health transitions; setup {:.1} s)",
                r.partners, r.contracts, r.health_transitions, r.setup_secs
            );
            println!(
                "  {} runs: median {:.1} ms, fastest {:.1} ms, slowest {:.1} ms",
                r.runs, r.median_ms, r.fastest_ms, r.slowest_ms
            );
            println!(
                "  found {} unhealthy or degraded, {} SLAs at risk or breached, {} contracts \
                 needing a decision",
                r.unhealthy_or_degraded, r.sla_at_risk, r.decisions
            );
            for (name, ms) in &r.parts_fastest_ms {
                println!("  {name} alone: {ms:.1} ms (fastest)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
