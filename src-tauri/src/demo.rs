//! The demo workspace's simulator: partner-sim on loopback inside the app, on a runtime of its
//! own. `start_demo` starts it and registers the demo partners (`ecosystem_core::demo`); on the
//! next start of a demo workspace it comes back on the same ports when they are free (otherwise
//! on new ones, and the partners are re-pointed through the registry); it stops on exit and on
//! "Remove demo". One partner's platform flaps (a minute up, a minute down).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use ecosystem_connectors::usage;
use ecosystem_core::demo::{self, DemoAccess, DemoSim};
use ecosystem_core::{Credential, PartnerKind, Registry, Secret, SystemClock};
use partner_sim::{Flap, Platform, RunningSim, Sim, SimConfig};

/// The flapping platform's cycle: up a minute, down a minute.
const FLAP: Flap = Flap {
    up_ms: 60_000,
    down_ms: 60_000,
};
const FLAPPING_PLATFORM: Platform = Platform::Datadog;

/// A running simulator with its runtime.
pub struct DemoSimulator {
    runtime: tokio::runtime::Runtime,
    sim: Option<RunningSim>,
}

impl DemoSimulator {
    /// Starts every platform, on `ports` when given and free, else on free ports.
    pub fn start(ports: &[(Platform, u16)]) -> Result<DemoSimulator, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("partner-sim")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the simulator's runtime: {e}"))?;
        let mut config = SimConfig::default();
        config.faults_mut(FLAPPING_PLATFORM).flap = Some(FLAP);
        for (platform, port) in ports {
            let free = std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok();
            if free {
                set_port(&mut config, *platform, *port);
            }
        }
        let sim = match runtime.block_on(Sim::start(config.clone())) {
            Ok(sim) => sim,
            // A port taken between the check and the bind: new ports for all.
            Err(e) if !ports.is_empty() => {
                tracing::warn!(error = %e, "demo ports taken; starting partner-sim on new ports");
                config.ports = Default::default();
                runtime
                    .block_on(Sim::start(config))
                    .map_err(|e| e.to_string())?
            }
            Err(e) => return Err(e.to_string()),
        };
        tracing::info!(
            platforms = sim.platforms().len(),
            "partner-sim started for the demo"
        );
        Ok(DemoSimulator {
            runtime,
            sim: Some(sim),
        })
    }

    fn sim(&self) -> &RunningSim {
        self.sim.as_ref().expect("running until stopped")
    }

    /// The simulator's URLs and the credentials it accepts, as the demo definitions take them.
    pub fn access(&self) -> DemoSim {
        let config = SimConfig::default();
        let sim = self.sim();
        let at = |platform: Platform, credential: Option<Credential>| DemoAccess {
            url: sim.base_url(platform),
            credential,
        };
        let bearer = |token: &str| {
            Some(Credential::Bearer {
                token: Secret::new(token),
            })
        };
        DemoSim {
            databricks: at(
                Platform::Databricks,
                bearer(config.databricks.tokens.first().map_or("", String::as_str)),
            ),
            snowflake: at(
                Platform::Snowflake,
                Some(Credential::SnowflakeKeyPair {
                    account: config.snowflake.account.clone(),
                    user: config.snowflake.user.clone(),
                    private_key_pem: Secret::new(partner_sim::DEMO_SNOWFLAKE_PRIVATE_KEY_PEM),
                }),
            ),
            mlflow: at(
                Platform::Mlflow,
                Some(Credential::Basic {
                    username: config.mlflow.username.clone(),
                    password: Secret::new(config.mlflow.password.clone()),
                }),
            ),
            kubeflow: at(
                Platform::Kubeflow,
                bearer(config.kubeflow.tokens.first().map_or("", String::as_str)),
            ),
            datadog: at(
                Platform::Datadog,
                Some(Credential::DatadogKeys {
                    api_key: Secret::new(
                        config.datadog.api_keys.first().cloned().unwrap_or_default(),
                    ),
                    app_key: config.datadog.app_keys.first().cloned().map(Secret::new),
                }),
            ),
        }
    }

    /// Collects the demo partners' usage now (the default window: the last weeks), so the
    /// Reports page has figures at once instead of at the usage service's next pass.
    pub fn collect_usage(&self, db: PathBuf, names: Vec<String>) {
        let spawned = std::thread::Builder::new()
            .name("demo-usage".into())
            .spawn(move || {
                if let Err(e) = collect_usage_now(&db, &names) {
                    tracing::warn!(error = %e, "demo usage not collected");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "demo usage not collected");
        }
    }

    /// Stops every listener and the runtime.
    pub fn stop(mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
        self.runtime.shutdown_background();
        tracing::info!("partner-sim stopped");
    }
}

