//! Usage reports: the usage stored per partner, metric and UTC day (`usage_records`, written by
//! `usage.rs`), summed over any range of whole days, grouped by partner, tier or metric and
//! bucketed by day, ISO week or calendar month, with totals per group and metric and the change
//! against the previous period of the same length. docs/REPORTS.md has the semantics.
//!
//! - **Days are UTC days**, as stored: `--from 2026-03-01` starts at 2026-03-01T00:00Z. A
//!   range is `[from, to]`, both days included. A range reaching past today (UTC, from the
//!   injected [`Clock`]) stops at today, which counts as far as it is collected; the report
//!   says so (`complete: false`) and compares with a previous period of the measured length.
//! - **The previous period** is the same number of days right before `from`: 2026-03-01 ..
//!   2026-03-31 (31 days) is compared with 2026-01-29 .. 2026-02-28. Percent change is `None`
//!   when the previous value is 0.
//! - **Units are never added across metrics**: every row and total names one metric and its
//!   unit; grouping by partner or tier keeps the metrics apart, and grouping by metric sums
//!   one metric over partners.
//! - **Buckets** are calendar buckets: a day, an ISO week (Monday to Sunday, so a week can
//!   span two years) or a month. A bucket cut by the range is partial: its row says how many
//!   of its days are inside (`days`), and only those are summed.
//!
//! The work is two seeks per (partner, metric) pair on the primary key `(partner_id,
//! metric_id, day)`: the range's records are folded into the buckets in Rust through a
//! day-to-bucket table, and SQLite sums the previous period itself (for a database file, on a
//! second connection in a thread of its own, at the same time). docs/REPORTS.md has the
//! measurements that chose this over SQL `GROUP BY` (which sorts) and over one scan of the
//! by-day index. Grouping by partner emits each pair's rows as soon as they are folded, so a
//! report streams in memory proportional to one pair's buckets (the CSV export relies on it);
//! grouping by tier or metric holds groups × metrics × buckets sums, which does not grow with
//! the partners or the records.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::Tier;

mod chart;
pub use chart::{chart_metric, usage_chart, ReportChart};

/// The longest range a report covers: ten years, leap days included.
pub const MAX_RANGE_DAYS: u32 = 3653;

/// One pair's records in the range: a seek on the primary key `(partner_id, metric_id, day)`.
const RANGE_SQL: &str = "SELECT day, value FROM usage_records \
     WHERE partner_id = ?1 AND metric_id = ?2 AND day BETWEEN ?3 AND ?4";
/// One pair's sum over the previous period, added up by SQLite: the same seek.
const PREVIOUS_SQL: &str = "SELECT total(value), count(*) FROM usage_records \
     WHERE partner_id = ?1 AND metric_id = ?2 AND day BETWEEN ?3 AND ?4";

/// What the rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One group per partner (its name), each metric apart.
    #[default]
    Partner,
    /// One group per tier (the partner's tier now), each metric apart.
    Tier,
    /// One group per metric, summed over the partners.
    Metric,
}

/// How the days of the range are bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Day,
    /// ISO 8601 weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    #[default]
    Month,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [GroupBy::Partner, GroupBy::Tier, GroupBy::Metric];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Partner => "partner",
            GroupBy::Tier => "tier",
            GroupBy::Metric => "metric",
        }
    }
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Day, Bucket::Week, Bucket::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }

    /// The first day of the bucket holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => day,
            Bucket::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            Bucket::Month => day.with_day(1).expect("every month has a first day"),
        }
    }

    /// The first day of the bucket after the one starting at `start` (None past chrono's range).
    fn next_start(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Bucket::Day => start.checked_add_days(Days::new(1)),
            Bucket::Week => start.checked_add_days(Days::new(7)),
            Bucket::Month => start.checked_add_months(chrono::Months::new(1)),
        }
    }
}

macro_rules! display_and_parse {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        Error::invalid(
                            $what,
                            format!(
                                "unknown {} {s:?}; expected one of: {}",
                                $what,
                                <$ty>::ALL.map(|v| v.as_str()).join(", ")
                            ),
                        )
                    })
            }
        }
    };
}
display_and_parse!(GroupBy, "group-by");
display_and_parse!(Bucket, "bucket");

/// What to report: a range of whole UTC days, an optional partner, the grouping and buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageQuery {
    /// The first day, included (UTC).
    #[cfg_attr(feature = "specta", specta(type = String))]
    #[serde(deserialize_with = "crate::validate::deserialize_date")]
    pub from: NaiveDate,
    /// The last day, included (UTC).
    #[cfg_attr(feature = "specta", specta(type = String))]
    #[serde(deserialize_with = "crate::validate::deserialize_date")]
    pub to: NaiveDate,
    /// Only this partner (by name).
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub group_by: GroupBy,
    #[serde(default)]
    pub bucket: Bucket,
}

impl UsageQuery {
    /// Every partner, grouped by partner, by month.
    pub fn new(from: NaiveDate, to: NaiveDate) -> UsageQuery {
        UsageQuery {
            from,
            to,
            partner: None,
            group_by: GroupBy::default(),
            bucket: Bucket::default(),
        }
    }
}

