//! `ecosystem maintenance add|list|remove` (the real binary, a temporary database): one-off
//! and weekly windows, the next opening on the zone's wall clock across a DST change, bad
//! input named by its flag, and the audit rows.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

mod common;

struct Workspace {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Workspace {
    /// A database with one partner, `hub`.
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ecosystem.db");
        let w = Workspace { _dir: dir, db };
        w.ok(&[
            "partner",
            "add",
            "hub",
            "--kind",
            "http",
            "--endpoint",
            "https://hub.example.com",
        ]);
        w
    }

    fn run(&self, args: &[&str]) -> Output {
        common::run(&self.db, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        common::ok(&self.db, args)
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("JSON")
    }

    /// The windows listed as JSON, with "next" computed from `now`.
    fn list_at(&self, now: &str) -> Vec<Value> {
        let v = self.json(&["maintenance", "list", "--format", "json", "--now", now]);
        v.as_array().expect("an array").clone()
    }
}

#[test]
fn a_weekly_window_in_a_dst_zone_opens_on_the_zones_wall_clock() {
    let w = Workspace::new();
    let added = w.ok(&[
        "maintenance",
        "add",
        "--partner",
        "hub",
        "--title",
        "DB patching",
        "--days",
        "sun",
        "--at",
        "02:00",
        "--for",
        "2h",
        "--tz",
        "Europe/Berlin",
    ]);
    assert!(
        added.starts_with(
            "added maintenance window 1 for \"hub\": weekly Sun 02:00 for 2h (Europe/Berlin)"
        ),
        "{added}"
    );
    // (now, next start UTC, next end UTC, local start): winter, the spring-forward night
    // (02:00 does not exist: the window opens at 03:00 CEST and still ends at 04:00), summer.
    let cases = [
        (
            "2026-03-20T12:00:00Z",
            "2026-03-22T01:00:00Z",
            "2026-03-22T03:00:00Z",
            "2026-03-22T02:00:00+01:00",
        ),
        (
            "2026-03-25T12:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z",
            "2026-03-29T03:00:00+02:00",
        ),
        (
            "2026-03-30T12:00:00Z",
            "2026-04-05T00:00:00Z",
            "2026-04-05T02:00:00Z",
            "2026-04-05T02:00:00+02:00",
        ),
    ];
    for (now, start, end, local_start) in cases {
        let list = w.list_at(now);
        assert_eq!(list.len(), 1, "{list:?}");
        let next = &list[0]["next"];
        assert_eq!(next["start"], start, "from {now}: {next}");
        assert_eq!(next["end"], end, "from {now}: {next}");
        assert_eq!(next["local_start"], local_start, "from {now}: {next}");
        assert_eq!(next["open_now"], false, "{next}");
    }
    let open = w.list_at("2026-04-05T01:00:00Z");
    assert_eq!(open[0]["next"]["open_now"], true, "{open:?}");
    let window = &w.list_at("2026-03-30T12:00:00Z")[0];
    assert_eq!(window["partner"], "hub");
    assert_eq!(window["title"], "DB patching");
    assert_eq!(window["schedule"]["kind"], "weekly");
    assert_eq!(window["schedule"]["time_zone"], "Europe/Berlin");
    let table = w.ok(&["maintenance", "list", "--now", "2026-03-30T12:00:00Z"]);
    assert!(
        table.lines().any(|l| l.starts_with("1 ")
            && l.contains("DB patching")
            && l.contains("weekly Sun 02:00 for 2h (Europe/Berlin)")
            && l.contains("2026-04-05 02:00 +02:00 to 2026-04-05 04:00 +02:00")),
        "{table}"
    );
}

#[test]
fn one_off_windows_for_one_or_all_partners_are_listed_and_removed_with_audit_rows() {
    let w = Workspace::new();
    w.ok(&[
        "partner",
        "add",
        "other",
        "--kind",
        "http",
        "--endpoint",
        "https://other.example.com",
    ]);
    // A local time in --tz: 18:00 EST is 23:00 UTC.
    let added = w.ok(&[
        "maintenance",
        "add",
        "--all",
        "--title",
        "Year-end freeze",
        "--from",
        "2099-12-24 18:00",
        "--to",
        "2099-12-27 08:00",
        "--tz",
        "America/New_York",
    ]);
    assert!(
        added.starts_with("added maintenance window 1 for every partner"),
        "{added}"
    );
    // RFC 3339 carries its own offset.
    w.ok(&[
        "maintenance",
        "add",
        "--partner",
        "other",
        "--from",
        "2099-06-01T10:00:00+02:00",
        "--to",
        "2099-06-01T12:00:00+02:00",
    ]);
    let all = w.list_at("2099-01-01T00:00:00Z");
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["partner"], Value::Null, "for every partner");
    assert_eq!(all[0]["next"]["start"], "2099-12-24T23:00:00Z");
    assert_eq!(all[0]["next"]["end"], "2099-12-27T13:00:00Z");
    assert_eq!(all[1]["title"], "Maintenance", "the default title");
    assert_eq!(all[1]["next"]["start"], "2099-06-01T08:00:00Z");
    let for_hub = w.json(&[
        "maintenance",
        "list",
        "--partner",
        "hub",
        "--format",
        "json",
    ]);
    let ids: Vec<i64> = for_hub
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [1], "hub sees only the window for every partner");
    let table = w.ok(&["maintenance", "list"]);
    assert!(
        table.contains("(all)") && table.contains("once 2099-12-24 23:00 to 2099-12-27 13:00 UTC"),
        "{table}"
    );
    let removed = w.ok(&["maintenance", "remove", "2"]);
    assert!(
        removed.contains("removed maintenance window 2"),
        "{removed}"
    );
    let after = w.list_at("2099-01-01T00:00:00Z");
    assert_eq!(after.len(), 1, "{after:?}");
    let out = w.run(&["maintenance", "remove", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: id: no maintenance window with id 2"
    );
    let audit = w.json(&["audit", "--format", "json"]);
    let rows: Vec<(String, String, String)> = audit
        .as_array()
        .expect("array")
        .iter()
        .filter(|a| a["entity"] == "maintenance")
        .map(|a| {
            (
                a["action"].as_str().unwrap_or_default().to_string(),
                a["subject"].as_str().unwrap_or_default().to_string(),
                a["actor"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let row = |a: &str, s: &str| (a.to_string(), s.to_string(), "ada (cli)".to_string());
    assert_eq!(
        rows,
        [
            row("maintenance.remove", "other"),
            row("maintenance.add", "other"),
            row("maintenance.add", "all partners"),
        ],
        "newest first"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_flag_and_stores_nothing() {
    let w = Workspace::new();
    let weekly = |extra: &[&'static str]| {
        let mut args = vec![
            "maintenance",
            "add",
            "--partner",
            "hub",
            "--days",
            "mon,wed",
            "--at",
            "02:00",
            "--for",
            "2h",
            "--tz",
            "Europe/Berlin",
        ];
        // Later flags win: replace the value of each flag given.
        for pair in extra.chunks(2) {
            match args.iter().position(|a| *a == pair[0]) {
                Some(i) => args[i + 1] = pair[1],
                None => args.extend_from_slice(pair),
            }
        }
        args
    };
    let once = |from: &'static str, to: &'static str| {
        vec![
            "maintenance",
            "add",
            "--partner",
            "hub",
            "--from",
            from,
            "--to",
            to,
        ]
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            weekly(&["--tz", "Mars/Olympus"]),
            "error: tz: \"Mars/Olympus\"",
        ),
        (weekly(&["--at", "25:00"]), "error: at: \"25:00\""),
        (weekly(&["--for", "0m"]), "error: for: \"0m\" is zero"),
        (weekly(&["--for", "2 hours"]), "error: for: "),
        (weekly(&["--days", "funday"]), "error: days: \"funday\""),
        (
            weekly(&["--partner", "nobody"]),
            "error: partner: no partner named \"nobody\"",
        ),
        (weekly(&["--title", " "]), "error: title: "),
        (
            once("2099-01-02 10:00", "2099-01-02 09:00"),
            "error: to: \"2099-01-02 09:00\" is not after --from",
        ),
        (
            once("2020-01-01 10:00", "2020-01-01 11:00"),
            "error: to: \"2020-01-01 11:00\" is in the past",
        ),
        (
            once("yesterday", "2099-01-01 10:00"),
            "error: from: \"yesterday\"",
        ),
        (
            vec![
                "maintenance",
                "add",
                "--partner",
                "hub",
                "--days",
                "mon",
                "--at",
                "02:00",
            ],
            "--for <DURATION>",
        ),
        (
            vec![
                "maintenance",
                "add",
                "--days",
                "mon",
                "--at",
                "02:00",
                "--for",
                "1h",
            ],
            "--partner <NAME>",
        ),
        (
            vec![
                "maintenance",
                "add",
                "--partner",
                "hub",
                "--from",
                "2099-01-01 10:00",
                "--to",
                "2099-01-01 11:00",
                "--days",
                "mon",
            ],
            "--days",
        ),
    ];
    for (args, expected) in cases {
        let out = w.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "`{}` exits 2: {stderr}",
            args.join(" ")
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(expected),
            "`{}`: expected {expected:?} in {stderr}",
            args.join(" ")
        );
    }
    assert_eq!(
        w.json(&["maintenance", "list", "--format", "json"]),
        Value::Array(Vec::new()),
        "nothing was stored"
    );
    let audit = w.json(&["audit", "--format", "json"]);
    assert!(
        !audit
            .as_array()
            .expect("array")
            .iter()
            .any(|a| a["entity"] == "maintenance"),
        "nothing was audited: {audit}"
    );
}

#[test]
fn windows_and_a_contracts_alert_stages_travel_in_the_workspace_file_once() {
    let w = Workspace::new();
    w.ok(&[
        "contract",
        "set",
        "hub",
        "--start",
        "2026-01-01",
        "--end",
        "2027-12-31",
    ]);
    w.ok(&["contract", "alert-stages", "hub", "90,30,7"]);
    w.ok(&[
        "maintenance",
        "add",
        "--partner",
        "hub",
        "--title",
        "DB patching",
        "--days",
        "sun",
        "--at",
        "02:00",
        "--for",
        "2h",
        "--tz",
        "Europe/Berlin",
    ]);
    w.ok(&[
        "maintenance",
        "add",
        "--all",
        "--title",
        "Year-end freeze",
        "--from",
        "2099-12-24T23:00:00Z",
        "--to",
        "2099-12-27T13:00:00Z",
    ]);
    let file = w.db.with_file_name("workspace.json");
    let file = file.to_str().expect("utf-8");
    w.ok(&["export", file]);
    let doc: Value = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("JSON");
    assert_eq!(
        doc["maintenance"],
        serde_json::json!([
            {"partner": "hub", "title": "DB patching", "days": "sun", "at": "02:00",
             "duration": "2h", "time_zone": "Europe/Berlin"},
            {"partner": null, "title": "Year-end freeze",
             "from": "2099-12-24T23:00:00Z", "to": "2099-12-27T13:00:00Z"},
        ])
    );
    assert_eq!(
        doc["contracts"][0]["alert_stages"],
        serde_json::json!([90, 30, 7])
    );

    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = other_dir.path().join("other.db");
    let out = common::ok(&other, &["import", file]);
    assert!(
        out.contains("2 maintenance window(s) added, 0 already there"),
        "{out}"
    );
    let strip = |v: Value| -> Vec<Value> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|w| {
                let mut w = w.clone();
                w.as_object_mut().expect("an object").remove("id");
                w
            })
            .collect()
    };
    let list = [
        "maintenance",
        "list",
        "--format",
        "json",
        "--now",
        "2026-11-26T09:00:00Z",
    ];
    assert_eq!(
        strip(serde_json::from_str(&common::ok(&other, &list)).expect("JSON")),
        strip(w.json(&list))
    );
    let stages = common::ok(&other, &["contract", "alert-stages", "hub"]);
    assert!(stages.contains(": 90,30,7 days"), "{stages}");

    // The same file again adds nothing and records no window.
    let out = common::ok(&other, &["import", file]);
    assert!(
        out.contains("0 maintenance window(s) added, 2 already there"),
        "{out}"
    );
    let audit = common::ok(
        &other,
        &["audit", "--action", "maintenance.add", "--format", "json"],
    );
    let rows: Value = serde_json::from_str(&audit).expect("JSON");
    assert_eq!(rows.as_array().expect("an array").len(), 2, "{rows}");
}
