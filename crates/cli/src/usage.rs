//! `ecosystem usage`: collect partners' usage on demand and show what is stored.
//!
//! - `usage collect [PARTNER] [--from DATE [--to DATE]] [--days N] [--concurrency N]` asks each
//!   active, unpaused partner (or the one named, whatever its lifecycle) for its platform
//!   figures and stores them per UTC day (see `ecosystem_connectors::usage`). Without dates a
//!   partner is collected from a few days before its last collected day, at most N days back
//!   (30 by default), up to now. Partners are collected a few at a time; progress goes to
//!   stderr (one updating line on a terminal, a plain line per partner otherwise); the table or
//!   JSON of results goes to stdout. A partner that fails is named on stderr and the others are
//!   still stored; the exit status is then 1.
//! - `usage show PARTNER [--from DATE] [--to DATE]` lists the stored values (the last 30 days
//!   by default), with where the partner's collection stands.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use ecosystem_connectors::usage::{
    collect, plan, CollectPolicy, PartnerCollection, PlatformUsageConnectors, Progress,
};
use ecosystem_core::usage::{
    collection_state, date_of, day_of, usage_records, CollectionState, DayRange, UsageRecord,
};
use ecosystem_core::{Error, Registry, Result};
use serde::Serialize;

use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Collect usage now from every active partner (or one): the platform's own figures
    /// (DBUs, credits, runs, host-hours, cost...) stored per UTC day; collecting a window
    /// again replaces its days, never doubles them
    Collect(CollectArgs),
    /// List a partner's stored usage per day and metric
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Only this partner (whatever its lifecycle) [default: every active, unpaused partner]
    pub partner: Option<String>,
    /// First day to collect, YYYY-MM-DD (UTC) [default: a few days before each partner's last
    /// collected day]
    #[arg(long, value_parser = crate::args::parse_date, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last day to collect, YYYY-MM-DD (UTC) [default: today, up to now]
    #[arg(long, value_parser = crate::args::parse_date, value_name = "DATE", requires = "from")]
    pub to: Option<NaiveDate>,
    /// Without --from: collect at most this many days back (today counts as one)
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Partners collected at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub partner: String,
    /// First day, YYYY-MM-DD (UTC) [default: 29 days before --to]
    #[arg(long, value_parser = crate::args::parse_date, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last day, YYYY-MM-DD (UTC) [default: today]
    #[arg(long, value_parser = crate::args::parse_date, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(registry: &Registry, command: UsageCommand) -> Result<ExitCode> {
    match command {
        UsageCommand::Collect(args) => run_collect(registry, args),
        UsageCommand::Show(args) => run_show(registry, args).map(|()| ExitCode::SUCCESS),
    }
}

// ---- collect -----------------------------------------------------------------------------------

/// What `usage collect --format json` prints.
#[derive(Debug, Serialize)]
struct CollectReport<'a> {
    partners: usize,
    stored: usize,
    failed: usize,
    results: &'a [PartnerCollection],
}

fn run_collect(registry: &Registry, args: CollectArgs) -> Result<ExitCode> {
    let now = registry.clock().now();
    let today = date_of(day_of(now));
    let days = match args.from {
        Some(from) if from > today => {
            return Err(Error::invalid(
                "from",
                format!("{from} is in the future; usage can be collected up to today"),
            ))
        }
        Some(from) => Some(DayRange::of_dates(from, args.to.unwrap_or(today))?),
        None => None,
    };
    let policy = CollectPolicy {
        max_days: args.days,
        concurrency: usize::from(args.concurrency),
        ..CollectPolicy::default()
    };
    let targets = plan(registry, args.partner.as_deref(), days, now, &policy)?;
    if targets.is_empty() {
        eprintln!("no active partner to collect usage from");
    }
    let connectors = PlatformUsageConnectors {
        min_call_timeout: policy.min_call_timeout,
    };
    let mut progress = ProgressLine::new(std::io::stderr().is_terminal());
    let results = crate::poll::runtime()?.block_on(collect(
        registry.store(),
        targets,
        &connectors,
        &policy,
        registry.clock(),
        |p| progress.show(p),
    ));
    progress.clear();
    let failed: Vec<&PartnerCollection> = results.iter().filter(|r| !r.ok()).collect();
    for r in &failed {
        eprintln!(
            "error: {}: {}",
            r.partner,
            r.error.as_deref().unwrap_or("failed")
        );
    }
    match args.format {
        Format::Json => output::json(&CollectReport {
            partners: results.len(),
            stored: results.len() - failed.len(),
            failed: failed.len(),
            results: &results,
        })?,
        Format::Table => print_results(&results),
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn window_text(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    DayRange::of_window(from, to).to_string()
}

fn print_results(results: &[PartnerCollection]) {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.partner.clone(),
                r.kind.to_string(),
                window_text(r.from, r.to),
                r.records.to_string(),
                r.metrics.to_string(),
                match (&r.error_class, &r.error) {
                    (_, None) => "stored".to_string(),
                    (Some(class), Some(_)) => format!("failed ({class})"),
                    (None, Some(_)) => "failed".to_string(),
                },
            ]
        })
        .collect();
    output::table(
        &["PARTNER", "KIND", "DAYS", "RECORDS", "METRICS", "STATUS"],
        &rows,
    );
}

