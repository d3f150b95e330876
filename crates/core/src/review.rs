//! The quarterly review of one partner: what a partner manager goes through with the partner
//! each quarter (docs/REPORTS.md, "Quarterly review").
//!
//! - **The quarter** is a calendar quarter ("2026-Q3", parsed by [`Quarter`]) bounded by local
//!   midnights in the contract SLA's time zone, or in UTC when the partner has no contract.
//! - **Uptime** per month is [`SlaReport`] under the contract's accounting rules and target;
//!   the **credit owed** follows the contract's SLA window: the quarter's own report for a
//!   quarterly window, the sum of the three months' credits for a monthly one.
//! - **Incidents** are the unhealthy periods ([`HealthHistory::incidents`]) that overlap the
//!   quarter, whole (not clipped); MTTR is the mean duration of the resolved ones.
//! - **Usage** is summed per metric and UTC calendar month ([`usage_by_month`], as stored), and
//!   each metric's quarter total is compared with the previous quarter's.
//! - A partner without a contract (or whose contract promises no SLA) still gets a review:
//!   those sections are `None` and [`QuarterlyReview::notes`] says why; no figure is made up.
//!   A quarter that has not started is refused; one before the partner was registered is
//!   reviewed (history may have been imported) with a note saying so.
//!
//! [`csv`] and [`html`] write the review as a long-format CSV file and a one-page summary.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Months, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use crate::contract_alerts::{usage_by_month, UsageTrend};
use crate::error::{Error, Result};
use crate::health_store::{HealthHistory, Incident};
use crate::model::{PartnerKind, Tier};
use crate::registry::Registry;
use crate::sla::Transition;
use crate::sla::{money_text, rules_in_words, Percent, SlaPeriod, SlaReport, SlaTerms, SlaWindow};

pub mod csv;
pub mod html;
#[cfg(test)]
mod tests;

/// A calendar quarter, "2026-Q3". Always valid: build it with [`Quarter::new`] or by parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quarter(SlaPeriod);

impl Quarter {
    /// Quarter `number` (1 to 4) of `year` (four digits).
    pub fn new(year: i32, number: u32) -> Result<Quarter> {
        SlaPeriod::of_quarter(year, number)
            .map(Quarter)
            .map_err(|e| match e {
                Error::Invalid { message, .. } => Error::invalid("quarter", message),
                other => other,
            })
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// 1 to 4.
    pub fn number(self) -> u32 {
        self.0.number()
    }

    /// The quarter as an SLA period (for a quarterly SLA window).
    pub fn period(self) -> SlaPeriod {
        self.0
    }

    /// The quarter holding `at` on the calendar of `time_zone`.
    pub fn containing(time_zone: Tz, at: DateTime<Utc>) -> Quarter {
        Quarter(SlaPeriod::containing(
            SlaWindow::CalendarQuarter,
            time_zone,
            at,
        ))
    }

    /// The quarter before this one.
    pub fn previous(self) -> Result<Quarter> {
        if self.number() == 1 {
            Quarter::new(self.year() - 1, 4)
        } else {
            Quarter::new(self.year(), self.number() - 1)
        }
    }

    /// The three months, in order.
    pub fn months(self) -> Result<[SlaPeriod; 3]> {
        let first = (self.number() - 1) * 3 + 1;
        Ok([
            SlaPeriod::of_month(self.year(), first)?,
            SlaPeriod::of_month(self.year(), first + 1)?,
            SlaPeriod::of_month(self.year(), first + 2)?,
        ])
    }

    /// The first calendar day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year(), (self.number() - 1) * 3 + 1, 1).unwrap_or_default()
    }

    /// The last calendar day.
    pub fn last_day(self) -> NaiveDate {
        let first = self.first_day();
        first
            .checked_add_months(Months::new(3))
            .and_then(|d| d.pred_opt())
            .unwrap_or(first)
    }

