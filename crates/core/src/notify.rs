//! The notification policy: which health transitions raise a desktop notification, and with
//! what words. Pure and deterministic: no storage, no clock of its own (every call takes
//! `now`), no I/O. The desktop shell feeds it the transitions `HealthWriter::record` returns
//! and shows what comes out.
//!
//! The rules:
//! - A partner going **unhealthy** notifies, unless one of its ancestors (following
//!   `depends_on` upwards) is unhealthy too. Then it is recorded as *suppressed* under the
//!   root cause (the topmost unhealthy ancestor): one notification per root cause, the
//!   children keep recording their own health but stay quiet.
//! - A partner that depends on another and goes down while no ancestor is unhealthy waits
//!   [`NotificationPolicy::dependency_grace`] before it is announced: its parent is checked
//!   on its own schedule and often fails a moment later. If an ancestor goes unhealthy within
//!   the grace, the child is suppressed under it; if the child recovers first, nothing is
//!   said; otherwise [`Notifier::tick`] announces it when the grace ends. The same grace
//!   applies when the root cause recovers before its children do.
//! - When a partner recovers, the partners suppressed under it are looked at again: those
//!   still unhealthy on their own (or under another unhealthy ancestor) notify individually
//!   (or move under that ancestor); those that recovered too are dropped silently.
//! - **Recoveries always notify, for every partner whose down was announced.** A partner whose
//!   down was suppressed does not announce its recovery: nobody was told it was down, and
//!   its root cause's recovery already says the outage is over. (Its recovery is still in the
//!   health history.) A recovery into `paused` or `maintenance` notifies too: the alert ends.
//! - `degraded` notifies only with [`NotificationPolicy::notify_degraded`]; otherwise a move
//!   from unhealthy to degraded is a recovery. Only an *unhealthy* ancestor suppresses.
//!   A change between degraded and unhealthy of an announced partner notifies again as
//!   [`NotificationKind::Down`] with the new state; its outage keeps its first `since`.
//! - With [`NotificationPolicy::resend_every`], [`Notifier::tick`] resends `still_down` for
//!   each announced partner on a fixed cadence from when it was announced (at most one per
//!   tick, no catch-up burst).
//! - During [`QuietHours`] nothing is raised. The first call (a transition or a tick) after
//!   they end returns one [`NotificationKind::SuppressedDigest`] listing the partners that
//!   went down meanwhile and are down now, and those that recovered meanwhile.
//!
//! Dependency cycles (which the registry should refuse, but a workspace file may hold) never
//! hang the walk. Inside a cycle the root cause is the unhealthy member with the smallest
//! name, so exactly one member of an all-unhealthy cycle notifies, whatever the order of the
//! transitions.
//!
//! The [`PartnerGraph`] passed with each transition must already show the states *after* the
//! batch the transition came from (parents and children that changed together), which is what
//! makes the outcome independent of the order within a batch.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::health::Transition;
use crate::health_state::HealthState;
use crate::model::Partner;

/// A daily period, on the wall clock of `time_zone`, when nothing is raised. `[start, end)`;
/// it wraps midnight when `end` is before `start` (22:00–07:00). `start == end` is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub time_zone: Tz,
}

impl QuietHours {
    /// Whether `at` falls inside the quiet hours, read on the local wall clock (so daylight
    /// saving moves them in UTC, as a person expects).
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone).time();
        if self.start <= self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

/// The user's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPolicy {
    /// Resend `still_down` this often while an announced partner stays down; `None`: never.
    pub resend_every: Option<StdDuration>,
    /// When to raise nothing and summarise afterwards; `None`: never quiet.
    pub quiet_hours: Option<QuietHours>,
    /// Whether `degraded` notifies like `unhealthy` (default: no).
    #[serde(default)]
    pub notify_degraded: bool,
    /// How long a partner with a parent waits, when it goes down while its ancestors are not
    /// unhealthy, for one of them to turn out to be the root cause; `None`: no wait.
    #[serde(default)]
    pub dependency_grace: Option<StdDuration>,
}

/// The wait for a parent when the settings do not say (`notifications.dependency_grace_secs`).
pub const DEFAULT_DEPENDENCY_GRACE: StdDuration = StdDuration::from_secs(60);

