//! The quarterly review read from a registry on a real SQLite file with a fixed clock; every
//! expected figure is computed by hand in the comments.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;

use super::*;
use crate::health::CheckOutcome;
use crate::health_store::{HealthWriter, PartnerOutcome};
use crate::integration::ErrorClass;
use crate::sla::CreditTier;
use crate::sla_terms::ContractSlaTerms;
use crate::usage::{day_of_date, record_usage, Measurement, MetricSource};
use crate::{ContractInput, FixedClock, NewPartner, Store};

fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is an instant: {e}"))
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

const HOSTILE: &str = "=HYPERLINK(\"http://x\",\"<script>alert(1)</script>\")";

struct Fixture {
    dir: tempfile::TempDir,
    registry: Registry,
    writer: HealthWriter,
    partner_id: u32,
    name: String,
    now: DateTime<Utc>,
}

impl Fixture {
    /// A strategic partner (down at the 2nd failure, back at the 2nd success), now = `now`.
    fn new(name: &str, now: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecosystem.db");
        let mut registry = Registry::new(
            Store::open(&path).unwrap(),
            "tester",
            Arc::new(FixedClock(at(now))),
        );
        let writer = HealthWriter::new(Store::open(&path).unwrap());
        let mut partner = NewPartner::new(name, PartnerKind::Mlflow, "https://mlflow.test");
        partner.tier = Tier::Strategic;
        partner.owner = Some("Dana".into());
        let partner_id = registry.add_partner(&partner).unwrap().id;
        Fixture {
            dir,
            registry,
            writer,
            partner_id,
            name: name.into(),
            now: at(now),
        }
    }

    /// A contract from `start` to `end` worth 120 000.00 EUR with `terms`, a window fee of
    /// `fee_minor` and a 10 % credit below 99.9 %.
    fn contract(&mut self, start: &str, end: &str, mut terms: ContractSlaTerms, fee_minor: i64) {
        let mut input = ContractInput::new(day(start), day(end));
        input.value = Some("120000.00".into());
        input.currency = Some("EUR".into());
        self.registry.set_contract(&self.name, &input).unwrap();
        terms.credits = vec![CreditTier {
            below_percent: "99.9".parse().unwrap(),
            credit_percent: "10".parse().unwrap(),
        }];
        terms.fee_minor = Some(fee_minor);
        self.registry.set_sla_terms(&self.name, &terms).unwrap();
    }

    fn check(&mut self, ok: bool, when: &str) {
        let outcome = if ok {
            CheckOutcome::ok(at(when), 120)
        } else {
            CheckOutcome::failed(at(when), ErrorClass::TimedOut, "no answer", 2_000)
        };
        self.writer
            .record(&[PartnerOutcome {
                partner_id: self.partner_id,
                outcome,
            }])
            .unwrap();
    }

    /// Unhealthy from `down` (the 2nd failure) to `up` (the 2nd success), a minute apart.
    fn outage(&mut self, first_failure: &str, down: &str, first_success: &str, up: &str) {
        self.check(false, first_failure);
        self.check(false, down);
        self.check(true, first_success);
        self.check(true, up);
    }

    fn usage(&self, metric: &str, unit: &str, date: &str, value: f64) {
        record_usage(
            self.registry.store().conn(),
            self.partner_id,
            &[Measurement::new(
                metric,
                unit,
                MetricSource::Platform,
                day_of_date(day(date)),
                value,
            )],
            self.now,
        )
        .unwrap();
    }

    fn review(&self, quarter: &str) -> Result<QuarterlyReview> {
        quarterly_review(&self.registry, &self.name, quarter.parse()?, self.now)
    }
}

