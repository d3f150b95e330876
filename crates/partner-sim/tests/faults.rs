//! Fault knobs, observed from a client; the admin endpoint; the binary.

mod common;

use std::time::{Duration, Instant};

use partner_sim::{DownMode, DownWindow, Faults, Platform, RateLimit, Trickle};
use serde_json::{json, Value};

async fn validate(t: &common::TestSim) -> reqwest::Result<reqwest::Response> {
    t.http
        .get(format!(
            "{}/api/v1/validate",
            t.sim.base_url(Platform::Datadog)
        ))
        .header("DD-API-KEY", "dd-sim-api-key")
        .send()
        .await
}

async fn healthz(t: &common::TestSim) -> reqwest::Result<reqwest::Response> {
    t.http
        .get(format!(
            "{}/apis/v2beta1/healthz",
            t.sim.base_url(Platform::Kubeflow)
        ))
        .send()
        .await
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                latency_ms: 300,
                ..Faults::default()
            },
        )
        .unwrap();
    let started = Instant::now();
    let r = healthz(&t).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "still answers");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn error_rate_answers_5xx_in_the_platform_body() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
        )
        .unwrap();
    let r = healthz(&t).await.unwrap();
    assert_eq!(r.status().as_u16(), 500, "injected 500");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], 13, "googlerpcStatus INTERNAL: {body}");
    t.sim
        .set_faults(
            Platform::Databricks,
            Faults {
                error_rate: 1.0,
                error_status: Some(503),
                ..Faults::default()
            },
        )
        .unwrap();
    let r = t
        .http
        .get(format!(
            "{}/api/2.0/preview/scim/v2/Me",
            t.sim.base_url(Platform::Databricks)
        ))
        .bearer_auth("dapi-sim-demo-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503, "configured status");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_code"],
        "TEMPORARILY_UNAVAILABLE",
        "Databricks body"
    );
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_datadog_rate_headers() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Datadog,
            Faults {
                throttle_rate: 1.0,
                retry_after_s: Some(7),
                ..Faults::default()
            },
        )
        .unwrap();
    let r = validate(&t).await.unwrap();
    assert_eq!(r.status().as_u16(), 429, "throttled");
    assert_eq!(r.headers()["retry-after"], "7", "Retry-After");
    assert_eq!(r.headers()["x-ratelimit-reset"], "7", "X-RateLimit-Reset");
    assert_eq!(
        r.headers()["x-ratelimit-remaining"],
        "0",
        "nothing remaining"
    );
}

#[tokio::test]
async fn a_rate_limit_window_counts_down_remaining_then_throttles_until_reset() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Datadog,
            Faults {
                rate_limit: Some(RateLimit {
                    limit: 2,
                    period_s: 60,
                }),
                ..Faults::default()
            },
        )
        .unwrap();
    let first = validate(&t).await.unwrap();
    assert_eq!(first.headers()["x-ratelimit-limit"], "2", "limit reported");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "1", "one left");
    assert_eq!(
        validate(&t).await.unwrap().status().as_u16(),
        200,
        "second within the limit"
    );
    let third = validate(&t).await.unwrap();
    assert_eq!(third.status().as_u16(), 429, "third is over");
    assert!(
        third.headers().contains_key("retry-after"),
        "Retry-After on 429"
    );
    t.clock.advance(Duration::from_secs(61));
    assert_eq!(
        validate(&t).await.unwrap().status().as_u16(),
        200,
        "a new window"
    );
}

#[tokio::test]
async fn down_answers_503_or_closes_and_down_windows_follow_the_clock() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                down: true,
                ..Faults::default()
            },
        )
        .unwrap();
    let r = healthz(&t).await.unwrap();
    assert_eq!(r.status().as_u16(), 503, "down is 503");
    assert!(r.headers().contains_key("retry-after"), "with Retry-After");
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                down: true,
                down_mode: DownMode::Close,
                ..Faults::default()
            },
        )
        .unwrap();
    let fresh = reqwest::Client::new();
    let err = fresh
        .get(format!(
            "{}/apis/v2beta1/healthz",
            t.sim.base_url(Platform::Kubeflow)
        ))
        .send()
        .await;
    assert!(
        err.is_err(),
        "the connection is closed without an answer: {err:?}"
    );
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                down_windows: vec![DownWindow {
                    start_ms: 10_000,
                    end_ms: 20_000,
                }],
                ..Faults::default()
            },
        )
        .unwrap();
    assert_eq!(
        healthz(&t).await.unwrap().status().as_u16(),
        200,
        "before the window"
    );
    t.clock.advance(Duration::from_secs(15));
    assert_eq!(
        healthz(&t).await.unwrap().status().as_u16(),
        503,
        "inside the window"
    );
    t.clock.advance(Duration::from_secs(10));
    assert_eq!(
        healthz(&t).await.unwrap().status().as_u16(),
        200,
        "after the window"
    );
}