impl NotificationPolicy {
    /// The policy the workspace settings describe (`notifications.*`, see
    /// [`crate::workspace::SETTINGS`]); absent settings take the defaults (no resend, never
    /// quiet, degraded silent). A stored value that does not parse is an error naming it.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> crate::Result<NotificationPolicy> {
        let mut policy = NotificationPolicy {
            dependency_grace: Some(DEFAULT_DEPENDENCY_GRACE),
            ..NotificationPolicy::default()
        };
        let mut quiet = None;
        let mut zone = Tz::UTC;
        for (key, value) in settings {
            match key {
                "notifications.resend_minutes" => {
                    crate::workspace::validate_setting(key, value)?;
                    let minutes: u64 = value.parse().unwrap_or(0);
                    policy.resend_every =
                        (minutes > 0).then(|| StdDuration::from_secs(minutes * 60));
                }
                "notifications.dependency_grace_secs" => {
                    crate::workspace::validate_setting(key, value)?;
                    let secs: u64 = value.parse().unwrap_or(0);
                    policy.dependency_grace = (secs > 0).then(|| StdDuration::from_secs(secs));
                }
                "notifications.degraded" => {
                    crate::workspace::validate_setting(key, value)?;
                    policy.notify_degraded = value == "1";
                }
                "notifications.quiet_hours" => {
                    quiet = crate::workspace::parse_daily_period(key, value)?;
                }
                "notifications.time_zone" => {
                    zone = crate::sla::parse_time_zone(key, value)?;
                }
                _ => {}
            }
        }
        policy.quiet_hours = quiet.map(|(start, end)| QuietHours {
            start,
            end,
            time_zone: zone,
        });
        Ok(policy)
    }

    fn alerting(&self, state: HealthState) -> bool {
        state == HealthState::Unhealthy || (self.notify_degraded && state == HealthState::Degraded)
    }

    fn quiet(&self, now: DateTime<Utc>) -> bool {
        self.quiet_hours.is_some_and(|q| q.contains(now))
    }

    fn dependency_grace(&self) -> Option<Duration> {
        self.dependency_grace
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| *d > Duration::zero())
    }

    fn resend_every(&self) -> Option<Duration> {
        self.resend_every
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| *d > Duration::zero())
    }
}

/// What the notifier needs to know about the partners: who depends on whom, and where each
/// stands now (after the batch being fed).
pub trait PartnerGraph {
    /// The name of the partner `partner` depends on, if any.
    fn parent_of(&self, partner: &str) -> Option<String>;
    /// The partner's current shown state (`unknown` for a name it does not know).
    fn state_of(&self, partner: &str) -> HealthState;
}

/// A [`PartnerGraph`] kept in memory: parents from the registry, states from the health
/// writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerView {
    nodes: BTreeMap<String, (Option<String>, HealthState)>,
}

impl PartnerView {
    pub fn new() -> Self {
        PartnerView::default()
    }

    /// The registry's partners with their `depends_on`, every state `unknown`.
    pub fn from_partners(partners: &[Partner]) -> Self {
        let mut view = PartnerView::new();
        for partner in partners {
            view.set_parent(&partner.name, partner.depends_on.clone());
        }
        view
    }

    /// Adds a partner (builder style).
    pub fn with(mut self, name: &str, parent: Option<&str>, state: HealthState) -> Self {
        self.nodes
            .insert(name.to_string(), (parent.map(str::to_string), state));
        self
    }

    pub fn set_parent(&mut self, name: &str, parent: Option<String>) {
        self.nodes.entry(name.to_string()).or_default().0 = parent;
    }

    pub fn set_state(&mut self, name: &str, state: HealthState) {
        self.nodes.entry(name.to_string()).or_default().1 = state;
    }
}

impl PartnerGraph for PartnerView {
    fn parent_of(&self, partner: &str) -> Option<String> {
        self.nodes
            .get(partner)
            .and_then(|(parent, _)| parent.clone())
    }

    fn state_of(&self, partner: &str) -> HealthState {
        self.nodes
            .get(partner)
            .map(|(_, state)| *state)
            .unwrap_or_default()
    }
}

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A partner went down (or, having been announced, changed between degraded and
    /// unhealthy).
    Down,
    /// An announced partner is no longer down.
    Recovered,
    /// An announced partner is still down (the resend cadence).
    StillDown,
    /// What happened during quiet hours, raised when they end.
    SuppressedDigest,
}

/// One native notification to raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The partner's name; `None` for the digest, which covers several.
    pub partner: Option<String>,
    pub kind: NotificationKind,
    /// The partner's state (for the digest: unhealthy if anything listed is down now).
    pub state: HealthState,
    /// The health machine's reason, as recorded.
    pub reason: String,
    /// The title line, such as "Databricks Prod is unhealthy".
    pub summary: String,
    /// The text: the reason and since when, or how long the outage lasted.
    pub body: String,
    /// When it was produced.
    pub at: DateTime<Utc>,
}

