//! Folding, splitting, idempotent writes, unit conflicts and hostile input, on an in-memory
//! database with a fixed clock.

use std::sync::Arc;

use super::*;
use crate::clock::{Clock, FixedClock};
use crate::model::NewPartner;
use crate::registry::Registry;
use crate::store::Store;

fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is an instant: {e}"))
}

fn day(date: &str) -> i64 {
    day_of(at(&format!("{date}T00:00:00Z")))
}

/// A registry with one partner (id returned) on an in-memory database.
fn registry_with_partner() -> (Registry, u32) {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(at("2026-11-20T10:00:00Z")));
    let mut registry = Registry::new(Store::open_in_memory().expect("store"), "test", clock);
    let partner = registry
        .add_partner(&NewPartner::new(
            "Lakehouse",
            PartnerKind::Databricks,
            "https://dbc.example",
        ))
        .expect("partner");
    (registry, partner.id)
}

fn dbus(day: i64, value: f64) -> Measurement {
    Measurement::new("databricks.dbus", "DBU", MetricSource::Platform, day, value)
}

fn stored(registry: &Registry, partner: u32, days: DayRange) -> Vec<(String, i64, f64)> {
    usage_records(registry.store().conn(), partner, days)
        .expect("records")
        .into_iter()
        .map(|r| (r.metric, r.day, r.value))
        .collect()
}

fn figure(metric: &str, unit: &str, value: f64, from: &str, to: &str) -> UsageFigure {
    UsageFigure {
        metric: metric.into(),
        unit: unit.into(),
        value,
        period_start: at(from),
        period_end: at(to),
        dimensions: BTreeMap::new(),
    }
}

#[test]
fn days_are_counted_from_the_epoch_in_utc() {
    assert_eq!(day_of(at("1970-01-01T23:59:59Z")), 0);
    assert_eq!(day_of(at("1970-01-02T00:00:00Z")), 1);
    assert_eq!(day_of(at("2026-11-20T23:30:00-05:00")), day("2026-11-21"));
    assert_eq!(date_of(day("2026-11-20")).to_string(), "2026-11-20");
    let window = DayRange::of_window(at("2026-11-20T00:00:00Z"), at("2026-11-22T00:00:00Z"));
    assert_eq!(
        (window.first, window.last),
        (day("2026-11-20"), day("2026-11-21")),
        "a window ending at midnight does not touch the next day"
    );
    assert!(DayRange::new(day("2026-11-21"), day("2026-11-20")).is_err());
}

#[test]
fn hourly_figures_fold_into_one_value_per_metric_and_day() {
    let mut figures = Vec::new();
    for hour in 0..48 {
        let start = at("2026-11-18T00:00:00Z") + chrono::Duration::hours(hour);
        figures.push(UsageFigure {
            period_start: start,
            period_end: start + chrono::Duration::hours(1),
            ..figure(
                "credits_used",
                "credits",
                0.5,
                "2026-11-18T00:00:00Z",
                "2026-11-18T01:00:00Z",
            )
        });
    }
    // Two warehouses on the same day: dimensions are summed away.
    let mut other = figure(
        "queries",
        "queries",
        7.0,
        "2026-11-18T03:00:00Z",
        "2026-11-18T04:00:00Z",
    );
    other.dimensions.insert("warehouse".into(), "ETL_WH".into());
    figures.push(other);
    figures.push(figure(
        "queries",
        "queries",
        5.0,
        "2026-11-18T05:00:00Z",
        "2026-11-18T06:00:00Z",
    ));
    let folded = from_figures(PartnerKind::Snowflake, &figures).expect("valid figures");
    let got: Vec<_> = folded
        .iter()
        .map(|m| (m.metric.as_str(), m.unit.as_str(), m.day, m.value))
        .collect();
    assert_eq!(
        got,
        [
            ("snowflake.credits_used", "credits", day("2026-11-18"), 12.0),
            ("snowflake.credits_used", "credits", day("2026-11-19"), 12.0),
            ("snowflake.queries", "queries", day("2026-11-18"), 12.0),
        ]
    );
    assert!(folded.iter().all(|m| m.source == MetricSource::Platform));
}

