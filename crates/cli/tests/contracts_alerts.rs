//! Contract expiry alerts through the real `ecosystem` binary on a temporary database, with
//! "now" fixed by the hidden `--now` flag. Contract `acme` ends 2026-12-31 with 30 days'
//! notice, so its notice deadline is 2026-12-01 and on 2026-11-11 20 days are left.

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use ecosystem_core::health::CheckOutcome;
use ecosystem_core::health_store::{HealthWriter, PartnerOutcome};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::{Registry, Store};
use serde_json::Value;

struct Workspace {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Workspace {
    /// `acme` (owner ada) with its contract, and `bare` without one.
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ecosystem.db");
        let ws = Workspace { _dir: dir, db };
        ws.ok(&[
            "partner",
            "add",
            "acme",
            "--kind",
            "http",
            "--endpoint",
            "https://acme.example.com",
            "--owner",
            "ada",
            "--tier",
            "strategic",
        ]);
        ws.ok(&[
            "partner",
            "add",
            "bare",
            "--kind",
            "http",
            "--endpoint",
            "https://bare.example.com",
        ]);
        ws.ok(&[
            "contract",
            "set",
            "acme",
            "--start",
            "2025-01-01",
            "--end",
            "2026-12-31",
            "--notice-days",
            "30",
        ]);
        ws
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ecosystem"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("USER", "ada")
            .env_remove("ECOSYSTEM_DB")
            .output()
            .expect("run ecosystem")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`ecosystem {}` failed ({:?}): {}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Runs and expects exit 2 with exactly one line on stderr; returns it.
    fn bad(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            out.status.code(),
            Some(2),
            "`ecosystem {}` should exit 2; stdout: {} stderr: {stderr}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
        stderr.trim_end().to_string()
    }
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn expiring_lists_days_left_and_the_notice_deadline_in_every_format() {
    let ws = Workspace::new();
    let rows = ws.json(&[
        "contracts",
        "expiring",
        "--within",
        "30",
        "--format",
        "json",
        "--now",
        "2026-11-11",
    ]);
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["partner"], "acme");
    assert_eq!(r["owner"], "ada");
    assert_eq!(r["end"], "2026-12-31");
    assert_eq!(r["notice_deadline"], "2026-12-01");
    assert_eq!(r["days_to_notice_deadline"], 20);
    assert_eq!(r["days_left"], 50, "days to the end, as before");
    assert_eq!(r["stage_due"], 30);
    assert_eq!(r["stage_raised"], Value::Null, "listing raises nothing");
    assert_eq!(r["status"], "active");
    assert_eq!(r["stages"], serde_json::json!([120, 90, 60, 30, 7]));
    let none = ws.json(&[
        "contracts",
        "expiring",
        "--within",
        "19",
        "--format",
        "json",
        "--now",
        "2026-11-11",
    ]);
    assert_eq!(none, serde_json::json!([]));
    let table = ws.ok(&[
        "contracts",
        "expiring",
        "--within",
        "30",
        "--now",
        "2026-11-11",
    ]);
    assert!(table.contains("NOTICE DEADLINE"), "{table}");
    assert!(table.contains("in 20 days"), "{table}");
    let csv = ws.ok(&[
        "contracts",
        "expiring",
        "--within",
        "30",
        "--format",
        "csv",
        "--now",
        "2026-11-11",
    ]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "partner,tier,owner,start,end,notice_days,notice_deadline,days_to_notice_deadline,\
             days_left,auto_renew,status,stages,stage_due,stage_raised,alert,snoozed_until"
        )
    );
    assert_eq!(
        lines.next(),
        Some(
            "acme,strategic,ada,2025-01-01,2026-12-31,30,2026-12-01,20,50,false,active,\
             \"120,90,60,30,7\",30,,,"
        )
    );
    let err = ws.bad(&["contracts", "expiring", "--within=-3"]);
    assert!(err.contains("--within"), "{err}");
    let err = ws.bad(&["contracts", "expiring", "--within", "soon"]);
    assert!(err.contains("--within"), "{err}");
}

