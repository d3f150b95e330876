//! `ecosystem usage` against partner-sim, through the real binary, with credentials in a real
//! Secret Service (run under scripts/with-keyring.sh): collecting twice stores the same values,
//! a partner answering garbage is named while the others are stored, bad input exits 2, and
//! `ecosystem poll` collects once a day.

use std::collections::BTreeMap;

use partner_sim::{Faults, Platform};
use serde_json::Value;

mod support;

struct Fixture(support::SimWorkspace);

impl std::ops::Deref for Fixture {
    type Target = support::SimWorkspace;
    fn deref(&self) -> &support::SimWorkspace {
        &self.0
    }
}

impl Fixture {
    fn new() -> Fixture {
        Fixture(support::SimWorkspace::new().log_level("info"))
    }

    /// Registers an active partner of the sim with its credential (`--type TYPE`, secrets on
    /// stdin).
    fn add(&self, name: &str, platform: Platform, credential: &[&str], secrets: &str) {
        let url = self.url(platform);
        self.ok(
            &[
                "partner",
                "add",
                name,
                "--kind",
                platform.name(),
                "--endpoint",
                &url,
                "--timeout",
                "10",
            ],
            "",
        );
        let mut args = vec!["credential", "set", name];
        args.extend_from_slice(credential);
        self.ok(&args, secrets);
        self.ok(&["partner", "lifecycle", name, "activate"], "");
    }

    fn add_all(&self) {
        self.add(
            "KFP",
            Platform::Kubeflow,
            &["--type", "bearer"],
            "kfp-sim-token\n",
        );
        self.add(
            "Lakehouse",
            Platform::Databricks,
            &["--type", "bearer"],
            "dapi-sim-demo-token\n",
        );
        self.add(
            "Warehouse",
            Platform::Snowflake,
            &["--type", "bearer"],
            "sf-sim-oauth-token\n",
        );
        self.add(
            "DD",
            Platform::Datadog,
            &["--type", "datadog_keys"],
            "dd-sim-api-key\ndd-sim-app-key\n",
        );
    }

    /// `usage collect ARGS --format json`: exit code, the report, stderr.
    fn collect(&self, args: &[&str]) -> (i32, Value, String) {
        let mut all = vec!["usage", "collect"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        let out = self.run(&all, "");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("collect printed no JSON ({e}): {stdout} / {stderr}"));
        (out.status.code().expect("exit code"), report, stderr)
    }

    /// `usage show PARTNER --format json`.
    fn show(&self, partner: &str) -> Value {
        let out = self.ok(&["usage", "show", partner, "--format", "json"], "");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("show printed no JSON ({e}): {out}"))
    }

    /// A partner's stored values: (metric, date) -> value.
    fn values(&self, partner: &str) -> BTreeMap<(String, String), f64> {
        self.show(partner)["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| {
                (
                    (
                        r["metric"].as_str().expect("metric").to_string(),
                        r["date"].as_str().expect("date").to_string(),
                    ),
                    r["value"].as_f64().expect("value"),
                )
            })
            .collect()
    }

    /// Stderr of a run expected to fail with `code`.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args, "");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "`ecosystem {}`: {stderr}",
            args.join(" ")
        );
        stderr
    }
}

fn total(values: &BTreeMap<(String, String), f64>, metric: &str) -> f64 {
    values
        .iter()
        .filter(|((m, _), _)| m == metric)
        .map(|(_, v)| v)
        .sum()
}

