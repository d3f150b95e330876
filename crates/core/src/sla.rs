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

// ---------------------------------------------------------------------------------------
// The current window of a stored contract, for the desktop's SLA card.
//
// Unlike the rest of this module, [`current_status`] reads: the contract's terms and the
// partner's transitions from the registry, and now from the registry's injected clock. The
// arithmetic is still [`SlaReport`]; [`SlaStatus`] only puts it in the card's words.

/// Budget left below this share of the error budget (to date) makes a met SLA "at risk":
/// more than three quarters of the allowed down time is already spent.
pub const AT_RISK_BUDGET_LEFT_PERCENT: i64 = 25;

/// Where the current window stands, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SlaHealth {
    /// Nothing counted yet (no check in the window, or only excluded time).
    NoData,
    /// Attained at least the target, with at least [`AT_RISK_BUDGET_LEFT_PERCENT`] % of the
    /// error budget left.
    Met,
    /// Attained at least the target, but less than [`AT_RISK_BUDGET_LEFT_PERCENT`] % of the
    /// error budget left.
    AtRisk,
    /// Attained below the target: the budget is overspent.
    Breached,
}

impl SlaHealth {
    /// The word for a report: breached below the target, at risk when a met report has less
    /// than [`AT_RISK_BUDGET_LEFT_PERCENT`] % of its budget left (a budget of 0 with no down
    /// time, as under a 100 % target, is met), no data when nothing was counted.
    pub fn of(report: &SlaReport) -> SlaHealth {
        if report.counted_seconds == 0 {
            SlaHealth::NoData
        } else if !report.met {
            SlaHealth::Breached
        } else if i128::from(report.budget_left_seconds) * 100
            < i128::from(report.error_budget_seconds) * i128::from(AT_RISK_BUDGET_LEFT_PERCENT)
        {
            SlaHealth::AtRisk
        } else {
            SlaHealth::Met
        }
    }
}

// As in `SlaReport`, `specta(type = i32)` only makes TypeScript say `number`.
/// The SLA of a partner's contract over the window that holds now, to date.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlaStatus {
    /// The period's name: "2026-11" or "2026-Q4".
    pub period: String,
    /// The period for people: "November 2026" or "2026-Q4".
    pub window_label: String,
    pub window: SlaWindow,
    /// The IANA zone whose calendar bounds the window.
    pub time_zone: String,
    /// The window in UTC (RFC 3339), and where measuring stopped (now).
    pub window_start: String,
    pub window_end: String,
    pub measured_until: String,
    pub target_percent: f64,
    /// Up over counted time, in percent; `None` while nothing is counted.
    pub attained_percent: Option<f64>,
    pub health: SlaHealth,
    /// Up plus down seconds so far: what the percentages are of.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub counted_seconds: i64,
    /// The allowed down time so far, (100 % − target) × counted.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub budget_seconds: i64,
    /// Down time so far.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub budget_used_seconds: i64,
    /// Budget minus down time; negative when breached.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub budget_left_seconds: i64,
    /// Runs of down time in the window so far.
    pub breaches: u32,
    /// How the states between up and down count, one sentence each.
    pub rules: Vec<String>,
    /// The credit tier that applies so far (0 when none does).
    pub credit_percent: f64,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub credit_owed_minor: i64,
    /// "1000.00 EUR" (no code for a contract without a currency).
    pub credit_owed: String,
    /// The fee of one window the credit is a share of, "10000.00 EUR".
    pub window_fee: String,
    pub currency: String,
}

impl SlaStatus {
    /// The card's view of `report`, computed with `terms`.
    pub fn from_report(report: &SlaReport, terms: &SlaTerms) -> SlaStatus {
        let rfc3339 = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        SlaStatus {
            period: report.period.to_string(),
            window_label: report.period.label(),
            window: report.period.window(),
            time_zone: terms.time_zone.name().to_string(),
            window_start: rfc3339(report.window_start),
            window_end: rfc3339(report.window_end),
            measured_until: rfc3339(report.measured_until),
            target_percent: report.target_percent,
            attained_percent: report.attained_percent,
            health: SlaHealth::of(report),
            counted_seconds: report.counted_seconds,
            budget_seconds: report.error_budget_seconds,
            budget_used_seconds: report.down_seconds,
            budget_left_seconds: report.budget_left_seconds,
            breaches: u32::try_from(report.breaches.len()).unwrap_or(u32::MAX),
            rules: rules_in_words(&terms.rules),
            credit_percent: report.credit_percent,
            credit_owed_minor: report.credit_owed_minor,
            credit_owed: money_text(report.credit_owed_minor, &report.currency),
            window_fee: money_text(terms.window_fee_minor, &terms.currency),
            currency: report.currency.clone(),
        }
    }
}