/// One partner the notifier considers down.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outage {
    state: HealthState,
    reason: String,
    since: DateTime<Utc>,
    /// `Some(root)` while suppressed under that root cause; `None` once announced.
    suppressed_under: Option<String>,
    /// When the next `still_down` is due (announced partners with a resend cadence).
    next_resend: Option<DateTime<Utc>>,
    /// While waiting for an ancestor to turn out to be the root cause (or, after the root
    /// cause recovered, for the partner to follow it): until when.
    waiting_until: Option<DateTime<Utc>>,
    /// Said when the wait ends in an announcement.
    note: Option<String>,
}

impl Outage {
    /// Whether its down was told (neither suppressed nor still waiting for its parent).
    fn announced(&self) -> bool {
        self.suppressed_under.is_none() && self.waiting_until.is_none()
    }
}

/// What quiet hours have held back, by partner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Held {
    touched: BTreeSet<String>,
    /// Outage durations of announced partners that recovered while quiet.
    recovered: BTreeMap<String, Duration>,
}

/// The notification state machine: feed it transitions and ticks, raise what it returns.
#[derive(Debug, Clone)]
pub struct Notifier {
    policy: NotificationPolicy,
    outages: BTreeMap<String, Outage>,
    held: Held,
}

impl Notifier {
    pub fn new(policy: NotificationPolicy) -> Self {
        Notifier {
            policy,
            outages: BTreeMap::new(),
            held: Held::default(),
        }
    }

    pub fn policy(&self) -> &NotificationPolicy {
        &self.policy
    }

    /// Replaces the settings; outages and held events are kept.
    pub fn set_policy(&mut self, policy: NotificationPolicy) {
        self.policy = policy;
    }

    /// The partners down but suppressed, each with its root cause, by name.
    pub fn suppressed(&self) -> Vec<(String, String)> {
        self.outages
            .iter()
            .filter_map(|(name, o)| o.suppressed_under.clone().map(|root| (name.clone(), root)))
            .collect()
    }

