//! Health inside the desktop app, on a thread of its own with its own connections:
//!
//! - **the poller** (unless the workspace setting `health.poll_in_app` is `0`): the same
//!   [`HealthPoller`] and health writer as `ecosystem poll`, following the registry while it
//!   runs (partners added, activated, paused or given a credential, by the app or the CLI);
//! - **the feed**: every recorded health change, whichever process recorded it (this poller or
//!   an `ecosystem poll` beside it), is read back from the database in order, published to
//!   the window as [`HealthChanged`] (the catalogue and the partner page refresh from it) and
//!   given to the core's [`Notifier`], whose notifications go to the desktop
//!   (see [`crate::notifications`]). The notifier's resends and quiet-hours digest are driven
//!   by a tick; its settings are re-read from the workspace on every pass, so a change in the
//!   settings applies without a restart.
//!
//! - **usage**: the daily collection of each partner's platform figures and the app's own
//!   call counters (`ecosystem_connectors::usage::spawn_usage_service`), when the app polls;
//! - **contract alerts**: every few minutes the due expiry stages are raised
//!   (`contract_alerts::raise_due`) and each alert not yet notified, by this process or the
//!   CLI, becomes one native notification; [`ContractAlertsChanged`] tells the window to update
//!   its badge.
//!
//! [`HealthService::stop`] cancels everything and waits until the last outcomes are written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ecosystem_connectors::poller::{
    HealthPoller, HealthWriterSink, PlatformConnectors, PollerConfig, WriterBatching,
};
use ecosystem_connectors::{targets, usage};
use ecosystem_core::contract_alerts;
use ecosystem_core::health_state::HealthState;
use ecosystem_core::health_store::{HealthHistory, HealthWriter, PartnerTransition};
use ecosystem_core::notify::{NotificationPolicy, Notifier, PartnerView};
use ecosystem_core::{Clock, PartnerFilter, Registry, Result, Store, SystemClock};
use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_specta::Event;
use tokio_util::sync::CancellationToken;

use crate::notifications;

/// Health changes just recorded, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct HealthChanged {
    pub changes: Vec<HealthChange>,
}

/// One partner's change of state.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct HealthChange {
    pub partner: String,
    pub from: HealthState,
    pub to: HealthState,
    pub reason: String,
    /// RFC 3339, UTC.
    pub at: String,
}

impl From<&PartnerTransition> for HealthChange {
    fn from(t: &PartnerTransition) -> Self {
        HealthChange {
            partner: t.partner.clone(),
            from: t.transition.from,
            to: t.transition.to,
            reason: t.transition.reason.clone(),
            at: t.transition.at.to_rfc3339(),
        }
    }
}

/// The open contract alerts changed (raised now, or by another process); the badge's count.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ContractAlertsChanged {
    pub open: u32,
}

/// How often contract alerts are looked at (they move by days; the first look is at start).
const ALERTS_EVERY: Duration = Duration::from_secs(300);

/// How often the feed looks for new changes, and how often the notifier ticks.
const FEED_EVERY: Duration = Duration::from_millis(500);
const TICK_EVERY: Duration = Duration::from_secs(1);
/// How often the poller looks for registry changes made elsewhere.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// Changes read per pass (more wait for the next pass, in order).
const FEED_BATCH: u32 = 500;

/// The running service; stop it before the process exits so nothing recorded is lost.
pub struct HealthService {
    cancel: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HealthService {
    /// Starts the poller (unless turned off in the settings) and the feed on `db`.
    pub fn start(app: AppHandle, db: PathBuf) -> std::io::Result<HealthService> {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("health".into())
            .spawn(move || {
                if let Err(e) = run(app, &db, token) {
                    tracing::error!(error = %e, "the health service stopped");
                }
            })?;
        Ok(HealthService {
            cancel,
            thread: Some(thread),
        })
    }

    /// Cancels the poller and the feed and waits for the last outcomes to be written.
    pub fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the health service panicked");
            }
        }
    }
}

