//! Usage collection: Ecosystem's call counters against partner-sim, and the collection itself
//! (windows, idempotent storage, bounded concurrency, one partner's failure, the daily
//! schedule) with scripted connectors, a real database file and a clock the test moves.

#[path = "support/sim.rs"]
mod sim;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecosystem_connectors::kubeflow::{KubeflowConfig, KubeflowConnector};
use ecosystem_connectors::poller::PollTarget;
use ecosystem_connectors::usage::{
    collect, collect_due, counters_for, flush_call_counts, peek_call_counts, plan, CollectPolicy,
    Progress, UsageConnectors,
};
use ecosystem_core::integration::{
    ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor, Integration,
    IntegrationError, IntegrationResult, UsageFigure,
};
use ecosystem_core::usage::{collection_state, day_of, usage_records, DayRange};
use ecosystem_core::{
    Clock, Credential, LifecycleAction, NewPartner, PartnerKind, Registry, Secret, Store,
};
use partner_sim::{Faults, Platform};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an instant")
}

// ---- the call counters, against partner-sim ---------------------------------------------------

fn kubeflow(sim: &partner_sim::RunningSim, partner: &str) -> KubeflowConnector {
    KubeflowConnector::new(KubeflowConfig {
        partner: partner.into(),
        endpoint: sim.base_url(Platform::Kubeflow),
        credential: Some(Credential::Bearer {
            token: Secret::new("kfp-sim-token"),
        }),
        policy: sim::policy(),
        slow_after: Duration::from_secs(5),
        namespace: None,
    })
    .expect("connector")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_to_a_partner_is_counted_with_its_bytes_latency_and_failures() {
    let sim = sim::start(Platform::Kubeflow).await;
    let name = "counted-kfp-5a1f";
    let kfp = kubeflow(&sim, name);
    let to = Utc::now();
    kfp.collect_metrics(to - chrono::Duration::days(2), to)
        .await
        .expect("usage");
    let counts = peek_call_counts(name);
    // 3 days touched x (all runs, failed runs).
    assert_eq!(counts.calls, 6, "{counts:?}");
    assert_eq!(counts.errors, 0, "{counts:?}");
    assert!(counts.bytes_received > 0, "{counts:?}");

    // A malformed 200 is counted as a failed call; a 500 is counted once per attempt.
    sim.set_faults(
        Platform::Kubeflow,
        Faults {
            malformed_rate: 1.0,
            ..Faults::default()
        },
    )
    .expect("faults");
    let err = kfp
        .collect_metrics(to - chrono::Duration::hours(1), to)
        .await
        .expect_err("garbage");
    assert_eq!(err.class, ErrorClass::UnexpectedResponse, "{err}");
    let after = peek_call_counts(name);
    assert_eq!((after.calls, after.errors), (7, 1), "{after:?}");
    sim.set_faults(
        Platform::Kubeflow,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    )
    .expect("faults");
    kfp.collect_metrics(to - chrono::Duration::hours(1), to)
        .await
        .expect_err("500");
    let after = peek_call_counts(name);
    let attempts = u64::from(sim::policy().retry.max_attempts);
    assert_eq!(
        (after.calls, after.errors),
        (7 + attempts, 1 + attempts),
        "each attempt: {after:?}"
    );
    sim.shutdown().await;
}

#[test]
fn counts_are_flushed_once_as_ecosystem_metrics_of_the_flush_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("e.db")).expect("store");
    let clock: Arc<dyn Clock> = Arc::new(ecosystem_core::FixedClock(at("2026-11-20T10:00:00Z")));
    let mut registry = Registry::new(store, "test", clock);
    registry
        .add_partner(&NewPartner::new(
            "flushed-partner-77c2",
            PartnerKind::Kubeflow,
            "https://kfp.example",
        ))
        .expect("partner");
    let counters = counters_for("flushed-partner-77c2");
    counters.record(Duration::from_millis(40), 10, 500, false);
    counters.record(Duration::from_millis(60), 10, 0, true);
    let report = flush_call_counts(registry.store(), at("2026-11-20T10:00:00Z")).expect("flush");
    assert!(report.partners >= 1, "{report:?}");
    counters.record(Duration::from_millis(100), 0, 100, false);
    flush_call_counts(registry.store(), at("2026-11-20T11:00:00Z")).expect("flush again");
    flush_call_counts(registry.store(), at("2026-11-20T12:00:00Z")).expect("nothing new");
    let id = registry
        .partner("flushed-partner-77c2")
        .expect("partner")
        .id;
    let values: BTreeMap<String, f64> = usage_records(
        registry.store().conn(),
        id,
        DayRange::one(day_of(at("2026-11-20T00:00:00Z"))),
    )
    .expect("records")
    .into_iter()
    .map(|r| (r.metric, r.value))
    .collect();
    assert_eq!(
        values,
        BTreeMap::from([
            ("ecosystem.bytes_received".to_string(), 600.0),
            ("ecosystem.bytes_sent".to_string(), 20.0),
            ("ecosystem.calls".to_string(), 3.0),
            ("ecosystem.errors".to_string(), 1.0),
            ("ecosystem.latency_ms".to_string(), 200.0),
        ])
    );
}