/// The days a report covers, and the period it is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReportPeriod {
    /// The first day (UTC), as asked.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub from: NaiveDate,
    /// The last day measured: the day asked for, or today (UTC) when that is later.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub to: NaiveDate,
    /// The last day asked for.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub requested_to: NaiveDate,
    /// Days from `from` to `to`, both included.
    pub days: u32,
    /// False when the range reaches today: today's usage is still being collected.
    pub complete: bool,
    /// The previous period: `days` days ending the day before `from`.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub previous_from: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub previous_to: NaiveDate,
}

/// One bucket of the report, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReportBucket {
    /// The bucket's calendar start: the day, the Monday of the ISO week, the 1st of the month.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start: NaiveDate,
    /// The first and last day of the bucket inside the range (both included).
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub first_day: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub last_day: NaiveDate,
    /// Days of the bucket inside the range.
    pub days: u32,
    /// True when the range cuts the bucket (fewer days than the calendar bucket).
    pub partial: bool,
}

/// The sum of one metric for one group in one bucket. Buckets without any record have no row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageRow {
    /// The partner's name, the tier word or the metric's name.
    pub group: String,
    pub metric: String,
    pub unit: String,
    /// The bucket's calendar start (see [`ReportBucket::start`]).
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub bucket_start: NaiveDate,
    /// Days of the bucket inside the range (a partial bucket has fewer than the calendar's).
    pub days: u32,
    pub value: f64,
}

/// One metric of one group over the whole range, against the previous period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageTotal {
    pub group: String,
    pub metric: String,
    pub unit: String,
    pub value: f64,
    pub previous_value: f64,
    /// `value - previous_value`.
    pub change: f64,
    /// `change / |previous_value| × 100`; None when the previous value is 0.
    pub change_percent: Option<f64>,
}

/// A usage report, whole: what the table and JSON show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageReport {
    pub period: ReportPeriod,
    pub partner: Option<String>,
    pub group_by: GroupBy,
    pub bucket: Bucket,
    pub buckets: Vec<ReportBucket>,
    /// Ordered by group (partner name; tier strategic, premium, standard; metric name), then
    /// metric name, then bucket.
    pub rows: Vec<UsageRow>,
    /// One per group and metric with a record in the range or the previous period, same order.
    pub totals: Vec<UsageTotal>,
}

/// A row as it is produced, borrowed from the report being run (see [`PreparedReport::run`]).
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub group: &'a str,
    pub metric: &'a str,
    pub unit: &'a str,
    /// Index into [`PreparedReport::buckets`].
    pub bucket: usize,
    pub value: f64,
}

impl UsageQuery {
    /// Runs the report and collects it.
    pub fn run(&self, conn: &Connection, clock: &dyn Clock) -> Result<UsageReport> {
        let prepared = PreparedReport::new(conn, clock, self)?;
        let mut rows = Vec::new();
        let totals = prepared.run(conn, |row| {
            let bucket = &prepared.buckets[row.bucket];
            rows.push(UsageRow {
                group: row.group.to_string(),
                metric: row.metric.to_string(),
                unit: row.unit.to_string(),
                bucket_start: bucket.start,
                days: bucket.days,
                value: row.value,
            });
            Ok(())
        })?;
        Ok(UsageReport {
            period: prepared.period.clone(),
            partner: self.partner.clone(),
            group_by: self.group_by,
            bucket: self.bucket,
            buckets: prepared.buckets,
            rows,
            totals,
        })
    }
}

/// The day number stored in `usage_records.day`: days since 1970-01-01 (UTC).
pub fn day_number(date: NaiveDate) -> i64 {
    (date - epoch()).num_days()
}

/// The date of a stored day number.
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    let days = Days::new(day.unsigned_abs());
    if day >= 0 {
        epoch().checked_add_days(days)
    } else {
        epoch().checked_sub_days(days)
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date")
}

struct PartnerRef {
    id: i64,
    name: String,
    tier: usize,
}

struct MetricRef {
    id: i64,
    name: String,
    unit: String,
}

/// A validated query with its days, buckets, partners and metrics resolved: run it once or
/// more ([`PreparedReport::run`]) with a sink for the rows.
pub struct PreparedReport {
    pub period: ReportPeriod,
    pub group_by: GroupBy,
    pub bucket: Bucket,
    pub buckets: Vec<ReportBucket>,
    partners: Vec<PartnerRef>,
    metrics: Vec<MetricRef>,
    /// Day numbers of the previous period's first and last day.
    previous: (i64, i64),
    /// Day number of `from`: `slot_of[day - first_day]` is the bucket of a day in the range.
    first_day: i64,
    last_day: i64,
    slot_of: Vec<u32>,
}

impl PreparedReport {
    /// Checks the query (dates in order, at most [`MAX_RANGE_DAYS`], not after today, a known
    /// partner) and resolves it.
    pub fn new(conn: &Connection, clock: &dyn Clock, query: &UsageQuery) -> Result<Self> {
        let today = clock.today();
        let period = resolve_period(query.from, query.to, today)?;
        let partners = load_partners(conn, query.partner.as_deref())?;
        let metrics = load_metrics(conn)?;
        let buckets = buckets(query.bucket, period.from, period.to);
        let previous = (
            day_number(period.previous_from),
            day_number(period.previous_to),
        );
        let first_day = day_number(period.from);
        let last_day = day_number(period.to);
        let mut slot_of = Vec::with_capacity(period.days as usize);
        for (i, b) in buckets.iter().enumerate() {
            slot_of.extend(std::iter::repeat_n(i as u32, b.days as usize));
        }
        debug_assert_eq!(slot_of.len() as i64, last_day - first_day + 1);
        Ok(PreparedReport {
            period,
            group_by: query.group_by,
            bucket: query.bucket,
            buckets,
            partners,
            metrics,
            previous,
            first_day,
            last_day,
            slot_of,
        })
    }

