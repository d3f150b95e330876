//! The health poller: checks every active partner on its own interval, for the desktop app and
//! the headless `ecosystem poll`.
//!
//! [`HealthPoller`] is one driver task over a min-heap of due times (not one sleeping task per
//! partner, so 10,000 partners cost 10,000 heap entries). Each partner is checked every
//! `health_check.interval_secs` with ±10 % jitter, from a random initial phase so a fresh start
//! does not fire every partner at once. Each check runs in its own task, holds a permit of a
//! global [`Semaphore`] (bounded concurrency) and is bounded by the partner's timeout plus a
//! small grace, so a hanging partner only ever costs its own slot. A partner has at most one
//! check in flight: when its next due time comes while a check still runs, that turn is skipped
//! and counted, never queued. Connectors are built once per partner (one pooled HTTP client)
//! and rebuilt only when the partner, its credential or its check definition changes.
//!
//! Control goes through a [`PollerHandle`]: pause and resume one partner, reload the set of
//! partners (added, removed, changed). Cancellation goes through a [`CancellationToken`]: the
//! driver stops and aborts the checks in flight.
//!
//! Results go to an [`OutcomeSink`]; [`HealthWriterSink`] is the adapter to the core's
//! [`HealthWriter`]: one writer thread owns the database connection and records outcomes in
//! batches (one transaction each), applies maintenance windows as they open and close, and
//! runs the history's retention every hour. [`PollStats`] counts checks, failures by class,
//! skipped turns and the schedule lag (due time to start, waiting for a permit included), for the
//! summary of `ecosystem poll` and the bench.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ecosystem_core::health::{CheckHint, CheckOutcome, HealthPolicy};
use ecosystem_core::health_store::{HealthWriter, PartnerOutcome, PartnerTransition, Retention};
use ecosystem_core::integration::{
    CheckState, ConnectionCheck, ErrorClass, Integration, IntegrationError, IntegrationResult,
};
use ecosystem_core::{Clock, Credential, Partner, StoredCheck};
use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::check::options_for;
use crate::factory::connector_for;

/// How the poller runs.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// Checks running at once, across all partners (at least 1).
    pub concurrency: usize,
    /// The interval is drawn from `interval × (1 ± jitter)` each time (0.1 = ±10 %).
    pub jitter: f64,
    /// Added to a partner's own timeout before its check is abandoned as timed out.
    pub timeout_grace: Duration,
    /// Seeds the jitter; random when `None` (tests fix it).
    pub seed: Option<u64>,
}

impl Default for PollerConfig {
    fn default() -> Self {
        PollerConfig {
            concurrency: 64,
            jitter: 0.1,
            timeout_grace: Duration::from_secs(1),
            seed: None,
        }
    }
}

/// A partner to poll: its record, its credential and (http partners) its stored check.
#[derive(Debug, Clone, PartialEq)]
pub struct PollTarget {
    pub partner: Partner,
    pub credential: Option<Credential>,
    pub stored_check: Option<StoredCheck>,
}

impl PollTarget {
    pub fn new(partner: Partner) -> PollTarget {
        PollTarget {
            partner,
            credential: None,
            stored_check: None,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.partner.health_check.interval_secs.max(1)))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.partner.health_check.timeout_secs.max(1)))
    }
}

/// Builds the connector of a partner to poll. The poller calls it once per partner and again
/// only when the target changes.
pub trait ConnectorFactory: Send + Sync + 'static {
    fn build(&self, target: &PollTarget) -> IntegrationResult<Arc<dyn Integration>>;
}

/// The platform connectors ([`connector_for`] with the partner's own options).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlatformConnectors;

impl ConnectorFactory for PlatformConnectors {
    fn build(&self, target: &PollTarget) -> IntegrationResult<Arc<dyn Integration>> {
        let mut options = options_for(&target.partner);
        options.stored_check = target.stored_check.clone();
        connector_for(&target.partner, target.credential.clone(), options).map(Arc::from)
    }
}

/// One check of one partner, as the poller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    pub partner_id: u32,
    pub partner: String,
    /// What the health state machine takes (time from the injected clock, hint, latency).
    pub outcome: CheckOutcome,
    /// The check's own verdict, before thresholds (what `--once` exits on).
    pub state: CheckState,
    /// From the due time to the start of the check.
    pub lag: Duration,
}

