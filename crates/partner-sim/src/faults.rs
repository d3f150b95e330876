//! Fault knobs: what a platform's listener does wrong on purpose. A [`Faults`] value is set per
//! platform at start (config file, CLI flags) and replaced at run time through
//! `PUT /_sim/faults`; the middleware in `server` applies it to every platform request (never to
//! the `/_sim` admin routes). Rates are probabilities in `0.0..=1.0`; `1.0` makes a knob
//! deterministic.

use serde::{Deserialize, Serialize};

/// Everything a listener can be told to do wrong. `Faults::default()` is a healthy partner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer, in milliseconds.
    pub latency_ms: u64,
    /// A uniformly random extra delay in `0..=jitter_ms`, in milliseconds.
    pub jitter_ms: u64,
    /// Probability of answering a 5xx with the platform's own error body.
    pub error_rate: f64,
    /// The status used by `error_rate` (500..=599); 500 when unset.
    pub error_status: Option<u16>,
    /// The partner is down now (until set back to `false`).
    pub down: bool,
    /// Down windows, in milliseconds since the listener started, read from the sim clock.
    pub down_windows: Vec<DownWindow>,
    /// Periodic flapping: up for `up_ms`, then down for `down_ms`, from the listener's start.
    pub flap: Option<Flap>,
    /// How "down" looks to a client.
    pub down_mode: DownMode,
    /// Probability of answering 429 with `Retry-After` (Datadog adds `X-RateLimit-*`).
    pub throttle_rate: f64,
    /// The `Retry-After` (and Datadog `X-RateLimit-Reset`) of a throttled answer; 1 when unset.
    pub retry_after_s: Option<u64>,
    /// A fixed-window limit: more than `limit` requests per `period_s` get 429.
    pub rate_limit: Option<RateLimit>,
    /// Probability of a 200 whose JSON body is cut in the middle.
    pub malformed_rate: f64,
    /// Probability of never answering (the connection stays open, silent).
    pub hang_rate: f64,
    /// When non-zero, successful answers are replaced by a JSON body of this many bytes, streamed.
    pub oversized_bytes: u64,
    /// When set, every answer's body is sent in small chunks with pauses between them.
    pub trickle: Option<Trickle>,
}

/// A down window in milliseconds since the listener started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownWindow {
    /// Start, inclusive.
    pub start_ms: u64,
    /// End, exclusive.
    pub end_ms: u64,
}

/// Periodic up/down cycle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flap {
    /// Time up in each cycle.
    pub up_ms: u64,
    /// Time down in each cycle.
    pub down_ms: u64,
}

/// What a down partner answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownMode {
    /// 503 with the platform's error body and `Retry-After`.
    #[default]
    Unavailable,
    /// Close the connection without answering (the closest a listening socket gets to refused).
    Close,
}

/// A fixed-window request limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length in seconds.
    pub period_s: u64,
}

/// Slow body delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trickle {
    /// Bytes per chunk (at least 1).
    pub chunk_bytes: usize,
    /// Pause before each chunk, in milliseconds.
    pub interval_ms: u64,
}

impl Faults {
    /// Checks the knobs' ranges; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("throttle_rate", self.throttle_rate),
            ("malformed_rate", self.malformed_rate),
            ("hang_rate", self.hang_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name}: {rate} is outside 0.0..=1.0"));
            }
        }
        if let Some(status) = self.error_status {
            if !(500..=599).contains(&status) {
                return Err(format!("error_status: {status} is not a 5xx status"));
            }
        }
        if let Some(t) = &self.trickle {
            if t.chunk_bytes == 0 {
                return Err("trickle.chunk_bytes: must be at least 1".into());
            }
        }
        if let Some(r) = &self.rate_limit {
            if r.period_s == 0 {
                return Err("rate_limit.period_s: must be at least 1".into());
            }
        }
        if let Some(f) = &self.flap {
            if f.up_ms + f.down_ms == 0 {
                return Err("flap: up_ms + down_ms must be positive".into());
            }
        }
        for (i, w) in self.down_windows.iter().enumerate() {
            if w.end_ms <= w.start_ms {
                return Err(format!("down_windows[{i}]: end_ms must be after start_ms"));
            }
        }
        Ok(())
    }

    /// Whether the partner is down `elapsed_ms` after its listener started.
    pub fn is_down_at(&self, elapsed_ms: u64) -> bool {
        if self.down {
            return true;
        }
        if self
            .down_windows
            .iter()
            .any(|w| (w.start_ms..w.end_ms).contains(&elapsed_ms))
        {
            return true;
        }
        match &self.flap {
            Some(f) if f.up_ms + f.down_ms > 0 => elapsed_ms % (f.up_ms + f.down_ms) >= f.up_ms,
            _ => false,
        }
    }

    /// The `Retry-After` seconds of throttled and down answers.
    pub fn retry_after(&self) -> u64 {
        self.retry_after_s.unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flap_alternates_between_up_and_down() {
        let f = Faults {
            flap: Some(Flap {
                up_ms: 100,
                down_ms: 50,
            }),
            ..Faults::default()
        };
        assert!(!f.is_down_at(0), "the cycle starts up");
        assert!(f.is_down_at(120), "120 ms into a 100 ms up phase is down");
        assert!(!f.is_down_at(160), "the second cycle starts up again");
    }

    #[test]
    fn out_of_range_rates_are_refused_with_the_field_named() {
        let f = Faults {
            error_rate: 1.5,
            ..Faults::default()
        };
        let err = f.validate().err().unwrap_or_default();
        assert!(
            err.starts_with("error_rate"),
            "message names the field: {err}"
        );
    }
}
