//! `ecosystem contract sla-terms PARTNER [...]` sets a contract's SLA terms (window, time zone,
//! accounting rules, credit tiers, fee per window); `ecosystem sla [PARTNER] [--period
//! 2026-10|2026-Q4] [--format table|json|csv]` computes each partner's SLA report from its
//! stored health transitions and its contract's terms (every partner with a contract when
//! PARTNER is omitted; each one's current window, to date, when --period is omitted).
//!
//! The arithmetic is all `ecosystem_core::sla::SlaReport` (docs/SLA.md); this module reads
//! the transitions, picks the period and prints. CSV is RFC 4180 (the `csv` crate) with one
//! row per partner, ISO 8601 instants and plain numbers; a cell that begins with `=`, `+`,
//! `-`, `@`, a tab or a carriage return and is not a plain number is prefixed with `'` so a
//! spreadsheet shows it as text instead of running it as a formula (OWASP CSV injection).

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use clap::Args;
use ecosystem_core::health_store::HealthHistory;
use ecosystem_core::money;
use ecosystem_core::sla::{
    parse_time_zone, CreditTier, DegradedRule, PausedRule, SlaPeriod, SlaReport, SlaTerms,
    SlaWindow, TimeRule, Transition,
};
use ecosystem_core::sla_terms::{self, ContractSlaTerms, NO_CURRENCY};
use ecosystem_core::{Error, Registry, Result};
use serde::Serialize;

use crate::output;

