//! The health poller's scheduling, on tokio's paused clock with scripted fake connectors:
//! intervals and jitter, timeouts of hanging partners, one check in flight per partner, the
//! global limit, pause and resume, reload and cancellation. Nothing here sleeps in real time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ecosystem_connectors::poller::{
    ConnectorFactory, HealthPoller, PollOutcome, PollSummary, PollTarget, PollerConfig,
    PollerHandle,
};
use ecosystem_core::health::CheckHint;
use ecosystem_core::integration::{
    CheckState, ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor,
    Integration, IntegrationResult, UsageFigure,
};
use ecosystem_core::{FixedClock, HealthCheck, Lifecycle, Partner, PartnerKind, Tier};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{advance, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Answer(Duration),
    Hang,
}

/// What the fake platforms do and what they saw.
#[derive(Default)]
struct Script {
    behaviour: Mutex<HashMap<u32, Behaviour>>,
    starts: Mutex<HashMap<u32, Vec<Instant>>>,
    in_flight: Mutex<(HashMap<u32, u32>, u32)>,
    max_per_partner: Mutex<u32>,
    max_global: Mutex<u32>,
    builds: Mutex<HashMap<u32, u32>>,
}

impl Script {
    fn set(&self, id: u32, b: Behaviour) {
        self.behaviour.lock().expect("lock").insert(id, b);
    }

    fn starts(&self, id: u32) -> Vec<Instant> {
        self.starts
            .lock()
            .expect("lock")
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    fn builds(&self, id: u32) -> u32 {
        self.builds
            .lock()
            .expect("lock")
            .get(&id)
            .copied()
            .unwrap_or(0)
    }

    fn global_in_flight(&self) -> u32 {
        self.in_flight.lock().expect("lock").1
    }
}

/// Decrements the in-flight counts when a check ends or is dropped (timed out, aborted).
struct InFlight {
    script: Arc<Script>,
    id: u32,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut f = self.script.in_flight.lock().expect("lock");
        if let Some(n) = f.0.get_mut(&self.id) {
            *n -= 1;
        }
        f.1 -= 1;
    }
}

struct FakePlatform {
    id: u32,
    script: Arc<Script>,
}

#[async_trait::async_trait]
impl Integration for FakePlatform {
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
        let s = &self.script;
        s.starts
            .lock()
            .expect("lock")
            .entry(self.id)
            .or_default()
            .push(Instant::now());
        {
            let mut f = s.in_flight.lock().expect("lock");
            let mine = f.0.entry(self.id).or_default();
            *mine += 1;
            let mine = *mine;
            f.1 += 1;
            let global = f.1;
            let mut m = s.max_per_partner.lock().expect("lock");
            *m = (*m).max(mine);
            let mut g = s.max_global.lock().expect("lock");
            *g = (*g).max(global);
        }
        let _guard = InFlight {
            script: s.clone(),
            id: self.id,
        };
        let behaviour = s
            .behaviour
            .lock()
            .expect("lock")
            .get(&self.id)
            .copied()
            .unwrap_or(Behaviour::Answer(Duration::from_millis(20)));
        match behaviour {
            Behaviour::Answer(latency) => tokio::time::sleep(latency).await,
            Behaviour::Hang => std::future::pending::<()>().await,
        }
        ConnectionCheck {
            state: CheckState::Healthy,
            latency_ms: 20,
            error: None,
            capabilities: Vec::new(),
        }
    }
    async fn send_data(&self, _: DataPayload) -> IntegrationResult<()> {
        Ok(())
    }
    async fn receive_data(&self, _: DataRequest) -> IntegrationResult<Vec<u8>> {
        Ok(Vec::new())
    }
    async fn subscribe_to_events(&self, _: Option<EventCursor>) -> IntegrationResult<EventBatch> {
        Ok(EventBatch {
            events: Vec::new(),
            next: EventCursor::default(),
        })
    }
    async fn collect_metrics(
        &self,
        _: chrono::DateTime<Utc>,
        _: chrono::DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        Ok(Vec::new())
    }
}

