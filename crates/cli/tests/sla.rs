//! `ecosystem contract sla-terms` and `ecosystem sla` (the real binary) on a temporary
//! database whose health history is seeded through the core API at fixed instants in 2025,
//! so every expected figure below is computed by hand from the outage it seeds.

use std::path::{Path, PathBuf};

use ecosystem_core::{PartnerKind, Registry};

mod common;
use common::{add_strategic, contract_2025, json, ok, record_one_hour_outage, run};

const HOSTILE: &str = "=HYPERLINK(\"x\")";

struct Seeded {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

/// Strategic partners (2 failures to go down, 2 successes to recover):
/// - `acme`: healthy from 2025-03-31 00:00 UTC; failures at 04-10 00:00:00 and 00:00:30 make it
///   unhealthy at 00:00:30; successes at 01:00:00 and 01:00:30 bring it back at 01:00:30. One
///   outage of exactly 3 600 s. Contract 2025 worth 120 000.00 EUR (10 000.00 a month).
/// - `=HYPERLINK("x")`: healthy from 2025-03-31, same contract.
/// - `nocontract`: checked, but without a contract.
fn seed() -> Seeded {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ecosystem.db");
    let mut registry = Registry::open(&db).expect("open registry");
    let ids = add_strategic(
        &mut registry,
        &["acme", HOSTILE, "nocontract"],
        PartnerKind::Mlflow,
        "https://mlflow.example.com",
    );
    contract_2025(&mut registry, &["acme", HOSTILE]);
    let transitions = record_one_hour_outage(&db, &ids, "2025-03-31T00:00:00Z");
    assert_eq!(
        transitions.len(),
        5,
        "acme: healthy, unhealthy, healthy; the others: healthy: {transitions:?}"
    );
    Seeded { _dir: dir, db }
}

/// Runs a command that must be refused as bad input; returns its one stderr line.
fn refused(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "`ecosystem {}` should exit 2: {stderr}",
        args.join(" ")
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

fn credit_tiers(db: &Path) {
    ok(
        db,
        &[
            "contract",
            "sla-terms",
            "acme",
            "--credit",
            "99.9:10",
            "--credit",
            "99:25",
        ],
    );
}

#[test]
fn a_month_with_a_known_outage_gives_the_hand_computed_attainment_and_credit() {
    let s = seed();
    credit_tiers(&s.db);
    // April 2025 in UTC: 30 days = 2 592 000 s, 3 600 s down, nothing excluded.
    let reports = json(
        &s.db,
        &["sla", "acme", "--period", "2025-04", "--format", "json"],
    );
    let r = &reports[0];
    assert_eq!(r["partner"], "acme", "partner named");
    assert_eq!(r["period"], "2025-04", "period");
    assert_eq!(r["window_start"], "2025-04-01T00:00:00Z", "window start");
    assert_eq!(r["window_end"], "2025-05-01T00:00:00Z", "window end");
    assert_eq!(r["complete"], true, "April 2025 is over");
    assert_eq!(r["counted_seconds"], 2_592_000, "all of April counts");
    assert_eq!(r["down_seconds"], 3_600, "the outage");
    assert_eq!(r["up_seconds"], 2_588_400, "the rest");
    let attained = r["attained_percent"].as_f64().expect("attained");
    assert!(
        (attained - 2_588_400.0 / 2_592_000.0 * 100.0).abs() < 1e-9,
        "99.8611...%: {attained}"
    );
    assert_eq!(r["met"], false, "99.8611 % is below 99.9 %");
    assert_eq!(
        r["error_budget_seconds"], 2_592,
        "0.1 % of 2 592 000 s is 2 592 s"
    );
    assert_eq!(r["budget_left_seconds"], -1_008, "2 592 - 3 600");
    assert_eq!(
        r["breaches"].as_array().map(Vec::len),
        Some(1),
        "one breach"
    );
    assert_eq!(
        r["breaches"][0]["start"], "2025-04-10T00:00:30Z",
        "from the second failure"
    );
    assert_eq!(r["breaches"][0]["duration_seconds"], 3_600, "an hour");
    assert_eq!(
        r["credit_percent"], 10.0,
        "below 99.9 but not below 99: 10 %"
    );
    assert_eq!(
        r["credit_owed_minor"], 100_000,
        "10 % of the 10 000.00 EUR month"
    );
    assert_eq!(r["currency"], "EUR", "currency");

    let table = ok(&s.db, &["sla", "acme", "--period", "2025-04"]);
    let row = table.lines().nth(1).expect("a row under the header");
    for cell in [
        "acme",
        "2025-04",
        "99.8611%",
        "99.9%",
        "no",
        "-16m 48s",
        "1000.00 EUR",
    ] {
        assert!(row.contains(cell), "{row:?} should show {cell:?}");
    }
    assert!(
        table
            .lines()
            .next()
            .unwrap_or_default()
            .contains("CREDIT OWED"),
        "header: {table}"
    );
}

#[test]
fn a_quarter_in_berlin_is_measured_on_its_local_calendar_with_the_quarterly_fee() {
    let s = seed();
    let terms = ok(
        &s.db,
        &[
            "contract",
            "sla-terms",
            "acme",
            "--window",
            "quarter",
            "--time-zone",
            "Europe/Berlin",
            "--credit",
            "99.99:5",
        ],
    );
    assert!(
        terms.contains("30000.00 EUR per window"),
        "120 000.00 over 4 quarters: {terms}"
    );
    // Q2 2025 in Berlin (CEST): 2025-03-31 22:00 UTC to 2025-06-30 22:00 UTC, 91 days =
    // 7 862 400 s; 3 600 s down; 7 858 800 / 7 862 400 = 99.9542 %: met, but below 99.99.
    let reports = json(
        &s.db,
        &["sla", "acme", "--period", "2025-Q2", "--format", "json"],
    );
    let r = &reports[0];
    assert_eq!(r["window_start"], "2025-03-31T22:00:00Z", "Berlin midnight");
    assert_eq!(r["window_end"], "2025-06-30T22:00:00Z", "Berlin midnight");
    assert_eq!(r["counted_seconds"], 7_862_400, "91 days");
    assert_eq!(r["met"], true, "99.9542 % meets 99.9 %");
    assert_eq!(r["error_budget_seconds"], 7_862, "0.1 % of 7 862 400 s");
    assert_eq!(r["budget_left_seconds"], 4_262, "7 862 - 3 600");
    assert_eq!(
        r["credit_owed_minor"], 150_000,
        "5 % of the 30 000.00 EUR quarter"
    );
    let table = ok(&s.db, &["sla", "acme", "--period", "2025-q2"]);
    assert!(
        table.contains("99.9542%") && table.contains("1h 11m 2s"),
        "attained and budget left: {table}"
    );
}

#[test]
fn csv_has_one_row_per_partner_with_a_header_and_neutralised_formulas() {
    let s = seed();
    credit_tiers(&s.db);
    let out = ok(&s.db, &["sla", "--period", "2025-04", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header[0], "partner", "header: {header:?}");
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("RFC 4180 rows");
    assert_eq!(
        rows.len(),
        2,
        "the two partners with a contract, not `nocontract`"
    );
    let by_partner = |name: &str| {
        rows.iter()
            .find(|r| &r[0] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"))
    };
    let hostile = by_partner(&format!("'{HOSTILE}"));
    assert_eq!(
        &hostile[column("attained_percent")],
        "100",
        "always healthy"
    );
    assert!(
        rows.iter().all(|r| !r[0].starts_with('=')),
        "no cell starts a formula: {rows:?}"
    );
    let acme = by_partner("acme");
    assert_eq!(&acme[column("period")], "2025-04", "period");
    assert_eq!(
        &acme[column("window_start")],
        "2025-04-01T00:00:00Z",
        "ISO 8601"
    );
    assert_eq!(
        &acme[column("budget_left_seconds")],
        "-1008",
        "a negative number stays a plain number"
    );
    assert_eq!(&acme[column("met")], "false", "missed");
    assert_eq!(&acme[column("credit_owed")], "1000.00", "plain decimal");
    assert_eq!(&acme[column("credit_owed_minor")], "100000", "minor units");
    assert_eq!(&acme[column("currency")], "EUR", "currency");
    let attained: f64 = acme[column("attained_percent")]
        .parse()
        .expect("a plain number");
    assert!((attained - 99.861_111_111).abs() < 1e-6, "{attained}");
}

#[test]
fn json_for_every_partner_lists_only_partners_with_a_contract() {
    let s = seed();
    let reports = json(&s.db, &["sla", "--period", "2025-04", "--format", "json"]);
    let names: Vec<&str> = reports
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|r| r["partner"].as_str())
        .collect();
    assert_eq!(names, vec![HOSTILE, "acme"], "by name, with contracts only");
    assert_eq!(
        reports[0]["credit_owed_minor"], 0,
        "no tiers by default, so no credit"
    );
}

#[test]
fn without_a_period_the_current_window_is_computed_to_date() {
    let s = seed();
    let reports = json(&s.db, &["sla", "acme", "--format", "json"]);
    assert_eq!(
        reports[0]["complete"], false,
        "the current month is running"
    );
    let table = ok(&s.db, &["sla", "acme"]);
    assert!(table.contains("(to date)"), "marked as to date: {table}");
}

#[test]
fn a_partner_without_a_contract_is_refused_by_name() {
    let s = seed();
    let line = refused(&s.db, &["sla", "nocontract", "--period", "2025-04"]);
    assert!(
        line.contains(r#""nocontract" has no contract"#),
        "names the partner: {line}"
    );
    let line = refused(&s.db, &["contract", "sla-terms", "nocontract"]);
    assert!(line.contains("has no contract"), "{line}");
    let line = refused(&s.db, &["sla", "ghost", "--period", "2025-04"]);
    assert!(line.contains("ghost"), "names the unknown partner: {line}");
}

#[test]
fn bad_periods_are_refused_naming_the_period_flag() {
    let s = seed();
    for (period, expected) in [
        ("2025-13", "months run from 01 to 12"),
        ("2025-Q5", "quarters run from Q1 to Q4"),
        ("April", "write a month as 2026-10 or a quarter as 2026-Q4"),
        ("2099-01", "has not started yet"),
        ("2025-Q2", "is a quarter but the SLA of \"acme\""),
    ] {
        let line = refused(&s.db, &["sla", "acme", "--period", period]);
        assert!(
            line.contains("--period") && line.contains(expected),
            "{period}: {line}"
        );
    }
}

#[test]
fn bad_terms_are_refused_naming_the_flag_and_leave_the_terms_alone() {
    let s = seed();
    for (args, flag) in [
        (vec!["--credit", "99.9"], "--credit"),
        (vec!["--maintenance", "sometimes"], "--maintenance"),
        (vec!["--time-zone", "Mars/Olympus_Mons"], "--time-zone"),
        (vec!["--window", "week"], "--window"),
        (vec!["--fee=-5"], "--fee"),
    ] {
        let mut full = vec!["contract", "sla-terms", "acme"];
        full.extend(args);
        let line = refused(&s.db, &full);
        assert!(line.contains(flag), "names {flag}: {line}");
    }
    let shown = ok(&s.db, &["contract", "sla-terms", "acme"]);
    assert!(
        shown.contains("calendar_month") && shown.contains("credits      none"),
        "still the defaults: {shown}"
    );
}