    /// From local midnight of the first day to local midnight after the last, in UTC.
    pub fn bounds(self, time_zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        self.0.bounds(time_zone)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Quarter {
    type Err = Error;

    /// "2026-Q3" (or "2026-q3"): a four-digit year, a hyphen, Q and 1 to 4.
    fn from_str(text: &str) -> Result<Quarter> {
        let bad = || {
            Error::invalid(
                "quarter",
                format!(
                    "{text:?} is not a quarter; write it as 2026-Q3 (a four-digit year, then Q1 \
                     to Q4)"
                ),
            )
        };
        let (year, rest) = text.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let number = rest.strip_prefix(['Q', 'q']).ok_or_else(bad)?;
        if number.len() != 1 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let number: u32 = number.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&number) {
            return Err(Error::invalid(
                "quarter",
                format!("{text:?} is not a quarter; quarters run from Q1 to Q4"),
            ));
        }
        Quarter::new(year, number)
    }
}

impl Serialize for Quarter {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

// `specta(type = i32)` on the i64 fields only makes TypeScript say `number` (specta refuses
// i64): seconds of a quarter and amounts below 2^53 minor units are exact JSON numbers.

/// One month of the quarter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewMonth {
    /// "2026-07".
    pub month: String,
    /// "July 2026".
    pub label: String,
    /// The month in UTC (RFC 3339), local midnights of the review's time zone.
    pub start: String,
    pub end: String,
    /// False while the month is still running.
    pub complete: bool,
    /// Up over counted time under the contract's rules; `None` without an SLA or data.
    pub attained_percent: Option<f64>,
    /// The contract's target; `None` without an SLA.
    pub target_percent: Option<f64>,
    /// Attained at least the target; `None` without an SLA or without counted time.
    pub met: Option<bool>,
    /// Down time under the contract's rules; `None` without an SLA.
    #[cfg_attr(feature = "specta", specta(type = Option<i32>))]
    pub down_seconds: Option<i64>,
    /// Incidents overlapping the month (one spanning two months counts in both).
    pub incidents: u32,
    /// The month's credit under a monthly SLA window; `None` otherwise.
    #[cfg_attr(feature = "specta", specta(type = Option<i32>))]
    pub credit_owed_minor: Option<i64>,
}

/// One SLA window's credit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewCredit {
    /// "2026-07" or "2026-Q3".
    pub period: String,
    pub credit_percent: f64,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub credit_owed_minor: i64,
}

/// The SLA over the quarter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewSla {
    pub target_percent: f64,
    pub window: SlaWindow,
    /// How the states between up and down count, one sentence each.
    pub rules: Vec<String>,
    /// Up over counted time across the quarter; `None` when nothing was counted.
    pub attained_percent: Option<f64>,
    pub months_met: u32,
    pub months_missed: u32,
    /// The credit of each SLA window of the quarter (three months or the quarter).
    pub credits: Vec<ReviewCredit>,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub credit_owed_minor: i64,
    /// "1000.00 EUR".
    pub credit_owed: String,
    pub currency: String,
}

/// An unhealthy period overlapping the quarter, whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewIncident {
    pub start: String,
    /// `None` while it is still open.
    pub end: Option<String>,
    /// "resolved" or "open".
    pub state: String,
    /// To its end, or to now while open.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub duration_seconds: i64,
    pub reason: String,
}

/// One month of one usage metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewUsageMonth {
    /// "2026-07" (a UTC calendar month).
    pub month: String,
    /// `None` when nothing was recorded that month.
    pub value: Option<f64>,
}

/// A usage (or cost) metric over the quarter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewUsage {
    pub metric: String,
    pub unit: String,
    /// The unit is a currency (USD, EUR...): the metric is a cost.
    pub cost: bool,
    /// The quarter's three months.
    pub months: Vec<ReviewUsageMonth>,
    pub total: f64,
    /// The previous quarter's total; `None` when nothing was recorded then.
    pub previous_total: Option<f64>,
    /// Total against the previous quarter, in percent; `None` without a previous total above 0.
    pub change_percent: Option<f64>,
}

/// The contract's dates and terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewContract {
    /// ISO 8601 days.
    pub start: String,
    pub end: String,
    pub notice_days: u32,
    pub notice_deadline: String,
    pub auto_renew: bool,
    pub value: Option<String>,
    pub currency: Option<String>,
}