    /// The partners whose down was announced and who are not back yet, by name.
    pub fn announced(&self) -> Vec<String> {
        self.outages
            .iter()
            .filter(|(_, o)| o.announced())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The partners down and waiting for their parent (see
    /// [`NotificationPolicy::dependency_grace`]), by name.
    pub fn waiting(&self) -> Vec<String> {
        self.outages
            .iter()
            .filter(|(_, o)| o.waiting_until.is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Feeds a batch of transitions (`(partner, transition)`) recorded together; `graph`
    /// shows the states after the batch.
    pub fn on_transitions(
        &mut self,
        batch: &[(String, Transition)],
        graph: &impl PartnerGraph,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        for (partner, transition) in batch {
            out.extend(self.on_transition(partner, transition, graph, now));
        }
        out
    }

    /// Feeds one transition of `partner`; `graph` shows the states after it (and after the
    /// rest of its batch).
    pub fn on_transition(
        &mut self,
        partner: &str,
        transition: &Transition,
        graph: &impl PartnerGraph,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        self.flush_digest(now, &mut out);
        if self.policy.alerting(transition.to) {
            self.went_down(partner, transition, graph, now, &mut out);
            // It may be the root cause partners waiting below it were waiting for.
            self.adopt_waiting(graph);
        } else if let Some(outage) = self.outages.remove(partner) {
            if outage.announced() {
                let n = recovered(partner, &outage, transition, now);
                let lasted = transition.at - outage.since;
                self.emit(n, Some(lasted), now, &mut out);
            }
        }
        if transition.from == HealthState::Unhealthy && transition.to != HealthState::Unhealthy {
            // Its children may be waiting on it (also when it was down before this notifier
            // started and so has no outage here).
            self.release(partner, graph, now, &mut out);
        }
        out
    }

    /// Advances time: the digest once quiet hours are over, and `still_down` resends.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Notification> {
        let mut out = Vec::new();
        self.flush_digest(now, &mut out);
        self.end_waits(now, &mut out);
        let Some(every) = self.policy.resend_every() else {
            return out;
        };
        let mut due = Vec::new();
        for (name, outage) in &mut self.outages {
            let Some(next) = outage.next_resend else {
                continue;
            };
            if now < next {
                continue;
            }
            let mut following = next;
            while following <= now {
                following += every;
            }
            outage.next_resend = Some(following);
            due.push(still_down(name, outage, now));
        }
        for n in due {
            self.emit(n, None, now, &mut out);
        }
        out
    }

    fn went_down(
        &mut self,
        partner: &str,
        transition: &Transition,
        graph: &impl PartnerGraph,
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        if let Some(outage) = self.outages.get_mut(partner) {
            // Already down: a change between degraded and unhealthy.
            outage.state = transition.to;
            outage.reason = transition.reason.clone();
            if outage.announced() {
                let n = down(partner, outage, None, now);
                self.emit(n, None, now, out);
            }
            return;
        }
        let outage = Outage {
            state: transition.to,
            reason: transition.reason.clone(),
            since: transition.at,
            suppressed_under: None,
            next_resend: None,
            waiting_until: None,
            note: None,
        };
        self.outages.insert(partner.to_string(), outage);
        let grace = self.policy.dependency_grace();
        match grace {
            Some(grace)
                if graph.parent_of(partner).is_some() && root_cause(partner, graph).is_none() =>
            {
                if let Some(outage) = self.outages.get_mut(partner) {
                    outage.waiting_until = Some(now + grace);
                }
            }
            _ => self.settle(partner, graph, now, None, out),
        }
    }

    /// Puts the partners waiting for their parent under the root cause that has appeared.
    fn adopt_waiting(&mut self, graph: &impl PartnerGraph) {
        for (name, outage) in &mut self.outages {
            if outage.waiting_until.is_some() {
                if let Some(root) = root_cause(name, graph) {
                    outage.waiting_until = None;
                    outage.suppressed_under = Some(root);
                }
            }
        }
    }

    /// Announces the partners whose wait for a root cause is over without one appearing.
    fn end_waits(&mut self, now: DateTime<Utc>, out: &mut Vec<Notification>) {
        let every = self.policy.resend_every();
        let mut due = Vec::new();
        for (name, outage) in &mut self.outages {
            if outage.waiting_until.is_some_and(|until| until <= now) {
                outage.waiting_until = None;
                outage.next_resend = every.map(|every| now + every);
                let note = outage.note.take();
                due.push(down(name, outage, note, now));
            }
        }
        for n in due {
            self.emit(n, None, now, out);
        }
    }

    /// Decides whether an outage is suppressed (and under whom) or announced now.
    fn settle(
        &mut self,
        partner: &str,
        graph: &impl PartnerGraph,
        now: DateTime<Utc>,
        note: Option<String>,
        out: &mut Vec<Notification>,
    ) {
        let root = root_cause(partner, graph);
        let every = self.policy.resend_every();
        let Some(outage) = self.outages.get_mut(partner) else {
            return;
        };
        match root {
            Some(root) => outage.suppressed_under = Some(root),
            None => {
                outage.suppressed_under = None;
                outage.waiting_until = None;
                outage.next_resend = every.map(|every| now + every);
                let n = down(partner, outage, note, now);
                self.emit(n, None, now, out);
            }
        }
    }

    /// Looks again at the outages suppressed under `root`, which is no longer unhealthy.
    fn release(
        &mut self,
        root: &str,
        graph: &impl PartnerGraph,
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        let waiting: Vec<String> = self
            .outages
            .iter()
            .filter(|(_, o)| o.suppressed_under.as_deref() == Some(root))
            .map(|(name, _)| name.clone())
            .collect();
        let grace = self.policy.dependency_grace();
        for name in waiting {
            if self.policy.alerting(graph.state_of(&name)) {
                let note = format!("It is still down after {root} recovered.");
                match (grace, root_cause(&name, graph)) {
                    // Children checked on their own schedules follow their parent back a
                    // moment later: give them the grace before saying they are down.
                    (Some(grace), None) => {
                        if let Some(outage) = self.outages.get_mut(&name) {
                            outage.suppressed_under = None;
                            outage.waiting_until = Some(now + grace);
                            outage.note = Some(note);
                        }
                    }
                    _ => self.settle(&name, graph, now, Some(note), out),
                }
            } else {
                // Recovered too (its own transition may come later in the batch): its down
                // was never announced, so neither is its recovery.
                self.outages.remove(&name);
            }
        }
    }

    /// Raises `n`, or holds it for the digest during quiet hours; `lasted` is the outage a
    /// recovery ends.
    fn emit(
        &mut self,
        n: Notification,
        lasted: Option<Duration>,
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        if !self.policy.quiet(now) {
            out.push(n);
            return;
        }
        if let Some(partner) = &n.partner {
            self.held.touched.insert(partner.clone());
            if let (NotificationKind::Recovered, Some(lasted)) = (n.kind, lasted) {
                self.held.recovered.insert(partner.clone(), lasted);
            } else {
                self.held.recovered.remove(partner);
            }
        }
    }

    fn flush_digest(&mut self, now: DateTime<Utc>, out: &mut Vec<Notification>) {
        if self.policy.quiet(now) || self.held.touched.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        let mut down_now = Vec::new();
        let mut back = Vec::new();
        for name in &held.touched {
            match self.outages.get(name) {
                Some(o) if o.announced() => down_now.push(format!(
                    "{name} is {} since {}: {}",
                    o.state,
                    stamp(o.since),
                    o.reason
                )),
                _ => {
                    if let Some(lasted) = held.recovered.get(name) {
                        back.push(format!(
                            "{name} recovered after {}",
                            human_duration(*lasted)
                        ));
                    }
                }
            }
        }
        if down_now.is_empty() && back.is_empty() {
            return;
        }
        let mut body = Vec::new();
        if !down_now.is_empty() {
            body.push("Down now:".to_string());
            body.extend(down_now.iter().map(|line| format!("- {line}")));
        }
        if !back.is_empty() {
            body.push("Recovered meanwhile:".to_string());
            body.extend(back.iter().map(|line| format!("- {line}")));
        }
        let summary = format!(
            "During quiet hours: {} down, {} recovered",
            down_now.len(),
            back.len()
        );
        let state = if down_now.is_empty() {
            HealthState::Healthy
        } else {
            HealthState::Unhealthy
        };
        out.push(Notification {
            partner: None,
            kind: NotificationKind::SuppressedDigest,
            state,
            reason: "quiet hours ended".into(),
            summary,
            body: body.join("\n"),
            at: now,
        });
    }
}

/// The root cause that suppresses `partner`: its topmost unhealthy ancestor, or `None` when
/// no ancestor is unhealthy. Each partner is visited once, so a cycle ends the walk; inside a
/// cycle the root is the unhealthy member with the smallest name (none if that is `partner`).
fn root_cause(partner: &str, graph: &impl PartnerGraph) -> Option<String> {
    let unhealthy = |name: &&String| graph.state_of(name) == HealthState::Unhealthy;
    let mut path: Vec<String> = Vec::new();
    let mut current = partner.to_string();
    while let Some(parent) = graph.parent_of(&current) {
        if parent == partner {
            // `partner` is on a cycle, and every ancestor is in it.
            let smallest = path.iter().filter(unhealthy).min();
            return smallest.filter(|s| s.as_str() < partner).cloned();
        }
        if let Some(pos) = path.iter().position(|p| *p == parent) {
            // The walk ran into a cycle above `partner`.
            if let Some(root) = path[pos..].iter().filter(unhealthy).min() {
                return Some(root.clone());
            }
            return path[..pos].iter().rev().find(unhealthy).cloned();
        }
        path.push(parent.clone());
        current = parent;
    }
    path.iter().rev().find(unhealthy).cloned()
}

fn down(partner: &str, o: &Outage, note: Option<String>, now: DateTime<Utc>) -> Notification {
    let mut body = format!(
        "{}\n{} since {}.",
        o.reason,
        capitalised(o.state.as_str()),
        stamp(o.since)
    );
    if let Some(note) = note {
        body.push(' ');
        body.push_str(&note);
    }
    Notification {
        partner: Some(partner.to_string()),
        kind: NotificationKind::Down,
        state: o.state,
        reason: o.reason.clone(),
        summary: format!("{partner} is {}", o.state),
        body,
        at: now,
    }
}

fn still_down(partner: &str, o: &Outage, now: DateTime<Utc>) -> Notification {
    Notification {
        partner: Some(partner.to_string()),
        kind: NotificationKind::StillDown,
        state: o.state,
        reason: o.reason.clone(),
        summary: format!("{partner} is still {}", o.state),
        body: format!(
            "{} for {} (since {}).\n{}",
            capitalised(o.state.as_str()),
            human_duration(now - o.since),
            stamp(o.since),
            o.reason
        ),
        at: now,
    }
}

fn recovered(partner: &str, o: &Outage, t: &Transition, now: DateTime<Utc>) -> Notification {
    let summary = match t.to {
        HealthState::Paused => format!("{partner} is paused"),
        HealthState::Maintenance => format!("{partner} is in maintenance"),
        HealthState::Degraded => format!("{partner} recovered, but is degraded"),
        _ => format!("{partner} recovered"),
    };
    Notification {
        partner: Some(partner.to_string()),
        kind: NotificationKind::Recovered,
        state: t.to,
        reason: t.reason.clone(),
        summary,
        body: format!(
            "{} for {} (from {} to {}).\n{}",
            capitalised(o.state.as_str()),
            human_duration(t.at - o.since),
            stamp(o.since),
            stamp(t.at),
            t.reason
        ),
        at: now,
    }
}

/// An instant for people: `2025-06-15 14:05:00 UTC`.
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A duration for people: `45 s`, `12 min`, `1 h 5 min`, `2 d 3 h`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}
