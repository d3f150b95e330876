//! Usage records: what each partner platform reports it used (DBUs, credits, runs, host-hours,
//! dollars...) and what Ecosystem itself did with it (calls, errors, latency, bytes), as one
//! value per partner, metric and UTC day (migration 6, `usage_metrics` and `usage_records`).
//!
//! - A metric is named once with its unit and source: `databricks.dbus` in `DBU` from the
//!   platform, `ecosystem.calls` in `calls` from Ecosystem's own counters. Names are
//!   `[a-z0-9_.]+` (at most 100 bytes), units one line of at most 30 characters; the same name
//!   with another unit (or source) is a conflict, never a silent second series.
//! - A day is the number of days since 1970-01-01 in UTC ([`day_of`]). Values are finite and
//!   not negative, and summed over the day.
//! - Figures ([`UsageFigure`]) that span several days are **split across the days in
//!   proportion to the time each day holds** ([`split_by_day`]): a 48-hour figure from noon to
//!   noon puts a quarter on the first day, half on the second, a quarter on the third. A figure
//!   with no duration (its end not after its start) goes to its start day. Connectors report
//!   per hour or per day where the platform can, so splitting is the exception.
//!
//! Writing:
//! - [`record_usage`] and [`record_collection`] **replace** the stored value of every
//!   (metric, day) they are given, so collecting the same window twice stores the same values,
//!   never doubled ones. [`record_collection`] also clears, for each metric it carries, the
//!   window's days it has no value for (a day that had 3 runs and now has none is not left at
//!   3), and moves the partner's [`CollectionState`] forward, in the same transaction.
//! - [`add_usage`] **adds** to the stored values: it is for Ecosystem's own counters, which
//!   are deltas taken once from memory.
//!
//! Every write is validated first and runs in one immediate transaction: a batch with one bad
//! value, or a unit conflict, writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::integration::UsageFigure;
use crate::model::PartnerKind;

const DAY_SECS: i64 = 86_400;
/// The longest metric name.
pub const MAX_METRIC_NAME: usize = 100;
/// The longest unit, in characters.
pub const MAX_UNIT: usize = 30;
/// The last day a record may fall on (9999-12-31).
pub const MAX_DAY: i64 = 2_932_896;
/// The prefix of the metrics counted by Ecosystem itself.
pub const ECOSYSTEM_PREFIX: &str = "ecosystem.";

/// The UTC day (days since 1970-01-01) an instant falls on.
pub fn day_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(DAY_SECS)
}

/// Midnight UTC starting `day`.
pub fn day_start(day: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(day.saturating_mul(DAY_SECS), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The calendar date of a day.
pub fn date_of(day: i64) -> NaiveDate {
    day_start(day).date_naive()
}

/// The day of a calendar date.
pub fn day_of_date(date: NaiveDate) -> i64 {
    day_of(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// Where a metric comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum MetricSource {
    /// The platform's own figures (its billing and activity APIs).
    Platform,
    /// Ecosystem's counters of its own calls to the partner.
    Ecosystem,
}

impl MetricSource {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricSource::Platform => "platform",
            MetricSource::Ecosystem => "ecosystem",
        }
    }
}

impl fmt::Display for MetricSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricSource {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "platform" => Ok(MetricSource::Platform),
            "ecosystem" => Ok(MetricSource::Ecosystem),
            other => Err(Error::invalid(
                "source",
                format!("unknown source {other:?}; expected platform or ecosystem"),
            )),
        }
    }
}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DayRange {
    pub first: i64,
    pub last: i64,
}

impl DayRange {
    /// `first..=last`; refused when `last` is before `first` or either is out of range.
    pub fn new(first: i64, last: i64) -> Result<DayRange> {
        for (field, day) in [("from", first), ("to", last)] {
            if !(0..=MAX_DAY).contains(&day) {
                return Err(Error::invalid(
                    field,
                    format!("day {day} is outside 1970-01-01 to 9999-12-31"),
                ));
            }
        }
        if last < first {
            return Err(Error::invalid(
                "to",
                format!(
                    "{} is before the start {}; give an end on or after the start",
                    date_of(last),
                    date_of(first)
                ),
            ));
        }
        Ok(DayRange { first, last })
    }

    /// The dates `from..=to`.
    pub fn of_dates(from: NaiveDate, to: NaiveDate) -> Result<DayRange> {
        DayRange::new(day_of_date(from), day_of_date(to))
    }