#[test]
fn quarters_parse_in_one_form_and_name_the_problem() {
    let q: Quarter = "2026-Q3".parse().unwrap();
    assert_eq!(
        (q.year(), q.number(), q.to_string()),
        (2026, 3, "2026-Q3".into())
    );
    assert_eq!("2026-q1".parse::<Quarter>().unwrap().to_string(), "2026-Q1");
    assert_eq!(q.first_day(), day("2026-07-01"));
    assert_eq!(q.last_day(), day("2026-09-30"));
    assert_eq!(
        "2026-Q1".parse::<Quarter>().unwrap().previous().unwrap(),
        Quarter::new(2025, 4).unwrap()
    );
    for (text, says) in [
        ("2026-Q5", "quarters run from Q1 to Q4"),
        ("2026-Q0", "quarters run from Q1 to Q4"),
        ("26-Q1", "write it as 2026-Q3"),
        ("2026-3", "write it as 2026-Q3"),
        ("2026-Q10", "write it as 2026-Q3"),
        ("", "write it as 2026-Q3"),
        ("2026-07", "write it as 2026-Q3"),
        ("0999-Q1", "four digits"),
    ] {
        let err = text.parse::<Quarter>().unwrap_err();
        assert_eq!(err.field(), Some("quarter"), "{text}: {err}");
        assert!(err.to_string().contains(says), "{text}: {err}");
    }
}

/// Q1 2024 in Berlin under a monthly SLA: a leap February, an incident across the end of
/// January (local time), and an incident still open at now.
fn berlin_q1_2024() -> Fixture {
    let mut f = Fixture::new("Acme MLflow", "2024-04-10T00:00:00Z");
    f.contract(
        "2024-01-01",
        "2024-12-31",
        ContractSlaTerms {
            time_zone: Berlin,
            ..ContractSlaTerms::default()
        },
        1_000_000,
    );
    f.check(true, "2023-12-01T00:00:00Z");
    // Unhealthy 2024-01-31 22:30Z (23:30 in Berlin) to 23:30Z (00:30 on 1 February in
    // Berlin): 3 600 s, half in each local month.
    f.outage(
        "2024-01-31T22:29:00Z",
        "2024-01-31T22:30:00Z",
        "2024-01-31T23:29:00Z",
        "2024-01-31T23:30:00Z",
    );
    // Unhealthy from 2024-03-31 21:00Z (23:00 summer time) and still open at now.
    f.check(false, "2024-03-31T20:59:00Z");
    f.check(false, "2024-03-31T21:00:00Z");
    f
}

#[test]
fn months_end_at_local_midnight_and_a_leap_february_counts_29_days() {
    let review = berlin_q1_2024().review("2024-Q1").unwrap();
    assert_eq!(review.time_zone, "Europe/Berlin");
    assert_eq!(review.start, "2023-12-31T23:00:00Z");
    // Summer time starts on 31 March: the quarter ends at 22:00Z.
    assert_eq!(review.end, "2024-03-31T22:00:00Z");
    assert!(review.complete);
    let ends: Vec<&str> = review.months.iter().map(|m| m.end.as_str()).collect();
    assert_eq!(
        ends,
        [
            "2024-01-31T23:00:00Z",
            "2024-02-29T23:00:00Z",
            "2024-03-31T22:00:00Z"
        ]
    );
    let [jan, feb, mar] = &review.months[..] else {
        panic!("three months: {:?}", review.months)
    };
    // January: 2 678 400 s counted, 1 800 down; 99.9328 % ≥ 99.9.
    assert_eq!(jan.down_seconds, Some(1_800));
    let jan_up = jan.attained_percent.unwrap();
    assert!(
        (jan_up - 2_676_600.0 * 100.0 / 2_678_400.0).abs() < 1e-9,
        "{jan_up}"
    );
    assert_eq!((jan.met, jan.target_percent), (Some(true), Some(99.9)));
    // February 2024 has 29 days: 2 505 600 s, 1 800 down.
    assert_eq!(feb.down_seconds, Some(1_800));
    let feb_up = feb.attained_percent.unwrap();
    assert!(
        (feb_up - 2_503_800.0 * 100.0 / 2_505_600.0).abs() < 1e-9,
        "{feb_up}"
    );
    // March: 2 674 800 s (an hour short), 3 600 down over a budget of 2 674: missed.
    assert_eq!(mar.down_seconds, Some(3_600));
    assert_eq!(mar.met, Some(false));
    // The January incident counts in both months; the open one in March.
    let incidents: Vec<u32> = review.months.iter().map(|m| m.incidents).collect();
    assert_eq!(incidents, [1, 1, 1]);
    // Monthly window: the credits are the three months', 10 % of 10 000.00 EUR in March.
    let sla = review.sla.as_ref().unwrap();
    assert_eq!(sla.window, SlaWindow::CalendarMonth);
    let credits: Vec<(&str, i64)> = sla
        .credits
        .iter()
        .map(|c| (c.period.as_str(), c.credit_owed_minor))
        .collect();
    assert_eq!(
        credits,
        [("2024-01", 0), ("2024-02", 0), ("2024-03", 100_000)]
    );
    assert_eq!(
        (jan.credit_owed_minor, mar.credit_owed_minor),
        (Some(0), Some(100_000))
    );
    assert_eq!(sla.credit_owed_minor, 100_000);
    assert_eq!(sla.credit_owed, "1000.00 EUR");
    assert_eq!((sla.months_met, sla.months_missed), (2, 1));
}

