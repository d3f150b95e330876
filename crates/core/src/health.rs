//! The health state machine: from each check outcome of a partner to its [`HealthState`], with
//! thresholds so that one blip does not page anyone. Pure functions, no storage and no clock:
//! the writer in `health_store` feeds them and persists what they return.
//!
//! The rules, per partner:
//! - A partner starts `unknown`. Its first successful check makes it `healthy` (or `degraded`)
//!   at once: there is no earlier trouble to recover from.
//! - A success is `degraded` when the platform says it is slow or a capability is failing,
//!   or when its latency is above the tier's threshold; otherwise `healthy`. Between healthy
//!   and degraded the state follows each success directly (degraded never pages).
//! - N consecutive failures (per tier) make it `unhealthy`; from there M consecutive
//!   successes (per tier) make it healthy or degraded again.
//! - **Retrying is neither up nor down.** A failure count below N keeps the previous state,
//!   and so does a success count below M while unhealthy. A partner that was healthy and
//!   just missed one check is most likely still healthy (timeouts, a dropped connection, a
//!   deploy on their side); calling it down would page people for noise and, as
//!   SLA time is weighted from transitions, charge downtime that nobody saw. Calling it up
//!   after one good answer in the middle of an outage would close and reopen incidents. So
//!   the state changes only when the evidence passes the threshold, and the transition is
//!   stamped with the check that passed it.
//! - `paused` and `maintenance` are set from outside (a person, or a maintenance window).
//!   While one holds, checks still count (the machine keeps the *observed* state and its
//!   counters) but the shown state stays paused/maintenance: no unhealthy transition, no
//!   page. When the hold ends, the shown state becomes the observed one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::health_state::HealthState;
use crate::integration::ErrorClass;
use crate::model::Tier;

/// What one check of a partner said, before thresholds are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "hint")]
pub enum CheckHint {
    /// The check passed.
    Ok,
    /// The check passed but the platform reports itself slow.
    Slow,
    /// The platform answered, but a capability it should have is failing.
    CapabilityFailing { reason: String },
    /// The check failed.
    Failed {
        error_class: ErrorClass,
        reason: String,
    },
}

/// One check of one partner: when, what it said, how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub at: DateTime<Utc>,
    pub state_hint: CheckHint,
    pub latency_ms: u32,
}

impl CheckOutcome {
    pub fn ok(at: DateTime<Utc>, latency_ms: u32) -> Self {
        CheckOutcome {
            at,
            state_hint: CheckHint::Ok,
            latency_ms,
        }
    }

    pub fn failed(
        at: DateTime<Utc>,
        error_class: ErrorClass,
        reason: impl Into<String>,
        latency_ms: u32,
    ) -> Self {
        CheckOutcome {
            at,
            state_hint: CheckHint::Failed {
                error_class,
                reason: reason.into(),
            },
            latency_ms,
        }
    }
}

/// How much evidence moves a partner's state, and when a success counts as slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Consecutive failed checks that make a partner unhealthy (N ≥ 1).
    pub failures_to_unhealthy: u32,
    /// Consecutive successful checks that bring an unhealthy partner back (M ≥ 1).
    pub successes_to_recover: u32,
    /// A successful check slower than this is degraded.
    pub degraded_latency_ms: u32,
}

impl Thresholds {
    /// The defaults: the more a partner matters, the sooner it is called down and the
    /// tighter its latency bar. Strategic 2/2 and 1 s, premium 3/2 and 2 s, standard 3/3
    /// and 3 s.
    pub const fn for_tier(tier: Tier) -> Thresholds {
        match tier {
            Tier::Strategic => Thresholds {
                failures_to_unhealthy: 2,
                successes_to_recover: 2,
                degraded_latency_ms: 1_000,
            },
            Tier::Premium => Thresholds {
                failures_to_unhealthy: 3,
                successes_to_recover: 2,
                degraded_latency_ms: 2_000,
            },
            Tier::Standard => Thresholds {
                failures_to_unhealthy: 3,
                successes_to_recover: 3,
                degraded_latency_ms: 3_000,
            },
        }
    }
}