/// Where outcomes go. `record` is called from the check tasks and must not block.
pub trait OutcomeSink: Send + Sync + 'static {
    fn record(&self, outcome: PollOutcome);
}

impl OutcomeSink for mpsc::UnboundedSender<PollOutcome> {
    fn record(&self, outcome: PollOutcome) {
        // The receiver gone means the run is ending; the outcome has nowhere to go.
        let _ = self.send(outcome);
    }
}

/// The ConnectionCheck as the state machine's input.
pub fn check_outcome(at: chrono::DateTime<chrono::Utc>, check: &ConnectionCheck) -> CheckOutcome {
    let latency_ms = u32::try_from(check.latency_ms).unwrap_or(u32::MAX);
    let state_hint = match (check.state, &check.error) {
        (CheckState::Healthy, _) => CheckHint::Ok,
        (CheckState::Degraded, Some(e)) => CheckHint::CapabilityFailing {
            reason: e.message.clone(),
        },
        (CheckState::Degraded, None) => CheckHint::Slow,
        (CheckState::Unhealthy, Some(e)) => CheckHint::Failed {
            error_class: e.class,
            reason: e.message.clone(),
        },
        (CheckState::Unhealthy, None) => CheckHint::Failed {
            error_class: ErrorClass::PlatformError,
            reason: "the check failed without a reason".into(),
        },
    };
    CheckOutcome {
        at,
        state_hint,
        latency_ms,
    }
}

// ---------------------------------------------------------------------------------------
// Statistics

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
const LAG_BUCKETS: usize = SUB * 40;

/// A lock-free log-linear histogram of durations in microseconds (about 1.5 % precision).
#[derive(Debug)]
pub struct LagHistogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for LagHistogram {
    fn default() -> Self {
        LagHistogram {
            buckets: (0..LAG_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

fn bucket_of(micros: u64) -> usize {
    if micros < SUB as u64 {
        return micros as usize;
    }
    let exp = 63 - micros.leading_zeros();
    let shift = exp - SUB_BITS;
    let mantissa = (micros >> shift) as usize;
    ((shift as usize + 1) * SUB + mantissa - SUB).min(LAG_BUCKETS - 1)
}

fn bucket_upper(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let shift = (index / SUB - 1) as u32;
    let mantissa = (index % SUB + SUB) as u64;
    ((mantissa + 1) << shift) - 1
}

impl LagHistogram {
    pub fn record(&self, lag: Duration) {
        let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get(bucket_of(micros)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0.0..=1.0), as the upper bound of its bucket; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Duration::from_micros(bucket_upper(i));
            }
        }
        Duration::from_micros(bucket_upper(LAG_BUCKETS - 1))
    }
}

const CLASSES: [ErrorClass; 10] = [
    ErrorClass::CredentialsRejected,
    ErrorClass::NotFound,
    ErrorClass::InvalidRequest,
    ErrorClass::RateLimited,
    ErrorClass::TimedOut,
    ErrorClass::Unreachable,
    ErrorClass::PlatformError,
    ErrorClass::UnexpectedResponse,
    ErrorClass::CircuitOpen,
    ErrorClass::MissingCredential,
];

/// Counters of a poller run, shared with its handle.
#[derive(Debug, Default)]
pub struct PollStats {
    started: AtomicU64,
    done: AtomicU64,
    healthy: AtomicU64,
    degraded: AtomicU64,
    unhealthy: AtomicU64,
    skipped_busy: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    failures: [AtomicU64; CLASSES.len()],
    lag: LagHistogram,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    pub checks_started: u64,
    pub checks_done: u64,
    pub healthy: u64,
    pub degraded: u64,
    pub unhealthy: u64,
    /// Turns skipped because the partner's previous check was still running.
    pub skipped_busy: u64,
    /// The most checks that ran at once.
    pub max_in_flight: u64,
    /// Failed checks by error class (`timed_out`, `unreachable`...).
    pub failures: BTreeMap<&'static str, u64>,
    #[serde(serialize_with = "as_millis")]
    pub lag_p50: Duration,
    #[serde(serialize_with = "as_millis")]
    pub lag_p99: Duration,
    #[serde(serialize_with = "as_millis")]
    pub lag_max: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1_000.0)
}

impl PollStats {
    pub fn lag(&self) -> &LagHistogram {
        &self.lag
    }