impl Drop for HealthService {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(app: AppHandle, db: &Path, cancel: CancellationToken) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ecosystem_core::Error::Io {
            context: "cannot start the health runtime".into(),
            source: e,
        })?;
    let registry = Registry::open(db)?;
    let poll_in_app = registry.setting("health.poll_in_app")?.as_deref() != Some("0");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    // The writer thread outlives the poller: it drains what the last checks reported.
    let writer_thread = if poll_in_app {
        let writer = HealthWriter::new(Store::open(db)?);
        let (sink, writer_thread) =
            HealthWriterSink::spawn(writer, clock.clone(), WriterBatching::default(), |_| {})
                .map_err(|e| ecosystem_core::Error::Io {
                    context: "cannot start the health writer".into(),
                    source: e,
                })?;
        let (poller, handle) = HealthPoller::new(
            PollerConfig::default(),
            Arc::new(PlatformConnectors),
            Arc::new(sink),
            clock.clone(),
        );
        // Watch first, then load: a change in between is picked up at the first look.
        let follower = Registry::open(db)?;
        let watch = targets::RegistryWatch::new(follower.store())?;
        let initial = targets::load_targets(&registry)?;
        tracing::info!(partners = initial.len(), "polling health in the app");
        runtime.spawn(poller.run(initial, cancel.clone()));
        runtime.spawn(targets::follow_registry(
            follower,
            watch,
            handle,
            FOLLOW_EVERY,
            cancel.clone(),
            |_| {},
        ));
        Some(writer_thread)
    } else {
        tracing::info!("health.poll_in_app is 0: showing what another poller records");
        None
    };
    // Usage is collected by whoever polls: once a day per partner, plus the app's own call
    // counters (see ecosystem_connectors::usage).
    let usage_thread = if poll_in_app {
        match usage::spawn_usage_service(
            db.to_path_buf(),
            usage::CollectPolicy::default(),
            usage::ServiceTimes::default(),
            cancel.clone(),
            |c| match &c.error {
                Some(e) => tracing::warn!(partner = %c.partner, error = %e, "usage not collected"),
                None => {
                    tracing::info!(partner = %c.partner, records = c.records, "usage collected")
                }
            },
        ) {
            Ok(thread) => Some(thread),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the usage collection");
                None
            }
        }
    } else {
        None
    };

    let feed = Feed::new(app, Registry::open(db)?, clock)?;
    runtime.block_on(feed.run(cancel));
    // Let the poller's tasks see the cancellation and drop their sinks.
    drop(runtime);
    if let Some(thread) = usage_thread {
        if thread.join().is_err() {
            tracing::error!("the usage collection panicked");
        }
    }
    if let Some(writer) = writer_thread {
        let totals = writer.finish();
        tracing::info!(
            outcomes = totals.outcomes,
            transitions = totals.transitions,
            "health writer stopped"
        );
    }
    Ok(())
}

/// Reads recorded changes in order and publishes and notifies them.
struct Feed {
    app: AppHandle,
    registry: Registry,
    clock: Arc<dyn Clock>,
    notifier: Notifier,
    cursor: i64,
    /// The database's `data_version` when changes, and the tray and the settings, were last
    /// read: it moves only when another connection commits (the poller's writer, the app's
    /// commands, the CLI), so while it stands still there is nothing new to read.
    fed_at_version: Option<i64>,
    ticked_at_version: Option<i64>,
}

impl Feed {
    fn new(app: AppHandle, registry: Registry, clock: Arc<dyn Clock>) -> Result<Feed> {
        // Changes recorded before the app started are history, not news.
        let cursor = HealthHistory::new(registry.store().conn()).last_change_id()?;
        Ok(Feed {
            app,
            registry,
            clock,
            notifier: Notifier::new(NotificationPolicy::default()),
            cursor,
            fed_at_version: None,
            ticked_at_version: None,
        })
    }