/// Thresholds for every tier; [`HealthPolicy::default`] uses [`Thresholds::for_tier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthPolicy {
    pub strategic: Thresholds,
    pub premium: Thresholds,
    pub standard: Thresholds,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            strategic: Thresholds::for_tier(Tier::Strategic),
            premium: Thresholds::for_tier(Tier::Premium),
            standard: Thresholds::for_tier(Tier::Standard),
        }
    }
}

impl HealthPolicy {
    pub fn for_tier(&self, tier: Tier) -> Thresholds {
        match tier {
            Tier::Strategic => self.strategic,
            Tier::Premium => self.premium,
            Tier::Standard => self.standard,
        }
    }
}

/// A state set from outside that the checks cannot override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hold {
    /// A person paused the partner.
    Paused,
    /// A maintenance window (announced, or switched on by a person).
    Maintenance,
}

impl Hold {
    pub fn state(self) -> HealthState {
        match self {
            Hold::Paused => HealthState::Paused,
            Hold::Maintenance => HealthState::Maintenance,
        }
    }
}

/// A change of a partner's shown state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub from: HealthState,
    pub to: HealthState,
    /// Why, in words for a partner manager.
    pub reason: String,
    /// The class of the failure that made it unhealthy.
    pub error_class: Option<ErrorClass>,
}

/// Everything the machine remembers about one partner between checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// The state shown (and accounted for in uptime and SLA).
    pub state: HealthState,
    /// When `state` began; `None` while nothing has happened yet.
    pub since: Option<DateTime<Utc>>,
    /// The reason of the transition into `state`.
    pub reason: Option<String>,
    pub error_class: Option<ErrorClass>,
    /// What the checks alone say (never paused or maintenance); differs from `state` while a
    /// hold is on.
    pub observed: HealthState,
    /// Why the observed state is what it is, and the failure class when it is unhealthy.
    pub observed_reason: Option<String>,
    pub observed_error_class: Option<ErrorClass>,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
}

impl Default for HealthStatus {
    fn default() -> Self {
        HealthStatus {
            state: HealthState::Unknown,
            since: None,
            reason: None,
            error_class: None,
            observed: HealthState::Unknown,
            observed_reason: None,
            observed_error_class: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
        }
    }
}

/// What a check counts as once thresholds are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Reachable: healthy or degraded, with a reason when degraded.
    Up {
        state: HealthState,
        reason: Option<String>,
    },
    Down {
        error_class: ErrorClass,
        reason: String,
    },
}

/// Applies the latency threshold and the hint: a success is healthy or degraded, a failure
/// is down.
pub fn classify(outcome: &CheckOutcome, thresholds: &Thresholds) -> Verdict {
    let slow = || {
        format!(
            "latency {} ms is above the {} ms threshold",
            outcome.latency_ms, thresholds.degraded_latency_ms
        )
    };
    match &outcome.state_hint {
        CheckHint::Failed {
            error_class,
            reason,
        } => Verdict::Down {
            error_class: *error_class,
            reason: reason.clone(),
        },
        CheckHint::CapabilityFailing { reason } => Verdict::Up {
            state: HealthState::Degraded,
            reason: Some(format!("a capability is failing: {reason}")),
        },
        CheckHint::Slow => Verdict::Up {
            state: HealthState::Degraded,
            reason: Some("the platform reports itself slow".into()),
        },
        CheckHint::Ok if outcome.latency_ms > thresholds.degraded_latency_ms => Verdict::Up {
            state: HealthState::Degraded,
            reason: Some(slow()),
        },
        CheckHint::Ok => Verdict::Up {
            state: HealthState::Healthy,
            reason: None,
        },
    }
}

