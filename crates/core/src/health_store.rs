//! Health history on the store: the batching writer ([`HealthWriter`]) that turns check
//! outcomes into states, samples, transitions and rollups, the retention job, and the
//! queries behind the health page and `ecosystem health` ([`HealthHistory`]).
//!
//! What is kept (migration 4, unix seconds UTC):
//! - `health_samples`: one row per check, `(partner_id, at)` primary key, WITHOUT ROWID, about
//!   20 bytes on disk. Short-lived: [`Retention::raw_sample_days`] (3 by default; the
//!   `history.raw_days` setting).
//! - `health_current`: each partner's state, since when and why, its counters and holds.
//! - `health_transitions`: every change of shown state, kept forever; uptime, incidents and
//!   SLA are computed from these, time-weighted, never from sample counts.
//! - `health_rollups`: per minute (kept 24 h), hour (90 days by default; the
//!   `history.hour_rollup_days` setting) and UTC day (kept), updated in
//!   the same transaction as the samples: checks, ok / degraded / failed counts, latency sum
//!   and max, and a histogram over [`LATENCY_BUCKETS_MS`]. Latency figures count successful
//!   checks only (ok or degraded): a timeout's latency is the timeout, not the platform's.
//!
//! One writer (the poller's writer task) owns a [`HealthWriter`] and its connection; readers
//! use their own connections and are not blocked by it (WAL).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::health::{
    apply_hold, apply_outcome, classify, is_accounted, is_up, CheckHint, CheckOutcome,
    HealthPolicy, HealthStatus, Hold, Transition, Verdict,
};
use crate::health_state::HealthState;
use crate::integration::ErrorClass;
use crate::maintenance::{all_windows, from_unix, windows_for, MaintenanceWindow};
use crate::model::Tier;
use crate::registry::Registry;
use crate::store::Store;

/// Upper bounds (inclusive, ms) of the latency histogram's bins; one more bin holds the rest.
/// The migration has one column per bin (`h0` .. `h12`).
pub const LATENCY_BUCKETS_MS: [u32; 12] = [
    25, 50, 100, 200, 300, 500, 750, 1_000, 2_000, 3_000, 5_000, 10_000,
];
const BINS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// Ranges up to this long are drawn from raw samples.
pub const SAMPLES_UP_TO: Duration = Duration::hours(36);
/// Ranges that start within this horizon use hour rollups; older ones use day rollups.
pub const HOUR_ROLLUPS_KEPT: Duration = Duration::days(90);

/// The resolution of a rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Minute => "minute",
            Resolution::Hour => "hour",
            Resolution::Day => "day",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3_600,
            Resolution::Day => 86_400,
        }
    }

    fn bucket(self, at: i64) -> i64 {
        at.div_euclid(self.seconds()) * self.seconds()
    }
}

/// What a stored check said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleOutcome {
    Ok,
    /// Degraded: slow (by the platform's word or the latency threshold).
    Slow,
    /// Degraded: a capability failing.
    CapabilityFailing,
    Failed,
}

/// One raw check as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub latency_ms: u32,
    pub outcome: SampleOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
}

// Outcome codes in `health_samples.outcome` (stable: never renumber). Failures are
// FAILED_BASE + the error class's code, so 0 and 1 (the common cases) take no bytes on disk.
const OUTCOME_OK: i64 = 0;
const OUTCOME_SLOW: i64 = 1;
const OUTCOME_CAPABILITY: i64 = 2;
const FAILED_BASE: i64 = 16;

fn error_class_code(class: ErrorClass) -> i64 {
    match class {
        ErrorClass::CredentialsRejected => 0,
        ErrorClass::NotFound => 1,
        ErrorClass::InvalidRequest => 2,
        ErrorClass::RateLimited => 3,
        ErrorClass::TimedOut => 4,
        ErrorClass::Unreachable => 5,
        ErrorClass::PlatformError => 6,
        ErrorClass::UnexpectedResponse => 7,
        ErrorClass::CircuitOpen => 8,
        ErrorClass::MissingCredential => 9,
    }
}

const ERROR_CLASSES: [ErrorClass; 10] = [
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

fn parse_error_class(text: &str) -> Option<ErrorClass> {
    ERROR_CLASSES.iter().copied().find(|c| c.as_str() == text)
}

fn decode_outcome(code: i64) -> (SampleOutcome, Option<ErrorClass>) {
    match code {
        OUTCOME_OK => (SampleOutcome::Ok, None),
        OUTCOME_SLOW => (SampleOutcome::Slow, None),
        OUTCOME_CAPABILITY => (SampleOutcome::CapabilityFailing, None),
        c => (
            SampleOutcome::Failed,
            usize::try_from(c - FAILED_BASE)
                .ok()
                .and_then(|i| ERROR_CLASSES.get(i).copied()),
        ),
    }
}

fn encode_outcome(outcome: &CheckOutcome, verdict: &Verdict) -> i64 {
    match (verdict, &outcome.state_hint) {
        (Verdict::Down { error_class, .. }, _) => FAILED_BASE + error_class_code(*error_class),
        (_, CheckHint::CapabilityFailing { .. }) => OUTCOME_CAPABILITY,
        (Verdict::Up { state, .. }, _) if *state == HealthState::Degraded => OUTCOME_SLOW,
        _ => OUTCOME_OK,
    }
}

fn state_word(text: &str) -> rusqlite::Result<HealthState> {
    text.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// One check of one partner, as the poller hands it to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerOutcome {
    pub partner_id: u32,
    pub outcome: CheckOutcome,
}

/// A transition the writer stored, with the partner's name for notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerTransition {
    pub partner_id: u32,
    pub partner: String,
    pub transition: Transition,
}

/// How long history is kept before the retention job removes it. Transitions and day
/// rollups are always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw_sample_days: u32,
    pub minute_rollup_hours: u32,
    pub hour_rollup_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_sample_days: 3,
            minute_rollup_hours: 24,
            hour_rollup_days: 90,
        }
    }
}

impl Retention {
    /// The retention the workspace settings describe (`history.raw_days`,
    /// `history.hour_rollup_days`, see [`crate::workspace::SETTINGS`]); absent settings take
    /// the defaults. A stored value out of range is an error naming the setting.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Retention> {
        let mut retention = Retention::default();
        for (key, value) in settings {
            let field = match key {
                "history.raw_days" => &mut retention.raw_sample_days,
                "history.hour_rollup_days" => &mut retention.hour_rollup_days,
                _ => continue,
            };
            crate::workspace::validate_setting(key, value)?;
            *field = value.parse().unwrap_or(*field);
        }
        Ok(retention)
    }
}

/// What a retention run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub samples_deleted: u64,
    pub minute_rollups_deleted: u64,
    pub hour_rollups_deleted: u64,
    /// Pages given back to the file system by `PRAGMA incremental_vacuum`.
    pub pages_freed: u64,
}

/// The counters of one rollup row being built.
#[derive(Debug, Clone, Copy, Default)]
struct RollupDelta {
    checks: i64,
    ok: i64,
    degraded: i64,
    failed: i64,
    latency_sum: i64,
    latency_max: i64,
    hist: [i64; BINS],
}

fn bin_of(latency_ms: u32) -> usize {
    LATENCY_BUCKETS_MS
        .iter()
        .position(|b| latency_ms <= *b)
        .unwrap_or(LATENCY_BUCKETS_MS.len())
}

fn hist_columns() -> Vec<String> {
    (0..BINS).map(|i| format!("h{i}")).collect()
}

/// Turns check outcomes into history, one transaction per batch. Owns its connection.
pub struct HealthWriter {
    store: Store,
    policy: HealthPolicy,
    /// Adds a batch's counts to an existing rollup row.
    update_rollup_sql: String,
    /// Inserts a rollup row that does not exist yet.
    insert_rollup_sql: String,
    cache: WriterCache,
}

/// A partner as the writer needs it during one batch.
struct PartnerRow {
    name: String,
    tier: Tier,
    status: HealthStatus,
    paused: bool,
    maintenance: bool,
    windows: Vec<MaintenanceWindow>,
    last_check: Option<(i64, u32, i64)>,
    /// Whether `health_current` has a row for the partner.
    stored: bool,
}

/// What the writer remembers between batches: each partner's row as it last stored it, and
/// the maintenance windows. Without it every outcome costs three lookups (partner, current
/// state, windows) before any write.
///
/// The cache is only trusted while nobody else has written: `PRAGMA data_version` changes
/// when another connection (the registry pausing a partner or adding a window, another
/// process) commits, and `total_changes` of the writer's own connection changes when
/// anything but the writer writes through it. Either empties the cache; so does a failed
/// batch. The check runs inside the batch's immediate transaction, so nothing can change
/// between the check and the writes.
#[derive(Default)]
struct WriterCache {
    /// Boxed, so the map itself stays small (a row is some 200 bytes).
    partners: HashMap<u32, Box<PartnerRow>>,
    windows: Option<Vec<MaintenanceWindow>>,
    data_version: Option<i64>,
    total_changes: u64,
}