#[test]
fn a_figure_spanning_days_is_split_in_proportion_to_the_time_in_each() {
    // Noon to noon two days later: a quarter, a half, a quarter.
    let parts = split_by_day(
        at("2026-11-18T12:00:00Z"),
        at("2026-11-20T12:00:00Z"),
        100.0,
    );
    assert_eq!(
        parts,
        [
            (day("2026-11-18"), 25.0),
            (day("2026-11-19"), 50.0),
            (day("2026-11-20"), 25.0)
        ]
    );
    // Ending exactly at midnight: the next day gets nothing, not a zero.
    let parts = split_by_day(at("2026-11-18T18:00:00Z"), at("2026-11-19T00:00:00Z"), 3.0);
    assert_eq!(parts, [(day("2026-11-18"), 3.0)]);
    // No duration: the start day.
    let parts = split_by_day(at("2026-11-18T18:00:00Z"), at("2026-11-18T18:00:00Z"), 3.0);
    assert_eq!(parts, [(day("2026-11-18"), 3.0)]);
    let parts = split_by_day(at("2026-11-19T18:00:00Z"), at("2026-11-18T18:00:00Z"), 3.0);
    assert_eq!(
        parts,
        [(day("2026-11-19"), 3.0)],
        "a reversed period: its start day"
    );
    let total: f64 = split_by_day(at("2026-11-01T07:13:00Z"), at("2026-11-09T02:41:00Z"), 1.0)
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert!((total - 1.0).abs() < 1e-12, "the parts add up: {total}");
}

#[test]
fn a_split_figure_is_stored_per_day_with_the_clocks_time() {
    let (registry, partner) = registry_with_partner();
    let now = registry.clock().now();
    let measurements = from_figures(
        PartnerKind::Databricks,
        &[figure(
            "job_runs",
            "runs",
            8.0,
            "2026-11-18T18:00:00Z",
            "2026-11-19T18:00:00Z",
        )],
    )
    .expect("valid");
    record_usage(registry.store().conn(), partner, &measurements, now).expect("recorded");
    let records = usage_records(
        registry.store().conn(),
        partner,
        DayRange::new(day("2026-11-01"), day("2026-11-30")).expect("range"),
    )
    .expect("records");
    let got: Vec<_> = records
        .iter()
        .map(|r| (r.date.to_string(), r.value, r.collected_at))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-11-18".to_string(), 2.0, now),
            ("2026-11-19".to_string(), 6.0, now)
        ]
    );
}

#[test]
fn recording_the_same_batch_twice_replaces_instead_of_doubling() {
    let (registry, partner) = registry_with_partner();
    let conn = registry.store().conn();
    let batch = [
        dbus(day("2026-11-18"), 10.0),
        dbus(day("2026-11-18"), 2.5),
        dbus(day("2026-11-19"), 4.0),
    ];
    let first = record_usage(conn, partner, &batch, at("2026-11-20T01:00:00Z")).expect("first");
    assert_eq!((first.records, first.metrics), (2, 1));
    record_usage(conn, partner, &batch, at("2026-11-20T02:00:00Z")).expect("again");
    let all = DayRange::new(day("2026-11-01"), day("2026-11-30")).expect("range");
    assert_eq!(
        stored(&registry, partner, all),
        [
            ("databricks.dbus".to_string(), day("2026-11-18"), 12.5),
            ("databricks.dbus".to_string(), day("2026-11-19"), 4.0)
        ]
    );
    // A later, larger figure for a day replaces it (late data arrived).
    record_usage(
        conn,
        partner,
        &[dbus(day("2026-11-19"), 9.0)],
        at("2026-11-21T01:00:00Z"),
    )
    .expect("later");
    assert_eq!(
        stored(&registry, partner, DayRange::one(day("2026-11-19")))[0].2,
        9.0
    );
}