#[test]
fn alerts_are_raised_once_listed_acknowledged_and_kept_as_history() {
    let ws = Workspace::new();
    let now = ["--now", "2026-11-11"];
    let list = |all: bool| {
        let mut args = vec!["contracts", "alerts", "--format", "json"];
        if all {
            args.push("--all");
        }
        args.extend(now);
        ws.json(&args)
    };
    let open = list(false);
    let open = open.as_array().expect("array");
    assert_eq!(open.len(), 1, "only the most urgent due stage: {open:?}");
    let a = &open[0];
    assert_eq!(a["partner"], "acme");
    assert_eq!(a["owner"], "ada");
    assert_eq!(a["stage_days"], 30);
    assert_eq!(a["notice_deadline"], "2026-12-01");
    assert_eq!(a["days_to_notice_deadline"], 20);
    assert_eq!(a["days_left"], 50);
    assert_eq!(a["state"], "open");
    assert_eq!(a["summary"], "Contract notice for acme due in 20 days");
    let id = a["id"].clone();
    assert_eq!(list(false)[0]["id"], id, "listing again raises nothing new");
    let all = list(true);
    let states: Vec<(u64, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["stage_days"].as_u64().unwrap(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (120, "passed".to_string()),
            (90, "passed".into()),
            (60, "passed".into()),
            (30, "open".into())
        ]
    );

    let out = ws.ok(&["contract", "ack", "acme", "--now", "2026-11-12"]);
    assert_eq!(
        out.trim(),
        "acknowledged the 30-day alert of \"acme\" (notice deadline 2026-12-01, in 19 days)"
    );
    assert_eq!(list(false), serde_json::json!([]));
    let acked = list(true);
    let acked = acked.as_array().unwrap().last().unwrap().clone();
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "ada");
    let err = ws.bad(&["contract", "ack", "acme", "--now", "2026-11-12"]);
    assert!(
        err.starts_with(
            "error: stage: the 30-day alert of \"acme\" was already acknowledged by ada"
        ),
        "{err}"
    );
    let err = ws.bad(&[
        "contract",
        "ack",
        "acme",
        "--stage",
        "7",
        "--now",
        "2026-11-12",
    ]);
    assert!(err.starts_with("error: stage: "), "{err}");
    // The 7-day stage comes on 2026-11-24.
    let later = ws.json(&[
        "contracts",
        "alerts",
        "--format",
        "json",
        "--now",
        "2026-11-24",
    ]);
    assert_eq!(later[0]["stage_days"], 7);
    assert_eq!(later[0]["days_to_notice_deadline"], 7);
    let audit = ws.ok(&["audit", "--partner", "acme"]);
    assert!(audit.contains("contract.alert_ack"), "{audit}");
}

#[test]
fn snooze_renew_and_terminate_stop_the_alerts() {
    let ws = Workspace::new();
    let out = ws.ok(&[
        "contract",
        "snooze",
        "acme",
        "--until",
        "2026-11-20",
        "--now",
        "2026-11-11",
    ]);
    assert!(out.contains("snoozed until 2026-11-20"), "{out}");
    let open = |day: &str| ws.json(&["contracts", "alerts", "--format", "json", "--now", day]);
    assert_eq!(open("2026-11-11"), serde_json::json!([]), "snoozed");
    assert_eq!(open("2026-11-20")[0]["stage_days"], 30, "resumes that day");
    ws.ok(&["contract", "renew", "acme", "--now", "2026-11-21"]);
    assert_eq!(
        open("2026-11-24"),
        serde_json::json!([]),
        "renewed: no 7-day alert"
    );
    let out = ws.ok(&[
        "contract",
        "renew",
        "acme",
        "--new-end",
        "2027-12-31",
        "--now",
        "2026-11-25",
    ]);
    assert!(
        out.contains("it now ends 2027-12-31 (notice deadline 2027-12-01)"),
        "{out}"
    );
    let show = ws.json(&["contract", "show", "acme", "--format", "json"]);
    assert_eq!(show["end"], "2027-12-31");
    assert_eq!(open("2027-08-03")[0]["stage_days"], 120, "a new term");
    ws.ok(&["contract", "terminate", "acme", "--now", "2027-08-04"]);
    assert_eq!(open("2027-11-30"), serde_json::json!([]));
    let rows = ws.json(&[
        "contracts",
        "expiring",
        "--within",
        "30",
        "--format",
        "json",
        "--now",
        "2027-11-30",
    ]);
    assert_eq!(rows[0]["status"], "terminated");
    let audit = ws.ok(&["audit", "--partner", "acme"]);
    for action in ["contract.snooze", "contract.renew", "contract.terminate"] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
}

