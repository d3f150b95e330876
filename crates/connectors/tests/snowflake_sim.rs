//! The Snowflake SQL API v2 connector against partner-sim's Snowflake: key-pair JWT (really
//! verified), OAuth and programmatic tokens, synchronous and 202-then-poll statements, result
//! partitions, cancel, usage, and every error class.

#[path = "support/sim.rs"]
mod sim;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ecosystem_connectors::data::{DataPlatform, SqlStatement, StatementProgress};
use ecosystem_connectors::snowflake::{SnowflakeConnector, SnowflakeSession};
use ecosystem_core::integration::{CheckState, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use partner_sim::{Platform, RunningSim, SimConfig, SnowflakeConfig};
use sim::RecordingSleeper;

const P: Platform = Platform::Snowflake;
const DEMO_KEY: &str = include_str!("../../partner-sim/fixtures/demo-snowflake-rsa-key.p8");

fn key_pair() -> Credential {
    Credential::SnowflakeKeyPair {
        account: "simorg-simaccount".into(),
        user: "sim_user".into(),
        private_key_pem: Secret::new(DEMO_KEY),
    }
}

fn connector_with(
    sim: &RunningSim,
    credential: Credential,
) -> (SnowflakeConnector, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = sim::http(&sim.base_url(P), Some(&credential), sleeper.clone());
    (
        SnowflakeConnector::from_http(http, Duration::from_secs(2), SnowflakeSession::default()),
        sleeper,
    )
}

fn connector(sim: &RunningSim) -> SnowflakeConnector {
    connector_with(sim, key_pair()).0
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_with_a_key_pair_jwt_is_healthy() {
    let sim = sim::start(P).await;
    let check = connector(&sim).test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    assert_eq!(
        check.capabilities.len(),
        2,
        "statements and warehouses: {check:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_and_programmatic_access_tokens_are_accepted() {
    let sim = sim::start(P).await;
    for token in ["sf-sim-oauth-token", "sf-sim-pat"] {
        let (sf, _) = connector_with(
            &sim,
            Credential::Bearer {
                token: Secret::new(token),
            },
        );
        let check = sf.test_connection().await;
        assert_eq!(check.state, CheckState::Healthy, "{token}: {check:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_constant_select_answers_synchronously_with_typed_columns() {
    let sim = sim::start(P).await;
    let result = connector(&sim)
        .execute_statement(&SqlStatement::new(
            "SELECT CURRENT_ACCOUNT(), CURRENT_USER()",
        ))
        .await
        .expect("statement");
    assert_eq!(result.rows.len(), 1, "one row");
    assert_eq!(result.columns.len(), 2, "two columns");
    assert_eq!(result.text(0, 0), Some("SIMORG-SIMACCOUNT"), "{result:?}");
    assert_eq!(result.columns[0].type_name, "text", "lower-case row type");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_statement_answers_202_and_is_polled_until_done() {
    let sim = sim::start(P).await;
    let sf = connector(&sim);
    let submitted = sf
        .submit_statement(&SqlStatement::new("SELECT SYSTEM$WAIT(1)"))
        .await
        .expect("submit");
    assert!(
        matches!(submitted, StatementProgress::Running { .. }),
        "a running statement is a 202: {submitted:?}"
    );
    let result = sf
        .execute_statement(&SqlStatement::new("SELECT SYSTEM$WAIT(1)"))
        .await
        .expect("polled to completion");
    assert_eq!(result.text(0, 0), Some("waited 1 seconds"), "{result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_result_partition_is_read() {
    let sim = sim::start_with(SimConfig {
        platforms: vec![P],
        snowflake: SnowflakeConfig {
            partition_rows: 10,
            ..SnowflakeConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let result = connector(&sim)
        .execute_statement(&SqlStatement::new(
            "SELECT START_TIME, WAREHOUSE_NAME, CREDITS_USED FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE START_TIME >= DATEADD(hour, -24, CURRENT_TIMESTAMP())",
        ))
        .await
        .expect("statement");
    assert!(
        result.rows.len() > 10,
        "more rows than one partition holds: {}",
        result.rows.len()
    );
    assert_eq!(result.rows.len() % 3, 0, "one row per warehouse and hour");
    assert!(
        result.rows.iter().all(|r| r.len() == 3),
        "partitions reuse partition 0's columns"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_statement_ends_as_an_invalid_request() {
    let sim = sim::start(P).await;
    let sf = connector(&sim);
    let StatementProgress::Running { statement_id } = sf
        .submit_statement(&SqlStatement {
            asynchronous: true,
            ..SqlStatement::new("SELECT SYSTEM$WAIT(30)")
        })
        .await
        .expect("submit")
    else {
        panic!("an async submit is running");
    };
    sf.cancel_statement(&statement_id).await.expect("cancel");
    let err = sf
        .poll_statement(&statement_id)
        .await
        .expect_err("canceled");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert!(err.message.contains("canceled"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_reports_credits_and_queries_per_warehouse_and_hour_within_the_window() {
    let sim = sim::start(P).await;
    let sf = connector(&sim);
    // Two whole past days: 48 hours x 3 warehouses, nothing after the window's end.
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let (from, to) = (
        today - chrono::Duration::days(3),
        today - chrono::Duration::days(1),
    );
    let figures = sf.collect_metrics(from, to).await.expect("usage");
    let credits: Vec<_> = figures
        .iter()
        .filter(|f| f.metric == "credits_used")
        .collect();
    assert_eq!(credits.len(), 48 * 3, "one per warehouse and hour");
    assert!(
        credits.iter().all(|f| f.unit == "credits"
            && f.value > 0.0
            && f.period_start >= from
            && f.period_end <= to
            && f.period_end - f.period_start == chrono::Duration::hours(1)
            && f.dimensions.contains_key("warehouse")),
        "hours inside the window: {:?}",
        credits.first()
    );
    let queries: Vec<_> = figures.iter().filter(|f| f.metric == "queries").collect();
    assert_eq!(
        queries.len(),
        48 * 3 * 2,
        "3 warehouses x 2 statuses per hour"
    );
    assert!(
        queries
            .iter()
            .all(|f| f.dimensions.contains_key("warehouse") && f.dimensions.contains_key("status")),
        "{:?}",
        queries.first()
    );
    let failed: f64 = figures
        .iter()
        .filter(|f| f.metric == "queries_failed")
        .map(|f| f.value)
        .sum();
    let fail_status: f64 = queries
        .iter()
        .filter(|f| f.dimensions.get("status").map(String::as_str) == Some("FAIL"))
        .map(|f| f.value)
        .sum();
    assert_eq!(failed, fail_status, "failed queries counted apart");
    // Folded by the core: two UTC days per metric.
    let stored =
        ecosystem_core::usage::from_figures(ecosystem_core::PartnerKind::Snowflake, &figures)
            .expect("valid figures");
    let days: std::collections::BTreeSet<i64> = stored
        .iter()
        .filter(|m| m.metric == "snowflake.credits_used")
        .map(|m| m.day)
        .collect();
    assert_eq!(days.len(), 2, "{days:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sql_error_is_an_invalid_request_with_snowflakes_message() {
    let sim = sim::start(P).await;
    let err = connector(&sim)
        .execute_statement(&SqlStatement::new("SELECT * FROM NOWHERE.AT.ALL"))
        .await
        .expect_err("an unknown table fails");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert_eq!(err.status, Some(422), "{err}");
    assert!(err.message.contains("does not exist"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_snowflake_does_not_know_is_credentials_rejected() {
    let sim = sim::start(P).await;
    let (sf, _) = connector_with(
        &sim,
        Credential::Bearer {
            token: Secret::new("not-a-token"),
        },
    );
    let check = sf.test_connection().await;
    let err = check.error.expect("refused");
    assert_eq!(err.class, ErrorClass::CredentialsRejected, "{err}");
    assert!(
        !err.message.contains("not-a-token"),
        "no secret in messages"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_statement_handle_is_not_found() {
    let sim = sim::start(P).await;
    let err = connector(&sim)
        .poll_statement("01b2c3d4-0000-4000-8000-000000000000")
        .await
        .expect_err("no such statement");
    assert_eq!(err.class, ErrorClass::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_is_waited_out_and_the_statement_runs() {
    let sim = sim::start(P).await;
    let (sf, sleeper) = connector_with(&sim, key_pair());
    sim::set(&sim, P, sim::one_per_window());
    sf.execute_statement(&SqlStatement::new("SELECT 1"))
        .await
        .expect("first call in the window");
    let second = sf.execute_statement(&SqlStatement::new("SELECT 2")).await;
    sim::clear(&sim, P);
    assert!(second.is_ok(), "retried after the wait: {second:?}");
    assert!(
        sleeper.waits().iter().any(|w| *w >= Duration::from_secs(1)),
        "{:?}",
        sleeper.waits()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_never_ends_is_rate_limited_and_5xx_is_a_platform_error() {
    let sim = sim::start(P).await;
    let sf = connector(&sim);
    sim::set(&sim, P, sim::always_throttled());
    let throttled = sf
        .execute_statement(&SqlStatement::new("SELECT 1"))
        .await
        .err()
        .map(|e| e.class);
    sim::set(&sim, P, sim::always_failing());
    let failing = sf
        .execute_statement(&SqlStatement::new("SELECT 1"))
        .await
        .err()
        .map(|e| e.class);
    sim::clear(&sim, P);
    assert_eq!(
        throttled,
        Some(ErrorClass::RateLimited),
        "retries exhausted"
    );
    assert_eq!(failing, Some(ErrorClass::PlatformError), "HTTP 500");
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_faults_are_classified() {
    let sim = sim::start(P).await;
    let sf = connector(&sim);
    for (faults, class) in sim::probe_faults() {
        sim::assert_check_fails_with(&sim, P, &sf, faults, class).await;
    }
}
