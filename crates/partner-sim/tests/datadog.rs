//! Datadog simulator.

mod common;

use partner_sim::Platform;
use serde_json::{json, Value};

const API: &str = "dd-sim-api-key";
const APP: &str = "dd-sim-app-key";

fn url(t: &common::TestSim, path: &str) -> String {
    format!("{}{path}", t.sim.base_url(Platform::Datadog))
}

#[tokio::test]
async fn validate_accepts_the_api_key_and_refuses_others_with_403() {
    let t = common::start().await;
    let r = t
        .http
        .get(url(&t, "/api/v1/validate"))
        .header("DD-API-KEY", API)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "valid key");
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-period",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-name",
    ] {
        assert!(r.headers().contains_key(h), "{h} on every answer");
    }
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"valid": true}),
        "body"
    );
    let r = t
        .http
        .get(url(&t, "/api/v1/validate"))
        .header("DD-API-KEY", "bad")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "bad key is 403");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"errors": ["Forbidden"]}),
        "exact body"
    );
    let r = t
        .http
        .get(url(&t, "/api/v1/validate"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"errors": ["API key required"]}),
        "no key, as recorded"
    );
}

#[tokio::test]
async fn series_are_accepted_when_the_body_matches_the_schema_and_refused_with_the_path_otherwise()
{
    let t = common::start().await;
    let good = json!({"series": [{"metric": "ecosystem.sync.ok", "type": 3, "points": [{"timestamp": 1_764_000_000, "value": 1.0}], "tags": ["env:dev"], "resources": [{"name": "host1", "type": "host"}]}]});
    let r = t
        .http
        .post(url(&t, "/api/v2/series"))
        .header("DD-API-KEY", API)
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "accepted");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"errors": []}),
        "recorded body"
    );
    let bad = json!({"series": [{"metric": "m", "points": [{"timestamp": 1}]}]});
    let r = t
        .http
        .post(url(&t, "/api/v2/series"))
        .header("DD-API-KEY", API)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "missing value");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"errors": ["partner-sim: POST /api/v2/series: body.series[0].points[0].value: required number missing"]}),
        "the violation is named"
    );
    let legacy = json!({"series": [{"metric": "m", "points": [[1, 2.0]]}]});
    let r = t
        .http
        .post(url(&t, "/api/v2/series"))
        .header("DD-API-KEY", API)
        .json(&legacy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        400,
        "v1 point arrays are not v2 points"
    );
}

#[tokio::test]
async fn posted_events_show_up_in_the_event_stream() {
    let t = common::start().await;
    let now = t.sim.clock().now_ms() / 1000;
    let r = t
        .http
        .post(url(&t, "/api/v1/events"))
        .header("DD-API-KEY", API)
        .json(&json!({"title": "deploy", "text": "v2 rolled out", "tags": ["team:ml"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "event accepted");
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["status"], "ok", "recorded shape: {created}");
    let r = t
        .http
        .get(url(
            &t,
            &format!("/api/v1/events?start={}&end={}", now - 60, now + 60),
        ))
        .header("DD-API-KEY", API)
        .header("DD-APPLICATION-KEY", APP)
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(
        list["events"][0]["id"], created["event"]["id"],
        "listed: {list}"
    );
    let r = t
        .http
        .get(url(&t, "/api/v1/events?start=1"))
        .header("DD-API-KEY", API)
        .header("DD-APPLICATION-KEY", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "end is required");
}

#[tokio::test]
async fn hourly_usage_needs_both_keys_and_pages_through_next_record_id() {
    let t = common::start().await;
    let q = "filter[timestamp][start]=2026-11-25T12:00:00Z&filter[product_families]=infra_hosts,logs&page[limit]=20";
    let r = t
        .http
        .get(url(&t, &format!("/api/v2/usage/hourly_usage?{q}")))
        .header("DD-API-KEY", API)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "the app key is required");
    let mut total = 0;
    let mut next: Option<String> = None;
    loop {
        let page = next
            .as_ref()
            .map(|n| format!("&page[next_record_id]={n}"))
            .unwrap_or_default();
        let r = t
            .http
            .get(url(&t, &format!("/api/v2/usage/hourly_usage?{q}{page}")))
            .header("DD-API-KEY", API)
            .header("DD-APPLICATION-KEY", APP)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "usage page");
        let body: Value = r.json().await.unwrap();
        let data = body["data"].as_array().unwrap();
        assert!(
            data.iter().all(|d| d["type"] == "usage_timeseries"),
            "recorded type"
        );
        total += data.len();
        match body["meta"]["pagination"]["next_record_id"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(total, 48, "24 hours x 2 families across pages");
    let r = t
        .http
        .get(url(
            &t,
            "/api/v2/usage/hourly_usage?filter[product_families]=infra_hosts",
        ))
        .header("DD-API-KEY", API)
        .header("DD-APPLICATION-KEY", APP)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("filter[timestamp][start]"),
        "missing required parameter named: {body}"
    );
    let r = t
        .http
        .get(url(
            &t,
            "/api/v2/usage/estimated_cost?start_month=2026-10-01T00:00:00Z",
        ))
        .header("DD-API-KEY", API)
        .header("DD-APPLICATION-KEY", APP)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["data"][0]["type"], "cost_by_org",
        "estimated cost shape: {body}"
    );
    assert_eq!(
        body["data"].as_array().map(Vec::len),
        Some(2),
        "October and November"
    );
}
