//! The MLflow connector against real MLflow tracking servers (`scripts/install-mlflow.sh`
//! installs them; these tests fail, not skip, when it has not been run).

#[path = "support/mlflow_server.rs"]
mod mlflow_server;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use ecosystem_connectors::mlflow::{MlflowConfig, MlflowConnector};
use ecosystem_connectors::mlops::{
    KeyValue, LogBatch, Metric, MlopsPlatform, NewModelVersion, NewRun, RunStatus, SearchQuery,
};
use ecosystem_connectors::resilience::{ResiliencePolicy, RetryPolicy};
use ecosystem_core::integration::{CheckState, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use mlflow_server::{servers, ADMIN_PASSWORD, ADMIN_USER};

fn connector(url: &str, credential: Option<Credential>) -> MlflowConnector {
    let mut config = MlflowConfig::new("mlflow-test", url);
    config.credential = credential;
    config.policy = ResiliencePolicy {
        timeout: Duration::from_secs(30),
        rate_per_second: None,
        ..ResiliencePolicy::default()
    };
    config.slow_after = Duration::from_secs(20);
    MlflowConnector::new(config).expect("a valid MLflow config")
}

fn plain() -> MlflowConnector {
    connector(&servers().plain.url, None)
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

async fn new_run(mlflow: &MlflowConnector, experiment: &str) -> ecosystem_connectors::mlops::Run {
    mlflow
        .create_run(&NewRun {
            experiment_id: experiment.into(),
            name: Some(unique("run")),
            ..NewRun::default()
        })
        .await
        .expect("create run")
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_against_a_real_server_is_healthy_with_every_capability() {
    let check = plain().test_connection().await;
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
        ],
        "each capability is probed and works"
    );
    assert!(plain().connect().await.is_ok(), "connect succeeds");
}

#[tokio::test(flavor = "multi_thread")]
async fn created_runs_show_up_in_search_across_pages() {
    let mlflow = plain();
    let experiment = mlflow
        .create_experiment(&unique("exp"))
        .await
        .expect("create experiment");
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(new_run(&mlflow, &experiment).await.id);
    }
    let mut found = Vec::new();
    let mut query = SearchQuery {
        max_results: Some(1),
        ..SearchQuery::default()
    };
    let mut pages = 0;
    loop {
        let page = mlflow
            .search_runs(std::slice::from_ref(&experiment), &query)
            .await
            .expect("search runs");
        pages += 1;
        found.extend(page.items.into_iter().map(|r| r.id));
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
        assert!(pages < 10, "pagination ends");
    }
    created.sort();
    found.sort();
    assert_eq!(found, created, "every created run is found, one per page");
    assert!(
        pages >= 3,
        "three runs at one per page take three pages: {pages}"
    );

    let experiments = mlflow
        .search_experiments(&SearchQuery {
            max_results: Some(1000),
            ..SearchQuery::default()
        })
        .await
        .expect("search experiments");
    assert!(
        experiments.items.iter().any(|e| e.id == experiment),
        "the experiment is listed"
    );

    mlflow
        .end_run(&created[0], RunStatus::Finished)
        .await
        .expect("end run");
    let ended = mlflow.get_run(&created[0]).await.expect("get run");
    assert_eq!(
        ended.status,
        Some(RunStatus::Finished),
        "the run is finished"
    );
    assert!(ended.ended_at.is_some(), "with an end time");
}

