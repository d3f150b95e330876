//! SLA compliance: whether a partner met its contract's availability target over one window
//! (a calendar month or quarter in the contract's time zone), and what credit is owed if not.
//!
//! Everything here is pure and exact. The input is the partner's state timeline as
//! [`Transition`]s, the contract's [`SlaTerms`] and the current instant; nothing reads a clock
//! or a database. Time is weighted from the transitions (never a count of samples) in whole
//! seconds with integer arithmetic; percentages are kept in millionths ([`Percent`]) and turn
//! into `f64` only in the [`SlaReport`]. docs/SLA.md states the accounting rules with a worked
//! example.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::health_state::HealthState;
use crate::money::parse_currency;

#[cfg(test)]
mod tests;

/// Millionths in a whole: [`Percent`] 100 % is this many.
const MILLION: i128 = 1_000_000;

/// One change in a partner's health: from `at` on, until the next transition, the partner was
/// in `state`. Instants are counted to the whole second (a fraction of a second is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Transition {
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub at: DateTime<Utc>,
    pub state: HealthState,
}

impl Transition {
    pub fn new(at: DateTime<Utc>, state: HealthState) -> Self {
        Transition { at, state }
    }
}

/// A percentage held exactly, as millionths of the whole: 99.95 % is 999 500. Written as a
/// plain number from 0 to 100 with at most four decimals; it crosses JSON as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(u32);

impl Percent {
    pub const ZERO: Percent = Percent(0);
    pub const HUNDRED: Percent = Percent(1_000_000);

    /// The percentage that is `millionths` millionths of the whole, if it is at most 100 %.
    pub fn from_millionths(millionths: u32) -> Option<Percent> {
        (millionths <= 1_000_000).then_some(Percent(millionths))
    }

    pub fn millionths(self) -> u32 {
        self.0
    }

    /// The value in percent, for display (99.95).
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    fn out_of_range(field: &str, text: &str) -> Error {
        Error::invalid(
            field,
            format!(
                "{text:?} is not a percentage; write a number from 0 to 100 with at most \
                 4 decimals, such as 99.95"
            ),
        )
    }

    /// Parses "99.95" exactly, or names the problem for `field`.
    pub fn parse_field(field: &str, text: &str) -> Result<Percent> {
        let bad = || Percent::out_of_range(field, text);
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 3
            || !digits(whole)
            || frac.len() > 4
            || !digits(frac)
            || (text.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let frac: u32 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
        Percent::from_millionths(whole * 10_000 + frac).ok_or_else(bad)
    }

    /// Takes a number such as 99.9 (as JSON gives it), refusing more than four decimals.
    pub fn from_f64(field: &str, value: f64) -> Result<Percent> {
        let scaled = value * 10_000.0;
        let rounded = scaled.round();
        if !value.is_finite() || !(0.0..=100.0).contains(&value) || (scaled - rounded).abs() > 1e-6
        {
            return Err(Percent::out_of_range(field, &value.to_string()));
        }
        // In range and integral, so the cast is exact.
        Ok(Percent(rounded as u32))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:04}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl FromStr for Percent {
    type Err = Error;
    fn from_str(s: &str) -> Result<Percent> {
        Percent::parse_field("percent", s)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Percent, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage from 0 to 100 with at most 4 decimals")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Percent, E> {
                Percent::from_f64("percent", v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Percent, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Percent, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Percent, E> {
                Percent::parse_field("percent", v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The span an SLA is measured over, in the contract's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SlaWindow {
    CalendarMonth,
    CalendarQuarter,
}

impl SlaWindow {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaWindow::CalendarMonth => "calendar_month",
            SlaWindow::CalendarQuarter => "calendar_quarter",
        }
    }
}

impl fmt::Display for SlaWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How time in a state that is neither plainly up nor plainly down is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TimeRule {
    /// Left out of the window: neither up nor down, and not in the denominator.
    Excluded,
    AsUp,
    AsDown,
}

/// How `degraded` time is counted: a degraded partner answers, so it is never excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DegradedRule {
    AsUp,
    AsDown,
}

/// How `paused` time is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PausedRule {
    /// Whatever the maintenance rule says.
    LikeMaintenance,
    Excluded,
}

/// The contract's rules for the states between up and down. `healthy` is always up and
/// `unhealthy` always down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct AccountingRules {
    pub maintenance: TimeRule,
    pub degraded: DegradedRule,
    /// No data: before the first check, or while the poller was not running.
    pub unknown: TimeRule,
    pub paused: PausedRule,
}

/// Where a second of a state lands in the accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Up,
    Down,
    Excluded,
}