    pub fn summary(&self) -> PollSummary {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PollSummary {
            checks_started: load(&self.started),
            checks_done: load(&self.done),
            healthy: load(&self.healthy),
            degraded: load(&self.degraded),
            unhealthy: load(&self.unhealthy),
            skipped_busy: load(&self.skipped_busy),
            max_in_flight: load(&self.max_in_flight),
            failures: CLASSES
                .iter()
                .zip(&self.failures)
                .filter(|(_, n)| load(n) > 0)
                .map(|(c, n)| (c.as_str(), load(n)))
                .collect(),
            lag_p50: self.lag.quantile(0.5),
            lag_p99: self.lag.quantile(0.99),
            lag_max: self.lag.quantile(1.0),
        }
    }

    fn started(&self, lag: Duration) {
        self.started.fetch_add(1, Ordering::Relaxed);
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        self.lag.record(lag);
    }

    fn finished(&self, outcome: &PollOutcome) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
        let counter = match outcome.state {
            CheckState::Healthy => &self.healthy,
            CheckState::Degraded => &self.degraded,
            CheckState::Unhealthy => &self.unhealthy,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let CheckHint::Failed { error_class, .. } = &outcome.outcome.state_hint {
            if let Some(i) = CLASSES.iter().position(|c| c == error_class) {
                self.failures[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The poller

enum Command {
    Pause(u32),
    Resume(u32),
    Reload(Vec<PollTarget>),
}

/// Controls a running poller. Cheap to clone; commands sent after the poller stopped are
/// dropped (the methods return `false`).
#[derive(Debug, Clone)]
pub struct PollerHandle {
    commands: mpsc::UnboundedSender<Command>,
    stats: Arc<PollStats>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Pause(id) => write!(f, "Pause({id})"),
            Command::Resume(id) => write!(f, "Resume({id})"),
            Command::Reload(t) => write!(f, "Reload({} partners)", t.len()),
        }
    }
}

impl PollerHandle {
    /// Stops checking a partner (a check in flight finishes and is reported).
    pub fn pause(&self, partner_id: u32) -> bool {
        self.commands.send(Command::Pause(partner_id)).is_ok()
    }

    /// Checks a paused partner again, starting now.
    pub fn resume(&self, partner_id: u32) -> bool {
        self.commands.send(Command::Resume(partner_id)).is_ok()
    }

    /// Replaces the set of partners: new ones are scheduled, missing ones dropped, changed
    /// ones get a new connector (and a new schedule when their interval changed).
    pub fn reload(&self, targets: Vec<PollTarget>) -> bool {
        self.commands.send(Command::Reload(targets)).is_ok()
    }

    pub fn stats(&self) -> &Arc<PollStats> {
        &self.stats
    }

    pub fn summary(&self) -> PollSummary {
        self.stats.summary()
    }
}

/// Polls partners' health on their schedules; see the module documentation.
pub struct HealthPoller {
    config: PollerConfig,
    factory: Arc<dyn ConnectorFactory>,
    sink: Arc<dyn OutcomeSink>,
    clock: Arc<dyn Clock>,
    commands: mpsc::UnboundedReceiver<Command>,
    stats: Arc<PollStats>,
}

impl HealthPoller {
    pub fn new(
        config: PollerConfig,
        factory: Arc<dyn ConnectorFactory>,
        sink: Arc<dyn OutcomeSink>,
        clock: Arc<dyn Clock>,
    ) -> (HealthPoller, PollerHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(PollStats::default());
        let handle = PollerHandle {
            commands: tx,
            stats: stats.clone(),
        };
        let poller = HealthPoller {
            config,
            factory,
            sink,
            clock,
            commands: rx,
            stats,
        };
        (poller, handle)
    }

    /// Polls `targets` until `cancel` fires; returns the run's summary.
    pub async fn run(self, targets: Vec<PollTarget>, cancel: CancellationToken) -> PollSummary {
        self.drive(targets, cancel, false).await
    }

    /// Checks every target once (all due now, bounded by the concurrency limit) and returns
    /// when every check has been reported, or when `cancel` fires.
    pub async fn run_once(
        self,
        targets: Vec<PollTarget>,
        cancel: CancellationToken,
    ) -> PollSummary {
        self.drive(targets, cancel, true).await
    }

    async fn drive(
        self,
        targets: Vec<PollTarget>,
        cancel: CancellationToken,
        once: bool,
    ) -> PollSummary {
        let HealthPoller {
            config,
            factory,
            sink,
            clock,
            mut commands,
            stats,
        } = self;
        let rng = match config.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let mut driver = Driver {
            semaphore: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            factory,
            sink,
            clock,
            stats: stats.clone(),
            slots: HashMap::with_capacity(targets.len()),
            heap: BinaryHeap::with_capacity(targets.len()),
            tasks: JoinSet::new(),
            task_partner: HashMap::new(),
            rng,
            once,
        };
        let now = Instant::now();
        for target in targets {
            driver.add(target, now);
        }
        tracing::info!(partners = driver.slots.len(), once, "health poller started");
        let mut commands_open = true;
        let far = || Instant::now() + Duration::from_secs(86_400 * 365);
        let sleep = tokio::time::sleep_until(far());
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            if once && driver.heap.is_empty() && driver.tasks.is_empty() {
                break;
            }
            let next = driver.heap.peek().map(|Reverse((at, _, _))| *at);
            if next != armed {
                sleep.as_mut().reset(next.unwrap_or_else(far));
                armed = next;
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                command = commands.recv(), if commands_open => match command {
                    Some(command) => driver.apply(command),
                    None => commands_open = false,
                },
                Some(done) = driver.tasks.join_next_with_id(), if !driver.tasks.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(e) => {
                            tracing::error!(error = %e, "a health check task failed");
                            e.id()
                        }
                    };
                    driver.finished(id);
                }
                () = &mut sleep, if next.is_some() => {
                    armed = None;
                    driver.fire_due(Instant::now());
                }
            }
        }
        driver.tasks.abort_all();
        while driver.tasks.join_next().await.is_some() {}
        let summary = stats.summary();
        tracing::info!(
            checks = summary.checks_done,
            skipped_busy = summary.skipped_busy,
            "health poller stopped"
        );
        summary
    }
}

struct Slot {
    target: PollTarget,
    connector: Result<Arc<dyn Integration>, IntegrationError>,
    interval: Duration,
    timeout: Duration,
    paused: bool,
    in_flight: bool,
    generation: u64,
}

struct Driver {
    config: PollerConfig,
    factory: Arc<dyn ConnectorFactory>,
    sink: Arc<dyn OutcomeSink>,
    clock: Arc<dyn Clock>,
    stats: Arc<PollStats>,
    semaphore: Arc<Semaphore>,
    /// Boxed: a slot is some 450 bytes, and a map of them inline would hold a power of two
    /// of them (16,384 for 10,000 partners), twice that while it grows.
    slots: HashMap<u32, Box<Slot>>,
    /// Due times; an entry whose generation is not its slot's is stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, u32, u64)>>,
    tasks: JoinSet<()>,
    task_partner: HashMap<tokio::task::Id, u32>,
    rng: fastrand::Rng,
    once: bool,
}

impl Driver {
    fn build(&self, target: &PollTarget) -> Result<Arc<dyn Integration>, IntegrationError> {
        let built = self.factory.build(target);
        if let Err(e) = &built {
            tracing::warn!(
                partner = %target.partner.name,
                error_class = %e.class,
                "no connector for the partner; its checks fail until it changes"
            );
        }
        built
    }