#[test]
fn alert_stages_are_set_shown_and_reset() {
    let ws = Workspace::new();
    let out = ws.ok(&["contract", "alert-stages", "acme", "90,30,7"]);
    assert_eq!(
        out.trim(),
        "alert stages of \"acme\": 90,30,7 days before the notice deadline 2026-12-01"
    );
    let rows = ws.json(&[
        "contracts",
        "expiring",
        "--within",
        "30",
        "--format",
        "json",
        "--now",
        "2026-11-11",
    ]);
    assert_eq!(rows[0]["stages"], serde_json::json!([90, 30, 7]));
    assert_eq!(rows[0]["stages_default"], false);
    let out = ws.ok(&["contract", "alert-stages", "acme", "--default"]);
    assert!(
        out.contains("120,90,60,30,7") && out.contains("(the workspace default)"),
        "{out}"
    );
    ws.ok(&["settings", "set", "contracts.alert_stages", "45,15"]);
    let out = ws.ok(&["contract", "alert-stages", "acme"]);
    assert!(out.contains(": 45,15 days"), "{out}");
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let ws = Workspace::new();
    let now = "2026-11-11";
    let cases: [(&[&str], &str); 12] = [
        (
            &[
                "contract",
                "snooze",
                "acme",
                "--until",
                "2026-11-01",
                "--now",
                now,
            ],
            "error: until: 2026-11-01 is not after today (2026-11-11)",
        ),
        (
            &[
                "contract",
                "snooze",
                "acme",
                "--until",
                "2026-13-01",
                "--now",
                now,
            ],
            "error: until: \"2026-13-01\" is not a valid date",
        ),
        (
            &[
                "contract",
                "snooze",
                "acme",
                "--until",
                "2027-02-01",
                "--now",
                now,
            ],
            "error: until: 2027-02-01 is after the contract of \"acme\" ends",
        ),
        (
            &["contract", "alert-stages", "acme", "30,90"],
            "error: stages: \"30,90\" is not strictly decreasing",
        ),
        (
            &["contract", "alert-stages", "acme", "90,0"],
            "error: stages: 0 in \"90,0\" is not a number of days",
        ),
        (
            &["contract", "alert-stages", "acme", "ninety"],
            "error: stages: \"ninety\" in \"ninety\" is not a whole number",
        ),
        (
            &[
                "contract",
                "renew",
                "acme",
                "--new-end",
                "2026-06-30",
                "--now",
                now,
            ],
            "error: new_end: 2026-06-30 is not after the current end 2026-12-31",
        ),
        (
            &["contract", "ack", "nobody", "--now", now],
            "error: no partner named \"nobody\"",
        ),
        (
            &["contract", "terminate", "bare"],
            "error: partner \"bare\" has no contract",
        ),
        (
            &["contract", "brief", "bare"],
            "error: partner \"bare\" has no contract",
        ),
        (
            &["contracts", "alerts", "--now", "yesterday"],
            "error: now: \"yesterday\" is neither YYYY-MM-DD",
        ),
        (
            &["settings", "set", "contracts.alert_stages", "7,30"],
            "error: contracts.alert_stages: \"7,30\" is not strictly decreasing",
        ),
    ];
    for (args, expected) in cases {
        let err = ws.bad(args);
        assert!(
            err.starts_with(expected),
            "{args:?}: expected {expected:?}, got {err:?}"
        );
    }
    ws.bad(&["contract", "snooze", "acme"]);
    ws.bad(&["contract", "alert-stages", "acme", "90", "--default"]);
    let audit = ws.ok(&["audit", "--partner", "acme"]);
    assert!(
        !audit.contains("contract.snooze") && !audit.contains("contract.renew"),
        "nothing was written: {audit}"
    );
}

#[test]
fn the_brief_reports_sla_incidents_and_usage_over_the_term() {
    let ws = Workspace::new();
    // acme is healthy from 2026-09-01 and down for exactly an hour on 2026-10-10.
    let id = Registry::open(&ws.db)
        .expect("open")
        .partner("acme")
        .expect("acme")
        .id;
    let failed = |at: &str| CheckOutcome::failed(t(at), ErrorClass::Unreachable, "refused", 3);
    let batch: Vec<PartnerOutcome> = [
        CheckOutcome::ok(t("2026-09-01T00:00:00Z"), 100),
        failed("2026-10-10T00:00:00Z"),
        failed("2026-10-10T00:00:30Z"),
        CheckOutcome::ok(t("2026-10-10T01:00:00Z"), 100),
        CheckOutcome::ok(t("2026-10-10T01:00:30Z"), 100),
    ]
    .into_iter()
    .map(|outcome| PartnerOutcome {
        partner_id: id,
        outcome,
    })
    .collect();
    HealthWriter::new(Store::open(&ws.db).expect("store"))
        .record(&batch)
        .expect("record");
    let brief = ws.json(&[
        "contract",
        "brief",
        "acme",
        "--format",
        "json",
        "--now",
        "2026-11-15",
    ]);
    assert_eq!(brief["partner"], "acme");
    assert_eq!(brief["notice_deadline"], "2026-12-01");
    assert_eq!(brief["days_to_notice_deadline"], 16);
    assert_eq!(brief["incidents"], 1);
    assert_eq!(brief["downtime_seconds"], 3600);
    assert_eq!(brief["sla_windows_met"], 2);
    assert_eq!(brief["sla_windows_missed"], 1);
    assert_eq!(brief["usage"], serde_json::json!([]), "no usage recorded");
    let october = brief["sla_windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["period"] == "2026-10")
        .expect("October")
        .clone();
    assert_eq!(october["down_seconds"], 3600);
    assert_eq!(october["met"], false);
    let table = ws.ok(&["contract", "brief", "acme", "--now", "2026-11-15"]);
    assert!(table.starts_with("Renewal brief: acme\n"), "{table}");
    assert!(
        table.contains("Incidents: 1, downtime 1h, longest 1h"),
        "{table}"
    );
    assert!(table.contains("2026-10 "), "{table}");
    assert!(table.contains("Usage: none recorded"), "{table}");
}
