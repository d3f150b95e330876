//! `ecosystem watch [--for SECS] [--format table|json] [--since ID]`: streams health
//! transitions as they are recorded, by whichever process polls (the desktop app or
//! `ecosystem poll`), by tailing the `health_transitions` table (ids above the last one seen)
//! every half second. Writers record transitions in immediate transactions, so ids become
//! visible in order and none is skipped.
//!
//! One line per transition: `TIME  PARTNER: FROM -> TO (REASON)`, or with `--format json` one
//! object per line (`id`, `partner_id`, `partner`, `at`, `from`, `to`, `reason`,
//! `error_class`). Without `--since` it starts after the newest transition (only new ones);
//! `--since ID` starts after that id (0: every transition recorded). It ends when `--for`
//! elapses or on Ctrl-C, and says on stderr which id to pass as `--since` to carry on.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use ecosystem_core::{Error, Registry, Result};
use serde::Serialize;

use crate::output::Format;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Stop after this many seconds [default: until Ctrl-C]
    #[arg(long = "for", value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Start after this transition id (0: every recorded transition) [default: only new ones]
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(i64).range(0..))]
    pub since: Option<i64>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Seconds between reads of the table
    #[arg(long, hide = true, value_name = "SECS", default_value = "0.5", value_parser = parse_secs)]
    pub every: Duration,
}

/// One transition as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchedTransition {
    pub id: i64,
    pub partner_id: u32,
    pub partner: String,
    pub at: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub error_class: Option<String>,
}

/// At most this many rows per read; the next read continues after the last.
const PAGE: i64 = 500;

/// The newest transition id (0 when none).
fn latest_id(registry: &Registry) -> Result<i64> {
    Ok(registry.store().conn().query_row(
        "SELECT coalesce(max(id), 0) FROM health_transitions",
        [],
        |r| r.get(0),
    )?)
}

/// Transitions with an id above `after`, oldest first.
fn transitions_after(registry: &Registry, after: i64) -> Result<Vec<WatchedTransition>> {
    let conn = registry.store().conn();
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.partner_id, coalesce(p.name, '#' || t.partner_id), t.at, t.from_state,
                t.to_state, t.reason, t.error_class
         FROM health_transitions t LEFT JOIN partners p ON p.id = t.partner_id
         WHERE t.id > ?1 ORDER BY t.id LIMIT ?2",
    )?;
    let rows = stmt.query_map([after, PAGE], |r| {
        let at: i64 = r.get(3)?;
        Ok(WatchedTransition {
            id: r.get(0)?,
            partner_id: r.get(1)?,
            partner: r.get(2)?,
            at: DateTime::<Utc>::from_timestamp(at, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            from: r.get(4)?,
            to: r.get(5)?,
            reason: r.get(6)?,
            error_class: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn print(t: &WatchedTransition, format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let text = serde_json::to_string(t)
                .map_err(|e| Error::invalid("output", format!("cannot encode JSON: {e}")))?;
            println!("{text}");
        }
        Format::Table => println!(
            "{}  {}: {} -> {} ({})",
            t.at, t.partner, t.from, t.to, t.reason
        ),
    }
    Ok(())
}

/// Prints every transition after `last`, page by page (a burst is printed at once); returns
/// the last id printed.
fn print_after(registry: &Registry, mut last: i64, format: Format) -> Result<i64> {
    loop {
        let page = transitions_after(registry, last)?;
        for t in &page {
            print(t, format)?;
            last = t.id;
        }
        if (page.len() as i64) < PAGE {
            return Ok(last);
        }
    }
}

pub fn run(registry: &Registry, args: WatchArgs) -> Result<()> {
    let start = match args.since {
        Some(id) => id,
        None => latest_id(registry)?,
    };
    eprintln!("watching health transitions after id {start} (Ctrl-C to stop)");
    let runtime = crate::poll::runtime()?;
    let last = runtime.block_on(async {
        let mut last = start;
        let deadline = async {
            match args.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        let mut ticks = tokio::time::interval(args.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = &mut deadline => break,
                signal = &mut interrupted => {
                    if let Err(e) = signal {
                        tracing::warn!("cannot listen for Ctrl-C: {e}");
                    }
                    break;
                }
                _ = ticks.tick() => last = print_after(registry, last, args.format)?,
            }
        }
        // What was recorded before the end is printed too.
        print_after(registry, last, args.format)
    })?;
    eprintln!("last transition id {last}; `ecosystem watch --since {last}` carries on from here");
    Ok(())
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
