//! `ecosystem db stats`: the row count of every table, read through the same read-only,
//! keyed connection as `db check` (the file is encrypted, so the sqlite3 shell cannot read it).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use ecosystem_core::encryption;
use ecosystem_core::Result;
use serde::Serialize;

use crate::output::Format;

#[derive(Debug, Serialize)]
struct Stats {
    path: String,
    tables: BTreeMap<String, i64>,
    /// Partners with at least one raw health sample.
    partners_checked: i64,
}

pub fn run(db: &Path, format: Format) -> Result<ExitCode> {
    let conn = encryption::open_read_only(db)?;
    let tables: BTreeMap<String, i64> = encryption::row_counts(&conn)?.into_iter().collect();
    let partners_checked = if tables.contains_key("health_samples") {
        conn.query_row(
            "SELECT count(DISTINCT partner_id) FROM health_samples",
            [],
            |r| r.get(0),
        )?
    } else {
        0
    };
    let stats = Stats {
        path: db.display().to_string(),
        tables,
        partners_checked,
    };
    match format {
        Format::Json => crate::output::json(&stats)?,
        Format::Table => crate::output::table(
            &["TABLE", "ROWS"],
            &stats
                .tables
                .iter()
                .map(|(t, n)| vec![t.clone(), n.to_string()])
                .collect::<Vec<_>>(),
        ),
    }
    Ok(ExitCode::SUCCESS)
}