impl WriterCache {
    fn clear(&mut self) {
        self.partners.clear();
        self.windows = None;
        self.data_version = None;
    }

    /// Empties the cache unless nothing but this writer has written since it was filled.
    fn validate(&mut self, conn: &Connection) -> Result<()> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.data_version != Some(version) || conn.total_changes() != self.total_changes {
            self.clear();
            self.data_version = Some(version);
        }
        Ok(())
    }

    /// After a write of the writer's own: the cache stays good if it was before.
    fn written(&mut self, conn: &Connection, was_valid: bool) {
        if was_valid {
            self.total_changes = conn.total_changes();
        } else {
            self.clear();
        }
    }

    fn windows(&mut self, conn: &Connection) -> Result<&[MaintenanceWindow]> {
        if self.windows.is_none() {
            self.windows = Some(all_windows(conn)?);
        }
        Ok(self.windows.as_deref().unwrap_or_default())
    }
}

/// The windows of `all` that apply to a partner (its own and the ones for every partner), in
/// the order [`windows_for`] gives them.
fn windows_of(all: &[MaintenanceWindow], partner_id: u32) -> Vec<MaintenanceWindow> {
    all.iter()
        .filter(|w| w.partner_id.is_none_or(|p| p == partner_id))
        .cloned()
        .collect()
}

/// Whether two statuses differ in more than the counters (which a check moves every time).
fn same_but_counters(a: &HealthStatus, b: &HealthStatus) -> bool {
    a.state == b.state
        && a.since == b.since
        && a.reason == b.reason
        && a.error_class == b.error_class
        && a.observed == b.observed
        && a.observed_reason == b.observed_reason
        && a.observed_error_class == b.observed_error_class
}

