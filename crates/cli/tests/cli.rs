//! The real `ecosystem` binary on a temporary database file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Days, Utc};
use serde_json::Value;

struct Workspace {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ecosystem.db");
        Workspace { _dir: dir, db }
    }

    fn dir(&self) -> &Path {
        self._dir.path()
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

    /// Runs and expects success; returns stdout.
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

    /// Runs and expects exit status `code`; returns stderr, which must be one line.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            out.status.code(),
            Some(code),
            "`ecosystem {}` should exit {code}; stdout: {} stderr: {stderr}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line on stderr, got: {stderr:?}"
        );
        stderr
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    fn names(&self, args: &[&str]) -> Vec<String> {
        let mut full = vec!["partner", "list", "--format", "json"];
        full.extend_from_slice(args);
        self.json(&full)
            .as_array()
            .expect("array")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_string())
            .collect()
    }

    fn add(&self, name: &str, kind: &str, extra: &[&str]) {
        let mut args = vec![
            "partner",
            "add",
            name,
            "--kind",
            kind,
            "--endpoint",
            "https://partner.example.com",
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
    }
}

#[test]
fn a_partner_added_by_the_cli_is_listed_as_json_with_every_field() {
    let ws = Workspace::new();
    ws.ok(&[
        "partner",
        "add",
        "Databricks Prod",
        "--kind",
        "databricks",
        "--endpoint",
        "https://dbc-1234.cloud.databricks.com",
        "--tier",
        "strategic",
        "--owner",
        "grace",
        "--capability",
        "jobs",
        "--capability",
        "sql",
        "--tag",
        "eu",
        "--interval",
        "30",
    ]);
    let list = ws.json(&["partner", "list", "--format", "json"]);
    let p = &list[0];
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(p["name"], "Databricks Prod");
    assert_eq!(p["kind"], "databricks");
    assert_eq!(p["endpoint"], "https://dbc-1234.cloud.databricks.com");
    assert_eq!(p["tier"], "strategic");
    assert_eq!(p["owner"], "grace");
    assert_eq!(p["capabilities"], serde_json::json!(["jobs", "sql"]));
    assert_eq!(p["tags"], serde_json::json!(["eu"]));
    assert_eq!(p["lifecycle"], "onboarding");
    assert_eq!(p["health_check"]["interval_secs"], 30);
    let table = ws.ok(&["partner", "list"]);
    assert!(table.lines().next().unwrap().starts_with("NAME"), "{table}");
    assert!(table.contains("Databricks Prod"), "{table}");
}

#[test]
fn a_duplicate_name_is_refused_and_the_first_partner_is_kept() {
    let ws = Workspace::new();
    ws.add("Snowflake", "snowflake", &["--owner", "first"]);
    let err = ws.fails(
        2,
        &[
            "partner",
            "add",
            "Snowflake",
            "--kind",
            "mlflow",
            "--endpoint",
            "http://x.example",
        ],
    );
    assert!(
        err.contains("name") && err.contains("already exists"),
        "{err}"
    );
    let p = ws.json(&["partner", "show", "Snowflake", "--format", "json"]);
    assert_eq!(p["kind"], "snowflake");
    assert_eq!(p["owner"], "first");
}

#[test]
fn an_unknown_kind_or_tier_is_refused_naming_the_field_and_the_choices() {
    let ws = Workspace::new();
    let err = ws.fails(
        2,
        &[
            "partner",
            "add",
            "X",
            "--kind",
            "oracle",
            "--endpoint",
            "https://x.example",
        ],
    );
    assert!(
        err.contains("--kind") && err.contains("oracle") && err.contains("databricks"),
        "{err}"
    );
    let err = ws.fails(
        2,
        &[
            "partner",
            "add",
            "X",
            "--kind",
            "http",
            "--endpoint",
            "https://x.example",
            "--tier",
            "gold",
        ],
    );
    assert!(
        err.contains("--tier") && err.contains("gold") && err.contains("strategic"),
        "{err}"
    );
    assert!(ws.names(&[]).is_empty(), "nothing was written");
}

#[test]
fn a_malformed_or_non_http_url_is_refused() {
    let ws = Workspace::new();
    for url in [
        "not a url",
        "ftp://files.example.com",
        "https://",
        "javascript:alert(1)",
    ] {
        let err = ws.fails(
            2,
            &["partner", "add", "X", "--kind", "http", "--endpoint", url],
        );
        assert!(err.contains("endpoint"), "{url}: {err}");
    }
    assert!(ws.names(&[]).is_empty());
}