#[test]
fn mttr_is_the_mean_of_resolved_incidents_and_an_open_one_is_named() {
    let review = berlin_q1_2024().review("2024-Q1").unwrap();
    assert_eq!(review.incidents.len(), 2);
    let first = &review.incidents[0];
    assert_eq!(first.start, "2024-01-31T22:30:00Z");
    assert_eq!(first.end.as_deref(), Some("2024-01-31T23:30:00Z"));
    assert_eq!(
        (first.state.as_str(), first.duration_seconds),
        ("resolved", 3_600)
    );
    let open = &review.incidents[1];
    assert_eq!((open.state.as_str(), open.end.as_ref()), ("open", None));
    // From 2024-03-31 21:00Z to now, 2024-04-10 00:00Z: 9 days 3 hours.
    assert_eq!(open.duration_seconds, 9 * 86_400 + 3 * 3_600);
    assert_eq!(review.open_incidents, 1);
    // Only the resolved incident counts towards the mean.
    assert_eq!(review.mttr_seconds, Some(3_600));
    // Inside the quarter: 3 600 s in January/February and 3 600 s up to the quarter's end.
    assert_eq!(review.unhealthy_seconds, 7_200);
    let contract = review.contract.as_ref().unwrap();
    assert_eq!(
        (
            contract.start.as_str(),
            contract.end.as_str(),
            contract.notice_days
        ),
        ("2024-01-01", "2024-12-31", 30)
    );
    assert_eq!(contract.notice_deadline, "2024-12-01");
    assert_eq!(
        (review.tier, review.owner.as_deref()),
        (Tier::Strategic, Some("Dana"))
    );
}

#[test]
fn a_quarterly_window_owes_the_quarter_s_own_credit() {
    let mut f = Fixture::new("Acme MLflow", "2026-07-15T00:00:00Z");
    f.contract(
        "2026-01-01",
        "2026-12-31",
        ContractSlaTerms {
            window: SlaWindow::CalendarQuarter,
            ..ContractSlaTerms::default()
        },
        3_000_000,
    );
    f.check(true, "2026-03-01T00:00:00Z");
    // One day down in May: 86 400 s against a quarter's budget of ⌊0.001 × 7 862 400⌋ = 7 862.
    f.outage(
        "2026-05-10T00:00:00Z",
        "2026-05-10T00:00:30Z",
        "2026-05-11T00:00:00Z",
        "2026-05-11T00:00:30Z",
    );
    let review = f.review("2026-Q2").unwrap();
    let sla = review.sla.as_ref().unwrap();
    assert_eq!(sla.window, SlaWindow::CalendarQuarter);
    assert_eq!(sla.credits.len(), 1);
    assert_eq!(sla.credits[0].period, "2026-Q2");
    assert_eq!(sla.credits[0].credit_percent, 10.0);
    // 10 % of the quarter's 30 000.00 EUR.
    assert_eq!(sla.credit_owed, "3000.00 EUR");
    let credits_by_month: Vec<Option<i64>> =
        review.months.iter().map(|m| m.credit_owed_minor).collect();
    assert_eq!(credits_by_month, [None, None, None]);
    let met: Vec<Option<bool>> = review.months.iter().map(|m| m.met).collect();
    assert_eq!(met, [Some(true), Some(false), Some(true)]);
    let attained = sla.attained_percent.unwrap();
    assert!(
        (attained - 7_776_000.0 * 100.0 / 7_862_400.0).abs() < 1e-9,
        "{attained}"
    );
}