#[test]
fn a_collection_clears_the_windows_days_it_found_nothing_for_and_moves_the_state() {
    let (registry, partner) = registry_with_partner();
    let conn = registry.store().conn();
    let runs = |d: &str, v: f64| {
        Measurement::new(
            "databricks.job_runs",
            "runs",
            MetricSource::Platform,
            day(d),
            v,
        )
    };
    let window = DayRange::new(day("2026-11-17"), day("2026-11-19")).expect("window");
    record_collection(
        conn,
        partner,
        window,
        &[
            runs("2026-11-16", 1.0),
            runs("2026-11-17", 3.0),
            runs("2026-11-18", 4.0),
            dbus(day("2026-11-18"), 5.0),
        ],
        at("2026-11-19T12:00:00Z"),
    )
    .expect("first collection");
    // Re-collected: the 17th now has no runs; DBUs were not part of this collection.
    let summary = record_collection(
        conn,
        partner,
        window,
        &[runs("2026-11-18", 4.0), runs("2026-11-19", 2.0)],
        at("2026-11-20T12:00:00Z"),
    )
    .expect("second collection");
    assert_eq!(summary.cleared, 1, "{summary:?}");
    let all = DayRange::new(day("2026-11-01"), day("2026-11-30")).expect("range");
    assert_eq!(
        stored(&registry, partner, all),
        [
            ("databricks.job_runs".to_string(), day("2026-11-16"), 1.0),
            ("databricks.dbus".to_string(), day("2026-11-18"), 5.0),
            ("databricks.job_runs".to_string(), day("2026-11-18"), 4.0),
            ("databricks.job_runs".to_string(), day("2026-11-19"), 2.0),
        ],
        "outside the window and other metrics are kept"
    );
    let state = collection_state(conn, partner)
        .expect("state")
        .expect("a state");
    assert_eq!(state.last_day, Some(day("2026-11-19")));
    assert_eq!(state.collected_at, Some(at("2026-11-20T12:00:00Z")));
    assert_eq!(state.last_error, None);

    // A failure keeps what was collected; an older window does not move last_day back.
    record_collection_failure(
        conn,
        partner,
        "databricks: timed_out:\n no answer",
        at("2026-11-21T00:00:00Z"),
    )
    .expect("failure");
    let state = collection_state(conn, partner)
        .expect("state")
        .expect("a state");
    assert_eq!(state.last_day, Some(day("2026-11-19")));
    assert_eq!(state.attempted_at, at("2026-11-21T00:00:00Z"));
    assert_eq!(
        state.last_error.as_deref(),
        Some("databricks: timed_out: no answer")
    );
    record_collection(
        conn,
        partner,
        DayRange::one(day("2026-11-01")),
        &[runs("2026-11-01", 1.0)],
        at("2026-11-21T01:00:00Z"),
    )
    .expect("backfill");
    let state = collection_state(conn, partner)
        .expect("state")
        .expect("a state");
    assert_eq!(
        state.last_day,
        Some(day("2026-11-19")),
        "a backfill keeps last_day"
    );
    assert_eq!(state.last_error, None);
    assert_eq!(collection_states(conn).expect("states").len(), 1);
}

#[test]
fn ecosystem_counters_are_added_to_the_days_value() {
    let (registry, partner) = registry_with_partner();
    let conn = registry.store().conn();
    let calls = |v| {
        Measurement::new(
            "ecosystem.calls",
            "calls",
            MetricSource::Ecosystem,
            day("2026-11-20"),
            v,
        )
    };
    add_usage(conn, partner, &[calls(3.0)], at("2026-11-20T01:00:00Z")).expect("first");
    add_usage(
        conn,
        partner,
        &[calls(4.0), calls(1.0)],
        at("2026-11-20T02:00:00Z"),
    )
    .expect("second");
    assert_eq!(
        stored(&registry, partner, DayRange::one(day("2026-11-20")))[0].2,
        8.0
    );
    let metrics = usage_metrics(conn).expect("metrics");
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].source, MetricSource::Ecosystem);
}

#[test]
fn a_unit_conflict_is_an_error_and_writes_nothing() {
    let (registry, partner) = registry_with_partner();
    let conn = registry.store().conn();
    record_usage(
        conn,
        partner,
        &[dbus(day("2026-11-18"), 1.0)],
        at("2026-11-20T00:00:00Z"),
    )
    .expect("DBU");
    let batch = [
        Measurement::new(
            "databricks.job_runs",
            "runs",
            MetricSource::Platform,
            day("2026-11-18"),
            2.0,
        ),
        Measurement::new(
            "databricks.dbus",
            "credits",
            MetricSource::Platform,
            day("2026-11-18"),
            7.0,
        ),
    ];
    let err =
        record_usage(conn, partner, &batch, at("2026-11-20T00:00:00Z")).expect_err("conflict");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(
        err.to_string().contains("databricks.dbus") && err.to_string().contains("\"DBU\""),
        "{err}"
    );
    let all = DayRange::new(day("2026-11-01"), day("2026-11-30")).expect("range");
    assert_eq!(
        stored(&registry, partner, all),
        [("databricks.dbus".to_string(), day("2026-11-18"), 1.0)],
        "neither the conflicting value nor the valid one beside it was written"
    );
    assert_eq!(
        usage_metrics(conn).expect("metrics").len(),
        1,
        "no metric was named either"
    );

    // Within one batch, too.
    let mixed = [
        dbus(day("2026-11-18"), 1.0),
        Measurement::new(
            "databricks.dbus",
            "dbu",
            MetricSource::Platform,
            day("2026-11-19"),
            1.0,
        ),
    ];
    assert!(matches!(fold(&mixed), Err(Error::Conflict(_))));
}