struct FakeFactory(Arc<Script>);

impl ConnectorFactory for FakeFactory {
    fn build(&self, target: &PollTarget) -> IntegrationResult<Arc<dyn Integration>> {
        let id = target.partner.id;
        *self.0.builds.lock().expect("lock").entry(id).or_default() += 1;
        Ok(Arc::new(FakePlatform {
            id,
            script: self.0.clone(),
        }))
    }
}

fn partner(id: u32, interval_secs: u32, timeout_secs: u32) -> PollTarget {
    PollTarget::new(Partner {
        id,
        name: format!("p{id}"),
        kind: PartnerKind::Http,
        endpoint: format!("http://127.0.0.1:9/{id}"),
        tier: Tier::Standard,
        owner: None,
        capabilities: Vec::new(),
        tags: Vec::new(),
        lifecycle: Lifecycle::Active,
        depends_on: None,
        health_check: HealthCheck {
            interval_secs,
            timeout_secs,
        },
        created_at: String::new(),
        updated_at: String::new(),
    })
}

struct Run {
    handle: PollerHandle,
    cancel: CancellationToken,
    outcomes: mpsc::UnboundedReceiver<PollOutcome>,
    task: JoinHandle<PollSummary>,
}

impl Run {
    fn start(targets: Vec<PollTarget>, concurrency: usize, script: Arc<Script>) -> Run {
        let (tx, rx) = mpsc::unbounded_channel();
        let clock = Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
                .single()
                .expect("time"),
        ));
        let config = PollerConfig {
            concurrency,
            seed: Some(7),
            ..PollerConfig::default()
        };
        let (poller, handle) = HealthPoller::new(
            config,
            Arc::new(FakeFactory(script.clone())),
            Arc::new(tx),
            clock,
        );
        let cancel = CancellationToken::new();
        let task = tokio::spawn(poller.run(targets, cancel.clone()));
        Run {
            handle,
            cancel,
            outcomes: rx,
            task,
        }
    }

    async fn stop(self) -> (PollSummary, Vec<PollOutcome>) {
        self.cancel.cancel();
        let summary = self.task.await.expect("poller task");
        let mut outcomes = self.outcomes;
        let mut all = Vec::new();
        while let Ok(o) = outcomes.try_recv() {
            all.push(o);
        }
        (summary, all)
    }
}

/// Lets virtual time pass (auto-advanced: the runtime is paused and idle otherwise).
async fn pass(d: Duration) {
    tokio::time::sleep(d).await;
}

#[tokio::test(start_paused = true)]
async fn each_partner_is_checked_on_its_interval_with_jitter_inside_bounds() {
    let script = Arc::new(Script::default());
    let t0 = Instant::now();
    let run = Run::start(
        (1..=6).map(|i| partner(i, 10, 5)).collect(),
        8,
        script.clone(),
    );
    pass(Duration::from_secs(200)).await;
    let (summary, _) = run.stop().await;
    let mut gaps = Vec::new();
    for id in 1..=6 {
        let starts = script.starts(id);
        assert!(
            (18..=22).contains(&starts.len()),
            "partner {id} was checked {} times in 200 s at a 10 s interval",
            starts.len()
        );
        let first = starts[0] - t0;
        assert!(
            first < Duration::from_secs(10),
            "partner {id}'s first check came {first:?} after start, beyond one interval"
        );
        for w in starts.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap >= Duration::from_millis(8_990) && gap <= Duration::from_millis(11_010),
                "partner {id}: {gap:?} between checks, outside 10 s ± 10 %"
            );
            gaps.push(gap);
        }
    }
    assert!(
        gaps.iter().any(|g| *g != gaps[0]),
        "the intervals are jittered, not all equal"
    );
    assert!(
        summary.checks_done >= 108,
        "checks were counted: {summary:?}"
    );
    assert_eq!(summary.unhealthy, 0, "{summary:?}");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_partner_is_timed_out_and_the_others_keep_their_schedule() {
    let script = Arc::new(Script::default());
    script.set(1, Behaviour::Hang);
    let mut targets = vec![partner(1, 10, 3)];
    targets.extend((2..=10).map(|i| partner(i, 10, 3)));
    let run = Run::start(targets, 4, script.clone());
    pass(Duration::from_secs(120)).await;
    let (summary, outcomes) = run.stop().await;
    let hung: Vec<_> = outcomes.iter().filter(|o| o.partner_id == 1).collect();
    assert!(
        hung.len() >= 10,
        "the hanging partner was reported each turn: {hung:?}"
    );
    for o in &hung {
        assert!(
            matches!(
                &o.outcome.state_hint,
                CheckHint::Failed {
                    error_class: ErrorClass::TimedOut,
                    ..
                }
            ),
            "the hanging partner is timed out: {o:?}"
        );
        assert_eq!(o.outcome.latency_ms, 4_000, "timeout 3 s plus 1 s grace");
    }
    let others: Vec<_> = outcomes.iter().filter(|o| o.partner_id != 1).collect();
    assert!(
        others.len() >= 9 * 10,
        "the others kept being checked: {}",
        others.len()
    );
    let worst = others.iter().map(|o| o.lag).max().unwrap_or_default();
    assert!(
        worst < Duration::from_millis(5),
        "the other partners' schedule lag stayed small, worst {worst:?}"
    );
    assert!(others.iter().all(|o| o.state == CheckState::Healthy));
    assert_eq!(
        summary.failures.get("timed_out"),
        Some(&(hung.len() as u64))
    );
}