#[tokio::test]
async fn malformed_bodies_fail_to_parse_as_json() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Datadog,
            Faults {
                malformed_rate: 1.0,
                ..Faults::default()
            },
        )
        .unwrap();
    let r = validate(&t).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "status still 200");
    assert!(r.json::<Value>().await.is_err(), "the body is not JSON");
}

#[tokio::test]
async fn a_hang_is_seen_as_a_client_timeout() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                hang_rate: 1.0,
                ..Faults::default()
            },
        )
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .get(format!(
            "{}/apis/v2beta1/healthz",
            t.sim.base_url(Platform::Kubeflow)
        ))
        .send()
        .await
        .err();
    assert!(
        err.as_ref().is_some_and(reqwest::Error::is_timeout),
        "timed out: {err:?}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_streamed_at_the_asked_size() {
    let t = common::start().await;
    let size = 5 * 1024 * 1024;
    t.sim
        .set_faults(
            Platform::Kubeflow,
            Faults {
                oversized_bytes: size,
                ..Faults::default()
            },
        )
        .unwrap();
    let r = healthz(&t).await.unwrap();
    assert_eq!(
        r.content_length(),
        Some(size),
        "Content-Length announces it"
    );
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len() as u64, size, "the whole body arrives");
    assert!(
        serde_json::from_slice::<Value>(&body).is_ok(),
        "and is valid JSON"
    );
}

#[tokio::test]
async fn trickle_sends_the_body_slowly_in_chunks() {
    let t = common::start().await;
    t.sim
        .set_faults(
            Platform::Datadog,
            Faults {
                trickle: Some(Trickle {
                    chunk_bytes: 4,
                    interval_ms: 50,
                }),
                ..Faults::default()
            },
        )
        .unwrap();
    let started = Instant::now();
    let body: Value = validate(&t).await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"valid": true}), "the body is intact");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "14 bytes in 4-byte chunks take 4 pauses: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_admin_endpoint_reads_and_replaces_faults_and_refuses_bad_values() {
    let t = common::start().await;
    let admin = format!("{}/_sim/faults", t.sim.base_url(Platform::Snowflake));
    let r = t
        .http
        .put(&admin)
        .json(&json!({"down": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "faults set");
    assert!(
        t.sim.faults(Platform::Snowflake).down,
        "visible through the library"
    );
    let got: Value = t
        .http
        .get(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["down"], true, "visible through GET: {got}");
    let r = t
        .http
        .post(format!(
            "{}/api/v2/statements",
            t.sim.base_url(Platform::Snowflake)
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        503,
        "the partner is down, the admin route is not"
    );
    let r = t
        .http
        .put(&admin)
        .json(&json!({"error_rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "out of range refused");
    assert!(
        r.text().await.unwrap().contains("error_rate"),
        "names the field"
    );
    let r = t
        .http
        .put(&admin)
        .json(&json!({"no_such_knob": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "unknown knob refused");
}

#[tokio::test]
async fn the_binary_prints_one_url_per_platform_and_serves_them() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_partner-sim"))
        .args(["--platform", "datadog,kubeflow", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        urls.push(line);
    }
    assert!(
        urls[0].starts_with("kubeflow http://127.0.0.1:"),
        "kubeflow line: {urls:?}"
    );
    assert!(
        urls[1].starts_with("datadog http://127.0.0.1:"),
        "datadog line: {urls:?}"
    );
    let base = urls[0].split_whitespace().nth(1).unwrap();
    let r = reqwest::get(format!("{base}/apis/v2beta1/healthz"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the printed URL serves");
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
