//! Shared test set-up: a simulator on free loopback ports with a manual clock.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use partner_sim::{ManualClock, RunningSim, Sim, SimConfig};

pub struct TestSim {
    pub sim: RunningSim,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

pub async fn start_with(mut config: SimConfig) -> TestSim {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap());
    config.clock = clock.clone();
    let sim = Sim::start(config).await.expect("simulator starts");
    let http = reqwest::Client::builder()
        .user_agent("ecosystem-tests/0.1")
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    TestSim { sim, clock, http }
}

pub async fn start() -> TestSim {
    start_with(SimConfig::default()).await
}