impl SlaPeriod {
    /// The period for people: a month as "November 2026", a quarter as "2026-Q4".
    pub fn label(self) -> String {
        match self.window {
            SlaWindow::CalendarMonth => first_of_month(self.year, self.number)
                .format("%B %Y")
                .to_string(),
            SlaWindow::CalendarQuarter => self.to_string(),
        }
    }
}

/// The accounting rules as sentences, in the order maintenance, degraded, no data, paused:
/// "Maintenance is excluded", "Degraded time counts as up", "Time without data is
/// excluded", "Paused time counts like maintenance (excluded)". Healthy time is always up and
/// unhealthy time always down, so they are not repeated.
pub fn rules_in_words(rules: &AccountingRules) -> Vec<String> {
    let short = |rule: TimeRule| match rule {
        TimeRule::Excluded => "excluded",
        TimeRule::AsUp => "as up",
        TimeRule::AsDown => "as down",
    };
    let verb = |rule: TimeRule| match rule {
        TimeRule::Excluded => "is",
        TimeRule::AsUp | TimeRule::AsDown => "counts",
    };
    let degraded = match rules.degraded {
        DegradedRule::AsUp => "as up",
        DegradedRule::AsDown => "as down",
    };
    let paused = match rules.paused {
        PausedRule::Excluded => "Paused time is excluded".to_string(),
        PausedRule::LikeMaintenance => format!(
            "Paused time counts like maintenance ({})",
            short(rules.maintenance)
        ),
    };
    vec![
        format!(
            "Maintenance {} {}",
            verb(rules.maintenance),
            short(rules.maintenance)
        ),
        format!("Degraded time counts {degraded}"),
        format!(
            "Time without data {} {}",
            verb(rules.unknown),
            short(rules.unknown)
        ),
        paused,
    ]
}

/// Minor units with their currency, "1000.00 EUR"; just the amount in [`NO_CURRENCY`].
///
/// [`NO_CURRENCY`]: crate::sla_terms::NO_CURRENCY
pub fn money_text(minor: i64, currency: &str) -> String {
    let amount = crate::money::format_amount(minor);
    if currency == crate::sla_terms::NO_CURRENCY {
        amount
    } else {
        format!("{amount} {currency}")
    }
}

/// The SLA of `partner`'s contract over the window holding the registry clock's now, to date;
/// `None` when the partner has no contract or its target rounds to no SLA at all (0 %).
pub fn current_status(registry: &crate::Registry, partner: &str) -> Result<Option<SlaStatus>> {
    let partner = registry.partner(partner)?;
    let Some(contract) = registry.contract(&partner.name)? else {
        return Ok(None);
    };
    if crate::sla_terms::target_percent(contract.sla_target)? == Percent::ZERO {
        return Ok(None);
    }
    let Some(terms) = registry.resolved_sla_terms(&partner.name)? else {
        return Ok(None);
    };
    let now = registry.clock().now();
    let period = SlaPeriod::containing(terms.window, terms.time_zone, now);
    let (start, _) = period.bounds(terms.time_zone);
    let history = crate::health_store::HealthHistory::new(registry.store().conn());
    // The state in force at the start, then every change up to now, oldest first.
    let transitions: Vec<Transition> = history
        .transition_before(partner.id, start)?
        .into_iter()
        .chain(history.transitions(partner.id, start, now)?)
        .map(|t| Transition::new(t.transition.at, t.transition.to))
        .collect();
    let report = SlaReport::for_period(period, &terms, &transitions, now)?;
    Ok(Some(SlaStatus::from_report(&report, &terms)))
}

#[cfg(test)]
mod current_status_tests {
    //! The card's words and the current window read from a registry on a real SQLite file,
    //! with a fixed clock; every expected value computed by hand.

