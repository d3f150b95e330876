//! The Kubeflow Pipelines v2beta1 connector against partner-sim's KFP API server: healthz,
//! lists with page tokens, `total_size` and JSON filters, create and terminate a run, run
//! state events, usage by state, and every error class.

#[path = "support/sim.rs"]
mod sim;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ecosystem_connectors::kubeflow::{
    KubeflowConnector, ListQuery, NewKfpRun, Operation, Predicate, PredicateValue,
};
use ecosystem_core::integration::{CheckState, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use partner_sim::{KubeflowConfig, ManualClock, Platform, RunningSim, SimConfig};
use sim::RecordingSleeper;

const P: Platform = Platform::Kubeflow;

fn token() -> Credential {
    Credential::Bearer {
        token: Secret::new("kfp-sim-token"),
    }
}

fn connector_with(
    sim: &RunningSim,
    credential: Option<Credential>,
) -> (KubeflowConnector, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = sim::http(&sim.base_url(P), credential.as_ref(), sleeper.clone());
    (
        KubeflowConnector::from_http(http, Duration::from_secs(2), None),
        sleeper,
    )
}

fn connector(sim: &RunningSim) -> KubeflowConnector {
    connector_with(sim, Some(token())).0
}

fn new_run(name: &str) -> NewKfpRun {
    NewKfpRun {
        display_name: name.into(),
        pipeline_id: "00000000-0000-4000-8000-00000000b000".into(),
        pipeline_version_id: Some("00000000-0000-4000-8000-00000000c000".into()),
        parameters: BTreeMap::from([("epochs".to_string(), serde_json::json!(3))]),
        ..NewKfpRun::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_with_a_token_is_healthy_with_every_list() {
    let sim = sim::start(P).await;
    let check = connector(&sim).test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    let names: Vec<&str> = check.capabilities.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["healthz", "runs", "experiments", "pipelines"],
        "probes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_paged_with_a_token_and_counted_with_total_size() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    let first = kfp
        .list_runs(&ListQuery {
            page_size: Some(10),
            sort_by: Some("created_at desc".into()),
            ..ListQuery::default()
        })
        .await
        .expect("first page");
    assert_eq!(
        (first.items.len(), first.total_size),
        (10, 25),
        "a page of 10 of the 25 seeded runs"
    );
    let second = kfp
        .list_runs(&ListQuery {
            page_size: Some(10),
            sort_by: Some("created_at desc".into()),
            page_token: first.next_page_token.clone(),
            ..ListQuery::default()
        })
        .await
        .expect("second page");
    assert_ne!(
        first.items[0].run_id, second.items[0].run_id,
        "the page token moves on"
    );
    let all = kfp
        .all_runs(&ListQuery::default(), usize::MAX)
        .await
        .expect("all");
    assert_eq!(all.len(), 25, "every run across pages");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_filter_selects_runs_experiments_and_pipelines() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    let failed = kfp
        .list_runs(&ListQuery {
            predicates: vec![Predicate::new(
                "state",
                Operation::Equals,
                PredicateValue::Text("FAILED".into()),
            )],
            ..ListQuery::default()
        })
        .await
        .expect("failed runs");
    assert!(
        failed.total_size > 0 && failed.items.iter().all(|r| r.state == "FAILED"),
        "{failed:?}"
    );
    let recent = kfp
        .list_runs(&ListQuery {
            predicates: vec![Predicate::new(
                "created_at",
                Operation::GreaterThan,
                PredicateValue::Time(Utc::now() - chrono::Duration::hours(24)),
            )],
            ..ListQuery::default()
        })
        .await
        .expect("recent runs");
    assert!(
        recent.total_size > 0 && recent.total_size < 25,
        "a time filter narrows: {}",
        recent.total_size
    );
    let experiments = kfp
        .list_experiments(&ListQuery {
            predicates: vec![Predicate::new(
                "display_name",
                Operation::IsSubstring,
                PredicateValue::Text("churn".into()),
            )],
            ..ListQuery::default()
        })
        .await
        .expect("experiments");
    assert_eq!(experiments.total_size, 1, "{experiments:?}");
    let pipelines = kfp
        .list_pipelines(&ListQuery {
            page_size: Some(1),
            ..ListQuery::default()
        })
        .await
        .expect("pipelines");
    assert_eq!(pipelines.total_size, 4, "counted with page_size=1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_run_can_be_terminated() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    let run = kfp
        .create_run(&new_run("ecosystem-test"))
        .await
        .expect("create");
    assert_eq!(run.state, "PENDING", "{run:?}");
    kfp.terminate_run(&run.run_id).await.expect("terminate");
    let after = kfp.get_run(&run.run_id).await.expect("get");
    assert!(
        matches!(after.state.as_str(), "CANCELING" | "CANCELED"),
        "{after:?}"
    );
    let again = kfp.terminate_run(&run.run_id).await.err().map(|e| e.class);
    assert_eq!(
        again,
        Some(ErrorClass::InvalidRequest),
        "a final run cannot be terminated twice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_state_changes_are_reported_once_each() {
    let clock = ManualClock::new(Utc::now());
    let sim = sim::start_with(SimConfig {
        platforms: vec![P],
        clock: clock.clone(),
        kubeflow: KubeflowConfig {
            run_step_ms: 5_000,
            ..KubeflowConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let kfp = connector(&sim);
    let start = kfp.subscribe_to_events(None).await.expect("from now");
    clock.advance(Duration::from_secs(2));
    let run = kfp.create_run(&new_run("watched")).await.expect("create");
    let first = kfp
        .subscribe_to_events(Some(start.next))
        .await
        .expect("poll 1");
    assert_eq!(
        first
            .events
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [format!("run:{}:PENDING", run.run_id)],
        "the new run"
    );
    let quiet = kfp
        .subscribe_to_events(Some(first.next))
        .await
        .expect("poll 2");
    assert!(quiet.events.is_empty(), "{:?}", quiet.events);
    clock.advance(Duration::from_secs(6));
    let running = kfp
        .subscribe_to_events(Some(quiet.next))
        .await
        .expect("poll 3");
    assert_eq!(
        running
            .events
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [format!("run:{}:RUNNING", run.run_id)],
        "running"
    );
    clock.advance(Duration::from_secs(20));
    let done = kfp
        .subscribe_to_events(Some(running.next))
        .await
        .expect("poll 4");
    assert_eq!(
        done.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        [format!("run:{}:SUCCEEDED", run.run_id)],
        "succeeded"
    );
    let after = kfp
        .subscribe_to_events(Some(done.next))
        .await
        .expect("poll 5");
    assert!(
        after.events.is_empty(),
        "a final run is reported once: {:?}",
        after.events
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_counts_runs_created_and_failed_per_day_with_every_day_present() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    let to = Utc::now() + chrono::Duration::minutes(1);
    let from = to - chrono::Duration::days(30);
    let figures = kfp.collect_metrics(from, to).await.expect("usage");
    let sum = |metric: &str| -> f64 {
        figures
            .iter()
            .filter(|f| f.metric == metric)
            .map(|f| f.value)
            .sum()
    };
    assert_eq!(sum("runs_created"), 25.0, "every seeded run, once");
    assert_eq!(sum("runs_failed"), 4.0, "runs 2, 9, 16 and 23 failed");
    let days = ecosystem_core::usage::DayRange::of_window(from, to).days() as usize;
    for metric in ["runs_created", "runs_failed"] {
        let per_day: Vec<_> = figures.iter().filter(|f| f.metric == metric).collect();
        assert_eq!(
            per_day.len(),
            days,
            "one {metric} figure per day, zeros included"
        );
        assert!(
            per_day.iter().all(|f| f.unit == "runs"
                && ecosystem_core::usage::day_of(f.period_start)
                    == ecosystem_core::usage::day_of(
                        f.period_end - chrono::Duration::nanoseconds(1)
                    )),
            "each within one UTC day"
        );
    }
    // Through the core's conversion: one value per metric and day.
    let stored =
        ecosystem_core::usage::from_figures(ecosystem_core::PartnerKind::Kubeflow, &figures)
            .expect("valid figures");
    assert!(stored
        .iter()
        .all(|m| m.metric.starts_with("kubeflow.runs_")));
    assert_eq!(
        stored
            .iter()
            .filter(|m| m.metric == "kubeflow.runs_created")
            .map(|m| m.value)
            .sum::<f64>(),
        25.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_makes_the_partner_unhealthy_even_though_healthz_answers() {
    let sim = sim::start(P).await;
    let (kfp, _) = connector_with(
        &sim,
        Some(Credential::Bearer {
            token: Secret::new("wrong"),
        }),
    );
    let check = kfp.test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    assert_eq!(
        check.error.map(|e| e.class),
        Some(ErrorClass::CredentialsRejected),
        "401 code 16"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_runs_and_experiments_are_not_found_and_a_bad_filter_is_invalid() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    let missing = kfp
        .get_run("00000000-0000-4000-8000-0000000fffff")
        .await
        .err()
        .map(|e| e.class);
    assert_eq!(missing, Some(ErrorClass::NotFound), "unknown run");
    let no_experiment = kfp
        .create_run(&NewKfpRun {
            experiment_id: Some("00000000-0000-4000-8000-0000000000ff".into()),
            ..new_run("orphan")
        })
        .await
        .err()
        .map(|e| e.class);
    assert_eq!(
        no_experiment,
        Some(ErrorClass::NotFound),
        "unknown experiment"
    );
    let bad = kfp
        .list_runs(&ListQuery {
            predicates: vec![Predicate::new(
                "colour",
                Operation::Equals,
                PredicateValue::Text("blue".into()),
            )],
            ..ListQuery::default()
        })
        .await
        .expect_err("not filterable");
    assert_eq!(bad.class, ErrorClass::InvalidRequest, "{bad}");
    assert!(bad.message.contains("colour"), "names the key: {bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_is_waited_out_and_the_call_succeeds() {
    let sim = sim::start(P).await;
    let (kfp, sleeper) = connector_with(&sim, Some(token()));
    sim::set(&sim, P, sim::one_per_window());
    kfp.list_pipelines(&ListQuery::default())
        .await
        .expect("first call in the window");
    let second = kfp.list_pipelines(&ListQuery::default()).await;
    sim::clear(&sim, P);
    assert!(second.is_ok(), "{second:?}");
    assert!(
        sleeper.waits().iter().any(|w| *w >= Duration::from_secs(1)),
        "{:?}",
        sleeper.waits()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_never_ends_is_rate_limited_and_5xx_is_a_platform_error() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    sim::set(&sim, P, sim::always_throttled());
    let throttled = kfp
        .list_pipelines(&ListQuery::default())
        .await
        .err()
        .map(|e| e.class);
    sim::set(&sim, P, sim::always_failing());
    let failing = kfp
        .list_pipelines(&ListQuery::default())
        .await
        .err()
        .map(|e| e.class);
    sim::clear(&sim, P);
    assert_eq!(
        throttled,
        Some(ErrorClass::RateLimited),
        "retries exhausted"
    );
    assert_eq!(failing, Some(ErrorClass::PlatformError), "HTTP 500 code 13");
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_faults_are_classified() {
    let sim = sim::start(P).await;
    let kfp = connector(&sim);
    for (faults, class) in sim::probe_faults() {
        sim::assert_check_fails_with(&sim, P, &kfp, faults, class).await;
    }
}