// ---- collections with scripted connectors ------------------------------------------------------

/// A clock the test sets.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock") = t;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// A window one partner was asked for.
type Asked = (String, DateTime<Utc>, DateTime<Utc>);

/// What the scripted platforms answer and what they were asked.
#[derive(Default)]
struct Script {
    /// Partner names that fail, and how.
    failing: Mutex<BTreeMap<String, ErrorClass>>,
    /// Partner names that answer a figure Ecosystem must refuse.
    hostile: Mutex<Vec<String>>,
    asked: Mutex<Vec<Asked>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Scripted {
    name: String,
    script: Arc<Script>,
}

#[async_trait]
impl Integration for Scripted {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Kubeflow
    }
    fn capabilities(&self) -> Vec<String> {
        Vec::new()
    }
    async fn connect(&self) -> IntegrationResult<()> {
        Ok(())
    }
    async fn disconnect(&self) -> IntegrationResult<()> {
        Ok(())
    }
    async fn test_connection(&self) -> ConnectionCheck {
        unreachable!("not used by collections")
    }
    async fn send_data(&self, _: DataPayload) -> IntegrationResult<()> {
        Ok(())
    }
    async fn receive_data(&self, _: DataRequest) -> IntegrationResult<Vec<u8>> {
        Ok(Vec::new())
    }
    async fn subscribe_to_events(&self, _: Option<EventCursor>) -> IntegrationResult<EventBatch> {
        Ok(EventBatch {
            events: Vec::new(),
            next: EventCursor::default(),
        })
    }
    /// Two runs per hour of the window (whole hours), per UTC day.
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let s = &self.script;
        s.asked
            .lock()
            .expect("asked")
            .push((self.name.clone(), from, to));
        let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        s.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        s.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(class) = s.failing.lock().expect("failing").get(&self.name) {
            return Err(IntegrationError::new(
                *class,
                format!("{}: scripted failure", self.name),
            ));
        }
        let metric = if s.hostile.lock().expect("hostile").contains(&self.name) {
            "Runs; DROP TABLE usage_records"
        } else {
            "runs_created"
        };
        Ok(ecosystem_connectors::usage::day_slices(from, to)
            .into_iter()
            .map(|(start, end)| UsageFigure {
                metric: metric.into(),
                unit: "runs".into(),
                value: 2.0 * (end - start).num_hours() as f64,
                period_start: start,
                period_end: end,
                dimensions: BTreeMap::new(),
            })
            .collect())
    }
}

struct ScriptedConnectors(Arc<Script>);

impl UsageConnectors for ScriptedConnectors {
    fn build(&self, target: &PollTarget) -> IntegrationResult<Arc<dyn Integration>> {
        Ok(Arc::new(Scripted {
            name: target.partner.name.clone(),
            script: self.0.clone(),
        }))
    }
}

struct World {
    _dir: tempfile::TempDir,
    registry: Registry,
    clock: Arc<TestClock>,
    script: Arc<Script>,
}

impl World {
    fn new(partners: &[&str], now: &str) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("e.db")).expect("store");
        let clock = Arc::new(TestClock(Mutex::new(at(now))));
        let mut registry = Registry::new(store, "test", clock.clone());
        for name in partners {
            registry
                .add_partner(&NewPartner::new(
                    *name,
                    PartnerKind::Kubeflow,
                    "https://kfp.example",
                ))
                .expect("partner");
            registry
                .change_lifecycle(name, LifecycleAction::Activate)
                .expect("active");
        }
        World {
            _dir: dir,
            registry,
            clock,
            script: Arc::new(Script::default()),
        }
    }

    fn runs(&self, partner: &str) -> BTreeMap<String, f64> {
        let id = self.registry.partner(partner).expect("partner").id;
        usage_records(
            self.registry.store().conn(),
            id,
            DayRange::new(0, day_of(self.clock.now()) + 1).expect("range"),
        )
        .expect("records")
        .into_iter()
        .filter(|r| r.metric == "kubeflow.runs_created")
        .map(|r| (r.date.to_string(), r.value))
        .collect()
    }

    fn asked(&self) -> Vec<Asked> {
        std::mem::take(&mut *self.script.asked.lock().expect("asked"))
    }

    async fn due(&self, policy: &CollectPolicy) -> Vec<(String, bool)> {
        let mut results = collect_due(
            &self.registry,
            &ScriptedConnectors(self.script.clone()),
            policy,
            |_| {},
        )
        .await
        .expect("collect_due");
        results.sort_by(|a, b| a.partner.cmp(&b.partner));
        results
            .into_iter()
            .map(|r| (r.partner, r.error.is_none()))
            .collect()
    }
}

