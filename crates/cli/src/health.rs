//! `ecosystem health PARTNER [--since 24h|7d|30d|YYYY-MM-DD] [--format table|json]`: a
//! partner's current health state (since when, why), uptime over 24 h / 7 d / 30 d / 90 d /
//! 1 y, latency p50/p95, the incidents and the recorded history since the given time. All
//! of it comes from `ecosystem_core::health_store::HealthHistory::report`; this module only
//! parses the range and prints.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;
use ecosystem_core::health_store::{HealthHistory, HealthReport, Rollup, Series};
use ecosystem_core::{Error, Registry, Result};

use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct HealthArgs {
    pub partner: String,
    /// How far back incidents, latency and history go: 24h, 7d, 30d (any NUMBERh or NUMBERd)
    /// or a date YYYY-MM-DD (from its start, UTC)
    #[arg(long, default_value = "24h", value_parser = parse_since, value_name = "RANGE")]
    pub since: Since,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The start of the range asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    Date(NaiveDate),
}

impl Since {
    fn start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Since::Ago(d) => now - d,
            Since::Date(day) => day.and_time(chrono::NaiveTime::MIN).and_utc(),
        }
    }
}

pub fn parse_since(s: &str) -> std::result::Result<Since, String> {
    let bad = || format!("{s:?} is not a range; write 24h, 7d, 30d or a date YYYY-MM-DD");
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Since::Date(day));
    }
    let (number, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    if !(1..=3_650).contains(&n) {
        return Err(bad());
    }
    match unit {
        "h" => Ok(Since::Ago(Duration::hours(n))),
        "d" => Ok(Since::Ago(Duration::days(n))),
        _ => Err(bad()),
    }
}

pub fn run(registry: &Registry, args: HealthArgs) -> Result<()> {
    let partner = registry.partner(&args.partner)?;
    let now = registry.clock().now();
    let from = args.since.start(now);
    if from >= now {
        return Err(Error::invalid(
            "since",
            format!("{} is not in the past", from.date_naive()),
        ));
    }
    let report =
        HealthHistory::new(registry.store().conn()).report(partner.id, &partner.name, from, now)?;
    match args.format {
        Format::Json => output::json(&report),
        Format::Table => {
            print_report(&report, now);
            Ok(())
        }
    }
}

fn print_report(r: &HealthReport, now: DateTime<Utc>) {
    let since = match r.since {
        Some(t) => format!(" since {} ({})", time(t), duration((now - t).num_seconds())),
        None => String::new(),
    };
    let uptime = r
        .uptime
        .values()
        .iter()
        .map(|(window, value)| format!("{window} {}", percent(*value)))
        .collect::<Vec<_>>()
        .join("  ");
    let ms = |v: Option<u32>| v.map_or("-".to_string(), |v| format!("{v} ms"));
    let latency = format!(
        "p50 {}  p95 {}  ({} successful check(s){})",
        ms(r.latency_ms.p50),
        ms(r.latency_ms.p95),
        r.latency_ms.checks,
        if r.latency_ms.estimated {
            ", estimated from rollups"
        } else {
            ""
        }
    );
    let history = match &r.series {
        Series::Samples(s) => format!("{} check(s)", s.len()),
        Series::Rollups(rows) => {
            let sum = |f: fn(&Rollup) -> u64| -> u64 { rows.iter().map(f).sum() };
            format!(
                "{} check(s): {} ok, {} degraded, {} failed ({} {} rollup(s))",
                sum(|x| x.checks),
                sum(|x| x.ok),
                sum(|x| x.degraded),
                sum(|x| x.failed),
                rows.len(),
                rows.first().map_or("", |x| x.resolution.as_str())
            )
        }
    };
    for (k, v) in [
        ("partner", r.partner.clone()),
        ("state", format!("{}{since}", r.state)),
        ("reason", output::or_dash(r.reason.as_deref())),
        ("uptime", uptime),
        ("latency", latency),
        ("history", format!("since {}: {history}", time(r.from))),
    ] {
        println!("{k:<9} {v}");
    }
    println!();
    if r.incidents.is_empty() {
        println!("no incidents since {}", time(r.from));
        return;
    }
    output::table(
        &["INCIDENT START", "END", "DURATION", "CLASS", "REASON"],
        &r.incidents
            .iter()
            .map(|i| {
                vec![
                    time(i.start),
                    i.end.map_or("ongoing".to_string(), time),
                    duration(i.duration_secs),
                    output::or_dash(i.error_class.map(|c| c.as_str())),
                    i.reason.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Uptime with three decimals, never rounded up to 100%.
fn percent(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| {
        format!("{:.3}%", (v * 1000.0).floor() / 1000.0)
    })
}

fn duration(secs: i64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_hours_days_or_a_date() {
        assert_eq!(parse_since("24h"), Ok(Since::Ago(Duration::hours(24))));
        assert_eq!(parse_since("30d"), Ok(Since::Ago(Duration::days(30))));
        assert_eq!(
            parse_since("2025-06-01"),
            Ok(Since::Date(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()))
        );
        for bad in ["", "h", "7w", "-1d", "0h", "2025-13-01"] {
            assert!(parse_since(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn uptime_is_never_rounded_up_to_a_hundred() {
        assert_eq!(percent(Some(99.99999)), "99.999%");
        assert_eq!(percent(Some(100.0)), "100.000%");
        assert_eq!(percent(None), "-");
    }
}
