//! Contract expiry alerts on the command line (docs/CONTRACT-ALERTS.md):
//!
//! - `ecosystem contracts expiring --within DAYS [--format table|json|csv]`: contracts whose
//!   notice deadline falls within DAYS (or has passed) and that have not ended, with
//!   `notice_deadline`, `days_to_notice_deadline`, `days_left` (to the end), the stage due and
//!   raised, and the status;
//! - `ecosystem contracts alerts [--all] [--format table|json|csv]`: raises any stage that has
//!   come due, then lists the open alerts (`--all`: every recorded one);
//! - `ecosystem contract ack|snooze|renew|terminate|alert-stages|brief PARTNER ...`.
//!
//! All the rules are `ecosystem_core::contract_alerts`; this module parses, calls and prints.
//! A hidden `--now WHEN` (YYYY-MM-DD, read as 00:00 UTC, or RFC 3339) fixes "now" for tests.
//! Bad input exits 2 with one line naming the field (`until: ...`, `stages: ...`).

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use ecosystem_core::contract_alerts::{self, ContractAlert, ExpiryView, RenewalBrief, Stages};
use ecosystem_core::sla::money_text;
use ecosystem_core::{validate, Error, Registry, Result};

use crate::output::{self, Format};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
    Csv,
}

/// The instant the command takes as now; hidden, for tests.
#[derive(Debug, Args)]
pub struct Now {
    /// Take this as now: YYYY-MM-DD (00:00 UTC) or RFC 3339 [default: the clock]
    #[arg(long = "now", hide = true, value_name = "WHEN")]
    now: Option<String>,
}

impl Now {
    fn resolve(&self, registry: &Registry) -> Result<DateTime<Utc>> {
        let Some(text) = &self.now else {
            return Ok(registry.clock().now());
        };
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
        }
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                Error::invalid(
                    "now",
                    format!("{text:?} is neither YYYY-MM-DD nor an RFC 3339 instant"),
                )
            })
    }
}

#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// Contracts whose notice deadline falls within DAYS (or has passed) and that have not
    /// ended, with the alert stage due and raised and the contract's status
    Expiring {
        #[arg(long, value_name = "DAYS")]
        within: u32,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
        #[command(flatten)]
        now: Now,
    },
    /// Contract expiry alerts: raises any stage that has come due, then lists the open alerts
    /// (--all: acknowledged, superseded, passed, snoozed and stopped ones too)
    Alerts {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
        #[command(flatten)]
        now: Now,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContractAlertCommand {
    /// Acknowledge a contract's expiry alert (the most urgent one raised, or --stage); later
    /// stages still come
    Ack {
        partner: String,
        /// The stage to acknowledge, in days before the notice deadline
        #[arg(long, value_name = "DAYS")]
        stage: Option<u32>,
        #[command(flatten)]
        now: Now,
    },
    /// Hold a contract's expiry alerts back until a day (they resume that day); --clear ends
    /// the snooze
    Snooze {
        partner: String,
        #[arg(
            long,
            value_name = "YYYY-MM-DD",
            required_unless_present = "clear",
            conflicts_with = "clear"
        )]
        until: Option<String>,
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        now: Now,
    },
    /// Renew a contract: --new-end extends it (its alerts start over for the new term);
    /// without it the contract is marked renewed and its alerts stop
    Renew {
        partner: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        new_end: Option<String>,
        #[command(flatten)]
        now: Now,
    },
    /// Mark a contract terminated: its expiry alerts stop
    Terminate {
        partner: String,
        #[command(flatten)]
        now: Now,
    },
    /// Set a contract's alert stages, days before its notice deadline such as 90,30,7
    /// (--default: the workspace's again); with neither, show them
    AlertStages {
        partner: String,
        #[arg(value_name = "DAYS,...")]
        stages: Option<String>,
        #[arg(long, conflicts_with = "stages")]
        default: bool,
        #[command(flatten)]
        now: Now,
    },
    /// The renewal brief over the term so far: SLA window by window, incidents and downtime,
    /// usage month by month
    Brief {
        partner: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten)]
        now: Now,
    },
}