impl From<TimeRule> for Bucket {
    fn from(rule: TimeRule) -> Bucket {
        match rule {
            TimeRule::Excluded => Bucket::Excluded,
            TimeRule::AsUp => Bucket::Up,
            TimeRule::AsDown => Bucket::Down,
        }
    }
}

impl AccountingRules {
    fn bucket(&self, state: HealthState) -> Bucket {
        match state {
            HealthState::Healthy => Bucket::Up,
            HealthState::Unhealthy => Bucket::Down,
            HealthState::Degraded => match self.degraded {
                DegradedRule::AsUp => Bucket::Up,
                DegradedRule::AsDown => Bucket::Down,
            },
            HealthState::Maintenance => self.maintenance.into(),
            HealthState::Paused => match self.paused {
                PausedRule::LikeMaintenance => self.maintenance.into(),
                PausedRule::Excluded => Bucket::Excluded,
            },
            HealthState::Unknown => self.unknown.into(),
        }
    }
}

/// One step of the credit schedule: when attainment is strictly below `below_percent`, the
/// partner owes `credit_percent` of the window's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct CreditTier {
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub below_percent: Percent,
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub credit_percent: Percent,
}

/// A contract's SLA: what is promised, over which window, how the in-between states count, and
/// what a miss costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct SlaTerms {
    /// The promised availability (99.9).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub target_percent: Percent,
    pub window: SlaWindow,
    /// The IANA zone whose calendar bounds the window ("Europe/Berlin").
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub time_zone: Tz,
    pub rules: AccountingRules,
    /// Credit tiers; the largest credit among the tiers that apply is owed.
    pub credits: Vec<CreditTier>,
    /// The fee for one window (a month's fee for a monthly window, a quarter's for a
    /// quarterly one) in minor units of `currency`.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub window_fee_minor: i64,
    /// ISO 4217 code, upper-case.
    pub currency: String,
}

impl SlaTerms {
    /// Refuses terms that cannot be computed with, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.target_percent == Percent::ZERO {
            return Err(Error::invalid(
                "target_percent",
                "0 is not a target; promise more than 0 %",
            ));
        }
        for tier in &self.credits {
            if tier.below_percent == Percent::ZERO {
                return Err(Error::invalid(
                    "credits",
                    "a tier below 0 % can never apply; use a threshold above 0",
                ));
            }
        }
        if self.window_fee_minor < 0 {
            return Err(Error::invalid(
                "window_fee_minor",
                format!("{} is negative; a fee is 0 or more", self.window_fee_minor),
            ));
        }
        if parse_currency("currency", &self.currency)? != self.currency {
            return Err(Error::invalid(
                "currency",
                format!("{:?} must be written in capitals", self.currency),
            ));
        }
        Ok(())
    }
}

/// Parses an IANA time zone name, or names the problem for `field`.
pub fn parse_time_zone(field: &str, text: &str) -> Result<Tz> {
    text.parse::<Tz>().map_err(|_| {
        Error::invalid(
            field,
            format!(
                "{text:?} is not an IANA time zone; use a name such as Europe/Berlin, \
                 America/New_York or UTC"
            ),
        )
    })
}

/// One SLA window by name: a month ("2026-10") or a quarter ("2026-Q4"). Always valid: build
/// it with [`SlaPeriod::of_month`], [`SlaPeriod::of_quarter`] or by parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlaPeriod {
    window: SlaWindow,
    year: i32,
    /// The month (1 to 12) or the quarter (1 to 4).
    number: u32,
}

impl SlaPeriod {
    /// A calendar month; the year has four digits (1000 to 9999).
    pub fn of_month(year: i32, month: u32) -> Result<SlaPeriod> {
        check_year(year)?;
        if !(1..=12).contains(&month) {
            return Err(Error::invalid(
                "period",
                format!("\"{year}-{month:02}\" is not a month; months run from 01 to 12"),
            ));
        }
        Ok(SlaPeriod {
            window: SlaWindow::CalendarMonth,
            year,
            number: month,
        })
    }