fn units(show: &Value) -> BTreeMap<String, String> {
    show["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["metric"].as_str().unwrap_or_default().to_string(),
                r["unit"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn collecting_twice_stores_the_same_values_not_doubled() {
    let f = Fixture::new();
    f.add_all();
    let (code, report, stderr) = f.collect(&[]);
    assert_eq!(code, 0, "{report} / {stderr}");
    assert_eq!(report["partners"], 4, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    for partner in ["KFP", "Lakehouse", "Warehouse", "DD"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("usage ") && l.contains(&format!(": {partner} ("))),
            "a progress line per partner when stderr is not a terminal: {stderr}"
        );
    }

    let today = chrono::Utc::now().date_naive().to_string();
    let first: BTreeMap<&str, _> = ["KFP", "Lakehouse", "Warehouse", "DD"]
        .into_iter()
        .map(|p| (p, f.values(p)))
        .collect();
    // The platforms' own figures, with their units.
    assert_eq!(
        total(&first["KFP"], "kubeflow.runs_created"),
        25.0,
        "every seeded run"
    );
    assert_eq!(total(&first["KFP"], "kubeflow.runs_failed"), 4.0);
    assert_eq!(total(&first["Lakehouse"], "databricks.job_runs"), 60.0);
    assert_eq!(
        total(&first["Lakehouse"], "databricks.job_runs_failed"),
        9.0
    );
    assert!(total(&first["Lakehouse"], "databricks.dbus") > 0.0);
    assert!(total(&first["Warehouse"], "snowflake.credits_used") > 0.0);
    assert!(total(&first["Warehouse"], "snowflake.queries") > 0.0);
    assert!(total(&first["DD"], "datadog.estimated_cost") > 0.0);
    let dd_units = units(&f.show("DD"));
    assert_eq!(dd_units["datadog.agent_host_count"], "host-hours");
    assert_eq!(dd_units["datadog.estimated_cost"], "USD");
    assert_eq!(units(&f.show("Lakehouse"))["databricks.dbus"], "DBU");
    assert_eq!(
        units(&f.show("Warehouse"))["snowflake.credits_used"],
        "credits"
    );
    // Ecosystem's own counters, flushed when the command ended.
    let calls_before = first["KFP"][&("ecosystem.calls".to_string(), today.clone())];
    assert!(calls_before > 0.0, "{:?}", first["KFP"]);

    let (code, report, stderr) = f.collect(&[]);
    assert_eq!(code, 0, "{report} / {stderr}");
    for (partner, before) in &first {
        let after = f.values(partner);
        for ((metric, date), value) in before {
            // Today's figures may grow (a new hour of data); earlier days must not change, and
            // Ecosystem's counters add up.
            if metric.starts_with("ecosystem.") || *date == today {
                continue;
            }
            let again = after.get(&(metric.clone(), date.clone()));
            assert_eq!(
                again,
                Some(value),
                "{partner} {metric} on {date}: collected twice, stored once"
            );
        }
    }
    assert_eq!(
        total(&f.values("KFP"), "kubeflow.runs_created"),
        25.0,
        "not doubled"
    );
    assert_eq!(total(&f.values("Lakehouse"), "databricks.job_runs"), 60.0);
    let calls_after = f.values("KFP")[&("ecosystem.calls".to_string(), today)];
    assert!(
        calls_after > calls_before,
        "Ecosystem's call counts add up: {calls_before} then {calls_after}"
    );
    let kfp = f.show("KFP");
    assert!(kfp["collection"]["last_error"].is_null(), "{kfp}");
    assert!(kfp["collection"]["collected_at"].is_string(), "{kfp}");
}

#[test]
fn a_partner_answering_garbage_is_named_and_the_others_are_stored() {
    let f = Fixture::new();
    f.add_all();
    f.sim()
        .set_faults(
            Platform::Datadog,
            Faults {
                malformed_rate: 1.0,
                ..Faults::default()
            },
        )
        .expect("faults");
    let from = (chrono::Utc::now().date_naive() - chrono::Duration::days(5)).to_string();
    let (code, report, stderr) = f.collect(&["--from", &from]);
    assert_eq!(
        code, 1,
        "a failed partner makes it a runtime failure: {stderr}"
    );
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["stored"], 3, "{report}");
    let dd = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["partner"] == "DD")
        .expect("DD's result");
    assert_eq!(dd["error_class"], "unexpected_response", "{dd}");
    let named: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: DD: "))
        .collect();
    assert_eq!(named.len(), 1, "the partner is named on stderr: {stderr}");
    assert!(!stderr.contains("dd-sim-api-key"), "no secret: {stderr}");
    assert!(
        total(&f.values("KFP"), "kubeflow.runs_created") > 0.0,
        "the others are stored"
    );
    assert!(total(&f.values("Warehouse"), "snowflake.credits_used") > 0.0);
    let dd = f.show("DD");
    assert!(
        dd["records"]
            .as_array()
            .expect("records")
            .iter()
            .all(|r| r["source"] == "ecosystem"),
        "only Ecosystem's own counts for DD: {dd}"
    );
    assert!(
        dd["collection"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("unexpected_response")),
        "{dd}"
    );
    let errors = f.values("DD");
    let today = chrono::Utc::now().date_naive().to_string();
    assert!(
        errors
            .get(&("ecosystem.errors".to_string(), today))
            .copied()
            >= Some(1.0),
        "the failed calls are counted: {errors:?}"
    );

    // The table names it too.
    let out = f.run(&["usage", "collect", "DD"], "");
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("DD") && table.contains("failed (unexpected_response)"),
        "{table}"
    );
}

