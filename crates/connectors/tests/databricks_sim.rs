//! The Databricks connector against partner-sim's Databricks workspace: every operation and
//! every error class, over real HTTP. The sim refuses any request that breaks the API's
//! contract with a 400, so a passing test means the connector speaks the real API.

#[path = "support/sim.rs"]
mod sim;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ecosystem_connectors::data::{DataPlatform, SqlStatement, StatementProgress};
use ecosystem_connectors::databricks::{self, DatabricksConnector, RunsQuery};
use ecosystem_core::integration::{CheckState, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use partner_sim::{DatabricksConfig, ManualClock, Platform, RunningSim, SimConfig};
use sim::RecordingSleeper;

const P: Platform = Platform::Databricks;

fn pat() -> Credential {
    Credential::Bearer {
        token: Secret::new("dapi-sim-demo-token"),
    }
}

fn connector_with(
    sim: &RunningSim,
    credential: Credential,
) -> (DatabricksConnector, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = sim::http(&sim.base_url(P), Some(&credential), sleeper.clone());
    (
        DatabricksConnector::from_http(http, Duration::from_secs(2), None),
        sleeper,
    )
}

fn connector(sim: &RunningSim) -> DatabricksConnector {
    connector_with(sim, pat()).0
}

async fn quick_sim() -> RunningSim {
    sim::start_with(SimConfig {
        platforms: vec![P],
        databricks: DatabricksConfig {
            statement_step_ms: 300,
            ..DatabricksConfig::default()
        },
        ..SimConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_with_a_pat_is_healthy_with_every_capability() {
    let sim = sim::start(P).await;
    let check = connector(&sim).test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    let names: Vec<&str> = check.capabilities.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["scim-me", "clusters", "jobs", "sql-warehouses"],
        "every capability is probed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_m2m_fetches_a_token_from_the_workspace_and_is_healthy() {
    let sim = sim::start(P).await;
    let credential = databricks::oauth_credential(
        &sim.base_url(P),
        "sim-client-id",
        Secret::new("sim-client-secret"),
    );
    let (dbx, _) = connector_with(&sim, credential);
    let check = dbx.test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    assert_eq!(
        dbx.current_user().await.ok().as_deref(),
        Some("sim-user@example.com"),
        "SCIM Me names the service principal's user"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_oauth_secret_is_credentials_rejected() {
    let sim = sim::start(P).await;
    let credential =
        databricks::oauth_credential(&sim.base_url(P), "sim-client-id", Secret::new("wrong"));
    let check = connector_with(&sim, credential).0.test_connection().await;
    assert_eq!(
        check.error.map(|e| e.class),
        Some(ErrorClass::CredentialsRejected),
        "the token endpoint's 401 invalid_client"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_jobs_and_warehouses_are_listed_across_pages() {
    let sim = sim::start(P).await;
    let dbx = connector(&sim);
    let mut clusters = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = dbx
            .list_clusters(3, token.as_deref())
            .await
            .expect("clusters page");
        pages += 1;
        clusters.extend(page.items);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!((clusters.len(), pages), (7, 3), "7 clusters in pages of 3");
    assert!(
        clusters.iter().all(|c| c.state.is_some()),
        "each cluster has a state"
    );

    let mut jobs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = dbx
            .list_jobs(12, token.as_deref())
            .await
            .expect("jobs page");
        jobs.extend(page.items);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(jobs.len(), 30, "every job, paged with has_more");
    assert!(jobs.iter().all(|j| j.name.is_some()), "jobs have names");

    let warehouses = dbx.list_warehouses().await.expect("warehouses");
    assert_eq!(warehouses.len(), 3, "three SQL warehouses");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_in_a_time_window_are_paged_until_has_more_is_false() {
    let sim = sim::start(P).await;
    let dbx = connector(&sim);
    let now = Utc::now();
    let query = RunsQuery {
        started_from: Some(now - chrono::Duration::days(6)),
        started_to: Some(now),
        limit: Some(25),
        ..RunsQuery::default()
    };
    let first = dbx.list_runs(&query).await.expect("first page");
    assert_eq!(first.items.len(), 25, "a full first page");
    assert!(first.next_page_token.is_some(), "more pages follow");
    let all = dbx.all_runs(&query, usize::MAX).await.expect("all runs");
    assert_eq!(all.len(), 60, "the 60 seeded runs of the last five days");
    let recent = dbx
        .all_runs(
            &RunsQuery {
                started_from: Some(now - chrono::Duration::days(1)),
                ..query.clone()
            },
            usize::MAX,
        )
        .await
        .expect("last day's runs");
    assert!(
        !recent.is_empty() && recent.len() < 60,
        "the window narrows the runs: {}",
        recent.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_now_starts_a_run_whose_state_changes_are_reported_once_each() {
    let clock = ManualClock::new(Utc::now());
    let sim = sim::start_with(SimConfig {
        platforms: vec![P],
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let dbx = connector(&sim);
    let start = dbx
        .subscribe_to_events(None)
        .await
        .expect("cursor from now");
    assert!(start.events.is_empty(), "nothing before now");
    clock.advance(Duration::from_secs(1));
    let run_id = dbx
        .run_now(
            1_003,
            &BTreeMap::from([("env".to_string(), "test".to_string())]),
        )
        .await
        .expect("run-now");
    let first = dbx
        .subscribe_to_events(Some(start.next))
        .await
        .expect("first poll");
    let kinds: Vec<String> = first.events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        kinds,
        [format!("run:{run_id}:PENDING")],
        "the new run is pending"
    );
    let again = dbx
        .subscribe_to_events(Some(first.next.clone()))
        .await
        .expect("second poll");
    assert!(again.events.is_empty(), "nothing new: {:?}", again.events);
    clock.advance(Duration::from_secs(6));
    let running = dbx
        .subscribe_to_events(Some(again.next))
        .await
        .expect("third poll");
    assert_eq!(
        running
            .events
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [format!("run:{run_id}:RUNNING")],
        "the run started"
    );
    clock.advance(Duration::from_secs(20));
    let done = dbx
        .subscribe_to_events(Some(running.next))
        .await
        .expect("fourth poll");
    assert_eq!(
        done.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        [format!("run:{run_id}:TERMINATED/SUCCESS")],
        "the run finished"
    );
    assert_eq!(
        done.events[0].detail["from"], "RUNNING",
        "the event says what it changed from"
    );
    let run = dbx.get_run(run_id).await.expect("runs/get");
    assert!(run.is_final(), "runs/get agrees: {run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dbfs_file_put_is_read_back_byte_for_byte() {
    let sim = sim::start(P).await;
    let dbx = connector(&sim);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(150_000).collect();
    dbx.put_file("/tmp/ecosystem/report.bin", &bytes, true)
        .await
        .expect("dbfs put");
    let back = dbx
        .read_file("/tmp/ecosystem/report.bin")
        .await
        .expect("dbfs read");
    assert_eq!(back, bytes, "the same bytes come back");
    let refused = dbx
        .put_file("/tmp/ecosystem/report.bin", b"again", false)
        .await
        .err()
        .map(|e| e.class);
    assert_eq!(
        refused,
        Some(ErrorClass::InvalidRequest),
        "RESOURCE_ALREADY_EXISTS without overwrite"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_dbfs_file_is_not_found() {
    let sim = sim::start(P).await;
    let err = connector(&sim)
        .read_file("/tmp/nothing-here.txt")
        .await
        .expect_err("a missing file fails");
    assert_eq!(err.class, ErrorClass::NotFound, "{err}");
    assert!(err.message.contains("RESOURCE_DOES_NOT_EXIST"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_submitted_asynchronously_is_polled_until_it_succeeds() {
    let sim = quick_sim().await;
    let dbx = connector(&sim);
    let submitted = dbx
        .submit_statement(&SqlStatement {
            asynchronous: true,
            ..SqlStatement::new("SELECT 1")
        })
        .await
        .expect("submit");
    let StatementProgress::Running { statement_id } = submitted else {
        panic!("an asynchronous submit answers before the result: {submitted:?}");
    };
    let mut result = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let StatementProgress::Done(r) = dbx.poll_statement(&statement_id).await.expect("poll") {
            result = Some(r);
            break;
        }
    }
    let result = result.expect("the statement finishes");
    assert_eq!(result.text(0, 0), Some("1"), "SELECT 1 answers 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_statement_ends_as_an_invalid_request_saying_so() {
    let sim = quick_sim().await;
    let dbx = connector(&sim);
    let StatementProgress::Running { statement_id } = dbx
        .submit_statement(&SqlStatement {
            asynchronous: true,
            ..SqlStatement::new("SELECT 1")
        })
        .await
        .expect("submit")
    else {
        panic!("expected a running statement");
    };
    dbx.cancel_statement(&statement_id).await.expect("cancel");
    let err = dbx
        .poll_statement(&statement_id)
        .await
        .expect_err("canceled");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert!(err.message.contains("canceled"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_sql_statement_is_an_invalid_request_with_databricks_message() {
    let sim = sim::start(P).await;
    let err = connector(&sim)
        .execute_statement(&SqlStatement::new("SELECT * FROM nowhere"))
        .await
        .expect_err("unknown table");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert!(err.message.contains("TABLE_OR_VIEW_NOT_FOUND"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_reports_dbus_per_sku_and_day_and_job_runs_by_state() {
    let sim = sim::start(P).await;
    let dbx = connector(&sim);
    let to = Utc::now();
    let from = to - chrono::Duration::days(3);
    let figures = dbx.collect_metrics(from, to).await.expect("usage");
    let dbus: Vec<_> = figures.iter().filter(|f| f.metric == "dbus").collect();
    assert_eq!(dbus.len(), 4 * 3, "4 days touched × 3 SKUs");
    assert!(
        dbus.iter()
            .all(|f| f.unit == "DBU" && f.value > 0.0 && f.dimensions.contains_key("sku")),
        "DBUs with their SKU"
    );
    let runs: f64 = figures
        .iter()
        .filter(|f| f.metric == "job_runs")
        .map(|f| f.value)
        .sum();
    let expected = dbx
        .all_runs(
            &RunsQuery {
                started_from: Some(from),
                started_to: Some(to),
                ..RunsQuery::default()
            },
            usize::MAX,
        )
        .await
        .expect("runs");
    assert_eq!(
        runs as usize,
        expected.len(),
        "every run in the window is counted"
    );
    let failed: f64 = figures
        .iter()
        .filter(|f| f.metric == "job_runs_failed")
        .map(|f| f.value)
        .sum();
    assert_eq!(
        failed as usize,
        expected.iter().filter(|r| r.failed()).count(),
        "failed runs per day"
    );
    assert!(failed > 0.0, "the sim has failed runs");
    let days = ecosystem_core::usage::DayRange::of_window(from, to).days() as usize;
    let run_days: std::collections::BTreeSet<_> = figures
        .iter()
        .filter(|f| f.metric == "job_runs")
        .map(|f| f.period_start.date_naive())
        .collect();
    assert_eq!(
        run_days.len(),
        days,
        "every day of the window has a run figure"
    );
    assert!(
        figures
            .iter()
            .filter(|f| f.metric.starts_with("job_runs"))
            .all(
                |f| f.period_start > from - chrono::Duration::milliseconds(1) && f.period_end <= to
            ),
        "run figures stay inside the window (to the millisecond runs are listed by)"
    );
    assert!(
        figures.iter().any(|f| f.metric == "job_runs"
            && f.dimensions.get("state").map(String::as_str) == Some("FAILED")),
        "failed runs are counted apart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_credentials_rejected_from_the_numeric_error_code() {
    let sim = sim::start(P).await;
    let (dbx, _) = connector_with(
        &sim,
        Credential::Bearer {
            token: Secret::new("dapi-not-a-token"),
        },
    );
    let check = dbx.test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    let err = check.error.expect("an error");
    assert_eq!(err.class, ErrorClass::CredentialsRejected, "{err}");
    assert!(
        err.message.contains("403: Invalid access token"),
        "{}",
        err.message
    );
    assert!(
        !err.message.contains("dapi-not-a-token"),
        "the token is never in a message"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_job_is_an_invalid_request() {
    let sim = sim::start(P).await;
    let err = connector(&sim)
        .run_now(9_999_999, &BTreeMap::new())
        .await
        .expect_err("no such job");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert_eq!(err.status, Some(400), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_is_waited_out_and_the_call_succeeds() {
    let sim = sim::start(P).await;
    let (dbx, sleeper) = connector_with(&sim, pat());
    sim::set(&sim, P, sim::one_per_window());
    dbx.list_warehouses()
        .await
        .expect("first call in the window");
    let second = dbx.list_warehouses().await;
    sim::clear(&sim, P);
    assert!(second.is_ok(), "retried after the wait: {second:?}");
    assert!(
        sleeper.waits().iter().any(|w| *w >= Duration::from_secs(1)),
        "the Retry-After wait was honoured: {:?}",
        sleeper.waits()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_never_ends_is_rate_limited_and_5xx_is_a_platform_error() {
    let sim = sim::start(P).await;
    let dbx = connector(&sim);
    sim::set(&sim, P, sim::always_throttled());
    let throttled = dbx.list_warehouses().await.err().map(|e| e.class);
    sim::set(&sim, P, sim::always_failing());
    let failing = dbx.list_warehouses().await.err().map(|e| e.class);
    sim::clear(&sim, P);
    assert_eq!(
        throttled,
        Some(ErrorClass::RateLimited),
        "retries exhausted"
    );
    assert_eq!(
        failing,
        Some(ErrorClass::PlatformError),
        "500 INTERNAL_ERROR"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_faults_are_classified() {
    let sim = sim::start(P).await;
    let dbx = connector(&sim);
    for (faults, class) in sim::probe_faults() {
        sim::assert_check_fails_with(&sim, P, &dbx, faults, class).await;
    }
}
