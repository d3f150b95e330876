//! Platform events delivered to subscribers. A desktop cannot take webhooks, so an
//! [`EventFeed`] polls one partner's connector
//! ([`Integration::subscribe_to_events`]) on an interval, from its cursor, and hands every new
//! [`PlatformEvent`] to each of its subscribers.
//!
//! - **Delivery.** Each subscriber has its own bounded channel, so every subscriber sees every
//!   event once, in the order the connector gave them; nothing is dropped for a slow reader
//!   (a full channel makes the feed wait, which only delays the next poll). A subscriber added
//!   while the feed runs gets the updates from the next batch on. A dropped [`Subscription`]
//!   is forgotten. Events are also deduplicated by id over the last [`RECENT_IDS`] ids, in case
//!   a platform's window overlaps.
//! - **Cursor.** After each batch the cursor is published on a `watch` channel
//!   ([`FeedHandle::cursor`]) and, when it moved, sent to subscribers as
//!   [`FeedStatus::Advanced`] *after* the batch's events, so a subscriber that persists that
//!   cursor never skips an event it has not handled.
//! - **Errors.** A failed poll is sent as [`FeedStatus::Failed`] with its classified
//!   [`IntegrationError`]; the cursor is kept and the same cursor is polled again. Retriable
//!   classes (and an open circuit) are retried with exponential backoff from the interval,
//!   never sooner than the platform's `Retry-After`; other classes (a refused credential, a
//!   cursor that is not the platform's) cannot heal by waiting, so the feed ends with them.
//! - **Stopping.** [`FeedHandle::stop`] (a [`CancellationToken`]) ends the feed between or
//!   during polls; the last published cursor is never ahead of the delivered events. The last
//!   update is [`FeedStatus::Stopped`], then the channels close.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ecosystem_core::integration::{
    ErrorClass, EventCursor, Integration, IntegrationError, PlatformEvent,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
pub use tokio_util::sync::CancellationToken;

/// How many recently delivered event ids a feed remembers to drop repeats.
pub const RECENT_IDS: usize = 4_096;
/// The longest wait a platform's `Retry-After` can impose on a feed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// How often a feed polls, and how it backs off.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// Between two successful polls.
    pub interval: Duration,
    /// The longest wait between retries of failing polls (at least `interval`).
    pub max_backoff: Duration,
    /// Each retry wait is shortened by a random share up to this (0.0..=1.0), so feeds that
    /// failed together do not retry together.
    pub jitter: f64,
    /// Updates each subscriber's channel holds before the feed waits for it.
    pub buffer: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            interval: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
            jitter: 0.1,
            buffer: 1_024,
        }
    }
}

impl FeedConfig {
    /// The wait before retry number `attempt` (1 for the first) after `error`: the interval
    /// doubled per consecutive failure up to `max_backoff`, never less than the platform's
    /// `Retry-After`.
    pub fn retry_delay(&self, attempt: u32, error: &IntegrationError) -> Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
        let max = self.max_backoff.max(self.interval);
        let mut delay = self.interval.saturating_mul(doubling).min(max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter > 0.0 {
            delay = delay.mul_f64(1.0 - jitter * fastrand::f64());
        }
        match error.retry_after {
            Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
            None => delay,
        }
    }
}

/// What a feed tells its subscribers about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FeedStatus {
    /// A batch was delivered (its events came just before) and the cursor moved to `cursor`.
    Advanced { events: usize, cursor: EventCursor },
    /// A poll failed; the cursor is unchanged. `retry_in_ms` is `None` when the feed gives up.
    Failed {
        error: IntegrationError,
        /// Consecutive failed polls, this one included.
        attempt: u32,
        retry_in_ms: Option<u64>,
    },
    /// A poll succeeded after `after_failures` failed ones.
    Recovered { after_failures: u32 },
    /// The feed ended; `cursor` is where a new feed should start.
    Stopped { cursor: Option<EventCursor> },
}

/// One item a subscriber receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedUpdate {
    Event(PlatformEvent),
    Status(FeedStatus),
}

/// How a feed ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEnd {
    /// The cursor after the last delivered batch (the one it started from if none was).
    pub cursor: Option<EventCursor>,
    /// The error the feed gave up on; `None` when it was stopped.
    pub error: Option<IntegrationError>,
}

/// The receiving end of one subscriber.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<FeedUpdate>,
}

