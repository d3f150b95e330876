//! The health states a partner can be in, shared by the health history (poller, transitions)
//! and SLA accounting (`sla`). This module owns the words and their meaning, and reads from
//! the workspace's settings how much evidence moves a partner between them
//! ([`HealthPolicy::configured`]); how long a partner stayed in each state, and what that
//! costs, is decided elsewhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::health::{HealthPolicy, Thresholds};
use crate::model::Tier;

/// Where a partner stands, as the health poller last saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    /// No data: before the first check, or while nothing was checking.
    #[default]
    Unknown,
    /// Reachable and answering as expected.
    Healthy,
    /// Reachable but slow or partially failing.
    Degraded,
    /// Failing its checks (past the failure threshold).
    Unhealthy,
    /// Checks deliberately stopped by a person.
    Paused,
    /// Inside an announced maintenance window.
    Maintenance,
}

impl HealthState {
    pub const ALL: &'static [HealthState] = &[
        HealthState::Unknown,
        HealthState::Healthy,
        HealthState::Degraded,
        HealthState::Unhealthy,
        HealthState::Paused,
        HealthState::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Paused => "paused",
            HealthState::Maintenance => "maintenance",
        }
    }

    /// Parses the word, or explains which words are accepted for `field`.
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        HealthState::ALL
            .iter()
            .copied()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                let words: Vec<&str> = HealthState::ALL.iter().map(|s| s.as_str()).collect();
                Error::invalid(
                    field,
                    format!(
                        "unknown health state {text:?}; expected one of: {}",
                        words.join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HealthState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_field("health state", s)
    }
}

/// The settings that set the thresholds: `health.failures_to_unhealthy.<tier>` and
/// `health.successes_to_recover.<tier>` (see [`crate::workspace::SETTINGS`]).
const FAILURES_PREFIX: &str = "health.failures_to_unhealthy.";
const SUCCESSES_PREFIX: &str = "health.successes_to_recover.";

fn tier_named(word: &str) -> Option<Tier> {
    Tier::ALL.iter().copied().find(|t| t.as_str() == word)
}

/// The tier default of a threshold setting (`None` for any other key), as the settings page
/// shows it.
pub fn default_threshold(key: &str) -> Option<u32> {
    if let Some(tier) = key.strip_prefix(FAILURES_PREFIX).and_then(tier_named) {
        return Some(Thresholds::for_tier(tier).failures_to_unhealthy);
    }
    let tier = key.strip_prefix(SUCCESSES_PREFIX).and_then(tier_named)?;
    Some(Thresholds::for_tier(tier).successes_to_recover)
}

