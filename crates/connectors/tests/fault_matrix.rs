//! The connector fault matrix: every connector × every fault, through the connection check
//! `ecosystem check` runs (`check_partner`), against the expected health state and error class.
//! The expectations are data ([`MATRIX`] and [`OVERRIDES`]); docs/FAULT-MATRIX.md is the same
//! table for people. Sim faults run against a partner-sim of their own per cell; the faults
//! below HTTP (TLS, DNS, reset, closed port) against the endpoints in `support/hostile.rs`.
//! Cells run concurrently. A last test runs the health poller with one partner hanging and one
//! answering 100 MB bodies and checks the others keep their schedule and memory stays bounded.

#[path = "support/hostile.rs"]
mod hostile;
#[allow(dead_code)]
#[path = "support/misbehaving.rs"]
mod misbehaving;
#[path = "support/sim.rs"]
mod sim;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ecosystem_connectors::check::check_partner;
use ecosystem_connectors::poller::{
    HealthPoller, PlatformConnectors, PollOutcome, PollTarget, PollerConfig,
};
use ecosystem_connectors::ConnectorOptions;
use ecosystem_core::integration::{CheckState, ConnectionCheck, ErrorClass};
use ecosystem_core::{
    Credential, FixedClock, HealthCheck, Lifecycle, Partner, PartnerKind, Secret, Tier,
};
use hostile::Cert;
use misbehaving::{Behaviour, Misbehaving};
use partner_sim::{DownMode, Faults, Platform, SimConfig, Trickle};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The connectors under test.
const CONNECTORS: [PartnerKind; 6] = [
    PartnerKind::Databricks,
    PartnerKind::Snowflake,
    PartnerKind::Mlflow,
    PartnerKind::Kubeflow,
    PartnerKind::Datadog,
    PartnerKind::Http,
];

/// The matrix and the poller cell run one after the other, so the poller's RSS reading sees
/// only its own partners.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The per-call timeout of every cell: hangs and trickles end here.
const TIMEOUT: Duration = Duration::from_secs(1);

/// A fault a cell injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Hang,
    /// The body arrives one byte every 700 ms: never complete within the timeout.
    SlowTrickle,
    Status500,
    Status502,
    /// The partner is down and says so: 503 with Retry-After.
    Down503,
    /// The partner is down and drops the connection without answering.
    DownClose,
    /// 429 with Retry-After.
    Throttled,
    MalformedJson,
    /// A 100 MB answer.
    Body100Mb,
    ConnectionReset,
    TlsSelfSigned,
    TlsExpired,
    DnsFailure,
    ClosedPort,
}

const FAULTS: [Fault; 14] = [
    Fault::Hang,
    Fault::SlowTrickle,
    Fault::Status500,
    Fault::Status502,
    Fault::Down503,
    Fault::DownClose,
    Fault::Throttled,
    Fault::MalformedJson,
    Fault::Body100Mb,
    Fault::ConnectionReset,
    Fault::TlsSelfSigned,
    Fault::TlsExpired,
    Fault::DnsFailure,
    Fault::ClosedPort,
];

impl Fault {
    /// The partner-sim knobs of a fault the sim injects; `None` for faults below HTTP.
    fn sim_faults(self) -> Option<Faults> {
        let f = Faults::default();
        Some(match self {
            Fault::Hang => Faults {
                hang_rate: 1.0,
                ..f
            },
            Fault::SlowTrickle => Faults {
                trickle: Some(Trickle {
                    chunk_bytes: 1,
                    interval_ms: 700,
                }),
                ..f
            },
            Fault::Status500 => Faults {
                error_rate: 1.0,
                error_status: Some(500),
                ..f
            },
            Fault::Status502 => Faults {
                error_rate: 1.0,
                error_status: Some(502),
                ..f
            },
            Fault::Down503 => Faults {
                down: true,
                retry_after_s: Some(30),
                ..f
            },
            Fault::DownClose => Faults {
                down: true,
                down_mode: DownMode::Close,
                ..f
            },
            Fault::Throttled => Faults {
                throttle_rate: 1.0,
                retry_after_s: Some(30),
                ..f
            },
            Fault::MalformedJson => Faults {
                malformed_rate: 1.0,
                ..f
            },
            Fault::Body100Mb => Faults {
                oversized_bytes: 100 * 1024 * 1024,
                ..f
            },
            _ => return None,
        })
    }
}

/// What a cell must show.
#[derive(Debug, Clone, Copy)]
struct Expect {
    state: CheckState,
    class: Option<ErrorClass>,
    /// A phrase the error message must contain (case-insensitive).
    says: &'static str,
}