/// The quarterly review of one partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QuarterlyReview {
    pub partner: String,
    pub kind: PartnerKind,
    pub tier: Tier,
    pub owner: Option<String>,
    /// "2026-Q3".
    pub quarter: String,
    /// The IANA zone whose calendar bounds the quarter and its months.
    pub time_zone: String,
    /// The quarter in UTC (RFC 3339).
    pub start: String,
    pub end: String,
    /// Now, when the review was made.
    pub generated_at: String,
    /// False while the quarter is still running (figures are to now).
    pub complete: bool,
    /// What the review cannot say, and why (no contract, no SLA, quarter running...).
    pub notes: Vec<String>,
    pub contract: Option<ReviewContract>,
    pub sla: Option<ReviewSla>,
    pub months: Vec<ReviewMonth>,
    pub incidents: Vec<ReviewIncident>,
    pub open_incidents: u32,
    /// Mean duration of the resolved incidents, to the second; `None` without one.
    #[cfg_attr(feature = "specta", specta(type = Option<i32>))]
    pub mttr_seconds: Option<i64>,
    /// Unhealthy time inside the quarter (incidents clipped to it, open ones to now).
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub unhealthy_seconds: i64,
    pub usage: Vec<ReviewUsage>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Seconds from `from` to `to`, 0 when `to` is not after `from`.
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The ISO 4217 codes a platform bills in that mark a usage metric as a cost ("DBU" is three
/// capitals too, so the form alone does not say).
const COST_UNITS: [&str; 16] = [
    "USD", "EUR", "GBP", "CHF", "JPY", "CNY", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN",
    "INR", "BRL", "SGD",
];

/// A unit that is a currency: the metric is a cost.
fn is_currency(unit: &str) -> bool {
    COST_UNITS.contains(&unit)
}

/// The quarterly review of `partner` for `quarter`, as of `now`.
pub fn quarterly_review(
    registry: &Registry,
    partner: &str,
    quarter: Quarter,
    now: DateTime<Utc>,
) -> Result<QuarterlyReview> {
    let p = registry.partner(partner)?;
    let contract = registry.contract(&p.name)?;
    let terms = registry.resolved_sla_terms(&p.name)?;
    let time_zone = terms.as_ref().map_or(chrono_tz::UTC, |t| t.time_zone);
    let (start, end) = quarter.bounds(time_zone);
    if start > now {
        return Err(Error::invalid(
            "quarter",
            format!(
                "{quarter} has not started yet; the latest quarter is {}",
                Quarter::containing(time_zone, now)
            ),
        ));
    }
    let until = now.min(end);
    let mut notes = Vec::new();
    if until < end {
        notes.push(format!(
            "{quarter} is still running: the figures are to {}",
            rfc3339(now)
        ));
    }
    let registered = DateTime::parse_from_rfc3339(&p.created_at)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    if let Some(registered) = registered.filter(|r| *r >= end) {
        notes.push(format!(
            "{} was registered on {}, after {quarter} ended: only imported history can appear",
            p.name,
            registered.date_naive()
        ));
    }

    let history = HealthHistory::new(registry.store().conn());
    let incidents: Vec<Incident> = history
        .incidents(p.id, start, now)?
        .into_iter()
        .filter(|i| i.start < end)
        .collect();
    let months = quarter.months()?;

    // The SLA, when the contract promises one.
    let promised = match &contract {
        Some(c) => crate::sla_terms::target_percent(c.sla_target)? != Percent::ZERO,
        None => false,
    };
    let sla_terms = terms.filter(|_| promised);
    match (&contract, &sla_terms) {
        (None, _) => notes.push(
            "No contract: there are no contract dates, SLA or service credits to report".into(),
        ),
        (Some(_), None) => notes.push(
            "The contract promises no SLA (target 0 %): uptime is not measured against a \
             target and no credit is owed"
                .into(),
        ),
        _ => {}
    }
    let mut month_rows = Vec::with_capacity(3);
    let mut sla = None;
    let reports = match &sla_terms {
        Some(terms) => {
            let transitions: Vec<Transition> = history
                .transition_before(p.id, start)?
                .into_iter()
                .chain(history.transitions(p.id, start, until)?)
                .map(|t| Transition::new(t.transition.at, t.transition.to))
                .collect();
            let monthly = SlaTerms {
                window: SlaWindow::CalendarMonth,
                ..terms.clone()
            };
            let mut reports = Vec::with_capacity(3);
            for month in months {
                reports.push(SlaReport::for_period(month, &monthly, &transitions, now)?);
            }
            let credits: Vec<ReviewCredit> = match terms.window {
                SlaWindow::CalendarMonth => reports
                    .iter()
                    .map(|r| ReviewCredit {
                        period: r.period.to_string(),
                        credit_percent: r.credit_percent,
                        credit_owed_minor: r.credit_owed_minor,
                    })
                    .collect(),
                SlaWindow::CalendarQuarter => {
                    let r = SlaReport::for_period(quarter.period(), terms, &transitions, now)?;
                    vec![ReviewCredit {
                        period: quarter.to_string(),
                        credit_percent: r.credit_percent,
                        credit_owed_minor: r.credit_owed_minor,
                    }]
                }
            };
            let up: i64 = reports.iter().map(|r| r.up_seconds).sum();
            let counted: i64 = reports.iter().map(|r| r.counted_seconds).sum();
            let owed: i64 = credits.iter().map(|c| c.credit_owed_minor).sum();
            let measured = reports.iter().filter(|r| r.counted_seconds > 0);
            sla = Some(ReviewSla {
                target_percent: terms.target_percent.as_f64(),
                window: terms.window,
                rules: rules_in_words(&terms.rules),
                attained_percent: (counted > 0).then(|| up as f64 * 100.0 / counted as f64),
                months_met: count(measured.clone().filter(|r| r.met).count()),
                months_missed: count(measured.filter(|r| !r.met).count()),
                credits,
                credit_owed_minor: owed,
                credit_owed: money_text(owed, &terms.currency),
                currency: terms.currency.clone(),
            });
            Some(reports)
        }
        None => None,
    };
    for (i, month) in months.iter().enumerate() {
        let (month_start, month_end) = month.bounds(time_zone);
        let overlapping = incidents
            .iter()
            .filter(|inc| inc.start < month_end && inc.end.unwrap_or(now) > month_start)
            .count();
        let report = reports.as_ref().and_then(|r| r.get(i));
        let monthly_window = sla_terms
            .as_ref()
            .is_some_and(|t| t.window == SlaWindow::CalendarMonth);
        month_rows.push(ReviewMonth {
            month: month.to_string(),
            label: month.label(),
            start: rfc3339(month_start),
            end: rfc3339(month_end),
            complete: now >= month_end,
            attained_percent: report.and_then(|r| r.attained_percent),
            target_percent: report.map(|r| r.target_percent),
            met: report.filter(|r| r.counted_seconds > 0).map(|r| r.met),
            down_seconds: report.map(|r| r.down_seconds),
            incidents: count(overlapping),
            credit_owed_minor: report
                .filter(|_| monthly_window)
                .map(|r| r.credit_owed_minor),
        });
    }

    let resolved: Vec<i64> = incidents
        .iter()
        .filter(|i| !i.ongoing)
        .map(|i| i.duration_secs)
        .collect();
    let mttr_seconds = (!resolved.is_empty()).then(|| {
        let n = resolved.len() as i64;
        (resolved.iter().sum::<i64>() + n / 2) / n
    });
    let unhealthy_seconds = incidents
        .iter()
        .map(|i| seconds(i.start.max(start), i.end.unwrap_or(now).min(until)))
        .sum();

    let usage = quarter_usage(registry, p.id, quarter, now)?;

    Ok(QuarterlyReview {
        partner: p.name.clone(),
        kind: p.kind,
        tier: p.tier,
        owner: p.owner.clone(),
        quarter: quarter.to_string(),
        time_zone: time_zone.name().to_string(),
        start: rfc3339(start),
        end: rfc3339(end),
        generated_at: rfc3339(now),
        complete: now >= end,
        notes,
        contract: contract.map(|c| ReviewContract {
            start: c.start.to_string(),
            end: c.end.to_string(),
            notice_days: c.notice_days,
            notice_deadline: c.notice_deadline.to_string(),
            auto_renew: c.auto_renew,
            value: c.value,
            currency: c.currency,
        }),
        sla,
        months: month_rows,
        open_incidents: count(incidents.iter().filter(|i| i.ongoing).count()),
        incidents: incidents
            .iter()
            .map(|i| ReviewIncident {
                start: rfc3339(i.start),
                end: i.end.map(rfc3339),
                state: if i.ongoing { "open" } else { "resolved" }.into(),
                duration_seconds: i.duration_secs,
                reason: i.reason.clone(),
            })
            .collect(),
        mttr_seconds,
        unhealthy_seconds,
        usage,
    })
}

/// Usage per metric over the quarter's UTC months, with the previous quarter's totals.
fn quarter_usage(
    registry: &Registry,
    partner_id: u32,
    quarter: Quarter,
    now: DateTime<Utc>,
) -> Result<Vec<ReviewUsage>> {
    let previous = quarter.previous()?;
    let conn = registry.store().conn();
    let trends: Vec<UsageTrend> = usage_by_month(
        conn,
        partner_id,
        previous.first_day(),
        quarter.last_day(),
        now,
    )?;
    let month_names: Vec<String> = quarter.months()?.iter().map(ToString::to_string).collect();
    let previous_names: Vec<String> = previous.months()?.iter().map(ToString::to_string).collect();
    let mut out = Vec::new();
    for trend in trends {
        let value_of = |month: &str| {
            trend
                .months
                .iter()
                .find(|m| m.month == month)
                .map(|m| m.value)
        };
        let months: Vec<ReviewUsageMonth> = month_names
            .iter()
            .map(|m| ReviewUsageMonth {
                month: m.clone(),
                value: value_of(m),
            })
            .collect();
        if months.iter().all(|m| m.value.is_none()) {
            continue;
        }
        let total: f64 = months.iter().filter_map(|m| m.value).sum();
        let previous_values: Vec<f64> = previous_names.iter().filter_map(|m| value_of(m)).collect();
        let previous_total = (!previous_values.is_empty()).then(|| previous_values.iter().sum());
        let change_percent = previous_total
            .filter(|p: &f64| *p > 0.0)
            .map(|p| (total - p) * 100.0 / p);
        out.push(ReviewUsage {
            cost: is_currency(&trend.unit),
            metric: trend.metric,
            unit: trend.unit,
            months,
            total,
            previous_total,
            change_percent,
        });
    }
    Ok(out)
}

/// A file name for `partner`'s review of `quarter` without the extension, safe on every
/// system: letters and digits kept (any script), everything else one `-`, at most 80
/// characters of the name, never empty (and, with the quarter after it, never a device name
/// such as `CON`).
pub fn file_stem(partner: &str, quarter: &str) -> String {
    let mut safe = String::new();
    for c in partner.chars() {
        if c.is_alphanumeric() {
            safe.push(c);
        } else if !safe.ends_with('-') && !safe.is_empty() {
            safe.push('-');
        }
    }
    let mut safe: String = safe.chars().take(80).collect();
    while safe.ends_with('-') {
        safe.pop();
    }
    if safe.is_empty() {
        safe.push_str("partner");
    }
    format!("{safe}-{quarter}")
}

/// Writes `review` into `dir` as `<file stem>.csv` and `<file stem>.html` (each atomically:
/// a file is either whole or not there) and returns both paths, CSV first. The charts of the
/// summary read the partner's history from `registry`.
pub fn export_files(
    registry: &Registry,
    review: &QuarterlyReview,
    dir: &std::path::Path,
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    use std::io::Write as _;
    if !dir.is_dir() {
        return Err(Error::invalid(
            "output_dir",
            format!("{} is not a folder", dir.display()),
        ));
    }
    let stem = file_stem(&review.partner, &review.quarter);
    let charts = html::charts(registry, review)?;
    let csv_path = dir.join(format!("{stem}.csv"));
    let html_path = dir.join(format!("{stem}.html"));
    crate::csv_export::write_file_atomically(&csv_path, |file| csv::write_csv(review, file, true))?;
    let page = html::render(review, &charts);
    crate::csv_export::write_file_atomically(&html_path, |file| {
        file.write_all(page.as_bytes()).map_err(|source| Error::Io {
            context: format!("cannot write {}", html_path.display()),
            source,
        })
    })?;
    Ok((csv_path, html_path))
}