/// Progress on stderr: one line rewritten in place on a terminal, or a plain line per
/// finished partner otherwise (logs, CI).
struct ProgressLine {
    terminal: bool,
    drawn: bool,
}

impl ProgressLine {
    fn new(terminal: bool) -> Self {
        ProgressLine {
            terminal,
            drawn: false,
        }
    }

    fn show(&mut self, progress: Progress<'_>) {
        let mut err = std::io::stderr().lock();
        match progress {
            Progress::Started {
                partner,
                done,
                total,
                running,
            } if self.terminal => {
                let line = format!(
                    "collecting usage: {done}/{total} done, {running} running, now {partner}"
                );
                let line: String = line.chars().take(100).collect();
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
                self.drawn = true;
            }
            Progress::Started { .. } => {}
            Progress::Finished {
                result,
                done,
                total,
            } => {
                if self.terminal {
                    let status = if result.ok() { "stored" } else { "FAILED" };
                    let _ = write!(
                        err,
                        "\r\x1b[2Kcollecting usage: {done}/{total} done, last {} {status}",
                        result.partner
                    );
                    let _ = err.flush();
                    self.drawn = true;
                } else {
                    let status = match &result.error {
                        None => format!("{} records", result.records),
                        Some(_) => "failed".to_string(),
                    };
                    let _ = writeln!(
                        err,
                        "usage {done}/{total}: {} ({}): {status} in {} ms",
                        result.partner,
                        window_text(result.from, result.to),
                        result.elapsed_ms
                    );
                }
            }
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

// ---- show --------------------------------------------------------------------------------------

/// What `usage show --format json` prints.
#[derive(Debug, Serialize)]
struct ShowReport<'a> {
    partner: &'a str,
    from: NaiveDate,
    to: NaiveDate,
    collection: Option<CollectionState>,
    records: &'a [UsageRecord],
}

fn run_show(registry: &Registry, args: ShowArgs) -> Result<()> {
    let partner = registry.partner(&args.partner)?;
    let today = date_of(day_of(registry.clock().now()));
    let to = args.to.unwrap_or(today);
    let from = match args.from {
        Some(from) => from,
        None => to - chrono::Duration::days(29),
    };
    let days = DayRange::of_dates(from, to)?;
    let conn = registry.store().conn();
    let records = usage_records(conn, partner.id, days)?;
    let state = collection_state(conn, partner.id)?;
    match args.format {
        Format::Json => output::json(&ShowReport {
            partner: &partner.name,
            from,
            to,
            collection: state,
            records: &records,
        }),
        Format::Table => {
            println!("{}", collection_line(&partner.name, state.as_ref()));
            if records.is_empty() {
                println!("no usage stored for {days}");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    vec![
                        r.date.to_string(),
                        r.metric.clone(),
                        format_value(r.value),
                        r.unit.clone(),
                        r.source.to_string(),
                    ]
                })
                .collect();
            output::table(&["DAY", "METRIC", "VALUE", "UNIT", "SOURCE"], &rows);
            Ok(())
        }
    }
}

fn collection_line(partner: &str, state: Option<&CollectionState>) -> String {
    let Some(state) = state else {
        return format!("{partner}: usage never collected");
    };
    let collected = match (state.collected_at, state.last_day) {
        (Some(at), Some(day)) => format!(
            "last collected {} (through {})",
            at.format("%Y-%m-%d %H:%M UTC"),
            date_of(day)
        ),
        _ => "never collected successfully".to_string(),
    };
    match &state.last_error {
        Some(e) => format!(
            "{partner}: {collected}; the attempt at {} failed: {e}",
            state.attempted_at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => format!("{partner}: {collected}"),
    }
}

/// A value with at most 6 decimals, trailing zeros dropped.
fn format_value(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Used by `ecosystem poll`: one stderr line per partner collected by the daily schedule.
pub fn report_scheduled(result: &PartnerCollection) {
    match &result.error {
        None => eprintln!(
            "usage: {} ({}): {} records stored",
            result.partner,
            window_text(result.from, result.to),
            result.records
        ),
        Some(e) => eprintln!("usage: {}: collection failed: {e}", result.partner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_without_trailing_zeros() {
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(1.234_567_89), "1.234568");
    }
}
