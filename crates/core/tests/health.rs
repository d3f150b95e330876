//! Health model and history on real SQLite files: thresholds, holds, transitions, incidents,
//! uptime arithmetic, rollups against raw samples, retention, weekly maintenance windows
//! across a daylight-saving change, and the size of a raw sample on disk.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc, Weekday};
use ecosystem_core::health::*;
use ecosystem_core::health_state::HealthState;
use ecosystem_core::health_store::*;
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::maintenance::{self, Occurrence, Schedule};
use ecosystem_core::*;

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// A clock fixed at noon, 2025-06-15 UTC.
fn clock() -> FixedClock {
    FixedClock(t("2025-06-15T12:00:00Z"))
}

struct Db {
    _dir: tempfile::TempDir,
    registry: Registry,
    writer: HealthWriter,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecosystem.db");
        let registry = Registry::new(Store::open(&path).unwrap(), "tester", Arc::new(clock()));
        // The writer has a connection of its own, as the poller's writer task will.
        let writer = HealthWriter::new(Store::open(&path).unwrap());
        Db {
            _dir: dir,
            registry,
            writer,
        }
    }

    fn path(&self) -> &Path {
        self.registry.store().path()
    }

    fn partner(&mut self, name: &str, tier: Tier) -> u32 {
        let mut p = NewPartner::new(name, PartnerKind::Mlflow, "https://mlflow.example.com");
        p.tier = tier;
        self.registry.add_partner(&p).unwrap().id
    }

    fn record(&mut self, partner_id: u32, outcomes: Vec<CheckOutcome>) -> Vec<PartnerTransition> {
        let batch: Vec<PartnerOutcome> = outcomes
            .into_iter()
            .map(|outcome| PartnerOutcome {
                partner_id,
                outcome,
            })
            .collect();
        self.writer.record(&batch).unwrap()
    }

    fn history(&self) -> HealthHistory<'_> {
        HealthHistory::new(self.registry.store().conn())
    }
}

fn ok(at: DateTime<Utc>, ms: u32) -> CheckOutcome {
    CheckOutcome::ok(at, ms)
}

fn fail(at: DateTime<Utc>) -> CheckOutcome {
    CheckOutcome::failed(at, ErrorClass::TimedOut, "no answer within 10 s", 10_000)
}

/// Feeds outcomes to the pure machine; returns the final status and every transition.
fn run(thresholds: &Thresholds, outcomes: &[CheckOutcome]) -> (HealthStatus, Vec<Transition>) {
    let mut status = HealthStatus::default();
    let mut transitions = Vec::new();
    for o in outcomes {
        let (next, t) = apply_outcome(&status, o, None, thresholds);
        status = next;
        transitions.extend(t);
    }
    (status, transitions)
}

fn minutes(start: DateTime<Utc>, n: i64) -> impl Iterator<Item = DateTime<Utc>> {
    (0..n).map(move |i| start + Duration::minutes(i))
}

// ---------------------------------------------------------------------------------------
// The state machine

#[test]
fn a_partner_is_unknown_until_its_first_check_and_healthy_after_one_success() {
    let status = HealthStatus::default();
    assert_eq!(status.state, HealthState::Unknown, "unknown at first");
    let th = Thresholds::for_tier(Tier::Standard);
    let (status, transitions) = run(&th, &[ok(t("2025-06-15T10:00:00Z"), 120)]);
    assert_eq!(status.state, HealthState::Healthy, "one success is enough");
    assert_eq!(transitions.len(), 1, "one transition: {transitions:?}");
    assert_eq!(transitions[0].from, HealthState::Unknown);
    assert_eq!(transitions[0].at, t("2025-06-15T10:00:00Z"));
}

#[test]
fn fewer_than_n_failures_keep_the_state_and_n_make_it_unhealthy_for_every_tier() {
    for (tier, n) in [
        (Tier::Strategic, 2i64),
        (Tier::Premium, 3),
        (Tier::Standard, 3),
    ] {
        let th = Thresholds::for_tier(tier);
        assert_eq!(
            i64::from(th.failures_to_unhealthy),
            n,
            "default N of {tier}"
        );
        let start = t("2025-06-15T10:00:00Z");
        let mut outcomes = vec![ok(start, 100)];
        outcomes.extend(minutes(start + Duration::minutes(1), n - 1).map(fail));
        let (status, transitions) = run(&th, &outcomes);
        assert_eq!(
            status.state,
            HealthState::Healthy,
            "{tier}: {} failures are retrying, the state stays",
            n - 1
        );
        assert_eq!(
            status.consecutive_failures,
            (n - 1) as u32,
            "{tier}: counted"
        );
        assert_eq!(transitions.len(), 1, "{tier}: no transition while retrying");

        let nth = start + Duration::minutes(n);
        outcomes.push(fail(nth));
        let (status, transitions) = run(&th, &outcomes);
        assert_eq!(status.state, HealthState::Unhealthy, "{tier}: N failures");
        let last = transitions.last().unwrap();
        assert_eq!(
            (last.from, last.to, last.at, last.error_class),
            (
                HealthState::Healthy,
                HealthState::Unhealthy,
                nth,
                Some(ErrorClass::TimedOut)
            ),
            "{tier}: stamped with the N-th failure and its class"
        );
        assert!(
            last.reason.contains("no answer within 10 s"),
            "reason carries the failure: {}",
            last.reason
        );
    }
}

