//! A read-only SQL query on an Ecosystem database, for the end-to-end tests: it opens the file
//! as a second process would (with the database key from the OS keyring, nothing migrated or
//! written) and prints each row with its columns joined by `|`, NULL as an empty field.
//!
//!     db-query DATABASE SQL
//!
//! The `sqlite3` shell cannot read an encrypted database, hence this tool.

use std::path::PathBuf;
use std::process::ExitCode;

use rusqlite::types::ValueRef;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, sql] = args.as_slice() else {
        eprintln!("usage: db-query DATABASE SQL");
        return ExitCode::from(2);
    };
    match run(&PathBuf::from(db), sql) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("db-query: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(db: &std::path::Path, sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    // Read-only, with the key, and a 10 s busy timeout beside the running app.
    let conn = ecosystem_core::encryption::open_read_only(db)?;
    let mut stmt = conn.prepare(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut out = String::new();
    while let Some(row) = rows.next()? {
        let fields = (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => String::new(),
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(x) => x.to_string(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push_str(&fields.join("|"));
        out.push('\n');
    }
    Ok(out)
}