#[tokio::test(flavor = "multi_thread")]
async fn logged_metrics_params_and_batches_come_back() {
    let mlflow = plain();
    let experiment = mlflow
        .create_experiment(&unique("exp"))
        .await
        .expect("create experiment");
    let run = new_run(&mlflow, &experiment).await;
    let now = Utc::now().timestamp_millis();
    for (step, value) in [(1, 0.5), (2, 0.25)] {
        let metric = Metric {
            key: "loss".into(),
            value,
            timestamp_ms: now + step,
            step,
        };
        mlflow
            .log_metric(&run.id, &metric)
            .await
            .expect("log metric");
    }
    mlflow
        .log_param(
            &run.id,
            &KeyValue {
                key: "lr".into(),
                value: "0.01".into(),
            },
        )
        .await
        .expect("log param");
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
    mlflow.log_batch(&run.id, &batch).await.expect("log batch");

    let history = mlflow
        .metric_history(&run.id, "loss")
        .await
        .expect("metric history");
    let values: Vec<_> = history.iter().map(|m| (m.step, m.value)).collect();
    assert_eq!(
        values,
        vec![(1, 0.5), (2, 0.25)],
        "both loss values come back in order"
    );

    let fetched = mlflow.get_run(&run.id).await.expect("get run");
    let params: Vec<_> = fetched
        .params
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert!(
        params.contains(&("lr", "0.01")) && params.contains(&("epochs", "3")),
        "params: {params:?}"
    );
    assert_eq!(
        fetched.tags.get("team").map(String::as_str),
        Some("ml"),
        "the batch's tag"
    );
    assert!(
        fetched
            .metrics
            .iter()
            .any(|m| m.key == "accuracy" && m.value == 0.91),
        "the batch's metric"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn registered_models_and_versions_are_created_and_found() {
    let mlflow = plain();
    let experiment = mlflow
        .create_experiment(&unique("exp"))
        .await
        .expect("create experiment");
    let run = new_run(&mlflow, &experiment).await;
    let name = unique("model");
    let model = mlflow
        .create_registered_model(&name, Some("churn"))
        .await
        .expect("create model");
    assert_eq!(model.name, name, "the model is named");
    let version = mlflow
        .create_model_version(&NewModelVersion {
            model_name: name.clone(),
            source: format!("runs:/{}/model", run.id),
            run_id: Some(run.id.clone()),
            description: None,
        })
        .await
        .expect("create model version");
    assert_eq!(version.version, "1", "the first version");

    let filter = format!("name = '{name}'");
    let models = mlflow
        .search_registered_models(&SearchQuery {
            filter: Some(filter.clone()),
            ..SearchQuery::default()
        })
        .await
        .expect("search models");
    assert_eq!(models.items.len(), 1, "the model is found by name");
    assert_eq!(
        models.items[0].description.as_deref(),
        Some("churn"),
        "with its description"
    );
    let versions = mlflow
        .search_model_versions(&SearchQuery {
            filter: Some(filter),
            ..SearchQuery::default()
        })
        .await
        .expect("search versions");
    assert_eq!(versions.items.len(), 1, "the version is found");
    assert_eq!(
        versions.items[0].run_id.as_deref(),
        Some(run.id.as_str()),
        "linked to its run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_uploaded_artifact_is_listed_and_read_back() {
    let mlflow = plain();
    let experiment = mlflow
        .create_experiment(&unique("exp"))
        .await
        .expect("create experiment");
    let run = new_run(&mlflow, &experiment).await;
    mlflow
        .upload_artifact(&run.id, "notes.txt", b"partner notes\n".to_vec())
        .await
        .expect("upload");
    mlflow
        .upload_artifact(
            &run.id,
            "reports/q1 summary.json",
            br#"{"ok":true}"#.to_vec(),
        )
        .await
        .expect("upload nested");

    let mut root = mlflow.list_artifacts(&run.id, "").await.expect("list root");
    root.sort_by(|a, b| a.path.cmp(&b.path));
    let entries: Vec<_> = root
        .iter()
        .map(|e| (e.path.as_str(), e.is_dir, e.size_bytes))
        .collect();
    assert_eq!(
        entries,
        vec![("notes.txt", false, Some(14)), ("reports", true, None)],
        "the root listing"
    );
    let nested = mlflow
        .list_artifacts(&run.id, "reports")
        .await
        .expect("list nested");
    assert_eq!(
        nested.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        vec!["reports/q1 summary.json"],
        "paths are relative to the run root"
    );

    let bytes = mlflow
        .download_artifact(&run.id, "notes.txt")
        .await
        .expect("download");
    assert_eq!(
        bytes, b"partner notes\n",
        "the artifact reads back byte for byte"
    );
    let nested_bytes = mlflow
        .download_artifact(&run.id, "reports/q1 summary.json")
        .await
        .expect("download nested");
    assert_eq!(
        nested_bytes, br#"{"ok":true}"#,
        "a name with a space reads back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_report_new_runs_and_model_versions_once() {
    let mlflow = plain();
    let start = mlflow
        .subscribe_to_events(None)
        .await
        .expect("start cursor");
    assert!(
        start.events.is_empty(),
        "a new subscription starts from now"
    );

    let experiment = mlflow
        .create_experiment(&unique("exp"))
        .await
        .expect("create experiment");
    let run = new_run(&mlflow, &experiment).await;
    let name = unique("model");
    mlflow
        .create_registered_model(&name, None)
        .await
        .expect("create model");
    mlflow
        .create_model_version(&NewModelVersion {
            model_name: name.clone(),
            source: format!("runs:/{}/model", run.id),
            run_id: Some(run.id.clone()),
            description: None,
        })
        .await
        .expect("create version");

    let batch = mlflow
        .subscribe_to_events(Some(start.next))
        .await
        .expect("poll");
    let ids: Vec<_> = batch.events.iter().map(|e| e.id.clone()).collect();
    assert!(
        ids.contains(&format!("run:{}", run.id)),
        "the new run is reported: {ids:?}"
    );
    assert!(
        ids.contains(&format!("model_version:{name}/1")),
        "the new version is reported: {ids:?}"
    );
    let again = mlflow
        .subscribe_to_events(Some(batch.next))
        .await
        .expect("poll again");
    let repeated: Vec<_> = again
        .events
        .iter()
        .filter(|e| ids.contains(&e.id))
        .collect();
    assert!(
        repeated.is_empty(),
        "nothing is reported twice: {repeated:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_counts_runs_and_models_in_the_window_with_units() {
    let mlflow = plain();
    let experiment = mlflow
        .create_experiment(&unique("exp"))
        .await
        .expect("create experiment");
    // Runs back-dated into a window no other test uses, so the count is exact.
    let window_start = Utc
        .with_ymd_and_hms(2001, 2, 3, 4, 0, 0)
        .single()
        .expect("a date");
    for minute in 0..3 {
        let run = NewRun {
            experiment_id: experiment.clone(),
            name: Some(format!("old-{minute}")),
            started_at: Some(window_start + chrono::Duration::minutes(minute)),
            tags: Vec::new(),
        };
        mlflow
            .create_run(&run)
            .await
            .expect("create back-dated run");
    }
    let figures = mlflow
        .collect_metrics(window_start, window_start + chrono::Duration::hours(1))
        .await
        .expect("collect metrics");
    let runs: Vec<_> = figures
        .iter()
        .filter(|f| f.metric == "runs_started")
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "one figure for the one day the window touches"
    );
    assert_eq!(
        (runs[0].value, runs[0].unit.as_str()),
        (3.0, "runs"),
        "three runs started in the window"
    );
    assert!(
        figures
            .iter()
            .any(|f| f.metric == "model_versions_created" && f.value == 0.0),
        "a zero is reported, not left out: {figures:?}"
    );

    let before = Utc::now() - chrono::Duration::seconds(1);
    mlflow
        .create_registered_model(&unique("model"), None)
        .await
        .expect("create model");
    let recent = mlflow
        .collect_metrics(before, Utc::now() + chrono::Duration::seconds(1))
        .await
        .expect("collect");
    let models: f64 = recent
        .iter()
        .filter(|f| f.metric == "registered_models_created" && f.unit == "models")
        .map(|f| f.value)
        .sum();
    assert!(models >= 1.0, "the new model is counted: {recent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn platform_errors_are_classified() {
    let mlflow = plain();
    let missing = mlflow
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .expect_err("no such run");
    assert_eq!(missing.class, ErrorClass::NotFound, "{missing}");
    assert!(
        missing.message.contains("RESOURCE_DOES_NOT_EXIST"),
        "the platform's code is kept: {missing}"
    );
    let name = unique("dup");
    mlflow.create_experiment(&name).await.expect("first create");
    let duplicate = mlflow
        .create_experiment(&name)
        .await
        .expect_err("duplicate");
    assert_eq!(duplicate.class, ErrorClass::InvalidRequest, "{duplicate}");
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_with_the_right_password_works() {
    let credential = Credential::Basic {
        username: ADMIN_USER.into(),
        password: Secret::new(ADMIN_PASSWORD),
    };
    let mlflow = connector(&servers().basic_auth.url, Some(credential));
    let check = mlflow.test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    let experiment = mlflow.create_experiment(&unique("auth-exp")).await;
    assert!(experiment.is_ok(), "the admin can write: {experiment:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_with_a_wrong_password_is_credentials_rejected() {
    let credential = Credential::Basic {
        username: ADMIN_USER.into(),
        password: Secret::new("not-the-password"),
    };
    let mlflow = connector(&servers().basic_auth.url, Some(credential));
    let check = mlflow.test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    let class = check.error.as_ref().map(|e| e.class);
    assert_eq!(class, Some(ErrorClass::CredentialsRejected), "{check:?}");
    let message = check.error.map(|e| e.message).unwrap_or_default();
    assert!(
        !message.contains("not-the-password"),
        "no secret in the message: {message}"
    );
    let none = connector(&servers().basic_auth.url, None)
        .connect()
        .await
        .expect_err("no credential");
    assert_eq!(
        none.class,
        ErrorClass::CredentialsRejected,
        "no credential at all is refused too: {none}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_is_unreachable() {
    // A port nothing listens on any more: what a stopped server looks like from outside.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut config = MlflowConfig::new("mlflow-down", format!("http://127.0.0.1:{port}"));
    config.policy.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let mlflow = MlflowConnector::new(config).expect("config");
    let check = mlflow.test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    assert_eq!(
        check.error.map(|e| e.class),
        Some(ErrorClass::Unreachable),
        "a refused connection is unreachable"
    );
    let err = mlflow
        .search_experiments(&SearchQuery::default())
        .await
        .expect_err("down");
    assert_eq!(err.class, ErrorClass::Unreachable, "{err}");
}