impl HealthPolicy {
    /// The thresholds the given settings ask for; a threshold with no setting keeps its tier
    /// default ([`Thresholds::for_tier`]), other keys are ignored, a bad value is refused
    /// with the setting named.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<HealthPolicy> {
        let mut policy = HealthPolicy::default();
        for (key, value) in settings {
            let (tier, failures) = if let Some(t) = key.strip_prefix(FAILURES_PREFIX) {
                (t, true)
            } else if let Some(t) = key.strip_prefix(SUCCESSES_PREFIX) {
                (t, false)
            } else {
                continue;
            };
            let thresholds = match tier_named(tier) {
                Some(Tier::Strategic) => &mut policy.strategic,
                Some(Tier::Premium) => &mut policy.premium,
                Some(Tier::Standard) => &mut policy.standard,
                None => continue,
            };
            crate::workspace::validate_setting(key, value)?;
            let field = if failures {
                &mut thresholds.failures_to_unhealthy
            } else {
                &mut thresholds.successes_to_recover
            };
            *field = value.parse().unwrap_or(*field);
        }
        Ok(policy)
    }

    /// The thresholds the workspace's settings ask for now, read from `conn` (the health
    /// writer's connection, so a change made in the app or the CLI applies to the next checks).
    pub fn configured(conn: &rusqlite::Connection) -> Result<HealthPolicy> {
        let mut stmt = conn.prepare_cached(
            "SELECT key, value FROM settings
             WHERE key LIKE 'health.failures_to_unhealthy.%'
                OR key LIKE 'health.successes_to_recover.%'",
        )?;
        let stored: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        HealthPolicy::from_settings(stored.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_word_and_json() {
        for &state in HealthState::ALL {
            let word = state.as_str();
            assert_eq!(word.parse::<HealthState>().ok(), Some(state), "{word}");
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{word}\""), "serde word of {state:?}");
        }
    }

    #[test]
    fn an_unknown_word_is_refused_with_the_accepted_words_listed() {
        let err = "down".parse::<HealthState>().unwrap_err().to_string();
        assert!(
            err.contains("\"down\"") && err.contains("healthy, degraded"),
            "message names the word and the choices: {err}"
        );
    }

    use crate::health::CheckOutcome;
    use crate::health_store::{HealthHistory, HealthWriter, PartnerOutcome};
    use crate::integration::ErrorClass;
    use crate::{FixedClock, NewPartner, PartnerKind, Registry, Store};

    #[test]
    fn without_settings_the_tier_defaults_apply_and_each_default_is_a_valid_setting() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("ecosystem.db")).unwrap();
        assert_eq!(
            HealthPolicy::configured(store.conn()).unwrap(),
            HealthPolicy::default()
        );
        for tier in Tier::ALL {
            for prefix in [FAILURES_PREFIX, SUCCESSES_PREFIX] {
                let key = format!("{prefix}{}", tier.as_str());
                let default = default_threshold(&key).unwrap_or_else(|| panic!("{key}"));
                crate::workspace::validate_setting(&key, &default.to_string()).unwrap();
            }
        }
        assert_eq!(default_threshold("health.failures_to_unhealthy.gold"), None);
    }

    #[test]
    fn a_bad_threshold_setting_is_refused_with_its_key() {
        let err = HealthPolicy::from_settings([("health.failures_to_unhealthy.premium", "0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("health.failures_to_unhealthy.premium"),
            "{err}"
        );
    }

    /// Failed checks, a minute apart, of a strategic partner (default: 2 failures to go down,
    /// 2 successes back), recorded by a writer configured from the workspace's settings;
    /// returns the state after each check.
    fn states_after(settings: &[(&str, &str)], checks: &[bool]) -> Vec<HealthState> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecosystem.db");
        let t0 = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let mut registry = Registry::new(
            Store::open(&path).unwrap(),
            "tester",
            Arc::new(FixedClock(t0)),
        );
        let mut new = NewPartner::new("p", PartnerKind::Http, "https://p.example.com/health");
        new.tier = Tier::Strategic;
        let id = registry.add_partner(&new).unwrap().id;
        for (key, value) in settings {
            registry.set_setting(key, value).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let policy = HealthPolicy::configured(store.conn()).unwrap();
        let mut writer = HealthWriter::new(store).with_policy(policy);
        let mut states = Vec::new();
        for (i, &ok) in checks.iter().enumerate() {
            let at = t0 + chrono::Duration::minutes(i as i64);
            let outcome = if ok {
                CheckOutcome::ok(at, 40)
            } else {
                CheckOutcome::failed(at, ErrorClass::TimedOut, "no answer", 10_000)
            };
            writer
                .record(&[PartnerOutcome {
                    partner_id: id,
                    outcome,
                }])
                .unwrap();
            let current = HealthHistory::new(registry.store().conn())
                .current(id)
                .unwrap();
            states.push(current.state);
        }
        states
    }

    use std::sync::Arc;
    use HealthState::{Healthy, Unhealthy};

    #[test]
    fn a_changed_threshold_setting_changes_when_a_partner_turns_unhealthy_and_recovers() {
        let checks = [true, false, false, false, false, true, true, true];
        assert_eq!(
            states_after(&[], &checks),
            [Healthy, Healthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy, Healthy],
            "strategic default: 2 failures down, 2 successes back"
        );
        let changed = [
            ("health.failures_to_unhealthy.strategic", "4"),
            ("health.successes_to_recover.strategic", "3"),
            // Another tier's setting does not touch a strategic partner.
            ("health.failures_to_unhealthy.standard", "1"),
        ];
        assert_eq!(
            states_after(&changed, &checks),
            [Healthy, Healthy, Healthy, Healthy, Unhealthy, Unhealthy, Unhealthy, Healthy],
        );
    }
}