    fn jittered(&mut self, interval: Duration) -> Duration {
        let spread = self.config.jitter.clamp(0.0, 0.9);
        interval.mul_f64(1.0 + spread * (self.rng.f64() * 2.0 - 1.0))
    }

    fn first_due(&mut self, interval: Duration, now: Instant) -> Instant {
        if self.once {
            now
        } else {
            now + interval.mul_f64(self.rng.f64())
        }
    }

    fn add(&mut self, target: PollTarget, now: Instant) {
        let id = target.partner.id;
        let connector = self.build(&target);
        let interval = target.interval();
        let due = self.first_due(interval, now);
        let slot = Slot {
            interval,
            timeout: target.timeout(),
            target,
            connector,
            paused: false,
            in_flight: false,
            generation: 0,
        };
        self.slots.insert(id, Box::new(slot));
        self.heap.push(Reverse((due, id, 0)));
    }

    fn apply(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Pause(id) => {
                if let Some(slot) = self.slots.get_mut(&id) {
                    if !slot.paused {
                        slot.paused = true;
                        slot.generation += 1;
                        tracing::info!(partner = %slot.target.partner.name, "polling paused");
                    }
                }
            }
            Command::Resume(id) => {
                if let Some(slot) = self.slots.get_mut(&id) {
                    if slot.paused {
                        slot.paused = false;
                        slot.generation += 1;
                        self.heap.push(Reverse((now, id, slot.generation)));
                        tracing::info!(partner = %slot.target.partner.name, "polling resumed");
                    }
                }
            }
            Command::Reload(targets) => self.reload(targets, now),
        }
    }