impl HealthWriter {
    pub fn new(store: Store) -> HealthWriter {
        let cols = hist_columns();
        // An update, then an insert when no row was there, rather than one upsert: an
        // `ON CONFLICT DO UPDATE` on this WITHOUT ROWID table (and any insert, for its
        // `resolution IN (...)` check) builds a temporary b-tree each time, and most checks
        // only add to rows that exist.
        let update_rollup_sql = format!(
            "UPDATE health_rollups SET checks = checks + ?4, ok = ok + ?5,
                 degraded = degraded + ?6, failed = failed + ?7,
                 latency_sum = latency_sum + ?8, latency_max = max(latency_max, ?9), {adds}
             WHERE partner_id = ?1 AND resolution = ?2 AND bucket = ?3",
            adds = cols
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = {c} + ?{}", i + 10))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let insert_rollup_sql = format!(
            "INSERT INTO health_rollups (partner_id, resolution, bucket, checks, ok, degraded, failed,
                 latency_sum, latency_max, {cols})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {vals})",
            cols = cols.join(", "),
            vals = (0..BINS)
                .map(|i| format!("?{}", i + 10))
                .collect::<Vec<_>>()
                .join(", "),
        );
        HealthWriter {
            store,
            policy: HealthPolicy::default(),
            update_rollup_sql,
            insert_rollup_sql,
            cache: WriterCache::default(),
        }
    }

    /// Uses other thresholds than the tier defaults.
    pub fn with_policy(mut self, policy: HealthPolicy) -> HealthWriter {
        self.policy = policy;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records a batch of outcomes: samples, rollups, each partner's state and the
    /// transitions, in one transaction. Returns the transitions in the order they happened
    /// per partner, for the caller to publish. Outcomes of partners that no longer exist are
    /// skipped (a partner removed while it was being checked).
    #[tracing::instrument(skip_all, fields(outcomes = batch.len()))]
    pub fn record(&mut self, batch: &[PartnerOutcome]) -> Result<Vec<PartnerTransition>> {
        let result = self.record_batch(batch);
        if result.is_err() {
            // Rows in the cache may hold what the rolled-back transaction did not keep.
            self.cache.clear();
        }
        result
    }

    fn record_batch(&mut self, batch: &[PartnerOutcome]) -> Result<Vec<PartnerTransition>> {
        let mut by_partner: BTreeMap<u32, Vec<&CheckOutcome>> = BTreeMap::new();
        for o in batch {
            by_partner.entry(o.partner_id).or_default().push(&o.outcome);
        }
        let policy = self.policy;
        let HealthWriter {
            store,
            update_rollup_sql,
            insert_rollup_sql,
            cache,
            ..
        } = self;
        let tx = store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        cache.validate(&tx)?;
        let mut produced = Vec::new();
        let mut rollups: HashMap<(u32, Resolution, i64), RollupDelta> = HashMap::new();
        let mut insert_sample = tx.prepare_cached(
            "INSERT OR IGNORE INTO health_samples (partner_id, at, latency_ms, outcome)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (partner_id, mut outcomes) in by_partner {
            if !cache.partners.contains_key(&partner_id) {
                let windows = windows_of(cache.windows(&tx)?, partner_id);
                match load_partner_with(&tx, partner_id, windows)? {
                    Some(row) => {
                        cache.partners.insert(partner_id, Box::new(row));
                    }
                    None => {
                        tracing::warn!(partner_id, "check outcomes of an unknown partner skipped");
                        continue;
                    }
                }
            }
            let Some(row) = cache.partners.get_mut(&partner_id) else {
                continue;
            };
            outcomes.sort_by_key(|o| o.at);
            let thresholds = policy.for_tier(row.tier);
            // Whether more than the counters and the last check change (the common case
            // updates five columns of the row, not all of it).
            let mut whole_row = !row.stored;
            for outcome in outcomes {
                let hold = row.hold_at(outcome.at);
                let (status, transition) = apply_outcome(&row.status, outcome, hold, &thresholds);
                whole_row |= !same_but_counters(&status, &row.status);
                row.status = status;
                let verdict = classify(outcome, &thresholds);
                let code = encode_outcome(outcome, &verdict);
                let at = outcome.at.timestamp();
                row.last_check = Some((at, outcome.latency_ms, code));
                // A second outcome in the same second is a duplicate; it is not counted twice.
                if insert_sample.execute(params![partner_id, at, outcome.latency_ms, code])? == 1 {
                    for res in Resolution::ALL {
                        let d = rollups
                            .entry((partner_id, res, res.bucket(at)))
                            .or_default();
                        d.checks += 1;
                        match verdict {
                            Verdict::Down { .. } => d.failed += 1,
                            Verdict::Up { state, .. } => {
                                if state == HealthState::Degraded {
                                    d.degraded += 1;
                                } else {
                                    d.ok += 1;
                                }
                                let l = i64::from(outcome.latency_ms);
                                d.latency_sum += l;
                                d.latency_max = d.latency_max.max(l);
                                d.hist[bin_of(outcome.latency_ms)] += 1;
                            }
                        }
                    }
                }
                if let Some(t) = transition {
                    insert_transition(&tx, partner_id, &t)?;
                    produced.push(PartnerTransition {
                        partner_id,
                        partner: row.name.clone(),
                        transition: t,
                    });
                }
            }
            if whole_row || !save_counters(&tx, partner_id, row)? {
                save_status(&tx, partner_id, row)?;
            }
            row.stored = true;
        }
        drop(insert_sample);
        {
            let mut update = tx.prepare_cached(update_rollup_sql)?;
            let mut insert = tx.prepare_cached(insert_rollup_sql)?;
            for ((partner_id, res, bucket), d) in &rollups {
                let mut values = [0i64; 9 + BINS];
                values[..9].copy_from_slice(&[
                    i64::from(*partner_id),
                    res.seconds(),
                    *bucket,
                    d.checks,
                    d.ok,
                    d.degraded,
                    d.failed,
                    d.latency_sum,
                    d.latency_max,
                ]);
                values[9..].copy_from_slice(&d.hist);
                if update.execute(rusqlite::params_from_iter(values))? == 0 {
                    insert.execute(rusqlite::params_from_iter(values))?;
                }
            }
        }
        tx.commit()?;
        cache.total_changes = store.conn().total_changes();
        for t in &produced {
            tracing::info!(
                partner = %t.partner,
                from = %t.transition.from,
                to = %t.transition.to,
                reason = %t.transition.reason,
                "health state changed"
            );
        }
        Ok(produced)
    }

    /// Pauses or resumes a partner (a person's decision; checks keep counting underneath).
    pub fn set_paused(
        &mut self,
        partner_id: u32,
        paused: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<PartnerTransition>> {
        self.change_hold(partner_id, at, |row| row.paused = paused)
    }

    /// Switches maintenance on or off by hand (windows in `maintenance_windows` apply on
    /// their own, see [`HealthWriter::sync_maintenance`]).
    pub fn set_maintenance(
        &mut self,
        partner_id: u32,
        on: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<PartnerTransition>> {
        self.change_hold(partner_id, at, |row| row.maintenance = on)
    }

    /// Enters or leaves maintenance for every partner whose windows opened or closed, without
    /// waiting for its next check. The poller calls this on each tick.
    ///
    /// Only partners whose shown state can change are looked at, in one transaction: those
    /// with a window of their own (every partner when a window covers all), a hold on, or a
    /// shown state other than the observed one. For any other partner no hold applies and
    /// the shown state already is what the checks say, so there is nothing to do.
    pub fn sync_maintenance(&mut self, at: DateTime<Utc>) -> Result<Vec<PartnerTransition>> {
        let was_valid = self.store.conn().total_changes() == self.cache.total_changes;
        let tx = self
            .store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let windows = all_windows(&tx)?;
        let ids: Vec<u32> = if windows.iter().any(|w| w.partner_id.is_none()) {
            tx.prepare_cached("SELECT id FROM partners ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        } else {
            let mut ids: BTreeSet<u32> = windows.iter().filter_map(|w| w.partner_id).collect();
            let held = tx
                .prepare_cached(
                    "SELECT partner_id FROM health_current
                     WHERE paused <> 0 OR maintenance <> 0 OR state <> observed",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<u32>>>()?;
            ids.extend(held);
            ids.into_iter().collect()
        };
        let mut out = Vec::new();
        for &id in &ids {
            let Some(row) = load_partner_with(&tx, id, windows_of(&windows, id))? else {
                continue;
            };
            if let Some(t) = change_hold_of(&tx, id, row, at, |_| {}, |reason| reason)? {
                out.push(t);
            }
        }
        tx.commit()?;
        for id in ids {
            self.cache.partners.remove(&id);
        }
        self.cache.written(self.store.conn(), was_valid);
        Ok(out)
    }

    fn change_hold(
        &mut self,
        partner_id: u32,
        at: DateTime<Utc>,
        change: impl FnOnce(&mut PartnerRow),
    ) -> Result<Option<PartnerTransition>> {
        let was_valid = self.store.conn().total_changes() == self.cache.total_changes;
        let tx = self
            .store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let produced = change_hold_in(&tx, partner_id, at, change, |reason| reason)?;
        tx.commit()?;
        self.cache.partners.remove(&partner_id);
        self.cache.written(self.store.conn(), was_valid);
        Ok(produced)
    }

    /// The retention the workspace's settings ask for now, read from the writer's connection
    /// (so a change made in the app applies at the next retention run).
    pub fn configured_retention(&self) -> Result<Retention> {
        let mut stmt = self
            .store
            .conn()
            .prepare_cached("SELECT key, value FROM settings WHERE key LIKE 'history.%'")?;
        let stored: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Retention::from_settings(stored.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Deletes raw samples and minute/hour rollups past their horizon (transitions and day
    /// rollups stay) in one transaction, then gives the freed pages back with
    /// `PRAGMA incremental_vacuum`. Rollups are written with the samples they count
    /// ([`HealthWriter::record`]), so deleting a sample never changes a rollup.
    #[tracing::instrument(skip_all)]
    pub fn run_retention(
        &mut self,
        now: DateTime<Utc>,
        retention: &Retention,
    ) -> Result<RetentionReport> {
        let horizons = retention.horizons(now);
        let mut report = RetentionReport::default();
        let was_valid = self.store.conn().total_changes() == self.cache.total_changes;
        let tx = self
            .store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut pruner = Pruner::new(&tx)?;
            for id in partner_ids(&tx)? {
                pruner.partner(id, &horizons, &mut report)?;
            }
        }
        tx.commit()?;
        // Samples and rollups only: the cached partner rows are still what is stored.
        self.cache.written(self.store.conn(), was_valid);
        report.pages_freed = give_back_free_pages(self.store.conn())?;
        tracing::info!(
            samples = report.samples_deleted,
            minute_rollups = report.minute_rollups_deleted,
            hour_rollups = report.hour_rollups_deleted,
            pages_freed = report.pages_freed,
            "health history retention ran"
        );
        Ok(report)
    }
}

/// Where a retention run cuts, in unix seconds: samples before `samples_before` go, and a
/// rollup bucket goes once all of it is before its horizon.
#[derive(Debug, Clone, Copy)]
struct Horizons {
    samples_before: i64,
    minutes_before: i64,
    hours_before: i64,
}

impl Retention {
    fn horizons(&self, now: DateTime<Utc>) -> Horizons {
        let now = now.timestamp();
        Horizons {
            samples_before: now - i64::from(self.raw_sample_days) * Resolution::Day.seconds(),
            minutes_before: now - i64::from(self.minute_rollup_hours) * Resolution::Hour.seconds(),
            hours_before: now - i64::from(self.hour_rollup_days) * Resolution::Day.seconds(),
        }
    }
}

fn partner_ids(conn: &Connection) -> Result<Vec<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM partners ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Deletes partners' samples and minute/hour rollups past the horizons, inside the caller's
/// transaction. Per partner, so each delete is a range of the primary key, not a scan.
struct Pruner<'t> {
    samples: rusqlite::CachedStatement<'t>,
    rollups: rusqlite::CachedStatement<'t>,
}

impl<'t> Pruner<'t> {
    fn new(tx: &'t Transaction<'_>) -> Result<Pruner<'t>> {
        Ok(Pruner {
            samples: tx
                .prepare_cached("DELETE FROM health_samples WHERE partner_id = ?1 AND at < ?2")?,
            rollups: tx.prepare_cached(
                "DELETE FROM health_rollups WHERE partner_id = ?1 AND resolution = ?2 AND bucket < ?3",
            )?,
        })
    }

    /// Prunes one partner; adds what went to `report`.
    fn partner(
        &mut self,
        partner_id: i64,
        horizons: &Horizons,
        report: &mut RetentionReport,
    ) -> Result<()> {
        report.samples_deleted +=
            self.samples
                .execute(params![partner_id, horizons.samples_before])? as u64;
        for (resolution, before, deleted) in [
            (
                Resolution::Minute,
                horizons.minutes_before,
                &mut report.minute_rollups_deleted,
            ),
            (
                Resolution::Hour,
                horizons.hours_before,
                &mut report.hour_rollups_deleted,
            ),
        ] {
            // A bucket goes once all of it is past the horizon.
            *deleted += self.rollups.execute(params![
                partner_id,
                resolution.seconds(),
                before - resolution.seconds() + 1
            ])? as u64;
        }
        Ok(())
    }
}

/// Runs `PRAGMA incremental_vacuum` to the end; returns the pages it gave back.
fn give_back_free_pages(conn: &Connection) -> Result<u64> {
    let free_before: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    // incremental_vacuum frees one page per step: step it to the end (execute_batch would
    // step once and free a single page).
    let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = vacuum.query([])?;
    while rows.next()?.is_some() {}
    let free_after: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    Ok(u64::try_from(free_before - free_after).unwrap_or(0))
}

/// The audit action of a retention run asked for by a person (`ecosystem db prune`).
pub const PRUNE_ACTION: &str = "history.prune";

/// What `ecosystem db prune` did: the settings it applied, where it cut, and what it removed.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// `history.raw_days`.
    pub raw_days: u32,
    /// `history.hour_rollup_days`.
    pub hour_rollup_days: u32,
    /// Raw samples before this moment were deleted.
    #[serde(serialize_with = "ser_time")]
    pub samples_before: DateTime<Utc>,
    /// Minute rollups that ended before this moment were deleted.
    #[serde(serialize_with = "ser_time")]
    pub minute_rollups_before: DateTime<Utc>,
    /// Hour rollups that ended before this moment were deleted.
    #[serde(serialize_with = "ser_time")]
    pub hour_rollups_before: DateTime<Utc>,
    /// Partners whose history was looked at (one transaction each).
    pub partners: u64,
    #[serde(flatten)]
    pub removed: RetentionReport,
}

/// The retention run on demand, through the registry, so it is audited.
impl Registry {
    /// Runs the health-history retention now with the workspace's settings
    /// (`history.raw_days`, `history.hour_rollup_days`), beside a running poller or app: one
    /// short transaction per partner (its samples and rollups together), so their writer never
    /// waits long. The audit row (`history.prune`, with the settings and horizons) commits with
    /// the first partner's deletions, so nothing is removed without it. A run that is killed
    /// leaves every partner either pruned or untouched, and the next run finishes the others.
    /// Day rollups and transitions are never removed, and no rollup is touched for a sample
    /// that goes: rollups are written with the samples they count.
    pub fn prune_history(&mut self) -> Result<PruneReport> {
        let now = self.clock().now();
        let settings = self.settings()?;
        let retention =
            Retention::from_settings(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let horizons = retention.horizons(now);
        let time = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(now);
        let mut report = PruneReport {
            raw_days: retention.raw_sample_days,
            hour_rollup_days: retention.hour_rollup_days,
            samples_before: time(horizons.samples_before),
            minute_rollups_before: time(horizons.minutes_before),
            hour_rollups_before: time(horizons.hours_before),
            partners: 0,
            removed: RetentionReport::default(),
        };
        let ids = partner_ids(self.store().conn())?;
        report.partners = ids.len() as u64;
        let detail = serde_json::json!({
            "raw_days": report.raw_days,
            "hour_rollup_days": report.hour_rollup_days,
            "samples_before": report.samples_before,
            "minute_rollups_before": report.minute_rollups_before,
            "hour_rollups_before": report.hour_rollups_before,
            "partners": report.partners,
        });
        let removed = &mut report.removed;
        self.write(|w| {
            if let Some(first) = ids.first() {
                Pruner::new(w.tx)?.partner(*first, &horizons, removed)?;
            }
            w.audit(PRUNE_ACTION, "history", "health history", Some(&detail))
        })?;
        for id in ids.iter().skip(1) {
            self.write(|w| Pruner::new(w.tx)?.partner(*id, &horizons, removed))?;
        }
        report.removed.pages_freed = give_back_free_pages(self.store().conn())?;
        tracing::info!(
            samples = report.removed.samples_deleted,
            minute_rollups = report.removed.minute_rollups_deleted,
            hour_rollups = report.removed.hour_rollups_deleted,
            pages_freed = report.removed.pages_freed,
            "health history pruned on demand"
        );
        Ok(report)
    }
}

/// Pauses or resumes a partner inside the caller's transaction (the registry's, so the change
/// lands together with its audit row). Returns whether it was paused before, and the
/// transition, whose reason `reword` may rewrite (to say who paused it and why).
pub(crate) fn set_paused_in(
    tx: &Transaction<'_>,
    partner_id: u32,
    paused: bool,
    at: DateTime<Utc>,
    reword: impl FnOnce(String) -> String,
) -> Result<(bool, Option<PartnerTransition>)> {
    let mut was = false;
    let produced = change_hold_in(
        tx,
        partner_id,
        at,
        |row| {
            was = row.paused;
            row.paused = paused;
        },
        reword,
    )?;
    Ok((was, produced))
}

fn change_hold_in(
    tx: &Transaction<'_>,
    partner_id: u32,
    at: DateTime<Utc>,
    change: impl FnOnce(&mut PartnerRow),
    reword: impl FnOnce(String) -> String,
) -> Result<Option<PartnerTransition>> {
    let Some(row) = load_partner(tx, partner_id)? else {
        return Err(Error::NotFound(format!("no partner with id {partner_id}")));
    };
    change_hold_of(tx, partner_id, row, at, change, reword)
}

fn change_hold_of(
    tx: &Transaction<'_>,
    partner_id: u32,
    mut row: PartnerRow,
    at: DateTime<Utc>,
    change: impl FnOnce(&mut PartnerRow),
    reword: impl FnOnce(String) -> String,
) -> Result<Option<PartnerTransition>> {
    let before = (row.paused, row.maintenance);
    change(&mut row);
    let (mut status, transition) = apply_hold(&row.status, row.hold_at(at), at);
    let changed = transition.is_some() || before != (row.paused, row.maintenance);
    let produced = match transition {
        Some(mut t) => {
            t.reason = reword(t.reason);
            status.reason = Some(t.reason.clone());
            insert_transition(tx, partner_id, &t)?;
            Some(PartnerTransition {
                partner_id,
                partner: row.name.clone(),
                transition: t,
            })
        }
        None => None,
    };
    row.status = status;
    if changed {
        save_status(tx, partner_id, &row)?;
    }
    Ok(produced)
}

impl PartnerRow {
    /// The hold in force at `at`: paused wins over maintenance (by hand or by window).
    fn hold_at(&self, at: DateTime<Utc>) -> Option<Hold> {
        if self.paused {
            Some(Hold::Paused)
        } else if self.maintenance || self.windows.iter().any(|w| w.schedule.is_open_at(at)) {
            Some(Hold::Maintenance)
        } else {
            None
        }
    }
}

fn load_partner(tx: &Transaction<'_>, partner_id: u32) -> Result<Option<PartnerRow>> {
    let windows = windows_for(tx, partner_id)?;
    load_partner_with(tx, partner_id, windows)
}

/// The partner's row with `windows`, the maintenance windows that apply to it.
fn load_partner_with(
    tx: &Transaction<'_>,
    partner_id: u32,
    windows: Vec<MaintenanceWindow>,
) -> Result<Option<PartnerRow>> {
    let found: Option<(String, String)> = tx
        .prepare_cached("SELECT name, tier FROM partners WHERE id = ?1")?
        .query_row([partner_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((name, tier)) = found else {
        return Ok(None);
    };
    let tier: Tier = tier.parse()?;
    let current = tx
        .prepare_cached(
            "SELECT state, since, reason, error_class, observed, observed_reason,
                    observed_error_class, consecutive_failures, consecutive_successes,
                    paused, maintenance, last_check_at, last_latency_ms, last_outcome
             FROM health_current WHERE partner_id = ?1",
        )?
        .query_row([partner_id], |r| {
            let status = HealthStatus {
                state: state_word(&r.get::<_, String>(0)?)?,
                since: r.get::<_, Option<i64>>(1)?.map(from_unix),
                reason: r.get(2)?,
                error_class: r
                    .get::<_, Option<String>>(3)?
                    .as_deref()
                    .and_then(parse_error_class),
                observed: state_word(&r.get::<_, String>(4)?)?,
                observed_reason: r.get(5)?,
                observed_error_class: r
                    .get::<_, Option<String>>(6)?
                    .as_deref()
                    .and_then(parse_error_class),
                consecutive_failures: r.get(7)?,
                consecutive_successes: r.get(8)?,
            };
            let last = match (r.get::<_, Option<i64>>(11)?, r.get(12)?, r.get(13)?) {
                (Some(at), Some(l), Some(o)) => Some((at, l, o)),
                _ => None,
            };
            Ok((status, r.get::<_, bool>(9)?, r.get::<_, bool>(10)?, last))
        })
        .optional()?;
    let stored = current.is_some();
    let (status, paused, maintenance, last_check) = current.unwrap_or_default();
    Ok(Some(PartnerRow {
        name,
        tier,
        status,
        paused,
        maintenance,
        windows,
        last_check,
        stored,
    }))
}

fn save_status(tx: &Transaction<'_>, partner_id: u32, row: &PartnerRow) -> Result<()> {
    let s = &row.status;
    let since = s.since.map(|t| t.timestamp());
    tx.prepare_cached(
        "INSERT INTO health_current (partner_id, state, since, reason, error_class, observed,
             observed_reason, observed_error_class, consecutive_failures, consecutive_successes,
             paused, maintenance, last_check_at, last_latency_ms, last_outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (partner_id) DO UPDATE SET state = excluded.state, since = excluded.since,
             reason = excluded.reason, error_class = excluded.error_class,
             observed = excluded.observed, observed_reason = excluded.observed_reason,
             observed_error_class = excluded.observed_error_class,
             consecutive_failures = excluded.consecutive_failures,
             consecutive_successes = excluded.consecutive_successes,
             paused = excluded.paused, maintenance = excluded.maintenance,
             last_check_at = excluded.last_check_at, last_latency_ms = excluded.last_latency_ms,
             last_outcome = excluded.last_outcome",
    )?
    .execute(params![
        partner_id,
        s.state.as_str(),
        since,
        s.reason,
        s.error_class.map(ErrorClass::as_str),
        s.observed.as_str(),
        s.observed_reason,
        s.observed_error_class.map(ErrorClass::as_str),
        s.consecutive_failures,
        s.consecutive_successes,
        row.paused,
        row.maintenance,
        row.last_check.map(|l| l.0),
        row.last_check.map(|l| l.1),
        row.last_check.map(|l| l.2),
    ])?;
    Ok(())
}

/// Stores what a check moves when nothing else changed: the counters and the last check.
/// False when the partner has no row yet (then [`save_status`] writes all of it).
fn save_counters(tx: &Transaction<'_>, partner_id: u32, row: &PartnerRow) -> Result<bool> {
    let s = &row.status;
    let changed = tx
        .prepare_cached(
            "UPDATE health_current SET consecutive_failures = ?2, consecutive_successes = ?3,
                 last_check_at = ?4, last_latency_ms = ?5, last_outcome = ?6
             WHERE partner_id = ?1",
        )?
        .execute(params![
            partner_id,
            s.consecutive_failures,
            s.consecutive_successes,
            row.last_check.map(|l| l.0),
            row.last_check.map(|l| l.1),
            row.last_check.map(|l| l.2),
        ])?;
    Ok(changed == 1)
}

fn insert_transition(tx: &Transaction<'_>, partner_id: u32, t: &Transition) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO health_transitions (partner_id, at, from_state, to_state, reason, error_class)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        partner_id,
        t.at.timestamp(),
        t.from.as_str(),
        t.to.as_str(),
        t.reason,
        t.error_class.map(ErrorClass::as_str),
    ])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading

/// A partner's state as the health page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentHealth {
    pub state: HealthState,
    /// When the state began (`None`: never checked).
    pub since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub error_class: Option<ErrorClass>,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub paused: bool,
    pub maintenance: bool,
    pub last_check_at: Option<DateTime<Utc>>,
    pub last_latency_ms: Option<u32>,
}

/// A stored transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTransition {
    pub id: i64,
    #[serde(flatten)]
    pub transition: Transition,
}

/// A period when a partner was unhealthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub start: DateTime<Utc>,
    /// `None` while it goes on.
    pub end: Option<DateTime<Utc>>,
    pub ongoing: bool,
    /// To its end, or to now while ongoing.
    pub duration_secs: i64,
    pub reason: String,
    pub error_class: Option<ErrorClass>,
}

/// Uptime in percent over the usual windows, `None` where there is no data. Degraded counts
/// as up; unknown, paused and maintenance time is left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct UptimeWindows {
    #[serde(rename = "24h")]
    pub h24: Option<f64>,
    #[serde(rename = "7d")]
    pub d7: Option<f64>,
    #[serde(rename = "30d")]
    pub d30: Option<f64>,
    #[serde(rename = "90d")]
    pub d90: Option<f64>,
    #[serde(rename = "1y")]
    pub y1: Option<f64>,
}

impl UptimeWindows {
    pub const WINDOWS: [(&'static str, Duration); 5] = [
        ("24h", Duration::hours(24)),
        ("7d", Duration::days(7)),
        ("30d", Duration::days(30)),
        ("90d", Duration::days(90)),
        ("1y", Duration::days(365)),
    ];

    pub fn values(&self) -> [(&'static str, Option<f64>); 5] {
        [
            ("24h", self.h24),
            ("7d", self.d7),
            ("30d", self.d30),
            ("90d", self.d90),
            ("1y", self.y1),
        ]
    }
}

/// Latency percentiles of successful checks over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    pub p50: Option<u32>,
    pub p95: Option<u32>,
    /// Successful checks the figures are drawn from.
    pub checks: u64,
    /// True when estimated from rollup histograms rather than raw samples.
    pub estimated: bool,
}

/// One rollup row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollup {
    pub start: DateTime<Utc>,
    pub resolution: Resolution,
    pub checks: u64,
    pub ok: u64,
    pub degraded: u64,
    pub failed: u64,
    pub latency_sum_ms: u64,
    pub latency_max_ms: u64,
    #[serde(skip)]
    pub histogram: [u64; BINS],
}

/// History over a range: raw samples for short ranges, rollups for long ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Series {
    Samples(Vec<Sample>),
    Rollups(Vec<Rollup>),
}