fn set_port(config: &mut SimConfig, platform: Platform, port: u16) {
    match platform {
        Platform::Databricks => config.ports.databricks = port,
        Platform::Snowflake => config.ports.snowflake = port,
        Platform::Kubeflow => config.ports.kubeflow = port,
        Platform::Datadog => config.ports.datadog = port,
        Platform::Mlflow => config.ports.mlflow = port,
    }
}

fn platform_of(kind: PartnerKind) -> Option<Platform> {
    match kind {
        PartnerKind::Databricks => Some(Platform::Databricks),
        PartnerKind::Snowflake => Some(Platform::Snowflake),
        PartnerKind::Mlflow => Some(Platform::Mlflow),
        PartnerKind::Kubeflow => Some(Platform::Kubeflow),
        PartnerKind::Datadog => Some(Platform::Datadog),
        PartnerKind::Http => None,
    }
}

/// The simulator slot the app and the commands share.
#[derive(Default, Clone)]
pub struct DemoSlot(pub Arc<Mutex<Option<DemoSimulator>>>);

impl DemoSlot {
    pub fn is_running(&self) -> bool {
        self.0.lock().map(|s| s.is_some()).unwrap_or(false)
    }

    /// Stops the simulator if it runs.
    pub fn stop(&self) {
        let running = self.0.lock().ok().and_then(|mut s| s.take());
        if let Some(sim) = running {
            sim.stop();
        }
    }

    /// Starts the simulator and registers the demo partners; returns their names.
    pub fn start_new(&self, registry: &mut Registry, db: PathBuf) -> Result<Vec<String>, String> {
        if self.is_running() {
            return Err("the demo is already running".into());
        }
        let sim = DemoSimulator::start(&[])?;
        let names = demo::register(registry, &sim.access(), Utc::now().date_naive())
            .map_err(|e| e.to_string());
        let names = match names {
            Ok(names) => names,
            Err(e) => {
                sim.stop();
                return Err(e);
            }
        };
        sim.collect_usage(db, names.clone());
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(sim);
        }
        Ok(names)
    }

    /// On the start of a demo workspace: the simulator on the ports the demo partners point at
    /// (new ones if taken, the partners re-pointed through the registry).
    pub fn resume(&self, registry: &mut Registry) -> Result<(), String> {
        if !demo::is_demo(registry).map_err(|e| e.to_string())? {
            return Ok(());
        }
        let partners = demo::registered(registry).map_err(|e| e.to_string())?;
        if partners.is_empty() {
            return Ok(());
        }
        let ports: Vec<(Platform, u16)> = [
            PartnerKind::Databricks,
            PartnerKind::Snowflake,
            PartnerKind::Mlflow,
            PartnerKind::Kubeflow,
            PartnerKind::Datadog,
        ]
        .into_iter()
        .filter_map(|kind| Some((platform_of(kind)?, demo::registered_port(&partners, kind)?)))
        .collect();
        let sim = DemoSimulator::start(&ports)?;
        let moved = demo::repoint(registry, &sim.access(), Utc::now().date_naive())
            .map_err(|e| e.to_string())?;
        if !moved.is_empty() {
            tracing::info!(partners = ?moved, "demo partners re-pointed to new simulator ports");
        }
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(sim);
        }
        Ok(())
    }
}

/// Restarts the simulator of a demo workspace when the app starts; a failure is logged and
/// the demo partners then show as unreachable.
pub fn resume_on_start(app: &tauri::AppHandle) {
    use tauri::Manager;
    let state = app.state::<crate::AppState>();
    let Ok(mut registry) = state.registry.lock() else {
        return;
    };
    if let Err(e) = app.state::<DemoSlot>().resume(&mut registry) {
        tracing::error!(error = %e, "the demo's partner-sim could not start");
    }
}

fn collect_usage_now(db: &std::path::Path, names: &[String]) -> Result<(), String> {
    let registry = Registry::open(db).map_err(|e| e.to_string())?;
    let policy = usage::CollectPolicy::default();
    let mut targets = Vec::new();
    for name in names {
        targets.extend(
            usage::plan(&registry, Some(name), None, Utc::now(), &policy)
                .map_err(|e| e.to_string())?,
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let connectors = usage::PlatformUsageConnectors {
        min_call_timeout: policy.min_call_timeout,
    };
    let results = runtime.block_on(usage::collect(
        registry.store(),
        targets,
        &connectors,
        &policy,
        &SystemClock,
        |_| {},
    ));
    for r in results {
        match r.error {
            Some(e) => tracing::warn!(partner = %r.partner, error = %e, "demo usage not collected"),
            None => {
                tracing::info!(partner = %r.partner, records = r.records, "demo usage collected")
            }
        }
    }
    Ok(())
}
