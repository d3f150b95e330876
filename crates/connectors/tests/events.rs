//! Event feeds over the Kubeflow Pipelines connector against partner-sim: a run moving through
//! its states reaches every subscriber once and in order, a platform fault is a status and
//! polling resumes from the same cursor, a refused token ends the feed, and stopping ends it.

#[path = "support/sim.rs"]
mod sim;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecosystem_connectors::events::{
    CancellationToken, EventFeed, FeedConfig, FeedStatus, FeedUpdate, Subscription,
};
use ecosystem_connectors::kubeflow::{KubeflowConnector, NewKfpRun};
use ecosystem_core::integration::{
    ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor, Integration,
    IntegrationResult, UsageFigure,
};
use ecosystem_core::{Credential, PartnerKind, Secret};
use partner_sim::{Faults, KubeflowConfig, ManualClock, Platform, RunningSim, SimConfig};
use sim::RecordingSleeper;

const P: Platform = Platform::Kubeflow;
/// Long enough for any single step of these tests on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(15);

fn token(value: &str) -> Credential {
    Credential::Bearer {
        token: Secret::new(value),
    }
}

fn kubeflow(sim: &RunningSim, credential: &str) -> KubeflowConnector {
    let http = sim::http(
        &sim.base_url(P),
        Some(&token(credential)),
        Arc::new(RecordingSleeper::default()),
    );
    KubeflowConnector::from_http(http, Duration::from_secs(2), None)
}

/// A Kubeflow connector that records the cursor each poll was given and how it ended.
struct Recorded {
    inner: KubeflowConnector,
    polls: Mutex<Vec<(Option<EventCursor>, Option<ErrorClass>)>>,
}

impl Recorded {
    fn polls(&self) -> Vec<(Option<EventCursor>, Option<ErrorClass>)> {
        self.polls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Integration for Recorded {
    fn kind(&self) -> PartnerKind {
        self.inner.kind()
    }
    fn capabilities(&self) -> Vec<String> {
        self.inner.capabilities()
    }
    async fn connect(&self) -> IntegrationResult<()> {
        self.inner.connect().await
    }
    async fn disconnect(&self) -> IntegrationResult<()> {
        self.inner.disconnect().await
    }
    async fn test_connection(&self) -> ConnectionCheck {
        self.inner.test_connection().await
    }
    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()> {
        self.inner.send_data(payload).await
    }
    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        self.inner.receive_data(request).await
    }
    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch> {
        let result = self.inner.subscribe_to_events(cursor.clone()).await;
        self.polls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((cursor, result.as_ref().err().map(|e| e.class)));
        result
    }
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        self.inner.collect_metrics(from, to).await
    }
}