const fn unhealthy(class: ErrorClass, says: &'static str) -> Expect {
    Expect {
        state: CheckState::Unhealthy,
        class: Some(class),
        says,
    }
}

/// The expectation of each fault, for every connector unless [`OVERRIDES`] says otherwise.
/// Every connection check is a probe: never retried, so each cell is one attempt.
const MATRIX: [(Fault, Expect); 14] = [
    (
        Fault::Hang,
        unhealthy(ErrorClass::TimedOut, "no complete answer within 1000 ms"),
    ),
    (
        Fault::SlowTrickle,
        unhealthy(ErrorClass::TimedOut, "no complete answer within 1000 ms"),
    ),
    (
        Fault::Status500,
        unhealthy(ErrorClass::PlatformError, "500"),
    ),
    (
        Fault::Status502,
        unhealthy(ErrorClass::PlatformError, "502"),
    ),
    (Fault::Down503, unhealthy(ErrorClass::PlatformError, "503")),
    (
        Fault::DownClose,
        unhealthy(ErrorClass::Unreachable, "connection"),
    ),
    (Fault::Throttled, unhealthy(ErrorClass::RateLimited, "429")),
    (
        Fault::MalformedJson,
        unhealthy(ErrorClass::UnexpectedResponse, "json"),
    ),
    (
        Fault::Body100Mb,
        unhealthy(ErrorClass::UnexpectedResponse, "byte limit"),
    ),
    (
        Fault::ConnectionReset,
        unhealthy(ErrorClass::Unreachable, "reset"),
    ),
    (
        Fault::TlsSelfSigned,
        unhealthy(ErrorClass::Unreachable, "TLS certificate was refused"),
    ),
    (
        Fault::TlsExpired,
        unhealthy(ErrorClass::Unreachable, "certificate expired"),
    ),
    (
        Fault::DnsFailure,
        unhealthy(ErrorClass::Unreachable, "lookup address"),
    ),
    (
        Fault::ClosedPort,
        unhealthy(ErrorClass::Unreachable, "connection refused"),
    ),
];

/// Cells that differ from [`MATRIX`]. A custom HTTP check without a check file asks only for
/// a 2xx, so a cut JSON body is still a healthy answer.
const OVERRIDES: [(PartnerKind, Fault, Expect); 1] = [(
    PartnerKind::Http,
    Fault::MalformedJson,
    Expect {
        state: CheckState::Healthy,
        class: None,
        says: "",
    },
)];

fn expected(kind: PartnerKind, fault: Fault) -> Expect {
    OVERRIDES
        .iter()
        .find(|(k, f, _)| *k == kind && *f == fault)
        .map(|(_, _, e)| *e)
        .or_else(|| MATRIX.iter().find(|(f, _)| *f == fault).map(|(_, e)| *e))
        .expect("every fault has a row in the matrix")
}

fn partner(id: u32, kind: PartnerKind, endpoint: &str) -> Partner {
    Partner {
        id,
        name: format!("{kind}-partner-{id}"),
        kind,
        endpoint: endpoint.into(),
        tier: Tier::Standard,
        owner: None,
        capabilities: Vec::new(),
        tags: Vec::new(),
        lifecycle: Lifecycle::Active,
        depends_on: None,
        health_check: HealthCheck {
            interval_secs: 1,
            timeout_secs: 1,
        },
        created_at: "2026-11-26T00:00:00Z".into(),
        updated_at: "2026-11-26T00:00:00Z".into(),
    }
}

/// The sim platform a connector talks to (a custom HTTP check fetches MLflow's `/health`).
fn platform(kind: PartnerKind) -> Platform {
    match kind {
        PartnerKind::Databricks => Platform::Databricks,
        PartnerKind::Snowflake => Platform::Snowflake,
        PartnerKind::Kubeflow => Platform::Kubeflow,
        PartnerKind::Datadog => Platform::Datadog,
        _ => Platform::Mlflow,
    }
}

/// The endpoint of `kind` on a server at `base`.
fn endpoint(kind: PartnerKind, base: &str) -> String {
    match kind {
        PartnerKind::Http => format!("{base}/health"),
        _ => base.to_string(),
    }
}