    async fn run(mut self, cancel: CancellationToken) {
        let mut feed = tokio::time::interval(FEED_EVERY);
        feed.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = tokio::time::interval(TICK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut alerts = tokio::time::interval(ALERTS_EVERY);
        alerts.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = feed.tick() => {
                    if let Err(e) = self.pass() {
                        tracing::error!(error = %e, "health changes not read");
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.tick() {
                        tracing::error!(error = %e, "notification tick failed");
                    }
                }
                _ = alerts.tick() => {
                    if let Err(e) = self.contract_alerts() {
                        tracing::error!(error = %e, "contract alerts not raised");
                    }
                }
            }
        }
    }

    /// Publishes and notifies what was recorded since the last pass.
    fn pass(&mut self) -> Result<()> {
        let version = self.data_version();
        if version.is_some() && version == self.fed_at_version {
            return Ok(());
        }
        let changes = HealthHistory::new(self.registry.store().conn())
            .changes_after(self.cursor, FEED_BATCH)?;
        // A full batch may have more behind it: read again at the next pass.
        self.fed_at_version = if changes.len() < FEED_BATCH as usize {
            version
        } else {
            None
        };
        let Some((last, _)) = changes.last() else {
            return Ok(());
        };
        self.cursor = *last;
        let event = HealthChanged {
            changes: changes.iter().map(|(_, t)| HealthChange::from(t)).collect(),
        };
        if let Err(e) = event.emit(&self.app) {
            tracing::error!(error = %e, "cannot publish health changes to the window");
        }
        crate::tray::refresh(&self.app, &self.registry);
        self.refresh_policy();
        let graph = self.graph()?;
        let batch: Vec<_> = changes
            .into_iter()
            .map(|(_, t)| (t.partner, t.transition))
            .collect();
        let now = self.clock.now();
        for n in self.notifier.on_transitions(&batch, &graph, now) {
            notifications::raise(&self.app, n);
        }
        Ok(())
    }

    /// `PRAGMA data_version` of the feed's connection; `None` when it cannot be read (then
    /// everything is read as if it had moved).
    fn data_version(&self) -> Option<i64> {
        self.registry
            .store()
            .conn()
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .ok()
    }

    fn tick(&mut self) -> Result<()> {
        // Also catches partners added or removed (no health change); unchanged is not redrawn.
        // Nothing committed since the last tick: the tray and the settings are as they were,
        // and reading every partner's state again each second would be the idle app's work.
        let version = self.data_version();
        if version.is_none() || version != self.ticked_at_version {
            crate::tray::refresh(&self.app, &self.registry);
            self.refresh_policy();
            self.ticked_at_version = version;
        }
        for n in self.notifier.tick(self.clock.now()) {
            notifications::raise(&self.app, n);
        }
        Ok(())
    }

    /// Raises the due expiry stages and notifies every alert nobody was told about yet.
    fn contract_alerts(&mut self) -> Result<()> {
        let now = self.clock.now();
        contract_alerts::raise_due(&mut self.registry, now)?;
        let fresh = contract_alerts::take_unnotified(&mut self.registry, now)?;
        if fresh.is_empty() {
            return Ok(());
        }
        for alert in fresh {
            notifications::raise_contract_alert(&self.app, alert);
        }
        let open = contract_alerts::open_alert_count(&self.registry, now)?;
        let event = ContractAlertsChanged {
            open: u32::try_from(open).unwrap_or(u32::MAX),
        };
        if let Err(e) = event.emit(&self.app) {
            tracing::error!(error = %e, "cannot publish the contract alerts to the window");
        }
        Ok(())
    }

    /// The notification settings as they are now; a bad stored value keeps the last good
    /// policy (and says why).
    fn refresh_policy(&mut self) {
        let read = self.registry.settings().and_then(|settings| {
            NotificationPolicy::from_settings(
                settings.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
        });
        match read {
            Ok(policy) if &policy != self.notifier.policy() => self.notifier.set_policy(policy),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notification settings not applied"),
        }
    }

    /// Who depends on whom, and every partner's state now.
    fn graph(&self) -> Result<PartnerView> {
        let partners = self.registry.list_partners(&PartnerFilter::default())?;
        let mut view = PartnerView::from_partners(&partners);
        for badge in HealthHistory::new(self.registry.store().conn()).overview()? {
            view.set_state(&badge.partner, badge.state);
        }
        Ok(view)
    }
}
