//! The `partner-sim` binary: starts the simulators, prints one `<platform> <url>` line per
//! listener on stdout, and runs until SIGTERM or ctrl-c.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use partner_sim::{Faults, Platform, Sim, SimConfig};

/// Spec-faithful simulators of Databricks, Snowflake, Kubeflow Pipelines and Datadog.
#[derive(Debug, Parser)]
#[command(name = "partner-sim", version)]
struct Args {
    /// Which platforms to serve: all, or a comma-separated list of databricks, snowflake, kubeflow, datadog.
    #[arg(long, default_value = "all")]
    platform: String,
    /// First port; platforms take consecutive ports from it in the order databricks, snowflake,
    /// kubeflow, datadog. 0 (default) picks free ports. Overrides ports in the config file.
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind (default 127.0.0.1).
    #[arg(long)]
    host: Option<std::net::IpAddr>,
    /// Config file (.toml or .json); see the crate README.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Starting faults for every served platform, as JSON (same shape as PUT /_sim/faults).
    #[arg(long)]
    faults: Option<String>,
    /// Added latency in ms for every served platform.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Probability of a 5xx for every served platform.
    #[arg(long)]
    error_rate: Option<f64>,
}

fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => SimConfig::from_file(path).map_err(|e| e.to_string())?,
        None => SimConfig::default(),
    };
    if args.platform.trim() != "all" {
        config.platforms = args
            .platform
            .split(',')
            .map(str::parse::<Platform>)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    }
    if let Some(host) = args.host {
        config.host = host;
    }
    if let Some(base) = args.port {
        for (i, p) in Platform::ALL.into_iter().enumerate() {
            let port = if base == 0 {
                0
            } else {
                base.saturating_add(i as u16)
            };
            match p {
                Platform::Databricks => config.ports.databricks = port,
                Platform::Snowflake => config.ports.snowflake = port,
                Platform::Kubeflow => config.ports.kubeflow = port,
                Platform::Datadog => config.ports.datadog = port,
                Platform::Mlflow => config.ports.mlflow = port,
            }
        }
    }
    let cli_faults: Option<Faults> = args
        .faults
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| format!("--faults: {e}"))?;
    for p in Platform::ALL {
        let f = config.faults_mut(p);
        if let Some(cli) = &cli_faults {
            *f = cli.clone();
        }
        if let Some(ms) = args.latency_ms {
            f.latency_ms = ms;
        }
        if let Some(rate) = args.error_rate {
            f.error_rate = rate;
        }
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async move {
        let sim = Sim::start(config).await.map_err(|e| e.to_string())?;
        for p in sim.platforms() {
            println!("{p} {}", sim.base_url(p));
        }
        wait_for_stop().await;
        tracing::info!("stopping");
        sim.shutdown().await;
        Ok(())
    })
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("partner_sim=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("partner-sim: {message}");
            ExitCode::from(2)
        }
    }
}
