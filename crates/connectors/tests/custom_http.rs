//! The custom HTTP connector against a small local server: conditions passing, failing by
//! status, by latency (degraded) and by JSON path; the partner's credential applied; check
//! files that do not parse name their line.

#[allow(dead_code)]
#[path = "support/misbehaving.rs"]
mod misbehaving;

use std::time::Duration;

use ecosystem_connectors::custom_http::CustomHttpConnector;
use ecosystem_connectors::resilience::ResiliencePolicy;
use ecosystem_core::custom_check;
use ecosystem_core::integration::{CheckState, ConnectionCheck, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use misbehaving::{Behaviour, Misbehaving};

const HEALTHY_BODY: &str = r#"{"status":"ok","checks":{"db":{"latency_ms":12}},"version":"1.4.2"}"#;

fn check_file(url: &str) -> String {
    format!(
        r#"[request]
method = "GET"
url = "{url}/healthz"
headers = {{ Accept = "application/json" }}
timeout_secs = 5

[[expect]]
status = "2xx"

[[expect]]
latency_ms_below = 250
severity = "degraded"

[[expect]]
json_path = "$.status"
equals = "ok"

[[expect]]
json_path = "$.checks.db.latency_ms"
less_than = 100
"#
    )
}

fn connector(text: &str, credential: Option<Credential>) -> CustomHttpConnector {
    let check = custom_check::parse("feature-store.check.toml", text).expect("a valid check");
    CustomHttpConnector::new(
        "feature-store",
        "feature-store.check.toml",
        check,
        credential,
        ResiliencePolicy::default(),
    )
    .expect("connector")
}

async fn run(script: impl Fn(usize, &str) -> Behaviour + Send + Sync + 'static) -> ConnectionCheck {
    let server = Misbehaving::start(script).await;
    connector(&check_file(&server.url), None)
        .test_connection()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_condition_passing_is_healthy_with_one_capability_per_line() {
    let check = run(|_, _| Behaviour::status(200, HEALTHY_BODY)).await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    assert_eq!(check.capabilities.len(), 4, "one per condition");
    assert!(
        check.capabilities[0]
            .name
            .starts_with("feature-store.check.toml:7"),
        "named by line: {:?}",
        check.capabilities[0].name
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_status_is_unhealthy_and_names_the_line() {
    let check = run(|_, _| Behaviour::status(503, r#"{"status":"down"}"#)).await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    let err = check.error.expect("an error");
    assert_eq!(
        err.class,
        ErrorClass::PlatformError,
        "a 503 is the platform's: {err}"
    );
    assert!(
        err.message.contains("feature-store.check.toml:7") && err.message.contains("503"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_only_degrades() {
    let check = run(|_, _| {
        Behaviour::Slow(
            Duration::from_millis(400),
            Box::new(Behaviour::status(200, HEALTHY_BODY)),
        )
    })
    .await;
    assert_eq!(check.state, CheckState::Degraded, "{check:?}");
    let err = check.error.expect("the latency condition");
    assert_eq!(err.class, ErrorClass::TimedOut, "{err}");
    assert!(err.message.contains(":10"), "names the latency line: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_value_out_of_bounds_is_unhealthy_and_names_the_path_line() {
    let check =
        run(|_, _| Behaviour::status(200, r#"{"status":"ok","checks":{"db":{"latency_ms":900}}}"#))
            .await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    let err = check.error.expect("the json condition");
    assert_eq!(err.class, ErrorClass::UnexpectedResponse, "{err}");
    assert!(err.message.contains(":18"), "names line 18: {err}");
    let failing: Vec<&str> = check
        .capabilities
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failing.len(), 1, "only that condition fails: {failing:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_partners_credential_is_sent_with_the_check() {
    let server = Misbehaving::start(|_, head| {
        if head
            .to_ascii_lowercase()
            .contains("authorization: bearer feature-token")
        {
            Behaviour::status(200, HEALTHY_BODY)
        } else {
            Behaviour::status(401, r#"{"error":"unauthorized"}"#)
        }
    })
    .await;
    let with = connector(
        &check_file(&server.url),
        Some(Credential::Bearer {
            token: Secret::new("feature-token"),
        }),
    )
    .test_connection()
    .await;
    assert_eq!(with.state, CheckState::Healthy, "{with:?}");
    let without = connector(&check_file(&server.url), None)
        .test_connection()
        .await;
    assert_eq!(
        without.error.map(|e| e.class),
        Some(ErrorClass::CredentialsRejected),
        "a 401 failing the status condition"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_not_there_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let check = connector(&check_file(&url), None).test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    assert_eq!(
        check.error.map(|e| e.class),
        Some(ErrorClass::Unreachable),
        "connection refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_file_that_does_not_parse_names_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.check.toml");
    std::fs::write(
        &path,
        "[request]\nmethod = \"GET\"\nurl = \"http://127.0.0.1:9/x\"\n\n[[expect]]\nstatus = \"9xx\"\n",
    )
    .expect("write");
    let err = CustomHttpConnector::from_file("p", &path, None, ResiliencePolicy::default())
        .expect_err("refused");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert!(
        err.message.contains("broken.check.toml:5"),
        "names line 5: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_loaded_from_a_file_runs() {
    let server = Misbehaving::start(|_, _| Behaviour::status(200, HEALTHY_BODY)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ok.check.toml");
    std::fs::write(&path, check_file(&server.url)).expect("write");
    let check = CustomHttpConnector::from_file("p", &path, None, ResiliencePolicy::default())
        .expect("loads")
        .test_connection()
        .await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
}
