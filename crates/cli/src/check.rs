//! `ecosystem check PARTNER`: runs the partner's connection test through its connector and
//! prints the state, the latency, the error class and reason, and each capability verified.
//! Exit 0 when healthy or degraded, 3 when unhealthy. Also verifies a new credential before
//! `ecosystem credential set` lets it replace the old one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ecosystem_connectors::check::{check_partner, options_for};
use ecosystem_core::integration::{CheckState, ConnectionCheck};
use ecosystem_core::{Credential, Error, Partner, Registry, Result, StoredCheck};
use serde::Serialize;

use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct CheckArgs {
    pub partner: String,
    /// For an http partner: the check file (TOML) with the request and its conditions
    #[arg(long, value_name = "FILE")]
    pub check_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What `check` prints as JSON.
#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    partner: &'a str,
    state: CheckState,
    latency_ms: u64,
    error_class: Option<&'static str>,
    reason: Option<&'a str>,
    capabilities: Vec<CapabilityReport<'a>>,
}

#[derive(Debug, Serialize)]
struct CapabilityReport<'a> {
    name: &'a str,
    ok: bool,
    reason: Option<&'a str>,
}

pub fn run(registry: &Registry, args: CheckArgs) -> Result<ExitCode> {
    let partner = registry.partner(&args.partner)?;
    let credential = match registry.credential_meta(&partner.name)? {
        Some(_) => Some(registry.credential(&partner.name)?),
        None => None,
    };
    let stored = match args.check_file {
        Some(_) => None,
        None => registry.custom_check(&partner.name)?,
    };
    let check = test_connection(&partner, credential, args.check_file, stored)?;
    let report = CheckReport {
        partner: &partner.name,
        state: check.state,
        latency_ms: check.latency_ms,
        error_class: check.error.as_ref().map(|e| e.class.as_str()),
        reason: check.error.as_ref().map(|e| e.message.as_str()),
        capabilities: check
            .capabilities
            .iter()
            .map(|c| CapabilityReport {
                name: &c.name,
                ok: c.ok,
                reason: c.error.as_ref().map(|e| e.message.as_str()),
            })
            .collect(),
    };
    match args.format {
        Format::Json => output::json(&report)?,
        Format::Table => print_report(&report),
    }
    Ok(match check.state {
        CheckState::Healthy | CheckState::Degraded => ExitCode::SUCCESS,
        CheckState::Unhealthy => ExitCode::from(3),
    })
}

fn print_report(r: &CheckReport<'_>) {
    let state = match r.state {
        CheckState::Healthy => "healthy",
        CheckState::Degraded => "degraded",
        CheckState::Unhealthy => "unhealthy",
    };
    println!("{:<13} {}", "partner", r.partner);
    println!("{:<13} {state}", "state");
    println!("{:<13} {} ms", "latency", r.latency_ms);
    if let (Some(class), Some(reason)) = (r.error_class, r.reason) {
        println!("{:<13} {class}: {reason}", "error");
    }
    for (i, c) in r.capabilities.iter().enumerate() {
        let label = if i == 0 { "capabilities" } else { "" };
        let mark = if c.ok { "ok" } else { "FAILED" };
        match c.reason {
            Some(reason) => println!("{label:<13} {mark:<6} {}: {reason}", c.name),
            None => println!("{label:<13} {mark:<6} {}", c.name),
        }
    }
}

/// Runs the connection test of `partner` with `credential`, to completion.
pub fn test_connection(
    partner: &Partner,
    credential: Option<Credential>,
    check_file: Option<PathBuf>,
    stored_check: Option<StoredCheck>,
) -> Result<ConnectionCheck> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the network runtime".into(),
            source: e,
        })?;
    let mut options = options_for(partner);
    options.check_file = check_file;
    options.stored_check = stored_check;
    Ok(runtime.block_on(check_partner(partner, credential, options)))
}

/// Accepts a credential only if the partner answers healthy or degraded with it.
pub fn verify(
    partner: &Partner,
    stored_check: Option<StoredCheck>,
    credential: &Credential,
) -> std::result::Result<(), String> {
    let check = test_connection(partner, Some(credential.clone()), None, stored_check)
        .map_err(|e| e.to_string())?;
    match (check.state, check.error) {
        (CheckState::Healthy | CheckState::Degraded, _) => Ok(()),
        (CheckState::Unhealthy, Some(e)) => Err(format!(
            "{} refused the new credential ({e}); the old one is kept",
            partner.name
        )),
        (CheckState::Unhealthy, None) => Err(format!(
            "{} is unhealthy with the new credential; the old one is kept",
            partner.name
        )),
    }
}