#[test]
fn a_contract_ending_before_it_starts_is_refused() {
    let ws = Workspace::new();
    ws.add("MLflow", "mlflow", &[]);
    let err = ws.fails(
        2,
        &[
            "contract",
            "set",
            "MLflow",
            "--start",
            "2026-06-01",
            "--end",
            "2026-01-01",
        ],
    );
    assert!(
        err.contains("end") && err.contains("not after the start date"),
        "{err}"
    );
    let err = ws.fails(
        2,
        &[
            "contract",
            "set",
            "MLflow",
            "--start",
            "2026-02-30",
            "--end",
            "2027-01-01",
        ],
    );
    assert!(
        err.contains("--start") && err.contains("2026-02-30"),
        "{err}"
    );
    let err = ws.fails(2, &["contract", "show", "MLflow"]);
    assert!(err.contains("no contract"), "{err}");
}

#[test]
fn a_contract_is_shown_with_its_notice_deadline() {
    let ws = Workspace::new();
    ws.add("Datadog", "datadog", &[]);
    ws.ok(&[
        "contract",
        "set",
        "Datadog",
        "--start",
        "2026-01-01",
        "--end",
        "2026-12-31",
        "--notice-days",
        "60",
        "--auto-renew",
        "--sla-target",
        "99.95",
        "--value",
        "120000.50",
        "--currency",
        "usd",
    ]);
    let c = ws.json(&["contract", "show", "Datadog", "--format", "json"]);
    assert_eq!(c["start"], "2026-01-01");
    assert_eq!(c["end"], "2026-12-31");
    assert_eq!(c["notice_deadline"], "2026-11-01");
    assert_eq!(c["auto_renew"], true);
    assert_eq!(c["sla_target"], 99.95);
    assert_eq!(c["value"], "120000.50");
    assert_eq!(c["currency"], "USD");
    let err = ws.fails(
        2,
        &[
            "contract",
            "set",
            "Datadog",
            "--start",
            "2026-01-01",
            "--end",
            "2027-01-01",
            "--value",
            "12,000",
            "--currency",
            "USD",
        ],
    );
    assert!(err.contains("value"), "{err}");
}

#[test]
fn lifecycle_steps_that_make_no_sense_are_refused() {
    let ws = Workspace::new();
    ws.add("Kubeflow", "kubeflow", &[]);
    let err = ws.fails(2, &["partner", "lifecycle", "Kubeflow", "suspend"]);
    assert!(
        err.contains("cannot suspend a partner that is onboarding"),
        "{err}"
    );
    ws.ok(&["partner", "lifecycle", "Kubeflow", "activate"]);
    ws.ok(&["partner", "lifecycle", "Kubeflow", "suspend"]);
    ws.ok(&["partner", "lifecycle", "Kubeflow", "offboard"]);
    let err = ws.fails(2, &["partner", "lifecycle", "Kubeflow", "activate"]);
    assert!(
        err.contains("cannot activate a partner that is offboarded"),
        "{err}"
    );
    let p = ws.json(&["partner", "show", "Kubeflow", "--format", "json"]);
    assert_eq!(p["lifecycle"], "offboarded");
    ws.fails(2, &["partner", "lifecycle", "Kubeflow", "restart"]);
}

#[test]
fn a_dependency_cycle_is_refused() {
    let ws = Workspace::new();
    ws.add("A", "http", &[]);
    ws.add("B", "http", &["--depends-on", "A"]);
    ws.add("C", "http", &["--depends-on", "B"]);
    let err = ws.fails(2, &["partner", "update", "A", "--depends-on", "C"]);
    assert!(
        err.contains("cycle") && err.contains("\"A\" -> \"C\" -> \"B\" -> \"A\""),
        "{err}"
    );
    let err = ws.fails(2, &["partner", "update", "A", "--depends-on", "A"]);
    assert!(err.contains("cycle"), "{err}");
    let err = ws.fails(
        2,
        &[
            "partner",
            "add",
            "D",
            "--kind",
            "http",
            "--endpoint",
            "https://d.example",
            "--depends-on",
            "nobody",
        ],
    );
    assert!(
        err.contains("depends_on") && err.contains("nobody"),
        "{err}"
    );
    let a = ws.json(&["partner", "show", "A", "--format", "json"]);
    assert_eq!(a["depends_on"], Value::Null, "A is unchanged");
    let err = ws.fails(2, &["partner", "remove", "A"]);
    assert!(
        err.contains("depend on it") && err.contains("\"B\""),
        "{err}"
    );
}