    fn reload(&mut self, targets: Vec<PollTarget>, now: Instant) {
        let keep: std::collections::HashSet<u32> = targets.iter().map(|t| t.partner.id).collect();
        let before = self.slots.len();
        self.slots.retain(|id, _| keep.contains(id));
        let removed = before - self.slots.len();
        let (mut added, mut changed) = (0usize, 0usize);
        for target in targets {
            let id = target.partner.id;
            let Some(slot) = self.slots.get(&id) else {
                self.add(target, now);
                added += 1;
                continue;
            };
            if slot.target == target {
                continue;
            }
            changed += 1;
            let connector = self.build(&target);
            let interval = target.interval();
            let reschedule = interval != slot.interval;
            let due = self.first_due(interval, now);
            let Some(slot) = self.slots.get_mut(&id) else {
                continue;
            };
            slot.connector = connector;
            slot.timeout = target.timeout();
            slot.interval = interval;
            slot.target = target;
            if reschedule && !slot.paused {
                slot.generation += 1;
                self.heap.push(Reverse((due, id, slot.generation)));
            }
        }
        // Drop stale heap entries of removed partners now rather than when they come due.
        if removed > 0 {
            let slots = &self.slots;
            self.heap
                .retain(|Reverse((_, id, g))| slots.get(id).is_some_and(|s| s.generation == *g));
        }
        tracing::info!(
            partners = self.slots.len(),
            added,
            removed,
            changed,
            "poller reloaded"
        );
    }

    fn finished(&mut self, task: tokio::task::Id) {
        if let Some(id) = self.task_partner.remove(&task) {
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.in_flight = false;
            }
        }
    }

    fn fire_due(&mut self, now: Instant) {
        while let Some(Reverse((due, id, generation))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(slot) = self.slots.get(&id) else {
                continue;
            };
            if slot.generation != generation || slot.paused {
                continue;
            }
            let interval = slot.interval;
            if !self.once {
                let mut next = due + self.jittered(interval);
                if next <= now {
                    // The driver fell more than an interval behind: restart the cadence.
                    next = now + self.jittered(interval);
                }
                self.heap.push(Reverse((next, id, generation)));
            }
            let Some(slot) = self.slots.get_mut(&id) else {
                continue;
            };
            if slot.in_flight {
                self.stats.skipped_busy.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    partner = %slot.target.partner.name,
                    "previous check still running; this turn is skipped"
                );
                continue;
            }
            slot.in_flight = true;
            let check = CheckTask {
                partner_id: id,
                partner: slot.target.partner.name.clone(),
                connector: slot.connector.clone(),
                limit: slot.timeout + self.config.timeout_grace,
                due,
                semaphore: self.semaphore.clone(),
                sink: self.sink.clone(),
                clock: self.clock.clone(),
                stats: self.stats.clone(),
            };
            let handle = self.tasks.spawn(check.run());
            self.task_partner.insert(handle.id(), id);
        }
    }
}

struct CheckTask {
    partner_id: u32,
    partner: String,
    connector: Result<Arc<dyn Integration>, IntegrationError>,
    limit: Duration,
    due: Instant,
    semaphore: Arc<Semaphore>,
    sink: Arc<dyn OutcomeSink>,
    clock: Arc<dyn Clock>,
    stats: Arc<PollStats>,
}