/// Feeds one check outcome to the machine. `hold` is the paused/maintenance state in force at
/// `outcome.at` (if any). Returns the new status and the transition, if the shown state
/// changed.
pub fn apply_outcome(
    status: &HealthStatus,
    outcome: &CheckOutcome,
    hold: Option<Hold>,
    thresholds: &Thresholds,
) -> (HealthStatus, Option<Transition>) {
    let mut next = status.clone();
    // Why the observed state changed, if it did.
    let mut observed_change: Option<(String, Option<ErrorClass>)> = None;
    match classify(outcome, thresholds) {
        Verdict::Up { state, reason } => {
            next.consecutive_successes = next.consecutive_successes.saturating_add(1);
            next.consecutive_failures = 0;
            let recovers = status.observed != HealthState::Unhealthy
                || next.consecutive_successes >= thresholds.successes_to_recover.max(1);
            if recovers && state != status.observed {
                let why = match (status.observed, reason) {
                    (HealthState::Unhealthy, Some(r)) => format!(
                        "recovered after {} successful check(s), but {r}",
                        next.consecutive_successes
                    ),
                    (HealthState::Unhealthy, None) => format!(
                        "recovered after {} successful check(s)",
                        next.consecutive_successes
                    ),
                    (_, Some(r)) => r,
                    (_, None) => "checks pass".into(),
                };
                next.observed = state;
                observed_change = Some((why, None));
            }
        }
        Verdict::Down {
            error_class,
            reason,
        } => {
            next.consecutive_failures = next.consecutive_failures.saturating_add(1);
            next.consecutive_successes = 0;
            if status.observed != HealthState::Unhealthy
                && next.consecutive_failures >= thresholds.failures_to_unhealthy.max(1)
            {
                next.observed = HealthState::Unhealthy;
                observed_change = Some((
                    format!(
                        "{} consecutive failed check(s): {reason}",
                        next.consecutive_failures
                    ),
                    Some(error_class),
                ));
            }
        }
    }
    if let Some((reason, class)) = &observed_change {
        next.observed_reason = Some(reason.clone());
        next.observed_error_class = *class;
    }
    let transition = settle(&mut next, status.state, hold, outcome.at, observed_change);
    (next, transition)
}

/// Puts a hold on or takes it off without a check (a person pauses the partner, a
/// maintenance window starts or ends between checks).
pub fn apply_hold(
    status: &HealthStatus,
    hold: Option<Hold>,
    at: DateTime<Utc>,
) -> (HealthStatus, Option<Transition>) {
    let mut next = status.clone();
    let transition = settle(&mut next, status.state, hold, at, None);
    (next, transition)
}

/// Decides the shown state from the observed one and the hold, and stamps the transition.
fn settle(
    next: &mut HealthStatus,
    from: HealthState,
    hold: Option<Hold>,
    at: DateTime<Utc>,
    observed_change: Option<(String, Option<ErrorClass>)>,
) -> Option<Transition> {
    let to = hold.map(Hold::state).unwrap_or(next.observed);
    if to == from {
        return None;
    }
    let (reason, error_class) = match (hold, observed_change) {
        (Some(Hold::Paused), _) => ("paused".to_string(), None),
        (Some(Hold::Maintenance), _) => ("maintenance".to_string(), None),
        (None, Some(change)) => change,
        (None, None) => {
            let ended = match from {
                HealthState::Paused => "resumed",
                HealthState::Maintenance => "maintenance ended",
                _ => "state changed",
            };
            let reason = match &next.observed_reason {
                Some(why) => format!("{ended}; checks say {to}: {why}"),
                None => format!("{ended}; checks say {to}"),
            };
            (reason, next.observed_error_class)
        }
    };
    next.state = to;
    next.since = Some(at);
    next.reason = Some(reason.clone());
    next.error_class = error_class;
    Some(Transition {
        at,
        from,
        to,
        reason,
        error_class,
    })
}

/// Up for uptime: healthy or degraded.
pub fn is_up(state: HealthState) -> bool {
    matches!(state, HealthState::Healthy | HealthState::Degraded)
}

/// Counted in uptime at all: up or unhealthy (unknown, paused and maintenance are left out).
pub fn is_accounted(state: HealthState) -> bool {
    is_up(state) || state == HealthState::Unhealthy
}