#[test]
fn hostile_names_and_tags_are_stored_and_shown_exactly_as_typed() {
    let ws = Workspace::new();
    let hostile = [
        "O'Brien \"Data\" Co",
        "Données ☃ 東京",
        "x'); DROP TABLE partners;--",
        "=HYPERLINK(\"http://evil\")",
        "100% _real_ %",
        "<script>alert(1)</script>",
    ];
    for name in hostile {
        ws.add(
            name,
            "http",
            &[
                "--tag",
                name,
                "--capability",
                "=cmd|' /C calc'!A0",
                "--owner",
                name,
            ],
        );
    }
    let list = ws.json(&["partner", "list", "--format", "json"]);
    let mut stored: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    stored.sort();
    let mut expected = hostile.to_vec();
    expected.sort();
    assert_eq!(stored, expected);
    for name in hostile {
        let p = ws.json(&["partner", "show", name, "--format", "json"]);
        assert_eq!(p["name"], name);
        assert_eq!(p["tags"], serde_json::json!([name]));
        assert_eq!(p["owner"], name);
        assert_eq!(
            ws.names(&["--tag", name]),
            vec![name.to_string()],
            "tag filter for {name}"
        );
        assert_eq!(
            ws.names(&["--owner", name]),
            vec![name.to_string()],
            "owner filter for {name}"
        );
    }
    assert_eq!(
        ws.names(&["--search", "DROP TABLE"]),
        vec!["x'); DROP TABLE partners;--"]
    );
    assert_eq!(ws.names(&["--search", "東京"]), vec!["Données ☃ 東京"]);
    assert_eq!(
        ws.names(&["--search", "donnees"]),
        vec!["Données ☃ 東京"],
        "diacritics fold"
    );
    assert_eq!(
        ws.names(&["--search", "%"]),
        vec!["100% _real_ %"],
        "punctuation matches literally"
    );
    assert_eq!(
        ws.names(&["--search", "\" OR 1=1 --"]).len(),
        0,
        "FTS syntax is plain text"
    );
    assert!(ws
        .ok(&["partner", "list"])
        .contains("=HYPERLINK(\"http://evil\")"));
}

#[test]
fn partners_are_found_by_kind_tier_capability_tag_lifecycle_owner_and_text() {
    let ws = Workspace::new();
    ws.add(
        "Databricks EU",
        "databricks",
        &[
            "--tier",
            "strategic",
            "--capability",
            "jobs",
            "--capability",
            "sql",
            "--tag",
            "eu",
            "--owner",
            "grace",
        ],
    );
    ws.add(
        "Databricks US",
        "databricks",
        &[
            "--tier",
            "premium",
            "--capability",
            "jobs",
            "--tag",
            "us",
            "--owner",
            "alan",
        ],
    );
    ws.add(
        "Snowflake",
        "snowflake",
        &[
            "--tier",
            "strategic",
            "--capability",
            "sql",
            "--tag",
            "eu",
            "--owner",
            "grace",
        ],
    );
    ws.add("Datadog", "datadog", &["--capability", "metrics"]);
    ws.ok(&["partner", "lifecycle", "Snowflake", "activate"]);
    assert_eq!(
        ws.names(&["--kind", "databricks"]),
        ["Databricks EU", "Databricks US"]
    );
    assert_eq!(
        ws.names(&["--tier", "strategic"]),
        ["Databricks EU", "Snowflake"]
    );
    assert_eq!(
        ws.names(&["--capability", "sql"]),
        ["Databricks EU", "Snowflake"]
    );
    assert_eq!(
        ws.names(&["--capability", "sql", "--capability", "jobs"]),
        ["Databricks EU"]
    );
    assert_eq!(
        ws.names(&["--tag", "eu", "--kind", "snowflake"]),
        ["Snowflake"]
    );
    assert_eq!(
        ws.names(&["--owner", "grace"]),
        ["Databricks EU", "Snowflake"]
    );
    assert_eq!(ws.names(&["--lifecycle", "active"]), ["Snowflake"]);
    assert_eq!(
        ws.names(&["--search", "data"]),
        ["Databricks EU", "Databricks US", "Datadog"]
    );
    assert_eq!(
        ws.names(&["--search", "metrics"]),
        ["Datadog"],
        "capabilities are searched"
    );
    assert_eq!(
        ws.names(&["--search", "databricks us"]),
        ["Databricks US"],
        "every word must match"
    );
    assert!(ws.names(&["--kind", "mlflow"]).is_empty());
}