impl Subscription {
    /// The next update; `None` once the feed has ended and everything was read.
    pub async fn recv(&mut self) -> Option<FeedUpdate> {
        self.rx.recv().await
    }

    /// The next update if one is waiting.
    pub fn try_recv(&mut self) -> Option<FeedUpdate> {
        self.rx.try_recv().ok()
    }
}

type Subscribers = Arc<Mutex<Vec<mpsc::Sender<FeedUpdate>>>>;

/// What the outside keeps of a feed: subscribe, watch the cursor, stop it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FeedHandle {
    partner: Arc<str>,
    subscribers: Subscribers,
    buffer: usize,
    cursor: watch::Receiver<Option<EventCursor>>,
    cancel: CancellationToken,
}

impl FeedHandle {
    pub fn partner(&self) -> &str {
        &self.partner
    }

    /// A new subscriber: every update from the next batch on.
    pub fn subscribe(&self) -> Subscription {
        let (tx, rx) = mpsc::channel(self.buffer.max(1));
        // Checked under the lock: an ending feed cancels, then takes the list under it, so a
        // sender is either taken (and dropped) by the feed or never added.
        let mut subscribers = lock(&self.subscribers);
        if !self.cancel.is_cancelled() {
            subscribers.push(tx);
        }
        // Otherwise the feed has ended: `tx` is dropped and the channel closes at once.
        Subscription { rx }
    }

    /// The cursor after the last delivered batch, to persist; updated after every batch.
    pub fn cursor(&self) -> watch::Receiver<Option<EventCursor>> {
        self.cursor.clone()
    }

