//! `ecosystem poll`: the health poller, headless. Loads every active partner with its
//! credential (from the OS keyring) and stored check, runs a [`HealthPoller`] and records each
//! outcome through the core's health writer (samples, states, transitions), on the same
//! database as the desktop app.
//!
//! - `--once` checks every active partner once, prints each outcome and exits 0 when all are
//!   healthy or degraded, 3 when any is unhealthy.
//! - Otherwise it polls until `--for` elapses or Ctrl-C, printing state transitions as they
//!   are recorded, then a summary (checks done, failures by class, schedule lag p50/p99).
//!   Meanwhile it follows the registry ([`follow_registry`]): a partner added, activated,
//!   paused, resumed or given a credential by another process is picked up within a few
//!   seconds, without a restart.
//!
//! Paused partners are not polled (see `ecosystem partner pause`).
//!
//! Unless `--once` or `--no-usage`, it also runs the daily usage collection beside the poller
//! (`ecosystem_connectors::usage::spawn_usage_service`: at start, then each partner once a UTC
//! day) and stores Ecosystem's call counts every minute; one stderr line per partner collected.
//!
//! `--format json` prints JSON Lines: one object per outcome (`--once`) or transition, then
//! the summary object.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ecosystem_connectors::poller::{
    HealthPoller, HealthWriterSink, OutcomeSink, PlatformConnectors, PollOutcome, PollSummary,
    PollerConfig, WriterBatching, WriterTotals,
};
pub use ecosystem_connectors::targets::load_targets;
use ecosystem_connectors::targets::{follow_registry, RegistryWatch};
use ecosystem_connectors::usage::{spawn_usage_service, CollectPolicy, ServiceTimes};
use ecosystem_core::health::CheckHint;
use ecosystem_core::health_store::{HealthWriter, PartnerTransition};
use ecosystem_core::integration::CheckState;
use ecosystem_core::{
    Clock, Error, Lifecycle, PartnerFilter, Registry, Result, Store, SystemClock,
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::output::Format;

#[derive(Debug, Args)]
pub struct PollArgs {
    /// Check every active partner once, print the outcomes and exit (3 if any is unhealthy)
    #[arg(long)]
    pub once: bool,
    /// Stop after this many seconds [default: until Ctrl-C]
    #[arg(long = "for", value_name = "SECS", conflicts_with = "once", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Checks running at once, across all partners
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Seconds between looks at the registry for changes to follow
    #[arg(long, hide = true, value_name = "SECS", default_value = "2", value_parser = parse_secs)]
    pub registry_every: Duration,
    /// Do not run the daily usage collection beside the poller (see `ecosystem usage`)
    #[arg(long, conflicts_with = "once")]
    pub no_usage: bool,
}

fn parse_secs(s: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.05..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("{s} seconds is out of range (0.05 to one year)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// One outcome as printed.
#[derive(Debug, Serialize)]
struct OutcomeLine<'a> {
    partner: &'a str,
    at: String,
    state: CheckState,
    latency_ms: u32,
    error_class: Option<&'static str>,
    reason: Option<&'a str>,
}

impl<'a> OutcomeLine<'a> {
    fn of(o: &'a PollOutcome) -> Self {
        let (error_class, reason) = match &o.outcome.state_hint {
            CheckHint::Failed {
                error_class,
                reason,
            } => (Some(error_class.as_str()), Some(reason.as_str())),
            CheckHint::CapabilityFailing { reason } => (None, Some(reason.as_str())),
            CheckHint::Ok | CheckHint::Slow => (None, None),
        };
        OutcomeLine {
            partner: &o.partner,
            at: o.outcome.at.to_rfc3339(),
            state: o.state,
            latency_ms: o.outcome.latency_ms,
            error_class,
            reason,
        }
    }
}

/// The last thing `poll` prints.
#[derive(Debug, Serialize)]
struct SummaryLine<'a> {
    partners: usize,
    #[serde(flatten)]
    poll: &'a PollSummary,
    recorded: u64,
    transitions: u64,
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the network runtime".into(),
            source: e,
        })
}

/// Prints outcomes (for `--once`) on the way to the writer.
struct PrintingSink {
    inner: HealthWriterSink,
    format: Format,
}

impl OutcomeSink for PrintingSink {
    fn record(&self, outcome: PollOutcome) {
        print_outcome(&outcome, self.format);
        self.inner.record(outcome);
    }
}

fn print_outcome(o: &PollOutcome, format: Format) {
    let line = OutcomeLine::of(o);
    match format {
        Format::Json => match serde_json::to_string(&line) {
            Ok(text) => println!("{text}"),
            Err(e) => tracing::error!(error = %e, "outcome not printable"),
        },
        Format::Table => {
            let state = match line.state {
                CheckState::Healthy => "healthy",
                CheckState::Degraded => "degraded",
                CheckState::Unhealthy => "unhealthy",
            };
            let detail = match (line.error_class, line.reason) {
                (Some(c), Some(r)) => format!("  {c}: {r}"),
                (None, Some(r)) => format!("  {r}"),
                _ => String::new(),
            };
            println!(
                "{:<24} {state:<9} {:>6} ms{detail}",
                line.partner, line.latency_ms
            );
        }
    }
}

fn print_transitions(transitions: Vec<PartnerTransition>, format: Format) {
    for t in transitions {
        match format {
            Format::Json => match serde_json::to_string(&t) {
                Ok(text) => println!("{text}"),
                Err(e) => tracing::error!(error = %e, "transition not printable"),
            },
            Format::Table => println!(
                "{}  {}: {} -> {} ({})",
                t.transition.at.to_rfc3339(),
                t.partner,
                t.transition.from,
                t.transition.to,
                t.transition.reason
            ),
        }
    }
}