    /// A calendar quarter (1 to 4); the year has four digits (1000 to 9999).
    pub fn of_quarter(year: i32, quarter: u32) -> Result<SlaPeriod> {
        check_year(year)?;
        if !(1..=4).contains(&quarter) {
            return Err(Error::invalid(
                "period",
                format!("\"{year}-Q{quarter}\" is not a quarter; quarters run from Q1 to Q4"),
            ));
        }
        Ok(SlaPeriod {
            window: SlaWindow::CalendarQuarter,
            year,
            number: quarter,
        })
    }

    /// The kind of window this period is.
    pub fn window(self) -> SlaWindow {
        self.window
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// The month (1 to 12) of a monthly period, the quarter (1 to 4) of a quarterly one.
    pub fn number(self) -> u32 {
        self.number
    }

    /// The period of kind `window` that holds `at` on the calendar of `time_zone`.
    pub fn containing(window: SlaWindow, time_zone: Tz, at: DateTime<Utc>) -> SlaPeriod {
        let local = at.with_timezone(&time_zone).date_naive();
        let number = match window {
            SlaWindow::CalendarMonth => local.month(),
            SlaWindow::CalendarQuarter => (local.month() - 1) / 3 + 1,
        };
        SlaPeriod {
            window,
            year: local.year(),
            number,
        }
    }

    /// The window in UTC: from local midnight of the period's first day to local midnight of
    /// the next period's first day, so a month with a daylight-saving change has 743 or 745
    /// hours. A midnight the clocks skip starts at the instant they jump; a midnight they
    /// repeat starts at its first occurrence.
    pub fn bounds(self, time_zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        // Months counted from 0 so the year rolls over with plain division.
        let (first, length) = match self.window {
            SlaWindow::CalendarMonth => (self.number - 1, 1),
            SlaWindow::CalendarQuarter => ((self.number - 1) * 3, 3),
        };
        let next = first + length;
        let start = first_of_month(self.year, first + 1);
        let end = first_of_month(self.year + (next / 12) as i32, next % 12 + 1);
        (
            local_midnight(time_zone, start),
            local_midnight(time_zone, end),
        )
    }
}

fn check_year(year: i32) -> Result<()> {
    if (1000..=9999).contains(&year) {
        Ok(())
    } else {
        Err(Error::invalid(
            "period",
            format!("{year} is not a year of four digits (1000 to 9999)"),
        ))
    }
}

/// The first day of a month of a valid [`SlaPeriod`] (or of the year after 9999).
fn first_of_month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

/// The first instant of `date` on the calendar of `time_zone`.
fn local_midnight(time_zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match time_zone.from_local_datetime(&midnight) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => first_instant_at_or_after(time_zone, midnight),
    }
}

/// The first instant whose local time is at or after `local`, for a local time that falls in
/// a gap (clocks jumped over it). Local time only rises across a gap, so bisect on seconds.
fn first_instant_at_or_after(time_zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // Offsets stay within a day, so these bracket the answer.
    let mut before = local.and_utc() - TimeDelta::days(2);
    let mut after = local.and_utc() + TimeDelta::days(2);
    let one_second = TimeDelta::seconds(1);
    while after - before > one_second {
        let middle = before + TimeDelta::seconds((after - before).num_seconds() / 2);
        if middle.with_timezone(&time_zone).naive_local() >= local {
            after = middle;
        } else {
            before = middle;
        }
    }
    after
}

impl fmt::Display for SlaPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.window {
            SlaWindow::CalendarMonth => write!(f, "{:04}-{:02}", self.year, self.number),
            SlaWindow::CalendarQuarter => write!(f, "{:04}-Q{}", self.year, self.number),
        }
    }
}

impl FromStr for SlaPeriod {
    type Err = Error;

    /// "2026-10" is a month, "2026-Q4" (or "2026-q4") a quarter.
    fn from_str(text: &str) -> Result<SlaPeriod> {
        let not_a_period = || {
            Error::invalid(
                "period",
                format!(
                    "{text:?} is not a period; write a month as 2026-10 or a quarter as 2026-Q4"
                ),
            )
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
        let (year, rest) = text.split_once('-').ok_or_else(not_a_period)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_period());
        }
        let year: i32 = year.parse().map_err(|_| not_a_period())?;
        match rest.strip_prefix(['Q', 'q']) {
            Some(quarter) if quarter.len() == 1 && digits(quarter) => {
                SlaPeriod::of_quarter(year, quarter.parse().map_err(|_| not_a_period())?)
            }
            None if rest.len() == 2 && digits(rest) => {
                SlaPeriod::of_month(year, rest.parse().map_err(|_| not_a_period())?)
            }
            _ => Err(not_a_period()),
        }
    }
}

