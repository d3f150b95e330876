//! MLflow tracking server simulator: auth as the basic-auth app answers it, the REST shapes
//! and error bodies of the spec, and 400s naming the violation.

mod common;

use partner_sim::Platform;
use serde_json::{json, Value};

const USER: &str = "sim-admin";
const PASSWORD: &str = "mlflow-sim-password";

async fn get(t: &common::TestSim, path: &str) -> (u16, Value) {
    let r = t
        .http
        .get(format!("{}{path}", t.sim.base_url(Platform::Mlflow)))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post(t: &common::TestSim, path: &str, body: Value) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}{path}", t.sim.base_url(Platform::Mlflow)))
        .basic_auth(USER, Some(PASSWORD))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn health_is_open_and_the_api_answers_401_html_with_a_basic_challenge() {
    let t = common::start().await;
    let base = t.sim.base_url(Platform::Mlflow);
    let r = t.http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "OK");
    for request in [
        t.http
            .get(format!("{base}/api/2.0/mlflow/experiments/search")),
        t.http
            .get(format!("{base}/api/2.0/mlflow/experiments/search"))
            .basic_auth(USER, Some("wrong")),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.headers()["www-authenticate"].to_str().unwrap(),
            "Basic realm=\"mlflow\""
        );
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("You are not authenticated"));
    }
    let r = t
        .http
        .get(format!("{base}/ajax-api/2.0/mlflow/experiments/search"))
        .bearer_auth("mlflow-sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "a bearer token on the ajax alias");
}

#[tokio::test]
async fn searches_page_with_base64_offset_tokens_and_omit_empty_lists() {
    let t = common::start().await;
    let (status, body) = get(&t, "/api/2.0/mlflow/experiments/search?max_results=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["experiments"].as_array().unwrap().len(), 1);
    assert_eq!(body["next_page_token"], "eyJvZmZzZXQiOiAxfQ==");
    assert_eq!(body["experiments"][0]["workspace"], "default");
    let (_, body) = post(
        &t,
        "/api/2.0/mlflow/runs/search",
        json!({"experiment_ids": ["99"]}),
    )
    .await;
    assert_eq!(
        body,
        json!({}),
        "no runs: an empty object, as the server answers"
    );
    let (_, body) = post(
        &t,
        "/api/2.0/mlflow/runs/search",
        json!({"experiment_ids": ["1", "2"], "max_results": 2, "order_by": ["attributes.start_time ASC"]}),
    )
    .await;
    let runs = body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["info"]["start_time"].as_i64() <= runs[1]["info"]["start_time"].as_i64());
    assert!(runs[0]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .starts_with("mlflow-artifacts:/"));
}

#[tokio::test]
async fn errors_carry_the_mlflow_error_code() {
    let t = common::start().await;
    let (status, body) = get(&t, "/api/2.0/mlflow/runs/get?run_id=nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["error_class"], "RESOURCE_NOT_FOUND");
    let (status, body) = post(
        &t,
        "/api/2.0/mlflow/runs/log-metric",
        json!({"run_id": "5eed0000000000000000000000000000", "key": "loss", "timestamp": 1}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Missing value for required parameter 'value'"));
    let (status, body) = post(
        &t,
        "/api/2.0/mlflow/experiments/create",
        json!({"name": "Default"}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("RESOURCE_ALREADY_EXISTS"))
    );
    let (status, body) = get(&t, "/api/2.0/mlflow/experiments/search?max_results=50001").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn violations_are_refused_with_the_field_named() {
    let t = common::start().await;
    let (status, body) = post(
        &t,
        "/api/2.0/mlflow/runs/search",
        json!({"experiment_ids": [1]}),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("body.experiment_ids[0]"), "{message}");
    assert!(
        message.starts_with("partner-sim: POST /api/2.0/mlflow/runs/search"),
        "{message}"
    );
    let (status, body) = post(
        &t,
        "/api/2.0/mlflow/runs/search",
        json!({"experiment_ids": ["1"], "filter": "metrics.acc > 1"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("metrics.acc"),
        "{body}"
    );
    let (status, body) = get(&t, "/api/2.0/mlflow/runs/delete").await;
    assert_eq!(status, 400, "an unserved path: {body}");
}
