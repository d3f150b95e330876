//! partner-sim: real HTTP servers that play Databricks, Snowflake (SQL API v2), Kubeflow
//! Pipelines (v2beta1) and Datadog as their official specs describe them, so Ecosystem's
//! connectors, benchmarks and the desktop demo have live partners without the cloud.
//!
//! Each platform gets its own listener (`127.0.0.1:0` by default). Every listener checks
//! credentials the way the platform does, rejects requests that do not conform to the spec with
//! a 400 naming the violation, keeps state (created runs, events, DBFS files show up later),
//! moves time-based state through an injectable [`Clock`], and applies [`Faults`] that can be
//! changed at run time with `PUT /_sim/faults`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), partner_sim::SimError> {
//! use partner_sim::{Platform, Sim, SimConfig};
//! let sim = Sim::start(SimConfig::default()).await?;
//! let url = sim.base_url(Platform::Datadog); // e.g. http://127.0.0.1:40123
//! # let _ = url;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod config;
pub mod faults;

mod check;
mod databricks;
mod datadog;
mod errors;
mod kubeflow;
mod mlflow;
mod server;
mod snowflake;
mod snowflake_sql;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::{
    DatabricksConfig, DatadogConfig, KubeflowConfig, MlflowConfig, PlatformFaults, Ports,
    SimConfig, SnowflakeConfig, DEMO_SNOWFLAKE_PRIVATE_KEY_PEM, DEMO_SNOWFLAKE_PUBLIC_KEY_PEM,
};
pub use faults::{DownMode, DownWindow, Faults, Flap, RateLimit, Trickle};

use server::Listener;

/// A simulated partner platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Databricks workspace REST API (2.0/2.1/2.2), SCIM, DBFS, SQL statements, OAuth M2M.
    Databricks,
    /// Snowflake SQL API v2.
    Snowflake,
    /// Kubeflow Pipelines API v2beta1.
    Kubeflow,
    /// Datadog API v1/v2 (one site).
    Datadog,
    /// MLflow tracking server REST API 2.0 (the routes Ecosystem's connector calls).
    Mlflow,
}

impl Platform {
    /// All five, in a stable order.
    pub const ALL: [Platform; 5] = [
        Platform::Databricks,
        Platform::Snowflake,
        Platform::Kubeflow,
        Platform::Datadog,
        Platform::Mlflow,
    ];

    /// The lower-case name used in config files, CLI flags and printed URLs.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Databricks => "databricks",
            Platform::Snowflake => "snowflake",
            Platform::Kubeflow => "kubeflow",
            Platform::Datadog => "datadog",
            Platform::Mlflow => "mlflow",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Platform {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                SimError::Config(format!(
                    "platform {s:?}: expected databricks, snowflake, kubeflow, datadog or mlflow"
                ))
            })
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid; the message names the field.
    #[error("partner-sim config: {0}")]
    Config(String),
    /// A config file could not be read.
    #[error("partner-sim config: cannot read {path}: {source}")]
    ConfigRead {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A listener could not bind.
    #[error("partner-sim: cannot listen on {addr} for {platform}: {source}")]
    Bind {
        /// The platform.
        platform: Platform,
        /// The address tried.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The simulator entry point.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Binds one listener per configured platform and starts serving. Must be called inside a
    /// tokio runtime.
    pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
        for platform in Platform::ALL {
            let mut c = config.clone();
            c.faults_mut(platform)
                .validate()
                .map_err(|m| SimError::Config(format!("faults.{platform}.{m}")))?;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut listeners = BTreeMap::new();
        let mut tasks = Vec::new();
        let mut platforms = config.platforms.clone();
        platforms.sort();
        platforms.dedup();
        for platform in platforms {
            let mut c = config.clone();
            let faults = c.faults_mut(platform).clone();
            let default_limit = (platform == Platform::Datadog).then_some((
                config.datadog.rate_limit,
                config.datadog.rate_period_s.max(1),
            ));
            let listener = Listener::new(platform, config.clock.clone(), faults, default_limit);
            let api: Router = match platform {
                Platform::Databricks => databricks::router(&config)?,
                Platform::Snowflake => snowflake::router(&config)?,
                Platform::Kubeflow => kubeflow::router(&config)?,
                Platform::Datadog => datadog::router(&config)?,
                Platform::Mlflow => mlflow::router(&config)?,
            };
            let router = server::admin_router(listener.clone()).merge(api.layer(
                axum::middleware::from_fn_with_state(listener.clone(), server::fault_layer),
            ));
            let addr = SocketAddr::new(config.host, config.port(platform));
            let tcp = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Bind {
                    platform,
                    addr,
                    source,
                })?;
            let local = tcp.local_addr().map_err(|source| SimError::Bind {
                platform,
                addr,
                source,
            })?;
            tracing::info!(%platform, addr = %local, "listening");
            tasks.push(tokio::spawn(server::serve(
                tcp,
                router,
                listener.clone(),
                stop_rx.clone(),
            )));
            listeners.insert(platform, (local, listener));
        }
        Ok(RunningSim {
            listeners,
            tasks,
            stop: stop_tx,
            clock: config.clock,
        })
    }
}

/// A started simulator. Dropping it stops every listener and closes every connection.
#[derive(Debug)]
pub struct RunningSim {
    listeners: BTreeMap<Platform, (SocketAddr, Arc<Listener>)>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    clock: SharedClock,
}

impl RunningSim {
    /// `http://127.0.0.1:<port>` of a started platform, or `None` if it was not configured.
    pub fn try_base_url(&self, platform: Platform) -> Option<String> {
        self.addr(platform).map(|a| format!("http://{a}"))
    }

    /// `http://127.0.0.1:<port>` of a started platform.
    ///
    /// # Panics
    /// If `platform` was not in `SimConfig::platforms` (a test set-up mistake); use
    /// [`RunningSim::try_base_url`] to ask instead.
    pub fn base_url(&self, platform: Platform) -> String {
        match self.try_base_url(platform) {
            Some(url) => url,
            None => panic!("partner-sim: {platform} was not started (see SimConfig::platforms)"),
        }
    }

    /// The bound address of a started platform.
    pub fn addr(&self, platform: Platform) -> Option<SocketAddr> {
        self.listeners.get(&platform).map(|(addr, _)| *addr)
    }

    /// The platforms that are listening, in order.
    pub fn platforms(&self) -> Vec<Platform> {
        self.listeners.keys().copied().collect()
    }

    /// Replaces a platform's faults (same effect as `PUT /_sim/faults`). Invalid values are
    /// refused with the field named; an unstarted platform is ignored.
    pub fn set_faults(&self, platform: Platform, faults: Faults) -> Result<(), SimError> {
        faults
            .validate()
            .map_err(|m| SimError::Config(format!("faults.{platform}.{m}")))?;
        if let Some((_, listener)) = self.listeners.get(&platform) {
            listener.set_faults(faults);
        }
        Ok(())
    }

    /// A platform's current faults (default if it was not started).
    pub fn faults(&self, platform: Platform) -> Faults {
        self.listeners
            .get(&platform)
            .map(|(_, l)| l.faults())
            .unwrap_or_default()
    }

    /// The clock the state machines read.
    pub fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    /// Stops accepting, closes every connection and waits for the listeners to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