#[derive(Debug, Args)]
pub struct SlaTermsArgs {
    pub partner: String,
    /// The SLA window: calendar month or calendar quarter
    #[arg(long, value_name = "month|quarter", value_parser = parse_window)]
    pub window: Option<SlaWindow>,
    /// The IANA time zone whose calendar bounds the window [default: UTC]
    #[arg(long, value_name = "TZ", value_parser = parse_zone)]
    pub time_zone: Option<Tz>,
    /// How maintenance time counts [default: excluded]
    #[arg(long, value_name = "excluded|as-up|as-down", value_parser = parse_maintenance)]
    pub maintenance: Option<TimeRule>,
    /// How degraded time counts [default: as-up]
    #[arg(long, value_name = "as-up|as-down", value_parser = parse_degraded)]
    pub degraded: Option<DegradedRule>,
    /// How time without data counts [default: excluded]
    #[arg(long, value_name = "excluded|as-up|as-down", value_parser = parse_unknown)]
    pub unknown: Option<TimeRule>,
    /// How paused time counts [default: excluded]
    #[arg(long, value_name = "excluded|like-maintenance", value_parser = parse_paused)]
    pub paused: Option<PausedRule>,
    /// A credit tier: CREDIT % of the fee is owed when attainment is below BELOW % (repeat
    /// for more; replaces the tiers)
    #[arg(long = "credit", value_name = "BELOW:CREDIT", value_parser = parse_credit)]
    pub credits: Vec<CreditTier>,
    /// Remove every credit tier
    #[arg(long, conflicts_with = "credits")]
    pub no_credits: bool,
    /// The fee per window in the contract's currency, such as 10000.00 [default: the contract
    /// value spread over the term's windows]
    #[arg(long, value_name = "AMOUNT", value_parser = parse_fee)]
    pub fee: Option<i64>,
    /// Derive the fee from the contract value again
    #[arg(long, conflicts_with = "fee")]
    pub derived_fee: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum SlaFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct SlaArgs {
    /// One partner [default: every partner with a contract]
    pub partner: Option<String>,
    /// A month (2026-10) or a quarter (2026-Q4), of the contract's window kind [default: the
    /// window holding now, to date]
    #[arg(long, value_name = "PERIOD", value_parser = parse_period)]
    pub period: Option<SlaPeriod>,
    #[arg(long, value_enum, default_value_t)]
    pub format: SlaFormat,
}

/// Turns a core error into clap's message (clap names the flag).
fn message(e: Error) -> String {
    match e {
        Error::Invalid { message, .. } => message,
        other => other.to_string(),
    }
}

fn parse_window(s: &str) -> std::result::Result<SlaWindow, String> {
    sla_terms::parse_window("window", s).map_err(message)
}
fn parse_zone(s: &str) -> std::result::Result<Tz, String> {
    parse_time_zone("time-zone", s).map_err(message)
}
fn parse_maintenance(s: &str) -> std::result::Result<TimeRule, String> {
    sla_terms::parse_time_rule("maintenance", s).map_err(message)
}
fn parse_unknown(s: &str) -> std::result::Result<TimeRule, String> {
    sla_terms::parse_time_rule("unknown", s).map_err(message)
}
fn parse_degraded(s: &str) -> std::result::Result<DegradedRule, String> {
    sla_terms::parse_degraded_rule("degraded", s).map_err(message)
}
fn parse_paused(s: &str) -> std::result::Result<PausedRule, String> {
    sla_terms::parse_paused_rule("paused", s).map_err(message)
}
fn parse_credit(s: &str) -> std::result::Result<CreditTier, String> {
    sla_terms::parse_credit("credit", s).map_err(message)
}
fn parse_fee(s: &str) -> std::result::Result<i64, String> {
    money::parse_amount("fee", s).map_err(message)
}
fn parse_period(s: &str) -> std::result::Result<SlaPeriod, String> {
    s.parse::<SlaPeriod>().map_err(message)
}

/// `ecosystem contract sla-terms`: flags given replace those terms, the rest are kept; with
/// no flag the terms are shown and nothing is written.
pub fn set_terms(registry: &mut Registry, args: SlaTermsArgs) -> Result<()> {
    let partner = args.partner.clone();
    let mut terms = registry
        .sla_terms(&partner)?
        .ok_or_else(|| no_contract(&partner))?;
    let before = terms.clone();
    if let Some(window) = args.window {
        terms.window = window;
    }
    if let Some(zone) = args.time_zone {
        terms.time_zone = zone;
    }
    if let Some(rule) = args.maintenance {
        terms.rules.maintenance = rule;
    }
    if let Some(rule) = args.degraded {
        terms.rules.degraded = rule;
    }
    if let Some(rule) = args.unknown {
        terms.rules.unknown = rule;
    }
    if let Some(rule) = args.paused {
        terms.rules.paused = rule;
    }
    if args.no_credits {
        terms.credits.clear();
    } else if !args.credits.is_empty() {
        terms.credits = args.credits;
    }
    if args.derived_fee {
        terms.fee_minor = None;
    } else if let Some(fee) = args.fee {
        terms.fee_minor = Some(fee);
    }
    let resolved = if terms == before {
        registry
            .resolved_sla_terms(&partner)?
            .ok_or_else(|| no_contract(&partner))?
    } else {
        registry.set_sla_terms(&partner, &terms)?
    };
    print_terms(&partner, &terms, &resolved);
    Ok(())
}

fn print_terms(partner: &str, stored: &ContractSlaTerms, terms: &SlaTerms) {
    let credits = if terms.credits.is_empty() {
        "none".to_string()
    } else {
        terms
            .credits
            .iter()
            .map(|t| format!("{}% below {}%", t.credit_percent, t.below_percent))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fee_source = if stored.fee_minor.is_some() {
        "set"
    } else {
        "derived from the contract value"
    };
    println!("SLA terms of {partner:?}:");
    for (k, v) in [
        ("target", format!("{}%", terms.target_percent)),
        ("window", terms.window.to_string()),
        ("time zone", terms.time_zone.name().to_string()),
        (
            "maintenance",
            sla_terms::time_rule_word(terms.rules.maintenance).into(),
        ),
        (
            "degraded",
            sla_terms::degraded_rule_word(terms.rules.degraded).into(),
        ),
        (
            "unknown",
            sla_terms::time_rule_word(terms.rules.unknown).into(),
        ),
        (
            "paused",
            sla_terms::paused_rule_word(terms.rules.paused).into(),
        ),
        ("credits", credits),
        (
            "fee",
            format!(
                "{} per window ({fee_source})",
                money_text(terms.window_fee_minor, &terms.currency)
            ),
        ),
    ] {
        println!("  {k:<12} {v}");
    }
}

fn no_contract(partner: &str) -> Error {
    Error::NotFound(format!(
        "partner {partner:?} has no contract; set one with `ecosystem contract set`"
    ))
}

/// One partner's report, as JSON prints it.
#[derive(Debug, Serialize)]
struct PartnerReport {
    partner: String,
    #[serde(flatten)]
    report: SlaReport,
}

/// `ecosystem sla`.
pub fn run(registry: &Registry, args: SlaArgs) -> Result<()> {
    let now = registry.clock().now();
    let partners: Vec<String> = match &args.partner {
        Some(name) => vec![registry.partner(name)?.name],
        None => registry
            .contracts()?
            .into_iter()
            .map(|c| c.partner)
            .collect(),
    };
    let reports = partners
        .into_iter()
        .map(|name| report(registry, name, args.period, now))
        .collect::<Result<Vec<_>>>()?;
    match args.format {
        SlaFormat::Json => output::json(&reports),
        SlaFormat::Table => {
            print_table(&reports);
            Ok(())
        }
        SlaFormat::Csv => write_csv(&reports),
    }
}

fn report(
    registry: &Registry,
    name: String,
    period: Option<SlaPeriod>,
    now: DateTime<Utc>,
) -> Result<PartnerReport> {
    let partner = registry.partner(&name)?;
    let terms = registry
        .resolved_sla_terms(&name)?
        .ok_or_else(|| no_contract(&name))?;
    let period = match period {
        Some(period) => period,
        None => SlaPeriod::containing(terms.window, terms.time_zone, now),
    };
    if period.window() != terms.window {
        let (asked, kept, example) = match terms.window {
            SlaWindow::CalendarMonth => ("quarter", "calendar month", "2026-10"),
            SlaWindow::CalendarQuarter => ("month", "calendar quarter", "2026-Q4"),
        };
        return Err(Error::invalid(
            "--period",
            format!(
                "{period} is a {asked} but the SLA of {name:?} is measured by {kept}; \
                 ask for a period such as {example}"
            ),
        ));
    }
    let (start, end) = period.bounds(terms.time_zone);
    if start > now {
        return Err(Error::invalid(
            "--period",
            format!(
                "{period} has not started yet (its window starts {} in {})",
                iso(start),
                terms.time_zone.name()
            ),
        ));
    }
    let history = HealthHistory::new(registry.store().conn());
    let mut transitions: Vec<Transition> = history
        .transition_before(partner.id, start)?
        .into_iter()
        .chain(history.transitions(partner.id, start, end.min(now))?)
        .map(|t| Transition::new(t.transition.at, t.transition.to))
        .collect();
    // Stored oldest first already; keep the order explicit for the report.
    transitions.sort_by_key(|t| t.at);
    let report = SlaReport::for_period(period, &terms, &transitions, now)?;
    Ok(PartnerReport {
        partner: name,
        report,
    })
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn money_text(minor: i64, currency: &str) -> String {
    if currency == NO_CURRENCY {
        money::format_amount(minor)
    } else {
        format!("{} {currency}", money::format_amount(minor))
    }
}

/// Seconds as "1h 5m 12s" (days too), with a minus sign when negative.
fn duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let mut left = seconds.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if left > 0 || parts.is_empty() {
        parts.push(format!("{left}s"));
    }
    format!("{sign}{}", parts.join(" "))
}

fn print_table(reports: &[PartnerReport]) {
    output::table(
        &[
            "PARTNER",
            "PERIOD",
            "ATTAINED",
            "TARGET",
            "MET",
            "BUDGET LEFT",
            "BREACHES",
            "CREDIT OWED",
        ],
        &reports
            .iter()
            .map(|PartnerReport { partner, report: r }| {
                vec![
                    partner.clone(),
                    if r.complete {
                        r.period.to_string()
                    } else {
                        format!("{} (to date)", r.period)
                    },
                    r.attained_percent
                        .map(|a| format!("{a:.4}%"))
                        .unwrap_or_else(|| "-".into()),
                    format!("{}%", r.target_percent),
                    if r.met { "yes" } else { "no" }.to_string(),
                    duration(r.budget_left_seconds),
                    r.breaches.len().to_string(),
                    money_text(r.credit_owed_minor, &r.currency),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

const CSV_HEADER: [&str; 20] = [
    "partner",
    "period",
    "window_start",
    "window_end",
    "measured_until",
    "complete",
    "attained_percent",
    "target_percent",
    "met",
    "counted_seconds",
    "up_seconds",
    "down_seconds",
    "excluded_seconds",
    "error_budget_seconds",
    "budget_left_seconds",
    "breaches",
    "credit_percent",
    "credit_owed",
    "credit_owed_minor",
    "currency",
];

fn write_csv(reports: &[PartnerReport]) -> Result<()> {
    let io_error = |e: csv::Error| Error::Io {
        context: "cannot write CSV to stdout".into(),
        source: std::io::Error::from(e),
    };
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record(CSV_HEADER).map_err(io_error)?;
    for PartnerReport { partner, report: r } in reports {
        let row = [
            partner.clone(),
            r.period.to_string(),
            iso(r.window_start),
            iso(r.window_end),
            iso(r.measured_until),
            r.complete.to_string(),
            r.attained_percent
                .map(|a| a.to_string())
                .unwrap_or_default(),
            r.target_percent.to_string(),
            r.met.to_string(),
            r.counted_seconds.to_string(),
            r.up_seconds.to_string(),
            r.down_seconds.to_string(),
            r.excluded_seconds.to_string(),
            r.error_budget_seconds.to_string(),
            r.budget_left_seconds.to_string(),
            r.breaches.len().to_string(),
            r.credit_percent.to_string(),
            money::format_amount(r.credit_owed_minor),
            r.credit_owed_minor.to_string(),
            r.currency.clone(),
        ];
        out.write_record(row.iter().map(|cell| neutralise(cell)))
            .map_err(io_error)?;
    }
    let mut inner = out.into_inner().map_err(|e| Error::Io {
        context: "cannot write CSV to stdout".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    inner.flush().map_err(|source| Error::Io {
        context: "cannot write CSV to stdout".into(),
        source,
    })
}

/// A cell a spreadsheet will not run: text that begins with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`. Plain numbers (`-1008`, `-0.5`) are left as numbers.
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(cell) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_prefixed_and_numbers_are_not() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+1+2"), "'+1+2", "a sum is text, not a number");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("\rx"), "'\rx");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(
            neutralise("-1008"),
            "-1008",
            "a negative number stays a number"
        );
        assert_eq!(neutralise("-0.5"), "-0.5");
        assert_eq!(neutralise("acme"), "acme");
    }

    #[test]
    fn durations_read_in_days_hours_minutes_and_seconds() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(1_972), "32m 52s");
        assert_eq!(duration(-1_008), "-16m 48s");
        assert_eq!(duration(90_061), "1d 1h 1m 1s");
    }
}
