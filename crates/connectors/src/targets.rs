//! What the health poller polls, and how a running poller follows the registry.
//!
//! - [`load_targets`]: the partners to poll (active and not paused), each with its credential
//!   from the keyring and, for http partners, its stored check.
//! - [`RegistryWatch`]: a cheap change detector. Every registry mutation (a partner added,
//!   changed, activated, paused or resumed, a credential set, a check file stored...) writes
//!   an `audit_log` row in its own transaction, and the log is append-only, so a new
//!   `max(id)` means something changed. One indexed lookup per check, whichever process made
//!   the change.
//! - [`follow_registry`]: the loop `ecosystem poll` and the desktop app run beside the poller:
//!   every `period` it asks the watch, and on a change reloads the targets and hands them to
//!   [`PollerHandle::reload`] (which only rebuilds what changed).

use std::time::Duration;

use ecosystem_core::{Lifecycle, PartnerFilter, PartnerKind, Registry, Result, Store};
use tokio_util::sync::CancellationToken;

use crate::poller::{PollTarget, PollerHandle};

/// The partners to poll: active and not paused, with their credentials and stored checks. A
/// credential the keyring cannot give is logged and the partner polled without it (its checks
/// then say why).
pub fn load_targets(registry: &Registry) -> Result<Vec<PollTarget>> {
    let partners = registry.list_partners(&PartnerFilter {
        lifecycle: Some(Lifecycle::Active),
        ..PartnerFilter::default()
    })?;
    let paused = registry.paused_partner_ids()?;
    let mut targets = Vec::with_capacity(partners.len());
    for partner in partners {
        if paused.contains(&partner.id) {
            tracing::debug!(partner = %partner.name, "paused; not polled");
            continue;
        }
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
        targets.push(PollTarget {
            partner,
            credential,
            stored_check,
        });
    }
    Ok(targets)
}

/// Notices registry changes made by any process: remembers the audit log's highest id.
///
/// Take it *before* loading the targets it guards, so a change made in between is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryWatch {
    seen: i64,
}

impl RegistryWatch {
    /// A watch that has seen everything recorded so far.
    pub fn new(store: &Store) -> Result<RegistryWatch> {
        Ok(RegistryWatch {
            seen: latest_audit_id(store)?,
        })
    }

    /// The audit id last seen (0 when the log was empty).
    pub fn seen(&self) -> i64 {
        self.seen
    }

    /// The newest audit id when it is not the one seen; the watch itself does not move (see
    /// [`RegistryWatch::mark_seen`]), so a reload that fails can be tried again.
    pub fn check(&self, store: &Store) -> Result<Option<i64>> {
        let latest = latest_audit_id(store)?;
        Ok((latest != self.seen).then_some(latest))
    }

    pub fn mark_seen(&mut self, id: i64) {
        self.seen = id;
    }