    /// The days the half-open window `[from, to)` touches (the day of `from` alone when the
    /// window is empty).
    pub fn of_window(from: DateTime<Utc>, to: DateTime<Utc>) -> DayRange {
        let first = day_of(from);
        let last = if to > from {
            day_of(to - chrono::Duration::nanoseconds(1))
        } else {
            first
        };
        DayRange { first, last }
    }

    pub fn one(day: i64) -> DayRange {
        DayRange {
            first: day,
            last: day,
        }
    }

    pub fn days(&self) -> i64 {
        self.last - self.first + 1
    }

    pub fn contains(&self, day: i64) -> bool {
        (self.first..=self.last).contains(&day)
    }

    /// Midnight UTC at its start.
    pub fn start(&self) -> DateTime<Utc> {
        day_start(self.first)
    }

    /// Midnight UTC after its last day.
    pub fn end(&self) -> DateTime<Utc> {
        day_start(self.last + 1)
    }
}

impl fmt::Display for DayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", date_of(self.first))
        } else {
            write!(f, "{} to {}", date_of(self.first), date_of(self.last))
        }
    }
}

/// One value of one metric on one UTC day, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// `[a-z0-9_.]+`, e.g. `databricks.dbus`, `ecosystem.calls`.
    pub metric: String,
    pub unit: String,
    pub source: MetricSource,
    /// Days since 1970-01-01, UTC.
    pub day: i64,
    pub value: f64,
}

impl Measurement {
    pub fn new(
        metric: impl Into<String>,
        unit: impl Into<String>,
        source: MetricSource,
        day: i64,
        value: f64,
    ) -> Measurement {
        Measurement {
            metric: metric.into(),
            unit: unit.into(),
            source,
            day,
            value,
        }
    }
}

/// A stored value, as `ecosystem usage show` and the reports read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRecord {
    pub metric: String,
    pub unit: String,
    pub source: MetricSource,
    pub day: i64,
    pub date: NaiveDate,
    pub value: f64,
    pub collected_at: DateTime<Utc>,
}

/// A metric as named in `usage_metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageMetric {
    pub id: i64,
    pub name: String,
    pub unit: String,
    pub source: MetricSource,
}

/// Where a partner's collection stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionState {
    pub partner_id: u32,
    /// The last UTC day a successful collection covered (possibly only in part, when it was
    /// collected that same day); `None` before the first success.
    pub last_day: Option<i64>,
    /// When the last successful collection ran.
    pub collected_at: Option<DateTime<Utc>>,
    /// When the last attempt, successful or not, ran.
    pub attempted_at: DateTime<Utc>,
    /// The last attempt's error; `None` when it succeeded.
    pub last_error: Option<String>,
}

/// What a write stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RecordSummary {
    /// (metric, day) values written.
    pub records: usize,
    /// Distinct metrics among them.
    pub metrics: usize,
    /// Stored values cleared because the collection had none for their day.
    pub cleared: usize,
}

// ---- validation --------------------------------------------------------------------------------