/// A Kubeflow simulator whose runs move only when the test moves its clock.
async fn start_sim() -> (RunningSim, Arc<ManualClock>) {
    let clock = ManualClock::new(Utc::now());
    let sim = sim::start_with(SimConfig {
        platforms: vec![P],
        clock: clock.clone(),
        kubeflow: KubeflowConfig {
            run_step_ms: 5_000,
            ..KubeflowConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    (sim, clock)
}

fn fast() -> FeedConfig {
    FeedConfig {
        interval: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        jitter: 0.0,
        buffer: 4_096,
    }
}

fn new_run(name: &str) -> NewKfpRun {
    NewKfpRun {
        display_name: name.into(),
        pipeline_id: "00000000-0000-4000-8000-00000000b000".into(),
        pipeline_version_id: Some("00000000-0000-4000-8000-00000000c000".into()),
        parameters: BTreeMap::from([("epochs".to_string(), serde_json::json!(3))]),
        ..NewKfpRun::default()
    }
}

/// Reads updates until one matches, returning everything read (the match last).
async fn read_until(
    sub: &mut Subscription,
    what: &str,
    done: impl Fn(&FeedUpdate) -> bool,
) -> Vec<FeedUpdate> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(update) = sub.recv().await {
            let found = done(&update);
            seen.push(update);
            if found {
                return true;
            }
        }
        false
    };
    let found = tokio::time::timeout(PATIENCE, read).await.unwrap_or(false);
    assert!(found, "waited for {what}; got {seen:?}");
    seen
}

fn is_event(id: String) -> impl Fn(&FeedUpdate) -> bool {
    move |u| matches!(u, FeedUpdate::Event(e) if e.id == id)
}

fn event_ids(updates: &[FeedUpdate]) -> Vec<String> {
    updates
        .iter()
        .filter_map(|u| match u {
            FeedUpdate::Event(e) => Some(e.id.clone()),
            FeedUpdate::Status(_) => None,
        })
        .collect()
}

/// Waits until the feed has published a first cursor.
async fn first_cursor(
    cursor: &mut tokio::sync::watch::Receiver<Option<EventCursor>>,
) -> EventCursor {
    let found = tokio::time::timeout(PATIENCE, cursor.wait_for(Option::is_some))
        .await
        .expect("a first cursor in time")
        .expect("the feed is running")
        .clone();
    found.expect("a cursor")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_moving_through_its_states_reaches_both_subscribers_once_and_in_order() {
    let (sim, clock) = start_sim().await;
    let feed = EventFeed::new(
        "KFP",
        Arc::new(kubeflow(&sim, "kfp-sim-token")) as Arc<dyn Integration>,
        None,
        fast(),
    );
    let handle = feed.handle();
    let mut first = handle.subscribe();
    let mut second = handle.subscribe();
    let mut cursor = handle.cursor();
    let task = feed.spawn();
    first_cursor(&mut cursor).await;

    clock.advance(Duration::from_secs(2));
    let run = kubeflow(&sim, "kfp-sim-token")
        .create_run(&new_run("watched"))
        .await
        .expect("create a run");
    let id = |state: &str| format!("run:{}:{state}", run.run_id);
    let mut got_first = read_until(&mut first, "PENDING", is_event(id("PENDING"))).await;
    clock.advance(Duration::from_secs(6));
    got_first.extend(read_until(&mut first, "RUNNING", is_event(id("RUNNING"))).await);
    clock.advance(Duration::from_secs(20));
    got_first.extend(read_until(&mut first, "SUCCEEDED", is_event(id("SUCCEEDED"))).await);
    let got_second = read_until(&mut second, "SUCCEEDED", is_event(id("SUCCEEDED"))).await;

    // A few more polls of a quiet platform: nothing is delivered twice.
    tokio::time::sleep(Duration::from_millis(400)).await;
    handle.stop();
    let end = tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the feed stops in time")
        .expect("the feed task ends");
    let rest_first = read_until(&mut first, "Stopped", |u| {
        matches!(u, FeedUpdate::Status(FeedStatus::Stopped { .. }))
    })
    .await;
    let rest_second = read_until(&mut second, "Stopped", |u| {
        matches!(u, FeedUpdate::Status(FeedStatus::Stopped { .. }))
    })
    .await;
    got_first.extend(rest_first);
    let mut got_second = got_second;
    got_second.extend(rest_second);

    let expected = [id("PENDING"), id("RUNNING"), id("SUCCEEDED")];
    assert_eq!(
        event_ids(&got_first),
        expected,
        "first subscriber: each state once, in order"
    );
    assert_eq!(
        event_ids(&got_second),
        expected,
        "second subscriber: the same events"
    );
    assert!(
        got_first.iter().all(|u| match u {
            FeedUpdate::Event(e) =>
                e.kind == "kubeflow.run.state_changed" && e.subject == "watched",
            FeedUpdate::Status(_) => true,
        }),
        "events name the run: {got_first:?}"
    );
    assert_eq!(
        end.cursor,
        handle.cursor().borrow().clone(),
        "the feed ends on the published cursor"
    );
    assert!(end.error.is_none(), "stopped, not failed: {end:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_is_a_status_and_polling_recovers_from_the_same_cursor() {
    let (sim, clock) = start_sim().await;
    let recorded = Arc::new(Recorded {
        inner: kubeflow(&sim, "kfp-sim-token"),
        polls: Mutex::new(Vec::new()),
    });
    let feed = EventFeed::new(
        "KFP",
        recorded.clone() as Arc<dyn Integration>,
        None,
        fast(),
    );
    let handle = feed.handle();
    let mut sub = handle.subscribe();
    let mut cursor = handle.cursor();
    let task = feed.spawn();
    let before = first_cursor(&mut cursor).await;

    sim::set(
        &sim,
        P,
        Faults {
            error_rate: 1.0,
            error_status: Some(503),
            ..Faults::default()
        },
    );
    let failed = read_until(&mut sub, "a second failure", |u| {
        matches!(u, FeedUpdate::Status(FeedStatus::Failed { attempt: 2, .. }))
    })
    .await;
    let failures: Vec<(ErrorClass, Option<u16>, Option<u64>)> = failed
        .iter()
        .filter_map(|u| match u {
            FeedUpdate::Status(FeedStatus::Failed {
                error, retry_in_ms, ..
            }) => Some((error.class, error.status, *retry_in_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            (ErrorClass::PlatformError, Some(503), Some(50)),
            (ErrorClass::PlatformError, Some(503), Some(100)),
        ],
        "classified failures, backing off from the interval"
    );
    assert_eq!(
        cursor.borrow().clone(),
        Some(before.clone()),
        "a failure keeps the cursor"
    );

    sim::clear(&sim, P);
    clock.advance(Duration::from_secs(2));
    let run = kubeflow(&sim, "kfp-sim-token")
        .create_run(&new_run("after the outage"))
        .await
        .expect("create a run once the platform is back");
    let pending = format!("run:{}:PENDING", run.run_id);
    let recovered = read_until(&mut sub, "the new run", is_event(pending.clone())).await;
    assert!(
        recovered.iter().any(|u| matches!(
            u,
            FeedUpdate::Status(FeedStatus::Recovered { after_failures }) if *after_failures >= 2
        )),
        "recovery is a status: {recovered:?}"
    );
    assert_eq!(event_ids(&recovered), [pending], "{recovered:?}");

    handle.stop();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the feed stops in time")
        .expect("the feed task ends");
    let polls = recorded.polls();
    let failed_at = polls
        .iter()
        .position(|(_, class)| class.is_some())
        .expect("a failed poll was recorded");
    let healed_at = failed_at
        + polls[failed_at..]
            .iter()
            .position(|(_, class)| class.is_none())
            .expect("a poll succeeded after the failures");
    for (i, (given, _)) in polls[failed_at..=healed_at].iter().enumerate() {
        assert_eq!(
            given.as_ref(),
            Some(&before),
            "poll {i} after the fault started from the cursor before it"
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_ends_the_feed_with_its_class() {
    let (sim, _clock) = start_sim().await;
    let feed = EventFeed::new(
        "KFP",
        Arc::new(kubeflow(&sim, "planted-wrong-token-7f3a")) as Arc<dyn Integration>,
        None,
        fast(),
    );
    let mut sub = feed.handle().subscribe();
    let end = tokio::time::timeout(PATIENCE, feed.spawn())
        .await
        .expect("the feed gives up in time")
        .expect("the feed task ends");
    assert_eq!(
        end.error.as_ref().map(|e| e.class),
        Some(ErrorClass::CredentialsRejected),
        "a failure waiting cannot heal ends the feed: {end:?}"
    );
    assert!(
        !format!("{end:?}").contains("planted-wrong-token-7f3a"),
        "the token is never reported: {end:?}"
    );
    assert_eq!(end.cursor, None, "no cursor was ever published");
    let updates = read_until(&mut sub, "Stopped", |u| {
        matches!(u, FeedUpdate::Status(FeedStatus::Stopped { .. }))
    })
    .await;
    assert!(
        matches!(
            updates.first(),
            Some(FeedUpdate::Status(FeedStatus::Failed {
                retry_in_ms: None,
                ..
            }))
        ),
        "the failure is reported with no retry: {updates:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_the_shared_token_stops_a_feed_waiting_between_polls() {
    let (sim, _clock) = start_sim().await;
    let shutdown = CancellationToken::new();
    let feed = EventFeed::with_cancellation(
        "KFP",
        Arc::new(kubeflow(&sim, "kfp-sim-token")) as Arc<dyn Integration>,
        None,
        FeedConfig {
            interval: Duration::from_secs(3_600),
            ..fast()
        },
        shutdown.clone(),
    );
    let handle = feed.handle();
    let mut sub = handle.subscribe();
    let mut cursor = handle.cursor();
    let task = feed.spawn();
    let published = first_cursor(&mut cursor).await;
    shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("an hour-long wait is cut short")
        .expect("the feed task ends");
    assert_eq!(
        end.cursor,
        Some(published),
        "the feed ends on its last cursor"
    );
    assert!(end.error.is_none(), "{end:?}");
    let updates = read_until(&mut sub, "Stopped", |u| {
        matches!(u, FeedUpdate::Status(FeedStatus::Stopped { .. }))
    })
    .await;
    assert!(
        event_ids(&updates).is_empty(),
        "no events on a quiet platform: {updates:?}"
    );
    assert!(
        sub.recv().await.is_none(),
        "the subscription closes after Stopped"
    );
    sim.shutdown().await;
}