impl CheckTask {
    async fn run(self) {
        let Ok(_permit) = self.semaphore.acquire_owned().await else {
            return;
        };
        let started = Instant::now();
        let lag = started.saturating_duration_since(self.due);
        self.stats.started(lag);
        let at = self.clock.now();
        let check = match &self.connector {
            Ok(connector) => {
                match tokio::time::timeout(self.limit, connector.test_connection()).await {
                    Ok(check) => check,
                    Err(_) => ConnectionCheck {
                        state: CheckState::Unhealthy,
                        latency_ms: u64::try_from(self.limit.as_millis()).unwrap_or(u64::MAX),
                        error: Some(IntegrationError::new(
                            ErrorClass::TimedOut,
                            format!(
                                "{}: no answer to the health check within {} ms",
                                self.partner,
                                self.limit.as_millis()
                            ),
                        )),
                        capabilities: Vec::new(),
                    },
                }
            }
            Err(e) => ConnectionCheck {
                state: CheckState::Unhealthy,
                latency_ms: 0,
                error: Some(e.clone()),
                capabilities: Vec::new(),
            },
        };
        let outcome = PollOutcome {
            partner_id: self.partner_id,
            partner: self.partner,
            outcome: check_outcome(at, &check),
            state: check.state,
            lag,
        };
        tracing::debug!(
            partner = %outcome.partner,
            state = ?outcome.state,
            latency_ms = outcome.outcome.latency_ms,
            lag_ms = lag.as_millis() as u64,
            "health check done"
        );
        self.stats.finished(&outcome);
        self.sink.record(outcome);
    }
}

// ---------------------------------------------------------------------------------------
// The adapter to the core's health writer

/// What the writer thread did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriterTotals {
    pub outcomes: u64,
    pub batches: u64,
    pub transitions: u64,
    pub failed_batches: u64,
}

/// An [`OutcomeSink`] that hands outcomes to one writer thread owning a [`HealthWriter`]; the
/// thread records them in batches (up to `max_batch` outcomes or `max_delay`, whichever comes
/// first) and gives each batch's transitions to a callback (notifications, UI events). Every
/// hour (the first time five minutes after it starts) the thread also runs the history's
/// retention ([`HealthWriter::run_retention`] with the workspace's
/// [`HealthWriter::configured_retention`], read again each time). The failure and recovery
/// thresholds come from the workspace's settings ([`HealthPolicy::configured`]), read when the
/// thread starts and again with each maintenance pass (every `maintenance_every`).
///
/// Outcomes wait in a queue under a mutex. The writer is woken when the queue stops being
/// empty (which starts a batch's `max_delay`), when it holds `max_batch`, and when the last
/// sink is dropped: not for every outcome, so a batch costs the writer one wake-up, not one
/// per check.
pub struct HealthWriterSink {
    queue: Arc<OutcomeQueue>,
}

impl std::fmt::Debug for HealthWriterSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthWriterSink").finish_non_exhaustive()
    }
}

/// The outcomes between the sinks and the writer thread.
struct OutcomeQueue {
    state: std::sync::Mutex<QueueState>,
    ready: std::sync::Condvar,
    max_batch: usize,
}

struct QueueState {
    outcomes: Vec<PartnerOutcome>,
    /// Live [`HealthWriterSink`]s; the writer finishes when none is left and the queue is empty.
    sinks: usize,
    /// The writer thread has ended (or panicked): outcomes have nowhere to go.
    closed: bool,
}

/// Marks the queue closed when the writer thread ends, however it ends.
struct CloseOnDrop(Arc<OutcomeQueue>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.closed = true;
        state.outcomes = Vec::new();
    }
}

