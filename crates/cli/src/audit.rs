//! `ecosystem audit`: the audit log, newest first, filtered like the app's Audit page (subject,
//! action) and by time, as a table, JSON or CSV (`--output FILE` writes the CSV as the app's
//! "Export CSV…" does: a BOM, neutralised cells, an atomic write). Read-only: no command
//! changes or removes an entry.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ecosystem_core::audit_view::{self, AuditQuery, MAX_PAGE};
use ecosystem_core::{AuditEntry, Error, Registry, Result};

use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum AuditFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries about this subject: a partner's name, a setting's key (exact)
    #[arg(long, visible_alias = "partner", value_name = "NAME")]
    subject: Option<String>,
    /// Only entries of this action (partner.add, credential.set, setting.set, ...)
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
    /// Only entries made at or after WHEN: YYYY-MM-DD (from 00:00 UTC) or RFC 3339
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// At most N entries, the newest [default: 50]; CSV always holds every matching entry
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    format: AuditFormat,
    /// Write the CSV to FILE (with a BOM, atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(registry: &Registry, args: AuditArgs) -> Result<()> {
    let query = AuditQuery {
        subject: args.subject,
        action: args.action,
        since: args.since,
        ..AuditQuery::default()
    };
    if args.format == AuditFormat::Csv {
        if args.limit.is_some() {
            return Err(Error::invalid(
                "--limit",
                "not with --format csv, which writes every matching entry",
            ));
        }
        return match &args.output {
            Some(path) => {
                let rows = audit_view::export_csv(path, registry, &query)?;
                eprintln!("wrote {rows} audit entries to {}", path.display());
                Ok(())
            }
            None => {
                audit_view::write_csv(registry, &query, std::io::stdout().lock(), false).map(|_| ())
            }
        };
    }
    if args.output.is_some() {
        return Err(Error::invalid("--output", "only with --format csv"));
    }
    let entries = newest(registry, query, args.limit.unwrap_or(50))?;
    match args.format {
        AuditFormat::Json => output::json(&entries),
        _ => {
            output::table(
                &["WHEN", "WHO", "ACTION", "SUBJECT", "DETAIL"],
                &entries
                    .iter()
                    .map(|a| {
                        vec![
                            a.at.clone(),
                            a.actor.clone(),
                            a.action.clone(),
                            a.subject.clone(),
                            output::or_dash(a.detail.as_deref()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            Ok(())
        }
    }
}

/// Up to `limit` entries matching `query`, newest first, read a page at a time.
fn newest(registry: &Registry, mut query: AuditQuery, limit: u32) -> Result<Vec<AuditEntry>> {
    if limit == 0 {
        return Err(Error::invalid("--limit", "give at least 1"));
    }
    let mut entries = Vec::new();
    loop {
        let left = limit - entries.len() as u32;
        query.limit = Some(left.min(MAX_PAGE));
        let page = audit_view::page(registry, &query)?;
        entries.extend(page.entries);
        match page.next_before {
            Some(before) if (entries.len() as u32) < limit => query.before_id = Some(before),
            _ => return Ok(entries),
        }
    }
}