#[test]
fn a_window_of_dates_replaces_only_its_days() {
    let f = Fixture::new();
    f.add(
        "KFP",
        Platform::Kubeflow,
        &["--type", "bearer"],
        "kfp-sim-token\n",
    );
    let (code, report, stderr) = f.collect(&["KFP"]);
    assert_eq!(code, 0, "{report} / {stderr}");
    let before = f.values("KFP");
    let today = chrono::Utc::now().date_naive();
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let (code, report, stderr) = f.collect(&["KFP", "--from", &yesterday, "--to", &yesterday]);
    assert_eq!(code, 0, "{report} / {stderr}");
    let result = &report["results"][0];
    assert_eq!(result["partner"], "KFP");
    assert_eq!(
        result["records"], 2,
        "runs_created and runs_failed for one day: {result}"
    );
    let after = f.values("KFP");
    for (key, value) in &before {
        if !key.0.starts_with("ecosystem.") {
            assert_eq!(after.get(key), Some(value), "{key:?}");
        }
    }
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let f = Fixture::new();
    f.add(
        "KFP",
        Platform::Kubeflow,
        &["--type", "bearer"],
        "kfp-sim-token\n",
    );
    let cases: [(&[&str], &str); 6] = [
        (&["usage", "collect", "--from", "2026-13-01"], "--from"),
        (
            &[
                "usage",
                "collect",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-01",
            ],
            "to:",
        ),
        (&["usage", "collect", "--to", "2026-11-01"], "--from"),
        (&["usage", "collect", "--from", "2999-01-01"], "from:"),
        (&["usage", "collect", "Nobody"], "Nobody"),
        (&["usage", "show", "KFP", "--from", "yesterday"], "--from"),
    ];
    for (args, field) in cases {
        let stderr = f.fails(2, args);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(field), "{args:?} names {field}: {stderr}");
    }
}

#[test]
fn show_prints_a_table_and_says_when_nothing_was_collected() {
    let f = Fixture::new();
    f.add(
        "KFP",
        Platform::Kubeflow,
        &["--type", "bearer"],
        "kfp-sim-token\n",
    );
    let never = f.ok(&["usage", "show", "KFP"], "");
    assert!(never.contains("KFP: usage never collected"), "{never}");
    f.ok(&["usage", "collect"], "");
    let table = f.ok(&["usage", "show", "KFP"], "");
    assert!(table.contains("last collected"), "{table}");
    assert!(
        table.contains("DAY") && table.contains("kubeflow.runs_created") && table.contains("runs"),
        "{table}"
    );
}

#[test]
fn poll_collects_usage_at_start_and_only_once_a_day() {
    let f = Fixture::new();
    f.add(
        "KFP",
        Platform::Kubeflow,
        &["--type", "bearer"],
        "kfp-sim-token\n",
    );
    let out = f.run(&["poll", "--for", "3", "--format", "json"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("usage: KFP (") && l.ends_with("records stored")),
        "the daily collection ran at start: {stderr}"
    );
    assert_eq!(total(&f.values("KFP"), "kubeflow.runs_created"), 25.0);
    let calls = f.values("KFP");
    assert!(
        calls.keys().any(|(m, _)| m == "ecosystem.calls"),
        "the poller's calls are counted: {calls:?}"
    );

    // Collected today already: the next poll does not collect again.
    let out = f.run(&["poll", "--for", "2", "--format", "json"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("usage: KFP"), "{stderr}");
    let out = f.run(
        &["poll", "--for", "1", "--no-usage", "--format", "json"],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
}