/// Refuses a metric name that is not `[a-z0-9_.]+` (at most 100 bytes, no empty segment).
pub fn validate_metric_name(name: &str) -> Result<()> {
    let shown = shown(name);
    if name.is_empty() {
        return Err(Error::invalid("metric", "the metric name is empty"));
    }
    if name.len() > MAX_METRIC_NAME {
        return Err(Error::invalid(
            "metric",
            format!("{shown} is longer than {MAX_METRIC_NAME} characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '.'))
    {
        return Err(Error::invalid(
            "metric",
            format!("{shown} has {c:?}; a metric name is lower-case letters, digits, '_' and '.'"),
        ));
    }
    if name.split('.').any(str::is_empty) {
        return Err(Error::invalid(
            "metric",
            format!("{shown} has an empty segment (a leading, trailing or doubled '.')"),
        ));
    }
    Ok(())
}

/// Refuses an empty unit, one longer than 30 characters, or one with control characters.
pub fn validate_unit(metric: &str, unit: &str) -> Result<()> {
    let trimmed = unit.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(
            "unit",
            format!(
                "{metric}: the unit is empty; every usage value needs one (DBU, credits, runs...)"
            ),
        ));
    }
    if trimmed != unit || unit.chars().any(char::is_control) || unit.chars().count() > MAX_UNIT {
        return Err(Error::invalid(
            "unit",
            format!(
                "{metric}: {} is not a unit (one line, at most {MAX_UNIT} characters, no surrounding spaces)",
                shown(unit)
            ),
        ));
    }
    Ok(())
}

/// Refuses a measurement with a bad name, unit, day or value, naming the field.
pub fn validate(m: &Measurement) -> Result<()> {
    validate_metric_name(&m.metric)?;
    validate_unit(&m.metric, &m.unit)?;
    let ecosystem = m.metric.starts_with(ECOSYSTEM_PREFIX);
    if ecosystem != (m.source == MetricSource::Ecosystem) {
        return Err(Error::invalid(
            "metric",
            format!(
                "{}: only Ecosystem's own counters are named ecosystem.*, and they must be",
                m.metric
            ),
        ));
    }
    if !(0..=MAX_DAY).contains(&m.day) {
        return Err(Error::invalid(
            "day",
            format!(
                "{}: day {} is outside 1970-01-01 to 9999-12-31",
                m.metric, m.day
            ),
        ));
    }
    if !m.value.is_finite() || m.value < 0.0 {
        return Err(Error::invalid(
            "value",
            format!(
                "{} on {}: {} is not a finite, non-negative number",
                m.metric,
                date_of(m.day),
                m.value
            ),
        ));
    }
    Ok(())
}

/// A name for messages: quoted, and cut short when long.
fn shown(text: &str) -> String {
    if text.chars().count() > 60 {
        format!("{:?}…", text.chars().take(60).collect::<String>())
    } else {
        format!("{text:?}")
    }
}

// ---- folding -----------------------------------------------------------------------------------

/// Validates `measurements` and sums them per (metric, day), in name and day order. The same
/// metric with two units (or sources) in one batch is a conflict.
pub fn fold(measurements: &[Measurement]) -> Result<Vec<Measurement>> {
    let mut units: BTreeMap<&str, (&str, MetricSource)> = BTreeMap::new();
    let mut sums: BTreeMap<(&str, i64), f64> = BTreeMap::new();
    for m in measurements {
        validate(m)?;
        let (unit, source) = *units
            .entry(m.metric.as_str())
            .or_insert((m.unit.as_str(), m.source));
        if unit != m.unit || source != m.source {
            return Err(Error::Conflict(format!(
                "metric {} is given both in {unit:?} and in {:?}; one metric has one unit",
                m.metric, m.unit
            )));
        }
        *sums.entry((m.metric.as_str(), m.day)).or_insert(0.0) += m.value;
    }
    sums.into_iter()
        .map(|((metric, day), value)| {
            let (unit, source) = units[metric];
            let m = Measurement::new(metric, unit, source, day, value);
            // A sum of finite values can still overflow to infinity.
            validate(&m).map(|()| m)
        })
        .collect()
}

/// Splits `value`, measured over `[start, end)`, across the UTC days it spans in proportion to
/// the time in each; a figure with no duration goes to the day of `start`.
pub fn split_by_day(start: DateTime<Utc>, end: DateTime<Utc>, value: f64) -> Vec<(i64, f64)> {
    if end <= start {
        return vec![(day_of(start), value)];
    }
    let range = DayRange::of_window(start, end);
    if range.first == range.last {
        return vec![(range.first, value)];
    }
    let total = (end - start).num_milliseconds().max(1) as f64;
    (range.first..=range.last)
        .map(|day| {
            let lo = start.max(day_start(day));
            let hi = end.min(day_start(day + 1));
            let share = (hi - lo).num_milliseconds().max(0) as f64 / total;
            (day, value * share)
        })
        .collect()
}

/// A platform's figures as measurements: each named `<kind>.<metric>` (`databricks.dbus`),
/// split across days ([`split_by_day`]), and summed per (metric, day) over their dimensions
/// (SKUs, warehouses, states). A figure with a bad name, unit or value refuses the batch with
/// an error naming the field.
pub fn from_figures(kind: PartnerKind, figures: &[UsageFigure]) -> Result<Vec<Measurement>> {
    let mut out = Vec::with_capacity(figures.len());
    for figure in figures {
        let metric = format!("{}.{}", kind.as_str(), figure.metric);
        validate_metric_name(&metric)?;
        validate_unit(&metric, &figure.unit)?;
        for (day, value) in split_by_day(figure.period_start, figure.period_end, figure.value) {
            out.push(Measurement::new(
                metric.clone(),
                figure.unit.clone(),
                MetricSource::Platform,
                day,
                value,
            ));
        }
    }
    fold(&out)
}

// ---- writing -----------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Replace,
    Add,
}

fn begin(conn: &Connection) -> Result<Transaction<'_>> {
    Ok(Transaction::new_unchecked(
        conn,
        TransactionBehavior::Immediate,
    )?)
}

fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn from_unix(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn require_partner(tx: &Transaction<'_>, partner_id: u32) -> Result<()> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM partners WHERE id = ?1")?
        .query_row([partner_id], |r| r.get(0))
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("no partner with id {partner_id}"))),
    }
}

/// The id of `name`, creating the metric when new; a conflict when it exists with another unit
/// or source.
fn metric_id(tx: &Transaction<'_>, name: &str, unit: &str, source: MetricSource) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO usage_metrics (name, unit, source) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO NOTHING",
    )?
    .execute(params![name, unit, source.as_str()])?;
    let (id, stored_unit, stored_source): (i64, String, String) = tx
        .prepare_cached("SELECT id, unit, source FROM usage_metrics WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    if stored_unit != unit {
        return Err(Error::Conflict(format!(
            "metric {name} is stored in {stored_unit:?}, not {unit:?}; one metric has one unit"
        )));
    }
    if stored_source != source.as_str() {
        return Err(Error::Conflict(format!(
            "metric {name} comes from {stored_source}, not {source}"
        )));
    }
    Ok(id)
}

fn write_in(
    tx: &Transaction<'_>,
    partner_id: u32,
    measurements: &[Measurement],
    mode: Write,
    clear: Option<DayRange>,
    at: DateTime<Utc>,
) -> Result<RecordSummary> {
    require_partner(tx, partner_id)?;
    let folded = fold(measurements)?;
    let mut ids: BTreeMap<&str, i64> = BTreeMap::new();
    for m in &folded {
        if !ids.contains_key(m.metric.as_str()) {
            ids.insert(&m.metric, metric_id(tx, &m.metric, &m.unit, m.source)?);
        }
    }
    let sql = match mode {
        Write::Replace => {
            "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (partner_id, metric_id, day)
             DO UPDATE SET value = excluded.value, collected_at = excluded.collected_at"
        }
        Write::Add => {
            "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (partner_id, metric_id, day)
             DO UPDATE SET value = value + excluded.value, collected_at = excluded.collected_at"
        }
    };
    let mut upsert = tx.prepare_cached(sql)?;
    let mut given: BTreeSet<(i64, i64)> = BTreeSet::new();
    for m in &folded {
        let id = ids[m.metric.as_str()];
        upsert.execute(params![partner_id, id, m.day, m.value, unix(at)])?;
        given.insert((id, m.day));
    }
    let mut cleared = 0;
    if let Some(window) = clear {
        let mut stored = tx.prepare_cached(
            "SELECT day FROM usage_records
             WHERE partner_id = ?1 AND metric_id = ?2 AND day BETWEEN ?3 AND ?4",
        )?;
        let mut delete = tx.prepare_cached(
            "DELETE FROM usage_records WHERE partner_id = ?1 AND metric_id = ?2 AND day = ?3",
        )?;
        for id in ids.values() {
            let days = stored
                .query_map(params![partner_id, id, window.first, window.last], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            for day in days.into_iter().filter(|d| !given.contains(&(*id, *d))) {
                cleared += delete.execute(params![partner_id, id, day])?;
            }
        }
    }
    Ok(RecordSummary {
        records: folded.len(),
        metrics: ids.len(),
        cleared,
    })
}

/// Stores `measurements` for a partner, **replacing** the stored value of each (metric, day)
/// given (values for the same metric and day within the batch are summed first). Idempotent:
/// recording the same batch twice stores it once. One transaction; nothing is written when a
/// value is invalid, the partner is unknown or a metric's unit conflicts with the stored one.
pub fn record_usage(
    conn: &Connection,
    partner_id: u32,
    measurements: &[Measurement],
    at: DateTime<Utc>,
) -> Result<RecordSummary> {
    let tx = begin(conn)?;
    let summary = write_in(&tx, partner_id, measurements, Write::Replace, None, at)?;
    tx.commit()?;
    Ok(summary)
}

/// Stores what a collection over `window` found, as [`record_usage`] does, and also: clears the
/// window's stored days of each metric in the batch that the batch has no value for, and
/// records the collection in the partner's [`CollectionState`] (`last_day` = the window's
/// last day). One transaction.
pub fn record_collection(
    conn: &Connection,
    partner_id: u32,
    window: DayRange,
    measurements: &[Measurement],
    at: DateTime<Utc>,
) -> Result<RecordSummary> {
    let tx = begin(conn)?;
    let summary = write_in(
        &tx,
        partner_id,
        measurements,
        Write::Replace,
        Some(window),
        at,
    )?;
    tx.prepare_cached(
        "INSERT INTO usage_collection (partner_id, last_day, collected_at, attempted_at, last_error)
         VALUES (?1, ?2, ?3, ?3, NULL)
         ON CONFLICT (partner_id) DO UPDATE SET
           last_day = max(coalesce(last_day, excluded.last_day), excluded.last_day),
           collected_at = excluded.collected_at,
           attempted_at = excluded.attempted_at,
           last_error = NULL",
    )?
    .execute(params![partner_id, window.last, unix(at)])?;
    tx.commit()?;
    Ok(summary)
}

/// **Adds** `measurements` to the stored values (for Ecosystem's counters, which are deltas).
pub fn add_usage(
    conn: &Connection,
    partner_id: u32,
    measurements: &[Measurement],
    at: DateTime<Utc>,
) -> Result<RecordSummary> {
    let tx = begin(conn)?;
    let summary = write_in(&tx, partner_id, measurements, Write::Add, None, at)?;
    tx.commit()?;
    Ok(summary)
}

/// Records a failed collection attempt (the stored values and `last_day` are kept). The error
/// is kept to one line of at most 500 characters.
pub fn record_collection_failure(
    conn: &Connection,
    partner_id: u32,
    error: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut line: String = error
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(500)
        .collect();
    if line.is_empty() {
        line = "failed".into();
    }
    let tx = begin(conn)?;
    require_partner(&tx, partner_id)?;
    tx.prepare_cached(
        "INSERT INTO usage_collection (partner_id, last_day, collected_at, attempted_at, last_error)
         VALUES (?1, NULL, NULL, ?2, ?3)
         ON CONFLICT (partner_id) DO UPDATE SET
           attempted_at = excluded.attempted_at, last_error = excluded.last_error",
    )?
    .execute(params![partner_id, unix(at), line])?;
    tx.commit()?;
    Ok(())
}

// ---- reading -----------------------------------------------------------------------------------

/// A partner's stored values on `days`, by day then metric name.
pub fn usage_records(
    conn: &Connection,
    partner_id: u32,
    days: DayRange,
) -> Result<Vec<UsageRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.name, m.unit, m.source, r.day, r.value, r.collected_at
         FROM usage_records r JOIN usage_metrics m ON m.id = r.metric_id
         WHERE r.partner_id = ?1 AND r.day BETWEEN ?2 AND ?3
         ORDER BY r.day, m.name",
    )?;
    let rows = stmt.query_map(params![partner_id, days.first, days.last], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, f64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (metric, unit, source, day, value, collected_at) = row?;
        out.push(UsageRecord {
            metric,
            unit,
            source: source.parse()?,
            day,
            date: date_of(day),
            value,
            collected_at: from_unix(collected_at),
        });
    }
    Ok(out)
}

