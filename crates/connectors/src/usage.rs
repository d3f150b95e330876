//! Usage collection: each partner platform's own figures ([`Integration::collect_metrics`]) and
//! Ecosystem's own counters of its calls to each partner, stored per UTC day through
//! [`ecosystem_core::usage`].
//!
//! **Ecosystem's counters.** Every [`PartnerHttp`](crate::http::PartnerHttp) counts each
//! attempt it sends in the process-wide [`CallCounters`] of its partner (atomics, taken by name
//! once when the partner's HTTP access is built): calls, failed calls, latency (sum, in ms) and
//! bytes sent and received. [`flush_call_counts`] takes the counts accumulated since the last
//! flush and **adds** them to the day of the flush as `ecosystem.*` metrics; a process that
//! makes calls flushes them (`ecosystem poll` every minute, every CLI command once at its end,
//! [`spawn_usage_service`] every minute).
//!
//! **Collections.** [`collect`] asks each target partner's connector for its figures over a
//! window, converts them ([`ecosystem_core::usage::from_figures`]) and stores them with
//! [`record_collection`], which replaces the window's days (collecting twice never doubles).
//! Partners are collected concurrently (at most [`CollectPolicy::concurrency`] at once); one
//! partner's failure is reported and recorded in its collection state, and the others go on.
//!
//! **The window.** By default a partner is collected from [`CollectPolicy::overlap_days`] days
//! before its last collected day (platforms publish late: Snowflake's ACCOUNT_USAGE lags up to
//! 3 hours, Datadog's estimated cost up to 72 hours), and never more than
//! [`CollectPolicy::max_days`] days back, up to now.
//!
//! **The daily schedule.** [`collect_due`] collects the partners that are due: active, not
//! paused, not yet collected successfully today (UTC), and not tried within
//! [`CollectPolicy::retry_after`]. [`spawn_usage_service`] runs it on a thread of its own at
//! start and then every [`ServiceTimes::check_every`], and flushes the call counters, until
//! cancelled; `ecosystem poll` runs it, and the desktop app can.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ecosystem_core::integration::{Integration, IntegrationError, IntegrationResult, UsageFigure};
use ecosystem_core::usage::{
    self, day_of, day_start, record_collection, record_collection_failure, DayRange, Measurement,
    MetricSource, RecordSummary,
};
use ecosystem_core::{Clock, Error, PartnerKind, Registry, Result, Store};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::check::options_for;
use crate::factory::connector_for;
use crate::poller::PollTarget;

// ---- Ecosystem's own counters ------------------------------------------------------------------

/// One partner's call counters since the last flush. Updated with relaxed atomic adds: the
/// counts are totals, read only when flushed.
#[derive(Debug, Default)]
pub struct CallCounters {
    calls: AtomicU64,
    errors: AtomicU64,
    latency_ms: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// The counts taken from [`CallCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    pub calls: u64,
    pub errors: u64,
    pub latency_ms: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl CallCounters {
    /// Counts one attempt sent to the partner.
    pub fn record(&self, latency: Duration, sent: u64, received: u64, failed: bool) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(u64::from(failed), Ordering::Relaxed);
        self.latency_ms.fetch_add(ms, Ordering::Relaxed);
        self.bytes_sent.fetch_add(sent, Ordering::Relaxed);
        self.bytes_received.fetch_add(received, Ordering::Relaxed);
    }