#[test]
fn m_consecutive_successes_recover_and_an_interrupted_streak_does_not() {
    let th = Thresholds::for_tier(Tier::Standard); // N = 3, M = 3
    let s = t("2025-06-15T10:00:00Z");
    let m = |i| s + Duration::minutes(i);
    let outcomes = vec![
        ok(m(0), 100),
        fail(m(1)),
        fail(m(2)),
        fail(m(3)), // unhealthy
        ok(m(4), 100),
        ok(m(5), 100),
        fail(m(6)), // streak broken: still unhealthy, no new transition
        ok(m(7), 100),
        ok(m(8), 100),
    ];
    let (status, transitions) = run(&th, &outcomes);
    assert_eq!(status.state, HealthState::Unhealthy, "2 of 3 successes");
    assert_eq!(transitions.len(), 2, "unknown→healthy→unhealthy only");

    let mut more = outcomes.clone();
    more.push(ok(m(9), 100));
    let (status, transitions) = run(&th, &more);
    assert_eq!(status.state, HealthState::Healthy, "M successes recover");
    let last = transitions.last().unwrap();
    assert_eq!((last.from, last.at), (HealthState::Unhealthy, m(9)));
    assert!(last.reason.contains("recovered"), "{}", last.reason);
}

#[test]
fn a_success_slower_than_the_tier_threshold_is_degraded() {
    let th = Thresholds::for_tier(Tier::Strategic);
    let s = t("2025-06-15T10:00:00Z");
    let at_bar = th.degraded_latency_ms;
    let (status, _) = run(&th, &[ok(s, at_bar)]);
    assert_eq!(
        status.state,
        HealthState::Healthy,
        "at the threshold: healthy"
    );
    let (status, transitions) = run(&th, &[ok(s, 100), ok(s + Duration::minutes(1), at_bar + 1)]);
    assert_eq!(status.state, HealthState::Degraded, "above it: degraded");
    assert!(
        transitions[1].reason.contains("latency"),
        "{}",
        transitions[1].reason
    );
    let premium = Thresholds::for_tier(Tier::Premium);
    let (status, _) = run(&premium, &[ok(s, at_bar + 1)]);
    assert_eq!(
        status.state,
        HealthState::Healthy,
        "the premium bar is higher than the strategic one"
    );
}

#[test]
fn slow_and_capability_failing_hints_are_degraded_and_a_fast_ok_heals_them() {
    let th = Thresholds::for_tier(Tier::Premium);
    let s = t("2025-06-15T10:00:00Z");
    let hint = |at, state_hint| CheckOutcome {
        at,
        state_hint,
        latency_ms: 80,
    };
    let (status, _) = run(&th, &[hint(s, CheckHint::Slow)]);
    assert_eq!(status.state, HealthState::Degraded, "slow hint");
    let (status, _) = run(
        &th,
        &[
            hint(
                s,
                CheckHint::CapabilityFailing {
                    reason: "model registry returns 500".into(),
                },
            ),
            ok(s + Duration::minutes(1), 80),
        ],
    );
    assert_eq!(
        status.state,
        HealthState::Healthy,
        "degraded follows each success"
    );
}

#[test]
fn paused_and_maintenance_suppress_unhealthy_and_release_to_what_checks_say() {
    let th = Thresholds::for_tier(Tier::Strategic);
    let s = t("2025-06-15T10:00:00Z");
    let m = |i| s + Duration::minutes(i);
    for hold in [Hold::Paused, Hold::Maintenance] {
        let (healthy, _) = run(&th, &[ok(m(0), 100)]);
        let (held, start) = apply_hold(&healthy, Some(hold), m(1));
        assert_eq!(held.state, hold.state(), "{hold:?} shown");
        assert_eq!(start.map(|t| t.to), Some(hold.state()));
        let mut status = held;
        for i in 2..6 {
            let (next, transition) = apply_outcome(&status, &fail(m(i)), Some(hold), &th);
            assert_eq!(transition, None, "{hold:?}: no transition from failures");
            status = next;
        }
        assert_eq!(status.state, hold.state(), "{hold:?} still shown");
        assert_eq!(
            status.observed,
            HealthState::Unhealthy,
            "but checks counted"
        );
        let (released, transition) = apply_hold(&status, None, m(7));
        let transition = transition.unwrap();
        assert_eq!(
            (released.state, transition.from, transition.error_class),
            (
                HealthState::Unhealthy,
                hold.state(),
                Some(ErrorClass::TimedOut)
            ),
            "{hold:?}: released into what the checks say"
        );
        assert!(
            transition.reason.contains("checks say unhealthy"),
            "{}",
            transition.reason
        );
    }
}