    /// Computes the report, giving each row to `sink` in order (group, metric, bucket) and
    /// returning the totals. Grouped by partner, rows go out as each (partner, metric) pair is
    /// folded, so nothing proportional to the rows is held.
    ///
    /// On a database file, the previous period is summed at the same time on a second,
    /// read-only connection in a thread of its own (it needs no rows, only a sum per pair), so
    /// a second core halves what the comparison costs. An in-memory database, or a file the
    /// second connection cannot open, sums it on `conn` afterwards.
    pub fn run(
        &self,
        conn: &Connection,
        mut sink: impl FnMut(RowRef<'_>) -> Result<()>,
    ) -> Result<Vec<UsageTotal>> {
        let file = conn
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from);
        std::thread::scope(|scope| {
            let helper = file.map(|path| {
                scope.spawn(move || -> Result<Vec<Acc>> {
                    let reader = crate::encryption::open_read_only(&path)?;
                    self.previous_sums(&reader)
                })
            });
            let current = self.fold_range(conn, &mut sink)?;
            let previous = match helper.map(|h| h.join()) {
                Some(Ok(Ok(previous))) => previous,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                Some(Ok(Err(e))) => {
                    tracing::debug!(error = %e, "previous period on a second connection failed; summing it here");
                    self.previous_sums(conn)?
                }
                None => self.previous_sums(conn)?,
            };
            Ok(self.totals(&current, &previous))
        })
    }

