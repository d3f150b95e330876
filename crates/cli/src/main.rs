//! `ecosystem`: the command line over ecosystem-core, on the same database file as the
//! desktop app. Bad input exits 2 with one line on stderr naming the field and the problem;
//! runtime failures exit 1.

mod args;
mod audit;
mod bench;
mod bench_logs;
mod bench_report;
mod check;
mod contracts;
mod credential;
mod db;
mod db_stats;
mod encryption;
mod events;
mod health;
mod maintenance;
mod output;
mod poll;
mod report;
mod review;
mod sla;
mod usage;
mod watch;

use std::process::ExitCode;

use clap::Parser;
use ecosystem_core::{Error, Registry, Surface};
use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

use args::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return args::report_usage_error(e),
    };
    let log = init_logging();
    let result = run(cli);
    // What the command logged is written out before its last word.
    drop(log);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}

/// Logs to stderr, filtered by `ECOSYSTEM_LOG` (else warnings and errors), every line masked
/// (e-mail addresses, tokens, key material) on its way out and written from a thread of its
/// own, so that `ecosystem poll` keeps polling when nobody reads its stderr. Keep the guard
/// until the end: dropping it writes out what is waiting.
fn init_logging() -> WorkerGuard {
    let (stderr, guard) = ecosystem_core::redact::stderr_layer(std::io::stderr().is_terminal());
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_env("ECOSYSTEM_LOG").unwrap_or_else(|_| "warn".into()))
        .with(stderr)
        .init();
    ecosystem_core::redact::log_panics();
    guard
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    if let args::Command::Bench(bench) = cli.command {
        return bench_report::run(bench);
    }
    let path = match cli.db {
        Some(p) => p,
        None => ecosystem_core::default_db_path()?,
    };
    // Checked before anything opens it for writing (which would migrate it).
    if let args::Command::Db(db) = cli.command {
        return db::run(&path, db);
    }
    let mut registry = Registry::open_as(&path, Surface::Cli)?;
    let result = match cli.command {
        args::Command::Check(check) => check::run(&registry, check),
        args::Command::Events(events) => events::run(&registry, events),
        args::Command::Poll(poll) => poll::run(&registry, &path, poll),
        args::Command::Usage(usage) => usage::run(&registry, usage),
        command => command.run(&mut registry).map(|()| ExitCode::SUCCESS),
    };
    // Ecosystem's own counts of the calls this command made to partners (docs/USAGE.md).
    if let Err(e) =
        ecosystem_connectors::usage::flush_call_counts(registry.store(), registry.clock().now())
    {
        tracing::warn!(error = %e, "call counts not stored");
    }
    result
}
