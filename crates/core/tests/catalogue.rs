//! The catalogue's queries on a real SQLite file: partner ids narrowed by the health state the
//! badges show, combined with the other criteria, and capability verification read back from
//! recorded connection tests.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ecosystem_core::health::CheckOutcome;
use ecosystem_core::health_state::HealthState;
use ecosystem_core::health_store::{HealthHistory, HealthWriter, PartnerOutcome};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::registry::CapabilityVerification;
use ecosystem_core::*;

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
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
        let registry = Registry::new(
            Store::open(&path).unwrap(),
            "tester",
            Arc::new(FixedClock(at(0))),
        );
        let writer = HealthWriter::new(Store::open(&path).unwrap());
        Db {
            _dir: dir,
            registry,
            writer,
        }
    }

    fn add(&mut self, name: &str, kind: PartnerKind, tier: Tier) -> u32 {
        let mut p = NewPartner::new(name, kind, "https://partner.example.com");
        p.tier = tier;
        p.capabilities = vec!["runs".into(), "models".into()];
        self.registry.add_partner(&p).unwrap().id
    }

    fn record(&mut self, id: u32, outcomes: Vec<CheckOutcome>) {
        let batch: Vec<PartnerOutcome> = outcomes
            .into_iter()
            .map(|outcome| PartnerOutcome {
                partner_id: id,
                outcome,
            })
            .collect();
        self.writer.record(&batch).unwrap();
    }

    fn ids(&self, filter: &PartnerFilter, state: Option<HealthState>) -> Vec<u32> {
        self.registry.list_partner_ids(filter, state).unwrap()
    }
}

#[test]
fn the_health_state_filter_agrees_with_the_badges_and_combines_with_other_criteria() {
    let mut db = Db::new();
    let never = db.add("never-checked", PartnerKind::Mlflow, Tier::Standard);
    let good = db.add("good", PartnerKind::Mlflow, Tier::Premium);
    let good_db = db.add("good-databricks", PartnerKind::Databricks, Tier::Premium);
    let bad = db.add("bad", PartnerKind::Mlflow, Tier::Strategic);
    let paused = db.add("paused", PartnerKind::Datadog, Tier::Standard);
    db.record(good, vec![CheckOutcome::ok(at(1), 40)]);
    db.record(good_db, vec![CheckOutcome::ok(at(1), 40)]);
    db.record(
        bad,
        (1..=10)
            .map(|m| CheckOutcome::failed(at(m), ErrorClass::Unreachable, "refused", 5))
            .collect(),
    );
    db.registry
        .pause_partner("paused", Some("vendor work"))
        .unwrap();

    let everyone = PartnerFilter::default();
    // Every state gives exactly the partners whose badge shows it.
    let badges = HealthHistory::new(db.registry.store().conn())
        .overview()
        .unwrap();
    for &state in HealthState::ALL {
        let mut expected: Vec<u32> = badges
            .iter()
            .filter(|b| b.state == state)
            .map(|b| db.registry.partner(&b.partner).unwrap().id)
            .collect();
        expected.sort_by_key(|id| {
            db.registry
                .list_partners(&everyone)
                .unwrap()
                .iter()
                .position(|p| p.id == *id)
        });
        assert_eq!(db.ids(&everyone, Some(state)), expected, "{state:?}");
    }
    assert_eq!(db.ids(&everyone, Some(HealthState::Unknown)), vec![never]);
    assert_eq!(db.ids(&everyone, Some(HealthState::Paused)), vec![paused]);
    assert_eq!(db.ids(&everyone, Some(HealthState::Unhealthy)), vec![bad]);
    // Ordered by name, like list_partners.
    assert_eq!(
        db.ids(&everyone, Some(HealthState::Healthy)),
        vec![good, good_db]
    );
    assert_eq!(
        db.ids(&everyone, None),
        db.registry
            .list_partners(&everyone)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        db.registry.partner_count().unwrap() as usize,
        db.ids(&everyone, None).len(),
        "the header's count is every partner"
    );

    let databricks = PartnerFilter {
        kind: Some(PartnerKind::Databricks),
        ..PartnerFilter::default()
    };
    assert_eq!(
        db.ids(&databricks, Some(HealthState::Healthy)),
        vec![good_db]
    );
    assert!(db.ids(&databricks, Some(HealthState::Unhealthy)).is_empty());
    let premium_runs = PartnerFilter {
        tier: Some(Tier::Premium),
        capabilities: vec!["runs".into()],
        text: Some("good".into()),
        ..PartnerFilter::default()
    };
    assert_eq!(
        db.ids(&premium_runs, Some(HealthState::Healthy)),
        vec![good, good_db]
    );
}

#[test]
fn capabilities_are_verified_only_by_a_recorded_test_that_found_them_working() {
    let mut db = Db::new();
    db.add("ml", PartnerKind::Mlflow, Tier::Standard);
    let never = db.registry.capability_verifications("ml").unwrap();
    assert_eq!(
        never,
        ["runs", "models"].map(|name| CapabilityVerification {
            name: name.into(),
            last_verified: None,
        })
    );

    db.registry
        .record_connection_test(
            "ml",
            false,
            &[
                ("runs".into(), true),
                ("models".into(), false),
                ("healthz".into(), true),
            ],
        )
        .unwrap();
    let after = db.registry.capability_verifications("ml").unwrap();
    assert_eq!(after[0].name, "runs");
    assert_eq!(
        after[0].last_verified.as_deref(),
        Some(db.registry.audit_log(Some("ml"), 1).unwrap()[0].at.as_str()),
        "runs answered at the test's time"
    );
    assert_eq!(after[1].name, "models");
    assert_eq!(
        after[1].last_verified, None,
        "a failing capability is not verified"
    );
    // A probe the connector ran beyond the declared capabilities is listed after them.
    assert_eq!(after.len(), 3);
    assert_eq!(after[2].name, "healthz");
    assert!(after[2].last_verified.is_some());

    // The test is on the partner's audit trail, and a partner that does not exist is refused.
    let trail = db.registry.audit_log(Some("ml"), 10).unwrap();
    assert_eq!(trail[0].action, "partner.connection_test");
    assert!(db
        .registry
        .record_connection_test("missing", true, &[])
        .is_err());
    assert!(db.registry.capability_verifications("missing").is_err());
}
