//! The reports page's chart: one metric of a report (one unit per chart), one line per group
//! over the buckets, the groups with the largest totals first (at most
//! [`UsageChart::MAX_SERIES`]), at [`Size::WIDE`].
//!
//! It is made two ways that give the same chart: from a finished [`UsageReport`]
//! ([`chart_metric`], [`usage_chart`]), or on its own with [`UsageQuery::chart`], which reads
//! only the chart's metric in the range (no other metric, no previous period), so a page can
//! show the chart before the whole report (every metric, the totals and the change) is ready.

use ecosystem_charts::{Size, UsageChart};
use rusqlite::{params, Connection};

use super::{Bucket, PreparedReport, ReportPeriod, UsageQuery, UsageReport};
use crate::clock::Clock;
use crate::error::Result;

/// Whether a pair has a record between two days (both included): one seek on the primary key.
const ANY_SQL: &str = "SELECT EXISTS (SELECT 1 FROM usage_records \
     WHERE partner_id = ?1 AND metric_id = ?2 AND day BETWEEN ?3 AND ?4)";

/// Metrics counted by Ecosystem itself (its call counters), charted only when there is nothing
/// else.
const OWN_METRICS: &str = "ecosystem.";

/// The metric a report's chart shows: the one asked for when the report has a total for it,
/// else the first total (in the report's order) of the platform's own figures, else the first
/// total (Ecosystem's call counters). `None` when the report has no total: nothing to draw.
pub fn chart_metric(report: &UsageReport, asked: Option<&str>) -> Option<String> {
    let mut totals = report.totals.iter().map(|t| t.metric.as_str());
    if let Some(asked) = asked.filter(|m| totals.clone().any(|t| t == *m)) {
        return Some(asked.to_string());
    }
    totals
        .clone()
        .find(|m| !m.starts_with(OWN_METRICS))
        .or_else(|| totals.next())
        .map(str::to_string)
}

/// The chart of `metric` in `report`.
pub fn usage_chart(report: &UsageReport, metric: &str) -> UsageChart {
    chart_of(
        metric,
        report.bucket,
        report
            .rows
            .iter()
            .filter(|r| r.metric == metric)
            .map(|r| (r.group.as_str(), r.unit.as_str(), r.bucket_start, r.value)),
    )
}

/// A chart made on its own by [`UsageQuery::chart`].
#[derive(Debug, Clone)]
pub struct ReportChart {
    /// The days the chart covers, as the whole report has them.
    pub period: ReportPeriod,
    /// The metric shown, chosen as [`chart_metric`] chooses it; `None` when there is no usage.
    pub metric: Option<String>,
    pub chart: Option<UsageChart>,
}

impl UsageQuery {
    /// The chart [`usage_chart`] draws from this query's whole report, with the metric
    /// [`chart_metric`] picks, made without the report: the metric is chosen by seeking which
    /// (group, metric) has a record in the range or the previous period (stopping at the first
    /// that qualifies), then only that metric's records in the range are read and bucketed.
    /// The query is checked as [`UsageQuery::run`] checks it.
    pub fn chart(
        &self,
        conn: &Connection,
        clock: &dyn Clock,
        asked: Option<&str>,
    ) -> Result<ReportChart> {
        let mut prepared = PreparedReport::new(conn, clock, self)?;
        let metric = prepared.chart_metric(conn, asked)?;
        let chart = match &metric {
            None => None,
            Some(metric) => {
                prepared.metrics.retain(|m| &m.name == metric);
                let mut rows = Vec::new();
                prepared.for_each_row(conn, |row| {
                    rows.push((
                        row.group.to_string(),
                        row.unit.to_string(),
                        prepared.buckets[row.bucket].start,
                        row.value,
                    ));
                    Ok(())
                })?;
                Some(chart_of(
                    metric,
                    self.bucket,
                    rows.iter().map(|(group, unit, start, value)| {
                        (group.as_str(), unit.as_str(), *start, *value)
                    }),
                ))
            }
        };
        Ok(ReportChart {
            period: prepared.period,
            metric,
            chart,
        })
    }
}