// ---------------------------------------------------------------------------------------
// Storage

#[test]
fn transitions_are_persisted_and_incidents_derived_from_them() {
    let mut db = Db::new();
    let id = db.partner("mlflow-prod", Tier::Strategic);
    let s = t("2025-06-15T08:00:00Z");
    let m = |i| s + Duration::minutes(i);
    let mut produced = db.record(id, vec![ok(m(0), 90), fail(m(1)), fail(m(2))]);
    produced.extend(db.record(id, vec![ok(m(30), 90), ok(m(31), 95)]));
    produced.extend(db.record(id, vec![fail(m(60)), fail(m(61))]));
    let states: Vec<_> = produced.iter().map(|p| p.transition.to).collect();
    assert_eq!(
        states,
        [
            HealthState::Healthy,
            HealthState::Unhealthy,
            HealthState::Healthy,
            HealthState::Unhealthy
        ],
        "the writer returns the transitions it stored"
    );
    assert_eq!(
        produced[0].partner, "mlflow-prod",
        "named for notifications"
    );

    let now = clock().now();
    let history = db.history();
    let stored = history.transitions(id, s - Duration::days(1), now).unwrap();
    assert_eq!(stored.len(), 4, "all persisted");
    let incidents = history.incidents(id, s - Duration::days(1), now).unwrap();
    assert_eq!(incidents.len(), 2, "{incidents:?}");
    assert_eq!(
        (
            incidents[0].start,
            incidents[0].end,
            incidents[0].duration_secs
        ),
        (m(2), Some(m(31)), 29 * 60),
        "first incident: from the N-th failure to the M-th success"
    );
    assert!(!incidents[0].ongoing);
    assert_eq!(incidents[0].error_class, Some(ErrorClass::TimedOut));
    assert!(incidents[1].ongoing, "the second goes on");
    assert_eq!(incidents[1].duration_secs, (now - m(61)).num_seconds());

    let clipped = history.incidents(id, m(10), now).unwrap();
    assert_eq!(
        clipped[0].start,
        m(2),
        "an incident that began before the range is listed whole"
    );
    let current = history.current(id).unwrap();
    assert_eq!(
        (current.state, current.since, current.error_class),
        (
            HealthState::Unhealthy,
            Some(m(61)),
            Some(ErrorClass::TimedOut)
        ),
        "current state and since when"
    );
    assert!(current.reason.unwrap().contains("2 consecutive failed"));
}

#[test]
fn a_follower_sees_every_partners_changes_in_order_from_its_cursor() {
    let mut db = Db::new();
    let a = db.partner("alpha", Tier::Strategic);
    let b = db.partner("beta", Tier::Standard);
    assert_eq!(db.history().last_change_id().unwrap(), 0, "no change yet");
    let s = t("2025-06-15T08:00:00Z");
    let m = |i| s + Duration::minutes(i);
    db.record(a, vec![ok(m(0), 90)]);
    let cursor = db.history().last_change_id().unwrap();
    assert!(cursor > 0);
    db.record(b, vec![ok(m(1), 90)]);
    db.record(a, vec![fail(m(2)), fail(m(3))]);

    let changes = db.history().changes_after(cursor, 100).unwrap();
    let seen: Vec<(&str, HealthState)> = changes
        .iter()
        .map(|(_, c)| (c.partner.as_str(), c.transition.to))
        .collect();
    assert_eq!(
        seen,
        [
            ("beta", HealthState::Healthy),
            ("alpha", HealthState::Unhealthy)
        ],
        "only what came after the cursor, in recording order"
    );
    assert_eq!(changes[1].1.partner_id, a);
    assert!(changes[0].0 < changes[1].0, "ids are the next cursors");
    let limited = db.history().changes_after(cursor, 1).unwrap();
    assert_eq!(limited.len(), 1);
    let rest = db.history().changes_after(limited[0].0, 100).unwrap();
    assert_eq!(rest.len(), 1, "going on from the last id gives the rest");
    assert_eq!(db.history().last_change_id().unwrap(), changes[1].0);
}

#[test]
fn a_partner_never_checked_is_unknown_with_no_uptime() {
    let mut db = Db::new();
    let id = db.partner("snowflake", Tier::Premium);
    let history = db.history();
    let current = history.current(id).unwrap();
    assert_eq!((current.state, current.since), (HealthState::Unknown, None));
    let uptime = history.uptime_windows(id, clock().now()).unwrap();
    assert_eq!(
        uptime,
        UptimeWindows::default(),
        "null everywhere: {uptime:?}"
    );
}

#[test]
fn the_overview_gives_every_partner_its_state_in_name_order() {
    let mut db = Db::new();
    let checked = db.partner("b-checked", Tier::Standard);
    db.partner("a-never-checked", Tier::Standard);
    db.record(checked, vec![ok(t("2026-11-26T08:00:00Z"), 20)]);
    let overview = db.history().overview().unwrap();
    let seen: Vec<(&str, HealthState, Option<&str>)> = overview
        .iter()
        .map(|b| (b.partner.as_str(), b.state, b.since.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a-never-checked", HealthState::Unknown, None),
            (
                "b-checked",
                HealthState::Healthy,
                Some("2026-11-26T08:00:00+00:00")
            ),
        ]
    );
}

