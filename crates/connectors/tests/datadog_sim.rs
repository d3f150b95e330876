//! The Datadog connector against partner-sim's Datadog: key validation, v2 series, events
//! posted, listed and polled, hourly usage across pages, estimated cost, the application key
//! only where needed, `X-RateLimit-Reset`, and every error class.

#[path = "support/sim.rs"]
mod sim;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ecosystem_connectors::datadog::{DatadogConfig, DatadogConnector, DatadogSite};
use ecosystem_connectors::monitoring::{
    AlertType, MetricKind, MetricPoint, MetricSeries, MonitoringPlatform, NewEvent,
};
use ecosystem_core::integration::{CheckState, ErrorClass, Integration};
use ecosystem_core::{Credential, Secret};
use partner_sim::{Platform, RunningSim};
use sim::RecordingSleeper;

const P: Platform = Platform::Datadog;

fn keys(api: &str, app: Option<&str>) -> Credential {
    Credential::DatadogKeys {
        api_key: Secret::new(api),
        app_key: app.map(Secret::new),
    }
}

fn connector_with(
    sim: &RunningSim,
    api: &str,
    app: Option<&str>,
) -> (DatadogConnector, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let url = sim.base_url(P);
    let intake = sim::http(&url, Some(&keys(api, None)), sleeper.clone());
    let reads = app.map(|app| sim::http(&url, Some(&keys(api, Some(app))), sleeper.clone()));
    (
        DatadogConnector::from_http(intake, reads, Duration::from_secs(2)),
        sleeper,
    )
}

fn connector(sim: &RunningSim) -> DatadogConnector {
    connector_with(sim, "dd-sim-api-key", Some("dd-sim-app-key")).0
}

