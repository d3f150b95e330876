//! `ecosystem report quarterly` (the real binary) on a temporary database seeded through the
//! core API at fixed instants in 2025-Q2, so every figure checked is computed by hand.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ecosystem_core::sla::CreditTier;
use ecosystem_core::sla_terms::ContractSlaTerms;
use ecosystem_core::usage::{day_of_date, record_usage, Measurement, MetricSource};
use ecosystem_core::{PartnerKind, Registry};
use serde_json::Value;

mod common;
use common::{add_strategic, contract_2025, ok, record_one_hour_outage, run, t};

const HOSTILE: &str = "=cmd|' /C calc'!A0 <b>";

struct Seeded {
    dir: tempfile::TempDir,
    db: PathBuf,
}

/// `acme` and the hostile partner, strategic (down at the 2nd failure, back at the 2nd
/// success), each with a 2025 contract of 120 000.00 EUR (10 000.00 a month) and a 10 % credit
/// below 99.9 %; acme is down 2025-04-10 00:00:30 to 01:00:30 (3 600 s) and used 7 and 5 DBU
/// in April and June, 10 in March. `loose` has no contract.
fn seed() -> Seeded {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ecosystem.db");
    let mut registry = Registry::open(&db).expect("open registry");
    let ids = add_strategic(
        &mut registry,
        &["acme", HOSTILE, "loose"],
        PartnerKind::Databricks,
        "https://dbx.example.com",
    );
    contract_2025(&mut registry, &["acme", HOSTILE]);
    for name in ["acme", HOSTILE] {
        let terms = ContractSlaTerms {
            credits: vec![CreditTier {
                below_percent: "99.9".parse().expect("percent"),
                credit_percent: "10".parse().expect("percent"),
            }],
            ..ContractSlaTerms::default()
        };
        registry.set_sla_terms(name, &terms).expect("terms");
    }
    record_one_hour_outage(&db, &ids, "2025-03-01T00:00:00Z");
    for (date, value) in [
        ("2025-03-15", 10.0),
        ("2025-04-15", 7.0),
        ("2025-06-15", 5.0),
    ] {
        let day = day_of_date(date.parse::<NaiveDate>().expect("date"));
        record_usage(
            registry.store().conn(),
            ids[0],
            &[Measurement::new(
                "databricks.dbus",
                "DBU",
                MetricSource::Platform,
                day,
                value,
            )],
            t("2025-07-01T00:00:00Z"),
        )
        .expect("usage");
    }
    Seeded { dir, db }
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).expect("csv file");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["section", "period", "item", "value", "unit"]
    );
    reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

fn cell(rows: &[Vec<String>], section: &str, period: &str, item: &str) -> (String, String) {
    let row = rows
        .iter()
        .find(|r| r[0] == section && r[1] == period && r[2] == item)
        .unwrap_or_else(|| panic!("no row {section},{period},{item}: {rows:?}"));
    (row[3].clone(), row[4].clone())
}

#[test]
fn files_mode_writes_the_csv_and_the_summary_and_prints_their_paths() {
    let seeded = seed();
    let out_dir = seeded.dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("out dir");
    let printed = ok(
        &seeded.db,
        &[
            "report",
            "quarterly",
            "--partner",
            "acme",
            "--quarter",
            "2025-Q2",
            "--output-dir",
            out_dir.to_str().expect("utf-8 path"),
        ],
    );
    let paths: Vec<PathBuf> = printed.lines().map(PathBuf::from).collect();
    assert_eq!(
        paths,
        [
            out_dir.join("acme-2025-Q2.csv"),
            out_dir.join("acme-2025-Q2.html")
        ]
    );
    let rows = read_csv(&paths[0]);
    // April: 2 592 000 s, 3 600 down over a budget of 2 592: missed, 10 % of 10 000.00 EUR.
    assert_eq!(
        cell(&rows, "uptime", "2025-04", "down_time"),
        ("3600".into(), "seconds".into())
    );
    assert_eq!(cell(&rows, "uptime", "2025-04", "met").0, "false");
    assert_eq!(cell(&rows, "uptime", "2025-05", "uptime").0, "100");
    assert_eq!(
        cell(&rows, "credit", "2025-Q2", "credit_owed"),
        ("1000.00".into(), "EUR".into())
    );
    assert_eq!(cell(&rows, "incidents", "2025-Q2", "mttr").0, "3600");
    // 12 DBU against 10 in 2025-Q1: +20 %.
    assert_eq!(
        cell(&rows, "usage", "2025-Q2", "databricks.dbus"),
        ("12".into(), "DBU".into())
    );
    assert_eq!(
        cell(&rows, "usage_change", "2025-Q2", "databricks.dbus"),
        ("20".into(), "percent".into())
    );
    assert_eq!(
        cell(&rows, "contract", "", "notice_deadline").0,
        "2025-12-02"
    );
    let html = std::fs::read_to_string(&paths[1]).expect("html file");
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
    assert!(html.contains("1000.00 EUR") && html.matches("<svg").count() == 3);
}

#[test]
fn json_mode_prints_the_review_and_a_hostile_name_gets_a_safe_file_name() {
    let seeded = seed();
    let review: Value = serde_json::from_str(&ok(
        &seeded.db,
        &[
            "report",
            "quarterly",
            "--partner",
            "loose",
            "--quarter",
            "2025-q2",
            "--format",
            "json",
        ],
    ))
    .expect("JSON");
    assert_eq!(review["quarter"], "2025-Q2");
    assert_eq!(review["sla"], Value::Null);
    assert_eq!(review["contract"], Value::Null);
    let notes = review["notes"].as_array().expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.starts_with("No contract"))),
        "{notes:?}"
    );

    let out_dir = seeded.dir.path();
    let printed = ok(
        &seeded.db,
        &[
            "report",
            "quarterly",
            "--partner",
            HOSTILE,
            "--quarter",
            "2025-Q2",
            "--output-dir",
            out_dir.to_str().expect("utf-8 path"),
        ],
    );
    let csv_path = PathBuf::from(printed.lines().next().expect("a path"));
    assert_eq!(csv_path, out_dir.join("cmd-C-calc-A0-b-2025-Q2.csv"));
    let rows = read_csv(&csv_path);
    assert_eq!(cell(&rows, "partner", "", "name").0, format!("'{HOSTILE}"));
    let html_path = out_dir.join("cmd-C-calc-A0-b-2025-Q2.html");
    let html = std::fs::read_to_string(html_path).expect("html");
    assert!(html.contains("=cmd|&#39; /C calc&#39;!A0 &lt;b&gt;") && !html.contains(HOSTILE));
}

#[test]
fn a_bad_quarter_and_a_future_one_are_refused_naming_the_flag() {
    let seeded = seed();
    for (quarter, says) in [
        ("2025-Q5", "quarters run from Q1 to Q4"),
        ("25-Q1", "write it as 2026-Q3"),
        ("2999-Q1", "has not started yet"),
    ] {
        let out = run(
            &seeded.db,
            &[
                "report",
                "quarterly",
                "--partner",
                "acme",
                "--quarter",
                quarter,
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{quarter}: {stderr}");
        assert!(
            stderr.contains("--quarter") && stderr.contains(says),
            "{quarter}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}