#[test]
fn uptime_is_time_weighted_and_windows_clip_incidents_and_skip_maintenance() {
    let mut db = Db::new();
    let id = db.partner("databricks", Tier::Strategic); // N = 2, M = 2
    let now = clock().now();
    let h = |hours: i64| now - Duration::hours(hours);
    db.record(id, vec![ok(h(240), 100)]); // healthy from 10 days ago
                                          // Unhealthy from 25 h ago to 23 h ago: the 24 h window sees 1 h of it.
    db.record(id, vec![fail(h(25) - Duration::minutes(1)), fail(h(25))]);
    db.record(
        id,
        vec![ok(h(23) - Duration::minutes(1), 100), ok(h(23), 100)],
    );
    // One hour of maintenance 5 h ago: not counted either way.
    db.writer.set_maintenance(id, true, h(5)).unwrap();
    db.writer.set_maintenance(id, false, h(4)).unwrap();

    let history = db.history();
    let u = history.uptime_windows(id, now).unwrap();
    let close = |got: Option<f64>, want: f64, what: &str| {
        let got = got.unwrap_or_else(|| panic!("{what}: no value"));
        assert!((got - want).abs() < 1e-9, "{what}: {got} ≠ {want}");
    };
    close(u.h24, 100.0 * 22.0 / 23.0, "24h: 1 h down of 23 h counted");
    close(u.d7, 100.0 * 165.0 / 167.0, "7d: 2 h down of 167 h counted");
    close(
        u.d30,
        100.0 * 237.0 / 239.0,
        "30d: unknown before the first check is left out",
    );
    assert_eq!(u.d30, u.y1, "nothing older than 10 days");
    close(
        history.uptime(id, h(30), h(20)).unwrap(),
        80.0,
        "an arbitrary range: 2 h of 10",
    );
    assert_eq!(
        history.uptime(id, h(5), h(4)).unwrap(),
        None,
        "a range all in maintenance has no uptime"
    );
}