/// The id of the partner named `name`, if there is one.
pub fn partner_id(conn: &Connection, name: &str) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT id FROM partners WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// Every metric named so far, by name.
pub fn usage_metrics(conn: &Connection) -> Result<Vec<UsageMetric>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, unit, source FROM usage_metrics ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, unit, source) = row?;
        out.push(UsageMetric {
            id,
            name,
            unit,
            source: source.parse()?,
        });
    }
    Ok(out)
}

fn state_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<CollectionState> {
    Ok(CollectionState {
        partner_id: row.get(0)?,
        last_day: row.get(1)?,
        collected_at: row.get::<_, Option<i64>>(2)?.map(from_unix),
        attempted_at: from_unix(row.get(3)?),
        last_error: row.get(4)?,
    })
}

/// A partner's collection state; `None` before its first attempt.
pub fn collection_state(conn: &Connection, partner_id: u32) -> Result<Option<CollectionState>> {
    Ok(conn
        .prepare_cached(
            "SELECT partner_id, last_day, collected_at, attempted_at, last_error
             FROM usage_collection WHERE partner_id = ?1",
        )?
        .query_row([partner_id], state_of)
        .optional()?)
}

/// Every partner's collection state, by partner id.
pub fn collection_states(conn: &Connection) -> Result<BTreeMap<u32, CollectionState>> {
    let mut stmt = conn.prepare_cached(
        "SELECT partner_id, last_day, collected_at, attempted_at, last_error FROM usage_collection",
    )?;
    let rows = stmt.query_map([], state_of)?;
    let mut out = BTreeMap::new();
    for row in rows {
        let state = row?;
        out.insert(state.partner_id, state);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
