//! `ecosystem report usage` (the real binary) on a temporary database: partners registered
//! through the core API, usage records written straight into `usage_records` as the collector
//! stores them, all in 2025 so every range is complete whatever today is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use ecosystem_core::report::day_number;
use ecosystem_core::{NewPartner, PartnerKind, Registry, Tier};
use serde_json::Value;

const HOSTILE: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";

struct Seeded {
    dir: tempfile::TempDir,
    db: PathBuf,
}

/// - `acme` (strategic): dbx.dbus (DBU) 40 on 2025-02-10 and 60 on 2025-02-28 (the previous
///   period of March), 50 on 2025-03-01 and 100 on 2025-03-31; s3.storage (GB) 7.5 on
///   2025-03-15.
/// - `=HYPERLINK(...)` (standard): dbx.dbus -2.5 on 2025-03-02 (a correction: negative).
/// - `Zürich AG` (premium): nothing.
fn seed() -> Seeded {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ecosystem.db");
    let mut registry = Registry::open(&db).expect("open registry");
    for (name, tier) in [
        ("acme", Tier::Strategic),
        (HOSTILE, Tier::Standard),
        ("Zürich AG", Tier::Premium),
    ] {
        let mut p = NewPartner::new(name, PartnerKind::Databricks, "https://dbc.example.com");
        p.tier = tier;
        registry.add_partner(&p).expect("add partner");
    }
    let conn = registry.store().conn();
    for (name, unit) in [("dbx.dbus", "DBU"), ("s3.storage", "GB")] {
        conn.execute(
            "INSERT INTO usage_metrics (name, unit, source) VALUES (?1, ?2, 'platform')",
            (name, unit),
        )
        .expect("metric");
    }
    for (partner, metric, day, value) in [
        ("acme", "dbx.dbus", "2025-02-10", 40.0),
        ("acme", "dbx.dbus", "2025-02-28", 60.0),
        ("acme", "dbx.dbus", "2025-03-01", 50.0),
        ("acme", "dbx.dbus", "2025-03-31", 100.0),
        ("acme", "s3.storage", "2025-03-15", 7.5),
        (HOSTILE, "dbx.dbus", "2025-03-02", -2.5),
    ] {
        let day = day_number(day.parse::<NaiveDate>().expect("date"));
        conn.execute(
            "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at) \
             VALUES ((SELECT id FROM partners WHERE name = ?1), \
                     (SELECT id FROM usage_metrics WHERE name = ?2), ?3, ?4, 0)",
            (partner, metric, day, value),
        )
        .expect("record");
    }
    Seeded { dir, db }
}

impl Seeded {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ecosystem"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("ECOSYSTEM_DB")
            .env("ECOSYSTEM_LOG", "warn")
            .output()
            .expect("run ecosystem")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Runs, expects exit 2 with one line on stderr, and returns that line.
    fn bad(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {out:?}");
        let stderr = String::from_utf8(out.stderr).expect("UTF-8");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
        stderr.trim_end().to_string()
    }

    fn files(&self) -> Vec<String> {
        files_in(self.dir.path())
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("ecosystem.db"))
        .collect();
    names.sort();
    names
}

const MARCH: [&str; 6] = [
    "report",
    "usage",
    "--from",
    "2025-03-01",
    "--to",
    "2025-03-31",
];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    MARCH.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn the_table_shows_buckets_totals_and_the_change_against_the_previous_period() {
    let s = seed();
    let out = s.ok(&args(&[]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Usage by partner, monthly: 2025-03-01 to 2025-03-31 (31 day(s), UTC); previous period \
         2025-01-29 to 2025-02-28"
    );
    let row = |needle: &[&str]| {
        lines
            .iter()
            .find(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                needle.iter().all(|n| words.contains(n))
            })
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{out}"))
            .to_string()
    };
    row(&["acme", "dbx.dbus", "DBU", "2025-03", "150"]);
    row(&["acme", "s3.storage", "GB", "2025-03", "7.5"]);
    // Totals: 150 against 100 (the previous period, 2025-01-29 .. 2025-02-28, holds both
    // February records).
    row(&["acme", "dbx.dbus", "DBU", "150", "100", "+50", "+50.0%"]);
    row(&["acme", "s3.storage", "GB", "7.5", "0", "+7.5", "new"]);
    row(&["DBU", "-2.5", "0", "-2.5", "new"]);
    assert!(out.contains("Totals"), "{out}");
    assert!(!out.contains("Zürich"), "no usage, no row: {out}");

    let by_metric = s.ok(&args(&["--group-by", "metric", "--bucket", "week"]));
    assert!(
        by_metric.contains("METRIC") && !by_metric.contains("PARTNER"),
        "{by_metric}"
    );
    assert!(
        by_metric.contains("2025-W09*"),
        "week of 2025-02-24, cut by March 1st, is marked partial: {by_metric}"
    );
    assert!(by_metric.contains("* partial week"), "{by_metric}");
}