#[test]
fn update_and_remove_change_only_what_they_say() {
    let ws = Workspace::new();
    ws.add("Old", "http", &["--tag", "a", "--owner", "x"]);
    ws.ok(&[
        "partner", "update", "Old", "--name", "New", "--tier", "premium", "--tag", "b", "--tag",
        "c",
    ]);
    let p = ws.json(&["partner", "show", "New", "--format", "json"]);
    assert_eq!(p["tier"], "premium");
    assert_eq!(p["tags"], serde_json::json!(["b", "c"]));
    assert_eq!(p["owner"], "x");
    assert_eq!(
        ws.names(&["--search", "old"]).len(),
        0,
        "the search index follows renames"
    );
    assert_eq!(ws.names(&["--search", "new"]), ["New"]);
    ws.fails(2, &["partner", "show", "Old"]);
    let err = ws.fails(
        2,
        &[
            "partner",
            "update",
            "New",
            "--interval",
            "10",
            "--timeout",
            "30",
        ],
    );
    assert!(err.contains("timeout"), "{err}");
    ws.fails(2, &["partner", "update", "New"]);
    ws.ok(&["partner", "remove", "New"]);
    assert!(ws.names(&[]).is_empty());
    ws.fails(2, &["partner", "remove", "New"]);
}

#[test]
fn every_change_is_in_the_audit_log_with_the_os_user() {
    let ws = Workspace::new();
    ws.add("P", "http", &[]);
    ws.ok(&["partner", "lifecycle", "P", "activate"]);
    ws.ok(&[
        "contract",
        "set",
        "P",
        "--start",
        "2026-01-01",
        "--end",
        "2027-01-01",
    ]);
    ws.ok(&["partner", "update", "P", "--owner", "bob"]);
    let log = ws.json(&["audit", "--partner", "P", "--format", "json"]);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "partner.update",
            "contract.set",
            "partner.activate",
            "partner.add"
        ]
    );
    for entry in log.as_array().unwrap() {
        assert_eq!(entry["actor"], "ada (cli)", "who and where");
        assert!(entry["at"].as_str().unwrap().ends_with('Z'), "{entry}");
    }
    ws.fails(
        2,
        &[
            "partner",
            "add",
            "P",
            "--kind",
            "http",
            "--endpoint",
            "https://p.example",
        ],
    );
    assert_eq!(
        ws.json(&["audit", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        4,
        "failed changes leave no row"
    );
}

#[test]
fn expiring_contracts_carry_end_notice_deadline_and_days_left() {
    let ws = Workspace::new();
    let today = Utc::now().date_naive();
    let day = |n: u64| (today + Days::new(n)).to_string();
    let past = (today - Days::new(400)).to_string();
    ws.add("Soon", "http", &[]);
    ws.add("Later", "http", &[]);
    ws.add("Ended", "http", &[]);
    ws.add("Gone", "http", &[]);
    ws.ok(&[
        "contract",
        "set",
        "Soon",
        "--start",
        &past,
        "--end",
        &day(40),
        "--notice-days",
        "30",
    ]);
    ws.ok(&[
        "contract",
        "set",
        "Later",
        "--start",
        &past,
        "--end",
        &day(400),
        "--notice-days",
        "30",
    ]);
    ws.ok(&[
        "contract",
        "set",
        "Ended",
        "--start",
        &past,
        "--end",
        &(today - Days::new(1)).to_string(),
    ]);
    ws.ok(&[
        "contract",
        "set",
        "Gone",
        "--start",
        &past,
        "--end",
        &day(20),
    ]);
    ws.ok(&["partner", "lifecycle", "Gone", "offboard"]);
    let rows = ws.json(&[
        "contracts",
        "expiring",
        "--within",
        "30",
        "--format",
        "json",
    ]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["partner"], "Soon");
    assert_eq!(rows[0]["end"], day(40));
    assert_eq!(rows[0]["notice_deadline"], day(10));
    assert_eq!(rows[0]["days_left"], 40);
    let wide = ws.json(&[
        "contracts",
        "expiring",
        "--within",
        "400",
        "--format",
        "json",
    ]);
    assert_eq!(wide.as_array().unwrap().len(), 2);
    assert!(ws
        .ok(&["contracts", "expiring", "--within", "30"])
        .contains("NOTICE DEADLINE"));
    ws.fails(2, &["contracts", "expiring", "--within", "-3"]);
}

#[test]
fn export_then_import_into_a_new_database_reproduces_the_workspace() {
    let ws = Workspace::new();
    ws.add(
        "Parent",
        "databricks",
        &["--tier", "strategic", "--capability", "jobs", "--tag", "=t"],
    );
    ws.add(
        "Child",
        "mlflow",
        &[
            "--depends-on",
            "Parent",
            "--owner",
            "grace",
            "--interval",
            "120",
        ],
    );
    ws.ok(&["partner", "lifecycle", "Parent", "activate"]);
    ws.ok(&[
        "contract",
        "set",
        "Parent",
        "--start",
        "2026-01-01",
        "--end",
        "2026-12-31",
        "--value",
        "10",
        "--currency",
        "EUR",
    ]);
    ws.ok(&["settings", "set", "health.default_interval_secs", "45"]);
    let file = ws.dir().join("workspace.json");
    ws.ok(&["export", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "ecosystem-workspace");
    assert_eq!(doc["version"], 1);

    let other = Workspace::new();
    let out = other.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("2 partner(s) added"), "{out}");
    let strip = |v: Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut p = p.clone();
                for k in ["id", "created_at", "updated_at"] {
                    p.as_object_mut().unwrap().remove(k);
                }
                p
            })
            .collect()
    };
    assert_eq!(
        strip(other.json(&["partner", "list", "--format", "json"])),
        strip(ws.json(&["partner", "list", "--format", "json"]))
    );
    assert_eq!(
        other.json(&["contract", "show", "Parent", "--format", "json"]),
        ws.json(&["contract", "show", "Parent", "--format", "json"])
    );
    assert!(other.ok(&["settings", "list"]).contains("45"));
    // Importing again updates in place instead of duplicating.
    let out = other.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("0 partner(s) added, 2 updated"), "{out}");
}