#[test]
fn a_partner_without_a_contract_gets_a_review_that_says_so() {
    let f = Fixture::new("Loose Partner", "2026-10-05T00:00:00Z");
    f.usage("mlflow.runs", "runs", "2026-04-10", 40.0);
    f.usage("mlflow.runs", "runs", "2026-07-10", 30.0);
    f.usage("mlflow.runs", "runs", "2026-09-10", 20.0);
    f.usage("datadog.cost", "USD", "2026-08-31", 12.5);
    let review = f.review("2026-Q3").unwrap();
    assert_eq!(review.time_zone, "UTC");
    assert!(review.contract.is_none() && review.sla.is_none());
    assert!(
        review.notes.iter().any(|n| n.starts_with("No contract")),
        "{:?}",
        review.notes
    );
    for m in &review.months {
        assert_eq!(
            (m.attained_percent, m.target_percent, m.met, m.down_seconds),
            (None, None, None, None),
            "{m:?}"
        );
    }
    assert!(review.incidents.is_empty() && review.mttr_seconds.is_none());
    // Usage by metric in name order; the currency unit marks a cost.
    let cost = &review.usage[0];
    assert_eq!((cost.metric.as_str(), cost.cost), ("datadog.cost", true));
    assert_eq!(
        (cost.total, cost.previous_total, cost.change_percent),
        (12.5, None, None)
    );
    let runs = &review.usage[1];
    let values: Vec<Option<f64>> = runs.months.iter().map(|m| m.value).collect();
    assert_eq!(values, [Some(30.0), None, Some(20.0)]);
    // 50 against 40 in 2026-Q2: +25 %.
    assert_eq!((runs.total, runs.previous_total), (50.0, Some(40.0)));
    assert_eq!(runs.change_percent, Some(25.0));
    // Registered now (October), after the quarter: said, not refused.
    assert!(review
        .notes
        .iter()
        .any(|n| n.contains("registered on 2026-10-05")));
}