#[test]
fn json_has_rows_totals_and_the_period() {
    let s = seed();
    let out = s.ok(&args(&["--group-by", "tier", "--format", "json"]));
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["period"]["from"], "2025-03-01");
    assert_eq!(v["period"]["previous_from"], "2025-01-29");
    assert_eq!(v["period"]["complete"], true);
    assert_eq!(v["group_by"], "tier");
    let rows: Vec<(String, String, String, f64)> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap().to_string(),
                r["metric"].as_str().unwrap().to_string(),
                r["unit"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("strategic".into(), "dbx.dbus".into(), "DBU".into(), 150.0),
            ("strategic".into(), "s3.storage".into(), "GB".into(), 7.5),
            ("standard".into(), "dbx.dbus".into(), "DBU".into(), -2.5),
        ]
    );
    let acme = &v["totals"][0];
    assert_eq!(acme["value"], 150.0);
    assert_eq!(acme["previous_value"], 100.0);
    assert_eq!(acme["change_percent"], 50.0);
    assert_eq!(v["totals"][1]["change_percent"], Value::Null);

    let one: Value = serde_json::from_str(&s.ok(&args(&[
        "--partner",
        "acme",
        "--bucket",
        "day",
        "--format",
        "json",
    ])))
    .expect("JSON");
    assert_eq!(one["partner"], "acme");
    assert_eq!(one["rows"].as_array().unwrap().len(), 3, "{one}");
    assert_eq!(one["rows"][0]["bucket_start"], "2025-03-01");
}

#[test]
fn csv_on_stdout_has_no_bom_and_neutralises_formulas() {
    let s = seed();
    let out = s.run(&args(&["--bucket", "day", "--format", "csv"]));
    assert!(out.status.success(), "{out:?}");
    assert!(out
        .stdout
        .starts_with(b"group,metric,unit,bucket_start,days,value\r\n"));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    let expected: Vec<Vec<String>> = [
        [HOSTILE, "dbx.dbus", "DBU", "2025-03-02", "1", "-2.5"],
        ["acme", "dbx.dbus", "DBU", "2025-03-01", "1", "50"],
        ["acme", "dbx.dbus", "DBU", "2025-03-31", "1", "100"],
        ["acme", "s3.storage", "GB", "2025-03-15", "1", "7.5"],
    ]
    .iter()
    .map(|r| {
        r.iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 && c.starts_with('=') {
                    format!("'{c}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    })
    .collect();
    assert_eq!(records, expected);
}

#[test]
fn output_writes_the_file_whole_and_says_so() {
    let s = seed();
    let csv_path = s.dir.path().join("usage.csv");
    let out = s.run(&args(&[
        "--format",
        "csv",
        "--output",
        csv_path.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 3 row(s)"));
    let bytes = std::fs::read(&csv_path).expect("written");
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBFgroup,metric,"),
        "a BOM for Excel"
    );
    assert_eq!(
        csv::Reader::from_reader(bytes.as_slice()).records().count(),
        3
    );

    for (format, file) in [("json", "usage.json"), ("table", "usage.txt")] {
        let path = s.dir.path().join(file);
        s.ok(&args(&[
            "--format",
            format,
            "--output",
            path.to_str().unwrap(),
        ]));
        let text = std::fs::read_to_string(&path).expect("written");
        assert_eq!(text, s.ok(&args(&["--format", format])), "{format}");
    }
    assert_eq!(s.files(), vec!["usage.csv", "usage.json", "usage.txt"]);
}

#[test]
fn an_error_leaves_no_half_file() {
    let s = seed();
    let path = s.dir.path().join("usage.csv");
    std::fs::write(&path, "old").expect("write");
    let line = s.bad(&[
        "report",
        "usage",
        "--from",
        "2025-03-31",
        "--to",
        "2025-03-01",
        "--format",
        "csv",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(line.contains("--to"), "{line}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");

    // The output is a folder: the rename fails (exit 1), and nothing is left behind.
    let folder = s.dir.path().join("a-folder");
    std::fs::create_dir(&folder).expect("mkdir");
    let out = s.run(&args(&[
        "--format",
        "csv",
        "--output",
        folder.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(s.files(), vec!["a-folder", "usage.csv"]);
    assert!(files_in(&folder).is_empty());
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let s = seed();
    let line = s.bad(&[
        "report",
        "usage",
        "--from",
        "2025-02-30",
        "--to",
        "2025-03-01",
    ]);
    assert!(
        line.contains("--from") && line.contains("2025-02-30"),
        "{line}"
    );
    let line = s.bad(&["report", "usage", "--from", "2025-03-01", "--to", "March"]);
    assert!(
        line.contains("--to") && line.contains("YYYY-MM-DD"),
        "{line}"
    );
    let line = s.bad(&[
        "report",
        "usage",
        "--from",
        "2025-03-02",
        "--to",
        "2025-03-01",
    ]);
    assert!(
        line.starts_with("error: --to: 2025-03-01 is before"),
        "{line}"
    );
    let line = s.bad(&[
        "report",
        "usage",
        "--from",
        "2010-01-01",
        "--to",
        "2025-03-01",
    ]);
    assert!(
        line.contains("--to") && line.contains("at most 3653 days"),
        "{line}"
    );
    let line = s.bad(&args(&["--partner", "nobody"]));
    assert!(line.starts_with("error: --partner: "), "{line}");
    let line = s.bad(&args(&["--bucket", "weekly"]));
    assert!(
        line.contains("--bucket") && line.contains("day, week, month"),
        "{line}"
    );
    let line = s.bad(&args(&["--group-by", "owner"]));
    assert!(line.contains("--group-by"), "{line}");
    let line = s.bad(&["report", "usage", "--to", "2025-03-01"]);
    assert!(line.contains("--from"), "{line}");
}