/// Everything the health page and `ecosystem health` show for one partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub partner: String,
    pub state: HealthState,
    pub since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub error_class: Option<ErrorClass>,
    #[serde(serialize_with = "ser_time")]
    pub from: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub to: DateTime<Utc>,
    pub uptime: UptimeWindows,
    pub latency_ms: LatencySummary,
    pub incidents: Vec<Incident>,
    #[serde(flatten)]
    pub series: Series,
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Read-only queries over a connection (any connection: readers do not wait for the writer).
pub struct HealthHistory<'c> {
    conn: &'c Connection,
}

/// One partner's current state, for an overview of every partner (the catalogue's badges).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthBadge {
    pub partner: String,
    /// `unknown` when the partner was never checked.
    pub state: HealthState,
    /// When the state began (RFC 3339, UTC); `None` before the first check.
    pub since: Option<String>,
    pub reason: Option<String>,
}

impl<'c> HealthHistory<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        HealthHistory { conn }
    }

    /// The partner's current state; `unknown` with no `since` before its first check.
    /// Every partner's current state, ordered by name, in one query.
    pub fn overview(&self) -> Result<Vec<HealthBadge>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.name, h.state,
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', h.since, 'unixepoch'), h.reason
             FROM partners p LEFT JOIN health_current h ON h.partner_id = p.id
             ORDER BY p.name",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(HealthBadge {
                partner: row.get(0)?,
                state: match row.get::<_, Option<String>>(1)? {
                    Some(word) => state_word(&word)?,
                    None => HealthState::Unknown,
                },
                since: row.get(2)?,
                reason: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn current(&self, partner_id: u32) -> Result<CurrentHealth> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT state, since, reason, error_class, consecutive_failures,
                        consecutive_successes, paused, maintenance, last_check_at, last_latency_ms
                 FROM health_current WHERE partner_id = ?1",
            )?
            .query_row([partner_id], |r| {
                Ok(CurrentHealth {
                    state: state_word(&r.get::<_, String>(0)?)?,
                    since: r.get::<_, Option<i64>>(1)?.map(from_unix),
                    reason: r.get(2)?,
                    error_class: r
                        .get::<_, Option<String>>(3)?
                        .as_deref()
                        .and_then(parse_error_class),
                    consecutive_failures: r.get(4)?,
                    consecutive_successes: r.get(5)?,
                    paused: r.get(6)?,
                    maintenance: r.get(7)?,
                    last_check_at: r.get::<_, Option<i64>>(8)?.map(from_unix),
                    last_latency_ms: r.get(9)?,
                })
            })
            .optional()?;
        Ok(found.unwrap_or(CurrentHealth {
            state: HealthState::Unknown,
            since: None,
            reason: None,
            error_class: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
            paused: false,
            maintenance: false,
            last_check_at: None,
            last_latency_ms: None,
        }))
    }

    /// The last transition at or before `at`: the state in force then.
    pub fn transition_before(
        &self,
        partner_id: u32,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredTransition>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, at, from_state, to_state, reason, error_class FROM health_transitions
                 WHERE partner_id = ?1 AND at <= ?2 ORDER BY at DESC, id DESC LIMIT 1",
            )?
            .query_row(params![partner_id, at.timestamp()], transition_from_row)
            .optional()?)
    }

    /// The id of the newest recorded transition (0 when there is none): where a follower
    /// of [`HealthHistory::changes_after`] starts so it sees only what comes next.
    pub fn last_change_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(id), 0) FROM health_transitions")?
            .query_row([], |r| r.get(0))?)
    }

    /// Every partner's transitions recorded after the one with id `after_id`, in the order
    /// they were recorded, at most `limit`, each with its id (the cursor to go on from) and
    /// the partner's name. Whichever process polls, a follower of this sees its changes.
    pub fn changes_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, PartnerTransition)>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.at, t.from_state, t.to_state, t.reason, t.error_class,
                        t.partner_id, p.name
                 FROM health_transitions t JOIN partners p ON p.id = t.partner_id
                 WHERE t.id > ?1 ORDER BY t.id LIMIT ?2",
            )?
            .query_map(params![after_id, limit], |r| {
                let stored = transition_from_row(r)?;
                Ok((
                    stored.id,
                    PartnerTransition {
                        partner_id: r.get(6)?,
                        partner: r.get(7)?,
                        transition: stored.transition,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Transitions with `from < at <= to`, oldest first.
    pub fn transitions(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredTransition>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, at, from_state, to_state, reason, error_class FROM health_transitions
                 WHERE partner_id = ?1 AND at > ?2 AND at <= ?3 ORDER BY at, id",
            )?
            .query_map(
                params![partner_id, from.timestamp(), to.timestamp()],
                transition_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The state in force at `from` (from the transition before it, if any) and the
    /// transitions after it up to `to`.
    fn timeline(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(Option<StoredTransition>, Vec<StoredTransition>)> {
        Ok((
            self.transition_before(partner_id, from)?,
            self.transitions(partner_id, from, to)?,
        ))
    }

    /// Uptime in percent over `[from, to)`, time-weighted from transitions; `None` when no
    /// time in the range counts (no data, or all of it paused, maintenance or unknown).
    pub fn uptime(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<f64>> {
        let (before, after) = self.timeline(partner_id, from, to)?;
        Ok(uptime_of(before.as_ref(), &after, from, to))
    }

    /// Uptime over the last 24 h, 7, 30, 90 days and a year, from one read of the year.
    pub fn uptime_windows(&self, partner_id: u32, now: DateTime<Utc>) -> Result<UptimeWindows> {
        let year_start = now - Duration::days(365);
        let (before, after) = self.timeline(partner_id, year_start, now)?;
        let of = |d: Duration| {
            let from = now - d;
            // The state at `from` is the last transition at or before it.
            let split = after.partition_point(|t| t.transition.at <= from);
            let prior = if split > 0 {
                Some(&after[split - 1])
            } else {
                before.as_ref()
            };
            uptime_of(prior, &after[split..], from, now)
        };
        Ok(UptimeWindows {
            h24: of(Duration::hours(24)),
            d7: of(Duration::days(7)),
            d30: of(Duration::days(30)),
            d90: of(Duration::days(90)),
            y1: of(Duration::days(365)),
        })
    }

    /// Unhealthy periods that overlap `[from, now]`, oldest first; durations are whole
    /// (not clipped to the range).
    pub fn incidents(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Incident>> {
        let (before, after) = self.timeline(partner_id, from, now)?;
        let mut out = Vec::new();
        let mut open: Option<&Transition> = before
            .as_ref()
            .map(|t| &t.transition)
            .filter(|t| t.to == HealthState::Unhealthy);
        for t in after.iter().map(|t| &t.transition) {
            match (open, t.to == HealthState::Unhealthy) {
                (Some(start), false) => {
                    out.push(incident(start, Some(t.at), now));
                    open = None;
                }
                (None, true) => open = Some(t),
                _ => {}
            }
        }
        if let Some(start) = open {
            out.push(incident(start, None, now));
        }
        Ok(out)
    }

    /// Raw samples with `from <= at < to`, oldest first.
    pub fn samples(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Sample>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT at, latency_ms, outcome FROM health_samples
                 WHERE partner_id = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
            )?
            .query_map(params![partner_id, from.timestamp(), to.timestamp()], |r| {
                let (outcome, error_class) = decode_outcome(r.get(2)?);
                Ok(Sample {
                    at: from_unix(r.get(0)?),
                    latency_ms: r.get(1)?,
                    outcome,
                    error_class,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Rollups of one resolution whose bucket starts in `[from, to)`, oldest first (`from` is
    /// rounded down to its bucket).
    pub fn rollups(
        &self,
        partner_id: u32,
        resolution: Resolution,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Rollup>> {
        let sql = format!(
            "SELECT bucket, checks, ok, degraded, failed, latency_sum, latency_max, {}
             FROM health_rollups
             WHERE partner_id = ?1 AND resolution = ?2 AND bucket >= ?3 AND bucket < ?4
             ORDER BY bucket",
            hist_columns().join(", ")
        );
        let rows = self
            .conn
            .prepare_cached(&sql)?
            .query_map(
                params![
                    partner_id,
                    resolution.seconds(),
                    resolution.bucket(from.timestamp()),
                    to.timestamp()
                ],
                |r| {
                    let mut histogram = [0u64; BINS];
                    for (i, h) in histogram.iter_mut().enumerate() {
                        *h = count(r, 7 + i)?;
                    }
                    Ok(Rollup {
                        start: from_unix(r.get(0)?),
                        resolution,
                        checks: count(r, 1)?,
                        ok: count(r, 2)?,
                        degraded: count(r, 3)?,
                        failed: count(r, 4)?,
                        latency_sum_ms: count(r, 5)?,
                        latency_max_ms: count(r, 6)?,
                        histogram,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The resolution a range is drawn at: raw samples up to [`SAMPLES_UP_TO`], hour rollups
    /// while the range starts within [`HOUR_ROLLUPS_KEPT`] of now, day rollups beyond.
    pub fn resolution_for(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Resolution> {
        if to - from <= SAMPLES_UP_TO {
            None
        } else if from >= now - HOUR_ROLLUPS_KEPT {
            Some(Resolution::Hour)
        } else {
            Some(Resolution::Day)
        }
    }

    /// Samples or rollups over `[from, to)`, at the resolution the range calls for.
    pub fn series(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Series> {
        Ok(match Self::resolution_for(from, to, now) {
            None => Series::Samples(self.samples(partner_id, from, to)?),
            Some(res) => Series::Rollups(self.rollups(partner_id, res, from, to)?),
        })
    }

    /// p50/p95 latency of successful checks over `[from, to)`: exact from raw samples for
    /// short ranges, estimated from rollup histograms (linear within a bin) for long ones.
    pub fn latency(
        &self,
        partner_id: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<LatencySummary> {
        match Self::resolution_for(from, to, now) {
            None => {
                let mut latencies: Vec<u32> = self
                    .conn
                    .prepare_cached(
                        "SELECT latency_ms FROM health_samples
                         WHERE partner_id = ?1 AND at >= ?2 AND at < ?3 AND outcome < ?4",
                    )?
                    .query_map(
                        params![partner_id, from.timestamp(), to.timestamp(), FAILED_BASE],
                        |r| r.get(0),
                    )?
                    .collect::<rusqlite::Result<_>>()?;
                latencies.sort_unstable();
                Ok(LatencySummary {
                    p50: nearest_rank(&latencies, 0.50),
                    p95: nearest_rank(&latencies, 0.95),
                    checks: latencies.len() as u64,
                    estimated: false,
                })
            }
            Some(res) => {
                let rows = self.rollups(partner_id, res, from, to)?;
                let mut hist = [0u64; BINS];
                let mut max = 0u64;
                for r in &rows {
                    for (h, v) in hist.iter_mut().zip(r.histogram) {
                        *h += v;
                    }
                    max = max.max(r.latency_max_ms);
                }
                Ok(LatencySummary {
                    p50: histogram_quantile(&hist, max, 0.50),
                    p95: histogram_quantile(&hist, max, 0.95),
                    checks: hist.iter().sum(),
                    estimated: true,
                })
            }
        }
    }

    /// The whole report for one partner: state, uptime windows, latency, incidents and the
    /// history since `from`.
    pub fn report(
        &self,
        partner_id: u32,
        partner: &str,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<HealthReport> {
        let current = self.current(partner_id)?;
        Ok(HealthReport {
            partner: partner.to_string(),
            state: current.state,
            since: current.since,
            reason: current.reason,
            error_class: current.error_class,
            from,
            to: now,
            uptime: self.uptime_windows(partner_id, now)?,
            latency_ms: self.latency(partner_id, from, now, now)?,
            incidents: self.incidents(partner_id, from, now)?,
            series: self.series(partner_id, from, now, now)?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The health timeline chart

impl<'c> HealthHistory<'c> {
    /// The partner's health timeline over `[from, to]` as `ecosystem_charts::health_svg`
    /// draws it (see [`timeline_chart`]), read from the transitions and the samples or
    /// rollups the range calls for; `None` when the range holds no check and no known state.
    #[allow(clippy::too_many_arguments)]
    pub fn timeline_chart(
        &self,
        partner_id: u32,
        title: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
        size: ecosystem_charts::Size,
    ) -> Result<Option<ecosystem_charts::HealthChart>> {
        let (before, after) = self.timeline(partner_id, from, to)?;
        let series = self.series(partner_id, from, to, now)?;
        Ok(timeline_chart(
            title,
            from,
            to,
            before.as_ref(),
            &after,
            &series,
            size,
        ))
    }
}

/// How a state is drawn.
fn band_of(state: HealthState) -> ecosystem_charts::Band {
    use ecosystem_charts::Band;
    match state {
        HealthState::Unknown => Band::Unknown,
        HealthState::Healthy => Band::Healthy,
        HealthState::Degraded => Band::Degraded,
        HealthState::Unhealthy => Band::Unhealthy,
        HealthState::Paused => Band::Paused,
        HealthState::Maintenance => Band::Maintenance,
    }
}

/// The chart's input from stored history over `[from, to]`:
/// - **bands**: the state in force at `from` (`prior`, the last transition at or before it;
///   unknown without one) and every transition after it, each band running to the next
///   change, clipped to the range, neighbours of the same state merged;
/// - **latency**: each check's latency (raw samples), or each bucket's mean over its
///   successful checks (rollups), a bucket starting before `from` moved to `from`. The line
///   breaks at a failed check, at a bucket with no successful check, at a missing bucket and,
///   for raw samples, where checks stop for more than three times their usual interval.
///
/// `None` when there is nothing to draw: no latency at all and no known state in the range.
pub fn timeline_chart(
    title: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    prior: Option<&StoredTransition>,
    after: &[StoredTransition],
    series: &Series,
    size: ecosystem_charts::Size,
) -> Option<ecosystem_charts::HealthChart> {
    let mut bands: Vec<(DateTime<Utc>, DateTime<Utc>, HealthState)> = Vec::new();
    let mut push = |start: DateTime<Utc>, end: DateTime<Utc>, state: HealthState| {
        if end <= start {
            return;
        }
        match bands.last_mut() {
            Some(last) if last.2 == state && last.1 == start => last.1 = end,
            _ => bands.push((start, end, state)),
        }
    };
    let mut state = prior.map_or(HealthState::Unknown, |t| t.transition.to);
    let mut cursor = from;
    for t in after.iter().map(|t| &t.transition) {
        let at = t.at.clamp(from, to);
        push(cursor, at, state);
        state = t.to;
        cursor = cursor.max(at);
    }
    push(cursor, to, state);

    let mut latency: Vec<(DateTime<Utc>, Option<f64>)> = Vec::new();
    match series {
        Series::Samples(samples) => {
            let mut gaps: Vec<i64> = samples
                .windows(2)
                .map(|w| (w[1].at - w[0].at).num_seconds())
                .collect();
            gaps.sort_unstable();
            let usual = gaps.get(gaps.len() / 2).copied().unwrap_or(0).max(1);
            let mut last: Option<DateTime<Utc>> = None;
            for s in samples.iter().filter(|s| s.at >= from && s.at <= to) {
                if let Some(prev) = last {
                    if (s.at - prev).num_seconds() > 3 * usual {
                        latency.push((prev + Duration::seconds(1), None));
                    }
                }
                let ok = s.outcome != SampleOutcome::Failed;
                latency.push((s.at, ok.then_some(f64::from(s.latency_ms))));
                last = Some(s.at);
            }
        }
        Series::Rollups(rollups) => {
            let mut last: Option<&Rollup> = None;
            for r in rollups.iter().filter(|r| r.start <= to) {
                if let Some(prev) = last {
                    let step = Duration::seconds(prev.resolution.seconds());
                    if r.start - prev.start > step {
                        latency.push(((prev.start + step).max(from), None));
                    }
                }
                let succeeded = r.ok + r.degraded;
                let mean = (succeeded > 0).then(|| r.latency_sum_ms as f64 / succeeded as f64);
                latency.push((r.start.max(from), mean));
                last = Some(r);
            }
        }
    }

    let known = bands.iter().any(|b| b.2 != HealthState::Unknown);
    if !known && latency.iter().all(|(_, v)| v.is_none()) {
        return None;
    }
    Some(ecosystem_charts::HealthChart {
        title,
        from,
        to,
        bands: bands
            .into_iter()
            .map(|(start, end, state)| (start, end, band_of(state)))
            .collect(),
        latency,
        size,
    })
}

/// A non-negative counter column.
fn count(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

fn transition_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTransition> {
    Ok(StoredTransition {
        id: r.get(0)?,
        transition: Transition {
            at: from_unix(r.get(1)?),
            from: state_word(&r.get::<_, String>(2)?)?,
            to: state_word(&r.get::<_, String>(3)?)?,
            reason: r.get(4)?,
            error_class: r
                .get::<_, Option<String>>(5)?
                .as_deref()
                .and_then(parse_error_class),
        },
    })
}

fn incident(start: &Transition, end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Incident {
    Incident {
        start: start.at,
        end,
        ongoing: end.is_none(),
        duration_secs: (end.unwrap_or(now) - start.at).num_seconds().max(0),
        reason: start.reason.clone(),
        error_class: start.error_class,
    }
}

/// Up time / (up + down time) over `[from, to)`, given the transition in force at `from`
/// and the ones after it (oldest first).
fn uptime_of(
    prior: Option<&StoredTransition>,
    after: &[StoredTransition],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<f64> {
    let mut state = prior.map_or(HealthState::Unknown, |t| t.transition.to);
    let mut cursor = from;
    let (mut up, mut counted) = (0i64, 0i64);
    let mut add = |state: HealthState, start: DateTime<Utc>, end: DateTime<Utc>| {
        let secs = (end.min(to) - start.max(from)).num_seconds().max(0);
        if is_accounted(state) {
            counted += secs;
            if is_up(state) {
                up += secs;
            }
        }
    };
    for t in after.iter().map(|t| &t.transition) {
        if t.at >= to {
            break;
        }
        add(state, cursor, t.at);
        cursor = t.at.max(from);
        state = t.to;
    }
    add(state, cursor, to);
    (counted > 0).then(|| up as f64 * 100.0 / counted as f64)
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

/// Estimates a percentile from the histogram: find the bin holding the rank, interpolate
/// linearly inside it (the last bin reaches up to the largest latency seen).
fn histogram_quantile(hist: &[u64; BINS], max: u64, q: f64) -> Option<u32> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0u64;
    for (i, &count) in hist.iter().enumerate() {
        if count == 0 || seen + count < rank {
            seen += count;
            continue;
        }
        let lower = if i == 0 {
            0
        } else {
            u64::from(LATENCY_BUCKETS_MS[i - 1])
        };
        let upper = LATENCY_BUCKETS_MS
            .get(i)
            .map_or(max, |b| u64::from(*b))
            .min(max.max(lower));
        let within = (rank - seen) as f64 / count as f64;
        let value = lower as f64 + (upper.saturating_sub(lower)) as f64 * within;
        return u32::try_from(value.round() as u64).ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::Schedule;
    use crate::{FixedClock, NewPartner, PartnerKind, Registry};

    fn at(secs: i64) -> DateTime<Utc> {
        from_unix(1_750_000_000 + secs)
    }

    /// A registry and a writer on connections of their own, one standard-tier partner.
    struct Db {
        _dir: tempfile::TempDir,
        registry: Registry,
        writer: HealthWriter,
        id: u32,
    }

    impl Db {
        fn new() -> Db {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ecosystem.db");
            let clock = std::sync::Arc::new(FixedClock(at(0)));
            let mut registry = Registry::new(Store::open(&path).unwrap(), "tester", clock);
            let new = NewPartner::new("p", PartnerKind::Http, "https://p.example.com/health");
            let id = registry.add_partner(&new).unwrap().id;
            let writer = HealthWriter::new(Store::open(&path).unwrap());
            Db {
                _dir: dir,
                registry,
                writer,
                id,
            }
        }

        fn record(&mut self, outcomes: &[CheckOutcome]) -> Vec<PartnerTransition> {
            let batch: Vec<PartnerOutcome> = outcomes
                .iter()
                .map(|o| PartnerOutcome {
                    partner_id: self.id,
                    outcome: o.clone(),
                })
                .collect();
            self.writer.record(&batch).unwrap()
        }

        fn current(&self) -> CurrentHealth {
            HealthHistory::new(self.registry.store().conn())
                .current(self.id)
                .unwrap()
        }
    }

    fn fail(secs: i64) -> CheckOutcome {
        CheckOutcome::failed(at(secs), ErrorClass::TimedOut, "no answer", 10_000)
    }

    #[test]
    fn a_pause_by_another_connection_between_batches_is_kept() {
        let mut db = Db::new();
        db.record(&[CheckOutcome::ok(at(0), 50)]);
        db.registry.pause_partner("p", Some("review")).unwrap();
        // Failures while paused: counted, but the shown state stays paused.
        let produced = db.record(&[fail(60), fail(120), fail(180)]);
        assert!(produced.is_empty(), "{produced:?}");
        let current = db.current();
        assert!(current.paused);
        assert_eq!(current.state, HealthState::Paused);
        assert_eq!(current.last_check_at, Some(at(180)));
        assert_eq!(current.consecutive_failures, 3);
    }

    #[test]
    fn a_window_stored_by_another_connection_applies_to_the_next_batch() {
        let mut db = Db::new();
        db.record(&[CheckOutcome::ok(at(0), 50)]);
        let schedule = Schedule::once(at(100), at(1_000)).unwrap();
        db.registry
            .add_maintenance_window(Some("p"), "patching", &schedule)
            .unwrap();
        let produced = db.record(&[fail(200), fail(260), fail(320)]);
        let states: Vec<_> = produced.iter().map(|p| p.transition.to).collect();
        assert_eq!(states, [HealthState::Maintenance], "{produced:?}");
    }

    #[test]
    fn a_write_through_the_writers_own_connection_is_seen() {
        let mut db = Db::new();
        db.record(&[CheckOutcome::ok(at(0), 50)]);
        db.writer
            .store()
            .conn()
            .execute(
                "UPDATE health_current SET consecutive_failures = 2, consecutive_successes = 0
                 WHERE partner_id = ?1",
                [db.id],
            )
            .unwrap();
        // A standard partner goes unhealthy at its third failure in a row.
        let produced = db.record(&[fail(60)]);
        let states: Vec<_> = produced.iter().map(|p| p.transition.to).collect();
        assert_eq!(states, [HealthState::Unhealthy], "{produced:?}");
    }

    #[test]
    fn a_failed_batch_leaves_no_cached_change_behind() {
        let mut db = Db::new();
        db.record(&[CheckOutcome::ok(at(0), 50)]);
        // The first sample cannot be stored: the batch fails before any row changed. (Through
        // the writer's own connection: a schema change by another would empty the cache
        // anyway, and so would rows written before the failure.)
        db.writer
            .store()
            .conn()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON health_samples
                 BEGIN SELECT raise(ABORT, 'refused'); END",
            )
            .unwrap();
        let batch: Vec<PartnerOutcome> = [fail(60), fail(120), fail(180)]
            .into_iter()
            .map(|outcome| PartnerOutcome {
                partner_id: db.id,
                outcome,
            })
            .collect();
        assert!(db.writer.record(&batch).is_err());
        db.writer
            .store()
            .conn()
            .execute_batch("DROP TRIGGER refuse")
            .unwrap();
        // Counted from what is stored (one success), not from the rolled-back failures.
        let produced = db.record(&[fail(240)]);
        assert!(produced.is_empty(), "{produced:?}");
        assert_eq!(db.current().consecutive_failures, 1);
    }

    #[test]
    fn maintenance_sync_ends_a_hold_whose_window_was_removed() {
        let mut db = Db::new();
        let schedule = Schedule::once(at(100), at(1_000)).unwrap();
        let window = db
            .registry
            .add_maintenance_window(Some("p"), "patching", &schedule)
            .unwrap();
        db.record(&[CheckOutcome::ok(at(0), 50)]);
        let opened = db.writer.sync_maintenance(at(150)).unwrap();
        assert_eq!(opened.len(), 1, "{opened:?}");
        assert_eq!(opened[0].transition.to, HealthState::Maintenance);
        crate::maintenance::remove_window(db.registry.store().conn(), window.window.id).unwrap();
        // No window is left, but the partner still shows maintenance: it is looked at.
        let ended = db.writer.sync_maintenance(at(200)).unwrap();
        let states: Vec<_> = ended.iter().map(|p| p.transition.to).collect();
        assert_eq!(states, [HealthState::Healthy], "{ended:?}");
        assert!(db.writer.sync_maintenance(at(250)).unwrap().is_empty());
    }

    #[test]
    fn every_outcome_code_round_trips() {
        for class in ERROR_CLASSES {
            let code = FAILED_BASE + error_class_code(class);
            assert_eq!(
                decode_outcome(code),
                (SampleOutcome::Failed, Some(class)),
                "{class}"
            );
        }
        assert_eq!(decode_outcome(OUTCOME_OK).0, SampleOutcome::Ok);
    }

    #[test]
    fn a_histogram_estimate_lands_in_the_right_bin() {
        let mut hist = [0u64; BINS];
        hist[bin_of(80)] = 90; // 50 < x <= 100
        hist[bin_of(900)] = 10; // 750 < x <= 1000
        let p50 = histogram_quantile(&hist, 950, 0.5).unwrap();
        let p95 = histogram_quantile(&hist, 950, 0.95).unwrap();
        assert!((50..=100).contains(&p50), "p50 {p50} in (50, 100]");
        assert!((750..=950).contains(&p95), "p95 {p95} in (750, 950]");
    }
}

#[cfg(test)]
mod timeline_chart_tests {
    use super::*;
    use ecosystem_charts::{Band, Size};

    fn at(secs: i64) -> DateTime<Utc> {
        from_unix(1_750_000_000 + secs)
    }

    fn change(id: i64, secs: i64, from: HealthState, to: HealthState) -> StoredTransition {
        StoredTransition {
            id,
            transition: Transition {
                at: at(secs),
                from,
                to,
                reason: "test".into(),
                error_class: None,
            },
        }
    }

    fn sample(secs: i64, latency_ms: u32, outcome: SampleOutcome) -> Sample {
        Sample {
            at: at(secs),
            latency_ms,
            outcome,
            error_class: None,
        }
    }

    fn chart(
        from: i64,
        to: i64,
        prior: Option<&StoredTransition>,
        after: &[StoredTransition],
        series: &Series,
    ) -> Option<ecosystem_charts::HealthChart> {
        timeline_chart(
            "p".into(),
            at(from),
            at(to),
            prior,
            after,
            series,
            Size::default(),
        )
    }

    #[test]
    fn bands_start_with_the_state_in_force_and_are_clipped_to_the_range() {
        use HealthState::*;
        // Healthy since long before the range, unhealthy inside it, then healthy again.
        let prior = change(1, -10_000, Unknown, Healthy);
        let after = [
            change(2, 1_000, Healthy, Unhealthy),
            change(3, 2_000, Unhealthy, Healthy),
        ];
        let c = chart(0, 3_000, Some(&prior), &after, &Series::Samples(vec![])).unwrap();
        assert_eq!(
            c.bands,
            vec![
                (at(0), at(1_000), Band::Healthy),
                (at(1_000), at(2_000), Band::Unhealthy),
                (at(2_000), at(3_000), Band::Healthy),
            ]
        );
        // Without a prior transition the start is unknown; a change of the same state (a
        // maintenance that ends into healthy after healthy, say) merges with its neighbour.
        let after = [
            change(1, 500, Unknown, Healthy),
            change(2, 700, Healthy, Healthy),
        ];
        let c = chart(0, 1_000, None, &after, &Series::Samples(vec![])).unwrap();
        assert_eq!(
            c.bands,
            vec![
                (at(0), at(500), Band::Unknown),
                (at(500), at(1_000), Band::Healthy),
            ]
        );
    }

    #[test]
    fn the_latency_line_breaks_at_failures_and_where_checks_stop() {
        let samples = vec![
            sample(0, 100, SampleOutcome::Ok),
            sample(60, 110, SampleOutcome::Slow),
            sample(120, 10_000, SampleOutcome::Failed),
            sample(180, 90, SampleOutcome::Ok),
            // Ten minutes with no check: the poller was stopped.
            sample(780, 95, SampleOutcome::Ok),
            sample(840, 97, SampleOutcome::Ok),
        ];
        let prior = change(1, -60, HealthState::Unknown, HealthState::Healthy);
        let c = chart(0, 900, Some(&prior), &[], &Series::Samples(samples)).unwrap();
        let values: Vec<Option<f64>> = c.latency.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            values,
            vec![
                Some(100.0),
                Some(110.0),
                None,
                Some(90.0),
                None,
                Some(95.0),
                Some(97.0)
            ]
        );
        assert_eq!(
            c.latency[4].0,
            at(181),
            "the break sits right after the last check"
        );
    }

    #[test]
    fn a_missing_or_failed_rollup_breaks_the_line_and_an_early_bucket_starts_at_the_range() {
        let rollup = |secs: i64, ok: u64, failed: u64, sum: u64| Rollup {
            start: at(secs),
            resolution: Resolution::Hour,
            checks: ok + failed,
            ok,
            degraded: 0,
            failed,
            latency_sum_ms: sum,
            latency_max_ms: sum,
            histogram: [0; BINS],
        };
        let rollups = vec![
            rollup(-1_800, 2, 0, 300),
            rollup(1_800, 1, 0, 120),
            // 5400 missing
            rollup(9_000, 0, 60, 0),
            rollup(12_600, 4, 0, 400),
        ];
        let prior = change(1, -7_200, HealthState::Unknown, HealthState::Healthy);
        let c = chart(0, 14_400, Some(&prior), &[], &Series::Rollups(rollups)).unwrap();
        assert_eq!(
            c.latency,
            vec![
                (at(0), Some(150.0)),
                (at(1_800), Some(120.0)),
                (at(5_400), None),
                (at(9_000), None),
                (at(12_600), Some(100.0)),
            ]
        );
        // It draws.
        assert!(ecosystem_charts::health_svg(&c)
            .unwrap()
            .starts_with("<svg"));
    }

    #[test]
    fn the_chart_is_read_from_what_the_writer_stored() {
        use crate::{FixedClock, NewPartner, PartnerKind, Registry};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecosystem.db");
        let clock = std::sync::Arc::new(FixedClock(at(0)));
        let mut registry = Registry::new(Store::open(&path).unwrap(), "tester", clock);
        let new = NewPartner::new("p", PartnerKind::Http, "https://p.example.com/health");
        let id = registry.add_partner(&new).unwrap().id;
        let mut writer = HealthWriter::new(Store::open(&path).unwrap());
        // Ten good checks, ten failures (past any tier's threshold), ten good checks.
        let batch: Vec<PartnerOutcome> = (0..30)
            .map(|i| PartnerOutcome {
                partner_id: id,
                outcome: if (10..20).contains(&i) {
                    CheckOutcome::failed(at(i * 60), ErrorClass::TimedOut, "no answer", 10_000)
                } else {
                    CheckOutcome::ok(at(i * 60), 100 + i as u32)
                },
            })
            .collect();
        writer.record(&batch).unwrap();
        let history = HealthHistory::new(registry.store().conn());
        let c = history
            .timeline_chart(id, "p".into(), at(-3_600), at(1_800), at(1_800), Size::WIDE)
            .unwrap()
            .expect("a chart");
        let states: Vec<Band> = c.bands.iter().map(|b| b.2).collect();
        assert_eq!(
            states,
            [Band::Unknown, Band::Healthy, Band::Unhealthy, Band::Healthy]
        );
        assert_eq!(
            c.bands[0].0,
            at(-3_600),
            "the range starts before the first check"
        );
        assert_eq!(c.bands.last().unwrap().1, at(1_800));
        assert_eq!(c.latency.len(), 30);
        assert_eq!(c.latency.iter().filter(|(_, v)| v.is_none()).count(), 10);
        // An hour before any check: nothing to draw.
        let none = history
            .timeline_chart(
                id,
                "p".into(),
                at(-7_200),
                at(-3_600),
                at(1_800),
                Size::WIDE,
            )
            .unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn a_range_with_no_check_and_no_known_state_has_nothing_to_draw() {
        assert_eq!(chart(0, 3_600, None, &[], &Series::Samples(vec![])), None);
        assert_eq!(
            chart(0, 86_400 * 90, None, &[], &Series::Rollups(vec![])),
            None
        );
        // Only failures and no state known yet: still nothing to draw a line or band from.
        let failed = vec![sample(60, 10_000, SampleOutcome::Failed)];
        assert_eq!(chart(0, 3_600, None, &[], &Series::Samples(failed)), None);
        // A known state with no check in the range (paused all along) is drawn as its band.
        let prior = change(1, -60, HealthState::Healthy, HealthState::Paused);
        let c = chart(0, 3_600, Some(&prior), &[], &Series::Samples(vec![])).unwrap();
        assert_eq!(c.bands, vec![(at(0), at(3_600), Band::Paused)]);
        assert!(c.latency.is_empty());
    }
}