#[test]
fn a_quarter_not_started_is_refused_and_a_running_one_is_to_date() {
    let f = Fixture::new("Acme MLflow", "2026-11-26T12:00:00Z");
    let err = f.review("2027-Q1").unwrap_err();
    assert_eq!(err.field(), Some("quarter"));
    assert!(
        err.to_string().contains("2027-Q1 has not started yet"),
        "{err}"
    );
    assert!(err.to_string().contains("2026-Q4"), "{err}");
    let running = f.review("2026-Q4").unwrap();
    assert!(!running.complete);
    assert!(running.notes.iter().any(|n| n.contains("still running")));
    let missing = quarterly_review(&f.registry, "Nobody", "2026-Q3".parse().unwrap(), f.now);
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

/// A hostile partner with a contract, an incident and usage in 2026-Q3.
fn hostile() -> Fixture {
    let mut f = Fixture::new(HOSTILE, "2026-10-05T00:00:00Z");
    f.contract(
        "2026-01-01",
        "2026-12-31",
        ContractSlaTerms::default(),
        1_000_000,
    );
    f.check(true, "2026-06-01T00:00:00Z");
    f.outage(
        "2026-08-01T00:00:00Z",
        "2026-08-01T00:00:30Z",
        "2026-08-01T01:00:00Z",
        "2026-08-01T01:00:30Z",
    );
    f.usage("databricks.dbus", "DBU", "2026-07-02", 1.5);
    f
}

#[test]
fn the_csv_reads_back_long_format_with_hostile_text_neutralised() {
    let f = hostile();
    let review = f.review("2026-Q3").unwrap();
    let mut bytes = Vec::new();
    csv::write_csv(&review, &mut bytes, true).unwrap();
    assert!(bytes.starts_with(crate::csv_export::BOM));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.contains("\r\n"), "CRLF line ends");
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        csv::HEADER
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let find = |section: &str, period: &str, item: &str| -> Vec<String> {
        rows.iter()
            .find(|r| r[0] == section && r[1] == period && r[2] == item)
            .unwrap_or_else(|| panic!("no row {section},{period},{item} in {rows:?}"))
            .clone()
    };
    assert_eq!(find("partner", "", "name")[3], format!("'{HOSTILE}"));
    assert_eq!(
        find("uptime", "2026-08", "down_time")[3..],
        ["3600", "seconds"]
    );
    // 3 600 s down over August's budget of ⌊0.001 × 2 678 400⌋ = 2 678: missed, 10 % credit.
    assert_eq!(find("uptime", "2026-08", "met")[3], "false");
    assert_eq!(
        find("uptime", "2026-07", "target")[3..],
        ["99.9", "percent"]
    );
    assert_eq!(find("contract", "", "notice_deadline")[3], "2026-12-01");
    assert_eq!(find("contract", "", "value")[3..], ["120000.00", "EUR"]);
    assert_eq!(
        find("credit", "2026-Q3", "credit_owed")[3..],
        ["1000.00", "EUR"]
    );
    assert_eq!(
        find("credit", "2026-08", "credit_percent")[3..],
        ["10", "percent"]
    );
    assert_eq!(
        find("incidents", "2026-Q3", "mttr")[3..],
        ["3600", "seconds"]
    );
    assert_eq!(
        find("incident", "2026-08-01T00:00:30Z", "end")[3],
        "2026-08-01T01:00:30Z"
    );
    assert_eq!(
        find("usage", "2026-07", "databricks.dbus")[3..],
        ["1.5", "DBU"]
    );
    // No text cell a spreadsheet would run.
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r']),
                "{cell:?} in {row:?}"
            );
        }
    }
}

#[test]
fn the_summary_has_no_script_and_escapes_the_partner_name() {
    let f = hostile();
    let review = f.review("2026-Q3").unwrap();
    let charts = html::charts(&f.registry, &review).unwrap();
    assert!(charts.uptime_svg.is_some() && charts.usage_svg.is_some());
    assert!(charts.health_svg.is_some());
    let page = html::render(&review, &charts);
    assert!(!page.to_lowercase().contains("<script"), "no script at all");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("=HYPERLINK(&quot;http://x&quot;"));
    assert!(!page.contains("http://x\""), "the raw name never appears");
    // Self-contained: no remote resource, charts inline, one A4 page when printed.
    assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("@import"));
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(page.contains("size: A4"));
    assert!(page.contains("Uptime by month") && page.contains("1 h 0 min"));
}

#[test]
fn export_writes_both_files_under_a_safe_name() {
    let f = hostile();
    let review = f.review("2026-Q3").unwrap();
    let (csv_path, html_path) = export_files(&f.registry, &review, f.dir.path()).unwrap();
    assert_eq!(
        csv_path.file_name().unwrap().to_str().unwrap(),
        "HYPERLINK-http-x-script-alert-1-script-2026-Q3.csv"
    );
    assert_eq!(html_path.extension().unwrap(), "html");
    assert!(std::fs::read(&csv_path)
        .unwrap()
        .starts_with(crate::csv_export::BOM));
    assert!(std::fs::read_to_string(&html_path)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert_eq!(
        file_stem("../../etc/passwd", "2026-Q3"),
        "etc-passwd-2026-Q3"
    );
    assert_eq!(file_stem("Zürich Data", "2026-Q1"), "Zürich-Data-2026-Q1");
    assert_eq!(file_stem("***", "2026-Q1"), "partner-2026-Q1");
    let missing = export_files(&f.registry, &review, &f.dir.path().join("nope"));
    assert!(missing.is_err());
}