#[test]
fn rollups_agree_with_raw_samples() {
    let mut db = Db::new();
    let id = db.partner("datadog", Tier::Standard);
    let start = t("2025-06-15T06:00:00Z");
    // A deterministic mix over 5 hours: fast, slow, very slow, failed.
    let mut seed = 42u64;
    let mut outcomes = Vec::new();
    for i in 0..(5 * 60 * 2) {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let r = (seed >> 33) % 100;
        let at = start + Duration::seconds(30 * i);
        outcomes.push(match r {
            0..=79 => ok(at, 40 + (r as u32) * 3),
            80..=89 => ok(at, 800 + (r as u32) * 10),
            90..=94 => ok(at, 3_500 + (r as u32) * 100),
            _ => fail(at),
        });
    }
    for chunk in outcomes.chunks(37) {
        db.record(id, chunk.to_vec());
    }
    // A duplicate of an already stored check is not counted twice.
    db.record(id, vec![outcomes[5].clone()]);

    let conn = db.registry.store().conn();
    for res in Resolution::ALL {
        let step = res.seconds();
        let mut raw = conn
            .prepare(
                "SELECT at / ?2 * ?2, count(*),
                        sum(outcome = 0), sum(outcome IN (1, 2)), sum(outcome >= 16),
                        coalesce(sum(CASE WHEN outcome < 16 THEN latency_ms END), 0),
                        coalesce(max(CASE WHEN outcome < 16 THEN latency_ms END), 0)
                 FROM health_samples WHERE partner_id = ?1 GROUP BY 1 ORDER BY 1",
            )
            .unwrap();
        let expected: Vec<(i64, u64, u64, u64, u64, u64, u64)> = raw
            .query_map(rusqlite::params![id, step], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                    r.get::<_, i64>(4)? as u64,
                    r.get::<_, i64>(5)? as u64,
                    r.get::<_, i64>(6)? as u64,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let rollups = db
            .history()
            .rollups(
                id,
                res,
                start - Duration::days(1),
                start + Duration::days(1),
            )
            .unwrap();
        let got: Vec<_> = rollups
            .iter()
            .map(|r| {
                (
                    r.start.timestamp(),
                    r.checks,
                    r.ok,
                    r.degraded,
                    r.failed,
                    r.latency_sum_ms,
                    r.latency_max_ms,
                )
            })
            .collect();
        assert_eq!(got, expected, "{res:?} rollups = raw samples grouped");
        let hist_total: u64 = rollups.iter().flat_map(|r| r.histogram).sum();
        let successes: u64 = rollups.iter().map(|r| r.ok + r.degraded).sum();
        assert_eq!(
            hist_total, successes,
            "{res:?}: histogram counts each success"
        );
    }
    assert_eq!(
        db.history()
            .samples(id, start, start + Duration::hours(6))
            .unwrap()
            .len(),
        outcomes.len(),
        "one sample per check"
    );

    // The estimate from the histogram lands in the same bin as the exact percentile.
    let now = start + Duration::hours(5);
    let exact = db.history().latency(id, start, now, now).unwrap();
    let estimate = db
        .history()
        .latency(id, start - Duration::days(2), now, now)
        .unwrap();
    assert!(!exact.estimated && estimate.estimated);
    assert_eq!(exact.checks, estimate.checks, "same successful checks");
    let bin = |v: u32| LATENCY_BUCKETS_MS.iter().position(|b| v <= *b);
    for (what, e, x) in [
        ("p50", exact.p50, estimate.p50),
        ("p95", exact.p95, estimate.p95),
    ] {
        let (e, x) = (e.unwrap(), x.unwrap());
        assert_eq!(bin(e), bin(x), "{what}: exact {e} ms, estimated {x} ms");
    }
}

#[test]
fn retention_deletes_exactly_what_is_past_its_horizon_and_keeps_transitions() {
    let mut db = Db::new();
    let id = db.partner("kubeflow", Tier::Strategic);
    let now = clock().now();
    // Every 10 minutes for 100 days, with a 20-minute outage each day at 03:00.
    let start = now - Duration::days(100);
    let outcomes: Vec<CheckOutcome> = (0..100 * 144)
        .map(|i| {
            let at = start + Duration::minutes(10 * i);
            if (i % 144) == 18 || (i % 144) == 19 {
                fail(at)
            } else {
                ok(at, 120)
            }
        })
        .collect();
    for chunk in outcomes.chunks(500) {
        db.record(id, chunk.to_vec());
    }
    let conn = db.registry.store().conn();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let ts = now.timestamp();
    let samples_old = count(&format!(
        "SELECT count(*) FROM health_samples WHERE at < {}",
        ts - 3 * 86_400
    ));
    let samples_all = count("SELECT count(*) FROM health_samples");
    let minutes_old = count(&format!(
        "SELECT count(*) FROM health_rollups WHERE resolution = 60 AND bucket + 60 <= {}",
        ts - 86_400
    ));
    let hours_old = count(&format!(
        "SELECT count(*) FROM health_rollups WHERE resolution = 3600 AND bucket + 3600 <= {}",
        ts - 90 * 86_400
    ));
    let days = count("SELECT count(*) FROM health_rollups WHERE resolution = 86400");
    let transitions = count("SELECT count(*) FROM health_transitions");
    assert!(
        samples_old > 0 && minutes_old > 0 && hours_old > 0,
        "something to delete"
    );
    assert_eq!(transitions, 1 + 2 * 100, "first healthy + an outage a day");

    let report = db.writer.run_retention(now, &Retention::default()).unwrap();
    assert_eq!(
        report.samples_deleted, samples_old as u64,
        "raw samples older than 3 days"
    );
    assert_eq!(
        report.minute_rollups_deleted, minutes_old as u64,
        "minute rollups past 24 h"
    );
    assert_eq!(
        report.hour_rollups_deleted, hours_old as u64,
        "hour rollups past 90 days"
    );
    assert_eq!(
        count("SELECT count(*) FROM health_samples"),
        samples_all - samples_old,
        "newer samples kept"
    );
    let oldest = count(&format!(
        "SELECT min(at) FROM health_samples WHERE partner_id = {id}"
    ));
    assert!(
        oldest >= ts - 3 * 86_400,
        "nothing older than 3 days remains"
    );
    assert_eq!(
        count("SELECT count(*) FROM health_rollups WHERE resolution = 86400"),
        days,
        "day rollups kept"
    );
    assert_eq!(
        count("SELECT count(*) FROM health_transitions"),
        transitions,
        "transitions kept forever"
    );
    assert_eq!(
        db.history().incidents(id, start, now).unwrap().len(),
        100,
        "incidents still derivable from transitions"
    );
    println!("retention: {report:?}");
    assert!(
        report.pages_freed > 10,
        "freed pages given back: {report:?}"
    );
    let free: i64 = conn
        .pragma_query_value(None, "freelist_count", |r| r.get(0))
        .unwrap();
    assert_eq!(
        free, 0,
        "no free page left in the file after incremental_vacuum"
    );
    let again = db.writer.run_retention(now, &Retention::default()).unwrap();
    assert_eq!(
        (
            again.samples_deleted,
            again.minute_rollups_deleted,
            again.hour_rollups_deleted
        ),
        (0, 0, 0),
        "a second run finds nothing"
    );
}

#[test]
fn the_history_settings_change_what_the_retention_run_keeps() {
    let mut db = Db::new();
    let id = db.partner("kubeflow", Tier::Strategic);
    let now = clock().now();
    // One check an hour for 200 days.
    let start = now - Duration::days(200);
    let outcomes: Vec<CheckOutcome> = (0..200 * 24)
        .map(|i| ok(start + Duration::hours(i), 120))
        .collect();
    for chunk in outcomes.chunks(500) {
        db.record(id, chunk.to_vec());
    }
    let count = |db: &Db, sql: &str| -> i64 {
        db.registry
            .store()
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let oldest_sample = |db: &Db| count(db, "SELECT min(at) FROM health_samples");
    let oldest_hour = |db: &Db| {
        count(
            db,
            "SELECT min(bucket) FROM health_rollups WHERE resolution = 3600",
        )
    };
    let ts = now.timestamp();

    assert_eq!(
        db.writer.configured_retention().unwrap(),
        Retention::default()
    );
    db.registry.set_setting("history.raw_days", "10").unwrap();
    db.registry
        .set_setting("history.hour_rollup_days", "150")
        .unwrap();
    let retention = db.writer.configured_retention().unwrap();
    assert_eq!(
        (retention.raw_sample_days, retention.hour_rollup_days),
        (10, 150),
        "the writer reads the stored settings"
    );
    db.writer.run_retention(now, &retention).unwrap();
    assert_eq!(
        oldest_sample(&db),
        ts - 10 * 86_400,
        "10 days of samples kept"
    );
    assert_eq!(
        oldest_hour(&db),
        ts - 150 * 86_400,
        "150 days of hour rollups kept"
    );

    // Shorter periods, changed in the workspace: the next run reads them and removes more.
    db.registry.set_setting("history.raw_days", "4").unwrap();
    db.registry
        .set_setting("history.hour_rollup_days", "120")
        .unwrap();
    let retention = db.writer.configured_retention().unwrap();
    let report = db.writer.run_retention(now, &retention).unwrap();
    assert_eq!(
        report.samples_deleted,
        6 * 24,
        "the 6 days past the new horizon"
    );
    assert_eq!(report.hour_rollups_deleted, 30 * 24);
    assert_eq!(oldest_sample(&db), ts - 4 * 86_400);
    assert_eq!(oldest_hour(&db), ts - 120 * 86_400);

    // Below the minimum the charts need: refused, naming the setting; nothing stored changes.
    let err = db
        .registry
        .set_setting("history.raw_days", "1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("history.raw_days"), "{err}");
    assert_eq!(db.writer.configured_retention().unwrap().raw_sample_days, 4);
}

#[test]
fn pruning_on_demand_applies_the_settings_partner_by_partner_and_is_audited() {
    let mut db = Db::new();
    let ids = [
        db.partner("kubeflow", Tier::Strategic),
        db.partner("mlflow", Tier::Standard),
    ];
    let now = clock().now();
    // One check an hour for 200 days, each partner.
    let start = now - Duration::days(200);
    for id in ids {
        let outcomes: Vec<CheckOutcome> = (0..200 * 24)
            .map(|i| ok(start + Duration::hours(i), 120))
            .collect();
        for chunk in outcomes.chunks(500) {
            db.record(id, chunk.to_vec());
        }
    }
    let count = |db: &Db, sql: &str| -> i64 {
        db.registry
            .store()
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let days = count(
        &db,
        "SELECT sum(checks) FROM health_rollups WHERE resolution = 86400",
    );
    db.registry.set_setting("history.raw_days", "10").unwrap();

    let report = db.registry.prune_history().unwrap();
    assert_eq!((report.raw_days, report.hour_rollup_days), (10, 90));
    assert_eq!(report.partners, 2);
    assert_eq!(report.samples_before, now - Duration::days(10));
    assert_eq!(report.hour_rollups_before, now - Duration::days(90));
    assert_eq!(
        report.removed.samples_deleted,
        2 * 190 * 24,
        "190 days of samples past 10 days, each partner"
    );
    assert_eq!(report.removed.hour_rollups_deleted, 2 * 110 * 24);
    assert!(report.removed.minute_rollups_deleted > 0, "{report:?}");
    let ts = now.timestamp();
    assert_eq!(
        count(&db, "SELECT min(at) FROM health_samples"),
        ts - 10 * 86_400
    );
    assert_eq!(
        count(
            &db,
            "SELECT sum(checks) FROM health_rollups WHERE resolution = 86400"
        ),
        days,
        "day rollups kept"
    );
    let audit = db.registry.audit_log(None, 1).unwrap();
    assert_eq!(audit[0].action, PRUNE_ACTION);
    assert_eq!(audit[0].actor, "tester");
    let detail: serde_json::Value =
        serde_json::from_str(audit[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["raw_days"], 10);
    assert_eq!(detail["partners"], 2);

    let again = db.registry.prune_history().unwrap();
    assert_eq!(
        (
            again.removed.samples_deleted,
            again.removed.minute_rollups_deleted,
            again.removed.hour_rollups_deleted
        ),
        (0, 0, 0),
        "a second run finds nothing"
    );
}

// ---------------------------------------------------------------------------------------
// Maintenance windows

fn berlin_sundays() -> Schedule {
    Schedule::weekly(&[Weekday::Sun], "02:00", 2 * 3_600, "Europe/Berlin").unwrap()
}

#[test]
fn a_weekly_berlin_window_stays_at_local_two_to_four_across_the_dst_change() {
    let schedule = berlin_sundays();
    let got = schedule.occurrences(t("2025-03-20T00:00:00Z"), t("2025-04-10T00:00:00Z"));
    let want = [
        // Winter time (UTC+1): local 02:00–04:00 is 01:00–03:00 UTC.
        ("2025-03-23T01:00:00Z", "2025-03-23T03:00:00Z"),
        // The night of the change (02:00 → 03:00): local 02:00 does not exist and is read as
        // 03:00 summer time; the window still ends at local 04:00.
        ("2025-03-30T01:00:00Z", "2025-03-30T02:00:00Z"),
        // Summer time (UTC+2): 00:00–02:00 UTC.
        ("2025-04-06T00:00:00Z", "2025-04-06T02:00:00Z"),
    ]
    .map(|(s, e)| Occurrence {
        start: t(s),
        end: t(e),
    });
    assert_eq!(got, want, "spring");

    let autumn = schedule.occurrences(t("2025-10-18T00:00:00Z"), t("2025-11-03T00:00:00Z"));
    let want = [
        ("2025-10-19T00:00:00Z", "2025-10-19T02:00:00Z"),
        // 03:00 summer → 02:00 winter: 02:00 is the first (summer) one, 04:00 is winter time.
        ("2025-10-26T00:00:00Z", "2025-10-26T03:00:00Z"),
        ("2025-11-02T01:00:00Z", "2025-11-02T03:00:00Z"),
    ]
    .map(|(s, e)| Occurrence {
        start: t(s),
        end: t(e),
    });
    assert_eq!(autumn, want, "autumn");
    assert!(schedule.is_open_at(t("2025-04-06T01:59:59Z")));
    assert!(
        !schedule.is_open_at(t("2025-04-06T02:00:00Z")),
        "end is exclusive"
    );
    assert!(
        !schedule.is_open_at(t("2025-04-06T02:30:00Z")),
        "03:30 Berlin"
    );
}

#[test]
fn a_bad_weekly_window_is_refused_naming_the_field() {
    let err = Schedule::weekly(&[Weekday::Mon], "02:00", 3_600, "Europe/Berlinn").unwrap_err();
    assert_eq!(err.field(), Some("time_zone"), "{err}");
    let err = Schedule::weekly(&[Weekday::Mon], "25:00", 3_600, "UTC").unwrap_err();
    assert_eq!(err.field(), Some("start"), "{err}");
    let err = Schedule::weekly(&[], "02:00", 3_600, "UTC").unwrap_err();
    assert_eq!(err.field(), Some("days"), "{err}");
}

#[test]
fn checks_inside_a_stored_weekly_window_are_maintenance_not_unhealthy() {
    let mut db = Db::new();
    let id = db.partner("mlflow-eu", Tier::Strategic);
    let other = db.partner("other", Tier::Strategic);
    maintenance::add_window(
        db.registry.store().conn(),
        Some(id),
        "Sunday patching",
        &berlin_sundays(),
        clock().now(),
    )
    .unwrap();
    let stored = maintenance::windows_for(db.registry.store().conn(), id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].schedule,
        berlin_sundays(),
        "round-trips through the table"
    );
    assert!(
        maintenance::windows_for(db.registry.store().conn(), other)
            .unwrap()
            .is_empty(),
        "not another partner's"
    );

    // Summer Sunday: the window is 00:00–02:00 UTC.
    let m = |hh: u32, mm: u32| t(&format!("2025-04-06T{hh:02}:{mm:02}:00Z"));
    let produced = db.record(
        id,
        vec![
            ok(t("2025-04-05T23:00:00Z"), 100), // the evening before: healthy
            fail(m(0, 10)),
            fail(m(0, 20)),
            fail(m(1, 30)),
            fail(m(2, 0)), // after the window, the failures count
        ],
    );
    let states: Vec<_> = produced.iter().map(|p| p.transition.to).collect();
    assert_eq!(
        states,
        [
            HealthState::Healthy,
            HealthState::Maintenance,
            HealthState::Unhealthy
        ],
        "maintenance while the window is open, unhealthy right after: {produced:?}"
    );
    assert_eq!(produced[2].transition.at, m(2, 0));
    assert_eq!(produced[2].transition.from, HealthState::Maintenance);

    // Opening by tick, with no check: the poller calls sync_maintenance.
    let next_sunday = t("2025-04-13T00:00:30Z");
    let opened = db.writer.sync_maintenance(next_sunday).unwrap();
    assert_eq!(
        opened.len(),
        1,
        "only the partner with the window: {opened:?}"
    );
    assert_eq!(opened[0].transition.to, HealthState::Maintenance);
}

#[test]
fn reads_on_their_own_connection_are_not_blocked_by_an_open_write() {
    let mut db = Db::new();
    let id = db.partner("snowflake", Tier::Premium);
    db.record(id, vec![ok(t("2025-06-15T10:00:00Z"), 100)]);
    // The reader is opened first: opening sets pragmas that wait for the write lock.
    let reader = Store::open(db.path()).unwrap();
    let mut writer_conn = Store::open(db.path()).unwrap();
    let tx = writer_conn
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute(
        "INSERT INTO health_samples (partner_id, at, latency_ms, outcome) VALUES (?1, ?2, 5, 0)",
        rusqlite::params![id, t("2025-06-15T10:01:00Z").timestamp()],
    )
    .unwrap();
    // The write lock is held; the reader still answers at once, with the committed state.
    reader
        .conn()
        .busy_timeout(std::time::Duration::ZERO)
        .unwrap();
    let history = HealthHistory::new(reader.conn());
    let samples = history
        .samples(id, t("2025-06-15T00:00:00Z"), t("2025-06-16T00:00:00Z"))
        .unwrap();
    assert_eq!(samples.len(), 1, "the uncommitted sample is not seen");
    assert_eq!(history.current(id).unwrap().state, HealthState::Healthy);
    tx.commit().unwrap();
}

// ---------------------------------------------------------------------------------------
// Size and speed (numbers are printed; only a generous size bound is asserted)

#[test]
fn a_raw_sample_takes_well_under_fifty_bytes_on_disk() {
    let mut db = Db::new();
    let ids: Vec<u32> = (0..10)
        .map(|i| db.partner(&format!("partner-{i}"), Tier::Standard))
        .collect();
    // 10 partners checked every minute, written per tick as the poller does: 100,000 samples.
    let start = t("2025-06-01T00:00:00Z");
    let mut batch = Vec::new();
    for minute in 0..10_000i64 {
        for (n, id) in ids.iter().enumerate() {
            let at = start + Duration::minutes(minute) + Duration::seconds(n as i64);
            let latency = 50 + ((minute * 7 + n as i64 * 13) % 400) as u32;
            let outcome = if minute % 97 == 0 {
                fail(at)
            } else {
                ok(at, latency)
            };
            batch.push(PartnerOutcome {
                partner_id: *id,
                outcome,
            });
        }
        if batch.len() >= 1_000 {
            db.writer.record(&batch).unwrap();
            batch.clear();
        }
    }
    db.writer.record(&batch).unwrap();
    let conn = db.registry.store().conn();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM health_samples", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 100_000);
    let (bytes, payload): (i64, i64) = conn
        .query_row(
            "SELECT sum(pgsize), sum(payload) FROM dbstat WHERE name = 'health_samples'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let per_sample = bytes as f64 / rows as f64;
    let file = std::fs::metadata(db.path()).unwrap().len();
    println!(
        "health_samples: {rows} rows, {bytes} bytes in pages ({per_sample:.1} bytes/sample, \
         {:.1} bytes of payload/sample); whole file {file} bytes with rollups and transitions",
        payload as f64 / rows as f64
    );
    assert!(
        per_sample < 50.0,
        "a raw sample should take under 50 bytes on disk, took {per_sample:.1}"
    );
}

#[test]
fn a_year_of_history_loads_from_rollups_and_transitions() {
    let mut db = Db::new();
    let id = db.partner("year", Tier::Strategic);
    let now = clock().now();
    let start = now - Duration::days(365);
    // Every 15 minutes for a year; an outage of 45 minutes every 3 days.
    let outcomes: Vec<CheckOutcome> = (0..365 * 96)
        .map(|i| {
            let at = start + Duration::minutes(15 * i);
            if i % 288 < 3 {
                fail(at)
            } else {
                ok(at, 80 + (i % 50) as u32)
            }
        })
        .collect();
    for chunk in outcomes.chunks(2_000) {
        db.record(id, chunk.to_vec());
    }
    db.writer.run_retention(now, &Retention::default()).unwrap();
    db.registry.store().conn().execute_batch("ANALYZE").unwrap();

    let began = std::time::Instant::now();
    let report = db.history().report(id, "year", start, now).unwrap();
    let took = began.elapsed();
    println!("a year of history for one partner loaded in {took:?}");
    let Series::Rollups(rows) = &report.series else {
        panic!("a year is drawn from rollups");
    };
    assert!(
        rows.iter().all(|r| r.resolution == Resolution::Day) && (365..=366).contains(&rows.len()),
        "day rollups for a year: {}",
        rows.len()
    );
    assert!(report.latency_ms.estimated, "latency from histograms");
    assert!(
        (120..=123).contains(&report.incidents.len()),
        "an incident every 3 days: {}",
        report.incidents.len()
    );
    let y1 = report.uptime.y1.unwrap();
    assert!(
        (98.0..99.9).contains(&y1),
        "about 30 min down of each 3 days: {y1}"
    );

    let plan: Vec<String> = db
        .registry
        .store()
        .conn()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id, at FROM health_transitions
             WHERE partner_id = ?1 AND at > ?2 AND at <= ?3 ORDER BY at, id",
        )
        .unwrap()
        .query_map([1, 2, 3], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter()
            .any(|p| p.starts_with("SEARCH") && p.contains("INDEX health_transitions_by_partner")),
        "transitions are read by index: {plan:?}"
    );
}