    /// True (once) when the registry changed since the last call.
    pub fn changed(&mut self, store: &Store) -> Result<bool> {
        match self.check(store)? {
            Some(latest) => {
                self.seen = latest;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fn latest_audit_id(store: &Store) -> Result<i64> {
    Ok(store
        .conn()
        .query_row("SELECT coalesce(max(id), 0) FROM audit_log", [], |r| {
            r.get(0)
        })?)
}

/// What [`follow_registry`] carries between its blocking steps.
struct Follower {
    registry: Registry,
    watch: RegistryWatch,
}

impl Follower {
    /// The new targets when the registry changed.
    fn step(&mut self) -> Result<Option<Vec<PollTarget>>> {
        let Some(latest) = self.watch.check(self.registry.store())? else {
            return Ok(None);
        };
        let targets = load_targets(&self.registry)?;
        self.watch.mark_seen(latest);
        Ok(Some(targets))
    }
}

/// Keeps a running poller in step with the registry until `cancel` fires or the poller stops:
/// every `period` it asks `watch` whether anything changed and, if so, reloads the targets
/// from `registry` and passes them to `handle.reload` (then to `on_reload`, for a message or
/// a UI event). The database and keyring work runs on the blocking pool. A failed check or
/// load is logged and tried again at the next period.
///
/// `registry` is only read; open one of its own (`Registry::open(db)`). Take `watch` before
/// loading the poller's first targets, so nothing changed in between is missed.
pub async fn follow_registry(
    registry: Registry,
    watch: RegistryWatch,
    handle: PollerHandle,
    period: Duration,
    cancel: CancellationToken,
    mut on_reload: impl FnMut(&[PollTarget]) + Send + 'static,
) {
    let mut follower = Some(Follower { registry, watch });
    let mut ticks = tokio::time::interval(period.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: the caller has just loaded the targets.
    ticks.tick().await;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let Some(mut f) = follower.take() else {
            return;
        };
        let stepped = tokio::task::spawn_blocking(move || {
            let result = f.step();
            (f, result)
        })
        .await;
        let (f, result) = match stepped {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "following the registry failed; the poller keeps its partners");
                return;
            }
        };
        follower = Some(f);
        match result {
            Ok(Some(targets)) => {
                if cancel.is_cancelled() {
                    return;
                }
                tracing::info!(
                    partners = targets.len(),
                    "the registry changed; reloading the poller"
                );
                on_reload(&targets);
                if !handle.reload(targets) {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the registry's changes; trying again")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ecosystem_core::{LifecycleAction, NewPartner, SystemClock};

    use super::*;
    use crate::poller::{HealthPoller, PlatformConnectors, PollOutcome, PollerConfig};

    fn registry_with(dir: &tempfile::TempDir, names: &[&str]) -> Registry {
        let mut reg = Registry::open(dir.path().join("e.db")).expect("open");
        for name in names {
            reg.add_partner(&NewPartner::new(
                *name,
                PartnerKind::Http,
                "http://127.0.0.1:9/health",
            ))
            .expect("add");
        }
        reg
    }

    fn names(targets: &[PollTarget]) -> Vec<String> {
        targets.iter().map(|t| t.partner.name.clone()).collect()
    }

    #[test]
    fn targets_are_the_active_partners_that_are_not_paused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut reg = registry_with(&dir, &["a", "b", "c"]);
        for name in ["a", "b"] {
            reg.change_lifecycle(name, LifecycleAction::Activate)
                .expect("activate");
        }
        assert_eq!(names(&load_targets(&reg).expect("load")), ["a", "b"]);
        reg.pause_partner("b", None).expect("pause");
        assert_eq!(names(&load_targets(&reg).expect("load")), ["a"]);
        reg.resume_partner("b", None).expect("resume");
        assert_eq!(names(&load_targets(&reg).expect("load")), ["a", "b"]);
    }

    #[test]
    fn the_watch_sees_each_change_once_whoever_made_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let reg = registry_with(&dir, &["a"]);
        let mut watch = RegistryWatch::new(reg.store()).expect("watch");
        assert!(!watch.changed(reg.store()).expect("check"), "nothing yet");
        // Another connection, as another process would have.
        let mut other = Registry::open(dir.path().join("e.db")).expect("open");
        other
            .change_lifecycle("a", LifecycleAction::Activate)
            .expect("activate");
        let latest = watch.check(reg.store()).expect("check");
        assert!(latest.is_some(), "a change is seen");
        assert_eq!(
            watch.check(reg.store()).expect("check"),
            latest,
            "check alone does not move the watch"
        );
        assert!(watch.changed(reg.store()).expect("check"));
        assert!(!watch.changed(reg.store()).expect("check"), "only once");
        other.pause_partner("a", None).expect("pause");
        assert!(watch.changed(reg.store()).expect("check"), "a pause too");
    }

    #[tokio::test]
    async fn following_the_registry_reloads_the_poller_on_each_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut reg = registry_with(&dir, &["a", "b"]);
        let watch = RegistryWatch::new(reg.store()).expect("watch");
        let (sink, _outcomes) = tokio::sync::mpsc::unbounded_channel::<PollOutcome>();
        let (poller, handle) = HealthPoller::new(
            PollerConfig::default(),
            Arc::new(PlatformConnectors),
            Arc::new(sink),
            Arc::new(SystemClock),
        );
        let cancel = CancellationToken::new();
        let (reloads, mut reloaded) = tokio::sync::mpsc::unbounded_channel();
        let following = tokio::spawn(follow_registry(
            Registry::open(dir.path().join("e.db")).expect("open"),
            watch,
            handle,
            Duration::from_millis(20),
            cancel.clone(),
            move |targets| {
                let _ = reloads.send(names(targets));
            },
        ));
        let polling = tokio::spawn(poller.run(Vec::new(), cancel.clone()));

        reg.change_lifecycle("a", LifecycleAction::Activate)
            .expect("activate");
        assert_eq!(reloaded.recv().await.expect("a reload"), ["a"]);
        reg.change_lifecycle("b", LifecycleAction::Activate)
            .expect("activate");
        assert_eq!(reloaded.recv().await.expect("a reload"), ["a", "b"]);
        reg.pause_partner("a", Some("testing")).expect("pause");
        assert_eq!(reloaded.recv().await.expect("a reload"), ["b"]);

        cancel.cancel();
        following.await.expect("the follower stops");
        polling.await.expect("the poller stops");
    }
}