impl Serialize for SlaPeriod {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SlaPeriod {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<SlaPeriod, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A stretch of down time inside the window, clipped to the part that was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Breach {
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start: DateTime<Utc>,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub end: DateTime<Utc>,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub duration_seconds: i64,
    /// The state that held the longest part of the breach (a breach may run from `degraded`
    /// counted as down straight into `unhealthy`); on a tie, the one first in
    /// [`HealthState::ALL`].
    pub state: HealthState,
}

// `specta(type = i32)` on the i64 fields only makes TypeScript say `number` (specta refuses
// i64): seconds of a quarter and fees below 2^53 minor units are exact JSON numbers.
/// SLA compliance of one partner over one window (or the part of it up to now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlaReport {
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub period: SlaPeriod,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub window_start: DateTime<Utc>,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub window_end: DateTime<Utc>,
    /// Where measuring stopped: `window_end`, or `now` for a window still running.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub measured_until: DateTime<Utc>,
    /// True once the whole window lies in the past.
    pub complete: bool,
    /// Up plus down seconds: the denominator.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub counted_seconds: i64,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub up_seconds: i64,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub down_seconds: i64,
    /// Measured seconds the rules leave out; counted + excluded = measured_until - window_start.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub excluded_seconds: i64,
    /// Up over counted, in percent; `None` when nothing was counted.
    pub attained_percent: Option<f64>,
    pub target_percent: f64,
    /// Attained at least the target (or nothing counted).
    pub met: bool,
    /// Allowed down time, (100 % - target) × counted, rounded down to the second.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub error_budget_seconds: i64,
    /// Budget minus down time; negative exactly when the target is missed.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub budget_left_seconds: i64,
    pub breaches: Vec<Breach>,
    /// The credit tier that applies, 0 when none does.
    pub credit_percent: f64,
    /// Credit percent of the window fee, rounded half up to the minor unit.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub credit_owed_minor: i64,
    pub currency: String,
}

impl SlaReport {
    /// Compliance over `period`, measured up to `now` (transitions after `now` are ignored,
    /// and time after it is not counted). The period must be of the terms' window kind.
    pub fn for_period(
        period: SlaPeriod,
        terms: &SlaTerms,
        transitions: &[Transition],
        now: DateTime<Utc>,
    ) -> Result<SlaReport> {
        terms.validate()?;
        if period.window() != terms.window {
            return Err(Error::invalid(
                "period",
                format!(
                    "{period} is a {} but the contract's SLA window is a {}",
                    period_kind(period.window()),
                    period_kind(terms.window)
                ),
            ));
        }
        let (window_start, window_end) = period.bounds(terms.time_zone);
        let measured_until = now.clamp(window_start, window_end);
        let tally = Tally::over(
            window_start.timestamp(),
            measured_until.timestamp(),
            transitions,
            now,
            &terms.rules,
        );
        Ok(tally.into_report(period, terms, window_start, window_end, measured_until, now))
    }

    /// The window that holds `now` (month-to-date or quarter-to-date), measured up to `now`.
    pub fn to_date(
        terms: &SlaTerms,
        transitions: &[Transition],
        now: DateTime<Utc>,
    ) -> Result<SlaReport> {
        let period = SlaPeriod::containing(terms.window, terms.time_zone, now);
        SlaReport::for_period(period, terms, transitions, now)
    }
}

fn period_kind(window: SlaWindow) -> &'static str {
    match window {
        SlaWindow::CalendarMonth => "month",
        SlaWindow::CalendarQuarter => "quarter",
    }
}

/// A breach still being extended while the timeline is walked.
struct OpenBreach {
    start: i64,
    end: i64,
    seconds_by_state: [i64; HealthState::ALL.len()],
}

/// Seconds per bucket and the breaches, in Unix seconds.
#[derive(Default)]
struct Tally {
    up: i64,
    down: i64,
    excluded: i64,
    breaches: Vec<OpenBreach>,
    /// True while the last breach may still grow.
    breach_open: bool,
}