/// The credential partner-sim accepts for `kind`.
fn credential(kind: PartnerKind) -> Option<Credential> {
    match kind {
        PartnerKind::Databricks => Some(Credential::Bearer {
            token: Secret::new("dapi-sim-demo-token"),
        }),
        PartnerKind::Snowflake => Some(Credential::SnowflakeKeyPair {
            account: "SIMORG-SIMACCOUNT".into(),
            user: "SIM_USER".into(),
            private_key_pem: Secret::new(include_str!(
                "../../partner-sim/fixtures/demo-snowflake-rsa-key.p8"
            )),
        }),
        PartnerKind::Kubeflow => Some(Credential::Bearer {
            token: Secret::new("kfp-sim-token"),
        }),
        PartnerKind::Datadog => Some(Credential::DatadogKeys {
            api_key: Secret::new("dd-sim-api-key"),
            app_key: Some(Secret::new("dd-sim-app-key")),
        }),
        PartnerKind::Mlflow => {
            let config = partner_sim::MlflowConfig::default();
            Some(Credential::Basic {
                username: config.username,
                password: Secret::new(config.password),
            })
        }
        _ => None,
    }
}

/// Short timeouts and a small body cap, as the fault tests share.
fn options() -> ConnectorOptions {
    let mut policy = sim::policy();
    policy.timeout = TIMEOUT;
    ConnectorOptions {
        policy,
        ..ConnectorOptions::default()
    }
}

/// Runs one cell: the fault in place, then the connection check.
async fn run_cell(kind: PartnerKind, fault: Fault) -> ConnectionCheck {
    let check = |base: String| async move {
        check_partner(
            &partner(1, kind, &endpoint(kind, &base)),
            credential(kind),
            options(),
        )
        .await
    };
    match fault.sim_faults() {
        Some(faults) => {
            let sim = sim::start_with(SimConfig::default()).await;
            let platform = platform(kind);
            sim::set(&sim, platform, faults);
            let result = check(sim.base_url(platform)).await;
            sim.shutdown().await;
            result
        }
        None => {
            let base = match fault {
                Fault::ConnectionReset => hostile::resetting_listener().await,
                Fault::TlsSelfSigned => hostile::tls_listener(Cert::SelfSigned).await,
                Fault::TlsExpired => hostile::tls_listener(Cert::Expired).await,
                Fault::DnsFailure => hostile::unresolvable(),
                Fault::ClosedPort => hostile::closed_port().await,
                _ => unreachable!("sim faults are handled above"),
            };
            check(base).await
        }
    }
}

