//! `ecosystem db check`: SQLite's `PRAGMA integrity_check` on the database file, through a
//! read-only connection (nothing is migrated or written, so it runs beside the desktop app or
//! a poller). Prints `ok`, or each problem SQLite found, and exits 1 when the file is not sound.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use ecosystem_core::{Result, Store};
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
}

#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    path: String,
    ok: bool,
    findings: &'a [String],
}

pub fn run(db: &Path, cmd: DbCommand) -> Result<ExitCode> {
    match cmd {
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
    }
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
