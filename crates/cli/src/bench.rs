//! `ecosystem bench poll`: the poller's cost, measured. Starts loopback partners in a child
//! process (`ecosystem bench serve`, a tiny HTTP server answering 200 to any GET, so its CPU
//! is not counted), registers N active `http` partners in a temporary database, polls them for
//! the duration through the real poller and health writer, and prints checks done, CPU-ms per
//! check (getrusage, user + system, poll phase only), peak RSS (VmHWM), database bytes per raw
//! check (file + WAL growth after a checkpoint, and the `health_samples` table alone when
//! SQLite's dbstat is compiled in) and the schedule lag p50/p99. Numbers are printed, never
//! asserted.

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
    /// The loopback partners' server (started by `bench poll`; prints its ports, then serves)
    #[command(hide = true)]
    Serve {
        #[arg(long, default_value_t = 4)]
        listeners: u16,
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
    cpu_ms_per_check: f64,
    cpu_percent_of_one_core: f64,
    peak_rss_mb: f64,
    samples_stored: u64,
    db_bytes_per_check: f64,
    sample_table_bytes_per_check: Option<f64>,
    lag_p50_ms: f64,
    lag_p99_ms: f64,
    lag_max_ms: f64,
}

pub fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Poll(args) => poll(args),
        BenchCommand::Serve { listeners } => serve(listeners),
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

/// The child serving the partners; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(listeners: u16) -> Result<(Server, Vec<u16>)> {
    let exe = std::env::current_exe().map_err(io("cannot find the ecosystem binary"))?;
    let mut child = std::process::Command::new(exe)
        .args(["bench", "serve", "--listeners", &listeners.to_string()])
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

/// Peak resident set size in kB (VmHWM), when /proc says.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn poll(args: BenchPollArgs) -> Result<ExitCode> {
    let (_server, ports) = start_server(args.listeners)?;
    let dir = std::env::temp_dir().join(format!("ecosystem-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io("cannot create the bench directory"))?;
    let _scratch = Scratch(dir.clone());
    let db = dir.join("bench.db");
    let mut registry = Registry::open(&db)?;
    eprintln!("registering {} partners...", args.partners);
    for i in 0..args.partners {
        let port = ports[i as usize % ports.len()];
        let mut new = NewPartner::new(
            format!("bench-{i:05}"),
            PartnerKind::Http,
            format!("http://127.0.0.1:{port}/health/{i}"),
        );
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
    let cpu_before = cpu_time();
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
    let cpu = cpu_time().saturating_sub(cpu_before);
    let elapsed = wall.elapsed();

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
        cpu_ms_per_check: ms(cpu) / checks,
        cpu_percent_of_one_core: 100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
        peak_rss_mb: peak_rss_kb().unwrap_or(0) as f64 / 1024.0,
        samples_stored: samples,
        db_bytes_per_check: per(growth as f64),
        sample_table_bytes_per_check: sample_table.map(|b| per(b as f64)),
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
        "CPU                    {:.3} ms per check ({:.0} ms total, {:.2} % of one core)",
        r.cpu_ms_per_check, r.cpu_ms_total, r.cpu_percent_of_one_core
    );
    println!("peak RSS               {:.1} MB", r.peak_rss_mb);
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
    println!(
        "schedule lag           p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.lag_p50_ms, r.lag_p99_ms, r.lag_max_ms
    );
}