#[tokio::test(start_paused = true)]
async fn a_check_still_running_at_its_next_turn_is_skipped_never_run_twice() {
    let script = Arc::new(Script::default());
    script.set(1, Behaviour::Answer(Duration::from_secs(25)));
    let run = Run::start(
        vec![partner(1, 10, 60), partner(2, 10, 60)],
        8,
        script.clone(),
    );
    pass(Duration::from_secs(200)).await;
    let (summary, _) = run.stop().await;
    assert_eq!(
        *script.max_per_partner.lock().expect("lock"),
        1,
        "never two checks in flight for one partner"
    );
    assert!(
        summary.skipped_busy >= 8,
        "busy turns were skipped and counted: {summary:?}"
    );
    let slow = script.starts(1).len();
    assert!(
        (6..=9).contains(&slow),
        "the slow partner ran one check at a time ({slow} in 200 s at 25 s each)"
    );
}

#[tokio::test(start_paused = true)]
async fn the_global_concurrency_limit_is_never_exceeded() {
    let script = Arc::new(Script::default());
    for id in 1..=40 {
        script.set(id, Behaviour::Answer(Duration::from_secs(2)));
    }
    let run = Run::start(
        (1..=40).map(|i| partner(i, 10, 5)).collect(),
        5,
        script.clone(),
    );
    pass(Duration::from_secs(100)).await;
    let (summary, outcomes) = run.stop().await;
    let max = *script.max_global.lock().expect("lock");
    assert!(max <= 5, "{max} checks ran at once with a limit of 5");
    assert_eq!(
        max, 5,
        "the limit was reached (40 partners × 2 s per 10 s need 8)"
    );
    assert!(summary.max_in_flight <= 5, "{summary:?}");
    assert!(
        outcomes.iter().any(|o| o.lag >= Duration::from_secs(1)),
        "waiting for a permit shows as schedule lag"
    );
}

