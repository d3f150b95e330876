//! The MLflow connector against partner-sim's MLflow listener (the fast tier; `mlflow_live.rs`
//! runs the same flows against the real server): connection check and basic auth, runs paged
//! and filtered by start time, metrics and params, the model registry, artifacts, events,
//! usage over the seeded weeks, and error classes.

#[path = "support/sim.rs"]
mod sim;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ecosystem_connectors::mlflow::MlflowConnector;
use ecosystem_connectors::mlops::{
    KeyValue, LogBatch, Metric, MlopsPlatform, NewModelVersion, NewRun, RunStatus, SearchQuery,
};
use ecosystem_core::integration::{CheckState, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use partner_sim::{Faults, MlflowConfig, Platform, RunningSim};
use sim::RecordingSleeper;

const P: Platform = Platform::Mlflow;

fn login() -> Credential {
    let config = MlflowConfig::default();
    Credential::Basic {
        username: config.username,
        password: Secret::new(config.password),
    }
}

fn connector_with(sim: &RunningSim, credential: Option<Credential>) -> MlflowConnector {
    let http = sim::http(
        &sim.base_url(P),
        credential.as_ref(),
        Arc::new(RecordingSleeper::default()),
    );
    MlflowConnector::from_http(http, Duration::from_secs(2))
}

fn connector(sim: &RunningSim) -> MlflowConnector {
    connector_with(sim, Some(login()))
}

async fn new_run(mlflow: &MlflowConnector, experiment: &str, name: &str) -> String {
    mlflow
        .create_run(&NewRun {
            experiment_id: experiment.into(),
            name: Some(name.into()),
            ..NewRun::default()
        })
        .await
        .expect("create run")
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_with_the_login_is_healthy_with_every_capability() {
    let sim = sim::start(P).await;
    let check = connector(&sim).test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    let names: Vec<_> = check
        .capabilities
        .iter()
        .map(|c| (c.name.as_str(), c.ok))
        .collect();
    assert_eq!(
        names,
        vec![
            ("experiments", true),
            ("model-registry", true),
            ("artifacts", true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_or_none_is_credentials_rejected_without_the_secret() {
    let sim = sim::start(P).await;
    let wrong = Credential::Basic {
        username: "sim-admin".into(),
        password: Secret::new("not-the-password"),
    };
    let check = connector_with(&sim, Some(wrong)).test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    let error = check.error.expect("an error");
    assert_eq!(error.class, ErrorClass::CredentialsRejected, "{error}");
    assert!(!error.message.contains("not-the-password"), "{error}");
    let none = connector_with(&sim, None)
        .connect()
        .await
        .expect_err("no login");
    assert_eq!(none.class, ErrorClass::CredentialsRejected, "{none}");
}

#[tokio::test(flavor = "multi_thread")]
async fn created_runs_are_paged_ended_and_logged_as_on_the_real_server() {
    let sim = sim::start(P).await;
    let mlflow = connector(&sim);
    let experiment = mlflow.create_experiment("demo-exp").await.expect("create");
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(new_run(&mlflow, &experiment, &format!("run-{i}")).await);
    }
    let mut found = Vec::new();
    let mut query = SearchQuery {
        max_results: Some(1),
        ..SearchQuery::default()
    };
    for _ in 0..10 {
        let page = mlflow
            .search_runs(std::slice::from_ref(&experiment), &query)
            .await
            .expect("search runs");
        found.extend(page.items.into_iter().map(|r| r.id));
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    created.sort();
    found.sort();
    assert_eq!(found, created, "every run, one per page");

    let run = &created[0];
    let now = Utc::now().timestamp_millis();
    for (step, value) in [(1, 0.5), (2, 0.25)] {
        let metric = Metric {
            key: "loss".into(),
            value,
            timestamp_ms: now + step,
            step,
        };
        mlflow.log_metric(run, &metric).await.expect("log metric");
    }
    let lr = KeyValue {
        key: "lr".into(),
        value: "0.01".into(),
    };
    mlflow.log_param(run, &lr).await.expect("log param");
    let batch = LogBatch {
        metrics: vec![Metric {
            key: "accuracy".into(),
            value: 0.91,
            timestamp_ms: now,
            step: 1,
        }],
        params: vec![KeyValue {
            key: "epochs".into(),
            value: "3".into(),
        }],
        tags: vec![KeyValue {
            key: "team".into(),
            value: "ml".into(),
        }],
    };
    mlflow.log_batch(run, &batch).await.expect("log batch");
    let history = mlflow.metric_history(run, "loss").await.expect("history");
    let values: Vec<_> = history.iter().map(|m| (m.step, m.value)).collect();
    assert_eq!(values, vec![(1, 0.5), (2, 0.25)]);
    mlflow
        .end_run(run, RunStatus::Finished)
        .await
        .expect("end run");
    let fetched = mlflow.get_run(run).await.expect("get run");
    assert_eq!(fetched.status, Some(RunStatus::Finished));
    assert!(fetched.ended_at.is_some(), "with an end time");
    assert!(fetched
        .params
        .iter()
        .any(|p| p.key == "epochs" && p.value == "3"));
    assert_eq!(fetched.tags.get("team").map(String::as_str), Some("ml"));
    assert!(fetched.metrics.iter().any(|m| m.key == "accuracy"));

    let changed = KeyValue {
        key: "lr".into(),
        value: "0.5".into(),
    };
    let refused = mlflow
        .log_param(run, &changed)
        .await
        .expect_err("changed param");
    assert_eq!(refused.class, ErrorClass::InvalidRequest, "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn models_versions_and_artifacts_round_trip() {
    let sim = sim::start(P).await;
    let mlflow = connector(&sim);
    let experiment = mlflow.create_experiment("artifacts").await.expect("create");
    let run = new_run(&mlflow, &experiment, "with-artifacts").await;
    let model = mlflow
        .create_registered_model("demo-model", Some("churn"))
        .await
        .expect("create model");
    assert_eq!(model.name, "demo-model");
    let version = mlflow
        .create_model_version(&NewModelVersion {
            model_name: "demo-model".into(),
            source: format!("runs:/{run}/model"),
            run_id: Some(run.clone()),
            description: None,
        })
        .await
        .expect("create version");
    assert_eq!(version.version, "1");
    let filter = Some("name = 'demo-model'".to_string());
    let models = mlflow
        .search_registered_models(&SearchQuery {
            filter: filter.clone(),
            ..SearchQuery::default()
        })
        .await
        .expect("search models");
    assert_eq!(models.items.len(), 1);
    assert_eq!(models.items[0].description.as_deref(), Some("churn"));
    let versions = mlflow
        .search_model_versions(&SearchQuery {
            filter,
            ..SearchQuery::default()
        })
        .await
        .expect("search versions");
    assert_eq!(versions.items.len(), 1);
    assert_eq!(versions.items[0].run_id.as_deref(), Some(run.as_str()));

    mlflow
        .upload_artifact(&run, "notes.txt", b"partner notes\n".to_vec())
        .await
        .expect("upload");
    mlflow
        .upload_artifact(&run, "reports/q1 summary.json", br#"{"ok":true}"#.to_vec())
        .await
        .expect("upload nested");
    let mut root = mlflow.list_artifacts(&run, "").await.expect("list root");
    root.sort_by(|a, b| a.path.cmp(&b.path));
    let entries: Vec<_> = root
        .iter()
        .map(|e| (e.path.as_str(), e.is_dir, e.size_bytes))
        .collect();
    assert_eq!(
        entries,
        vec![("notes.txt", false, Some(14)), ("reports", true, None)]
    );
    let nested = mlflow.list_artifacts(&run, "reports").await.expect("list");
    assert_eq!(
        nested.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        vec!["reports/q1 summary.json"]
    );
    let bytes = mlflow
        .download_artifact(&run, "reports/q1 summary.json")
        .await
        .expect("download");
    assert_eq!(bytes, br#"{"ok":true}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_report_a_new_run_and_version_once() {
    let sim = sim::start(P).await;
    let mlflow = connector(&sim);
    let start = mlflow.subscribe_to_events(None).await.expect("start");
    assert!(start.events.is_empty(), "a subscription starts from now");
    let run = new_run(&mlflow, "1", "fresh").await;
    mlflow
        .create_model_version(&NewModelVersion {
            model_name: "churn-model".into(),
            source: format!("runs:/{run}/model"),
            run_id: Some(run.clone()),
            description: None,
        })
        .await
        .expect("version");
    let batch = mlflow
        .subscribe_to_events(Some(start.next))
        .await
        .expect("poll");
    let ids: Vec<_> = batch.events.iter().map(|e| e.id.clone()).collect();
    assert!(ids.contains(&format!("run:{run}")), "{ids:?}");
    assert!(
        ids.iter()
            .any(|i| i.starts_with("model_version:churn-model/")),
        "{ids:?}"
    );
    let again = mlflow
        .subscribe_to_events(Some(batch.next))
        .await
        .expect("poll again");
    assert!(again.events.is_empty(), "nothing twice: {:?}", again.events);
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_over_the_seeded_weeks_has_runs_every_day() {
    let sim = sim::start(P).await;
    let mlflow = connector(&sim);
    let to = Utc::now();
    let from = to - chrono::Duration::days(21);
    let figures = mlflow.collect_metrics(from, to).await.expect("collect");
    let runs: Vec<_> = figures
        .iter()
        .filter(|f| f.metric == "runs_started")
        .collect();
    assert!(runs.len() >= 21, "a figure per day: {}", runs.len());
    assert!(
        runs.iter().filter(|f| f.value >= 2.0).count() >= 20,
        "two or more runs on the seeded days: {runs:?}"
    );
    assert!(
        figures
            .iter()
            .any(|f| f.metric == "model_versions_created" && f.value >= 1.0),
        "seeded versions are counted: {figures:?}"
    );
    let old = Utc
        .with_ymd_and_hms(2001, 2, 3, 4, 0, 0)
        .single()
        .expect("date");
    let quiet = mlflow
        .collect_metrics(old, old + chrono::Duration::hours(1))
        .await
        .expect("collect");
    assert!(
        quiet
            .iter()
            .filter(|f| f.metric == "runs_started")
            .all(|f| f.value == 0.0),
        "nothing before the seed: {quiet:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_and_faults_are_classified() {
    let sim = sim::start(P).await;
    let mlflow = connector(&sim);
    let missing = mlflow
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .expect_err("no such run");
    assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");
    assert!(
        missing.message.contains("RESOURCE_DOES_NOT_EXIST"),
        "{missing}"
    );
    mlflow.create_experiment("dup").await.expect("first");
    let duplicate = mlflow.create_experiment("dup").await.expect_err("dup");
    assert_eq!(duplicate.class, ErrorClass::InvalidRequest, "{duplicate}");

    sim::set(
        &sim,
        P,
        Faults {
            down: true,
            ..Faults::default()
        },
    );
    let check = mlflow.test_connection().await;
    assert_eq!(
        check.state,
        CheckState::Unhealthy,
        "a down server: {check:?}"
    );
    sim::clear(&sim, P);
    assert_eq!(mlflow.test_connection().await.state, CheckState::Healthy);
}