impl PreparedReport {
    /// [`chart_metric`] without the report: the totals are the (group, metric) pairs with a
    /// record from the previous period's first day to the range's last, in the report's order.
    fn chart_metric(&self, conn: &Connection, asked: Option<&str>) -> Result<Option<String>> {
        let mut stmt = conn.prepare_cached(ANY_SQL)?;
        let (from, to) = (self.previous.0, self.last_day);
        // Each (group, metric) in the report's order, and whether it has a total.
        let mut has_total = |group: Option<usize>, metric: usize| -> Result<bool> {
            for (p, partner) in self.partners.iter().enumerate() {
                if group.is_some_and(|g| self.group_of(partner, p) != g) {
                    continue;
                }
                let id = self.metrics[metric].id;
                if stmt.query_row(params![partner.id, id, from, to], |r| r.get::<_, bool>(0))? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        if let Some(asked) = asked {
            if let Some(m) = self.metrics.iter().position(|m| m.name == asked) {
                if has_total(None, m)? {
                    return Ok(Some(asked.to_string()));
                }
            }
        }
        let mut first = None;
        for group in 0..self.groups() {
            for (m, metric) in self.metrics.iter().enumerate() {
                let own = metric.name.starts_with(OWN_METRICS);
                // Once a first total is known, only a platform's metric can change the answer.
                if (own && first.is_some()) || !has_total(Some(group), m)? {
                    continue;
                }
                if !own {
                    return Ok(Some(metric.name.clone()));
                }
                first = Some(metric.name.clone());
            }
        }
        Ok(first)
    }
}

/// The chart of one metric's rows `(group, unit, bucket start, value)`, in the report's order.
fn chart_of<'a>(
    metric: &str,
    bucket: Bucket,
    rows: impl Iterator<Item = (&'a str, &'a str, chrono::NaiveDate, f64)> + Clone,
) -> UsageChart {
    let unit = rows
        .clone()
        .next()
        .map(|(_, unit, _, _)| unit.to_string())
        .unwrap_or_default();
    UsageChart::from_rows(
        format!("{metric} per {}", bucket.as_str()),
        unit,
        rows.map(|(group, _, start, value)| (group, start, value)),
        UsageChart::MAX_SERIES,
        Size::WIDE,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fill, later, query, record, store};
    use super::*;
    use crate::report::GroupBy;
    use crate::store::Store;

    /// The chart made alone equals the one drawn from the whole report, metric included.
    fn same_as_report(s: &Store, q: &UsageQuery, asked: Option<&str>) -> ReportChart {
        let report = q.run(s.conn(), &later()).unwrap();
        let alone = q.chart(s.conn(), &later(), asked).unwrap();
        let metric = chart_metric(&report, asked);
        assert_eq!(alone.metric, metric, "{q:?} asked {asked:?}");
        assert_eq!(alone.period, report.period);
        assert_eq!(
            alone.chart,
            metric.as_deref().map(|m| usage_chart(&report, m)),
            "{q:?} asked {asked:?}"
        );
        alone
    }

    #[test]
    fn the_chart_alone_is_the_reports_chart_for_every_grouping_and_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let partners: Vec<(String, &str)> = (0..9)
            .map(|i| (format!("p{i}"), ["strategic", "premium", "standard"][i % 3]))
            .collect();
        let partners: Vec<(&str, &str)> = partners.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let metrics = [
            ("dbx.dbus", "DBU"),
            ("ecosystem.calls", "calls"),
            ("snow.credits", "credits"),
        ];
        let s = fill(
            Store::open(dir.path().join("e.db")).unwrap(),
            &partners,
            &metrics,
        );
        // p0 has only Ecosystem's counter; dbx.dbus starts with p4; every partner has credits.
        for (i, (p, _)) in partners.iter().enumerate() {
            for day in 1..=28 {
                let date = format!("2026-02-{day:02}");
                record(&s, p, "snow.credits", &date, (i * day) as f64 + 0.25);
                record(&s, p, "ecosystem.calls", &date, 3.0);
                if i >= 4 {
                    record(&s, p, "dbx.dbus", &date, (i + day) as f64);
                }
            }
        }
        for group_by in GroupBy::ALL {
            for bucket in Bucket::ALL {
                let q = query("2026-02-01", "2026-02-28", group_by, bucket);
                for asked in [None, Some("ecosystem.calls"), Some("nothing.such")] {
                    same_as_report(&s, &q, asked);
                }
            }
        }
        // By partner the first group's platform metric is chosen: p0 has none, so p1's first.
        let q = query("2026-02-01", "2026-02-28", GroupBy::Partner, Bucket::Week);
        let chart = same_as_report(&s, &q, None);
        assert_eq!(chart.metric.as_deref(), Some("snow.credits"));
        let drawn = chart.chart.unwrap();
        assert_eq!(drawn.unit, "credits");
        assert_eq!(drawn.series.len(), UsageChart::MAX_SERIES);
        assert_eq!(drawn.series[0].label, "p8", "the largest first");
        assert!(
            drawn.title.starts_with("snow.credits per week"),
            "{}",
            drawn.title
        );
        // By metric the first platform metric by name.
        let q = query("2026-02-01", "2026-02-28", GroupBy::Metric, Bucket::Month);
        assert_eq!(
            same_as_report(&s, &q, None).metric.as_deref(),
            Some("dbx.dbus")
        );
        // One partner: only its metrics count.
        let mut q = query("2026-02-01", "2026-02-28", GroupBy::Partner, Bucket::Day);
        q.partner = Some("p0".into());
        assert_eq!(
            same_as_report(&s, &q, Some("dbx.dbus")).metric.as_deref(),
            Some("snow.credits")
        );
    }