/// Every connector is healthy against an unfaulted sim, so each cell's failure is the fault's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_connector_is_healthy_without_faults() {
    let sim = sim::start_with(SimConfig::default()).await;
    for kind in CONNECTORS {
        let base = sim.base_url(platform(kind));
        let check = check_partner(
            &partner(1, kind, &endpoint(kind, &base)),
            credential(kind),
            options(),
        )
        .await;
        assert_eq!(check.state, CheckState::Healthy, "{kind}: {check:?}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn every_connector_under_every_fault_gives_the_expected_state_and_class() {
    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    let mut cells = JoinSet::new();
    for kind in CONNECTORS {
        for fault in FAULTS {
            cells.spawn(async move {
                let t = Instant::now();
                let check = run_cell(kind, fault).await;
                (kind, fault, check, t.elapsed())
            });
        }
    }
    let mut failures = Vec::new();
    let mut done = 0;
    while let Some(joined) = cells.join_next().await {
        let (kind, fault, check, took) = joined.expect("cell task");
        done += 1;
        let want = expected(kind, fault);
        let class = check.error.as_ref().map(|e| e.class);
        let message = check
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        println!(
            "{kind:>10} × {fault:?}: {:?} {class:?} in {took:?}: {message}",
            check.state
        );
        let says = want.says.to_lowercase();
        if check.state != want.state
            || class != want.class
            || !message.to_lowercase().contains(&says)
        {
            failures.push(format!(
                "{kind} × {fault:?}: expected {:?} {:?} saying {:?}, got {:?} {class:?}: {message:?}",
                want.state, want.class, want.says, check.state
            ));
        }
        // A throttled answer carries the partner's Retry-After, the custom check's too (its
        // default condition, a 2xx status, fails on the 429).
        if fault == Fault::Throttled {
            let wait = check.error.as_ref().and_then(|e| e.retry_after);
            if wait != Some(Duration::from_secs(30)) {
                failures.push(format!(
                    "{kind} × {fault:?}: Retry-After 30 s read as {wait:?}"
                ));
            }
        }
        // No cell outlives its timeout by much: nothing hangs, nothing is retried for long.
        if took > TIMEOUT * 4 {
            failures.push(format!("{kind} × {fault:?}: took {took:?}"));
        }
    }
    assert_eq!(done, CONNECTORS.len() * FAULTS.len());
    println!("fault matrix: {done} cells in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "cells off the matrix:\n{}",
        failures.join("\n")
    );
}

/// The resident set size of this process, in bytes (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_partner_and_a_100_mb_partner_leave_the_others_on_schedule() {
    let _serial = SERIAL.lock().await;
    let sim = sim::start_with(SimConfig::default()).await;
    sim::set(
        &sim,
        Platform::Databricks,
        Fault::Hang.sim_faults().expect("sim fault"),
    );
    sim::set(
        &sim,
        Platform::Mlflow,
        Fault::Body100Mb.sim_faults().expect("sim fault"),
    );
    // A 100 MB body without Content-Length, so the cap must stop the stream itself.
    let endless = Misbehaving::start(|_, _| Behaviour::Endless).await;
    let healthy = Misbehaving::start(|_, _| Behaviour::status(200, "{}")).await;

    let target = |id: u32, kind: PartnerKind, endpoint: String| PollTarget {
        partner: partner(id, kind, &endpoint),
        credential: credential(kind),
        stored_check: None,
    };
    let mut targets = vec![
        target(
            1,
            PartnerKind::Databricks,
            sim.base_url(Platform::Databricks),
        ),
        target(2, PartnerKind::Mlflow, sim.base_url(Platform::Mlflow)),
        target(3, PartnerKind::Http, format!("{}/big", endless.url)),
        target(4, PartnerKind::Snowflake, sim.base_url(Platform::Snowflake)),
        target(5, PartnerKind::Kubeflow, sim.base_url(Platform::Kubeflow)),
        target(6, PartnerKind::Datadog, sim.base_url(Platform::Datadog)),
    ];
    targets.extend(
        (7..=12).map(|id| target(id, PartnerKind::Http, format!("{}/ok/{id}", healthy.url))),
    );

    let rss_before = rss_bytes().unwrap_or(0);
    let (tx, mut rx) = mpsc::unbounded_channel::<PollOutcome>();
    let (poller, _handle) = HealthPoller::new(
        PollerConfig {
            concurrency: 16,
            seed: Some(7),
            ..PollerConfig::default()
        },
        Arc::new(PlatformConnectors),
        Arc::new(tx),
        Arc::new(FixedClock(Utc::now())),
    );
    let cancel = CancellationToken::new();
    let run = tokio::spawn(poller.run(targets, cancel.clone()));
    let mut peak_rss = rss_before;
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(rss_bytes().unwrap_or(0));
    }
    cancel.cancel();
    let summary = run.await.expect("poller task");
    let mut outcomes = Vec::new();
    while let Ok(o) = rx.try_recv() {
        outcomes.push(o);
    }
    sim.shutdown().await;

    let of = |id: u32| outcomes.iter().filter(move |o| o.partner_id == id);
    assert!(
        of(1).count() >= 2 && of(1).all(|o| o.state == CheckState::Unhealthy),
        "the hanging partner is reported unhealthy each turn: {summary:?}"
    );
    for id in [2, 3] {
        assert!(
            of(id).count() >= 3 && of(id).all(|o| o.state == CheckState::Unhealthy),
            "partner {id} (100 MB answers) is reported unhealthy each turn"
        );
    }
    let others: Vec<_> = outcomes.iter().filter(|o| o.partner_id >= 4).collect();
    for id in 4..=12 {
        let checks = of(id).count();
        assert!(
            checks >= 5,
            "partner {id} was checked {checks} times in 8 s at a 1 s interval"
        );
    }
    assert!(
        others.iter().all(|o| o.state == CheckState::Healthy),
        "the other partners stay healthy: {others:?}"
    );
    let worst_lag = others.iter().map(|o| o.lag).max().unwrap_or_default();
    let growth = peak_rss.saturating_sub(rss_before);
    println!(
        "poller under faults: {} checks, worst lag of the others {worst_lag:?}, RSS {} MiB → peak {} MiB (+{} MiB), {} endless bytes sent",
        outcomes.len(),
        rss_before / (1024 * 1024),
        peak_rss / (1024 * 1024),
        growth / (1024 * 1024),
        endless
            .endless_written
            .load(std::sync::atomic::Ordering::SeqCst)
            / (1024 * 1024),
    );
    assert!(
        worst_lag < Duration::from_millis(250),
        "the other partners' checks start on time: worst lag {worst_lag:?}"
    );
    assert!(
        growth < 128 * 1024 * 1024,
        "memory stays bounded: RSS grew by {} MiB",
        growth / (1024 * 1024)
    );
}