impl OutcomeQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // A panic while holding the lock leaves a queue that is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the next batch into `into`: blocks until an outcome comes, then until
    /// `max_batch` are there, `max_delay` has passed or every sink is gone. False once every
    /// sink is gone and nothing is left.
    fn next_batch(&self, max_delay: Duration, into: &mut Vec<PartnerOutcome>) -> bool {
        let mut state = self.lock();
        while state.outcomes.is_empty() && state.sinks > 0 {
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if state.outcomes.is_empty() {
            return false;
        }
        let deadline = std::time::Instant::now() + max_delay;
        while state.outcomes.len() < self.max_batch && state.sinks > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .ready
                .wait_timeout(state, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        let take = state.outcomes.len().min(self.max_batch);
        into.extend(state.outcomes.drain(..take));
        true
    }
}

impl Clone for HealthWriterSink {
    fn clone(&self) -> Self {
        self.queue.lock().sinks += 1;
        HealthWriterSink {
            queue: self.queue.clone(),
        }
    }
}

impl Drop for HealthWriterSink {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.sinks -= 1;
        if state.sinks == 0 {
            self.queue.ready.notify_one();
        }
    }
}

/// The writer thread; [`WriterThread::finish`] waits for it once every sink is dropped.
#[derive(Debug)]
pub struct WriterThread {
    join: std::thread::JoinHandle<WriterTotals>,
}

impl WriterThread {
    /// Waits until every outcome sent is recorded (all [`HealthWriterSink`]s must be dropped).
    pub fn finish(self) -> WriterTotals {
        self.join.join().unwrap_or_else(|_| {
            tracing::error!("the health writer thread panicked");
            WriterTotals::default()
        })
    }
}

/// Batching knobs of [`HealthWriterSink`].
#[derive(Debug, Clone, Copy)]
pub struct WriterBatching {
    pub max_batch: usize,
    pub max_delay: Duration,
    /// How often the writer applies maintenance windows that opened or closed.
    pub maintenance_every: Duration,
}

impl Default for WriterBatching {
    fn default() -> Self {
        WriterBatching {
            max_batch: 2_000,
            max_delay: Duration::from_millis(250),
            maintenance_every: Duration::from_secs(30),
        }
    }
}

/// When the writer thread first runs the retention, and how often after that.
const RETENTION_FIRST: Duration = Duration::from_secs(5 * 60);
const RETENTION_EVERY: Duration = Duration::from_secs(60 * 60);

impl HealthWriterSink {
    /// Starts the writer thread.
    pub fn spawn(
        mut writer: HealthWriter,
        clock: Arc<dyn Clock>,
        batching: WriterBatching,
        mut on_transitions: impl FnMut(Vec<PartnerTransition>) + Send + 'static,
    ) -> std::io::Result<(HealthWriterSink, WriterThread)> {
        let queue = Arc::new(OutcomeQueue {
            state: std::sync::Mutex::new(QueueState {
                outcomes: Vec::new(),
                sinks: 1,
                closed: false,
            }),
            ready: std::sync::Condvar::new(),
            max_batch: batching.max_batch.max(1),
        });
        let writer_queue = queue.clone();
        let join = std::thread::Builder::new()
            .name("health-writer".into())
            .spawn(move || {
                let _close = CloseOnDrop(writer_queue.clone());
                let queue = writer_queue;
                let mut totals = WriterTotals::default();
                let mut last_maintenance = std::time::Instant::now();
                let mut next_retention = std::time::Instant::now() + RETENTION_FIRST;
                let mut batch: Vec<PartnerOutcome> = Vec::new();
                writer = with_configured_policy(writer);
                while queue.next_batch(batching.max_delay, &mut batch) {
                    let mut transitions = match writer.record(&batch) {
                        Ok(t) => {
                            totals.outcomes += batch.len() as u64;
                            totals.batches += 1;
                            t
                        }
                        Err(e) => {
                            totals.failed_batches += 1;
                            tracing::error!(error = %e, outcomes = batch.len(), "health outcomes not recorded");
                            Vec::new()
                        }
                    };
                    batch.clear();
                    if last_maintenance.elapsed() >= batching.maintenance_every {
                        last_maintenance = std::time::Instant::now();
                        writer = with_configured_policy(writer);
                        match writer.sync_maintenance(clock.now()) {
                            Ok(t) => transitions.extend(t),
                            Err(e) => tracing::error!(error = %e, "maintenance windows not applied"),
                        }
                    }
                    if !transitions.is_empty() {
                        totals.transitions += transitions.len() as u64;
                        on_transitions(transitions);
                    }
                    if std::time::Instant::now() >= next_retention {
                        next_retention = std::time::Instant::now() + RETENTION_EVERY;
                        let retention = writer.configured_retention().unwrap_or_else(|e| {
                            tracing::error!(error = %e, "history settings not read; defaults kept");
                            Retention::default()
                        });
                        if let Err(e) = writer.run_retention(clock.now(), &retention) {
                            tracing::error!(error = %e, "health history retention failed");
                        }
                    }
                }
                totals
            })?;
        Ok((HealthWriterSink { queue }, WriterThread { join }))
    }
}