/// The active partners that are paused (and so not polled).
fn paused_active(registry: &Registry) -> Result<Vec<String>> {
    let paused = registry.paused_partner_ids()?;
    if paused.is_empty() {
        return Ok(Vec::new());
    }
    Ok(registry
        .list_partners(&PartnerFilter {
            lifecycle: Some(Lifecycle::Active),
            ..PartnerFilter::default()
        })?
        .into_iter()
        .filter(|p| paused.contains(&p.id))
        .map(|p| p.name)
        .collect())
}

pub fn run(registry: &Registry, db: &Path, args: PollArgs) -> Result<ExitCode> {
    // Taken before the targets are read, so a change made in between is followed too.
    let watch = RegistryWatch::new(registry.store())?;
    let targets = load_targets(registry)?;
    let partners = targets.len();
    let paused = paused_active(registry)?;
    if !paused.is_empty() {
        eprintln!("paused, not polled: {}", paused.join(", "));
    }
    if partners == 0 {
        eprintln!("no active partner to poll");
    }
    let follower = if args.once {
        None
    } else {
        Some(Registry::open(db)?)
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let writer = HealthWriter::new(Store::open(db)?);
    let format = args.format;
    let print_changes = !args.once;
    let (sink, writer_thread) = HealthWriterSink::spawn(
        writer,
        clock.clone(),
        WriterBatching::default(),
        move |transitions| {
            if print_changes {
                print_transitions(transitions, format);
            }
        },
    )
    .map_err(|e| Error::Io {
        context: "cannot start the health writer".into(),
        source: e,
    })?;
    let sink: Arc<dyn OutcomeSink> = if args.once {
        Arc::new(PrintingSink {
            inner: sink,
            format,
        })
    } else {
        Arc::new(sink)
    };
    let config = PollerConfig {
        concurrency: usize::from(args.concurrency),
        ..PollerConfig::default()
    };
    let (poller, handle) = HealthPoller::new(config, Arc::new(PlatformConnectors), sink, clock);
    let cancel = CancellationToken::new();
    // The daily usage collection (at start, then whoever is due each hour) and the flush of
    // Ecosystem's call counts, on a thread of their own.
    let usage = if args.once || args.no_usage {
        None
    } else {
        Some(
            spawn_usage_service(
                db.to_path_buf(),
                CollectPolicy::default(),
                ServiceTimes::default(),
                cancel.clone(),
                crate::usage::report_scheduled,
            )
            .map_err(|e| Error::Io {
                context: "cannot start the usage collection".into(),
                source: e,
            })?,
        )
    };
    let polled = Arc::new(AtomicUsize::new(partners));
    let summary = runtime()?.block_on(async {
        let stop = cancel.clone();
        let limit = args.duration;
        tokio::spawn(async move {
            let deadline = async {
                match limit {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = deadline => {}
                _ = tokio::signal::ctrl_c() => {}
                () = stop.cancelled() => {}
            }
            stop.cancel();
        });
        let following = follower.map(|follower| {
            let polled = polled.clone();
            eprintln!("polling {partners} partner(s), following registry changes (Ctrl-C to stop)");
            tokio::spawn(follow_registry(
                follower,
                watch,
                handle,
                args.registry_every,
                cancel.clone(),
                move |targets| {
                    polled.store(targets.len(), Ordering::Relaxed);
                    eprintln!("the registry changed: polling {} partner(s)", targets.len());
                },
            ))
        });
        let summary = if args.once {
            poller.run_once(targets, cancel.clone()).await
        } else {
            poller.run(targets, cancel.clone()).await
        };
        cancel.cancel();
        if let Some(following) = following {
            if let Err(e) = following.await {
                tracing::error!(error = %e, "following the registry ended abnormally");
            }
        }
        summary
    });
    if let Some(usage) = usage {
        cancel.cancel();
        if usage.join().is_err() {
            tracing::error!("the usage collection ended abnormally");
        }
    }
    // The poller and its sinks are gone; the writer drains what is left and stops.
    let totals = writer_thread.finish();
    print_summary(polled.load(Ordering::Relaxed), &summary, &totals, format)?;
    if totals.failed_batches > 0 {
        return Err(Error::invalid(
            "health history",
            format!(
                "{} batch(es) of outcomes could not be recorded (see the log)",
                totals.failed_batches
            ),
        ));
    }
    Ok(if args.once && summary.unhealthy > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(
    partners: usize,
    summary: &PollSummary,
    totals: &WriterTotals,
    format: Format,
) -> Result<()> {
    match format {
        Format::Json => {
            let line = SummaryLine {
                partners,
                poll: summary,
                recorded: totals.outcomes,
                transitions: totals.transitions,
            };
            let text = serde_json::to_string(&line)
                .map_err(|e| Error::invalid("output", format!("cannot encode JSON: {e}")))?;
            println!("{text}");
        }
        Format::Table => {
            println!(
                "{partners} partners, {} checks ({} healthy, {} degraded, {} unhealthy), {} skipped while busy, {} recorded",
                summary.checks_done,
                summary.healthy,
                summary.degraded,
                summary.unhealthy,
                summary.skipped_busy,
                totals.outcomes
            );
            if !summary.failures.is_empty() {
                let by_class: Vec<String> = summary
                    .failures
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect();
                println!("failures: {}", by_class.join(", "));
            }
            println!(
                "schedule lag p50 {:.1} ms, p99 {:.1} ms",
                summary.lag_p50.as_secs_f64() * 1_000.0,
                summary.lag_p99.as_secs_f64() * 1_000.0
            );
        }
    }
    Ok(())
}