#[tokio::test(start_paused = true)]
async fn pause_stops_a_partners_checks_and_resume_restarts_them() {
    let script = Arc::new(Script::default());
    let run = Run::start(
        vec![partner(1, 10, 5), partner(2, 10, 5)],
        4,
        script.clone(),
    );
    pass(Duration::from_secs(30)).await;
    assert!(run.handle.pause(1), "the poller takes the command");
    pass(Duration::from_millis(1)).await;
    let paused_at = Instant::now();
    let before = script.starts(1).len();
    pass(Duration::from_secs(60)).await;
    assert_eq!(
        script.starts(1).len(),
        before,
        "no check of a paused partner in 60 s"
    );
    let other = script.starts(2).iter().filter(|t| **t > paused_at).count();
    assert!(other >= 5, "the other partner kept going: {other}");
    assert!(run.handle.resume(1));
    let resumed_at = Instant::now();
    pass(Duration::from_secs(25)).await;
    let after: Vec<_> = script
        .starts(1)
        .into_iter()
        .filter(|t| *t >= resumed_at)
        .collect();
    assert!(
        after.len() >= 2,
        "a resumed partner is checked again: {} checks",
        after.len()
    );
    assert!(
        after[0] - resumed_at < Duration::from_secs(1),
        "the first check after resume comes at once"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn reload_adds_removes_and_rebuilds_only_changed_partners() {
    let script = Arc::new(Script::default());
    let run = Run::start(
        vec![partner(1, 10, 5), partner(2, 10, 5)],
        4,
        script.clone(),
    );
    pass(Duration::from_secs(30)).await;
    assert!(run
        .handle
        .reload(vec![partner(2, 10, 5), partner(3, 10, 5)]));
    pass(Duration::from_millis(100)).await;
    let reloaded_at = Instant::now();
    let removed_before = script.starts(1).len();
    pass(Duration::from_secs(40)).await;
    assert_eq!(
        script.starts(1).len(),
        removed_before,
        "a removed partner is no longer checked"
    );
    assert!(
        script
            .starts(3)
            .iter()
            .filter(|t| **t > reloaded_at)
            .count()
            >= 3,
        "an added partner is checked on its interval"
    );
    assert_eq!(
        script.builds(2),
        1,
        "an unchanged partner keeps its connector"
    );
    assert!(run.handle.reload(vec![partner(2, 5, 5), partner(3, 10, 5)]));
    pass(Duration::from_millis(100)).await;
    let changed_at = Instant::now();
    pass(Duration::from_secs(30)).await;
    assert_eq!(
        script.builds(2),
        2,
        "a changed partner gets a new connector"
    );
    let faster = script.starts(2).iter().filter(|t| **t > changed_at).count();
    assert!(
        faster >= 5,
        "the new 5 s interval applies: {faster} checks in 30 s"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_every_check_promptly() {
    let script = Arc::new(Script::default());
    for id in 1..=20 {
        script.set(id, Behaviour::Hang);
    }
    let run = Run::start(
        (1..=20).map(|i| partner(i, 10, 300)).collect(),
        50,
        script.clone(),
    );
    pass(Duration::from_secs(15)).await;
    assert_eq!(
        script.global_in_flight(),
        20,
        "every partner hangs in a check"
    );
    run.cancel.cancel();
    let stopped = tokio::time::timeout(Duration::from_millis(10), run.task).await;
    assert!(
        stopped.is_ok(),
        "the poller stopped within 10 ms of cancellation"
    );
    assert_eq!(
        script.global_in_flight(),
        0,
        "the checks in flight were dropped"
    );
    advance(Duration::from_secs(60)).await;
    let total: usize = (1..=20).map(|i| script.starts(i).len()).sum();
    assert_eq!(total, 20, "nothing was checked after cancellation");
}

#[tokio::test(start_paused = true)]
async fn run_once_checks_every_partner_once_and_returns() {
    let script = Arc::new(Script::default());
    script.set(3, Behaviour::Hang);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (poller, _handle) = HealthPoller::new(
        PollerConfig {
            concurrency: 2,
            ..PollerConfig::default()
        },
        Arc::new(FakeFactory(script.clone())),
        Arc::new(tx),
        Arc::new(FixedClock(Utc::now())),
    );
    let summary = poller
        .run_once(
            (1..=5).map(|i| partner(i, 60, 2)).collect(),
            CancellationToken::new(),
        )
        .await;
    let mut seen = Vec::new();
    while let Ok(o) = rx.try_recv() {
        seen.push(o.partner_id);
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![1, 2, 3, 4, 5], "each partner was reported once");
    assert_eq!(summary.checks_done, 5, "{summary:?}");
    assert_eq!(
        summary.unhealthy, 1,
        "the hanging one timed out: {summary:?}"
    );
}
