//! Databricks simulator, seen from an HTTP client.

mod common;

use base64::Engine;
use partner_sim::Platform;
use serde_json::{json, Value};

const PAT: &str = "dapi-sim-demo-token";

fn url(t: &common::TestSim, path: &str) -> String {
    format!("{}{path}", t.sim.base_url(Platform::Databricks))
}

async fn get(t: &common::TestSim, path: &str) -> (u16, Value) {
    let r = t
        .http
        .get(url(t, path))
        .bearer_auth(PAT)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post(t: &common::TestSim, path: &str, body: Value) -> (u16, Value) {
    let r = t
        .http
        .post(url(t, path))
        .bearer_auth(PAT)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn scim_me_answers_the_configured_user_for_a_valid_pat() {
    let t = common::start().await;
    let (status, body) = get(&t, "/api/2.0/preview/scim/v2/Me").await;
    assert_eq!(status, 200, "PAT accepted: {body}");
    assert_eq!(
        body["userName"], "sim-user@example.com",
        "SCIM user: {body}"
    );
}

#[tokio::test]
async fn a_bad_token_gets_403_with_a_numeric_error_code_and_reason_phrase() {
    let t = common::start().await;
    let r = t
        .http
        .get(url(&t, "/api/2.0/preview/scim/v2/Me"))
        .bearer_auth("dapi-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "bad token is 403");
    assert_eq!(
        r.headers()
            .get("x-databricks-reason-phrase")
            .and_then(|v| v.to_str().ok()),
        Some("Invalid access token."),
        "reason phrase header"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error_code": 403, "message": "Invalid access token."}),
        "exact body"
    );
}

#[tokio::test]
async fn oauth_m2m_token_from_basic_client_credentials_is_accepted_as_bearer() {
    let t = common::start().await;
    let r = t
        .http
        .post(url(&t, "/oidc/v1/token"))
        .basic_auth("sim-client-id", Some("sim-client-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "token issued");
    let tok: Value = r.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer", "token type: {tok}");
    assert_eq!(tok["scope"], "all-apis", "scope echoed: {tok}");
    assert_eq!(tok["expires_in"], 3600, "expiry: {tok}");
    let access = tok["access_token"].as_str().unwrap();
    let r = t
        .http
        .get(url(&t, "/api/2.1/clusters/list"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "OAuth token works as Bearer");

    t.clock.advance(std::time::Duration::from_secs(3601));
    let r = t
        .http
        .get(url(&t, "/api/2.1/clusters/list"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "an expired OAuth token is refused"
    );

    let r = t
        .http
        .post(url(&t, "/oidc/v1/token"))
        .basic_auth("sim-client-id", Some("wrong"))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "wrong client secret is 401");
}

#[tokio::test]
async fn oauth_client_credentials_are_form_decoded_as_rfc_6749_says() {
    let mut config = partner_sim::SimConfig::default();
    config.databricks.oauth_client_id = "sim client/id".into();
    config.databricks.oauth_client_secret = "s3cr+t/with=signs&more".into();
    let t = common::start_with(config).await;
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let token = |id: String, secret: String| {
        let request = t
            .http
            .post(url(&t, "/oidc/v1/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        token(encode("sim client/id"), encode("s3cr+t/with=signs&more")).await,
        200,
        "encoded as the standard says"
    );
    assert_eq!(
        token(encode("sim client/id"), encode("s3cr t/with=signs&more")).await,
        401,
        "a '+' decoded from the secret is a space: a different secret"
    );
}

#[tokio::test]
async fn clusters_and_jobs_paginate_with_page_tokens_until_exhausted() {
    let t = common::start().await;
    let mut seen = 0;
    let mut token = String::new();
    loop {
        let (status, body) = get(
            &t,
            &format!("/api/2.1/clusters/list?page_size=3&page_token={token}"),
        )
        .await;
        assert_eq!(status, 200, "clusters page: {body}");
        seen += body["clusters"].as_array().unwrap().len();
        match body["next_page_token"].as_str() {
            Some(next) => token = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, 7, "all seeded clusters are reachable through pages");
    let (_, v20) = get(&t, "/api/2.0/clusters/list").await;
    assert_eq!(
        v20["clusters"].as_array().map(Vec::len),
        Some(7),
        "2.0 path served too"
    );

    let (_, page1) = get(&t, "/api/2.2/jobs/list?limit=25").await;
    assert_eq!(page1["has_more"], true, "30 jobs need two pages of 25");
    let next = page1["next_page_token"].as_str().unwrap();
    let (_, page2) = get(
        &t,
        &format!("/api/2.2/jobs/list?limit=25&page_token={next}"),
    )
    .await;
    assert_eq!(
        page2["jobs"].as_array().map(Vec::len),
        Some(5),
        "second page holds the rest"
    );
    assert_eq!(page2["has_more"], false, "no more after the last page");
    let (_, v21) = get(&t, "/api/2.1/jobs/list?limit=1").await;
    assert!(
        v21["jobs"][0]["settings"]["name"].is_string(),
        "2.1 jobs/list served: {v21}"
    );
}

#[tokio::test]
async fn run_now_creates_a_run_that_moves_pending_running_terminated_in_runs_list() {
    let t = common::start().await;
    let now_ms = t.sim.clock().now_ms();
    let (status, created) = post(&t, "/api/2.2/jobs/run-now", json!({"job_id": 1003})).await;
    assert_eq!(status, 200, "run-now: {created}");
    let run_id = created["run_id"].as_i64().unwrap();
    let state = |body: &Value| {
        body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_id"] == run_id)
            .map(|r| r["state"]["life_cycle_state"].clone())
    };
    let path = format!("/api/2.2/jobs/runs/list?start_time_from={now_ms}&limit=5");
    let (_, body) = get(&t, &path).await;
    assert_eq!(
        state(&body),
        Some(json!("PENDING")),
        "new run is pending: {body}"
    );
    t.clock.advance(std::time::Duration::from_secs(6));
    let (_, body) = get(&t, &path).await;
    assert_eq!(
        state(&body),
        Some(json!("RUNNING")),
        "after one step it runs"
    );
    t.clock.advance(std::time::Duration::from_secs(10));
    let (_, body) = get(&t, &path).await;
    assert_eq!(
        state(&body),
        Some(json!("TERMINATED")),
        "after three steps it terminated"
    );
    let run = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == run_id)
        .unwrap()
        .clone();
    assert_eq!(
        run["state"]["result_state"], "SUCCESS",
        "and succeeded: {run}"
    );

    let (status, body) = post(&t, "/api/2.2/jobs/run-now", json!({"job_id": 99})).await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (400, json!("INVALID_PARAMETER_VALUE")),
        "unknown job: {body}"
    );
}

#[tokio::test]
async fn runs_list_filters_by_start_time_and_pages_with_has_more() {
    let t = common::start().await;
    let now = t.sim.clock().now_ms();
    let from = now - 24 * 3_600_000;
    let (_, body) = get(
        &t,
        &format!("/api/2.2/jobs/runs/list?start_time_from={from}&start_time_to={now}&limit=5"),
    )
    .await;
    let runs = body["runs"].as_array().unwrap();
    assert!(
        runs.iter()
            .all(|r| r["start_time"].as_i64().unwrap() >= from),
        "window respected: {body}"
    );
    assert_eq!(
        body["has_more"], true,
        "12 runs in a day need more than one page of 5"
    );
    let next = body["next_page_token"].as_str().unwrap();
    let (_, page2) = get(&t, &format!("/api/2.2/jobs/runs/list?start_time_from={from}&start_time_to={now}&limit=5&page_token={next}")).await;
    assert_ne!(
        page2["runs"][0]["run_id"], runs[0]["run_id"],
        "second page differs"
    );
    let (status, body) = get(&t, "/api/2.2/jobs/runs/list?limit=26").await;
    assert_eq!(status, 400, "limit above 25 is refused: {body}");
    assert!(
        body["message"].as_str().unwrap().contains("`limit`"),
        "message names the parameter: {body}"
    );
}

#[tokio::test]
async fn dbfs_put_then_read_round_trips_and_missing_paths_are_404() {
    let t = common::start().await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (status, body) = post(
        &t,
        "/api/2.0/dbfs/put",
        json!({"path": "/tmp/hello.txt", "contents": b64.encode("hello world"), "overwrite": true}),
    )
    .await;
    assert_eq!((status, body), (200, json!({})), "put accepted");
    let (status, body) = get(&t, "/api/2.0/dbfs/read?path=/tmp/hello.txt").await;
    assert_eq!(status, 200, "read: {body}");
    assert_eq!(
        body,
        json!({"bytes_read": 11, "data": "aGVsbG8gd29ybGQ="}),
        "same bytes back"
    );
    let (status, body) = get(&t, "/api/2.0/dbfs/read?path=/tmp/nope.txt").await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (404, json!("RESOURCE_DOES_NOT_EXIST")),
        "missing file: {body}"
    );
    let big = b64.encode(vec![0u8; 1024 * 1024 + 1]);
    let (status, body) = post(
        &t,
        "/api/2.0/dbfs/put",
        json!({"path": "/tmp/big", "contents": big}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (400, json!("MAX_BLOCK_SIZE_EXCEEDED")),
        "over 1 MB refused"
    );
}

#[tokio::test]
async fn warehouses_and_billing_usage_statements_answer_deterministic_rows() {
    let t = common::start().await;
    let (_, wh) = get(&t, "/api/2.0/sql/warehouses").await;
    let id = wh["warehouses"][0]["id"].as_str().unwrap().to_string();
    let stmt = json!({"warehouse_id": id, "statement": "SELECT usage_date, sku_name, SUM(usage_quantity) FROM system.billing.usage WHERE usage_date >= current_date()-30 GROUP BY ALL", "wait_timeout": "30s", "format": "JSON_ARRAY", "disposition": "INLINE"});
    let (status, a) = post(&t, "/api/2.0/sql/statements", stmt.clone()).await;
    assert_eq!(status, 200, "statement: {a}");
    assert_eq!(a["status"]["state"], "SUCCEEDED", "inline result: {a}");
    assert_eq!(a["manifest"]["total_row_count"], 90, "30 days x 3 SKUs");
    assert_eq!(
        a["manifest"]["schema"]["columns"][2]["name"], "usage_quantity",
        "columns named"
    );
    let (_, b) = post(&t, "/api/2.0/sql/statements", stmt).await;
    assert_eq!(
        a["result"]["data_array"], b["result"]["data_array"],
        "rows are deterministic"
    );

    let (_, pending) = post(
        &t,
        "/api/2.0/sql/statements",
        json!({"warehouse_id": id, "statement": "SELECT 1", "wait_timeout": "0s"}),
    )
    .await;
    assert_eq!(
        pending["status"]["state"], "PENDING",
        "wait_timeout 0s answers at once: {pending}"
    );
    t.clock.advance(std::time::Duration::from_secs(3));
    let (_, done) = get(
        &t,
        &format!(
            "/api/2.0/sql/statements/{}",
            pending["statement_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        done["status"]["state"], "SUCCEEDED",
        "polling finds it done: {done}"
    );
}

#[tokio::test]
async fn nonconforming_requests_get_400_naming_the_violation() {
    let t = common::start().await;
    let (status, body) = post(&t, "/api/2.2/jobs/run-now", json!({"job_id": "1003"})).await;
    assert_eq!(status, 400, "string job_id refused");
    assert_eq!(
        body["message"],
        "partner-sim: POST /api/2.2/jobs/run-now: body.job_id: expected integer, found string",
        "violation named: {body}"
    );
    let (status, body) = post(&t, "/api/2.0/dbfs/put", json!({"contents": "aGk="})).await;
    assert_eq!(status, 400, "missing path");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("body.path: required string missing"),
        "{body}"
    );
    let (status, body) = get(&t, "/api/2.0/dbfs/read").await;
    assert_eq!(status, 400, "missing query parameter");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("`path`: required"),
        "{body}"
    );
    let (status, body) = post(&t, "/api/2.0/sql/warehouses", json!({})).await;
    assert_eq!(status, 400, "wrong method: {body}");
    let (status, body) = get(&t, "/api/2.0/nope").await;
    assert_eq!(status, 400, "unknown path: {body}");
}
