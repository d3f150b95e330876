//! Snowflake SQL API v2 simulator, with key-pair JWTs signed by an independent library.

mod common;

use std::sync::OnceLock;

use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use partner_sim::{Platform, SimConfig};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Keys {
    private_pem: String,
    public_pem: String,
    fingerprint: String,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = key.to_public_key();
        let der = public.to_public_key_der().unwrap();
        Keys {
            private_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
            fingerprint: format!(
                "SHA256:{}",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(der.as_bytes()))
            ),
        }
    })
}

async fn start() -> common::TestSim {
    let mut config = SimConfig::default();
    config.snowflake.account = "myorg-acct1".into();
    config.snowflake.user = "ecosystem".into();
    config.snowflake.public_key_pem = keys().public_pem.clone();
    config.snowflake.partition_rows = 1000;
    common::start_with(config).await
}

fn jwt(t: &common::TestSim, iss: &str, sub: &str, iat_offset: i64, lifetime: i64) -> String {
    let now = t.sim.clock().now_ms() / 1000;
    let claims = json!({"iss": iss, "sub": sub, "iat": now + iat_offset, "exp": now + iat_offset + lifetime});
    encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(keys().private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn good_jwt(t: &common::TestSim) -> String {
    jwt(
        t,
        &format!("MYORG-ACCT1.ECOSYSTEM.{}", keys().fingerprint),
        "MYORG-ACCT1.ECOSYSTEM",
        0,
        3600,
    )
}

async fn submit(t: &common::TestSim, token: &str, query: &str, body: Value) -> reqwest::Response {
    t.http
        .post(format!(
            "{}/api/v2/statements{query}",
            t.sim.base_url(Platform::Snowflake)
        ))
        .bearer_auth(token)
        .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn poll(t: &common::TestSim, token: &str, handle: &str, query: &str) -> (u16, Value) {
    let r = t
        .http
        .get(format!(
            "{}/api/v2/statements/{handle}{query}",
            t.sim.base_url(Platform::Snowflake)
        ))
        .bearer_auth(token)
        .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_valid_keypair_jwt_runs_the_four_column_connection_check() {
    let t = start().await;
    let token = good_jwt(&t);
    let r = submit(&t, &token, "?requestId=0b7f2a64-5c1e-4d0f-9a77-3f7a1f0e2b11", json!({"statement": "SELECT CURRENT_ACCOUNT(), CURRENT_USER(), CURRENT_ROLE(), CURRENT_VERSION()", "timeout": 30})).await;
    assert_eq!(r.status().as_u16(), 200, "JWT accepted");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "090001", "success code: {body}");
    assert_eq!(body["resultSetMetaData"]["format"], "jsonv2", "format");
    assert_eq!(body["resultSetMetaData"]["numRows"], 1, "one row");
    assert_eq!(
        body["resultSetMetaData"]["rowType"][0]["name"], "CURRENT_ACCOUNT()",
        "column named by expression"
    );
    assert_eq!(
        body["resultSetMetaData"]["rowType"][0]["type"], "text",
        "lower-case type"
    );
    assert_eq!(
        body["data"][0][0], "MYORG-ACCT1",
        "account value as a string"
    );
    assert_eq!(body["data"][0][1], "ECOSYSTEM", "user value");
}

#[tokio::test]
async fn wrong_fingerprint_expired_and_overlong_jwts_get_401_390144() {
    let t = start().await;
    let bad_fp = jwt(
        &t,
        "MYORG-ACCT1.ECOSYSTEM.SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "MYORG-ACCT1.ECOSYSTEM",
        0,
        3600,
    );
    let expired = jwt(
        &t,
        &format!("MYORG-ACCT1.ECOSYSTEM.{}", keys().fingerprint),
        "MYORG-ACCT1.ECOSYSTEM",
        -7200,
        3600,
    );
    let overlong = jwt(
        &t,
        &format!("MYORG-ACCT1.ECOSYSTEM.{}", keys().fingerprint),
        "MYORG-ACCT1.ECOSYSTEM",
        0,
        7200,
    );
    let lower_case = jwt(
        &t,
        &format!("myorg-acct1.ecosystem.{}", keys().fingerprint),
        "myorg-acct1.ecosystem",
        0,
        3600,
    );
    let other_key = {
        let demo = include_str!("../fixtures/demo-snowflake-rsa-key.p8");
        let claims = json!({"iss": format!("MYORG-ACCT1.ECOSYSTEM.{}", keys().fingerprint), "sub": "MYORG-ACCT1.ECOSYSTEM", "iat": t.sim.clock().now_ms() / 1000, "exp": t.sim.clock().now_ms() / 1000 + 60});
        encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_pem(demo.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    for (name, token) in [
        ("wrong fingerprint", bad_fp),
        ("expired", expired),
        ("longer than an hour", overlong),
        ("lower-case claims", lower_case),
        ("signed by another key", other_key),
    ] {
        let r = submit(&t, &token, "", json!({"statement": "SELECT 1"})).await;
        assert_eq!(r.status().as_u16(), 401, "{name} is refused");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"code": "390144", "message": "JWT token is invalid."}),
            "{name}: exact body"
        );
    }
}

#[tokio::test]
async fn oauth_and_pat_tokens_are_checked_by_their_token_type() {
    let t = start().await;
    let base = t.sim.base_url(Platform::Snowflake);
    for (kind, token, want) in [
        ("OAUTH", "sf-sim-oauth-token", 200),
        ("PROGRAMMATIC_ACCESS_TOKEN", "sf-sim-pat", 200),
        ("OAUTH", "nope", 401),
    ] {
        let r = t
            .http
            .post(format!("{base}/api/v2/statements"))
            .bearer_auth(token)
            .header("X-Snowflake-Authorization-Token-Type", kind)
            .json(&json!({"statement": "select 1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{kind} {token}");
    }
}

#[tokio::test]
async fn a_missing_user_agent_or_statement_is_a_named_400() {
    let t = start().await;
    let token = good_jwt(&t);
    let no_ua = reqwest::Client::new();
    let r = no_ua
        .post(format!(
            "{}/api/v2/statements",
            t.sim.base_url(Platform::Snowflake)
        ))
        .bearer_auth(&token)
        .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
        .json(&json!({"statement": "SELECT 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "User-Agent is required");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("User-Agent"),
        "names the header: {body}"
    );
    let r = submit(&t, &token, "", json!({"statment": "SELECT 1"})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["message"],
        "partner-sim: POST /api/v2/statements: body.statement: required string missing",
        "names the field"
    );
}

#[tokio::test]
async fn metering_history_is_partitioned_and_partitions_answer_data_only() {
    let t = start().await;
    let token = good_jwt(&t);
    let r = submit(&t, &token, "", json!({"statement": "select * from snowflake.account_usage.warehouse_metering_history", "warehouse": "COMPUTE_WH"})).await;
    assert_eq!(r.status().as_u16(), 200, "sync result");
    let body: Value = r.json().await.unwrap();
    let parts = body["resultSetMetaData"]["partitionInfo"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        body["resultSetMetaData"]["numRows"], 2160,
        "30 days x 24 h x 3 warehouses"
    );
    assert_eq!(parts, 3, "2160 rows in partitions of 1000");
    assert_eq!(
        body["resultSetMetaData"]["rowType"][0]["type"], "timestamp_ltz",
        "typed columns"
    );
    let handle = body["statementHandle"].as_str().unwrap();
    let (status, p2) = poll(&t, &token, handle, "?partition=2").await;
    assert_eq!(status, 200, "partition 2");
    assert_eq!(
        p2.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["data".to_string()]),
        "only data: {p2}"
    );
    assert_eq!(
        p2["data"].as_array().map(Vec::len),
        Some(160),
        "the last partition holds the rest"
    );

    let grouped = submit(&t, &token, "", json!({"statement": "SELECT WAREHOUSE_NAME, SUM(CREDITS_USED), SUM(CREDITS_USED_COMPUTE), SUM(CREDITS_USED_CLOUD_SERVICES) FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE START_TIME >= DATEADD(day,-30,CURRENT_TIMESTAMP()) GROUP BY 1"})).await;
    let grouped: Value = grouped.json().await.unwrap();
    assert_eq!(
        grouped["resultSetMetaData"]["numRows"], 3,
        "one row per warehouse: {grouped}"
    );
    let counts = submit(&t, &token, "", json!({"statement": "SELECT WAREHOUSE_NAME, EXECUTION_STATUS, COUNT(*) FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY GROUP BY 1, 2"})).await;
    let counts: Value = counts.json().await.unwrap();
    assert_eq!(
        counts["resultSetMetaData"]["numRows"], 6,
        "3 warehouses x 2 statuses: {counts}"
    );
    let show = submit(&t, &token, "", json!({"statement": "SHOW WAREHOUSES"})).await;
    let show: Value = show.json().await.unwrap();
    assert_eq!(show["data"][0][0], "COMPUTE_WH", "warehouse list: {show}");
}

#[tokio::test]
async fn async_statements_answer_202_then_200_and_can_be_cancelled() {
    let t = start().await;
    let token = good_jwt(&t);
    let r = submit(
        &t,
        &token,
        "?async=true",
        json!({"statement": "SELECT CURRENT_ACCOUNT()"}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 202, "async submit");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "333334", "query status code");
    let (status, _) = poll(&t, &token, body["statementHandle"].as_str().unwrap(), "").await;
    assert_eq!(
        status, 200,
        "an instant statement is done at the first poll"
    );

    let r = submit(
        &t,
        &token,
        "",
        json!({"statement": "SELECT SYSTEM$WAIT(60)"}),
    )
    .await;
    assert_eq!(
        r.status().as_u16(),
        202,
        "a statement longer than 45 s answers 202"
    );
    let body: Value = r.json().await.unwrap();
    let handle = body["statementHandle"].as_str().unwrap().to_string();
    let (status, _) = poll(&t, &token, &handle, "").await;
    assert_eq!(status, 202, "still running");
    t.clock.advance(std::time::Duration::from_secs(61));
    let (status, done) = poll(&t, &token, &handle, "").await;
    assert_eq!(status, 200, "done after the clock moves: {done}");

    let r = submit(
        &t,
        &token,
        "",
        json!({"statement": "SELECT SYSTEM$WAIT(120)"}),
    )
    .await;
    let handle = r.json::<Value>().await.unwrap()["statementHandle"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .http
        .post(format!(
            "{}/api/v2/statements/{handle}/cancel",
            t.sim.base_url(Platform::Snowflake)
        ))
        .bearer_auth(&token)
        .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "cancel accepted");
    let (status, body) = poll(&t, &token, &handle, "").await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("000604")),
        "cancelled statement reports 000604"
    );
}

#[tokio::test]
async fn sql_errors_are_422_with_code_sqlstate_and_handle() {
    let t = start().await;
    let token = good_jwt(&t);
    let r = submit(
        &t,
        &token,
        "",
        json!({"statement": "SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.NOT_A_VIEW"}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 422, "unknown object");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "002003", "not-found code: {body}");
    assert_eq!(body["sqlState"], "42S02", "sql state");
    assert!(
        body["statementHandle"].is_string() && body["createdOn"].is_i64(),
        "handle and createdOn: {body}"
    );
}
