//! The health states a partner can be in, shared by the health history (poller, transitions)
//! and SLA accounting (`sla`). This module owns only the words and their meaning; how long a
//! partner stayed in each state, and what that costs, is decided elsewhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
}