    /// Gives each row to `sink` in order, as [`PreparedReport::run`], without the totals (and
    /// so without reading the previous period): what the CSV export needs.
    pub fn for_each_row(
        &self,
        conn: &Connection,
        mut sink: impl FnMut(RowRef<'_>) -> Result<()>,
    ) -> Result<()> {
        self.fold_range(conn, &mut sink).map(drop)
    }

    /// The group a pair's records count in.
    fn group_of(&self, partner: &PartnerRef, partner_index: usize) -> usize {
        match self.group_by {
            GroupBy::Partner => partner_index,
            GroupBy::Tier => partner.tier,
            GroupBy::Metric => 0,
        }
    }

    /// How many groups there are.
    fn groups(&self) -> usize {
        match self.group_by {
            GroupBy::Partner => self.partners.len(),
            GroupBy::Tier => Tier::ALL.len(),
            GroupBy::Metric => 1,
        }
    }

    fn group_name<'a>(&'a self, group: usize, metric: &'a MetricRef) -> &'a str {
        match self.group_by {
            GroupBy::Partner => &self.partners[group].name,
            GroupBy::Tier => Tier::ALL[group].as_str(),
            GroupBy::Metric => &metric.name,
        }
    }

    /// Folds every pair's records in the range into the buckets and gives the rows to `sink`;
    /// returns each pair's sum over the range (index `partner × metrics + metric`).
    fn fold_range(
        &self,
        conn: &Connection,
        sink: &mut impl FnMut(RowRef<'_>) -> Result<()>,
    ) -> Result<Vec<Acc>> {
        let (metrics, buckets) = (self.metrics.len(), self.buckets.len());
        let mut stmt = conn.prepare_cached(RANGE_SQL)?;
        let mut fold = |partner: i64, metric: i64, into: &mut [Acc]| -> Result<Acc> {
            let mut rows = stmt.query(params![partner, metric, self.first_day, self.last_day])?;
            let mut pair = Acc::default();
            while let Some(row) = rows.next()? {
                let day: i64 = row.get(0)?;
                let value: f64 = row.get(1)?;
                let acc = &mut into[self.slot_of[(day - self.first_day) as usize] as usize];
                acc.sum += value;
                acc.count += 1;
                pair.sum += value;
                pair.count += 1;
            }
            Ok(pair)
        };
        let mut per_pair = vec![Acc::default(); self.partners.len() * metrics];
        if self.group_by == GroupBy::Partner {
            // One pair's buckets at a time, written out as soon as they are complete.
            let mut into = vec![Acc::default(); buckets];
            for (p, partner) in self.partners.iter().enumerate() {
                for (m, metric) in self.metrics.iter().enumerate() {
                    into.fill(Acc::default());
                    per_pair[p * metrics + m] = fold(partner.id, metric.id, &mut into)?;
                    self.emit_rows(&partner.name, metric, &into, sink)?;
                }
            }
        } else {
            let mut into = vec![Acc::default(); self.groups() * metrics * buckets];
            for (p, partner) in self.partners.iter().enumerate() {
                let group = self.group_of(partner, p);
                for (m, metric) in self.metrics.iter().enumerate() {
                    let at = (group * metrics + m) * buckets;
                    per_pair[p * metrics + m] =
                        fold(partner.id, metric.id, &mut into[at..at + buckets])?;
                }
            }
            for group in 0..self.groups() {
                for (m, metric) in self.metrics.iter().enumerate() {
                    let at = (group * metrics + m) * buckets;
                    let name = self.group_name(group, metric);
                    self.emit_rows(name, metric, &into[at..at + buckets], sink)?;
                }
            }
        }
        Ok(per_pair)
    }

    /// Gives the non-empty buckets of one group and metric to the sink.
    fn emit_rows(
        &self,
        group: &str,
        metric: &MetricRef,
        buckets: &[Acc],
        sink: &mut impl FnMut(RowRef<'_>) -> Result<()>,
    ) -> Result<()> {
        for (bucket, acc) in buckets.iter().enumerate() {
            if acc.count > 0 {
                sink(RowRef {
                    group,
                    metric: &metric.name,
                    unit: &metric.unit,
                    bucket,
                    value: tidy(acc.sum),
                })?;
            }
        }
        Ok(())
    }

    /// Each pair's sum over the previous period, added up by SQLite.
    fn previous_sums(&self, conn: &Connection) -> Result<Vec<Acc>> {
        let mut stmt = conn.prepare_cached(PREVIOUS_SQL)?;
        let (from, to) = self.previous;
        let mut sums = Vec::with_capacity(self.partners.len() * self.metrics.len());
        for partner in &self.partners {
            for metric in &self.metrics {
                sums.push(
                    stmt.query_row(params![partner.id, metric.id, from, to], |r| {
                        Ok(Acc {
                            sum: r.get(0)?,
                            count: r.get(1)?,
                        })
                    })?,
                );
            }
        }
        Ok(sums)
    }

    /// The totals per group and metric, in row order, for those with a record in the range or
    /// the previous period.
    fn totals(&self, current: &[Acc], previous: &[Acc]) -> Vec<UsageTotal> {
        let metrics = self.metrics.len();
        let mut sums = vec![(Acc::default(), Acc::default()); self.groups() * metrics];
        for (p, partner) in self.partners.iter().enumerate() {
            let group = self.group_of(partner, p);
            for m in 0..metrics {
                let (now, before) = &mut sums[group * metrics + m];
                now.add(current[p * metrics + m]);
                before.add(previous[p * metrics + m]);
            }
        }
        let mut totals = Vec::new();
        for group in 0..self.groups() {
            for (m, metric) in self.metrics.iter().enumerate() {
                let (now, before) = sums[group * metrics + m];
                if now.count == 0 && before.count == 0 {
                    continue;
                }
                let value = tidy(now.sum);
                let previous_value = tidy(before.sum);
                let change = tidy(value - previous_value);
                totals.push(UsageTotal {
                    group: self.group_name(group, metric).to_string(),
                    metric: metric.name.clone(),
                    unit: metric.unit.clone(),
                    value,
                    previous_value,
                    change,
                    change_percent: (previous_value != 0.0)
                        .then(|| tidy(change / previous_value.abs() * 100.0)),
                });
            }
        }
        totals
    }
}

/// A sum and how many records went into it (a bucket with none has no row).
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    sum: f64,
    count: u32,
}

impl Acc {
    fn add(&mut self, other: Acc) {
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// Checks the dates and works out the measured range and the previous period.
fn resolve_period(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Result<ReportPeriod> {
    if to < from {
        return Err(Error::invalid(
            "to",
            format!("{to} is before the first day ({from}); a report runs from --from to --to"),
        ));
    }
    let asked = (to - from).num_days() + 1;
    if asked > i64::from(MAX_RANGE_DAYS) {
        return Err(Error::invalid(
            "to",
            format!(
                "{from} to {to} is {asked} days; a report covers at most {MAX_RANGE_DAYS} days (10 years)"
            ),
        ));
    }
    if from > today {
        return Err(Error::invalid(
            "from",
            format!("{from} is after today ({today}, UTC): there is no usage to report yet"),
        ));
    }
    let measured_to = to.min(today);
    let days = (measured_to - from).num_days() + 1;
    let too_early = || {
        Error::invalid(
            "from",
            format!("{from} is too early: the previous period would start before year -262143"),
        )
    };
    let previous_to = from.pred_opt().ok_or_else(too_early)?;
    let previous_from = from
        .checked_sub_days(Days::new(days as u64))
        .ok_or_else(too_early)?;
    Ok(ReportPeriod {
        from,
        to: measured_to,
        requested_to: to,
        days: days as u32,
        complete: measured_to < today,
        previous_from,
        previous_to,
    })
}

/// The buckets from `from` to `to`, each clipped to the range.
fn buckets(bucket: Bucket, from: NaiveDate, to: NaiveDate) -> Vec<ReportBucket> {
    let mut out = Vec::new();
    let mut start = bucket.start_of(from);
    loop {
        let next = bucket.next_start(start);
        let calendar_last = next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
        let first_day = start.max(from);
        let last_day = calendar_last.min(to);
        let days = (last_day - first_day).num_days() as u32 + 1;
        let calendar_days = (calendar_last - start).num_days() as u32 + 1;
        out.push(ReportBucket {
            start,
            first_day,
            last_day,
            days,
            partial: days < calendar_days,
        });
        match next {
            Some(n) if n <= to => start = n,
            _ => break,
        }
    }
    out
}

fn load_partners(conn: &Connection, only: Option<&str>) -> Result<Vec<PartnerRef>> {
    let tier_index = |word: String| -> Result<usize> {
        let tier: Tier = word.parse()?;
        Ok(Tier::ALL.iter().position(|t| *t == tier).unwrap_or(0))
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, tier FROM partners WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
    )?;
    let rows = stmt
        .query_map(params![only], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let partners = rows
        .into_iter()
        .map(|(id, name, tier)| {
            Ok(PartnerRef {
                id,
                name,
                tier: tier_index(tier)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if let (Some(name), true) = (only, partners.is_empty()) {
        return Err(Error::invalid(
            "partner",
            format!("no partner is named {name:?}"),
        ));
    }
    Ok(partners)
}

fn load_metrics(conn: &Connection) -> Result<Vec<MetricRef>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, unit FROM usage_metrics ORDER BY name")?;
    let metrics = stmt
        .query_map([], |r| {
            Ok(MetricRef {
                id: r.get(0)?,
                name: r.get(1)?,
                unit: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(metrics)
}

/// Rounds a sum to 15 significant digits (what a spreadsheet keeps), so adding binary
/// fractions does not print as `57.900000000000006`; -0 becomes 0.
pub fn tidy(x: f64) -> f64 {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { 0.0 } else { x };
    }
    // Decimals to keep for 15 significant digits; none past what a power of ten holds exactly.
    let decimals = 14 - x.abs().log10().floor() as i32;
    if !(0..=22).contains(&decimals) {
        return x;
    }
    let scale = POW10[decimals as usize];
    let rounded = (x * scale).round() / scale;
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// The label of a bucket for people: `2026-03-14`, `2026-W11` (ISO week), `2026-03`.
pub fn bucket_label(bucket: Bucket, start: NaiveDate) -> String {
    match bucket {
        Bucket::Day => start.to_string(),
        Bucket::Week => {
            let week = start.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        Bucket::Month => format!("{:04}-{:02}", start.year(), start.month()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::store::Store;
    use chrono::{DateTime, Utc};

    pub(super) fn d(text: &str) -> NaiveDate {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// A database with partners (name, tier) and metrics (name, unit); records go in with
    /// [`record`], straight into `usage_records` as the collector stores them.
    pub(super) fn store(partners: &[(&str, &str)], metrics: &[(&str, &str)]) -> Store {
        fill(Store::open_in_memory().unwrap(), partners, metrics)
    }

    pub(super) fn fill(store: Store, partners: &[(&str, &str)], metrics: &[(&str, &str)]) -> Store {
        for (name, tier) in partners {
            store
                .conn()
                .execute(
                    "INSERT INTO partners (name, kind, endpoint, tier, lifecycle, \
                     check_interval_secs, check_timeout_secs, created_at, updated_at) \
                     VALUES (?1, 'http', 'https://example.com', ?2, 'active', 60, 10, 'x', 'x')",
                    params![name, tier],
                )
                .unwrap();
        }
        for (name, unit) in metrics {
            store
                .conn()
                .execute(
                    "INSERT INTO usage_metrics (name, unit, source) VALUES (?1, ?2, 'platform')",
                    params![name, unit],
                )
                .unwrap();
        }
        store
    }

    pub(super) fn record(store: &Store, partner: &str, metric: &str, day: &str, value: f64) {
        store
            .conn()
            .execute(
                "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at) \
                 VALUES ((SELECT id FROM partners WHERE name = ?1), \
                         (SELECT id FROM usage_metrics WHERE name = ?2), ?3, ?4, 0)",
                params![partner, metric, day_number(d(day)), value],
            )
            .unwrap();
    }

    pub(super) fn query(from: &str, to: &str, group_by: GroupBy, bucket: Bucket) -> UsageQuery {
        UsageQuery {
            from: d(from),
            to: d(to),
            partner: None,
            group_by,
            bucket,
        }
    }

    /// The clock of a day long after the data, so ranges are complete.
    pub(super) fn later() -> FixedClock {
        FixedClock::on(d("2030-01-01"))
    }

    fn rows(report: &UsageReport) -> Vec<(String, String, String, u32, f64)> {
        report
            .rows
            .iter()
            .map(|r| {
                (
                    r.group.clone(),
                    r.metric.clone(),
                    r.bucket_start.to_string(),
                    r.days,
                    r.value,
                )
            })
            .collect()
    }

    fn row(g: &str, m: &str, start: &str, days: u32, v: f64) -> (String, String, String, u32, f64) {
        (g.into(), m.into(), start.into(), days, v)
    }

    #[test]
    fn days_are_counted_from_1970_01_01_utc() {
        assert_eq!(day_number(d("1970-01-01")), 0);
        assert_eq!(day_number(d("2026-01-01")), 20_454);
        assert_eq!(day_number(d("1969-12-31")), -1);
        assert_eq!(date_of_day(20_454), Some(d("2026-01-01")));
        assert_eq!(date_of_day(-1), Some(d("1969-12-31")));
    }

    #[test]
    fn month_buckets_end_on_the_last_day_of_each_month() {
        let s = store(&[("acme", "premium")], &[("dbx.dbus", "DBU")]);
        for (day, v) in [
            ("2026-01-14", 1000.0), // before the range
            ("2026-01-15", 1.0),
            ("2026-01-31", 2.0),
            ("2026-02-01", 4.0),
            ("2026-02-28", 8.0),
            ("2026-03-01", 16.0), // after the range
        ] {
            record(&s, "acme", "dbx.dbus", day, v);
        }
        let q = query("2026-01-15", "2026-02-28", GroupBy::Partner, Bucket::Month);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(
            rows(&r),
            vec![
                row("acme", "dbx.dbus", "2026-01-01", 17, 3.0),
                row("acme", "dbx.dbus", "2026-02-01", 28, 12.0),
            ]
        );
        assert_eq!(r.buckets.len(), 2);
        assert!(r.buckets[0].partial, "January is cut on the 15th");
        assert_eq!(
            (r.buckets[0].first_day, r.buckets[0].last_day),
            (d("2026-01-15"), d("2026-01-31"))
        );
        assert!(
            !r.buckets[1].partial,
            "February 2026 has 28 days, all inside"
        );
        assert_eq!(r.period.days, 45);
        assert_eq!(r.totals.len(), 1);
        assert_eq!(r.totals[0].value, 15.0);
        assert_eq!(r.totals[0].unit, "DBU");
    }

    #[test]
    fn the_leap_day_belongs_to_february_and_to_its_length() {
        let s = store(&[("acme", "premium")], &[("snow.credits", "credits")]);
        record(&s, "acme", "snow.credits", "2028-02-28", 1.0);
        record(&s, "acme", "snow.credits", "2028-02-29", 2.0);
        record(&s, "acme", "snow.credits", "2028-03-01", 4.0);
        // The previous period: 29 days before Feb 1, i.e. 2028-01-03 .. 2028-01-31.
        record(&s, "acme", "snow.credits", "2028-01-02", 100.0);
        record(&s, "acme", "snow.credits", "2028-01-03", 1.5);
        let q = query("2028-02-01", "2028-02-29", GroupBy::Partner, Bucket::Month);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(r.period.days, 29);
        assert_eq!(r.period.previous_from, d("2028-01-03"));
        assert_eq!(r.period.previous_to, d("2028-01-31"));
        assert_eq!(
            rows(&r),
            vec![row("acme", "snow.credits", "2028-02-01", 29, 3.0)]
        );
        assert!(!r.buckets[0].partial);
        let t = &r.totals[0];
        assert_eq!((t.value, t.previous_value, t.change), (3.0, 1.5, 1.5));
        assert_eq!(t.change_percent, Some(100.0));

        // Daily buckets: the 29th is a day of its own.
        let q = query("2028-02-28", "2028-03-01", GroupBy::Partner, Bucket::Day);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(
            rows(&r),
            vec![
                row("acme", "snow.credits", "2028-02-28", 1, 1.0),
                row("acme", "snow.credits", "2028-02-29", 1, 2.0),
                row("acme", "snow.credits", "2028-03-01", 1, 4.0),
            ]
        );
    }

    #[test]
    fn iso_weeks_start_on_monday_and_span_the_new_year() {
        let s = store(&[("acme", "standard")], &[("calls", "calls")]);
        for (day, v) in [
            ("2026-12-27", 1.0), // Sunday of week 52
            ("2026-12-28", 2.0), // Monday of 2026-W53
            ("2026-12-31", 4.0),
            ("2027-01-01", 8.0), // still 2026-W53
            ("2027-01-03", 16.0),
            ("2027-01-04", 32.0), // Monday of 2027-W01
        ] {
            record(&s, "acme", "calls", day, v);
        }
        let q = query("2026-12-28", "2027-01-03", GroupBy::Partner, Bucket::Week);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(rows(&r), vec![row("acme", "calls", "2026-12-28", 7, 30.0)]);
        assert!(!r.buckets[0].partial);
        assert_eq!(bucket_label(Bucket::Week, r.buckets[0].start), "2026-W53");

        let q = query("2026-12-27", "2027-01-04", GroupBy::Partner, Bucket::Week);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(
            rows(&r),
            vec![
                row("acme", "calls", "2026-12-21", 1, 1.0),
                row("acme", "calls", "2026-12-28", 7, 30.0),
                row("acme", "calls", "2027-01-04", 1, 32.0),
            ]
        );
        assert!(r.buckets[0].partial && r.buckets[2].partial && !r.buckets[1].partial);
        assert_eq!(bucket_label(Bucket::Week, d("2027-01-04")), "2027-W01");
        assert_eq!(bucket_label(Bucket::Month, d("2027-01-01")), "2027-01");
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_the_day_before() {
        let s = store(
            &[
                ("acme", "strategic"),
                ("newco", "standard"),
                ("gone", "premium"),
            ],
            &[("dbx.dbus", "DBU")],
        );
        // March 2026 (31 days) against 2026-01-29 .. 2026-02-28.
        record(&s, "acme", "dbx.dbus", "2026-01-28", 1000.0); // before the previous period
        record(&s, "acme", "dbx.dbus", "2026-01-29", 40.0);
        record(&s, "acme", "dbx.dbus", "2026-02-28", 60.0);
        record(&s, "acme", "dbx.dbus", "2026-03-01", 50.0);
        record(&s, "acme", "dbx.dbus", "2026-03-31", 100.0);
        record(&s, "newco", "dbx.dbus", "2026-03-10", 7.0);
        record(&s, "gone", "dbx.dbus", "2026-02-10", 9.0);
        let q = query("2026-03-01", "2026-03-31", GroupBy::Partner, Bucket::Month);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(r.period.previous_from, d("2026-01-29"));
        assert_eq!(r.period.previous_to, d("2026-02-28"));
        assert!(r.period.complete);
        let totals: Vec<_> = r
            .totals
            .iter()
            .map(|t| {
                (
                    t.group.as_str(),
                    t.value,
                    t.previous_value,
                    t.change,
                    t.change_percent,
                )
            })
            .collect();
        assert_eq!(
            totals,
            vec![
                ("acme", 150.0, 100.0, 50.0, Some(50.0)),
                ("gone", 0.0, 9.0, -9.0, Some(-100.0)),
                ("newco", 7.0, 0.0, 7.0, None),
            ]
        );
        assert!(
            r.rows.iter().all(|row| row.group != "gone"),
            "a group without usage in the range has a total but no row"
        );
    }

    #[test]
    fn a_database_file_sums_the_previous_period_on_a_second_connection_alike() {
        let dir = tempfile::tempdir().unwrap();
        let partners = [("a", "strategic"), ("b", "standard"), ("c", "strategic")];
        let metrics = [("calls", "calls"), ("dbx.dbus", "DBU")];
        let file = fill(
            Store::open(dir.path().join("e.db")).unwrap(),
            &partners,
            &metrics,
        );
        let memory = store(&partners, &metrics);
        for s in [&file, &memory] {
            for (i, (partner, _)) in partners.iter().enumerate() {
                for (j, (metric, _)) in metrics.iter().enumerate() {
                    let v = (i * 10 + j) as f64;
                    record(s, partner, metric, "2026-02-27", v + 0.5); // previous period
                    record(s, partner, metric, "2026-03-03", v);
                }
            }
        }
        for group_by in GroupBy::ALL {
            let q = query("2026-03-01", "2026-03-31", group_by, Bucket::Week);
            let from_file = q.run(file.conn(), &later()).unwrap();
            let in_memory = q.run(memory.conn(), &later()).unwrap();
            assert_eq!(from_file, in_memory, "{group_by}");
            assert!(from_file.totals.iter().all(|t| t.previous_value > 0.0));
        }
        let q = query("2026-03-01", "2026-03-31", GroupBy::Tier, Bucket::Month);
        let strategic_calls = &q.run(file.conn(), &later()).unwrap().totals[0];
        assert_eq!(
            (
                strategic_calls.group.as_str(),
                strategic_calls.metric.as_str(),
                strategic_calls.value,
                strategic_calls.previous_value
            ),
            ("strategic", "calls", 20.0, 21.0),
            "a (0) and c (20); previous 0.5 and 20.5"
        );
    }

    #[test]
    fn tiers_sum_partners_but_never_units() {
        let s = store(
            &[
                ("a", "strategic"),
                ("b", "strategic"),
                ("c", "standard"),
                ("idle", "premium"),
            ],
            &[("dbx.dbus", "DBU"), ("s3.storage", "GB")],
        );
        record(&s, "a", "dbx.dbus", "2026-05-01", 1.5);
        record(&s, "b", "dbx.dbus", "2026-05-02", 2.25);
        record(&s, "a", "s3.storage", "2026-05-01", 100.0);
        record(&s, "c", "dbx.dbus", "2026-05-03", 10.0);
        record(&s, "c", "s3.storage", "2026-04-30", 5.0); // previous period
        let q = query("2026-05-01", "2026-05-31", GroupBy::Tier, Bucket::Month);
        let r = q.run(s.conn(), &later()).unwrap();
        let got: Vec<_> = r
            .rows
            .iter()
            .map(|r| {
                (
                    r.group.as_str(),
                    r.metric.as_str(),
                    r.unit.as_str(),
                    r.value,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("strategic", "dbx.dbus", "DBU", 3.75),
                ("strategic", "s3.storage", "GB", 100.0),
                ("standard", "dbx.dbus", "DBU", 10.0),
            ],
            "tiers in order strategic, premium, standard; each metric with its own unit"
        );
        let standard_storage = r
            .totals
            .iter()
            .find(|t| t.group == "standard" && t.metric == "s3.storage")
            .expect("a total for usage in the previous period only");
        assert_eq!(
            (standard_storage.value, standard_storage.previous_value),
            (0.0, 5.0)
        );

        // By metric: summed over every partner, one unit each.
        let q = query("2026-05-01", "2026-05-31", GroupBy::Metric, Bucket::Month);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(
            rows(&r),
            vec![
                row("dbx.dbus", "dbx.dbus", "2026-05-01", 31, 13.75),
                row("s3.storage", "s3.storage", "2026-05-01", 31, 100.0),
            ]
        );

        // One partner only.
        let mut q = query("2026-05-01", "2026-05-31", GroupBy::Tier, Bucket::Month);
        q.partner = Some("b".into());
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(
            rows(&r),
            vec![row("strategic", "dbx.dbus", "2026-05-01", 31, 2.25)]
        );
    }

    #[test]
    fn a_range_reaching_today_stops_at_today_in_utc() {
        let s = store(&[("acme", "premium")], &[("calls", "calls")]);
        record(&s, "acme", "calls", "2026-02-28", 5.0);
        // 01:30 on March 1st in Helsinki is still February 28th in UTC.
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-01T01:30:00+02:00")
            .unwrap()
            .with_timezone(&Utc);
        let clock = FixedClock(now);
        let q = query("2026-02-01", "2026-03-31", GroupBy::Partner, Bucket::Month);
        let r = q.run(s.conn(), &clock).unwrap();
        assert!(!r.period.complete);
        assert_eq!(r.period.to, d("2026-02-28"));
        assert_eq!(r.period.requested_to, d("2026-03-31"));
        assert_eq!(r.period.days, 28);
        assert_eq!(r.period.previous_from, d("2026-01-04"));
        assert_eq!(r.buckets.len(), 1, "March has not started in UTC");
        assert_eq!(rows(&r), vec![row("acme", "calls", "2026-02-01", 28, 5.0)]);

        let q = query("2026-03-01", "2026-03-31", GroupBy::Partner, Bucket::Month);
        let err = q.run(s.conn(), &clock).unwrap_err();
        assert_eq!(err.field(), Some("from"), "{err}");
        assert!(
            err.to_string().contains("after today (2026-02-28, UTC)"),
            "{err}"
        );

        // A range ending yesterday is complete.
        let q = query("2026-02-01", "2026-02-27", GroupBy::Partner, Bucket::Month);
        assert!(q.run(s.conn(), &clock).unwrap().period.complete);
    }

    #[test]
    fn bad_input_names_the_field() {
        let s = store(&[("acme", "premium")], &[]);
        let clock = later();
        let err = query("2026-02-01", "2026-01-31", GroupBy::Partner, Bucket::Day)
            .run(s.conn(), &clock)
            .unwrap_err();
        assert!(err.is_bad_input());
        assert_eq!(err.field(), Some("to"), "{err}");
        assert!(err.to_string().contains("before the first day"), "{err}");

        let err = query("2016-01-01", "2026-01-01", GroupBy::Partner, Bucket::Day)
            .run(s.conn(), &clock)
            .unwrap_err();
        assert_eq!(err.field(), Some("to"), "{err}");
        assert!(err.to_string().contains("at most 3653 days"), "{err}");
        // Exactly ten years is fine.
        query("2016-01-01", "2025-12-31", GroupBy::Partner, Bucket::Day)
            .run(s.conn(), &clock)
            .unwrap();

        let mut q = query("2026-01-01", "2026-01-31", GroupBy::Partner, Bucket::Day);
        q.partner = Some("nobody".into());
        let err = q.run(s.conn(), &clock).unwrap_err();
        assert_eq!(err.field(), Some("partner"), "{err}");
        assert!(err.to_string().contains("\"nobody\""), "{err}");

        assert_eq!(
            "weekly".parse::<Bucket>().unwrap_err().field(),
            Some("bucket")
        );
        assert_eq!("tier".parse::<GroupBy>().unwrap(), GroupBy::Tier);
    }

    #[test]
    fn sums_are_kept_to_15_significant_digits() {
        let s = store(&[("acme", "premium")], &[("dbx.dbus", "DBU")]);
        record(&s, "acme", "dbx.dbus", "2026-06-01", 0.1);
        record(&s, "acme", "dbx.dbus", "2026-06-02", 0.2);
        let q = query("2026-06-01", "2026-06-30", GroupBy::Partner, Bucket::Month);
        let r = q.run(s.conn(), &later()).unwrap();
        assert_eq!(r.rows[0].value, 0.3);
        assert_eq!(r.rows[0].value.to_string(), "0.3");
        assert_eq!(tidy(57.900000000000006), 57.9);
        assert_eq!(tidy(12_345_678.900_000_002), 12_345_678.9);
        assert_eq!(tidy(-0.0).to_string(), "0");
        assert_eq!(tidy(1e300), 1e300);
        assert_eq!(tidy(1.5e-30), 1.5e-30);
        assert_eq!(tidy(33.333_333_333_333_336), 33.333_333_333_333_3);
    }

    #[test]
    fn each_pair_is_one_seek_on_the_primary_key() {
        let s = store(&[("acme", "premium")], &[("dbx.dbus", "DBU")]);
        for sql in [RANGE_SQL, PREVIOUS_SQL] {
            let plan: Vec<String> = s
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params![1, 1, 0, 1], |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(
                plan,
                vec!["SEARCH usage_records USING PRIMARY KEY (partner_id=? AND metric_id=? AND day>? AND day<?)"],
                "{sql}"
            );
        }
    }

    #[test]
    fn the_report_serialises_dates_as_iso_8601() {
        let s = store(&[("acme", "premium")], &[("dbx.dbus", "DBU")]);
        record(&s, "acme", "dbx.dbus", "2026-06-01", 2.0);
        let q = query("2026-06-01", "2026-06-30", GroupBy::Partner, Bucket::Week);
        let r = q.run(s.conn(), &later()).unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["period"]["previous_from"], "2026-05-02");
        assert_eq!(json["rows"][0]["bucket_start"], "2026-06-01");
        assert_eq!(json["group_by"], "partner");
        assert_eq!(json["bucket"], "week");
        assert_eq!(json["totals"][0]["change_percent"], serde_json::Value::Null);
    }
}