/// `ecosystem contracts expiring|alerts`.
pub fn run_contracts(registry: &mut Registry, command: ContractsCommand) -> Result<()> {
    match command {
        ContractsCommand::Expiring {
            within,
            format,
            now,
        } => {
            let now = now.resolve(registry)?;
            let rows = contract_alerts::expiring(registry, within, now)?;
            match format {
                ListFormat::Json => output::json(&rows),
                ListFormat::Table => {
                    print_expiring(&rows);
                    Ok(())
                }
                ListFormat::Csv => write_csv(&EXPIRING_CSV, rows.iter().map(expiring_csv_row)),
            }
        }
        ContractsCommand::Alerts { all, format, now } => {
            let now = now.resolve(registry)?;
            contract_alerts::raise_due(registry, now)?;
            let alerts = contract_alerts::list_alerts(registry, now, all)?;
            match format {
                ListFormat::Json => output::json(&alerts),
                ListFormat::Table => {
                    print_alerts(&alerts);
                    Ok(())
                }
                ListFormat::Csv => write_csv(&ALERTS_CSV, alerts.iter().map(alert_csv_row)),
            }
        }
    }
}

/// `ecosystem contract ack|snooze|renew|terminate|alert-stages|brief`.
pub fn run_contract(registry: &mut Registry, command: ContractAlertCommand) -> Result<()> {
    match command {
        ContractAlertCommand::Ack {
            partner,
            stage,
            now,
        } => {
            let now = now.resolve(registry)?;
            let a = contract_alerts::acknowledge(registry, &partner, stage, now)?;
            println!(
                "acknowledged the {}-day alert of {:?} (notice deadline {}, {})",
                a.stage_days,
                a.partner,
                a.notice_deadline,
                days_text(a.days_to_notice_deadline)
            );
            Ok(())
        }
        ContractAlertCommand::Snooze {
            partner,
            until,
            clear,
            now,
        } => {
            let now = now.resolve(registry)?;
            if clear {
                contract_alerts::unsnooze(registry, &partner, now)?;
                println!("the alerts of {partner:?} are no longer snoozed");
                return Ok(());
            }
            let text = until.unwrap_or_default();
            let until = validate::date("until", &text)?;
            let v = contract_alerts::snooze(registry, &partner, until, now)?;
            println!(
                "the alerts of {:?} are snoozed until {until} (they resume that day; notice deadline {})",
                v.partner, v.notice_deadline
            );
            Ok(())
        }
        ContractAlertCommand::Renew {
            partner,
            new_end,
            now,
        } => {
            let now = now.resolve(registry)?;
            let new_end = new_end
                .map(|text| validate::date("new_end", &text))
                .transpose()?;
            let v = contract_alerts::renew(registry, &partner, new_end, now)?;
            match new_end {
                Some(_) => println!(
                    "the contract of {:?} is renewed: it now ends {} (notice deadline {}); its alerts start over for the new term",
                    v.partner, v.end, v.notice_deadline
                ),
                None => println!(
                    "the contract of {:?} is marked renewed; its alerts stop (it ends {})",
                    v.partner, v.end
                ),
            }
            Ok(())
        }
        ContractAlertCommand::Terminate { partner, now } => {
            let now = now.resolve(registry)?;
            let v = contract_alerts::terminate(registry, &partner, now)?;
            println!(
                "the contract of {:?} is marked terminated; its alerts stop (it ends {})",
                v.partner, v.end
            );
            Ok(())
        }
        ContractAlertCommand::AlertStages {
            partner,
            stages,
            default,
            now,
        } => {
            let now = now.resolve(registry)?;
            let v = match (stages, default) {
                (Some(text), _) => {
                    let stages = Stages::parse("stages", &text)?;
                    contract_alerts::set_stages(registry, &partner, Some(&stages), now)?
                }
                (None, true) => contract_alerts::set_stages(registry, &partner, None, now)?,
                (None, false) => contract_alerts::expiry_view(registry, &partner, now)?,
            };
            println!(
                "alert stages of {:?}: {} days before the notice deadline {}{}",
                v.partner,
                stage_list(&v.stages),
                v.notice_deadline,
                if v.stages_default {
                    " (the workspace default)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        ContractAlertCommand::Brief {
            partner,
            format,
            now,
        } => {
            let now = now.resolve(registry)?;
            let brief = contract_alerts::renewal_brief(registry, &partner, now)?;
            match format {
                Format::Json => output::json(&brief),
                Format::Table => {
                    print_brief(&brief);
                    Ok(())
                }
            }
        }
    }
}

fn stage_list(stages: &[u32]) -> String {
    stages
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// "in 30 days", "today", "3 days ago".
fn days_text(days: i64) -> String {
    match days {
        0 => "today".into(),
        1 => "tomorrow".into(),
        -1 => "yesterday".into(),
        d if d > 1 => format!("in {d} days"),
        d => format!("{} days ago", -d),
    }
}

fn opt_days(stage: Option<u32>) -> String {
    stage.map_or_else(|| "-".into(), |s| format!("{s} d"))
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn print_expiring(rows: &[ExpiryView]) {
    output::table(
        &[
            "PARTNER",
            "OWNER",
            "END",
            "NOTICE DEADLINE",
            "NOTICE",
            "DAYS LEFT",
            "STAGE DUE",
            "RAISED",
            "ALERT",
            "STATUS",
            "AUTO-RENEW",
        ],
        &rows
            .iter()
            .map(|v| {
                vec![
                    v.partner.clone(),
                    output::or_dash(v.owner.as_deref()),
                    v.end.to_string(),
                    v.notice_deadline.to_string(),
                    days_text(v.days_to_notice_deadline),
                    v.days_left.to_string(),
                    opt_days(v.stage_due),
                    opt_days(v.stage_raised),
                    match (v.alert, v.snoozed_until) {
                        (_, Some(until)) => format!("snoozed until {until}"),
                        (Some(state), None) => state.to_string(),
                        (None, None) => "-".into(),
                    },
                    v.status.to_string(),
                    yes_no(v.auto_renew),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

fn print_alerts(alerts: &[ContractAlert]) {
    output::table(
        &[
            "PARTNER",
            "OWNER",
            "STAGE",
            "NOTICE DEADLINE",
            "NOTICE",
            "STATE",
            "RAISED",
            "ACKNOWLEDGED",
            "NOTE",
        ],
        &alerts
            .iter()
            .map(|a| {
                vec![
                    a.partner.clone(),
                    output::or_dash(a.owner.as_deref()),
                    format!("{} d", a.stage_days),
                    a.notice_deadline.to_string(),
                    days_text(a.days_to_notice_deadline),
                    a.state.to_string(),
                    a.raised_at.chars().take(10).collect(),
                    match (&a.acknowledged_by, &a.acknowledged_at) {
                        (Some(who), Some(at)) => {
                            format!("{who} {}", at.chars().take(10).collect::<String>())
                        }
                        _ => "-".into(),
                    },
                    output::or_dash(a.note.as_deref()),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

const EXPIRING_CSV: [&str; 16] = [
    "partner",
    "tier",
    "owner",
    "start",
    "end",
    "notice_days",
    "notice_deadline",
    "days_to_notice_deadline",
    "days_left",
    "auto_renew",
    "status",
    "stages",
    "stage_due",
    "stage_raised",
    "alert",
    "snoozed_until",
];

fn expiring_csv_row(v: &ExpiryView) -> Vec<String> {
    let opt = |o: Option<String>| o.unwrap_or_default();
    vec![
        v.partner.clone(),
        v.tier.to_string(),
        opt(v.owner.clone()),
        v.start.to_string(),
        v.end.to_string(),
        v.notice_days.to_string(),
        v.notice_deadline.to_string(),
        v.days_to_notice_deadline.to_string(),
        v.days_left.to_string(),
        v.auto_renew.to_string(),
        v.status.to_string(),
        stage_list(&v.stages),
        opt(v.stage_due.map(|s| s.to_string())),
        opt(v.stage_raised.map(|s| s.to_string())),
        opt(v.alert.map(|s| s.to_string())),
        opt(v.snoozed_until.map(|d| d.to_string())),
    ]
}

const ALERTS_CSV: [&str; 16] = [
    "id",
    "partner",
    "owner",
    "tier",
    "stage_days",
    "end",
    "notice_deadline",
    "days_to_notice_deadline",
    "days_left",
    "auto_renew",
    "state",
    "note",
    "raised_at",
    "acknowledged_at",
    "acknowledged_by",
    "notified_at",
];

fn alert_csv_row(a: &ContractAlert) -> Vec<String> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        a.id.to_string(),
        a.partner.clone(),
        opt(&a.owner),
        a.tier.to_string(),
        a.stage_days.to_string(),
        a.end.to_string(),
        a.notice_deadline.to_string(),
        a.days_to_notice_deadline.to_string(),
        a.days_left.to_string(),
        a.auto_renew.to_string(),
        a.state.to_string(),
        opt(&a.note),
        a.raised_at.clone(),
        opt(&a.acknowledged_at),
        opt(&a.acknowledged_by),
        opt(&a.notified_at),
    ]
}

/// RFC 4180 CSV on stdout, every cell neutralised against spreadsheet formulas.
fn write_csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let io_error = |e: csv::Error| Error::Io {
        context: "cannot write CSV to stdout".into(),
        source: std::io::Error::from(e),
    };
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record(header).map_err(io_error)?;
    for row in rows {
        out.write_record(row.iter().map(|cell| crate::sla::neutralise(cell)))
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

/// Seconds as "1d 2h 5m" (seconds only under a minute).
fn duration(seconds: i64) -> String {
    let mut left = seconds.max(0);
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if parts.is_empty() {
        parts.push(format!("{left}s"));
    }
    parts.join(" ")
}

fn print_brief(b: &RenewalBrief) {
    let c = &b.contract;
    let value = match (&b.value, &b.currency) {
        (Some(v), Some(cur)) => format!("{v} {cur}"),
        _ => "-".into(),
    };
    println!("Renewal brief: {}", c.partner);
    for (k, v) in [
        (
            "contract",
            format!(
                "{} to {} ({}, auto-renew {})",
                c.start,
                c.end,
                c.status,
                yes_no(c.auto_renew)
            ),
        ),
        (
            "notice by",
            format!(
                "{} ({}; the contract ends in {} days)",
                c.notice_deadline,
                days_text(c.days_to_notice_deadline),
                c.days_left
            ),
        ),
        ("owner", output::or_dash(c.owner.as_deref())),
        ("value", value),
        (
            "alert stages",
            format!(
                "{}{}; due {}, raised {}{}",
                stage_list(&c.stages),
                if c.stages_default { " (default)" } else { "" },
                opt_days(c.stage_due),
                opt_days(c.stage_raised),
                c.alert.map(|s| format!(" ({s})")).unwrap_or_default()
            ),
        ),
        (
            "measured",
            format!("{} to {}", b.measured_from, b.measured_until),
        ),
    ] {
        println!("  {k:<13} {v}");
    }
    println!();
    if b.sla_windows.is_empty() {
        println!("SLA: nothing to measure (no SLA promised, or the term has not started)");
    } else {
        let currency = b.sla_currency.as_deref().unwrap_or_default();
        println!(
            "SLA (target {}%): {} window(s) met, {} missed; attained {} overall; credit owed {}",
            b.sla_target_percent,
            b.sla_windows_met,
            b.sla_windows_missed,
            b.sla_attained_percent
                .map(|a| format!("{a:.4}%"))
                .unwrap_or_else(|| "no data".into()),
            money_text(b.sla_credit_owed_minor, currency)
        );
        // Windows before health was first recorded say nothing; the JSON keeps them all.
        let measured: Vec<_> = b
            .sla_windows
            .iter()
            .filter(|w| w.attained_percent.is_some())
            .collect();
        let unmeasured = b.sla_windows.len() - measured.len();
        if !measured.is_empty() {
            output::table(
                &[
                    "PERIOD",
                    "ATTAINED",
                    "MET",
                    "DOWN",
                    "BREACHES",
                    "CREDIT OWED",
                ],
                &measured
                    .iter()
                    .map(|w| {
                        vec![
                            if w.complete {
                                w.period.clone()
                            } else {
                                format!("{} (to date)", w.period)
                            },
                            w.attained_percent
                                .map(|a| format!("{a:.4}%"))
                                .unwrap_or_default(),
                            yes_no(w.met),
                            duration(w.down_seconds),
                            w.breaches.to_string(),
                            money_text(w.credit_owed_minor, currency),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
        }
        if unmeasured > 0 {
            println!("({unmeasured} window(s) of the term without health data)");
        }
    }
    println!();
    println!(
        "Incidents: {}, downtime {}, longest {}",
        b.incidents,
        duration(b.downtime_seconds),
        duration(b.longest_incident_seconds)
    );
    println!();
    if b.usage.is_empty() {
        println!("Usage: none recorded");
    } else {
        println!("Usage by month:");
        output::table(
            &["METRIC", "UNIT", "MONTHS", "FIRST", "LAST", "CHANGE"],
            &b.usage
                .iter()
                .map(|u| {
                    let value = |m: Option<&contract_alerts::UsageMonth>| {
                        m.map_or_else(|| "-".into(), |m| format!("{} {}", m.month, m.value))
                    };
                    vec![
                        u.metric.clone(),
                        u.unit.clone(),
                        u.months.len().to_string(),
                        value(u.months.first()),
                        value(u.months.last()),
                        u.change_percent
                            .map(|p| format!("{p:+.1}%"))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_as_words() {
        assert_eq!(days_text(30), "in 30 days");
        assert_eq!(days_text(1), "tomorrow");
        assert_eq!(days_text(0), "today");
        assert_eq!(days_text(-1), "yesterday");
        assert_eq!(days_text(-4), "4 days ago");
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(3_660), "1h 1m");
        assert_eq!(duration(90_061), "1d 1h 1m");
    }
}