fn event(title: &str) -> NewEvent {
    NewEvent {
        title: title.into(),
        text: "from the connector tests".into(),
        tags: vec!["source:ecosystem".into()],
        alert_type: AlertType::Warning,
        aggregation_key: Some("ecosystem-tests".into()),
        ..NewEvent::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_partner_endpoint_overrides_the_site_and_valid_keys_are_healthy() {
    let sim = sim::start(P).await;
    let dd = DatadogConnector::new(DatadogConfig {
        partner: "dd".into(),
        site: DatadogSite::Eu,
        endpoint: Some(sim.base_url(P)),
        credential: keys("dd-sim-api-key", Some("dd-sim-app-key")),
        policy: sim::policy(),
        slow_after: Duration::from_secs(2),
    })
    .expect("connector");
    let check = dd.test_connection().await;
    assert_eq!(check.state, CheckState::Healthy, "{check:?}");
    assert_eq!(
        check
            .capabilities
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["validate", "events"],
        "the application key is probed with an event read"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_submitted_as_v2_series() {
    let sim = sim::start(P).await;
    let now = Utc::now();
    connector(&sim)
        .submit_metrics(&[MetricSeries {
            metric: "ecosystem.partner.latency_ms".into(),
            kind: MetricKind::Gauge,
            points: vec![
                MetricPoint {
                    at: now - chrono::Duration::seconds(60),
                    value: 120.0,
                },
                MetricPoint {
                    at: now,
                    value: 95.5,
                },
            ],
            tags: vec!["partner:databricks".into()],
            host: Some("ecosystem-desktop".into()),
            unit: Some("millisecond".into()),
        }])
        .await
        .expect("202 with no errors");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_posted_event_is_listed_and_polled_once() {
    let sim = sim::start(P).await;
    let dd = connector(&sim);
    let start = dd.subscribe_to_events(None).await.expect("cursor");
    let posted = dd
        .post_event(&event("partner degraded"))
        .await
        .expect("post");
    assert!(!posted.id.is_empty(), "{posted:?}");
    let listed = dd
        .list_events(
            Utc::now() - chrono::Duration::minutes(5),
            Utc::now() + chrono::Duration::minutes(1),
            &["source:ecosystem".to_string()],
        )
        .await
        .expect("list");
    assert!(listed.iter().any(|e| e.id == posted.id), "{listed:?}");
    let batch = dd
        .subscribe_to_events(Some(start.next))
        .await
        .expect("poll");
    assert_eq!(
        batch
            .events
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [format!("event:{}", posted.id)],
        "the new event"
    );
    let again = dd
        .subscribe_to_events(Some(batch.next))
        .await
        .expect("poll again");
    assert!(again.events.is_empty(), "{:?}", again.events);
}

#[tokio::test(flavor = "multi_thread")]
async fn hourly_usage_follows_next_record_id_across_pages_and_cost_is_in_dollars() {
    let sim = sim::start(P).await;
    let dd = connector(&sim);
    let to = Utc::now();
    let from = to - chrono::Duration::days(7);
    let usage = dd.hourly_usage(from, to).await.expect("usage");
    let records: std::collections::BTreeSet<(String, String)> = usage
        .iter()
        .map(|f| {
            (
                f.period_start.to_rfc3339(),
                f.dimensions
                    .get("product_family")
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        records.len() > 500,
        "more records than one page of 500: {}",
        records.len()
    );
    assert!(
        usage
            .iter()
            .any(|f| f.metric == "agent_host_count" && f.unit == "host-hours"),
        "host counts with their unit"
    );
    let cost = dd
        .estimated_cost(to - chrono::Duration::days(3), to)
        .await
        .expect("cost");
    assert!(
        !cost.is_empty() && cost.iter().all(|f| f.unit == "USD" && f.value > 0.0),
        "{cost:?}"
    );
    let all = dd
        .collect_metrics(to - chrono::Duration::hours(3), to)
        .await
        .expect("metrics");
    assert!(
        all.iter().any(|f| f.metric == "estimated_cost")
            && all.iter().any(|f| f.metric == "agent_host_count"),
        "collect_metrics has usage and cost"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_application_key_reads_are_a_missing_credential_and_writes_work() {
    let sim = sim::start(P).await;
    let (dd, _) = connector_with(&sim, "dd-sim-api-key", None);
    let check = dd.test_connection().await;
    assert_eq!(
        check.state,
        CheckState::Healthy,
        "validate needs the API key only"
    );
    dd.post_event(&event("api key only"))
        .await
        .expect("posting needs no app key");
    let read = dd
        .list_events(Utc::now() - chrono::Duration::hours(1), Utc::now(), &[])
        .await
        .err()
        .map(|e| e.class);
    assert_eq!(
        read,
        Some(ErrorClass::MissingCredential),
        "reads need the app key"
    );
    assert!(
        !dd.capabilities().contains(&"usage".to_string()),
        "no usage capability without the app key"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_api_key_or_application_key_is_credentials_rejected() {
    let sim = sim::start(P).await;
    let (dd, _) = connector_with(&sim, "nope", Some("dd-sim-app-key"));
    let check = dd.test_connection().await;
    assert_eq!(
        check.error.map(|e| e.class),
        Some(ErrorClass::CredentialsRejected),
        "403 Forbidden"
    );
    let (dd, _) = connector_with(&sim, "dd-sim-api-key", Some("nope"));
    let check = dd.test_connection().await;
    assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    assert_eq!(
        check.error.map(|e| e.class),
        Some(ErrorClass::CredentialsRejected),
        "the app key is refused on the events probe"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_usage_window_is_an_invalid_request_with_datadogs_message() {
    let sim = sim::start(P).await;
    let now = Utc::now();
    let err = connector(&sim)
        .hourly_usage(now, now - chrono::Duration::hours(2))
        .await
        .expect_err("start after end");
    assert_eq!(err.class, ErrorClass::InvalidRequest, "{err}");
    assert!(err.message.contains("must be before"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_retried_after_x_ratelimit_reset_and_succeeds() {
    let sim = sim::start(P).await;
    let (dd, sleeper) = connector_with(&sim, "dd-sim-api-key", Some("dd-sim-app-key"));
    sim::set(&sim, P, sim::one_per_window());
    dd.validate().await.expect("first call in the window");
    let second = dd.validate().await;
    sim::clear(&sim, P);
    assert!(second.is_ok(), "{second:?}");
    assert!(
        sleeper.waits().iter().any(|w| *w >= Duration::from_secs(1)),
        "waited for the reset: {:?}",
        sleeper.waits()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_never_ends_is_rate_limited_and_5xx_is_a_platform_error() {
    let sim = sim::start(P).await;
    let dd = connector(&sim);
    sim::set(&sim, P, sim::always_throttled());
    let throttled = dd.validate().await.err().map(|e| e.class);
    sim::set(&sim, P, sim::always_failing());
    let failing = dd.post_event(&event("x")).await.err().map(|e| e.class);
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
    let dd = connector(&sim);
    for (faults, class) in sim::probe_faults() {
        sim::assert_check_fails_with(&sim, P, &dd, faults, class).await;
    }
}