    /// Ends the feed (idempotent).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// The token that ends the feed, to tie it to a wider shutdown.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// A feed of one partner's events, ready to run. Take a [`FeedHandle`] first, then
/// [`run`](EventFeed::run) it in place or [`spawn`](EventFeed::spawn) it.
pub struct EventFeed {
    connector: Arc<dyn Integration>,
    config: FeedConfig,
    handle: FeedHandle,
    cursor_tx: watch::Sender<Option<EventCursor>>,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
}

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed")
            .field("partner", &self.handle.partner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EventFeed {
    /// A feed polling `connector` (the partner named `partner`) from `cursor` (from now when
    /// `None`).
    pub fn new(
        partner: impl Into<String>,
        connector: impl Into<Arc<dyn Integration>>,
        cursor: Option<EventCursor>,
        config: FeedConfig,
    ) -> Self {
        EventFeed::with_cancellation(partner, connector, cursor, config, CancellationToken::new())
    }

    /// Like [`new`](EventFeed::new), also ended when `cancel` is (an app-wide shutdown);
    /// the feed stops through a child of it, so ending the feed never cancels `cancel`.
    pub fn with_cancellation(
        partner: impl Into<String>,
        connector: impl Into<Arc<dyn Integration>>,
        cursor: Option<EventCursor>,
        config: FeedConfig,
        cancel: CancellationToken,
    ) -> Self {
        let (cursor_tx, cursor_rx) = watch::channel(cursor);
        let partner: String = partner.into();
        EventFeed {
            connector: connector.into(),
            handle: FeedHandle {
                partner: partner.into(),
                subscribers: Arc::new(Mutex::new(Vec::new())),
                buffer: config.buffer,
                cursor: cursor_rx,
                cancel: cancel.child_token(),
            },
            config,
            cursor_tx,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
        }
    }

    pub fn handle(&self) -> FeedHandle {
        self.handle.clone()
    }

    /// Runs the feed on the current runtime as a task.
    pub fn spawn(self) -> JoinHandle<FeedEnd> {
        tokio::spawn(self.run())
    }

    /// Polls until stopped, or until a failure that waiting cannot heal.
    pub async fn run(mut self) -> FeedEnd {
        let cancel = self.handle.cancel.clone();
        let partner = self.handle.partner.clone();
        let mut failures: u32 = 0;
        tracing::debug!(partner = %partner, "event feed started");
        let error = loop {
            let cursor = self.cursor_tx.borrow().clone();
            let polled = tokio::select! {
                biased;
                () = cancel.cancelled() => break None,
                polled = self.connector.subscribe_to_events(cursor.clone()) => polled,
            };
            let wait = match polled {
                Ok(batch) => {
                    if failures > 0 {
                        tracing::info!(partner = %partner, after_failures = failures, "event feed recovered");
                        let recovered = FeedStatus::Recovered {
                            after_failures: failures,
                        };
                        failures = 0;
                        if !self.deliver(vec![FeedUpdate::Status(recovered)]).await {
                            break None;
                        }
                    }
                    let moved = cursor.as_ref() != Some(&batch.next);
                    let events: Vec<PlatformEvent> = batch
                        .events
                        .into_iter()
                        .filter(|e| self.remember(&e.id))
                        .collect();
                    let count = events.len();
                    if count > 0 || moved {
                        let mut updates: Vec<FeedUpdate> =
                            events.into_iter().map(FeedUpdate::Event).collect();
                        updates.push(FeedUpdate::Status(FeedStatus::Advanced {
                            events: count,
                            cursor: batch.next.clone(),
                        }));
                        if !self.deliver(updates).await {
                            // Stopped mid-batch: the cursor stays before it.
                            break None;
                        }
                        tracing::debug!(partner = %partner, events = count, "event batch delivered");
                    }
                    self.cursor_tx.send_replace(Some(batch.next));
                    self.config.interval
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let retriable =
                        error.class.is_retriable() || error.class == ErrorClass::CircuitOpen;
                    let delay = retriable.then(|| self.config.retry_delay(failures, &error));
                    tracing::warn!(
                        partner = %partner,
                        class = %error.class,
                        attempt = failures,
                        retry_in_ms = delay.map(duration_ms),
                        "event poll failed: {}",
                        error.message
                    );
                    let status = FeedStatus::Failed {
                        error: error.clone(),
                        attempt: failures,
                        retry_in_ms: delay.map(duration_ms),
                    };
                    if !self.deliver(vec![FeedUpdate::Status(status)]).await {
                        break None;
                    }
                    match delay {
                        Some(delay) => delay,
                        None => break Some(error),
                    }
                }
            };
            tokio::select! {
                biased;
                () = cancel.cancelled() => break None,
                () = tokio::time::sleep(wait) => {}
            }
        };
        // Nothing is polled any more: later subscribers get a closed channel.
        cancel.cancel();
        let cursor = self.cursor_tx.borrow().clone();
        let stopped = FeedStatus::Stopped {
            cursor: cursor.clone(),
        };
        // The last word is best effort: a full channel of a subscriber that stopped reading
        // must not keep the feed alive.
        for tx in std::mem::take(&mut *lock(&self.handle.subscribers)) {
            let _ = tx.try_send(FeedUpdate::Status(stopped.clone()));
        }
        tracing::debug!(partner = %partner, gave_up = error.is_some(), "event feed stopped");
        FeedEnd { cursor, error }
    }

    /// Sends `updates` to every current subscriber, in order; false when stopped meanwhile.
    async fn deliver(&mut self, updates: Vec<FeedUpdate>) -> bool {
        let subscribers: Vec<_> = lock(&self.handle.subscribers).clone();
        let cancel = self.handle.cancel.clone();
        for update in updates {
            for tx in &subscribers {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return false,
                    // A closed channel is a subscriber that left; it is pruned below.
                    _ = tx.send(update.clone()) => {}
                }
            }
        }
        lock(&self.handle.subscribers).retain(|tx| !tx.is_closed());
        true
    }

    /// True the first time `id` is seen among the last [`RECENT_IDS`].
    fn remember(&mut self, id: &str) -> bool {
        if self.recent_set.contains(id) {
            return false;
        }
        if self.recent.len() >= RECENT_IDS {
            if let Some(old) = self.recent.pop_front() {
                self.recent_set.remove(&old);
            }
        }
        self.recent.push_back(id.to_string());
        self.recent_set.insert(id.to_string());
        true
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use ecosystem_core::integration::{
        ConnectionCheck, DataPayload, DataRequest, EventBatch, IntegrationResult, UsageFigure,
    };
    use ecosystem_core::PartnerKind;

    /// Answers each poll with the next scripted result and records the cursor it was given.
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<VecDeque<IntegrationResult<EventBatch>>>,
        cursors: Mutex<Vec<Option<EventCursor>>>,
    }

    impl Scripted {
        fn new(answers: Vec<IntegrationResult<EventBatch>>) -> Arc<Self> {
            Arc::new(Scripted {
                answers: Mutex::new(answers.into()),
                cursors: Mutex::default(),
            })
        }

        fn cursors(&self) -> Vec<Option<EventCursor>> {
            lock(&self.cursors).clone()
        }
    }

    #[async_trait]
    impl Integration for Scripted {
        fn kind(&self) -> PartnerKind {
            PartnerKind::Http
        }
        fn capabilities(&self) -> Vec<String> {
            Vec::new()
        }
        async fn connect(&self) -> IntegrationResult<()> {
            Ok(())
        }
        async fn disconnect(&self) -> IntegrationResult<()> {
            Ok(())
        }
        async fn test_connection(&self) -> ConnectionCheck {
            unimplemented!("not polled by a feed")
        }
        async fn send_data(&self, _: DataPayload) -> IntegrationResult<()> {
            Ok(())
        }
        async fn receive_data(&self, _: DataRequest) -> IntegrationResult<Vec<u8>> {
            Ok(Vec::new())
        }
        async fn subscribe_to_events(
            &self,
            cursor: Option<EventCursor>,
        ) -> IntegrationResult<EventBatch> {
            lock(&self.cursors).push(cursor.clone());
            let next = lock(&self.answers).pop_front();
            next.unwrap_or_else(|| {
                Ok(EventBatch {
                    events: Vec::new(),
                    next: cursor.unwrap_or_default(),
                })
            })
        }
        async fn collect_metrics(
            &self,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
        ) -> IntegrationResult<Vec<UsageFigure>> {
            Ok(Vec::new())
        }
    }

    fn event(id: &str) -> PlatformEvent {
        PlatformEvent {
            id: id.into(),
            kind: "test.event".into(),
            subject: id.into(),
            at: DateTime::<Utc>::UNIX_EPOCH,
            detail: serde_json::Value::Object(serde_json::Map::default()),
        }
    }

    fn batch(ids: &[&str], next: &str) -> IntegrationResult<EventBatch> {
        Ok(EventBatch {
            events: ids.iter().map(|id| event(id)).collect(),
            next: EventCursor(next.into()),
        })
    }

    fn config() -> FeedConfig {
        FeedConfig {
            interval: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            jitter: 0.0,
            buffer: 64,
        }
    }

    async fn until_stopped(sub: &mut Subscription) -> Vec<FeedUpdate> {
        let mut seen = Vec::new();
        while let Some(update) = sub.recv().await {
            let stopped = matches!(update, FeedUpdate::Status(FeedStatus::Stopped { .. }));
            seen.push(update);
            if stopped {
                break;
            }
        }
        seen
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

    #[test]
    fn retry_delays_double_from_the_interval_up_to_the_cap_and_respect_retry_after() {
        let c = config();
        let plain = IntegrationError::new(ErrorClass::PlatformError, "503");
        let delays: Vec<u64> = (1..=5)
            .map(|n| c.retry_delay(n, &plain).as_secs())
            .collect();
        assert_eq!(
            delays,
            [10, 20, 40, 60, 60],
            "doubling, capped at max_backoff"
        );
        let mut throttled = IntegrationError::new(ErrorClass::RateLimited, "429");
        throttled.retry_after = Some(Duration::from_secs(90));
        assert_eq!(
            c.retry_delay(1, &throttled),
            Duration::from_secs(90),
            "Retry-After is a floor even above the cap"
        );
        let jittery = FeedConfig {
            jitter: 0.5,
            ..config()
        };
        for _ in 0..50 {
            let d = jittery.retry_delay(2, &plain);
            assert!(
                d <= Duration::from_secs(20) && d >= Duration::from_secs(10),
                "jitter only shortens, by half at most: {d:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_ids_are_delivered_once_and_the_cursor_follows_each_batch() {
        let connector = Scripted::new(vec![
            batch(&[], "c1"),
            batch(&["a", "b"], "c2"),
            batch(&["b", "c"], "c3"),
        ]);
        let feed = EventFeed::new(
            "p",
            connector.clone() as Arc<dyn Integration>,
            None,
            config(),
        );
        let handle = feed.handle();
        let mut sub = handle.subscribe();
        let task = feed.spawn();
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(
            handle.cursor().borrow().clone(),
            Some(EventCursor("c3".into())),
            "the cursor after the third batch is published"
        );
        handle.stop();
        let end = task.await.expect("the feed task ends");
        assert_eq!(end.cursor, Some(EventCursor("c3".into())), "{end:?}");
        assert_eq!(end.error, None, "stopped, not failed");
        let updates = until_stopped(&mut sub).await;
        assert_eq!(event_ids(&updates), ["a", "b", "c"], "{updates:?}");
        let advanced: Vec<_> = updates
            .iter()
            .filter_map(|u| match u {
                FeedUpdate::Status(FeedStatus::Advanced { cursor, .. }) => Some(cursor.0.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            advanced,
            ["c1", "c2", "c3"],
            "one Advanced per moved cursor"
        );
        assert_eq!(
            connector.cursors()[..3],
            [
                None,
                Some(EventCursor("c1".into())),
                Some(EventCursor("c2".into()))
            ],
            "each poll starts from the previous batch's cursor"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_keep_the_cursor_and_a_refused_credential_ends_the_feed() {
        let unavailable =
            || Err(IntegrationError::new(ErrorClass::PlatformError, "503").with_status(503));
        let connector = Scripted::new(vec![
            batch(&[], "c1"),
            unavailable(),
            unavailable(),
            batch(&["x"], "c2"),
            Err(IntegrationError::new(
                ErrorClass::CredentialsRejected,
                "401",
            )),
        ]);
        let feed = EventFeed::new(
            "p",
            connector.clone() as Arc<dyn Integration>,
            None,
            config(),
        );
        let mut sub = feed.handle().subscribe();
        let started = tokio::time::Instant::now();
        let end = feed.run().await;
        assert_eq!(
            end.error.map(|e| e.class),
            Some(ErrorClass::CredentialsRejected),
            "a refused credential cannot heal by waiting"
        );
        assert_eq!(end.cursor, Some(EventCursor("c2".into())));
        // Polls at 0, then failures at 10 (retry in 10) and 20 (retry in 20), recovery at 40,
        // and the refusal at 50.
        assert_eq!(started.elapsed(), Duration::from_secs(50), "backoff waits");
        let updates = until_stopped(&mut sub).await;
        let statuses: Vec<String> = updates
            .iter()
            .filter_map(|u| match u {
                FeedUpdate::Status(s) => Some(match s {
                    FeedStatus::Advanced { cursor, .. } => format!("advanced {}", cursor.0),
                    FeedStatus::Failed {
                        error,
                        attempt,
                        retry_in_ms,
                    } => format!("failed {} #{attempt} {retry_in_ms:?}", error.class),
                    FeedStatus::Recovered { after_failures } => {
                        format!("recovered {after_failures}")
                    }
                    FeedStatus::Stopped { cursor } => format!("stopped {cursor:?}"),
                }),
                FeedUpdate::Event(_) => None,
            })
            .collect();
        assert_eq!(
            statuses,
            [
                "advanced c1",
                "failed platform_error #1 Some(10000)",
                "failed platform_error #2 Some(20000)",
                "recovered 2",
                "advanced c2",
                "failed credentials_rejected #1 None",
                "stopped Some(EventCursor(\"c2\"))",
            ],
            "{updates:?}"
        );
        let c1 = Some(EventCursor("c1".into()));
        assert_eq!(
            connector.cursors()[1..4],
            [c1.clone(), c1.clone(), c1],
            "failed polls are retried from the same cursor"
        );
        assert!(
            sub.recv().await.is_none(),
            "the channel closes after Stopped"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_subscriber_does_not_hold_up_the_others() {
        let connector = Scripted::new(vec![batch(&["a"], "c1"), batch(&["b"], "c2")]);
        let feed = EventFeed::new(
            "p",
            connector as Arc<dyn Integration>,
            None,
            FeedConfig {
                buffer: 1,
                ..config()
            },
        );
        let handle = feed.handle();
        let gone = handle.subscribe();
        let mut kept = handle.subscribe();
        drop(gone);
        let task = feed.spawn();
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match kept.recv().await {
                Some(FeedUpdate::Event(e)) => seen.push(e.id),
                Some(FeedUpdate::Status(_)) => {}
                None => break,
            }
        }
        handle.stop();
        let end = task.await.expect("the feed task ends");
        assert_eq!(seen, ["a", "b"], "the remaining subscriber got every event");
        assert!(end.error.is_none(), "{end:?}");
        let late = handle.subscribe().recv().await;
        assert!(
            late.is_none(),
            "a stopped feed closes new subscriptions at once"
        );
    }
}