#[test]
fn hostile_names_units_and_values_are_refused_naming_the_field() {
    let (registry, partner) = registry_with_partner();
    let conn = registry.store().conn();
    let d = day("2026-11-18");
    let cases: Vec<(Measurement, &str)> = vec![
        (
            Measurement::new("", "DBU", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new("databricks.DBUs", "DBU", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new(
                "x'); DROP TABLE usage_records; --",
                "DBU",
                MetricSource::Platform,
                d,
                1.0,
            ),
            "metric",
        ),
        (
            Measurement::new("a..b", "DBU", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new(".a", "DBU", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new("dbüs", "DBU", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new("a".repeat(101), "DBU", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new("ecosystem.calls", "calls", MetricSource::Platform, d, 1.0),
            "metric",
        ),
        (
            Measurement::new("datadog.calls", "calls", MetricSource::Ecosystem, d, 1.0),
            "metric",
        ),
        (
            Measurement::new("databricks.dbus", "", MetricSource::Platform, d, 1.0),
            "unit",
        ),
        (
            Measurement::new("databricks.dbus", " DBU", MetricSource::Platform, d, 1.0),
            "unit",
        ),
        (
            Measurement::new("databricks.dbus", "DBU\nx", MetricSource::Platform, d, 1.0),
            "unit",
        ),
        (
            Measurement::new(
                "databricks.dbus",
                "u".repeat(31),
                MetricSource::Platform,
                d,
                1.0,
            ),
            "unit",
        ),
        (
            Measurement::new(
                "databricks.dbus",
                "DBU",
                MetricSource::Platform,
                d,
                f64::NAN,
            ),
            "value",
        ),
        (
            Measurement::new(
                "databricks.dbus",
                "DBU",
                MetricSource::Platform,
                d,
                f64::INFINITY,
            ),
            "value",
        ),
        (
            Measurement::new("databricks.dbus", "DBU", MetricSource::Platform, d, -1.0),
            "value",
        ),
        (
            Measurement::new("databricks.dbus", "DBU", MetricSource::Platform, -1, 1.0),
            "day",
        ),
        (
            Measurement::new(
                "databricks.dbus",
                "DBU",
                MetricSource::Platform,
                MAX_DAY + 1,
                1.0,
            ),
            "day",
        ),
    ];
    for (m, field) in cases {
        let err = record_usage(
            conn,
            partner,
            &[dbus(d, 1.0), m.clone()],
            at("2026-11-20T00:00:00Z"),
        )
        .expect_err("refused");
        assert_eq!(err.field(), Some(field), "{m:?}: {err}");
        assert!(err.is_bad_input(), "{err}");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
    }
    // Values that overflow when summed.
    let err = fold(&[dbus(d, f64::MAX), dbus(d, f64::MAX)]).expect_err("overflow");
    assert_eq!(err.field(), Some("value"));
    // A platform's hostile metric name in a figure.
    let err = from_figures(
        PartnerKind::Datadog,
        &[figure(
            "Robert'); DROP TABLE--",
            "hosts",
            1.0,
            "2026-11-18T00:00:00Z",
            "2026-11-18T01:00:00Z",
        )],
    )
    .expect_err("refused");
    assert_eq!(err.field(), Some("metric"), "{err}");
    let all = DayRange::new(day("2026-11-01"), day("2026-11-30")).expect("range");
    assert!(
        stored(&registry, partner, all).is_empty(),
        "nothing was written"
    );
}

#[test]
fn an_unknown_partner_is_not_found() {
    let (registry, _) = registry_with_partner();
    let err = record_usage(
        registry.store().conn(),
        999,
        &[dbus(1, 1.0)],
        at("2026-11-20T00:00:00Z"),
    )
    .expect_err("no partner 999");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[test]
fn removing_a_partner_removes_its_usage() {
    let (mut registry, partner) = registry_with_partner();
    record_collection(
        registry.store().conn(),
        partner,
        DayRange::one(day("2026-11-18")),
        &[dbus(day("2026-11-18"), 1.0)],
        at("2026-11-20T00:00:00Z"),
    )
    .expect("recorded");
    registry.remove_partner("Lakehouse").expect("removed");
    let left: i64 = registry
        .store()
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM usage_records) + (SELECT count(*) FROM usage_collection)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
}