    /// Counts an answer that turned out to be unusable (its call was counted when it was sent).
    pub fn record_failure(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    fn take(&self) -> CallCounts {
        CallCounts {
            calls: self.calls.swap(0, Ordering::Relaxed),
            errors: self.errors.swap(0, Ordering::Relaxed),
            latency_ms: self.latency_ms.swap(0, Ordering::Relaxed),
            bytes_sent: self.bytes_sent.swap(0, Ordering::Relaxed),
            bytes_received: self.bytes_received.swap(0, Ordering::Relaxed),
        }
    }

    fn peek(&self) -> CallCounts {
        CallCounts {
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            latency_ms: self.latency_ms.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }

    /// Puts counts back (a flush that could not be stored).
    fn restore(&self, c: CallCounts) {
        self.calls.fetch_add(c.calls, Ordering::Relaxed);
        self.errors.fetch_add(c.errors, Ordering::Relaxed);
        self.latency_ms.fetch_add(c.latency_ms, Ordering::Relaxed);
        self.bytes_sent.fetch_add(c.bytes_sent, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(c.bytes_received, Ordering::Relaxed);
    }
}

impl CallCounts {
    pub fn is_empty(&self) -> bool {
        *self == CallCounts::default()
    }

    /// The counts as `ecosystem.*` measurements on `day`: calls (attempts sent), errors
    /// (attempts that failed, or whose 2xx answer was unusable), latency_ms (the sum; mean =
    /// latency_ms / calls), bytes_sent, bytes_received (bodies).
    pub fn measurements(&self, day: i64) -> Vec<Measurement> {
        let m = |name: &str, unit: &str, value: u64| {
            Measurement::new(name, unit, MetricSource::Ecosystem, day, value as f64)
        };
        vec![
            m(ECOSYSTEM_CALLS, "calls", self.calls),
            m(ECOSYSTEM_ERRORS, "calls", self.errors),
            m(ECOSYSTEM_LATENCY, "ms", self.latency_ms),
            m(ECOSYSTEM_BYTES_SENT, "bytes", self.bytes_sent),
            m(ECOSYSTEM_BYTES_RECEIVED, "bytes", self.bytes_received),
        ]
    }
}

pub const ECOSYSTEM_CALLS: &str = "ecosystem.calls";
pub const ECOSYSTEM_ERRORS: &str = "ecosystem.errors";
pub const ECOSYSTEM_LATENCY: &str = "ecosystem.latency_ms";
pub const ECOSYSTEM_BYTES_SENT: &str = "ecosystem.bytes_sent";
pub const ECOSYSTEM_BYTES_RECEIVED: &str = "ecosystem.bytes_received";

type CounterMap = Mutex<HashMap<String, Arc<CallCounters>>>;

fn counter_map() -> &'static CounterMap {
    static COUNTERS: OnceLock<CounterMap> = OnceLock::new();
    COUNTERS.get_or_init(Default::default)
}

fn lock_counters() -> std::sync::MutexGuard<'static, HashMap<String, Arc<CallCounters>>> {
    counter_map()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The counters of the partner named `partner` in this process (created on first use).
pub fn counters_for(partner: &str) -> Arc<CallCounters> {
    lock_counters()
        .entry(partner.to_string())
        .or_default()
        .clone()
}

/// The counts accumulated since the last flush, without taking them.
pub fn peek_call_counts(partner: &str) -> CallCounts {
    lock_counters()
        .get(partner)
        .map(|c| c.peek())
        .unwrap_or_default()
}

/// What [`flush_call_counts`] stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlushReport {
    /// Partners whose counts were stored.
    pub partners: usize,
    pub calls: u64,
    /// Counts of partners no longer in the registry (dropped).
    pub unknown: Vec<String>,
}

/// Takes every partner's counts and **adds** them to the day of `at` as `ecosystem.*` metrics,
/// one transaction per partner. Counts that cannot be stored are put back for the next flush;
/// counts of names the registry does not know (removed partners, tests) are dropped.
pub fn flush_call_counts(store: &Store, at: DateTime<Utc>) -> Result<FlushReport> {
    let conn = store.conn();
    let counters: Vec<(String, Arc<CallCounters>)> = lock_counters()
        .iter()
        .map(|(name, c)| (name.clone(), c.clone()))
        .collect();
    let mut report = FlushReport::default();
    let day = day_of(at);
    let mut first_error = None;
    for (name, counter) in counters {
        let counts = counter.take();
        if counts.is_empty() {
            continue;
        }
        let id = match usage::partner_id(conn, &name) {
            Ok(Some(id)) => id,
            Ok(None) => {
                tracing::debug!(partner = %name, "call counts of an unknown partner dropped");
                report.unknown.push(name);
                continue;
            }
            Err(e) => {
                counter.restore(counts);
                first_error.get_or_insert(e);
                continue;
            }
        };
        match usage::add_usage(conn, id, &counts.measurements(day), at) {
            Ok(_) => {
                report.partners += 1;
                report.calls += counts.calls;
            }
            Err(e) => {
                tracing::warn!(partner = %name, error = %e, "call counts not stored; kept for the next flush");
                counter.restore(counts);
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

// ---- per-day figures for connectors ------------------------------------------------------------

/// `t` without its sub-millisecond part: platforms that filter by epoch milliseconds and the
/// figures built from their answers then agree on the window's edges.
pub fn whole_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// The parts of `[from, to)` in each UTC day it touches, in order (nothing when it is empty).
pub fn day_slices(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if to <= from {
        return Vec::new();
    }
    let days = DayRange::of_window(from, to);
    (days.first..=days.last)
        .map(|day| (from.max(day_start(day)), to.min(day_start(day + 1))))
        .collect()
}

/// One figure per UTC day of `[from, to)` counting the `times` in it (a day with none gets a
/// zero, so a re-collection clears a stale count); times outside the window are ignored.
pub fn daily_counts(
    metric: &str,
    unit: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    times: impl IntoIterator<Item = DateTime<Utc>>,
) -> Vec<UsageFigure> {
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    for t in times {
        if t >= from && t < to {
            *per_day.entry(day_of(t)).or_default() += 1;
        }
    }
    day_slices(from, to)
        .into_iter()
        .map(|(start, end)| UsageFigure {
            metric: metric.into(),
            unit: unit.into(),
            value: per_day.get(&day_of(start)).copied().unwrap_or(0) as f64,
            period_start: start,
            period_end: end,
            dimensions: BTreeMap::new(),
        })
        .collect()
}

// ---- collections -------------------------------------------------------------------------------

/// How collections are run.
#[derive(Debug, Clone)]
pub struct CollectPolicy {
    /// The furthest back a default window reaches, in days (today counts as one).
    pub max_days: u32,
    /// Days before the last collected day that a default window collects again (late data).
    pub overlap_days: u32,
    /// Partners collected at once.
    pub concurrency: usize,
    /// A whole collection of one partner is cut off after this long.
    pub partner_timeout: Duration,
    /// Each HTTP attempt may take at least this long (usage queries are slower than checks).
    pub min_call_timeout: Duration,
    /// A partner whose last attempt failed is not tried again by [`collect_due`] for this long.
    pub retry_after: Duration,
}

impl Default for CollectPolicy {
    fn default() -> Self {
        CollectPolicy {
            max_days: 30,
            overlap_days: 3,
            concurrency: 4,
            partner_timeout: Duration::from_secs(600),
            min_call_timeout: Duration::from_secs(30),
            retry_after: Duration::from_secs(3_600),
        }
    }
}

/// One partner to collect, and over which window.
#[derive(Debug, Clone)]
pub struct UsageTarget {
    pub target: PollTarget,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl UsageTarget {
    /// The days the window touches.
    pub fn days(&self) -> DayRange {
        DayRange::of_window(self.from, self.to)
    }
}

/// How one partner's collection went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerCollection {
    pub partner: String,
    pub partner_id: u32,
    pub kind: PartnerKind,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Platform figures received (before folding per day).
    pub figures: usize,
    /// (metric, day) values stored.
    pub records: usize,
    pub metrics: usize,
    /// Why it failed (one line); `None` when it succeeded.
    pub error: Option<String>,
    /// The error's class when the platform call failed (`timed_out`, `unexpected_response`...).
    pub error_class: Option<String>,
    pub elapsed_ms: u64,
}

impl PartnerCollection {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// What the progress callback is told.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A partner's collection started; `running` are in flight including it.
    Started {
        partner: &'a str,
        done: usize,
        total: usize,
        running: usize,
    },
    /// A partner's collection ended (stored or failed).
    Finished {
        result: &'a PartnerCollection,
        done: usize,
        total: usize,
    },
}

/// Builds the connector that collects a target's usage.
pub trait UsageConnectors: Send + Sync {
    fn build(&self, target: &PollTarget) -> IntegrationResult<Arc<dyn Integration>>;
}

/// The platform connectors, each call allowed at least [`CollectPolicy::min_call_timeout`].
#[derive(Debug, Clone)]
pub struct PlatformUsageConnectors {
    pub min_call_timeout: Duration,
}

impl UsageConnectors for PlatformUsageConnectors {
    fn build(&self, target: &PollTarget) -> IntegrationResult<Arc<dyn Integration>> {
        let mut options = options_for(&target.partner);
        options.policy.timeout = options.policy.timeout.max(self.min_call_timeout);
        options.stored_check = target.stored_check.clone();
        connector_for(&target.partner, target.credential.clone(), options).map(Arc::from)
    }
}

/// The window a partner is collected over by default: from `overlap_days` before its last
/// collected day (or `max_days - 1` days before today, whichever is later) to `now`.
pub fn default_window(
    last_day: Option<i64>,
    now: DateTime<Utc>,
    policy: &CollectPolicy,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = day_of(now);
    let earliest = today - i64::from(policy.max_days.max(1)) + 1;
    let first = match last_day {
        Some(last) => (last - i64::from(policy.overlap_days)).clamp(earliest, today),
        None => earliest,
    };
    (day_start(first), now)
}

/// The window of explicit dates `days`, ending at `now` at the latest; refused when it starts
/// after today.
pub fn window_of_days(
    days: DayRange,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    if days.first > day_of(now) {
        return Err(Error::invalid(
            "from",
            format!(
                "{} is in the future; usage can be collected up to today",
                usage::date_of(days.first)
            ),
        ));
    }
    Ok((days.start(), days.end().min(now)))
}

/// A partner with its credential and stored check, as the poller's targets are built. A
/// credential the keyring cannot give is logged and the partner taken without one (its
/// collection then says why).
pub fn target_of(registry: &Registry, name: &str) -> Result<PollTarget> {
    let partner = registry.partner(name)?;
    let credential = match registry.credential_meta(&partner.name)? {
        Some(_) => match registry.credential(&partner.name) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(partner = %partner.name, error = %e, "credential unavailable");
                None
            }
        },
        None => None,
    };
    let stored_check = if partner.kind == PartnerKind::Http {
        registry.custom_check(&partner.name)?
    } else {
        None
    };
    Ok(PollTarget {
        partner,
        credential,
        stored_check,
    })
}

/// The targets of a collection: `partner` alone (whatever its lifecycle), or every active,
/// unpaused partner; each over `days` when given, else over its default window.
pub fn plan(
    registry: &Registry,
    partner: Option<&str>,
    days: Option<DayRange>,
    now: DateTime<Utc>,
    policy: &CollectPolicy,
) -> Result<Vec<UsageTarget>> {
    let targets = match partner {
        Some(name) => vec![target_of(registry, name)?],
        None => crate::targets::load_targets(registry)?,
    };
    let explicit = days.map(|d| window_of_days(d, now)).transpose()?;
    let states = usage::collection_states(registry.store().conn())?;
    Ok(targets
        .into_iter()
        .map(|target| {
            let (from, to) = explicit.unwrap_or_else(|| {
                let last = states.get(&target.partner.id).and_then(|s| s.last_day);
                default_window(last, now, policy)
            });
            UsageTarget { target, from, to }
        })
        .collect())
}

/// The active, unpaused partners due for their daily collection at `now`: never collected, or
/// not collected successfully today (UTC) and not tried within `policy.retry_after`; each over
/// its default window.
pub fn due(
    registry: &Registry,
    now: DateTime<Utc>,
    policy: &CollectPolicy,
) -> Result<Vec<UsageTarget>> {
    let states = usage::collection_states(registry.store().conn())?;
    let retry_after =
        chrono::Duration::from_std(policy.retry_after).unwrap_or(chrono::Duration::hours(1));
    let today = day_of(now);
    Ok(plan(registry, None, None, now, policy)?
        .into_iter()
        .filter(|t| match states.get(&t.target.partner.id) {
            None => true,
            Some(state) => {
                let collected_today = state.collected_at.is_some_and(|c| day_of(c) >= today);
                let tried_recently = state.attempted_at + retry_after > now;
                !collected_today && !tried_recently
            }
        })
        .collect())
}

/// Collects every target (at most `policy.concurrency` at once) and stores each partner's
/// figures as soon as they arrive. Returns one result per target, in the order they finished.
/// Only a failure to read the registry is an error; a partner's failure is in its result (and
/// in its collection state).
pub async fn collect(
    store: &Store,
    targets: Vec<UsageTarget>,
    connectors: &dyn UsageConnectors,
    policy: &CollectPolicy,
    clock: &dyn Clock,
    mut progress: impl FnMut(Progress<'_>),
) -> Vec<PartnerCollection> {
    let total = targets.len();
    let mut queue = targets.into_iter();
    let mut running = tokio::task::JoinSet::new();
    let mut results = Vec::with_capacity(total);
    let limit = policy.concurrency.max(1);
    loop {
        while running.len() < limit {
            let Some(target) = queue.next() else { break };
            progress(Progress::Started {
                partner: &target.target.partner.name,
                done: results.len(),
                total,
                running: running.len() + 1,
            });
            let connector = connectors.build(&target.target);
            let timeout = policy.partner_timeout;
            running.spawn(async move {
                let started = tokio::time::Instant::now();
                let figures = match connector {
                    Ok(connector) => {
                        match tokio::time::timeout(
                            timeout,
                            connector.collect_metrics(target.from, target.to),
                        )
                        .await
                        {
                            Ok(result) => result,
                            Err(_) => Err(IntegrationError::new(
                                ecosystem_core::integration::ErrorClass::TimedOut,
                                format!(
                                    "{}: the usage collection took longer than {} s",
                                    target.target.partner.name,
                                    timeout.as_secs()
                                ),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                };
                (target, figures, started.elapsed())
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let result = match joined {
            Ok((target, figures, elapsed)) => store_one(store, &target, figures, elapsed, clock),
            Err(e) => {
                // A collection task panicked; its partner is unknown here, so it is only logged.
                tracing::error!(error = %e, "a usage collection task ended abnormally");
                continue;
            }
        };
        results.push(result);
        progress(Progress::Finished {
            result: results.last().expect("just pushed"),
            done: results.len(),
            total,
        });
    }
    results
}

/// Stores one partner's figures (or records its failure).
fn store_one(
    store: &Store,
    target: &UsageTarget,
    figures: IntegrationResult<Vec<UsageFigure>>,
    elapsed: Duration,
    clock: &dyn Clock,
) -> PartnerCollection {
    let partner = &target.target.partner;
    let mut result = PartnerCollection {
        partner: partner.name.clone(),
        partner_id: partner.id,
        kind: partner.kind,
        from: target.from,
        to: target.to,
        figures: 0,
        records: 0,
        metrics: 0,
        error: None,
        error_class: None,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    };
    let now = clock.now();
    let stored = match figures {
        Err(e) => {
            result.error_class = Some(e.class.as_str().to_string());
            Err(e.to_string())
        }
        Ok(figures) => {
            result.figures = figures.len();
            usage::from_figures(partner.kind, &figures)
                .and_then(|measurements| {
                    record_collection(store.conn(), partner.id, target.days(), &measurements, now)
                })
                .map_err(|e| format!("{}: {e}", partner.name))
        }
    };
    match stored {
        Ok(RecordSummary {
            records, metrics, ..
        }) => {
            result.records = records;
            result.metrics = metrics;
        }
        Err(message) => {
            if let Err(e) = record_collection_failure(store.conn(), partner.id, &message, now) {
                tracing::warn!(partner = %partner.name, error = %e, "the failed collection could not be recorded");
            }
            result.error = Some(one_line(&message));
        }
    }
    result
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collects, over its default window, every active partner due for its daily collection at
/// the registry clock's now (see [`due`]). The API the desktop app and `ecosystem poll` call.
pub async fn collect_due(
    registry: &Registry,
    connectors: &dyn UsageConnectors,
    policy: &CollectPolicy,
    progress: impl FnMut(Progress<'_>),
) -> Result<Vec<PartnerCollection>> {
    let now = registry.clock().now();
    let targets = due(registry, now, policy)?;
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    Ok(collect(
        registry.store(),
        targets,
        connectors,
        policy,
        registry.clock(),
        progress,
    )
    .await)
}

/// How often [`spawn_usage_service`] looks for due partners and flushes the call counters.
#[derive(Debug, Clone, Copy)]
pub struct ServiceTimes {
    /// Partners are collected once a day; this is how often the service asks who is due
    /// (a failed partner is retried after `retry_after`).
    pub check_every: Duration,
    pub flush_every: Duration,
}

impl Default for ServiceTimes {
    fn default() -> Self {
        ServiceTimes {
            check_every: Duration::from_secs(3_600),
            flush_every: Duration::from_secs(60),
        }
    }
}

/// Runs the daily collection on a thread of its own (its own registry on `db` and its own
/// runtime): [`collect_due`] at start and every `times.check_every`, and
/// [`flush_call_counts`] every `times.flush_every` and once more when `cancel` fires. Each
/// partner's result is handed to `report`. The thread ends soon after `cancel`.
pub fn spawn_usage_service(
    db: PathBuf,
    policy: CollectPolicy,
    times: ServiceTimes,
    cancel: CancellationToken,
    report: impl Fn(&PartnerCollection) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("usage".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the usage service cannot start its runtime");
                    return;
                }
            };
            let registry = match Registry::open(&db) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the usage service cannot open the database");
                    return;
                }
            };
            let connectors = PlatformUsageConnectors {
                min_call_timeout: policy.min_call_timeout,
            };
            runtime.block_on(async {
                let mut next_check = tokio::time::Instant::now();
                let mut flush = tokio::time::interval(times.flush_every);
                flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep_until(next_check) => {
                            let run = collect_due(&registry, &connectors, &policy, |p| {
                                if let Progress::Finished { result, .. } = p {
                                    report(result);
                                }
                            });
                            tokio::select! {
                                () = cancel.cancelled() => break,
                                outcome = run => if let Err(e) = outcome {
                                    tracing::warn!(error = %e, "usage collection could not run");
                                },
                            }
                            next_check = tokio::time::Instant::now() + times.check_every;
                        }
                        _ = flush.tick() => flush_logged(&registry),
                    }
                }
            });
            flush_logged(&registry);
        })
}

fn flush_logged(registry: &Registry) {
    if let Err(e) = flush_call_counts(registry.store(), registry.clock().now()) {
        tracing::warn!(error = %e, "call counts not stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    #[test]
    fn daily_counts_cover_every_day_of_the_window_with_zeros() {
        let figures = daily_counts(
            "runs_started",
            "runs",
            at("2026-11-18T12:00:00Z"),
            at("2026-11-20T06:00:00Z"),
            [
                at("2026-11-18T13:00:00Z"),
                at("2026-11-18T23:59:59Z"),
                at("2026-11-20T05:00:00Z"),
                at("2026-11-20T07:00:00Z"),
                at("2026-11-17T13:00:00Z"),
            ],
        );
        let got: Vec<_> = figures
            .iter()
            .map(|f| {
                (
                    f.period_start.to_rfc3339(),
                    f.period_end.to_rfc3339(),
                    f.value,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "2026-11-18T12:00:00+00:00".to_string(),
                    "2026-11-19T00:00:00+00:00".to_string(),
                    2.0
                ),
                (
                    "2026-11-19T00:00:00+00:00".to_string(),
                    "2026-11-20T00:00:00+00:00".to_string(),
                    0.0
                ),
                (
                    "2026-11-20T00:00:00+00:00".to_string(),
                    "2026-11-20T06:00:00+00:00".to_string(),
                    1.0
                ),
            ]
        );
    }

    #[test]
    fn the_default_window_overlaps_the_last_day_and_is_bounded() {
        let policy = CollectPolicy::default();
        let now = at("2026-11-20T10:00:00Z");
        let today = day_of(now);
        let (from, to) = default_window(None, now, &policy);
        assert_eq!(
            (day_of(from), to),
            (today - 29, now),
            "30 days, today included"
        );
        let (from, _) = default_window(Some(today - 1), now, &policy);
        assert_eq!(day_of(from), today - 4, "three days before the last one");
        let (from, _) = default_window(Some(today - 400), now, &policy);
        assert_eq!(day_of(from), today - 29, "never more than max_days");
        let (from, _) = default_window(Some(today), now, &policy);
        assert_eq!(day_of(from), today - 3);
        let days = DayRange::new(today - 2, today + 5).expect("range");
        assert_eq!(
            window_of_days(days, now).expect("window"),
            (day_start(today - 2), now),
            "ends at now"
        );
        let future = DayRange::new(today + 1, today + 2).expect("range");
        assert_eq!(
            window_of_days(future, now)
                .err()
                .and_then(|e| e.field().map(String::from)),
            Some("from".to_string())
        );
    }

    #[test]
    fn counters_are_taken_once_and_restored_when_not_stored() {
        let counters = counters_for("usage-unit-test-partner");
        counters.record(Duration::from_millis(12), 100, 2_000, false);
        counters.record(Duration::from_millis(30), 50, 10, true);
        let peeked = peek_call_counts("usage-unit-test-partner");
        assert_eq!(
            peeked,
            CallCounts {
                calls: 2,
                errors: 1,
                latency_ms: 42,
                bytes_sent: 150,
                bytes_received: 2_010
            }
        );
        let taken = counters.take();
        assert_eq!(taken, peeked);
        assert!(counters.peek().is_empty());
        counters.restore(taken);
        assert_eq!(counters.peek(), peeked);
        let names: Vec<_> = taken
            .measurements(7)
            .into_iter()
            .map(|m| m.metric)
            .collect();
        assert_eq!(
            names,
            [
                "ecosystem.calls",
                "ecosystem.errors",
                "ecosystem.latency_ms",
                "ecosystem.bytes_sent",
                "ecosystem.bytes_received"
            ]
        );
    }
}
