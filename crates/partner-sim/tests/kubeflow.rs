//! Kubeflow Pipelines v2beta1 simulator.

mod common;

use partner_sim::Platform;
use serde_json::{json, Value};

const TOKEN: &str = "kfp-sim-token";

async fn get(t: &common::TestSim, path: &str) -> (u16, Value) {
    let r = t
        .http
        .get(format!("{}{path}", t.sim.base_url(Platform::Kubeflow)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post(t: &common::TestSim, path: &str, body: Value) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}{path}", t.sim.base_url(Platform::Kubeflow)))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn healthz_needs_no_token_and_the_api_refuses_a_bad_one_with_unauthenticated() {
    let t = common::start().await;
    let base = t.sim.base_url(Platform::Kubeflow);
    let r = t
        .http
        .get(format!("{base}/apis/v2beta1/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "healthz is open");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["multi_user"], false, "healthz shape: {body}");
    let r = t
        .http
        .get(format!("{base}/apis/v2beta1/runs"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "bad token");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], 16, "googlerpcStatus UNAUTHENTICATED: {body}");
    assert!(body["details"].is_array(), "details present");
}

#[tokio::test]
async fn created_runs_progress_and_terminate_to_canceled() {
    let t = common::start().await;
    let (status, run) = post(&t, "/apis/v2beta1/runs", json!({"display_name": "nightly", "pipeline_version_reference": {"pipeline_id": "p1", "pipeline_version_id": "v1"}, "runtime_config": {"parameters": {"lr": 0.1}}})).await;
    assert_eq!(status, 200, "create: {run}");
    assert_eq!(run["state"], "PENDING", "starts pending");
    let id = run["run_id"].as_str().unwrap().to_string();
    t.clock.advance(std::time::Duration::from_secs(6));
    let (_, r) = get(&t, &format!("/apis/v2beta1/runs/{id}")).await;
    assert_eq!(r["state"], "RUNNING", "then running");
    t.clock.advance(std::time::Duration::from_secs(10));
    let (_, r) = get(&t, &format!("/apis/v2beta1/runs/{id}")).await;
    assert_eq!(r["state"], "SUCCEEDED", "then succeeded: {r}");
    assert!(r["finished_at"].is_string(), "finished_at set");

    let (_, run2) = post(
        &t,
        "/apis/v2beta1/runs",
        json!({"display_name": "to-stop", "pipeline_spec": {}}),
    )
    .await;
    let id2 = run2["run_id"].as_str().unwrap().to_string();
    let (status, _) = post(
        &t,
        &format!("/apis/v2beta1/runs/{id2}:terminate"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "terminate accepted");
    let (_, r) = get(&t, &format!("/apis/v2beta1/runs/{id2}")).await;
    assert_eq!(r["state"], "CANCELING", "canceling first");
    t.clock.advance(std::time::Duration::from_secs(6));
    let (_, r) = get(&t, &format!("/apis/v2beta1/runs/{id2}")).await;
    assert_eq!(r["state"], "CANCELED", "then canceled");
    let (status, body) = get(&t, "/apis/v2beta1/runs/does-not-exist").await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!(5)),
        "unknown run is NOT_FOUND"
    );
}

#[tokio::test]
async fn run_lists_filter_sort_and_page_with_total_size() {
    let t = common::start().await;
    let filter =
        enc(r#"{"predicates":[{"key":"state","operation":"EQUALS","string_value":"SUCCEEDED"}]}"#);
    let (status, body) = get(
        &t,
        &format!("/apis/v2beta1/runs?page_size=5&filter={filter}&sort_by=created_at%20desc"),
    )
    .await;
    assert_eq!(status, 200, "filtered list: {body}");
    let total = body["total_size"].as_u64().unwrap();
    assert!(total > 5, "more than a page succeeded: {total}");
    let runs = body["runs"].as_array().unwrap();
    assert!(
        runs.iter().all(|r| r["state"] == "SUCCEEDED"),
        "filter applied"
    );
    assert!(
        runs[0]["created_at"].as_str() > runs[1]["created_at"].as_str(),
        "newest first"
    );
    let mut seen = runs.len();
    let mut token = body["next_page_token"].as_str().map(str::to_string);
    while let Some(tok) = token {
        let (_, page) = get(
            &t,
            &format!("/apis/v2beta1/runs?page_size=5&filter={filter}&page_token={tok}"),
        )
        .await;
        seen += page["runs"].as_array().unwrap().len();
        token = page["next_page_token"].as_str().map(str::to_string);
    }
    assert_eq!(seen as u64, total, "pages add up to total_size");

    let since = enc(
        r#"{"predicates":[{"key":"created_at","operation":"GREATER_THAN","timestamp_value":"2026-11-26T00:00:00Z"}]}"#,
    );
    let (_, recent) = get(&t, &format!("/apis/v2beta1/runs?filter={since}")).await;
    assert!(
        recent["total_size"].as_u64().unwrap() < 25,
        "timestamp filter narrows: {}",
        recent["total_size"]
    );
    let not = enc(
        r#"{"predicates":[{"key":"display_name","operation":"NOT_EQUALS","string_value":"sim-run-00"}]}"#,
    );
    let (_, others) = get(&t, &format!("/apis/v2beta1/runs?filter={not}")).await;
    assert_eq!(others["total_size"], 24, "all but one");
}

#[tokio::test]
async fn experiments_are_created_and_listed_and_pipelines_are_listed() {
    let t = common::start().await;
    let (status, e) = post(
        &t,
        "/apis/v2beta1/experiments",
        json!({"display_name": "partner-eval", "description": "d"}),
    )
    .await;
    assert_eq!(status, 200, "create experiment: {e}");
    let (_, list) = get(&t, "/apis/v2beta1/experiments?page_size=200").await;
    assert!(
        list["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["display_name"] == "partner-eval"),
        "created shows up"
    );
    let (status, _) = post(
        &t,
        "/apis/v2beta1/experiments",
        json!({"display_name": "partner-eval"}),
    )
    .await;
    assert_eq!(status, 409, "duplicate name is ALREADY_EXISTS");
    let (_, p) = get(&t, "/apis/v2beta1/pipelines?page_size=1").await;
    assert_eq!(
        (
            p["total_size"].clone(),
            p["pipelines"].as_array().map(Vec::len)
        ),
        (json!(4), Some(1)),
        "pipelines page: {p}"
    );
}

#[tokio::test]
async fn nonconforming_kfp_requests_are_invalid_argument_naming_the_problem() {
    let t = common::start().await;
    let (status, body) = post(&t, "/apis/v2beta1/runs", json!({"pipeline_spec": {}})).await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!(3)),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        body["message"],
        "partner-sim: POST /apis/v2beta1/runs: body.display_name: required string missing",
        "names the field"
    );
    let bad = enc(r#"{"predicates":[{"key":"state","operation":"LIKE","string_value":"X"}]}"#);
    let (status, body) = get(&t, &format!("/apis/v2beta1/runs?filter={bad}")).await;
    assert_eq!(status, 400, "unknown operation");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("filter.predicates[0].operation"),
        "{body}"
    );
}