    use std::sync::Arc;

    use chrono_tz::Europe::Berlin;
    use chrono_tz::UTC;

    use super::*;
    use crate::health::CheckOutcome;
    use crate::health_store::{HealthWriter, PartnerOutcome};
    use crate::integration::ErrorClass;
    use crate::sla_terms::ContractSlaTerms;
    use crate::{ContractInput, FixedClock, NewPartner, PartnerKind, Registry, Store, Tier};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse()
            .unwrap_or_else(|e| panic!("{text} is an instant: {e}"))
    }

    fn percent(text: &str) -> Percent {
        text.parse().unwrap()
    }

    /// A registry whose clock says `now`, the health writer beside it (a connection of its
    /// own, as the poller's), and a strategic partner (down at the 2nd failure, back at the
    /// 2nd success).
    struct Fixture {
        _dir: tempfile::TempDir,
        registry: Registry,
        writer: HealthWriter,
        partner_id: u32,
    }

    const PARTNER: &str = "Acme MLflow";

    impl Fixture {
        fn at(now: &str) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ecosystem.db");
            let mut registry = Registry::new(
                Store::open(&path).unwrap(),
                "tester",
                Arc::new(FixedClock(at(now))),
            );
            let writer = HealthWriter::new(Store::open(&path).unwrap());
            let mut partner = NewPartner::new(PARTNER, PartnerKind::Mlflow, "https://mlflow.test");
            partner.tier = Tier::Strategic;
            let partner_id = registry.add_partner(&partner).unwrap().id;
            Fixture {
                _dir: dir,
                registry,
                writer,
                partner_id,
            }
        }

        /// A 2026 contract of 120 000.00 EUR (10 000.00 a month), target 99.9 %, with
        /// `terms` and a 10 % credit below 99.9 %.
        fn contract(&mut self, mut terms: ContractSlaTerms) {
            let mut input = ContractInput::new(
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            );
            input.value = Some("120000.00".into());
            input.currency = Some("EUR".into());
            self.registry.set_contract(PARTNER, &input).unwrap();
            terms.credits = vec![CreditTier {
                below_percent: percent("99.9"),
                credit_percent: percent("10"),
            }];
            self.registry.set_sla_terms(PARTNER, &terms).unwrap();
        }

        fn check(&mut self, ok: bool, when: &str) {
            let outcome = if ok {
                CheckOutcome::ok(at(when), 120)
            } else {
                CheckOutcome::failed(at(when), ErrorClass::TimedOut, "no answer", 2_000)
            };
            self.writer
                .record(&[PartnerOutcome {
                    partner_id: self.partner_id,
                    outcome,
                }])
                .unwrap();
        }

        fn status(&self) -> Option<SlaStatus> {
            current_status(&self.registry, PARTNER).unwrap()
        }
    }

    #[test]
    fn a_partner_without_a_contract_has_no_sla_and_an_unknown_partner_is_not_found() {
        let fixture = Fixture::at("2026-11-26T12:00:00Z");
        assert_eq!(fixture.status(), None);
        let missing = current_status(&fixture.registry, "Nobody").unwrap_err();
        assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    }

    #[test]
    fn the_month_to_date_is_met_then_at_risk_then_breached_with_a_credit() {
        // Now is 2026-11-26 12:00 UTC: 25.5 days of November, 2 203 200 s.
        let mut fixture = Fixture::at("2026-11-26T12:00:00Z");
        fixture.contract(ContractSlaTerms::default());

        // No check yet: the whole month so far is unknown, which is excluded.
        let status = fixture.status().expect("the contract has an SLA");
        assert_eq!(status.health, SlaHealth::NoData);
        assert_eq!(status.attained_percent, None);
        assert_eq!((status.counted_seconds, status.budget_seconds), (0, 0));
        assert_eq!(status.credit_owed, "0.00 EUR");

        // Healthy from the first instant of November (in force at the window's start).
        fixture.check(true, "2026-11-01T00:00:00Z");
        let status = fixture.status().unwrap();
        assert_eq!(status.period, "2026-11");
        assert_eq!(status.window_label, "November 2026");
        assert_eq!(status.window, SlaWindow::CalendarMonth);
        assert_eq!(status.time_zone, "UTC");
        assert_eq!(status.window_start, "2026-11-01T00:00:00Z");
        assert_eq!(status.window_end, "2026-12-01T00:00:00Z");
        assert_eq!(status.measured_until, "2026-11-26T12:00:00Z");
        assert_eq!(status.target_percent, 99.9);
        assert_eq!(status.attained_percent, Some(100.0));
        assert_eq!(status.health, SlaHealth::Met);
        assert_eq!(status.counted_seconds, 2_203_200);
        // ⌊0.001 × 2 203 200⌋
        assert_eq!(status.budget_seconds, 2_203);
        assert_eq!(
            (status.budget_used_seconds, status.budget_left_seconds),
            (0, 2_203)
        );
        assert_eq!(status.window_fee, "10000.00 EUR");
        assert_eq!(
            status.rules,
            [
                "Maintenance is excluded",
                "Degraded time counts as up",
                "Time without data is excluded",
                "Paused time is excluded",
            ]
        );

        // Down from the 2nd failure (00:01) to the 2nd success (00:32): 31 min, 1 860 s.
        // Left 343 s of 2 203, under a quarter (550.75): at risk, though still met.
        fixture.check(false, "2026-11-10T00:00:00Z");
        fixture.check(false, "2026-11-10T00:01:00Z");
        fixture.check(true, "2026-11-10T00:31:00Z");
        fixture.check(true, "2026-11-10T00:32:00Z");
        let status = fixture.status().unwrap();
        assert_eq!(status.health, SlaHealth::AtRisk);
        assert_eq!(
            (status.budget_used_seconds, status.budget_left_seconds),
            (1_860, 343)
        );
        assert_eq!(status.breaches, 1);
        assert_eq!(status.credit_owed_minor, 0);

        // Another 11 min down (660 s): 2 520 s, 317 s over budget; attained
        // 2 200 680 / 2 203 200 = 99.8856 % is below 99.9, so 10 % of 10 000.00 EUR.
        fixture.check(false, "2026-11-20T00:00:00Z");
        fixture.check(false, "2026-11-20T00:01:00Z");
        fixture.check(true, "2026-11-20T00:11:00Z");
        fixture.check(true, "2026-11-20T00:12:00Z");
        let status = fixture.status().unwrap();
        assert_eq!(status.health, SlaHealth::Breached);
        assert_eq!(
            (status.budget_used_seconds, status.budget_left_seconds),
            (2_520, -317)
        );
        let attained = status.attained_percent.unwrap();
        assert!(
            (attained - 2_200_680.0 * 100.0 / 2_203_200.0).abs() < 1e-9,
            "{attained}"
        );
        assert_eq!(status.breaches, 2);
        assert_eq!(status.credit_percent, 10.0);
        assert_eq!(status.credit_owed_minor, 100_000);
        assert_eq!(status.credit_owed, "1000.00 EUR");
    }

    #[test]
    fn a_quarterly_contract_in_berlin_reads_its_quarter_from_local_midnight() {
        let mut fixture = Fixture::at("2026-11-26T12:00:00Z");
        fixture.contract(ContractSlaTerms {
            window: SlaWindow::CalendarQuarter,
            time_zone: Berlin,
            rules: AccountingRules {
                maintenance: TimeRule::AsDown,
                degraded: DegradedRule::AsDown,
                unknown: TimeRule::AsUp,
                paused: PausedRule::LikeMaintenance,
            },
            ..ContractSlaTerms::default()
        });
        // Unhealthy since September: in force all quarter long.
        fixture.check(true, "2026-09-01T00:00:00Z");
        fixture.check(false, "2026-09-20T00:00:00Z");
        fixture.check(false, "2026-09-20T00:01:00Z");
        let status = fixture.status().unwrap();
        assert_eq!(
            (status.period.as_str(), status.window_label.as_str()),
            ("2026-Q4", "2026-Q4")
        );
        assert_eq!(status.time_zone, "Europe/Berlin");
        // Midnight of 1 October in Berlin (summer time, UTC+2) to midnight of 1 January
        // (winter time, UTC+1).
        assert_eq!(status.window_start, "2026-09-30T22:00:00Z");
        assert_eq!(status.window_end, "2026-12-31T23:00:00Z");
        assert_eq!(status.attained_percent, Some(0.0));
        assert_eq!(status.health, SlaHealth::Breached);
        assert_eq!(status.breaches, 1);
        assert_eq!(
            status.credit_owed, "3000.00 EUR",
            "10 % of a quarter's 30 000.00"
        );
        assert_eq!(
            status.rules,
            [
                "Maintenance counts as down",
                "Degraded time counts as down",
                "Time without data counts as up",
                "Paused time counts like maintenance (as down)",
            ]
        );
    }

    /// April 2026 in UTC, healthy but for `down` seconds of unhealthy time from the 25th:
    /// 2 592 000 s counted, a budget of 2 592 s at 99.9 %.
    fn april(down: i64) -> SlaReport {
        april_under(&april_terms(), down)
    }

    fn april_under(terms: &SlaTerms, down: i64) -> SlaReport {
        let start = at("2026-04-25T00:00:00Z");
        let transitions = [
            Transition::new(at("2026-03-01T00:00:00Z"), HealthState::Healthy),
            Transition::new(start, HealthState::Unhealthy),
            Transition::new(start + TimeDelta::seconds(down), HealthState::Healthy),
        ];
        let period = SlaPeriod::of_month(2026, 4).unwrap();
        SlaReport::for_period(period, terms, &transitions, at("2030-01-01T00:00:00Z")).unwrap()
    }

    #[test]
    fn at_risk_starts_below_a_quarter_of_the_budget_left() {
        // A quarter of 2 592 s is 648 s: left 648 is met, left 647 at risk.
        assert_eq!(SlaHealth::of(&april(0)), SlaHealth::Met);
        assert_eq!(SlaHealth::of(&april(1_944)), SlaHealth::Met);
        assert_eq!(SlaHealth::of(&april(1_945)), SlaHealth::AtRisk);
        // Exactly the budget is still met (99.9 % exactly), a second more is breached.
        assert_eq!(SlaHealth::of(&april(2_592)), SlaHealth::AtRisk);
        assert_eq!(SlaHealth::of(&april(2_593)), SlaHealth::Breached);
    }

    #[test]
    fn a_target_of_100_percent_has_no_budget_and_is_met_only_without_down_time() {
        let terms = SlaTerms {
            target_percent: Percent::HUNDRED,
            ..april_terms()
        };
        let perfect = april_under(&terms, 0);
        assert_eq!(
            (perfect.error_budget_seconds, perfect.budget_left_seconds),
            (0, 0)
        );
        assert_eq!(SlaHealth::of(&perfect), SlaHealth::Met);
        assert_eq!(SlaHealth::of(&april_under(&terms, 1)), SlaHealth::Breached);
    }

    #[test]
    fn money_reads_with_its_currency_and_without_the_no_currency_code() {
        assert_eq!(money_text(100_000, "EUR"), "1000.00 EUR");
        assert_eq!(money_text(5, "USD"), "0.05 USD");
        assert_eq!(money_text(0, crate::sla_terms::NO_CURRENCY), "0.00");
        let terms = SlaTerms {
            currency: crate::sla_terms::NO_CURRENCY.into(),
            ..april_terms()
        };
        let status = SlaStatus::from_report(&april_under(&terms, 0), &terms);
        assert_eq!(status.credit_owed, "0.00");
        assert_eq!(status.window_label, "April 2026");
    }

    /// 99.9 % monthly in UTC with the default rules, no credits and no fee.
    fn april_terms() -> SlaTerms {
        SlaTerms {
            target_percent: percent("99.9"),
            window: SlaWindow::CalendarMonth,
            time_zone: UTC,
            rules: ContractSlaTerms::default().rules,
            credits: Vec::new(),
            window_fee_minor: 0,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn periods_are_labelled_for_people() {
        assert_eq!(
            SlaPeriod::of_month(2026, 11).unwrap().label(),
            "November 2026"
        );
        assert_eq!(
            SlaPeriod::of_month(2027, 1).unwrap().label(),
            "January 2027"
        );
        assert_eq!(SlaPeriod::of_quarter(2026, 4).unwrap().label(), "2026-Q4");
    }
}