    #[test]
    fn usage_in_the_previous_period_only_picks_the_metric_as_the_totals_do() {
        let s = store(
            &[("acme", "premium")],
            &[("calls", "calls"), ("ecosystem.calls", "calls")],
        );
        // March's previous period is 2026-01-29 .. 2026-02-28: `calls` has a total but no row.
        record(&s, "acme", "calls", "2026-02-10", 5.0);
        record(&s, "acme", "ecosystem.calls", "2026-03-02", 1.0);
        let q = query("2026-03-01", "2026-03-31", GroupBy::Tier, Bucket::Month);
        let chart = same_as_report(&s, &q, None);
        assert_eq!(chart.metric.as_deref(), Some("calls"));
        assert!(chart.chart.unwrap().series.is_empty());
        // Nothing at all: no metric, no chart.
        let q = query("2025-03-01", "2025-03-31", GroupBy::Partner, Bucket::Day);
        let chart = same_as_report(&s, &q, Some("calls"));
        assert_eq!((chart.metric, chart.chart), (None, None));
    }

    #[test]
    fn the_chart_alone_refuses_bad_input_as_the_report_does() {
        let s = store(&[("acme", "premium")], &[("calls", "calls")]);
        let mut q = query("2026-03-01", "2026-03-31", GroupBy::Partner, Bucket::Month);
        q.partner = Some("nobody".into());
        let err = q.chart(s.conn(), &later(), None).unwrap_err();
        assert_eq!(err.field(), Some("partner"), "{err}");
        let q = query("2026-03-02", "2026-03-01", GroupBy::Partner, Bucket::Month);
        let err = q.chart(s.conn(), &later(), None).unwrap_err();
        assert_eq!(err.field(), Some("to"), "{err}");
    }

    #[test]
    fn the_existence_check_is_one_seek_on_the_primary_key() {
        let s = store(&[("acme", "premium")], &[("calls", "calls")]);
        let plan: Vec<String> = s
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {ANY_SQL}"))
            .unwrap()
            .query_map(params![1, 1, 0, 1], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.starts_with(
                "SEARCH usage_records USING PRIMARY KEY (partner_id=? AND metric_id=? AND day>? AND day<?)"
            )),
            "{plan:?}"
        );
    }
}