#[tokio::test]
async fn collecting_the_same_window_twice_stores_it_once_and_partners_fail_alone() {
    let names = ["a", "b", "c", "d", "e"];
    let w = World::new(&names, "2026-11-20T06:00:00Z");
    w.script
        .failing
        .lock()
        .expect("failing")
        .insert("c".into(), ErrorClass::TimedOut);
    w.script.hostile.lock().expect("hostile").push("d".into());
    let policy = CollectPolicy {
        concurrency: 2,
        ..CollectPolicy::default()
    };
    let now = w.clock.now();
    let days = DayRange::of_dates(
        "2026-11-18".parse().expect("date"),
        "2026-11-20".parse().expect("date"),
    )
    .expect("days");
    let mut started = 0;
    let mut finished = Vec::new();
    for _ in 0..2 {
        let targets = plan(&w.registry, None, Some(days), now, &policy).expect("plan");
        assert_eq!(targets.len(), 5);
        let results = collect(
            w.registry.store(),
            targets,
            &ScriptedConnectors(w.script.clone()),
            &policy,
            w.registry.clock(),
            |p| match p {
                Progress::Started { .. } => started += 1,
                Progress::Finished { done, total, .. } => finished.push((done, total)),
            },
        )
        .await;
        let failed: Vec<_> = results
            .iter()
            .filter(|r| r.error.is_some())
            .map(|r| (r.partner.as_str(), r.error_class.as_deref()))
            .collect();
        assert_eq!(failed.len(), 2, "{results:?}");
        assert!(failed.contains(&("c", Some("timed_out"))), "{failed:?}");
        assert!(
            failed.contains(&("d", None)),
            "a refused figure: {failed:?}"
        );
        let d = results.iter().find(|r| r.partner == "d").expect("d");
        assert!(
            d.error.as_deref().is_some_and(|e| e.contains("metric")),
            "the field is named: {d:?}"
        );
    }
    assert_eq!(started, 10);
    assert_eq!(finished.len(), 10);
    assert_eq!(finished[4], (5, 5));
    assert!(
        w.script.max_in_flight.load(Ordering::SeqCst) <= 2,
        "at most `concurrency` partners at once"
    );
    let expected = BTreeMap::from([
        ("2026-11-18".to_string(), 48.0),
        ("2026-11-19".to_string(), 48.0),
        ("2026-11-20".to_string(), 12.0),
    ]);
    for ok in ["a", "b", "e"] {
        assert_eq!(w.runs(ok), expected, "{ok}: collected twice, stored once");
    }
    assert!(w.runs("c").is_empty() && w.runs("d").is_empty());
    let id = w.registry.partner("c").expect("c").id;
    let state = collection_state(w.registry.store().conn(), id)
        .expect("state")
        .expect("an attempt");
    assert!(state
        .last_error
        .is_some_and(|e| e.contains("scripted failure")));
    assert_eq!(state.last_day, None);
}

#[tokio::test]
async fn the_daily_schedule_collects_each_partner_once_a_day_and_retries_failures_later() {
    let w = World::new(&["good", "flaky"], "2026-11-20T10:00:00Z");
    w.script
        .failing
        .lock()
        .expect("failing")
        .insert("flaky".into(), ErrorClass::Unreachable);
    let policy = CollectPolicy {
        max_days: 7,
        ..CollectPolicy::default()
    };

    // First run: both due, over the last 7 days.
    assert_eq!(
        w.due(&policy).await,
        [("flaky".to_string(), false), ("good".to_string(), true)]
    );
    let asked = w.asked();
    assert!(asked
        .iter()
        .all(|(_, from, to)| *from == at("2026-11-14T00:00:00Z")
            && *to == at("2026-11-20T10:00:00Z")));
    assert_eq!(w.runs("good").len(), 7);

    // Half an hour later: good was collected today, flaky was just tried.
    w.clock.set(at("2026-11-20T10:30:00Z"));
    assert!(w.due(&policy).await.is_empty());
    // After `retry_after`, flaky is tried again (and now answers).
    w.script.failing.lock().expect("failing").clear();
    w.clock.set(at("2026-11-20T11:01:00Z"));
    assert_eq!(w.due(&policy).await, [("flaky".to_string(), true)]);
    w.asked();

    // The next day: both again, from three days before the last collected day.
    w.clock.set(at("2026-11-21T00:05:00Z"));
    assert_eq!(
        w.due(&policy).await,
        [("flaky".to_string(), true), ("good".to_string(), true)]
    );
    let asked = w.asked();
    assert!(
        asked
            .iter()
            .all(|(_, from, _)| *from == at("2026-11-17T00:00:00Z")),
        "{asked:?}"
    );
    // Yesterday's partial value was completed, not added to.
    assert_eq!(w.runs("good")["2026-11-20"], 48.0);
    assert_eq!(w.runs("good")["2026-11-21"], 0.0);

    // A paused partner is not collected.
    w.clock.set(at("2026-11-22T00:05:00Z"));
    let mut registry = Registry::open(w.registry.store().path()).expect("registry");
    registry
        .pause_partner("flaky", Some("maintenance"))
        .expect("paused");
    assert_eq!(w.due(&policy).await, [("good".to_string(), true)]);
}
