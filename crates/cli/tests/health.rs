//! `ecosystem health` (the real binary) on a database seeded through the core API: the
//! writer records checks as the poller will, the CLI reads them back.

use std::path::PathBuf;

use chrono::{DateTime, Duration, DurationRound, Utc};
use ecosystem_core::health::CheckOutcome;
use ecosystem_core::health_store::{HealthWriter, PartnerOutcome};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::{NewPartner, PartnerKind, Registry, Store, Tier};

mod common;
use common::{json, ok, run};

struct Seeded {
    _dir: tempfile::TempDir,
    db: PathBuf,
    /// When the checks were stamped (whole minutes, before the CLI runs).
    now: DateTime<Utc>,
}

/// Two strategic partners (N = 2, M = 2): `mlflow-prod` was healthy 3 h ago, unhealthy from
/// 2 h ago (second failure at -1h59m) until -59m (second success), healthy since; `quiet` has
/// never been checked.
fn seed() -> Seeded {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ecosystem.db");
    let mut registry = Registry::open(&db).expect("open registry");
    let mut ids = Vec::new();
    for name in ["mlflow-prod", "quiet"] {
        let mut p = NewPartner::new(name, PartnerKind::Mlflow, "https://mlflow.example.com");
        p.tier = Tier::Strategic;
        ids.push(registry.add_partner(&p).expect("add partner").id);
    }
    let now = Utc::now()
        .duration_trunc(Duration::minutes(1))
        .expect("whole minute");
    let at = |minutes_ago: i64| now - Duration::minutes(minutes_ago);
    let failed = |m| CheckOutcome::failed(at(m), ErrorClass::Unreachable, "connection refused", 3);
    let outcomes = [
        CheckOutcome::ok(at(180), 120),
        failed(120),
        failed(119),
        CheckOutcome::ok(at(60), 140),
        CheckOutcome::ok(at(59), 160),
    ];
    let mut writer = HealthWriter::new(Store::open(&db).expect("open writer"));
    let batch: Vec<PartnerOutcome> = outcomes
        .into_iter()
        .map(|outcome| PartnerOutcome {
            partner_id: ids[0],
            outcome,
        })
        .collect();
    let transitions = writer.record(&batch).expect("record");
    assert_eq!(
        transitions.len(),
        3,
        "healthy, unhealthy, healthy: {transitions:?}"
    );
    Seeded { _dir: dir, db, now }
}

#[test]
fn health_json_shows_state_uptime_latency_incidents_and_samples() {
    let s = seed();
    let v = json(&s.db, &["health", "mlflow-prod", "--format", "json"]);
    assert_eq!(v["partner"], "mlflow-prod", "{v}");
    assert_eq!(v["state"], "healthy", "{v}");
    let since: DateTime<Utc> = v["since"].as_str().expect("since").parse().expect("a time");
    assert_eq!(
        since,
        s.now - Duration::minutes(59),
        "since the M-th success"
    );
    assert!(
        v["reason"].as_str().unwrap_or("").contains("recovered"),
        "{}",
        v["reason"]
    );
    // 60 minutes down out of the 3 h (and a bit, while the test runs) since the first check.
    for window in ["24h", "7d", "30d", "90d", "1y"] {
        let u = v["uptime"][window]
            .as_f64()
            .unwrap_or_else(|| panic!("uptime {window}: {}", v["uptime"]));
        assert!(
            (65.0..67.0).contains(&u),
            "uptime {window}: {u} ≈ 100 × 120/180"
        );
    }
    assert_eq!(v["latency_ms"]["p50"], 140, "{}", v["latency_ms"]);
    assert_eq!(v["latency_ms"]["p95"], 160, "{}", v["latency_ms"]);
    let incidents = v["incidents"].as_array().expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(
        incidents[0]["duration_secs"],
        60 * 60,
        "from -119 to -59 min"
    );
    assert_eq!(incidents[0]["ongoing"], false);
    assert_eq!(incidents[0]["error_class"], "unreachable");
    let samples = v["samples"].as_array().expect("samples for 24h");
    assert_eq!(samples.len(), 5, "every check: {samples:?}");
    assert_eq!(samples[1]["outcome"], "failed");
    assert!(v.get("rollups").is_none(), "samples or rollups, not both");
}

#[test]
fn a_long_range_is_drawn_from_rollups_and_a_partner_never_checked_has_null_uptime() {
    let s = seed();
    let v = json(
        &s.db,
        &[
            "health",
            "mlflow-prod",
            "--since",
            "30d",
            "--format",
            "json",
        ],
    );
    let rollups = v["rollups"].as_array().expect("rollups for 30 days");
    let checks: u64 = rollups
        .iter()
        .map(|r| r["checks"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(checks, 5, "every check counted once: {rollups:?}");
    assert_eq!(rollups[0]["resolution"], "hour");
    assert!(v.get("samples").is_none());

    let q = json(&s.db, &["health", "quiet", "--format", "json"]);
    assert_eq!(q["state"], "unknown");
    assert!(q["since"].is_null(), "{q}");
    for window in ["24h", "7d", "30d", "90d", "1y"] {
        assert!(
            q["uptime"][window].is_null(),
            "no data → null: {}",
            q["uptime"]
        );
    }
    assert!(q["latency_ms"]["p50"].is_null());
}

#[test]
fn health_table_names_the_state_uptime_and_the_incident() {
    let s = seed();
    let day = (s.now - Duration::days(1)).format("%Y-%m-%d").to_string();
    let out = ok(&s.db, &["health", "mlflow-prod", "--since", &day]);
    assert!(out.contains("state     healthy since"), "{out}");
    assert!(out.contains("24h 6"), "uptime 24h about 66%: {out}");
    assert!(out.contains("INCIDENT START"), "{out}");
    assert!(
        out.contains("1h 0m") && out.contains("unreachable"),
        "{out}"
    );
}

#[test]
fn a_bad_range_or_an_unknown_partner_exits_2_with_one_line() {
    let s = seed();
    for (args, needle) in [
        (
            vec!["health", "mlflow-prod", "--since", "7w"],
            "write 24h, 7d, 30d or a date",
        ),
        (vec!["health", "nobody"], "nobody"),
        (
            vec!["health", "mlflow-prod", "--since", "2999-01-01"],
            "since",
        ),
    ] {
        let out = run(&s.db, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
        assert!(
            stderr.contains(needle),
            "{args:?} names the problem: {stderr}"
        );
    }
}