/// The writer with the thresholds the workspace's settings ask for now; on a read error it
/// keeps the ones it has (logged).
fn with_configured_policy(writer: HealthWriter) -> HealthWriter {
    match HealthPolicy::configured(writer.store().conn()) {
        Ok(policy) => writer.with_policy(policy),
        Err(e) => {
            tracing::error!(error = %e, "health threshold settings not read; thresholds kept");
            writer
        }
    }
}

impl OutcomeSink for HealthWriterSink {
    fn record(&self, outcome: PollOutcome) {
        let mut state = self.queue.lock();
        if state.closed {
            drop(state);
            tracing::error!("the health writer has stopped; an outcome is lost");
            return;
        }
        state.outcomes.push(PartnerOutcome {
            partner_id: outcome.partner_id,
            outcome: outcome.outcome,
        });
        let queued = state.outcomes.len();
        drop(state);
        // The writer waits for the first outcome of a batch, or for a full batch.
        if queued == 1 || queued == self.queue.max_batch {
            self.queue.ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_records_every_outcome_in_batches_and_stops_with_the_last_sink() {
        use ecosystem_core::{FixedClock, NewPartner, PartnerKind, Registry, Store};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ecosystem.db");
        let t0 = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(t0));
        let mut registry = Registry::new(Store::open(&db).unwrap(), "tester", clock.clone());
        let ids: Vec<u32> = (0..3)
            .map(|i| {
                let new = NewPartner::new(format!("p{i}"), PartnerKind::Http, "https://p.example");
                registry.add_partner(&new).unwrap().id
            })
            .collect();
        let batching = WriterBatching {
            max_batch: 4,
            max_delay: Duration::from_secs(3_600),
            ..WriterBatching::default()
        };
        let writer = HealthWriter::new(Store::open(&db).unwrap());
        let (sink, thread) = HealthWriterSink::spawn(writer, clock, batching, |_| {}).unwrap();
        let other = sink.clone();
        for k in 0..10u32 {
            let partner_id = ids[k as usize % ids.len()];
            let outcome = PollOutcome {
                partner_id,
                partner: String::new(),
                outcome: CheckOutcome {
                    at: t0 + chrono::Duration::seconds(i64::from(k)),
                    state_hint: CheckHint::Ok,
                    latency_ms: 20,
                },
                state: CheckState::Healthy,
                lag: Duration::ZERO,
            };
            if k % 2 == 0 { &sink } else { &other }.record(outcome);
        }
        drop(sink);
        drop(other);
        // Full batches of 4 go at once; the last 2 when the last sink goes, not after the
        // hour-long delay.
        let totals = thread.finish();
        assert_eq!(totals.outcomes, 10);
        assert!(totals.batches >= 3, "{totals:?}");
        let stored: i64 = registry
            .store()
            .conn()
            .query_row("SELECT count(*) FROM health_samples", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 10);
    }

    #[test]
    fn lag_buckets_are_ordered_and_hold_their_values() {
        let mut last = 0;
        for v in [
            0u64, 1, 63, 64, 65, 127, 128, 1_000, 65_432, 1_000_000, 30_000_000,
        ] {
            let b = bucket_of(v);
            assert!(b >= last, "bucket of {v} goes backwards");
            assert!(bucket_upper(b) >= v, "bucket {b} upper bound is below {v}");
            assert!(
                bucket_upper(b) as f64 <= v as f64 * 1.04 + 1.0,
                "bucket {b} of {v} is too coarse"
            );
            last = b;
        }
    }

    #[test]
    fn lag_quantiles_come_from_the_recorded_values() {
        let h = LagHistogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.quantile(0.5).as_millis();
        let p99 = h.quantile(0.99).as_millis();
        assert!((49..=52).contains(&p50), "p50 was {p50} ms");
        assert!((98..=101).contains(&p99), "p99 was {p99} ms");
    }
}