impl Tally {
    /// Walks the timeline over `[start, end)`. The state at `start` is the last transition at
    /// or before it (`unknown` if none); transitions at the same second apply in input order.
    fn over(
        start: i64,
        end: i64,
        transitions: &[Transition],
        now: DateTime<Utc>,
        rules: &AccountingRules,
    ) -> Tally {
        let mut timeline: Vec<(i64, HealthState)> = transitions
            .iter()
            .filter(|t| t.at <= now)
            .map(|t| (t.at.timestamp(), t.state))
            .collect();
        // Stable, so equal instants keep their input order and the last one wins.
        timeline.sort_by_key(|&(at, _)| at);

        let mut tally = Tally::default();
        let mut cursor = start;
        let mut state = HealthState::Unknown;
        for (at, next) in timeline {
            if at >= end {
                break;
            }
            if at > start {
                tally.add(cursor, at, state, rules);
                cursor = at;
            }
            state = next;
        }
        tally.add(cursor, end, state, rules);
        tally
    }

    fn add(&mut self, from: i64, to: i64, state: HealthState, rules: &AccountingRules) {
        let seconds = to - from;
        if seconds <= 0 {
            return;
        }
        match rules.bucket(state) {
            Bucket::Up => {
                self.up += seconds;
                self.breach_open = false;
            }
            Bucket::Excluded => {
                self.excluded += seconds;
                self.breach_open = false;
            }
            Bucket::Down => {
                self.down += seconds;
                if !self.breach_open {
                    self.breaches.push(OpenBreach {
                        start: from,
                        end: from,
                        seconds_by_state: [0; HealthState::ALL.len()],
                    });
                    self.breach_open = true;
                }
                if let Some(breach) = self.breaches.last_mut() {
                    breach.end = to;
                    if let Some(slot) = HealthState::ALL.iter().position(|&s| s == state) {
                        breach.seconds_by_state[slot] += seconds;
                    }
                }
            }
        }
    }

    fn into_report(
        self,
        period: SlaPeriod,
        terms: &SlaTerms,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
        measured_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> SlaReport {
        let counted = self.up + self.down;
        let up = i128::from(self.up);
        let counted_wide = i128::from(counted);
        let target = i128::from(terms.target_percent.millionths());
        // up / counted >= target / 100 %, cross-multiplied so no division rounds.
        let met = counted == 0 || up * MILLION >= target * counted_wide;
        let budget = (MILLION - target) * counted_wide / MILLION;
        let error_budget_seconds = i64::try_from(budget).unwrap_or(i64::MAX);
        let credit = if counted == 0 {
            Percent::ZERO
        } else {
            terms
                .credits
                .iter()
                .filter(|tier| {
                    up * MILLION < i128::from(tier.below_percent.millionths()) * counted_wide
                })
                .map(|tier| tier.credit_percent)
                .max()
                .unwrap_or(Percent::ZERO)
        };
        let owed = (i128::from(terms.window_fee_minor) * i128::from(credit.millionths())
            + MILLION / 2)
            / MILLION;
        SlaReport {
            period,
            window_start,
            window_end,
            measured_until,
            complete: now >= window_end,
            counted_seconds: counted,
            up_seconds: self.up,
            down_seconds: self.down,
            excluded_seconds: self.excluded,
            attained_percent: (counted > 0).then(|| self.up as f64 * 100.0 / counted as f64),
            target_percent: terms.target_percent.as_f64(),
            met,
            error_budget_seconds,
            budget_left_seconds: error_budget_seconds - self.down,
            breaches: self.breaches.into_iter().map(OpenBreach::finish).collect(),
            credit_percent: credit.as_f64(),
            credit_owed_minor: i64::try_from(owed).unwrap_or(i64::MAX),
            currency: terms.currency.clone(),
        }
    }
}

impl OpenBreach {
    fn finish(self) -> Breach {
        let mut state = HealthState::Unknown;
        let mut longest = 0;
        for (&candidate, &seconds) in HealthState::ALL.iter().zip(&self.seconds_by_state) {
            if seconds > longest {
                state = candidate;
                longest = seconds;
            }
        }
        Breach {
            start: utc(self.start),
            end: utc(self.end),
            duration_seconds: self.end - self.start,
            state,
        }
    }
}

/// The instant `seconds` after the Unix epoch; only called with seconds taken from instants.
fn utc(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}