#[test]
fn an_import_with_one_bad_record_writes_nothing_and_names_each_bad_record() {
    let ws = Workspace::new();
    ws.add("Existing", "http", &["--owner", "keep-me"]);
    let file = ws.dir().join("bad.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "format": "ecosystem-workspace",
            "version": 1,
            "partners": [
                {"name": "Good One", "kind": "mlflow", "endpoint": "http://127.0.0.1:5000"},
                {"name": "Existing", "kind": "http", "endpoint": "https://changed.example", "owner": "changed"},
                {"name": "Bad Kind", "kind": "oracle", "endpoint": "https://x.example"},
                {"name": "Bad URL", "kind": "http", "endpoint": "gopher://x"},
            ],
            "contracts": [
                {"partner": "Good One", "start": "2026-05-01", "end": "2026-04-01"},
                {"partner": "Nobody", "start": "2026-01-01", "end": "2027-01-01"},
            ],
        })
        .to_string(),
    )
    .unwrap();
    let err = ws.fails(2, &["import", file.to_str().unwrap()]);
    for needle in [
        "4 invalid record(s)",
        "partners[2] \"Bad Kind\": kind",
        "partners[3] \"Bad URL\": endpoint",
        "contracts[0] \"Good One\": end",
        "contracts[1] \"Nobody\": partner",
        "nothing was imported",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    assert_eq!(ws.names(&[]), ["Existing"], "nothing was written");
    assert_eq!(
        ws.json(&["partner", "show", "Existing", "--format", "json"])["owner"],
        "keep-me"
    );
}

#[test]
fn files_that_are_not_workspaces_are_refused_clearly() {
    let ws = Workspace::new();
    let file = ws.dir().join("x.json");
    std::fs::write(&file, "{ not json").unwrap();
    assert!(ws
        .fails(2, &["import", file.to_str().unwrap()])
        .contains("not valid JSON"));
    std::fs::write(&file, r#"{"format": "ecosystem-workspace", "version": 99}"#).unwrap();
    assert!(ws
        .fails(2, &["import", file.to_str().unwrap()])
        .contains("version: 99 is not supported"));
    std::fs::write(
        &file,
        r#"{"format": "ecosystem-workspace", "version": 1, "partners": [{"name": "x"}]}"#,
    )
    .unwrap();
    assert!(ws
        .fails(2, &["import", file.to_str().unwrap()])
        .contains("missing field `kind`"));
    assert!(ws
        .fails(
            2,
            &["import", ws.dir().join("absent.json").to_str().unwrap()]
        )
        .contains("cannot read"));
}

#[test]
fn runtime_failures_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let not_db = dir.path().join("notes.txt");
    std::fs::write(&not_db, "x".repeat(4096)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ecosystem"))
        .args(["--db", not_db.to_str().unwrap(), "partner", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not an Ecosystem database") && stderr.contains("notes.txt"),
        "{stderr}"
    );
}

#[test]
fn the_ecosystem_db_variable_picks_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-env.db");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ecosystem"))
            .args(args)
            .env("ECOSYSTEM_DB", &db)
            .output()
            .unwrap()
    };
    assert!(run(&[
        "partner",
        "add",
        "Env",
        "--kind",
        "http",
        "--endpoint",
        "https://e.example"
    ])
    .status
    .success());
    assert!(db.exists(), "the file named by ECOSYSTEM_DB was created");
    let out = run(&["partner", "list", "--format", "json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"Env\""));
}
