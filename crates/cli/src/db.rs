//! `ecosystem db check`: SQLite's `PRAGMA integrity_check` on the database file, through a
//! read-only connection (nothing is migrated or written, so it runs beside the desktop app or
//! a poller). Prints `ok`, or each problem SQLite found, and exits 1 when the file is not sound.
//!
//! `ecosystem db prune`: the health-history retention run now, with the workspace's settings
//! (`Registry::prune_history`: audited, one transaction per partner, safe beside the app or a
//! poller), and what it removed.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use ecosystem_core::health_store::PruneReport;
use ecosystem_core::{Registry, Result, Store, Surface};
use serde::Serialize;

use crate::output::Format;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Run SQLite's integrity check on the database file; prints `ok` or the problems found
    /// (exit 1 if any)
    Check {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Run the health-history retention now with the workspace's settings (history.raw_days,
    /// history.hour_rollup_days): raw samples and minute/hour rollups past them are deleted
    /// (day rollups and state changes stay), then the freed pages go back to the file system;
    /// audited as history.prune
    Prune {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Encrypt a plain database (written before encryption at rest) now, and report what was
    /// done; opening it does the same
    Encrypt {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// The row count of every table (read-only, beside a running app)
    Stats {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// The database key in the OS keyring: export it for recovery, import it back, status
    #[command(subcommand)]
    Key(crate::encryption::KeyCommand),
}

#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    path: String,
    ok: bool,
    findings: &'a [String],
}

pub fn run(db: &Path, cmd: DbCommand) -> Result<ExitCode> {
    match cmd {
        DbCommand::Encrypt { format } => crate::encryption::encrypt(db, format),
        DbCommand::Key(cmd) => crate::encryption::run_key(db, cmd),
        DbCommand::Stats { format } => crate::db_stats::run(db, format),
        DbCommand::Check { format } => {
            let findings = Store::integrity_check(db)?;
            let ok = findings.len() == 1 && findings[0] == "ok";
            match format {
                Format::Json => crate::output::json(&CheckReport {
                    path: db.display().to_string(),
                    ok,
                    findings: &findings,
                })?,
                Format::Table => {
                    for line in &findings {
                        println!("{line}");
                    }
                }
            }
            if !ok {
                eprintln!(
                    "{}: the integrity check found {} problem(s)",
                    db.display(),
                    findings.len()
                );
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        DbCommand::Prune { format } => {
            let report = Registry::open_as(db, Surface::Cli)?.prune_history()?;
            match format {
                Format::Json => crate::output::json(&report)?,
                Format::Table => print_prune(&report),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_prune(r: &PruneReport) {
    let time = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    println!(
        "pruned the health history of {} partner(s) (history.raw_days {}, history.hour_rollup_days {})",
        r.partners, r.raw_days, r.hour_rollup_days
    );
    crate::output::table(
        &["KEPT FROM", "HISTORY", "DELETED"],
        &[
            (r.samples_before, "raw samples", r.removed.samples_deleted),
            (
                r.minute_rollups_before,
                "minute rollups",
                r.removed.minute_rollups_deleted,
            ),
            (
                r.hour_rollups_before,
                "hour rollups",
                r.removed.hour_rollups_deleted,
            ),
        ]
        .iter()
        .map(|(at, what, n)| vec![time(at), what.to_string(), n.to_string()])
        .collect::<Vec<_>>(),
    );
    println!(
        "day rollups and state changes are kept; {} free page(s) given back",
        r.removed.pages_freed
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sound_file_passes_and_a_damaged_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        drop(ecosystem_core::Registry::open(&db).unwrap());
        let check = || DbCommand::Check {
            format: Format::Table,
        };
        assert_eq!(run(&db, check()).unwrap(), ExitCode::SUCCESS);
        // Overwrite the pages after the header with garbage.
        let mut bytes = std::fs::read(&db).unwrap();
        assert!(bytes.len() > 8_192, "the schema spans several pages");
        for (i, b) in bytes.iter_mut().enumerate().skip(4_096) {
            *b = (i % 251) as u8;
        }
        std::fs::write(&db, bytes).unwrap();
        match run(&db, check()) {
            Ok(code) => assert_eq!(code, ExitCode::FAILURE),
            Err(e) => assert!(e.to_string().contains("malformed"), "{e}"),
        }
        let missing = dir.path().join("none.db");
        let e = run(&missing, check()).unwrap_err();
        assert!(e.to_string().contains("no such database file"), "{e}");
    }
}
