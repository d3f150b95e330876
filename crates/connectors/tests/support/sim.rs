//! What the partner-sim connector tests share: a simulator per test, a fast resilience policy,
//! a sleeper that records the waits it makes, and fault helpers.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ecosystem_connectors::http::PartnerHttp;
use ecosystem_connectors::resilience::{
    BreakerPolicy, Resilience, ResiliencePolicy, RetryPolicy, Sleeper,
};
use ecosystem_core::integration::{CheckState, ConnectionCheck, ErrorClass, Integration};
use ecosystem_core::Credential;
use partner_sim::{Faults, Platform, RunningSim, Sim, SimConfig};

/// Really waits (so rate-limit windows pass) and records each wait.
#[derive(Debug, Default)]
pub struct RecordingSleeper(pub Mutex<Vec<Duration>>);

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        tokio::time::sleep(duration).await;
    }
}

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Short timeouts, a small body cap and quick retries, so every fault test is fast.
pub fn policy() -> ResiliencePolicy {
    ResiliencePolicy {
        timeout: Duration::from_millis(1_500),
        max_body_bytes: 256 * 1024,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(20),
        },
        breaker: BreakerPolicy {
            failure_threshold: 1_000,
            cool_down: Duration::from_secs(60),
        },
        rate_per_second: None,
        rate_burst: 1,
        max_in_flight: 16,
    }
}

/// HTTP access to a sim platform with the test policy and a recording sleeper.
pub fn http(
    url: &str,
    credential: Option<&Credential>,
    sleeper: Arc<RecordingSleeper>,
) -> PartnerHttp {
    PartnerHttp::with_resilience(
        "sim".into(),
        url,
        credential,
        Resilience::with_sleeper(policy(), sleeper),
    )
    .expect("partner HTTP over a loopback URL")
}

/// A simulator running only `platform`, on the wall clock.
pub async fn start(platform: Platform) -> RunningSim {
    start_with(SimConfig {
        platforms: vec![platform],
        ..SimConfig::default()
    })
    .await
}

pub async fn start_with(config: SimConfig) -> RunningSim {
    Sim::start(config).await.expect("partner-sim starts")
}

pub fn set(sim: &RunningSim, platform: Platform, faults: Faults) {
    sim.set_faults(platform, faults).expect("valid faults");
}

pub fn clear(sim: &RunningSim, platform: Platform) {
    set(sim, platform, Faults::default());
}

/// Runs `test_connection` under `faults` and checks it is unhealthy with `class`.
pub async fn assert_check_fails_with(
    sim: &RunningSim,
    platform: Platform,
    connector: &dyn Integration,
    faults: Faults,
    class: ErrorClass,
) -> ConnectionCheck {
    set(sim, platform, faults.clone());
    let check = connector.test_connection().await;
    clear(sim, platform);
    assert_eq!(
        check.state,
        CheckState::Unhealthy,
        "{platform} under {faults:?}: {check:?}"
    );
    assert_eq!(
        check.error.as_ref().map(|e| e.class),
        Some(class),
        "{platform} under {faults:?}: {check:?}"
    );
    check
}

/// The probe faults every platform is checked against: 5xx, hang, malformed and oversized
/// bodies, and a throttled probe (not retried: a probe shows the platform as it is).
pub fn probe_faults() -> Vec<(Faults, ErrorClass)> {
    vec![
        (
            Faults {
                error_rate: 1.0,
                error_status: Some(502),
                ..Faults::default()
            },
            ErrorClass::PlatformError,
        ),
        (
            Faults {
                hang_rate: 1.0,
                ..Faults::default()
            },
            ErrorClass::TimedOut,
        ),
        (
            Faults {
                malformed_rate: 1.0,
                ..Faults::default()
            },
            ErrorClass::UnexpectedResponse,
        ),
        (
            Faults {
                oversized_bytes: 1024 * 1024,
                ..Faults::default()
            },
            ErrorClass::UnexpectedResponse,
        ),
        (
            Faults {
                throttle_rate: 1.0,
                retry_after_s: Some(0),
                ..Faults::default()
            },
            ErrorClass::RateLimited,
        ),
    ]
}

/// Throttled on every request, asking for no wait: retries run out fast.
pub fn always_throttled() -> Faults {
    Faults {
        throttle_rate: 1.0,
        retry_after_s: Some(0),
        ..Faults::default()
    }
}

/// Every request fails with a 500.
pub fn always_failing() -> Faults {
    Faults {
        error_rate: 1.0,
        ..Faults::default()
    }
}

/// One request per two-second window: the second call in a row gets 429 with a wait.
pub fn one_per_window() -> Faults {
    Faults {
        rate_limit: Some(partner_sim::RateLimit {
            limit: 1,
            period_s: 2,
        }),
        ..Faults::default()
    }
}
